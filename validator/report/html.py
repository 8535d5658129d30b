"""The offline HTML report: one self-contained file with every model's changes, impact and distributions.

A reviewer opens it from the workflow's artifacts, on a plane or behind a proxy: styles are inline, charts
are inline SVG, there is no script and no external URL, so it renders the same anywhere (and a content
security policy in the page forbids loading anything, which also makes that property testable).
"""
from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from validator.gate.diff import DocumentDiff, render_value
from validator.report import counts, guardrail_status, metric_rows, model_verdict, verdict_line
from validator.report.charts import svg_bars
from validator.report.governance import html_sections as governance_sections

if TYPE_CHECKING:  # pragma: no cover
    from validator.gate.check import CheckResult, ModelCheck

_STYLE = """
body{font:14px/1.45 -apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;max-width:72rem;color:#1f2937;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #e5e7eb;padding-bottom:.3rem}
.pass{color:#15803d}.fail{color:#b91c1c}.warn{color:#b45309}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #e5e7eb;padding:.25rem .6rem;text-align:left;vertical-align:top}
th{background:#f9fafb}code{background:#f3f4f6;padding:0 .25rem;border-radius:3px}
.charts{display:flex;flex-wrap:wrap;gap:1rem}.meta{color:#6b7280}
details{margin:.5rem 0}
"""


def _changes(entry: DocumentDiff) -> str:
    if entry.status in ("added", "removed"):
        return f"<p><code>{escape(entry.path)}</code> {entry.status}.</p>"
    if not entry.changes:
        return "<p>No semantic change (comments or formatting only).</p>"
    rows = "".join(
        f"<tr><td><code>{escape(c.label or '(document)')}</code></td><td>{c.line or ''}</td><td>{c.op}</td>"
        f"<td>{escape(render_value(c.old, 120)) if c.op != 'added' else ''}</td>"
        f"<td>{escape(render_value(c.new, 120)) if c.op != 'removed' else ''}</td>"
        f"<td>{f'{c.relative:+.1%}' if c.relative is not None else ''}</td></tr>"
        for c in entry.changes
    )
    return ("<table><tr><th>key</th><th>line</th><th>change</th><th>base</th><th>head</th><th>relative</th></tr>"
            f"{rows}</table>")


def _model(result: "CheckResult", model: "ModelCheck") -> str:
    cls = "pass" if model.passed else "fail"
    parts = [f'<h2 id="{escape(model.name)}"><span class="{cls}">{"✔" if model.passed else "✘"}</span> '
             f"{escape(model.name)} <span class=\"meta\">({escape(model.kind or '?')}, {model.status}) — "
             f"{escape(model_verdict(model))}</span></h2>"]
    if model.diff is not None:
        parts.append("<h3>What changed</h3>" + _changes(model.diff))
        if model.diff.changes:  # the static analysis before/after (validator.gate.explain)
            from validator.gate.explain import check_html

            parts.append(check_html(result, model.name))
    if model.problem is not None:
        parts.append(f'<p class="fail">{escape(model.problem.render())}</p>')
    impact = model.impact
    if impact is not None:
        parts.append(f"<h3>Impact</h3><p class=\"meta\">replayed {impact.rows:,} rows of "
                     f"<code>{escape(impact.dataset)}</code></p>")
        if impact.summary:
            parts.append("<ul>" + "".join(f"<li>{escape(s)}</li>" for s in impact.summary) + "</ul>")
        if impact.guardrails:
            rows = "".join(
                f"<tr><td>{escape(g.name)}</td><td>{escape(g.message)}</td><td class=\"{'pass' if not g.breached else ('warn' if g.accepted else 'fail')}\">"
                f"{escape(guardrail_status(g))}</td></tr>"
                for g in impact.guardrails
            )
            parts.append("<table><tr><th>guardrail</th><th>measured</th><th>result</th></tr>"
                         f"{rows}</table>")
        charts = [svg_bars(d, d.label, result.base.label, result.head.label) for d in impact.distributions]
        if charts:
            parts.append('<div class="charts">' + "".join(f"<figure>{c}</figure>" for c in charts) + "</div>")
        if impact.metrics:
            rows = "".join(f"<tr><td>{escape(r.name)}</td><td>{escape(r.base)}</td><td>{escape(r.head)}</td>"
                           f"<td>{escape(r.change)}</td></tr>" for r in metric_rows(impact.metrics))
            parts.append("<details><summary>All metrics</summary><table><tr><th>metric</th><th>base</th>"
                         f"<th>head</th><th>change</th></tr>{rows}</table></details>")
    return "\n".join(parts)


def render_check_html(result: "CheckResult") -> str:
    from validator.gate.check import selected_models

    c = counts(result)
    verdict_cls = "pass" if result.passed else "fail"
    findings = "".join(
        f"<li class=\"{'fail' if f.severity.value == 'error' else 'warn'}\"><code>{escape(f.path)}:{f.line}:{f.col}</code> "
        f"<b>{escape(f.rule)}</b>: {escape(f.message)}" + (f" <span class=\"meta\">({escape(f.hint)})</span>" if f.hint else "")
        + "</li>"
        for f in result.findings
    )
    models = selected_models(result)
    contracts = "".join(f"<h2>Contract {escape(d.name)} <span class=\"meta\">({d.status})</span></h2>{_changes(d)}"
                        for d in result.diff.contracts if d.status != "unchanged")
    body = [
        f'<h1 class="{verdict_cls}">weights check {escape(verdict_line(result))}</h1>',
        f"<p class=\"meta\">base <code>{escape(result.base.label)}</code> → head <code>{escape(result.head.label)}</code> · "
        f"{c['models_changed']} of {c['models']} models changed, {c['models_replayed']} replayed · golden cases "
        f"{c['golden_passed']} passed, {c['golden_failed']} failed · {c['errors']} error(s), {c['warnings']} warning(s)</p>",
        f"<h2>Findings</h2><ul>{findings}</ul>" if findings else "",
        governance_sections(result),
        "<p>Models: " + ", ".join(f'<a href="#{escape(m.name)}">{escape(m.name)}</a>' for m in models) + "</p>"
        if models else "<p>No model changed.</p>",
        *(_model(result, m) for m in models),
        contracts,
    ]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>weights check: {escape(verdict_line(result))}</title><style>{_STYLE}</style></head><body>\n"
        + "\n".join(part for part in body if part)
        + "\n</body></html>\n"
    )

