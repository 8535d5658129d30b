"""validator.export.export_segments: a KMeans pipeline fitted on the replay data, written into the segments
model, assigns every customer exactly as scikit-learn's ``predict`` does; the file keeps everything but numbers;
what the kind cannot express is refused by name and nothing is written.

Tolerance: segment ids are compared exactly (no tolerance); centers/scales/centroids are compared to 1e-12
relative against the fitted attributes (they are written with repr(), so they read back bit for bit).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")

from conftest import PROJECT, git  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import FunctionTransformer, StandardScaler  # noqa: E402

from validator.api import load_models, validate_paths  # noqa: E402
from validator.export import (  # noqa: E402
    CannotExpress,
    ExportError,
    ExportValidationFailed,
    InputMappingError,
    export_segments,
)
from validator.kinds.columns import columns_from_rows  # noqa: E402
from validator.kinds.segments.vectorized import compile_vectorized  # noqa: E402

MODEL = "weights/customer_segments.yaml"
LOG = ["orders_12m", "avg_basket_eur", "days_since_last_order"]
SQRT = ["categories_bought"]
PLAIN = ["discount_share", "email_open_rate"]
FEATURES = LOG + SQRT + PLAIN
INPUTS = {c: c for c in FEATURES}
IDS = ["bargain_hunters", "loyal_regulars", "big_basket_occasional", "lapsing_customers", "new_explorers"]
VARIANTS = ["landing_deals", "landing_loyalty", "landing_premium", "email_winback", "landing_discover"]
# The model's inputs: policy for missing values, applied before fitting (the export does not impute).
DEFAULTS = {"days_since_last_order": 365, "email_open_rate": 0.0}
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return pd.read_parquet(PROJECT / "tests/data/customers.parquet").fillna(DEFAULTS)[FEATURES]


def _pipeline(frame: pd.DataFrame, k: int = 5) -> Pipeline:
    prep = ColumnTransformer([
        ("log", Pipeline([("log1p", FunctionTransformer(np.log1p)), ("scale", StandardScaler())]), LOG),
        ("sqrt", Pipeline([("sqrt", FunctionTransformer(np.sqrt)), ("scale", StandardScaler())]), SQRT),
        ("plain", StandardScaler(), PLAIN),
    ])
    return Pipeline([("prep", prep), ("kmeans", KMeans(k, n_init=3, random_state=0))]).fit(frame)


@pytest.fixture(scope="module")
def fitted(customers: pd.DataFrame) -> Pipeline:
    return _pipeline(customers)


def _assign(root: Path, frame: pd.DataFrame) -> list:
    model = load_models(root)["customer_segments"]
    return [model.assign(row) for row in frame.to_dict("records")]


def test_assignments_equal_kmeans_predict_on_the_replay_data(repo: Path, fitted: Pipeline, customers) -> None:
    result = export_segments(fitted, repo / MODEL, inputs=INPUTS, reset_weights=True, max_distance=1000.0)
    assert result.written and result.notes == (
        "clusters matched to segments by order: " + ", ".join(f"cluster {k} -> {s}" for k, s in enumerate(IDS)),)
    ours = _assign(repo, customers)
    theirs = fitted.predict(customers)
    assert [a.segment for a in ours] == [IDS[k] for k in theirs]  # exactly, every one of 24,000 customers
    assert not any(a.fallback for a in ours)
    # The replay's vectorized twin (what `weights check` runs) assigns the same.
    checked = validate_paths(repo)
    data = checked.models["customer_segments"]
    twin = compile_vectorized(data, checked.contracts[data["contract"]])
    batch = twin.assign(columns_from_rows(customers.to_dict("records"), twin.input_types))
    assert [batch.labels[i] for i in batch.segments] == [IDS[k] for k in theirs]



def test_clusters_given_other_ids_still_assign_exactly(repo: Path, fitted: Pipeline, customers) -> None:
    """Cluster k becomes segment_ids[k] while the file keeps its order (ties would favour the file's first)."""
    shuffled = [IDS[3], IDS[0], IDS[4], IDS[1], IDS[2]]
    result = export_segments(fitted, repo / MODEL, inputs=INPUTS, reset_weights=True, max_distance=1000.0,
                             segment_ids=shuffled)
    assert "cluster 1 -> bargain_hunters" in result.notes[0]
    assert [a.segment for a in _assign(repo, customers)] == [shuffled[k] for k in fitted.predict(customers)]
    ids_in_file = re.findall(r"^  - id: (\w+)", (repo / MODEL).read_text(), re.MULTILINE)
    assert ids_in_file == IDS  # the file's order and ids stay

def test_within_max_distance_the_file_fallback_is_kept_and_the_rest_match(repo: Path, fitted, customers) -> None:
    export_segments(fitted, repo / MODEL, inputs=INPUTS, reset_weights=True)
    ours = _assign(repo, customers)
    theirs = fitted.predict(customers)
    matched = [(a.segment, IDS[k]) for a, k in zip(ours, theirs, strict=True) if not a.fallback]
    assert len(matched) > len(ours) // 2
    assert all(ours_id == their_id for ours_id, their_id in matched)
    assert all(a.segment == "general" for a in ours if a.fallback)
    assert "max_distance: 3.0}" in (repo / MODEL).read_text()


def test_numbers_are_the_fitted_ones(repo: Path, fitted: Pipeline) -> None:
    import yaml

    export_segments(fitted, repo / MODEL, inputs=INPUTS, reset_weights=True, segment_ids="nearest")
    data = yaml.safe_load((repo / MODEL).read_text())
    scaler = fitted.named_steps["prep"].named_transformers_["log"].named_steps["scale"]
    basket = next(f for f in data["features"] if f["input"] == "avg_basket_eur")
    assert basket["center"] == pytest.approx(scaler.mean_[1], rel=1e-12)
    assert basket["scale"] == pytest.approx(scaler.scale_[1], rel=1e-12)
    assert basket["transform"] == "log1p" and "weight" not in basket  # no key added
    assert next(f for f in data["features"] if f["input"] == "email_open_rate")["weight"] == 1.0


def test_only_numbers_change_and_weights_diff_shows_them(git_repo: Path, fitted: Pipeline) -> None:
    before = (git_repo / MODEL).read_text()
    result = export_segments(fitted, git_repo / MODEL, inputs=INPUTS, reset_weights=True, segment_ids="nearest")
    after = (git_repo / MODEL).read_text()
    assert result.old_text == before and result.new_text == after
    old_lines, new_lines = before.splitlines(), after.splitlines()
    assert len(old_lines) == len(new_lines)
    changed = 0
    for old, new in zip(old_lines, new_lines, strict=True):
        # Same line once every number is a placeholder and runs of spaces are one (a longer number moves the
        # comment after it): ids, variants, descriptions and comments are untouched.
        assert " ".join(NUMBER.sub("#", old).split()) == " ".join(NUMBER.sub("#", new).split()), (old, new)
        changed += old != new
    assert changed == 6 + 5  # six features, five centroids
    assert "# Open rates are noisy" in after and "description: Frequent buyers" in after
    diff = subprocess.run([sys.executable, "-m", "validator", "diff", "--base", "HEAD", "--root", str(git_repo)],
                          capture_output=True, text=True, check=False)
    assert diff.returncode == 0, diff.stderr
    assert "customer_segments" in diff.stdout and "center" in diff.stdout and "centroid" in diff.stdout
    git(git_repo, "diff", "--quiet", "--", "config")  # nothing else touched


def test_a_new_file_from_the_weights_new_template(repo: Path, fitted: Pipeline, customers) -> None:
    (repo / MODEL).unlink()
    result = export_segments(fitted, repo / MODEL, inputs=INPUTS, contract="marketing", segment_ids=IDS,
                             variants=VARIANTS, fallback=("general", "landing_default"), max_distance=1000.0,
                             owner="growth-analytics")
    assert result.old_text is None and result.written
    text = (repo / MODEL).read_text()
    assert text.startswith("# yaml-language-server: $schema=../config/schemas/segments.schema.json")
    assert "owner: growth-analytics" in text and "transform: log1p" in text
    ours = _assign(repo, customers)
    assert [a.segment for a in ours] == [IDS[k] for k in fitted.predict(customers)]


def test_a_scaler_without_centring_and_without_transforms(repo: Path, customers) -> None:
    """with_mean=False is center 0; no FunctionTransformer is identity; the assignments are KMeans' exactly."""
    unscaled = Pipeline([("scale", StandardScaler(with_mean=False)),
                         ("kmeans", KMeans(5, n_init=2, random_state=1))]).fit(customers)
    with pytest.raises(ExportError, match="transform log1p in weights/customer_segments.yaml, but the estimator "
                                          "applies identity"):
        export_segments(unscaled, repo / MODEL, inputs=INPUTS, reset_weights=True)
    (repo / MODEL).unlink()
    # Raw counts and amounts spread too far for the gate (segments.term-contribution-bound): the shares only.
    shares = customers[PLAIN]
    pipe = Pipeline([("scale", StandardScaler(with_mean=False)),
                     ("kmeans", KMeans(5, n_init=2, random_state=1))]).fit(shares)
    export_segments(pipe, repo / MODEL, inputs={c: c for c in PLAIN}, contract="marketing", segment_ids=IDS,
                    variants=VARIANTS, fallback=("general", "landing_default"), max_distance=1000.0)
    import yaml

    data = yaml.safe_load((repo / MODEL).read_text())
    assert [f["center"] for f in data["features"]] == [0.0, 0.0]
    assert all("transform" not in f for f in data["features"])
    assert [a.segment for a in _assign(repo, shares)] == [IDS[k] for k in pipe.predict(shares)]


def test_the_gate_refuses_raw_counts_with_its_findings(repo: Path, customers) -> None:
    pipe = Pipeline([("scale", StandardScaler()), ("kmeans", KMeans(5, n_init=1, random_state=1))]).fit(customers)
    (repo / MODEL).unlink()
    with pytest.raises(ExportValidationFailed, match=r"segments.term-contribution-bound: feature 'orders_12m'"):
        export_segments(pipe, repo / MODEL, inputs=INPUTS, contract="marketing", segment_ids=IDS, variants=VARIANTS,
                        fallback=("general", "landing_default"))
    assert not (repo / MODEL).exists()


# ----------------------------------------------------------------------------------------------- refusals


def _unchanged(repo: Path) -> bool:
    return (repo / MODEL).read_text() == (PROJECT / MODEL).read_text()


@pytest.mark.parametrize(("step", "message"), [
    (PCA(3), r"pca \(PCA\): the segments kind cannot express a PCA"),
    (FunctionTransformer(np.cbrt), r"func=cbrt is not a transform the segments kind has"),
    (FunctionTransformer(np.log1p, kw_args={"dtype": np.float64}), r"pca \(FunctionTransformer\): kw_args"),
])
def test_steps_the_kind_cannot_express_are_refused_by_name(repo: Path, customers, step, message) -> None:
    pipe = Pipeline([("pca", step), ("scale", StandardScaler()), ("kmeans", KMeans(3, n_init=1, random_state=0))])
    pipe.fit(customers)
    with pytest.raises(CannotExpress, match=message):
        export_segments(pipe, repo / MODEL, inputs=INPUTS)
    assert _unchanged(repo)


def test_scaling_twice_and_transforming_after_scaling_are_refused(repo: Path, customers) -> None:
    twice = Pipeline([("a", StandardScaler()), ("b", StandardScaler()), ("km", KMeans(5, n_init=1))]).fit(customers)
    with pytest.raises(CannotExpress, match=r"b \(StandardScaler\): it scales feature 'orders_12m'"):
        export_segments(twice, repo / MODEL, inputs=INPUTS)
    late = Pipeline([("s", StandardScaler(with_mean=False)), ("log", FunctionTransformer(np.sqrt)),
                     ("km", KMeans(5, n_init=1))]).fit(customers)  # the inputs are >= 0, so are their z without mean
    with pytest.raises(CannotExpress, match=r"log \(FunctionTransformer\): sqrt is applied to feature"):
        export_segments(late, repo / MODEL, inputs=INPUTS)
    assert _unchanged(repo)


def test_the_analysts_weight_is_not_dropped_silently(repo: Path, fitted: Pipeline) -> None:
    with pytest.raises(CannotExpress, match=r"feature 'email_open_rate' has weight 0.5 .* reset_weights=True"):
        export_segments(fitted, repo / MODEL, inputs=INPUTS)
    assert _unchanged(repo)


def test_input_mapping_is_explicit_and_checked_against_the_contract(repo: Path, fitted: Pipeline) -> None:
    with pytest.raises(InputMappingError, match=r"which contract 'marketing' does not declare \(did you mean "
                                                r"'avg_basket_eur'\?\)"):
        export_segments(fitted, repo / MODEL, inputs={**INPUTS, "avg_basket_eur": "avg_basket"}, reset_weights=True)
    partial = {k: v for k, v in INPUTS.items() if k != "orders_12m"}
    with pytest.raises(InputMappingError, match=r"does not say which contract input feeds 'orders_12m'"):
        export_segments(fitted, repo / MODEL, inputs=partial, reset_weights=True)
    with pytest.raises(InputMappingError, match=r"maps 'tenure', which the estimator does not read"):
        export_segments(fitted, repo / MODEL, inputs={**INPUTS, "tenure": "tenure_days"}, reset_weights=True)
    assert _unchanged(repo)


def test_cluster_count_and_ids_must_match_the_file(repo: Path, customers) -> None:
    four = _pipeline(customers, k=4)
    with pytest.raises(ExportError, match="KMeans has 4 clusters, weights/customer_segments.yaml has 5 segments"):
        export_segments(four, repo / MODEL, inputs=INPUTS, reset_weights=True)
    five = _pipeline(customers)
    with pytest.raises(ExportError, match="segment_ids= must name each segment"):
        export_segments(five, repo / MODEL, inputs=INPUTS, reset_weights=True, segment_ids=[*IDS[:4], "vips"])
    assert _unchanged(repo)


def test_a_result_the_gate_refuses_is_not_written(repo: Path, fitted: Pipeline) -> None:
    (repo / MODEL).unlink()
    with pytest.raises(ExportValidationFailed, match=r"would not pass weights validate") as caught:
        export_segments(fitted, repo / MODEL, inputs=INPUTS, contract="marketing",
                        segment_ids=["a", "b", "c", "d", "e"], fallback=("general", "landing_default"))
    assert any("contract" in f.rule for f in caught.value.findings)
    assert not (repo / MODEL).exists()
    assert not [p for p in (repo / "weights").iterdir() if p.name.startswith(".")]  # no temp file left


def test_dry_run_returns_the_text_and_writes_nothing(repo: Path, fitted: Pipeline) -> None:
    result = export_segments(fitted, repo / MODEL, inputs=INPUTS, reset_weights=True, dry_run=True)
    assert not result.written and result.changed and "centroid" in result.diff()
    assert _unchanged(repo)



def test_without_the_sklearn_extra_the_error_says_what_to_install(repo: Path, fitted: Pipeline,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn.cluster", None)  # what an install without scikit-learn looks like
    with pytest.raises(ExportError, match=r"needs scikit-learn and pandas: pip install 'weights\[sklearn\]'"):
        export_segments(fitted, repo / MODEL, inputs=INPUTS)
    assert _unchanged(repo)
