"""Findings are values: every problem the gate sees, positioned in a file.

Reporters, exit codes and tests all work on the same immutable records, so a syntax error, a schema
violation and a semantic rule look alike to everything downstream (after yamllint's LintProblem).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Iterable


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.value


@dataclass(frozen=True, order=True)
class Finding:
    """One problem at ``path:line:col`` (1-based, as editors and GitHub annotations count)."""

    path: str
    line: int
    col: int
    severity: Severity
    rule: str
    message: str
    hint: str = ""
    end_line: int | None = None
    end_col: int | None = None

    def render(self) -> str:
        text = f"{self.path}:{self.line}:{self.col}: {self.severity.value} {self.rule}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "severity": self.severity.value,
            "rule": self.rule,
            "message": self.message,
            "hint": self.hint,
            "range": {
                "start": {"line": self.line, "column": self.col},
                "end": {"line": self.end_line or self.line, "column": self.end_col or self.col},
            },
        }


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.path, f.line, f.col, f.rule, f.message))


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)
