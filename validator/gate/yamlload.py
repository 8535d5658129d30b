"""Load one YAML document safely, keeping the position of every key and value.

PyYAML silently keeps the last of two duplicate keys, resolves YAML 1.1 surprises (``no`` is false, ``012``
is 10, ``1e-3`` is a string) and will build arbitrary objects from tags with an unsafe loader. We let
libyaml's C composer build the node tree (fast, positions kept) and construct plain JSON values from the
nodes ourselves, so each of those cases becomes a positioned finding instead of a silent wrong number.

Anchors and aliases are refused outright: they hide values from reviewers and are the vector of
"billion laughs" bombs. Timestamps stay strings, because bundles are JSON.

Every number that comes out lies within +-2**53 (``MAX_MAGNITUDE``): an integer of hundreds of digits is valid
YAML, and Python keeps it exactly, but the first rule that mixes it with a float raises OverflowError; a float
of 1.0e+300 is finite, but its square is not, and rules square and multiply. Up to 2**53 floats count whole
numbers exactly, and no product or sum of squares a rule or an evaluator forms can overflow. No weight,
threshold, range or count comes near it, so a number beyond it is refused here, at its position
(``yaml.number-too-large``), and no rule, kind or contract check ever sees one.

Keys and one-word strings are ids (model, input, term, level, decision, reason, arm, segment, case names): one
with a look-alike letter from another script is refused here too (``id.confusable``, see
``validator.gate.unicode_ids``); the check costs one ``str.isascii()`` per string when all ids are ASCII.
"""
from __future__ import annotations

import gc
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from validator.gate.findings import Finding, Severity
from validator.gate.unicode_ids import spoofing_problem

try:  # libyaml's composer when present; the pure-Python one gives the same nodes, only slower
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - exercised only without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_RESOLVED: dict[tuple[str, bool], str] = {}  # (scalar text, plain?) -> implicit tag; bounded below


class _Loader(_BaseLoader):
    """The safe loader with a memo in front of PyYAML's tag resolver.

    Even libyaml's composer calls PyYAML's Python resolver once per node (a third of the load time of a model
    file, measured by bench/bench_validate.py), and model files repeat the same keys and words. With no path
    resolvers registered (safe loading registers none), the tag of a scalar depends only on its text and on
    whether it was plain, so the memo returns exactly what ``resolve`` would; collections skip the path
    bookkeeping, which only path resolvers read.
    """

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is ScalarNode:
            key = (value, implicit[0])
            tag = _RESOLVED.get(key)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(_RESOLVED) < 65_536 and len(value) <= 64:
                    _RESOLVED[key] = tag
            return tag
        return super().resolve(kind, value, implicit)

DEFAULT_MAX_BYTES = 1_048_576
DEFAULT_MAX_DEPTH = 64

_TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL, TIMESTAMP = (_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp"))
MAP, SEQ, VALUE = _TAG + "map", _TAG + "seq", _TAG + "value"
_DECIMAL_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)\Z")
_PLAIN_FLOAT = re.compile(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][-+]?[0-9]+)?\Z")
# PyYAML's YAML 1.1 float needs a dot and a signed exponent: 1e-3 and 1.0e3 stay text.
_EXPONENT_TEXT = re.compile(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+\Z")
# The largest magnitude a number may have (see the module docstring). A decimal literal of fewer digits than
# it is always within; only one as long is converted and compared (int() of over 4,300 digits would raise).
MAX_MAGNITUDE = 2**53
_MAX_DIGITS = len(str(MAX_MAGNITUDE))
# ASCII whitespace makes a string free text (a description, an accept reason), not an id.
_FREE_TEXT = re.compile(r"[ \t\r\n]")

Path = tuple


@dataclass(frozen=True)
class Span:
    """1-based start (and end) of a node, as editors and GitHub annotations count."""

    line: int
    col: int
    end_line: int
    end_col: int


@dataclass
class Document:
    """A loaded YAML file: plain data plus where each value (and each mapping key) sits in the text.

    The maps hold plain ``(line, col, end_line, end_col)`` tuples, turned into Spans only when a finding
    asks: most documents are clean, and tuples of ints are invisible to the garbage collector.
    """

    path: str
    data: Any
    values: dict[Path, tuple[int, int, int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int, int, int]] = field(default_factory=dict)

    def span(self, path: Path, at_key: bool = False) -> Span:
        """The closest known position for ``path``: the exact node, else its nearest ancestor."""
        path = tuple(path)
        if at_key and path in self.keys:
            return Span(*self.keys[path])
        while path:
            if path in self.values:
                return Span(*self.values[path])
            path = path[:-1]
        root = self.values.get(())
        return Span(*root) if root is not None else Span(1, 1, 1, 1)

    def has_key(self, path: Path) -> bool:
        return tuple(path) in self.keys


class _Abort(Exception):
    """Stop building: a finding was recorded that makes the rest of the document meaningless."""


def _where(node: Node) -> tuple[int, int, int, int]:
    start, end = node.start_mark, node.end_mark
    return (start.line + 1, start.column + 1, end.line + 1, end.column + 1)


def _span(node: Node) -> Span:
    return Span(*_where(node))


class _Builder:
    def __init__(self, path: str, text: str, max_depth: int) -> None:
        self.path = path
        self.text = text
        self.max_depth = max_depth
        self.findings: list[Finding] = []
        self.values: dict[Path, tuple[int, int, int, int]] = {}
        self.keys: dict[Path, tuple[int, int, int, int]] = {}
        self.seen: set[int] = set()

    def error(self, node: Node, rule: str, message: str, hint: str = "") -> None:
        span = _span(node)
        self.findings.append(
            Finding(self.path, span.line, span.col, Severity.ERROR, rule, message, hint, span.end_line, span.end_col)
        )

    def build(self, node: Node, path: Path, depth: int) -> Any:
        if id(node) in self.seen:
            self.error(node, "yaml.alias", "anchors and aliases (&name / *name) are not allowed in weights files",
                       "write the value out in full, so reviewers see every number where it applies")
            raise _Abort
        self.seen.add(id(node))
        if depth > self.max_depth:
            self.error(node, "yaml.too-deep", f"the document nests deeper than {self.max_depth} levels",
                       "flatten the structure; no model kind needs this depth")
            raise _Abort
        self.values[path] = _where(node)
        if isinstance(node, ScalarNode):
            value = self.scalar(node)
            if path and path[-1] == "name" and type(value) is str and not value.isascii() and _FREE_TEXT.search(value):
                # A name with spaces (a golden case's) is still an id: pytest shows it, reviewers search for it.
                for word in value.split():
                    if not word.isascii() and self.check_id(node, word):
                        break
            return value
        if isinstance(node, SequenceNode):
            if node.tag != SEQ or self.explicit_tag(node):
                self.tag_error(node)
            return [self.build(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            if node.tag != MAP or self.explicit_tag(node):
                self.tag_error(node)
            return self.mapping(node, path, depth)
        raise _Abort  # pragma: no cover - libyaml yields only the three node types

    def mapping(self, node: MappingNode, path: Path, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_seen: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key = self.key(key_node)
            if key is None:
                continue
            if key in first_seen:
                first = first_seen[key].start_mark
                self.error(key_node, "yaml.duplicate-key",
                           f"duplicate key {key!r} (first defined at line {first.line + 1}); "
                           "YAML keeps only the last one",
                           "remove one of them, or merge their contents")
                continue
            first_seen[key] = key_node
            self.keys[path + (key,)] = _where(key_node)
            out[key] = self.build(value_node, path + (key,), depth + 1)
        return out

    def key(self, node: Node) -> str | None:
        if not isinstance(node, ScalarNode):
            self.error(node, "yaml.key-not-string", "mapping keys must be plain words, not lists or mappings")
            return None
        if node.tag == _TAG + "merge":
            self.error(node, "yaml.tag", "merge keys (<<) are not allowed in weights files",
                       "write the keys out in full")
            return None
        if node.tag != STR:
            value = node.value
            if not node.style and node.tag in (BOOL, INT, FLOAT, NULL):
                reads = {BOOL: "a boolean", INT: "a number", FLOAT: "a number", NULL: "null"}[node.tag]
                self.error(node, "yaml.key-not-string",
                           f"key {value!r} is read as {reads} by YAML 1.1, not as the text {value!r}",
                           f"quote it: '{value}'")
                return None
            if node.tag != TIMESTAMP:
                self.tag_error(node)
                return None
        if not node.value.isascii():
            self.check_id(node, node.value)
        return node.value

    def check_id(self, node: Node, text: str) -> bool:
        """Refuse an id that imitates another (mixed scripts, look-alikes, invisible characters); True if refused."""
        problem = spoofing_problem(text)
        if problem is not None:
            self.error(node, "id.confusable", *problem)
        return problem is not None

    def too_large(self, node: Node, text: str) -> None:
        shown = text if len(text) <= 24 else f"{text[:12]}...{text[-6:]} ({len(text):,} characters)"
        self.error(node, "yaml.number-too-large",
                   f"the number {shown} is beyond {MAX_MAGNITUDE:,} (2^53), the largest magnitude a weights file "
                   "may hold: floats lose whole numbers above it, and the checks' arithmetic would overflow",
                   "write the number you mean; weights, thresholds, ranges and counts are far smaller")

    def explicit_tag(self, node: Node) -> bool:
        """Whether the node is written with a tag (``!!str 5``, ``!custom x``): its text starts with ``!``.

        The composed node only keeps the resolved tag, so ``!!str 5`` and ``'5'`` look alike there;
        libyaml's mark points at the node's first character, the tag (or an anchor before it).
        """
        text, i = self.text, node.start_mark.index
        if i >= len(text):
            return False
        if text[i] == "&":  # an anchor, then maybe a tag
            while i < len(text) and text[i] not in " \t\r\n":
                i += 1
            while i < len(text) and text[i] in " \t":
                i += 1
        return text[i:i + 1] == "!"

    def tag_error(self, node: Node) -> None:
        tag = node.tag.replace(_TAG, "!!")
        self.error(node, "yaml.tag", f"YAML tag {tag} is not allowed in weights files",
                   "remove the tag; values are plain numbers, text, true/false, lists and mappings")

    def scalar(self, node: ScalarNode) -> Any:
        tag, value, plain = node.tag, node.value, not node.style
        if (plain or tag != STR) and self.explicit_tag(node):
            self.tag_error(node)
            return None
        if tag == STR or tag == VALUE:
            if not value.isascii() and not _FREE_TEXT.search(value):
                self.check_id(node, value)
            if plain and _EXPONENT_TEXT.match(value):
                decimal = _decimal(value)
                self.error(node, "yaml.yaml11-number",
                           f"{value!r} is read as text by YAML 1.1, not as a number (scientific notation needs "
                           "a decimal point and a signed exponent there)",
                           f"write {decimal}" if decimal else "write a finite number")
            return value
        if tag == TIMESTAMP:
            return value
        if tag == NULL:
            return None
        if tag == BOOL:
            if value in ("true", "false", "True", "False", "TRUE", "FALSE"):
                return value.lower() == "true"
            truth = value.lower() in ("yes", "on", "y")
            self.error(node, "yaml.yaml11-bool",
                       f"{value!r} is read as {str(truth).lower()} by YAML 1.1",
                       f"write {str(truth).lower()} for a boolean, or '{value}' in quotes for the word")
            return truth
        if tag == INT:
            if _DECIMAL_INT.match(value):
                digits = len(value) - (value[0] in "+-")
                if digits >= _MAX_DIGITS and (digits > _MAX_DIGITS or abs(int(value)) > MAX_MAGNITUDE):
                    self.too_large(node, value)
                    return None
                return int(value)
            try:
                reads = yaml.safe_load(value)
            except ValueError:  # over Python's 4,300-digit limit for int(str): far beyond MAX_MAGNITUDE
                reads = math.inf
            if isinstance(reads, (int, float)) and not abs(reads) <= MAX_MAGNITUDE:
                self.too_large(node, value)
                return None
            if ":" in value:
                why = "sexagesimal (base 60)"
            elif value.lstrip("+-").startswith(("0x", "0b")):
                why = "hexadecimal or binary"
            elif "_" in value:
                why = "a number with its underscores dropped"
            else:
                why = "octal, because of the leading zero"
            meant = value.replace("_", "").lstrip("+-").lstrip("0") or "0"
            if why.startswith("octal") and meant.isdigit():
                sign = "-" if value.startswith("-") else ""
                hint = f"write {sign}{meant} if you mean {sign}{meant}, or '{value}' in quotes for a code"
            else:
                hint = f"write {reads} for the number, or '{value}' in quotes for a code"
            self.error(node, "yaml.yaml11-number", f"{value!r} is read as {reads} by YAML 1.1 ({why})", hint)
            return reads
        if tag == FLOAT:
            if not _PLAIN_FLOAT.match(value):
                if value.lower().lstrip("+-") in (".nan", ".inf"):
                    self.error(node, "yaml.non-finite", f"{value!r} is not a finite number",
                               "weights and thresholds must be finite; write the bound you mean")
                    return None
                reads = yaml.safe_load(value)
                self.error(node, "yaml.yaml11-number", f"{value!r} is read as {reads} by YAML 1.1",
                           f"write {reads}")
                return reads
            number = float(value)
            if not math.isfinite(number):
                self.error(node, "yaml.non-finite", f"{value!r} overflows to infinity", "write a finite number")
                return None
            if not -MAX_MAGNITUDE <= number <= MAX_MAGNITUDE:
                self.too_large(node, value)
                return None
            return number
        self.tag_error(node)  # pragma: no cover - unreachable: other tags are caught above
        return None


def _decimal(text: str) -> str:
    """``text`` in plain positional notation (``1e-3`` -> ``0.001``), or "" when it is not finite as a float."""
    number = float(text)
    if not math.isfinite(number):
        return ""
    exact = Decimal(text).normalize()
    if abs(exact.adjusted()) > 30:  # positional notation would be a wall of zeros: YAML 1.1's own float syntax
        mantissa, _, exponent = repr(number).partition("e")
        if not exponent:
            return mantissa
        return f"{mantissa if '.' in mantissa else mantissa + '.0'}e{exponent}"
    rendered = format(exact, "f")
    return rendered if "." in rendered else rendered + ".0"


def _position_of(offset: int, raw: bytes) -> tuple[int, int]:
    before = raw[:offset]
    line = before.count(b"\n") + 1
    col = offset - (before.rfind(b"\n") + 1) + 1
    return line, col


def load_bytes(
    raw: bytes, path: str, *, max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH
) -> tuple[Document | None, list[Finding]]:
    """Parse ``raw`` into a Document, or return None with the findings that explain why not.

    Findings that do not stop construction (a YAML 1.1 boolean, say) come back beside the document.
    """

    def fail(line: int, col: int, rule: str, message: str, hint: str = "") -> tuple[None, list[Finding]]:
        return None, [Finding(path, line, col, Severity.ERROR, rule, message, hint)]

    if len(raw) > max_bytes:
        return fail(1, 1, "yaml.too-large", f"the file is {len(raw):,} bytes, over the limit of {max_bytes:,}",
                    "split the model, or raise limits.max_file_bytes in config/weights.yaml if this is deliberate")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _position_of(exc.start, raw)
        return fail(line, col, "yaml.encoding", f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                    "save the file as UTF-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        if "expected a single document" in str(exc):
            return fail(line, col, "yaml.multi-document", "the file holds more than one YAML document",
                        "keep one model per file; remove the second '---' and what follows, or move it to its own file")
        problem = exc.problem or str(exc)
        if exc.context:
            problem = f"{problem} ({exc.context})"
        return fail(line, col, "yaml.syntax", f"YAML syntax error: {problem}", "check the indentation and quoting here")
    except yaml.YAMLError as exc:
        position = getattr(exc, "position", None)
        line, col = _position_of(len(text[:position].encode("utf-8")), raw) if position is not None else (1, 1)
        return fail(line, col, "yaml.syntax", f"YAML error: {exc}", "remove control characters from the file")
    finally:
        loader.dispose()
    if node is None or (isinstance(node, ScalarNode) and node.tag == NULL and node.value in ("", "~", "null")):
        return fail(1, 1, "yaml.empty", "the file holds no YAML document", "write the model, or delete the file")
    builder = _Builder(path, text, max_depth)
    # Building allocates one container per node and nothing cyclic; letting the collector scan the growing
    # heap meanwhile doubled the load time (measured by bench/bench_validate.py).
    collecting = gc.isenabled()
    gc.disable()
    try:
        data = builder.build(node, (), 0)
    except _Abort:
        return None, builder.findings
    finally:
        if collecting:
            gc.enable()
    return Document(path, data, builder.values, builder.keys), builder.findings
