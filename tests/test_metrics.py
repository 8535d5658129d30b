"""Metric arithmetic on small hand-computed cases (the replay tests cover the streaming plumbing)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from validator.gate.replay_metrics import auc_from_bins, kendall_tau, ndcg, psi, snapped_edges


def test_psi_of_identical_distributions_is_zero_and_grows_with_shift() -> None:
    assert psi(np.array([10, 20, 70]), np.array([1, 2, 7])) == 0.0
    # shares 0.5/0.5 -> 0.25/0.75: (0.25-0.5)ln(0.5) + (0.75-0.5)ln(1.5) = 0.1733 + 0.1014
    assert psi(np.array([50, 50]), np.array([25, 75])) == pytest.approx(0.25 * math.log(2) + 0.25 * math.log(1.5))
    assert math.isnan(psi(np.array([0, 0]), np.array([1, 1])))


def test_edges_sit_between_piles_of_equal_scores() -> None:
    sample = np.array([0.1] * 50 + [0.2] * 30 + [0.5] * 20)
    edges = snapped_edges(sample, 10)
    assert set(edges.round(10)) <= {0.15, 0.35}  # never on a pile: a tiny shift cannot cross an edge


def test_auc_counts_ties_as_half() -> None:
    # positives in bins 1, 2; negatives in bins 0, 1: pairs (p1,n0)=1, (p1,n1)=0.5, (p2,n0)=1, (p2,n1)=1 -> 3.5/4
    assert auc_from_bins(np.array([0, 1, 1]), np.array([1, 1, 0])) == 0.875
    assert math.isnan(auc_from_bins(np.array([0, 0]), np.array([1, 1])))


def test_kendall_tau_from_full_agreement_to_reversal() -> None:
    a = np.array([1.0, 2.0, 3.0, 4.0])
    assert kendall_tau(a, a) == 1.0
    assert kendall_tau(a, a[::-1].copy()) == -1.0
    assert kendall_tau(a, np.array([2.0, 1.0, 3.0, 4.0])) == pytest.approx(4 / 6)  # one discordant pair of six


def test_ndcg_is_one_for_the_ideal_order() -> None:
    relevance = np.array([3.0, 0.0, 1.0])
    assert ndcg(np.array([1, 3, 2]), relevance, 10) == 1.0
    # order 0-rel first: DCG = 0/1 + 7/log2(3) + 1/2; ideal = 7 + 1/log2(3)
    worst = ndcg(np.array([2, 1, 3]), relevance, 10)
    assert worst == pytest.approx((7 / math.log2(3) + 0.5) / (7 + 1 / math.log2(3)))
    assert math.isnan(ndcg(np.array([1, 2]), np.array([0.0, 0.0]), 10))
