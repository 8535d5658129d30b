"""Replay datasets: Parquet or CSV files, or a DuckDB query over such files, read as Arrow record batches, so
memory stays bounded by the batch size (not the file size), and turned into the typed columns the vectorized
evaluators take.

Only the columns a model reads (plus the outcome/label/group columns) are read: Parquet reads just those
column chunks, CSV parses only those columns with the types the model expects. A column whose type cannot
hold what the model reads (text where a number is expected) is refused with the file and column named,
before any row is replayed.

A query (``replay.dataset: {sql: ...}``, a ``Query`` here) runs in the sandbox of ``validator.data.sql`` (files
of the repository only, one SELECT); only the wanted columns of its result are fetched, and they meet the same
checks and conversions as a file's columns, with the query named in the messages.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from validator.kinds.columns import BOOLEAN, COLUMN_TYPE, NUMBER, TEXT, Column

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
DEFAULT_BATCH_ROWS = 65_536
_CSV_BLOCK_BYTES = 4 << 20  # CSV is parsed in blocks of this size, then re-cut to batch_rows


class DatasetError(Exception):
    """A declared dataset cannot be replayed (absent, unreadable, a column missing or of the wrong type).

    ``key``: where in the model document the dataset is declared, when more precise than ``replay.dataset``
    (a query's ``sql``), so the gate's finding points at it.
    """

    def __init__(self, message: str, key: tuple = ()) -> None:
        super().__init__(message)
        self.key = key


class Query(str):
    """A dataset given as a DuckDB query. It IS its label (a shortened, one-line form of the query), so every
    message and report that names a dataset by its path names the query the same way; ``sql`` is the query and
    ``key`` where the model document declares it (e.g. ("replay", "dataset", "sql"))."""

    sql: str
    key: tuple

    def __new__(cls, sql: str, key: tuple = ("replay", "dataset", "sql")) -> Query:
        flat = " ".join(sql.split())
        label = f'query "{flat if len(flat) <= 72 else flat[:71] + "…"}"'
        self = super().__new__(cls, label)
        self.sql = sql
        self.key = tuple(key)
        return self

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Query) and (self.sql, self.key) == (other.sql, other.key)

    def __hash__(self) -> int:
        return hash((self.sql, self.key))


@dataclass(frozen=True)
class Wanted:
    """A column the replay needs and the column type it must convert to (``number``/``boolean``/``text``;
    None: as the file has it, e.g. an outcome that may be true/false or 1/0)."""

    name: str
    type: str | None


def resolve(root: Path, relpath: str) -> Path:
    """The dataset's path inside the repository; refuses absolute paths and ``..`` escapes (a model file must
    not make the gate read arbitrary files of the machine it runs on)."""
    pure = PurePosixPath(relpath)
    if pure.is_absolute() or ".." in pure.parts or not relpath.strip():
        raise DatasetError(f"dataset {relpath!r} must be a path inside the repository, relative to its root")
    if pure.suffix.lower() not in FORMATS:
        raise DatasetError(f"dataset {relpath!r}: unknown format {pure.suffix!r}; use .parquet or .csv")
    path = (root / pure).resolve()
    if not path.is_relative_to(root.resolve()):
        raise DatasetError(f"dataset {relpath!r} leads outside the repository")
    if not path.is_file():
        raise DatasetError(f"dataset {relpath} does not exist (paths are relative to the repository root {root})")
    return path


def _check_columns(relpath: str, available: Sequence[str], wanted: Sequence[Wanted]) -> None:
    from validator.gate.rules import did_you_mean

    for w in wanted:
        if w.name not in available:
            hint = did_you_mean(w.name, available)
            raise DatasetError(
                f"dataset {relpath} has no column {w.name!r}{' (' + hint + ')' if hint else ''}; "
                f"its columns: {', '.join(available)}",
                key=relpath.key if isinstance(relpath, Query) else (),
            )


def _csv_types(wanted: Sequence[Wanted]) -> dict[str, pa.DataType]:
    out: dict[str, pa.DataType] = {}
    for w in wanted:
        if w.type is None:
            continue
        out[w.name] = {NUMBER: pa.float64(), BOOLEAN: pa.bool_(), TEXT: pa.string()}[w.type]
    return out


def read_batches(root: Path, relpath: str, wanted: Sequence[Wanted],
                 batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """The dataset's wanted columns in record batches of at most ``batch_rows`` rows (``relpath``: a path
    relative to ``root``, or a ``Query``)."""
    if batch_rows <= 0:
        raise DatasetError(f"batch_rows must be > 0, got {batch_rows}")
    if isinstance(relpath, Query):
        yield from _query_batches(root, relpath, wanted, batch_rows)
        return
    path = resolve(root, relpath)
    names = list(dict.fromkeys(w.name for w in wanted))
    fmt = FORMATS[path.suffix.lower()]
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            handle = pq.ParquetFile(path)
            _check_columns(relpath, handle.schema_arrow.names, wanted)
            if handle.metadata.num_rows == 0:
                return
            yield from handle.iter_batches(batch_size=batch_rows, columns=names)
            return
        import pyarrow.csv as pacsv

        with path.open("rb") as stream:
            header = stream.readline().decode("utf-8", errors="replace").strip().split(",")
        _check_columns(relpath, [h.strip().strip('"') for h in header], wanted)
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK_BYTES),
            convert_options=pacsv.ConvertOptions(column_types=_csv_types(wanted), include_columns=names,
                                                 strings_can_be_null=True),
        )
        for batch in reader:
            for start in range(0, batch.num_rows, batch_rows):
                yield batch.slice(start, batch_rows)
    except DatasetError:
        raise
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise DatasetError(f"dataset {relpath} cannot be read: {str(exc).splitlines()[0]}") from None


def _query_error(query: Query, exc: Exception) -> DatasetError:
    from validator.data.sql import SqlError

    where = ""
    if isinstance(exc, SqlError) and exc.line is not None:
        where = f" (line {exc.line}, column {exc.col} of the query)"
    reason = exc.reason if isinstance(exc, SqlError) else str(exc).splitlines()[0]
    return DatasetError(f"dataset {query}{where}: {reason}", key=query.key)


def query_columns(root: Path, query: Query) -> list[str]:
    """The column names of a query's result, from binding it (no rows are produced); DatasetError when the query
    is refused or does not bind."""
    from validator.data.sql import SqlError, query_schema

    try:
        return list(query_schema(root, query.sql).names)
    except SqlError as exc:
        raise _query_error(query, exc) from None


def _query_batches(root: Path, query: Query, wanted: Sequence[Wanted], batch_rows: int) -> Iterator[pa.RecordBatch]:
    """The wanted columns of a query's result, streamed in the sandbox; the columns are checked before any row."""
    from validator.data.sql import SqlError, query_batches

    _check_columns(query, query_columns(root, query), wanted)
    names = list(dict.fromkeys(w.name for w in wanted))
    try:
        yield from query_batches(root, query.sql, batch_rows, columns=names)
    except (SqlError, pa.ArrowException) as exc:
        raise _query_error(query, exc) from None


def count_rows(root: Path, relpath: str) -> int | None:
    """Rows in a Parquet file from its footer (None for CSV and queries: it would take a full read)."""
    if isinstance(relpath, Query):
        return None
    path = resolve(root, relpath)
    if FORMATS[path.suffix.lower()] != "parquet":
        return None
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def to_column(array: pa.Array | pa.ChunkedArray, typ: str, where: str) -> Column:
    """An Arrow array as an evaluator column of type ``typ`` (model vocabulary or column type)."""
    ctype = COLUMN_TYPE.get(typ, typ)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    atype = array.type
    if pa.types.is_dictionary(atype):
        if ctype != TEXT:
            array = array.cast(atype.value_type)
            atype = array.type
    if ctype == NUMBER:
        if not (pa.types.is_integer(atype) or pa.types.is_floating(atype) or pa.types.is_decimal(atype)
                or pa.types.is_null(atype)):
            raise DatasetError(f"{where} holds {atype}, but the model reads it as a number")
        values = array.cast(pa.float64()).to_numpy(zero_copy_only=False)
        values = np.array(values, dtype=np.float64, copy=True)  # nulls arrive as NaN
        return Column(NUMBER, values, np.isnan(values))
    if ctype == BOOLEAN:
        if not (pa.types.is_boolean(atype) or pa.types.is_null(atype)):
            raise DatasetError(f"{where} holds {atype}, but the model reads it as true/false")
        missing = array.is_null().to_numpy(zero_copy_only=False)
        values = array.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
        return Column(BOOLEAN, values, np.asarray(missing, dtype=bool))
    if not (pa.types.is_string(atype) or pa.types.is_large_string(atype) or pa.types.is_dictionary(atype)
            or pa.types.is_null(atype)):
        raise DatasetError(f"{where} holds {atype}, but the model reads it as a word (category or string)")
    if pa.types.is_null(atype):
        n = len(array)
        return Column(TEXT, np.full(n, -1, dtype=np.int32), np.ones(n, dtype=bool))
    encoded = array if pa.types.is_dictionary(atype) else pc.dictionary_encode(array)
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
    levels = tuple(str(v) for v in encoded.dictionary.to_pylist())
    return Column(TEXT, codes, codes < 0, levels)


def to_columns(batch: pa.RecordBatch | pa.Table, types: Mapping[str, str], relpath: str) -> dict[str, Column]:
    """The batch's columns for the model's inputs (``types``: input name -> model type)."""
    return {name: to_column(batch.column(name), typ, f"dataset {relpath}, column {name!r},")
            for name, typ in types.items()}
