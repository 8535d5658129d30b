"""The segments' JSON Schema: what a segments file may say (published as config/schemas/segments.schema.json).

Kept apart from the evaluator so the schema (runtime side, published for editors) and the request path
change independently; the gate-only keys (replay, guardrails, accept) come from this kind's GUARDRAILS and
its replay settings.
"""
from __future__ import annotations

from validator.kinds.schema_parts import (
    DATASET,
    NAME_PATTERN,
    array,
    model_schema,
    number,
    obj,
    prop,
    string,
)
from validator.kinds.segments.evaluator import (
    DEFAULT_TRANSFORM,
    DEFAULT_WEIGHT,
    KIND_NAME,
    TRANSFORMS,
)
from validator.kinds.segments.guardrails import GUARDRAILS

_FEATURE = obj(
    "Feature",
    "One dimension of the segment space: an input, transformed, centred and scaled so one unit means "
    "one typical spread: z = (transform(input) - center) / scale.",
    {
        "name": string(
            "Feature name",
            "How centroids refer to this feature (`centroid: {<name>: ...}`). Often the input's name, or "
            "a shorter one such as avg_basket for avg_basket_eur.",
            pattern=NAME_PATTERN,
        ),
        "input": string(
            "Input",
            "The input the app sends (declared in the contract) that this feature reads. It must be a number; "
            "the model's `inputs:` policy says what happens when it is missing or out of range.",
            pattern=NAME_PATTERN,
        ),
        "transform": string(
            "Transform",
            "Applied to the input before centring. identity (default): the value as is. log1p: ln(1 + x), for "
            "amounts and counts with a long right tail (basket value, orders, days). sqrt: square root, for "
            "milder skew (categories bought). log1p and sqrt need x >= 0; a negative value is an input error.",
            enum=list(TRANSFORMS),
            default=DEFAULT_TRANSFORM,
        ),
        "center": number(
            "Center",
            "The transformed value of a typical customer, in transformed units (for log1p: ln(1 + x), so a "
            "typical basket of 48 EUR is 3.9). Usually the mean or median of transform(input) in a recent sample.",
        ),
        "scale": number(
            "Scale",
            "The typical spread of the transformed input (e.g. its standard deviation in the same sample), in "
            "transformed units; must be > 0. A customer one scale above the center has z = 1.",
        ),
        "weight": number(
            "Weight",
            "How much this feature counts in the distance (default 1): each squared difference is multiplied "
            "by it. 2 makes a one-unit gap on this feature count like a sqrt(2)-unit gap on a weight-1 feature; "
            "0.5 halves its say. Must be > 0 (drop the feature instead of giving it no weight).",
            exclusiveMinimum=0,
            default=DEFAULT_WEIGHT,
        ),
    },
    required=["name", "input", "center", "scale"],
)

_SEGMENT = obj(
    "Segment",
    "One customer segment: where its typical member sits in scaled units, and what the app shows it.",
    {
        "id": string(
            "Segment id",
            "The segment the app receives (e.g. for targeting and reporting); the contract must accept it.",
            pattern=NAME_PATTERN,
        ),
        "description": string("Description", "Who is in this segment, in words a marketer would use."),
        "centroid": prop(
            "Centroid",
            "The segment's typical member, keyed by feature name, in scaled units (z-scores): 0 is the typical "
            "customer on that feature, 1.5 is one and a half spreads above, -1 one spread below. Every feature "
            "needs a coordinate, and only features.",
            type="object",
            additionalProperties={"type": "number"},
            minProperties=1,
        ),
        "variant": string(
            "Variant",
            "The landing page or email variant the app shows this segment; the contract must accept it. "
            "Several segments may share one variant.",
            minLength=1,
        ),
    },
    required=["id", "centroid", "variant"],
)

_FALLBACK = obj(
    "Fallback",
    "What a customer gets who is not close to any centroid: rather an honest 'general' than a bad match.",
    {
        "segment": string(
            "Fallback segment",
            "The segment id for customers farther than max_distance from every centroid (e.g. general). It "
            "must differ from the segments' ids, and the contract must accept it.",
            pattern=NAME_PATTERN,
        ),
        "variant": string(
            "Fallback variant",
            "The variant the fallback segment sees (e.g. landing_default); the contract must accept it.",
            minLength=1,
        ),
        "max_distance": number(
            "Maximum distance",
            "The largest distance (weighted Euclidean, in scaled units) at which a customer still joins the "
            "nearest segment; beyond it they fall back. With a handful of features a typical customer is 1.5-3 "
            "units from the nearest centroid, so 2.5-4 is a usual choice; > 10 means nobody falls back, "
            "< 0.5 means almost everybody does.",
            exclusiveMinimum=0,
        ),
    },
    required=["segment", "variant", "max_distance"],
)

SCHEMA = model_schema(
    KIND_NAME,
    "Segments model",
    "Assigns each customer to the nearest segment centroid in scaled feature space, and maps the segment to "
    "the variant (landing page, email) the app shows; customers far from every centroid get the fallback.",
    {
        "features": array(
            "Features",
            "The dimensions of the segment space, in the order centroids are compared. Each reads one numeric "
            "input and scales it: z = (transform(input) - center) / scale.",
            _FEATURE,
            minItems=1,
        ),
        "segments": array(
            "Segments",
            "The segments, each with its centroid and variant. The nearest centroid wins; on an exact tie the "
            "segment written first wins.",
            _SEGMENT,
            minItems=1,
        ),
        "fallback": _FALLBACK,
        "analysis": obj(
            "Static analysis",
            "Limits the gate checks over the contract's input ranges (weights explain shows the ranges).",
            {
                "max_term_contribution": number(
                    "Largest feature contribution",
                    "No feature may add more than this to the squared distance to a centroid, for any customer the "
                    "contract allows (segments.term-contribution-bound). Replaces the repository default in "
                    "config/weights.yaml.",
                    exclusiveMinimum=0, maximum=1000,
                ),
            },
        ),
    },
    ["features", "segments", "fallback"],
    guardrails=GUARDRAILS,
    replay={"dataset": DATASET},
)

__all__ = ["SCHEMA"]
