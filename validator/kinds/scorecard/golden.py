"""Golden cases of a scorecard: a request's inputs, and the decision, score range and reason codes it must keep."""
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
from validator.kinds.schema_parts import array, prop, string
from validator.kinds.scorecard.evaluator import outputs_emitted

EXPECTATIONS: dict[str, dict[str, Any]] = {
    "decision": string("Decision", "The decision band the score must fall in, e.g. decline."),
    "score": {**RANGE, "title": "Score range",
              "description": "Bounds for the score on the link's scale (a probability for a logistic link)."},
    "top_reason": prop("Top reason", "The first reason code reported; null when the case must report no reason at all.",
                       type=["string", "null"]),
    "reasons": array("Reasons", "Exactly these reason codes, in this order.",
                     string("Reason code", "A reason code of the model.")),
    "rejected": REJECTED,
}


def run(evaluator: Any, case: Mapping[str, Any]) -> dict[str, Any]:
    result = evaluator.score(case.get("inputs") or {})
    return {"decision": result.decision, "score": result.value, "reasons": list(result.reasons)}


def describe(got: Mapping[str, Any]) -> str:
    reasons = ", ".join(got["reasons"]) or "none"
    return f" (score {fmt(got['score'])}, decision {got['decision']!r}, reasons {reasons})"


def compare(expect: Mapping[str, Any], got: Mapping[str, Any]) -> Iterator[Mismatch]:
    context = describe(got)
    if "decision" in expect and got["decision"] != expect["decision"]:
        yield Mismatch(("expect", "decision"), "golden.decision",
                       f"expected decision {expect['decision']!r}, got {got['decision']!r}{context}")
    if "score" in expect and not in_range(got["score"], expect["score"]):
        yield Mismatch(("expect", "score"), "golden.score",
                       f"expected score {range_text(expect['score'])}, got {fmt(got['score'])}{context}")
    if "top_reason" in expect:
        top = got["reasons"][0] if got["reasons"] else None
        if top != expect["top_reason"]:
            yield Mismatch(("expect", "top_reason"), "golden.top_reason",
                           f"expected top reason {expect['top_reason']!r}, got {top!r}{context}")
    if "reasons" in expect and list(expect["reasons"]) != list(got["reasons"]):
        yield Mismatch(("expect", "reasons"), "golden.reasons",
                       f"expected reasons {expect['reasons']}, got {got['reasons']}{context}")


def check(model: Mapping[str, Any], case: Mapping[str, Any]) -> list[Mismatch]:
    """Decisions and reason codes the model cannot emit, and a score range upside down."""
    emitted = outputs_emitted(model)
    expect = case["expect"]
    problems: list[Mismatch] = []
    for key, field in (("decision", "decisions"), ("top_reason", "reasons")):
        value = expect.get(key)
        if isinstance(value, str):
            problems.extend(known_value(("expect", key), value, emitted.get(field, {}), field))
    for i, code in enumerate(expect.get("reasons") or ()):
        problems.extend(known_value(("expect", "reasons", i), code, emitted.get("reasons", {}), "reasons"))
    problems.extend(range_order(("expect", "score"), expect.get("score")))
    return problems


RUNNER = GoldenRunner(
    expectations=EXPECTATIONS,
    request={"inputs": INPUTS},
    required=("inputs",),
    hint="a scorecard case gives inputs: {input: value, ...}",
    run=run,
    compare=compare,
    check=check,
    inputs_key="inputs",
    describe=describe,
)

__all__ = ["RUNNER"]
