"""Guardrails: limits on what one change may do to a model's behaviour on the replay data.

Defaults per kind live in ``config/guardrails.yaml`` (reviewed like the weights); a model file may tighten,
loosen or switch off (``null``) a limit under ``guardrails:``. A breach fails the check. The only way to let
a breach through is a reviewed file change: an ``accept:`` entry in the model file, with a reason, added or
changed in the same change as the weights (an entry that is already on the base revision acknowledged an
earlier change and accepts nothing now). ``up_to`` bounds what an entry accepts, so accepting a 3% flip rate
does not accept 30%. There is deliberately no command-line flag to skip a guardrail.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

GUARDRAILS_FILE = "config/guardrails.yaml"


@dataclass(frozen=True)
class Guardrail:
    """One kind of limit: whether the value must stay below (max) or above (min) it, and how to print it."""

    name: str
    kinds: tuple[str, ...]
    bound: str        # "max" | "min"
    label: str        # "decision flip rate"
    percent: bool     # shown as a percentage
    points: bool = False  # a difference of shares: shown in percentage points
    description: str = ""

    def breached(self, value: float, limit: float) -> bool:
        return value > limit if self.bound == "max" else value < limit

    def show(self, value: float) -> str:
        if self.points:
            return f"{value * 100:.1f} pts"
        if self.percent:
            return _pct(value)
        return f"{value:+.4f}" if self.bound == "min" and self.name.endswith("_delta") else f"{value:.4f}"


def _pct(value: float) -> str:
    text = f"{value * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


# The guardrails a replay can evaluate, by name (the names users write in config and `accept:`).
GUARDRAILS: dict[str, Guardrail] = {g.name: g for g in (
    Guardrail("max_decision_flip_rate", ("scorecard",), "max", "decision flip rate", True,
              description="Share of replayed rows whose decision changes between base and head."),
    Guardrail("max_share_change", ("scorecard", "segments", "bandit"), "max", "largest share change", False, True,
              description="Largest absolute change (in share points) of any decision's, segment's or variant's share."),
    Guardrail("max_psi", ("scorecard",), "max", "score PSI", False,
              description="Population stability index of the score distribution (base deciles); 0.1 moderate, 0.25 large."),
    Guardrail("min_auc_delta", ("scorecard",), "min", "AUC change", False,
              description="Head AUC minus base AUC against the outcome column; only with an outcome."),
    Guardrail("max_segment_share", ("segments",), "max", "largest segment share", True,
              description="The largest share of customers any one segment (or the fallback) gets on head."),
    Guardrail("max_reassignment_rate", ("segments",), "max", "reassignment rate", True,
              description="Share of customers whose segment changes between base and head."),
    Guardrail("min_arm_share", ("bandit",), "min", "smallest arm share", True,
              description="The smallest expected traffic share of any arm on head (floors and Thompson)."),
    Guardrail("min_topk_overlap", ("ranking",), "min", "top-k overlap", True,
              description="Mean share of each query's top k items (base) still in the top k on head."),
    Guardrail("min_ndcg_delta", ("ranking",), "min", "NDCG@k change", False,
              description="Head NDCG@k minus base NDCG@k against the relevance labels; only with labels."),
)}

# Used when the repository has no config/guardrails.yaml (and the values that file ships with).
BUILTIN_DEFAULTS: dict[str, dict[str, float]] = {
    "scorecard": {"max_decision_flip_rate": 0.02, "max_share_change": 0.02, "max_psi": 0.1, "min_auc_delta": -0.01},
    "segments": {"max_reassignment_rate": 0.05, "max_segment_share": 0.5, "max_share_change": 0.05},
    "bandit": {"min_arm_share": 0.02, "max_share_change": 0.5},
    "ranking": {"min_topk_overlap": 0.7, "min_ndcg_delta": -0.02},
}


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
    """The per-kind defaults of the repository (``config/guardrails.yaml``; built-ins when absent)."""
    path = Path(root) / GUARDRAILS_FILE
    if not path.is_file():
        return {kind: dict(limits) for kind, limits in BUILTIN_DEFAULTS.items()}
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
    out: dict[str, dict[str, float | None]] = {kind: {} for kind in BUILTIN_DEFAULTS}
    for kind, limits in data.items():
        if kind not in out:
            raise GuardrailConfigError(f"{where((kind,))}: unknown kind {kind!r}; kinds: {', '.join(sorted(out))}")
        if not isinstance(limits, dict):
            raise GuardrailConfigError(f"{where((kind,), False)}: {kind} takes a mapping of guardrail -> limit")
        for name, limit in limits.items():
            problem = check_limit(kind, name, limit)
            if problem:
                raise GuardrailConfigError(f"{where((kind, name))}: {problem}")
            out[kind][name] = None if limit is None else float(limit)
    return out


def check_limit(kind: str, name: str, limit: Any) -> str | None:
    """Why ``name: limit`` is not a valid guardrail of ``kind`` (None if it is)."""
    guardrail = GUARDRAILS.get(name)
    if guardrail is None or kind not in guardrail.kinds:
        from validator.gate.rules import did_you_mean

        known = [g.name for g in GUARDRAILS.values() if kind in g.kinds]
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
    results = []
    for name, limit in limits.items():
        if name not in values:
            continue  # not measurable on this replay (no outcome column, no base version, ...)
        value, about = values[name]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        guardrail = GUARDRAILS[name]
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
