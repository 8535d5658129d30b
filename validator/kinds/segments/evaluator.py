"""The `segments` kind: scaled nearest-centroid assignment with a fallback segment (targeted marketing).

A customer is a point in "scaled units": each feature reads one input, applies a transform that makes skewed
counts and amounts roughly symmetric (log1p, sqrt), then subtracts a center and divides by a scale, so one
unit means "one typical spread away from the typical customer" for every feature alike. Segments are
centroids in that space; the nearest one (Euclidean, each squared difference times the feature's weight)
wins, ties going to the segment written first. A customer farther than ``fallback.max_distance`` from every
centroid resembles none of them, and gets the fallback segment instead of an arbitrary "least bad" match.

Everything that does not depend on the request is folded in at compile time: a feature's weight and scale
become one multiplier ``sqrt(weight) / scale`` applied to ``transform(x) - center``, and each centroid is
stored pre-multiplied by ``sqrt(weight)`` as a tuple in feature order. The weighted distance is then the
plain Euclidean one, which ``math.dist`` computes in C.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Mapping

from validator.kinds.base import InputError, ModelError, check_mapping
from validator.kinds.contract import Contract
from validator.kinds.inputs import InputSpec, build_specs, read
from validator.kinds.results import Assignment

KIND_NAME = "segments"

# Transforms that make skewed, non-negative quantities (counts, amounts, days) closer to symmetric, so that
# "one scale" means the same thing at both ends of the distribution. All are increasing on their domain.
TRANSFORMS: dict[str, Callable[[float], float]] = {
    "identity": lambda x: x,
    "log1p": math.log1p,
    "sqrt": math.sqrt,
}
# The inverses turn a transformed value back into the input's unit, so messages can speak EUR and days.
INVERSES: dict[str, Callable[[float], float]] = {
    "identity": lambda y: y,
    "log1p": lambda y: math.expm1(y) if y < 709.0 else math.inf,  # exp overflows a float beyond ~709.78
    "sqrt": lambda y: y * y if y >= 0 else float("nan"),
}
# Transforms that are only defined (or only meaningful) for values >= 0.
NON_NEGATIVE = frozenset({"log1p", "sqrt"})
DEFAULT_TRANSFORM = "identity"
DEFAULT_WEIGHT = 1.0

# --- what the document reads and emits ----------------------------------------------------------------------


def inputs_used(data: Mapping[str, Any]) -> dict[str, tuple]:
    """Each input with the path of the first feature that reads it."""
    used: dict[str, tuple] = {}
    for i, feature in enumerate(data.get("features") or ()):
        used.setdefault(feature["input"], ("features", i, "input"))
    return used


def input_types(data: Mapping[str, Any]) -> dict[str, str]:
    """Every feature is numeric: distances need numbers."""
    return {name: "number" for name in inputs_used(data)}


def outputs_emitted(data: Mapping[str, Any]) -> dict[str, dict[str, tuple]]:
    """Segment ids and variants, each with where it is written first (the fallback's last)."""
    segments: dict[str, tuple] = {}
    variants: dict[str, tuple] = {}
    for i, segment in enumerate(data.get("segments") or ()):
        segments.setdefault(segment["id"], ("segments", i, "id"))
        variants.setdefault(segment["variant"], ("segments", i, "variant"))
    fallback = data.get("fallback") or {}
    if "segment" in fallback:
        segments.setdefault(fallback["segment"], ("fallback", "segment"))
    if "variant" in fallback:
        variants.setdefault(fallback["variant"], ("fallback", "variant"))
    return {"segments": segments, "variants": variants}


# --- helpers shared with the rules --------------------------------------------------------------------------


def feature_weight(feature: Mapping[str, Any]) -> float:
    return float(feature.get("weight", DEFAULT_WEIGHT))


def centroid_distance(a: Mapping[str, Any], b: Mapping[str, Any], features: Iterable[Mapping[str, Any]]) -> float:
    """The distance the evaluator would measure between two centroids (same weights, scaled units)."""
    total = 0.0
    for feature in features:
        name = feature["name"]
        diff = float(a.get(name, 0.0)) - float(b.get(name, 0.0))
        total += feature_weight(feature) * diff * diff
    return math.sqrt(total)


def transformed_range(transform: str, lo: float | None, hi: float | None) -> tuple[float | None, float | None]:
    """The contract's [lo, hi] mapped through an increasing transform (negative parts of log1p/sqrt cut at 0)."""
    fn = TRANSFORMS[transform]
    if transform in NON_NEGATIVE:
        lo = max(lo, 0.0) if lo is not None else 0.0
        hi = max(hi, 0.0) if hi is not None else None
    return (fn(lo) if lo is not None else None, fn(hi) if hi is not None else None)


# --- the evaluator ------------------------------------------------------------------------------------------

# Transform codes for the request path: an int compare is cheaper than a dict lookup and a call.
_IDENTITY, _LOG1P, _SQRT = 0, 1, 2
_CODES = {"identity": _IDENTITY, "log1p": _LOG1P, "sqrt": _SQRT}
_BIG = 1.7976931348623157e308  # float max: "no bound" that still refuses inf and NaN in one comparison


class SegmentsModel:
    """A compiled segments model; immutable after the runtime sets ``version``, safe to share across threads."""

    __slots__ = ("name", "kind", "version", "_features", "_centroids", "_segments", "_fallback", "_max_distance")

    def __init__(
        self,
        name: str,
        features: tuple[tuple[str, float, float, str, int, float, float, InputSpec], ...],
        centroids: tuple[tuple[float, ...], ...],
        segments: tuple[tuple[str, str], ...],
        fallback: tuple[str, str],
        max_distance: float,
    ) -> None:
        self.name = name
        self.kind = KIND_NAME
        self.version: str | None = None
        # per feature: (input, lo, hi, feature name, transform code, center, sqrt(weight)/scale, input spec)
        self._features = features
        self._centroids = centroids  # pre-multiplied by sqrt(weight), in feature order
        self._segments = segments  # (id, variant) in file order
        self._fallback = fallback
        self._max_distance = max_distance

    def _point(self, inputs: Mapping[str, Any]) -> list[float]:
        """The request in scaled (and weight-folded) units, after each input's missing/range policy."""
        get = inputs.get
        name = self.name
        point = []
        for input_name, lo, hi, feature, code, center, multiplier, spec in self._features:
            value: Any = get(input_name)  # whatever the app sent: compared only once its type is known
            tv = type(value)
            # Fast path: a finite in-range int/float is exactly what inputs.read would return unchanged.
            if not ((tv is float or tv is int) and lo <= value <= hi):
                value = read(spec, name, inputs)
                # read() returned a checked number, a contract bound, or the default compile() checked is a number
            if code:
                if value < 0:
                    fn = "log1p" if code == _LOG1P else "sqrt"
                    raise InputError(
                        name, input_name,
                        f"is {value!r}, but feature {feature!r} takes {fn} of it, which needs a value >= 0",
                    )
                value = math.log1p(value) if code == _LOG1P else math.sqrt(value)
            point.append((value - center) * multiplier)
        return point

    def assign(self, inputs: Mapping[str, Any]) -> Assignment:
        """The nearest segment (first in file order on a tie), or the fallback when none is within max_distance."""
        try:
            point = self._point(inputs)
        except AttributeError:
            check_mapping(self.name, inputs)
            raise
        dist = math.dist
        best = math.inf
        best_index = 0
        index = 0
        for centroid in self._centroids:
            d = dist(point, centroid)
            if d < best:  # strict: an equal distance keeps the earlier segment
                best = d
                best_index = index
            index += 1
        if best > self._max_distance:
            segment, variant = self._fallback
            return Assignment(segment, variant, best, True, self.name, self.version)
        segment, variant = self._segments[best_index]
        return Assignment(segment, variant, best, False, self.name, self.version)

    def distances(self, inputs: Mapping[str, Any]) -> dict[str, float]:
        """Every segment's distance for a request, in file order: what an analyst asks when an assignment surprises."""
        point = self._point(inputs)
        return {seg: math.dist(point, c) for (seg, _), c in zip(self._segments, self._centroids, strict=False)}

    def __repr__(self) -> str:
        return f"<SegmentsModel {self.name!r} version={self.version!r} segments={len(self._segments)}>"


def _finite(value: Any, where: str) -> float:
    if type(value) is bool or not isinstance(value, (int, float)):
        raise ModelError(f"{where} must be a number, got {value!r}")
    number_ = float(value)
    if not math.isfinite(number_):
        raise ModelError(f"{where} must be finite, got {value!r}")
    return number_


def compile(data: Mapping[str, Any], contract: Contract | None) -> SegmentsModel:  # noqa: A001 - the Kind protocol's name
    """Fold weights and scales into per-feature multipliers and centroids into tuples; refuse anything ambiguous."""
    try:
        name = str(data["name"])
        features = list(data["features"])
        segments = list(data["segments"])
        fallback = data["fallback"]
        fallback_pair = (str(fallback["segment"]), str(fallback["variant"]))
        max_distance = _finite(fallback["max_distance"], "fallback.max_distance")
    except (KeyError, TypeError) as exc:
        raise ModelError(f"segments model is incomplete: {exc}") from None
    if not features:
        raise ModelError(f"model {name!r} has no features")
    if not segments:
        raise ModelError(f"model {name!r} has no segments")
    if max_distance <= 0:
        raise ModelError(f"fallback.max_distance must be > 0, got {max_distance}")

    specs = build_specs(data, input_types(data), contract)
    compiled_features = []
    names: list[str] = []
    roots: list[float] = []
    for i, feature in enumerate(features):
        try:
            fname, input_name = str(feature["name"]), str(feature["input"])
            center = _finite(feature["center"], f"feature {fname!r} center")
            scale = _finite(feature["scale"], f"feature {fname!r} scale")
        except (KeyError, TypeError) as exc:
            raise ModelError(f"feature {i} is incomplete: {exc}") from None
        weight = _finite(feature.get("weight", DEFAULT_WEIGHT), f"feature {fname!r} weight")
        transform = feature.get("transform", DEFAULT_TRANSFORM)
        if fname in names:
            raise ModelError(f"feature name {fname!r} is used twice: centroids could not say which one they mean")
        if scale <= 0:
            raise ModelError(f"feature {fname!r} has scale {scale}; it must be > 0")
        if weight <= 0:
            raise ModelError(f"feature {fname!r} has weight {weight}; it must be > 0")
        if transform not in _CODES:
            raise ModelError(f"feature {fname!r} has unknown transform {transform!r}; known: {', '.join(TRANSFORMS)}")
        spec = specs[input_name]
        if spec.default is not None and (type(spec.default) is bool or not isinstance(spec.default, (int, float))):
            raise ModelError(f"input {input_name!r} has default {spec.default!r}, but feature {fname!r} needs a number")
        root = math.sqrt(weight)
        names.append(fname)
        roots.append(root)
        compiled_features.append((
            input_name,
            spec.min if spec.min is not None else -_BIG,
            spec.max if spec.max is not None else _BIG,
            fname,
            _CODES[transform],
            center,
            root / scale,
            spec,
        ))

    centroids = []
    pairs = []
    for i, segment in enumerate(segments):
        try:
            sid, variant, centroid = str(segment["id"]), str(segment["variant"]), dict(segment["centroid"])
        except (KeyError, TypeError) as exc:
            raise ModelError(f"segment {i} is incomplete: {exc}") from None
        missing = [n for n in names if n not in centroid]
        unknown = [k for k in centroid if k not in names]
        if missing or unknown:
            raise ModelError(
                f"segment {sid!r} centroid must name exactly the features: "
                f"missing {missing or 'none'}, unknown {unknown or 'none'}"
            )
        centroids.append(tuple(
            _finite(centroid[n], f"segment {sid!r} centroid {n!r}") * root for n, root in zip(names, roots, strict=False)
        ))
        pairs.append((sid, variant))

    return SegmentsModel(name, tuple(compiled_features), tuple(centroids), tuple(pairs), fallback_pair, max_distance)


def call(evaluator: Any, request: Any) -> Any:
    """One request: a mapping of input name to value."""
    return evaluator.assign(request)


__all__ = ["SegmentsModel", "compile", "inputs_used", "input_types", "outputs_emitted"]
