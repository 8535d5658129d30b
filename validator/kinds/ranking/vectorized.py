"""The ranking model's vectorized twin: scores for every item row, then the order within each query group.

It reads the scalar ``compile()``'s parts (inputs with their policies, features, boosts, tie-break keys) and
repeats the generated ``entry()`` step by step: ``s = 0.0 + w0*t(x0) + w1*t(x1) + ...`` left to right, then
each boost in file order with exactly the arithmetic the generated code writes (``s * m + a``, ``s + a`` or
``s * m``). Items then sort by score descending, the tie-break keys in turn, and the app's order (the row
order of the dataset) last — one ``lexsort`` over all groups at once.

A request (query group) with one refused item is refused as a whole, as ``rank()`` raises. Scores that went
through a transform (numpy's log1p, and to be safe sqrt, against libm's) may be ulps off the scalar's; that
matters only where two items of a group are within rounding of each other, an exact tie included (the
scalar's scores may not tie): such groups are ranked again by the scalar evaluator, so orders agree exactly
on any processor. Boost conditions and tie-break keys compare the inputs themselves, which are exact.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from validator.kinds.base import InputError
from validator.kinds.columns import Column, Read, read_column, row_of, text_member
from validator.kinds.contract import Contract
from validator.kinds.ranking import evaluator as scalar_kind

NEAR = 1e-9  # see validator.kinds.scorecard.vectorized.NEAR
# The transforms, by name so a test can stand in a SIMD-like implementation that is ulps off libm's.
_log1p, _sqrt = np.log1p, np.sqrt
_NUMBER, _BOOLEAN, _TEXT = 0, 1, 2
_LOG1P = 1
_EQUALS, _IN, _RANGE = 0, 1, 2
_TYPE_NAMES = {_NUMBER: "number", _BOOLEAN: "boolean", _TEXT: "category"}


@dataclass(frozen=True)
class RankBatch:
    """Scores and 1-based ranks within each group; refused groups have rank 0 and NaN scores."""

    scores: np.ndarray
    ranks: np.ndarray        # int32
    rejected: np.ndarray     # rows whose group was refused
    rescored_groups: int


def group_starts(groups: np.ndarray) -> np.ndarray:
    """Start index of each run of equal group ids (rows of a query are adjacent)."""
    n = len(groups)
    if n == 0:
        return np.zeros(0, dtype=np.intp)
    change = np.ones(n, dtype=bool)
    change[1:] = groups[1:] != groups[:-1]
    return np.flatnonzero(change)


class VectorRanking:
    kind = "ranking"

    def __init__(self, data: Mapping[str, Any], contract: Contract | None) -> None:
        self.scalar = scalar_kind.compile(data, contract)
        self.name = self.scalar.name
        self._inputs = self.scalar._inputs
        self.input_types = {name: _TYPE_NAMES[code] for name, code, _, _, _ in self._inputs}

    def _reads(self, columns: Mapping[str, Column], rejected: np.ndarray) -> list[Read]:
        reads = []
        for name, _, _, _, spec in self._inputs:
            read = read_column(spec, columns[name])
            rejected |= read.rejected
            reads.append(read)
        return reads

    def score(self, columns: Mapping[str, Column]) -> tuple[np.ndarray, np.ndarray, list[Read]]:
        """Every row's final score, the rows refused, and the inputs after their policy."""
        scores, rejected, reads, _, _ = self._score(columns)
        return scores, rejected, reads

    def _score(
        self, columns: Mapping[str, Column]
    ) -> tuple[np.ndarray, np.ndarray, list[Read], np.ndarray, np.ndarray]:
        """``score()``, plus per row the size of what was summed (the scale of rounding differences) and
        whether a transform that may be ulps off libm's went into the score."""
        n = len(next(iter(columns.values()))) if columns else 0
        rejected = np.zeros(n, dtype=bool)
        reads = self._reads(columns, rejected)
        s = np.zeros(n, dtype=np.float64)
        size = np.zeros(n, dtype=np.float64)
        inexact = np.zeros(n, dtype=bool)
        with np.errstate(over="ignore", invalid="ignore"):
            for index, weight, code, _ in self.scalar._features:
                x = reads[index].values
                if code:
                    negative = x < 0
                    if negative.any():
                        rejected |= negative
                        x = np.where(negative, 0.0, x)
                    if weight:
                        inexact |= x != 0.0  # f(0) is exactly 0 for log1p and sqrt everywhere
                    x = _log1p(x) if code == _LOG1P else _sqrt(x)
                term = weight * x
                s = s + term
                size = size + np.abs(term)
            for index, op, a, b, multiply, add, _ in self.scalar._boosts:
                read = reads[index]
                x = read.values
                if op == _RANGE:
                    hit = (a <= x) & (x < b)
                elif op == _EQUALS:
                    hit = text_member(read, (a,)) if isinstance(a, str) else (x == a)
                else:
                    hit = text_member(read, a) if any(isinstance(v, str) for v in a) else np.isin(x, list(a))
                if multiply != 1.0 and add != 0.0:
                    boosted = s * multiply + add
                elif add != 0.0:
                    boosted = s + add
                else:
                    boosted = s * multiply
                s = np.where(hit, boosted, s)
                size = np.where(hit, size * abs(multiply) + abs(add), size)
        rejected |= ~np.isfinite(s)
        return s, rejected, reads, size, inexact

    def _key_columns(self, reads: list[Read]) -> list[np.ndarray]:
        """Each tie-break key as a number that sorts ascending the way the scalar sorts it."""
        keys = []
        for index, desc, code in self.scalar._keys:
            read = reads[index]
            if code == _TEXT:
                order = sorted(range(len(read.levels)), key=read.levels.__getitem__)
                position = np.empty(len(read.levels) + 1, dtype=np.float64)
                position[order] = np.arange(len(order), dtype=np.float64)
                position[-1] = 0.0  # refused rows (code -1)
                key = position[read.values]
            else:
                key = read.values.astype(np.float64)
            keys.append(-key if desc else key)
        return keys

    def rank(self, columns: Mapping[str, Column], groups: np.ndarray, *, exact: bool = True) -> RankBatch:
        """Rank the rows of each group (adjacent rows with equal ``groups``) as ``rank()`` ranks one request."""
        scores, rejected, reads, size, inexact = self._score(columns)
        n = len(scores)
        starts = group_starts(groups)
        group_index = np.zeros(n, dtype=np.intp)
        if len(starts):
            marks = np.zeros(n, dtype=np.intp)
            marks[starts] = 1
            group_index = np.cumsum(marks) - 1
        bad_group = np.zeros(len(starts), dtype=bool)
        np.logical_or.at(bad_group, group_index[rejected], True)
        rejected_rows = bad_group[group_index] if n else rejected
        safe = np.where(rejected_rows, 0.0, scores)
        position = np.arange(n)
        keys = self._key_columns(reads)
        order = np.lexsort((position, *reversed(keys), -safe, group_index))
        ranks = np.empty(n, dtype=np.int32)
        ranks[order] = position - starts[group_index[order]] + 1 if n else position
        rescored = 0
        if exact and n:
            # Adjacent items (in the new order) of one group whose scores are within rounding of each other,
            # relative to the size of what was summed: the transforms' ulps could close or reverse that gap. An
            # exact tie counts too when a transform went into either score (the scalar's may not tie); an exact
            # tie of two scores made without one is the scalar's own tie, bit for bit.
            ordered = safe[order]
            same_group = group_index[order][1:] == group_index[order][:-1]
            gap = np.abs(ordered[1:] - ordered[:-1])
            ordered_size = np.where(np.isfinite(size[order]), size[order], 0.0)
            tolerance = NEAR * (1.0 + np.maximum(ordered_size[1:], ordered_size[:-1]))
            loose = inexact[order]
            close = same_group & (gap <= tolerance) & ((gap > 0) | loose[1:] | loose[:-1])
            suspects = np.unique(group_index[order][1:][close])
            suspects = suspects[~bad_group[suspects]]
            names = [name for name, *_ in self._inputs]
            ends = np.append(starts[1:], n)
            for g in suspects:
                lo, hi = int(starts[g]), int(ends[g])
                items = [dict(row_of(columns, r, names), _row=r) for r in range(lo, hi)]
                try:
                    ranking = self.scalar.rank(items)
                except InputError:  # pragma: no cover - the column policy already refused such groups
                    rejected_rows[lo:hi] = True
                    continue
                for entry in ranking.items:
                    ranks[entry.item["_row"]] = entry.rank
                    scores[entry.item["_row"]] = entry.score
                rescored += 1
        scores = np.where(rejected_rows, math.nan, scores)
        ranks[rejected_rows] = 0
        return RankBatch(scores, ranks, rejected_rows, rescored)


def compile_vectorized(data: Mapping[str, Any], contract: Contract | None) -> VectorRanking:
    return VectorRanking(data, contract)
