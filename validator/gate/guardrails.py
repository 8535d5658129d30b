"""Guardrails: limits on what one change may do to a model's behaviour on the replay data.

Each kind defines its guardrails (name, direction, texts, built-in default) in its folder's ``guardrails.py``;
this module reads them through the registry. Defaults per kind live in ``config/guardrails.yaml`` (reviewed
like the weights; a kind the file does not name keeps its built-in defaults); a model file may tighten,
loosen or switch off (``null``) a limit under ``guardrails:``. A breach fails the check. The only way to let
a breach through is a reviewed file change: an ``accept:`` entry in the model file, with a reason, added or
changed in the same change as the weights (an entry that is already on the base revision acknowledged an
earlier change and accepts nothing now). ``up_to`` bounds what an entry accepts, so accepting a 3% flip rate
does not accept 30%. There is deliberately no command-line flag to skip a guardrail.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from validator.kinds import KINDS
from validator.kinds.base import GuardrailSpec

GUARDRAILS_FILE = "config/guardrails.yaml"


def kind_guardrails(kind: str) -> dict[str, GuardrailSpec]:
    """The guardrails of one registered kind, by name (its folder's ``guardrails.py``); {} for an unknown kind."""
    entry = KINDS.get(kind)
    return {g.name: g for g in entry.guardrails} if entry is not None else {}


def builtin_defaults() -> dict[str, dict[str, float]]:
    """Every registered kind's built-in limits: what applies where config/guardrails.yaml says nothing (and the
    values that file ships with)."""
    return {name: {g.name: g.default for g in kind.guardrails} for name, kind in KINDS.items()}


class GuardrailConfigError(Exception):
    """config/guardrails.yaml is unreadable or names an unknown kind/guardrail: exit 2 with file:line."""


@dataclass(frozen=True)
class GuardrailResult:
    name: str
    limit: float
    value: float
    breached: bool
    accepted: bool
    reason: str | None
    message: str

    @property
    def failed(self) -> bool:
        return self.breached and not self.accepted


@dataclass(frozen=True)
class Budget:
    """How far one parameter may move in one change: a move is within budget when it is at most ``absolute``
    or at most ``relative`` times the old value's magnitude (the larger allowance wins, as in math.isclose, so
    a weight of 0 can still move by ``absolute``); a side left out allows nothing on its own."""

    relative: float | None = None
    absolute: float | None = None

    def allowance(self, old: float) -> float:
        return max(self.absolute or 0.0, (self.relative or 0.0) * abs(old))

    def exceeded(self, old: float, new: float) -> bool:
        return abs(new - old) > self.allowance(old)

    def show(self) -> str:
        parts = ([f"{self.relative * 100:g}% of its value"] if self.relative is not None else []) + \
            ([f"{self.absolute:g} absolute"] if self.absolute is not None else [])
        return " or ".join(parts)


@dataclass(frozen=True)
class GuardrailConfig:
    """config/guardrails.yaml read: per-kind limits (built-in ones for a kind it does not name) and budgets."""

    defaults: dict[str, dict[str, float | None]]
    budgets: dict[str, dict[str, Budget]]


BUDGETS_KEY = "budgets"


def load_defaults(root: Path) -> dict[str, dict[str, float | None]]:
    """The per-kind defaults of the repository: ``config/guardrails.yaml``, and the built-in defaults for a kind
    the file does not mention (or for every kind when there is no file), so a newly registered kind is guarded
    from its first replay."""
    return load_config(root).defaults


def load_config(root: Path) -> GuardrailConfig:
    """config/guardrails.yaml of the work tree (limits and budgets); GuardrailConfigError with file:line."""
    path = Path(root) / GUARDRAILS_FILE
    return parse_config(path.read_bytes() if path.is_file() else None)


def parse_config(raw: bytes | None) -> GuardrailConfig:
    """config/guardrails.yaml from its bytes (None: no file) — a revision's copy as well as the work tree's.

    Every problem is raised as rendered findings (``file:line:col: error <id>: ...``): ``guardrails.unknown``
    (a kind or guardrail that does not exist), ``guardrails.value`` (not a number) and ``guardrails.range``
    (a number that cannot mean anything for that guardrail, e.g. a rate of 2 or a positive min_..._delta)."""
    builtins: dict[str, dict[str, float | None]] = {kind: dict(limits) for kind, limits in builtin_defaults().items()}
    if raw is None:
        return GuardrailConfig(builtins, {})
    from validator.gate.findings import Finding, Severity
    from validator.gate.yamlload import load_bytes

    document, findings = load_bytes(raw, GUARDRAILS_FILE)
    if document is None or findings:
        raise GuardrailConfigError("; ".join(f.render() for f in findings))
    data = document.data

    def fail(keys: tuple, rule: str, message: str, at_key: bool = True) -> GuardrailConfigError:
        span = document.span(keys, at_key=at_key)
        hint = ("config/guardrails.yaml is reviewed by the model-risk owners (.github/CODEOWNERS); a limit is "
                "in the unit of its guardrail (docs/reference/guardrails.md)")
        return GuardrailConfigError(Finding(GUARDRAILS_FILE, span.line, span.col, Severity.ERROR, rule, message,
                                            hint).render())

    if not isinstance(data, dict):
        raise fail((), "guardrails.value", "the file is a mapping of kind -> guardrail -> limit", False)
    out = builtins
    budgets: dict[str, dict[str, Budget]] = {}
    for kind, limits in data.items():
        if kind == BUDGETS_KEY:
            budgets = _parse_budgets(limits, fail)
            continue
        if kind not in out:
            raise fail((kind,), "guardrails.unknown", f"unknown kind {kind!r}; kinds: {', '.join(sorted(out))}")
        if not isinstance(limits, dict):
            raise fail((kind,), "guardrails.value", f"{kind} takes a mapping of guardrail -> limit", False)
        out[kind] = {}
        for name, limit in limits.items():
            problem = limit_problem(kind, name, limit)
            if problem:
                rule, message = problem
                raise fail((kind, name), rule, message, at_key=rule == "guardrails.unknown")
            out[kind][name] = None if limit is None else float(limit)
    return GuardrailConfig(out, budgets)


def _parse_budgets(value: Any, fail: Callable[..., GuardrailConfigError]) -> dict[str, dict[str, Budget]]:
    """``budgets: {<kind>: {<parameter key>: {relative: 0.5, absolute: 0.5}}}``."""
    if not isinstance(value, dict):
        raise fail((BUDGETS_KEY,), "guardrails.value", "budgets takes a mapping of kind -> parameter -> budget",
                   False)
    out: dict[str, dict[str, Budget]] = {}
    for kind, params in value.items():
        if kind not in KINDS:
            from validator.gate.rules import did_you_mean

            hint = did_you_mean(str(kind), KINDS)
            raise fail((BUDGETS_KEY, kind), "guardrails.unknown",
                       f"unknown kind {kind!r}{' (' + hint + ')' if hint else ''}; kinds: {', '.join(sorted(KINDS))}")
        if not isinstance(params, dict):
            raise fail((BUDGETS_KEY, kind), "guardrails.value", "a kind's budgets map a parameter key (e.g. weight) "
                       "to {relative: <share>, absolute: <amount>}", False)
        out[kind] = {}
        for param, spec in params.items():
            budget, problem = parse_budget(spec)
            if problem:
                raise fail((BUDGETS_KEY, kind, param), "guardrails.value", f"budget of {param}: {problem}", False)
            assert budget is not None
            out[kind][str(param)] = budget
    return out


def parse_budget(spec: Any) -> tuple[Budget | None, str | None]:
    """A budget from ``{relative: r, absolute: a}`` (either or both; each a finite number of 0 or more)."""
    if not isinstance(spec, dict) or not spec or set(spec) - {"relative", "absolute"}:
        return None, "write {relative: <share, 0.5 = 50%>, absolute: <amount>} (either or both)"
    values: dict[str, float] = {}
    for key, number in spec.items():
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number) or number < 0:
            return None, f"{key} must be a number of 0 or more, got {number!r}"
        values[key] = float(number)
    return Budget(values.get("relative"), values.get("absolute")), None


def check_limit(kind: str, name: str, limit: Any) -> str | None:
    """Why ``name: limit`` is not a valid guardrail of ``kind`` (None if it is)."""
    problem = limit_problem(kind, name, limit)
    return problem[1] if problem else None


def limit_problem(kind: str, name: str, limit: Any) -> tuple[str, str] | None:
    """(rule id, message) of what is wrong with ``name: limit`` for ``kind`` (None: a valid limit)."""
    known = kind_guardrails(kind)
    if name not in known:
        from validator.gate.rules import did_you_mean

        hint = did_you_mean(name, known)
        return ("guardrails.unknown", f"{name!r} is not a guardrail of {kind} models"
                f"{' (' + hint + ')' if hint else ''}; known: {', '.join(known)}")
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not math.isfinite(limit):
        return "guardrails.value", f"the limit of {name} must be a number (or null to switch it off), got {limit!r}"
    problem = known[name].limit_problem(float(limit))
    return ("guardrails.range", problem) if problem else None


def limits_for(kind: str, defaults: Mapping[str, Mapping[str, float | None]], model: Mapping[str, Any] | None) -> dict[str, float]:
    """The limits that apply to one model: the kind's defaults, then the model's ``guardrails:`` (null: off)."""
    limits: dict[str, float | None] = dict(defaults.get(kind, {}))
    for name, limit in ((model or {}).get("guardrails") or {}).items():
        problem = check_limit(kind, name, limit)
        if problem:
            raise GuardrailConfigError(f"weights/{(model or {}).get('name')}.yaml: guardrails.{name}: {problem}")
        limits[name] = None if limit is None else float(limit)
    return {name: value for name, value in limits.items() if value is not None}


def _accept_key(entry: Mapping[str, Any]) -> tuple:
    return (entry.get("guardrail"), entry.get("up_to"), entry.get("reason"))


def new_accepts(head: Mapping[str, Any] | None, base: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The head's ``accept:`` entries that this change adds or edits (the reviewed ones)."""
    old = {_accept_key(e) for e in ((base or {}).get("accept") or ())}
    return [e for e in ((head or {}).get("accept") or ()) if _accept_key(e) not in old]


def evaluate(kind: str, values: Mapping[str, tuple[float, str]], limits: Mapping[str, float],
             accepts: Sequence[Mapping[str, Any]]) -> list[GuardrailResult]:
    """Compare each measured value with its limit. ``values``: guardrail -> (value, what it is about)."""
    guardrails = kind_guardrails(kind)
    results = []
    for name, limit in limits.items():
        if name not in values:
            continue  # not measurable on this replay (no outcome column, no base version, ...)
        value, about = values[name]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        guardrail = guardrails[name]
        breached = guardrail.breached(value, limit)
        accepted, reason = False, None
        if breached:
            for entry in accepts:
                up_to = entry.get("up_to")
                if entry.get("guardrail") == name and (up_to is None or not guardrail.breached(value, float(up_to))):
                    accepted, reason = True, str(entry.get("reason") or "")
                    break
        shown_limit = guardrail.show(limit)
        message = f"{guardrail.label} {guardrail.show(value)}{' (' + about + ')' if about else ''} ({guardrail.bound} {shown_limit})"
        results.append(GuardrailResult(name, float(limit), float(value), breached, accepted, reason, message))
    return results
