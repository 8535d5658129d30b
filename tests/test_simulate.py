"""The replay engine end to end on the example models and their shipped data: verdicts, accept entries,
added models, streaming equivalence across batch sizes, and clear errors."""
from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import yaml

from validator.gate.replay import Impact, ReplayError, format_impact, simulate_model
from validator.kinds.contract import Contract

PROJECT = Path(__file__).resolve().parents[1]
CONTRACT_OF = {"fraud_risk": "checkout", "churn_coupon": "retention", "search_ranking": "search",
               "customer_segments": "marketing", "homepage_hero": "storefront"}


def model(name: str) -> dict:
    return yaml.safe_load((PROJECT / f"weights/{name}.yaml").read_text())


def contract(name: str) -> Contract:
    c = CONTRACT_OF[name]
    return Contract.from_dict(c, yaml.safe_load((PROJECT / f"config/contracts/{c}.yaml").read_text()))


def run(name: str, base: dict | None, head: dict | None, **kw) -> Impact:
    return simulate_model(PROJECT, name, base, head, contract(name), contract(name), **kw)


@pytest.mark.parametrize("name", sorted(CONTRACT_OF))
def test_an_unchanged_model_passes_with_nothing_moving(name: str) -> None:
    doc = model(name)
    impact = run(name, doc, copy.deepcopy(doc))
    assert impact.status == "unchanged" and impact.passed and impact.rows > 0
    assert impact.guardrails and not any(g.breached for g in impact.guardrails)
    for key in ("decision_flip_rate", "reassignment_rate", "psi"):
        assert impact.metrics.get(key, 0.0) == 0.0
    if name == "search_ranking":
        assert impact.metrics["topk_overlap"] == 1.0 and impact.metrics["kendall_tau"] == 1.0


def test_a_large_change_breaches_and_says_what_it_does() -> None:
    base = model("fraud_risk")
    head = copy.deepcopy(base)
    head["intercept"] = -2.6  # every order's odds of fraud x1.8
    impact = run("fraud_risk", base, head)
    assert impact.status == "changed" and not impact.passed
    failed = {g.name for g in impact.guardrails if g.failed}
    assert "max_decision_flip_rate" in failed and "max_share_change" in failed
    m = impact.metrics
    assert m["decision_share.approve.head"] < m["decision_share.approve.base"]
    assert sum(m[f"decision_share.{d}.head"] for d in ("approve", "review", "decline")) == pytest.approx(1.0)
    assert 0.85 < m["auc.base"] < 0.99 and m["auc.head"] == pytest.approx(m["auc.base"], abs=0.01)
    assert any(line.startswith("decline share") for line in impact.summary)
    assert any("of orders change decision" in line for line in impact.summary)
    assert "BREACHED" in format_impact(impact)
    labels = {d.label for d in impact.distributions}
    assert labels == {"decision share", "score"}
    for dist in impact.distributions:
        assert sum(dist.base) == pytest.approx(1.0) and sum(dist.head) == pytest.approx(1.0)


def test_a_one_percent_change_passes() -> None:
    base = model("fraud_risk")
    head = copy.deepcopy(base)
    head["terms"][1]["weight"] = round(base["terms"][1]["weight"] * 1.01, 6)
    impact = run("fraud_risk", base, head)
    assert impact.passed, [g.message for g in impact.guardrails if g.failed]
    assert 0 < impact.metrics["decision_flip_rate"] < 0.02


def test_an_accept_entry_added_with_the_change_lets_the_breach_through() -> None:
    base = model("churn_coupon")
    head = copy.deepcopy(base)
    head["bands"][0]["below"] = 0.5
    assert not run("churn_coupon", base, head).passed
    head["accept"] = [{"guardrail": g, "reason": "coupon budget cut by a third for Q3, agreed with CRM"}
                      for g in ("max_decision_flip_rate", "max_share_change", "max_psi")]
    impact = run("churn_coupon", base, head)
    assert impact.passed and all(g.accepted for g in impact.guardrails if g.breached)
    # the same entries already on base acknowledged that change, not this one
    assert not run("churn_coupon", copy.deepcopy(head), {**head, "bands": [{"decision": "no_coupon", "below": 0.6},
                                                                           {"decision": "coupon"}]}).passed


def test_precision_recall_and_expected_loss_with_an_outcome() -> None:
    impact = run("fraud_risk", model("fraud_risk"), model("fraud_risk"))
    m = impact.metrics
    assert 0 < m["recall.decline.head"] <= m["recall.review.head"] <= 1
    assert m["precision.decline.head"] >= m["precision.review.head"] > m["positive_rate.head"]
    assert m["expected_loss.head"] > 0


def test_an_added_model_has_head_metrics_only() -> None:
    impact = run("customer_segments", None, model("customer_segments"))
    assert impact.status == "added"
    assert "reassignment_rate" not in impact.metrics
    assert {g.name for g in impact.guardrails} == {"max_segment_share"}
    assert impact.summary[0].startswith("model added")


def test_a_removed_model_is_measured_without_guardrails() -> None:
    impact = run("homepage_hero", model("homepage_hero"), None)
    assert impact.status == "removed" and impact.guardrails == [] and impact.passed


def test_bandit_replay_is_seeded_and_reports_p_best() -> None:
    base = model("homepage_hero")
    head = copy.deepcopy(base)
    head["arms"][2]["posterior"]["successes"] += 150
    first, again = run("homepage_hero", base, head), run("homepage_hero", base, head)
    assert first.metrics == again.metrics
    assert first.metrics["p_best.hero_new_arrivals.head"] > first.metrics["p_best.hero_new_arrivals.base"]
    assert first.metrics["expected_share.hero_control.head"] == 0.05


@pytest.mark.parametrize("name", ["fraud_risk", "churn_coupon", "search_ranking", "customer_segments"])
def test_small_batches_give_the_same_counts(name: str) -> None:
    """Streaming: batch size bounds memory, not results (ranking queries span batch boundaries here)."""
    base = model(name)
    head = copy.deepcopy(base)
    if name == "search_ranking":
        head["features"][1]["weight"] = 0.6
    elif name == "customer_segments":
        head["fallback"]["max_distance"] = 2.7
    else:
        head["intercept"] += 0.2
    big, small = run(name, base, head), run(name, base, head, batch_rows=997)
    for key, value in big.metrics.items():
        if key.split(".")[0] in ("psi", "auc"):
            continue  # bins are fixed from the first batch: equal in law, not in the last digit
        assert small.metrics[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


def test_no_replay_block_is_reported_not_fatal() -> None:
    doc = model("fraud_risk")
    doc.pop("replay")
    impact = run("fraud_risk", doc, doc)
    assert impact.rows == 0 and impact.guardrails == [] and "replay" in impact.summary[0]


def test_a_missing_dataset_names_model_and_key(tmp_path: Path) -> None:
    doc = model("fraud_risk")
    doc["replay"]["dataset"] = "tests/data/orders_2023.parquet"
    with pytest.raises(ReplayError, match=r"model 'fraud_risk', replay.dataset: dataset tests/data/orders_2023.parquet "
                                          r"does not exist") as info:
        run("fraud_risk", doc, doc)
    assert info.value.key == ("replay", "dataset")


def test_a_dataset_without_an_input_column_is_refused(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    (tmp_path / "config").mkdir()
    table = pq.read_table(PROJECT / "tests/data/fraud_orders.parquet").drop_columns(["payment_method"])
    pq.write_table(table, tmp_path / "orders.parquet")
    doc = model("fraud_risk")
    doc["replay"]["dataset"] = "orders.parquet"
    with pytest.raises(ReplayError, match="has no column 'payment_method'"):
        simulate_model(tmp_path, "fraud_risk", doc, doc, contract("fraud_risk"), contract("fraud_risk"))


def test_ranking_rows_of_a_query_must_be_adjacent(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    table = pq.read_table(PROJECT / "tests/data/search_candidates.parquet")
    shuffled = table.take(list(range(0, table.num_rows, 2)) + list(range(1, table.num_rows, 2)))
    pq.write_table(shuffled, tmp_path / "search.parquet")
    doc = model("search_ranking")
    doc["replay"]["dataset"] = "search.parquet"
    with pytest.raises(ReplayError, match="are not adjacent"):
        simulate_model(tmp_path, "search_ranking", doc, doc, contract("search_ranking"), contract("search_ranking"))


def test_guardrail_config_errors_surface_as_replay_errors(tmp_path: Path) -> None:
    shutil.copytree(PROJECT / "tests/data", tmp_path / "tests/data")
    (tmp_path / "config").mkdir()
    (tmp_path / "config/guardrails.yaml").write_text("scorecard:\n  max_flips: 0.1\n")
    doc = model("fraud_risk")
    with pytest.raises(ReplayError, match="config/guardrails.yaml:2:3"):
        simulate_model(tmp_path, "fraud_risk", doc, doc, contract("fraud_risk"), contract("fraud_risk"))
