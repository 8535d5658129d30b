"""The table's vectorized twin: the lookup of a whole batch of requests as a join on dense key codes.

Each key column is turned into small integer codes shared by the table and the requests (integers through the
table's sorted distinct ids, words through the table's distinct words, booleans as 0/1), the codes of several
key columns are combined and re-numbered densely after each step (so many keys never overflow), and one array
maps a combined code to its row. A request's key then finds its row with a few numpy operations per column,
however many rows the table has. The inputs go through ``read_column``, the column form of the very policy the
scalar ``lookup`` applies, and the rows are those the scalar ``compile`` accepted: the property tests hold the
twin to the scalar evaluator exactly (found flags, refusals, values).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from validator.kinds.columns import Column, read_column
from validator.kinds.contract import Contract
from validator.kinds.table import evaluator as scalar_kind
from validator.kinds.table.layout import Layout

# Values agree exactly: a lookup copies numbers, it computes nothing. Tests state this tolerance.
TOLERANCE = 0.0


@dataclass(frozen=True)
class LookupBatch:
    """Per request row: the table row it found (-1: none), whether it was refused, and each value column.

    ``values``: float64 for number and integer columns, bool for booleans, object (str) for categories; a refused
    row holds NaN / False / None.
    """

    rows: np.ndarray       # int64 table row, -1 where no row (default or refused)
    found: np.ndarray      # bool
    rejected: np.ndarray   # bool: the scalar lookup raises InputError for this request
    values: Mapping[str, np.ndarray]


def _empty(typ: str, n: int) -> np.ndarray:
    if typ in ("number", "integer"):
        return np.full(n, np.nan)
    if typ == "boolean":
        return np.zeros(n, dtype=bool)
    return np.full(n, None, dtype=object)


def _array(typ: str, values: list[Any]) -> np.ndarray:
    if typ in ("number", "integer"):
        return np.asarray(values, dtype=np.float64)
    if typ == "boolean":
        return np.asarray(values, dtype=bool)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


class VectorTable:
    kind = "table"

    def __init__(self, data: Mapping[str, Any], contract: Contract | None) -> None:
        self.scalar = scalar_kind.compile(data, contract)
        self.name = self.scalar.name
        self.layout: Layout = self.scalar.layout
        self.specs = self.scalar._specs
        self.input_types = {spec.name: spec.type for spec in self.specs}
        count, columns = scalar_kind.table_columns(data)
        self.count = count
        self.columns = {v.column: _array(v.type, columns[v.column]) for v in self.layout.values}
        self._key_tables: list[tuple[str, Any, np.ndarray]] = []  # per key: (type, lookup structure, table codes)
        for key in self.layout.keys:
            raw = columns[key.column]
            if key.type == "integer":
                ids = np.asarray(raw, dtype=np.int64)
                distinct = np.unique(ids)
                self._key_tables.append(("integer", distinct, np.searchsorted(distinct, ids)))
            elif key.type == "boolean":
                self._key_tables.append(("boolean", 2, np.asarray(raw, dtype=np.int64)))
            else:
                words: dict[str, int] = {}
                codes = np.fromiter((words.setdefault(w, len(words)) for w in raw), dtype=np.int64, count=count)
                self._key_tables.append(("category", words, codes))
        self._row_of, self._steps = self._combine()
        default = self.scalar._default
        self.default = dict(zip(self.layout.value_columns, default, strict=False)) if default is not None else None

    def _combine(self) -> tuple[np.ndarray, list[np.ndarray]]:
        """The table's combined codes, re-numbered after each key column; the distinct codes of each step."""
        steps: list[np.ndarray] = []
        codes = np.zeros(self.count, dtype=np.int64)
        for _typ, structure, table_codes in self._key_tables:
            width = self._width(structure)
            combined = codes * width + table_codes
            distinct = np.unique(combined)
            steps.append(distinct)
            codes = np.searchsorted(distinct, combined)
        row_of = np.full(len(steps[-1]) if steps else 0, -1, dtype=np.int64)
        row_of[codes] = np.arange(self.count)
        return row_of, steps

    @staticmethod
    def _width(structure: Any) -> int:
        if isinstance(structure, np.ndarray):
            return max(len(structure), 1)
        if isinstance(structure, dict):
            return max(len(structure), 1)
        return int(structure)

    def _request_codes(self, typ: str, structure: Any, values: np.ndarray, levels: tuple[str, ...]) -> np.ndarray:
        """Per request the key column's code in the table's code space, -1 where the table has no such value."""
        if typ == "integer":
            x = values.astype(np.float64, copy=False)
            if len(structure) == 0:
                return np.full(len(x), -1, dtype=np.int64)
            with np.errstate(invalid="ignore"):
                pos = np.clip(np.searchsorted(structure.astype(np.float64), x), 0, len(structure) - 1)
                hit = structure[pos].astype(np.float64) == x
            return np.where(hit, pos, -1)
        if typ == "boolean":
            return values.astype(np.int64)
        per_level = np.array([structure.get(level, -1) for level in levels] + [-1], dtype=np.int64)
        return per_level[values]

    def lookup(self, columns: Mapping[str, Column]) -> LookupBatch:
        n = len(next(iter(columns.values()))) if columns else 0
        rejected = np.zeros(n, dtype=bool)
        codes = np.zeros(n, dtype=np.int64)
        for spec, (typ, structure, _), distinct in zip(self.specs, self._key_tables, self._steps, strict=False):
            read = read_column(spec, columns[spec.name])
            rejected |= read.rejected
            own = self._request_codes(typ, structure, read.values, read.levels)
            combined = codes * self._width(structure) + own
            pos = np.clip(np.searchsorted(distinct, combined), 0, max(len(distinct) - 1, 0))
            hit = (codes >= 0) & (own >= 0) & (distinct[pos] == combined if len(distinct) else False)
            codes = np.where(hit, pos, -1)
        rows = np.where(codes >= 0, self._row_of[np.maximum(codes, 0)] if len(self._row_of) else -1, -1)
        rows = np.where(rejected, -1, rows)
        found = rows >= 0
        if self.default is None:
            rejected = rejected | ~found
        values: dict[str, np.ndarray] = {}
        for column in self.layout.values:
            table = self.columns[column.column]
            out = _empty(column.type, n)
            out[found] = table[rows[found]]
            if self.default is not None:
                fill = ~found & ~rejected
                out[fill] = self.default[column.column]
            values[column.column] = out
        return LookupBatch(rows, found, rejected, values)


def compile_vectorized(data: Mapping[str, Any], contract: Contract | None) -> VectorTable:
    return VectorTable(data, contract)
