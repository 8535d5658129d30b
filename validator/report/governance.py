"""The report's "Guardrail changes" and "Change budgets" sections: limits the change moves and parameters moved
over their budget (``validator.gate.governance``), in every format that shows a check.

A loosened limit is shown next to the change it lets through, so the reviewer (and the model-risk owners of
config/guardrails.yaml) sees both in one place.
"""
from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from validator.gate.check import CheckResult


def _show(value: float | None) -> str:
    return "off" if value is None else f"{value:g}"


def markdown_lines(result: "CheckResult") -> list[str]:
    lines: list[str] = []
    if result.guardrail_changes:
        lines += ["### Guardrail changes", "", "| where | guardrail | base | head | change |", "|---|---|---|---|---|"]
        for c in result.guardrail_changes:
            mark = "⚠️ " if "loosened" in c.direction or "switched off" in c.direction else ""
            lines.append(f"| `{c.path}:{c.line}` ({c.scope}) | `{c.guardrail}` | {_show(c.old)} | {_show(c.new)} "
                         f"| {mark}{c.direction} |")
        lines.append("")
    if result.budget_breaches:
        lines += ["### Change budgets", "", "| model | parameter | base | head | budget | result |",
                  "|---|---|---|---|---|---|"]
        for b in result.budget_breaches:
            state = f"⚠️ accepted: {b.reason}" if b.accepted else "❌ over budget"
            lines.append(f"| {b.model} | `{b.parameter}` (line {b.line}) | {b.old:g} | {b.new:g} | "
                         f"{b.budget.show()} | {state.replace('|', '/')} |")
        lines.append("")
    return lines


def text_lines(result: "CheckResult") -> list[str]:
    lines: list[str] = []
    if result.guardrail_changes:
        lines.append("guardrail changes:")
        lines += [f"  {c.path}:{c.line}: {c.describe()}" for c in result.guardrail_changes]
    if result.budget_breaches:
        lines.append("change budgets:")
        lines += [f"  {b.path}:{b.line}: {b.describe()}" + (f" (accepted: {b.reason})" if b.accepted else " BREACHED")
                  for b in result.budget_breaches]
    return lines


def html_sections(result: "CheckResult") -> str:
    """The same two tables for the offline report.html; every value from a file is escaped (a path or a reason
    written by an analyst must not become markup)."""
    parts: list[str] = []
    if result.guardrail_changes:
        rows = "".join(
            f"<tr><td><code>{escape(c.path)}:{c.line}</code> ({escape(c.scope)})</td>"
            f"<td><code>{escape(c.guardrail)}</code></td><td>{escape(_show(c.old))}</td><td>{escape(_show(c.new))}</td>"
            f"<td class=\"{'warn' if 'loosened' in c.direction or 'switched off' in c.direction else 'pass'}\">"
            f"{escape(c.direction)}</td></tr>"
            for c in result.guardrail_changes)
        parts.append("<h2>Guardrail changes</h2><table><tr><th>where</th><th>guardrail</th><th>base</th><th>head</th>"
                     f"<th>change</th></tr>{rows}</table>")
    if result.budget_breaches:
        rows = "".join(
            f"<tr><td>{escape(b.model)}</td><td><code>{escape(b.parameter)}</code> (line {b.line})</td>"
            f"<td>{b.old:g}</td><td>{b.new:g}</td><td>{escape(b.budget.show())}</td>"
            + (f"<td class=\"warn\">accepted: {escape(b.reason or '')}</td>" if b.accepted
               else "<td class=\"fail\">over budget</td>") + "</tr>"
            for b in result.budget_breaches)
        parts.append("<h2>Change budgets</h2><table><tr><th>model</th><th>parameter</th><th>base</th><th>head</th>"
                     f"<th>budget</th><th>result</th></tr>{rows}</table>")
    return "\n".join(parts)


def json_dict(result: "CheckResult") -> dict[str, Any]:
    return {
        "guardrail_changes": [
            {"path": c.path, "line": c.line, "scope": c.scope, "guardrail": c.guardrail, "base": c.old, "head": c.new,
             "change": c.direction} for c in result.guardrail_changes],
        "budget_breaches": [
            {"model": b.model, "path": b.path, "line": b.line, "parameter": b.parameter, "base": b.old,
             "head": b.new, "relative_budget": b.budget.relative, "absolute_budget": b.budget.absolute,
             "accepted": b.accepted, "reason": b.reason} for b in result.budget_breaches],
    }


__all__ = ["html_sections", "json_dict", "markdown_lines", "text_lines"]
