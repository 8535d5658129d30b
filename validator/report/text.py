"""The terminal report (rich): verdict, findings, then per model what changed and what it does.

Honours NO_COLOR (rich does) and never wraps a ``file:line:col`` so editors and terminals can link it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

from validator.gate.diff import DocumentDiff, RepoDiff
from validator.report import counts, guardrail_status, model_verdict, verdict_line

if TYPE_CHECKING:  # pragma: no cover
    from validator.gate.check import CheckResult
    from validator.gate.findings import Finding
    from validator.gate.golden import GoldenResult


def _console(out: TextIO) -> Any:
    from rich.console import Console

    return Console(file=out, highlight=False, soft_wrap=True)


def _finding_line(f: "Finding") -> str:
    from rich.markup import escape

    style = "bold red" if f.severity.value == "error" else "yellow"
    line = (f"[bold]{escape(f.path)}:{f.line}:{f.col}[/bold]: [{style}]{f.severity.value}[/{style}] "
            f"[cyan]{escape(f.rule)}[/cyan]: {escape(f.message)}")
    return line + (f" [dim]({escape(f.hint)})[/dim]" if f.hint else "")


def _changes(console: Any, entry: DocumentDiff) -> None:
    from rich.markup import escape

    if entry.status in ("added", "removed"):
        console.print(f"  {entry.path}: {entry.status}")
        return
    if not entry.changes:
        console.print("  no semantic change (comments or formatting only)" if entry.file_changed else "  unchanged")
        return
    for change in entry.changes:
        where = f"[dim]{entry.path}:{change.line}[/dim] " if change.line else ""
        console.print(f"  {where}{escape(change.describe())}")


def render_check_text(result: "CheckResult", out: TextIO) -> None:
    from rich.markup import escape
    from rich.table import Table

    from validator.gate.check import selected_models

    console = _console(out)
    c = counts(result)
    for f in result.findings:
        console.print(_finding_line(f))
    for model in selected_models(result):
        console.print()
        mark = "[green]✓[/green]" if model.passed else "[red]✗[/red]"
        console.print(f"{mark} [bold]{escape(model.name)}[/bold] ({model.kind or '?'}, {model.status}): "
                      f"{model_verdict(model)}")
        if model.diff is not None:
            _changes(console, model.diff)
        impact = model.impact
        if impact is None:
            continue
        if impact.dataset:
            console.print(f"  replayed {impact.rows:,} rows of {escape(impact.dataset)}")
        for line in impact.summary:
            console.print(f"  • {escape(line)}")
        if impact.guardrails:
            table = Table(box=None, padding=(0, 2), show_edge=False)
            for column in ("guardrail", "measured", "result"):
                table.add_column(column)
            for g in impact.guardrails:
                status = guardrail_status(g)
                style = "green" if not g.breached else ("yellow" if g.accepted else "bold red")
                table.add_row(escape(g.name), escape(g.message), f"[{style}]{escape(status)}[/{style}]")
            console.print(table)
    from validator.report.governance import text_lines

    for line in text_lines(result):
        console.print(escape(line))
    for entry in result.diff.contracts:
        if entry.status != "unchanged":
            console.print(f"\ncontract {entry.name} ({entry.status})")
            _changes(console, entry)
    console.print()
    verdict = "[green]" if result.passed else "[red]"
    console.print(f"{verdict}weights check {verdict_line(result)}[/]  base {escape(result.base.label)} → head "
                  f"{escape(result.head.label)}; {c['models_changed']} model(s) changed, {c['models_replayed']} replayed; "
                  f"golden cases {c['golden_passed']} passed, {c['golden_failed']} failed; "
                  f"{c['errors']} error(s), {c['warnings']} warning(s)")


def render_test_text(golden: "GoldenResult", out: TextIO, verbose: bool = False) -> None:
    from rich.markup import escape

    console = _console(out)
    shown_files: set[str] = set()
    for outcome in golden.outcomes:
        case = outcome.case
        if outcome.passed and not verbose:
            continue
        if case.file not in shown_files:
            console.print(f"[bold]{escape(case.file)}[/bold]")
            shown_files.add(case.file)
        mark = "[green]✓[/green]" if outcome.passed else "[red]✗[/red]"
        console.print(f"  {mark} {escape(case.name)} [dim](line {case.line})[/dim]")
    for f in golden.findings:
        console.print(_finding_line(f))
    problems = sum(f.severity.value == "error" for f in golden.findings) - sum(len(o.failures) for o in golden.outcomes)
    verdict = "[green]ok[/green]" if golden.ok else "[red]failed[/red]"
    tail = f", {problems} case file problem(s)" if problems else ""
    console.print(f"{verdict}: {len(golden.files)} case file(s), {golden.passed} case(s) passed, "
                  f"{golden.failed} failed{tail}")


def render_diff_text(repo_diff: RepoDiff, out: TextIO) -> None:
    from rich.markup import escape

    console = _console(out)
    changed = repo_diff.changed()
    for entry in changed:
        title = "contract" if entry.is_contract else (entry.kind or "model")
        console.print(f"[bold]{escape(entry.name)}[/bold] ({title}, {entry.status})")
        _changes(console, entry)
    console.print(f"{len(changed)} file(s) changed semantically between {escape(repo_diff.base_label)} and "
                  f"{escape(repo_diff.head_label)}")

