"""Columns of inputs for the vectorized evaluators, and the input policy (``validator.kinds.inputs.read``)
applied to a whole column at once.

A replay sees thousands of rows per batch, so an input is a typed numpy array plus a missing mask instead of
one Python value per row. The policy semantics are exactly those of ``inputs.read`` (the request path):

- missing (null, NaN): the declared default when ``missing: default`` and a default exists, else refused;
- infinite: refused (never clamped, as ``read`` refuses it before looking at the range);
- outside the contract's range: clamped, replaced by the default, or refused (``out_of_range``);
- the default itself is not range-checked (``read`` returns it unchanged).

What a column cannot express is a value of the wrong type in one row (a word in a numeric column): a dataset
column has one type, and ``validator.data.datasets`` refuses a column whose type does not fit the model.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from validator.kinds.inputs import InputSpec

NUMBER, BOOLEAN, TEXT = "number", "boolean", "text"
# The model vocabulary (validator.kinds.inputs) -> the column type that holds it.
COLUMN_TYPE = {"number": NUMBER, "integer": NUMBER, "boolean": BOOLEAN, "category": TEXT, "string": TEXT}


@dataclass(frozen=True)
class Column:
    """One input over a batch of rows.

    ``values``: float64 for numbers (NaN where missing), bool for booleans (False where missing), int32 codes
    into ``levels`` for text (-1 where missing). Text is dictionary-encoded because every text operation the
    kinds need (level lookup, equality, membership, ordering) is then one lookup per distinct word.
    """

    type: str
    values: np.ndarray
    missing: np.ndarray
    levels: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def python(self, i: int) -> Any:
        """Row ``i`` as the request path would receive it (None when missing): for re-checking a row exactly."""
        if self.missing[i]:
            return None
        if self.type == NUMBER:
            return float(self.values[i])
        if self.type == BOOLEAN:
            return bool(self.values[i])
        return self.levels[int(self.values[i])]

    def take(self, index: np.ndarray) -> "Column":
        return Column(self.type, self.values[index], self.missing[index], self.levels)


def column_from_values(values: Sequence[Any], typ: str) -> Column:
    """A column from Python values (None or NaN missing); what tests and small callers use."""
    ctype = COLUMN_TYPE.get(typ, typ)
    n = len(values)
    if ctype == NUMBER:
        arr = np.empty(n, dtype=np.float64)
        for i, v in enumerate(values):
            arr[i] = math.nan if v is None else float(v)
        return Column(NUMBER, arr, np.isnan(arr))
    if ctype == BOOLEAN:
        missing = np.array([v is None for v in values], dtype=bool)
        return Column(BOOLEAN, np.array([bool(v) if v is not None else False for v in values], dtype=bool), missing)
    levels: dict[str, int] = {}
    codes = np.full(n, -1, dtype=np.int32)
    for i, v in enumerate(values):
        if v is not None:
            codes[i] = levels.setdefault(str(v), len(levels))
    return Column(TEXT, codes, codes < 0, tuple(levels))


def columns_from_rows(rows: Sequence[Mapping[str, Any]], types: Mapping[str, str]) -> dict[str, Column]:
    """Columns for the named inputs from request-like dicts (a key absent from a row is missing)."""
    return {name: column_from_values([row.get(name) for row in rows], typ) for name, typ in types.items()}


def row_of(columns: Mapping[str, Column], i: int, names: Iterable[str] | None = None) -> dict[str, Any]:
    """Row ``i`` as a request dict (missing inputs left out), for the scalar evaluator."""
    out: dict[str, Any] = {}
    for name in names if names is not None else columns:
        value = columns[name].python(i)
        if value is not None:
            out[name] = value
    return out


@dataclass(frozen=True)
class Read:
    """An input after its policy: the values the model computes with, and the rows the policy refuses."""

    values: np.ndarray
    rejected: np.ndarray
    levels: tuple[str, ...] = ()


def read_column(spec: InputSpec, column: Column) -> Read:
    """``inputs.read`` over a column: same defaults, same clamping, same refusals (as a row mask)."""
    missing = column.missing
    use_default = spec.missing == "default" and spec.default is not None
    rejected = np.zeros(len(column), dtype=bool) if use_default else missing.copy()
    if spec.type == "number":
        if column.type != NUMBER:
            raise TypeError(f"input {spec.name!r} is read as a number but the column holds {column.type}")
        x = column.values.copy()
        if use_default:
            x[missing] = float(spec.default)
        else:
            x[missing] = 0.0  # refused rows: any finite placeholder keeps later arithmetic quiet
        present = ~missing
        infinite = present & np.isinf(x)
        rejected |= infinite
        x[infinite] = 0.0
        lo, hi = spec.min, spec.max
        if lo is not None or hi is not None:
            low = present & (x < lo) if lo is not None else np.zeros_like(present)
            high = present & (x > hi) if hi is not None else np.zeros_like(present)
            low &= ~infinite
            high &= ~infinite
            if spec.out_of_range == "clamp":
                if lo is not None:
                    x[low] = lo
                if hi is not None:
                    x[high] = hi
            else:
                outside = low | high
                if spec.out_of_range == "default" and spec.default is not None:
                    x[outside] = float(spec.default)
                else:
                    rejected |= outside
                    x[outside] = 0.0
        return Read(x, rejected)
    if spec.type == "boolean":
        if column.type != BOOLEAN:
            raise TypeError(f"input {spec.name!r} is read as true/false but the column holds {column.type}")
        x = column.values.copy()
        if use_default:
            x[missing] = bool(spec.default)
        return Read(x, rejected)
    if column.type != TEXT:
        raise TypeError(f"input {spec.name!r} is read as a word but the column holds {column.type}")
    codes = column.values.astype(np.int32, copy=True)
    levels = column.levels
    if use_default and missing.any():
        default = str(spec.default)
        if default in levels:
            code = levels.index(default)
        else:
            code, levels = len(levels), (*levels, default)
        codes[missing] = code
    return Read(codes, rejected, levels)


def text_lookup(read: Read, table: Mapping[str, float], other: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Per row, ``table[word]`` (else ``other``); and the rows whose word is in neither (NaN there)."""
    fill = math.nan if other is None else other
    per_level = np.array([table.get(level, fill) for level in read.levels] + [math.nan], dtype=np.float64)
    # code -1 (refused rows) indexes the trailing NaN
    out = per_level[read.values]
    unknown = np.isnan(out) & ~read.rejected
    return out, unknown


def text_member(read: Read, words: Iterable[str]) -> np.ndarray:
    """Per row: the word is one of ``words`` (False for refused rows)."""
    wanted = set(words)
    per_level = np.array([level in wanted for level in read.levels] + [False], dtype=bool)
    return per_level[read.values]
