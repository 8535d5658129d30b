"""The report renderers on fixed impacts (injected in place of the replay, so numbers are exact): the
Markdown comment (marker, verdict first, charts, the 65,000-character budget), GitHub annotations (10 per
severity and a notice), the JSON envelope and the offline HTML."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from conftest import git

from validator.gate.check import run_check
from validator.gate.findings import Finding, Severity
from validator.gate.replay import Distribution, GuardrailResult, Impact
from validator.report import MARKER, fmt_number, metric_rows, render_check
from validator.report.charts import mermaid_xychart, svg_bars
from validator.report.github import annotations, write_step_summary
from validator.report.html import render_check_html
from validator.report.markdown import render_check_markdown

DECISIONS = Distribution("decision share", None, ("approve", "review", "decline"), (0.948, 0.048, 0.004),
                         (0.925, 0.061, 0.014))
SCORES = Distribution("score", tuple(i / 10 for i in range(11)), None, (0.5, 0.2, 0.1, 0.05, 0.05, 0.04, 0.03, 0.01, 0.01, 0.01),
                      (0.45, 0.2, 0.12, 0.06, 0.05, 0.04, 0.03, 0.02, 0.02, 0.01))


def fake_impact(breached: bool, accepted: bool = False, summary_lines: int = 3):
    def simulate_model(root, name, base, head, base_contract, head_contract, *, seed=0, batch_rows=65536):
        flip = GuardrailResult("max_decision_flip_rate", 0.02, 0.027 if breached else 0.004, breached,
                               accepted and breached, "capacity doubled (FRAUD-412)" if accepted else None,
                               f"decision flip rate {'2.7' if breached else '0.4'}% (max 2%)")
        psi = GuardrailResult("max_psi", 0.1, 0.03, False, False, None, "score PSI 0.0300 (max 0.1000)")
        summary = ["decline share 0.4% -> 1.4% (+1.0 pts)", "2.7% of orders change decision"]
        summary += [f"detail line {i}" for i in range(summary_lines - 2)]
        return Impact(name, head["kind"], "tests/data/fraud_orders.parquet", 40000, "changed",
                      {"decision_share.decline.base": 0.004, "decision_share.decline.head": 0.014,
                       "decision_flip_rate": 0.027, "psi": 0.03, "auc.base": 0.91, "auc.head": float("nan")},
                      summary, [DECISIONS, SCORES], [flip, psi])
    return simulate_model


@pytest.fixture
def changed_repo(git_repo: Path) -> Path:
    path = git_repo / "weights" / "fraud_risk.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("intercept: -3.2", "intercept: -3.0"), encoding="utf-8")
    return git_repo


def test_markdown_comment_starts_with_marker_and_verdict(changed_repo: Path):
    result = run_check(changed_repo, "main", simulate_model=fake_impact(breached=True))
    text = render_check_markdown(result)
    lines = text.splitlines()
    assert lines[0] == MARKER == "<!-- weights-check -->"
    assert lines[1] == "## ❌ weights check failed: guardrails"
    assert "| fraud_risk | changed | 40,000 | 1 pass, 1 breached | ❌ guardrail breached |" in text
    assert "| `intercept` (line" in text and "| -3.2 | -3.0 | +6.3% |" in text
    assert "- decline share 0.4% -> 1.4% (+1.0 pts)" in text
    assert "| `max_decision_flip_rate` | decision flip rate 2.7% (max 2%) | ❌ BREACHED |" in text
    assert text.count("```mermaid\nxychart-beta") == 2
    assert 'x-axis ["approve", "review", "decline"]' in text and "bar [94.8, 4.8, 0.4]" in text
    assert "line [92.5, 6.1, 1.4]" in text
    assert result.exit_code == 1


def test_accepted_breach_passes_and_shows_the_reason(changed_repo: Path):
    result = run_check(changed_repo, "main", simulate_model=fake_impact(breached=True, accepted=True))
    assert result.exit_code == 0 and result.passed
    text = render_check_markdown(result)
    assert text.splitlines()[1] == "## ✅ weights check passed: every gate holds"
    assert "⚠️ accepted: capacity doubled (FRAUD-412)" in text
    (warning,) = [f for f in result.findings if f.rule == "guardrail.max_decision_flip_rate"]
    assert warning.severity is Severity.WARNING


def test_markdown_drops_detail_first_to_fit_the_limit(changed_repo: Path):
    result = run_check(changed_repo, "main", replay_all=True, simulate_model=fake_impact(True, summary_lines=400))
    full = render_check_markdown(result, limit=10**7)
    assert "xychart-beta" in full and "All metrics" in full
    medium = render_check_markdown(result, limit=len(full) - 1)
    assert len(medium) < len(full) and "xychart-beta" not in medium and "All metrics" in medium
    assert "left out to fit GitHub's comment size" in medium
    small = render_check_markdown(result, limit=3000)
    assert len(small) <= 3000
    assert small.startswith(MARKER + "\n## ❌ weights check failed: guardrails")
    assert "| fraud_risk |" in small  # the verdict table survives
    tiny = render_check_markdown(result, limit=600)
    assert len(tiny) <= 600 and tiny.startswith(MARKER) and tiny.endswith("_…cut to fit GitHub's comment size._\n")


def test_default_limit_is_under_65000(changed_repo: Path):
    result = run_check(changed_repo, "main", replay_all=True, simulate_model=fake_impact(True, summary_lines=3000))
    assert len(render_check_markdown(result)) <= 65000


def _finding(i: int, severity: Severity) -> Finding:
    return Finding("weights/fraud_risk.yaml", i + 1, 1, severity, "scorecard.rule", f"problem {i}")


def test_annotations_are_capped_at_10_per_severity_with_a_notice():
    findings = [_finding(i, Severity.ERROR) for i in range(14)] + [_finding(i, Severity.WARNING) for i in range(3)]
    lines = annotations(findings, "weights check")
    assert sum(line.startswith("::error ") for line in lines) == 10
    assert sum(line.startswith("::warning ") for line in lines) == 3
    (notice,) = [line for line in lines if line.startswith("::notice ")]
    assert "4 more error(s) not shown as annotations" in notice
    assert lines[0].startswith("::error file=weights/fraud_risk.yaml,line=1,col=1")


def test_step_summary_is_appended(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    target = tmp_path / "summary.md"
    target.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    assert write_step_summary("# ours") == target
    assert target.read_text(encoding="utf-8") == "earlier step\n# ours\n"
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    assert write_step_summary("# ours") is None


def test_github_format_annotates_the_changed_line(changed_repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "s.md"))
    result = run_check(changed_repo, "main", simulate_model=fake_impact(breached=True))
    out = io.StringIO()
    render_check(result, "github", out)
    line = next(i for i, text in enumerate((changed_repo / "weights" / "fraud_risk.yaml").read_text().splitlines(), 1)
                if text.startswith("intercept:"))
    first = out.getvalue().splitlines()[0]
    assert first.startswith(f"::error file=weights/fraud_risk.yaml,line={line},col=12,")
    assert "title=guardrail.max_decision_flip_rate" in first and "BREACHED" in first
    assert (tmp_path / "s.md").read_text(encoding="utf-8").startswith(MARKER)


def test_json_envelope_is_versioned_and_nan_safe(changed_repo: Path):
    result = run_check(changed_repo, "main", simulate_model=fake_impact(breached=True))
    out = io.StringIO()
    render_check(result, "json", out)
    report = json.loads(out.getvalue())  # strict JSON: NaN became null
    assert report["format_version"] == "1.0" and report["exit_code"] == 1
    model = report["models"][0]
    assert model["impact"]["metrics"]["auc.head"] is None
    assert model["impact"]["guardrails"][0]["failed"] is True
    assert model["anchor"]["path"] == "weights/fraud_risk.yaml"
    assert report["counts"]["guardrails_breached"] == 1
    assert any(d["rule"] == "guardrail.max_decision_flip_rate" for d in report["diagnostics"])


def test_html_is_self_contained(changed_repo: Path):
    result = run_check(changed_repo, "main", simulate_model=fake_impact(breached=True))
    html = render_check_html(result)
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") == 2
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "default-src 'none'" in html  # the page itself forbids loading anything
    assert "decision flip rate 2.7% (max 2%)" in html and "BREACHED" in html


def test_text_report(changed_repo: Path):
    result = run_check(changed_repo, "main", simulate_model=fake_impact(breached=False))
    out = io.StringIO()
    render_check(result, "text", out)
    text = out.getvalue()
    assert "✓ fraud_risk (scorecard, changed): passed" in text
    assert "intercept: -3.2 -> -3.0 (+6.3%)" in text
    assert "weights check passed" in text


def test_unchanged_repository_reports_nothing_to_replay(git_repo: Path):
    git(git_repo, "status")
    result = run_check(git_repo, "main", simulate_model=fake_impact(breached=True))
    assert result.passed and result.models == []
    assert "No model changed and nothing was replayed." in render_check_markdown(result)


def test_charts_and_number_formats():
    chart = mermaid_xychart(SCORES, 'fraud_risk: "score"')
    assert '"0–0.1"' in chart and "'score'" in chart and 'y-axis "share of rows (%)" 0 --> 58' in chart
    svg = svg_bars(DECISIONS, "decision share")
    assert svg.count("<rect") == 2 + 6 and "review: 6.10%" in svg
    assert fmt_number(0.0312, percent=True) == "3.1%" and fmt_number(40000.0) == "40,000"
    rows = {r.name: r for r in metric_rows({"decision_share.decline.base": 0.004, "decision_share.decline.head": 0.014,
                                            "psi": 0.03})}
    assert (rows["decision_share.decline"].base, rows["decision_share.decline"].change) == ("0.4%", "+1.0 pts")
    assert rows["psi"].head == "0.03"
