"""The replay guardrails of a bandit: every arm keeps some traffic, and no variant's expected share swings
too far in one change (measured by a seeded Monte Carlo over the posteriors).

Plain data (no numpy): the kind's schema lists these names for a model's ``guardrails:`` and ``accept:``, and
the gate judges the values ``metrics.measure`` reports under the same names.
"""
from __future__ import annotations

from validator.kinds.base import GuardrailSpec, share_change

GUARDRAILS: tuple[GuardrailSpec, ...] = (
    GuardrailSpec(
        "min_arm_share", "min", "smallest arm share", 0.02,
        "The smallest expected traffic share of any arm on head (floors and Thompson).",
        percent=True,
        help="Smallest expected traffic share any arm must keep.",
    ),
    share_change(0.5),
)

__all__ = ["GUARDRAILS"]
