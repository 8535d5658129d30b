"""What a change does to the gate's own limits and to the app's units, found by comparing base and head.

``weights check`` asks three questions here that no single revision can answer:

* **Guardrail changes.** Every limit that moves (config/guardrails.yaml and each model's ``guardrails:``) is
  listed in the report with its direction, so a reviewer sees a loosened limit next to the change it lets
  through. A model file may only tighten (rule ``guardrails.loosened`` at validate time); the defaults file
  belongs to the model-risk owners (.github/CODEOWNERS).
* **Change budgets.** ``budgets:`` in config/guardrails.yaml (per kind) and in a model file (per model, which
  can only tighten the kind's) bound how far one numeric parameter may move in one change: a move above
  ``max(absolute, relative * |old|)`` is a breach at the parameter's line that fails the check unless the
  change adds a reviewed ``accept: [{guardrail: change_budget, up_to: <largest move>, reason: ...}]``.
* **Contract scale changes.** A numeric input whose range moves tenfold or more (either bound, or the span)
  is usually a unit change (a share 0-1 becomes percent 0-100, euros become cents) that leaves every model
  reading it silently wrong: a warning at the bound, naming each model and term that reads the input. A
  warning, not an error: a range can truly grow tenfold (a new market), the contract's owners approve the
  change (CODEOWNERS) and the replay of every model of a changed contract runs anyway; the warning makes
  sure the question is asked in the review.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from validator.gate.findings import Finding, Severity
from validator.gate.guardrails import (
    GUARDRAILS_FILE,
    Budget,
    GuardrailConfig,
    GuardrailConfigError,
    kind_guardrails,
    new_accepts,
    parse_budget,
    parse_config,
)

if TYPE_CHECKING:  # pragma: no cover
    from validator.gate.check import Revision
    from validator.gate.diff import RepoDiff

BUDGET_ACCEPT = "change_budget"  # the accept: name of a budget breach
SCALE_FACTOR = 10.0              # a range that moves by this factor or more asks whether the unit changed


@dataclass(frozen=True)
class GuardrailChange:
    """One limit that differs between base and head: ``scope`` is a kind (defaults file) or a model name."""

    path: str
    line: int
    scope: str
    guardrail: str
    old: float | None  # None: switched off, or not set (then the repository default applies)
    new: float | None
    direction: str     # tightened | loosened | switched off | switched on | set | unset

    def describe(self) -> str:
        def show(value: float | None) -> str:
            return "off" if value is None else f"{value:g}"

        return f"{self.scope}: {self.guardrail} {show(self.old)} -> {show(self.new)} ({self.direction})"


@dataclass(frozen=True)
class BudgetBreach:
    """A parameter moved further than its budget allows in this change."""

    model: str
    path: str
    line: int
    col: int
    parameter: str  # "terms[new_account].weight"
    old: float
    new: float
    budget: Budget
    accepted: bool
    reason: str | None

    @property
    def move(self) -> float:
        return abs(self.new - self.old)

    def describe(self) -> str:
        return (f"{self.model}: {self.parameter} {self.old:g} -> {self.new:g} moves by {self.move:g}, over its budget "
                f"of {self.budget.show()} (at most {self.budget.allowance(self.old):g} here)")


def config_of(revision: "Revision") -> GuardrailConfig | None:
    """A revision's config/guardrails.yaml, or None when it is broken (the replay reports that, positioned)."""
    try:
        return parse_config(revision.source.read(GUARDRAILS_FILE))
    except GuardrailConfigError:
        return None


def _direction(kind: str, name: str, old: float | None, new: float | None) -> str:
    if new is None:
        return "switched off"
    if old is None:
        return "switched on"
    spec = kind_guardrails(kind).get(name)
    if spec is None:
        return "changed"
    return "loosened" if spec.looser(new, old) else "tightened"


def guardrail_changes(base: "Revision", head: "Revision", repo_diff: "RepoDiff") -> list[GuardrailChange]:
    """Every guardrail limit that differs between base and head, defaults file first, then models by name."""
    out: list[GuardrailChange] = []
    old_cfg, new_cfg = config_of(base), config_of(head)
    if old_cfg is not None and new_cfg is not None:
        document = _document(head, GUARDRAILS_FILE)
        for kind in sorted(set(old_cfg.defaults) | set(new_cfg.defaults)):
            old_limits, new_limits = old_cfg.defaults.get(kind, {}), new_cfg.defaults.get(kind, {})
            for name in [*new_limits, *(n for n in old_limits if n not in new_limits)]:
                old, new = old_limits.get(name), new_limits.get(name)
                if old != new:
                    line = _line(document, (kind, name))
                    out.append(GuardrailChange(GUARDRAILS_FILE, line, kind, name, old, new,
                                               _direction(kind, name, old, new)))
    for entry in repo_diff.models:
        if entry.status == "unchanged":
            continue
        old_doc = base.validation.models.get(entry.name) or {}
        new_doc = head.validation.models.get(entry.name) or {}
        kind = str(new_doc.get("kind") or old_doc.get("kind") or "")
        old_g, new_g = old_doc.get("guardrails") or {}, new_doc.get("guardrails") or {}
        defaults = (new_cfg.defaults if new_cfg is not None else {}).get(kind, {})
        for name in [*new_g, *(n for n in old_g if n not in new_g)]:
            if name in old_g and name in new_g and old_g[name] == new_g[name]:
                continue
            old = old_g[name] if name in old_g else defaults.get(name)
            new = new_g[name] if name in new_g else defaults.get(name)
            direction = "unset" if name not in new_g else ("set" if name not in old_g else "")
            direction = direction or _direction(kind, name, old, new)
            if name not in new_g or name not in old_g:
                shifted = _direction(kind, name, old, new) if old != new else "same as the default"
                direction = f"{direction}: {shifted}"
            at = next((c.line for c in entry.changes if c.path[:2] == ("guardrails", name) and c.line), None)
            out.append(GuardrailChange(entry.path, at or 1, entry.name, name, old, new, direction))
    return out


def budget_breaches(base: "Revision", head: "Revision", repo_diff: "RepoDiff") -> list[BudgetBreach]:
    """Every numeric parameter of a changed model that moved over its budget (kind's, tightened by the model's)."""
    cfg = config_of(head)
    kind_budgets = cfg.budgets if cfg is not None else {}
    out: list[BudgetBreach] = []
    for entry in repo_diff.models:
        if entry.status != "changed":
            continue
        head_doc = head.validation.models.get(entry.name)
        base_doc = base.validation.models.get(entry.name)
        if head_doc is None or base_doc is None:
            continue
        budgets = _budgets_for(kind_budgets.get(str(head_doc.get("kind")), {}), head_doc.get("budgets"))
        if not budgets:
            continue
        accepts = [a for a in new_accepts(head_doc, base_doc) if a.get("guardrail") == BUDGET_ACCEPT]
        for change in entry.changes:
            key = change.path[-1] if change.path else None
            if change.op != "changed" or not isinstance(key, str) or key not in budgets:
                continue
            if not (_number(change.old) and _number(change.new)):
                continue
            old, new = float(change.old), float(change.new)
            budget = budgets[key]
            if not budget.exceeded(old, new):
                continue
            accept = next((a for a in accepts if a.get("up_to") is None or abs(new - old) <= float(a["up_to"])), None)
            out.append(BudgetBreach(entry.name, entry.path, change.line or 1, change.col or 1, change.label, old, new,
                                    budget, accept is not None, str(accept.get("reason") or "") if accept else None))
    return out


def _budgets_for(kind_level: Mapping[str, Budget], model_level: Any) -> dict[str, Budget]:
    """The kind's budgets, each tightened by the model's own (a model cannot widen its kind's budget)."""
    out = dict(kind_level)
    for key, spec in (model_level or {}).items() if isinstance(model_level, dict) else ():
        budget, problem = parse_budget(spec)
        if budget is None or problem:
            continue  # the schema refuses a malformed budget at its position
        current = out.get(key)
        out[key] = budget if current is None else Budget(_tighter(current.relative, budget.relative),
                                                         _tighter(current.absolute, budget.absolute))
    return out


def _tighter(a: float | None, b: float | None) -> float | None:
    values = [v for v in (a, b) if v is not None]
    return min(values) if values else None


def budget_findings(breaches: list[BudgetBreach]) -> list[Finding]:
    """Breaches as findings at the parameter: errors, or warnings when a reviewed accept: covers them."""
    out = []
    for b in breaches:
        if b.accepted:
            out.append(Finding(b.path, b.line, b.col, Severity.WARNING, "budget.exceeded",
                               f"{b.describe()}: accepted: {b.reason or 'no reason given'}",
                               "the accept: entry in the model file records the review of this change"))
        else:
            out.append(Finding(b.path, b.line, b.col, Severity.ERROR, "budget.exceeded", f"{b.describe()}: BREACHED",
                               f"move it in smaller steps, or if intended add to {b.path}: accept: [{{guardrail: "
                               f"{BUDGET_ACCEPT}, up_to: {b.move:g}, reason: <why>}}]"))
    return out


def scale_findings(base: "Revision", head: "Revision", repo_diff: "RepoDiff") -> list[Finding]:
    """Warnings for contract inputs whose range moved tenfold or more, naming each model and term reading them."""
    out = []
    for entry in repo_diff.contracts:
        if entry.status != "changed":
            continue
        old_c, new_c = base.validation.contracts.get(entry.name), head.validation.contracts.get(entry.name)
        if old_c is None or new_c is None:
            continue
        document = _document(head, entry.path)
        for name, decl in new_c.inputs.items():
            old = old_c.inputs.get(name)
            if old is None or decl.type not in ("number", "integer") or old.type not in ("number", "integer"):
                continue
            moved = _scale_moves(old.min, old.max, decl.min, decl.max)
            if not moved:
                continue
            readers = list(_readers(base, head, entry.name, name))
            where = f"read by {', '.join(readers)}" if readers else "no model reads it yet"
            bound = "max" if "max" in moved[0] and decl.max is not None else ("min" if decl.min is not None else "max")
            span = document.span(("inputs", name, bound), at_key=False) if document is not None else None
            out.append(Finding(entry.path, span.line if span else 1, span.col if span else 1, Severity.WARNING,
                               "contract.range-scale",
                               f"input {name}: {'; '.join(moved)}: did its unit change (a share 0-1 to percent "
                               f"0-100, euros to cents)? It is {where}",
                               "if the unit changed, rescale every model and term named here in the same change "
                               "(bins, levels, transforms, weights) and update unit:; if the range truly grew, "
                               "check each of them still scores sensibly at the new extremes"))
    return out


def _scale_moves(old_lo: float | None, old_hi: float | None, new_lo: float | None, new_hi: float | None) -> list[str]:
    moves = []
    for label, a, b in (("min", old_lo, new_lo), ("max", old_hi, new_hi)):
        if _factor(a, b) >= SCALE_FACTOR:
            moves.append(f"{label} {a:g} -> {b:g}")
    if None not in (old_lo, old_hi, new_lo, new_hi):
        assert old_lo is not None and old_hi is not None and new_lo is not None and new_hi is not None
        if _factor(old_hi - old_lo, new_hi - new_lo) >= SCALE_FACTOR:
            moves.append(f"span {old_hi - old_lo:g} -> {new_hi - new_lo:g}")
    return moves


def _factor(a: float | None, b: float | None) -> float:
    """How many times larger the larger magnitude is (1 when either is absent or zero, or the sign flips)."""
    if a is None or b is None or a == 0 or b == 0 or (a > 0) != (b > 0):
        return 1.0
    big, small = max(abs(a), abs(b)), min(abs(a), abs(b))
    return big / small if math.isfinite(big / small) else math.inf


def _readers(base: "Revision", head: "Revision", contract: str, input_name: str) -> Iterator[str]:
    """'model (term a, term b)' for each model of ``contract`` that reads ``input_name``: head's version, else
    base's (the new range may well make a model invalid on head, and it is exactly the one to name)."""
    models = {**base.validation.models, **head.validation.models}
    for model, data in sorted(models.items()):
        if data.get("contract") != contract:
            continue
        terms = list(dict.fromkeys(_named_readers(data, input_name)))
        if terms:
            yield f"{model} ({', '.join(terms)})"


def _named_readers(value: Any, input_name: str, owner: str | None = None) -> Iterator[str]:
    """The names of the terms/features/boosts whose mapping (or a condition inside it) reads ``input_name``."""
    if isinstance(value, Mapping):
        here = value.get("name") if isinstance(value.get("name"), str) else owner
        if value.get("input") == input_name:
            yield str(here or "the model")
        for key, item in value.items():
            if key == "inputs" and owner is None and isinstance(item, Mapping) and input_name in item:
                continue  # the model's input policy names the input without reading it
            yield from _named_readers(item, input_name, here if isinstance(item, (Mapping, list)) else owner)
    elif isinstance(value, list):
        for item in value:
            yield from _named_readers(item, input_name, owner)


def _document(revision: "Revision", path: str) -> Any:
    """The positioned document of ``path`` in a revision (validated files, else loaded from its bytes)."""
    document = revision.validation.documents.get(path)
    if document is not None:
        return document
    raw = revision.source.read(path)
    if raw is None:
        return None
    from validator.gate.yamlload import load_bytes

    loaded, _ = load_bytes(raw, path)
    return loaded


def _line(document: Any, keys: tuple) -> int:
    if document is None:
        return 1
    try:
        return int(document.span(keys, at_key=True).line)
    except (KeyError, IndexError, TypeError):
        return 1


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


__all__ = ["BUDGET_ACCEPT", "BudgetBreach", "GuardrailChange", "budget_breaches", "budget_findings",
           "guardrail_changes", "scale_findings"]
