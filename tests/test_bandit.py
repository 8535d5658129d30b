"""The `bandit` kind: the draw order, seeded reproducibility, traffic shares, compile errors and rules.

Statistical checks use seeded generators (so they are deterministic) and a 5-sigma tolerance on 20000 draws
(so they stay meaningful, and do not flake, if Python's betavariate algorithm ever changes): for a share p,
sigma = sqrt(p (1 - p) / 20000), e.g. 0.0015 for p = 0.05.
"""
from __future__ import annotations

import copy
import math
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator, Draft202012Validator

from validator.gate.rules import RuleContext
from validator.kinds import KINDS, ModelError
from validator.kinds.bandit import KIND, rules
from validator.kinds.bandit.evaluator import BanditModel, compile, input_types, inputs_used, outputs_emitted
from validator.kinds.bandit.schema import SCHEMA
from validator.kinds.contract import Contract
from validator.kinds.results import Choice

PROJECT = Path(__file__).resolve().parents[1]
CONTRACT_DATA = yaml.safe_load((PROJECT / "config" / "contracts" / "storefront.yaml").read_text(encoding="utf-8"))
CONTRACT = Contract.from_dict("storefront", CONTRACT_DATA)
EXAMPLE = yaml.safe_load((PROJECT / "weights" / "homepage_hero.yaml").read_text(encoding="utf-8"))
N = 20000

SMALL: dict[str, Any] = {
    "kind": "bandit",
    "name": "homepage_hero",
    "contract": "storefront",
    "metric": "hero_click_through",
    "arms": [
        {"id": "hero_spring_sale", "prior": {"alpha": 2, "beta": 38}, "posterior": {"successes": 412, "failures": 9588}, "floor": 0.05},
        {"id": "hero_free_shipping", "prior": {"alpha": 2, "beta": 38}, "posterior": {"successes": 505, "failures": 9495}, "floor": 0.1},
        {"id": "hero_new_arrivals", "prior": {"alpha": 1, "beta": 1}},
    ],
    "holdout": {"variant": "hero_control", "share": 0.05},
}


def small(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(SMALL)
    data.update(changes)
    return data


def tolerance(p: float, n: int = N) -> float:
    """Five standard deviations of a share p estimated from n draws."""
    return 5 * math.sqrt(p * (1 - p) / n)


def shares(model: BanditModel, seed: int, n: int = N) -> dict[str, float]:
    rng = random.Random(seed)
    counts = Counter(model.choose(rng).arm for _ in range(n))
    return {arm: count / n for arm, count in counts.items()}


class ScriptedRng:
    """Hands out planned uniforms and beta draws, and records every call: the draw order made visible."""

    def __init__(self, uniforms: list[float], betas: list[float]) -> None:
        self.uniforms, self.betas = list(uniforms), list(betas)
        self.calls: list[tuple] = []

    def random(self) -> float:
        self.calls.append(("random",))
        return self.uniforms.pop(0)

    def betavariate(self, alpha: float, beta: float) -> float:
        self.calls.append(("betavariate", alpha, beta))
        return self.betas.pop(0)


def ctx(data: dict[str, Any], contract: Contract | None = CONTRACT) -> RuleContext:
    return RuleContext(data=data, file_stem=data["name"], contract=contract, contract_names=frozenset({"storefront"}), kind=KIND)


def problems(check, data: dict[str, Any]) -> list:
    return list(check.run(ctx(data)))


# --- the draw order ---------------------------------------------------------------------------------------------


def test_holdout_takes_the_first_slice_and_draws_nothing_else():
    model = compile(SMALL, None)
    rng = ScriptedRng([0.049], [])
    assert model.choose(rng) == Choice("hero_control", True, "homepage_hero", None)
    assert rng.calls == [("random",)]


def test_floor_slices_follow_the_holdout_in_file_order():
    model = compile(SMALL, None)
    # holdout [0, 0.05); spring_sale floor [0.05, 0.10); free_shipping floor [0.10, 0.20); Thompson [0.20, 1)
    for u, arm in ((0.05, "hero_spring_sale"), (0.0999, "hero_spring_sale"), (0.10, "hero_free_shipping"), (0.1999, "hero_free_shipping")):
        rng = ScriptedRng([u], [])
        assert model.choose(rng) == Choice(arm, False, "homepage_hero", None)
        assert rng.calls == [("random",)]


def test_thompson_draws_every_posterior_in_file_order():
    model = compile(SMALL, None)
    rng = ScriptedRng([0.2], [0.041, 0.052, 0.30])
    assert model.choose(rng).arm == "hero_new_arrivals"
    # Beta(alpha + successes, beta + failures): 2 + 412, 38 + 9588; 2 + 505, 38 + 9495; 1 + 0, 1 + 0
    assert rng.calls == [("random",), ("betavariate", 414.0, 9626.0), ("betavariate", 507.0, 9533.0), ("betavariate", 1.0, 1.0)]


def test_thompson_tie_goes_to_the_first_arm():
    model = compile(SMALL, None)
    assert model.choose(ScriptedRng([0.5], [0.3, 0.7, 0.7])).arm == "hero_free_shipping"
    assert model.choose(ScriptedRng([0.5], [0.0, 0.0, 0.0])).arm == "hero_spring_sale"


def test_without_holdout_or_floors_every_visitor_is_sampled():
    data = small(holdout=None, arms=[{k: v for k, v in arm.items() if k != "floor"} for arm in SMALL["arms"]])
    del data["holdout"]
    model = compile(data, None)
    rng = ScriptedRng([0.0], [0.1, 0.2, 0.05])
    assert model.choose(rng) == Choice("hero_free_shipping", False, "homepage_hero", None)
    assert len(rng.calls) == 4


# --- reproducibility --------------------------------------------------------------------------------------------


def test_seeded_choices_are_reproducible():
    model = compile(SMALL, None)
    assert [model.choose(seed=s) for s in range(50)] == [model.choose(seed=s) for s in range(50)]
    a, b = random.Random(7), random.Random(7)
    assert [model.choose(a).arm for _ in range(500)] == [model.choose(b).arm for _ in range(500)]
    assert model.choose(seed=42) == model.choose(random.Random(42))


def test_seed_and_rng_together_are_refused():
    with pytest.raises(ValueError, match="not both"):
        compile(SMALL, None).choose(random.Random(1), seed=1)


def test_default_generator_works():
    model = compile(SMALL, None)
    model.version = "v7"
    choice = model.choose()
    assert choice.arm in {"hero_spring_sale", "hero_free_shipping", "hero_new_arrivals", "hero_control"}
    assert choice.model == "homepage_hero" and choice.version == "v7"


# --- traffic shares (seeded, 5 sigma) ---------------------------------------------------------------------------


def test_holdout_share_is_as_declared():
    observed = shares(compile(SMALL, None), seed=1)
    assert abs(observed["hero_control"] - 0.05) < tolerance(0.05)


def test_floors_are_respected_even_for_a_hopeless_arm():
    data = small(arms=[
        {"id": "hero_spring_sale", "prior": {"alpha": 1, "beta": 1}, "posterior": {"successes": 0, "failures": 100000}, "floor": 0.1},
        {"id": "hero_free_shipping", "prior": {"alpha": 1, "beta": 1}, "posterior": {"successes": 5000, "failures": 5000}},
    ])
    observed = shares(compile(data, None), seed=2)
    # spring_sale never wins a Thompson draw (rate ~0.00001 vs ~0.5): it gets exactly its floor, 0.1
    assert abs(observed["hero_spring_sale"] - 0.1) < tolerance(0.1)
    assert abs(observed["hero_control"] - 0.05) < tolerance(0.05)
    assert abs(observed["hero_free_shipping"] - 0.85) < tolerance(0.85)


def test_an_overwhelming_posterior_wins_nearly_always():
    data = small(arms=[
        {"id": "hero_spring_sale", "prior": {"alpha": 2, "beta": 38}, "posterior": {"successes": 400, "failures": 9600}, "floor": 0.05},
        {"id": "hero_free_shipping", "prior": {"alpha": 2, "beta": 38}, "posterior": {"successes": 1500, "failures": 8500}, "floor": 0.05},
        {"id": "hero_new_arrivals", "prior": {"alpha": 2, "beta": 38}, "posterior": {"successes": 380, "failures": 9620}, "floor": 0.05},
    ])
    model = compile(data, None)
    # 15% against 4%: Thompson picks free_shipping every time; the others only get their floors
    assert model.thompson_probabilities(5000, seed=3)["hero_free_shipping"] == 1.0
    observed = shares(model, seed=3)
    assert abs(observed["hero_free_shipping"] - (0.05 + 0.80)) < tolerance(0.85)
    assert abs(observed["hero_spring_sale"] - 0.05) < tolerance(0.05)


def test_equal_arms_share_the_thompson_traffic():
    data = small(arms=[
        {"id": "hero_spring_sale", "prior": {"alpha": 2, "beta": 38}, "posterior": {"successes": 500, "failures": 9500}},
        {"id": "hero_free_shipping", "prior": {"alpha": 2, "beta": 38}, "posterior": {"successes": 500, "failures": 9500}},
    ])
    observed = shares(compile(data, None), seed=4)
    # 95% split evenly: 0.475 each
    assert abs(observed["hero_spring_sale"] - 0.475) < tolerance(0.475)


def test_expected_shares_are_exact_where_they_can_be_and_match_choose():
    model = compile(SMALL, None)
    expected = model.expected_shares(n_draws=N, seed=5)
    assert list(expected) == ["hero_spring_sale", "hero_free_shipping", "hero_new_arrivals", "hero_control"]
    assert math.fsum(expected.values()) == pytest.approx(1.0)
    assert expected["hero_control"] == 0.05
    assert expected["hero_spring_sale"] >= 0.05 and expected["hero_free_shipping"] >= 0.1
    observed = shares(model, seed=6)
    for arm, p in expected.items():
        assert abs(observed.get(arm, 0.0) - p) < tolerance(p) + tolerance(p), arm  # two estimates, both noisy
    assert model.expected_shares(seed=5) == model.expected_shares(seed=5)


def test_floors_taking_all_traffic_leave_nothing_to_sample():
    data = small(arms=[dict(arm, floor=0.475) for arm in SMALL["arms"][:2]])
    model = compile(data, None)
    assert model.expected_shares() == {"hero_spring_sale": 0.475, "hero_free_shipping": 0.475, "hero_control": 0.05}
    assert model.choose(ScriptedRng([0.999999], [0.1, 0.9])).arm in {"hero_spring_sale", "hero_free_shipping"}


def test_posterior_means():
    means = compile(SMALL, None).posterior_means()
    assert means == pytest.approx({"hero_spring_sale": 414 / 10040, "hero_free_shipping": 507 / 10040, "hero_new_arrivals": 0.5})


# --- compile ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, message",
    [
        ({"arms": [{"id": "a", "prior": {"alpha": 0, "beta": 1}}]}, "prior alpha must be a finite number > 0"),
        ({"arms": [{"id": "a", "prior": {"alpha": 1, "beta": -2}}]}, "prior beta"),
        ({"arms": [{"id": "a", "prior": {"alpha": 1, "beta": 1}, "posterior": {"successes": -1, "failures": 3}}]}, "successes must be a whole number"),
        ({"arms": [{"id": "a", "prior": {"alpha": 1, "beta": 1}, "posterior": {"successes": 1.5, "failures": 3}}]}, "whole number"),
        ({"arms": [{"id": "a", "prior": {"alpha": 1, "beta": 1}, "posterior": {"successes": True, "failures": 3}}]}, "whole number"),
        ({"arms": [{"id": "a", "prior": {"alpha": 1, "beta": 1}, "floor": 0.6}, {"id": "b", "prior": {"alpha": 1, "beta": 1}, "floor": 0.6}]}, "sum to 1.25"),
        ({"arms": [{"id": "hero_control", "prior": {"alpha": 1, "beta": 1}}]}, "also the holdout variant"),
        ({"arms": []}, "no arms"),
        ({"arms": [{"id": "a"}]}, "incomplete"),
        ({"holdout": {"variant": "hero_control", "share": 1.5}}, "between 0 and 1"),
        ({"arms": [{"id": "a", "prior": {"alpha": math.inf, "beta": 1}}]}, "finite"),
    ],
)
def test_compile_refuses_what_it_cannot_evaluate(change, message):
    with pytest.raises(ModelError, match=message):
        compile(small(**change), None)


def test_kind_is_registered():
    assert KINDS["bandit"] is KIND
    assert isinstance(compile(SMALL, CONTRACT), BanditModel)


# --- introspection and schema -----------------------------------------------------------------------------------


def test_introspection():
    assert inputs_used(SMALL) == {} and input_types(SMALL) == {}
    assert outputs_emitted(SMALL) == {"variants": {
        "hero_spring_sale": ("arms", 0, "id"),
        "hero_free_shipping": ("arms", 1, "id"),
        "hero_new_arrivals": ("arms", 2, "id"),
        "hero_control": ("holdout", "variant"),
    }}


def test_schema_accepts_the_example_and_refuses_shapes():
    for validator in (Draft7Validator(SCHEMA), Draft202012Validator(SCHEMA)):
        assert list(validator.iter_errors(EXAMPLE)) == []
        assert list(validator.iter_errors(SMALL)) == []
        assert list(validator.iter_errors(small(holdout={"variant": "hero_control", "share": 0})))
        assert list(validator.iter_errors(small(arms=[{"id": "a", "prior": {"alpha": 1}}])))
        assert list(validator.iter_errors(small(arms=[{"id": "a", "prior": {"alpha": 1, "beta": 1}, "floor": 1.5}])))
        assert list(validator.iter_errors(small(arms=[{"id": "a", "prior": {"alpha": 1, "beta": 1}, "posterior": {"successes": 1.5, "failures": 1}}])))


# --- the example model ------------------------------------------------------------------------------------------


def test_example_model_compiles_chooses_and_emits_accepted_variants():
    model = compile(EXAMPLE, CONTRACT)
    accepted = CONTRACT.outputs["homepage_hero"]["variants"]
    assert set(outputs_emitted(EXAMPLE)["variants"]) <= accepted
    assert model.choose(seed=1).arm in accepted
    expected = model.expected_shares(seed=0)
    assert expected["hero_control"] == 0.05
    assert all(expected[arm] >= 0.05 for arm in model.arms)
    # free shipping has the best click-through (5.1% over 10000 views) and takes most of the Thompson traffic
    assert max(expected, key=expected.get) == "hero_free_shipping"


def test_example_model_passes_every_bandit_rule():
    for check in rules.RULES:
        assert problems(check, EXAMPLE) == [], check.id


# --- rules ------------------------------------------------------------------------------------------------------


def test_priors_proper():
    data = small()
    data["arms"][0]["prior"] = {"alpha": 0, "beta": 38}
    data["arms"][2]["prior"] = {"alpha": 1, "beta": -1}
    found = problems(rules.priors_proper, data)
    assert [p.path for p in found] == [("arms", 0, "prior", "alpha"), ("arms", 2, "prior", "beta")]
    assert "alpha 0" in found[0].message
    assert problems(rules.priors_proper, SMALL) == []


def test_prior_strength():
    data = small()
    data["arms"][0]["prior"] = {"alpha": 200, "beta": 3800}
    [problem] = problems(rules.prior_strength, data)
    assert problem.path == ("arms", 0, "prior")
    # 4000 / (4000 + 10000) = 29% of the evidence
    assert "worth 4000 visits" in problem.message and "29%" in problem.message
    assert "{alpha: 2, beta: 38}" in problem.hint
    data["arms"][0]["prior"] = {"alpha": 50, "beta": 950}  # exactly 1000: allowed
    assert problems(rules.prior_strength, data) == []
    assert problems(rules.prior_strength, SMALL) == []


def test_floors_sum():
    data = small()
    data["arms"][0]["floor"] = 0.5
    data["arms"][1]["floor"] = 0.5
    [problem] = problems(rules.floors_sum, data)
    assert problem.path == ("arms", 0, "floor")
    assert "add up to 1.05 (floors 2 x 0.5 + holdout 0.05)" in problem.message
    exact = small(arms=[dict(arm, floor=0.475) for arm in SMALL["arms"][:2]])  # 0.475 + 0.475 + 0.05 = 1
    assert problems(rules.floors_sum, exact) == []
    assert problems(rules.floors_sum, SMALL) == []


def test_unique_arms():
    data = small()
    data["arms"][2]["id"] = "hero_spring_sale"
    data["arms"].append({"id": "hero_control", "prior": {"alpha": 1, "beta": 1}})
    found = problems(rules.unique_arms, data)
    assert [p.path for p in found] == [("arms", 2, "id"), ("holdout", "variant")]
    assert "arms 1 and 3" in found[0].message and "also arm 4" in found[1].message
    assert problems(rules.unique_arms, SMALL) == []


def test_posterior_counts():
    data = small()
    data["arms"][0]["posterior"]["failures"] = -9588
    [problem] = problems(rules.posterior_counts, data)
    assert problem.path == ("arms", 0, "posterior", "failures") and "-9588 failures" in problem.message
    assert problems(rules.posterior_counts, SMALL) == []


def test_min_arms():
    one = small(arms=SMALL["arms"][:1])
    [problem] = problems(rules.min_arms, one)
    assert problem.path == ("arms",) and "1 arm:" in problem.message
    all_floors = small(arms=[dict(arm, floor=0.475) for arm in SMALL["arms"][:2]])
    [problem] = problems(rules.min_arms, all_floors)
    assert "no visitor is left" in problem.message
    assert problems(rules.min_arms, SMALL) == []


def test_exploration_share():
    data = small(arms=[dict(arm, floor=0.2) for arm in SMALL["arms"]])  # 0.6 + 0.05
    [problem] = problems(rules.exploration_share, data)
    assert "take 65% of traffic" in problem.message and "remaining 35%" in problem.message
    assert problems(rules.exploration_share, SMALL) == []


def test_every_rule_documents_itself():
    for check in rules.RULES:
        assert check.id.startswith("bandit.") and check.kinds == frozenset({"bandit"})
        assert check.summary and set(check.examples()) == {"bad", "good"}
