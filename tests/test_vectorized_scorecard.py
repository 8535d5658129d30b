"""The scorecard's vectorized twin agrees with the scalar evaluator: property tests on random models and
inputs, the near-threshold re-scoring, and the example models on their replay data.

What "agree" means (and why): the refused rows are the same rows; decisions and reason codes are EXACTLY the
same on every row; values agree to 1e-12 relative. Values are bit-identical wherever numpy's exp/log1p are
libm's; on CPUs where numpy uses SIMD versions they may be 1 ulp off, and the twin re-scores any row within
1e-9 of a band threshold with the scalar evaluator, which is what keeps decisions exact there too.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from validator.data.datasets import Wanted, read_batches, to_columns
from validator.kinds import InputError
from validator.kinds.contract import Contract
from validator.kinds.vectorized import columns_from_rows, compile_vectorized
from validator.kinds.scorecard import vectorized as vscore
from vectorized_strategies import contracts, rows, scorecards

PROJECT = Path(__file__).resolve().parents[1]


def load(path: str):
    return yaml.safe_load((PROJECT / path).read_text(encoding="utf-8"))


def assert_agree(doc, contract, request_rows) -> None:
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
        got_value = float(batch.values[i])
        if math.isnan(expected.value):
            assert math.isnan(got_value)
        else:
            assert got_value == pytest.approx(expected.value, rel=1e-12, abs=1e-300), (row, expected)
        assert batch.labels[batch.decisions[i]] == expected.decision, (row, expected, got_value)
        assert tuple(codes[k] for k in reasons[i] if k >= 0) == expected.reasons, (row, expected)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=scorecards(), contract=contracts(), request_rows=rows(15))
def test_twin_agrees_with_scalar_on_random_models(doc, contract, request_rows) -> None:
    assert_agree(doc, contract, request_rows)


@settings(max_examples=40, deadline=None)
@given(doc=scorecards(), contract=contracts(), request_rows=rows(15), ulps=st.sampled_from([1, -1, 3]))
def test_decisions_stay_exact_when_numpy_exp_is_off_by_ulps(doc, contract, request_rows, ulps) -> None:
    """Simulate a CPU whose SIMD exp/log1p differ from libm: decisions must still match exactly."""

    def shift(values, n):
        out = values
        for _ in range(abs(n)):
            out = np.nextafter(out, np.inf if n > 0 else -np.inf)
        return out

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(vscore, "_exp", lambda x: shift(np.exp(x), ulps))
        patch.setattr(vscore, "_log1p", lambda x: shift(np.log1p(x), ulps))
        assert_agree(doc, contract, request_rows)


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
    checked = 0
    for batch in read_batches(PROJECT, dataset, wanted, batch_rows=8192):
        cols = to_columns(batch, twin.input_types, dataset)
        scored = twin.score(cols, contributions=True)
        reasons = twin.reasons(scored)
        records = batch.to_pylist()
        for i, row in enumerate(records):
            request = {k: v for k, v in row.items() if v is not None}
            expected = twin.scalar.score(request)
            assert scored.values[i] == expected.value
            assert scored.labels[scored.decisions[i]] == expected.decision
            assert tuple(twin.reason_codes[k] for k in reasons[i] if k >= 0) == expected.reasons
            checked += 1
    assert checked > 10_000
