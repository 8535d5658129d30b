"""What a change does, measured on replayed data: streaming accumulators per kind.

Each accumulator takes the base and head results of one batch at a time and keeps only counts and
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
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

PSI_BINS = 10
PSI_FLOOR = 1e-4
AUC_BINS = 2048
CHART_BINS = 20
DEFAULT_TOP_K = 10
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


def _hist(values: np.ndarray, edges: np.ndarray, size: int) -> np.ndarray:
    return np.bincount(np.searchsorted(edges, values, side="right"), minlength=size)[:size]


# ------------------------------------------------------------------------------------------------ scorecard


def count_transitions(base: np.ndarray, head: np.ndarray, transitions: np.ndarray) -> tuple[int, int]:
    """Add one batch's base -> head label pairs to ``transitions`` (k x k, in place).

    Labels are indices; a negative index is a row one version refused, left out of both counts.
    Returns (rows both versions labelled, rows whose label changed).
    """
    ok = (base >= 0) & (head >= 0)
    k = transitions.shape[0]
    transitions += np.bincount(base[ok] * k + head[ok], minlength=k * k).reshape(k, k)
    return int(ok.sum()), int((ok & (base != head)).sum())


def largest_share_change(out: "Measured", labels: Sequence[str], share: Mapping[str, np.ndarray]) -> None:
    """The max_share_change guardrail value: the label whose share moved most between base and head."""
    changes = np.abs(share["head"] - share["base"])
    if not len(changes):
        return
    worst = int(np.argmax(changes))
    out.guard_values["max_share_change"] = (
        float(changes[worst]), f"{labels[worst]} {pct(share['base'][worst])} -> {pct(share['head'][worst])}")


def top_transitions(out: "Measured", labels: Sequence[str], transitions: np.ndarray, both: int, unit: str) -> None:
    """The three largest base -> head moves, as metrics and summary lines."""
    k = len(labels)
    moves = [(int(transitions[i, j]), labels[i], labels[j])
             for i in range(k) for j in range(k) if i != j and transitions[i, j]]
    for count, a, b in sorted(moves, reverse=True)[:3]:
        out.metrics[f"transition.{a}.{b}"] = count / both
        out.summary.append(f"  {a} -> {b}: {count} {unit} ({pct(count / both, 2)})")


class ScorecardMetrics:
    """Decision shares and flips, score PSI, and with an outcome AUC, precision/recall per band and loss."""

    def __init__(self, base_labels: Sequence[str] | None, head_labels: Sequence[str] | None,
                 outcome: bool, costs: Mapping[str, Mapping[str, float]] | None, unit: str = "rows") -> None:
        self.base_labels = tuple(base_labels) if base_labels is not None else None
        self.head_labels = tuple(head_labels) if head_labels is not None else None
        self.labels = tuple(dict.fromkeys((*(head_labels or ()), *(base_labels or ()))))
        self.outcome = outcome
        self.costs = costs
        self.unit = unit
        k = len(self.labels)
        self.rows = 0
        self.counts = {"base": np.zeros(k, np.int64), "head": np.zeros(k, np.int64)}
        self.positives = {"base": np.zeros(k, np.int64), "head": np.zeros(k, np.int64)}
        self.labelled = {"base": np.zeros(k, np.int64), "head": np.zeros(k, np.int64)}
        self.rejected = {"base": 0, "head": 0}
        self.transitions = np.zeros((k, k), np.int64)
        self.both = 0
        self.flips = 0
        self.psi_edges: np.ndarray | None = None
        self.chart_edges: np.ndarray | None = None
        self.psi_counts = {"base": np.zeros(0), "head": np.zeros(0)}
        self.chart_counts = {"base": np.zeros(0), "head": np.zeros(0)}
        self.auc_edges: dict[str, np.ndarray] = {}
        self.auc_pos: dict[str, np.ndarray] = {}
        self.auc_neg: dict[str, np.ndarray] = {}
        self.sums = {"base": 0.0, "head": 0.0}

    def _map(self, version: str, decisions: np.ndarray) -> np.ndarray:
        labels = self.base_labels if version == "base" else self.head_labels
        table = np.array([self.labels.index(d) for d in labels] + [-1], dtype=np.int64)
        return table[decisions]

    def add(self, base: Any | None, head: Any | None, outcome: np.ndarray | None) -> None:
        """One batch: ``base``/``head`` are ScoreBatch (None for the absent version); ``outcome`` 1/0/NaN."""
        sides = {"base": base, "head": head}
        n = len((base or head).values)
        self.rows += n
        if self.psi_edges is None:
            ref = base if base is not None else head
            self.psi_edges = snapped_edges(ref.values, PSI_BINS)
            both = np.concatenate([s.values for s in sides.values() if s is not None])
            both = both[np.isfinite(both)]
            if both.size:
                lo, hi = np.quantile(both, [0.005, 0.995])
                if hi <= lo:
                    lo, hi = float(both.min()) - 0.5, float(both.max()) + 0.5
                    if hi <= lo:
                        lo, hi = lo - 0.5, hi + 0.5
            else:
                lo, hi = 0.0, 1.0
            self.chart_edges = np.linspace(lo, hi, CHART_BINS + 1)
            for version in sides:
                self.psi_counts[version] = np.zeros(len(self.psi_edges) + 1, np.int64)
                self.chart_counts[version] = np.zeros(CHART_BINS, np.int64)
        mapped: dict[str, np.ndarray] = {}
        for version, batch in sides.items():
            if batch is None:
                continue
            d = self._map(version, batch.decisions.astype(np.int64))
            mapped[version] = d
            ok = d >= 0
            self.rejected[version] += int((~ok).sum())
            self.counts[version] += np.bincount(d[ok], minlength=len(self.labels))
            values = batch.values[ok]
            self.sums[version] += float(values.sum())
            self.psi_counts[version] += _hist(values, self.psi_edges, len(self.psi_edges) + 1)
            inner = np.clip(values, self.chart_edges[0], self.chart_edges[-1])
            self.chart_counts[version] += _hist(inner, self.chart_edges[1:-1], CHART_BINS)
            if outcome is not None:
                y = outcome[ok]
                known = ~np.isnan(y)
                pos = known & (y > 0.5)
                self.positives[version] += np.bincount(d[ok][pos], minlength=len(self.labels))
                self.labelled[version] += np.bincount(d[ok][known], minlength=len(self.labels))
                if version not in self.auc_edges:
                    self.auc_edges[version] = np.unique(np.quantile(values[known], np.linspace(0, 1, AUC_BINS + 1)[1:-1])) \
                        if known.any() else np.zeros(0)
                    size = len(self.auc_edges[version]) + 1
                    self.auc_pos[version] = np.zeros(size, np.int64)
                    self.auc_neg[version] = np.zeros(size, np.int64)
                edges = self.auc_edges[version]
                size = len(edges) + 1
                self.auc_pos[version] += _hist(values[pos], edges, size)
                self.auc_neg[version] += _hist(values[known & ~pos], edges, size)
        if "base" in mapped and "head" in mapped:
            both, changed = count_transitions(mapped["base"], mapped["head"], self.transitions)
            self.both += both
            self.flips += changed

    def result(self) -> Measured:
        out = Measured()
        m = out.metrics
        m["rows"] = float(self.rows)
        present = [v for v, labels in (("base", self.base_labels), ("head", self.head_labels)) if labels is not None]
        share = {}
        for version in present:
            evaluated = self.counts[version].sum()
            m[f"rejected.{version}"] = float(self.rejected[version])
            m[f"score_mean.{version}"] = self.sums[version] / evaluated if evaluated else math.nan
            share[version] = shares(self.counts[version])
            for i, label in enumerate(self.labels):
                m[f"decision_share.{label}.{version}"] = float(share[version][i])
        for version in present:
            if self.rejected[version]:
                out.summary.append(f"{self.rejected[version]} of {self.rows} {self.unit} refused by {version}'s "
                                   "input policy (missing or out of range)")
        if len(present) == 2:
            for i, label in enumerate(self.labels):
                b, h = share["base"][i], share["head"][i]
                if b != h or len(self.labels) <= 4:
                    out.summary.append(f"{label} share {pct(b)} -> {pct(h)} ({pts(h - b)})")
            largest_share_change(out, self.labels, share)
            rate = self.flips / self.both if self.both else 0.0
            m["decision_flip_rate"] = rate
            out.guard_values["max_decision_flip_rate"] = (rate, "")
            out.summary.append(f"{pct(rate)} of {self.unit} change decision ({self.flips} of {self.both})")
            top_transitions(out, self.labels, self.transitions, self.both, self.unit)
            value = psi(self.psi_counts["base"], self.psi_counts["head"])
            m["psi"] = value
            out.guard_values["max_psi"] = (value, "")
            out.summary.append(f"score distribution shift (PSI) {value:.4f}")
        elif present:
            version = present[0]
            word = "added" if version == "head" else "removed"
            out.summary.append(f"model {word}: " + ", ".join(
                f"{label} {pct(share[version][i])}" for i, label in enumerate(self.labels)))
        if self.outcome:
            self._outcome_metrics(out, present, share)
        cats = self.labels
        out.distributions.append(Distribution(
            "decision share", None, cats,
            tuple(float(x) for x in share["base"]) if "base" in share else (),
            tuple(float(x) for x in share["head"]) if "head" in share else ()))
        out.distributions.append(Distribution(
            "score", tuple(float(x) for x in self.chart_edges) if self.chart_edges is not None else (), None,
            tuple(float(x) for x in shares(self.chart_counts["base"])) if "base" in share else (),
            tuple(float(x) for x in shares(self.chart_counts["head"])) if "head" in share else ()))
        return out

    def _outcome_metrics(self, out: Measured, present: list[str], share: dict[str, np.ndarray]) -> None:
        m = out.metrics
        auc: dict[str, float] = {}
        for version in present:
            labelled = self.labelled[version].sum()
            positives = self.positives[version].sum()
            m[f"positive_rate.{version}"] = positives / labelled if labelled else math.nan
            if version in self.auc_pos:
                auc[version] = auc_from_bins(self.auc_pos[version], self.auc_neg[version])
                m[f"auc.{version}"] = auc[version]
            labels = self.base_labels if version == "base" else self.head_labels
            # precision/recall of "this band or a later one" (bands are ordered, e.g. approve < review < decline)
            order = [self.labels.index(label) for label in labels]
            for cut in range(1, len(order)):
                flagged = order[cut:]
                n = self.labelled[version][flagged].sum()
                tp = self.positives[version][flagged].sum()
                label = self.labels[order[cut]]
                m[f"precision.{label}.{version}"] = tp / n if n else math.nan
                m[f"recall.{label}.{version}"] = tp / positives if positives else math.nan
            if self.costs:
                loss = 0.0
                for i, label in enumerate(self.labels):
                    cost = self.costs.get(label) or {}
                    pos = self.positives[version][i]
                    neg = self.labelled[version][i] - pos
                    loss += pos * float(cost.get("positive", 0.0)) + neg * float(cost.get("negative", 0.0))
                m[f"expected_loss.{version}"] = loss / labelled if labelled else math.nan
        if "base" in auc and "head" in auc:
            delta = auc["head"] - auc["base"]
            m["auc.delta"] = delta
            out.guard_values["min_auc_delta"] = (delta, f"{auc['base']:.4f} -> {auc['head']:.4f}")
            out.summary.append(f"AUC {auc['base']:.4f} -> {auc['head']:.4f} ({delta:+.4f})")
        elif auc:
            (version, value), = auc.items()
            out.summary.append(f"AUC {value:.4f} ({version})")
        if self.costs and all(f"expected_loss.{v}" in m for v in present):
            if len(present) == 2:
                b, h = m["expected_loss.base"], m["expected_loss.head"]
                out.summary.append(f"expected loss per {self.unit[:-1] if self.unit.endswith('s') else self.unit} "
                                   f"{b:.3f} -> {h:.3f} ({h - b:+.3f})")
            missing = [label for label in self.labels if label not in self.costs]
            if missing:
                out.summary.append(f"no cost declared for {', '.join(missing)} (counted as 0)")


# ------------------------------------------------------------------------------------------------- segments


class SegmentsMetrics:
    """Segment sizes before/after, the reassignment rate, and the fallback share."""

    def __init__(self, base_labels: Sequence[str] | None, head_labels: Sequence[str] | None,
                 unit: str = "customers") -> None:
        self.base_labels = tuple(base_labels) if base_labels is not None else None
        self.head_labels = tuple(head_labels) if head_labels is not None else None
        self.labels = tuple(dict.fromkeys((*(head_labels or ()), *(base_labels or ()))))
        self.unit = unit
        k = len(self.labels)
        self.rows = 0
        self.counts = {"base": np.zeros(k, np.int64), "head": np.zeros(k, np.int64)}
        self.rejected = {"base": 0, "head": 0}
        self.both = 0
        self.moved = 0
        self.transitions = np.zeros((k, k), np.int64)

    def add(self, base: Any | None, head: Any | None) -> None:
        n = len((base or head).segments)
        self.rows += n
        mapped = {}
        for version, batch in (("base", base), ("head", head)):
            if batch is None:
                continue
            table = np.array([self.labels.index(s) for s in batch.labels] + [-1], dtype=np.int64)
            d = table[batch.segments.astype(np.int64)]
            mapped[version] = d
            ok = d >= 0
            self.rejected[version] += int((~ok).sum())
            self.counts[version] += np.bincount(d[ok], minlength=len(self.labels))
        if len(mapped) == 2:
            both, changed = count_transitions(mapped["base"], mapped["head"], self.transitions)
            self.both += both
            self.moved += changed

    def result(self) -> Measured:
        out = Measured()
        m = out.metrics
        m["rows"] = float(self.rows)
        present = [v for v, labels in (("base", self.base_labels), ("head", self.head_labels)) if labels is not None]
        share = {}
        for version in present:
            share[version] = shares(self.counts[version])
            m[f"rejected.{version}"] = float(self.rejected[version])
            for i, label in enumerate(self.labels):
                m[f"segment_share.{label}.{version}"] = float(share[version][i])
            if self.rejected[version]:
                out.summary.append(f"{self.rejected[version]} of {self.rows} {self.unit} refused by {version}'s input policy")
        if "head" in share and len(self.labels):
            worst = int(np.argmax(share["head"]))
            out.guard_values["max_segment_share"] = (float(share["head"][worst]), self.labels[worst])
        if len(present) == 2:
            rate = self.moved / self.both if self.both else 0.0
            m["reassignment_rate"] = rate
            out.guard_values["max_reassignment_rate"] = (rate, "")
            for i, label in enumerate(self.labels):
                b, h = share["base"][i], share["head"][i]
                out.summary.append(f"{label} {pct(b)} -> {pct(h)} ({pts(h - b)})")
            out.summary.append(f"{pct(rate)} of {self.unit} change segment ({self.moved} of {self.both})")
            largest_share_change(out, self.labels, share)
            top_transitions(out, self.labels, self.transitions, self.both, self.unit)
        elif present:
            version = present[0]
            out.summary.append(("model added: " if version == "head" else "model removed: ") + ", ".join(
                f"{label} {pct(share[version][i])}" for i, label in enumerate(self.labels)))
        out.distributions.append(Distribution(
            "segment share", None, self.labels,
            tuple(float(x) for x in share["base"]) if "base" in share else (),
            tuple(float(x) for x in share["head"]) if "head" in share else ()))
        return out


# -------------------------------------------------------------------------------------------------- ranking


class RankingMetrics:
    """Per query: top-k overlap and Kendall tau between base and head orders, NDCG@k against labels."""

    def __init__(self, k: int = DEFAULT_TOP_K, has_base: bool = True, has_head: bool = True) -> None:
        self.k = k
        self.has = {"base": has_base, "head": has_head}
        self.queries = 0
        self.items = 0
        self.rejected = {"base": 0, "head": 0}
        self.overlap_sum = 0.0
        self.tau_sum = 0.0
        self.compared = 0
        self.ndcg_sum = {"base": 0.0, "head": 0.0}
        self.ndcg_n = {"base": 0, "head": 0}
        self.top_moves = 0  # items that enter or leave a query's top k

    def add_group(self, base_ranks: np.ndarray | None, head_ranks: np.ndarray | None,
                  relevance: np.ndarray | None) -> None:
        """One query: 1-based ranks of its items per version (0 where the version refused the query)."""
        self.queries += 1
        self.items += len(base_ranks if base_ranks is not None else head_ranks)
        ok = {}
        for version, ranks in (("base", base_ranks), ("head", head_ranks)):
            if ranks is None:
                continue
            ok[version] = bool(len(ranks)) and bool(ranks[0] > 0)
            if not ok[version]:
                self.rejected[version] += 1
            elif relevance is not None and not np.isnan(relevance).any():
                value = ndcg(ranks, relevance, self.k)
                if not math.isnan(value):
                    self.ndcg_sum[version] += value
                    self.ndcg_n[version] += 1
        if ok.get("base") and ok.get("head"):
            k = min(self.k, len(base_ranks))
            in_base, in_head = base_ranks <= k, head_ranks <= k
            self.overlap_sum += float((in_base & in_head).sum()) / k
            self.top_moves += int((in_head & ~in_base).sum())
            self.tau_sum += kendall_tau(base_ranks.astype(np.float64), head_ranks.astype(np.float64))
            self.compared += 1

    def result(self) -> Measured:
        out = Measured()
        m = out.metrics
        m["rows"] = float(self.items)
        m["queries"] = float(self.queries)
        for version, has in self.has.items():
            if has:
                m[f"rejected_queries.{version}"] = float(self.rejected[version])
                if self.rejected[version]:
                    out.summary.append(f"{self.rejected[version]} of {self.queries} queries refused by {version}'s "
                                       "input policy")
        if self.compared:
            overlap = self.overlap_sum / self.compared
            tau = self.tau_sum / self.compared
            m[f"topk_overlap@{self.k}"] = overlap
            m["topk_overlap"] = overlap
            m["kendall_tau"] = tau
            m["topk_entries"] = float(self.top_moves)
            out.guard_values["min_topk_overlap"] = (overlap, f"k={self.k}")
            out.summary.append(f"top-{self.k} overlap {pct(overlap)} on average over {self.compared} queries; "
                               f"{self.top_moves} items enter a top {self.k}")
            out.summary.append(f"Kendall tau between the orders {tau:.4f}")
        values = {}
        for version in ("base", "head"):
            if self.ndcg_n[version]:
                values[version] = self.ndcg_sum[version] / self.ndcg_n[version]
                m[f"ndcg@{self.k}.{version}"] = values[version]
                m[f"ndcg.{version}"] = values[version]
        if len(values) == 2:
            delta = values["head"] - values["base"]
            m["ndcg.delta"] = delta
            out.guard_values["min_ndcg_delta"] = (delta, f"{values['base']:.4f} -> {values['head']:.4f}")
            out.summary.append(f"NDCG@{self.k} {values['base']:.4f} -> {values['head']:.4f} ({delta:+.4f})")
        elif values:
            (version, value), = values.items()
            out.summary.append(f"NDCG@{self.k} {value:.4f} ({version})")
        return out


# --------------------------------------------------------------------------------------------------- bandit


def bandit_metrics(base: Any | None, head: Any | None, draws: int, seed: int) -> Measured:
    """Expected traffic share per variant and P(best) per arm, for each version (Monte Carlo, seeded)."""
    out = Measured()
    m = out.metrics
    m["rows"] = float(draws)
    expected: dict[str, dict[str, float]] = {}
    for version, model in (("base", base), ("head", head)):
        if model is None:
            continue
        expected[version] = model.expected_shares(draws, seed)
        for arm, p in model.p_best(draws, seed).items():
            m[f"p_best.{arm}.{version}"] = p
        for arm, mean in model.posterior_means().items():
            m[f"posterior_mean.{arm}.{version}"] = mean
        for variant, s in expected[version].items():
            m[f"expected_share.{variant}.{version}"] = s
    labels = tuple(dict.fromkeys((*expected.get("head", {}), *expected.get("base", {}))))
    if head is not None:
        arm_shares = {arm: expected["head"][arm] for arm in head.arms}
        if arm_shares:
            arm = min(arm_shares, key=arm_shares.__getitem__)
            out.guard_values["min_arm_share"] = (arm_shares[arm], arm)
    if len(expected) == 2:
        changes = {v: abs(expected["head"].get(v, 0.0) - expected["base"].get(v, 0.0)) for v in labels}
        worst = max(changes, key=changes.__getitem__)
        out.guard_values["max_share_change"] = (
            changes[worst], f"{worst} {pct(expected['base'].get(worst, 0.0))} -> {pct(expected['head'].get(worst, 0.0))}")
        for v in labels:
            b, h = expected["base"].get(v, 0.0), expected["head"].get(v, 0.0)
            out.summary.append(f"{v} expected share {pct(b)} -> {pct(h)} ({pts(h - b)})")
    elif expected:
        (version, values), = expected.items()
        out.summary.append(("model added: " if version == "head" else "model removed: ") + ", ".join(
            f"{v} {pct(s)}" for v, s in values.items()))
    best_model = head if head is not None else base
    if best_model is not None:
        version = "head" if head is not None else "base"
        p = {arm: m[f"p_best.{arm}.{version}"] for arm in best_model.arms}
        leader = max(p, key=p.__getitem__)
        out.summary.append(f"P(best) on {version}: {leader} {pct(p[leader])} ({draws} Monte Carlo draws, seed fixed)")
    out.distributions.append(Distribution(
        "expected traffic share", None, labels,
        tuple(expected["base"].get(v, 0.0) for v in labels) if "base" in expected else (),
        tuple(expected["head"].get(v, 0.0) for v in labels) if "head" in expected else ()))
    return out
