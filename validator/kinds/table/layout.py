"""The declared shape of a table model: which columns are keys (and which request input each one reads), which
are values (with their type and range), and what happens to a key the table has no row for.

One immutable value read from the header document, shared by the evaluator (request path), the data-file
checks, the numpy twin and the rules, so the five of them cannot disagree about what a column means. Plain
Python only: the runtime imports it.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Types a key column may have: exact values an app sends. Floats are no keys (0.1 + 0.2 != 0.3).
KEY_TYPES = ("integer", "category", "boolean")
# Types a value column may have.
VALUE_TYPES = ("number", "integer", "boolean", "category")
# How the request path reads a key input (validator.kinds.inputs vocabulary).
INPUT_TYPE_OF = {"integer": "number", "category": "category", "boolean": "boolean"}
MISSING_KEY_ACTIONS = ("default", "reject")
# Data file formats by suffix.
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
# The key under which the gate embeds the rows into the resolved document (never written by analysts: the
# header's schema refuses it).
TABLE_KEY = "table"


@dataclass(frozen=True)
class KeyColumn:
    column: str
    input: str
    type: str  # one of KEY_TYPES


@dataclass(frozen=True)
class ValueColumn:
    column: str
    type: str  # one of VALUE_TYPES
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] | None = None  # allowed words of a category column

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is of this column's type and within its range or allowed words (None: no)."""
        if self.type == "boolean":
            return type(value) is bool
        if self.type == "category":
            return isinstance(value, str) and (self.values is None or value in self.values)
        if type(value) is bool or not isinstance(value, (int, float)):
            return False
        if self.type == "integer" and not (isinstance(value, int) or float(value).is_integer()):
            return False
        if not math.isfinite(value):
            return False
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


@dataclass(frozen=True)
class Layout:
    keys: tuple[KeyColumn, ...]
    values: tuple[ValueColumn, ...]
    missing_key: str  # "default" | "reject"
    default_row: Mapping[str, Any] | None

    @property
    def columns(self) -> tuple[str, ...]:
        """Every declared column, keys first, in the header's order."""
        return tuple(k.column for k in self.keys) + tuple(v.column for v in self.values)

    @property
    def key_columns(self) -> tuple[str, ...]:
        return tuple(k.column for k in self.keys)

    @property
    def value_columns(self) -> tuple[str, ...]:
        return tuple(v.column for v in self.values)

    def type_of(self, column: str) -> str:
        for key in self.keys:
            if key.column == column:
                return key.type
        for value in self.values:
            if value.column == column:
                return value.type
        raise KeyError(column)


def layout_of(data: Mapping[str, Any]) -> Layout:
    """The layout of a schema-valid header (KeyError/TypeError on a document the schema would refuse)."""
    keys = tuple(
        KeyColumn(column=str(k.get("column", k["input"])), input=str(k["input"]), type=str(k["type"]))
        for k in data["keys"]
    )
    values = tuple(
        ValueColumn(
            column=str(v["column"]),
            type=str(v["type"]),
            min=_bound(v.get("min")),
            max=_bound(v.get("max")),
            values=tuple(v["values"]) if v.get("values") is not None else None,
        )
        for v in data["values"]
    )
    missing = data.get("missing_key") or {}
    action = str(missing.get("action", "reject"))
    default = missing.get("default") if action == "default" else None
    return Layout(keys, values, action, dict(default) if isinstance(default, Mapping) else None)


def data_file(data: Mapping[str, Any], model_path: str) -> list[str]:
    """The data file(s) a header may mean, relative to the repository root: its ``file:`` beside it, else
    ``<file name>.csv`` and ``<file name>.parquet`` (the resolver takes whichever exists)."""
    folder, _, name = model_path.rpartition("/")
    prefix = f"{folder}/" if folder else ""
    if data.get("file"):
        return [prefix + str(data["file"])]
    stem = name.rsplit(".", 1)[0]
    return [f"{prefix}{stem}.csv", f"{prefix}{stem}.parquet"]


def _bound(value: Any) -> float | None:
    return None if value is None else float(value)
