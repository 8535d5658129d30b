"""The `weights` command through a real subprocess: exit codes, formats, and no tracebacks."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]


def weights(*args: str, cwd: Path, env: dict | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    full_env.update({"NO_COLOR": "1", "COLUMNS": "200"})
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "validator", *args], cwd=cwd, env=full_env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def break_band_order(repo: Path) -> int:
    """Swap the thresholds of review and decline in fraud_risk; return the line of the bad threshold."""
    path = repo / "weights" / "fraud_risk.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    below = [i for i, line in enumerate(lines) if "below:" in line and "decision" in line]
    assert len(below) >= 2, "fraud_risk bands are expected as {decision: ..., below: ...} lines"
    first, second = below[0], below[1]
    a, b = lines[first].split("below:")[1], lines[second].split("below:")[1]
    lines[first] = lines[first].split("below:")[0] + "below:" + b
    lines[second] = lines[second].split("below:")[0] + "below:" + a
    path.write_text("".join(lines), encoding="utf-8")
    return second + 1


def test_clean_tree_exits_0(repo):
    result = weights("validate", cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors" in result.stdout


def test_a_mistake_is_a_positioned_finding_and_exit_1(repo):
    line = break_band_order(repo)
    result = weights("validate", cwd=repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"weights/fraud_risk.yaml:{line}:" in result.stdout
    assert "error scorecard.bands-ordered" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_json_format_is_a_versioned_envelope(repo):
    break_band_order(repo)
    result = weights("validate", "--format", "json", cwd=repo)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["format_version"] == "1.0" and report["valid"] is False
    assert report["error_count"] >= 1 and report["files_checked"] >= 5
    diag = next(d for d in report["diagnostics"] if d["rule"] == "scorecard.bands-ordered")
    assert diag["path"] == "weights/fraud_risk.yaml" and diag["range"]["start"]["line"] >= 1


def test_github_format_is_chosen_inside_actions(repo):
    break_band_order(repo)
    result = weights("validate", cwd=repo, env={"GITHUB_ACTIONS": "true"})
    assert result.returncode == 1
    assert "::error file=weights/fraud_risk.yaml,line=" in result.stdout
    assert "title=scorecard.bands-ordered::" in result.stdout


def test_paths_limit_the_report(repo):
    break_band_order(repo)
    assert weights("validate", "weights/search_ranking.yaml", cwd=repo).returncode == 0
    assert weights("validate", "weights/fraud_risk.yaml", cwd=repo).returncode == 1
    assert weights("validate", "weights", cwd=repo).returncode == 1


def test_usage_errors_exit_2(repo, tmp_path):
    assert weights("validate", "--format", "xml", cwd=repo).returncode == 2
    missing = weights("validate", "weights/nope.yaml", cwd=repo)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    outside = weights("validate", cwd=tmp_path)
    assert outside.returncode == 2 and "no weights repository" in outside.stderr
    bad_rev = weights("validate", "--rev", "main", cwd=repo)  # not a git repository
    assert bad_rev.returncode == 2 and "not a git repository" in bad_rev.stderr


def test_broken_settings_file_is_a_finding_for_validate_and_an_environment_error_elsewhere(repo):
    (repo / "config" / "weights.yaml").write_text("limits: {max_file_bytes: 2048, max_file_bytes: 4096}\n")
    result = weights("validate", cwd=repo)
    assert result.returncode == 1 and "config/weights.yaml:1:32: error yaml.duplicate-key" in result.stdout
    needs_settings = weights("test", cwd=repo)
    assert needs_settings.returncode == 2 and "config/weights.yaml:1:32" in needs_settings.stderr
    assert "Traceback" not in needs_settings.stderr


def test_internal_error_prints_one_line_and_logs_the_traceback(repo, tmp_path):
    code = (
        "import validator.api as api\n"
        "def boom(*a, **k):\n    raise RuntimeError('simulated bug')\n"
        "api.validate_paths = boom\n"
        "from validator.cli import main\nmain(['validate'])\n"
    )
    env = {k: v for k, v in os.environ.items()}
    env["WEIGHTS_LOG_DIR"] = str(tmp_path / "logs")
    result = subprocess.run([sys.executable, "-c", code], cwd=repo, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "simulated bug" in result.stderr
    logs = list((tmp_path / "logs").glob("crash-*.log"))
    assert len(logs) == 1 and "Traceback" in logs[0].read_text()


def test_validate_a_git_revision_without_touching_the_work_tree(git_repo):
    break_band_order(git_repo)
    assert weights("validate", "--rev", "main", cwd=git_repo).returncode == 0
    assert weights("validate", cwd=git_repo).returncode == 1
    unknown = weights("validate", "--rev", "no-such-branch", cwd=git_repo)
    assert unknown.returncode == 2 and "unknown git revision" in unknown.stderr


def test_eval_prints_the_result_as_json(repo):
    result = weights("eval", "homepage_hero", '{"seed": 7}', cwd=repo)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["model"] == "homepage_hero"
    bad = weights("eval", "fraud_risk", "{}", cwd=repo)
    assert bad.returncode == 2 and "is missing" in bad.stderr


def test_schemas_check_detects_drift(repo):
    assert weights("schemas", "--check", cwd=repo).returncode == 0
    (repo / "config" / "schemas" / "bandit.schema.json").write_text("{}\n")
    assert weights("schemas", "--check", cwd=repo).returncode == 1
    assert weights("schemas", cwd=repo).returncode == 0
    assert weights("schemas", "--check", cwd=repo).returncode == 0


def test_rules_lists_every_rule():
    from validator.gate.rule_registry import ALL_RULES

    result = weights("rules", cwd=PROJECT)
    assert result.returncode == 0
    for rule in ALL_RULES:
        assert rule.id in result.stdout


def test_eval_with_broken_settings_is_an_environment_error(repo):
    (repo / "config" / "weights.yaml").write_text("limits: [\n", encoding="utf-8")
    result = weights("eval", "fraud_risk", "{}", cwd=repo)
    assert result.returncode == 2 and "config/weights.yaml" in result.stderr and "internal error" not in result.stderr


def test_eval_refuses_a_request_that_is_not_an_object(repo):
    result = weights("eval", "fraud_risk", "[1, 2]", cwd=repo)
    assert result.returncode == 2 and "must be a mapping of input name to value" in result.stderr


def test_version_has_one_source(tmp_path):
    """pyproject.toml takes the version from validator.__version__, and the CLI prints that same string."""
    import validator

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the claim does not depend on the interpreter
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "validator.__version__"}
    result = weights("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == f"weights, version {validator.__version__}"
