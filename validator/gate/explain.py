"""``weights explain``: a model's static analysis as a reviewer reads it.

A diff shows which numbers changed; a reviewer needs what they can do. Per term (feature, boost) this shows
the smallest and largest contribution over every request the app's contract allows, what moves it (the
input, its range, the bins, levels or transform) and a bar on one shared axis, so the term that can outweigh
the rest is the long bar. Then the reachable score and the outcomes no request reaches. The analysis itself
is each kind's ``analysis`` room; this module only finds the model and renders it (text with rich,
markdown, html), and gives ``weights check`` the same view before and after a change.
"""
from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import IO, Any

from validator.gate.validate import ValidationResult
from validator.kinds import KINDS
from validator.kinds.intervals import Analysis, Contribution, Interval, show, show_interval

FORMATS = ("text", "markdown", "html")
CHART_WIDTH = 40


class ExplainError(Exception):
    """The model cannot be explained (unknown name, fails the gate, a kind without an analysis)."""


def explain(result: ValidationResult, name: str) -> Analysis:
    """The analysis of model ``name`` from a validated tree (a model with errors is not explained: fix it first)."""
    data = result.models.get(name)
    if data is None:
        broken = [path for path, doc in result.documents.items()
                  if isinstance(doc.data, dict) and doc.data.get("name") == name]
        if broken:
            raise ExplainError(f"model {name!r} ({broken[0]}) does not pass the gate; run weights validate and fix "
                               "its errors first")
        from validator.gate.rules import did_you_mean

        known = ", ".join(sorted(result.models)) or "none"
        hint = did_you_mean(name, result.models)
        raise ExplainError(f"no model {name!r}; {hint + ' ' if hint else ''}models: {known}")
    return analyse(data, result.contracts.get(data.get("contract", "")))


def analyse(data: dict[str, Any], contract: Any) -> Analysis:
    kind = KINDS[data["kind"]]
    if not kind.has_room("analysis"):
        raise ExplainError(f"kind {kind.name!r} has no static analysis")
    analysis: Analysis = kind.room("analysis").analyse(data, contract)
    return analysis


# ------------------------------------------------------------------------------------------------- the chart


def _axis(analysis: Analysis) -> tuple[float, float]:
    """One axis for every bar: the finite ends of all ranges, and 0 (where a term adds nothing)."""
    ends = [0.0]
    for term in analysis.terms:
        ends += [x for x in (term.contribution.lo, term.contribution.hi) if math.isfinite(x)]
    lo, hi = min(ends), max(ends)
    return (lo, hi) if hi > lo else (lo - 1.0, hi + 1.0)


def _column(x: float, axis: tuple[float, float], width: int) -> int:
    lo, hi = axis
    x = min(max(x, lo), hi)
    return min(width - 1, int(round((x - lo) / (hi - lo) * (width - 1))))


def bar(iv: Interval, axis: tuple[float, float], width: int = CHART_WIDTH) -> str:
    """The range as a bar of ``width`` characters: ``█`` where the term can be, ``│`` at 0, ``◀``/``▶`` for an
    end beyond the axis (unbounded)."""
    cells = ["·"] * width
    zero = _column(0.0, axis, width)
    cells[zero] = "│"
    a, b = _column(iv.lo, axis, width), _column(iv.hi, axis, width)
    for k in range(a, b + 1):
        cells[k] = "█"
    if not math.isfinite(iv.lo):
        cells[0] = "◀"
    if not math.isfinite(iv.hi):
        cells[-1] = "▶"
    return "".join(cells)


def rows(analysis: Analysis) -> list[dict[str, str]]:
    """The table every format shows, as text cells."""
    axis = _axis(analysis)
    return [{
        "term": t.name,
        "range": show_interval(t.contribution),
        "input": t.driver,
        "input range": t.input_range,
        "how": t.how + (f" (reason {t.reason})" if t.reason else ""),
        "chart": bar(t.contribution, axis),
    } for t in analysis.terms]


def _largest(analysis: Analysis) -> Contribution | None:
    return max(analysis.terms, key=lambda t: t.contribution.magnitude, default=None)


def summary(analysis: Analysis) -> list[str]:
    """The lines under the table: the reachable score, outcomes out of reach, the notes of the kind."""
    lines: list[str] = []
    if analysis.additive:
        lines.append(f"{analysis.scale}: {show(analysis.base)} before any term; all terms together "
                     f"{show_interval(analysis.linear)}")
        if analysis.score_label != analysis.scale or analysis.score != analysis.linear:
            lines.append(f"{analysis.score_label}: {show_interval(analysis.score)}")
    largest = _largest(analysis) if analysis.additive else None
    if largest is not None:
        lines.append(f"largest single term: {largest.name} (up to {show(largest.contribution.magnitude)})")
    reached = [o.label for o in analysis.outcomes if o.reachable]
    if analysis.outcomes:
        lines.append(f"reachable: {', '.join(reached) if reached else 'none'}")
    lines += [f"never reached: {o.label}: {o.why}" for o in analysis.outcomes if not o.reachable]
    lines += list(analysis.notes)
    return lines


_COLUMNS = ("term", "range", "input", "input range", "how")


def render_text(analysis: Analysis, out: IO[str]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    # A pipe or a file gets a width that fits the chart beside the table (rich would assume 80 columns).
    tty = bool(getattr(out, "isatty", None) and out.isatty())
    console = Console(file=out, highlight=False, soft_wrap=True, width=None if tty else 180)
    table = Table(title=f"{analysis.model} ({analysis.kind}): contribution to {analysis.scale} over the contract's "
                        "ranges", title_justify="left")
    for column in (*_COLUMNS, "chart"):
        table.add_column(column, overflow="fold", no_wrap=column in ("chart", "range"))
    for row in rows(analysis):
        table.add_row(*(escape(row[c]) for c in (*_COLUMNS, "chart")))
    console.print(table)
    for line in summary(analysis):
        console.print(escape(line))


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(analysis: Analysis, heading: str = "###") -> str:
    lines = [f"{heading} `{analysis.model}` ({analysis.kind}): contribution to {analysis.scale}", "",
             "| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    table = rows(analysis)
    for row in table:
        lines.append("| " + " | ".join(_md_cell(row[c]) for c in _COLUMNS) + " |")
    lines += ["", "~~~text"]  # tildes: the report can sit inside a ``` block (docs, a PR comment quoting it)
    width = max((len(r["term"]) for r in table), default=0)
    lines += [f"{r['term']:<{width}}  {r['chart']}  {r['range']}" for r in table]
    lines += ["~~~", ""]
    lines += [f"- {_md_cell(line)}" for line in summary(analysis)]
    return "\n".join(lines) + "\n"


def _html_bar(iv: Interval, axis: tuple[float, float]) -> str:
    lo, hi = axis
    span = hi - lo

    def pct(x: float) -> float:
        return (min(max(x, lo), hi) - lo) / span * 100

    left, right, zero = pct(iv.lo), pct(iv.hi), pct(0.0)
    return (f'<div class="bar"><span class="zero" style="left:{zero:.1f}%"></span>'
            f'<span class="range" style="left:{left:.1f}%;width:{max(right - left, 0.5):.1f}%"></span></div>')


def render_html(analysis: Analysis, standalone: bool = True) -> str:
    axis = _axis(analysis)
    esc = html.escape
    body = [f"<h3><code>{esc(analysis.model)}</code> ({esc(analysis.kind)}): contribution to {esc(analysis.scale)}</h3>",
            "<table class=\"explain\"><thead><tr>" + "".join(f"<th>{esc(c)}</th>" for c in (*_COLUMNS, "chart"))
            + "</tr></thead><tbody>"]
    for term, row in zip(analysis.terms, rows(analysis), strict=True):
        cells = "".join(f"<td>{esc(row[c])}</td>" for c in _COLUMNS)
        body.append(f"<tr>{cells}<td>{_html_bar(term.contribution, axis)}</td></tr>")
    body.append("</tbody></table><ul>" + "".join(f"<li>{esc(line)}</li>" for line in summary(analysis)) + "</ul>")
    fragment = "\n".join(body)
    if not standalone:
        return fragment
    style = (".bar{position:relative;width:240px;height:12px;background:#eee}"
             ".bar .range{position:absolute;top:0;height:12px;background:#3b6fb6}"
             ".bar .zero{position:absolute;top:-2px;width:1px;height:16px;background:#000}"
             "table.explain{border-collapse:collapse}table.explain td,table.explain th"
             "{border:1px solid #ccc;padding:2px 6px;font:13px sans-serif}")
    return (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>explain {esc(analysis.model)}</title>"
            f"<style>{style}</style></head><body>\n{fragment}\n</body></html>\n")


def render(analysis: Analysis, fmt: str, out: IO[str]) -> None:
    if fmt == "text":
        render_text(analysis, out)
    elif fmt == "markdown":
        out.write(render_markdown(analysis))
    else:
        out.write(render_html(analysis))


def before_after_lines(before: Analysis | None, after: Analysis | None) -> list[str]:
    """One model's analysis before and after a change, term by term (None: the model is new, or gone, or
    fails the gate on that side)."""
    lines = ["| term | before | after |", "|---|---|---|"]
    old = {t.name: t.contribution for t in before.terms} if before else {}
    new = {t.name: t.contribution for t in after.terms} if after else {}
    for term in [*new, *(t for t in old if t not in new)]:
        a = show_interval(old[term]) if term in old else "—"
        b = show_interval(new[term]) if term in new else "—"
        mark = " **changed**" if a != b else ""
        lines.append(f"| {_md_cell(term)} | {a} | {b}{mark} |")
    either = after or before
    if either is not None and either.additive:
        a = show_interval(before.score) if before else "—"
        b = show_interval(after.score) if after else "—"
        lines.append(f"| **{_md_cell(either.score_label)}** | {a} | {b}{' **changed**' if a != b else ''} |")
    gone = {o.label for o in before.outcomes if o.reachable} if before else set()
    lost = [o for o in after.outcomes if not o.reachable and (o.label in gone or before is None)] if after else []
    lines.append("")
    lines += [f"- never reached after the change: {_md_cell(o.label)}: {_md_cell(o.why)}" for o in lost]
    return lines + ([""] if lost else [])


def side(validation: ValidationResult, name: str) -> Analysis | None:
    """The analysis of ``name`` on one side of a check (None when the model is absent or fails the gate)."""
    data = validation.models.get(name)
    if data is None:
        return None
    try:
        return analyse(data, validation.contracts.get(data.get("contract", "")))
    except ExplainError:
        return None


def check_lines(result: Any, name: str) -> list[str]:
    """For the ``weights check`` report (``result`` a ``CheckResult``): what the changed model can do, before and
    after, as Markdown lines; empty when neither side can be analysed."""
    before, after = side(result.base.validation, name), side(result.head.validation, name)
    if before is None and after is None:
        return []
    scale = (after or before).scale  # type: ignore[union-attr]
    return [f"**What it can do** — contribution to {scale} over the contract's ranges "
            "(`weights explain` shows what moves each term)", "", *before_after_lines(before, after)]


def before_after_markdown(pairs: Sequence[tuple[str, Analysis | None, Analysis | None]]) -> str:
    """Several models' before/after tables under one heading (``pairs``: model, base analysis, head analysis)."""
    if not pairs:
        return ""
    lines = ["### What each changed model can do (static analysis over the contract's ranges)", ""]
    for name, before, after in pairs:
        lines += [f"#### `{name}`", "", *before_after_lines(before, after)]
    return "\n".join(lines) + "\n"


def check_html(result: Any, name: str) -> str:
    """The before/after of ``check_lines`` as an HTML fragment for ``report.html`` (a table, no inline style)."""
    before, after = side(result.base.validation, name), side(result.head.validation, name)
    if before is None and after is None:
        return ""
    esc = html.escape
    old = {t.name: t.contribution for t in before.terms} if before else {}
    new = {t.name: t.contribution for t in after.terms} if after else {}
    rows = []
    for term in [*new, *(t for t in old if t not in new)]:
        a = show_interval(old[term]) if term in old else "—"
        b = show_interval(new[term]) if term in new else "—"
        cls = ' class="warn"' if a != b else ""
        rows.append(f"<tr><td>{esc(term)}</td><td>{esc(a)}</td><td{cls}>{esc(b)}</td></tr>")
    scale = (after or before).scale  # type: ignore[union-attr]
    lost = [o for o in after.outcomes if not o.reachable] if after else []
    tail = "".join(f"<li>never reached: {esc(o.label)}: {esc(o.why)}</li>" for o in lost)
    return (f"<h3>What it can do</h3><p class=\"meta\">contribution to {esc(scale)} over the contract's ranges "
            "(<code>weights explain</code> shows what moves each term)</p>"
            "<table><tr><th>term</th><th>before</th><th>after</th></tr>" + "".join(rows) + "</table>"
            + (f"<ul>{tail}</ul>" if tail else ""))
