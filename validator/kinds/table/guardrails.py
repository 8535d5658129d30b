"""The replay guardrails of a table: how much of the traffic a change of rows may move, and how far.

A table change is usually a bulk export from the analytics team: thousands of rows rewritten at once. What a
reviewer needs bounded is what the app will feel, measured on replayed requests, plus the largest single jump,
so a unit slip (a boost of 12 instead of 1.2) in one row cannot hide among 50,000 quiet ones.
"""
from __future__ import annotations

from validator.kinds.base import GuardrailSpec

GUARDRAILS: tuple[GuardrailSpec, ...] = (
    GuardrailSpec(
        "max_traffic_changed_share", "max", "share of traffic whose values change", 0.10,
        "Share of replayed requests whose looked-up values (or found/default) differ between base and head.",
        percent=True,
        help="Most replayed requests (share, 0.1 = 10%) whose looked-up row may change between base and head.",
    ),
    GuardrailSpec(
        "max_relative_change", "max", "largest relative change of a value", 0.5,
        "Largest |head - base| / |base| of any numeric value over the keys present in both versions.",
        percent=True,
        help="Largest relative change (0.5 = 50%) any numeric value of a row kept by the change may make.",
        unit="index",
    ),
    GuardrailSpec(
        "max_missing_share_change", "max", "change of the share of requests without a row", 0.02,
        "Head minus base share of replayed requests whose key has no row (default row or refusal).",
        points=True,
        help="Most the share of requests whose key finds no row may grow (0.02 = 2 points).",
    ),
)

__all__ = ["GUARDRAILS"]
