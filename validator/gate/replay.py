"""Replay: run a model's sample data through the base and the head version and measure what changes.

The model declares its data under ``replay:`` (Parquet or CSV, paths relative to the repository root, or a
DuckDB query over such files, run in the sandbox of ``validator.data.sql``). The
data is read from the WORK TREE, not per revision: sample data describes the population the model serves,
not a version of the model, so both versions are replayed on the same rows — which is what makes the
comparison a comparison. (To replay other data, change the file; the change shows up in the next check.)

Rows stream in Arrow record batches of ``batch_rows`` and go through the vectorized evaluators (the same
compiled models the app runs, held equal to the scalar ones by property tests); metrics keep counts and
histograms only, so memory is bounded by the batch size. What is measured is the kind's business: its folder's
``metrics.py`` receives a ``ReplayJob`` and returns a ``Measured`` (a kind whose ``READS_DATA`` is false, like the
bandit's Monte Carlo over its posteriors, needs no dataset). This module does what every kind shares: the
guardrail limits, compiling both versions, reading the data, and judging the measured values.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from validator.data.datasets import (
    DEFAULT_BATCH_ROWS,
    DatasetError,
    Query,
    Wanted,
    _check_columns,
    query_columns,
    read_batches,
    resolve,
)
from validator.gate.guardrails import (
    GuardrailConfigError,
    GuardrailResult,
    evaluate,
    limits_for,
    load_defaults,
    new_accepts,
)
from validator.gate.replay_metrics import Distribution, Measured
from validator.kinds import KINDS
from validator.kinds.base import ModelError
from validator.kinds.columns import COLUMN_TYPE
from validator.kinds.contract import Contract
from validator.kinds.vectorized import compile_vectorized

__all__ = ["Distribution", "GuardrailResult", "Impact", "Measured", "ReplayError", "ReplayJob", "simulate_model"]


class ReplayError(Exception):
    """The replay cannot run (dataset absent or unreadable, a column missing or mistyped, bad guardrails).

    ``model`` and ``key`` (a path into the model document, e.g. ("replay", "dataset")) let a caller holding the
    positioned document point at ``file:line``; the message names both anyway.
    """

    def __init__(self, model: str, key: tuple, message: str) -> None:
        where = ".".join(str(k) for k in key)
        super().__init__(f"model {model!r}{', ' + where if where else ''}: {message}")
        self.model = model
        self.key = key


@dataclass(frozen=True)
class ReplayJob:
    """One model's replay, as its kind's ``metrics.measure(job) -> Measured`` receives it.

    The gate has already done what every kind shares: read the model's ``replay:`` block, compiled both
    versions' vectorized twins (``kind.compile_vectorized``), resolved the dataset paths and, for a kind whose
    ``metrics.READS_DATA`` is true, made sure at least one dataset is declared. ``measure`` streams the data
    (``batches``), feeds both twins and returns a ``validator.gate.replay_metrics.Measured``: flat metrics (with
    ``rows``, the number of replayed rows), summary lines, distributions for the charts and ``guard_values``
    keyed by the kind's guardrail names (``GUARDRAILS`` in its ``guardrails.py``); the gate judges those against
    the limits. ``measure`` never reads ``replay.dataset`` itself and never evaluates guardrails.

    A version that does not exist (a model added or removed by the change) is ``None``, both in ``base``/``head``
    and in ``base_doc``/``head_doc``; at least one of the two is present. Errors: raise
    ``validator.data.datasets.DatasetError`` for bad data (the gate points at ``replay.dataset``) and
    ``job.fail(key, message)`` for a bad ``replay:`` setting (the gate points at that key).
    """

    root: Path                              # the repository root; dataset paths are relative to it
    name: str                               # the model's name (for messages)
    kind: str                               # the model's kind name
    base: Any | None                        # the base version's vectorized twin, None when the change adds the model
    head: Any | None                        # the head version's vectorized twin, None when the change removes it
    base_doc: Mapping[str, Any] | None      # the base model document (validated)
    head_doc: Mapping[str, Any] | None      # the head model document (validated)
    replay: Mapping[str, Any]               # the model's ``replay:`` block (head's, else base's); {} when absent
    datasets: tuple[str, ...]               # ``replay.dataset`` as paths relative to ``root`` (a query: a
                                            # ``validator.data.datasets.Query``, which prints as its label); ()
    batch_rows: int = DEFAULT_BATCH_ROWS    # rows per Arrow record batch: what bounds memory
    seed: int = 0                           # the seed of any randomness (Monte Carlo): replays are reproducible
    # Rows handed in by a caller instead of the declared files (the notebook's ``compare``): then ``datasets``
    # is ``(FRAME,)`` and every batch comes from this table.
    frame: pa.Table | None = None

    @property
    def twins(self) -> list[Any]:
        """The versions that exist (one or two), for reading the columns both need."""
        return [model for model in (self.base, self.head) if model is not None]

    def wanted(self, extra: Sequence[Wanted] = ()) -> list[Wanted]:
        """The columns to read: every input either version reads (typed by its ``input_types``), then ``extra``
        (an outcome, a query id, a relevance label...)."""
        return _wanted(self.twins, extra)

    def batches(self, wanted: Sequence[Wanted]) -> Iterator[tuple[str, pa.RecordBatch]]:
        """Every record batch of every dataset, in order, with the dataset's relative path (for messages)."""
        return ((relpath, batch) for relpath in self.datasets for batch in self.dataset_batches(relpath, wanted))

    def dataset_batches(self, relpath: str, wanted: Sequence[Wanted]) -> Iterator[pa.RecordBatch]:
        """The record batches of one dataset of ``datasets`` (of ``frame`` when the caller handed rows in)."""
        if self.frame is not None:
            return _frame_batches(self.frame, relpath, wanted, self.batch_rows)
        return read_batches(self.root, relpath, wanted, self.batch_rows)

    def fail(self, key: tuple, message: str) -> ReplayError:
        """The error for a bad ``replay:`` setting, positioned at ``key`` (e.g. ("replay", "query")): raise it."""
        return ReplayError(self.name, key, message)

    def no_rows(self) -> DatasetError:
        """The error for datasets that hold no rows at all: raise it."""
        return DatasetError(f"dataset {', '.join(self.datasets)} has no rows")


@dataclass(frozen=True)
class Impact:
    model: str
    kind: str
    dataset: str
    rows: int
    status: str
    metrics: dict[str, float]
    summary: list[str]
    distributions: list[Distribution]
    guardrails: list[GuardrailResult]

    @property
    def passed(self) -> bool:
        return not any(g.failed for g in self.guardrails)


def _status(base: Mapping | None, head: Mapping | None) -> str:
    if base is None:
        return "added"
    if head is None:
        return "removed"
    return "unchanged" if base == head else "changed"


def _datasets(replay: Mapping[str, Any]) -> list[str]:
    """``replay.dataset`` as a list: paths as written, ``{sql: ...}`` entries as ``Query`` (with their key)."""
    value = replay.get("dataset")
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [Query(str(value.get("sql", "")), ("replay", "dataset", "sql"))]
    if isinstance(value, str):
        return [value]
    return [Query(str(v.get("sql", "")), ("replay", "dataset", i, "sql")) if isinstance(v, Mapping) else str(v)
            for i, v in enumerate(value)]


def simulate_model(root: Path, name: str, base: Mapping | None, head: Mapping | None,
                   base_contract: Contract | None, head_contract: Contract | None,
                   *, batch_rows: int = DEFAULT_BATCH_ROWS, seed: int = 0, frame: pa.Table | None = None) -> Impact:
    """Replay the model's declared dataset(s) (from the head document, else base) through both versions: the
    kind's ``metrics.measure`` does the measuring, this function the parts every kind shares.

    ``frame``: replay these rows instead of the declared files (``validator.notebook.compare``: an analyst's
    own data judged by the very metrics and guardrails of ``weights check``)."""
    if base is None and head is None:
        raise ValueError("simulate_model needs a base or a head document")
    root = Path(root)
    doc = head if head is not None else base
    assert doc is not None
    kind_name = str(doc["kind"])
    kind = KINDS.get(kind_name)
    if kind is None:
        raise ReplayError(name, ("kind",), f"no replay for kind {kind_name!r}; known: {', '.join(KINDS)}")
    replay = dict(doc.get("replay") or {})
    status = _status(base, head)
    try:
        defaults = load_defaults(root)
        limits = limits_for(kind_name, defaults, doc) if head is not None else {}
    except GuardrailConfigError as exc:
        raise ReplayError(name, ("guardrails",), str(exc)) from None
    try:
        vb = compile_vectorized(base, base_contract) if base is not None else None
        vh = compile_vectorized(head, head_contract) if head is not None else None
    except ModelError as exc:
        raise ReplayError(name, (), f"cannot be compiled for replay: {exc}") from None
    metrics = kind.room("metrics")
    datasets = (FRAME,) if frame is not None else tuple(_datasets(replay))
    if metrics.READS_DATA and not datasets:
        advice = ("no replay dataset declared: add `replay: {dataset: tests/data/<file>.parquet}` to the model "
                  "file to measure its impact")
        return Impact(name, kind_name, "", 0, status, {}, [advice], [], [])
    if frame is None:
        _check_named_columns(root, name, replay, datasets)
    job = ReplayJob(root, name, kind_name, vb, vh, base, head, replay, datasets, batch_rows, seed, frame)
    try:
        measured = metrics.measure(job)
    except DatasetError as exc:
        raise ReplayError(name, exc.key or ("replay", "dataset"), str(exc)) from None
    dataset = measured.source or ", ".join(datasets)
    rows = int(measured.metrics.get("rows", 0))
    guardrails = evaluate(kind_name, measured.guard_values, limits, new_accepts(head, base)) if head is not None else []
    return Impact(name, kind_name, dataset, rows, status, measured.metrics, measured.summary, measured.distributions,
                  guardrails)


# -------------------------------------------------------------------------------------------------- reading

# The ``replay:`` keys that name a dataset column (an outcome, a query id, relevance labels).
COLUMN_KEYS = ("outcome", "query", "relevance")


def dataset_columns(root: Path, relpath: str) -> list[str] | None:
    """The column names of a dataset from its schema alone (the Parquet footer, the CSV header line, a query's
    binding), or None when the file is absent or unreadable or the query fails: the replay itself reports that,
    positioned at ``replay.dataset``."""
    import csv

    import pyarrow.parquet as pq

    try:
        if isinstance(relpath, Query):
            return query_columns(root, relpath)
        path = resolve(root, relpath)
        if path.suffix.lower() == ".parquet":
            return list(pq.read_schema(path).names)
        with path.open(encoding="utf-8", errors="replace", newline="") as stream:
            return [name.strip() for name in next(csv.reader(stream), [])]
    except (DatasetError, OSError, pa.ArrowInvalid):
        return None


def _check_named_columns(root: Path, name: str, replay: Mapping[str, Any], datasets: Sequence[str]) -> None:
    """A ``replay.outcome`` / ``query`` / ``relevance`` that names no column of a dataset is an error at that
    key, with a did-you-mean, before any row is read: otherwise the message points at ``replay.dataset``, and
    the file the analyst must fix is the model's key, not the data."""
    from validator.gate.rules import did_you_mean

    for relpath in datasets:
        columns = dataset_columns(root, relpath)
        if columns is None:
            continue
        for key in COLUMN_KEYS:
            column = replay.get(key)
            if isinstance(column, str) and column not in columns:
                hint = did_you_mean(column, columns)
                raise ReplayError(name, ("replay", key),
                                  f"{column!r} is not a column of {relpath}{' (' + hint + ')' if hint else ''}; "
                                  f"its columns: {', '.join(columns)}")



def _wanted(models: Sequence[Any], extra: Sequence[Wanted] = ()) -> list[Wanted]:
    seen: dict[str, Wanted] = {}
    for model in models:
        if model is None:
            continue
        for column, typ in model.input_types.items():
            seen.setdefault(column, Wanted(column, COLUMN_TYPE[typ]))
    for w in extra:
        seen.setdefault(w.name, w)
    return list(seen.values())


# The name of the rows a caller hands in (``frame``), in messages where a dataset's path would be.
FRAME = "<data frame>"


def _frame_batches(frame: pa.Table, label: str, wanted: Sequence[Wanted],
                   batch_rows: int) -> Iterator[pa.RecordBatch]:
    """The wanted columns of a caller's table in record batches, checked as a file's columns are."""
    _check_columns(label, frame.column_names, wanted)
    names = list(dict.fromkeys(w.name for w in wanted))
    yield from frame.select(names).to_batches(max_chunksize=batch_rows)


def format_impact(impact: Impact) -> str:
    """A plain-text rendering (for logs and debugging; the report package renders for people)."""
    lines = [f"{impact.model} ({impact.kind}, {impact.status}) on {impact.dataset or 'no data'}: {impact.rows} rows"]
    lines += [f"  {line}" for line in impact.summary]
    for g in impact.guardrails:
        state = "ok" if not g.breached else ("ACCEPTED: " + (g.reason or "") if g.accepted else "BREACHED")
        lines.append(f"  guardrail {g.name}: {g.message} {state}")
    return "\n".join(lines)

