"""Batch scoring inside DuckDB: any query's rows, scored in Arrow record batches, back as an Arrow table or as a
stream DuckDB itself can read (``CREATE TABLE scores AS SELECT * FROM scored``).

For the data engineer whose customers sit in DuckDB (or in files DuckDB reads, joined and filtered in SQL): the
query runs in DuckDB, its result streams out in record batches of ``batch_rows`` rows, each batch goes through
``validator.data.scoring.score_batch`` (the same scoring as ``weights score`` and Spark), and the results stream
back. Memory is bounded by the batch size as long as the caller streams (:func:`scored_reader`);
:func:`score_relation` collects the results into one Arrow table for convenience.

This is the caller's own connection and SQL: unlike ``validator.data.sql`` (queries from model files, i.e. from
pull requests), nothing is sandboxed here.

Why the query runs on a cursor of the connection: a DuckDB connection runs one query at a time, and the
typical use reads the source query while another query on the same connection consumes the scores
(``CREATE TABLE ... AS SELECT * FROM scored``); a cursor is a second connection to the same database.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa

from validator.data.batch import BatchError, output_schema, scored, wanted_columns
from validator.data.datasets import DEFAULT_BATCH_ROWS
from validator.data.model_source import LoadedModel


def _reader(relation: Any, batch_rows: int) -> pa.RecordBatchReader:
    to_reader = getattr(relation, "to_arrow_reader", None)  # DuckDB >= 1.4; fetch_record_batch before
    if to_reader is not None:
        return to_reader(batch_rows)
    return relation.fetch_record_batch(batch_rows)


def scored_reader(con: Any, query: str | Any, model: LoadedModel, keep: Sequence[str] = (), *,
                  group: str | None = None, seed: int = 0, batch_rows: int = DEFAULT_BATCH_ROWS
                  ) -> pa.RecordBatchReader:
    """The rows of ``query`` (SQL text, run on a cursor of ``con``, or a ``DuckDBPyRelation``) scored by
    ``model``, as a record batch reader: the kept columns, the results, ``version``. Read it once.

    Register it to query the scores in SQL: ``con.register("scored", reader)``, then
    ``con.execute("CREATE TABLE churn_scores AS SELECT * FROM scored")`` streams them into a table.
    """
    import duckdb

    if batch_rows <= 0:
        raise BatchError(f"batch_rows must be > 0, got {batch_rows}")
    try:
        relation = con.cursor().sql(query) if isinstance(query, str) else query
        reader = _reader(relation, batch_rows)
    except duckdb.Error as exc:
        raise BatchError(f"the query cannot run: {str(exc).splitlines()[0]}") from None
    available = reader.schema.names
    group = group if group is not None else model.group
    keep = list(dict.fromkeys(keep))
    needed = [w.name for w in wanted_columns(model.twin)] + ([group] if group else [])
    for name in [*needed, *keep]:
        if name not in available:
            why = "asked to keep it" if name in keep and name not in needed else f"model {model.name!r} reads it"
            raise BatchError(f"the query has no column {name!r} ({why}); its columns: {', '.join(available)}")
    schema = output_schema(model.twin, pa.schema([reader.schema.field(name) for name in keep]))

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from reader
        except duckdb.Error as exc:
            raise BatchError(f"the query failed while streaming: {str(exc).splitlines()[0]}") from None

    return pa.RecordBatchReader.from_batches(
        schema, scored(model.twin, batches(), keep, model.version, schema, f"model {model.name!r} in DuckDB",
                       group=group, seed=seed))


def score_relation(con: Any, query: str | Any, model: LoadedModel, keep: Sequence[str] = (), *,
                   register: str | None = None, group: str | None = None, seed: int = 0,
                   batch_rows: int = DEFAULT_BATCH_ROWS) -> pa.Table:
    """The scores of ``query``'s rows as one Arrow table; with ``register``, also a view of that name on
    ``con`` (``SELECT decision, count(*) FROM scores GROUP BY 1``)."""
    table = scored_reader(con, query, model, keep, group=group, seed=seed, batch_rows=batch_rows).read_all()
    if register is not None:
        con.register(register, table)
    return table
