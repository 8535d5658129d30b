"""The `table` kind: keyed values in a CSV or Parquet file beside a YAML header (the seed's "weights in a table").

The analytics team writes the rows (per-category search boosts, per-country thresholds); the header says which
columns are keys (and which request input each one reads), which are values (type and range), and what a key
without a row gets: the header's default row, or a refusal. The gate reads the data file from the same source
as the header (work tree or a git revision), checks every cell with its position in the file, and embeds the
rows in the resolved document (``table``: column name -> list of values), so compile, golden cases, replay,
diff and the published bundle all see the same rows and the app never opens a file.

Compile builds one dict from key tuple to value tuple, so a lookup is one hash probe after reading the key
inputs with the model's input policy (``validator.kinds.inputs.read``).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from validator.kinds.base import InputError, Kind, ModelError, check_mapping
from validator.kinds.contract import Contract
from validator.kinds.inputs import InputSpec, build_specs, read, shown
from validator.kinds.results import Lookup
from validator.kinds.table.guardrails import GUARDRAILS
from validator.kinds.table.layout import (
    INPUT_TYPE_OF,
    TABLE_KEY,
    Layout,
    ValueColumn,
    layout_of,
)
from validator.kinds.table.schema import KIND_NAME, SCHEMA

# The Python types each column type may hold once the gate embedded it (JSON: ints stay ints).
_KEY_TYPES: dict[str, frozenset[type]] = {
    "integer": frozenset({int}), "category": frozenset({str}), "boolean": frozenset({bool}),
}


def inputs_used(data: Mapping[str, Any]) -> dict[str, tuple]:
    """Each key's input, with the path of the key that reads it."""
    used: dict[str, tuple] = {}
    for i, key in enumerate(data.get("keys") or ()):
        used.setdefault(key["input"], ("keys", i, "input"))
    return used


def input_types(data: Mapping[str, Any]) -> dict[str, str]:
    """integer keys are read as numbers (a whole-number float finds its row), categories as words."""
    return {key["input"]: INPUT_TYPE_OF[key["type"]] for key in data.get("keys") or ()}


def outputs_emitted(data: Mapping[str, Any]) -> dict[str, dict[str, tuple]]:
    """A table returns values, not labels the app must accept: nothing for the contract's outputs."""
    return {}


def key_text(layout: Layout, key: Any) -> str:
    """A key as people read it: ``category_id=17, country='DE'``; a huge value cut short (it ends up in logs)."""
    parts = key if len(layout.keys) > 1 else (key,)
    return ", ".join(f"{k.input}={shown(v)}" for k, v in zip(layout.keys, parts, strict=False))


class TableModel:
    """A compiled table; immutable after the runtime sets ``version``, safe to share across threads."""

    __slots__ = ("_default", "_names", "_rows", "_single", "_specs", "kind", "layout", "name", "version")

    def __init__(self, name: str, layout: Layout, specs: tuple[InputSpec, ...], rows: dict[Any, tuple],
                 default: tuple | None) -> None:
        self.name = name
        self.kind = KIND_NAME
        self.version: str | None = None
        self.layout = layout
        self._specs = specs
        self._single = len(specs) == 1
        self._rows = rows  # key (the bare value for one key column, else a tuple) -> value tuple
        self._names = layout.value_columns
        self._default = default  # None: missing_key reject

    def key_of(self, inputs: Mapping[str, Any]) -> Any:
        """The lookup key of a request after the input policies (raises InputError as the policy says)."""
        name = self.name
        try:
            if self._single:
                return read(self._specs[0], name, inputs)
            return tuple([read(spec, name, inputs) for spec in self._specs])
        except AttributeError:
            check_mapping(name, inputs)
            raise

    def lookup(self, inputs: Mapping[str, Any]) -> Lookup:
        """The row of the request's key, or the default row (found false), or InputError (missing_key reject)."""
        key = self.key_of(inputs)
        row = self._rows.get(key)
        if row is not None:
            return Lookup(dict(zip(self._names, row, strict=False)), True, self.name, self.version)
        if self._default is None:
            spec = self._specs[0].name if self._single else None
            raise InputError(self.name, spec, f"key {key_text(self.layout, key)} has no row in the table "
                                              "(the model's missing_key action is reject)")
        return Lookup(dict(zip(self._names, self._default, strict=False)), False, self.name, self.version)

    def __contains__(self, key: Any) -> bool:
        return key in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return f"<TableModel {self.name!r} version={self.version!r} rows={len(self._rows)}>"


def _fits(column: ValueColumn, values: list[Any]) -> bool:
    """Whether every value fits the column, with whole-column builtins (a reload compiles 50,000 rows in
    milliseconds instead of one Python call per cell)."""
    if not values:
        return True
    types = set(map(type, values))
    if column.type == "boolean":
        return types == {bool}
    if column.type == "category":
        return types == {str} and (column.values is None or set(values) <= set(column.values))
    if not types <= {int, float}:
        return False
    if float in types and not all(map(math.isfinite, values)):
        return False
    if column.type == "integer" and float in types and not all(float(v).is_integer() for v in values):
        return False
    return (column.min is None or min(values) >= column.min) and (column.max is None or max(values) <= column.max)


def _check_values(column: ValueColumn, values: list[Any], model: str) -> None:
    if not _fits(column, values):
        accepts = column.accepts
        bad = next(i for i, v in enumerate(values) if not accepts(v))
        raise ModelError(f"model {model!r}: row {bad + 1} has {column.column} = {values[bad]!r}, which is not a "
                         f"{column.type} within the header's range")


def table_columns(data: Mapping[str, Any]) -> tuple[int, Mapping[str, list[Any]]]:
    """The embedded rows (count, column name -> values); ModelError when the document has none."""
    table = data.get(TABLE_KEY)
    if not isinstance(table, Mapping) or not isinstance(table.get("columns"), Mapping):
        raise ModelError(f"table model {data.get('name')!r} carries no rows: the gate embeds them from its data "
                         "file (validate the repository, or build the bundle, rather than compiling the header)")
    return int(table.get("rows", 0)), table["columns"]


def compile(data: Mapping[str, Any], contract: Contract | None) -> TableModel:
    """One dict from key to value tuple; refuse a document whose rows break its own header."""
    try:
        name = str(data["name"])
        layout = layout_of(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"table model is incomplete: {exc}") from None
    count, columns = table_columns(data)
    for column in layout.columns:
        values = columns.get(column)
        if not isinstance(values, list) or len(values) != count:
            raise ModelError(f"model {name!r}: embedded column {column!r} is missing or not {count} rows long")
    for key in layout.keys:
        if not set(map(type, columns[key.column])) <= _KEY_TYPES[key.type]:
            raise ModelError(f"model {name!r}: key column {key.column!r} holds a value that is not {key.type}")
    for value in layout.values:
        _check_values(value, columns[value.column], name)
    key_lists = [columns[c] for c in layout.key_columns]
    keys = key_lists[0] if len(key_lists) == 1 else zip(*key_lists, strict=True)
    rows = dict(zip(keys, zip(*(columns[c] for c in layout.value_columns), strict=True), strict=True))
    if len(rows) != count:
        raise ModelError(f"model {name!r}: {count - len(rows)} row(s) repeat a key; each key needs one row")
    default: tuple | None = None
    if layout.missing_key == "default":
        given = layout.default_row or {}
        missing = [c for c in layout.value_columns if c not in given]
        if missing or set(given) - set(layout.value_columns):
            raise ModelError(f"model {name!r}: the default row must give exactly the value columns "
                             f"{', '.join(layout.value_columns)}")
        for value in layout.values:
            if not value.accepts(given[value.column]):
                raise ModelError(f"model {name!r}: default {value.column} = {given[value.column]!r} is not a "
                                 f"{value.type} within the header's range")
        default = tuple(given[c] for c in layout.value_columns)
    specs = build_specs(data, input_types(data), contract)
    return TableModel(name, layout, tuple(specs[k.input] for k in layout.keys), rows, default)


def call(evaluator: Any, request: Any) -> Any:
    """One request: a mapping of input name to value (the key inputs)."""
    return evaluator.lookup(request)


KIND = Kind(
    name=KIND_NAME,
    package="validator.kinds.table",
    schema=SCHEMA,
    compile=compile,
    inputs_used=inputs_used,
    outputs_emitted=outputs_emitted,
    input_types=input_types,
    call=call,
    guardrails=GUARDRAILS,
    verb="lookup",
    summary="keyed values in a CSV/Parquet file beside a YAML header (per-category boosts, per-country thresholds)",
)

__all__ = ["KIND", "SCHEMA", "TableModel", "compile", "input_types", "inputs_used", "outputs_emitted"]
