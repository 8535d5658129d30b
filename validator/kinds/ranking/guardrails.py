"""The replay guardrails of a ranking: how much of each query's top k must stay in it, and how much ranking
quality (NDCG@k against relevance labels) a change may lose.

Plain data (no numpy): the kind's schema lists these names for a model's ``guardrails:`` and ``accept:``, and
the gate judges the values ``metrics.measure`` reports under the same names.
"""
from __future__ import annotations

from validator.kinds.base import GuardrailSpec

GUARDRAILS: tuple[GuardrailSpec, ...] = (
    GuardrailSpec(
        "min_topk_overlap", "min", "top-k overlap", 0.7,
        "Mean share of each query's top k items (base) still in the top k on head.",
        percent=True,
        help="Lowest mean share of each query's top k items that must stay in the top k.",
    ),
    GuardrailSpec(
        "min_ndcg_delta", "min", "NDCG@k change", -0.02,
        "Head NDCG@k minus base NDCG@k against the relevance labels; only with labels.",
        help="Lowest allowed head NDCG@k minus base NDCG@k against the relevance labels.",
        unit="delta",
        sign=-1,
    ),
)

__all__ = ["GUARDRAILS"]
