"""``weights update`` end to end: the real command in a subprocess on a real git repository holding this
project's weights and sample events. Exit codes (0 changed or unchanged, 1 refused by the gate, 2 usage or
data), what the command prints, what ``git diff`` and ``weights diff`` show afterwards, and that a refused or
dry run leaves the file alone."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cli_helpers import commit_on_main, git, run_weights
from update_helpers import EVENTS, MODEL, make_repo, posterior_lines, write_events

NEW = {"hero_spring_sale": (530, 11470), "hero_free_shipping": (610, 11390),
       "hero_new_arrivals": (300, 9700), "hero_loyalty_points": (250, 5750)}


def weights(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return run_weights(cwd, *args, timeout=120)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return commit_on_main(make_repo(tmp_path / "weights-repo"))


def test_the_update_block_on_the_sample_events_changes_nothing(repo: Path) -> None:
    result = weights(repo, "update", "homepage_hero")
    assert result.returncode == 0, result.stderr
    assert "weights/homepage_hero.yaml is up to date; nothing to write" in result.stdout
    assert "holdout hero_control: 101 successes, 2031 failures (not an arm: reported, not written)" in result.stdout
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_from_a_file_writes_the_counts_and_the_diff_is_the_numbers(repo: Path, suffix: str) -> None:
    write_events(repo / "exports" / f"events{suffix}", NEW)
    result = weights(repo, "update", "homepage_hero", "--from", f"exports/events{suffix}")
    assert result.returncode == 0, result.stderr
    assert "  hero_spring_sale     successes 412 -> 530, failures 9588 -> 11470" in result.stdout
    assert "rewrote 4 CTR comments to the new counts" in result.stdout
    assert result.stdout.rstrip().endswith("wrote weights/homepage_hero.yaml")
    changed = [line for line in git(repo, "diff", "-U0", "--", MODEL).splitlines()
               if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
    assert len(changed) == 8 and all("posterior: {successes: " in line for line in changed)
    assert weights(repo, "validate").returncode == 0
    diff = weights(repo, "diff", "--base", "main")
    assert diff.returncode == 0, diff.stderr
    assert "530" in diff.stdout and "412" in diff.stdout and "11470" in diff.stdout


def test_sql_and_add_from_a_subfolder(repo: Path) -> None:
    query = f"SELECT arm, success FROM read_parquet('{EVENTS}') WHERE day = DATE '2026-06-10'"
    result = weights(repo / "weights", "update", "homepage_hero", "--sql", query, "--add")
    assert result.returncode == 0, result.stderr
    assert "from --sql (added to the file's counts):" in result.stdout
    assert "successes 96 -> 152, failures 2404 -> 3641" in result.stdout
    assert "posterior: {successes: 152, failures: 3641}     # 4.0% CTR over 3793 views" in (repo / MODEL).read_text()


def test_dry_run_writes_nothing(repo: Path) -> None:
    write_events(repo / "events.parquet", NEW)
    result = weights(repo, "update", "homepage_hero", "--from", "events.parquet", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "dry run: weights/homepage_hero.yaml not written" in result.stdout
    assert git(repo, "status", "--porcelain") == "?? events.parquet\n"


def test_all_as_json_lists_what_changed(repo: Path) -> None:
    result = weights(repo, "update", "--all", "--format", "json")
    assert result.returncode == 0, result.stderr
    envelope = json.loads(result.stdout)
    assert envelope["format_version"] == "1.0" and envelope["command"] == "update"
    assert envelope["changed"] == [] and [m["status"] for m in envelope["models"]] == ["unchanged"]
    write_events(repo / EVENTS, NEW)
    envelope = json.loads(weights(repo, "update", "--all", "--format", "json").stdout)
    assert envelope["changed"] == ["homepage_hero"]
    model = envelope["models"][0]
    assert model["path"] == MODEL and model["written"] is True and model["mode"] == "total"
    assert model["arms"][0] == {"arm": "hero_spring_sale", "changed": True, "events": {"successes": 530, "failures": 11470},
                                "new": {"successes": 530, "failures": 11470}, "old": {"successes": 412, "failures": 9588}}
    assert model["holdout"] is None and model["no_events"] == []
    assert posterior_lines((repo / MODEL).read_text())[0].startswith("    posterior: {successes: 530, failures: 11470}")


def test_an_unknown_arm_exits_2_and_writes_nothing(repo: Path) -> None:
    write_events(repo / "events.csv", {"hero_spring_sael": (1, 9)})
    result = weights(repo, "update", "homepage_hero", "--from", "events.csv")
    assert result.returncode == 2
    assert "'hero_spring_sael' (did you mean 'hero_spring_sale'?)" in result.stderr
    assert "Traceback" not in result.stderr
    assert git(repo, "status", "--porcelain", "--", MODEL) == ""


def test_an_error_as_json_is_still_one_envelope(repo: Path) -> None:
    result = weights(repo, "update", "homepage_hero", "--from", EVENTS, "--arm-column", "variant", "--format", "json")
    assert result.returncode == 2
    model = json.loads(result.stdout)["models"][0]
    assert model["status"] == "error" and "has no column 'variant'; its columns: day, arm, success" in model["message"]
    assert model["path"] == MODEL


def test_a_refusal_by_the_gate_exits_1_shows_the_finding_and_writes_nothing(repo: Path) -> None:
    path = repo / MODEL
    path.write_text(path.read_text().replace("floor: 0.05", "floor: 0.3"), encoding="utf-8")
    git(repo, "commit", "-q", "-am", "floors too high")
    write_events(repo / "events.parquet", NEW)
    result = weights(repo, "update", "homepage_hero", "--from", "events.parquet")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "weights/homepage_hero.yaml:" in result.stdout and "error" in result.stdout
    assert "the updated file would not pass weights validate" in result.stderr and "nothing was written" in result.stderr
    assert git(repo, "status", "--porcelain", "--", MODEL) == ""


@pytest.mark.parametrize(("args", "message"), [
    (("update",), "name the bandit to update"),
    (("update", "homepage_hero", "--from", "a.csv", "--sql", "SELECT 1"), "not both"),
    (("update", "--all", "homepage_hero"), "--all updates every bandit from its own update: block"),
    (("update", "fraud_risk", "--from", EVENTS), "is a 'scorecard' model"),
    (("update", "homepage_hero", "--from", "missing.parquet"), "no such file"),
    (("update", "homepage_hero", "--sql", "DROP TABLE x"), "only a SELECT may run"),
])
def test_usage_and_data_errors_exit_2_with_a_message(repo: Path, args: tuple[str, ...], message: str) -> None:
    result = weights(repo, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_events_to_update_to_check_on_a_branch(repo: Path) -> None:
    """The nightly path by hand: a day's events added on a branch, then the whole gate against main."""
    git(repo, "checkout", "-q", "-b", "weights-update/homepage_hero")
    query = f"SELECT arm, success FROM read_parquet('{EVENTS}') WHERE day >= DATE '2026-06-09'"
    assert weights(repo, "update", "homepage_hero", "--sql", query, "--add").returncode == 0
    old, new = git(repo, "show", f"main:{MODEL}").splitlines(), (repo / MODEL).read_text().splitlines()
    assert [a for a, b in zip(old, new, strict=True) if a != b] == posterior_lines("\n".join(old))  # comments intact
    git(repo, "commit", "-q", "-am", "weights update homepage_hero")
    check = weights(repo, "check", "--base", "main")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "arms[hero_loyalty_points].posterior.successes: 96 ->" in check.stdout
    assert "weights check passed" in check.stdout
