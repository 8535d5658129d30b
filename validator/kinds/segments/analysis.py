"""What a segments model can do over the contract's input ranges: each feature's share of the squared distance
to a centroid, and the segments some customer can be assigned to.

A feature reads its input after the model's policy (``validator.kinds.inputs.read``), transforms it (an
increasing function), centers and scales it: ``u = (transform(x) - center) / scale`` lies in an interval
``U``. Its share of the squared distance to a centroid ``c`` is ``weight * (u - c)^2``: 0 when ``c`` lies in
``U``, else at least the square of the gap, and at most the square of the farther end. The contribution
interval of a feature is the hull over every segment's centroid.

A segment is out of reach for certain when even the customer of the contract's box closest to its centroid is
farther than ``fallback.max_distance`` (every customer it would win falls back), or when an earlier segment has
the same centroid (ties go to the first). Deciding reach exactly (a Voronoi cell meeting the box and a ball) is
a small optimisation problem; the analysis only claims what it can prove, so a segment it does not name may
still be unreachable, never the other way round.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from validator.kinds.contract import Contract, InputDecl
from validator.kinds.intervals import (
    MARGIN,
    Analysis,
    Contribution,
    Interval,
    Outcome,
    numeric_input,
    show,
    show_interval,
)
from validator.kinds.segments.evaluator import DEFAULT_WEIGHT, NON_NEGATIVE, TRANSFORMS


def _decl(contract: Contract | None, name: str) -> InputDecl | None:
    return contract.inputs.get(name) if contract is not None else None


def scaled_range(feature: Mapping[str, Any], decl: InputDecl | None, policy: Any) -> tuple[Interval, Interval]:
    """The input's reachable values and the feature's scaled units ``(transform(x) - center) / scale``."""
    reach = numeric_input(decl, policy)
    transform = feature.get("transform", "identity")
    values = reach.clip(0.0, math.inf) if transform in NON_NEGATIVE else reach
    fn = TRANSFORMS.get(transform, TRANSFORMS["identity"])
    scale = float(feature.get("scale", 1.0)) or 1.0  # a zero scale is segments.scale-positive's error
    return reach, (values.map_increasing(fn) + Interval.point(-float(feature.get("center", 0.0)))).scale(1.0 / scale)


def _share(u: Interval, c: float, weight: float) -> Interval:
    """``weight * (u - c)^2`` over u in ``u``."""
    near = 0.0 if u.contains(c) else min(abs(u.lo - c), abs(u.hi - c))
    far = max(abs(u.lo - c), abs(u.hi - c))
    return Interval(weight * near * near, weight * far * far)


def analyse(data: Mapping[str, Any], contract: Contract | None) -> Analysis:
    """The analysis of a schema-valid segments document."""
    policies = data.get("inputs") or {}
    features = list(data.get("features") or ())
    segments = [s for s in data.get("segments") or () if isinstance(s.get("centroid"), dict)]
    boxes: list[Interval] = []
    terms: list[Contribution] = []
    for i, feature in enumerate(features):
        decl = _decl(contract, feature["input"])
        reach, u = scaled_range(feature, decl, policies.get(feature["input"]))
        boxes.append(u)
        weight = float(feature.get("weight", DEFAULT_WEIGHT))
        centroids = [float(s["centroid"][feature["name"]]) for s in segments if feature["name"] in s["centroid"]]
        shares = [_share(u, c, weight) for c in centroids] or [Interval.point(0.0)]
        contribution = shares[0]
        for share in shares[1:]:
            contribution = contribution.union(share)
        transform = feature.get("transform", "identity")
        terms.append(Contribution(
            name=str(feature["name"]), path=("features", i), contribution=contribution,
            driver=str(feature["input"]),
            input_range=show_interval(reach) + (f" {decl.unit}" if decl is not None and decl.unit else ""),
            how=(f"{show(weight)} × (({transform}(x) - {show(float(feature.get('center', 0.0)))}) / "
                 f"{show(float(feature.get('scale', 1.0)))} - centroid)², scaled {show_interval(u)}"),
        ))
    radius = (data.get("fallback") or {}).get("max_distance")
    outcomes = _outcomes(features, segments, boxes, radius)
    fallback = (data.get("fallback") or {}).get("segment")
    total = Interval.point(0.0)
    for term in terms:
        total = total + term.contribution
    notes = [f"fallback {fallback!r} beyond distance {show(float(radius))}"] if fallback and radius else []
    return Analysis(kind="segments", model=str(data["name"]), scale="squared distance", base=0.0,
                    terms=tuple(terms), score=total.map_increasing(math.sqrt), score_label="distance to a centroid",
                    outcomes=tuple(outcomes), notes=tuple(notes))


def _outcomes(features: list[Mapping[str, Any]], segments: list[Mapping[str, Any]], boxes: list[Interval],
              radius: Any) -> list[Outcome]:
    out: list[Outcome] = []
    seen: dict[tuple[float, ...], str] = {}
    for k, segment in enumerate(segments):
        centroid = segment["centroid"]
        if not all(f["name"] in centroid for f in features):
            continue  # segments.centroid-dimensions reports it
        point = tuple(float(centroid[f["name"]]) for f in features)
        label = str(segment["id"])
        if point in seen:
            out.append(Outcome(label, ("segments", k, "id"), False,
                               f"segment {seen[point]!r} has the same centroid and comes first"))
            continue
        seen[point] = label
        nearest = math.sqrt(sum(
            float(f.get("weight", DEFAULT_WEIGHT)) * _share(box, c, 1.0).lo
            for f, box, c in zip(features, boxes, point, strict=True)))
        if isinstance(radius, (int, float)) and nearest > radius:
            out.append(Outcome(label, ("segments", k, "id"), False,
                               f"the closest customer the contract allows is {show(nearest)} from its centroid, "
                               f"beyond fallback.max_distance {show(float(radius))}"))
        else:
            out.append(Outcome(label, ("segments", k, "id"), True))
    return out


def dominant(analysis: Analysis) -> list[tuple[Contribution, float]]:
    """Features whose largest share of the squared distance exceeds all the others' largest shares together."""
    tops = [t.contribution.hi for t in analysis.terms]
    out: list[tuple[Contribution, float]] = []
    for k, term in enumerate(analysis.terms):
        rest = sum(v for j, v in enumerate(tops) if j != k)
        if tops[k] > MARGIN * rest:
            out.append((term, rest))
    return out
