"""The scorecard's vectorized twin agrees with the scalar evaluator: property tests on random models and
inputs, values placed at and within a few ulps of every threshold, and the example models on their replay data.

What "agree" means (and why): the refused rows are the same rows; decisions and reason codes are EXACTLY the
same on every row; values agree within ``twin_agreement.VALUE_REL`` (numpy's exp/log1p may be an ulp off
libm's on some CPUs). The twin re-scores with the scalar evaluator every row whose decision or reason codes
hang on a comparison within rounding, which is what keeps them exact; the boundary tests below put values
exactly there, on a simulated CPU whose exp/log1p/sqrt are ulps off (``twin_agreement.simd_like``) as well as
on this one.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st
from twin_agreement import assert_values_agree, simd_like
from vectorized_strategies import SIMD_ULPS, ULPS, contracts, nudge, rows, scorecards

from validator.data.datasets import Wanted, read_batches, to_columns
from validator.kinds import InputError
from validator.kinds.contract import Contract
from validator.kinds.scorecard import vectorized as vscore
from validator.kinds.vectorized import columns_from_rows, compile_vectorized

PROJECT = Path(__file__).resolve().parents[1]


def load(path: str) -> Any:
    return yaml.safe_load((PROJECT / path).read_text(encoding="utf-8"))


def assert_agree(doc: dict[str, Any], contract: Contract | None, request_rows: list[dict[str, Any]]) -> int:
    """Score ``request_rows`` both ways; refusals, decisions and reasons equal, values within tolerance.
    Returns how many rows the twin re-scored."""
    twin = compile_vectorized(doc, contract)
    batch = twin.score(columns_from_rows(request_rows, twin.input_types), contributions=True)
    reasons = twin.reasons(batch)
    codes = twin.reason_codes
    for i, row in enumerate(request_rows):
        try:
            expected = twin.scalar.score(row)
        except InputError:
            assert batch.rejected[i], f"row {i} {row} is refused by the scalar evaluator but not by the twin"
            assert batch.decisions[i] == -1 and math.isnan(batch.values[i])
            continue
        assert not batch.rejected[i], f"row {i} {row} is scored by the scalar evaluator but refused by the twin"
        parts = twin.scalar.explain(row)
        scale = abs(twin.scalar.intercept) + sum(abs(c) for _, _, c in parts)
        assert_values_agree(batch.values[i], expected.value, scale, (row, expected))
        for j, (_, _, contribution) in enumerate(parts):
            assert_values_agree(batch.contributions[i, j], contribution, abs(contribution), (row, j))
        assert batch.labels[batch.decisions[i]] == expected.decision, (row, expected, float(batch.values[i]))
        assert tuple(codes[k] for k in reasons[i] if k >= 0) == expected.reasons, (row, expected, parts)
    return batch.rescored


# --- random models and inputs -------------------------------------------------------------------------------

@settings(max_examples=120)
@given(doc=scorecards(), contract=contracts(), request_rows=rows(15))
def test_twin_agrees_with_scalar_on_random_models(doc, contract, request_rows) -> None:
    assert_agree(doc, contract, request_rows)


@settings(max_examples=60)
@given(doc=scorecards(), contract=contracts(), request_rows=rows(15), ulps=SIMD_ULPS, every=st.integers(1, 3))
def test_decisions_stay_exact_when_numpy_math_is_off_by_ulps(doc, contract, request_rows, ulps, every) -> None:
    """A CPU whose SIMD exp/log1p/sqrt differ from libm on some elements: decisions and reasons still exact."""
    with simd_like(vscore, ulps, every):
        assert_agree(doc, contract, request_rows)


# --- values at and within a few ulps of each threshold --------------------------------------------------------

AMOUNT = st.floats(min_value=1e-3, max_value=200.0, allow_nan=False)
WEIGHT = st.floats(min_value=0.05, max_value=3.0, allow_nan=False)


def transform_term(name: str, input_name: str, transform: str, weight: float, reason: str | None) -> dict[str, Any]:
    term = {"name": name, "input": input_name, "type": "numeric", "transform": transform, "weight": weight}
    return {**term, "reason": reason} if reason else term


@example(link="logistic", intercept=-1.0, x=3.0, w=0.7, ulps=0, simd=1, transform="log1p")
@example(link="identity", intercept=0.0, x=3.0, w=0.1, ulps=0, simd=-1, transform="log1p")
@given(link=st.sampled_from(["logistic", "identity"]), intercept=st.floats(-4, 4), x=AMOUNT, w=WEIGHT,
       ulps=ULPS, simd=SIMD_ULPS, transform=st.sampled_from(["log1p", "sqrt"]))
def test_decisions_at_a_band_threshold(link, intercept, x, w, ulps, simd, transform) -> None:
    """The band's ``below`` is the scalar value of a row, or a few ulps off it: the twin must decide that row
    (and its neighbours one ulp away) as the scalar does, whatever its exp/log1p/sqrt return."""
    doc = {"kind": "scorecard", "name": "m", "contract": "test", "link": link, "intercept": intercept,
           "terms": [transform_term("t", "amount", transform, w, None),
                     {"name": "f", "input": "flag", "type": "boolean", "weight": 0.25}],
           "bands": [{"decision": "low", "below": 0.5}, {"decision": "high"}]}
    probe = {"amount": x, "flag": True}
    value = compile_vectorized(doc, None).scalar.score(probe).value
    doc["bands"][0]["below"] = nudge(value, ulps)
    request_rows = [probe, {"amount": nudge(x, 1), "flag": True}, {"amount": nudge(x, -1), "flag": True},
                    {"amount": x, "flag": False}]
    with simd_like(vscore, simd):
        assert_agree(doc, None, request_rows)


@example(x=3.0, w=0.7, ulps=0, simd=1, top=1, transform="log1p")
@example(x=7.0, w=1.3, ulps=1, simd=-1, top=2, transform="log1p")
@given(x=AMOUNT, w=WEIGHT, ulps=ULPS, simd=SIMD_ULPS, top=st.integers(1, 3),
       transform=st.sampled_from(["log1p", "sqrt"]))
def test_reason_codes_at_min_contribution(x, w, ulps, simd, top, transform) -> None:
    """``reasons.min_contribution`` is a transformed term's contribution, or a few ulps off it: whether that
    term is reported must not depend on the last bit of numpy's transform."""
    doc = {"kind": "scorecard", "name": "m", "contract": "test", "link": "logistic", "intercept": -2.0,
           "terms": [transform_term("t", "amount", transform, w, "R_T"),
                     {"name": "f", "input": "flag", "type": "boolean", "weight": 0.4, "reason": "R_F"},
                     transform_term("u", "age", "log1p", 0.3, "R_U")],
           "bands": [{"decision": "low", "below": 0.5}, {"decision": "high"}],
           "reasons": {"top": top, "min_contribution": 0.0}}
    probe = {"amount": x, "flag": True, "age": 2.0}
    contribution = dict((name, c) for name, _, c in compile_vectorized(doc, None).scalar.explain(probe))["t"]
    doc["reasons"]["min_contribution"] = max(0.0, nudge(contribution, ulps))
    request_rows = [probe, {"amount": nudge(x, 1), "flag": False, "age": 0.0}, {"amount": nudge(x, -1), "flag": True,
                                                                              "age": 40.0}]
    with simd_like(vscore, simd):
        assert_agree(doc, None, request_rows)


@example(x=3.0, w=0.7, ulps=0, simd=1, top=1, kind="level")
@example(x=3.0, w=0.7, ulps=1, simd=1, top=1, kind="level")
@example(x=5.0, w=0.9, ulps=-1, simd=-1, top=1, kind="weight")
@given(x=AMOUNT, w=WEIGHT, ulps=ULPS, simd=SIMD_ULPS, top=st.integers(1, 3), kind=st.sampled_from(["level", "weight"]))
def test_reason_order_of_contributions_within_ulps(x, w, ulps, simd, top, kind) -> None:
    """Two contributions a few ulps apart, or tied: which is reported first (ties go to the earlier term) and
    which makes the ``top`` cut must be the scalar's, with one of them through log1p on both sides.

    ``level``: a categorical term whose contribution is exactly the log1p term's, nudged. ``weight``: a second
    log1p term of the same input whose weight is nudged (both contributions inexact)."""
    log_term = transform_term("t", "amount", "log1p", w, "R_T")
    c = w * math.log1p(x)
    if kind == "level":
        other = {"name": "m", "input": "method", "type": "categorical", "levels": {"card": nudge(c, ulps)},
                 "weight": 1.0, "reason": "R_M"}
    else:
        other = transform_term("v", "amount", "log1p", nudge(w, ulps), "R_V")
    doc = {"kind": "scorecard", "name": "m", "contract": "test", "link": "identity", "intercept": 0.0,
           "terms": [other, log_term, {"name": "f", "input": "flag", "type": "boolean", "weight": c, "reason": "R_F"}],
           "bands": [{"decision": "low", "below": 1.0}, {"decision": "high"}],
           "reasons": {"top": top, "min_contribution": 0.0}}
    request_rows = [{"amount": x, "method": "card", "flag": flag} for flag in (True, False)]
    request_rows.append({"amount": nudge(x, 1), "method": "card", "flag": False})
    with simd_like(vscore, simd):
        assert_agree(doc, None, request_rows)


EDGES = st.lists(st.floats(-100, 100, allow_nan=False), min_size=2, max_size=5, unique=True).map(sorted)


@given(edges=EDGES, ulps=st.lists(ULPS, min_size=3, max_size=3), policy=st.sampled_from(["clamp", "default", "reject"]),
       bounded=st.booleans(), simd=SIMD_ULPS)
def test_bin_edges_and_contract_bounds_within_ulps(edges, ulps, policy, bounded, simd) -> None:
    """Inputs on a bin edge or a contract bound, and a few ulps either side: the same bin, the same clamp, the
    same refusal as the scalar (these comparisons read the input itself, so they are exact on any CPU)."""
    bins = [{"from": lo, "to": hi, "value": float(k)} for k, (lo, hi) in enumerate(zip(edges, edges[1:], strict=False))]
    doc = {"kind": "scorecard", "name": "m", "contract": "test", "link": "identity", "intercept": 0.0,
           "terms": [{"name": "b", "input": "amount", "type": "numeric", "bins": bins, "weight": 1.0, "reason": "R_B"},
                     transform_term("s", "age", "sqrt", 0.5, "R_S")],
           "bands": [{"decision": "low", "below": 1.0}, {"decision": "high"}],
           "inputs": {"amount": {"out_of_range": policy, "default": edges[0]}, "age": {"out_of_range": policy,
                                                                                      "default": 1.0}},
           "reasons": {"top": 2, "min_contribution": 0.5}}
    lo, hi = edges[0], edges[-1]
    contract = Contract.from_dict("test", {"app": "test", "models": ["m"], "inputs": {
        "amount": {"type": "number", **({"min": lo, "max": hi} if bounded else {})},
        "age": {"type": "number", "min": 1.0, "max": 100.0}}})
    amounts = [nudge(e, u) for e in edges for u in ulps] + [nudge(lo, -1), nudge(hi, 1)]
    ages = [nudge(1.0, u) for u in ulps] + [nudge(100.0, u) for u in ulps]
    request_rows = [{"amount": a, "age": ages[k % len(ages)]} for k, a in enumerate(amounts)]
    with simd_like(vscore, simd):
        assert_agree(doc, contract, request_rows)


# --- fixed cases ----------------------------------------------------------------------------------------------

def test_rows_on_a_threshold_are_rescored_exactly() -> None:
    # identity link: z = 0.1 * x; with x = 3 the value is 0.30000000000000004 (0.1 * 3 in binary); a band
    # threshold there decides on the last bit, so the twin must re-score that row with the scalar evaluator.
    doc = {"kind": "scorecard", "name": "m", "contract": "test", "link": "identity", "intercept": 0.0,
           "terms": [{"name": "t", "input": "amount", "type": "numeric", "transform": "identity", "weight": 0.1}],
           "bands": [{"decision": "low", "below": 0.1 * 3}, {"decision": "high"}]}
    twin = compile_vectorized(doc, None)
    batch = twin.score(columns_from_rows([{"amount": 3}, {"amount": 2}, {"amount": 4}], {"amount": "number"}))
    assert [batch.labels[d] for d in batch.decisions] == ["high", "low", "high"]
    assert batch.rescored == 1


def test_a_reason_tie_through_a_transform_is_rescored() -> None:
    """A categorical contribution equal to a log1p one: the twin's log1p one ulp high would report the log1p
    term first; the scalar reports the categorical one (it is the earlier term, and the contributions tie)."""
    c = 0.7 * math.log1p(3.0)
    doc = {"kind": "scorecard", "name": "m", "contract": "test", "link": "identity", "intercept": 0.0,
           "terms": [{"name": "m", "input": "method", "type": "categorical", "levels": {"card": c}, "weight": 1.0,
                      "reason": "R_M"},
                     transform_term("t", "amount", "log1p", 0.7, "R_T")],
           "bands": [{"decision": "low", "below": 100.0}, {"decision": "high"}],
           "reasons": {"top": 1, "min_contribution": 0.0}}
    request_rows = [{"amount": 3.0, "method": "card"}, {"amount": 30.0, "method": "card"}]
    with simd_like(vscore, 1):
        assert assert_agree(doc, None, request_rows) == 1
    assert compile_vectorized(doc, None).scalar.score(request_rows[0]).reasons == ("R_M",)


def test_reasons_need_contributions() -> None:
    twin = compile_vectorized(load("weights/fraud_risk.yaml"), None)
    batch = twin.score(columns_from_rows([{}], twin.input_types))
    with pytest.raises(ValueError, match="contributions=True"):
        twin.reasons(batch)


@pytest.mark.parametrize("name, contract, dataset", [
    ("fraud_risk", "checkout", "tests/data/fraud_orders.parquet"),
    ("churn_coupon", "retention", "tests/data/churn_customers.csv"),
])
def test_example_models_agree_on_their_replay_data(name, contract, dataset) -> None:
    """Every row of the shipped sample data, both forms: the data is realistic, the agreement total."""
    doc = load(f"weights/{name}.yaml")
    con = Contract.from_dict(contract, load(f"config/contracts/{contract}.yaml"))
    twin = compile_vectorized(doc, con)
    wanted = [Wanted(col, "number" if t == "number" else ("boolean" if t == "boolean" else "text"))
              for col, t in twin.input_types.items()]
    checked = rescored = 0
    for batch in read_batches(PROJECT, dataset, wanted, batch_rows=8192):
        cols = to_columns(batch, twin.input_types, dataset)
        scored = twin.score(cols, contributions=True)
        reasons = twin.reasons(scored)
        rescored += scored.rescored
        for i, row in enumerate(batch.to_pylist()):
            request = {k: v for k, v in row.items() if v is not None}
            expected = twin.scalar.score(request)
            scale = abs(twin.scalar.intercept) + sum(abs(c) for _, _, c in twin.scalar.explain(request))
            assert_values_agree(scored.values[i], expected.value, scale, request)
            assert scored.labels[scored.decisions[i]] == expected.decision
            assert tuple(twin.reason_codes[k] for k in reasons[i] if k >= 0) == expected.reasons
            checked += 1
    assert checked > 10_000
    assert rescored < checked / 100  # the re-scored rows are the rare ones near a cut, not the bulk
