"""``pip install weights`` (no extra) is what an app needs, and all it gets.

One fresh venv per test session, the project installed into it non-editable from a copy of its source, as an
app's build would (pip may fetch the base dependencies and the build backend from the package index). Then:
none of the gate's dependencies is installed, an app script in that venv polls a repository that the project's
own ``weights publish`` signed and answers with every model exactly as the full install does, and the
``weights`` command there says which extra to install (exit 2) instead of a traceback.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ci_env import tool_missing
from publish_helpers import GIT_ENV, commit_all, make_repo, served
from slim_app import golden_requests

PROJECT = Path(__file__).resolve().parents[1]
# Distributions (as `pip list` names them, compared case-insensitively) that belong to an extra, never the base.
NOT_IN_BASE = ("numpy", "pyarrow", "click", "rich", "GitPython", "jsonschema", "fastjsonschema", "duckdb",
               "ruamel.yaml", "pandas", "fsspec", "confusable-homoglyphs", "starlette", "uvicorn", "redis",
               "pyspark", "scikit-learn", "prometheus-client")
# Bounds for a hang only: installing fetches from the package index, which a loaded machine makes slow.
INSTALL_TIMEOUT = 900
RUN_TIMEOUT = 300


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / ("python.exe" if os.name == "nt" else "python")


@pytest.fixture(scope="session")
def slim_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding ``pip install <a copy of this project>``: the base distribution and its dependencies."""
    where = tmp_path_factory.mktemp("slim")
    source = where / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(PROJECT / name, source / name)
    shutil.copytree(PROJECT / "validator", source / "validator", ignore=shutil.ignore_patterns("__pycache__"))
    venv = where / "venv"
    # The venv of the interpreter running the tests, from its base installation (no site packages inherited).
    made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True,
                          timeout=RUN_TIMEOUT)
    if made.returncode != 0:
        tool_missing(f"python -m venv failed (Debian needs the python3-venv package): {made.stderr.strip()}")
    python = _venv_python(venv)
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(source)],
        capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
    )
    assert installed.returncode == 0, f"pip install of the project failed:\n{installed.stdout}\n{installed.stderr}"
    return venv


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """This project's weights in a new git repository, signed and published by ``weights publish`` to a folder."""
    where = tmp_path_factory.mktemp("published")
    repo = make_repo(where / "repo")
    keys = where / "keys"
    env = {k: v for k, v in {**os.environ, **GIT_ENV}.items() if not k.startswith("WEIGHTS_")}
    done = subprocess.run([sys.executable, "-m", "validator", "keys", "init", "--keys-dir", str(keys)], cwd=repo,
                          capture_output=True, text=True, env=env, timeout=RUN_TIMEOUT)
    assert done.returncode == 0, done.stderr
    commit_all(repo, "the trust root")
    site = where / "site"
    done = subprocess.run([sys.executable, "-m", "validator", "publish", "--to", str(site), "--keys-dir", str(keys)],
                          cwd=repo, capture_output=True, text=True, env=env, timeout=RUN_TIMEOUT)
    assert done.returncode == 0, done.stderr
    return {"repo": repo, "site": site, "root": repo / "config" / "root.json"}


def _run_app(python: Path, url: str, published: dict[str, Path], cache: Path, work: Path) -> dict[str, Any]:
    config = work / f"{cache.name}.json"
    config.write_text(json.dumps({
        "url": url, "root": str(published["root"]), "cache": str(cache),
        "contracts": sorted(str(p) for p in (published["repo"] / "config" / "contracts").glob("*.yaml")),
        "requests": golden_requests(),
    }))
    # Not from the project folder: the app must import the installed package, not the checkout.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    done = subprocess.run([str(python), str(PROJECT / "tests" / "slim_app.py"), str(config)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_base_install_has_none_of_the_extras(slim_venv: Path) -> None:
    listed = subprocess.run([str(_venv_python(slim_venv)), "-m", "pip", "list", "--format", "json",
                             "--disable-pip-version-check"], capture_output=True, text=True, check=True,
                            timeout=RUN_TIMEOUT)
    names = {entry["name"].lower().replace("_", "-") for entry in json.loads(listed.stdout)}
    assert {"weights", "tuf", "pyyaml", "urllib3", "cryptography"} <= names
    assert sorted(names & {n.lower() for n in NOT_IN_BASE}) == []


def test_an_app_on_the_base_install_answers_like_the_full_install(slim_venv: Path, published: dict[str, Path],
                                                                  tmp_path: Path) -> None:
    with served(published["site"]) as server:
        slim = _run_app(_venv_python(slim_venv), server.url, published, tmp_path / "slim-cache", tmp_path)
        full = _run_app(Path(sys.executable), server.url, published, tmp_path / "full-cache", tmp_path)
    # The golden cases' expectations (tests/golden/*.yaml), answered by the slim app.
    assert slim["version"] == "1"
    assert slim["fraud_risk"]["decision"] == "decline"
    assert slim["customer_segments"]["segment"] == "bargain_hunters"
    assert slim["category_boost"] == {"values": {"boost": 0.87, "pinned_slots": 0}, "found": True}
    assert slim["search_ranking"]["ids"][:3] == ["SKU-1001", "SKU-1002", "SKU-3001"]
    # The same code on the same bundle: the same answers, to the bit, with or without the extras installed;
    # and the full install, where every optional module is importable, imports none of them either.
    assert slim == full
    assert full["imported"] == []


def test_an_app_runs_its_own_pytest_with_the_weights_plugin_on_the_base_install(slim_venv: Path,
                                                                                tmp_path: Path) -> None:
    """The base install registers the golden-case pytest plugin (entry point pytest11): an app's own test run,
    with YAML files of its own under tests/, must not need the gate to collect."""
    python = _venv_python(slim_venv)
    installed = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                                "pytest"], capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    assert installed.returncode == 0, installed.stderr
    app = tmp_path / "app"
    (app / "tests").mkdir(parents=True)
    (app / "tests" / "fixture.yaml").write_text("orders: [1, 2]\n")
    (app / "tests" / "test_app.py").write_text(
        "from validator.runtime import WeightsClient\n\n\ndef test_the_app_imports_the_client():\n"
        "    assert WeightsClient.__name__ == 'WeightsClient'\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    done = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--trace-config"], cwd=app,
                          env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "validator.gate.pytest_plugin" in done.stdout and "1 passed" in done.stdout


GATE_MESSAGE = ("weights: the weights command line needs the Python module 'click', which is not installed: "
                "pip install 'weights[gate]'")


@pytest.mark.parametrize("how, args, message", [
    ("console script", ["check"], GATE_MESSAGE),
    ("python -m validator", ["check"], GATE_MESSAGE),
    ("console script", ["--version"], GATE_MESSAGE),
    ("console script", ["agent", "--help"],
     "weights: weights agent needs the Python module 'click', which is not installed: pip install 'weights[agent]'"),
])
def test_the_cli_on_the_base_install_names_the_extra(slim_venv: Path, tmp_path: Path, how: str, args: list[str],
                                                     message: str) -> None:
    python = _venv_python(slim_venv)
    command = [str(python.parent / "weights")] if how == "console script" else [str(python), "-m", "validator"]
    done = subprocess.run([*command, *args], cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert (done.returncode, done.stdout, done.stderr.splitlines()) == (2, "", [message])
