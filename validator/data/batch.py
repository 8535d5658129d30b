"""Batch scoring of a file: Parquet or CSV in, Parquet or CSV (and optionally Redis) out, in record batches.

``weights score churn_coupon --input customers.parquet --output scores.parquet`` is the nightly job of the
user-profile pattern: every customer scored with the weights of the repository (or of a published bundle),
one output row per input row, in input order.

Why it streams: a customer table outgrows memory long before it outgrows a disk. The input is read in record
batches of ``batch_rows`` rows (Parquet reads only the column chunks it needs; CSV parses only the needed
columns, block by block), each batch is scored by the vectorized twin (``validator.data.scoring``) and written
out at once, so memory is bounded by the batch size whatever the file size.

Why the output is all or nothing: it goes to a temporary file in the output's folder, renamed over the output
(``os.replace``) only after the last batch. A job that fails half-way (a malformed row 3 million rows in, a
full disk, a kill) leaves the previous output untouched, never a half-written file a downstream job would load
as if it were complete.

Output columns: the input columns the caller keeps (``keep``: the customer id and whatever the consumer joins
on), the model's results (``validator.data.scoring.output_schema``: decisions, values, reason codes, segment
ids, variants...), and ``version`` (see ``validator.data.model_source``: which weights made the row).
"""
from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from validator.data.datasets import DEFAULT_BATCH_ROWS, Wanted
from validator.data.model_source import LoadedModel
from validator.data.redis_sink import RedisSink, RedisTarget, RedisWritten
from validator.kinds.columns import BOOLEAN, COLUMN_TYPE, NUMBER, TEXT

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
VERSION_COLUMN = "version"
CSV_BLOCK_BYTES = 1 << 20  # CSV is parsed in blocks of this size (then cut to batch_rows): bounded memory
LIST_SEPARATOR = ";"       # a list cell (reason codes) in CSV output; codes are [A-Z0-9_], so lossless


class BatchError(Exception):
    """Batch scoring cannot run or could not finish (input unreadable, a column missing or mistyped, the
    output folder missing): exit 2. The message names the file and what to do; no output was written."""


@dataclass(frozen=True)
class BatchResult:
    """What a run did: rows scored, batches read (and the largest: the memory bound), where the output went."""

    rows: int
    batches: int
    largest_batch: int
    output: Path | None
    columns: tuple[str, ...]
    version: str
    redis: RedisWritten | None = None  # what went to Redis, when a Redis target was given


def file_format(path: Path, what: str) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise BatchError(f"{what} {path}: unknown format {path.suffix or '(no suffix)'!r}; use .parquet or .csv")
    return fmt


def wanted_columns(twin: Any) -> list[Wanted]:
    """The input columns the model reads, with the type each must convert to."""
    from validator.data.scoring import input_types

    return [Wanted(name, typ) for name, typ in input_types(twin).items()]


# ---------------------------------------------------------------------------------------------------- reading

@dataclass
class Input:
    """An opened input: the schema of the columns read (in output order) and their record batches."""

    path: Path
    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]


def _missing(path: Path, available: Sequence[str], names: Sequence[str], why: str) -> None:
    from validator.gate.rules import did_you_mean

    for name in names:
        if name not in available:
            hint = did_you_mean(name, available)
            raise BatchError(f"{path} has no column {name!r} ({why}){'; ' + hint if hint else ''}; "
                             f"its columns: {', '.join(available)}")


def _csv_header(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as stream:
            return [name.strip() for name in next(csv.reader(stream), [])]
    except OSError as exc:
        raise BatchError(f"{path} cannot be read: {exc.strerror or exc}") from None


def _csv_type(typ: str | None) -> pa.DataType | None:
    return {NUMBER: pa.float64(), BOOLEAN: pa.bool_(), TEXT: pa.string()}.get(COLUMN_TYPE.get(typ or "", typ or ""))


def open_input(path: Path, wanted: Sequence[Wanted], keep: Sequence[str], batch_rows: int,
               group: str | None = None) -> Input:
    """Open ``path`` for the model's columns (``wanted``), the kept ones and the group column: schema checked,
    nothing read yet beyond the Parquet footer or the first CSV block."""
    if batch_rows <= 0:
        raise BatchError(f"--batch-rows must be > 0, got {batch_rows}")
    fmt = file_format(path, "input")
    if not path.is_file():
        raise BatchError(f"input {path} does not exist" if not path.exists() else f"input {path} is not a file")
    inputs = [w.name for w in wanted]
    grouping = [group] if group else []
    names = list(dict.fromkeys([*keep, *inputs, *grouping]))
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            handle = pq.ParquetFile(path)
            available = handle.schema_arrow.names
            _missing(path, available, inputs, "the model reads it")
            _missing(path, available, keep, "asked for with --keep")
            _missing(path, available, grouping, "the query id: rows with equal ids are ranked together")
            schema = pa.schema([handle.schema_arrow.field(name) for name in names])
            return Input(path, schema, _parquet_batches(path, handle, names, batch_rows))
        import pyarrow.csv as pacsv

        available = _csv_header(path)
        _missing(path, available, inputs, "the model reads it")
        _missing(path, available, keep, "asked for with --keep")
        _missing(path, available, grouping, "the query id: rows with equal ids are ranked together")
        types = {w.name: t for w in wanted if (t := _csv_type(w.type)) is not None}
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
            convert_options=pacsv.ConvertOptions(column_types=types, include_columns=names,
                                                 strings_can_be_null=True),
        )
        return Input(path, reader.schema, _csv_batches(path, reader, batch_rows))
    except BatchError:
        raise
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise BatchError(f"{path} cannot be read: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _parquet_batches(path: Path, handle: Any, names: list[str], batch_rows: int) -> Iterator[pa.RecordBatch]:
    if handle.metadata.num_rows == 0:
        return
    try:
        yield from handle.iter_batches(batch_size=batch_rows, columns=names)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise BatchError(f"{path} cannot be read: {_first_line(exc)}") from None


def _csv_batches(path: Path, reader: Any, batch_rows: int) -> Iterator[pa.RecordBatch]:
    try:
        for block in reader:
            for start in range(0, block.num_rows, batch_rows):
                yield block.slice(start, batch_rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise BatchError(f"{path} cannot be read: {_first_line(exc)} (a value that does not fit its column's "
                         "type: numbers where the model reads numbers, true/false for booleans)") from None


# ---------------------------------------------------------------------------------------------------- writing

class AtomicOutput:
    """A Parquet or CSV file written batch by batch to a temporary file beside ``path``, renamed over ``path``
    by :meth:`commit` only; :meth:`abort` (or an exception inside ``with``) deletes the temporary file."""

    def __init__(self, path: Path, schema: pa.Schema, dictionary: Sequence[str] | None = None) -> None:
        """``dictionary``: the columns worth dictionary-encoding in Parquet (few distinct values: decisions,
        segments, reason codes, the version); None: Parquet's default, every column. Trying a dictionary on a
        column of distinct values (ids, scores) before falling back cost more than half the write time."""
        self.path = path
        self.format = file_format(path, "output")
        if not path.parent.is_dir():
            raise BatchError(f"the output folder {path.parent} does not exist: create it first "
                             f"(mkdir -p {path.parent})")
        if path.is_dir():
            raise BatchError(f"the output {path} is a folder: name a .parquet or .csv file")
        self.schema = schema if self.format == "parquet" else _csv_schema(schema)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except OSError as exc:
            raise BatchError(f"cannot write into {path.parent}: {exc.strerror or exc}") from None
        self.tmp = Path(tmp)
        self._stream = os.fdopen(fd, "wb")
        self._writer: Any
        if self.format == "parquet":
            import pyarrow.parquet as pq

            encode: bool | list[str] = True if dictionary is None else _dictionary_paths(self.schema, dictionary)
            # Min/max statistics for the flat columns (what lets a reader skip row groups: scores, ids,
            # decisions), none for nested ones: the reason codes' cost a third of the write and help no filter.
            flat = [f.name for f in self.schema if not pa.types.is_nested(f.type)]
            self._writer = pq.ParquetWriter(self._stream, self.schema, use_dictionary=encode, write_statistics=flat)
        else:
            import pyarrow.csv as pacsv

            self._writer = pacsv.CSVWriter(self._stream, self.schema)
        self._open = True

    def write(self, batch: pa.RecordBatch) -> None:
        if self.format == "csv":
            batch = _csv_batch(batch, self.schema)
        try:
            self._writer.write_batch(batch)
        except OSError as exc:
            raise BatchError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def commit(self) -> None:
        try:
            self._writer.close()
            self._stream.flush()
            os.fsync(self._stream.fileno())
            self._stream.close()
            self._open = False
            # mkstemp makes the file private (0600); the output is an ordinary file: the mode the old output
            # had, else what the umask gives a new file.
            os.chmod(self.tmp, self.path.stat().st_mode & 0o7777 if self.path.exists() else _new_file_mode())
            os.replace(self.tmp, self.path)
        except OSError as exc:
            self.abort()
            raise BatchError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def abort(self) -> None:
        if self._open:
            self._open = False
            try:
                self._writer.close()
            except (OSError, pa.ArrowException):
                pass
            self._stream.close()
        try:
            self.tmp.unlink()
        except FileNotFoundError:
            pass

    def __enter__(self) -> "AtomicOutput":
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None:
            self.abort()


def _dictionary_paths(schema: pa.Schema, names: Sequence[str]) -> list[str]:
    """Parquet column paths of the text columns among ``names`` (a list's values: ``name.list.element``)."""
    paths = []
    for name in names:
        typ = schema.field(name).type
        if _is_list(typ):
            paths.append(f"{name}.list.element")
        elif pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_dictionary(typ):
            paths.append(name)
    return paths


def _new_file_mode() -> int:
    mask = os.umask(0o022)  # the only way to read the umask is to set it; put it straight back
    os.umask(mask)
    return 0o666 & ~mask


def _csv_schema(schema: pa.Schema) -> pa.Schema:
    """CSV cells hold text: a list column (reason codes) becomes one string joined by ``;``."""
    return pa.schema([pa.field(f.name, pa.string()) if _is_list(f.type) else f for f in schema])


def _is_list(typ: pa.DataType) -> bool:
    return bool(pa.types.is_list(typ) or pa.types.is_large_list(typ))


def _csv_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    arrays = [pc.binary_join(col, LIST_SEPARATOR) if _is_list(col.type) else col for col in batch.columns]
    return pa.record_batch(arrays, schema=schema)


# ---------------------------------------------------------------------------------------------------- scoring

def output_schema(twin: Any, kept: pa.Schema) -> pa.Schema:
    """The output's columns: the kept input columns, the model's results, the version."""
    from validator.data import scoring

    results = scoring.output_schema(twin)
    clash = [name for name in kept.names if name in results.names or name == VERSION_COLUMN]
    if clash:
        raise BatchError(f"--keep {clash[0]!r} has the name of a result column; the results are "
                         f"{', '.join([*results.names, VERSION_COLUMN])}")
    return pa.schema([*kept, *results, pa.field(VERSION_COLUMN, pa.string(), nullable=False)])


def whole_groups(batches: Iterator[pa.RecordBatch], group: str) -> Iterator[pa.RecordBatch]:
    """The same rows, cut so that no run of equal ``group`` ids spans two batches: the last run of each batch is
    held back and goes first into the next one (a ranking ranks a query's items as one request); the last
    batch goes whole. A batch may then exceed ``batch_rows`` by at most one query's items."""
    pending: pa.RecordBatch | None = None
    stream = iter(batches)
    current = next(stream, None)
    for following in stream:
        assert current is not None
        batch = pa.concat_batches([pending, current]) if pending is not None else current
        start = _last_run_start(batch.column(group))
        if start:
            yield batch.slice(0, start)
        pending = batch.slice(start)
        current = following
    if current is not None:
        last = pa.concat_batches([pending, current]) if pending is not None else current
        if last.num_rows:
            yield last


def _last_run_start(ids: pa.Array) -> int:
    """Where the run of ids equal to the last one starts (0 when the batch is one run, or empty)."""
    n = len(ids)
    if n == 0 or not ids[n - 1].is_valid:
        return 0  # an empty id stays with its batch: scoring refuses it with the column named
    same = pc.fill_null(pc.equal(ids, ids[n - 1]), False).to_numpy(zero_copy_only=False)
    other = np.flatnonzero(~same)
    return int(other[-1]) + 1 if len(other) else 0


class _Versions:
    """The version column for a batch of ``n`` rows (one string repeated; made once per batch size)."""

    def __init__(self, version: str) -> None:
        self.one = pa.array([version], pa.string())
        self.made: dict[int, pa.Array] = {}

    def __call__(self, n: int) -> pa.Array:
        column = self.made.get(n)
        if column is None:
            column = self.one.take(pa.array(np.zeros(n, dtype=np.int32)))
            self.made = {n: column}
        return column


def scored(twin: Any, batches: Iterator[pa.RecordBatch], keep: Sequence[str], version: str,
           schema: pa.Schema, where: str, *, group: str | None = None, seed: int = 0) -> Iterator[pa.RecordBatch]:
    """Each input batch scored: the kept columns, the results and the version, in ``schema``.

    ``group``: the query column (its runs are kept whole across batches). ``seed``: a bandit's draws use
    ``seed + batch number``, so batches do not repeat one stream and a run is reproducible.
    """
    from validator.data.scoring import ScoringError, score_batch

    versions = _Versions(version)
    stream = whole_groups(batches, group) if group else batches
    for number, batch in enumerate(stream):
        try:
            results = score_batch(twin, batch, group=group, seed=seed + number)
        except ScoringError as exc:
            raise BatchError(f"{where}: {exc}") from None
        kept = [batch.column(name) for name in keep]
        yield pa.record_batch([*kept, *results.columns, versions(batch.num_rows)], schema=schema)


def score_file(twin: Any, input_path: Path | str, output_path: Path | str | None, *,
               batch_rows: int = DEFAULT_BATCH_ROWS, version: str, keep: Sequence[str] = (),
               group: str | None = None, seed: int = 0,
               sinks: Sequence[Callable[[pa.RecordBatch], None]] = (),
               before: Callable[[pa.Schema], None] | None = None) -> BatchResult:
    """Score every row of ``input_path`` with ``twin`` (a vectorized twin) into ``output_path``.

    ``keep``: input columns copied to the output (join keys). ``group``: the query column of a ranking (see
    ``validator.data.scoring``). ``sinks``: called with every output batch after it is written (the Redis
    sink). ``before``: called with the output schema once the input is open and checked, before any row is
    scored (to connect a sink and fail early). ``output_path`` None: sinks only.
    Raises :class:`BatchError`; then no output file was written or replaced.
    """
    source = Path(input_path)
    target = Path(output_path) if output_path is not None else None
    if target is not None:
        file_format(target, "output")
        if not target.parent.is_dir():
            raise BatchError(f"the output folder {target.parent} does not exist: create it first "
                             f"(mkdir -p {target.parent})")
        if target.exists() and source.exists() and target.resolve() == source.resolve():
            raise BatchError(f"the output {target} is the input: write the scores to another file")
    keep = list(dict.fromkeys(keep))
    opened = open_input(source, wanted_columns(twin), keep, batch_rows, group)
    schema = output_schema(twin, pa.schema([opened.schema.field(name) for name in keep]))
    if before is not None:
        before(schema)
    rows = batches = largest = 0
    out = AtomicOutput(target, schema, dictionary=schema.names[len(keep):]) if target is not None else None
    consumers = [*([out.write] if out is not None else []), *sinks]
    writer = Writer(consumers)
    try:
        for batch in scored(twin, opened.batches, keep, version, schema, str(source), group=group, seed=seed):
            writer.put(batch)
            rows += batch.num_rows
            batches += 1
            largest = max(largest, batch.num_rows)
        writer.close()
        if out is not None:
            out.commit()
    except BaseException:
        writer.close(discard=True)
        if out is not None:
            out.abort()
        raise
    return BatchResult(rows, batches, largest, target, tuple(schema.names), version)


class Writer:
    """Hands scored batches to the consumers (the output file, Redis) in a thread of its own.

    Why a thread: a Redis round trip, or encoding and compressing Parquet, runs outside the GIL (network wait,
    Arrow's C++), so the next batch is scored meanwhile. (Reading needs no thread of its own: Arrow's Parquet
    and CSV readers already decode on their own threads; a read-ahead thread measured slower.) The queue holds at most ``DEPTH`` batches, so memory stays bounded: the
    scorer waits when the writer falls behind. The first consumer error stops the writing and is raised in
    the scoring thread at its next ``put`` or at ``close``; batches after it are drained unwritten.
    """

    DEPTH = 2
    _END = object()

    def __init__(self, consumers: Sequence[Callable[[pa.RecordBatch], None]]) -> None:
        import queue
        import threading

        self.consumers = list(consumers)
        self.error: BaseException | None = None
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=self.DEPTH)
        self._thread = threading.Thread(target=self._run, name="weights-score-writer", daemon=True)
        self._thread.start()
        self._closed = False

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if self.error is None:
                try:
                    for consume in self.consumers:
                        consume(item)
                except BaseException as exc:  # noqa: BLE001 - handed to the scoring thread, raised there
                    self.error = exc

    def put(self, batch: pa.RecordBatch) -> None:
        self._raise()
        self._queue.put(batch)

    def close(self, discard: bool = False) -> None:
        """Wait until every batch is written (``discard``: stop writing, on a failure), then raise any error."""
        if self._closed:
            return
        self._closed = True
        if discard and self.error is None:
            self.error = _Discarded()  # the writer skips whatever is still queued
        self._queue.put(self._END)
        self._thread.join()
        if not discard:
            self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error


class _Discarded(Exception):
    """The scoring side failed: the writer drops what is still queued."""


def score_model(model: LoadedModel, input_path: Path | str, output_path: Path | str | None, *,
                batch_rows: int = DEFAULT_BATCH_ROWS, keep: Sequence[str] = (), group: str | None = None,
                seed: int = 0, redis: RedisTarget | None = None) -> BatchResult:
    """``weights score``: a loaded model (``validator.data.model_source``) over a file, into a file and/or Redis.

    The group column defaults to the model's (a ranking's ``replay.query``); the Redis key column is kept
    in the output whether or not ``keep`` names it. The Redis connection and key column are checked before
    any row is scored.
    """
    if output_path is None and redis is None:
        raise BatchError("nothing to write: name an --output file, a --to redis://... target, or both")
    keep = list(dict.fromkeys([*keep, *([redis.key] if redis is not None else [])]))
    sinks: list[Callable[[pa.RecordBatch], None]] = []
    opened: list[RedisSink] = []

    def connect(schema: pa.Schema) -> None:
        if redis is not None:
            from validator.data.redis_sink import open_sink

            sink = open_sink(redis, schema.names, model.name)
            opened.append(sink)
            sinks.append(sink.write)

    result = score_file(model.twin, input_path, output_path, batch_rows=batch_rows, version=model.version,
                        keep=keep, group=group if group is not None else model.group, seed=seed, sinks=sinks,
                        before=connect)
    if opened:
        result = BatchResult(result.rows, result.batches, result.largest_batch, result.output, result.columns,
                             result.version, opened[0].result())
    return result
