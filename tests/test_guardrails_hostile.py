"""The `changes:` of the hostile corpus (tests/hostile/mutations.yaml): edits only a base-vs-head comparison can
judge (a model loosening its own guardrails, a contract range rescaled tenfold, a parameter moved over its
change budget), each applied to the work tree of a real git repository and judged by ``run_check`` against
main. Each must be a finding of the expected rule at the edit's position; a good edit must leave no error."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_hostile import Edit, apply

from validator.gate.check import run_check

PROJECT = Path(__file__).resolve().parents[1]
CHANGES = yaml.safe_load((PROJECT / "tests/hostile/mutations.yaml").read_text(encoding="utf-8"))["changes"]
BUDGETS = ("\nbudgets:\n  scorecard:\n    weight: {relative: 0.5, absolute: 0.5}\n"
           "  ranking:\n    weight: {relative: 0.5, absolute: 0.5}\n")


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example repository with change budgets, committed on main; each test restores the file it edits."""
    root = tmp_path_factory.mktemp("hostile-changes") / "repo"
    for folder in ("config", "weights", "tests/data", "tests/golden"):
        shutil.copytree(PROJECT / folder, root / folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    with (root / "config/guardrails.yaml").open("a", encoding="utf-8") as handle:
        handle.write(BUDGETS)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "analyst@example.com")
    git(root, "config", "user.name", "Ana Lyst")
    git(root, "config", "commit.gpgsign", "false")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "main, with change budgets")
    return root


def _apply(mutation: dict[str, Any], original: bytes) -> Edit:
    if "append" not in mutation:
        return apply(mutation, original)
    text = original.decode("utf-8").rstrip("\n") + "\n" + mutation["append"].rstrip("\n") + "\n"
    lines = text.splitlines()
    last = lines[-1]
    return Edit(text.encode("utf-8"), len(lines), last.index(": ") + 3)


def test_the_changes_are_well_formed() -> None:
    ids = [m["id"] for m in CHANGES]
    assert len(ids) == len(set(ids))
    assert len(CHANGES) >= 25
    for mutation in CHANGES:
        assert sum(k in mutation for k in ("set", "rename", "append")) == 1, mutation["id"]


@pytest.mark.parametrize("mutation", CHANGES, ids=[m["id"] for m in CHANGES])
def test_change_is_judged_at_its_position(mutation: dict[str, Any], repo: Path) -> None:
    target = repo / mutation["file"]
    original = target.read_bytes()
    edit = _apply(mutation, original)
    target.write_bytes(edit.raw)
    try:
        result = run_check(repo, "main", None)
    finally:
        target.write_bytes(original)
    found = [(f.path, f.line, f.col, f.severity.value, f.rule) for f in result.findings]
    if mutation["expect"] == "ok":
        assert not [f for f in found if f[3] == "error"], found
        return
    expected = (mutation["file"], edit.line, edit.col, mutation.get("severity", "error"), mutation["expect"])
    assert expected in found, found
