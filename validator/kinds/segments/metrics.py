"""The segments' replay: segment sizes before and after, how many customers change segment, and the largest
segment (``validator.gate.replay.ReplayJob`` in, ``Measured`` out; guardrails judge ``max_reassignment_rate``,
``max_segment_share``, ``max_share_change``)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from validator.data.datasets import to_columns
from validator.gate.replay import ReplayJob
from validator.gate.replay_metrics import (
    Distribution,
    Measured,
    count_transitions,
    largest_share_change,
    pct,
    pts,
    shares,
    top_transitions,
)

UNIT = "customers"
READS_DATA = True


def measure(job: ReplayJob) -> Measured:
    """Assign every row with both versions and count who moves where."""
    vb, vh = job.base, job.head
    acc = SegmentsMetrics(vb.labels if vb else None, vh.labels if vh else None, UNIT)
    for relpath, batch in job.batches(job.wanted()):
        ab = vb.assign(to_columns(batch, vb.input_types, relpath)) if vb else None
        ah = vh.assign(to_columns(batch, vh.input_types, relpath)) if vh else None
        acc.add(ab, ah)
    if acc.rows == 0:
        raise job.no_rows()
    return acc.result()


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
        first = base if base is not None else head
        assert first is not None, "a batch of at least one version"
        n = len(first.segments)
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
