"""Read a table's data file (CSV or Parquet) with pyarrow and check every cell against the header, with
positions in the file.

The checks are column operations (null counts, numpy comparisons, dictionary codes for the keys), so a clean
million-row file costs little more than pyarrow's own read; only a file with findings pays for positions
(``lines.record_lines``) and, after a conversion error, for a second read as text to find the bad cells.

A finding's line is the line of the data file on which the row starts, its column the field's number in the
header (1-based): ``weights/category_boost.csv:1204:3`` is line 1204, third column. A Parquet file has no
lines: its findings give the row number (1-based) as the line.

Each check reports its first ``PER_CHECK`` rows and then one finding with the count of the rest, so a file
broken in every row gives a readable report instead of a million lines.
"""
from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from validator.gate.findings import Finding, Severity
from validator.gate.rules import did_you_mean
from validator.gate.yamlload import MAX_MAGNITUDE
from validator.kinds.contract import Contract
from validator.kinds.inputs import shown
from validator.kinds.table.layout import Layout
from validator.kinds.table.lines import (
    LineMapError,
    field_count_problems,
    line_of_offset,
    record_lines,
)

PER_CHECK = 10
# Bounds of what one table may be: a bundle carries every row to every app process.
MAX_BYTES = 256 * 1024 * 1024
MAX_ROWS = 2_000_000
ARROW_TYPES = {"integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_(), "category": pa.string()}
# Words are read dictionary-encoded: membership and key codes then cost one step per distinct word.
WORDS = pa.dictionary(pa.int32(), pa.string())
_CONVERSION = re.compile(r"In CSV column #(\d+): CSV conversion error to (\w+)")
_WHOLE = re.compile(r"[+-]?[0-9]+")
# The YAML loader's bound (yaml.number-too-large), for the same reasons: floats lose whole numbers beyond it,
# and the rules' and evaluators' arithmetic must not overflow. Past 64 bits pyarrow cannot even read the cell.
_TOO_LARGE = (f"beyond 2^53 ({MAX_MAGNITUDE:,}), the largest magnitude a weights file may hold: floats lose "
              "whole numbers above it")
_TOO_LARGE_HINT = ("write the number you mean; a long id (a hash, a 64-bit id) belongs in a category column, "
                   "as text")


@dataclass
class Checked:
    """What reading a data file gave: the typed rows (None when they cannot be trusted) and the findings."""

    table: pa.Table | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.table is not None and not self.findings


class _Report:
    """Findings of one file, with row positions computed once and only when a finding needs them."""

    def __init__(self, path: str, raw: bytes, fmt: str, header: list[str]) -> None:
        self.path = path
        self.raw = raw
        self.fmt = fmt
        self.header = header
        self.rows: int | None = None
        self.findings: list[Finding] = []
        self._lines: np.ndarray | None = None
        self._exact = True

    def col(self, column: str) -> int:
        return self.header.index(column) + 1 if column in self.header else 1

    def add(self, rule: str, line: int, col: int, message: str, hint: str = "") -> None:
        self.findings.append(Finding(self.path, line, col, Severity.ERROR, rule, message, hint))

    def line_of_rows(self, rows: np.ndarray) -> np.ndarray:
        """The line each data row (0-based) starts on: the row number itself (1-based) in a Parquet file."""
        if self.fmt != "csv":
            return rows + 1
        if self._lines is None:
            try:
                self._lines = record_lines(self.raw, None if self.rows is None else self.rows + 1)
            except LineMapError as exc:
                self._exact = False
                self.add("table.fields", 1, 1, f"row positions are approximate: {exc}",
                         "check the file's quoting: a quote that opens inside a field reads differently "
                         "in different tools")
                self._lines = np.arange(1, (self.rows or 0) + 2)
        return self._lines[rows + 1]

    def rows_at(self, rule: str, rows: np.ndarray, column: str, message: Callable[[int], str],
                hint: str = "") -> None:
        """One finding per row in ``rows`` (0-based data rows) up to PER_CHECK, then one with the count left."""
        if len(rows) == 0:
            return
        shown = rows[:PER_CHECK]
        lines = self.line_of_rows(shown)
        col = self.col(column)
        for row, line in zip(shown.tolist(), lines.tolist(), strict=False):
            self.add(rule, int(line), col, f"row {row + 1}: {message(row)}", hint)
        if len(rows) > PER_CHECK:
            self.add(rule, int(lines[0]), col, f"{len(rows) - PER_CHECK:,} more row(s) like row {int(shown[0]) + 1} "
                     f"in column {column!r} ({len(rows):,} in all)", hint)


def check_data(raw: bytes, path: str, fmt: str, layout: Layout, contract: Contract | None) -> Checked:
    """Read ``raw`` (the bytes of ``path``, ``fmt`` "csv" or "parquet") and check it against the header."""
    if len(raw) > MAX_BYTES:
        return Checked(None, [Finding(path, 1, 1, Severity.ERROR, "table.file",
                                      f"the data file has {len(raw):,} bytes, more than the {MAX_BYTES:,} a "
                                      "table may have",
                                      "split the table, or keep only the rows apps read")])
    if fmt == "parquet":
        return _parquet(raw, path, layout, contract)
    return _csv(raw, path, layout, contract)


# --- CSV ----------------------------------------------------------------------------------------------------

def _csv(raw: bytes, path: str, layout: Layout, contract: Contract | None) -> Checked:
    lone_cr = _lone_carriage_return(raw)
    if lone_cr is not None:
        line, col = line_of_offset(raw, lone_cr)
        return Checked(None, [Finding(path, line, col, Severity.ERROR, "table.line-endings",
                                      "a line ends with a lone carriage return (classic Mac line ends): line "
                                      "numbers would disagree with every editor",
                                      "save the file with LF (or CRLF) line ends")])
    header, header_line, problem = _header(raw)
    report = _Report(path, raw, "csv", header)
    if problem is not None:
        report.add(*problem)
        return Checked(None, report.findings)
    if not _header_matches(report, layout, header_line):
        return Checked(None, report.findings)
    try:
        table = _read_csv(raw, layout, as_text=False)
    except pa.ArrowInvalid as exc:
        _explain_csv_error(report, raw, layout, str(exc))
        return Checked(None, report.findings)
    report.rows = table.num_rows
    if table.num_rows > MAX_ROWS:
        report.add("table.file", 1, 1, f"the table has {table.num_rows:,} rows, more than the {MAX_ROWS:,} a table "
                   "may have", "split the table, or keep only the rows apps read")
        return Checked(None, report.findings)
    _check_cells(report, table, layout, contract)
    return Checked(table if not report.findings else None, report.findings)


def _lone_carriage_return(raw: bytes) -> int | None:
    if b"\r" not in raw:  # memchr: the usual LF file costs one fast scan
        return None
    if raw.count(b"\r") == raw.count(b"\r\n"):
        return None
    at = raw.find(b"\r")
    while at != -1 and raw[at + 1:at + 2] == b"\n":
        at = raw.find(b"\r", at + 1)
    return at


def _header(raw: bytes) -> tuple[list[str], int, tuple | None]:
    """The header's fields, its line, or the finding arguments when there is no usable header."""
    head = raw[:1 << 16]
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not merely a character cut at the 64 KiB boundary
            line, col = line_of_offset(raw, exc.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0))
            return [], 1, ("table.encoding", line, col, "the data file is not UTF-8 text",
                           "export it as UTF-8 (most tools call it 'CSV UTF-8')")
        text = head[:exc.start].decode("utf-8-sig")
    line = 1
    for record in csv.reader(io.StringIO(text, newline=""), strict=False):
        if record:
            return [name.strip() for name in record], line, None
        line += 1
    return [], 1, ("table.header", 1, 1, "the data file is empty: its first line must name the columns",
                   "write the header line: the key columns, then the value columns, comma-separated")


def _header_matches(report: _Report, layout: Layout, line: int) -> bool:
    header = report.header
    declared = layout.columns
    ok = True
    seen: set[str] = set()
    for i, name in enumerate(header):
        if name in seen:
            report.add("table.header", line, i + 1, f"column {name!r} appears twice in the header",
                       "remove or rename one of them")
            ok = False
        seen.add(name)
        if name not in declared:
            report.add("table.header", line, i + 1, f"column {name!r} is not declared in the header's keys or values",
                       did_you_mean(name, [c for c in declared if c not in header]) or
                       "declare it under values: (with its type and range) or remove the column")
            ok = False
    for name in declared:
        if name not in seen:
            report.add("table.header", line, 1, f"the data file has no column {name!r}, which the header declares",
                       did_you_mean(name, [c for c in header if c not in declared]) or
                       f"add the column {name} to the file's first line")
            ok = False
    return ok


def _read_csv(raw: bytes, layout: Layout, as_text: bool) -> pa.Table:
    types = {c: pa.string() if as_text else WORDS if layout.type_of(c) == "category" else ARROW_TYPES[layout.type_of(c)]
             for c in layout.columns}
    table = pacsv.read_csv(
        io.BytesIO(raw),
        parse_options=pacsv.ParseOptions(newlines_in_values=b'"' in raw),
        convert_options=pacsv.ConvertOptions(
            column_types=types, null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True,
            true_values=["true", "True", "TRUE"], false_values=["false", "False", "FALSE"],
        ),
    )
    return table if as_text else _combined(table)


def _combined(table: pa.Table) -> pa.Table:
    """One chunk per column, dictionaries unified: row indices and dictionary codes then mean one thing."""
    return table.unify_dictionaries().combine_chunks()


def _explain_csv_error(report: _Report, raw: bytes, layout: Layout, message: str) -> None:
    """Turn pyarrow's error (no line numbers) into positioned findings by looking again, slowly."""
    if "UTF8" in message or "UTF-8" in message:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line, col = line_of_offset(raw, exc.start)
            report.add("table.encoding", line, col, "the data file is not UTF-8 text",
                       "export it as UTF-8 (most tools call it 'CSV UTF-8')")
            return
    if "CSV parse error" in message:
        problems, total = field_count_problems(raw, len(report.header), PER_CHECK)
        for line, count in problems:
            report.add("table.fields", line, 1, f"the line has {count} fields, the header {len(report.header)}",
                       "a comma inside a value needs the value in double quotes; otherwise remove the extra field")
        if total > len(problems):
            report.add("table.fields", problems[0][0], 1, f"{total - len(problems):,} more line(s) with the wrong "
                       f"number of fields ({total:,} in all)")
        if problems:
            return
    if _CONVERSION.search(message):
        text = _read_csv(raw, layout, as_text=True)
        report.rows = text.num_rows
        found = False
        for column in layout.columns:
            typ = layout.type_of(column)
            if typ == "category":
                continue
            cells = text.column(column).to_pylist()
            parses = _PARSERS[typ]
            bad = np.array([i for i, cell in enumerate(cells) if cell is not None and not parses(cell)],
                           dtype=np.int64)
            huge = np.array([i for i, cell in enumerate(cells) if cell is not None and _beyond_text(cell)],
                            dtype=np.int64) if typ == "integer" else bad[:0]
            if len(bad) or len(huge):
                found = True
                report.rows_at("table.type", bad, column,
                               _listed(f"{{}} is not {_A[typ]} {typ}", cells),
                               _TYPE_HINT[typ])
                report.rows_at("table.type", huge, column, _listed(f"{column} is {{}}, {_TOO_LARGE}", cells),
                               _TOO_LARGE_HINT)
        if found:
            return
    report.add("table.type" if _CONVERSION.search(message) else "table.fields", 1, 1,
               f"the data file cannot be read: {message.splitlines()[0]}", "check the file's format: UTF-8 CSV, "
               "one header line, comma-separated")


def _listed(template: str, cells: list[Any]) -> Callable[[int], str]:
    """A message quoting the cell of row ``row`` ({} in ``template``), cut to a readable length."""
    return lambda row: template.format(shown(cells[row]))


def _is_int(cell: str) -> bool:
    return _WHOLE.fullmatch(cell.strip()) is not None


def _beyond_text(cell: str) -> bool:
    """Whether a whole-number cell lies beyond +-MAX_MAGNITUDE; never int() on it: past 4,300 digits it raises."""
    text = cell.strip()
    if _WHOLE.fullmatch(text) is None:
        return False
    digits = text.lstrip("+-").lstrip("0")
    return len(digits) > len(str(MAX_MAGNITUDE)) or int(digits or "0") > MAX_MAGNITUDE


def _is_float(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _is_bool(cell: str) -> bool:
    return cell.strip().lower() in ("true", "false")


_PARSERS: dict[str, Callable[[str], bool]] = {"integer": _is_int, "number": _is_float, "boolean": _is_bool}
_A = {"integer": "an", "number": "a", "boolean": "a"}
_TYPE_HINT = {
    "integer": "write a whole number (no decimals, no thousands separator)",
    "number": "write a number with a decimal point (1.25), no unit or thousands separator",
    "boolean": "write true or false",
}


# --- Parquet ------------------------------------------------------------------------------------------------

def _parquet(raw: bytes, path: str, layout: Layout, contract: Contract | None) -> Checked:
    try:
        table = pq.read_table(io.BytesIO(raw))
    except (pa.ArrowException, OSError) as exc:
        return Checked(None, [Finding(path, 1, 1, Severity.ERROR, "table.file",
                                      f"the data file is not readable Parquet: {exc}",
                                      "write it with a Parquet writer (pyarrow, pandas, Spark, DuckDB)")])
    report = _Report(path, raw, "parquet", list(table.column_names))
    if not _header_matches(report, layout, 1):
        return Checked(None, report.findings)
    report.rows = table.num_rows
    if table.num_rows > MAX_ROWS:
        report.add("table.file", 1, 1, f"the table has {table.num_rows:,} rows, more than the {MAX_ROWS:,} a table "
                   "may have", "split the table, or keep only the rows apps read")
        return Checked(None, report.findings)
    columns = {}
    for column in layout.columns:
        typ = layout.type_of(column)
        arrow = table.column(column).type
        if pa.types.is_dictionary(arrow):
            arrow = arrow.value_type
        fits = {
            "integer": pa.types.is_integer(arrow),
            "number": pa.types.is_integer(arrow) or pa.types.is_floating(arrow),
            "boolean": pa.types.is_boolean(arrow),
            "category": pa.types.is_string(arrow) or pa.types.is_large_string(arrow),
        }[typ]
        if not fits:
            report.add("table.type", 1, report.col(column), f"column {column!r} is {arrow} in the Parquet file; "
                       f"the header declares {typ}", _TYPE_HINT.get(typ, "write the column as strings"))
            continue
        target = WORDS if typ == "category" else ARROW_TYPES[typ]
        columns[column] = pc.cast(table.column(column), target)
    if report.findings:
        return Checked(None, report.findings)
    typed = _combined(pa.table(columns))
    _check_cells(report, typed, layout, contract)
    return Checked(typed if not report.findings else None, report.findings)


# --- cells --------------------------------------------------------------------------------------------------

def _numpy(column: pa.ChunkedArray) -> np.ndarray:
    return column.combine_chunks().to_numpy(zero_copy_only=False)


def _check_cells(report: _Report, table: pa.Table, layout: Layout, contract: Contract | None) -> None:
    """Empty cells, NaN/inf, ranges and allowed words, keys the contract cannot send, repeated keys."""
    empty_keys = False
    for column in layout.columns:
        values = table.column(column)
        if values.null_count:
            rows = np.flatnonzero(_numpy(values.is_null()))
            is_key = column in layout.key_columns
            empty_keys |= is_key
            report.rows_at("table.empty-cell", rows, column, _says(f"column {column!r} is empty"),
                           "every key needs a value" if is_key else
                           "write the value (the header's default row applies only to keys without a row)")
    huge: dict[str, np.ndarray] = {}
    for column in layout.columns:
        if layout.type_of(column) in ("number", "integer"):
            values = table.column(column)
            huge[column] = _beyond(values)
            report.rows_at("table.type", huge[column], column, _word(f"{column} is {{}}, {_TOO_LARGE}", values),
                           _TOO_LARGE_HINT)
    for value in layout.values:
        column = table.column(value.column)
        if value.type in ("number", "integer"):
            # Empty cells are NaN here, and cells beyond 2^53: each reported once, never also out of range.
            x = _blanked(_floats(column), huge[value.column])
            if value.type == "number":
                bad = np.flatnonzero(~np.isfinite(x) & ~_numpy(column.is_null()))
                report.rows_at("table.not-finite", bad, value.column,
                               _cell(f"{value.column} is {{}}, not a finite number", x),
                               "write a number; NaN and inf poison every score they touch")
                if len(bad):
                    x = np.where(np.isinf(x), np.nan, x)
            _range(report, x, value.column, value.min, value.max, "table.range", "the header's {which} {bound}",
                   f"values of {value.column} lie in [{_num(value.min) if value.min is not None else '-inf'}, "
                   f"{_num(value.max) if value.max is not None else 'inf'}]: fix the row, or widen the header's "
                   "range if the new value is intended")
        elif value.type == "category" and value.values is not None:
            words = column
            report.rows_at("table.range", _outside(column, value.values), value.column,
                           _word(f"{value.column} is {{}}, not one of the header's values", words),
                           f"allowed: {', '.join(value.values)}")
    for key in layout.keys:
        decl = contract.inputs.get(key.input) if contract is not None else None
        if decl is None:
            continue
        column = table.column(key.column)
        where = f"contract {contract.name!r}" if contract is not None else "the contract"
        if key.type == "integer" and decl.type in ("number", "integer"):
            x = _blanked(_floats(column), huge[key.column])
            _range(report, x, key.column, decl.min, decl.max, "table.key-sendable",
                   f"the {{which}} {{bound}} {where} declares for input {key.input!r}: no request asks for this row",
                   "remove the row, or ask the app's owners to widen the contract's range")
        elif key.type == "category" and decl.values is not None:
            report.rows_at("table.key-sendable", _outside(column, decl.values), key.column,
                           _word(f"{key.column} is {{}}, which the app never sends for input {key.input!r}", column),
                           f"{where} lists: {', '.join(decl.values)}; remove the row or ask the app's owners to "
                           "add the value")
    if not empty_keys:
        _duplicates(report, table, layout)


def _outside(column: pa.ChunkedArray, allowed: tuple[str, ...]) -> np.ndarray:
    """Rows of a word column whose word is not in ``allowed`` (empty cells excluded), via its dictionary."""
    array = column.combine_chunks()
    if len(array) == 0:
        return np.zeros(0, dtype=np.int64)
    words = array.dictionary.to_pylist()
    wanted = set(allowed)
    level_ok = np.array([w in wanted for w in words] + [True], dtype=bool)
    codes = array.indices.fill_null(len(words)).to_numpy(zero_copy_only=False)
    return np.flatnonzero(~level_ok[codes])


def _beyond(column: pa.ChunkedArray) -> np.ndarray:
    """Rows whose number lies beyond +-MAX_MAGNITUDE (a finite one: inf is reported as not finite)."""
    array = column.combine_chunks()
    out = pc.or_(pc.greater(array, MAX_MAGNITUDE), pc.less(array, -MAX_MAGNITUDE))
    if pa.types.is_floating(array.type):
        out = pc.and_(out, pc.is_finite(array))
    return np.flatnonzero(out.fill_null(False).to_numpy(zero_copy_only=False))


def _blanked(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``x`` with ``rows`` set to NaN (a copy: ``x`` may be pyarrow's read-only buffer)."""
    if len(rows) == 0:
        return x
    x = x.astype(np.float64, copy=True)
    x[rows] = np.nan
    return x


def _floats(column: pa.ChunkedArray) -> np.ndarray:
    """A numeric column as float64, NaN where empty."""
    return column.combine_chunks().to_numpy(zero_copy_only=False).astype(np.float64, copy=False)


def _num(x: float) -> str:
    return "NaN" if math.isnan(x) else ("inf" if x > 0 else "-inf") if math.isinf(x) else f"{x:g}"


def _says(text: str) -> Callable[[int], str]:
    return lambda row: text


def _cell(template: str, x: np.ndarray) -> Callable[[int], str]:
    """A message naming the number in row ``row`` of ``x`` ({} in ``template``)."""
    return lambda row: template.format(_num(float(x[row])))


def _word(template: str, column: pa.ChunkedArray) -> Callable[[int], str]:
    """A message naming the word in row ``row`` of ``column`` ({} in ``template``)."""
    return lambda row: template.format(shown(column[row].as_py()))


def _range(report: _Report, x: np.ndarray, column: str, lo: float | None, hi: float | None, rule: str,
           bound: str, hint: str) -> None:
    """Rows of ``x`` below ``lo`` or above ``hi``; ``bound`` says whose bound it is ({which} min/max, {bound})."""
    for which, limit, rows in (("min", lo, None if lo is None else np.flatnonzero(x < lo)),
                               ("max", hi, None if hi is None else np.flatnonzero(x > hi))):
        if limit is None or rows is None:
            continue
        side = "below" if which == "min" else "above"
        text = f"{column} is {{}}, {side} " + bound.format(which=which, bound=_num(limit))
        report.rows_at(rule, rows, column, _cell(text, x), hint)


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, int]:
    """Per row a small non-negative int equal for equal values, and how many such ints there can be."""
    array = column.combine_chunks()
    n = len(array)
    if pa.types.is_dictionary(array.type):
        return array.indices.to_numpy(zero_copy_only=False).astype(np.int64), max(len(array.dictionary), 1)
    if pa.types.is_boolean(array.type):
        return array.to_numpy(zero_copy_only=False).astype(np.int64), 2
    if pa.types.is_integer(array.type) and n:
        x = array.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        lo, hi = int(x.min()), int(x.max())
        if hi - lo < 8 * n + 1024:  # dense ids: the value itself is the code
            return x - lo, hi - lo + 1
    encoded = pc.dictionary_encode(array)
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), max(len(encoded.dictionary), 1)


def key_codes(table: pa.Table, columns: tuple[str, ...]) -> np.ndarray:
    """One int64 per row, equal for two rows exactly when their keys are equal (nulls must be absent)."""
    codes: np.ndarray | None = None
    size = 1
    for column in columns:
        index, width = _codes(table.column(column))
        if codes is None:
            codes, size = index, width
            continue
        if size * width >= 1 << 62:  # re-number densely before the product could overflow
            _, codes = np.unique(codes, return_inverse=True)
            size = int(codes.max()) + 1 if len(codes) else 1
        codes = codes * width + index
        size *= width
    return codes if codes is not None else np.zeros(table.num_rows, dtype=np.int64)


def _duplicates(report: _Report, table: pa.Table, layout: Layout) -> None:
    codes = key_codes(table, layout.key_columns)
    n = len(codes)
    if n == 0:
        return
    top = int(codes.max())
    if top < 8 * n + 1024:
        counts = np.bincount(codes)
        if counts.max() <= 1:
            return
        repeated = counts[codes] > 1
    else:
        unique = pc.unique(pa.array(codes))
        if len(unique) == n:
            return
        _, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
        repeated = counts[inverse] > 1
    rows = np.flatnonzero(repeated)
    order = rows[np.argsort(codes[rows], kind="stable")]
    first_of: dict[int, int] = {}
    later = []
    for row in order.tolist():
        code = int(codes[row])
        if code in first_of:
            later.append(row)
        else:
            first_of[code] = row
    later_rows = np.sort(np.asarray(later, dtype=np.int64))
    firsts = {row: first_of[int(codes[row])] for row in later_rows[:PER_CHECK].tolist()}
    lines = report.line_of_rows(np.asarray(list(firsts.values()), dtype=np.int64)).tolist()
    first_lines = dict(zip(firsts, lines, strict=True))
    key_cols = layout.key_columns

    def message(row: int) -> str:
        key = ", ".join(f"{c}={table.column(c)[row].as_py()!r}" for c in key_cols)
        where = "line" if report.fmt == "csv" else "row"
        return f"key {key} repeats the row on {where} {first_lines.get(row, '?')}"

    report.rows_at("table.duplicate-key", later_rows, key_cols[0], message,
                   "keep one row per key (which value is right is the team's call)")
