"""The analyst's example notebook (examples/analyst_notebook.ipynb) executed for real by a Jupyter kernel, in a
real git repository with a change between two commits and an uncommitted edit, and its outputs checked against
the library's own answers: the notebook shows what ``score_frame`` and ``compare`` compute, not just "it ran".

The kernel is this interpreter (the project's venv), through a kernelspec written into the test's own
``JUPYTER_PATH``: no kernel installed on the machine (or a ``python3`` kernel pointing at another Python) can
stand in for it, and a clean CI machine needs nothing beyond ``pip install -e '.[dev]'``.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from ci_env import tool_missing

from validator.notebook import compare, score_frame

PROJECT = Path(__file__).resolve().parents[1]
NOTEBOOK = PROJECT / "examples" / "analyst_notebook.ipynb"
KERNEL = "weights-test-venv"
BAND = "  - {decision: no_coupon, below: 0.45}"


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)


def _edit(root: Path, old: str, new: str) -> None:
    path = root / "weights" / "churn_coupon.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def analyst_repo(tmp_path: Path) -> Path:
    """A weights repository with the notebook, two commits (coupon band 0.45, then 0.40) and an uncommitted
    edit to 0.35 in the work tree: three versions the notebook's cells tell apart."""
    root = tmp_path / "weights-repo"
    for folder in ("config", "weights", "tests/data"):
        shutil.copytree(PROJECT / folder, root / folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (root / "examples").mkdir()
    shutil.copy(NOTEBOOK, root / "examples" / NOTEBOOK.name)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.email", "analyst@example.com")
    _git(root, "config", "user.name", "Ana Lyst")
    _git(root, "config", "commit.gpgsign", "false")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "weights as they are on main")
    _edit(root, BAND, "  - {decision: no_coupon, below: 0.40}")
    _git(root, "commit", "-q", "-am", "coupons from a churn probability of 0.40")
    _edit(root, "below: 0.40}", "below: 0.35}")
    return root


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec for this interpreter, found first because its folder leads ``JUPYTER_PATH``."""
    try:
        import ipykernel  # noqa: F401
    except ImportError:
        tool_missing("ipykernel is not installed: pip install -e '.[dev]'")
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "weights (test venv)", "language": "python"}), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("NO_COLOR", "1")
    return KERNEL


def _execute(path: Path, kernel_name: str) -> Any:
    try:
        import nbformat
        from nbclient import NotebookClient
    except ImportError:
        tool_missing("nbclient/nbformat are not installed: pip install -e '.[dev]'")
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, kernel_name=kernel_name, timeout=300,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return notebook


def _cell(notebook: Any, tag: str) -> Any:
    (cell,) = [c for c in notebook.cells if tag in c.get("metadata", {}).get("tags", [])]
    return cell


def _stdout(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def _shown(cell: Any, mime: str) -> str:
    return "".join(o["data"].get(mime, "") for o in cell.outputs if o.output_type == "execute_result")


def test_the_notebook_runs_and_shows_what_the_library_computes(analyst_repo: Path, kernel: str) -> None:
    notebook = _execute(analyst_repo / "examples" / NOTEBOOK.name, kernel)
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []

    customers = pd.read_csv(analyst_repo / "tests/data/churn_customers.csv").head(2000)
    work_tree = score_frame("churn_coupon", customers, root=analyst_repo)
    head = score_frame("churn_coupon", customers, revision="HEAD", root=analyst_repo)
    tree_share = (work_tree["decision"] == "coupon").mean()
    head_share = (head["decision"] == "coupon").mean()
    changed = int((work_tree["decision"] != head["decision"]).sum())
    assert changed > 0 and tree_share > head_share  # the work tree's 0.35 band gives more coupons than HEAD's 0.40

    assert _stdout(_cell(notebook, "work-tree")) == \
        f"work tree: {tree_share:.1%} of 2000 customers get a coupon\n"
    assert "C01_LAPSING" in _shown(_cell(notebook, "work-tree"), "text/html")
    assert _stdout(_cell(notebook, "head")) == \
        f"HEAD: {head_share:.1%} get a coupon; {changed} customers are decided differently in the work tree\n"

    expected = compare("HEAD~1", "HEAD", customers, model="churn_coupon", root=analyst_repo)
    assert expected.passed is False  # 0.45 -> 0.40 flips more than 2% of these customers: the cell shows a breach
    shown = _cell(notebook, "compare")
    assert _stdout(shown) == "passed: False\n"
    assert _shown(shown, "text/plain") == repr(expected)
    assert "BREACHED" in _shown(shown, "text/html")
    guardrails = _shown(_cell(notebook, "guardrails"), "text/plain")
    for row in expected.guardrails_frame().itertuples():
        assert row.guardrail in guardrails
