"""Semantic rules as data: a stable id, a severity, a docstring that is the documentation, one check().

After yamllint's rules/*.py. A check receives the schema-valid document and yields ``Problem``s that name a
JSON path; the engine turns them into positioned ``Finding``s. The docstring's first paragraph is the
summary; the ``Bad:`` and ``Good:`` blocks are YAML shown in the README's rule reference.
"""
from __future__ import annotations

import inspect
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping

from validator.gate.findings import Severity
from validator.kinds.contract import Contract

Path = tuple  # a JSON path into the document: ("terms", 2, "weight")


@dataclass(frozen=True)
class Problem:
    """One thing wrong at ``path``; ``at_key`` points at the key instead of its value."""

    path: Path
    message: str
    hint: str = ""
    at_key: bool = False


@dataclass(frozen=True)
class RuleContext:
    """Everything a rule may look at: the document, its contract and the repository around it."""

    data: Mapping[str, Any]
    file_stem: str
    contract: Contract | None
    contract_names: frozenset[str] = frozenset()
    kind: Any = None  # validator.kinds.base.Kind
    extra: Mapping[str, Any] = field(default_factory=dict)


Check = Callable[[RuleContext], Iterable[Problem]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    kinds: frozenset[str] | None  # None: every model kind (not contracts)
    check: Check

    @property
    def doc(self) -> str:
        return inspect.getdoc(self.check) or ""

    @property
    def summary(self) -> str:
        return self.doc.split("\n\n", 1)[0].replace("\n", " ")

    def examples(self) -> dict[str, str]:
        """The ``Bad:`` and ``Good:`` YAML blocks of the docstring, dedented."""
        out: dict[str, str] = {}
        current: str | None = None
        lines: list[str] = []
        for line in self.doc.splitlines() + ["End:"]:
            head = line.strip()
            if head in ("Bad:", "Good:", "End:") and not line.startswith(" "):
                if current:
                    # dedent, not cleandoc: cleandoc strips the first line's indent apart from the rest
                    out[current] = textwrap.dedent("\n".join(lines)).strip("\n")
                current = head[:-1].lower() if head != "End:" else None
                lines = []
            elif current:
                lines.append(line)
        return out

    def applies_to(self, kind: str) -> bool:
        """``kinds=None`` means every model kind; contract documents run only rules that name "contract"."""
        if self.kinds is None:
            return kind != "contract"
        return kind in self.kinds

    def run(self, ctx: RuleContext) -> Iterator[Problem]:
        yield from self.check(ctx)


def rule(
    rule_id: str, severity: Severity = Severity.ERROR, kinds: Iterable[str] | None = None
) -> Callable[[Check], Rule]:
    """Declare a rule; the module lists it in its ``RULES`` tuple (one explicit registry, no import magic)."""

    def wrap(check: Check) -> Rule:
        return Rule(rule_id, severity, frozenset(kinds) if kinds is not None else None, check)

    return wrap


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """A "did you mean" hint for a near miss, or an empty string.

    A word or suggestion with a non-ASCII character is shown escaped with the characters' Unicode names
    (``validator.gate.unicode_ids.show``): "did you mean 'premium'?" next to a Cyrillic ``premіum`` would
    otherwise read as two identical words. A word that differs from an option only by look-alike letters is
    matched to it however many letters differ, and the hint says so.
    """
    import difflib

    from validator.gate.unicode_ids import near_miss_note, show

    options = [str(option) for option in options]
    lookalike = near_miss_note(word, options)
    if lookalike is not None:
        option, note = lookalike
        return f"did you mean {show(option)}? {note}"
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not match:
        return ""
    if word.isascii():
        return f"did you mean {show(match[0])}?"
    return f"did you mean {show(match[0])}? (the text here is {show(word)})"

