"""The table's numpy twin agrees with the scalar lookup: the same row found or not, the same requests refused,
and the same values (tolerance ``vectorized.TOLERANCE``, which is 0: a lookup copies, it computes nothing)."""
from __future__ import annotations

import math
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from validator.kinds.base import InputError
from validator.kinds.columns import columns_from_rows
from validator.kinds.contract import Contract
from validator.kinds.table.evaluator import compile as compile_table
from validator.kinds.table.vectorized import TOLERANCE, compile_vectorized

WORDS = ["DE", "AT", "CH", "NL"]
CONTRACT = Contract.from_dict("app", {
    "app": "app", "models": ["t"],
    "inputs": {"id": {"type": "integer", "min": 0, "max": 50}, "country": {"type": "category", "values": WORDS},
               "flag": {"type": "boolean"}},
})

ids = st.integers(0, 50)
keys = st.tuples(ids, st.sampled_from(WORDS), st.booleans())
tables = st.lists(st.tuples(keys, st.floats(0, 10, allow_nan=False), st.sampled_from(WORDS)), max_size=40,
                  unique_by=lambda row: row[0])
request_values = st.fixed_dictionaries({}, optional={
    "id": st.one_of(ids, st.integers(-5, 60), st.sampled_from([3.0, 3.5, 51.0])),
    "country": st.sampled_from([*WORDS, "UK"]),
    "flag": st.booleans(),
})


def document(rows: list, key_count: int, missing: str, policy: str) -> dict[str, Any]:
    key_specs = [{"column": "id", "input": "id", "type": "integer"},
                 {"column": "country", "input": "country", "type": "category"},
                 {"column": "flag", "input": "flag", "type": "boolean"}][:key_count]
    unique: dict[tuple, tuple] = {}
    for key, score, label in rows:
        unique.setdefault(key[:key_count], (score, label))
    columns: dict[str, list] = {spec["column"]: [k[i] for k in unique] for i, spec in enumerate(key_specs)}
    columns["score"] = [v[0] for v in unique.values()]
    columns["label"] = [v[1] for v in unique.values()]
    return {
        "kind": "table", "name": "t", "contract": "app", "keys": key_specs,
        "values": [{"column": "score", "type": "number", "min": 0, "max": 10},
                   {"column": "label", "type": "category"}],
        "missing_key": {"action": missing, **({"default": {"score": 1.5, "label": "none"}} if missing == "default"
                                              else {})},
        "inputs": {"id": {"out_of_range": policy, **({"default": 7} if policy == "default" else {}),
                          **({"missing": "default"} if policy == "default" else {})}},
        "table": {"file": "t.csv", "sha256": "", "rows": len(unique), "columns": columns},
    }


@given(tables, st.integers(1, 3), st.sampled_from(["default", "reject"]),
       st.sampled_from(["clamp", "reject", "default"]), st.lists(request_values, min_size=1, max_size=30))
@example([((3, "DE", True), 2.5, "AT")], 2, "default", "reject",
         [{"id": 3.0, "country": "DE"}, {"id": 3.5, "country": "DE"}])
def test_twin_agrees_with_the_scalar_lookup(rows, key_count, missing, policy, requests):
    data = document(rows, key_count, missing, policy)
    scalar = compile_table(data, CONTRACT)
    twin = compile_vectorized(data, CONTRACT)
    batch = twin.lookup(columns_from_rows(requests, twin.input_types))
    for i, request in enumerate(requests):
        try:
            expected = scalar.lookup(request)
        except InputError:
            assert batch.rejected[i], (request, "the scalar refuses it")
            continue
        assert not batch.rejected[i], request
        assert bool(batch.found[i]) == expected.found, request
        for column, value in expected.values.items():
            got = batch.values[column][i]
            if isinstance(value, float):
                assert math.isclose(got, value, rel_tol=TOLERANCE, abs_tol=TOLERANCE), (request, column)
            else:
                assert got == value, (request, column)
