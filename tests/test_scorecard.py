"""The scorecard kind: hand-computed scores, input policies, compile errors, every rule both ways, and the
example models (fraud_risk at checkout, churn_coupon in the CRM) on realistic inputs."""
from __future__ import annotations

import copy
import math
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator, Draft202012Validator

from validator.gate.rules import RuleContext
from validator.kinds import InputError, ModelError
from validator.kinds.contract import Contract, InputDecl
from validator.kinds.scorecard import KIND, rules
from validator.kinds.scorecard.evaluator import compile, input_types, inputs_used, outputs_emitted
from validator.kinds.scorecard.schema import SCHEMA

PROJECT = Path(__file__).resolve().parents[1]


def load(path: str) -> Any:
    return yaml.safe_load((PROJECT / path).read_text(encoding="utf-8"))


CHECKOUT = Contract.from_dict("checkout", load("config/contracts/checkout.yaml"))
RETENTION = Contract.from_dict("retention", load("config/contracts/retention.yaml"))
FRAUD = load("weights/fraud_risk.yaml")
CHURN = load("weights/churn_coupon.yaml")


def logistic(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


# A small model on the checkout contract for hand-computed cases.
SMALL: dict[str, Any] = {
    "kind": "scorecard",
    "name": "fraud_risk",
    "contract": "checkout",
    "link": "logistic",
    "intercept": -2.0,
    "terms": [
        {"name": "new_account", "input": "account_age_days", "type": "numeric",
         "bins": [{"to": 7, "value": 1.0}, {"from": 7, "to": 30, "value": 0.5}, {"from": 30, "value": 0.0}],
         "weight": 1.5, "reason": "R02_NEW_ACCOUNT"},
        {"name": "country_mismatch", "input": "country_mismatch", "type": "boolean", "weight": 1.2,
         "reason": "R03_COUNTRY_MISMATCH"},
        {"name": "payment_method", "input": "payment_method", "type": "categorical",
         "levels": {"card": 0.0, "paypal": 0.2, "gift_card": 1.1}, "other": 0.5, "weight": 1.0,
         "reason": "R04_RISKY_PAYMENT_METHOD"},
        {"name": "amount", "input": "order_amount", "type": "numeric", "transform": "log1p", "weight": 0.25,
         "reason": "R01_HIGH_ORDER_AMOUNT"},
        {"name": "known_device", "input": "device_seen_before", "type": "boolean", "weight": -0.7},
    ],
    "bands": [{"decision": "approve", "below": 0.35}, {"decision": "review", "below": 0.7}, {"decision": "decline"}],
    "reasons": {"top": 2, "min_contribution": 0.3},
}

RISKY = {"account_age_days": 3, "country_mismatch": True, "payment_method": "gift_card", "order_amount": 99,
         "device_seen_before": False}
SAFE = {"account_age_days": 400, "country_mismatch": False, "payment_method": "card", "order_amount": 0,
        "device_seen_before": True}


def small(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(SMALL)
    data.update(changes)
    return data


# ---------------------------------------------------------------------------------------- evaluation


def test_risky_order_by_hand():
    ev = compile(SMALL, CHECKOUT)
    result = ev.score(RISKY)
    # z = -2.0 + 1.5 * 1.0 (3 days: first bin) + 1.2 (mismatch) + 1.0 * 1.1 (gift_card) + 0.25 * log1p(99) + 0 (unknown device)
    #   = -2.0 + 1.5 + 1.2 + 1.1 + 0.25 * 4.60517 = 2.95129;  value = 1 / (1 + exp(-2.95129)) = 0.95032 -> decline (>= 0.7)
    assert result.value == pytest.approx(logistic(-2.0 + 1.5 + 1.2 + 1.1 + 0.25 * math.log(100)), abs=1e-12)
    assert result.value == pytest.approx(0.95032, abs=1e-5)
    assert result.decision == "decline"
    # contributions above 0.3: 1.5 (R02), 1.2 (R03), 1.1 (R04), 1.151 (R01); the top 2 are R02 and R03
    assert result.reasons == ("R02_NEW_ACCOUNT", "R03_COUNTRY_MISMATCH")
    assert (result.model, result.version) == ("fraud_risk", None)


def test_safe_order_by_hand():
    result = compile(SMALL, CHECKOUT).score(SAFE)
    # z = -2.0 + 0 (400 days: last bin) + 0 + 0 (card) + 0.25 * log1p(0) - 0.7 (known device) = -2.7
    # value = 1 / (1 + exp(2.7)) = 1 / 15.8797 = 0.06297 -> approve; no contribution above 0.3 -> no reasons
    assert result.value == pytest.approx(0.06297, abs=1e-5)
    assert (result.decision, result.reasons) == ("approve", ())


def test_middle_bin_other_level_and_review():
    result = compile(SMALL, CHECKOUT).score(dict(SAFE, account_age_days=7, payment_method="apple_pay", device_seen_before=False))
    # 7 days is in [7, 30): 1.5 * 0.5 = 0.75; apple_pay is not a level: other 0.5
    # z = -2.0 + 0.75 + 0 + 0.5 + 0 + 0 = -0.75 -> value 0.32082 -> approve (below 0.35)
    assert result.value == pytest.approx(logistic(-0.75), abs=1e-15)
    assert result.decision == "approve"
    assert result.reasons == ("R02_NEW_ACCOUNT", "R04_RISKY_PAYMENT_METHOD")  # 0.75 > 0.5 > 0.3


def test_explain_lists_every_term_and_adds_up():
    ev = compile(SMALL, CHECKOUT)
    rows = ev.explain(RISKY)
    assert [name for name, _, _ in rows] == ["new_account", "country_mismatch", "payment_method", "amount", "known_device"]
    assert rows[0] == ("new_account", 1.0, 1.5)
    assert rows[1] == ("country_mismatch", 1.0, 1.2)
    assert rows[2] == ("payment_method", 1.1, 1.1)
    assert rows[3][1] == pytest.approx(math.log(100)) and rows[3][2] == pytest.approx(0.25 * math.log(100))
    assert rows[4] == ("known_device", 0.0, 0.0)
    assert ev.z(RISKY) == -2.0 + 1.5 + 1.2 + 1.1 + rows[3][2] + 0.0
    assert logistic(ev.z(RISKY)) == ev.score(RISKY).value


POINTS: dict[str, Any] = {
    "kind": "scorecard", "name": "fraud_risk", "contract": "checkout", "link": "identity", "intercept": 10,
    "terms": [
        {"name": "velocity", "input": "orders_last_24h", "type": "numeric", "transform": "identity", "weight": 5,
         "reason": "R06_ORDER_VELOCITY"},
        {"name": "country_mismatch", "input": "country_mismatch", "type": "boolean", "weight": 10,
         "reason": "R03_COUNTRY_MISMATCH"},
        {"name": "distance", "input": "shipping_to_billing_distance_km", "type": "numeric", "transform": "sqrt",
         "weight": 2, "reason": "R07_SHIPPING_FAR_FROM_BILLING"},
    ],
    "bands": [{"decision": "approve", "below": 30}, {"decision": "review", "below": 40}, {"decision": "decline"}],
    "reasons": {"top": 1},
}


def test_identity_link_ties_and_band_edges():
    ev = compile(POINTS, CHECKOUT)
    # z = 10 + 5 * 2 + 10 + 2 * sqrt(0) = 30: exactly the approve threshold, so review (value < below is strict)
    result = ev.score({"orders_last_24h": 2, "country_mismatch": True, "shipping_to_billing_distance_km": 0})
    assert (result.value, result.decision) == (30.0, "review")
    # velocity and country_mismatch both contribute 10: the tie goes to the earlier term
    assert result.reasons == ("R06_ORDER_VELOCITY",)
    # z = 10 + 5 * 1 + 0 + 2 * sqrt(400) = 55 -> decline; distance (40) is the top reason
    result = ev.score({"orders_last_24h": 1, "country_mismatch": False, "shipping_to_billing_distance_km": 400})
    assert (result.value, result.decision, result.reasons) == (55.0, "decline", ("R07_SHIPPING_FAR_FROM_BILLING",))
    # z = 10 + 0 + 0 + 0 = 10 -> approve; no contribution above 0 -> no reasons
    result = ev.score({"orders_last_24h": 0, "country_mismatch": False, "shipping_to_billing_distance_km": 0.0})
    assert (result.value, result.decision, result.reasons) == (10.0, "approve", ())


def test_no_reasons_block_reports_none_and_version_is_passed_through():
    data = small()
    del data["reasons"]
    ev = compile(data, CHECKOUT)
    assert ev.score(RISKY).reasons == ()
    ev.version = "2024-06-01.3"
    assert ev.score(RISKY).version == "2024-06-01.3"
    assert ev.kind == "scorecard" and ev.name == "fraud_risk"


def test_reason_codes_come_only_from_coded_terms():
    data = small()
    del data["terms"][0]["reason"]  # new_account (1.5) has no code: the next coded terms fill the two places
    assert compile(data, CHECKOUT).score(RISKY).reasons == ("R03_COUNTRY_MISMATCH", "R01_HIGH_ORDER_AMOUNT")


def test_extreme_scores_do_not_overflow():
    data = small(intercept=-800)
    assert compile(data, CHECKOUT).score(SAFE).value == 0.0
    assert compile(small(intercept=800), CHECKOUT).score(SAFE).value == 1.0


def test_many_bins_use_the_same_lookup():
    bins = [{"to": 1, "value": 0.0}] + [{"from": k, "to": k + 1, "value": float(k)} for k in range(1, 12)] + [
        {"from": 12, "value": 12.0}]
    data = small(link="identity", intercept=0, bands=[{"decision": "approve"}],
                 terms=[{"name": "velocity", "input": "orders_last_24h", "type": "numeric", "bins": bins, "weight": 1}])
    ev = compile(data, CHECKOUT)
    assert [ev.score({"orders_last_24h": n}).value for n in (0, 1, 5, 11, 12, 400)] == [0, 1, 5, 11, 12, 12]
    assert ev.score({"orders_last_24h": 5.5}).value == 5


# ------------------------------------------------------------------------------------- input policies


def test_missing_input_is_rejected_by_default():
    ev = compile(SMALL, CHECKOUT)
    with pytest.raises(InputError) as info:
        ev.score({k: v for k, v in SAFE.items() if k != "account_age_days"})
    assert info.value.input_name == "account_age_days" and "missing" in str(info.value) and "fraud_risk" in str(info.value)
    with pytest.raises(InputError):
        ev.score(dict(SAFE, account_age_days=None))
    with pytest.raises(InputError):
        ev.score(dict(SAFE, account_age_days=float("nan")))  # NaN counts as missing


def test_missing_input_with_a_default():
    data = small(inputs={"device_seen_before": {"missing": "default", "default": False},
                         "account_age_days": {"missing": "default", "default": 0}})
    ev = compile(data, CHECKOUT)
    without = {k: v for k, v in SAFE.items() if k not in ("device_seen_before", "account_age_days")}
    # z = -2.0 + 1.5 (age 0: first bin) + 0 + 0 + 0 + 0 (device unknown) = -0.5
    assert ev.score(without).value == pytest.approx(logistic(-0.5))


def test_out_of_range_clamp_default_and_reject():
    over = dict(SAFE, order_amount=80000)  # contract max 50000
    z_clamped = -2.0 + 0.25 * math.log1p(50000) - 0.7
    assert compile(SMALL, CHECKOUT).score(over).value == pytest.approx(logistic(z_clamped))  # clamp is the default
    data = small(inputs={"order_amount": {"out_of_range": "default", "default": 100}})
    assert compile(data, CHECKOUT).score(over).value == pytest.approx(logistic(-2.0 + 0.25 * math.log1p(100) - 0.7))
    data = small(inputs={"order_amount": {"out_of_range": "reject"}})
    with pytest.raises(InputError, match="outside the contract's range"):
        compile(data, CHECKOUT).score(over)
    with pytest.raises(InputError, match="outside"):
        compile(data, CHECKOUT).score(dict(SAFE, order_amount=-1))


@pytest.mark.parametrize("name, value", [
    ("order_amount", "120.0"),             # text, not a number
    ("order_amount", True),                # a boolean is not a number
    ("order_amount", float("inf")),        # even with clamp
    ("country_mismatch", 1),               # 1 is not true
    ("country_mismatch", "true"),
    ("payment_method", 3),
])
def test_wrong_types_are_refused(name, value):
    with pytest.raises(InputError) as info:
        compile(SMALL, CHECKOUT).score(dict(SAFE, **{name: value}))
    assert info.value.input_name == name


def test_subclasses_of_int_float_and_str_are_accepted():
    class Amount(float):
        pass

    class Method(str):
        pass

    ev = compile(SMALL, CHECKOUT)
    assert ev.score(dict(SAFE, order_amount=Amount(0.0), payment_method=Method("card"))) == ev.score(SAFE)


def test_unknown_level_without_other_is_refused():
    data = small()
    del data["terms"][2]["other"]
    with pytest.raises(InputError) as info:
        compile(data, CHECKOUT).score(dict(SAFE, payment_method="apple_pay"))
    assert "'apple_pay'" in str(info.value) and "payment_method" in str(info.value)


@pytest.mark.parametrize("transform", ["log1p", "sqrt"])
def test_negative_input_to_log1p_or_sqrt_is_refused(transform):
    data = small()
    data["terms"][3]["transform"] = transform
    ev = compile(data, None)  # no contract: no range to clamp to
    with pytest.raises(InputError, match=transform):
        ev.score(dict(SAFE, order_amount=-5))


def bins_model(bins: list[dict[str, Any]], policy: dict[str, Any] | None = None) -> Any:
    data = small(link="identity", intercept=0, bands=[{"decision": "approve"}],
                 terms=[{"name": "new_account", "input": "account_age_days", "type": "numeric", "bins": bins, "weight": 1}])
    if policy:
        data["inputs"] = {"account_age_days": policy}
    return compile(data, None)


def test_input_outside_every_bin_follows_the_out_of_range_policy():
    bins = [{"from": 1, "to": 7, "value": 1.0}, {"from": 10, "to": 30, "value": 0.5}]
    value = lambda ev, age: ev.score({"account_age_days": age}).value  # noqa: E731
    clamp = bins_model(bins)
    # below the first bin and above the last: the nearest bin; in the gap [7, 10): the nearer side, ties low
    assert [value(clamp, a) for a in (0, 1, 6.9, 7, 8.5, 9, 10, 29, 30, 500)] == [1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5]
    default = bins_model(bins, {"out_of_range": "default", "default": 20})
    assert value(default, 0) == 0.5 and value(default, 8) == 0.5 and value(default, 3) == 1
    reject = bins_model(bins, {"out_of_range": "reject"})
    with pytest.raises(InputError, match=r"falls in no bin .*\[1, 7\) and \[10, 30\)"):
        value(reject, 8)
    stray = bins_model(bins, {"out_of_range": "default", "default": 8})  # the default itself is in no bin
    with pytest.raises(InputError, match="no bin"):
        value(stray, 0)


# ------------------------------------------------------------------------------------------- compile


@pytest.mark.parametrize("change, message", [
    (lambda d: d["terms"][0].update(transform="log1p"), "both bins and a transform"),
    (lambda d: d["terms"][2].pop("levels"), "no levels"),
    (lambda d: d["terms"][1].update(transform="sqrt"), "bins and transform are for numeric"),
    (lambda d: d["terms"][3].update(levels={"a": 1.0}), "levels and other are for categorical"),
    (lambda d: d["bands"][1].pop("below"), "only the last band may omit it"),
    (lambda d: d["terms"].append(dict(d["terms"][1], name="mismatch_again", type="numeric", transform="identity")),
     "read as boolean by term 'country_mismatch' and as number"),
    (lambda d: d["terms"].append(dict(d["terms"][1])), "two terms are named"),
    (lambda d: d.update(inputs={"country_mismatch": {"missing": "default", "default": "no"}}), "not a boolean"),
    (lambda d: d["terms"][0]["bins"][1].update({"from": 5}), "inside the previous bin"),
    (lambda d: d["terms"][0]["bins"][1].pop("from"), "only the first bin may start"),
    (lambda d: d["terms"][0]["bins"][1].pop("to"), "only the last bin may run"),
    (lambda d: d["terms"][0]["bins"][1].update({"to": 7}), "empty"),
    (lambda d: d["terms"][0].update(weight=float("inf")), "finite"),
    (lambda d: d.update(link="logit"), "link 'logit'"),
    (lambda d: d["terms"][3].update(transform="log"), "transform 'log'"),
    (lambda d: d.update(bands=[]), "at least one decision band"),
])
def test_compile_refuses_what_cannot_be_evaluated(change, message):
    data = small()
    change(data)
    with pytest.raises(ModelError, match=message):
        compile(data, CHECKOUT)


def test_generated_source_holds_no_text_from_the_model():
    """Names, decisions and codes reach the scorer through its namespace, so a model cannot inject code."""
    data = small()
    data["terms"][2]["levels"] = {"card\"); import os; (\"": 0.0}
    data["bands"][0]["decision"] = "approve'); import os; ('"
    ev = compile(data, None).prepare()
    assert "import os" not in ev.source and "card" not in ev.source and "approve" not in ev.source


# ------------------------------------------------------------------------------------ kind interface


def test_kind_introspection():
    assert KIND.name == "scorecard" and KIND.compile is compile
    assert inputs_used(SMALL)["payment_method"] == ("terms", 2, "input")
    assert input_types(SMALL) == {"account_age_days": "number", "country_mismatch": "boolean",
                                  "payment_method": "category", "order_amount": "number", "device_seen_before": "boolean"}
    emitted = outputs_emitted(SMALL)
    assert emitted["decisions"] == {"approve": ("bands", 0, "decision"), "review": ("bands", 1, "decision"),
                                    "decline": ("bands", 2, "decision")}
    assert emitted["reasons"]["R04_RISKY_PAYMENT_METHOD"] == ("terms", 2, "reason")
    data = small()
    del data["reasons"]
    assert "reasons" not in outputs_emitted(data)  # a model that reports no reasons emits none


def test_schema_refuses_shape_errors_under_both_drafts():
    broken = copy.deepcopy(FRAUD)
    broken["terms"][0]["wieght"] = 1.0
    broken["terms"][1]["type"] = "binned"
    broken["bands"][0]["threshold"] = 0.3
    broken["reasons"]["top"] = -1
    for validator in (Draft7Validator(SCHEMA), Draft202012Validator(SCHEMA)):
        messages = " ".join(e.message for e in validator.iter_errors(broken))
        assert "wieght" in messages and "binned" in messages and "threshold" in messages and "-1" in messages


# --------------------------------------------------------------------------------------------- rules


def run(rule: Any, data: dict[str, Any], contract: Contract | None = CHECKOUT) -> list[Any]:
    return list(rule.run(RuleContext(data=data, file_stem=data["name"], contract=contract, kind=KIND)))


def fraud(change: Any = None) -> dict[str, Any]:
    data = copy.deepcopy(FRAUD)
    if change is not None:
        change(data)
    return data


def term(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in data["terms"] if t["name"] == name)


@pytest.mark.parametrize("data, contract", [(FRAUD, CHECKOUT), (CHURN, RETENTION)], ids=["fraud_risk", "churn_coupon"])
def test_example_models_pass_every_scorecard_rule(data, contract):
    for rule in rules.RULES:
        assert run(rule, data, contract) == [], rule.id


def test_rules_are_documented_and_registered():
    ids = [r.id for r in rules.RULES]
    assert len(ids) == len(set(ids)) and all(i.startswith("scorecard.") for i in ids)
    for rule in rules.RULES:
        assert rule.summary and set(rule.examples()) == {"bad", "good"}, rule.id
        assert rule.applies_to("scorecard") and not rule.applies_to("ranking")
        assert (PROJECT / "tests" / "rule_examples" / rule.id / "bad.yaml").is_file()


def test_unique_names():
    data = fraud(lambda d: term(d, "order_velocity").update(name="new_account", reason="R02_NEW_ACCOUNT"))
    problems = run(rules.unique_names, data)
    assert [p.path for p in problems] == [("terms", 5, "name"), ("terms", 5, "reason")]
    assert "'new_account' is already used by term 2" in problems[0].message
    assert "'R02_NEW_ACCOUNT'" in problems[1].message


def test_input_one_type():
    data = fraud(lambda d: d["terms"].append(
        {"name": "repeat_orders", "input": "orders_last_24h", "type": "boolean", "weight": 0.2}))
    problems = run(rules.input_one_type, data)
    assert len(problems) == 1 and problems[0].path == ("terms", 8, "type")
    assert "as boolean" in problems[0].message and "'order_velocity' reads it as number" in problems[0].message


def test_bins_or_transform():
    def change(d: dict[str, Any]) -> None:
        term(d, "new_account")["transform"] = "log1p"
        del term(d, "shipping_distance")["transform"]
        term(d, "country_mismatch")["levels"] = {"true": 1.0}
        del term(d, "payment_method")["levels"]
        term(d, "payment_method")["transform"] = "identity"

    messages = [p.message for p in run(rules.bins_or_transform, fraud(change))]
    assert messages == [
        "numeric term 'new_account' has both bins and a transform",
        "boolean term 'country_mismatch' has levels; its value is 1 when true and 0 when false",
        "categorical term 'payment_method' has transform, which only numeric terms use",
        "categorical term 'payment_method' has no levels",
        "numeric term 'shipping_distance' has neither bins nor a transform",
    ]


@pytest.mark.parametrize("bins, expected", [
    ([{"to": 7, "value": 1}, {"from": 7, "to": 30, "value": 0.5}, {"from": 45, "value": 0}],
     "gap in the bins of term 'new_account': a bin ends at 30 but the next starts at 45, so inputs from 30 to 45 fall in no bin"),
    ([{"to": 7, "value": 1}, {"from": 7, "to": 30, "value": 0.5}, {"from": 20, "value": 0}],
     "bins of term 'new_account' overlap: [7, 30) and [20, inf) both cover 20 to 30"),
    ([{"to": 7, "value": 1}, {"from": 30, "value": 0}, {"from": 7, "to": 30, "value": 0.5}],
     "bin 2 of term 'new_account' has no `to`; only the last bin may run to infinity"),
    ([{"from": 30, "to": 60, "value": 1}, {"from": 0, "to": 30, "value": 0.5}],
     "bins of term 'new_account' are out of order: [0, 30) comes after [30, 60)"),
    ([{"to": 7, "value": 1}, {"to": 30, "value": 0.5}, {"from": 30, "value": 0}],
     "bin 2 of term 'new_account' has no `from`; only the first bin may start at minus infinity"),
    ([{"to": 7, "value": 1}, {"from": 7, "to": 7, "value": 0.5}, {"from": 7, "value": 0}],
     "bin [7, 7) of term 'new_account' is empty: from 7 is not below to 7"),
])
def test_bins_contiguous(bins, expected):
    data = fraud(lambda d: term(d, "new_account").update(bins=bins))
    messages = [p.message for p in run(rules.bins_contiguous, data)]
    assert expected in messages


def test_bins_contiguous_points_at_the_gap():
    data = fraud(lambda d: term(d, "new_account")["bins"][4].update({"from": 200}))
    (problem,) = run(rules.bins_contiguous, data)
    assert problem.path == ("terms", 1, "bins", 4, "from") and "from: 180" in problem.hint


def test_bins_cover_range():
    def change(d: dict[str, Any]) -> None:
        term(d, "high_order_amount")["bins"][0]["from"] = 10
        term(d, "high_order_amount")["bins"][-1]["to"] = 50000  # exclusive: 50000 itself falls in no bin

    problems = run(rules.bins_cover_range, fraud(change))
    assert [p.path for p in problems] == [("terms", 0, "bins", 0, "from"), ("terms", 0, "bins", 3, "to")]
    assert "start at 10 but the contract allows values down to 0" in problems[0].message
    assert "end below 50000 (`to` is exclusive)" in problems[1].message
    assert run(rules.bins_cover_range, fraud(change), contract=None) == []


def test_transform_domain():
    def contract_with(**distance: Any) -> Contract:
        inputs = dict(CHECKOUT.inputs)
        inputs["shipping_to_billing_distance_km"] = InputDecl("shipping_to_billing_distance_km", "number", **distance)
        return Contract(name="checkout", app="checkout-service", models=("fraud_risk",), inputs=inputs)

    (problem,) = run(rules.transform_domain, fraud(), contract=contract_with(max=20000))
    assert problem.path == ("terms", 6, "transform") and "sets no minimum" in problem.message
    (problem,) = run(rules.transform_domain, fraud(), contract=contract_with(min=-100, max=20000))
    assert "down to -100" in problem.message
    data = fraud(lambda d: d["inputs"].update(shipping_to_billing_distance_km={"missing": "default", "default": -1}))
    (problem,) = run(rules.transform_domain, data)
    assert problem.path == ("inputs", "shipping_to_billing_distance_km", "default")


def test_levels_cover():
    data = fraud(lambda d: [term(d, "payment_method")["levels"].pop(k) for k in ("invoice", "gift_card")])
    (problem,) = run(rules.levels_cover, data)
    assert problem.path == ("terms", 3, "levels")
    assert "no level for 'invoice' and 'gift_card', which app 'checkout-service' sends" in problem.message
    data = fraud(lambda d: (term(d, "payment_method")["levels"].pop("gift_card"), term(d, "payment_method").update(other=1.0)))
    assert run(rules.levels_cover, data) == []  # `other` takes the rest
    assert run(rules.levels_cover, fraud(), contract=None) == []


def test_levels_known():
    data = fraud(lambda d: term(d, "payment_method")["levels"].update(giftcard=1.0))
    (problem,) = run(rules.levels_known, data)
    assert problem.path == ("terms", 3, "levels", "giftcard") and problem.at_key
    assert problem.hint == "did you mean 'gift_card'?"
    data = fraud(lambda d: term(d, "payment_method")["levels"].update(crypto=2.0))
    (problem,) = run(rules.levels_known, data)
    assert problem.hint.startswith("the app sends: card, paypal")


def test_weight_bounds():
    def change(d: dict[str, Any]) -> None:
        term(d, "country_mismatch")["weight"] = 12.0               # model bounds [-3, 3]
        term(d, "new_account")["weight"] = -1.5                    # own bounds [0, 2.5]
        term(d, "shipping_distance")["bounds"] = {"min": 0.1, "max": 0}

    messages = [p.message for p in run(rules.weight_bounds, fraud(change))]
    assert messages == [
        "weight -1.5 of term 'new_account' is below 0, the min of its bounds",
        "weight 12 of term 'country_mismatch' is above 3, the max of the model's weight_bounds",
        "bounds of term 'shipping_distance': min 0.1 is above max 0",
    ]
    data = fraud(lambda d: d.update(weight_bounds={"min": 3, "max": -3}))
    assert [p.path for p in run(rules.weight_bounds, data)] == [("weight_bounds", "min")]


def test_bands_ordered():
    swapped = fraud(lambda d: d.update(bands=[{"decision": "approve", "below": 0.7}, {"decision": "review", "below": 0.35},
                                              {"decision": "decline"}]))
    (problem,) = run(rules.bands_ordered, swapped)
    assert problem.path == ("bands", 1, "below")
    assert problem.message == "decision bands must rise: 'review' below 0.35 comes after 'approve' below 0.7"
    gaps = fraud(lambda d: d.update(bands=[{"decision": "approve"}, {"decision": "review", "below": 0.7},
                                           {"decision": "decline", "below": 0.9}]))
    messages = [p.message for p in run(rules.bands_ordered, gaps)]
    assert "band 'approve' has no `below`; only the last band may omit it" in messages
    assert any(m.startswith("the last band 'decline' has below: 0.9") for m in messages)


def test_bands_in_range():
    data = fraud(lambda d: d.update(bands=[{"decision": "approve", "below": 35}, {"decision": "decline"}]))
    (problem,) = run(rules.bands_in_range, data)
    assert problem.hint == "did you mean 0.35?"
    data["link"] = "identity"
    assert run(rules.bands_in_range, data) == []


def test_bands_distinct():
    data = fraud(lambda d: d.update(bands=[{"decision": "approve", "below": 0.35}, {"decision": "review", "below": 0.6},
                                           {"decision": "approve", "below": 0.8}, {"decision": "decline"}]))
    (problem,) = run(rules.bands_distinct, data)
    assert problem.path == ("bands", 2, "decision") and "comes back in band 3 after 'review'" in problem.message
    data = fraud(lambda d: d.update(bands=[{"decision": "approve", "below": 0.35}, {"decision": "approve", "below": 0.6},
                                           {"decision": "decline"}]))
    (problem,) = run(rules.bands_distinct, data)
    assert "repeats decision 'approve'" in problem.message


def test_bands_reachable():
    # fraud_risk at its highest: z = -32 + 1.5 + 1.5 + 1.2 + 1.0 + 0.8 + 1.8 + 0.02 * sqrt(20000) + 0 = -21.37
    data = fraud(lambda d: d.update(intercept=-32))
    problems = run(rules.bands_reachable, data)
    assert [p.path for p in problems] == [("bands", 1), ("bands", 2)]
    assert "needs a score of at least 0.35" in problems[0].message
    # at its lowest: z = 5 + 0 + 0 + 0 - 0.5 (bank_transfer) + 0 + 0 + 0 - 0.7 = 3.8 -> 0.978: above approve's 0.35
    # and review's 0.7, so only decline is left
    problems = run(rules.bands_reachable, fraud(lambda d: d.update(intercept=5)))
    assert [p.path for p in problems] == [("bands", 0), ("bands", 1)]
    assert "lowest score this model can give is 0.978" in problems[0].message


def test_reason_codes():
    data = fraud(lambda d: term(d, "country_mismatch").pop("reason"))
    (problem,) = run(rules.reason_codes, data)
    assert problem.path == ("terms", 2) and "can raise the score by up to 1.2" in problem.message
    # A term that cannot contribute more than min_contribution (0.25) needs no code.
    data = fraud(lambda d: term(d, "country_mismatch").update(weight=0.2) or term(d, "country_mismatch").pop("reason"))
    assert run(rules.reason_codes, data) == []
    data = fraud(lambda d: d.pop("reasons") and term(d, "country_mismatch").pop("reason"))
    assert run(rules.reason_codes, data) == []  # the model reports no reasons at all


def test_reasons_unused():
    (problem,) = run(rules.reasons_unused, fraud(lambda d: d.pop("reasons")))
    assert problem.path == ("terms", 0, "reason") and "7 terms carry a reason code" in problem.message
    (problem,) = run(rules.reasons_unused, fraud(lambda d: d["reasons"].update(top=0)))
    assert problem.path == ("reasons", "top")


# ----------------------------------------------------------------------------------- example models


def test_fraud_risk_example_by_hand():
    ev = compile(FRAUD, CHECKOUT)
    regular = {"order_amount": 79.9, "account_age_days": 800, "country_mismatch": False, "payment_method": "card",
               "email_domain_age_days": 9000, "orders_last_24h": 0, "shipping_to_billing_distance_km": 0.0,
               "device_seen_before": True}
    # z = -3.2 - 0.7 (known device) = -3.9 -> risk 0.01984 -> approve
    result = ev.score(regular)
    assert result.value == pytest.approx(logistic(-3.9)) and (result.decision, result.reasons) == ("approve", ())
    newcomer = dict(regular, account_age_days=0, country_mismatch=True, shipping_to_billing_distance_km=500,
                    device_seen_before=False)
    # z = -3.2 + 1.5 (new account) + 1.2 (mismatch) + 0.02 * sqrt(500) (= 0.447) = -0.0528 -> 0.4868 -> review
    result = ev.score(newcomer)
    assert result.value == pytest.approx(logistic(-3.2 + 1.5 + 1.2 + 0.02 * math.sqrt(500)))
    assert result.decision == "review"
    assert result.reasons == ("R02_NEW_ACCOUNT", "R03_COUNTRY_MISMATCH", "R07_SHIPPING_FAR_FROM_BILLING")
    # A timed-out WHOIS lookup and a blocked fingerprint use the model's defaults (365 days: old; unknown device).
    partial = {k: v for k, v in regular.items() if k not in ("email_domain_age_days", "device_seen_before")}
    assert ev.score(partial).value == pytest.approx(logistic(-3.2))


def test_churn_coupon_example_by_hand():
    ev = compile(CHURN, RETENTION)
    regular = {"days_since_last_order": 14, "orders_12m": 6, "support_tickets_90d": 0, "nps_score": 8,
               "subscription_plan": "basic", "discount_share": 0.2}
    # z = -1.8 + 0 - 0.6 * log1p(6) + 0 + 0.9 * 0.3 + 0.2 + 1.2 * 0.2 = -2.2575 -> 0.0947 -> no_coupon
    result = ev.score(regular)
    assert result.value == pytest.approx(logistic(-1.8 - 0.6 * math.log(7) + 0.27 + 0.2 + 0.24))
    assert result.decision == "no_coupon"
    lapsing = {"days_since_last_order": 90, "orders_12m": 2, "support_tickets_90d": 1, "nps_score": 5,
               "subscription_plan": "none", "discount_share": 0.5}
    # z = -1.8 + 1.3 - 0.6 * log1p(2) + 0.45 * 1 + 0.9 * 1 + 0.4 + 1.2 * 0.5 = 1.1908 -> 0.7669 -> coupon
    result = ev.score(lapsing)
    assert result.value == pytest.approx(logistic(-1.8 + 1.3 - 0.6 * math.log(3) + 0.45 + 0.9 + 0.4 + 0.6))
    assert (result.decision, result.reasons) == ("coupon", ("C01_LAPSING", "C03_DETRACTOR"))
    # never answered the survey: the model's default NPS 8 (a passive), like the regular above
    assert ev.score({k: v for k, v in regular.items() if k != "nps_score"}) == ev.score(regular)


def synthetic_orders(rng: random.Random) -> dict[str, Any]:
    """A checkout order from a plausible mix: mostly returning customers with ordinary baskets."""
    r = rng.random()
    age = 0 if r < 0.15 else rng.randint(1, 6) if r < 0.2 else rng.randint(7, 29) if r < 0.25 else \
        rng.randint(30, 179) if r < 0.35 else rng.randint(180, 3000)
    r = rng.random()
    velocity = 0 if r < 0.85 else 1 if r < 0.95 else rng.randint(2, 3) if r < 0.99 else rng.randint(4, 12)
    r = rng.random()
    distance = 0.0 if r < 0.8 else rng.uniform(1, 50) if r < 0.95 else rng.uniform(50, 3000)
    r = rng.random()
    domain_age = rng.randint(0, 29) if r < 0.02 else rng.randint(30, 179) if r < 0.05 else rng.randint(1000, 10000)
    return {
        "order_amount": min(50000.0, round(rng.lognormvariate(4.3, 0.9), 2)),  # median about 74 EUR
        "account_age_days": age,
        "country_mismatch": rng.random() < 0.04,
        "payment_method": rng.choices(["card", "paypal", "apple_pay", "google_pay", "bank_transfer", "invoice", "gift_card"],
                                      [45, 30, 8, 4, 3, 8, 2])[0],
        "email_domain_age_days": domain_age,
        "orders_last_24h": velocity,
        "shipping_to_billing_distance_km": distance,
        "device_seen_before": rng.random() < (0.8 if age > 30 else 0.1),
    }


def synthetic_customer(rng: random.Random) -> dict[str, Any]:
    """An active CRM customer: most ordered within two months, a few long ago; 6 in 17 never answered NPS."""
    r = rng.random()
    days = rng.randint(0, 29) if r < 0.55 else rng.randint(30, 59) if r < 0.75 else \
        rng.randint(60, 119) if r < 0.88 else rng.randint(120, 365)
    customer = {
        "days_since_last_order": days,
        "orders_12m": min(500, int(rng.expovariate(1 / 5))),
        "support_tickets_90d": rng.choices([0, 1, 2, 4], [80, 12, 5, 3])[0],
        "nps_score": rng.choice([None] * 6 + list(range(11))),
        "subscription_plan": rng.choices(["none", "basic", "plus", "premium"], [50, 25, 15, 10])[0],
        "discount_share": round(rng.betavariate(2, 5), 3),
    }
    return {k: v for k, v in customer.items() if v is not None}


def test_example_models_make_sensible_decision_shares():
    rng = random.Random(2024)
    fraud_ev, churn_ev = compile(FRAUD, CHECKOUT), compile(CHURN, RETENTION)
    orders = Counter(fraud_ev.score(synthetic_orders(rng)).decision for _ in range(5000))
    assert orders["approve"] / 5000 > 0.95, orders            # nearly every order goes straight through
    assert 0.003 < orders["review"] / 5000 < 0.04, orders      # a queue the fraud team can work
    assert orders["decline"] / 5000 < 0.01, orders
    coupons = Counter(churn_ev.score(synthetic_customer(rng)).decision for _ in range(5000))
    assert 0.15 < coupons["coupon"] / 5000 < 0.32, coupons    # about one customer in five gets a coupon


# Every input the fraud model reads, within the checkout contract's ranges.
ORDERS = st.fixed_dictionaries({
    "order_amount": st.floats(0, 50000),
    "account_age_days": st.integers(0, 10000),
    "country_mismatch": st.booleans(),
    "payment_method": st.sampled_from(["card", "paypal", "apple_pay", "google_pay", "bank_transfer", "invoice", "gift_card"]),
    "email_domain_age_days": st.integers(0, 20000),
    "orders_last_24h": st.integers(0, 500),
    "shipping_to_billing_distance_km": st.floats(0, 20000),
    "device_seen_before": st.booleans(),
})
FRAUD_EV = compile(FRAUD, CHECKOUT)


@settings(max_examples=300, deadline=None)
@given(ORDERS)
def test_score_agrees_with_explain_and_the_documented_rules(order):
    """The generated scorer against a plain reading of the docs: link(z), first band above, top coded reasons."""
    result = FRAUD_EV.score(order)
    rows = FRAUD_EV.explain(order)
    z = FRAUD["intercept"]
    for _, _, contribution in rows:
        z += contribution
    assert result.value == logistic(z)
    bands = FRAUD["bands"]
    expected = next((b["decision"] for b in bands if "below" in b and result.value < b["below"]), bands[-1]["decision"])
    assert result.decision == expected
    codes = {t["name"]: t.get("reason") for t in FRAUD["terms"]}
    ranked = sorted(((-c, i, codes[n]) for i, (n, _, c) in enumerate(rows)
                     if codes[n] and c > FRAUD["reasons"]["min_contribution"]))
    assert result.reasons == tuple(code for _, _, code in ranked[:FRAUD["reasons"]["top"]])


def test_a_scorecard_of_thousands_of_terms_compiles_and_adds_left_to_right():
    """One long `a + b + ...` expression overflows Python's compiler; the generator writes it in chunks."""
    from validator.kinds import compile_model

    n = 5000
    data = {
        "kind": "scorecard", "name": "wide", "contract": "checkout", "link": "identity", "intercept": 0.5,
        "terms": [{"name": f"t{i}", "input": f"i{i}", "type": "numeric", "transform": "identity", "weight": 0.001}
                  for i in range(n)],
        "bands": [{"decision": "approve", "below": 5.0}, {"decision": "decline"}],
    }
    ev = compile_model(data, None)
    expected = 0.5
    for _ in range(n):
        expected += 0.001 * 1.0
    result = ev.score({f"i{i}": 1.0 for i in range(n)})
    assert result.value == expected and result.decision == "decline"
