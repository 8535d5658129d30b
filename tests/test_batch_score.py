"""``weights score``: the sample data scored through a real subprocess, in Parquet and CSV, checked row by row
against the scalar evaluator (the request path); bounded batches; errors; and no half-written output.

Tolerance: scores agree with the scalar evaluator within 1e-12 absolute (scores are probabilities or sums of a
few terms, so well above the twins' few-ulp differences); decisions, reason codes, segments, ranks and
refusals agree exactly (the twins re-decide near-threshold rows with the scalar evaluator).
"""
from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from conftest import git

from validator.data.batch import BatchError, score_file
from validator.data.model_source import from_repository
from validator.kinds import compile_model
from validator.kinds.base import InputError

PROJECT = Path(__file__).resolve().parents[1]
DATA = PROJECT / "tests" / "data"
TOLERANCE = 1e-12


def weights(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    env.update({"NO_COLOR": "1", "COLUMNS": "200"})
    return subprocess.run([sys.executable, "-m", "validator", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def read(path: Path) -> pa.Table:
    if path.suffix == ".csv":
        return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    return pq.read_table(path)


def scalar(root: Path, name: str) -> Any:
    from validator.api import validate_paths

    result = validate_paths(root)
    data = result.models[name]
    return compile_model(data, result.contracts.get(data["contract"]))


def requests(table: pa.Table, names: list[str]) -> list[dict[str, Any]]:
    """Each row as the request an app would send (a missing value left out)."""
    columns = {name: table.column(name).to_pylist() for name in names}
    return [{name: columns[name][i] for name in names if columns[name][i] is not None} for i in range(table.num_rows)]


def check_scorecard(root: Path, name: str, source: pa.Table, out: pa.Table, reasons_as_text: bool) -> None:
    model = scalar(root, name)
    inputs = list(model.specs)
    assert out.num_rows == source.num_rows
    scores, decisions = out.column("score").to_pylist(), out.column("decision").to_pylist()
    reasons, refused = out.column("reasons").to_pylist(), out.column("refused").to_pylist()
    for i, request in enumerate(requests(source, inputs)):
        try:
            expected = model.score(request)
        except InputError:
            assert refused[i] and scores[i] is None and decisions[i] is None, i
            continue
        assert not refused[i], i
        assert decisions[i] == expected.decision, (i, request)
        got = (reasons[i] or "").split(";") if reasons_as_text else reasons[i]
        assert [r for r in got if r] == list(expected.reasons), (i, request)
        assert math.isclose(scores[i], expected.value, rel_tol=0, abs_tol=TOLERANCE), (i, scores[i], expected.value)


def test_parquet_in_parquet_out_equals_the_scalar_evaluator_row_by_row(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "scores.parquet"
    ran = weights("score", "fraud_risk", "--input", str(DATA / "fraud_orders.parquet"), "--output", str(out),
                  "--keep", "order_id", "--batch-rows", "7000", cwd=repo)
    assert ran.returncode == 0, ran.stderr
    # 40,000 rows in batches of at most 7,000: the file was never read whole.
    assert ran.stdout.strip().endswith(f"in 6 batches of at most 7000 rows -> {out}")
    table = pq.read_table(out)
    assert table.column_names == ["order_id", "score", "decision", "reasons", "refused", "version"]
    assert set(table.column("version").to_pylist()) == {"worktree"}
    source = pq.read_table(DATA / "fraud_orders.parquet")
    assert table.column("order_id").to_pylist() == source.column("order_id").to_pylist()
    check_scorecard(repo, "fraud_risk", source, table, reasons_as_text=False)


def test_csv_in_csv_out_equals_the_scalar_evaluator_row_by_row(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "coupons.csv"
    ran = weights("score", "churn_coupon", "--input", str(DATA / "churn_customers.csv"), "--output", str(out),
                  "--keep", "customer_id", "--batch-rows", "3000", cwd=repo)
    assert ran.returncode == 0, ran.stderr
    assert "in 6 batches of at most 3000 rows" in ran.stdout
    with out.open(newline="", encoding="utf-8") as stream:
        header = next(csv.reader(stream))
    assert header == ["customer_id", "score", "decision", "reasons", "refused", "version"]
    source = pacsv.read_csv(DATA / "churn_customers.csv")
    table = read(out)
    assert table.column("customer_id").to_pylist() == source.column("customer_id").to_pylist()
    check_scorecard(repo, "churn_coupon", source, table, reasons_as_text=True)


def test_csv_in_parquet_out_for_segments_equals_the_scalar_evaluator(repo: Path, tmp_path: Path) -> None:
    # customers.parquet -> CSV -> Parquet: both readers, both writers, one more kind.
    source = pq.read_table(DATA / "customers.parquet")
    csv_in = tmp_path / "customers.csv"
    pacsv.write_csv(source, csv_in)
    out = tmp_path / "segments.parquet"
    ran = weights("score", "customer_segments", "--input", str(csv_in), "--output", str(out),
                  "--keep", "customer_id", cwd=repo)
    assert ran.returncode == 0, ran.stderr
    table = pq.read_table(out)
    model = scalar(repo, "customer_segments")
    inputs = list(from_repository(repo, "customer_segments").twin.input_types)
    got = table.select(["segment", "variant", "distance", "fallback", "refused"]).to_pylist()
    for row, request in zip(got, requests(source, inputs), strict=True):
        try:
            expected = model.assign(request)
        except InputError:
            assert row["refused"] and row["segment"] is None
            continue
        assert (row["segment"], row["variant"], row["fallback"]) == (expected.segment, expected.variant,
                                                                     expected.fallback)
        assert math.isclose(row["distance"], expected.distance, rel_tol=0, abs_tol=TOLERANCE)


def test_a_ranking_keeps_each_query_in_one_batch(repo: Path, tmp_path: Path) -> None:
    model = from_repository(repo, "search_ranking")
    assert model.group == "query_id"  # the model's replay.query
    small = score_file(model.twin, DATA / "search_candidates.parquet", tmp_path / "small.parquet",
                       batch_rows=500, version="v", keep=["query_id", "item_id"], group=model.group)
    whole = score_file(model.twin, DATA / "search_candidates.parquet", tmp_path / "whole.parquet",
                       batch_rows=1_000_000, version="v", keep=["query_id", "item_id"], group=model.group)
    assert small.batches > 40 and whole.batches == 1
    a, b = pq.read_table(tmp_path / "small.parquet"), pq.read_table(tmp_path / "whole.parquet")
    assert a.column("rank").to_pylist() == b.column("rank").to_pylist()
    # ... and equal to the scalar rank() of each query (its items as the app sends them).
    source = pq.read_table(DATA / "search_candidates.parquet")
    evaluator = scalar(repo, "search_ranking")
    inputs = list(model.twin.input_types)
    rows = requests(source, inputs)
    queries = source.column("query_id").to_pylist()
    ranks = a.column("rank").to_pylist()
    start = 0
    for end in range(1, len(rows) + 1):
        if end == len(rows) or queries[end] != queries[start]:
            items = [dict(rows[i], _row=i) for i in range(start, end)]
            for entry in evaluator.rank(items).items:
                assert ranks[entry.item["_row"]] == entry.rank, queries[start]
            start = end


def test_a_revision_scores_with_its_weights_and_stamps_its_commit(git_repo: Path, tmp_path: Path) -> None:
    head = git(git_repo, "rev-parse", "HEAD").strip()
    path = git_repo / "weights" / "churn_coupon.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("below: 0.45", "below: 0.05"), encoding="utf-8")
    rows = ["--input", str(DATA / "churn_customers.csv"), "--keep", "customer_id"]
    ran_rev = weights("score", "churn_coupon", *rows, "--output", str(tmp_path / "rev.parquet"), "--rev", "HEAD",
                      cwd=git_repo)
    ran_tree = weights("score", "churn_coupon", *rows, "--output", str(tmp_path / "tree.parquet"), cwd=git_repo)
    assert ran_rev.returncode == 0 and ran_tree.returncode == 0, ran_rev.stderr + ran_tree.stderr
    rev, tree = pq.read_table(tmp_path / "rev.parquet"), pq.read_table(tmp_path / "tree.parquet")
    assert set(rev.column("version").to_pylist()) == {head}
    assert set(tree.column("version").to_pylist()) == {"worktree"}
    rev_coupons = rev.column("decision").to_pylist().count("coupon")
    tree_coupons = tree.column("decision").to_pylist().count("coupon")
    assert 0 < rev_coupons < tree_coupons  # the edited threshold hands out more coupons; HEAD's does not


def test_a_missing_input_column_names_the_column_and_the_file(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    ran = weights("score", "churn_coupon", "--input", str(DATA / "customers.parquet"), "--output", str(out),
                  cwd=repo)
    assert ran.returncode == 2
    assert f"{DATA / 'customers.parquet'} has no column 'support_tickets_90d'" in ran.stderr
    assert "Traceback" not in ran.stderr and not out.exists()
    kept = weights("score", "fraud_risk", "--input", str(DATA / "fraud_orders.parquet"), "--output", str(out),
                   "--keep", "order_idd", cwd=repo)
    assert kept.returncode == 2 and "no column 'order_idd' (asked for with --keep)" in kept.stderr
    assert "did you mean 'order_id'" in kept.stderr


@pytest.mark.parametrize("problem", ["not parquet", "absent", "unknown suffix", "text in a number column"])
def test_an_unreadable_input_is_exit_2_and_writes_nothing(repo: Path, tmp_path: Path, problem: str) -> None:
    bad = {"not parquet": tmp_path / "orders.parquet", "absent": tmp_path / "nowhere.csv",
           "unknown suffix": tmp_path / "orders.json", "text in a number column": tmp_path / "customers.csv"}[problem]
    if problem in ("not parquet", "unknown suffix"):
        bad.write_text("this is not a table\n", encoding="utf-8")
    if problem == "text in a number column":
        bad.write_text((DATA / "churn_customers.csv").read_text(encoding="utf-8").replace(",5,", ",five,", 1),
                       encoding="utf-8")
    out = tmp_path / "out.parquet"
    ran = weights("score", "churn_coupon", "--input", str(bad), "--output", str(out), cwd=repo)
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert str(bad) in ran.stderr and "Traceback" not in ran.stderr
    assert not out.exists()


def test_a_missing_output_folder_is_exit_2(repo: Path, tmp_path: Path) -> None:
    ran = weights("score", "churn_coupon", "--input", str(DATA / "churn_customers.csv"), "--output",
                  str(tmp_path / "no" / "such" / "out.csv"), cwd=repo)
    assert ran.returncode == 2
    assert f"the output folder {tmp_path / 'no' / 'such'} does not exist" in ran.stderr


def test_an_input_failing_mid_way_leaves_the_old_output_whole(repo: Path, tmp_path: Path) -> None:
    # Three copies of the customers, then one malformed row: the first ~1 MB block is scored and written in
    # batches of 1,000 before the reader meets the bad row in the next block.
    lines = (DATA / "churn_customers.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    work = tmp_path / "job"
    work.mkdir()
    bad = work / "customers.csv"
    bad.write_text(lines[0] + "".join(lines[1:]) * 3 + "c999999,12,3,0,eight,basic,0.1,false\n", encoding="utf-8")
    out = work / "scores.parquet"
    out.write_bytes(b"yesterday's scores")
    ran = weights("score", "churn_coupon", "--input", str(bad), "--output", str(out), "--batch-rows", "1000",
                  cwd=repo)
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert f"{bad} cannot be read" in ran.stderr and "eight" in ran.stderr and "Traceback" not in ran.stderr
    assert out.read_bytes() == b"yesterday's scores"
    assert sorted(p.name for p in work.iterdir()) == ["customers.csv", "scores.parquet"]  # no temp file left
    # The library, watched: batches were written before the failure, and still nothing replaced the output.
    written: list[int] = []
    model = from_repository(repo, "churn_coupon")
    with pytest.raises(BatchError, match="eight"):
        score_file(model.twin, bad, out, batch_rows=1000, version="v", sinks=[lambda b: written.append(b.num_rows)])
    assert len(written) >= 10 and out.read_bytes() == b"yesterday's scores"
    assert sorted(p.name for p in work.iterdir()) == ["customers.csv", "scores.parquet"]


def test_the_library_reports_the_batches_it_read(repo: Path, tmp_path: Path) -> None:
    model = from_repository(repo, "churn_coupon")
    result = score_file(model.twin, DATA / "churn_customers.csv", tmp_path / "out.parquet", batch_rows=1024,
                        version=model.version, keep=["customer_id"])
    assert (result.rows, result.batches, result.largest_batch) == (16000, 16, 1024)
    assert pq.ParquetFile(tmp_path / "out.parquet").metadata.num_rows == 16000


def test_a_kept_column_named_like_a_result_is_refused(repo: Path, tmp_path: Path) -> None:
    model = from_repository(repo, "churn_coupon")
    table = pacsv.read_csv(DATA / "churn_customers.csv").append_column("decision", pa.array(["x"] * 16000))
    path = tmp_path / "with_decision.parquet"
    pq.write_table(table, path)
    with pytest.raises(BatchError, match="--keep 'decision' has the name of a result column"):
        score_file(model.twin, path, tmp_path / "x.parquet", version="v", keep=["decision"])
    assert not (tmp_path / "x.parquet").exists()


def test_usage_errors_are_exit_2(repo: Path, tmp_path: Path) -> None:
    base = ["score", "churn_coupon", "--input", str(DATA / "churn_customers.csv")]
    assert weights(*base, cwd=repo).returncode == 2  # no output at all
    assert weights(*base, "--output", str(tmp_path / "o.csv"), "--key", "customer_id", cwd=repo).returncode == 2
    assert weights(*base, "--to", "redis://127.0.0.1:1/0", cwd=repo).returncode == 2  # --to without --key/--ttl
    unknown = weights("score", "churn_coupn", "--input", str(DATA / "churn_customers.csv"), "--output",
                      str(tmp_path / "o.csv"), cwd=repo)
    assert unknown.returncode == 2 and "did you mean 'churn_coupon'" in unknown.stderr


def test_weights_that_fail_the_gate_are_exit_1(repo: Path, tmp_path: Path) -> None:
    path = repo / "weights" / "churn_coupon.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("weight: 1.2", "weight: 9.5"), encoding="utf-8")
    ran = weights("score", "churn_coupon", "--input", str(DATA / "churn_customers.csv"), "--output",
                  str(tmp_path / "o.csv"), cwd=repo)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "do not pass the gate" in ran.stderr and "weights/churn_coupon.yaml:" in ran.stderr
    assert not (tmp_path / "o.csv").exists()


def test_a_published_bundle_scores_with_its_verified_version(tmp_path: Path) -> None:
    from publish_helpers import served
    from runtime_helpers import Site, document

    from validator.data.scoring import score_batch
    from validator.kinds.contract import Contract
    from validator.kinds.vectorized import compile_vectorized

    site = Site(tmp_path / "site")
    published = document(3)  # fraud_risk's intercept moved: scores that only this bundle gives
    version = site.publish(published)
    root = tmp_path / "root.json"
    root.write_bytes(site.root)
    out = tmp_path / "scores.parquet"
    with served(site.folder) as server:
        ran = weights("score", "fraud_risk", "--url", server.url, "--trusted-root", str(root), "--input",
                      str(DATA / "fraud_orders.parquet"), "--output", str(out), "--keep", "order_id", cwd=tmp_path)
        wrong_root = tmp_path / "other-root.json"
        wrong_root.write_bytes(Site(tmp_path / "other").root)
        refused = weights("score", "fraud_risk", "--url", server.url, "--trusted-root", str(wrong_root),
                          "--input", str(DATA / "fraud_orders.parquet"), "--output", str(tmp_path / "x.parquet"),
                          cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert f"with fraud_risk ({version})" in ran.stdout
    table = pq.read_table(out)
    assert set(table.column("version").to_pylist()) == {str(version)}
    data = published["models"]["fraud_risk"]
    twin = compile_vectorized(data, Contract.from_dict(data["contract"], published["contracts"][data["contract"]]))
    expected = score_batch(twin, pq.read_table(DATA / "fraud_orders.parquet").combine_chunks().to_batches()[0])
    assert table.column("decision").to_pylist() == expected.column("decision").to_pylist()
    assert table.column("score").to_pylist() == expected.column("score").to_pylist()
    assert refused.returncode == 2 and "cannot use the bundle published at" in refused.stderr
    assert not (tmp_path / "x.parquet").exists()


def test_a_failing_sink_stops_the_run_and_writes_nothing(repo: Path, tmp_path: Path) -> None:
    # The writer thread's error reaches the caller; the scoring stops; the output is not put in place.
    model = from_repository(repo, "churn_coupon")
    work = tmp_path / "job"
    work.mkdir()
    seen: list[int] = []

    def flaky(batch: pa.RecordBatch) -> None:
        seen.append(batch.num_rows)
        if len(seen) == 3:
            raise RuntimeError("the profile store went away")

    with pytest.raises(RuntimeError, match="the profile store went away"):
        score_file(model.twin, DATA / "churn_customers.csv", work / "out.parquet", batch_rows=500, version="v",
                   sinks=[flaky])
    assert len(seen) == 3  # nothing handed on after the failure
    assert list(work.iterdir()) == []
