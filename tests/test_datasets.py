"""Replay datasets: Parquet and CSV read in bounded batches, typed columns, and clear refusals."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from validator.data.datasets import DatasetError, Wanted, count_rows, read_batches, to_column, to_columns

PROJECT = Path(__file__).resolve().parents[1]


def test_parquet_streams_in_batches_of_at_most_batch_rows() -> None:
    wanted = [Wanted("order_amount", "number"), Wanted("payment_method", "text")]
    sizes = [b.num_rows for b in read_batches(PROJECT, "tests/data/fraud_orders.parquet", wanted, 7000)]
    assert max(sizes) <= 7000 and sum(sizes) == 40_000 == count_rows(PROJECT, "tests/data/fraud_orders.parquet")


def test_csv_streams_with_the_models_types() -> None:
    wanted = [Wanted("nps_score", "number"), Wanted("subscription_plan", "text"), Wanted("churned_90d", None)]
    batches = list(read_batches(PROJECT, "tests/data/churn_customers.csv", wanted, 5000))
    assert sum(b.num_rows for b in batches) == 16_000 and max(b.num_rows for b in batches) <= 5000
    first = batches[0]
    assert first.schema.field("nps_score").type == pa.float64()
    assert first.schema.field("churned_90d").type == pa.bool_()
    assert first.column("nps_score").null_count > 0  # the customers who never answered the survey


def test_columns_keep_missing_values_missing() -> None:
    table = pa.table({"x": pa.array([1, None, 3]), "flag": pa.array([True, None, False]),
                      "word": pa.array(["a", None, "b"]).dictionary_encode()})
    cols = to_columns(table, {"x": "number", "flag": "boolean", "word": "category"}, "t.parquet")
    assert cols["x"].missing.tolist() == [False, True, False] and np.isnan(cols["x"].values[1])
    assert cols["flag"].missing.tolist() == [False, True, False]
    assert [cols["word"].python(i) for i in range(3)] == ["a", None, "b"]


@pytest.mark.parametrize("relpath, message", [
    ("/etc/passwd.csv", "inside the repository"),
    ("../outside.parquet", "inside the repository"),
    ("tests/data/nothing.parquet", "does not exist"),
    ("tests/data/generate.py", "unknown format"),
])
def test_bad_paths_are_refused_with_the_reason(relpath, message) -> None:
    with pytest.raises(DatasetError, match=message):
        list(read_batches(PROJECT, relpath, [Wanted("x", "number")]))


def test_a_missing_column_is_named_with_a_suggestion() -> None:
    with pytest.raises(DatasetError, match=r"no column 'order_amout' \(did you mean 'order_amount'\?\)"):
        list(read_batches(PROJECT, "tests/data/fraud_orders.parquet", [Wanted("order_amout", "number")]))


def test_a_column_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    pq.write_table(pa.table({"amount": ["12", "x"]}), tmp_path / "d.parquet")
    batch = next(read_batches(tmp_path, "d.parquet", [Wanted("amount", "number")]))
    with pytest.raises(DatasetError, match="column 'amount', holds string, but the model reads it as a number"):
        to_column(batch.column("amount"), "number", "dataset d.parquet, column 'amount',")
    (tmp_path / "d.csv").write_text("amount\n12\nabc\n")
    with pytest.raises(DatasetError, match="d.csv cannot be read"):
        list(read_batches(tmp_path, "d.csv", [Wanted("amount", "number")]))
