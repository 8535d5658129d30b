"""The gate's door to a table's rows: read the data file beside the header from the same source, check it, and
embed the rows in the resolved document.

``validate`` calls ``resolve`` for every kind that has this room, after the header passed its schema and rules.
Reading through the ``Source`` (work tree or a git revision) means golden cases, replay, diff, check and
publish all see the rows of the very revision they look at; embedding them (``table``: the file, its sha256,
the row count and each column as a list, in file order) means everything downstream, the bundle included,
works on one document and the app never opens a file.
"""
from __future__ import annotations

import hashlib
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from validator.gate.findings import Finding, Severity
from validator.gate.sources import Source
from validator.gate.yamlload import Document
from validator.kinds.contract import Contract
from validator.kinds.table.datafile import check_data
from validator.kinds.table.layout import FORMATS, TABLE_KEY, data_file, layout_of


def _finding(document: Document, path: tuple, message: str, hint: str) -> Finding:
    span = document.span(path)
    return Finding(document.path, span.line, span.col, Severity.ERROR, "table.file", message, hint,
                   span.end_line, span.end_col)


def locate(source: Source, document: Document) -> tuple[str | None, bytes | None, list[Finding]]:
    """The data file of a header and its bytes, or a finding on the header saying why there is none."""
    data = document.data
    candidates = data_file(data, document.path)
    found = [(path, raw) for path in candidates for raw in (source.read(path),) if raw is not None]
    where = ("file",) if "file" in data else ("name",)
    if not found:
        names = " or ".join(PurePosixPath(p).name for p in candidates)
        return None, None, [_finding(document, where, f"the table's data file {names} does not exist beside "
                                     f"{PurePosixPath(document.path).name}",
                                     "add the CSV (or Parquet) file with the rows, or fix file:")]
    if len(found) > 1:
        names = " and ".join(PurePosixPath(p).name for p, _ in found)
        return None, None, [_finding(document, where, f"both {names} exist: which one holds the rows is ambiguous",
                                     "remove one, or name it with file: <name>.csv")]
    path, raw = found[0]
    return path, raw, []


def resolve(source: Source, document: Document,
            contract: Contract | None) -> tuple[dict[str, Any] | None, list[Finding]]:
    """The header with its rows embedded, or None and the findings (in the data file, or on the header)."""
    if TABLE_KEY in document.data:
        return None, [_finding(document, (TABLE_KEY,), f"{TABLE_KEY}: is filled by the gate from the data file "
                               "and is never written in the header", f"remove {TABLE_KEY}: and put the rows in the "
                               "CSV or Parquet file beside this header")]
    path, raw, findings = locate(source, document)
    if path is None or raw is None:
        return None, findings
    data = document.data
    layout = layout_of(data)
    fmt = FORMATS[PurePosixPath(path).suffix.lower()]
    checked = check_data(raw, path, fmt, layout, contract)
    if not checked.ok or checked.table is None:
        return None, checked.findings
    table = checked.table
    embedded = {
        "file": path,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "rows": table.num_rows,
        "columns": {column: _as_list(table.column(column)) for column in layout.columns},
    }
    return {**data, TABLE_KEY: embedded}, []


def _as_list(column: Any) -> list[Any]:
    """A checked column (no empty cells) as Python values, through numpy: pyarrow's ``to_pylist`` builds a scalar
    object per cell and is ten times slower on a million rows."""
    array = column.combine_chunks()
    if hasattr(array, "dictionary"):  # words: decode each distinct word once
        words = np.asarray(array.dictionary.to_pylist() + [None], dtype=object)
        return list(words[array.indices.to_numpy(zero_copy_only=False)].tolist())
    return list(array.to_numpy(zero_copy_only=False).tolist())


__all__ = ["locate", "resolve"]
