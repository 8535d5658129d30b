"""The published schemas: in sync with the code, documented for hover text, and draft-07 compatible."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft7Validator, Draft202012Validator

from validator.gate.schemas import all_schemas, render
from validator.gate.yamlload import load_bytes

PROJECT = Path(__file__).resolve().parents[1]
SCHEMAS = all_schemas()

# Keywords that only 2019-09/2020-12 know: the YAML language server (draft-07) would ignore them silently.
NEWER_ONLY = {
    "$defs", "prefixItems", "unevaluatedProperties", "unevaluatedItems", "dependentRequired",
    "dependentSchemas", "$anchor", "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor",
    "minContains", "maxContains", "$vocabulary", "contentSchema",
}


def walk(schema, path=()):
    if isinstance(schema, dict):
        yield path, schema
        for key, value in schema.items():
            yield from walk(value, path + (key,))
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            yield from walk(value, path + (i,))


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_committed_schema_file_matches_code(name):
    path = PROJECT / "config" / "schemas" / name
    assert path.is_file(), f"{path} is missing: run weights schemas"
    assert path.read_text(encoding="utf-8") == render(SCHEMAS[name]), f"{path} is stale: run weights schemas"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_is_valid_under_both_drafts(name):
    Draft202012Validator.check_schema(SCHEMAS[name])
    Draft7Validator.check_schema(SCHEMAS[name])


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_uses_no_newer_only_keywords(name):
    used = {
        key
        for path, node in walk(SCHEMAS[name])
        # keys inside "properties"/"definitions" are names, not keywords
        if not (path and path[-1] in ("properties", "definitions"))
        for key in node
    }
    assert not used & NEWER_ONLY, f"{name} uses {sorted(used & NEWER_ONLY)}"
    assert not any(isinstance(node.get("items"), list) for _, node in walk(SCHEMAS[name])), "array-form items differs by draft"


def test_the_check_refuses_a_newer_only_keyword():
    """The keyword check above can fail: show it on a schema that uses $defs and prefixItems."""
    bad = {"$defs": {"x": {"type": "number"}}, "properties": {"a": {"prefixItems": [{"type": "number"}]}}}
    used = {key for path, node in walk(bad) if not (path and path[-1] in ("properties", "definitions")) for key in node}
    assert used & NEWER_ONLY == {"$defs", "prefixItems"}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_property_has_title_and_description(name):
    missing = []
    for path, node in walk(SCHEMAS[name]):
        if path and path[-1] == "properties":
            for key, sub in node.items():
                if not (sub.get("title") and sub.get("description")):
                    missing.append("/".join(map(str, path + (key,))))
    assert not missing, f"properties without hover text: {missing}"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_objects_are_strict(name):
    loose = [
        "/".join(map(str, path))
        for path, node in walk(SCHEMAS[name])
        if node.get("type") == "object" and "properties" in node and node.get("additionalProperties") is not False
    ]
    assert not loose, f"objects that accept unknown keys: {loose}"


def example_files():
    return (sorted((PROJECT / "weights").glob("*.yaml")) + sorted((PROJECT / "config" / "contracts").glob("*.yaml"))
            + sorted((PROJECT / "tests" / "golden").glob("*.yaml")))


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.name)
def test_examples_validate_identically_under_draft7_and_2020_12(path):
    doc, findings = load_bytes(path.read_bytes(), str(path))
    assert not findings
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    schema_file = (path.parent / first.split("$schema=", 1)[1].strip()).resolve()
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    assert list(Draft202012Validator(schema).iter_errors(doc.data)) == []
    assert list(Draft7Validator(schema).iter_errors(doc.data)) == []


def test_draft7_and_2020_12_agree_on_broken_documents():
    """A typo'd key and a wrong type are errors under both drafts, so editors flag what the gate flags."""
    schema = SCHEMAS["scorecard.schema.json"]
    doc, _ = load_bytes((PROJECT / "weights" / "fraud_risk.yaml").read_bytes(), "f")
    broken = dict(doc.data, intercpt=1.0, link="logit")
    for validator in (Draft7Validator(schema), Draft202012Validator(schema)):
        messages = " ".join(e.message for e in validator.iter_errors(broken))
        assert "intercpt" in messages and "logit" in messages
