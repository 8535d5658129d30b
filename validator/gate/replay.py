"""Replay: run a model's sample data through the base and the head version and measure what changes.

The model declares its data under ``replay:`` (Parquet or CSV, paths relative to the repository root). The
data is read from the WORK TREE, not per revision: sample data describes the population the model serves,
not a version of the model, so both versions are replayed on the same rows — which is what makes the
comparison a comparison. (To replay other data, change the file; the change shows up in the next check.)

Rows stream in Arrow record batches of ``batch_rows`` and go through the vectorized evaluators (the same
compiled models the app runs, held equal to the scalar ones by property tests); metrics keep counts and
histograms only, so memory is bounded by the batch size. The bandit reads no inputs: its replay is a seeded
Monte Carlo over its posteriors (``replay.draws`` visitors).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa

from validator.data.datasets import DEFAULT_BATCH_ROWS, DatasetError, Wanted, read_batches, to_column, to_columns
from validator.gate.guardrails import GuardrailConfigError, GuardrailResult, evaluate, limits_for, load_defaults, new_accepts
from validator.gate.replay_metrics import DEFAULT_TOP_K, Distribution, Measured, RankingMetrics, ScorecardMetrics, SegmentsMetrics, bandit_metrics
from validator.kinds.base import ModelError
from validator.kinds.contract import Contract
from validator.kinds.vectorized import compile_vectorized
from validator.kinds.bandit.vectorized import DEFAULT_DRAWS
from validator.kinds.columns import COLUMN_TYPE, NUMBER
from validator.kinds.ranking.vectorized import group_starts

__all__ = ["Distribution", "GuardrailResult", "Impact", "ReplayError", "simulate_model"]

# What a row is, for the summary lines ("2.7% of orders change decision").
_UNITS = {"scorecard": "rows", "segments": "customers"}


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
    datasets: tuple[str, ...]               # ``replay.dataset`` as paths relative to ``root``; () when none
    batch_rows: int = DEFAULT_BATCH_ROWS    # rows per Arrow record batch: what bounds memory
    seed: int = 0                           # the seed of any randomness (Monte Carlo): replays are reproducible

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
        return _batches(self.root, self.datasets, wanted, self.batch_rows)

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
    value = replay.get("dataset")
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def simulate_model(root: Path, name: str, base: Mapping | None, head: Mapping | None,
                   base_contract: Contract | None, head_contract: Contract | None,
                   *, batch_rows: int = DEFAULT_BATCH_ROWS, seed: int = 0) -> Impact:
    """Replay the model's declared dataset(s) (from the head document, else base) through both versions."""
    if base is None and head is None:
        raise ValueError("simulate_model needs a base or a head document")
    root = Path(root)
    doc = head if head is not None else base
    kind = str(doc["kind"])
    replay = dict(doc.get("replay") or {})
    status = _status(base, head)
    try:
        defaults = load_defaults(root)
        limits = limits_for(kind, defaults, doc) if head is not None else {}
    except GuardrailConfigError as exc:
        raise ReplayError(name, ("guardrails",), str(exc)) from None
    try:
        vb = compile_vectorized(base, base_contract) if base is not None else None
        vh = compile_vectorized(head, head_contract) if head is not None else None
    except ModelError as exc:
        raise ReplayError(name, (), f"cannot be compiled for replay: {exc}") from None

    if kind == "bandit":
        draws = int(replay.get("draws", DEFAULT_DRAWS))
        if draws <= 0:
            raise ReplayError(name, ("replay", "draws"), f"draws must be > 0, got {draws}")
        measured = bandit_metrics(vb, vh, draws, seed)
        dataset, rows = f"monte carlo ({draws} draws, seed {seed})", draws
    else:
        datasets = _datasets(replay)
        if not datasets:
            return Impact(name, kind, "", 0, status, {}, [
                f"no replay dataset declared: add `replay: {{dataset: tests/data/<file>.parquet}}` to the model "
                "file to measure its impact"], [], [])
        try:
            if kind == "scorecard":
                measured = _scorecard(root, name, vb, vh, replay, datasets, batch_rows)
            elif kind == "segments":
                measured = _segments(root, vb, vh, datasets, batch_rows)
            elif kind == "ranking":
                measured = _ranking(root, name, vb, vh, replay, datasets, batch_rows)
            else:  # pragma: no cover - every kind has a branch
                raise ReplayError(name, ("kind",), f"no replay for kind {kind!r}")
        except DatasetError as exc:
            raise ReplayError(name, ("replay", "dataset"), str(exc)) from None
        dataset, rows = ", ".join(datasets), int(measured.metrics.get("rows", 0))
    guardrails = evaluate(kind, measured.guard_values, limits, new_accepts(head, base)) if head is not None else []
    return Impact(name, kind, dataset, rows, status, measured.metrics, measured.summary, measured.distributions,
                  guardrails)


# ----------------------------------------------------------------------------------------------- per kind


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


def _batches(root: Path, datasets: Sequence[str], wanted: Sequence[Wanted], batch_rows: int) -> Iterator[tuple[str, pa.RecordBatch]]:
    for relpath in datasets:
        for batch in read_batches(root, relpath, wanted, batch_rows):
            yield relpath, batch


def _outcome(batch: pa.RecordBatch, column: str, relpath: str) -> np.ndarray:
    """The outcome as 1.0 / 0.0 / NaN (unknown): a boolean column, or numbers 0 and 1."""
    array = batch.column(column)
    if pa.types.is_boolean(array.type):
        values = np.asarray(array.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
        return values
    col = to_column(array, NUMBER, f"dataset {relpath}, outcome column {column!r},")
    known = col.values[~col.missing]
    if known.size and not np.isin(known, (0.0, 1.0)).all():
        raise DatasetError(f"dataset {relpath}, outcome column {column!r} holds values other than 0 and 1 "
                           "(or true/false)")
    return col.values


def _scorecard(root: Path, name: str, vb: Any, vh: Any, replay: Mapping[str, Any], datasets: Sequence[str],
               batch_rows: int) -> Measured:
    outcome_col = replay.get("outcome")
    costs = replay.get("costs")
    if costs and not outcome_col:
        raise ReplayError(name, ("replay", "costs"), "costs need an outcome column (replay.outcome) to weigh")
    extra = [Wanted(outcome_col, None)] if outcome_col else []
    acc = ScorecardMetrics(vb.labels if vb else None, vh.labels if vh else None, bool(outcome_col), costs,
                           replay.get("unit", "rows"))
    for relpath, batch in _batches(root, datasets, _wanted([vb, vh], extra), batch_rows):
        sb = vb.score(to_columns(batch, vb.input_types, relpath)) if vb else None
        sh = vh.score(to_columns(batch, vh.input_types, relpath)) if vh else None
        acc.add(sb, sh, _outcome(batch, outcome_col, relpath) if outcome_col else None)
    if acc.rows == 0:
        raise DatasetError(f"dataset {', '.join(datasets)} has no rows")
    return acc.result()


def _segments(root: Path, vb: Any, vh: Any, datasets: Sequence[str], batch_rows: int) -> Measured:
    acc = SegmentsMetrics(vb.labels if vb else None, vh.labels if vh else None)
    for relpath, batch in _batches(root, datasets, _wanted([vb, vh]), batch_rows):
        ab = vb.assign(to_columns(batch, vb.input_types, relpath)) if vb else None
        ah = vh.assign(to_columns(batch, vh.input_types, relpath)) if vh else None
        acc.add(ab, ah)
    if acc.rows == 0:
        raise DatasetError(f"dataset {', '.join(datasets)} has no rows")
    return acc.result()


def _ranking(root: Path, name: str, vb: Any, vh: Any, replay: Mapping[str, Any], datasets: Sequence[str],
             batch_rows: int) -> Measured:
    query = replay.get("query")
    if not query:
        raise ReplayError(name, ("replay", "query"), "a ranking replays per query: name the query id column "
                          "(replay.query), rows of one query adjacent")
    relevance = replay.get("relevance")
    k = int(replay.get("top_k", DEFAULT_TOP_K))
    extra = [Wanted(query, "text")] + ([Wanted(relevance, NUMBER)] if relevance else [])
    acc = RankingMetrics(k, vb is not None, vh is not None)
    finished: set[str] = set()
    for relpath in datasets:
        carry: pa.Table | None = None
        for batch in read_batches(root, relpath, _wanted([vb, vh], extra), batch_rows):
            table = pa.Table.from_batches([batch])
            if carry is not None:
                table = pa.concat_tables([carry, table])
            groups_col = to_column(table.column(query), "text", f"dataset {relpath}, query column {query!r},")
            labels = np.array(groups_col.levels + ("",), dtype=object)[groups_col.values]
            starts = group_starts(labels)
            # the last query may continue in the next batch: keep it back
            cut = int(starts[-1]) if len(starts) else 0
            carry = table.slice(cut)
            if cut:
                _rank_groups(acc, table.slice(0, cut), vb, vh, query, relevance, relpath, finished)
        if carry is not None and carry.num_rows:
            _rank_groups(acc, carry, vb, vh, query, relevance, relpath, finished)
    if acc.queries == 0:
        raise DatasetError(f"dataset {', '.join(datasets)} has no rows")
    return acc.result()


def _rank_groups(acc: RankingMetrics, table: pa.Table, vb: Any, vh: Any, query: str, relevance: str | None,
                 relpath: str, finished: set[str]) -> None:
    groups_col = to_column(table.column(query), "text", f"dataset {relpath}, query column {query!r},")
    if groups_col.missing.any():
        raise DatasetError(f"dataset {relpath}, query column {query!r} has empty query ids")
    labels = np.array(groups_col.levels, dtype=object)[groups_col.values]
    starts = group_starts(labels)
    for s in starts:
        qid = labels[s]
        if qid in finished:
            raise DatasetError(f"dataset {relpath}: the rows of query {qid!r} are not adjacent; sort the data by "
                               f"{query!r} (a query is ranked as one request)")
        finished.add(qid)
    rb = vb.rank(to_columns(table, vb.input_types, relpath), labels) if vb else None
    rh = vh.rank(to_columns(table, vh.input_types, relpath), labels) if vh else None
    rel = None
    if relevance:
        rel = to_column(table.column(relevance), NUMBER, f"dataset {relpath}, relevance column {relevance!r},").values
    ends = np.append(starts[1:], len(labels))
    for s, e in zip(starts, ends):
        acc.add_group(rb.ranks[s:e] if rb else None, rh.ranks[s:e] if rh else None,
                      rel[s:e] if rel is not None else None)


def format_impact(impact: Impact) -> str:
    """A plain-text rendering (for logs and debugging; the report package renders for people)."""
    lines = [f"{impact.model} ({impact.kind}, {impact.status}) on {impact.dataset or 'no data'}: {impact.rows} rows"]
    lines += [f"  {line}" for line in impact.summary]
    for g in impact.guardrails:
        state = "ok" if not g.breached else ("ACCEPTED: " + (g.reason or "") if g.accepted else "BREACHED")
        lines.append(f"  guardrail {g.name}: {g.message} {state}")
    return "\n".join(lines)

