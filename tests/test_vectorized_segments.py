"""The segments model's vectorized twin agrees with the scalar ``assign()``: same refused rows, same segment
(ties and the fallback cut-off included) on every row exactly, distances within ``twin_agreement.VALUE_REL``;
also for points placed within a few ulps of a tie or of ``max_distance`` on a simulated CPU whose log1p/sqrt
are ulps off libm's; and on the shipped data."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st
from twin_agreement import assert_values_agree, simd_like
from vectorized_strategies import SIMD_ULPS, ULPS, contracts, nudge, rows, segment_models

from validator.data.datasets import Wanted, read_batches, to_columns
from validator.kinds import InputError
from validator.kinds.contract import Contract
from validator.kinds.segments import vectorized as vseg
from validator.kinds.vectorized import columns_from_rows, compile_vectorized

PROJECT = Path(__file__).resolve().parents[1]


def distance_scale(twin: Any, row: dict[str, Any]) -> float:
    """The size of the coordinates a distance is computed from, before centering (a transformed value of 1e12
    centered to 5 carries rounding of 1e12's size), plus the centroids': its rounding is relative to this."""
    size = max(math.hypot(*c) for c in twin.scalar._centroids)
    for p, feature in zip(twin.scalar._point(row), twin.scalar._features, strict=True):
        center, multiplier = feature[5], feature[6]
        size += abs(p) + 2 * abs(center * multiplier)  # |t(x) * m| <= |(t(x) - c) * m| + |c * m|
    return size


def assert_agree(doc, contract, request_rows) -> int:
    """Assign ``request_rows`` both ways: refusals and segments equal, distances within tolerance."""
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
        # Rows whose distance is tiny enough for numpy's squares to underflow (where math.dist, which scales
        # first, does not) are within tolerance of every tie and were re-assigned with the scalar's distance.
        assert_values_agree(batch.distances[i], expected.distance, distance_scale(twin, row), row)
    return batch.rescored


@settings(max_examples=100)
@given(doc=segment_models(), contract=contracts(), request_rows=rows(12))
def test_twin_agrees_with_scalar_on_random_models(doc, contract, request_rows) -> None:
    assert_agree(doc, contract, request_rows)


@settings(max_examples=60)
@given(doc=segment_models(), contract=contracts(), request_rows=rows(12), ulps=SIMD_ULPS, every=st.integers(1, 3))
def test_segments_stay_exact_when_numpy_math_is_off_by_ulps(doc, contract, request_rows, ulps, every) -> None:
    with simd_like(vseg, ulps, every):
        assert_agree(doc, contract, request_rows)


@example(x=3.0, ulps=0, simd=1, transform="log1p", d=1.0, scale=1.0)
@example(x=1e24, ulps=0, simd=-1, transform="sqrt", d=0.5, scale=1.0)
@given(x=st.floats(1e-3, 1e30), ulps=ULPS, simd=SIMD_ULPS, transform=st.sampled_from(["log1p", "sqrt"]),
       d=st.floats(0.01, 3.0), scale=st.sampled_from([0.5, 1.0, 4.0]))
def test_points_within_ulps_of_a_tie_and_of_max_distance(x, ulps, simd, transform, d, scale) -> None:
    """The center is the transformed input (as the scalar computes it), or a few ulps off, so the point sits on
    or next to the midpoint of two centroids: which one wins (a tie: the first) and whether the distance
    passes ``max_distance`` (set to the scalar's distance, or ulps off it) must be the scalar's. Large inputs
    make the transformed value large and the point small: rounding of the one's size in the other."""
    t = math.log1p(x) if transform == "log1p" else math.sqrt(x)
    doc = {"kind": "segments", "name": "m", "contract": "test",
           "features": [{"name": "f", "input": "amount", "center": nudge(t, ulps), "scale": scale,
                         "transform": transform}],
           "segments": [{"id": "low", "variant": "a", "centroid": {"f": -d}},
                        {"id": "high", "variant": "b", "centroid": {"f": d}}],
           "fallback": {"segment": "general", "variant": "c", "max_distance": 100.0}}
    distance = compile_vectorized(doc, None).scalar.assign({"amount": x}).distance
    doc["fallback"]["max_distance"] = nudge(distance, -ulps)
    request_rows = [{"amount": x}, {"amount": nudge(x, 1)}, {"amount": nudge(x, -1)}]
    with simd_like(vseg, simd):
        assert_agree(doc, None, request_rows)


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
    marketing = yaml.safe_load((PROJECT / "config/contracts/marketing.yaml").read_text())
    contract = Contract.from_dict("marketing", marketing)
    twin = compile_vectorized(doc, contract)
    dataset = "tests/data/customers.parquet"
    checked = 0
    for batch in read_batches(PROJECT, dataset, [Wanted(c, "number") for c in twin.input_types], 8192):
        assigned = twin.assign(to_columns(batch, twin.input_types, dataset))
        for i, row in enumerate(batch.to_pylist()):
            request = {k: v for k, v in row.items() if v is not None}
            expected = twin.scalar.assign(request)
            assert assigned.labels[assigned.segments[i]] == expected.segment
            assert_values_agree(assigned.distances[i], expected.distance, distance_scale(twin, request), request)
            checked += 1
    assert checked == 24_000
