"""What a change does, measured on replayed data: the shared pieces of every kind's replay metrics.

Each kind's ``metrics.py`` (``validator/kinds/<kind>/metrics.py``) streams its replay through an accumulator
built from these helpers and returns a ``Measured``. Each accumulator takes the base and head results of one batch at a time and keeps only counts and
histograms, so memory does not grow with the dataset. What needs a distribution (PSI, AUC, the charts) uses
bin edges fixed from the first batch; the metrics say so where it matters:

- PSI: 10 bins at the base scores' deciles, each edge moved to the midpoint between two distinct scores (a
  scorecard's scores pile up on a few values; an edge on a pile would make a 0.1% weight change look like a
  distribution shift). Empty bins count as 0.0001 of the rows, the usual convention.
- AUC: 2048 quantile bins of each version's scores; rows with equal scores always share a bin and count as
  ties (half), so the AUC is exact for scores with fewer distinct values than that, else within ~0.001.

Names in ``metrics`` are flat and dotted: ``decision_share.decline.base``, ``decision_flip_rate``, ``psi``,
``auc.base``... ``.base``/``.head`` suffixes mark the version; a metric of the change itself has none.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

PSI_BINS = 10
PSI_FLOOR = 1e-4
AUC_BINS = 2048
CHART_BINS = 20
MAX_TAU_ITEMS = 2000  # Kendall tau is O(n^2) per query: larger groups are compared on their base top 2000


@dataclass(frozen=True)
class Distribution:
    """For charts: a histogram over the same bin edges for base and head (shares summing to 1)."""

    label: str
    edges: tuple[float, ...] | None
    categories: tuple[str, ...] | None
    base: tuple[float, ...]
    head: tuple[float, ...]


@dataclass
class Measured:
    """A replay's result (what a kind's ``metrics.measure(job)`` returns).

    ``metrics``: flat dotted names -> floats (``.base``/``.head`` suffixes mark the version), with ``rows`` the
    number of replayed rows. ``summary``: the lines a reviewer reads, most important first. ``distributions``:
    the charts. ``guard_values``: guardrail name (one of the kind's ``GUARDRAILS``) -> (measured value, a short
    detail for the message such as the segment or arm it concerns, or ""); a guardrail without a value (e.g.
    an AUC change without an outcome column) is simply not judged.
    """

    metrics: dict[str, float] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)
    distributions: list[Distribution] = field(default_factory=list)
    guard_values: dict[str, tuple[float, str]] = field(default_factory=dict)
    # What was replayed, when it is not the declared datasets (a bandit's "monte carlo (20000 draws, seed 0)").
    source: str = ""


# ------------------------------------------------------------------------------------------------- helpers


def pct(x: float, digits: int = 1) -> str:
    return f"{x * 100:.{digits}f}%"


def pts(x: float) -> str:
    return "+0.0 pts" if abs(x) < 0.0005 else f"{x * 100:+.1f} pts"


def shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else np.zeros_like(counts, dtype=np.float64)


def snapped_edges(sample: np.ndarray, bins: int) -> np.ndarray:
    """Interior bin edges at the sample's quantiles, each moved to the midpoint between two distinct values."""
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return np.zeros(0)
    distinct = np.unique(sample)
    if distinct.size == 1:
        return np.zeros(0)
    q = np.quantile(sample, np.linspace(0, 1, bins + 1)[1:-1], method="lower")
    idx = np.searchsorted(distinct, q)
    idx = np.unique(np.clip(idx, 0, distinct.size - 2))
    return (distinct[idx] + distinct[idx + 1]) / 2.0


def psi(base_counts: np.ndarray, head_counts: np.ndarray, floor: float = PSI_FLOOR) -> float:
    """Population stability index: sum((h - b) * ln(h / b)) over bins, empty bins counted as ``floor``."""
    if base_counts.sum() == 0 or head_counts.sum() == 0:
        return math.nan
    b = np.maximum(shares(base_counts), floor)
    h = np.maximum(shares(head_counts), floor)
    return float(np.sum((h - b) * np.log(h / b)))


def auc_from_bins(positives: np.ndarray, negatives: np.ndarray) -> float:
    """AUC from per-bin counts of positives and negatives (bins in rising score order; ties within a bin half)."""
    p, n = positives.sum(), negatives.sum()
    if p == 0 or n == 0:
        return math.nan
    below = np.cumsum(negatives) - negatives
    return float(np.sum(positives * (below + 0.5 * negatives)) / (p * n))


def kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's tau between two rankings of the same items (no ties: ranks are a total order)."""
    n = len(a)
    if n < 2:
        return 1.0
    if n > MAX_TAU_ITEMS:
        keep = np.argsort(a, kind="stable")[:MAX_TAU_ITEMS]
        a, b, n = a[keep], b[keep], MAX_TAU_ITEMS
    sa = np.sign(a[:, None] - a[None, :])
    sb = np.sign(b[:, None] - b[None, :])
    return float((sa * sb).sum() / (n * (n - 1)))


def dcg(relevance_by_rank: np.ndarray, k: int) -> float:
    top = relevance_by_rank[:k]
    return float(np.sum((2.0 ** top - 1.0) / np.log2(np.arange(2, top.size + 2))))


def ndcg(ranks: np.ndarray, relevance: np.ndarray, k: int) -> float:
    """NDCG@k of one query's ranking (``ranks`` 1-based) against graded relevance labels (NaN: no label)."""
    ideal = dcg(np.sort(relevance)[::-1], k)
    if ideal <= 0:
        return math.nan
    return dcg(relevance[np.argsort(ranks)], k) / ideal


def hist(values: np.ndarray, edges: np.ndarray, size: int) -> np.ndarray:
    return np.bincount(np.searchsorted(edges, values, side="right"), minlength=size)[:size]


# ------------------------------------------------------------------- shared by categorical outcomes


def count_transitions(base: np.ndarray, head: np.ndarray, transitions: np.ndarray) -> tuple[int, int]:
    """Add one batch's base -> head label pairs to ``transitions`` (k x k, in place).

    Labels are indices; a negative index is a row one version refused, left out of both counts.
    Returns (rows both versions labelled, rows whose label changed).
    """
    ok = (base >= 0) & (head >= 0)
    k = transitions.shape[0]
    transitions += np.bincount(base[ok] * k + head[ok], minlength=k * k).reshape(k, k)
    return int(ok.sum()), int((ok & (base != head)).sum())


def largest_share_change(out: Measured, labels: Sequence[str], share: Mapping[str, np.ndarray]) -> None:
    """The max_share_change guardrail value: the label whose share moved most between base and head."""
    changes = np.abs(share["head"] - share["base"])
    if not len(changes):
        return
    worst = int(np.argmax(changes))
    out.guard_values["max_share_change"] = (
        float(changes[worst]), f"{labels[worst]} {pct(share['base'][worst])} -> {pct(share['head'][worst])}")


def top_transitions(out: Measured, labels: Sequence[str], transitions: np.ndarray, both: int, unit: str) -> None:
    """The three largest base -> head moves, as metrics and summary lines."""
    k = len(labels)
    moves = [(int(transitions[i, j]), labels[i], labels[j])
             for i in range(k) for j in range(k) if i != j and transitions[i, j]]
    for count, a, b in sorted(moves, reverse=True)[:3]:
        out.metrics[f"transition.{a}.{b}"] = count / both
        out.summary.append(f"  {a} -> {b}: {count} {unit} ({pct(count / both, 2)})")
