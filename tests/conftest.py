"""Shared fixtures: the project's own repository, and disposable copies of it (optionally under git)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def project_root() -> Path:
    return PROJECT


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of this repository's config/ and weights/ in a temporary folder (not under git)."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copytree(PROJECT / "config", root / "config")
    shutil.copytree(PROJECT / "weights", root / "weights")
    return root


@pytest.fixture
def git_repo(repo: Path) -> Path:
    """The same copy, committed on ``main`` in a real git repository."""
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "analyst@example.com")
    git(repo, "config", "user.name", "Ana Lyst")
    git(repo, "config", "commit.gpgsign", "false")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "weights as they are on main")
    return repo
