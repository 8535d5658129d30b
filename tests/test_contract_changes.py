"""A changed contract: every model of it is replayed, and an input range that moves tenfold (a unit change,
most likely) is a warning at the bound naming each model and term that reads the input. Real git
repositories and the real ``weights check``."""
from __future__ import annotations

from pathlib import Path

import pytest
from test_check_e2e import commit, edit, weights, weights_repo  # noqa: F401  (the fixture)

from validator.gate.check import run_check
from validator.gate.governance import _scale_moves

CHECKOUT = "config/contracts/checkout.yaml"


def _scale(result) -> list:
    return [f for f in result.findings if f.rule == "contract.range-scale"]


def test_euros_to_cents_is_flagged_naming_model_and_term(weights_repo: Path) -> None:  # noqa: F811
    edit(weights_repo, "unit: EUR, min: 0, max: 50000,", "unit: EUR, min: 0, max: 5000000,", CHECKOUT)
    commit(weights_repo, "order amounts in cents")
    result = run_check(weights_repo)
    [finding] = _scale(result)
    assert finding.severity.value == "warning"
    assert (finding.path, finding.line) == (CHECKOUT, 13)
    assert "input order_amount: max 50000 -> 5e+06" in finding.message
    assert "did its unit change" in finding.message
    assert "fraud_risk (high_order_amount)" in finding.message
    assert [m.name for m in result.models if m.impact is not None] == ["fraud_risk"]  # re-validated and replayed


def test_share_to_percent_names_every_model_reading_the_input(weights_repo: Path) -> None:  # noqa: F811
    text = (weights_repo / "config/contracts/marketing.yaml").read_text(encoding="utf-8")
    old = "discount_share: {type: number, unit: share (0-1), min: 0, max: 1,"
    assert old in text
    edit(weights_repo, old, "discount_share: {type: number, unit: share (0-1), min: 0, max: 100,",
         "config/contracts/marketing.yaml")
    commit(weights_repo, "discount share in percent")
    result = run_check(weights_repo)
    [finding] = _scale(result)
    assert "input discount_share: max 1 -> 100; span 1 -> 100" in finding.message
    assert "It is read by customer_segments (discount_share)" in finding.message
    assert "churn_coupon" not in finding.message  # it reads discount_share from the retention contract


def test_a_small_range_change_is_not_flagged(weights_repo: Path) -> None:  # noqa: F811
    edit(weights_repo, "unit: EUR, min: 0, max: 50000,", "unit: EUR, min: 0, max: 60000,", CHECKOUT)
    commit(weights_repo, "larger baskets")
    result = run_check(weights_repo)
    assert not _scale(result)
    assert [m.name for m in result.models if m.impact is not None] == ["fraud_risk"]


def test_the_warning_reaches_the_cli_report(weights_repo: Path) -> None:  # noqa: F811
    edit(weights_repo, "unit: km, min: 0, max: 20000,", "unit: km, min: 0, max: 20000000,", CHECKOUT)
    commit(weights_repo, "distance in metres")
    run = weights(weights_repo, "check", "--format", "text")
    assert "warning contract.range-scale: input shipping_to_billing_distance_km: max 20000 -> 2e+07" in run.stdout
    assert "fraud_risk (" in run.stdout


@pytest.mark.parametrize(("old", "new", "flagged"), [
    ((0, 1), (0, 100), ["max 1 -> 100", "span 1 -> 100"]),
    ((0, 50000), (0, 5_000_000), ["max 50000 -> 5e+06", "span 50000 -> 5e+06"]),
    ((1, 5), (10, 50), ["min 1 -> 10", "max 5 -> 50", "span 4 -> 40"]),
    ((0, 100), (0, 9.99), ["span 100 -> 9.99", "max 100 -> 9.99"]),
    ((-100, 100), (-100, 1000), ["max 100 -> 1000"]),  # the span 200 -> 1100 is 5.5x
    ((0, 1), (0, 9.9), []),              # just under tenfold
    ((None, 1), (None, 10), ["max 1 -> 10"]),
    ((-1, 1), (1, 2), []),               # a sign flip is not a rescale
])
def test_scale_moves(old: tuple, new: tuple, flagged: list[str]) -> None:
    assert sorted(_scale_moves(old[0], old[1], new[0], new[1])) == sorted(flagged)
