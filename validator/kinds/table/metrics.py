"""The table's replay: what a change of rows does to the requests the app really sends
(``validator.gate.replay.ReplayJob`` in, ``Measured`` out; guardrails judge ``max_traffic_changed_share``,
``max_relative_change`` and ``max_missing_share_change``).

Two views, because a table change is both a file and a behaviour: the rows (how many keys were added,
removed, changed, and the largest relative move of any value, wherever it is) and the traffic (the share of
replayed requests whose looked-up values move, and how many fewer or more requests find no row). A huge
relative change in a row nobody asks for passes the traffic guardrail and is still caught by the row one.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from validator.data.datasets import to_columns
from validator.gate.replay import ReplayJob
from validator.gate.replay_metrics import Distribution, Measured, pct, pts
from validator.kinds.table.evaluator import key_text

UNIT = "requests"
READS_DATA = True
OUTCOMES = ("row found", "default row", "refused")


def row_changes(base: Any, head: Any) -> tuple[int, int, int, float, str]:
    """(added, removed, changed keys, largest relative change of a numeric value, where) between two twins."""
    old, new = base.scalar._rows, head.scalar._rows
    old_names, new_names = base.layout.value_columns, head.layout.value_columns
    numeric = {v.column for v in head.layout.values if v.type in ("number", "integer")}
    common = [(old_names.index(c), new_names.index(c), c) for c in new_names if c in old_names]
    added = sum(1 for key in new if key not in old)
    removed = sum(1 for key in old if key not in new)
    changed = 0
    largest, where = 0.0, ""
    for key, row in new.items():
        before = old.get(key)
        if before is None or (before == row and old_names == new_names):
            continue
        moved = False
        for i, j, column in common:
            a, b = before[i], row[j]
            if a == b and type(a) is type(b):
                continue
            moved = True
            if column in numeric:
                rel = math.inf if a == 0 else abs(b - a) / abs(a)
                if rel > largest:
                    largest, where = rel, f"{column} of {key_text(head.layout, key)}: {a} -> {b}"
        changed += moved or len(common) != len(new_names)
    return added, removed, changed, largest, where


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind == "f":
        return (a == b) | (np.isnan(a) & np.isnan(b))
    return a == b


class TrafficCounts:
    """Per version: requests that found a row, got the default row, or were refused; and how many moved."""

    def __init__(self) -> None:
        self.rows = 0
        self.outcomes = {"base": np.zeros(3, np.int64), "head": np.zeros(3, np.int64)}
        self.both = 0
        self.moved = 0
        # Requests both versions answered, and those of them whose answer changes: what a shadowing app counts
        # (it compares only answers; a refusal on either side is an error, not a change).
        self.answered = 0
        self.answers_changed = 0

    def add(self, base: Any | None, head: Any | None) -> None:
        either = base if base is not None else head
        assert either is not None, "a replay has at least one version"
        n = len(either.found)
        self.rows += n
        for version, batch in (("base", base), ("head", head)):
            if batch is not None:
                refused = int(batch.rejected.sum())
                found = int((batch.found & ~batch.rejected).sum())
                self.outcomes[version] += np.array([found, n - found - refused, refused])
        if base is None or head is None:
            return
        differs = base.found != head.found
        for column in set(base.values) & set(head.values):
            differs |= ~_same(base.values[column], head.values[column])
        answered = ~(base.rejected | head.rejected)
        self.answered += int(answered.sum())
        self.answers_changed += int((differs & answered).sum())
        differs |= (base.rejected != head.rejected)
        self.both += n
        self.moved += int(differs.sum())


def measure(job: ReplayJob) -> Measured:
    """Look every replayed request up in both versions; compare the rows of the two tables."""
    vb, vh = job.base, job.head
    counts = TrafficCounts()
    for relpath, batch in job.batches(job.wanted()):
        lb = vb.lookup(to_columns(batch, vb.input_types, relpath)) if vb else None
        lh = vh.lookup(to_columns(batch, vh.input_types, relpath)) if vh else None
        counts.add(lb, lh)
    if counts.rows == 0:
        raise job.no_rows()
    out = Measured()
    m = out.metrics
    m["rows"] = float(counts.rows)
    share = {}
    for version, twin in (("base", vb), ("head", vh)):
        if twin is None:
            continue
        share[version] = counts.outcomes[version] / counts.rows
        m[f"table_rows.{version}"] = float(twin.count)
        for label, value in zip(("found", "default", "refused"), share[version], strict=False):
            m[f"{label}_share.{version}"] = float(value)
    if vb is not None and vh is not None:
        added, removed, changed, largest, where = row_changes(vb, vh)
        traffic = counts.moved / counts.both if counts.both else 0.0
        # The shadow's prediction (kinds/table/shadow.py): like traffic_changed_share, over answered requests only.
        answers = counts.answers_changed / counts.answered if counts.answered else 0.0
        missing = {v: float(share[v][1] + share[v][2]) for v in share}
        m.update({"rows_added": float(added), "rows_removed": float(removed), "rows_changed": float(changed),
                  "largest_relative_change": largest if math.isfinite(largest) else 1e308,
                  "traffic_changed_share": traffic, "missing_share_change": missing["head"] - missing["base"],
                  "value_change_rate": answers, "requests_answered": float(counts.answered)})
        out.summary.append(f"{pct(traffic)} of {UNIT} get different values ({counts.moved:,} of {counts.both:,})")
        out.summary.append(f"table rows {vb.count:,} -> {vh.count:,}: {added:,} added, {removed:,} removed, "
                           f"{changed:,} changed")
        if where:
            out.summary.append(f"largest relative change {pct(largest) if math.isfinite(largest) else 'from 0'}: "
                               f"{where}")
        out.summary.append(f"{UNIT} without a row {pct(missing['base'])} -> {pct(missing['head'])} "
                           f"({pts(missing['head'] - missing['base'])})")
        out.guard_values["max_traffic_changed_share"] = (traffic, "")
        out.guard_values["max_relative_change"] = (largest if math.isfinite(largest) else 1e308, where)
        out.guard_values["max_missing_share_change"] = (missing["head"] - missing["base"], "")
    else:
        version = "head" if vh is not None else "base"
        twin = vh if vh is not None else vb
        assert twin is not None, "a replay has at least one version"
        out.summary.append(("model added: " if version == "head" else "model removed: ")
                           + f"{twin.count:,} rows; " + ", ".join(
                               f"{label} {pct(float(s))}" for label, s in zip(OUTCOMES, share[version], strict=False)))
    refused = {v: int(counts.outcomes[v][2]) for v in share}
    for version, count in refused.items():
        if count:
            out.summary.append(f"{count:,} of {counts.rows:,} {UNIT} refused by {version}'s input policy or "
                               "missing_key: reject")
    out.distributions.append(Distribution(
        "lookup outcome", None, OUTCOMES,
        tuple(float(x) for x in share["base"]) if "base" in share else (),
        tuple(float(x) for x in share["head"]) if "head" in share else ()))
    return out


__all__ = ["READS_DATA", "UNIT", "measure", "row_changes"]
