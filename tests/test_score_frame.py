"""The notebook API and the scoring core under it, against the real thing: the project's sample data scored by
``score_frame`` agrees row by row with the scalar evaluator the app runs (decisions, reason codes, segment ids,
ranks, variants and found flags exactly; values within ``twin_agreement``'s stated tolerance), models load from
real git revisions, pandas and Arrow go in and come out, and what an analyst can get wrong is a clear error.
``compare`` is checked against ``weights check``'s own replay on the same rows: the same numbers, not lookalikes.
"""
from __future__ import annotations

import math
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from twin_agreement import VALUE_ABS, VALUE_REL, assert_values_agree

from validator.api import ValidationFailed, load_models
from validator.data.scoring import load_scorer, output_schema, score_batch
from validator.kinds import InputError
from validator.notebook import NotebookError, compare, score_frame

PROJECT = Path(__file__).resolve().parents[1]


def _read(relpath: str) -> pa.Table:
    path = PROJECT / relpath
    return pq.read_table(path) if path.suffix == ".parquet" else pacsv.read_csv(path)


@pytest.fixture(scope="module")
def scalar() -> dict[str, Any]:
    """Every model of this repository as the app compiles it (the scalar request-path evaluators)."""
    return load_models(PROJECT)


def _requests(table: pa.Table, names: list[str]) -> list[dict[str, Any]]:
    """Rows as the app sends them: the model's inputs, a missing value left out."""
    rows = table.select(names).to_pylist()
    return [{k: v for k, v in row.items() if v is not None and not (isinstance(v, float) and math.isnan(v))}
            for row in rows]


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def weights_repo(tmp_path: Path) -> Path:
    """This project's config, weights and sample data committed on ``main`` in a real git repository."""
    root = tmp_path / "weights-repo"
    root.mkdir()
    for folder in ("config", "weights", "tests/data"):
        shutil.copytree(PROJECT / folder, root / folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.email", "analyst@example.com")
    _git(root, "config", "user.name", "Ana Lyst")
    _git(root, "config", "commit.gpgsign", "false")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "weights as they are on main")
    return root


def _edit(root: Path, relpath: str, old: str, new: str) -> None:
    file = root / relpath
    text = file.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    file.write_text(text.replace(old, new), encoding="utf-8")


COUPON_BAND = "  - {decision: no_coupon, below: 0.45}"


# ------------------------------------------------------------------------- agreement with the scalar evaluator


@pytest.mark.parametrize(("name", "relpath"), [("churn_coupon", "tests/data/churn_customers.csv"),
                                               ("fraud_risk", "tests/data/fraud_orders.parquet")])
def test_scorecards_agree_with_the_scalar_evaluator_row_by_row(scalar: dict[str, Any], name: str,
                                                               relpath: str) -> None:
    data = _read(relpath)
    out = score_frame(name, data, root=PROJECT)
    assert isinstance(out, pa.Table) and out.num_rows == data.num_rows
    model = scalar[name]
    scores, decisions = out.column("score").to_pylist(), out.column("decision").to_pylist()
    reasons, refused = out.column("reasons").to_pylist(), out.column("refused").to_pylist()
    for i, request in enumerate(_requests(data, list(model.specs))):
        expected = model.score(request)
        assert refused[i] is False
        assert decisions[i] == expected.decision, (i, request)
        assert tuple(reasons[i]) == expected.reasons, (i, request)
        assert_values_agree(scores[i], expected.value, context=(i, request))
    assert set(decisions) == set(model.decisions)  # the sample data reaches every band: the check bites


def test_refused_rows_are_refused_as_the_app_refuses_them(scalar: dict[str, Any]) -> None:
    rows = pd.DataFrame({
        "days_since_last_order": [10.0, 10.0, 10.0, math.inf],
        "orders_12m": [3.0, None, 3.0, 3.0],              # missing, and the model has no default: refused
        "support_tickets_90d": [0.0, 0.0, 0.0, 0.0],
        "nps_score": [None, 9.0, 9.0, 9.0],               # missing, with a default: scored
        "subscription_plan": ["basic", "basic", "gold", "basic"],  # a level the model does not know: refused
        "discount_share": [0.1, 0.1, 0.1, 0.1],
    })
    out = score_frame("churn_coupon", rows, root=PROJECT)
    model = scalar["churn_coupon"]
    for i, request in enumerate(_requests(pa.Table.from_pandas(rows), list(model.specs))):
        try:
            expected = model.score(request)
        except InputError:
            assert bool(out["refused"].iloc[i]) is True
            assert pd.isna(out["decision"].iloc[i]) and math.isnan(out["score"].iloc[i])
            assert out["reasons"].iloc[i] is pd.NA or out["reasons"].isna().iloc[i]
            continue
        assert bool(out["refused"].iloc[i]) is False
        assert out["decision"].iloc[i] == expected.decision
    assert out["refused"].tolist() == [False, True, True, True]


def test_rankings_agree_with_the_scalar_evaluator_query_by_query(scalar: dict[str, Any]) -> None:
    data = _read("tests/data/search_candidates.parquet")
    out = score_frame("search_ranking", data, root=PROJECT)  # groups by the model's replay.query, query_id
    model = scalar["search_ranking"]
    names = [name for name, *_ in model._inputs]
    requests = _requests(data, names)
    queries = data.column("query_id").to_pylist()
    ranks, scores = out.column("rank").to_pylist(), out.column("score").to_pylist()
    start = 0
    checked = 0
    while start < len(queries):
        end = start
        while end < len(queries) and queries[end] == queries[start]:
            end += 1
        ranking = model.rank([dict(requests[r], _row=r) for r in range(start, end)])
        for entry in ranking.items:
            row = entry.item["_row"]
            assert ranks[row] == entry.rank, (queries[start], row)
            assert_values_agree(scores[row], entry.score, context=(queries[start], row))
        checked += 1
        start = end
    assert checked == 600


def test_a_ranking_without_a_group_scores_items_and_leaves_rank_empty() -> None:
    data = _read("tests/data/search_candidates.parquet").drop_columns(["query_id"])
    out = score_frame("search_ranking", data, root=PROJECT)
    assert out.column("rank").null_count == out.num_rows
    assert out.column("score").null_count == 0


def test_segments_agree_with_the_scalar_evaluator_row_by_row(scalar: dict[str, Any]) -> None:
    data = _read("tests/data/customers.parquet")
    out = score_frame("customer_segments", data.to_pandas(), root=PROJECT)
    model = scalar["customer_segments"]
    names = list(dict.fromkeys(f[0] for f in model._features))
    segments, variants = out["segment"].tolist(), out["variant"].tolist()
    fallbacks, distances = out["fallback"].tolist(), out["distance"].tolist()
    for i, request in enumerate(_requests(data, names)):
        expected = model.assign(request)
        assert (segments[i], variants[i], fallbacks[i]) == (expected.segment, expected.variant, expected.fallback), i
        assert_values_agree(distances[i], expected.distance, context=i)
    assert any(fallbacks) and not all(fallbacks)  # both outcomes are compared


def test_tables_agree_with_the_scalar_lookup_exactly(scalar: dict[str, Any]) -> None:
    data = _read("tests/data/search_requests.parquet")
    out = score_frame("category_boost", data, root=PROJECT)
    model = scalar["category_boost"]
    value_columns = [f.name for f in output_schema(load_scorer(PROJECT, "category_boost").model)
                     if f.name not in ("found", "refused")]
    found = out.column("found").to_pylist()
    names = [spec.name for spec in model._specs]
    for i, request in enumerate(_requests(data, names)):
        expected = model.lookup(request)
        assert found[i] is expected.found, i
        for column in value_columns:
            assert out.column(column)[i].as_py() == expected.values[column], (i, column)  # copied: exact
    assert True in found and False in found


def test_bandit_choices_follow_the_scalar_traffic_shares_and_repeat_with_the_seed(scalar: dict[str, Any]) -> None:
    rows = pa.table({"visitor": np.arange(200_000)})
    scorer = load_scorer(PROJECT, "homepage_hero")
    first = score_frame(scorer, rows, seed=7)
    again = score_frame(scorer, rows, seed=7)
    other = score_frame(scorer, rows, seed=8)
    assert first.column("variant").equals(again.column("variant"))
    assert not first.column("variant").equals(other.column("variant"))
    model = scalar["homepage_hero"]
    expected = model.expected_shares(n_draws=50_000, seed=1)
    counts = Counter(first.column("variant").to_pylist())
    # Random draws: 200,000 visitors put a share within 0.01 of its expectation (the largest standard error
    # is sqrt(0.25 / 200000) = 0.0011; the scalar's own 50,000-draw Monte Carlo adds at most 0.0022: 0.01 is
    # more than three of both together).
    for variant, share in expected.items():
        assert abs(counts[variant] / rows.num_rows - share) < 0.01, (variant, counts[variant], share)
    assert set(counts) <= set(expected)
    held = [v for v, h in zip(first.column("variant").to_pylist(), first.column("holdout").to_pylist(), strict=True)
            if h]
    assert held and set(held) == {model._holdout}


# --------------------------------------------------------------------------------------- pandas and Arrow


def test_pandas_in_pandas_out_keeps_the_index_and_the_callers_columns() -> None:
    frame = pd.read_csv(PROJECT / "tests/data/churn_customers.csv").iloc[:50]
    frame.index = pd.Index([f"row{i}" for i in range(50)], name="key")
    out = score_frame("churn_coupon", frame, root=PROJECT)
    assert isinstance(out, pd.DataFrame)
    assert out.index.equals(frame.index)
    assert list(out.columns) == [*frame.columns, "score", "decision", "reasons", "refused"]
    pd.testing.assert_frame_equal(out[frame.columns], frame)
    assert out["score"].dtype == np.float64
    assert all(isinstance(code, str) for codes in out["reasons"] for code in codes)
    arrow = score_frame("churn_coupon", pa.Table.from_pandas(frame, preserve_index=False), root=PROJECT)
    assert arrow.column("decision").to_pylist() == out["decision"].tolist()
    np.testing.assert_array_equal(arrow.column("score").to_numpy(), out["score"].to_numpy())


def test_arrow_batches_in_batches_out_and_a_prefix_names_results_apart() -> None:
    batch = _read("tests/data/customers.parquet").to_batches(max_chunksize=100)[0]
    out = score_frame("customer_segments", batch, root=PROJECT, prefix="seg_")
    assert isinstance(out, pa.RecordBatch) and out.num_rows == batch.num_rows
    assert out.schema.names == [*batch.schema.names, "seg_segment", "seg_variant", "seg_distance", "seg_fallback",
                                "seg_refused"]
    with pytest.raises(NotebookError, match=r"already has column\(s\) seg_segment.*prefix="):
        score_frame("customer_segments", out, root=PROJECT, prefix="seg_")


def test_an_already_compiled_model_scores_without_a_repository() -> None:
    scorer = load_scorer(PROJECT, "fraud_risk")
    data = _read("tests/data/fraud_orders.parquet").slice(0, 500)
    by_name = score_frame("fraud_risk", data, root=PROJECT)
    assert score_frame(scorer.model, data).equals(by_name)
    assert score_frame(scorer, data).equals(by_name)
    assert score_batch(scorer.model, data).schema == output_schema(scorer.model)


# ------------------------------------------------------------------------------------------ revisions


def test_a_model_loads_from_a_git_revision_and_from_the_work_tree(weights_repo: Path) -> None:
    frame = pd.read_csv(weights_repo / "tests/data/churn_customers.csv")
    on_main = score_frame("churn_coupon", frame, root=weights_repo)
    _edit(weights_repo, "weights/churn_coupon.yaml", COUPON_BAND, "  - {decision: no_coupon, below: 0.30}")
    _git(weights_repo, "commit", "-q", "-am", "coupons from a churn probability of 0.30")
    _edit(weights_repo, "weights/churn_coupon.yaml", "below: 0.30}", "below: 0.60}")  # uncommitted
    work_tree = score_frame("churn_coupon", frame, root=weights_repo)
    head = score_frame("churn_coupon", frame, revision="HEAD", root=weights_repo)
    main = score_frame("churn_coupon", frame, revision="main~0", root=weights_repo)
    first = score_frame("churn_coupon", frame, revision="HEAD~1", root=weights_repo)
    coupon = {label: (out["decision"] == "coupon").sum() for label, out in
              (("tree", work_tree), ("head", head), ("main", main), ("first", first), ("before", on_main))}
    assert coupon["head"] == coupon["main"]
    assert coupon["first"] == coupon["before"]
    assert coupon["tree"] < coupon["first"] < coupon["head"]
    # The scores are the same model's: only the band moved.
    np.testing.assert_array_equal(head["score"].to_numpy(), work_tree["score"].to_numpy())
    assert (work_tree["decision"] == "coupon").eq(work_tree["score"] >= 0.60).all()


def test_a_bad_revision_is_a_clear_error(weights_repo: Path) -> None:
    frame = pd.read_csv(weights_repo / "tests/data/churn_customers.csv").iloc[:10]
    with pytest.raises(NotebookError, match="no-such-branch"):
        score_frame("churn_coupon", frame, revision="no-such-branch", root=weights_repo)
    with pytest.raises(NotebookError, match="no-such-branch"):
        compare("no-such-branch", None, frame, model="churn_coupon", root=weights_repo)


def test_weights_that_fail_the_gate_are_refused_with_their_findings(weights_repo: Path) -> None:
    _edit(weights_repo, "weights/churn_coupon.yaml", "intercept: -1.8", "intercept: .nan")
    frame = pd.read_csv(weights_repo / "tests/data/churn_customers.csv").iloc[:10]
    with pytest.raises(ValidationFailed, match=r"weights/churn_coupon.yaml:\d+"):
        score_frame("churn_coupon", frame, root=weights_repo)
    assert len(score_frame("churn_coupon", frame, revision="main", root=weights_repo)) == 10


# --------------------------------------------------------------------------------------------- errors


def test_an_unknown_model_names_the_models_there_are() -> None:
    with pytest.raises(NotebookError, match=r"no model 'churn_cupon'.*did you mean 'churn_coupon'"):
        score_frame("churn_cupon", pa.table({"x": [1]}), root=PROJECT)


def test_a_missing_column_names_the_model_and_the_column() -> None:
    frame = pd.read_csv(PROJECT / "tests/data/churn_customers.csv").iloc[:10].rename(
        columns={"orders_12m": "orders_last_year"})
    with pytest.raises(NotebookError, match=r"model 'churn_coupon' reads column 'orders_12m'.*orders_last_year"):
        score_frame("churn_coupon", frame, root=PROJECT)


def test_a_column_of_the_wrong_type_names_the_model_and_the_column() -> None:
    frame = pd.read_csv(PROJECT / "tests/data/churn_customers.csv").iloc[:10]
    frame["orders_12m"] = "many"
    with pytest.raises(NotebookError, match=r"model 'churn_coupon', column 'orders_12m', holds .*as a number"):
        score_frame("churn_coupon", frame, root=PROJECT)


def test_split_ranking_queries_and_odd_inputs_are_refused() -> None:
    data = _read("tests/data/search_candidates.parquet")
    shuffled = data.take(np.random.default_rng(0).permutation(data.num_rows))
    with pytest.raises(NotebookError, match=r"rows of a group in 'query_id' are not adjacent; sort the data"):
        score_frame("search_ranking", shuffled, root=PROJECT)
    with pytest.raises(NotebookError, match="pandas DataFrame or a pyarrow Table, got list"):
        score_frame("fraud_risk", [{"order_amount": 1.0}], root=PROJECT)
    with pytest.raises(NotebookError, match="vectorized model"):
        score_frame(load_models(PROJECT)["fraud_risk"], data)
    with pytest.raises(NotebookError, match="no weights repository"):
        score_frame("fraud_risk", data, root="/")


# -------------------------------------------------------------------------------------------- compare


def test_compare_measures_what_weights_check_measures_on_the_same_rows(weights_repo: Path) -> None:
    from validator.gate.check import run_check

    _edit(weights_repo, "weights/churn_coupon.yaml", COUPON_BAND, "  - {decision: no_coupon, below: 0.40}")
    frame = pd.read_csv(weights_repo / "tests/data/churn_customers.csv")
    result = compare("main", None, frame, root=weights_repo)
    check = run_check(weights_repo, "main", None)
    (replayed,) = [m.impact for m in check.models if m.impact is not None]
    impact = result["churn_coupon"]
    assert [i.model for i in result.impacts] == ["churn_coupon"]  # only what the change touches
    assert impact.metrics == replayed.metrics
    assert impact.summary == replayed.summary
    assert [(g.name, g.value, g.breached) for g in impact.guardrails] == \
        [(g.name, g.value, g.breached) for g in replayed.guardrails]
    assert result.passed is replayed.passed is False  # a 0.45 -> 0.40 threshold flips more than 2% of customers
    verdicts = result.guardrails_frame().set_index("guardrail")
    assert bool(verdicts.loc["max_decision_flip_rate", "breached"]) is True
    metrics = result.to_frame()
    assert metrics.loc[metrics.metric == "rows", "value"].item() == len(frame)
    assert result.to_dict()["models"]["churn_coupon"]["passed"] is False
    assert "BREACHED" in repr(result) and "BREACHED" in result._repr_html_()


def test_compare_on_a_subset_and_on_an_unchanged_model(weights_repo: Path) -> None:
    frame = pd.read_csv(weights_repo / "tests/data/churn_customers.csv")
    loyal = frame[frame["orders_12m"] >= 10]
    result = compare("main", None, loyal, model="churn_coupon", root=weights_repo)
    impact = result["churn_coupon"]
    assert impact.status == "unchanged" and impact.rows == len(loyal) and result.passed
    assert all(not g.breached and math.isclose(g.value, 0.0, abs_tol=VALUE_ABS + VALUE_REL) or g.name.endswith("delta")
               for g in impact.guardrails)


def test_compare_errors_name_what_to_fix(weights_repo: Path) -> None:
    frame = pd.read_csv(weights_repo / "tests/data/churn_customers.csv").drop(columns=["churned_90d"])
    with pytest.raises(NotebookError, match=r"'churn_coupon'.*no column 'churned_90d'"):
        compare("main", None, frame, model="churn_coupon", root=weights_repo)
    with pytest.raises(NotebookError, match=r"no model 'nope'"):
        compare("main", None, frame, model="nope", root=weights_repo)
    with pytest.raises(NotebookError, match="touches no model"):
        compare("main", None, frame, root=weights_repo)
    # Two changed models, and rows for one of them: the other is listed as not replayed, with why.
    _edit(weights_repo, "weights/customer_segments.yaml", "{orders_12m: 0.8, avg_basket: -0.6",
          "{orders_12m: 0.9, avg_basket: -0.6")
    _edit(weights_repo, "weights/churn_coupon.yaml", COUPON_BAND, "  - {decision: no_coupon, below: 0.44}")
    both = compare("main", None, frame.assign(churned_90d=False), root=weights_repo)
    assert [i.model for i in both.impacts] == ["churn_coupon"]
    assert list(both.skipped) == ["customer_segments"]
    assert "no column 'avg_basket_eur'" in both.skipped["customer_segments"]
    assert "customer_segments: not replayed" in repr(both)
