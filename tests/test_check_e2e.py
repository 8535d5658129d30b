"""``weights check`` end to end: real git repositories in temporary folders, the real replay engine, the
real command in a subprocess. A large change breaches and exits 1, a 1% change passes, an accepted breach
passes; the checkout is never touched."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_helpers import analyst_repo, git, run_weights
from cli_helpers import edit as shared_edit

from validator.gate.check import resolve_base, run_check
from validator.gate.sources import SourceError

PROJECT = Path(__file__).resolve().parents[1]
MODEL = "weights/fraud_risk.yaml"


def weights(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return run_weights(cwd, *args, env=env, timeout=120)


@pytest.fixture
def weights_repo(tmp_path: Path) -> Path:
    """This project's weights, contracts, sample data and golden cases, committed on main, on a branch."""
    return analyst_repo(tmp_path / "weights-repo", branch="analyst/fraud-change")


def edit(root: Path, old: str, new: str, path: str = MODEL) -> None:
    shared_edit(root, old, new, path)


def commit(root: Path, message: str) -> None:
    git(root, "commit", "-q", "-am", message)


NEW_ACCOUNT_WEIGHT = "    weight: 1.5                      # +1.5 for an account created today"
APPROVE_BAND = "  - {decision: approve, below: 0.35}"


def test_a_large_change_breaches_and_exits_1(weights_repo: Path, tmp_path: Path):
    edit(weights_repo, NEW_ACCOUNT_WEIGHT, "    weight: 2.3")
    commit(weights_repo, "new accounts are riskier")
    status_before = git(weights_repo, "status", "--porcelain")
    head_before = git(weights_repo, "rev-parse", "HEAD")
    report_dir = tmp_path / "report"
    result = weights(weights_repo, "check", "--report-dir", str(report_dir))
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "decision flip rate" in out and "BREACHED" in out
    assert "terms[new_account].weight: 1.5 -> 2.3 (+53.3%)" in out
    assert "approve share" in out and "pts" in out
    assert "weights check failed:" in out and "guardrails" in out
    # the breach is anchored on the changed line
    line = next(i for i, text in enumerate((weights_repo / MODEL).read_text().splitlines(), 1) if "weight: 2.3" in text)
    assert f"{MODEL}:{line}:13: error guardrail.max_decision_flip_rate" in out
    assert "Traceback" not in out + result.stderr
    # the checkout is untouched: same HEAD, same status, same branch
    assert git(weights_repo, "rev-parse", "HEAD") == head_before
    assert git(weights_repo, "status", "--porcelain") == status_before
    assert git(weights_repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "analyst/fraud-change"
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    assert "<svg" in html and "fraud_risk" in html and "<script" not in html
    envelope = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    assert envelope["passed"] is False and "guardrails" in envelope["failed_gates"]
    assert (report_dir / "report.md").read_text(encoding="utf-8").startswith("<!-- weights-check -->")


def test_a_one_percent_change_passes(weights_repo: Path):
    edit(weights_repo, NEW_ACCOUNT_WEIGHT, "    weight: 1.515                    # +1% after the Q2 refit")
    commit(weights_repo, "refit: new account weight +1%")
    result = weights(weights_repo, "check", "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["passed"] is True and report["failed_gates"] == []
    (model,) = report["models"]
    assert model["name"] == "fraud_risk" and model["impact"]["rows"] > 1000
    assert model["changes"][0]["label"] == "terms[new_account].weight"
    assert abs(model["changes"][0]["relative"] - 0.01) < 1e-9
    assert all(not g["breached"] for g in model["impact"]["guardrails"])
    assert report["counts"]["golden_passed"] >= 20 and report["counts"]["golden_failed"] == 0


def test_an_accepted_breach_passes_and_says_so(weights_repo: Path):
    edit(weights_repo, APPROVE_BAND, "  - {decision: approve, below: 0.25}")
    commit(weights_repo, "send more orders to review")
    assert weights(weights_repo, "check").returncode == 1  # without the reviewed acknowledgement: breached
    with (weights_repo / MODEL).open("a", encoding="utf-8") as handle:
        handle.write("\naccept:\n"
                     "  - {guardrail: max_decision_flip_rate, up_to: 0.06, reason: \"Review team doubled (FRAUD-412)\"}\n"
                     "  - {guardrail: max_share_change, up_to: 0.06, reason: \"The review share is meant to grow (FRAUD-412)\"}\n")
    result = weights(weights_repo, "check", "--format", "markdown")  # uncommitted edits count: head is the work tree
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("<!-- weights-check -->\n## ✅ weights check passed")
    assert "accepted: Review team doubled (FRAUD-412)" in result.stdout
    assert "xychart-beta" in result.stdout


def test_an_accept_entry_already_on_main_accepts_nothing_new(weights_repo: Path):
    git(weights_repo, "checkout", "-q", "main")
    with (weights_repo / MODEL).open("a", encoding="utf-8") as handle:
        handle.write("\naccept:\n  - {guardrail: max_decision_flip_rate, up_to: 0.06, reason: an earlier change}\n"
                     "  - {guardrail: max_share_change, up_to: 0.06, reason: an earlier change}\n")
    commit(weights_repo, "an old, reviewed acknowledgement")
    git(weights_repo, "checkout", "-q", "-b", "analyst/next-change")
    edit(weights_repo, APPROVE_BAND, "  - {decision: approve, below: 0.25}")
    result = run_check(weights_repo)
    assert result.exit_code == 1 and result.failed_gates == ["guardrails"]


def test_comment_only_changes_are_not_replayed(weights_repo: Path):
    edit(weights_repo, "# Fraud risk of an order at checkout", "# Fraud risk of an order at checkout (reviewed 2024)")
    result = run_check(weights_repo)
    assert result.exit_code == 0
    (entry,) = [d for d in result.diff.models if d.file_changed]
    assert entry.status == "unchanged" and entry.changes == ()
    assert all(m.impact is None for m in result.models)
    everything = run_check(weights_repo, replay_all=True)
    assert {m.name for m in everything.models if m.impact is not None} == {
        "fraud_risk", "churn_coupon", "search_ranking", "homepage_hero", "customer_segments", "category_boost"}
    assert everything.exit_code == 0


def test_base_and_head_revisions_ignore_the_work_tree(weights_repo: Path):
    edit(weights_repo, NEW_ACCOUNT_WEIGHT, "    weight: 1.515")
    commit(weights_repo, "small")
    edit(weights_repo, "    weight: 1.515", "    weight: 2.5")  # uncommitted and large: not under review
    result = run_check(weights_repo, "main", "HEAD")
    assert result.exit_code == 0
    (model,) = [m for m in result.models if m.impact is not None]
    assert model.diff is not None and model.diff.changes[0].new == 1.515
    assert result.head.label.startswith("HEAD (")


def test_default_base_is_the_merge_base_with_main(weights_repo: Path):
    fork = git(weights_repo, "rev-parse", "HEAD").strip()
    git(weights_repo, "checkout", "-q", "main")
    edit(weights_repo, "intercept: -3.2", "intercept: -3.0")  # lands on main after the branch forked
    commit(weights_repo, "main moves on")
    git(weights_repo, "checkout", "-q", "analyst/fraud-change")
    assert resolve_base(weights_repo) == (fork, "main")
    result = run_check(weights_repo)
    assert result.diff.changed() == []  # main's later change is not blamed on the branch
    assert result.base.label.startswith("merge base with main")


def test_origin_main_is_the_fallback_and_a_missing_base_is_exit_2(weights_repo: Path, tmp_path: Path):
    git(weights_repo, "branch", "-m", "main", "trunk")
    result = weights(weights_repo, "check")
    assert result.returncode == 2
    assert "neither 'main' nor 'origin/main' exists" in result.stderr and "--base" in result.stderr
    assert "Traceback" not in result.stderr
    git(weights_repo, "update-ref", "refs/remotes/origin/main", "trunk")
    assert resolve_base(weights_repo)[1] == "origin/main"
    bad = weights(weights_repo, "check", "--base", "no-such-branch")
    assert bad.returncode == 2 and "unknown git revision 'no-such-branch'" in bad.stderr
    plain = tmp_path / "not-git"
    shutil.copytree(weights_repo / "config", plain / "config")
    with pytest.raises(SourceError, match="not a git repository"):
        resolve_base(plain)


def test_github_format_caps_annotations_and_writes_the_step_summary(weights_repo: Path, tmp_path: Path):
    edit(weights_repo, NEW_ACCOUNT_WEIGHT, "    weight: 2.3")
    summary = tmp_path / "summary.md"
    result = weights(weights_repo, "check", env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error ")]
    assert 1 <= len(errors) <= 10
    assert any(f"file={MODEL},line=" in line and "guardrail.max_decision_flip_rate" in line for line in errors)
    assert summary.read_text(encoding="utf-8").startswith("<!-- weights-check -->")


def test_an_invalid_head_fails_validation_without_a_replay(weights_repo: Path):
    edit(weights_repo, APPROVE_BAND, "  - {decision: approve, below: 0.95}")
    result = run_check(weights_repo)
    assert "validate" in result.failed_gates and result.exit_code == 1
    model = next(m for m in result.models if m.name == "fraud_risk")
    assert model.impact is None and model.diff is not None
    assert model.invalid and not model.passed  # the report marks it failed, not "✓ not replayed"
    assert any(f.rule.startswith("scorecard.") for f in result.findings)


def test_a_missing_dataset_is_a_positioned_finding(weights_repo: Path):
    edit(weights_repo, "dataset: tests/data/fraud_orders.parquet", "dataset: tests/data/fraud_orders_2023.parquet")
    result = run_check(weights_repo)
    assert result.failed_gates == ["replay"]
    (problem,) = [f for f in result.findings if f.rule == "simulate.replay"]
    line = next(i for i, text in enumerate((weights_repo / MODEL).read_text().splitlines(), 1)
                if "fraud_orders_2023" in text)
    assert problem.path == MODEL and problem.line == line and "fraud_orders_2023" in problem.message


def test_a_changed_model_without_replay_data_passes_with_a_warning(weights_repo: Path):
    path = "weights/churn_coupon.yaml"
    file = weights_repo / path
    text = file.read_text(encoding="utf-8")
    file.write_text(text[:text.index("\nreplay:")] + "\n", encoding="utf-8")  # the replay block ends the file
    commit(weights_repo, "churn_coupon without sample data on main")
    text = (weights_repo / path).read_text(encoding="utf-8")
    line = next(l for l in text.splitlines() if l.startswith("intercept:"))
    value = float(line.split(":", 1)[1].split("#")[0])
    edit(weights_repo, line, f"intercept: {value + 0.01}", path)
    result = run_check(weights_repo, base_rev="HEAD")
    warnings = [f for f in result.findings if f.rule == "simulate.no-data"]
    assert result.exit_code == 0, [f.render() for f in result.findings]
    assert len(warnings) == 1 and warnings[0].severity.value == "warning"
    assert warnings[0].path == path and "not measured" in warnings[0].message


# ------------------------------------------------------------------ guardrail governance (issue 9, part 4)


def test_a_loosened_model_guardrail_is_refused_at_its_line(weights_repo: Path):
    """The analyst's own file cannot raise the limit the change is judged by; the message says who can."""
    edit(weights_repo, NEW_ACCOUNT_WEIGHT, "    weight: 2.3")
    with (weights_repo / MODEL).open("a", encoding="utf-8") as handle:
        handle.write("\nguardrails:\n  max_decision_flip_rate: 0.5\n")
    commit(weights_repo, "new accounts are riskier, and the limit goes up with them")
    result = weights(weights_repo, "check", "--format", "text")
    assert result.returncode == 1, result.stdout + result.stderr
    line = len((weights_repo / MODEL).read_text(encoding="utf-8").splitlines())
    assert f"{MODEL}:{line}:27: error guardrails.loosened: guardrails.max_decision_flip_rate: 50% is looser than " \
           "the repository limit 2%" in result.stdout
    assert "change config/guardrails.yaml (owned by the model-risk owners in .github/CODEOWNERS)" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_a_tightened_model_guardrail_passes_and_is_listed(weights_repo: Path):
    with (weights_repo / MODEL).open("a", encoding="utf-8") as handle:
        handle.write("\nguardrails:\n  max_psi: 0.05\n")
    commit(weights_repo, "a stricter PSI limit for fraud")
    result = run_check(weights_repo)
    assert result.passed, [f.render() for f in result.findings]
    [change] = result.guardrail_changes
    assert (change.path, change.scope, change.guardrail, change.old, change.new) == (MODEL, "fraud_risk", "max_psi",
                                                                                   0.1, 0.05)
    assert change.direction == "set: tightened"


def test_a_guardrails_yaml_change_is_listed_in_every_report(weights_repo: Path):
    edit(weights_repo, "max_psi: 0.1 ", "max_psi: 0.2 ", "config/guardrails.yaml")
    edit(weights_repo, "min_ndcg_delta: -0.02", "min_ndcg_delta: -0.01", "config/guardrails.yaml")
    commit(weights_repo, "model risk: PSI limit relaxed, NDCG limit tightened")
    result = weights(weights_repo, "check", "--format", "markdown")
    assert result.returncode == 0, result.stdout + result.stderr
    md = result.stdout
    assert "### Guardrail changes" in md
    assert "| `config/guardrails.yaml:9` (scorecard) | `max_psi` | 0.1 | 0.2 | ⚠️ loosened |" in md
    assert "| `config/guardrails.yaml:23` (ranking) | `min_ndcg_delta` | -0.02 | -0.01 | tightened |" in md
    text = weights(weights_repo, "check", "--format", "text").stdout
    assert "config/guardrails.yaml:9: scorecard: max_psi 0.1 -> 0.2 (loosened)" in text
    report = json.loads(weights(weights_repo, "check", "--format", "json").stdout)
    assert {"path": "config/guardrails.yaml", "line": 9, "scope": "scorecard", "guardrail": "max_psi", "base": 0.1,
            "head": 0.2, "change": "loosened"} in report["guardrail_changes"]
    out = weights_repo.parent / "report"
    assert weights(weights_repo, "check", "--report-dir", str(out)).returncode == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<h2>Guardrail changes</h2>" in page
    assert ("<tr><td><code>config/guardrails.yaml:9</code> (scorecard)</td><td><code>max_psi</code></td><td>0.1</td>"
            "<td>0.2</td><td class=\"warn\">loosened</td></tr>") in page
    assert ("<tr><td><code>config/guardrails.yaml:23</code> (ranking)</td><td><code>min_ndcg_delta</code></td>"
            "<td>-0.02</td><td>-0.01</td><td class=\"pass\">tightened</td></tr>") in page


def test_a_rate_above_one_in_guardrails_yaml_is_exit_2_with_its_position(weights_repo: Path):
    edit(weights_repo, "max_decision_flip_rate: 0.02", "max_decision_flip_rate: 2", "config/guardrails.yaml")
    commit(weights_repo, "2 meant 2%")
    result = weights(weights_repo, "check")
    assert result.returncode != 0
    assert "config/guardrails.yaml:7:27: error guardrails.range: max_decision_flip_rate is a share between 0 and 1" \
        in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_a_misspelt_outcome_column_points_at_the_key(weights_repo: Path):
    edit(weights_repo, "  outcome: is_fraud", "  outcome: is_frad")
    commit(weights_repo, "typo")
    result = run_check(weights_repo)
    [finding] = [f for f in result.findings if f.rule == "simulate.replay"]
    line = next(i for i, t in enumerate((weights_repo / MODEL).read_text().splitlines(), 1) if "is_frad" in t)
    assert (finding.line, finding.col) == (line, 3)
    assert "'is_frad' is not a column of tests/data/fraud_orders.parquet (did you mean 'is_fraud'?)" in finding.message
