"""Scoring inside Spark (local mode, a real JVM): ``mapInArrow`` with ``validator.data.spark`` gives, row for row,
what ``weights score`` (``score_file``) writes for the same data.

One SparkSession for the module (local[1], two shuffle partitions, no UI): starting a JVM is the slow part.
Equality: decisions, reasons, segments, ranks, refusals and versions exactly; scores within 1e-12 (the same
twin over differently cut batches: the same arithmetic per row, the tolerance only states the contract).
"""
from __future__ import annotations

import dataclasses
import math
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from ci_env import tool_missing

from validator.data.batch import BatchError, score_file
from validator.data.model_source import from_repository
from validator.data.spark import ArrowScorer, score_dataframe, spark_schema

PROJECT = Path(__file__).resolve().parents[1]
DATA = PROJECT / "tests" / "data"
TOLERANCE = 1e-12


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        tool_missing("Spark needs Java (apt-get install -y openjdk-17-jre-headless)")
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (SparkSession.builder.master("local[1]").appName("weights-test-spark")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.sql.execution.arrow.maxRecordsPerBatch", "700")
               .config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.driver.host", "127.0.0.1")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()


def same(a: pa.Table, b: pa.Table, exact: list[str], close: list[str]) -> None:
    assert a.num_rows == b.num_rows
    for name in exact:
        assert a.column(name).to_pylist() == b.column(name).to_pylist(), name
    for name in close:
        for x, y in zip(a.column(name).to_pylist(), b.column(name).to_pylist(), strict=True):
            assert (x is None and y is None) or math.isclose(x, y, rel_tol=0, abs_tol=TOLERANCE), (name, x, y)


def test_a_scorecard_in_spark_equals_score_file_row_by_row(spark: Any, repo: Path, tmp_path: Path) -> None:
    model = from_repository(repo, "churn_coupon")
    parquet = tmp_path / "customers.parquet"
    pq.write_table(pacsv.read_csv(DATA / "churn_customers.csv"), parquet, row_group_size=4000)
    score_file(model.twin, DATA / "churn_customers.csv", tmp_path / "file.parquet", version=model.version,
               keep=["customer_id"])
    expected = pq.read_table(tmp_path / "file.parquet")
    df = spark.read.parquet(str(parquet)).repartition(3)  # rows scattered over three tasks
    scores = score_dataframe(df, model, keep=["customer_id"])
    assert scores.columns == expected.column_names
    got = scores.toArrow().sort_by("customer_id")
    same(got, expected.sort_by("customer_id"), ["customer_id", "decision", "reasons", "refused", "version"],
         ["score"])


def test_a_ranking_in_spark_ranks_each_query_whole(spark: Any, repo: Path, tmp_path: Path) -> None:
    model = from_repository(repo, "search_ranking")
    source = pq.read_table(DATA / "search_candidates.parquet")
    source = source.append_column("position", pa.array(range(source.num_rows), pa.int64()))
    parquet = tmp_path / "candidates.parquet"
    pq.write_table(source, parquet)
    score_file(model.twin, parquet, tmp_path / "file.parquet", version="v1", keep=["query_id", "position"],
               group="query_id")
    expected = pq.read_table(tmp_path / "file.parquet")
    df = spark.read.parquet(str(parquet)).repartition(2, "query_id").sortWithinPartitions("query_id", "position")
    # Batches of 700 rows cut through queries of 20-60 items: the scorer re-cuts them at query boundaries.
    scorer = ArrowScorer(dataclasses.replace(model, version="v1"), ["query_id", "position"])
    scores = df.mapInArrow(scorer, spark_schema(model, df.schema, ["query_id", "position"]))
    got = scores.toArrow().sort_by("position")
    same(got, expected, ["query_id", "position", "rank", "refused", "version"], ["score"])


def test_segments_in_spark_with_a_ddl_schema(spark: Any, repo: Path) -> None:
    model = from_repository(repo, "customer_segments")
    df = spark.read.parquet(str(DATA / "customers.parquet"))
    schema = spark_schema(model, df.schema, ["customer_id"])
    ddl = schema.simpleString()[len("struct<"):-1].replace(":", " ")
    assert ddl.startswith("customer_id string,segment string,variant string,distance double")
    got = df.mapInArrow(ArrowScorer(model, ["customer_id"]), schema).toArrow()
    table = pq.read_table(DATA / "customers.parquet")
    from validator.data.scoring import score_batch

    expected = score_batch(model.twin, table.combine_chunks().to_batches()[0])
    assert got.column("customer_id").to_pylist() == table.column("customer_id").to_pylist()
    same(got, pa.Table.from_batches([expected]), ["segment", "variant", "fallback", "refused"], ["distance"])


def test_a_missing_column_is_refused_on_the_driver(spark: Any, repo: Path) -> None:
    model = from_repository(repo, "churn_coupon")
    df = spark.read.parquet(str(DATA / "customers.parquet"))
    with pytest.raises(BatchError, match="reads column 'support_tickets_90d', which the DataFrame does not have"):
        score_dataframe(df, model, keep=["customer_id"])
    with pytest.raises(BatchError, match="no column 'client_id'"):
        spark_schema(model, df.schema, ["client_id"])
