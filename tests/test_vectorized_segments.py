"""The segments model's vectorized twin agrees with the scalar ``assign()``: same refused rows, same segment
(ties and the fallback cut-off included) on every row, distances to 1e-12 relative; and on the shipped data."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from validator.data.datasets import Wanted, read_batches, to_columns
from validator.kinds import InputError
from validator.kinds.contract import Contract
from validator.kinds.vectorized import columns_from_rows, compile_vectorized
from vectorized_strategies import contracts, rows, segment_models

PROJECT = Path(__file__).resolve().parents[1]


def assert_agree(doc, contract, request_rows) -> None:
    twin = compile_vectorized(doc, contract)
    batch = twin.assign(columns_from_rows(request_rows, twin.input_types))
    for i, row in enumerate(request_rows):
        try:
            expected = twin.scalar.assign(row)
        except InputError:
            assert batch.rejected[i] and batch.segments[i] == -1, (row,)
            continue
        assert not batch.rejected[i], (row,)
        assert batch.labels[batch.segments[i]] == expected.segment, (row, expected, batch.distances[i])
        assert bool(batch.fallback[i]) == expected.fallback
        assert batch.variants[batch.segments[i]] == expected.variant
        if math.isinf(expected.distance):
            assert math.isinf(batch.distances[i])
        else:
            # abs 1e-150: below that numpy's squares underflow where math.dist (which scales first) does not; the
            # assignment is still exact (such rows are within tolerance of every tie and re-assigned by the scalar)
            assert batch.distances[i] == pytest.approx(expected.distance, rel=1e-12, abs=1e-150)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=segment_models(), contract=contracts(), request_rows=rows(12))
def test_twin_agrees_with_scalar_on_random_models(doc, contract, request_rows) -> None:
    assert_agree(doc, contract, request_rows)


def test_equidistant_rows_go_to_the_first_segment_and_are_rescored() -> None:
    doc = {"kind": "segments", "name": "m", "contract": "test",
           "features": [{"name": "x", "input": "amount", "center": 0.0, "scale": 1.0}],
           "segments": [{"id": "low", "variant": "a", "centroid": {"x": -1.0}},
                        {"id": "high", "variant": "b", "centroid": {"x": 1.0}}],
           "fallback": {"segment": "general", "variant": "c", "max_distance": 1.0}}
    twin = compile_vectorized(doc, None)
    batch = twin.assign(columns_from_rows([{"amount": 0.0}, {"amount": 2.0}, {"amount": 0.5}, {"amount": 5.0}],
                                          {"amount": "number"}))
    # 0.0 is 1.0 from both (a tie, exactly at max_distance: joins the first); 2.0 is exactly at max_distance
    assert [batch.labels[s] for s in batch.segments] == ["low", "high", "high", "general"]
    assert batch.rescored == 2


def test_example_model_agrees_on_its_replay_data() -> None:
    doc = yaml.safe_load((PROJECT / "weights/customer_segments.yaml").read_text())
    contract = Contract.from_dict("marketing", yaml.safe_load((PROJECT / "config/contracts/marketing.yaml").read_text()))
    twin = compile_vectorized(doc, contract)
    dataset = "tests/data/customers.parquet"
    checked = 0
    for batch in read_batches(PROJECT, dataset, [Wanted(c, "number") for c in twin.input_types], 8192):
        assigned = twin.assign(to_columns(batch, twin.input_types, dataset))
        for i, row in enumerate(batch.to_pylist()):
            expected = twin.scalar.assign({k: v for k, v in row.items() if v is not None})
            assert assigned.labels[assigned.segments[i]] == expected.segment
            assert assigned.distances[i] == pytest.approx(expected.distance, rel=1e-12)
            checked += 1
    assert checked == 24_000
