"""Rules for `segments` models: centroids that mean what the analyst thinks, and a fallback that does its job.

The schema checks shape; these check meaning. Most mistakes in a centroid model are silent: a coordinate
written in EUR instead of scaled units, a centroid copied twice, a log1p of a value that can be negative, a
fallback radius that swallows all traffic. The evaluator would run happily on all of them.
"""
from __future__ import annotations

import math
from typing import Any, Iterator, Mapping

from validator.gate.common_rules import defaults_outside_contract
from validator.gate.findings import Severity
from validator.gate.rules import Problem, RuleContext, did_you_mean, rule
from validator.kinds.intervals import Analysis, cached, term_limit
from validator.kinds.segments.analysis import analyse, dominant
from validator.kinds.segments.evaluator import (
    DEFAULT_TRANSFORM,
    INVERSES,
    NON_NEGATIVE,
    TRANSFORMS,
    centroid_distance,
    feature_weight,
    transformed_range,
)

KINDS = ["segments"]
# Two centroids closer than this (scaled units) split one group of customers on noise.
CLOSE_CENTROIDS = 0.1
# A fallback radius below this catches only customers almost exactly at a centroid.
MIN_FALLBACK_DISTANCE = 0.5
# A fallback radius above this (or above 3 * sqrt(total weight) with many features) lets nobody fall back.
MAX_FALLBACK_DISTANCE = 10.0
# Without contract bounds, a centroid coordinate this many spreads from the center is almost surely a unit slip.
MAX_PLAUSIBLE_Z = 6.0


def _fmt(x: float) -> str:
    """Numbers as an analyst writes them: 8.52, 5000, 0.06, 3.49e+19."""
    if x != 0 and (abs(x) >= 1e6 or abs(x) < 0.001):
        return f"{x:.3g}"
    return f"{round(x, 2):g}" if abs(x) >= 0.1 else f"{x:.3g}"


def _features(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(data.get("features") or ())


def _segments(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(data.get("segments") or ())


def _complete(segment: Mapping[str, Any], names: set[str]) -> bool:
    """A centroid that names exactly the features (others are centroid-dimensions' business)."""
    return set(segment.get("centroid") or {}) == names


def _transform(feature: Mapping[str, Any]) -> str:
    return feature.get("transform", DEFAULT_TRANSFORM)


def _of(feature: Mapping[str, Any]) -> str:
    """How a message names the transformed input: log1p(avg_basket_eur)."""
    transform = _transform(feature)
    return feature["input"] if transform == "identity" else f"{transform}({feature['input']})"


@rule("segments.centroid-dimensions", Severity.ERROR, kinds=KINDS)
def centroid_dimensions(ctx: RuleContext) -> Iterator[Problem]:
    """Every centroid gives a coordinate for each feature, by feature name, and for nothing else: a missing coordinate has no honest default and a misspelt one is silently a different point.

    Bad:
        features:
          - {name: avg_basket, input: avg_basket_eur, transform: log1p, center: 3.9, scale: 0.6}
          - {name: discount_share, input: discount_share, center: 0.15, scale: 0.12}
        segments:
          - id: bargain_hunters
            centroid: {avg_basket_eur: -0.6, discount_shares: 1.7}
            variant: landing_deals
    Good:
        segments:
          - id: bargain_hunters
            centroid: {avg_basket: -0.6, discount_share: 1.7}
            variant: landing_deals
    """
    features = _features(ctx.data)
    names = [f["name"] for f in features]
    by_input = {f["input"]: f["name"] for f in features}
    for i, segment in enumerate(_segments(ctx.data)):
        centroid = segment.get("centroid") or {}
        sid = segment.get("id")
        missing = [name for name in names if name not in centroid]
        for key in [key for key in centroid if key not in names]:
            # A misspelt or input-named key and the feature it was meant for are one slip: report it once.
            meant = by_input.get(key)
            if meant not in missing:
                close = did_you_mean(key, missing)
                meant = close.split("'")[1] if close else None
            if meant is not None:
                missing.remove(meant)
                why = f" ({key!r} is the input of feature {meant!r})" if by_input.get(key) == meant else ""
                hint = f"write {meant}: {_fmt(centroid[key])}; centroids are keyed by feature name{why}"
            else:
                hint = did_you_mean(key, names) or f"features: {', '.join(names)}"
            yield Problem(("segments", i, "centroid", key),
                          f"centroid of segment {sid!r} names {key!r}, which is not a feature", hint, at_key=True)
        if missing:
            listed = ", ".join(repr(m) for m in missing)
            yield Problem(("segments", i, "centroid"),
                          f"centroid of segment {sid!r} has no coordinate for feature{'s' if len(missing) > 1 else ''} {listed}",
                          f"add {missing[0]}: <scaled value> (0 is the typical customer, 1 is one scale above)")


@rule("segments.scale-positive", Severity.ERROR, kinds=KINDS)
def scale_positive(ctx: RuleContext) -> Iterator[Problem]:
    """Each feature's `scale` is above zero: z = (transform(x) - center) / scale divides by it, and a negative scale silently mirrors the feature so "high spenders" become low ones.

    Bad:
        features:
          - {name: avg_basket, input: avg_basket_eur, transform: log1p, center: 3.9, scale: 0}
    Good:
        features:
          - {name: avg_basket, input: avg_basket_eur, transform: log1p, center: 3.9, scale: 0.6}
    """
    for i, feature in enumerate(_features(ctx.data)):
        scale = feature["scale"]
        if scale > 0:
            continue
        if scale == 0:
            why = f"z = ({_of(feature)} - center) / scale divides by it"
        else:
            why = "a negative scale mirrors the feature: customers above the center would count as below it"
        yield Problem(("features", i, "scale"), f"feature {feature['name']!r} has scale {_fmt(scale)}: {why}",
                      f"set scale to the spread of {_of(feature)} in a recent sample (e.g. its standard deviation), "
                      "a number > 0")


@rule("segments.unique-names", Severity.ERROR, kinds=KINDS)
def unique_names(ctx: RuleContext) -> Iterator[Problem]:
    """Feature names and segment ids are unique, and the fallback segment is not one of the segments: otherwise centroids are ambiguous and reports cannot tell who fell back.

    Bad:
        segments:
          - {id: general, centroid: {avg_basket: 0.0, discount_share: 0.0}, variant: landing_default}
        fallback: {segment: general, variant: landing_default, max_distance: 3.0}
    Good:
        segments:
          - {id: bargain_hunters, centroid: {avg_basket: -0.6, discount_share: 1.7}, variant: landing_deals}
        fallback: {segment: general, variant: landing_default, max_distance: 3.0}
    """
    seen: dict[str, int] = {}
    for i, feature in enumerate(_features(ctx.data)):
        name = feature["name"]
        if name in seen:
            yield Problem(("features", i, "name"),
                          f"feature name {name!r} is used twice (features {seen[name] + 1} and {i + 1}): centroids "
                          "key coordinates by feature name, so they could not say which one they mean",
                          "rename one (e.g. after its transform: orders_12m_log)")
        else:
            seen[name] = i
    ids: dict[str, int] = {}
    for i, segment in enumerate(_segments(ctx.data)):
        sid = segment["id"]
        if sid in ids:
            yield Problem(("segments", i, "id"),
                          f"segment id {sid!r} is used twice (segments {ids[sid] + 1} and {i + 1}): the app and "
                          "reports would merge two different groups of customers",
                          "rename one, or merge them into one centroid")
        else:
            ids[sid] = i
    fallback = ctx.data.get("fallback") or {}
    fid = fallback.get("segment")
    if fid in ids:
        yield Problem(("fallback", "segment"),
                      f"fallback segment {fid!r} is also the id of segment {ids[fid] + 1}: reports could not tell "
                      "customers near that centroid from customers near no centroid",
                      "give the fallback an id no segment uses (e.g. general or unmatched), or rename the segment")


def _distinct_pairs(ctx: RuleContext) -> Iterator[tuple[int, Mapping[str, Any], int, Mapping[str, Any], float]]:
    """Each later segment with the nearest earlier one and their distance (complete centroids only)."""
    features = _features(ctx.data)
    names = {f["name"] for f in features}
    segments = [(i, s) for i, s in enumerate(_segments(ctx.data)) if _complete(s, names)]
    for pos, (j, later) in enumerate(segments):
        nearest: tuple[float, int, Mapping[str, Any]] | None = None
        for i, earlier in segments[:pos]:
            d = centroid_distance(earlier["centroid"], later["centroid"], features)
            if nearest is None or d < nearest[0]:
                nearest = (d, i, earlier)
        if nearest is not None:
            yield nearest[1], nearest[2], j, later, nearest[0]


@rule("segments.centroids-distinct", Severity.ERROR, kinds=KINDS)
def centroids_distinct(ctx: RuleContext) -> Iterator[Problem]:
    """No two segments share a centroid: ties go to the segment written first, so the second could never be assigned (usually a copied block whose numbers were not edited).

    Bad:
        segments:
          - {id: loyal_regulars, centroid: {orders_12m: 1.5, avg_basket: 0.3}, variant: landing_loyalty}
          - {id: big_basket_occasional, centroid: {orders_12m: 1.5, avg_basket: 0.3}, variant: landing_premium}
    Good:
        segments:
          - {id: loyal_regulars, centroid: {orders_12m: 1.5, avg_basket: 0.3}, variant: landing_loyalty}
          - {id: big_basket_occasional, centroid: {orders_12m: -0.4, avg_basket: 1.6}, variant: landing_premium}
    """
    for i, earlier, j, later, d in _distinct_pairs(ctx):
        if d == 0:
            yield Problem(("segments", j, "centroid"),
                          f"segment {later['id']!r} has the same centroid as {earlier['id']!r} (segment {i + 1}): "
                          "it can never be assigned, because ties go to the segment written first",
                          "move its centroid to where its customers are, or merge the two segments")


@rule("segments.centroids-close", Severity.WARNING, kinds=KINDS)
def centroids_close(ctx: RuleContext) -> Iterator[Problem]:
    """Two centroids are not nearly on top of each other (closer than 0.1 scaled units): customers between them flip segments on noise, and the two groups are in effect one.

    Bad:
        segments:
          - {id: loyal_regulars, centroid: {orders_12m: 1.5, avg_basket: 0.3}, variant: landing_loyalty}
          - {id: big_basket_occasional, centroid: {orders_12m: 1.45, avg_basket: 0.32}, variant: landing_premium}
    Good:
        segments:
          - {id: loyal_regulars, centroid: {orders_12m: 1.5, avg_basket: 0.3}, variant: landing_loyalty}
          - {id: big_basket_occasional, centroid: {orders_12m: -0.4, avg_basket: 1.6}, variant: landing_premium}
    """
    for i, earlier, j, later, d in _distinct_pairs(ctx):
        if 0 < d < CLOSE_CENTROIDS:
            yield Problem(("segments", j, "centroid"),
                          f"segment {later['id']!r} is only {_fmt(d)} scaled units from {earlier['id']!r} "
                          f"(segment {i + 1}): customers between them switch segments on tiny changes",
                          f"separate the centroids by at least {CLOSE_CENTROIDS}, or merge the two segments")


def _box_bounds(ctx: RuleContext, feature: Mapping[str, Any]) -> tuple[float, float] | None:
    """The z-range the app's contract lets this feature reach, or None when a bound is unknown."""
    if ctx.contract is None or feature["scale"] <= 0:
        return None
    decl = ctx.contract.inputs.get(feature["input"])
    if decl is None or decl.min is None or decl.max is None:
        return None
    tlo, thi = transformed_range(_transform(feature), decl.min, decl.max)
    assert tlo is not None and thi is not None
    return (tlo - feature["center"]) / feature["scale"], (thi - feature["center"]) / feature["scale"]


@rule("segments.fallback-reachable", Severity.WARNING, kinds=KINDS)
def fallback_reachable(ctx: RuleContext) -> Iterator[Problem]:
    """The fallback's `max_distance` lets some customers fall back, but not most: above 10 scaled units (or beyond the farthest customer the contract's ranges allow) nobody ever gets the fallback, below 0.5 almost everybody does.

    Bad:
        fallback: {segment: general, variant: landing_default, max_distance: 25.0}
    Good:
        fallback: {segment: general, variant: landing_default, max_distance: 3.0}
    """
    fallback = ctx.data.get("fallback") or {}
    radius = fallback.get("max_distance")
    if not isinstance(radius, (int, float)) or radius <= 0:
        return
    features = _features(ctx.data)
    path = ("fallback", "max_distance")
    if radius < MIN_FALLBACK_DISTANCE:
        yield Problem(path,
                      f"max_distance {_fmt(radius)} is so small that most customers fall back: with {len(features)} "
                      f"feature{'s' if len(features) != 1 else ''} a typical customer is 1 to 3 scaled units from "
                      f"the nearest centroid, and only those within {_fmt(radius)} of one get a segment",
                      "use 2.5 to 4, and check in a replay of recent customers which share falls back")
        return
    total_weight = sum(feature_weight(f) for f in features)
    limit = max(MAX_FALLBACK_DISTANCE, 3.0 * math.sqrt(total_weight))
    # Exactly: the farthest any point of the contract's box can be from a centroid bounds the nearest distance.
    names = {f["name"] for f in features}
    known = [_box_bounds(ctx, f) for f in features]
    boxes = [box for box in known if box is not None]
    if len(boxes) == len(known):
        farthest: tuple[float, str] | None = None
        for segment in _segments(ctx.data):
            if not _complete(segment, names):
                continue
            centroid = segment["centroid"]
            reach = math.sqrt(sum(
                feature_weight(f) * max((lo - centroid[f["name"]]) ** 2, (hi - centroid[f["name"]]) ** 2)
                for f, (lo, hi) in zip(features, boxes, strict=False)
            ))
            if farthest is None or reach < farthest[0]:
                farthest = (reach, segment["id"])
        if farthest is not None and radius >= farthest[0]:
            yield Problem(path,
                          f"max_distance {_fmt(radius)} is at least {_fmt(farthest[0])}, the distance from segment "
                          f"{farthest[1]!r} to the farthest customer the contract's input ranges allow: nobody can "
                          f"ever fall back to {fallback.get('segment')!r}",
                          "use 2.5 to 4 so that customers unlike every segment get the fallback")
            return
    if radius > limit:
        yield Problem(path,
                      f"max_distance {_fmt(radius)} is so large that practically no customer falls back: that is "
                      f"{_fmt(radius)} spreads away from a centroid, where almost nobody is",
                      "use 2.5 to 4 so that customers unlike every segment get the fallback")


@rule("segments.transform-domain", Severity.ERROR, kinds=KINDS)
def transform_domain(ctx: RuleContext) -> Iterator[Problem]:
    """A log1p or sqrt feature reads an input that cannot be negative: the contract declares `min` >= 0 and the input's default is >= 0. Otherwise requests the app may legitimately send fail with an input error.

    Bad:
        # contract: spend_trend_pct: {type: number, min: -100, max: 1000}
        features:
          - {name: spend_trend, input: spend_trend_pct, transform: log1p, center: 2.5, scale: 1.2}
    Good:
        features:
          - {name: spend_trend, input: spend_trend_pct, center: 5.0, scale: 40.0}
    """
    policies = ctx.data.get("inputs") or {}
    for i, feature in enumerate(_features(ctx.data)):
        transform = _transform(feature)
        if transform not in NON_NEGATIVE:
            continue
        name = feature["input"]
        path = ("features", i, "transform")
        default = (policies.get(name) or {}).get("default")
        if isinstance(default, (int, float)) and not isinstance(default, bool) and default < 0:
            yield Problem(("inputs", name, "default"),
                          f"default {_fmt(default)} of input {name!r} is negative, but feature {feature['name']!r} "
                          f"takes {transform} of it: every request that uses the default would fail",
                          "use a default >= 0")
        if ctx.contract is None:
            continue
        decl = ctx.contract.inputs.get(name)
        if decl is None or decl.type not in ("number", "integer"):
            continue  # contract.input-known / contract.input-type say so
        if decl.min is None:
            yield Problem(path,
                          f"feature {feature['name']!r} takes {transform} of {name!r}, but contract "
                          f"{ctx.contract.name!r} declares no min for it: a negative value would fail the request",
                          f"if {name} cannot be negative, declare min: 0 in config/contracts/{ctx.contract.name}.yaml; "
                          "otherwise use transform: identity")
        elif decl.min < 0:
            yield Problem(path,
                          f"feature {feature['name']!r} takes {transform} of {name!r}, which needs a value >= 0, but "
                          f"the app may send down to {_fmt(decl.min)} (contract {ctx.contract.name!r}): those requests "
                          "would fail with an input error",
                          "use transform: identity for an input that can be negative")


def _center_outside(ctx: RuleContext, feature: Mapping[str, Any]) -> bool:
    """Whether the center lies outside the contract's range in transformed units (center-in-range reports it)."""
    decl = ctx.contract.inputs.get(feature["input"]) if ctx.contract is not None else None
    if decl is None or (decl.min is None and decl.max is None):
        return False
    tlo, thi = transformed_range(_transform(feature), decl.min, decl.max)
    center = feature["center"]
    return (tlo is not None and center < tlo) or (thi is not None and center > thi)


@rule("segments.center-in-range", Severity.WARNING, kinds=KINDS)
def center_in_range(ctx: RuleContext) -> Iterator[Problem]:
    """A feature's `center` lies within what the app can send, in transformed units: a log1p feature's center is ln(1 + x) (3.9 for a 48 EUR basket), not the raw 48.

    Bad:
        # contract: avg_basket_eur: {type: number, unit: EUR, min: 0, max: 5000}
        features:
          - {name: avg_basket, input: avg_basket_eur, transform: log1p, center: 48.0, scale: 0.6}
    Good:
        features:
          - {name: avg_basket, input: avg_basket_eur, transform: log1p, center: 3.9, scale: 0.6}
    """
    if ctx.contract is None:
        return
    for i, feature in enumerate(_features(ctx.data)):
        if not _center_outside(ctx, feature):
            continue
        decl = ctx.contract.inputs[feature["input"]]
        transform = _transform(feature)
        tlo, thi = transformed_range(transform, decl.min, decl.max)
        center = feature["center"]
        shown = f"[{_fmt(decl.min) if decl.min is not None else '-inf'}, {_fmt(decl.max) if decl.max is not None else 'inf'}]"
        if transform == "identity":
            message = (f"center {_fmt(center)} of feature {feature['name']!r} is outside the range {shown} the app "
                       f"sends for {feature['input']!r}")
            hint = "set center to a typical value of the input (its mean or median in a recent sample)"
        else:
            tshown = f"[{_fmt(tlo) if tlo is not None else '-inf'}, {_fmt(thi) if thi is not None else 'inf'}]"
            raw = INVERSES[transform](center)
            message = (f"center {_fmt(center)} of feature {feature['name']!r} is {_of(feature)}, i.e. "
                       f"{feature['input']} = {_fmt(raw)}; the app sends {shown}, which is {tshown} after {transform}")
            hint = "center is in transformed units"
            if decl.min is not None and decl.min <= center <= (decl.max if decl.max is not None else math.inf) and center >= 0:
                hint += f": for a typical {feature['input']} of {_fmt(center)} write center: {_fmt(TRANSFORMS[transform](center))}"
        yield Problem(("features", i, "center"), message, hint)


@rule("segments.centroid-in-range", Severity.WARNING, kinds=KINDS)
def centroid_in_range(ctx: RuleContext) -> Iterator[Problem]:
    """Centroid coordinates are in scaled units and within what the app can send: a coordinate written in the input's own unit (120 EUR) lands far outside every real customer.

    Bad:
        # feature avg_basket: log1p(avg_basket_eur), center 3.9, scale 0.6; contract max 5000 EUR
        segments:
          - id: big_basket_occasional
            centroid: {orders_12m: -0.4, avg_basket: 120.0}
            variant: landing_premium
    Good:
        segments:
          - id: big_basket_occasional
            centroid: {orders_12m: -0.4, avg_basket: 1.49}   # (log1p(120) - 3.9) / 0.6
            variant: landing_premium
    """
    # A center outside the range puts every centroid outside too: report the cause once (center-in-range).
    features = [f for f in _features(ctx.data) if not _center_outside(ctx, f)]
    for i, segment in enumerate(_segments(ctx.data)):
        centroid = segment.get("centroid") or {}
        for feature in features:
            fname = feature["name"]
            z = centroid.get(fname)
            scale = feature["scale"]
            if not isinstance(z, (int, float)) or scale <= 0:
                continue
            transform, center = _transform(feature), feature["center"]
            decl = ctx.contract.inputs.get(feature["input"]) if ctx.contract is not None else None
            lo = decl.min if decl is not None else None
            hi = decl.max if decl is not None else None
            tlo, thi = transformed_range(transform, lo, hi) if (lo is not None or hi is not None) else (None, None)
            if transform in NON_NEGATIVE and tlo is None:
                tlo = 0.0  # log1p and sqrt never go below 0
            zlo = (tlo - center) / scale if tlo is not None else -MAX_PLAUSIBLE_Z
            zhi = (thi - center) / scale if thi is not None else MAX_PLAUSIBLE_Z
            if zlo <= z <= zhi:
                continue
            value = INVERSES[transform](center + z * scale)
            where = f"{_of(feature)} = {_fmt(center + z * scale)}, " if transform != "identity" else ""
            if (z < zlo and tlo is not None) or (z > zhi and thi is not None):
                bound = (f"the app sends {feature['input']} in [{_fmt(lo) if lo is not None else '-inf'}, "
                         f"{_fmt(hi) if hi is not None else 'inf'}]") if (lo is not None or hi is not None) else (
                         f"{transform} is never below 0")
                message = (f"segment {segment['id']!r} puts {fname!r} at {_fmt(z)} scaled units, i.e. {where}"
                           f"{feature['input']} = {_fmt(value)}, but {bound}: no customer is there")
            else:
                message = (f"segment {segment['id']!r} puts {fname!r} at {_fmt(z)} scaled units: {_fmt(abs(z))} "
                           "spreads from the typical customer, where almost nobody is")
            hint = "centroids are z-scores, (transform(x) - center) / scale"
            raw_ok = (lo is None or z >= lo) and (hi is None or z <= hi) and (transform not in NON_NEGATIVE or z >= 0)
            if raw_ok:
                meant = (TRANSFORMS[transform](z) - center) / scale
                hint += (f": for {feature['input']} = {_fmt(z)} write {fname}: {_fmt(meant)} "
                         f"(= ({_of(feature).replace(feature['input'], _fmt(z))} - {_fmt(center)}) / {_fmt(scale)})")
            yield Problem(("segments", i, "centroid", fname), message, hint)


def _analysis(ctx: RuleContext) -> Analysis:
    return cached(ctx, analyse)


@rule("segments.term-contribution-bound", Severity.ERROR, kinds=KINDS)
def term_contribution_bound(ctx: RuleContext) -> Iterator[Problem]:
    """No single feature can add more to the squared distance to a centroid than the model declares (`analysis: {max_term_contribution: ...}`), or else the repository's default for segments in config/weights.yaml, over the contract's input ranges: a feature past it sorts customers into segments by itself.

    Bad:
        # contract: avg_basket_eur: {type: number, min: 0, max: 5000}
        analysis: {max_term_contribution: 100}
        features:
          - {name: avg_basket, input: avg_basket_eur, center: 3.9, scale: 0.6}
    Good:
        analysis: {max_term_contribution: 100}
        features:
          - {name: avg_basket, input: avg_basket_eur, transform: log1p, center: 3.9, scale: 0.6}
    """
    limit, source = term_limit(ctx.data, ctx.extra, "segments")
    if limit is None:
        return
    for term in _analysis(ctx).terms:
        if term.contribution.magnitude > limit:
            yield Problem(term.path + ("scale",),
                          f"feature {term.name!r} can add {_fmt(term.contribution.hi)} to the squared distance over "
                          f"the contract's range of {term.driver!r} ({term.input_range}); that exceeds {_fmt(limit)}, "
                          f"{source}",
                          "check the center, the scale and the transform (log1p or sqrt for counts and amounts); "
                          "see weights explain")


@rule("segments.feature-dominates", Severity.WARNING, kinds=KINDS)
def feature_dominates(ctx: RuleContext) -> Iterator[Problem]:
    """No feature can add more (by over 10%) to the squared distance to a centroid than all the other features together can, over the contract's ranges: such a feature (a scale a hundred times too small, a missing transform on a long-tailed amount) decides the segment alone.

    Bad:
        features:
          - {name: orders_12m, input: orders_12m, transform: log1p, center: 1.2, scale: 0.8}
          - {name: avg_basket, input: avg_basket_eur, transform: log1p, center: 3.9, scale: 0.06}
    Good:
        features:
          - {name: orders_12m, input: orders_12m, transform: log1p, center: 1.2, scale: 0.8}
          - {name: avg_basket, input: avg_basket_eur, transform: log1p, center: 3.9, scale: 0.6}
    """
    analysis = _analysis(ctx)
    if len(analysis.terms) < 2:
        return
    for term, rest in dominant(analysis):
        yield Problem(term.path + ("scale",),
                      f"feature {term.name!r} can add up to {_fmt(term.contribution.hi)} to the squared distance, more "
                      f"than all the other features together ({_fmt(rest)}): it alone decides the segment",
                      "check its scale (one typical spread of the transformed input), transform and weight")


@rule("segments.segment-reachable", Severity.WARNING, kinds=KINDS)
def segment_reachable(ctx: RuleContext) -> Iterator[Problem]:
    """Every segment can be assigned to some customer the contract allows: a centroid so far outside the contract's ranges that even the closest customer is beyond `fallback.max_distance` is a segment nobody gets (its variant is never shown).

    Bad:
        # contract: orders_12m: {type: integer, min: 0, max: 500}; orders_12m feature center 1.2, scale 0.8
        - id: bargain_hunters
          centroid: {orders_12m: -8.0, avg_basket: -0.6, discount_share: 1.7, days_since_last_order: -0.4, categories_bought: 0.2, email_open_rate: 0.6}
    Good:
        - id: bargain_hunters
          centroid: {orders_12m: 0.8, avg_basket: -0.6, discount_share: 1.7, days_since_last_order: -0.4, categories_bought: 0.2, email_open_rate: 0.6}
    """
    for outcome in _analysis(ctx).outcomes:
        if not outcome.reachable and "same centroid" not in outcome.why:  # segments.centroids-distinct has those
            yield Problem(outcome.path, f"segment {outcome.label!r} is never assigned: {outcome.why}",
                          "move the centroid inside the range customers can have (see weights explain), or widen "
                          "fallback.max_distance")


@rule("segments.default-in-range", Severity.ERROR, kinds=KINDS)
def default_in_range(ctx: RuleContext) -> Iterator[Problem]:
    """An input's `default` (used when the value is missing, or out of range with `out_of_range: default`) is a value the app's contract allows: a default outside the range puts every customer without the value at a point no real customer occupies.

    Bad:
        # contract: days_since_last_order: {type: integer, min: 0, max: 3650}
        inputs:
          days_since_last_order: {missing: default, default: 36500}
    Good:
        inputs:
          days_since_last_order: {missing: default, default: 365}
    """
    yield from defaults_outside_contract(ctx)


RULES = (
    centroid_dimensions,
    scale_positive,
    unique_names,
    centroids_distinct,
    centroids_close,
    fallback_reachable,
    transform_domain,
    center_in_range,
    centroid_in_range,
    term_contribution_bound,
    feature_dominates,
    segment_reachable,
    default_in_range,
)
