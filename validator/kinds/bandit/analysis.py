"""What a bandit can do with the traffic: each arm's smallest and largest share of all views, and the variants
some view can get at all.

A bandit reads no request inputs, so its "ranges" are shares of the unit interval ``choose()`` splits: the
holdout takes exactly its share, each arm at least its floor, and Thompson sampling hands the rest
(``1 - holdout - sum(floors)``) to whichever arm samples best, so any arm may get all of it. An arm without
a floor when the floors and the holdout take every view is never shown.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from validator.kinds.bandit.evaluator import floors_total, holdout_share
from validator.kinds.contract import Contract
from validator.kinds.intervals import Analysis, Contribution, Interval, Outcome, show


def analyse(data: Mapping[str, Any], contract: Contract | None) -> Analysis:
    """The analysis of a schema-valid bandit document (the contract is not needed: no inputs are read)."""
    holdout = holdout_share(data)
    floors = floors_total(data)
    free = 1.0 - holdout - floors
    free = free if free > 1e-9 else 0.0  # shares written to 4 decimals: a rounding remainder is no traffic
    terms: list[Contribution] = []
    outcomes: list[Outcome] = []
    for i, arm in enumerate(data.get("arms") or ()):
        floor = float(arm.get("floor", 0.0))
        prior, posterior = arm.get("prior") or {}, arm.get("posterior") or {}
        alpha = float(prior.get("alpha", 1.0)) + float(posterior.get("successes", 0.0))
        beta = float(prior.get("beta", 1.0)) + float(posterior.get("failures", 0.0))
        mean = alpha / (alpha + beta) if alpha + beta > 0 else math.nan
        terms.append(Contribution(
            name=str(arm["id"]), path=("arms", i), contribution=Interval(floor, floor + free),
            driver="Thompson sampling", input_range=f"posterior Beta({show(alpha)}, {show(beta)}), mean {show(mean)}",
            how=f"floor {show(floor)} + up to {show(free)} when it samples best",
        ))
        reachable = floor + free > 0
        outcomes.append(Outcome(str(arm["id"]), ("arms", i, "id"), reachable,
                                "" if reachable else "it has no floor and the floors and the holdout take every view"))
    variant = (data.get("holdout") or {}).get("variant")
    if variant:
        outcomes.append(Outcome(str(variant), ("holdout", "variant"), holdout > 0,
                                "" if holdout > 0 else "the holdout's share is 0"))
    notes = (f"holdout {variant!r}: exactly {show(holdout)} of views" if variant else "no holdout",
             f"shared by Thompson sampling: {show(free)} of views")
    return Analysis(kind="bandit", model=str(data["name"]), scale="share of views", base=holdout,
                    terms=tuple(terms), score=Interval(0.0, 1.0), score_label="share of views",
                    outcomes=tuple(outcomes), notes=notes, additive=False)
