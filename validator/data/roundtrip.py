"""Round-trip YAML editing: change numbers in an analyst's file and keep everything else as it was.

Tools that write weights (``weights update``, the scikit-learn export) must leave the file an analyst would
recognise: every comment (also the one after a flow map, ``posterior: {successes: 412, failures: 9588}  # 4.1%
CTR``), key order, flow/block style, quoting, folded descriptions and blank lines stay, so ``git diff`` shows only
the numbers that changed. ruamel.yaml's round-trip mode does most of that; this module adds the rest:

- the indentation of the file is detected (ruamel dumps one fixed indentation), so a no-op edit gives the very
  same bytes;
- if ruamel still cannot reproduce a file byte for byte (an unusual layout), the lines an edit changed are
  carried over into the original text, so the unrelated lines stay untouched;
- numbers are written so PyYAML's YAML 1.1 loader (the gate's) reads them back as the same type and value:
  ``1e-05`` is text in YAML 1.1, so floats are written ``1.0e-05`` (:func:`set_number`).

The API is small on purpose::

    result = edit_file(path, lambda doc: set_number(doc["arms"][0]["posterior"], "successes", 500))
    result.changed, result.old_text, result.new_text

``load``/``dump`` are there for callers that need the document itself (``dump(load(text)) == text`` for every
file whose layout ruamel can reproduce; :func:`edit_text` does not need that).
"""
from __future__ import annotations

import difflib
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError
from ruamel.yaml.representer import RoundTripRepresenter

from validator.atomic import write_atomic

__all__ = [
    "CommentedMap",
    "EditResult",
    "RoundTripError",
    "dump",
    "edit_file",
    "edit_text",
    "format_float",
    "load",
    "set_number",
]

# Layouts tried in order: (mapping indent, sequence indent, dash offset). The project's files use the first
# (``arms:`` then ``  - id: ...``); the second is ruamel's and many editors' default (``- id:`` under the key).
_LAYOUTS: tuple[tuple[int, int, int], ...] = (
    (2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4), (4, 4, 0), (2, 4, 0),
)
_LAYOUT_ATTR = "_weights_roundtrip_layout"
_EXACT_ATTR = "_weights_roundtrip_exact"  # the detected layout re-dumps the loaded text byte for byte
_WIDTH = 1 << 16  # never re-wrap a long line: the analyst chose where it breaks


class RoundTripError(ValueError):
    """The text is not YAML that round-trip editing can work on (syntax error, not a mapping at the top)."""


class _Float(float):
    """A float set by :func:`set_number`: written by :func:`format_float` so YAML 1.1 reads it as a float."""


def format_float(value: float) -> str:
    """The shortest text that reads back as ``value`` and that YAML 1.1 (PyYAML, the gate) takes as a float.

    ``repr`` is the shortest round-tripping text, but ``1e-05`` has no dot and YAML 1.1 reads it as a string;
    ``1.0e-05`` is a float in both YAML 1.1 and 1.2.
    """
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number; the gate refuses NaN and infinities")
    text = repr(float(value))
    mantissa, sep, exponent = text.partition("e")
    if sep and "." not in mantissa:
        text = f"{mantissa}.0e{exponent}"
    return text


def _represent_float(representer: RoundTripRepresenter, data: _Float) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:float", format_float(float(data)))


def _yaml(layout: tuple[int, int, int]) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = _WIDTH
    mapping, sequence, offset = layout
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    yaml.representer.add_representer(_Float, _represent_float)
    return yaml


def _dump_with(doc: CommentedMap, layout: tuple[int, int, int]) -> str:
    out = io.StringIO()
    _yaml(layout).dump(doc, out)
    return out.getvalue()


def load(text: str) -> CommentedMap:
    """Parse ``text`` for round-trip editing; the top level must be a mapping (every model file is one).

    The layout (indentation) that reproduces ``text`` best is remembered on the document for :func:`dump`.
    Raises :class:`RoundTripError` for text that is not YAML or not a mapping.
    """
    try:
        doc = _yaml(_LAYOUTS[0]).load(text)
    except YAMLError as error:
        raise RoundTripError(f"not YAML that can be edited round-trip: {error}") from error
    if not isinstance(doc, CommentedMap):
        raise RoundTripError("the top level is not a mapping (key: value lines)")
    best, best_score, exact = _LAYOUTS[0], -1.0, False
    for layout in _LAYOUTS:
        out = _dump_with(doc, layout)
        if out == text:
            best, exact = layout, True
            break
        score = difflib.SequenceMatcher(None, text.splitlines(), out.splitlines(), autojunk=False).ratio()
        if score > best_score:
            best, best_score = layout, score
    setattr(doc, _LAYOUT_ATTR, best)
    setattr(doc, _EXACT_ATTR, exact)
    return doc


def dump(doc: CommentedMap) -> str:
    """The text of ``doc`` in the layout :func:`load` detected (ruamel's project layout for a new document)."""
    return _dump_with(doc, getattr(doc, _LAYOUT_ATTR, _LAYOUTS[0]))


@dataclass(frozen=True)
class EditResult:
    """What an edit did: the text before and after, and whether they differ (nothing is written if not)."""

    old_text: str
    new_text: str
    changed: bool


def edit_text(text: str, mutate: Callable[[CommentedMap], None]) -> EditResult:
    """Apply ``mutate`` to the document in ``text`` and return the edited text, nothing else changed.

    An edit that changes no value gives ``text`` back unchanged, byte for byte, whatever ruamel would make of
    the layout. If ruamel cannot reproduce ``text`` exactly, only the lines the edit changed are replaced in
    the original text (a three-way merge of original, re-dumped and edited lines); where that is ambiguous
    the edited dump is returned whole.
    """
    doc = load(text)
    before = text if getattr(doc, _EXACT_ATTR, False) else dump(doc)  # load() has just dumped it once
    mutate(doc)
    after = dump(doc)
    if after == before:
        return EditResult(text, text, False)
    new_text = after if before == text else _carry_over(text, before, after)
    return EditResult(text, new_text, new_text != text)


def edit_file(path: Path | str, mutate: Callable[[CommentedMap], None]) -> EditResult:
    """:func:`edit_text` on a file, written atomically (validator.atomic) and only when the text changed."""
    path = Path(path)
    text = path.read_bytes().decode("utf-8")
    result = edit_text(text, mutate)
    if result.changed:
        write_atomic(path, result.new_text.encode("utf-8"))
    return result


def set_number(mapping: Any, key: Any, value: int | float) -> None:
    """Set ``mapping[key]`` to a number, keeping the file's way of writing it where that is sensible.

    - the same value as now: the node is left alone, so ``0.050`` stays ``0.050`` (no-op edits stay no-ops);
    - an integer stays an integer: a whole float (``412.0``) replacing an int is written ``412``;
    - other floats are written by :func:`format_float` (shortest text that reads back exactly).

    Booleans, NaN and infinities are refused (``TypeError``/``ValueError``): the gate refuses them anyway, and
    ``True`` is an ``int`` to Python but not a count.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{key}: {value!r} is not a number")
    old = mapping.get(key) if hasattr(mapping, "get") else None
    old_is_int = isinstance(old, int) and not isinstance(old, bool)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{key}: {value!r} is not a finite number")
        if old_is_int and value.is_integer() and abs(value) <= 2**53:
            value = int(value)
    if isinstance(old, (int, float)) and not isinstance(old, bool):
        if old == value and isinstance(old, int) == isinstance(value, int):
            return
    mapping[key] = int(value) if isinstance(value, int) else _Float(value)


def _carry_over(original: str, before: str, after: str) -> str:
    """Replay the line changes ``before`` -> ``after`` onto ``original`` (which ``before`` re-dumps imperfectly).

    Lines of ``before`` that equal lines of ``original`` are matched (difflib); a changed block of ``before`` is
    replaced in ``original`` when every line of it has a match there, in one contiguous run. Otherwise the
    edited dump ``after`` is the answer (correct content, ruamel's layout).
    """
    orig_lines = original.splitlines(keepends=True)
    before_lines = before.splitlines(keepends=True)
    after_lines = after.splitlines(keepends=True)
    to_original: dict[int, int] = {}
    matcher = difflib.SequenceMatcher(None, before_lines, orig_lines, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            to_original[block.a + k] = block.b + k
    replacements: list[tuple[int, int, list[str]]] = []
    edits = difflib.SequenceMatcher(None, before_lines, after_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in edits.get_opcodes():
        if tag == "equal":
            continue
        if i1 == i2:  # an insertion: anchor it after the line before it
            if i1 == 0:
                start = 0
            elif i1 - 1 in to_original:
                start = to_original[i1 - 1] + 1
            else:
                return after
            replacements.append((start, start, after_lines[j1:j2]))
            continue
        mapped = [to_original.get(i) for i in range(i1, i2)]
        if any(m is None for m in mapped):
            return after
        first, last = mapped[0], mapped[-1]
        assert first is not None and last is not None
        if last - first != i2 - i1 - 1:
            return after
        replacements.append((first, last + 1, after_lines[j1:j2]))
    result = list(orig_lines)
    for start, end, lines in sorted(replacements, reverse=True):
        result[start:end] = lines
    return "".join(result)
