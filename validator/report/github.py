"""GitHub Actions output: annotations on the changed lines, and the job summary.

GitHub shows at most 10 error and 10 warning annotations per step and drops the rest without a word, so
the most important ones go first (gate failures before warnings, in file order) and a notice says how many
were left out. The job summary (``$GITHUB_STEP_SUMMARY``, appended as GitHub expects) gets the same
Markdown as the pull-request comment.
"""
import os
from pathlib import Path
from typing import TYPE_CHECKING, Sequence, TextIO

from validator.report import ANNOTATION_LIMIT, verdict_line
from validator.report.findings import _escape_data, github_command

if TYPE_CHECKING:  # pragma: no cover
    from validator.gate.check import CheckResult
    from validator.gate.findings import Finding


def annotations(findings: Sequence["Finding"], what: str, limit: int = ANNOTATION_LIMIT) -> list[str]:
    """Workflow commands for ``findings``: at most ``limit`` errors and ``limit`` warnings, plus a notice
    per severity that overflowed."""
    lines: list[str] = []
    for severity in ("error", "warning"):
        chosen = [f for f in findings if f.severity.value == severity]
        lines.extend(github_command(f) for f in chosen[:limit])
        extra = len(chosen) - limit
        if extra > 0:
            lines.append(f"::notice title={what}::{_escape_data(f'{extra} more {severity}(s) not shown as annotations (GitHub shows {limit} per step); see the job summary or the log')}")
    return lines


def write_step_summary(markdown: str) -> Path | None:
    """Append ``markdown`` to $GITHUB_STEP_SUMMARY when set (GitHub concatenates a job's step summaries)."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(markdown if markdown.endswith("\n") else markdown + "\n")
    return path


def render_check_github(result: "CheckResult", out: TextIO) -> None:
    from validator.report.markdown import render_check_markdown

    for line in annotations(result.findings, "weights check"):
        out.write(line + "\n")
    findings = result.findings
    for finding in findings:  # the full list in the log, where annotations were capped
        out.write(finding.render() + "\n")
    for model in result.models:
        if model.impact is not None:
            for line in model.impact.summary:
                out.write(f"{model.name}: {line}\n")
    out.write(f"weights check {verdict_line(result)}\n")
    write_step_summary(render_check_markdown(result))


def render_test_github(findings: Sequence["Finding"], passed: int, failed: int, out: TextIO) -> None:
    for line in annotations(findings, "weights test"):
        out.write(line + "\n")
    out.write(f"weights test: {passed} passed, {failed} failed\n")
