"""Where each record of a CSV file starts: the line numbers pyarrow does not give.

pyarrow reads a CSV fast but numbers rows, not lines: blank lines are skipped and a quoted field may hold line
breaks, so "row 1203" is not "line 1204" in general. The map is only built when a finding needs a position
(a clean file never pays for it), in one of two ways:

- no double quote anywhere in the file (the usual export of ids, codes and numbers): every line break ends a
  record, so the record starts are the line breaks themselves, found with numpy in one pass;
- quotes present: Python's ``csv`` module walks the records with the same quoting rules as pyarrow (a quote
  opens a quoted field only at the start of a field, ``""`` inside is one quote) and counts the physical
  lines each record spans.

Either way blank records are dropped, as pyarrow drops them, and the result is checked against pyarrow's row
count; a mismatch (some quoting the two parsers read differently) is reported, never papered over.
Lone carriage returns (classic Mac line ends) are refused before this runs, so a line is what an editor shows.
"""
from __future__ import annotations

import csv
import io

import numpy as np


class LineMapError(ValueError):
    """The records found here do not match the rows pyarrow read: positions would be wrong."""


def record_lines(raw: bytes, expected_records: int | None = None) -> np.ndarray:
    """The 1-based line on which each non-blank record starts (the header is record 0)."""
    if b'"' not in raw:
        lines = _unquoted(raw)
    else:
        lines = _quoted(raw)
    if expected_records is not None and len(lines) != expected_records:
        raise LineMapError(f"found {len(lines)} records where the reader found {expected_records}")
    return lines


def _unquoted(raw: bytes) -> np.ndarray:
    data = np.frombuffer(raw, dtype=np.uint8)
    breaks = np.flatnonzero(data == 10)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(data)]))
    lengths = ends - starts
    blank = lengths == 0
    one = np.flatnonzero(lengths == 1)
    blank[one] = data[starts[one]] == 13  # a lone "\r" before "\n": a blank CRLF line
    if len(data) >= 3 and raw[:3] == b"\xef\xbb\xbf" and lengths[0] == 3:
        blank[0] = True  # a byte order mark alone on the first line
    return np.flatnonzero(~blank) + 1


def _quoted(raw: bytes) -> np.ndarray:
    text = raw.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    starts: list[int] = []
    before = 0
    for record in reader:
        if record:
            starts.append(before + 1)
        before = reader.line_num
    return np.asarray(starts, dtype=np.int64)


def field_count_problems(raw: bytes, expected: int, limit: int) -> tuple[list[tuple[int, int]], int]:
    """Records whose number of fields differs from ``expected``: up to ``limit`` (line, fields), and the total."""
    text = raw.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    found: list[tuple[int, int]] = []
    total = 0
    before = 0
    for record in reader:
        if record and len(record) != expected:
            total += 1
            if len(found) < limit:
                found.append((before + 1, len(record)))
        before = reader.line_num
    return found, total


def line_of_offset(raw: bytes, offset: int) -> tuple[int, int]:
    """The 1-based (line, column) of a byte offset, columns counted in characters."""
    line_start = raw.rfind(b"\n", 0, offset) + 1
    column = len(raw[line_start:offset].decode("utf-8", errors="replace")) + 1
    return raw.count(b"\n", 0, offset) + 1, column
