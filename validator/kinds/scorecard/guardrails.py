"""The replay guardrails of a scorecard: how many decisions a change may flip, how far it may move the bands'
shares and the score distribution, and how much discrimination (AUC) it may lose against a known outcome.

Plain data (no numpy): the kind's schema lists these names for a model's ``guardrails:`` and ``accept:``, and
the gate judges the values ``metrics.measure`` reports under the same names.
"""
from __future__ import annotations

from validator.kinds.base import GuardrailSpec, share_change

GUARDRAILS: tuple[GuardrailSpec, ...] = (
    GuardrailSpec(
        "max_decision_flip_rate", "max", "decision flip rate", 0.02,
        "Share of replayed rows whose decision changes between base and head.",
        percent=True,
        help="Most rows (share, 0.02 = 2%) whose decision may change between base and head.",
    ),
    share_change(0.02),
    GuardrailSpec(
        "max_psi", "max", "score PSI", 0.1,
        "Population stability index of the score distribution (base deciles); 0.1 moderate, 0.25 large.",
        help="Largest population stability index of the score distribution (0.1 moderate, 0.25 large).",
        unit="index",
    ),
    GuardrailSpec(
        "min_auc_delta", "min", "AUC change", -0.01,
        "Head AUC minus base AUC against the outcome column; only with an outcome.",
        help="Lowest allowed head AUC minus base AUC against the outcome (-0.01: may lose 0.01).",
        unit="delta",
        sign=-1,
    ),
)

__all__ = ["GUARDRAILS"]
