"""Repository settings (``config/weights.yaml``): where things live and the limits the gate enforces.

Every limit has its default here with the reason for it, so a repository file only states what it changes.
The file goes through the same gate as a model (safe YAML, a JSON Schema, rules), so a misspelt key or an
absurd limit is a positioned finding rather than a setting silently ignored: ``weights validate`` reports
it, and every other command that needs the settings refuses to start with the same message.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from validator.gate.findings import Finding, has_errors, sort_findings
from validator.gate.yamlload import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, Document, load_bytes

SETTINGS_FILE = "config/weights.yaml"
# Folder and limit keys this module turns into fields; the rest (publish, golden_dir) stay in Settings.raw for
# the parts that own them.
_FIELDS = ("weights_dir", "contracts_dir", "schemas_dir", "limits")


class SettingsError(Exception):
    """The repository settings file is unreadable or wrong: an environment error (exit 2), not a finding.

    ``findings`` holds the positioned problems, so ``weights validate`` can report them as findings instead.
    """

    def __init__(self, message: str, findings: list[Finding] | None = None) -> None:
        super().__init__(message)
        self.findings = list(findings or [])


@dataclass(frozen=True)
class Limits:
    # A model is a page of numbers; a file of megabytes is a mistake (or an attack on the gate).
    max_file_bytes: int = DEFAULT_MAX_BYTES
    # No kind nests deeper than a handful of levels; a deep document only costs recursion.
    max_depth: int = DEFAULT_MAX_DEPTH


@dataclass(frozen=True)
class Settings:
    weights_dir: str = "weights"
    contracts_dir: str = "config/contracts"
    schemas_dir: str = "config/schemas"
    limits: Limits = field(default_factory=Limits)
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Settings:
        """Settings from a mapping that passed the settings schema (``check_settings`` makes sure of it)."""
        limits = data.get("limits") or {}
        return cls(
            weights_dir=str(data.get("weights_dir", cls.weights_dir)),
            contracts_dir=str(data.get("contracts_dir", cls.contracts_dir)),
            schemas_dir=str(data.get("schemas_dir", cls.schemas_dir)),
            limits=Limits(
                max_file_bytes=int(limits.get("max_file_bytes", DEFAULT_MAX_BYTES)),
                max_depth=int(limits.get("max_depth", DEFAULT_MAX_DEPTH)),
            ),
            raw={k: v for k, v in data.items() if k not in _FIELDS},
        )


@dataclass(frozen=True)
class SettingsCheck:
    """The settings file through the gate: the settings, or None when it has errors, and every finding."""

    settings: Settings | None
    findings: list[Finding]
    present: bool  # the repository has a settings file (else the defaults apply and nothing was checked)


def check_settings(raw: bytes | None) -> SettingsCheck:
    """Load the bytes of ``config/weights.yaml`` (None: the file is absent) through YAML, schema and rules."""
    if raw is None:
        return SettingsCheck(Settings(), [], present=False)
    document, findings = load_bytes(raw, SETTINGS_FILE)
    if document is None or has_errors(findings):
        return SettingsCheck(None, sort_findings(findings), present=True)
    findings = [*findings, *_schema_and_rules(document)]
    if has_errors(findings):
        return SettingsCheck(None, sort_findings(findings), present=True)
    return SettingsCheck(Settings.from_dict(document.data), sort_findings(findings), present=True)


def _schema_and_rules(document: Document) -> list[Finding]:
    # Imported here: the schema check pulls in jsonschema, and this module is imported by anything that
    # merely needs SETTINGS_FILE.
    from validator.gate import schema_check
    from validator.gate.rules import RuleContext
    from validator.gate.settings_rules import RULES
    from validator.gate.settings_schema import SETTINGS_SCHEMA

    problems = schema_check.check(document, SETTINGS_SCHEMA, name_keys=True)
    if problems:  # rules assume the shape the schema promises
        return problems
    ctx = RuleContext(data=document.data, file_stem=Path(SETTINGS_FILE).stem, contract=None)
    out = []
    for settings_rule in RULES:
        for problem in settings_rule.run(ctx):
            span = document.span(problem.path, at_key=problem.at_key)
            out.append(Finding(document.path, span.line, span.col, settings_rule.severity, settings_rule.id,
                               problem.message, problem.hint, span.end_line, span.end_col))
    return out


def load_settings(raw: bytes | None) -> Settings:
    """Settings from the bytes of ``config/weights.yaml`` (None: the file is absent, use defaults).

    Raises SettingsError naming every error at file:line:col when the file does not pass its gate.
    """
    checked = check_settings(raw)
    if checked.settings is None:
        errors = [f for f in checked.findings if f.severity.value == "error"]
        raise SettingsError("\n".join(f.render() for f in errors), errors)
    return checked.settings


def find_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds ``config/weights.yaml`` (a weights repository)."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / SETTINGS_FILE).is_file():
            return folder
    return None
