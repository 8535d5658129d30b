"""A model's replay dataset as a DuckDB query, end to end: a real git repository with this project's weights
and sample data, ``weights check`` (the library and the command) replaying a query with the same metrics as the
file it reads, and every bad query a finding at the model file's position with exit code 1."""
from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from cli_helpers import analyst_repo, run_weights
from cli_helpers import edit as shared_edit

from validator.data.datasets import DatasetError, Query, Wanted, read_batches
from validator.gate.check import run_check

PROJECT = Path(__file__).resolve().parents[1]
MODEL = "weights/fraud_risk.yaml"
FILE_DATASET = "  dataset: tests/data/fraud_orders.parquet\n"
NEW_ACCOUNT_WEIGHT = "    weight: 1.5                      # +1.5 for an account created today"


def weights(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return run_weights(cwd, *args, columns=250)


@pytest.fixture
def weights_repo(tmp_path: Path) -> Path:
    """This project's weights, contracts, sample data and golden cases committed on main, on a branch."""
    return analyst_repo(tmp_path / "weights-repo", branch="analyst/sql-replay")


def edit(root: Path, old: str, new: str, path: str = MODEL) -> None:
    shared_edit(root, old, new, path)


def use_query(root: Path, sql: str) -> None:
    """Replace the model's file dataset by ``sql`` written as a YAML block literal."""
    body = "".join(f"      {line}\n" for line in sql.strip("\n").splitlines())
    edit(root, FILE_DATASET, f"  dataset:\n    sql: |\n{body}")


def line_of(root: Path, needle: str, path: str = MODEL) -> int:
    return next(i for i, text in enumerate((root / path).read_text().splitlines(), 1) if needle in text)


def impact_metrics(root: Path) -> tuple[int, dict[str, float]]:
    result = run_check(root)
    (model,) = [m for m in result.models if m.name == "fraud_risk"]
    assert model.problem is None, model.problem.render()
    assert model.impact is not None
    return model.impact.rows, model.impact.metrics


def assert_same_metrics(got: dict[str, float], want: dict[str, float]) -> None:
    """Equal metrics; sums over rows in another order may differ in the last bits (relative 1e-9)."""
    assert got.keys() == want.keys()
    for key in want:
        assert math.isclose(got[key], want[key], rel_tol=1e-9, abs_tol=1e-12), (key, got[key], want[key])


# --------------------------------------------------------------------------------------------- replaying

def test_a_query_over_the_file_replays_with_the_files_metrics(weights_repo: Path) -> None:
    edit(weights_repo, NEW_ACCOUNT_WEIGHT, "    weight: 1.8")
    rows_file, from_file = impact_metrics(weights_repo)
    use_query(weights_repo, "SELECT * FROM read_parquet('tests/data/fraud_orders.parquet')")
    rows_query, from_query = impact_metrics(weights_repo)
    assert rows_query == rows_file == 40_000
    assert from_query == from_file  # the same rows in the same order: the very same numbers


def test_a_join_of_an_extract_replays_like_the_joined_file(weights_repo: Path) -> None:
    """The analyst's extract: orders without labels in Parquet, chargebacks in CSV, joined by the query."""
    orders = pq.read_table(weights_repo / "tests/data/fraud_orders.parquet")
    pq.write_table(orders.drop_columns(["is_fraud"]), weights_repo / "tests/data/orders_unlabelled.parquet")
    pacsv.write_csv(orders.select(["order_id", "is_fraud"]), weights_repo / "tests/data/chargebacks.csv")
    edit(weights_repo, NEW_ACCOUNT_WEIGHT, "    weight: 1.8")
    _, from_file = impact_metrics(weights_repo)
    use_query(weights_repo, """
        -- orders of the quarter, labelled by the chargeback extract
        SELECT o.*, c.is_fraud
        FROM read_parquet('tests/data/orders_unlabelled.parquet') AS o
        JOIN read_csv('tests/data/chargebacks.csv') AS c USING (order_id)
        ORDER BY o.order_id
    """)
    rows, from_query = impact_metrics(weights_repo)
    assert rows == orders.num_rows
    assert_same_metrics(from_query, from_file)


def test_a_filter_replays_only_its_rows(weights_repo: Path) -> None:
    orders = pq.read_table(weights_repo / "tests/data/fraud_orders.parquet")
    kept = orders.filter(pc.not_equal(orders.column("payment_method"), "gift_card"))
    pq.write_table(kept, weights_repo / "tests/data/no_gift_cards.parquet")
    edit(weights_repo, NEW_ACCOUNT_WEIGHT, "    weight: 1.8")
    edit(weights_repo, FILE_DATASET, "  dataset: tests/data/no_gift_cards.parquet\n")
    rows_file, from_file = impact_metrics(weights_repo)
    edit(weights_repo, "  dataset: tests/data/no_gift_cards.parquet\n", FILE_DATASET)
    use_query(weights_repo, "SELECT *\nFROM 'tests/data/fraud_orders.parquet'\nWHERE payment_method <> 'gift_card'")
    rows_query, from_query = impact_metrics(weights_repo)
    assert 0 < rows_query == rows_file == kept.num_rows < orders.num_rows
    assert from_query == from_file


def test_a_list_may_mix_files_and_queries(weights_repo: Path) -> None:
    edit(weights_repo, FILE_DATASET, "  dataset:\n    - tests/data/fraud_orders.parquet\n"
                                     "    - sql: SELECT * FROM 'tests/data/fraud_orders.parquet' LIMIT 1000\n")
    rows, _ = impact_metrics(weights_repo)
    assert rows == 41_000


def test_the_command_replays_a_query_from_any_folder(weights_repo: Path) -> None:
    use_query(weights_repo, "SELECT * FROM read_parquet('tests/data/fraud_orders.parquet')")
    edit(weights_repo, NEW_ACCOUNT_WEIGHT, "    weight: 1.515")
    result = weights(weights_repo / "weights", "check", "--format", "json")  # started in a subfolder
    assert result.returncode == 0, result.stdout + result.stderr
    (model,) = json.loads(result.stdout)["models"]
    assert model["impact"]["rows"] == 40_000
    assert model["impact"]["dataset"].startswith('query "SELECT * FROM read_parquet(')


# --------------------------------------------------------------------------------------------- bad queries

def test_a_query_that_is_not_a_select_is_a_finding_and_exits_1(weights_repo: Path) -> None:
    use_query(weights_repo, "COPY (SELECT * FROM 'tests/data/fraud_orders.parquet') TO 'stolen.csv'")
    result = weights(weights_repo, "check")
    assert result.returncode == 1, result.stdout + result.stderr
    line = line_of(weights_repo, "sql: |")
    assert f"{MODEL}:{line}:10: error replay.sql: query: a COPY statement, but only a SELECT may run" in result.stdout
    assert not (weights_repo / "stolen.csv").exists()
    assert "Traceback" not in result.stdout + result.stderr


def test_a_syntax_error_names_the_line_and_column_in_the_query(weights_repo: Path) -> None:
    use_query(weights_repo, "SELECT *\nFORM 'tests/data/fraud_orders.parquet'")
    result = weights(weights_repo, "check")
    assert result.returncode == 1, result.stdout + result.stderr
    line = line_of(weights_repo, "sql: |")
    assert f"{MODEL}:{line}:10: error replay.sql: query (line 2, column 6): syntax error at or near" \
        in result.stdout


def test_a_path_outside_the_repository_is_a_finding(weights_repo: Path) -> None:
    use_query(weights_repo, "SELECT * FROM read_csv('../../etc/passwd')")
    result = run_check(weights_repo)
    (finding,) = [f for f in result.validation.findings if f.rule == "replay.sql"]
    assert finding.path == MODEL and finding.line == line_of(weights_repo, "sql: |")
    assert "'../../etc/passwd' leads outside the repository" in finding.message
    assert result.exit_code == 1


def test_a_computed_path_outside_meets_the_sandbox_in_the_replay(weights_repo: Path) -> None:
    use_query(weights_repo, "SELECT * FROM read_csv('/etc/' || 'passwd')")
    result = run_check(weights_repo)
    (model,) = [m for m in result.models if m.name == "fraud_risk"]
    assert model.problem is not None and result.exit_code == 1
    assert model.problem.rule == "simulate.replay" and model.problem.line == line_of(weights_repo, "sql: |")
    assert "Permission Error" in model.problem.message and "root:" not in model.problem.message


def test_a_missing_column_names_the_query(weights_repo: Path) -> None:
    use_query(weights_repo, "SELECT order_amount, account_age_days, is_fraud FROM 'tests/data/fraud_orders.parquet'")
    result = run_check(weights_repo)
    (model,) = [m for m in result.models if m.name == "fraud_risk"]
    assert model.problem is not None and result.exit_code == 1
    assert (model.problem.line, model.problem.col) == (line_of(weights_repo, "sql: |"), 5)  # at its sql: key
    assert 'dataset query "SELECT order_amount, account_age_days, is_fraud FROM' in model.problem.message
    assert "has no column 'country_mismatch'" in model.problem.message


def test_a_missing_file_names_the_file(weights_repo: Path) -> None:
    use_query(weights_repo, "SELECT * FROM 'tests/data/fraud_order.parquet'")
    result = run_check(weights_repo)
    (model,) = [m for m in result.models if m.name == "fraud_risk"]
    assert model.problem is not None and '"tests/data/fraud_order.parquet"' in model.problem.message


def test_an_outcome_the_query_does_not_return_is_an_error_at_its_key(weights_repo: Path) -> None:
    use_query(weights_repo, "SELECT * EXCLUDE (is_fraud), is_fraud AS fraud FROM 'tests/data/fraud_orders.parquet'")
    result = run_check(weights_repo)
    (model,) = [m for m in result.models if m.name == "fraud_risk"]
    assert model.problem is not None
    assert model.problem.line == line_of(weights_repo, "outcome: is_fraud")
    assert "'is_fraud' is not a column of query" in model.problem.message and "did you mean" in model.problem.message


def test_a_column_of_the_wrong_type_names_the_query(weights_repo: Path) -> None:
    use_query(weights_repo, "SELECT * REPLACE (CAST(order_amount AS VARCHAR) AS order_amount) "
                            "FROM 'tests/data/fraud_orders.parquet'")
    result = run_check(weights_repo)
    (model,) = [m for m in result.models if m.name == "fraud_risk"]
    assert model.problem is not None
    assert "column 'order_amount', holds string, but the model reads it as a number" in model.problem.message
    assert 'query "SELECT * REPLACE' in model.problem.message


# --------------------------------------------------------------------------------------------- the reader

def test_read_batches_converts_a_querys_columns_like_a_files(weights_repo: Path) -> None:
    wanted = [Wanted("order_amount", "number"), Wanted("payment_method", "text"), Wanted("is_fraud", None)]
    from_file = pa.Table.from_batches(list(read_batches(weights_repo, "tests/data/fraud_orders.parquet", wanted,
                                                        7000)))
    batches = list(read_batches(weights_repo, Query("SELECT * FROM 'tests/data/fraud_orders.parquet'"), wanted, 7000))
    assert max(b.num_rows for b in batches) <= 7000
    from_query = pa.Table.from_batches(batches)
    assert from_query.column_names == ["order_amount", "payment_method", "is_fraud"]
    assert from_query.equals(from_file.cast(from_query.schema))


def test_a_query_that_fails_raises_a_dataset_error_with_its_key(weights_repo: Path) -> None:
    query = Query("SELECT nope FROM 'tests/data/fraud_orders.parquet'", ("replay", "dataset", 1, "sql"))
    with pytest.raises(DatasetError) as info:
        list(read_batches(weights_repo, query, [Wanted("nope", "number")]))
    assert info.value.key == ("replay", "dataset", 1, "sql") and '"nope" not found' in str(info.value)


@pytest.mark.parametrize("dataset, rule, message", [
    ('{sq: "SELECT 1"}', "schema.unknown-key", "unknown key 'sq' did you mean 'sql'?"),
    ("{sql: 42}", "schema.type", "expected string, got a number 42"),
    ('[tests/data/fraud_orders.parquet, {sql: ""}]', "schema.minLength", "should be non-empty"),
    ("tests/data/fraud_orders.txt", "schema.pattern", "does not match"),
])
def test_a_malformed_dataset_is_a_schema_finding_where_it_is(weights_repo: Path, dataset: str, rule: str,
                                                             message: str) -> None:
    from validator.api import validate_paths

    edit(weights_repo, FILE_DATASET, f"  dataset: {dataset}\n")
    findings = validate_paths(weights_repo, [MODEL]).findings
    assert findings and all(f.line == line_of(weights_repo, "  dataset: ") for f in findings)
    (hit,) = [f for f in findings if f.rule == rule]
    assert message in f"{hit.message} {hit.hint}"
