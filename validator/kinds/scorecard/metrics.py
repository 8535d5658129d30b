"""The scorecard's replay: decision shares and flips, score PSI, and with an outcome column AUC, precision and
recall per band and the expected loss of the declared costs (``validator.gate.replay.ReplayJob`` in, ``Measured``
out; guardrails judge ``max_decision_flip_rate``, ``max_share_change``, ``max_psi``, ``min_auc_delta``)."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from validator.data.datasets import DatasetError, Wanted, to_column, to_columns
from validator.gate.replay import ReplayJob
from validator.gate.replay_metrics import (
    AUC_BINS,
    CHART_BINS,
    PSI_BINS,
    Distribution,
    Measured,
    auc_from_bins,
    count_transitions,
    hist,
    largest_share_change,
    pct,
    psi,
    pts,
    shares,
    snapped_edges,
    top_transitions,
)
from validator.kinds.columns import NUMBER

UNIT = "rows"   # what a replayed row is, unless the model says (replay.unit: orders, customers ...)
READS_DATA = True


def measure(job: ReplayJob) -> Measured:
    """Score every row with both versions; with ``replay.outcome`` also weigh the decisions against it."""
    vb, vh, replay = job.base, job.head, job.replay
    outcome_col = replay.get("outcome")
    costs = replay.get("costs")
    if costs and not outcome_col:
        raise job.fail(("replay", "costs"), "costs need an outcome column (replay.outcome) to weigh")
    extra = [Wanted(outcome_col, None)] if outcome_col else []
    acc = ScorecardMetrics(vb.labels if vb else None, vh.labels if vh else None, bool(outcome_col), costs,
                           replay.get("unit", UNIT))
    for relpath, batch in job.batches(job.wanted(extra)):
        sb = vb.score(to_columns(batch, vb.input_types, relpath)) if vb else None
        sh = vh.score(to_columns(batch, vh.input_types, relpath)) if vh else None
        acc.add(sb, sh, outcome(batch, outcome_col, relpath) if outcome_col else None)
    if acc.rows == 0:
        raise job.no_rows()
    return acc.result()


def outcome(batch: pa.RecordBatch, column: str, relpath: str) -> np.ndarray:
    """The outcome as 1.0 / 0.0 / NaN (unknown): a boolean column, or numbers 0 and 1."""
    array = batch.column(column)
    if pa.types.is_boolean(array.type):
        values = np.asarray(array.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
        return values
    col = to_column(array, NUMBER, f"dataset {relpath}, outcome column {column!r},")
    known = col.values[~col.missing]
    if known.size and not np.isin(known, (0.0, 1.0)).all():
        raise DatasetError(f"dataset {relpath}, outcome column {column!r} holds values other than 0 and 1 "
                           "(or true/false)")
    return col.values


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
        assert labels is not None, f"no {version} version"
        table = np.array([self.labels.index(d) for d in labels] + [-1], dtype=np.int64)
        return table[decisions]

    def add(self, base: Any | None, head: Any | None, outcome: np.ndarray | None) -> None:
        """One batch: ``base``/``head`` are ScoreBatch (None for the absent version); ``outcome`` 1/0/NaN."""
        sides = {"base": base, "head": head}
        ref = base if base is not None else head
        assert ref is not None, "a batch of at least one version"
        n = len(ref.values)
        self.rows += n
        if self.psi_edges is None:
            self.psi_edges = snapped_edges(ref.values, PSI_BINS)
            pooled = np.concatenate([s.values for s in sides.values() if s is not None])
            pooled = pooled[np.isfinite(pooled)]
            if pooled.size:
                lo, hi = np.quantile(pooled, [0.005, 0.995])
                if hi <= lo:
                    lo, hi = float(pooled.min()) - 0.5, float(pooled.max()) + 0.5
                    if hi <= lo:
                        lo, hi = lo - 0.5, hi + 0.5
            else:
                lo, hi = 0.0, 1.0
            self.chart_edges = np.linspace(lo, hi, CHART_BINS + 1)
            for version in sides:
                self.psi_counts[version] = np.zeros(len(self.psi_edges) + 1, np.int64)
                self.chart_counts[version] = np.zeros(CHART_BINS, np.int64)
        psi_edges, chart_edges = self.psi_edges, self.chart_edges
        assert chart_edges is not None
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
            self.psi_counts[version] += hist(values, psi_edges, len(psi_edges) + 1)
            inner = np.clip(values, chart_edges[0], chart_edges[-1])
            self.chart_counts[version] += hist(inner, chart_edges[1:-1], CHART_BINS)
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
                self.auc_pos[version] += hist(values[pos], edges, size)
                self.auc_neg[version] += hist(values[known & ~pos], edges, size)
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
            assert labels is not None, f"no {version} version"
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
                out.summary.append(f"expected loss per {self.unit.removesuffix('s')} "
                                   f"{b:.3f} -> {h:.3f} ({h - b:+.3f})")
            missing = [label for label in self.labels if label not in self.costs]
            if missing:
                out.summary.append(f"no cost declared for {', '.join(missing)} (counted as 0)")
