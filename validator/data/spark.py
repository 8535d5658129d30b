"""Batch scoring inside Spark: the same scoring as ``weights score``, as a function for ``DataFrame.mapInArrow``.

When the customer table lives in a lake and outgrows one machine, the scoring goes to the data::

    from validator.data.model_source import from_repository
    from validator.data.spark import score_dataframe

    model = from_repository(Path("."), "churn_coupon")          # or from_bundle(...): the published weights
    scores = score_dataframe(customers, model, keep=["customer_id"])
    scores.write.parquet("s3://lake/churn_scores/")

or, spelled out: ``customers.mapInArrow(ArrowScorer(model, keep=[...]), spark_schema(model, customers.schema,
[...]))``.

Why ``mapInArrow``: Spark hands each Python worker Arrow record batches and takes Arrow record batches back, so
the rows go straight into the vectorized twin with no pandas in between (``mapInPandas`` would convert every
batch to a DataFrame and back), and it is the very ``validator.data.scoring.score_batch`` that ``weights score``
runs: the same columns, the same results, the near-threshold rows re-decided by the scalar evaluator.

Why the scorer ships the model's document and not the compiled model: an evaluator may hold generated code,
which does not pickle; the document and contract are plain data. Each task compiles the twin once, on its first
batch (milliseconds: the gate already ran on the driver, in ``model_source``).

A ranking ranks each query's items as one request, so they must reach one task, adjacent and in the app's
order: ``df.repartition("query_id").sortWithinPartitions("query_id", "position")``. Within a task, batches are
re-cut so a query never spans two (as in ``weights score``). A bandit's draws are seeded per partition and
batch (reproducible for the same partitioning).
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pyarrow as pa

from validator.data.batch import BatchError, output_schema, scored, wanted_columns
from validator.data.model_source import LoadedModel
from validator.kinds.contract import Contract

PARTITION_SEED_STRIDE = 1 << 32  # a partition's bandit seeds: seed + partition * stride + batch number


class ArrowScorer:
    """The function ``mapInArrow`` calls once per partition: record batches in, result batches out.

    Output columns: ``keep`` (copied from the input), the model's results, ``version`` — the schema
    :func:`spark_schema` returns for the same arguments.
    """

    def __init__(self, model: LoadedModel, keep: Sequence[str] = (), *, group: str | None = None,
                 seed: int = 0) -> None:
        self.name = model.name
        self.document: Mapping[str, Any] = dict(model.document)
        self.contract: Contract | None = model.contract
        self.version = model.version
        self.keep = list(dict.fromkeys(keep))
        self.group = group if group is not None else model.group
        self.seed = seed
        self._twin: Any = model.twin

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_twin"] = None  # compiled again in the worker: generated code does not pickle
        return state

    def twin(self) -> Any:
        if self._twin is None:
            from validator.kinds.vectorized import compile_vectorized

            self._twin = compile_vectorized(self.document, self.contract)
        return self._twin

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        twin = self.twin()
        stream = iter(batches)
        first = next(stream, None)
        if first is None:
            return
        kept = pa.schema([first.schema.field(name) for name in self.keep])
        schema = output_schema(twin, kept)

        def everything() -> Iterator[pa.RecordBatch]:
            yield first
            yield from stream

        yield from scored(twin, everything(), self.keep, self.version, schema, f"model {self.name!r} in Spark",
                          group=self.group, seed=self.seed + _partition() * PARTITION_SEED_STRIDE)


def _partition() -> int:
    from pyspark import TaskContext

    context = TaskContext.get()
    return context.partitionId() if context is not None else 0


def spark_schema(model: LoadedModel, input_schema: Any, keep: Sequence[str] = ()) -> Any:
    """The Spark ``StructType`` of the scores: the kept columns as ``input_schema`` (the DataFrame's) types
    them, the model's results, ``version``. Pass it to ``mapInArrow`` (``.simpleString()`` gives DDL)."""
    from validator.extras import require

    require("spark", "pyspark", feature="validator.data.spark")
    from pyspark.sql.pandas.types import from_arrow_schema
    from pyspark.sql.types import StructType

    keep = list(dict.fromkeys(keep))
    fields = {f.name: f for f in input_schema.fields}
    missing = [name for name in keep if name not in fields]
    if missing:
        raise BatchError(f"the DataFrame has no column {missing[0]!r} (asked to keep it); its columns: "
                         f"{', '.join(fields)}")
    results = from_arrow_schema(output_schema(model.twin, pa.schema([])), prefer_timestamp_ntz=True)
    return StructType([fields[name] for name in keep] + list(results.fields))


def score_dataframe(df: Any, model: LoadedModel, keep: Sequence[str] = (), *, group: str | None = None,
                    seed: int = 0) -> Any:
    """``df`` scored by ``model`` (lazily, as Spark does everything): a DataFrame of :func:`spark_schema`.

    The columns the model reads (and the group column) are checked on the driver, so a missing one fails
    here, naming it, and not in a task on an executor.
    """
    group = group if group is not None else model.group
    needed = [w.name for w in wanted_columns(model.twin)] + ([group] if group else [])
    missing = [name for name in needed if name not in df.columns]
    if missing:
        raise BatchError(f"model {model.name!r} reads column {missing[0]!r}, which the DataFrame does not have; "
                         f"its columns: {', '.join(df.columns)}")
    schema = spark_schema(model, df.schema, keep)
    columns = list(dict.fromkeys([*keep, *needed]))
    return df.select(*columns).mapInArrow(ArrowScorer(model, keep, group=group, seed=seed), schema)
