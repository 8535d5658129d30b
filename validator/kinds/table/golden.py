"""Golden cases of a table: a request's key inputs, and the values (and found flag) its lookup must give.

    - name: books in Germany keep their tuned boost
      inputs: {category_id: 17, country: DE}
      expect: {found: true, values: {boost: 0.87, pinned_slots: 0}}
    - name: an untuned category gets the default row
      inputs: {category_id: 7999, country: DE}
      expect: {found: false, values: {boost: 1.0}}

``values`` lists only the columns the case cares about; a number matches within ``{min, max}`` when written as
a range, else exactly (the lookup copies the row, it computes nothing).
"""
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
    range_order,
    range_text,
)
from validator.gate.rules import did_you_mean
from validator.kinds.schema_parts import prop

EXPECTATIONS: dict[str, dict[str, Any]] = {
    "found": prop("Found", "true: the key must have a row; false: the default row must answer.", type="boolean"),
    "values": prop(
        "Values",
        "Value column -> the value the lookup must return (a number, word or true/false), or {min, max} bounds.",
        type="object",
        additionalProperties={"anyOf": [{"type": ["number", "string", "boolean"]}, RANGE]},
        minProperties=1,
    ),
    "rejected": REJECTED,
}


def run(evaluator: Any, case: Mapping[str, Any]) -> dict[str, Any]:
    result = evaluator.lookup(case.get("inputs") or {})
    return {"found": result.found, "values": dict(result.values)}


def describe(got: Mapping[str, Any]) -> str:
    shown = ", ".join(f"{k} {fmt(v)}" for k, v in got["values"].items())
    return f" ({'row found' if got['found'] else 'default row'}: {shown})"


def _matches(expected: Any, value: Any) -> bool:
    if isinstance(expected, Mapping):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and in_range(value, expected)
    if isinstance(expected, bool) or isinstance(value, bool):
        return type(expected) is type(value) and expected == value
    return bool(expected == value)


def compare(expect: Mapping[str, Any], got: Mapping[str, Any]) -> Iterator[Mismatch]:
    context = describe(got)
    if "found" in expect and got["found"] != expect["found"]:
        what = "a row" if expect["found"] else "no row (the default row)"
        yield Mismatch(("expect", "found"), "golden.found", f"expected {what} for this key, got the "
                       f"{'row' if got['found'] else 'default row'}{context}")
    for column, expected in (expect.get("values") or {}).items():
        if column not in got["values"]:
            continue  # check() reports a column the table does not have
        value = got["values"][column]
        if not _matches(expected, value):
            want = range_text(expected) if isinstance(expected, Mapping) else fmt(expected)
            yield Mismatch(("expect", "values", column), "golden.values",
                           f"expected {column} {want}, got {fmt(value)}{context}")


def check(model: Mapping[str, Any], case: Mapping[str, Any]) -> list[Mismatch]:
    """A value column the table does not have, and a range upside down."""
    columns = [str(v.get("column")) for v in model.get("values") or ()]
    problems: list[Mismatch] = []
    for column, expected in ((case.get("expect") or {}).get("values") or {}).items():
        if column not in columns:
            problems.append(Mismatch(("expect", "values", column), "golden.expectation-unknown",
                                     f"the table has no value column {column!r}",
                                     did_you_mean(column, columns) or f"value columns: {', '.join(columns)}",
                                     at_key=True))
        problems.extend(range_order(("expect", "values", column), expected))
    return problems


RUNNER = GoldenRunner(
    expectations=EXPECTATIONS,
    request={"inputs": INPUTS},
    required=("inputs",),
    hint="a table case gives inputs: {key input: value, ...}",
    run=run,
    compare=compare,
    check=check,
    inputs_key="inputs",
    describe=describe,
)

__all__ = ["RUNNER"]
