"""Reports of ``weights check``, ``weights test`` and ``weights diff``: one result, several readers.

The terminal (rich text), machines (a versioned JSON envelope), the pull request (a Markdown comment with
Mermaid charts), the GitHub job (annotations on the changed lines and the step summary) and a reviewer
without network (a self-contained HTML file with before/after distributions). Every renderer reads the same
``CheckResult``; none of them decides pass or fail (``CheckResult.exit_code`` does).

This module holds what the renderers share: number formatting, verdict words, the impact table rows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:  # pragma: no cover
    from validator.gate.check import CheckResult, ModelCheck

CHECK_FORMATS = ("text", "json", "markdown", "github")
JSON_FORMAT_VERSION = "1.0"
MARKER = "<!-- weights-check -->"
# GitHub refuses comment bodies over 65,536 characters; the step summary is shown in the same size class.
MARKDOWN_LIMIT = 65000
# GitHub shows at most 10 error and 10 warning annotations per step; the rest are dropped silently.
ANNOTATION_LIMIT = 10

# Metric names whose values are shares of rows (shown in percent, deltas in points).
_PERCENT_WORDS = ("share", "rate", "precision", "recall", "overlap", "probability", "prob_best", "transition")


def is_percent(metric: str) -> bool:
    return any(word in metric for word in _PERCENT_WORDS)


def fmt_number(value: Any, percent: bool = False) -> str:
    """A metric for people: 0.0312 -> "3.1%" for shares, 4 significant digits otherwise."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if percent:
        return f"{value * 100:.1f}%" if abs(value) >= 0.001 or value == 0 else f"{value * 100:.2g}%"
    if isinstance(value, int) or (value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.3g}"
    return f"{value:.4g}"


def fmt_delta(base: Any, head: Any, percent: bool) -> str:
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (base, head)):
        return ""
    delta = head - base
    if percent:
        return f"{delta * 100:+.1f} pts"
    if base:
        return f"{delta:+.4g} ({delta / abs(base):+.1%})"
    return f"{delta:+.4g}"


@dataclass(frozen=True)
class MetricRow:
    name: str
    base: Any
    head: Any
    change: str


def metric_rows(metrics: Mapping[str, float]) -> list[MetricRow]:
    """The flat metrics as table rows: ``x.base``/``x.head`` pairs side by side, single values in "head"."""
    rows: list[MetricRow] = []
    paired: dict[str, dict[str, float]] = {}
    singles: list[tuple[str, float]] = []
    for key, value in metrics.items():
        stem, _, side = key.rpartition(".")
        if side in ("base", "head") and stem:
            paired.setdefault(stem, {})[side] = value
        else:
            singles.append((key, value))
    for stem, sides in paired.items():
        pct = is_percent(stem)
        rows.append(MetricRow(stem, fmt_number(sides.get("base"), pct), fmt_number(sides.get("head"), pct),
                              fmt_delta(sides.get("base"), sides.get("head"), pct)))
    for key, value in singles:
        rows.append(MetricRow(key, "", fmt_number(value, is_percent(key)), ""))
    return rows


def guardrail_status(g: Any) -> str:
    if not g.breached:
        return "pass"
    return f"accepted: {g.reason}" if g.accepted else "BREACHED"


def verdict_line(result: "CheckResult") -> str:
    if result.passed:
        return "passed: every gate holds"
    gates = result.failed_gates
    return f"failed: {', '.join(gates)}"


def counts(result: "CheckResult") -> dict[str, int]:
    findings = result.findings
    impacts = [m.impact for m in result.models if m.impact is not None]
    return {
        "models": len(set(result.head.validation.model_paths) | set(result.base.validation.model_paths)),
        "models_changed": sum(1 for d in result.diff.models if d.status != "unchanged"),
        "models_replayed": len(impacts),
        "errors": sum(f.severity.value == "error" for f in findings),
        "warnings": sum(f.severity.value == "warning" for f in findings),
        "validation_errors": result.validation.error_count,
        "golden_passed": result.golden.passed,
        "golden_failed": result.golden.failed,
        "guardrails_breached": sum(1 for impact in impacts for g in impact.guardrails if g.failed),
        "guardrails_accepted": sum(1 for impact in impacts for g in impact.guardrails if g.breached and g.accepted),
    }


def model_verdict(model: "ModelCheck") -> str:
    if model.invalid:
        return "not replayed: the file does not validate (see the findings)"
    if model.problem is not None:
        return "replay failed"
    if model.impact is None:
        return "not replayed"
    if not model.impact.passed:
        return "guardrail breached"
    if any(g.breached for g in model.impact.guardrails):
        return "passed (accepted breach)"
    return "passed"


def unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


def render_check(result: "CheckResult", fmt: str, out: Any) -> None:
    """Write the report of ``result`` in format ``fmt`` to the text stream ``out``."""
    if fmt == "text":
        from validator.report.text import render_check_text

        render_check_text(result, out)
    elif fmt == "json":
        from validator.report.jsonfmt import render_check_json

        render_check_json(result, out)
    elif fmt == "markdown":
        from validator.report.markdown import render_check_markdown

        out.write(render_check_markdown(result))
    elif fmt == "github":
        from validator.report.github import render_check_github

        render_check_github(result, out)
    else:  # pragma: no cover - click restricts the choice
        raise ValueError(f"unknown format {fmt!r}; formats: {', '.join(CHECK_FORMATS)}")


def write_report_dir(result: "CheckResult", folder: Any) -> list[Any]:
    """report.html (self-contained), report.md and report.json into ``folder``; returns the paths written."""
    import io
    from pathlib import Path

    from validator.atomic import write_atomic
    from validator.report.html import render_check_html
    from validator.report.jsonfmt import render_check_json
    from validator.report.markdown import render_check_markdown

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    render_check_json(result, buffer)
    files = {
        "report.html": render_check_html(result),
        "report.md": render_check_markdown(result),
        "report.json": buffer.getvalue(),
    }
    written = []
    for name, text in files.items():
        path = folder / name
        write_atomic(path, text.encode("utf-8"), mode=0o644)
        written.append(path)
    return written
