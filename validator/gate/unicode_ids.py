"""Ids that look like other ids: how to show them in messages, and which ones to refuse.

A Cyrillic ``і`` (U+0456) in ``premіum`` renders exactly like the Latin ``i``: a "did you mean 'premium'?"
next to it reads as nonsense, and a level written that way never matches what the app sends. So every message
shows a non-ASCII character of an id escaped with its Unicode name, and the loader refuses ids that Unicode
Technical Standard #39 calls spoofable: letters of several scripts in one id, an id whose every letter is a
look-alike of a Latin one, invisible (format) characters, and compatibility forms such as fullwidth letters.

The script and confusable data are Unicode's (Scripts.txt and confusables.txt, as packaged by
``confusable-homoglyphs``). That package loads a 900 KB table on import, so it is imported only when an id
holds a non-ASCII character: ASCII ids, nearly all of them, never pay for it.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable

# Scripts that TR39's "highly restrictive" level lets share one identifier with Latin: Japanese, Chinese and
# Korean writing mixes them by design.
_ALLOWED_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
# Characters of no script of their own (digits, "_", "-", combining marks) go with any script.
_NEUTRAL = frozenset({"COMMON", "INHERITED"})
# General categories that have no place in an id: invisible formatting, controls, separators, private use.
_INVISIBLE = frozenset({"Cf", "Cc", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})
_MAX_NAMED = 4  # characters named in one message; a longer list hides the id it explains


def escaped(text: str) -> str:
    """``text`` quoted like repr(), with every non-ASCII character as ``\\uXXXX`` (``\\UXXXXXXXX`` above the BMP)."""
    out = []
    for ch in text:
        code = ord(ch)
        if code < 0x80:
            out.append(repr(ch)[1:-1] if ch != "'" else "\\'")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "'" + "".join(out) + "'"


def char_name(ch: str) -> str:
    """``U+0456 CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I`` (or the code point alone for an unnamed one)."""
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X} {name}" if name else f"U+{ord(ch):04X}"


def show(text: str) -> str:
    """An id as a message shows it: repr() for ASCII; escaped, with the names of its non-ASCII characters, else.

    ``show('premіum')`` is ``'prem\\u0456um' (U+0456 CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I)``.
    """
    if text.isascii():
        return repr(text)
    names = list(dict.fromkeys(ch for ch in text if ord(ch) >= 0x80))
    listed = ", ".join(char_name(ch) for ch in names[:_MAX_NAMED])
    more = f" and {len(names) - _MAX_NAMED} more" if len(names) > _MAX_NAMED else ""
    return f"{escaped(text)} ({listed}{more})"


def _scripts(text: str) -> list[str]:
    from confusable_homoglyphs.categories import alias

    return [alias(ch) for ch in text]


def latin_lookalikes(text: str) -> dict[str, str]:
    """Each non-Latin character of ``text`` that Unicode lists as confusable with one Latin (or ASCII) character."""
    from confusable_homoglyphs.categories import alias
    from confusable_homoglyphs.confusables import confusables_data

    out: dict[str, str] = {}
    for ch in text:
        if ch.isascii() or ch in out or alias(ch) == "LATIN":
            continue
        for glyph in confusables_data.get(ch, ()):
            target = glyph["c"]
            if len(target) == 1 and (target.isascii() or alias(target) == "LATIN"):
                out[ch] = _same_case(ch, target)
                break
    return out


def _same_case(ch: str, target: str) -> str:
    """confusables.txt maps a capital I look-alike to ``l``; a hint should say ``I`` (the letter its name ends in)."""
    if not (target.isalpha() and ch.isalpha()) or ch.isupper() == target.isupper():
        return target
    last = unicodedata.name(ch, "").rsplit(" ", 1)[-1]
    if len(last) == 1 and last.isascii() and last.isalpha():
        return last.upper() if ch.isupper() else last.lower()
    return target


def skeleton(text: str) -> str:
    """``text`` with each look-alike replaced by the Latin character it imitates (TR39's skeleton, for Latin)."""
    if text.isascii():
        return text
    swap = latin_lookalikes(unicodedata.normalize("NFKC", text))
    return "".join(swap.get(ch, ch) for ch in unicodedata.normalize("NFKC", text))


def spoofing_problem(text: str) -> tuple[str, str] | None:
    """(message, hint) when ``text`` cannot serve as an id safely; None when it can (every ASCII id can).

    Order: invisible characters, compatibility forms, mixed scripts, then whole-script look-alikes of Latin.
    """
    if text.isascii():
        return None
    shown = show(text)
    invisible = [ch for ch in text if unicodedata.category(ch) in _INVISIBLE]
    if invisible:
        return (f"id {shown} holds an invisible or separator character ({char_name(invisible[0])})",
                "delete it: ids are words a reviewer can read, and the app never sends this character")
    composed = unicodedata.normalize("NFC", text)
    if composed != text:
        return (f"id {shown} is written with combining characters that compose to {show(composed)} "
                "(Unicode normalization form NFC)", f"write {show(composed)}, as editors type it")
    normal = unicodedata.normalize("NFKC", text)
    if normal != text:
        return (f"id {shown} holds a compatibility character (fullwidth, ligature, superscript ...) that reads as "
                f"{show(normal)}", f"write {show(normal)}")
    scripts = _scripts(text)
    used = set(scripts) - _NEUTRAL
    lookalike = skeleton(text)
    if len(used) > 1 and not any(used <= mix for mix in _ALLOWED_MIXES):
        names = " and ".join(s.title() for s in sorted(used))
        hint = (f"write it in one script: {show(lookalike)}" if lookalike.isascii() and lookalike != text
                else "write every letter of the id in one script")
        return f"id {shown} mixes {names} letters (Unicode TR39 mixed-script)", hint
    if used and used != {"LATIN"} and lookalike != text and lookalike.isascii():
        return (f"id {shown} is written in {next(iter(used)).title()} letters that all look like Latin ones: "
                f"it reads as {lookalike!r} (Unicode TR39 whole-script confusable)",
                f"write {lookalike!r} if that is what you mean, or an id that does not imitate Latin")
    return None


def near_miss_note(word: str, options: Iterable[str]) -> tuple[str, str] | None:
    """(option, note) when ``word`` differs from one of ``options`` only by look-alike characters."""
    if word.isascii():
        return None
    looks = skeleton(word)
    for option in options:
        if option != word and (option == looks or skeleton(option) == looks):
            return option, f"{show(word)} only looks like {show(option)}"
    return None
