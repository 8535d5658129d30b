"""Golden cases of a segmentation: a customer's inputs, and the segment, variant and distance it must keep."""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from validator.gate.golden import (
    INPUTS,
    RANGE,
    REJECTED,
    GoldenRunner,
    Mismatch,
    fmt,
    in_range,
    known_value,
    range_order,
    range_text,
)
from validator.kinds.schema_parts import prop, string
from validator.kinds.segments.evaluator import outputs_emitted

EXPECTATIONS: dict[str, dict[str, Any]] = {
    "segment": string("Segment", "The segment id the customer must be assigned to."),
    "variant": string("Variant", "The variant (landing page, email) the assignment must name."),
    "fallback": prop("Fallback", "true: the case must fall back (no centroid close enough).", type="boolean"),
    "distance": {**RANGE, "title": "Distance range",
                 "description": "Bounds for the scaled distance to the chosen centroid."},
    "rejected": REJECTED,
}


def run(evaluator: Any, case: Mapping[str, Any]) -> dict[str, Any]:
    result = evaluator.assign(case.get("inputs") or {})
    return {"segment": result.segment, "variant": result.variant, "fallback": result.fallback,
            "distance": result.distance}


def describe(got: Mapping[str, Any]) -> str:
    return f" (segment {got['segment']!r}, distance {fmt(got['distance'])})"


def compare(expect: Mapping[str, Any], got: Mapping[str, Any]) -> Iterator[Mismatch]:
    context = describe(got)
    for key in ("segment", "variant", "fallback"):
        if key in expect and got[key] != expect[key]:
            yield Mismatch(("expect", key), f"golden.{key}",
                           f"expected {key} {expect[key]!r}, got {got[key]!r}{context}")
    if "distance" in expect and not in_range(got["distance"], expect["distance"]):
        yield Mismatch(("expect", "distance"), "golden.distance",
                       f"expected distance {range_text(expect['distance'])}, got {fmt(got['distance'])}{context}")


def check(model: Mapping[str, Any], case: Mapping[str, Any]) -> list[Mismatch]:
    """Segments and variants the model cannot assign, and a distance range upside down."""
    emitted = outputs_emitted(model)
    expect = case["expect"]
    problems: list[Mismatch] = []
    for key, field in (("segment", "segments"), ("variant", "variants")):
        value = expect.get(key)
        if isinstance(value, str):
            problems.extend(known_value(("expect", key), value, emitted.get(field, {}), field))
    problems.extend(range_order(("expect", "distance"), expect.get("distance")))
    return problems


RUNNER = GoldenRunner(
    expectations=EXPECTATIONS,
    request={"inputs": INPUTS},
    required=("inputs",),
    hint="a segments case gives inputs: {input: value, ...}",
    run=run,
    compare=compare,
    check=check,
    inputs_key="inputs",
    describe=describe,
)

__all__ = ["RUNNER"]
