"""validator.export.export_scorecard: a LogisticRegression over one-hot categoricals and binned numerics, fitted on
the replay data and written into the scorecard, scores every row as scikit-learn's ``predict_proba`` does.

Tolerance: probabilities agree to 1e-9 absolute (in practice to a few ulp: the same coefficients summed in
another order); decisions (the file's bands applied to scikit-learn's probability) agree exactly.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")

from conftest import PROJECT  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import FunctionTransformer, KBinsDiscretizer, OneHotEncoder, StandardScaler  # noqa: E402

from validator.api import load_models, validate_paths  # noqa: E402
from validator.export import (  # noqa: E402
    CannotExpress,
    ExportError,
    ExportResult,
    ExportValidationFailed,
    InputMappingError,
    bin_indices,
    export_scorecard,
)
from validator.kinds.columns import columns_from_rows  # noqa: E402
from validator.kinds.scorecard.vectorized import compile_vectorized  # noqa: E402

TOLERANCE = 1e-9
CHURN = "weights/churn_coupon.yaml"
FRAUD = "weights/fraud_risk.yaml"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
CHURN_COLUMNS = ["days_since_last_order", "orders_12m", "support_tickets_90d", "nps_score", "subscription_plan",
                 "discount_share"]
NPS_EDGES = [7, 9]  # the file's detractor / passive / promoter bins


@pytest.fixture(scope="module")
def churn() -> pd.DataFrame:
    # nps_score's missing: default of 8, applied before fitting (the export does not impute)
    return pd.read_csv(PROJECT / "tests/data/churn_customers.csv").fillna({"nps_score": 8})


def _churn_pipeline(frame: pd.DataFrame, *, days: object = None, plan: object = None) -> Pipeline:
    pre = ColumnTransformer([
        ("lapsing", days or KBinsDiscretizer(n_bins=4, encode="onehot", strategy="quantile"),
         ["days_since_last_order"]),
        ("frequency", FunctionTransformer(np.log1p), ["orders_12m"]),
        ("support", FunctionTransformer(np.sqrt), ["support_tickets_90d"]),
        ("nps", OneHotEncoder(handle_unknown="ignore"), ["nps_score"]),  # the column holds bin_indices (bins=)
        ("plan", plan or OneHotEncoder(drop="first"), ["subscription_plan"]),
        ("deal", "passthrough", ["discount_share"]),
    ])
    pipe = Pipeline([("pre", pre), ("logistic", LogisticRegression(C=10.0, max_iter=2000))])
    return pipe.fit(_binned(frame), frame["churned_90d"])


def _binned(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[CHURN_COLUMNS].copy()
    out["nps_score"] = bin_indices(frame["nps_score"], NPS_EDGES)
    return out


def _export_churn(root: Path, pipe: Pipeline, **kwargs: Any) -> ExportResult:
    return export_scorecard(pipe, root / CHURN, inputs={c: c for c in CHURN_COLUMNS},
                            bins={"nps_score": NPS_EDGES}, **kwargs)


def _compare(root: Path, name: str, rows: pd.DataFrame, theirs: np.ndarray, thresholds: list[float],
             decisions: list[str]) -> None:
    model = load_models(root)[name]
    scores = [model.score(row) for row in rows.to_dict("records")]
    ours = np.array([s.value for s in scores])
    assert np.abs(ours - theirs).max() <= TOLERANCE
    expected = [decisions[int(np.searchsorted(thresholds, p, side="right"))] for p in theirs]
    assert [s.decision for s in scores] == expected
    # The replay's vectorized twin (what `weights check` runs) scores the same.
    checked = validate_paths(root)
    data = checked.models[name]
    twin = compile_vectorized(data, checked.contracts[data["contract"]])
    batch = twin.score(columns_from_rows(rows.to_dict("records"), twin.input_types))
    assert np.abs(batch.values - theirs).max() <= TOLERANCE
    assert [batch.labels[i] for i in batch.decisions] == expected


@pytest.fixture(scope="module")
def churn_fit(churn: pd.DataFrame) -> Pipeline:
    return _churn_pipeline(churn)


def test_churn_probabilities_and_decisions_equal_scikit_learn(repo: Path, churn, churn_fit: Pipeline) -> None:
    result = _export_churn(repo, churn_fit)
    assert result.written
    theirs = churn_fit.predict_proba(_binned(churn))[:, 1]
    _compare(repo, "churn_coupon", churn[CHURN_COLUMNS], theirs, [0.45], ["no_coupon", "coupon"])
    text = (repo / CHURN).read_text()
    assert "other: 0.0" not in text.split("name: subscription_plan")[1].split("- name")[0]  # drop='first', 'error'


def test_only_numbers_change_and_weights_diff_shows_them(git_repo: Path, churn_fit: Pipeline) -> None:
    before = (git_repo / CHURN).read_text()
    _export_churn(git_repo, churn_fit)
    after = (git_repo / CHURN).read_text()
    old_lines, new_lines = before.splitlines(), after.splitlines()
    assert len(old_lines) == len(new_lines)  # four quantile bins where the file has four
    for old, new in zip(old_lines, new_lines, strict=True):
        assert " ".join(NUMBER.sub("#", old).split()) == " ".join(NUMBER.sub("#", new).split()), (old, new)
    assert "reason: C03_DETRACTOR" in after and "# NPS answer: detractor 0-6" in after
    diff = subprocess.run([sys.executable, "-m", "validator", "diff", "--base", "HEAD", "--root", str(git_repo)],
                          capture_output=True, text=True, check=False)
    assert diff.returncode == 0, diff.stderr
    assert "churn_coupon" in diff.stdout and "intercept" in diff.stdout


def test_ordinal_bins_and_ignored_unknown_levels(repo: Path, churn) -> None:
    pipe = _churn_pipeline(churn, days=KBinsDiscretizer(n_bins=4, encode="ordinal", strategy="quantile"),
                           plan=OneHotEncoder(handle_unknown="ignore"))
    _export_churn(repo, pipe)
    import yaml

    data = yaml.safe_load((repo / CHURN).read_text())
    lapsing = data["terms"][0]
    edges = pipe.named_steps["pre"].named_transformers_["lapsing"].bin_edges_[0][1:-1]
    assert [b["value"] for b in lapsing["bins"]] == [0.0, 1.0, 2.0, 3.0]
    assert [b["to"] for b in lapsing["bins"][:-1]] == pytest.approx(list(edges), rel=0)
    assert lapsing["weight"] == pipe.named_steps["logistic"].coef_[0][0]
    assert data["terms"][4]["other"] == 0.0  # an unknown plan adds nothing, as the ignoring encoder's zeros do
    theirs = pipe.predict_proba(_binned(churn))[:, 1]
    _compare(repo, "churn_coupon", churn[CHURN_COLUMNS], theirs, [0.45], ["no_coupon", "coupon"])


def test_fraud_with_your_own_bins_booleans_and_a_dropped_level(repo: Path) -> None:
    frame = pd.read_parquet(PROJECT / "tests/data/fraud_orders.parquet").fillna({"email_domain_age_days": 365})
    frame["device_seen_before"] = frame["device_seen_before"].fillna(False).astype(bool)
    frame["payment_method"] = frame["payment_method"].astype(str)
    edges = {"order_amount": [150, 500, 2000], "account_age_days": [1, 7, 30, 180],
             "email_domain_age_days": [30, 180], "orders_last_24h": [2, 4, 8]}
    columns = [*edges, "payment_method", "country_mismatch", "shipping_to_billing_distance_km", "device_seen_before"]
    x = frame[columns].copy()
    for column, e in edges.items():
        x[column] = bin_indices(frame[column], e)
    pre = ColumnTransformer([
        *[(c, OneHotEncoder(categories=[list(range(len(e) + 1))], drop="first"), [c]) for c, e in edges.items()],
        ("payment", OneHotEncoder(drop=["card"]), ["payment_method"]),
        ("mismatch", "passthrough", ["country_mismatch"]),
        ("distance", FunctionTransformer(np.sqrt), ["shipping_to_billing_distance_km"]),
        ("device", "passthrough", ["device_seen_before"]),
    ])
    pipe = Pipeline([("pre", pre), ("logistic", LogisticRegression(max_iter=2000))]).fit(x, frame["is_fraud"])
    export_scorecard(pipe, repo / FRAUD, inputs={c: c for c in columns}, bins=edges)
    theirs = pipe.predict_proba(x)[:, 1]
    _compare(repo, "fraud_risk", frame[columns], theirs, [0.35, 0.7], ["approve", "review", "decline"])
    text = (repo / FRAUD).read_text()
    assert "card: 0.0" in text and "# the favourite way to launder stolen cards" in text


def test_a_new_file_from_the_weights_new_template(repo: Path, churn, churn_fit: Pipeline) -> None:
    (repo / CHURN).unlink()
    result = _export_churn(repo, churn_fit, contract="retention",
                           bands=[("no_coupon", 0.45), ("coupon", None)], owner="crm-analytics")
    assert result.old_text is None
    text = (repo / CHURN).read_text()
    assert text.startswith("# yaml-language-server: $schema=../config/schemas/scorecard.schema.json")
    assert "link: logistic" in text and "reason" not in text.split("terms:")[1]
    theirs = churn_fit.predict_proba(_binned(churn))[:, 1]
    _compare(repo, "churn_coupon", churn[CHURN_COLUMNS], theirs, [0.45], ["no_coupon", "coupon"])


# ----------------------------------------------------------------------------------------------- refusals


def _unchanged(repo: Path, rel: str = CHURN) -> bool:
    return (repo / rel).read_text() == (PROJECT / rel).read_text()


def test_multiclass_is_refused(repo: Path, churn) -> None:
    x = churn[["orders_12m", "discount_share"]]
    y = np.digitize(churn["days_since_last_order"], [30, 120])  # three classes
    pipe = LogisticRegression(max_iter=500).fit(x, y)
    with pytest.raises(CannotExpress, match=r"has 3 classes .* fit a binary outcome"):
        export_scorecard(pipe, repo / CHURN, inputs={"orders_12m": "orders_12m", "discount_share": "discount_share"})
    assert _unchanged(repo)


@pytest.mark.parametrize(("days", "message"), [
    (StandardScaler(), r"a StandardScaler before the LogisticRegression would fold"),
    (SimpleImputer(), r"lapsing \(SimpleImputer\): the scorecard kind cannot express a SimpleImputer"),
    (Pipeline([("log", FunctionTransformer(np.log1p)), ("bins", KBinsDiscretizer(3, encode="onehot"))]),
     r"lapsing/bins \(KBinsDiscretizer\): bins feature 'days_since_last_order' .* already transformed"),
])
def test_steps_the_kind_cannot_express_are_refused_by_name(repo: Path, churn, days, message) -> None:
    pipe = _churn_pipeline(churn, days=days)
    with pytest.raises(CannotExpress, match=message):
        _export_churn(repo, pipe)
    assert _unchanged(repo)


def test_a_term_read_differently_from_the_file_is_refused(repo: Path, churn) -> None:
    pipe = _churn_pipeline(churn, days=FunctionTransformer(np.log1p))
    with pytest.raises(CannotExpress, match=r"term 'lapsing' has bins in weights/churn_coupon.yaml, but the "
                                            r"estimator gives transform log1p"):
        _export_churn(repo, pipe)
    assert _unchanged(repo)


def test_other_in_the_file_needs_an_encoder_that_ignores_unknown_levels(repo: Path, churn_fit: Pipeline) -> None:
    text = (repo / CHURN).read_text().replace("premium: -0.4}", "premium: -0.4}\n    other: 0.0")
    (repo / CHURN).write_text(text)
    with pytest.raises(CannotExpress, match=r"the file gives unknown levels `other: 0.0`, but the encoder refuses"):
        _export_churn(repo, churn_fit)
    assert (repo / CHURN).read_text() == text


def test_an_identity_link_is_not_changed_behind_the_reviewers_back(repo: Path, churn_fit: Pipeline) -> None:
    text = (repo / CHURN).read_text().replace("link: logistic", "link: identity")
    (repo / CHURN).write_text(text)
    with pytest.raises(CannotExpress, match=r"has link 'identity'; a LogisticRegression is link logistic"):
        _export_churn(repo, churn_fit)


def test_inputs_are_checked_against_the_contract(repo: Path, churn_fit: Pipeline) -> None:
    inputs = {c: c for c in CHURN_COLUMNS} | {"subscription_plan": "plan"}
    with pytest.raises(InputMappingError, match=r"maps feature 'subscription_plan' to 'plan', which contract "
                                                r"'retention' does not declare"):
        export_scorecard(churn_fit, repo / CHURN, inputs=inputs, bins={"nps_score": NPS_EDGES})
    inputs = {c: c for c in CHURN_COLUMNS} | {"subscription_plan": "orders_12m", "orders_12m": "subscription_plan"}
    with pytest.raises(InputMappingError, match=r"feature 'orders_12m' is used as number or integer but contract "
                                                r"input 'subscription_plan' is a category"):
        export_scorecard(churn_fit, repo / CHURN, inputs=inputs, bins={"nps_score": NPS_EDGES})
    with pytest.raises(ExportError, match=r"bins= names 'nps', which is not a column"):
        export_scorecard(churn_fit, repo / CHURN, inputs={c: c for c in CHURN_COLUMNS}, bins={"nps": NPS_EDGES})
    assert _unchanged(repo)


def test_a_weight_outside_its_reviewed_bounds_is_refused_with_the_gates_finding(repo: Path,
                                                                                 churn_fit: Pipeline) -> None:
    text = (repo / CHURN).read_text().replace("bounds: {min: -2, max: 0}", "bounds: {min: -0.1, max: 0}")
    (repo / CHURN).write_text(text)
    with pytest.raises(ExportValidationFailed, match=r"weights/churn_coupon.yaml:\d+:\d+: error") as caught:
        _export_churn(repo, churn_fit)
    assert any("bound" in f.rule or "bound" in f.message for f in caught.value.findings)
    assert (repo / CHURN).read_text() == text


def test_a_closed_first_bin_is_not_opened_silently(repo: Path, churn_fit: Pipeline) -> None:
    text = (repo / CHURN).read_text().replace("- {to: 30, value: 0.0}", "- {from: 0, to: 30, value: 0.0}")
    (repo / CHURN).write_text(text)
    with pytest.raises(CannotExpress, match=r"term 'lapsing': the file's first bin has `from: 0`, but the fitted "
                                            r"bins are open below"):
        _export_churn(repo, churn_fit)
    assert (repo / CHURN).read_text() == text


# ----------------------------------------------------------------------------------------------- property

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_COEF = st.floats(-3, 3, allow_nan=False, allow_subnormal=True)
_EDGES = st.lists(st.floats(0, 3650, allow_nan=False), min_size=1, max_size=6, unique=True).map(sorted)


@settings(max_examples=25)
@given(edges=_EDGES, coefs=st.lists(_COEF, min_size=11, max_size=11), intercept=_COEF,
       days=st.lists(st.floats(0, 3650, allow_nan=False), min_size=1, max_size=20))
def test_any_bins_and_coefficients_score_as_scikit_learn(tmp_path_factory: pytest.TempPathFactory,
                                                         edges: list[float], coefs: list[float], intercept: float,
                                                         days: list[float]) -> None:
    """Bin edges anywhere in the contract's range, coefficients of any size (1e-300 too): written exactly."""
    root = tmp_path_factory.mktemp("repo")
    for folder in ("config", "weights"):
        shutil.copytree(PROJECT / folder, root / folder)
    (root / CHURN).unlink()
    plans = ["none", "basic", "plus", "premium"]
    fit_frame = pd.DataFrame({"days": list(range(len(edges) + 1)) * 4, "plan": plans * (len(edges) + 1)})
    pre = ColumnTransformer([("days", OneHotEncoder(categories=[list(range(len(edges) + 1))]), ["days"]),
                             ("plan", OneHotEncoder(categories=[plans]), ["plan"])]).fit(fit_frame)
    logistic = LogisticRegression()
    n = len(edges) + 1 + len(plans)
    logistic.classes_ = np.array([False, True])
    logistic.coef_ = np.array([coefs[:n]])
    logistic.intercept_ = np.array([intercept])
    logistic.n_features_in_ = n
    pipe = Pipeline([("pre", pre), ("logistic", logistic)])
    export_scorecard(pipe, root / CHURN, inputs={"days": "days_since_last_order", "plan": "subscription_plan"},
                     bins={"days": edges}, contract="retention", root=root,
                     bands=[("no_coupon", 0.45), ("coupon", None)])
    rows = pd.DataFrame({"days_since_last_order": days, "subscription_plan": [plans[i % 4] for i in range(len(days))]})
    binned = pd.DataFrame({"days": bin_indices(rows["days_since_last_order"], edges), "plan": rows["subscription_plan"]})
    theirs = pipe.predict_proba(binned)[:, 1]
    model = load_models(root)["churn_coupon"]
    ours = np.array([model.score(row).value for row in rows.to_dict("records")])
    assert np.abs(ours - theirs).max() <= TOLERANCE
