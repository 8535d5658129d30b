"""The scorecard's vectorized twin: the same compiled terms as the request path, evaluated over columns.

It starts from the scalar ``compile()`` (so both forms read one compiled model: bins, levels, transforms,
input policies, thresholds) and repeats each step with numpy in the same order: ``z`` starts at the
intercept and adds the terms' contributions in model order, which is the order Python adds them in
``intercept + c0 + c1 + ...``, so ``z`` is bit-for-bit the scalar one wherever the term values are.

Where the two may differ: ``numpy.exp``/``log1p`` may use a SIMD implementation that is 1 ulp off libm's on
some CPUs. A value that differs by an ulp only matters when it sits on a band threshold, so rows whose value
is within a tolerance of a threshold are re-scored by the scalar evaluator; decisions then agree exactly,
always, and values agree to 1e-12 relative (exactly on CPUs where numpy uses libm, as the property tests see).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from validator.kinds.scorecard import evaluator as scalar_kind
from validator.kinds.base import InputError
from validator.kinds.contract import Contract
from validator.kinds.columns import Column, Read, read_column, row_of, text_lookup

# A row within this (relative to the size of its terms) of a band threshold is re-scored by the scalar
# evaluator. Libm and SIMD exp/log1p differ by at most a few ulps (~1e-16 relative); 1e-9 is far above that
# and still so narrow that on real data it catches almost no rows.
NEAR = 1e-9
# The transcendental functions, by name so a test can stand in a SIMD-like implementation that is ulps off.
_exp, _log1p, _sqrt = np.exp, np.log1p, np.sqrt


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
        self._tables = []
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
        """Score every row. ``exact``: re-score rows near a threshold with the scalar evaluator (see module doc)."""
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
        with np.errstate(over="ignore", invalid="ignore"):
            for j, term in enumerate(self.scalar.terms):
                read = reads[term.input]
                if term.type == "boolean":
                    c = np.where(read.values, term.weight, 0.0)
                else:
                    c = term.weight * self._term_values(j, read, rejected)
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
        if exact and len(self._thresholds):
            near = np.zeros(n, dtype=bool)
            tolerance = NEAR * (1.0 + size)
            for t in self._thresholds:
                near |= np.abs(values - t) <= tolerance
            near &= ~rejected
            rows = np.flatnonzero(near)
            rescored = len(rows)
            names = list(self.scalar.specs)
            for r in rows:
                try:
                    result = self.scalar.score(row_of(columns, int(r), names))
                except InputError:  # pragma: no cover - the column policy already refused such rows
                    rejected[r] = True
                    continue
                values[r] = result.value
                decisions[r] = self.labels.index(result.decision)
        values[rejected] = math.nan
        decisions[rejected] = -1
        if matrix is not None:
            matrix[rejected] = math.nan
        return ScoreBatch(values, decisions, self.labels, rejected, rescored, matrix)

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
        n, k = batch.contributions.shape
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
