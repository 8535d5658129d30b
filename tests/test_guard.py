"""The guard language of ``weights promote --if``: what parses, what is refused and where, and what it means
on a fleet's measurements (FleetView values built here; tests/test_fleet_prometheus.py reads real ones)."""
from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from validator.publish.fleet import FleetView, ModelShadow, VersionCount, render_fleet
from validator.publish.guard import (
    MAX_DEPTH,
    VARIABLES,
    GuardError,
    evaluate,
    evaluate_guard,
    guard_values,
    parse_guard,
)

TOLERANCE = 1e-12  # values are ratios of small integers


def model(name: str, requests: int, flips: int, *, clients: int = 1, delta: tuple[float, int] = (0.0, 0),
          predicted: float | None = None, measured: bool = True) -> ModelShadow:
    return ModelShadow(model=name, measured=measured, requests=requests, flips=flips, clients=clients,
                       delta_sum=delta[0], delta_count=delta[1], dropped=0, errors=0,
                       predicted_metric=None if predicted is None else "decision_flip_rate",
                       predicted_value=predicted, predicted_rows=None if predicted is None else 16000)


def view(*models: ModelShadow, candidate: str | None = "8", measuring: int = 12, live: int = 90,
         canary: int = 10) -> FleetView:
    versions = (VersionCount("live", "7", "a" * 40, live), VersionCount("candidate", "8", "b" * 40, canary),
                VersionCount("candidate", "5", "c" * 40, 3))  # an aborted candidate a few still hold
    return FleetView(source="http://127.0.0.1:9090", channel="production", candidate_version=candidate, at=0.0,
                     versions=versions, models=models, clients_measuring=measuring)


FLEET = view(model("fraud_risk", 2000, 30, delta=(12.5, 1000), predicted=0.012),
             model("churn_coupon", 800, 4, delta=(3.0, 800), predicted=0.02),
             model("search_ranking", 5000, 50))


# --------------------------------------------------------------------------------------- semantics

def test_each_variable_is_the_cautious_summary_of_the_models() -> None:
    values, missing = guard_values(FLEET)
    assert missing == {}
    expected = {"flip_rate": 30 / 2000, "requests": 800, "clients": 12, "canary_clients": 10, "live_clients": 90,
                "predicted_flip_rate": 0.02, "score_delta": 0.0125}
    assert set(values) == set(VARIABLES)
    for name, value in expected.items():
        assert math.isclose(values[name] or -1, value, rel_tol=0, abs_tol=TOLERANCE), name


def test_a_guard_that_holds_passes_with_one_reason_per_comparison() -> None:
    verdict = evaluate_guard(parse_guard("flip_rate <= 0.02 and clients >= 10 and requests >= 500"), FLEET)
    assert verdict.passed
    assert verdict.reasons == ["flip_rate = 0.015 <= 0.02: holds", "clients = 12 >= 10: holds",
                               "requests = 800 >= 500: holds"]
    assert verdict.to_dict()["values"]["flip_rate"] == 30 / 2000


def test_a_guard_that_does_not_hold_says_which_comparison() -> None:
    verdict = evaluate_guard(parse_guard("flip_rate <= 0.02 and clients >= 20"), FLEET)
    assert not verdict.passed
    assert "clients = 12 >= 20: does not hold" in verdict.reasons


def test_measured_against_predicted_compares_two_variables() -> None:
    assert evaluate_guard(parse_guard("flip_rate <= predicted_flip_rate"), FLEET).passed
    assert not evaluate_guard(parse_guard("score_delta < 0.01"), FLEET).passed


@pytest.mark.parametrize("text", ["flip_rate <= 0.02", "not (flip_rate > 0.02)", "flip_rate <= 0.02 or clients >= 1",
                                  "requests >= 0 and flip_rate < 1"])
def test_a_model_without_requests_fails_every_guard_reading_flip_rate(text: str) -> None:
    fleet = view(model("fraud_risk", 2000, 10), model("churn_coupon", 0, 0, predicted=0.01, measured=False))
    verdict = evaluate_guard(parse_guard(text), fleet)
    assert not verdict.passed
    assert "flip_rate has no data: no shadow request of version 8 yet for churn_coupon" in verdict.reasons
    assert verdict.values["requests"] == 0  # the fewest requests of the compared models: churn_coupon's none


def test_no_shadow_series_at_all_fails_with_the_reason() -> None:
    verdict = evaluate_guard(parse_guard("flip_rate <= 0.5 and clients >= 0"), view(measuring=0))
    assert not verdict.passed
    assert verdict.reasons == ["flip_rate has no data: no client has shadowed a request of version 8 yet"]
    assert verdict.values["clients"] == 0


def test_a_model_the_apps_never_call_is_not_judged_unless_the_change_touched_it() -> None:
    idle = model("homepage_hero", 0, 0)  # its series exist (at zero) but no app calls it
    fleet = view(model("fraud_risk", 2000, 10), idle)
    values, _ = guard_values(fleet)
    assert (values["flip_rate"], values["requests"]) == (10 / 2000, 2000)
    touched = view(model("fraud_risk", 2000, 10), model("homepage_hero", 0, 0, predicted=0.0))
    values, missing = guard_values(touched)
    assert values["flip_rate"] is None and values["requests"] == 0
    assert missing["flip_rate"] == "no shadow request of version 8 yet for homepage_hero"
    only_idle = view(idle)
    assert not evaluate_guard(parse_guard("flip_rate < 1"), only_idle).passed
    assert [line for line in render_fleet(fleet) if "not judged" in line] == [
        "  not called since the candidate appeared (not judged): homepage_hero"]


def test_a_candidate_that_raises_on_every_request_fails_the_guard() -> None:
    raising = ModelShadow(model="churn_coupon", measured=True, requests=0, flips=0, clients=0, delta_sum=0.0,
                          delta_count=0, dropped=0, errors=40)
    fleet = view(model("fraud_risk", 2000, 10), raising)
    verdict = evaluate_guard(parse_guard("flip_rate <= 0.02"), fleet)
    assert not verdict.passed
    assert verdict.reasons == ["flip_rate has no data: no shadow request of version 8 yet for churn_coupon "
                               "(40 errors: the candidate raised)"]
    (line,) = [line for line in render_fleet(fleet) if line.split()[:1] == ["churn_coupon"]]
    assert line.split()[1:] == ["0", "0", "-", "-", "-", "0", "40"]


def test_no_candidate_fails_every_measurement_but_live_clients_is_known() -> None:
    fleet = view(candidate=None)
    assert not evaluate_guard(parse_guard("clients >= 0"), fleet).passed
    assert evaluate_guard(parse_guard("live_clients >= 90"), fleet).passed
    assert fleet.canary_clients == 0


def test_a_guard_without_a_prediction_needs_none_unless_it_reads_one() -> None:
    fleet = view(model("fraud_risk", 1000, 5))
    assert evaluate_guard(parse_guard("flip_rate <= 0.01"), fleet).passed
    verdict = evaluate_guard(parse_guard("flip_rate <= 2 or predicted_flip_rate < 1"), fleet)
    assert not verdict.passed
    assert verdict.reasons == ["predicted_flip_rate has no data: the candidate carries no prediction "
                               "(publish --canary --report FILE)"]


def test_kinds_without_a_value_leave_score_delta_without_data() -> None:
    fleet = view(model("search_ranking", 1000, 5))
    values, missing = guard_values(fleet)
    assert values["score_delta"] is None and "score_delta" in missing


def test_canary_clients_count_only_the_candidate_version() -> None:
    assert FLEET.canary_clients == 10 and FLEET.live_clients == 90  # not the 3 on the aborted candidate 5


def test_render_fleet_puts_the_prediction_beside_the_measurement() -> None:
    lines = render_fleet(FLEET)
    (fraud,) = [line for line in lines if line.split()[:1] == ["fraud_risk"]]
    assert fraud.split()[1:6] == ["2000", "30", "1.50%", "1.20%", "0.0125"]
    (search,) = [line for line in lines if line.split()[:1] == ["search_ranking"]]
    assert search.split()[1:6] == ["5000", "50", "1.00%", "-", "-"]
    assert "shadow      candidate version 8: measured by 12 clients" in lines


# --------------------------------------------------------------------------------------- what parses

@pytest.mark.parametrize("text, names", [
    ("flip_rate <= 0.02 and clients >= 10", {"flip_rate", "clients"}),
    ("0 < flip_rate <= .02", {"flip_rate"}),
    ("not (canary_clients == 0) and (live_clients > 1_000 or requests >= 1e4)",
     {"canary_clients", "live_clients", "requests"}),
    ("  score_delta   <  -0.5  ", {"score_delta"}),
    ("flip_rate <= predicted_flip_rate\nand requests >= 100", {"flip_rate", "predicted_flip_rate", "requests"}),
])
def test_guards_that_parse(text: str, names: set[str]) -> None:
    assert parse_guard(text).names == names


@pytest.mark.parametrize("text, column, problem", [
    ("flip_rat <= 0.02", 1, "'flip_rat' is not a guard variable (did you mean flip_rate?)"),
    ("flip_rate <= 0.02 and __import__('os')", 23, "'__import__' is not a guard variable"),
    ("flip_rate.real < 1", 10, "unexpected '.'"),
    ("flip_rate = 0.02", 11, "unexpected '=' (did you mean '=='?)"),
    ("flip_rate <= 0.02 && clients > 1", 19, "unexpected '&' (write and, or, not)"),
    ("flip_rate <= 2%", 15, "unexpected '%'"),
    ("flip_rate < 'x'", 13, "unexpected \"'\""),
    ("flip_rate ≤ 0.02", 11, "unexpected '≤'"),
    ("flip_rate", 10, "expected a comparison (<, <=, >, >=, ==, !=) after 'flip_rate'"),
    ("flip_rate in (1, 2)", 11, "found 'in'"),
    ("flip_rate and clients > 1", 11, "found 'and'"),
    ("(flip_rate < 1", 15, "expected ')' (to close the '(' at column 1), found the end"),
    ("flip_rate < 1)", 14, "expected and, or, or the end of the guard, found ')'"),
    ("flip_rate < 1 and", 18, "expected a variable or a number, found the end"),
    ("flip_rate < - clients", 15, "expected a number after '-'"),
    ("flip_rate < 1 if clients else 0", 15, "found 'if'"),
    ("(" * (MAX_DEPTH + 1) + "clients > 1" + ")" * (MAX_DEPTH + 1), MAX_DEPTH + 1, "nest deeper than"),
    ("not " * (MAX_DEPTH + 1) + "clients > 1", 4 * MAX_DEPTH + 1, "nest deeper than"),
    ("", None, "the guard is empty"),
    ("   ", None, "the guard is empty"),
    ("clients > 1 and " * 70 + "clients > 1", None, "characters long; at most 1000"),
])
def test_what_is_refused_names_the_column_and_the_variables(text: str, column: int | None, problem: str) -> None:
    with pytest.raises(GuardError) as caught:
        parse_guard(text)
    assert caught.value.column == column
    assert problem in caught.value.problem
    message = str(caught.value)
    assert message.startswith("" if column is None else f"column {column}: ")
    assert "variables: canary_clients, clients, flip_rate, live_clients, predicted_flip_rate, requests, score_delta" \
        in message


@given(st.text(max_size=60))
@example("flip_rate <= 0.02 and clients >= 10")
@example("((((")
def test_any_text_parses_or_is_a_guard_error(text: str) -> None:
    """Nothing the operator types ends in anything but a guard or a GuardError (no other exception)."""
    try:
        parse_guard(text)
    except GuardError:
        pass


# --------------------------------------------------------------------------------------- agrees with Python

NAMES = sorted(VARIABLES)
numbers = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False))
operands = st.one_of(st.sampled_from(NAMES), numbers.map(repr))
comparisons = st.builds(
    lambda first, rest: " ".join([first, *(f"{op} {operand}" for op, operand in rest)]),
    operands, st.lists(st.tuples(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), operands), min_size=1,
                       max_size=3))


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    wrapped = st.tuples(children, st.booleans()).map(lambda c: f"({c[0]})" if c[1] else c[0])
    return st.one_of(
        st.builds(lambda op, parts: f" {op} ".join(parts), st.sampled_from(["and", "or"]),
                  st.lists(wrapped, min_size=2, max_size=3)),
        wrapped.map(lambda c: f"not {c}"),
    )


expressions = st.recursive(comparisons, _combine, max_leaves=8)
assignments = st.fixed_dictionaries({name: st.one_of(st.integers(0, 1000).map(float), numbers.map(float))
                                     for name in NAMES})


@given(expressions, assignments)
@example("flip_rate <= 0.02 and clients >= 10", {**dict.fromkeys(NAMES, 0.0), "flip_rate": 0.02, "clients": 10.0})
@example("not flip_rate < 1 and clients > 1 or requests == 2", {**dict.fromkeys(NAMES, 2.0)})
@example("0 < flip_rate <= -0.0", {**dict.fromkeys(NAMES, 0.0)})
def test_the_evaluator_agrees_with_python_on_the_same_expression(text: str, values: dict[str, Any]) -> None:
    """Same precedence, same chains, same results: the guard means what the same text means in Python."""
    python = eval(text, {"__builtins__": {}}, dict(values))  # noqa: S307 - the oracle, on generated text
    assert evaluate(parse_guard(text).tree, values) is bool(python)
