"""Every number the loader hands out lies within +-2**53; beyond it a number is yaml.number-too-large at its node.

A 400-digit integer used to reach the rules and crash them with OverflowError (exit 3); a float of 1.0e+300
crashed the segments rules through its square. The bound and why it is 2**53: validator/gate/yamlload.py.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_rule_corpus import place

from validator.api import validate_paths
from validator.gate.yamlload import MAX_MAGNITUDE, load_bytes

PROJECT = Path(__file__).resolve().parents[1]


def load(text: str):
    return load_bytes(text.encode("utf-8"), "m.yaml")


@pytest.mark.parametrize("literal", [
    "9" * 400, "-" + "9" * 400, "9" * 5000, str(MAX_MAGNITUDE + 1), str(-MAX_MAGNITUDE - 1),
    "1.0e+300", "-1.0e+17", "9007199254740994.0", "0x" + "f" * 300, "0b" + "1" * 60, "1_" + "0" * 5000, "0" + "7" * 400,
], ids=["400-digits", "negative-400-digits", "5000-digits", "2^53+1", "-2^53-1", "1e300", "-1e17", "float-2^53+2",
        "hex", "binary", "underscores-5000", "octal-400"])
def test_a_number_beyond_2_53_is_refused_at_its_position(literal):
    doc, findings = load(f"a: 1\nb:\n  - {literal}\n")
    assert [(f.rule, f.line, f.col) for f in findings] == [("yaml.number-too-large", 3, 5)]
    assert len(findings[0].message) < 300
    assert doc is not None and doc.data["b"] == [None]


@pytest.mark.parametrize(("literal", "value"), [
    (str(MAX_MAGNITUDE), MAX_MAGNITUDE), (str(-MAX_MAGNITUDE), -MAX_MAGNITUDE), ("9007199254740992.0", 2.0**53),
    ("1.0e+15", 1e15), ("-0.0", -0.0), ("1.0e-300", 1e-300), ("123456789012345", 123456789012345),
])
def test_numbers_within_the_bound_load_exactly(literal, value):
    doc, findings = load(f"a: {literal}\n")
    assert findings == []
    assert doc.data["a"] == value and type(doc.data["a"]) is type(value)


def test_float_overflow_stays_non_finite():
    _, findings = load("a: 1.0e+999\n")
    assert [f.rule for f in findings] == ["yaml.non-finite"]


def test_every_huge_number_of_a_file_is_reported():
    _, findings = load("a: " + "9" * 400 + "\nb: {c: 1.0e+300, d: 2}\n")
    assert [(f.line, f.col) for f in findings] == [(1, 4), (2, 8)]


def test_exponent_text_hint_stays_short():
    _, findings = load("a: 1e-99999999\n")
    assert findings[0].rule == "yaml.yaml11-number"
    assert len(findings[0].hint) < 100


@pytest.mark.parametrize("rule_id", ["yaml.number-too-large", "id.confusable"])
def test_rule_examples(rule_id, tmp_path):
    folder = PROJECT / "tests" / "rule_examples" / rule_id
    root, rel = place(tmp_path, folder / "bad.yaml")
    bad = validate_paths(root, [rel])
    assert [f.rule for f in bad.findings] == [rule_id]
    shutil.rmtree(root)
    root, rel = place(tmp_path, folder / "good.yaml")
    good = validate_paths(root)
    assert good.ok, [f.render() for f in good.findings]
