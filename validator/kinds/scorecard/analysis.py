"""What a scorecard can do over its contract's input ranges: each term's smallest and largest contribution to
z, the reachable score, and the decision bands some request reaches.

The ranges follow the request path exactly (``validator.kinds.inputs.read`` then the generated evaluator):
an input lies inside the contract's range (out-of-range values are clamped into it or replaced by the
default) or is its default; a bin table maps that range to the values of the bins it meets (and, where it
meets no bin, to the neighbouring bins the clamp policy takes); a transform is non-decreasing, so its ends
map to the term value's ends; a categorical term takes the levels of the categories the app sends. Each
range is exact for one term alone; the score range assumes the terms move independently, so it can be wider
than any real request reaches when two terms read the same input (never narrower).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from validator.kinds.base import ModelError
from validator.kinds.contract import Contract, InputDecl
from validator.kinds.intervals import (
    Analysis,
    Contribution,
    Interval,
    Outcome,
    logistic,
    numeric_input,
    show,
    show_interval,
)
from validator.kinds.scorecard.evaluator import bin_table

TRANSFORMS = {"identity": lambda x: x, "log1p": math.log1p, "sqrt": math.sqrt}


def _decl(contract: Contract | None, name: str) -> InputDecl | None:
    return contract.inputs.get(name) if contract is not None else None


def _binned(term: Mapping[str, Any], reach: Interval) -> tuple[Interval, str]:
    """The bin values an input in ``reach`` can get, including the bins that clamp takes outside every bin."""
    bins = term["bins"]
    how = "bins " + ", ".join(
        f"[{show(b.get('from', -math.inf))}, {show(b.get('to', math.inf))})→{show(b['value'])}" for b in bins)
    try:
        table = bin_table(bins, f"term {term['name']!r}")
    except ModelError:  # broken bins are their own finding; any bin may then be the one taken
        return Interval.hull(b["value"] for b in bins), how
    first = _part(table.edges, reach.lo)
    last = _part(table.edges, reach.hi)
    values: list[float] = []
    for j in range(first, last + 1):
        part = table.parts[j]
        if part is not None:
            values.append(part)
            continue
        # Outside every bin: the nearest bin below or above (clamp), whichever is nearer for that input.
        values += [p for p in (_neighbour(table.parts, j, -1), _neighbour(table.parts, j, 1)) if p is not None]
    return Interval.hull(values), how


def _part(edges: tuple[float, ...], x: float) -> int:
    from bisect import bisect_right

    return bisect_right(edges, x)


def _neighbour(parts: tuple[float | None, ...], j: int, step: int) -> float | None:
    k = j + step
    while 0 <= k < len(parts):
        if parts[k] is not None:
            return parts[k]
        k += step
    return None


def _term_value(term: Mapping[str, Any], decl: InputDecl | None, policy: Any) -> tuple[Interval, str, str]:
    """The term value's range, the input's range as shown, and how the input becomes the value."""
    typ = term["type"]
    if typ == "boolean":
        return Interval(0.0, 1.0), "true / false", "1 when true, 0 when false"
    if typ == "categorical":
        levels: Mapping[str, float] = term.get("levels") or {}
        sent = list(decl.values) if decl is not None and decl.values else list(levels)
        values = [levels[v] for v in sent if v in levels]
        if "other" in term and (any(v not in levels for v in sent) or not decl or not decl.values):
            values.append(term["other"])
        default = (policy or {}).get("default") if isinstance(policy, dict) else None
        if isinstance(default, str) and default in levels:
            values.append(levels[default])
        how = "levels " + ", ".join(f"{k}→{show(v)}" for k, v in levels.items())
        if "other" in term:
            how += f", other→{show(term['other'])}"
        return Interval.hull(values), ", ".join(sent) if sent else "any category", how
    reach = numeric_input(decl, policy)
    shown = show_interval(reach) + (f" {decl.unit}" if decl is not None and decl.unit else "")
    if term.get("bins"):
        value, how = _binned(term, reach)
        return value, shown, how
    transform = term.get("transform", "identity")
    if transform != "identity":
        reach = reach.clip(0.0, math.inf)  # a negative input is refused before the transform
    return reach.map_increasing(TRANSFORMS.get(transform, TRANSFORMS["identity"])), shown, f"{transform}(x)"


def analyse(data: Mapping[str, Any], contract: Contract | None) -> Analysis:
    """The analysis of a schema-valid scorecard document (rules may have found other problems in it)."""
    policies = data.get("inputs") or {}
    terms: list[Contribution] = []
    for i, term in enumerate(data.get("terms") or ()):
        decl = _decl(contract, term["input"])
        value, input_range, how = _term_value(term, decl, policies.get(term["input"]))
        weight = float(term["weight"])
        terms.append(Contribution(
            name=term["name"], path=("terms", i), contribution=value.scale(weight), driver=term["input"],
            input_range=input_range, how=f"{show(weight)} × {how}", reason=term.get("reason"),
        ))
    base = float(data["intercept"])
    linear = Interval.point(base)
    for c in terms:
        linear = linear + c.contribution
    logistic_link = data.get("link") == "logistic"
    score = linear.map_increasing(logistic) if logistic_link else linear
    return Analysis(
        kind="scorecard", model=str(data["name"]), scale="z (log-odds)" if logistic_link else "score",
        base=base, terms=tuple(terms), score=score,
        score_label="probability 1 / (1 + exp(-z))" if logistic_link else "score",
        outcomes=tuple(_outcomes(data, score)),
    )


def _outcomes(data: Mapping[str, Any], score: Interval) -> list[Outcome]:
    """Each band and whether the score range meets it (a band is ``[previous below, below)``)."""
    out: list[Outcome] = []
    floor = -math.inf
    for k, band in enumerate(data.get("bands") or ()):
        below = band.get("below", math.inf)
        below = math.inf if below is None else float(below)
        if below <= score.lo:
            why = f"it covers scores below {show(below)}, and the lowest reachable score is {show(score.lo)}"
            reachable = False
        elif floor > score.hi:
            why = f"it needs a score of at least {show(floor)}, and the highest reachable score is {show(score.hi)}"
            reachable = False
        else:
            why, reachable = "", floor < below
        out.append(Outcome(str(band["decision"]), ("bands", k), reachable, why))
        floor = max(floor, below)
    return out
