"""Round-trip YAML editing (validator.data.roundtrip): an edit changes the numbers it sets and no other byte.

Every model and config file of the project must re-dump byte for byte; comments (also after flow maps), key
order, quoting and flow style survive an edit; numbers come back as the gate's YAML 1.1 loader reads them.
"""
from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from validator.data.roundtrip import (
    RoundTripError,
    dump,
    edit_file,
    edit_text,
    format_float,
    load,
    set_number,
)
from validator.gate.yamlload import load_bytes

PROJECT = Path(__file__).resolve().parents[1]
PROJECT_YAML = sorted([*PROJECT.glob("weights/*.yaml"), *PROJECT.glob("config/**/*.yaml")])

HERO_ARMS = """\
# yaml-language-server: $schema=../config/schemas/bandit.schema.json
kind: bandit   # the kind
arms:
  - id: a
    prior: {alpha: 2, beta: 38}
    posterior: {successes: 412, failures: 9588}     # 4.1% CTR over 10000 views
    floor: 0.050
  - id: "b"
    posterior: {successes: 5, failures: 95}         # 5.0% CTR over 100 views

holdout: {variant: 'control', share: 0.05}
description: >-
  A folded description that is long enough to matter
  and goes on over a second line.
"""


def gate_value(text: str, *path: object) -> object:
    doc, findings = load_bytes(text.encode("utf-8"), "m.yaml")
    assert findings == []
    value = doc.data
    for step in path:
        value = value[step]
    return value


@pytest.mark.parametrize("path", PROJECT_YAML, ids=lambda p: str(p.relative_to(PROJECT)))
def test_every_project_file_dumps_byte_for_byte(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert dump(load(text)) == text


@pytest.mark.parametrize("path", PROJECT_YAML, ids=lambda p: str(p.relative_to(PROJECT)))
def test_a_no_op_edit_gives_identical_text(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    result = edit_text(text, lambda doc: None)
    assert result.changed is False
    assert result.new_text == text


def test_setting_the_same_values_is_a_no_op_even_when_written_differently() -> None:
    def same(doc):
        set_number(doc["arms"][0], "floor", 0.05)  # written 0.050 in the file
        set_number(doc["arms"][0]["posterior"], "successes", 412.0)  # an int, given as a whole float

    result = edit_text(HERO_ARMS, same)
    assert result.changed is False and result.new_text == HERO_ARMS


def test_an_edit_changes_only_the_numbers_and_keeps_comments_quoting_and_order() -> None:
    def edit(doc):
        posterior = doc["arms"][0]["posterior"]
        set_number(posterior, "successes", 500)
        set_number(posterior, "failures", 9500)

    result = edit_text(HERO_ARMS, edit)
    assert result.changed
    old_lines = HERO_ARMS.splitlines()
    new_lines = result.new_text.splitlines()
    assert len(old_lines) == len(new_lines)
    changed = [(old, new) for old, new in zip(old_lines, new_lines, strict=True) if old != new]
    assert changed == [(
        "    posterior: {successes: 412, failures: 9588}     # 4.1% CTR over 10000 views",
        "    posterior: {successes: 500, failures: 9500}     # 4.1% CTR over 10000 views",
    )]


def test_a_longer_number_pushes_the_inline_comment_but_keeps_it() -> None:
    result = edit_text(HERO_ARMS, lambda doc: set_number(doc["arms"][1]["posterior"], "successes", 123456789))
    line = [ln for ln in result.new_text.splitlines() if "123456789" in ln][0]
    assert line == "    posterior: {successes: 123456789, failures: 95} # 5.0% CTR over 100 views"
    assert gate_value(result.new_text, "arms", 1, "posterior") == {"successes": 123456789, "failures": 95}


@pytest.mark.parametrize(("value", "text"), [
    (0.5, "0.5"), (1e-05, "1.0e-05"), (1e15, "1000000000000000.0"), (1.5e-7, "1.5e-07"), (2.5e-300, "2.5e-300"), (0.1 + 0.2, "0.30000000000000004"),
    (-3.0, "-3.0"),
])
def test_floats_are_written_shortest_and_yaml_1_1_readable(value: float, text: str) -> None:
    assert format_float(value) == text
    result = edit_text("a: 1.5\n", lambda doc: set_number(doc, "a", value))
    assert result.new_text == f"a: {text}\n"
    read = gate_value(result.new_text, "a")
    assert type(read) is float and read == value


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15))
def test_any_finite_float_reads_back_exactly_through_the_gate_loader(value: float) -> None:
    result = edit_text("a: 7\nb: 1.5\n", lambda doc: set_number(doc, "b", value))
    read = gate_value(result.new_text, "b")
    assert type(read) is float
    assert read == value or (value == 0 and read == 0)


def test_ints_stay_ints_and_a_fraction_becomes_a_float() -> None:
    result = edit_text("n: 7\n", lambda doc: set_number(doc, "n", 12.0))
    assert result.new_text == "n: 12\n"
    result = edit_text("n: 7\n", lambda doc: set_number(doc, "n", 12.25))
    assert result.new_text == "n: 12.25\n"
    result = edit_text("x: 0.5\n", lambda doc: set_number(doc, "x", 2))
    assert result.new_text == "x: 2\n"


@pytest.mark.parametrize("bad", [True, "12", None, math.nan, math.inf])
def test_set_number_refuses_what_is_not_a_finite_number(bad: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        set_number({"a": 1}, "a", bad)  # type: ignore[arg-type]


def test_other_indentation_styles_round_trip() -> None:
    for text in [
        "arms:\n- id: a\n  posterior: {successes: 1, failures: 2}  # c\n",
        "arms:\n    - id: a\n      posterior:\n          successes: 1\n          failures: 2\n",
    ]:
        assert dump(load(text)) == text
        result = edit_text(text, lambda doc: set_number(doc["arms"][0]["posterior"], "successes", 9))
        assert result.new_text == text.replace("successes: 1", "successes: 9")


def test_a_layout_ruamel_cannot_reproduce_keeps_its_other_lines() -> None:
    # Irregular spacing inside a flow map and a mixed indentation: ruamel normalizes "{ a: 1 }", the carry-over
    # keeps it because that line is not edited.
    text = "top:   { a: 1 }    # spaced\nlist:\n  - x: 1\n    n: 5\n"
    assert dump(load(text)) != text
    result = edit_text(text, lambda doc: set_number(doc["list"][0], "n", 6))
    assert result.new_text == text.replace("n: 5", "n: 6")


def test_edit_file_writes_only_when_changed(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(HERO_ARMS, encoding="utf-8")
    before = path.stat().st_mtime_ns
    result = edit_file(path, lambda doc: set_number(doc["arms"][0], "floor", 0.05))
    assert not result.changed and path.stat().st_mtime_ns == before
    result = edit_file(path, lambda doc: set_number(doc["arms"][0], "floor", 0.1))
    assert result.changed
    assert path.read_text(encoding="utf-8") == result.new_text == HERO_ARMS.replace("floor: 0.050", "floor: 0.1")
    assert [p.name for p in tmp_path.iterdir()] == ["m.yaml"]  # no temp file left behind


@pytest.mark.parametrize("text", ["a: [1, 2\n", "- 1\n- 2\n", "just text\n", "a: 1\na: 2\n"])
def test_text_that_cannot_be_edited_is_a_round_trip_error(text: str) -> None:
    with pytest.raises(RoundTripError):
        load(text)
