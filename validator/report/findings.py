"""Reporters turn findings into text for people, JSON for machines, or GitHub workflow commands.

Chosen by name (``--format``); ``github`` is the default inside GitHub Actions. The JSON envelope is
versioned and shaped like ``terraform validate -json`` so other tools can rely on it.
"""
from __future__ import annotations

import json
import os
from typing import IO, Sequence

from validator.gate.findings import Finding, Severity

JSON_FORMAT_VERSION = "1.0"
FORMATS = ("text", "json", "github")


def default_format() -> str:
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


def envelope(findings: Sequence[Finding], files: Sequence[str]) -> dict:
    errors = sum(f.severity is Severity.ERROR for f in findings)
    return {
        "format_version": JSON_FORMAT_VERSION,
        "valid": errors == 0,
        "files_checked": len(files),
        "error_count": errors,
        "warning_count": sum(f.severity is Severity.WARNING for f in findings),
        "diagnostics": [f.to_dict() for f in findings],
    }


def report_json(findings: Sequence[Finding], files: Sequence[str], out: IO[str]) -> None:
    json.dump(envelope(findings, files), out, indent=2, sort_keys=True)
    out.write("\n")


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_command(f: Finding) -> str:
    """One workflow command (``::error file=...::message``) that GitHub shows on the line in the diff."""
    level = "error" if f.severity is Severity.ERROR else "warning"
    props = [f"file={_escape_property(f.path)}", f"line={f.line}", f"col={f.col}"]
    if f.end_line:
        props.append(f"endLine={f.end_line}")
    if f.end_col and f.end_line == f.line:
        props.append(f"endColumn={f.end_col}")
    props.append(f"title={_escape_property(f.rule)}")
    message = f.message + (f" ({f.hint})" if f.hint else "")
    return f"::{level} {','.join(props)}::{_escape_data(message)}"


def report_github(findings: Sequence[Finding], files: Sequence[str], out: IO[str]) -> None:
    for f in findings:
        out.write(github_command(f) + "\n")
    errors = sum(x.severity is Severity.ERROR for x in findings)
    warnings = len(findings) - errors
    out.write(f"weights validate: {len(files)} files, {errors} errors, {warnings} warnings\n")


def report_text(findings: Sequence[Finding], files: Sequence[str], out: IO[str]) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console(file=out, highlight=False, soft_wrap=True)
    for f in findings:
        style = "bold red" if f.severity is Severity.ERROR else "yellow"
        line = (f"[bold]{escape(f.path)}:{f.line}:{f.col}[/bold]: [{style}]{f.severity.value}[/{style}] "
                f"[cyan]{escape(f.rule)}[/cyan]: {escape(f.message)}")
        if f.hint:
            line += f" [dim]({escape(f.hint)})[/dim]"
        console.print(line)
    errors = sum(x.severity is Severity.ERROR for x in findings)
    warnings = len(findings) - errors
    verdict = "[green]ok[/green]" if errors == 0 else "[red]failed[/red]"
    console.print(f"{verdict}: {len(files)} files checked, {errors} errors, {warnings} warnings")


REPORTERS = {"text": report_text, "json": report_json, "github": report_github}
