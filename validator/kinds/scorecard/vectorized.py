"""The scorecard's vectorized twin: the same compiled terms as the request path, evaluated over columns.

It starts from the scalar ``compile()`` (so both forms read one compiled model: bins, levels, transforms,
input policies, thresholds) and repeats each step with numpy in the same order: ``z`` starts at the
intercept and adds the terms' contributions in model order, which is the order Python adds them in
``intercept + c0 + c1 + ...``, so ``z`` is bit-for-bit the scalar one wherever the term values are.

Where the two may differ: ``numpy.exp``/``log1p`` (and, to be safe, ``sqrt``) may use a SIMD implementation
that is an ulp or a few off libm's on some CPUs. Values then agree to a tolerance, and everything the scalar
decides by comparing such a value is re-decided by the scalar evaluator for the rows where the comparison is
within rounding of going the other way:

- the decision: the value within ``NEAR`` (relative to the size of the terms) of a band threshold;
- the reason codes (when contributions are asked for): a contribution computed through a transform within
  ``NEAR`` of ``reasons.min_contribution``, or within ``NEAR`` of another candidate's contribution among the
  top ones (their order, and which of them makes the cut, is a comparison of two contributions).

Every other comparison (bins, clamps, bounds, categorical levels, boolean terms) reads the input itself or a
product of exact operands, which numpy and Python compute to the same bits on every IEEE-754 machine. So
decisions and reason codes agree exactly on any processor, and the re-scored rows take the scalar's values
and contributions too.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from validator.kinds.base import InputError
from validator.kinds.columns import Column, Read, read_column, row_of, text_lookup
from validator.kinds.contract import Contract
from validator.kinds.scorecard import evaluator as scalar_kind

# A comparison within this (relative to the size of what was summed) of going the other way is re-decided by
# the scalar evaluator. Libm and SIMD exp/log1p differ by at most a few ulps (~1e-16 relative, carried through
# a sum of a few thousand terms at most); 1e-9 is far above that and still so narrow that on real data it
# catches almost no rows.
NEAR = 1e-9
# Added to each tolerance so that a comparison of values that underflowed to (almost) zero is re-decided too.
TINY = 1e-300
# The transcendental functions, by name so a test can stand in a SIMD-like implementation that is ulps off.
_exp, _log1p, _sqrt = np.exp, np.log1p, np.sqrt
_TRANSFORMED = frozenset({"log1p", "sqrt"})


@dataclass(frozen=True)
class ScoreBatch:
    """A batch of scores: value and decision per row; ``decision`` is -1 where the inputs were refused."""

    values: np.ndarray       # float64, NaN where refused
    decisions: np.ndarray    # int16 index into labels, -1 where refused
    labels: tuple[str, ...]  # the bands' decisions in band order
    rejected: np.ndarray     # bool
    rescored: int            # rows re-scored by the scalar evaluator (near a threshold)
    contributions: np.ndarray | None = None  # (rows, terms) when asked for (reason codes)


class VectorScorecard:
    """A compiled scorecard evaluated over columns of inputs."""

    kind = "scorecard"

    def __init__(self, data: Mapping[str, Any], contract: Contract | None) -> None:
        self.scalar = scalar_kind.compile(data, contract)
        self.name = self.scalar.name
        self.labels = self.scalar.decisions
        self.input_types = {name: spec.type for name, spec in self.scalar.specs.items()}
        self._thresholds = np.array(self.scalar.thresholds, dtype=np.float64)
        self._tables: list[tuple[np.ndarray, np.ndarray] | None] = []
        for term in self.scalar.terms:
            if term.bins is None:
                self._tables.append(None)
                continue
            parts = np.array([math.nan if p is None else p for p in term.bins.parts], dtype=np.float64)
            self._tables.append((np.array(term.bins.edges, dtype=np.float64), parts))

    # ------------------------------------------------------------------------------------------------ terms

    def _outside(self, j: int, x: np.ndarray, where: np.ndarray, out: np.ndarray, rejected: np.ndarray) -> None:
        """Rows of term ``j`` in no bin: the input's out_of_range policy applied to the bins (as the scalar does)."""
        term = self.scalar.terms[j]
        table = term.bins
        assert table is not None  # only binned terms get here
        spec = self.scalar.specs[term.input]
        rows = np.flatnonzero(where)
        if spec.out_of_range == "clamp":
            for r in rows:  # rare (rules demand contiguous bins covering the range); exactly the scalar's nearest()
                out[r] = table.nearest(float(x[r]))
            return
        if spec.out_of_range == "default" and spec.default is not None:
            value = table.lookup(spec.default)
            if value is not None:
                out[rows] = value
                return
        rejected[rows] = True
        out[rows] = 0.0

    def _term_values(self, j: int, read: Read, rejected: np.ndarray) -> np.ndarray:
        term = self.scalar.terms[j]
        x = read.values
        if term.type == "categorical":
            out, unknown = text_lookup(read, term.levels or {}, term.other)
            if unknown.any():
                rejected |= unknown
            return np.where(np.isnan(out), 0.0, out)
        table = self._tables[j]
        if table is not None:
            edges, parts = table
            out = parts[np.searchsorted(edges, x, side="right")]
            outside = np.isnan(out)
            if outside.any():
                self._outside(j, x, outside & ~rejected, out, rejected)
                out[np.isnan(out)] = 0.0
            return out
        if term.transform == "identity":
            return x
        negative = x < 0
        if negative.any():
            rejected |= negative
            x = np.where(negative, 0.0, x)
        return _log1p(x) if term.transform == "log1p" else _sqrt(x)

    # ---------------------------------------------------------------------------------------------- scoring

    def score(self, columns: Mapping[str, Column], *, contributions: bool = False, exact: bool = True) -> ScoreBatch:
        """Score every row. ``exact``: re-score with the scalar evaluator the rows whose decision (and, with
        ``contributions``, reason codes) hang on a comparison within rounding (see the module docstring)."""
        n = len(next(iter(columns.values()))) if columns else 0
        rejected = np.zeros(n, dtype=bool)
        reads: dict[str, Read] = {}
        for name, spec in self.scalar.specs.items():
            read = read_column(spec, columns[name])
            reads[name] = read
            rejected |= read.rejected
        z = np.full(n, self.scalar.intercept, dtype=np.float64)
        size = np.full(n, abs(self.scalar.intercept), dtype=np.float64)
        matrix = np.empty((n, len(self.scalar.terms)), dtype=np.float64) if contributions else None
        # Per term, the rows whose contribution went through a transform that may be ulps off libm's.
        inexact = np.zeros((n, len(self.scalar.terms)), dtype=bool) if contributions else None
        with np.errstate(over="ignore", invalid="ignore"):
            for j, term in enumerate(self.scalar.terms):
                read = reads[term.input]
                if term.type == "boolean":
                    c = np.where(read.values, term.weight, 0.0)
                else:
                    c = term.weight * self._term_values(j, read, rejected)
                    if inexact is not None and term.bins is None and term.transform in _TRANSFORMED and term.weight:
                        inexact[:, j] = read.values != 0.0  # f(0) is exactly 0 for log1p and sqrt everywhere
                z += c
                size += np.abs(c)
                if matrix is not None:
                    matrix[:, j] = c
            if self.scalar.link == "logistic":
                values = 1.0 / (1.0 + _exp(-z))
            else:
                values = z
        decisions = self._decide(values)
        rescored = 0
        if exact:
            suspects = self._near_threshold(values, size)
            if matrix is not None and inexact is not None:
                suspects |= self._near_reason_cut(matrix, inexact)
            suspects &= ~rejected
            rows = np.flatnonzero(suspects)
            rescored = len(rows)
            names = list(self.scalar.specs)
            for r in rows:
                request = row_of(columns, int(r), names)
                try:
                    result = self.scalar.score(request)
                    parts = self.scalar.explain(request) if matrix is not None else ()
                except InputError:  # pragma: no cover - the column policy already refused such rows
                    rejected[r] = True
                    continue
                values[r] = result.value
                decisions[r] = self.labels.index(result.decision)
                if matrix is not None:
                    matrix[r] = [contribution for _, _, contribution in parts]
        values[rejected] = math.nan
        decisions[rejected] = -1
        if matrix is not None:
            matrix[rejected] = math.nan
        return ScoreBatch(values, decisions, self.labels, rejected, rescored, matrix)

    def _near_threshold(self, values: np.ndarray, size: np.ndarray) -> np.ndarray:
        """Rows whose value is within rounding of a band threshold (its decision could go either way)."""
        near = np.zeros(values.shape[0], dtype=bool)
        tolerance = NEAR * (1.0 + size)
        for t in self._thresholds:
            near |= np.abs(values - t) <= tolerance
        return near

    def _near_reason_cut(self, matrix: np.ndarray, inexact: np.ndarray) -> np.ndarray:
        """Rows whose reason codes hang on a comparison of an inexact contribution within rounding.

        Two comparisons pick reason codes: ``c > min_contribution`` (who is a candidate) and the order of the
        candidates' contributions (who is reported, and in which order; ties go to the earlier term). A
        contribution that went through a transform may be ulps off the scalar's, so a row is suspect when
        such a contribution is within ``NEAR`` of ``min_contribution``, or lies in a cluster of candidates
        (contributions each within ``NEAR`` of the next, exact ties included) that reaches into the top
        ``top``: it may change places with any member of its cluster, never with anything farther away.
        Comparisons between exact contributions are the scalar's own, bit for bit, and need no second look.
        """
        n = matrix.shape[0]
        top = self.scalar.top
        coded = np.array([t.reason is not None for t in self.scalar.terms], dtype=bool)
        if n == 0 or top == 0 or not coded.any():
            return np.zeros(n, dtype=bool)
        c = matrix[:, coded]
        loose = inexact[:, coded]
        floor = self.scalar.min_contribution
        # Only rows with an inexact candidate near the floor or near another candidate can be suspects (what
        # the sort below looks for among neighbours): found per inexact column, on the rows where it is a
        # candidate, so the other rows (almost all) skip the sort. The verdict is the sort's, row for row.
        some = np.zeros(n, dtype=bool)
        with np.errstate(invalid="ignore"):
            for j in np.flatnonzero(loose.any(axis=0)):
                near_j = np.abs(c[:, j] - floor) <= NEAR * (np.abs(c[:, j]) + abs(floor)) + TINY
                some |= loose[:, j] & near_j
                rows = np.flatnonzero(loose[:, j] & ((c[:, j] > floor) | near_j))
                if rows.size == 0:
                    continue
                mine = c[rows]
                candidate = (mine > floor) | (np.abs(mine - floor) <= NEAR * (np.abs(mine) + abs(floor)) + TINY)
                tolerance = NEAR * np.abs(mine) + TINY
                close = candidate & (np.abs(mine - mine[:, j:j + 1]) <= np.maximum(tolerance, tolerance[:, j:j + 1]))
                close[:, j] = False
                some[rows[close.any(axis=1)]] = True
        if not some.all():
            out = np.zeros(n, dtype=bool)
            if some.any():
                out[some] = self._near_reason_cut(matrix[some], inexact[some])
            return out
        with np.errstate(invalid="ignore"):
            near_floor = np.abs(c - floor) <= NEAR * (np.abs(c) + abs(floor)) + TINY
            suspect = (loose & near_floor).any(axis=1)
            if c.shape[1] < 2:
                return suspect
            # Candidates, or nearly: sorted by contribution, largest first (the rest, NaN included, last).
            candidate = (c > floor) | near_floor
            order = np.argsort(np.where(candidate, -c, np.inf), axis=1, kind="stable")
            ranked = np.take_along_axis(c, order, axis=1)
            ranked_loose = np.take_along_axis(loose, order, axis=1)
            ranked_candidate = np.take_along_axis(candidate, order, axis=1)
            tolerance = NEAR * np.abs(ranked) + TINY
            # close[:, p]: positions p and p + 1 are both candidates within rounding of each other
            close = np.abs(ranked[:, :-1] - ranked[:, 1:]) <= np.maximum(tolerance[:, :-1], tolerance[:, 1:])
            close &= ranked_candidate[:, :-1] & ranked_candidate[:, 1:]
            cluster = np.concatenate([np.zeros((n, 1), dtype=np.intp), np.cumsum(~close, axis=1)], axis=1)
            last_reported = cluster[:, min(top, c.shape[1]) - 1:min(top, c.shape[1])]
            no_pair = np.zeros((n, 1), dtype=bool)
            paired = np.concatenate([no_pair, close], axis=1) | np.concatenate([close, no_pair], axis=1)
            suspect |= (ranked_loose & paired & (cluster <= last_reported)).any(axis=1)
        return suspect

    def _decide(self, values: np.ndarray) -> np.ndarray:
        """The first band whose `below` exceeds the value, else the last: a loop over bands, not a search,
        because compile does not require the thresholds to rise (the rules do), and the scalar takes the
        first match whatever the order."""
        decisions = np.full(values.shape[0], len(self.labels) - 1, dtype=np.int16)
        for k in range(len(self._thresholds) - 1, -1, -1):
            decisions[values < self._thresholds[k]] = k
        return decisions

    def reasons(self, batch: ScoreBatch) -> np.ndarray:
        """Reason codes per row as term indices (rows, top), -1 where fewer apply: the scalar's selection.

        Terms with a reason code and a contribution above ``min_contribution``, largest first, ties in term
        order. Needs ``score(..., contributions=True)``.
        """
        if batch.contributions is None:
            raise ValueError("score the batch with contributions=True to get reason codes")
        top = self.scalar.top
        n = batch.contributions.shape[0]
        coded = np.array([t.reason is not None for t in self.scalar.terms], dtype=bool)
        if top == 0 or not coded.any():
            return np.full((n, 0), -1, dtype=np.int16)
        with np.errstate(invalid="ignore"):
            eligible = (batch.contributions > self.scalar.min_contribution) & coded
        key = np.where(eligible, -batch.contributions, np.inf)
        order = np.argsort(key, axis=1, kind="stable")[:, :top]
        chosen = np.take_along_axis(eligible, order, axis=1)
        return np.where(chosen, order, -1).astype(np.int16)

    @property
    def reason_codes(self) -> tuple[str | None, ...]:
        return tuple(t.reason for t in self.scalar.terms)


def compile_vectorized(data: Mapping[str, Any], contract: Contract | None) -> VectorScorecard:
    return VectorScorecard(data, contract)
