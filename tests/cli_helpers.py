"""What the end-to-end tests share: git in a folder, the real ``weights`` command in a subprocess, and an
analyst's repository (this project's weights, contracts, sample data and golden cases committed on ``main``).

One copy, so every end-to-end test runs the command the same way: outside GitHub Actions (the ``github``
format would be chosen otherwise), without colour, at a width that keeps report lines whole.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
ANALYST_FOLDERS = ("config", "weights", "tests/data", "tests/golden")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def run_weights(cwd: Path, *args: str, env: dict[str, str] | None = None, columns: int = 200,
                timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m validator ARGS`` in ``cwd``, as a user's shell would run ``weights``."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY")}
    full_env.update({"NO_COLOR": "1", "COLUMNS": str(columns)})
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "validator", *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


def analyst_repo(root: Path, branch: str | None = None, ignore_published: bool = False) -> Path:
    """This project's analyst files committed on ``main`` at ``root``; then on ``branch`` when one is named.

    ``ignore_published`` git-ignores ``.weights/`` (what ``weights publish`` writes by default), for tests that
    publish and then need a clean work tree.
    """
    root.mkdir(parents=True)
    for folder in ANALYST_FOLDERS:
        shutil.copytree(PROJECT / folder, root / folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    if ignore_published:
        (root / ".gitignore").write_text("/.weights/\n")
    commit_on_main(root)
    if branch:
        git(root, "checkout", "-q", "-b", branch)
    return root


def commit_on_main(root: Path) -> Path:
    """A new git repository at ``root`` whose ``main`` holds every file there, committed by the analyst."""
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "analyst@example.com")
    git(root, "config", "user.name", "Ana Lyst")
    git(root, "config", "commit.gpgsign", "false")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "weights as they are on main")
    return root


def edit(root: Path, old: str, new: str, path: str) -> None:
    """Replace the one occurrence of ``old`` in ``path`` (an edit that silently matched nothing would pass)."""
    file = root / path
    text = file.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should occur once in {path}"
    file.write_text(text.replace(old, new), encoding="utf-8")
