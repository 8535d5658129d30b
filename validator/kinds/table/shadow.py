"""What a shadowing app counts for a table: a request whose looked-up values (or whether its key found a row)
differ between the live and the candidate version is a change; the delta is that of the first numeric value.

Runtime side (loaded through ``Kind.room("shadow")``): plain Python on ``Lookup`` records, no numpy, no gate.
Only the value columns both versions have are compared, as the replay compares them: a column the candidate adds
is no answer the app used to get. The replay's ``value_change_rate`` (``metrics.py``) is the share of requests both
versions answered whose values or found flag differ: the same test on the sample requests, hence the prediction.
The delta is |candidate - live| of the first value column (in the live header's order) that holds a number in both
answers: the header lists the main value first by convention (``boost`` before ``pinned_slots``), and a table
with several numeric columns has no other single value to size a change by.
"""
from __future__ import annotations

from validator.kinds.results import Lookup

CHANGE: str | None = "value"
PREDICTED_BY: str | None = "value_change_rate"


def _number(value: object) -> bool:
    return type(value) is int or type(value) is float


def compare(live_result: Lookup, candidate_result: Lookup) -> tuple[bool, float | None]:
    """(the found flag or a shared value column changed, |delta| of the first numeric shared column or None)."""
    live, candidate = live_result.values, candidate_result.values
    changed = live_result.found != candidate_result.found
    delta: float | None = None
    for column, before in live.items():
        if column not in candidate:
            continue
        after = candidate[column]
        if before != after:  # Python's equality, as numpy's on the replay's columns: 2 == 2.0
            changed = True
        if delta is None and _number(before) and _number(after):
            delta = abs(float(after) - float(before))
    return changed, delta


__all__ = ["CHANGE", "PREDICTED_BY", "compare"]
