"""The replay guardrails of a segmentation: how many customers a change may move to another segment, how
large one segment may grow, and how far any segment's share may move.

Plain data (no numpy): the kind's schema lists these names for a model's ``guardrails:`` and ``accept:``, and
the gate judges the values ``metrics.measure`` reports under the same names.
"""
from __future__ import annotations

from validator.kinds.base import GuardrailSpec, share_change

GUARDRAILS: tuple[GuardrailSpec, ...] = (
    GuardrailSpec(
        "max_reassignment_rate", "max", "reassignment rate", 0.05,
        "Share of customers whose segment changes between base and head.",
        percent=True,
        help="Most customers (share) whose segment may change between base and head.",
    ),
    GuardrailSpec(
        "max_segment_share", "max", "largest segment share", 0.5,
        "The largest share of customers any one segment (or the fallback) gets on head.",
        percent=True,
        help="Largest share of customers one segment (or the fallback) may get.",
    ),
    share_change(0.05),
)

__all__ = ["GUARDRAILS"]
