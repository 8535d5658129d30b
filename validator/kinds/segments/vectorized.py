"""The segments model's vectorized twin: scaled points, distances to every centroid, nearest wins.

It reads the scalar ``compile()``'s folded features (center, sqrt(weight)/scale) and pre-multiplied
centroids, so both forms measure the same space. The scalar measures with ``math.dist`` (an accurately
rounded norm); numpy's ``sqrt(sum(d**2))`` can differ in the last bits, and so can numpy's log1p (and, to be
safe, sqrt) transforms from libm's. That only matters when two centroids are (nearly) equally far, an exact
tie included, or the nearest is (nearly) at ``max_distance``. "Nearly" is relative to the size of the
coordinates that went into the distance (a transformed value far from its center carries rounding of its own
size into a small distance): those rows are assigned again by the scalar evaluator, so assignments agree
exactly on any processor and distances to a tolerance.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from validator.kinds.base import InputError
from validator.kinds.columns import Column, read_column, row_of
from validator.kinds.contract import Contract
from validator.kinds.segments import evaluator as scalar_kind

NEAR = 1e-9  # see validator.kinds.scorecard.vectorized.NEAR
# The transforms, by name so a test can stand in a SIMD-like implementation that is ulps off libm's.
_log1p, _sqrt = np.log1p, np.sqrt
_LOG1P, _SQRT = 1, 2
# Beyond this a squared difference could overflow where math.dist (which scales first) does not.
_HUGE = 1e150


@dataclass(frozen=True)
class AssignBatch:
    """Segment per row: an index into ``labels`` (segments in file order, then the fallback), -1 if refused."""

    segments: np.ndarray     # int16
    distances: np.ndarray    # float64, NaN where refused
    labels: tuple[str, ...]
    variants: tuple[str, ...]  # the variant of each label
    rejected: np.ndarray
    rescored: int

    @property
    def fallback(self) -> np.ndarray:
        return self.segments == len(self.labels) - 1


class VectorSegments:
    kind = "segments"

    def __init__(self, data: Mapping[str, Any], contract: Contract | None) -> None:
        self.scalar = scalar_kind.compile(data, contract)
        self.name = self.scalar.name
        features = self.scalar._features  # (input, lo, hi, feature, code, center, multiplier, spec)
        self._features = features
        self.input_types = {f[0]: "number" for f in features}
        self._centroids = np.array(self.scalar._centroids, dtype=np.float64)  # (segments, features)
        pairs = self.scalar._segments
        fallback = self.scalar._fallback
        self.labels = tuple(seg for seg, _ in pairs) + (fallback[0],)
        self.variants = tuple(var for _, var in pairs) + (fallback[1],)
        self._max = self.scalar._max_distance

    def assign(self, columns: Mapping[str, Column], *, exact: bool = True) -> AssignBatch:
        n = len(next(iter(columns.values()))) if columns else 0
        rejected = np.zeros(n, dtype=bool)
        reads: dict[str, np.ndarray] = {}
        for input_name, _, _, _, _, _, _, spec in self._features:
            if input_name not in reads:
                read = read_column(spec, columns[input_name])
                reads[input_name] = read.values
                rejected |= read.rejected
        point = np.empty((n, len(self._features)), dtype=np.float64)
        # The size of the coordinates: every transformed value and center, scaled, plus the largest centroid.
        size = np.full(n, float(np.abs(self._centroids).sum(axis=1).max()) if len(self._centroids) else 0.0)
        with np.errstate(over="ignore", invalid="ignore"):
            for f, (input_name, _, _, _, code, center, multiplier, _) in enumerate(self._features):
                x = reads[input_name]
                if code:
                    negative = x < 0
                    if negative.any():
                        rejected |= negative
                        x = np.where(negative, 0.0, x)
                    x = _log1p(x) if code == _LOG1P else _sqrt(x)
                point[:, f] = (x - center) * multiplier
                size += (np.abs(x) + abs(center)) * abs(multiplier)
            k = len(self._centroids)
            dist = np.empty((n, k), dtype=np.float64)
            for s in range(k):
                diff = point - self._centroids[s]
                dist[:, s] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        best = np.argmin(dist, axis=1) if k else np.zeros(n, dtype=np.intp)
        best_distance = dist[np.arange(n), best]
        fallback = best_distance > self._max
        segments = np.where(fallback, k, best).astype(np.int16)
        rescored = 0
        if exact:
            tolerance = NEAR * (1.0 + size)
            near = np.abs(best_distance - self._max) <= tolerance
            near |= ~np.isfinite(best_distance) | (best_distance > _HUGE) | ~np.isfinite(size)
            if k > 1:
                second = np.partition(dist, 1, axis=1)[:, 1]
                near |= (second - best_distance) <= tolerance
            near &= ~rejected
            rows = np.flatnonzero(near)
            rescored = len(rows)
            names = list(self.input_types)
            for r in rows:
                try:
                    result = self.scalar.assign(row_of(columns, int(r), names))
                except InputError:  # pragma: no cover - the column policy already refused such rows
                    rejected[r] = True
                    continue
                segments[r] = self.labels.index(result.segment) if not result.fallback else k
                best_distance[r] = result.distance
        best_distance[rejected] = math.nan
        segments[rejected] = -1
        return AssignBatch(segments, best_distance, self.labels, self.variants, rejected, rescored)


def compile_vectorized(data: Mapping[str, Any], contract: Contract | None) -> VectorSegments:
    return VectorSegments(data, contract)
