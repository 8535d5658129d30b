"""The pull-request comment: verdict first, then per model the semantic diff, the impact and charts.

It starts with a hidden marker (``<!-- weights-check -->``) so a workflow finds its own earlier comment and
updates it instead of adding one per push. GitHub refuses bodies over 65,536 characters, so the comment is
rendered at decreasing levels of detail (charts go first, then metric tables and long change lists, then
per-model sections) until it fits; the verdict and the findings that fail the gate always stay.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from validator.gate.diff import DocumentDiff, RepoDiff, render_value
from validator.report import MARKDOWN_LIMIT, MARKER, counts, guardrail_status, metric_rows, model_verdict, verdict_line
from validator.report.charts import mermaid_xychart

if TYPE_CHECKING:  # pragma: no cover
    from validator.gate.check import CheckResult, ModelCheck
    from validator.gate.findings import Finding

ICON = {True: "✅", False: "❌"}


def _cell(text: Any) -> str:
    """Table cells cannot hold pipes or newlines."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def changes_table(entry: DocumentDiff, limit: int | None = None) -> list[str]:
    if entry.status == "added":
        return [f"New {entry.kind or 'model'} file {_code(entry.path)}."]
    if entry.status == "removed":
        return [f"{_code(entry.path)} was removed."]
    if not entry.changes:
        return ["No semantic change (comments or formatting only)." if entry.file_changed else "Unchanged."]
    lines = ["| key | base | head | change |", "|---|---|---|---|"]
    shown = entry.changes if limit is None else entry.changes[:limit]
    for change in shown:
        where = f"{_code(change.label or '(document)')}" + (f" (line {change.line})" if change.line else "")
        if change.op == "added":
            lines.append(f"| {_cell(where)} | — | {_cell(render_value(change.new))} | added |")
        elif change.op == "removed":
            lines.append(f"| {_cell(where)} | {_cell(render_value(change.old))} | — | removed |")
        elif change.op == "reordered":
            lines.append(f"| {_cell(where)} | {_cell(render_value(change.old))} | {_cell(render_value(change.new))} "
                         f"| reordered |")
        else:
            rel = change.relative
            lines.append(f"| {_cell(where)} | {_cell(render_value(change.old))} | {_cell(render_value(change.new))} "
                         f"| {f'{rel:+.1%}' if rel is not None else 'changed'} |")
    if len(shown) < len(entry.changes):
        lines.append(f"\n…and {len(entry.changes) - len(shown)} more change(s); run `weights diff` for all.")
    return lines


def _findings(findings: Sequence["Finding"], limit: int) -> list[str]:
    lines = []
    for f in findings[:limit]:
        icon = "❌" if f.severity.value == "error" else "⚠️"
        lines.append(f"- {icon} {_code(f'{f.path}:{f.line}:{f.col}')} **{f.rule}**: {_cell(f.message)}"
                     + (f" — _{_cell(f.hint)}_" if f.hint else ""))
    if len(findings) > limit:
        lines.append(f"- …and {len(findings) - limit} more; see the job log or `weights check` locally.")
    return lines


def _model_section(result: "CheckResult", model: "ModelCheck", level: int) -> list[str]:
    icon = ICON[model.passed]
    lines = [f"### {icon} {model.name}" + (f" ({model.kind})" if model.kind else "") + f" — {model_verdict(model)}", ""]
    if model.diff is not None:
        lines += ["**What changed**", ""]
        lines += changes_table(model.diff, None if level == 0 else 25)
        lines.append("")
        if model.diff.changes and level <= 1:  # the static analysis before/after (validator.gate.explain)
            from validator.gate.explain import check_lines

            lines += check_lines(result, model.name)
    if model.problem is not None:
        lines += [f"❌ {_cell(model.problem.message)}", ""]
    impact = model.impact
    if impact is None:
        return lines
    lines += [f"**Impact** — replayed {impact.rows:,} rows of {_code(impact.dataset)}", ""]
    lines += [("  - " if s.startswith(" ") else "- ") + _cell(s.strip()) for s in impact.summary]
    lines.append("")
    if impact.guardrails:
        lines += ["| guardrail | measured | result |", "|---|---|---|"]
        for g in impact.guardrails:
            mark = "✅" if not g.breached else ("⚠️" if g.accepted else "❌")
            lines.append(f"| {_code(g.name)} | {_cell(g.message)} | {mark} {_cell(guardrail_status(g))} |")
        lines.append("")
    if level <= 1 and impact.metrics:
        lines += ["<details><summary>All metrics</summary>", "", "| metric | base | head | change |",
                  "|---|---|---|---|"]
        lines += [f"| {_cell(r.name)} | {_cell(r.base)} | {_cell(r.head)} | {_cell(r.change)} |"
                  for r in metric_rows(impact.metrics)]
        lines += ["", "</details>", ""]
    if level == 0:
        for dist in impact.distributions:
            lines += [mermaid_xychart(dist, f"{model.name}: {dist.label}"), ""]
    return lines


def _render(result: "CheckResult", level: int) -> str:
    c = counts(result)
    lines = [MARKER, f"## {ICON[result.passed]} weights check {verdict_line(result)}", ""]
    lines.append(f"**base** {_code(result.base.label)} → **head** {_code(result.head.label)} · "
                 f"{c['models_changed']} of {c['models']} models changed, {c['models_replayed']} replayed · "
                 f"golden cases {c['golden_passed']}/{c['golden_passed'] + c['golden_failed']} passed · "
                 f"{c['validation_errors']} validation error(s) · {c['guardrails_breached']} guardrail breach(es)"
                 + (f", {c['guardrails_accepted']} accepted" if c["guardrails_accepted"] else ""))
    lines.append("")
    from validator.gate.check import selected_models

    models = selected_models(result)
    if models:
        lines += ["| model | status | rows replayed | guardrails | verdict |", "|---|---|---|---|---|"]
        for m in models:
            rows = f"{m.impact.rows:,}" if m.impact is not None else "—"
            if m.impact is not None and m.impact.guardrails:
                breached = sum(g.failed for g in m.impact.guardrails)
                accepted = sum(g.breached and g.accepted for g in m.impact.guardrails)
                guard = f"{len(m.impact.guardrails) - breached - accepted} pass" + \
                    (f", {breached} breached" if breached else "") + (f", {accepted} accepted" if accepted else "")
            else:
                guard = "—"
            lines.append(f"| {_cell(m.name)} | {m.status} | {rows} | {guard} | {ICON[m.passed]} {model_verdict(m)} |")
        lines.append("")
    else:
        lines += ["No model changed" + (" and nothing was replayed." if not result.replay_all else "."), ""]
    errors = [f for f in result.findings if f.severity.value == "error"]
    warnings = [f for f in result.findings if f.severity.value == "warning"]
    if errors or warnings:
        lines += ["### Findings", ""]
        lines += _findings(errors + warnings, 50 if level < 3 else 20)
        lines.append("")
    from validator.report.governance import markdown_lines

    lines += markdown_lines(result)
    contracts = [d for d in result.diff.contracts if d.status != "unchanged"]
    if level < 3:
        for m in models:
            lines += _model_section(result, m, level)
        for entry in contracts:
            lines += [f"### Contract {entry.name}", ""] + changes_table(entry, None if level == 0 else 25) + [""]
    else:
        lines += ["_Per-model details were left out to fit GitHub's comment size; open the HTML report or run "
                  "`weights check` locally._", ""]
    if level > 0 and level < 3:
        lines += ["_Some detail (charts" + (", metric tables, long change lists" if level > 1 else "") +
                  ") was left out to fit GitHub's comment size; the HTML report has everything._", ""]
    return "\n".join(lines)


def render_check_markdown(result: "CheckResult", limit: int = MARKDOWN_LIMIT) -> str:
    """The comment body, at the most detail that fits in ``limit`` characters."""
    for level in range(4):
        text = _render(result, level)
        if len(text) <= limit:
            return text
    note = "\n\n_…cut to fit GitHub's comment size._\n"
    return text[: limit - len(note)] + note


def render_diff_markdown(repo_diff: RepoDiff) -> str:
    lines = [f"## weights diff: {repo_diff.base_label} → {repo_diff.head_label}", ""]
    changed = repo_diff.changed()
    if not changed:
        return "\n".join(lines + ["No semantic change in any model or contract.", ""])
    for entry in changed:
        title = "Contract" if entry.is_contract else "Model"
        lines += [f"### {title} {entry.name} ({entry.status})", ""] + changes_table(entry) + [""]
    return "\n".join(lines)
