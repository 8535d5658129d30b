"""What a shadowing app counts for a scorecard: a request whose decision band differs between the live and the
candidate version is a flip, and the distance between the two scores is the delta.

Runtime side (the shadow worker of ``validator.runtime`` imports it through ``Kind.room("shadow")``): plain Python
on the result records, no numpy, no gate. The decision is the outcome an app acts on, so it is what the fleet's
flip rate counts; the replay's ``decision_flip_rate`` (``metrics.py``) counts the very same thing on the sample
rows (rows both versions answered, decisions compared as labels), which is why it is the prediction the shadow
measurements are read against. The score delta is on the link's scale the two versions share (a probability or
the identity score), so a difference of the two values is a meaningful size of the change.
"""
from __future__ import annotations

from validator.kinds.results import Score

CHANGE: str | None = "decision"
PREDICTED_BY: str | None = "decision_flip_rate"


def compare(live_result: Score, candidate_result: Score) -> tuple[bool, float | None]:
    """(the decision band changed, |candidate score - live score|) for one request both versions answered."""
    return (live_result.decision != candidate_result.decision,
            abs(candidate_result.value - live_result.value))


__all__ = ["CHANGE", "PREDICTED_BY", "compare"]
