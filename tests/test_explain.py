"""``weights explain``: the chart, the three formats, the before/after for check, and the CLI end to end."""
from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import pytest

from validator.api import validate_paths
from validator.gate.explain import ExplainError, bar, before_after_markdown, explain, render_html, render_markdown
from validator.kinds.intervals import Interval

PROJECT = Path(__file__).resolve().parents[1]
WEIGHTS = [str(PROJECT / ".venv" / "bin" / "weights")]


def test_bar_marks_the_range_zero_and_unbounded_ends() -> None:
    assert bar(Interval(0.0, 1.0), (-1.0, 1.0), width=5) == "··███"
    assert bar(Interval(-1.0, 0.0), (-1.0, 1.0), width=5) == "███··"
    assert bar(Interval(0.5, 0.5), (-1.0, 1.0), width=5) == "··│█·"
    unbounded = bar(Interval(0.0, math.inf), (-1.0, 1.0), width=5)
    assert unbounded.endswith("▶") and unbounded.startswith("··")


@pytest.fixture(scope="module")
def result():
    return validate_paths(PROJECT)


def test_markdown_table_and_chart_of_an_example(result) -> None:
    text = render_markdown(explain(result, "churn_coupon"))
    assert "| support_trouble | [0, 4.5] | support_tickets_90d | [0, 100] tickets | 0.45 × sqrt(x)" in text
    assert "~~~text" in text and "reachable: no_coupon, coupon" in text
    assert "largest single term: support_trouble (up to 4.5)" in text


def test_html_is_escaped_and_standalone(result) -> None:
    page = render_html(explain(result, "fraud_risk"))
    assert page.startswith("<!doctype html>") and "<td>country_mismatch</td>" in page
    assert "class=\"range\"" in page and "<script" not in page


def test_unknown_and_broken_models_are_explained_errors(result, tmp_path) -> None:
    with pytest.raises(ExplainError, match="no model 'nope'; models: .*fraud_risk"):
        explain(result, "nope")
    root = tmp_path / "repo"
    shutil.copytree(PROJECT / "config", root / "config")
    shutil.copytree(PROJECT / "weights", root / "weights")
    path = root / "weights" / "fraud_risk.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("intercept: -3.2", "intercept: -3.2\nbogus: 1"),
                    encoding="utf-8")
    with pytest.raises(ExplainError, match="does not pass the gate"):
        explain(validate_paths(root), "fraud_risk")


def test_before_after_marks_changed_terms(result) -> None:
    before = explain(result, "churn_coupon")
    data = dict(result.models["churn_coupon"])
    data["terms"] = [dict(t) for t in data["terms"]]
    data["terms"][2]["weight"] = 0.3
    from validator.gate.explain import analyse

    after = analyse(data, result.contracts["retention"])
    text = before_after_markdown([("churn_coupon", before, after)])
    assert "| support_trouble | [0, 4.5] | [0, 3] **changed** |" in text
    assert "| lapsing | [0, 2] | [0, 2] |" in text


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WEIGHTS, *args, "--root", str(PROJECT)], capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.mark.parametrize("fmt, expect", [
    ("text", "shipping_distance"),
    ("markdown", "| term | range | input | input range | how |"),
    ("html", "<table class=\"explain\">"),
])
def test_cli_each_format(fmt: str, expect: str) -> None:
    done = run("explain", "fraud_risk", "--format", fmt)
    assert done.returncode == 0, done.stderr
    assert expect in done.stdout
    assert "reachable: approve, review, decline" in done.stdout


def test_cli_at_a_revision() -> None:
    done = run("explain", "fraud_risk", "--rev", "HEAD")
    assert done.returncode == 0, done.stderr
    assert "high_order_amount" in done.stdout


def test_cli_bad_model_name_is_a_usage_error() -> None:
    done = run("explain", "fraud_rsik")
    assert done.returncode == 2
    assert "no model 'fraud_rsik'; did you mean 'fraud_risk'? models:" in done.stderr and "Traceback" not in done.stderr


def test_check_report_shows_the_analysis_before_and_after(tmp_path) -> None:
    """A real git repository, one committed weight change in the work tree, a real `weights check` process."""
    root = tmp_path / "repo"
    for part in ("config", "weights", "tests/data", "tests/golden"):
        shutil.copytree(PROJECT / part, root / part)
    env_git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    subprocess.run([*env_git, "add", "config", "weights", "tests"], check=True)
    subprocess.run([*env_git, "commit", "-q", "-m", "base"], check=True)
    model = root / "weights" / "churn_coupon.yaml"
    model.write_text(model.read_text(encoding="utf-8").replace("    weight: 0.45", "    weight: 0.3"), encoding="utf-8")
    done = subprocess.run([*WEIGHTS, "check", "--format", "markdown", "--root", str(root), "--report-dir",
                           str(tmp_path / "report")], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode in (0, 1), done.stderr
    assert "**What it can do** — contribution to z (log-odds)" in done.stdout
    assert "| support_trouble | [0, 4.5] | [0, 3] **changed** |" in done.stdout
    assert "| lapsing | [0, 2] | [0, 2] |" in done.stdout
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "<h3>What it can do</h3>" in page
    assert '<tr><td>support_trouble</td><td>[0, 4.5]</td><td class="warn">[0, 3]</td></tr>' in page
