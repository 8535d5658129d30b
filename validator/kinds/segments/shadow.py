"""What a shadowing app counts for segments: a customer whose segment differs between the live and the
candidate version has moved; there is no delta.

Runtime side (loaded through ``Kind.room("shadow")``): plain Python on ``Assignment`` records, no numpy, no gate.
The segment is the outcome (the variant follows from it, the fallback is a segment too), and the replay's
``reassignment_rate`` (``metrics.py``) is the share of rows both versions assigned whose segment changes: the
same count on the sample rows, hence the prediction. No delta, because the one number an assignment carries, the
distance to the nearest centroid, is measured in each version's own scaled space: a candidate that rescales a
feature changes every distance without moving anybody, so the difference would size the scaling, not the change.
"""
from __future__ import annotations

from validator.kinds.results import Assignment

CHANGE: str | None = "segment"
PREDICTED_BY: str | None = "reassignment_rate"


def compare(live_result: Assignment, candidate_result: Assignment) -> tuple[bool, float | None]:
    """(the segment changed, None) for one request both versions answered."""
    return live_result.segment != candidate_result.segment, None


__all__ = ["CHANGE", "PREDICTED_BY", "compare"]
