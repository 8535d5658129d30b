"""The static analysis: interval arithmetic, each kind's ranges against hand-computed ones, and the property that
ties it to the evaluators: for any request the contract allows, each term's contribution as the scalar
evaluator computes it lies inside the interval the analysis gives it.

Tolerance: 1e-9 relative (plus 1e-12 absolute). The analysis and the evaluator apply the same float
operations to the same end points, so they agree to the last bit in practice; the tolerance only allows for
``w * x`` being rounded once where the analysis scales an already rounded end.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from validator.kinds.contract import Contract, InputDecl
from validator.kinds.intervals import Interval, default_outside, numeric_input, term_limit
from validator.kinds.scorecard.analysis import analyse as analyse_scorecard
from validator.kinds.scorecard.evaluator import compile as compile_scorecard

PROJECT = Path(__file__).resolve().parents[1]
REL, ABS = 1e-9, 1e-12


def load(path: str) -> Any:
    return yaml.safe_load((PROJECT / path).read_text(encoding="utf-8"))


def inside(iv: Interval, x: float) -> bool:
    return iv.contains(x, REL * max(abs(iv.lo) if math.isfinite(iv.lo) else 0.0,
                                    abs(iv.hi) if math.isfinite(iv.hi) else 0.0, abs(x)) + ABS)


CHECKOUT = Contract.from_dict("checkout", load("config/contracts/checkout.yaml"))
RETENTION = Contract.from_dict("retention", load("config/contracts/retention.yaml"))


# ------------------------------------------------------------------------------------------ interval algebra


def test_scale_swaps_ends_for_a_negative_factor_and_zero_kills_infinity() -> None:
    assert Interval(1.0, 3.0).scale(-2.0) == Interval(-6.0, -2.0)
    assert Interval(0.0, math.inf).scale(0.0) == Interval(0.0, 0.0)
    assert Interval(-math.inf, 2.0).scale(-1.0) == Interval(-2.0, math.inf)


def test_sum_hull_union_clip_and_monotone_maps() -> None:
    assert Interval(1.0, 2.0) + Interval(-5.0, 0.5) == Interval(-4.0, 2.5)
    assert Interval.hull([0.4, -0.3, 1.0]) == Interval(-0.3, 1.0)
    assert Interval.hull([]) == Interval(0.0, 0.0)
    assert Interval(0.0, 1.0).union(Interval(3.0, 4.0)) == Interval(0.0, 4.0)
    assert Interval(-5.0, 9.0).clip(0.0, math.inf) == Interval(0.0, 9.0)
    assert Interval(0.0, 99.0).map_increasing(math.sqrt) == Interval(0.0, math.sqrt(99.0))
    assert Interval(0.0, math.inf).map_increasing(math.log1p).hi == math.inf
    assert Interval(-2.0, 3.0).magnitude == 3.0
    assert not Interval(0.0, math.inf).bounded


def test_numeric_input_is_the_contract_range_plus_the_default() -> None:
    decl = InputDecl("nps", "integer", min=0, max=10)
    assert numeric_input(decl, {"default": 8}) == Interval(0.0, 10.0)
    assert numeric_input(decl, {"default": 80}) == Interval(0.0, 80.0)
    assert numeric_input(None, None) == Interval(-math.inf, math.inf)


def test_default_outside_names_the_bound_it_crosses() -> None:
    assert default_outside(InputDecl("nps", "integer", min=0, max=10), 80) == "above the contract's maximum 10"
    assert default_outside(InputDecl("nps", "integer", min=0, max=10), -1) == "below the contract's minimum 0"
    assert default_outside(InputDecl("nps", "integer", min=0, max=10), 8) is None
    assert "not one of" in (default_outside(InputDecl("plan", "category", values=("none", "basic")), "gold") or "")


def test_term_limit_prefers_the_model_over_the_repository() -> None:
    repo = {"analysis": {"max_term_contribution": {"scorecard": 5.0}}}
    assert term_limit({"analysis": {"max_term_contribution": 2}}, repo, "scorecard")[0] == 2.0
    assert term_limit({}, repo, "scorecard") == (5.0, "the repository's analysis.max_term_contribution.scorecard "
                                                        "(config/weights.yaml)")
    assert term_limit({}, repo, "ranking") == (None, "")


# ------------------------------------------------------------------------------------------------ scorecard


def test_fraud_risk_ranges_by_hand() -> None:
    analysis = analyse_scorecard(load("weights/fraud_risk.yaml"), CHECKOUT)
    got = {t.name: t.contribution for t in analysis.terms}
    assert got["high_order_amount"] == Interval(0.0, 1.5)
    assert got["new_account"] == Interval(0.0, 1.5)
    assert got["country_mismatch"] == Interval(0.0, 1.2)
    assert got["payment_method"] == Interval(-0.5, 1.0)
    assert got["known_device"] == Interval(-0.7, 0.0)
    assert got["shipping_distance"].hi == pytest.approx(0.02 * math.sqrt(20000), rel=REL)
    low = -3.2 - 0.5 - 0.7
    high = -3.2 + 1.5 + 1.5 + 1.2 + 1.0 + 0.8 + 1.8 + 0.02 * math.sqrt(20000)
    assert analysis.linear.lo == pytest.approx(low, rel=REL)
    assert analysis.linear.hi == pytest.approx(high, rel=REL)
    assert [o.reachable for o in analysis.outcomes] == [True, True, True]


def test_unreachable_band_is_named_with_why() -> None:
    data = load("weights/fraud_risk.yaml")
    data["intercept"] = -32
    outcomes = analyse_scorecard(data, CHECKOUT).outcomes
    assert [o.label for o in outcomes if not o.reachable] == ["review", "decline"]
    assert "highest reachable score" in outcomes[1].why


def test_a_bin_gap_counts_both_neighbours_and_a_transform_its_ends() -> None:
    contract = Contract.from_dict("c", {"app": "a", "models": ["m"], "inputs": {"x": {"type": "number", "min": 0,
                                                                                      "max": 100}}})
    data = {"name": "m", "intercept": 0, "link": "identity", "bands": [{"decision": "a"}], "terms": [
        {"name": "gap", "input": "x", "type": "numeric", "weight": 2.0,
         "bins": [{"from": 10, "to": 20, "value": 1.0}, {"from": 30, "to": 40, "value": 3.0}]},
    ]}
    assert analyse_scorecard(data, contract).terms[0].contribution == Interval(2.0, 6.0)
    data["terms"][0] = {"name": "t", "input": "x", "type": "numeric", "weight": -0.5, "transform": "log1p"}
    assert analyse_scorecard(data, contract).terms[0].contribution == Interval(-0.5 * math.log1p(100), 0.0)


# ------------------------------------------------------------------- property: the evaluator stays inside

_edges = st.lists(st.integers(-50, 150), min_size=1, max_size=5, unique=True).map(sorted)
_value = st.floats(-5, 5, allow_nan=False).map(lambda v: round(v, 3))


@st.composite
def _numeric_term(draw: st.DrawFn) -> dict[str, Any]:
    weight = draw(_value)
    if draw(st.booleans()):
        return {"name": "t", "input": "x", "type": "numeric", "weight": weight,
                "transform": draw(st.sampled_from(["identity", "log1p", "sqrt"]))}
    edges = draw(_edges)
    bins: list[dict[str, Any]] = []
    open_start = draw(st.booleans())
    for k in range(len(edges) - 1):
        b: dict[str, Any] = {"from": edges[k], "to": edges[k + 1], "value": draw(_value)}
        if k == 0 and open_start:
            del b["from"]
        bins.append(b)
    last: dict[str, Any] = {"from": edges[-1], "value": draw(_value)}
    if draw(st.booleans()):
        last["to"] = edges[-1] + draw(st.integers(1, 40))
    if not bins and open_start:
        last.pop("from")
    bins.append(last)
    return {"name": "t", "input": "x", "type": "numeric", "weight": weight, "bins": bins}


@settings(max_examples=300, deadline=None)
@given(term=_numeric_term(), lo=st.integers(0, 60), span=st.integers(0, 120),
       default=st.one_of(st.none(), st.integers(0, 200)),
       policy=st.sampled_from(["clamp", "default"]),
       requests=st.lists(st.one_of(st.none(), st.floats(-1e3, 1e3, allow_nan=False)), min_size=1, max_size=20))
def test_scorecard_contribution_always_inside_its_interval(term: dict[str, Any], lo: int, span: int,
                                                          default: int | None, policy: str,
                                                          requests: list[float | None]) -> None:
    contract = Contract.from_dict("c", {"app": "a", "models": ["m"],
                                        "inputs": {"x": {"type": "number", "min": lo, "max": lo + span}}})
    inputs: dict[str, Any] = {"out_of_range": policy}
    if default is not None:
        inputs.update(missing="default", default=default)
    data = {"kind": "scorecard", "name": "m", "contract": "c", "intercept": 0.5, "link": "logistic",
            "inputs": {"x": inputs}, "bands": [{"decision": "a", "below": 0.5}, {"decision": "b"}], "terms": [term]}
    evaluator = compile_scorecard(data, contract)
    analysis = analyse_scorecard(data, contract)
    interval = analysis.terms[0].contribution
    from validator.kinds.base import InputError

    for x in requests:
        try:
            ((_, _, contribution),) = evaluator.explain({"x": x})
            score = evaluator.score({"x": x}).value
        except InputError:
            continue  # refused requests contribute nothing
        assert inside(interval, contribution), (interval, x, contribution)
        assert inside(analysis.score, score), (analysis.score, x, score)


def test_example_models_stay_inside_on_their_replay_data() -> None:
    """Every row of the example models' replay datasets (within the contract by construction)."""
    import pyarrow.csv
    import pyarrow.parquet

    for path, contract in (("weights/fraud_risk.yaml", CHECKOUT), ("weights/churn_coupon.yaml", RETENTION)):
        data = load(path)
        evaluator = compile_scorecard(data, contract)
        analysis = analyse_scorecard(data, contract)
        file = PROJECT / data["replay"]["dataset"]
        table = pyarrow.parquet.read_table(file) if file.suffix == ".parquet" else pyarrow.csv.read_csv(file)
        rows = table.slice(0, 2000).to_pylist()
        for row in rows:
            for (name, _, contribution), term in zip(evaluator.explain(row), analysis.terms, strict=True):
                assert name == term.name and inside(term.contribution, contribution), (name, contribution)


# ------------------------------------------------------------------------------------------------- ranking

SEARCH = Contract.from_dict("search", load("config/contracts/search.yaml"))


def _search_item(draw: st.DrawFn) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for name, decl in SEARCH.inputs.items():
        if decl.type in ("number", "integer"):
            item[name] = draw(st.one_of(st.none(), st.floats(decl.min or 0.0, decl.max or 1.0, allow_nan=False)))
        elif decl.type == "boolean":
            item[name] = draw(st.booleans())
        elif decl.values:
            item[name] = draw(st.sampled_from(decl.values))
        else:
            item[name] = draw(st.text(min_size=1, max_size=5))
    for required in ("bm25_score", "stock_units", "margin_pct", "in_stock", "brand_tier"):
        if item.get(required) is None:
            item[required] = {"in_stock": True, "brand_tier": "house"}.get(required, 1.0)
    return item


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_ranking_features_and_score_inside_their_intervals(data: st.DataObject) -> None:
    from validator.kinds.ranking.analysis import analyse as analyse_ranking
    from validator.kinds.ranking.evaluator import compile as compile_ranking

    model = load("weights/search_ranking.yaml")
    evaluator = compile_ranking(model, SEARCH)
    analysis = analyse_ranking(model, SEARCH)
    ranges = {t.name: t.contribution for t in analysis.terms}
    explained = evaluator.explain(data.draw(st.composite(_search_item)()))
    for name, contribution in explained["features"].items():
        assert inside(ranges[name], contribution), (name, contribution)
    assert inside(analysis.score, explained["score"]), explained


def test_search_ranking_by_hand() -> None:
    from validator.kinds.ranking.analysis import analyse as analyse_ranking
    from validator.kinds.ranking.analysis import dominant

    analysis = analyse_ranking(load("weights/search_ranking.yaml"), SEARCH)
    got = {t.name: t.contribution for t in analysis.terms}
    assert got["text_relevance"] == Interval(0.0, 100.0)
    assert got["rating"] == Interval(pytest.approx(0.2), pytest.approx(1.0))  # type: ignore[arg-type]
    assert got["popularity"].hi == pytest.approx(0.35 * math.log1p(1e6), rel=REL)
    assert got["own_brand"] == Interval(0.0, 0.3)
    assert [t.name for t, _ in dominant(analysis, None)] == ["text_relevance"]
    assert dominant(analysis, "text_relevance") == []


# ------------------------------------------------------------------------------------------------ segments

MARKETING = Contract.from_dict("marketing", load("config/contracts/marketing.yaml"))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_segments_distance_inside_the_sum_of_feature_intervals(data: st.DataObject) -> None:
    """Each segment's distance lies within sqrt of the summed feature intervals, and the assigned segment is
    one the analysis calls reachable."""
    from validator.kinds.segments.analysis import analyse as analyse_segments
    from validator.kinds.segments.evaluator import compile as compile_segments

    model = load("weights/customer_segments.yaml")
    evaluator = compile_segments(model, MARKETING)
    analysis = analyse_segments(model, MARKETING)
    customer: dict[str, Any] = {}
    for name, decl in MARKETING.inputs.items():
        if decl.type in ("number", "integer"):
            customer[name] = data.draw(st.floats(decl.min or 0.0, decl.max or 1.0, allow_nan=False))
    reachable = {o.label for o in analysis.outcomes if o.reachable} | {model["fallback"]["segment"]}
    for distance in evaluator.distances(customer).values():
        assert inside(analysis.score, distance), (analysis.score, distance)
    assert evaluator.assign(customer).segment in reachable


def test_segments_by_hand_and_an_unreachable_centroid() -> None:
    from validator.kinds.segments.analysis import analyse as analyse_segments

    model = load("weights/customer_segments.yaml")
    analysis = analyse_segments(model, MARKETING)
    discount = next(t for t in analysis.terms if t.name == "discount_share")
    # u in [(0 - 0.15) / 0.12, (1 - 0.15) / 0.12]; the farthest centroid is loyal_regulars' -0.5.
    assert discount.contribution.hi == pytest.approx(((1 - 0.15) / 0.12 + 0.5) ** 2, rel=REL)
    assert discount.contribution.lo == 0.0
    assert all(o.reachable for o in analysis.outcomes)
    model["segments"][0]["centroid"]["orders_12m"] = -8.0
    outcome = analyse_segments(model, MARKETING).outcomes[0]
    assert not outcome.reachable and "closest customer the contract allows" in outcome.why


# ------------------------------------------------------------------------------------------- bandit, table


def test_bandit_shares_and_an_arm_that_is_never_shown() -> None:
    from validator.kinds.bandit.analysis import analyse as analyse_bandit

    model = load("weights/homepage_hero.yaml")
    analysis = analyse_bandit(model, None)
    free = 1.0 - 0.05 - 4 * 0.05
    assert all(t.contribution == Interval(0.05, pytest.approx(0.05 + free)) for t in analysis.terms)  # type: ignore[arg-type]
    assert all(o.reachable for o in analysis.outcomes)
    for arm in model["arms"]:
        arm["floor"] = 0.3167
    model["arms"][0]["floor"] = 0.0
    model["arms"][1]["floor"] = 0.95 - 2 * 0.3167
    outcome = analyse_bandit(model, None).outcomes[0]
    assert not outcome.reachable and "no floor" in outcome.why


def test_table_value_ranges_include_the_missing_key_default() -> None:
    from validator.kinds.table.analysis import analyse as analyse_table

    model = load("weights/category_boost.yaml")
    model["missing_key"]["default"]["boost"] = 0.2
    got = {t.name: t.contribution for t in analyse_table(model, SEARCH).terms}
    assert got == {"boost": Interval(0.2, 3.0), "pinned_slots": Interval(0.0, 5.0)}
