"""Scoring inside DuckDB (validator.data.duck): a query's rows scored in record batches equal what
``weights score`` writes for the same rows; the scores stream back into a DuckDB table; errors name the column.

Equality: every column exactly (the same twin over the same rows; DuckDB hands over the same values)."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from validator.data.batch import BatchError, score_file
from validator.data.duck import score_relation, scored_reader
from validator.data.model_source import from_repository

PROJECT = Path(__file__).resolve().parents[1]
DATA = PROJECT / "tests" / "data"
CUSTOMERS = f"SELECT * FROM read_csv('{DATA / 'churn_customers.csv'}')"


def test_a_query_scored_in_duckdb_equals_weights_score(repo: Path, tmp_path: Path) -> None:
    model = from_repository(repo, "churn_coupon")
    score_file(model.twin, DATA / "churn_customers.csv", tmp_path / "file.parquet", version=model.version,
               keep=["customer_id"])
    expected = pq.read_table(tmp_path / "file.parquet")
    con = duckdb.connect()
    table = score_relation(con, CUSTOMERS, model, ["customer_id"], register="scores", batch_rows=2500)
    assert table.column_names == expected.column_names
    assert table.sort_by("customer_id").equals(expected.sort_by("customer_id"))
    counts = dict(con.sql("SELECT decision, count(*) FROM scores GROUP BY decision").fetchall())
    assert counts == {d: expected.column("decision").to_pylist().count(d) for d in ("coupon", "no_coupon")}


def test_scores_stream_back_into_a_duckdb_table_in_bounded_batches(repo: Path) -> None:
    model = from_repository(repo, "churn_coupon")
    con = duckdb.connect()
    sizes = [batch.num_rows for batch in scored_reader(con, CUSTOMERS, model, ["customer_id"], batch_rows=1000)]
    assert sum(sizes) == 16000 and max(sizes) <= 1000 and len(sizes) >= 16
    con.register("scored", scored_reader(con, CUSTOMERS, model, ["customer_id"], batch_rows=1000))
    con.execute("CREATE TABLE churn_scores AS SELECT * FROM scored")
    rows, coupons, versions = con.execute("SELECT count(*), count(*) FILTER (decision = 'coupon'), "
                                          "list(DISTINCT version) FROM churn_scores").fetchone()
    assert rows == 16000 and 0 < coupons < rows and versions == ["worktree"]


def test_a_ranking_query_in_query_order(repo: Path, tmp_path: Path) -> None:
    model = from_repository(repo, "search_ranking")
    path = DATA / "search_candidates.parquet"
    score_file(model.twin, path, tmp_path / "file.parquet", version=model.version, keep=["query_id", "item_id"],
               group="query_id")
    expected = pq.read_table(tmp_path / "file.parquet")
    con = duckdb.connect()
    # The file's own order (rows of a query adjacent, in the app's order): DuckDB keeps it with one thread.
    con.execute("SET threads = 1")
    got = score_relation(con, f"SELECT * FROM read_parquet('{path}')", model, ["query_id", "item_id"],
                         batch_rows=777)
    assert got.select(["query_id", "item_id", "rank", "refused"]).equals(
        expected.select(["query_id", "item_id", "rank", "refused"]))


def test_a_missing_column_or_a_bad_query_is_named(repo: Path) -> None:
    model = from_repository(repo, "churn_coupon")
    con = duckdb.connect()
    with pytest.raises(BatchError, match="no column 'support_tickets_90d' \\(model 'churn_coupon' reads it\\)"):
        scored_reader(con, f"SELECT * EXCLUDE (support_tickets_90d) FROM read_csv('{DATA / 'churn_customers.csv'}')",
                      model)
    with pytest.raises(BatchError, match="no column 'client_id' \\(asked to keep it\\)"):
        scored_reader(con, CUSTOMERS, model, ["client_id"])
    with pytest.raises(BatchError, match="the query cannot run"):
        scored_reader(con, "SELECT * FROM no_such_table", model)
