"""The ranking model's vectorized twin agrees with the scalar ``rank()``: the same requests refused, the
same order of items in every query (ties, tie-break keys and the app's order included), scores to 1e-12."""
from __future__ import annotations

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
from validator.kinds.columns import COLUMN_TYPE
from vectorized_strategies import contracts, ranking_models, rows

PROJECT = Path(__file__).resolve().parents[1]


def assert_agree(doc, contract, groups) -> None:
    twin = compile_vectorized(doc, contract)
    flat = [row for group in groups for row in group]
    labels = np.array([f"q{g}" for g, group in enumerate(groups) for _ in group], dtype=object)
    batch = twin.rank(columns_from_rows(flat, twin.input_types), labels)
    start = 0
    for group in groups:
        end = start + len(group)
        try:
            ranking = twin.scalar.rank(group)
        except InputError:
            assert batch.rejected[start:end].all() and (batch.ranks[start:end] == 0).all(), group
            start = end
            continue
        assert not batch.rejected[start:end].any(), group
        position = {id(item): p for p, item in enumerate(group)}
        expected = [position[id(entry.item)] for entry in ranking.items]
        got = list(np.argsort(batch.ranks[start:end]))
        assert got == expected, (group, [e.score for e in ranking.items], batch.scores[start:end])
        for entry in ranking.items:
            assert batch.scores[start + position[id(entry.item)]] == pytest.approx(entry.score, rel=1e-12, abs=1e-300)
        start = end


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=ranking_models(), contract=contracts(),
       groups=st.lists(st.integers(1, 12).flatmap(lambda n: rows(n)), min_size=1, max_size=4))
def test_twin_agrees_with_scalar_on_random_models(doc, contract, groups) -> None:
    assert_agree(doc, contract, groups)


def test_equal_scores_keep_the_apps_order_and_close_scores_are_rescored() -> None:
    doc = {"kind": "ranking", "name": "m", "contract": "test",
           "features": [{"name": "f", "input": "amount", "weight": 0.1}]}
    twin = compile_vectorized(doc, None)
    # 0.1 * 3.0 ties with itself (the app's order decides), 0.1 * 3.000000000000001 is 2 ulps above them
    items = [{"amount": 3.0}, {"amount": 1.0}, {"amount": 3.0}, {"amount": 3.000000000000001}]
    batch = twin.rank(columns_from_rows(items, {"amount": "number"}), np.array(["q"] * 4, dtype=object))
    assert list(batch.ranks) == [2, 4, 3, 1]
    assert [e.item for e in twin.scalar.rank(items).items] == [items[3], items[0], items[2], items[1]]
    assert batch.rescored_groups == 1


def test_example_model_agrees_on_its_replay_data() -> None:
    doc = yaml.safe_load((PROJECT / "weights/search_ranking.yaml").read_text())
    contract = Contract.from_dict("search", yaml.safe_load((PROJECT / "config/contracts/search.yaml").read_text()))
    twin = compile_vectorized(doc, contract)
    dataset = "tests/data/search_candidates.parquet"
    wanted = [Wanted(c, COLUMN_TYPE[t]) for c, t in twin.input_types.items()] + [Wanted("query_id", "text")]
    table = next(read_batches(PROJECT, dataset, wanted, 100_000))
    queries = np.array(table.column("query_id").to_pylist(), dtype=object)
    ranked = twin.rank(to_columns(table, twin.input_types, dataset), queries)
    records = table.to_pylist()
    compared = 0
    for qid in dict.fromkeys(queries):
        idx = np.flatnonzero(queries == qid)
        items = [{k: v for k, v in records[i].items() if v is not None} for i in idx]
        expected = [entry.item["item_id"] for entry in twin.scalar.rank(items).items]
        got = [records[idx[p]]["item_id"] for p in np.argsort(ranked.ranks[idx])]
        assert got == expected
        compared += 1
    assert compared == 600
