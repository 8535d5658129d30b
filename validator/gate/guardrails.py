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
from collections.abc import Mapping, Sequence
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


def load_defaults(root: Path) -> dict[str, dict[str, float | None]]:
    """The per-kind defaults of the repository: ``config/guardrails.yaml``, and the built-in defaults for a kind
    the file does not mention (or for every kind when there is no file), so a newly registered kind is guarded
    from its first replay."""
    builtins: dict[str, dict[str, float | None]] = {kind: dict(limits) for kind, limits in builtin_defaults().items()}
    path = Path(root) / GUARDRAILS_FILE
    if not path.is_file():
        return builtins
    from validator.gate.yamlload import load_bytes

    document, findings = load_bytes(path.read_bytes(), GUARDRAILS_FILE)
    if document is None or findings:
        raise GuardrailConfigError("; ".join(f.render() for f in findings))
    data = document.data

    def where(keys: tuple, at_key: bool = True) -> str:
        span = document.span(keys, at_key=at_key)
        return f"{GUARDRAILS_FILE}:{span.line}:{span.col}"

    if not isinstance(data, dict):
        raise GuardrailConfigError(f"{GUARDRAILS_FILE}:1:1: the file is a mapping of kind -> guardrail -> limit")
    out = builtins
    for kind, limits in data.items():
        if kind not in out:
            raise GuardrailConfigError(f"{where((kind,))}: unknown kind {kind!r}; kinds: {', '.join(sorted(out))}")
        if not isinstance(limits, dict):
            raise GuardrailConfigError(f"{where((kind,), False)}: {kind} takes a mapping of guardrail -> limit")
        out[kind] = {}
        for name, limit in limits.items():
            problem = check_limit(kind, name, limit)
            if problem:
                raise GuardrailConfigError(f"{where((kind, name))}: {problem}")
            out[kind][name] = None if limit is None else float(limit)
    return out


def check_limit(kind: str, name: str, limit: Any) -> str | None:
    """Why ``name: limit`` is not a valid guardrail of ``kind`` (None if it is)."""
    known = kind_guardrails(kind)
    if name not in known:
        from validator.gate.rules import did_you_mean

        hint = did_you_mean(name, known)
        return f"{name!r} is not a guardrail of {kind} models{' (' + hint + ')' if hint else ''}; known: {', '.join(known)}"
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float)) or not math.isfinite(limit)):
        return f"the limit of {name} must be a number (or null to switch it off), got {limit!r}"
    return None


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
