"""Shared fixtures: the project's own repository, and disposable copies of it (optionally under git); and the
Hypothesis profiles every property test runs under.

Hypothesis profiles (loaded here, before any test module is imported, so every ``@settings`` inherits them):

- ``ci`` (when the CI environment variable is set, as GitHub Actions and ``.ci/run`` set it): derandomized,
  so a run on the same commit tries the same examples and gives the same verdict every time; no deadline
  (a loaded runner is not a bug); ``print_blob`` so a failure prints the line that reproduces it. Hypothesis
  makes ``derandomize=True`` imply ``database=None``, so CI neither reads nor writes an example database.
- ``dev`` (otherwise): random exploration, and the example database committed at ``tests/.hypothesis-db``:
  every failing example Hypothesis finds on a developer's machine is saved there and replayed first on every
  later run on every machine; commit what appears there together with the fix. An example that should be
  checked in CI forever goes into the test as an explicit ``@example`` (the boundary cases are).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from ci_env import running_in_ci
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLE_DB = PROJECT / "tests" / ".hypothesis-db"
# CI runners and local runs differ in speed, never in what is checked: no deadline, and no health check that
# measures time (a slow runner is not a slow strategy).
settings.register_profile("ci", derandomize=True, print_blob=True, max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", database=DirectoryBasedExampleDatabase(EXAMPLE_DB), max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if running_in_ci() else "dev")


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
