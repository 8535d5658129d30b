"""Ids that imitate other ids: how messages show them, which the loader refuses (id.confusable), did-you-mean."""
from __future__ import annotations

import pytest

from validator.gate.rules import did_you_mean
from validator.gate.unicode_ids import char_name, escaped, show, skeleton, spoofing_problem
from validator.gate.yamlload import load_bytes

CYRILLIC_I = "\u0456"  # CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I, drawn exactly like "i"
PREMIUM = f"prem{CYRILLIC_I}um"


def test_show_escapes_and_names_every_non_ascii_character():
    assert show(PREMIUM) == "'prem\\u0456um' (U+0456 CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I)"
    assert show("premium") == "'premium'"
    assert show("a\U0001d5ba") == "'a\\U0001d5ba' (U+1D5BA MATHEMATICAL SANS-SERIF SMALL A)"


def test_show_lists_at_most_four_names():
    text = show("\u0430\u0431\u0432\u0433\u0434")
    assert text.count("U+") == 4 and text.endswith("and 1 more)")


def test_escaped_keeps_ascii_as_repr_would():
    assert escaped("it's\n") == "'it\\'s\\n'"
    assert char_name("\ue000") == "U+E000"  # a private-use character has no name


@pytest.mark.parametrize(("text", "words"), [
    (PREMIUM, ["mixes Cyrillic and Latin", "write it in one script: 'premium'"]),
    ("\u0391laskaJazz", ["mixes Greek and Latin", "'AlaskaJazz'"]),
    ("R0\u0406_X", ["mixes Cyrillic and Latin", "'R0I_X'"]),
    ("\u0440\u0430\u0443", ["all look like Latin", "'pay'"]),
    ("premium\u200b", ["invisible", "U+200B ZERO WIDTH SPACE"]),
    ("premium\u00a0", ["invisible or separator", "U+00A0 NO-BREAK SPACE"]),
    ("\uff50remium", ["compatibility", "'premium'"]),
    ("\ufb01le", ["compatibility", "'file'"]),
    ("e\u0301te", ["combining", "NFC"]),
], ids=["cyrillic-i", "greek-alpha", "cyrillic-capital-i", "whole-script", "zero-width", "nbsp", "fullwidth",
        "ligature", "decomposed"])
def test_spoofable_ids_are_explained(text, words):
    problem = spoofing_problem(text)
    assert problem is not None
    said = " ".join(problem)
    for word in words:
        assert word in said


@pytest.mark.parametrize("text", [
    "premium", "na\u00efve", "\u00e9t\u00e9", "\u044d\u043b\u0435\u043a\u0442\u0440\u043e\u043d\u0438\u043a\u0430",
    "\u5546\u54c1_sku", "\u30c7\u30fc\u30bf_v2", "\ud55c\uad6d\uc5b4_id", "\u0395\u03bb\u03bb\u03ac\u03b4\u03b1",
], ids=["ascii", "latin-accents", "latin-composed", "cyrillic-word", "han-latin", "japanese-latin", "korean-latin",
        "greek-word"])
def test_single_script_and_allowed_mixes_pass(text):
    assert spoofing_problem(text) is None


def test_skeleton_maps_lookalikes_to_latin():
    assert skeleton(PREMIUM) == "premium"
    assert skeleton("premium") == "premium"


def test_did_you_mean_matches_a_lookalike_and_says_why():
    hint = did_you_mean(PREMIUM, ["basic", "premium"])
    assert hint == ("did you mean 'premium'? 'prem\\u0456um' (U+0456 CYRILLIC SMALL LETTER "
                    "BYELORUSSIAN-UKRAINIAN I) only looks like 'premium'")


def test_did_you_mean_matches_however_many_letters_are_lookalikes():
    word = "\u0440r\u0435m\u0456um"  # three of seven letters Cyrillic: difflib alone scores it below its cutoff
    assert did_you_mean(word, ["premium"]).startswith("did you mean 'premium'?")


def test_did_you_mean_escapes_a_non_ascii_suggestion():
    assert did_you_mean("premum", [PREMIUM]) == (
        "did you mean 'prem\\u0456um' (U+0456 CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I)?")


def test_did_you_mean_is_unchanged_for_ascii():
    assert did_you_mean("premum", ["premium", "basic"]) == "did you mean 'premium'?"
    assert did_you_mean("zzz", ["premium"]) == ""


def findings_of(text: str):
    _, findings = load_bytes(text.encode("utf-8"), "m.yaml")
    return [(f.rule, f.line, f.col) for f in findings]


def test_loader_refuses_a_confusable_key_and_value_at_their_positions():
    text = f"levels:\n  {PREMIUM}: 0.4\nband: {{decision: r\u0435view}}\n"
    assert findings_of(text) == [("id.confusable", 2, 3), ("id.confusable", 3, 18)]


def test_loader_checks_each_word_of_a_name_but_not_free_text():
    text = ("cases:\n  - name: an \u043erder is declined\n"
            "    description: an \u043erder (\u0437\u0430\u043a\u0430\u0437) is declined\n")
    assert findings_of(text) == [("id.confusable", 2, 11)]


def test_loader_message_shows_the_id_escaped():
    _, findings = load_bytes(f"name: {PREMIUM}\n".encode(), "m.yaml")
    assert "'prem\\u0456um' (U+0456 CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I)" in findings[0].message
    assert findings[0].hint == "write it in one script: 'premium'"
