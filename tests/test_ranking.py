"""The `ranking` kind: hand-computed scores and orders, boosts, tie-breaks, input policies, compile errors, rules.

Most cases use a small model whose arithmetic is easy to follow:

    base  = 1.0 x bm25_score + 0.5 x log1p(sales_30d) + 0.1 x sqrt(review_count)
    boost in_stock          (in_stock equals true)         score x 1.5
    boost own_brand         (brand_tier in [house])        score + 1.0
    boost low_stock_penalty (stock_units in [1, 3))        score x 0.5
    ties: margin_pct descending, then item_id ascending
"""
from __future__ import annotations

import copy
import functools
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator, Draft202012Validator

from validator.gate.rules import RuleContext
from validator.kinds import KINDS, InputError, ModelError
from validator.kinds.contract import Contract
from validator.kinds.ranking import KIND, rules
from validator.kinds.ranking.evaluator import RankingModel, compile, input_types, inputs_used, outputs_emitted
from validator.kinds.ranking.schema import SCHEMA
from validator.kinds.results import RankedItem, Ranking

PROJECT = Path(__file__).resolve().parents[1]
CONTRACT_DATA = yaml.safe_load((PROJECT / "config" / "contracts" / "search.yaml").read_text(encoding="utf-8"))
CONTRACT = Contract.from_dict("search", CONTRACT_DATA)
EXAMPLE = yaml.safe_load((PROJECT / "weights" / "search_ranking.yaml").read_text(encoding="utf-8"))

SMALL: dict[str, Any] = {
    "kind": "ranking",
    "name": "search_ranking",
    "contract": "search",
    "features": [
        {"name": "text_relevance", "input": "bm25_score", "weight": 1.0},
        {"name": "popularity", "input": "sales_30d", "weight": 0.5, "transform": "log1p"},
        {"name": "review_volume", "input": "review_count", "weight": 0.1, "transform": "sqrt"},
    ],
    "boosts": [
        {"name": "in_stock", "when": {"input": "in_stock", "equals": True}, "multiply": 1.5},
        {"name": "own_brand", "when": {"input": "brand_tier", "in": ["house"]}, "add": 1.0},
        {"name": "low_stock_penalty", "when": {"input": "stock_units", "at_least": 1, "below": 3}, "multiply": 0.5},
    ],
    "tie_break": [
        {"input": "margin_pct", "order": "desc", "type": "number"},
        {"input": "item_id", "order": "asc", "type": "string"},
    ],
}


def small(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(SMALL)
    data.update(changes)
    return data


def item(item_id: str, **fields: Any) -> dict[str, Any]:
    """An item with neutral values: bm25 10, no sales, 100 reviews, out of stock, national brand, margin 20."""
    base = {
        "item_id": item_id, "bm25_score": 10.0, "sales_30d": 0, "review_count": 100, "in_stock": False,
        "stock_units": 0, "brand_tier": "national", "margin_pct": 20.0,
    }
    base.update(fields)
    return base


def ctx(data: dict[str, Any], contract: Contract | None = CONTRACT) -> RuleContext:
    return RuleContext(data=data, file_stem=data["name"], contract=contract, contract_names=frozenset({"search"}), kind=KIND)


def problems(check, data: dict[str, Any], contract: Contract | None = CONTRACT) -> list:
    return list(check.run(ctx(data, contract)))


# --- evaluator: hand-computed scores ------------------------------------------------------------------------------


def test_score_by_hand():
    model = compile(SMALL, CONTRACT)
    # base = 10 + 0.5 x log1p(0) + 0.1 x sqrt(100) = 10 + 0 + 1 = 11; not in stock, national, no stock: 11
    assert model.score_item(item("A")) == pytest.approx(11.0)
    # sales 99: 0.5 x ln(100) = 2.302585; base = 10 + 2.302585 + 1 = 13.302585
    assert model.score_item(item("A", sales_30d=99)) == pytest.approx(13.302585093)
    # reviews 400: 0.1 x 20 = 2; bm25 8: base = 8 + 0 + 2 = 10
    assert model.score_item(item("A", bm25_score=8.0, review_count=400)) == pytest.approx(10.0)


def test_boosts_apply_in_file_order():
    model = compile(SMALL, CONTRACT)
    # base 11; in_stock x 1.5 = 16.5; house + 1 = 17.5; 2 units left x 0.5 = 8.75
    # (adding before multiplying would give (11 + 1) x 1.5 x 0.5 = 9.0: order matters)
    assert model.score_item(item("C", in_stock=True, stock_units=2, brand_tier="house")) == pytest.approx(8.75)
    reordered = small(boosts=[SMALL["boosts"][1], SMALL["boosts"][0], SMALL["boosts"][2]])
    assert compile(reordered, CONTRACT).score_item(item("C", in_stock=True, stock_units=2, brand_tier="house")) == pytest.approx(9.0)


def test_range_condition_is_half_open():
    model = compile(SMALL, CONTRACT)
    # at_least 1 (inclusive), below 3 (exclusive): 1 and 2 are penalised, 0 and 3 are not
    assert [model.score_item(item("A", stock_units=n)) for n in (0, 1, 2, 3)] == pytest.approx([11.0, 5.5, 5.5, 11.0])


def test_boost_with_multiply_and_add():
    data = small(boosts=[{"name": "in_stock", "when": {"input": "in_stock", "equals": True}, "multiply": 2.0, "add": 1.0}])
    # 11 x 2 + 1 = 23
    assert compile(data, CONTRACT).score_item(item("A", in_stock=True)) == pytest.approx(23.0)


def test_equals_on_a_category_and_on_a_number():
    data = small(boosts=[
        {"name": "premium", "when": {"input": "brand_tier", "equals": "premium"}, "add": 2.0},
        {"name": "sold_out", "when": {"input": "stock_units", "equals": 0}, "multiply": 0.5},
    ])
    model = compile(data, CONTRACT)
    assert model.score_item(item("A", brand_tier="premium", stock_units=5)) == pytest.approx(13.0)  # 11 + 2
    assert model.score_item(item("A", stock_units=0)) == pytest.approx(5.5)  # 11 x 0.5
    assert model.score_item(item("A", stock_units=0.0)) == pytest.approx(5.5)  # 0.0 == 0


def test_rank_orders_by_score_then_tie_break_keys():
    model = compile(SMALL, CONTRACT)
    items = [
        item("C", in_stock=True, stock_units=2, brand_tier="house"),  # 8.75
        item("B", bm25_score=8.0, review_count=400, brand_tier="house"),  # 10 + 1 = 11
        item("A", in_stock=True, stock_units=50),  # 16.5, margin 20
        item("D", in_stock=True, stock_units=50, margin_pct=30.0),  # 16.5, margin 30: wins the tie
    ]
    ranking = model.rank(items)
    assert isinstance(ranking, Ranking)
    assert ranking.ids() == ["D", "A", "B", "C"]
    assert [entry.rank for entry in ranking.items] == [1, 2, 3, 4]
    assert [entry.score for entry in ranking.items] == pytest.approx([16.5, 16.5, 11.0, 8.75])
    assert ranking.items[0].item is items[3]
    assert ranking.model == "search_ranking" and ranking.version is None


def test_equal_scores_and_margins_go_to_the_lower_item_id():
    model = compile(SMALL, CONTRACT)
    ranking = model.rank([item("B-200"), item("B-100"), item("A-999", margin_pct=19.0)])
    # all score 11: margin 20 before 19; between the two margin-20 items, "B-100" < "B-200"
    assert ranking.ids() == ["B-100", "B-200", "A-999"]


def test_ids_compare_as_text():
    data = small(tie_break=[{"input": "item_id", "order": "asc", "type": "string"}])
    # as text "10" < "9": the schema's hover text warns about this
    assert compile(data, CONTRACT).rank([item("9"), item("10")]).ids() == ["10", "9"]


def test_items_equal_on_every_key_keep_the_apps_order():
    data = small(tie_break=[{"input": "margin_pct", "order": "desc", "type": "number"}])
    ranking = compile(data, CONTRACT).rank([item("x3"), item("x1"), item("x2")])
    assert ranking.ids() == ["x3", "x1", "x2"]
    no_keys = small()
    del no_keys["tie_break"]
    assert compile(no_keys, CONTRACT).rank([item("x3"), item("x1"), item("x2")]).ids() == ["x3", "x1", "x2"]


def test_descending_text_key_and_boolean_key():
    data = small(tie_break=[
        {"input": "in_stock", "order": "desc", "type": "boolean"},
        {"input": "item_id", "order": "desc", "type": "string"},
    ], boosts=[])
    model = compile(data, CONTRACT)
    assert not model._single_sort  # text descending: one stable sort per key
    ranking = model.rank([item("a"), item("c"), item("b", in_stock=True), item("d", bm25_score=11.0)])
    # d scores 12, the rest 11; among those in stock first (b), then ids descending (c, a)
    assert ranking.ids() == ["d", "b", "c", "a"]


def test_limit_cuts_after_ordering_but_checks_every_item():
    model = compile(SMALL, CONTRACT)
    items = [item("A"), item("B", bm25_score=20.0), item("C", bm25_score=15.0)]
    assert model.rank(items, limit=2).ids() == ["B", "C"]
    assert model.rank(items, limit=0).items == ()
    assert model.rank([], limit=5).items == ()
    with pytest.raises(InputError, match="bm25_score"):
        model.rank([*items, item("Z", bm25_score="high")], limit=1)
    with pytest.raises(ValueError):
        model.rank(items, limit=-1)


def test_explain_agrees_with_score():
    model = compile(SMALL, CONTRACT)
    it = item("C", sales_30d=99, in_stock=True, stock_units=2, brand_tier="house")
    explained = model.explain(it)
    assert explained["features"] == pytest.approx({"text_relevance": 10.0, "popularity": 0.5 * math.log(100), "review_volume": 1.0})
    assert explained["boosts"] == ["in_stock", "own_brand", "low_stock_penalty"]
    assert explained["score"] == model.score_item(it)


def test_version_is_carried_into_results():
    model = compile(SMALL, CONTRACT)
    model.version = "2024-05-01.3"
    assert model.rank([item("A")]).version == "2024-05-01.3"


# --- evaluator: the generated function agrees with a plain reference ------------------------------------------------


def reference_score(it: dict[str, Any]) -> float:
    s = 0.0 + it["bm25_score"] + 0.5 * math.log1p(it["sales_30d"]) + 0.1 * math.sqrt(it["review_count"])
    if it["in_stock"] is True:
        s *= 1.5
    if it["brand_tier"] in ("house",):
        s += 1.0
    if 1 <= it["stock_units"] < 3:
        s *= 0.5
    return s


ITEMS = st.lists(
    st.builds(
        item,
        st.sampled_from(["a", "b", "c", "d"]),
        bm25_score=st.sampled_from([0.0, 5.0, 10.0, 12.5]),
        sales_30d=st.sampled_from([0, 3, 99]),
        review_count=st.sampled_from([0, 100, 400]),
        in_stock=st.booleans(),
        stock_units=st.integers(0, 4),
        brand_tier=st.sampled_from(["house", "national", "premium"]),
        margin_pct=st.sampled_from([-5.0, 20.0, 30.0]),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(ITEMS, st.sampled_from(["asc", "desc"]), st.sampled_from(["asc", "desc"]))
def test_rank_matches_a_reference_sort(items, margin_order, id_order):
    data = small(tie_break=[
        {"input": "margin_pct", "order": margin_order, "type": "number"},
        {"input": "item_id", "order": id_order, "type": "string"},
    ])
    model = compile(data, CONTRACT)

    def cmp(i: int, j: int) -> int:
        a, b = items[i], items[j]
        for x, y, desc in ((reference_score(a), reference_score(b), True),
                           (a["margin_pct"], b["margin_pct"], margin_order == "desc"),
                           (a["item_id"], b["item_id"], id_order == "desc")):
            if x != y:
                return (-1 if x > y else 1) if desc else (-1 if x < y else 1)
        return i - j

    expected = sorted(range(len(items)), key=functools.cmp_to_key(cmp))
    ranking = model.rank(items)
    assert [entry.item for entry in ranking.items] == [items[i] for i in expected]
    for entry in ranking.items:
        assert entry.score == pytest.approx(reference_score(entry.item), rel=1e-12)
        assert entry.score == model.explain(entry.item)["score"]


def test_generated_source_contains_no_text_from_the_model():
    sneaky = "x') or __import__('os').system('true') or ('"
    data = small(boosts=[{"name": "odd", "when": {"input": "brand_tier", "equals": sneaky}, "add": 1.0}])
    model = compile(data, None)
    model.prepare()
    assert sneaky not in model.source and "brand_tier" not in model.source
    assert model.score_item(item("A", brand_tier=sneaky)) == pytest.approx(12.0)


# --- input policies ---------------------------------------------------------------------------------------------


def test_missing_input_is_rejected_by_default():
    it = item("A")
    del it["review_count"]
    with pytest.raises(InputError, match="'review_count' is missing") as exc:
        compile(SMALL, CONTRACT).score_item(it)
    assert exc.value.model == "search_ranking" and exc.value.input_name == "review_count"


def test_missing_input_with_a_default():
    data = small(inputs={"review_count": {"missing": "default", "default": 0}, "item_id": {"missing": "default", "default": "zzz"}})
    model = compile(data, CONTRACT)
    it = item("A")
    del it["review_count"]
    assert model.score_item(it) == pytest.approx(10.0)  # 10 + 0 + 0.1 x sqrt(0)
    it2 = item("A", review_count=math.nan)  # NaN counts as missing
    assert model.score_item(it2) == pytest.approx(10.0)
    no_id = item("?")
    del no_id["item_id"]
    assert model.rank([no_id, item("b")]).ids() == ["b", None]  # default "zzz" sorts last, the item is unchanged


def test_out_of_range_clamp_default_reject():
    # contract: bm25_score in [0, 100]
    assert compile(SMALL, CONTRACT).score_item(item("A", bm25_score=150.0)) == pytest.approx(101.0)  # clamped to 100
    data = small(inputs={"bm25_score": {"out_of_range": "default", "default": 0.0}})
    assert compile(data, CONTRACT).score_item(item("A", bm25_score=150.0)) == pytest.approx(1.0)
    data = small(inputs={"bm25_score": {"out_of_range": "reject"}})
    with pytest.raises(InputError, match="outside the contract's range"):
        compile(data, CONTRACT).score_item(item("A", bm25_score=-1.0))
    # clamping a tie-break key: margin 500 counts as 100 (contract max) against an item at 100
    ranking = compile(SMALL, CONTRACT).rank([item("b", margin_pct=100.0), item("a", margin_pct=500.0)])
    assert ranking.ids() == ["a", "b"]  # equal after clamping: id decides


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("bm25_score", "12", "must be a number"),
        ("bm25_score", True, "must be a number"),
        ("bm25_score", math.inf, "must be finite"),
        ("sales_30d", 10**400, "must be finite|too large"),
        ("in_stock", 1, "must be true or false"),
        ("brand_tier", 3, "must be a string"),
        ("item_id", 12345, "must be a string"),
    ],
)
def test_wrong_types_are_refused(field, value, message):
    it = item("A")
    it[field] = value
    with pytest.raises(InputError, match=message):
        compile(SMALL, CONTRACT).score_item(it)


def test_negative_value_into_log1p_without_a_contract():
    with pytest.raises(InputError, match="takes log1p of it"):
        compile(SMALL, None).score_item(item("A", sales_30d=-3))


def test_non_finite_score_names_the_input():
    data = small(features=[{"name": "relevance", "input": "bm25_score", "weight": 1e308}], boosts=[])
    with pytest.raises(InputError, match="bm25_score"):
        compile(data, None).score_item(item("A", bm25_score=1e10))


# --- compile ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, message",
    [
        ({"boosts": [{"name": "b", "when": {"input": "bm25_score", "equals": True}, "add": 1.0}]}, "read as number and as boolean"),
        ({"boosts": [{"name": "b", "when": {"input": "stock_units", "equals": 1, "below": 3}, "add": 1.0}]}, "combines equals and below"),
        ({"boosts": [{"name": "b", "when": {"input": "brand_tier", "in": ["house", 3]}, "add": 1.0}]}, "mixes words and numbers"),
        ({"boosts": [{"name": "b", "when": {"input": "brand_tier"}, "add": 1.0}]}, "no comparison"),
        ({"boosts": [{"name": "b", "when": {"input": "in_stock", "equals": True}}]}, "neither multiplies nor adds"),
        ({"features": [{"name": "f", "input": "bm25_score", "weight": math.inf}]}, "must be finite"),
        ({"features": [{"name": "f", "input": "bm25_score", "weight": 1.0, "transform": "log"}]}, "unknown transform"),
        ({"features": []}, "no features"),
        ({"inputs": {"bm25_score": {"missing": "default", "default": "high"}}}, "default 'high'"),
        ({"tie_break": [{"input": "item_id", "order": "up", "type": "string"}]}, "order 'up'"),
        ({"tie_break": [{"input": "item_id", "order": "asc", "type": "text"}]}, "type 'text'"),
    ],
)
def test_compile_refuses_what_it_cannot_evaluate(change, message):
    with pytest.raises(ModelError, match=message):
        compile(small(**change), CONTRACT)


def test_kind_is_registered():
    assert KINDS["ranking"] is KIND
    assert isinstance(compile(SMALL, None), RankingModel)


# --- introspection and schema -----------------------------------------------------------------------------------


def test_inputs_used_and_types():
    assert inputs_used(SMALL) == {
        "bm25_score": ("features", 0, "input"),
        "sales_30d": ("features", 1, "input"),
        "review_count": ("features", 2, "input"),
        "in_stock": ("boosts", 0, "when", "input"),
        "brand_tier": ("boosts", 1, "when", "input"),
        "stock_units": ("boosts", 2, "when", "input"),
        "margin_pct": ("tie_break", 0, "input"),
        "item_id": ("tie_break", 1, "input"),
    }
    assert input_types(SMALL) == {
        "bm25_score": "number", "sales_30d": "number", "review_count": "number", "in_stock": "boolean",
        "brand_tier": "category", "stock_units": "number", "margin_pct": "number", "item_id": "string",
    }
    assert outputs_emitted(SMALL) == {}
    # a text input read as a category by a boost and as a string by a key must be a string input
    both = small(tie_break=[{"input": "brand_tier", "order": "asc", "type": "string"}])
    assert input_types(both)["brand_tier"] == "string"


def test_schema_accepts_the_example_and_refuses_shapes():
    for validator in (Draft7Validator(SCHEMA), Draft202012Validator(SCHEMA)):
        assert list(validator.iter_errors(EXAMPLE)) == []
        assert list(validator.iter_errors(SMALL)) == []
        no_effect = small(boosts=[{"name": "b", "when": {"input": "in_stock", "equals": True}}])
        assert list(validator.iter_errors(no_effect))
        no_operator = small(boosts=[{"name": "b", "when": {"input": "in_stock"}, "add": 1.0}])
        assert list(validator.iter_errors(no_operator))
        untyped_key = small(tie_break=[{"input": "item_id", "order": "asc"}])
        assert list(validator.iter_errors(untyped_key))


# --- the example model ------------------------------------------------------------------------------------------


def test_example_model_compiles_and_ranks():
    model = compile(EXAMPLE, CONTRACT)
    items = [
        {"item_id": "SKU-1001", "bm25_score": 14.2, "sales_30d": 320, "avg_rating": 4.6, "review_count": 210,
         "in_stock": True, "stock_units": 85, "brand_tier": "house", "margin_pct": 38.0, "return_rate": 0.04,
         "days_since_launch": 410},
        {"item_id": "SKU-2002", "bm25_score": 15.0, "sales_30d": 12, "review_count": 3, "in_stock": False,
         "stock_units": 0, "brand_tier": "marketplace", "margin_pct": 12.0, "days_since_launch": 12},
        {"item_id": "SKU-3003", "bm25_score": 9.1, "sales_30d": 1500, "avg_rating": 3.9, "review_count": 900,
         "in_stock": True, "stock_units": 2, "brand_tier": "national", "margin_pct": 22.0, "return_rate": 0.31,
         "days_since_launch": 1200},
    ]
    ranking = model.rank(items)
    # SKU-1001: (14.2 + 0.35 ln 321 + 0.92 + 0.1 ln 211) x 1.15 + 0.3 = (14.2 + 2.01946 + 0.92 + 0.53519) x 1.15 + 0.3
    assert ranking.items[0].item["item_id"] == "SKU-1001"
    assert ranking.items[0].score == pytest.approx((14.2 + 0.35 * math.log(321) + 0.2 * 4.6 + 0.1 * math.log(211)) * 1.15 + 0.3)
    # SKU-2002: no rating (default 3.5), new arrival: 15 + 0.35 ln 13 + 0.7 + 0.1 ln 4 + 0.4
    assert ranking.items[1].score == pytest.approx(15.0 + 0.35 * math.log(13) + 0.7 + 0.1 * math.log(4) + 0.4)
    assert ranking.ids() == ["SKU-1001", "SKU-2002", "SKU-3003"]
    assert all(isinstance(entry, RankedItem) for entry in ranking.items)


def test_example_model_passes_every_ranking_rule():
    for check in rules.RULES:
        assert problems(check, EXAMPLE) == [], check.id


# --- rules ------------------------------------------------------------------------------------------------------


def test_weights_not_all_zero():
    zero = small(features=[dict(f, weight=0.0) for f in SMALL["features"]])
    [problem] = problems(rules.weights_not_all_zero, zero)
    assert problem.path == ("features", 0, "weight") and "every feature weight is 0" in problem.message
    assert problems(rules.weights_not_all_zero, SMALL) == []


def test_unique_names():
    data = small()
    data["features"][2]["name"] = "popularity"
    data["boosts"][0]["name"] = "text_relevance"
    data["tie_break"].append({"input": "margin_pct", "order": "asc", "type": "number"})
    found = problems(rules.unique_names, data)
    assert [p.path for p in found] == [("features", 2, "name"), ("boosts", 0, "name"), ("tie_break", 2, "input")]
    assert "already used by feature 1" in found[1].message
    assert problems(rules.unique_names, SMALL) == []


def test_boost_factor():
    data = small()
    data["boosts"][0]["multiply"] = 0
    data["boosts"][2]["multiply"] = -0.5
    found = problems(rules.boost_factor, data)
    assert [p.path for p in found] == [("boosts", 0, "multiply"), ("boosts", 2, "multiply")]
    assert "erased" in found[0].message and "flips the sign" in found[1].message
    assert problems(rules.boost_factor, SMALL) == []


def test_boost_no_effect():
    data = small()
    data["boosts"][0]["multiply"] = 1
    data["boosts"][1]["add"] = 0.0
    found = problems(rules.boost_no_effect, data)
    assert [p.path for p in found] == [("boosts", 0, "multiply"), ("boosts", 1, "add")]
    both = small(boosts=[{"name": "b", "when": {"input": "in_stock", "equals": True}, "multiply": 1.0, "add": 0.5}])
    assert problems(rules.boost_no_effect, both) == []
    assert problems(rules.boost_no_effect, SMALL) == []


def test_tie_break_unique():
    found = problems(rules.tie_break_unique, small(tie_break=[{"input": "margin_pct", "order": "desc", "type": "number"}]))
    assert [p.path for p in found] == [("tie_break", 0, "input")]
    assert "item_id" in found[0].hint
    missing = small()
    del missing["tie_break"]
    [problem] = problems(rules.tie_break_unique, missing)
    assert problem.at_key and "no tie_break" in problem.message
    assert problems(rules.tie_break_unique, SMALL) == []
    # without a contract the key's type is unknown: only a missing tie_break is reported
    assert problems(rules.tie_break_unique, small(tie_break=[{"input": "margin_pct", "order": "desc", "type": "number"}]), None) == []


def test_condition_type():
    data = small(boosts=[
        {"name": "own_brand", "when": {"input": "brand_tier", "in": ["house", "privat_label"]}, "add": 0.3},
        {"name": "in_stock", "when": {"input": "in_stock", "equals": "true"}, "multiply": 1.1},
        {"name": "tier_range", "when": {"input": "brand_tier", "below": 3}, "add": 0.1},
        {"name": "half_unit", "when": {"input": "stock_units", "equals": 2.5}, "add": 0.1},
        {"name": "stock_flag", "when": {"input": "in_stock", "in": ["yes"]}, "add": 0.1},
    ])
    found = problems(rules.condition_type, data)
    assert [p.path for p in found] == [
        ("boosts", 0, "when", "in", 1),
        ("boosts", 1, "when", "equals"),
        ("boosts", 2, "when", "below"),
        ("boosts", 3, "when", "equals"),
        ("boosts", 4, "when", "in"),
    ]
    assert "not a value the app sends" in found[0].message
    assert "integer, so it never equals 2.5" in found[3].message
    assert problems(rules.condition_type, SMALL) == []
    assert problems(rules.condition_type, data, None) == []


def test_condition_operators():
    data = small(boosts=[
        {"name": "a", "when": {"input": "stock_units", "equals": 0, "below": 3}, "add": 0.1},
        {"name": "b", "when": {"input": "brand_tier", "in": ["house", 1]}, "add": 0.1},
    ])
    found = problems(rules.condition_operators, data)
    assert [p.path for p in found] == [("boosts", 0, "when", "below"), ("boosts", 1, "when", "in", 1)]
    assert problems(rules.condition_operators, SMALL) == []


def test_input_types_agree():
    data = small(features=[*SMALL["features"], {"name": "availability", "input": "in_stock", "weight": 0.5}])
    [problem] = problems(rules.input_types_agree, data)
    assert problem.path == ("boosts", 0, "when", "input")
    assert "boost 'in_stock' reads 'in_stock' as true/false, but feature 'availability' reads it as a number" in problem.message
    text_both = small(tie_break=[{"input": "brand_tier", "order": "asc", "type": "string"}])
    assert problems(rules.input_types_agree, text_both) == []
    assert problems(rules.input_types_agree, SMALL) == []


def test_transform_domain():
    data = small(
        features=[*SMALL["features"], {"name": "margin", "input": "margin_pct", "weight": 0.1, "transform": "sqrt"}],
        inputs={"review_count": {"missing": "default", "default": -1}},
    )
    found = problems(rules.transform_domain, data)
    assert [p.path for p in found] == [("inputs", "review_count", "default"), ("features", 3, "transform")]
    assert "down to -100" in found[1].message
    no_min = Contract.from_dict("search", {**CONTRACT_DATA, "inputs": {**CONTRACT_DATA["inputs"], "sales_30d": {"type": "integer"}}})
    [problem] = problems(rules.transform_domain, SMALL, no_min)
    assert "declares no min" in problem.message
    assert problems(rules.transform_domain, SMALL) == []


def test_condition_reachable():
    data = small(boosts=[
        {"name": "never", "when": {"input": "stock_units", "below": 0}, "add": 0.1},
        {"name": "always", "when": {"input": "stock_units", "at_least": 0}, "add": 0.1},
        {"name": "inverted", "when": {"input": "stock_units", "at_least": 5, "below": 3}, "add": 0.1},
        {"name": "every_tier", "when": {"input": "brand_tier", "in": ["house", "premium", "national", "marketplace"]}, "add": 0.1},
        {"name": "too_high", "when": {"input": "stock_units", "equals": 2000000}, "add": 0.1},
    ])
    found = problems(rules.condition_reachable, data)
    assert [p.path for p in found] == [
        ("boosts", 0, "when"), ("boosts", 1, "when"), ("boosts", 2, "when"), ("boosts", 3, "when", "in"), ("boosts", 4, "when"),
    ]
    assert "never holds" in found[0].message and "holds for every item" in found[1].message
    # a default outside the tested range keeps the condition reachable
    with_default = small(
        boosts=[{"name": "new", "when": {"input": "days_since_launch", "at_least": 0}, "add": 0.1}],
        inputs={"days_since_launch": {"missing": "default", "default": -1}},
    )
    assert problems(rules.condition_reachable, with_default) == []
    assert problems(rules.condition_reachable, SMALL) == []


def test_boost_on_negative_score():
    data = small(features=[*SMALL["features"], {"name": "age", "input": "days_since_launch", "weight": -0.01}])
    found = problems(rules.boost_on_negative_score, data)
    # down to -100 (days 10000 x -0.01): both multiply boosts work backwards, the add does not matter
    assert [p.path for p in found] == [("boosts", 0, "multiply"), ("boosts", 2, "multiply")]
    assert "down to -100" in found[0].message and "down, not up" in found[0].message
    assert "up, not down" in found[1].message
    negative_add = small(boosts=[
        {"name": "marketplace", "when": {"input": "brand_tier", "equals": "marketplace"}, "add": -50.0},
        {"name": "in_stock", "when": {"input": "in_stock", "equals": True}, "multiply": 1.2},
    ])
    [problem] = problems(rules.boost_on_negative_score, negative_add)
    assert "negative adds" in problem.message
    # margin can be negative (contract min -100)
    margin = small(features=[{"name": "margin", "input": "margin_pct", "weight": 0.1}])
    assert len(problems(rules.boost_on_negative_score, margin)) == 2
    assert problems(rules.boost_on_negative_score, SMALL) == []
    assert problems(rules.boost_on_negative_score, data, None) == []


def test_every_rule_documents_itself():
    for check in rules.RULES:
        assert check.id.startswith("ranking.") and check.kinds == frozenset({"ranking"})
        assert check.summary and set(check.examples()) == {"bad", "good"}
