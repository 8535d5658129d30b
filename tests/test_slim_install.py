"""``pip install weights`` (no extra) is what an app needs, and all it gets; each extra is enough for its job.

One fresh venv per test session, the project installed into it non-editable from a copy of its source, as an
app's build would (pip may fetch the base dependencies and the build backend from the package index). Then:
none of the extras' distributions is installed; an app script in that venv polls a repository that the
project's own ``weights publish`` signed and answers with every model exactly as the full install does; the
app's own pytest run loads the golden-case plugin without the gate; and the ``weights`` command there says
which extra to install (exit 2) instead of a traceback. The ``[gate]`` and ``[agent]`` extras, as the installed
metadata declares them, are installed into ``--target`` folders beside the venv (so it stays the base install)
and run ``weights check --all`` / ``weights test`` and ``weights agent`` without the other extras.
"""
from __future__ import annotations

import json
import os
import re
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


def _clean_env(path: Path | None = None) -> dict[str, str]:
    """The environment of a child in the slim venv: no PYTHONPATH (or only ``path``) and no WEIGHTS_* settings."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME") and not k.startswith("WEIGHTS_")}
    if path is not None:
        env["PYTHONPATH"] = str(path)
    return env


def _in_venv(args: list[str], cwd: Path, *, path: Path | None = None,
             timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    """Run ``args`` (a venv's program first) from ``cwd``, never from the checkout: ``python -m`` puts the current
    folder on sys.path, and the checkout's own ``validator/`` and ``weights.egg-info`` would stand in for the
    installed distribution."""
    return subprocess.run(args, cwd=cwd, env=_clean_env(path), capture_output=True, text=True, timeout=timeout)


def _pip_install(python: Path, cwd: Path, *requirements: str, target: Path | None = None) -> None:
    where = ["--target", str(target)] if target is not None else []
    done = _in_venv([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *where,
                     *requirements], cwd, timeout=INSTALL_TIMEOUT)
    assert done.returncode == 0, f"pip install {' '.join(requirements)} failed:\n{done.stdout}\n{done.stderr}"


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
    _pip_install(_venv_python(venv), where, str(source))
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
    done = _in_venv([str(python), str(PROJECT / "tests" / "slim_app.py"), str(config)], work)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_base_install_has_none_of_the_extras(slim_venv: Path) -> None:
    listed = _in_venv([str(_venv_python(slim_venv)), "-m", "pip", "list", "--format", "json",
                       "--disable-pip-version-check"], slim_venv)
    assert listed.returncode == 0, listed.stderr
    names = {_normal(entry["name"]) for entry in json.loads(listed.stdout)}
    assert {"weights", "tuf", "pyyaml", "urllib3", "cryptography"} <= names
    assert sorted(names & {_normal(n) for n in NOT_IN_BASE}) == []


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
    tools = tmp_path / "pytest"  # beside the venv, so the session's base venv stays as pip made it
    _pip_install(python, tmp_path, "pytest", target=tools)
    app = tmp_path / "app"
    (app / "tests").mkdir(parents=True)
    (app / "tests" / "fixture.yaml").write_text("orders: [1, 2]\n")
    (app / "tests" / "test_app.py").write_text(
        "from validator.runtime import WeightsClient\n\n\ndef test_the_app_imports_the_client():\n"
        "    assert WeightsClient.__name__ == 'WeightsClient'\n")
    done = _in_venv([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--trace-config"], app, path=tools)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "validator.gate.pytest_plugin" in done.stdout and "1 passed" in done.stdout


def test_the_agent_extra_serves_without_the_gate(slim_venv: Path, published: dict[str, Path],
                                                 tmp_path: Path) -> None:
    """``pip install 'weights[agent]'`` is enough for ``weights agent`` (a container holds nothing of the gate).

    The extra's requirements, as the installed distribution declares them, go with ``--target`` into a folder
    put on PYTHONPATH, so the session's base venv stays as pip made it.
    """
    from agent_helpers import AGENT_LINE, read_url, stop

    python = _venv_python(slim_venv)
    target = tmp_path / "agent-extra"
    _pip_install(python, tmp_path, *_extra_requirements(python, "agent", tmp_path), target=target)
    names = _installed_names(target)
    assert {"starlette", "uvicorn", "click", "prometheus-client"} <= names
    gate = {_normal(n) for n in NOT_IN_BASE} - {"starlette", "uvicorn", "click", "prometheus-client"}
    assert sorted(names & gate) == []
    contract = published["repo"] / "config" / "contracts" / "checkout.yaml"
    with served(published["site"]) as server:
        agent = subprocess.Popen(
            [str(python), "-m", "validator", "agent", "--url", server.url, "--root", str(published["root"]),
             "--cache-dir", str(tmp_path / "agent-cache"), "--port", "0", "--interval", "0.2",
             "--contract", str(contract)],
            cwd=tmp_path, env=_clean_env(target), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            url = read_url(agent, AGENT_LINE)
            order = golden_requests()["fraud_risk"]
            answer = _post_when_ready(url + "v1/models/fraud_risk/score", order)
        finally:
            code, err = stop(agent)
    assert answer["decision"] == "decline", answer
    assert code == 0 and "Traceback" not in err, err


def _extra_requirements(python: Path, extra: str, cwd: Path) -> list[str]:
    """What the installed distribution declares for ``extra`` (its metadata, not pyproject.toml's text)."""
    declared = _in_venv([str(python), "-c", "import json; from importlib.metadata import requires; "
                         "print(json.dumps(requires('weights')))"], cwd)
    assert declared.returncode == 0, declared.stderr
    marker = f'extra == "{extra}"'
    found = [r.split(";")[0].strip() for r in json.loads(declared.stdout) if marker in r]
    assert found, declared.stdout
    return found


def _normal(name: str) -> str:
    """A distribution name as PEP 503 compares them (ruamel.yaml, ruamel_yaml and Ruamel-YAML are one)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed_names(target: Path) -> set[str]:
    """The distributions installed into a ``--target`` folder (``<name>-<version>.dist-info``)."""
    return {_normal(p.name.split("-")[0]) for p in target.glob("*.dist-info")}


def test_the_gate_extra_runs_the_gate_without_the_other_extras(slim_venv: Path, tmp_path: Path) -> None:
    """``pip install 'weights[gate]'`` is the analysts' CLI: ``weights check --all`` (validate, golden cases,
    replay of the sample data, the table kind's CSV) and ``weights test`` pass without pandas, scikit-learn,
    pyspark, redis or the agent's stack."""
    python = _venv_python(slim_venv)
    target = tmp_path / "gate-extra"
    _pip_install(python, tmp_path, *_extra_requirements(python, "gate", tmp_path), target=target)
    others = {"pandas", "scikit-learn", "pyspark", "redis", "starlette", "uvicorn", "prometheus-client"}
    assert {"numpy", "pyarrow", "click", "jsonschema", "duckdb", "ruamel-yaml"} <= _installed_names(target)
    assert sorted(_installed_names(target) & others) == []
    repo = make_repo(tmp_path / "repo")
    for folder in ("golden", "data"):
        shutil.copytree(PROJECT / "tests" / folder, repo / "tests" / folder, ignore=shutil.ignore_patterns("*.py"))
    commit_all(repo, "golden cases and sample data")
    for args in (["check", "--all", "--format", "json"], ["test"]):
        done = _in_venv([str(python), "-m", "validator", *args], repo, path=target)
        assert done.returncode == 0, f"weights {' '.join(args)}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"


def _post_when_ready(url: str, body: Any) -> dict[str, Any]:
    """POST once the agent is ready (it answers 503 until its first bundle); bounded by the agent's first poll."""
    import time
    import urllib.error
    import urllib.request

    ready = url.split("/v1/")[0] + "/readyz"
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(ready, timeout=RUN_TIMEOUT):
                break
        except urllib.error.HTTPError as exc:
            if exc.code != 503 or time.monotonic() > deadline:
                raise
        time.sleep(0.05)
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=RUN_TIMEOUT) as response:
        return json.loads(response.read())


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
    done = _in_venv([*command, *args], tmp_path)
    assert (done.returncode, done.stdout, done.stderr.splitlines()) == (2, "", [message])
