"""Every bad-input class the loader must turn into a positioned finding instead of a traceback."""
from __future__ import annotations

import pytest

from validator.gate.yamlload import load_bytes


def load(text: bytes | str, **kw):
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return load_bytes(raw, "weights/m.yaml", **kw)


def only(findings):
    assert len(findings) == 1, [f.render() for f in findings]
    return findings[0]


def test_plain_document_keeps_values_and_positions():
    doc, findings = load("kind: scorecard\nterms:\n  - name: velocity\n    weight: 0.35\n")
    assert findings == []
    assert doc.data == {"kind": "scorecard", "terms": [{"name": "velocity", "weight": 0.35}]}
    assert doc.span(("terms", 0, "weight")).line == 4
    assert doc.span(("terms", 0, "weight")).col == 13
    assert doc.span(("terms", 0, "weight"), at_key=True).col == 5
    # an unknown path falls back to its nearest ancestor
    assert doc.span(("terms", 0, "missing")).line == 3


@pytest.mark.parametrize(
    "text, rule, line, col, words",
    [
        ("a: 1\nb: 2\na: 3\n", "yaml.duplicate-key", 3, 1, "first defined at line 1"),
        ("a: !!python/object/apply:os.system ['echo hi']\n", "yaml.tag", 1, 4, "!!python/object/apply:os.system"),
        ("a: !custom 3\n", "yaml.tag", 1, 4, "!custom"),
        ("b: !!int '5'\n", "yaml.tag", 1, 4, "!!int"),
        ("b: !!str 5\n", "yaml.tag", 1, 4, "!!str"),
        ("b: &x !!str 5\n", "yaml.tag", 1, 4, "!!str"),
        ("base: &b {x: 1}\nother:\n  <<: *b\n", "yaml.tag", 3, 3, "merge keys"),
        ("a: &x [1, 2]\nb: *x\n", "yaml.alias", 1, 4, "anchors and aliases"),
        ("a: .nan\n", "yaml.non-finite", 1, 4, "'.nan'"),
        ("a: -.inf\n", "yaml.non-finite", 1, 4, "'-.inf'"),
        ("a: 1e-3\n", "yaml.yaml11-number", 1, 4, "write 0.001"),
        ("a: 1.5e3\n", "yaml.yaml11-number", 1, 4, "write 1500.0"),
        ("a: 012\n", "yaml.yaml11-number", 1, 4, "read as 10"),
        ("a: 0x1F\n", "yaml.yaml11-number", 1, 4, "read as 31"),
        ("a: 1:30\n", "yaml.yaml11-number", 1, 4, "read as 90"),
        ("a: 1_000\n", "yaml.yaml11-number", 1, 4, "read as 1000"),
        ("a: no\n", "yaml.yaml11-bool", 1, 4, "read as false"),
        ("a: On\n", "yaml.yaml11-bool", 1, 4, "read as true"),
        ("levels:\n  NO: 0.4\n", "yaml.key-not-string", 2, 3, "quote it: 'NO'"),
        ("levels:\n  3: 0.4\n", "yaml.key-not-string", 2, 3, "'3'"),
        ("? [a, b]\n: 1\n", "yaml.key-not-string", 1, 3, "plain words"),
        ("a: [1, 2\nb: 3\n", "yaml.syntax", 2, 2, "did not find expected"),
        ("a: b: c\n", "yaml.syntax", 1, 5, "mapping values are not allowed"),
        ("a: 1\n---\nb: 2\n", "yaml.multi-document", 2, 1, "more than one YAML document"),
        ("# nothing but a comment\n", "yaml.empty", 1, 1, "no YAML document"),
        ("", "yaml.empty", 1, 1, "no YAML document"),
        ("---\n...\n", "yaml.empty", 1, 1, "no YAML document"),
        ("a: \x07\n", "yaml.syntax", 1, 4, "control characters"),
        ("a: " + "[" * 80 + "]" * 80 + "\n", "yaml.too-deep", 1, 68, "deeper than 64"),
    ],
)
def test_bad_input_is_a_positioned_finding(text, rule, line, col, words):
    doc, findings = load(text)
    finding = only(findings)
    assert (finding.rule, finding.line, finding.col) == (rule, line, col), finding.render()
    assert words in finding.render()
    assert finding.severity.value == "error"


def test_non_utf8_names_the_byte_and_its_position():
    doc, findings = load(b"a: 1\nb: caf\xe9\n")
    finding = only(findings)
    assert doc is None
    assert (finding.rule, finding.line, finding.col) == ("yaml.encoding", 2, 7)
    assert "0xe9" in finding.message


def test_utf8_bom_is_accepted():
    doc, findings = load(b"\xef\xbb\xbfa: 1\n")
    assert findings == [] and doc.data == {"a": 1}


def test_size_limit_is_checked_before_parsing():
    doc, findings = load("a: 1\n" * 100, max_bytes=100)
    finding = only(findings)
    assert doc is None and finding.rule == "yaml.too-large" and "500 bytes" in finding.message


def test_alias_bomb_is_refused_without_expanding():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    doc, findings = load(bomb)
    assert doc is None
    assert findings[0].rule == "yaml.alias"


def test_yaml11_values_that_are_fine():
    doc, findings = load("a: true\nb: false\nc: ~\nd: 2024-05-01\ne: '1e-3'\nf: 'no'\ng: 1.0e-3\nh: -0.25\ni: +3\n")
    assert findings == []
    assert doc.data == {"a": True, "b": False, "c": None, "d": "2024-05-01", "e": "1e-3", "f": "no",
                        "g": 0.001, "h": -0.25, "i": 3}


def test_huge_exponent_is_not_silently_infinite():
    doc, findings = load("a: 1.0e+999\n")
    assert only(findings).rule == "yaml.non-finite"


def test_several_problems_are_all_reported():
    doc, findings = load("a: no\nb: 012\nc: 1e-3\n")
    assert [f.line for f in findings] == [1, 2, 3]
