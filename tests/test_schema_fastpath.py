"""Property: the fast validity check (fastjsonschema, draft-07) and jsonschema (2020-12) always agree.

The gate trusts the fast path to say "valid" and asks jsonschema for messages otherwise, so a document
one calls valid and the other not would be a hole in the gate (or a finding with no message).
"""
from __future__ import annotations

import copy
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from validator.gate.schema_check import is_valid, validator_for
from validator.kinds import KINDS
from validator.kinds.contract_schema import CONTRACT_SCHEMA

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLES = [
    (yaml.safe_load(p.read_text(encoding="utf-8")), None) for p in sorted((PROJECT / "weights").glob("*.yaml"))
] + [
    (yaml.safe_load(p.read_text(encoding="utf-8")), CONTRACT_SCHEMA)
    for p in sorted((PROJECT / "config" / "contracts").glob("*.yaml"))
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-2, 2)
    | st.sampled_from(["", "x", "approve", "log1p", "Bad Name"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["weight", "name", "min", "x"]), inner, max_size=3),
    max_leaves=6,
)


def paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, prefix + (i,))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(EXAMPLES) - 1), st.data())
def test_fast_path_agrees_with_jsonschema(index, data):
    doc, schema = EXAMPLES[index]
    schema = schema or KINDS[doc["kind"]].schema
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 3))):
        target = data.draw(st.sampled_from(list(paths(doc))))
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if not target:
            continue
        parent = doc
        for step in target[:-1]:
            parent = parent[step]
        if action == "replace":
            parent[target[-1]] = data.draw(json_values)
        elif action == "delete":
            del parent[target[-1]]
        elif isinstance(parent[target[-1]], dict):
            key = data.draw(st.sampled_from(["wieght", "bounds", "extra", "reason"]))
            parent[target[-1]][key] = data.draw(json_values)
    slow = not any(True for _ in validator_for(schema).iter_errors(doc))
    assert is_valid(doc, schema) == slow


def test_fast_path_says_both_valid_and_invalid():
    for doc, schema in EXAMPLES:
        schema = schema or KINDS[doc["kind"]].schema
        assert is_valid(doc, schema)
        assert not is_valid({**doc, "wieght": 1}, schema)
        assert not is_valid({k: v for k, v in doc.items() if k != "name" and k != "app"}, schema)
    fraud = next(d for d, _ in EXAMPLES if d.get("name") == "fraud_risk")
    assert not is_valid({**fraud, "intercept": True}, KINDS["scorecard"].schema)  # a bool is not a number
