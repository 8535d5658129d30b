"""What a shadowing app counts for a ranking: a request whose items come back in a different order (or a
different page) is a change; there is no delta.

Runtime side (loaded through ``Kind.room("shadow")``): plain Python on ``Ranking`` records, no numpy, no gate.
Both versions rank the items of one request, the candidate usually a copy of them (the shadow worker detaches
a sampled request from the app's objects), so items are compared by equality, identity being only the fast path.
Equal items cannot swap places anyway: they score and tie-break alike and keep the app's order in both versions.
(An app that edits the item mappings after the call, before the worker compares, would make them differ: the
comparison reads the live result as the app left it.) The replay's ``order_change_rate``
(``metrics.py``) is the share of queries both versions ranked whose order changes: the same test on the sample
queries, hence the prediction. No delta: the scores of two versions are on no common scale a ranking promises
(only their order matters), and a single number for "how different" (Kendall tau, top-k overlap) is what the
replay reports per query; the fleet's rate of changed orders is what a rollout is judged on.
"""
from __future__ import annotations

from validator.kinds.results import Ranking

CHANGE: str | None = "rank"
PREDICTED_BY: str | None = "order_change_rate"


def compare(live_result: Ranking, candidate_result: Ranking) -> tuple[bool, float | None]:
    """(the returned order changed, None) for one request both versions ranked."""
    live, candidate = live_result.items, candidate_result.items
    if len(live) != len(candidate):
        return True, None
    for a, b in zip(live, candidate, strict=True):
        if a.item is not b.item and a.item != b.item:
            return True, None
    return False, None


__all__ = ["CHANGE", "PREDICTED_BY", "compare"]
