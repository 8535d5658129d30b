"""Rules for `table` headers: columns named once, ranges that make sense, a default row that fits its columns,
and key inputs read so that a request finds its own row.

The schema checks shape; these check meaning. The rows themselves are checked cell by cell with positions in
the data file (``data_rules`` and ``attachments``), after these pass.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from validator.gate.findings import Severity
from validator.gate.rules import Problem, RuleContext, did_you_mean, rule
from validator.kinds.inputs import DEFAULT_OUT_OF_RANGE
from validator.kinds.table.layout import ValueColumn

KINDS = ["table"]


def _keys(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(data.get("keys") or ())


def _values(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(data.get("values") or ())


def _column(key: Mapping[str, Any]) -> str:
    return str(key.get("column", key["input"]))


@rule("table.unique-columns", Severity.ERROR, kinds=KINDS)
def unique_columns(ctx: RuleContext) -> Iterator[Problem]:
    """Every column is declared once, as a key or as a value, and each key reads its own input: a column declared
    twice has two meanings and the data file only one.

    Bad:
        keys:
          - {column: category_id, input: category_id, type: integer}
          - {column: country, input: country, type: category}
        values:
          - {column: boost, type: number, min: 0.5, max: 3.0}
          - {column: boost, type: integer, min: 0, max: 5}
    Good:
        values:
          - {column: boost, type: number, min: 0.5, max: 3.0}
          - {column: pinned_slots, type: integer, min: 0, max: 5}
    """
    seen: dict[str, str] = {}
    inputs: dict[str, int] = {}
    for i, key in enumerate(_keys(ctx.data)):
        column = _column(key)
        if column in seen:
            yield Problem(("keys", i), f"column {column!r} is declared twice (also as {seen[column]})",
                          "each column of the data file is declared once")
        seen.setdefault(column, f"key {i + 1}")
        if key["input"] in inputs:
            yield Problem(("keys", i, "input"), f"keys {inputs[key['input']] + 1} and {i + 1} both read input "
                          f"{key['input']!r}: the two columns would always hold the same value",
                          "drop one key, or point it at the input it means")
        inputs.setdefault(key["input"], i)
    for i, value in enumerate(_values(ctx.data)):
        column = value["column"]
        if column in seen:
            yield Problem(("values", i, "column"), f"column {column!r} is declared twice (also as {seen[column]})",
                          "each column of the data file is declared once: rename one")
        seen.setdefault(column, f"value {i + 1}")


@rule("table.value-range", Severity.ERROR, kinds=KINDS)
def value_range(ctx: RuleContext) -> Iterator[Problem]:
    """A value column's `min` is below its `max`, only numbers have a range and only categories have `values`: the
    range is what catches a unit slip in one row of 50,000.

    Bad:
        values:
          - {column: boost, type: number, min: 3.0, max: 0.5}
    Good:
        values:
          - {column: boost, type: number, min: 0.5, max: 3.0}
    """
    for i, value in enumerate(_values(ctx.data)):
        lo, hi = value.get("min"), value.get("max")
        numeric = value["type"] in ("number", "integer")
        if numeric and lo is not None and hi is not None and lo > hi:
            yield Problem(("values", i, "min"), f"column {value['column']!r} has min {lo} above max {hi}: no row "
                          "could pass", "swap them")
        if not numeric and (lo is not None or hi is not None):
            yield Problem(("values", i), f"column {value['column']!r} is {value['type']}: only numbers have a range",
                          "remove min and max" + (", or list the allowed words under values:"
                                                  if value["type"] == "category" else ""))
        if value.get("values") is not None and value["type"] != "category":
            yield Problem(("values", i, "values"), f"column {value['column']!r} is {value['type']}: only category "
                          "columns list allowed words", "remove values, or set type: category")


@rule("table.default-row", Severity.ERROR, kinds=KINDS)
def default_row(ctx: RuleContext) -> Iterator[Problem]:
    """With `missing_key: {action: default}` the default row gives each value column exactly one value of its type,
    within its range; with `action: reject` there is no default row to mislead readers.

    Bad:
        values:
          - {column: boost, type: number, min: 0.5, max: 3.0}
          - {column: pinned_slots, type: integer, min: 0, max: 5}
        missing_key:
          action: default
          default: {boost: 5.0}
    Good:
        missing_key:
          action: default
          default: {boost: 1.0, pinned_slots: 0}
    """
    missing = ctx.data.get("missing_key") or {}
    default = missing.get("default")
    path = ("missing_key",)
    if missing.get("action") == "reject":
        if default is not None:
            yield Problem(path + ("default",), "missing_key action is reject, so this default row is never used",
                          "remove default, or set action: default")
        return
    if default is None:
        yield Problem(path, "missing_key action is default but no default row is given",
                      "add default: {<value column>: <value>, ...}")
        return
    columns = {v["column"]: v for v in _values(ctx.data)}
    for name in default:
        if name not in columns:
            yield Problem(path + ("default", name), f"the default row names {name!r}, which is not a value column",
                          did_you_mean(name, [c for c in columns if c not in default]) or
                          f"value columns: {', '.join(columns)}", at_key=True)
    absent = [c for c in columns if c not in default]
    if absent:
        yield Problem(path + ("default",), f"the default row gives no value for {', '.join(map(repr, absent))}",
                      f"add {absent[0]}: <value> (what a key without a row gets)")
    for name, value in default.items():
        spec = columns.get(name)
        if spec is None:
            continue
        column = ValueColumn(name, spec["type"], spec.get("min"), spec.get("max"),
                             tuple(spec["values"]) if spec.get("values") is not None else None)
        if not column.accepts(value):
            yield Problem(path + ("default", name), f"default {name} = {value!r} is not a {spec['type']} within the "
                          "column's declared range (or allowed words)",
                          "a key without a row must get a value a row could hold")


@rule("table.key-clamp", Severity.WARNING, kinds=KINDS)
def key_clamp(ctx: RuleContext) -> Iterator[Problem]:
    """An integer key whose input has a contract range is not clamped: a clamped id 25000 would read the row of id
    20000, another category's values.

    Bad:
        keys:
          - {column: category_id, input: category_id, type: integer}
        # inputs: no policy for category_id, so out-of-range ids are clamped
    Good:
        keys:
          - {column: category_id, input: category_id, type: integer}
        inputs:
          category_id: {out_of_range: reject}
    """
    if ctx.contract is None:
        return
    policies = ctx.data.get("inputs") or {}
    for i, key in enumerate(_keys(ctx.data)):
        decl = ctx.contract.inputs.get(key["input"])
        if key["type"] != "integer" or decl is None or (decl.min is None and decl.max is None):
            continue
        policy = (policies.get(key["input"]) or {}).get("out_of_range", DEFAULT_OUT_OF_RANGE)
        if policy == "clamp":
            yield Problem(("keys", i, "input"),
                          f"key input {key['input']!r} is clamped to the contract's range: an id beyond it would "
                          "read the row of the id at the bound",
                          f"declare inputs: {{{key['input']}: {{out_of_range: reject}}}} (or default, to treat it "
                          "as a key without a row)")


RULES = (unique_columns, value_range, default_row, key_clamp)

__all__ = ["RULES"]
