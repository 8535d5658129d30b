"""What a ranking model can do to an item's score over the contract's input ranges: each feature's smallest
and largest contribution, each boost's effect on the score it meets, and the reachable final score.

Features follow the request path (``validator.kinds.inputs.read`` then ``weight * transform(x)``; transforms
are non-decreasing). Boosts apply in file order to the score so far: a boost whose condition can hold and
can fail leaves the score range as the hull of "not applied" and ``score * multiply + add``; its effect is
``score * (multiply - 1) + add`` over the score range it meets (and 0 where it can fail). The ranges assume
features move independently, so they may be wider than any real item reaches, never narrower.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from validator.kinds.contract import Contract, InputDecl
from validator.kinds.intervals import MARGIN, Analysis, Contribution, Interval, numeric_input, show, show_interval

TRANSFORMS = {"identity": lambda x: x, "log1p": math.log1p, "sqrt": math.sqrt}


def _decl(contract: Contract | None, name: str) -> InputDecl | None:
    return contract.inputs.get(name) if contract is not None else None


def _feature(feature: Mapping[str, Any], decl: InputDecl | None, policy: Any, path: tuple) -> Contribution:
    reach = numeric_input(decl, policy)
    shown = show_interval(reach) + (f" {decl.unit}" if decl is not None and decl.unit else "")
    transform = feature.get("transform", "identity")
    if transform != "identity":
        reach = reach.clip(0.0, math.inf)  # a negative input is refused before the transform
    value = reach.map_increasing(TRANSFORMS.get(transform, TRANSFORMS["identity"]))
    weight = float(feature["weight"])
    return Contribution(name=str(feature["name"]), path=path, contribution=value.scale(weight),
                        driver=str(feature["input"]), input_range=shown, how=f"{show(weight)} × {transform}(x)")


def _condition(when: Mapping[str, Any], decl: InputDecl | None, policy: Any) -> tuple[bool, bool, str, str]:
    """Whether the condition can hold, whether it can fail, the input's range as shown, and the test as text."""
    if "equals" in when and isinstance(when["equals"], bool):
        return True, True, "true / false", f"= {str(when['equals']).lower()}"
    if "equals" in when and isinstance(when["equals"], str) or "in" in when:
        wanted = [when["equals"]] if "equals" in when else list(when.get("in") or ())
        sent = list(decl.values) if decl is not None and decl.values else None
        if sent is None:
            return True, True, "any category", f"in {wanted}"
        return (any(v in sent for v in wanted), any(v not in wanted for v in sent), ", ".join(sent),
                f"in {', '.join(map(str, wanted))}")
    reach = numeric_input(decl, policy)
    shown = show_interval(reach)
    if "equals" in when:
        x = float(when["equals"])
        return reach.contains(x), not (reach.lo == reach.hi == x), shown, f"= {show(x)}"
    lo = float(when.get("at_least", -math.inf))
    hi = float(when.get("below", math.inf))
    holds = reach.lo < hi and reach.hi >= lo
    fails = reach.lo < lo or reach.hi >= hi
    return holds, fails, shown, f"in [{show(lo)}, {show(hi)})"


def analyse(data: Mapping[str, Any], contract: Contract | None) -> Analysis:
    """The analysis of a schema-valid ranking document."""
    policies = data.get("inputs") or {}
    terms: list[Contribution] = []
    score = Interval.point(0.0)
    for i, feature in enumerate(data.get("features") or ()):
        term = _feature(feature, _decl(contract, feature["input"]), policies.get(feature["input"]), ("features", i))
        terms.append(term)
        score = score + term.contribution
    base = score
    notes: list[str] = [f"base score (features only): {show_interval(base)}"]
    for i, boost in enumerate(data.get("boosts") or ()):
        when = boost.get("when") or {}
        name = str(when.get("input", ""))
        holds, fails, shown, test = _condition(when, _decl(contract, name), policies.get(name))
        multiply, add = float(boost.get("multiply", 1.0)), float(boost.get("add", 0.0))
        boosted = score.scale(multiply) + Interval.point(add)
        effect = score.scale(multiply - 1.0) + Interval.point(add)
        if not holds:
            effect = Interval.point(0.0)
            notes.append(f"boost {boost['name']!r} never applies: no allowed {name!r} is {test}")
        elif fails:
            effect = effect.union(Interval.point(0.0))
            score = score.union(boosted)
        else:
            score = boosted
        how = " ".join(filter(None, [f"× {show(multiply)}" if "multiply" in boost else "",
                                     f"+ {show(add)}" if "add" in boost else ""])) + f" when {name} {test}"
        terms.append(Contribution(name=str(boost["name"]), path=("boosts", i), contribution=effect,
                                  driver=name, input_range=shown, how=how))
    return Analysis(kind="ranking", model=str(data["name"]), scale="item score", base=0.0, terms=tuple(terms),
                    score=score, score_label="final item score", notes=tuple(notes))


def dominant(analysis: Analysis, leading: str | None) -> list[tuple[Contribution, float]]:
    """The features or boosts whose spread alone exceeds the spread of all the others together (with that
    total), except the one the model declares as leading: any such term decides the order by itself."""
    widths = [t.contribution.width for t in analysis.terms]
    out: list[tuple[Contribution, float]] = []
    for k, term in enumerate(analysis.terms):
        rest = sum(w for j, w in enumerate(widths) if j != k)
        if term.name != leading and widths[k] > 0 and widths[k] > MARGIN * rest:
            out.append((term, rest))
    return out
