"""The agent's Dockerfile, checked statically (no Docker engine is needed, or available on CI): a slim Python
base, non-root, a python HEALTHCHECK on /healthz, EXPOSE and the WEIGHTS_* settings agreeing with the
``weights agent`` command, no ADD and nothing secret in the build context; and the context the .dockerignore
lets through really builds the wheel the image installs.
"""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
DOCKERFILE = PROJECT / "Dockerfile"
DOCKERIGNORE = PROJECT / ".dockerignore"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions with continuation lines joined and comments dropped."""
    out: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        keyword, _, args = full.partition(" ")
        out.append(Instruction(keyword.upper(), args.strip(), start))
    return out


def final_stage(items: list[Instruction]) -> list[Instruction]:
    last = max(i for i, item in enumerate(items) if item.keyword == "FROM")
    return items[last:]


def env_of(stage: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in stage:
        if item.keyword == "ENV":
            for token in shlex.split(item.args):
                key, _, value = token.partition("=")
                env[key] = value
    return env


@pytest.fixture(scope="module")
def stage() -> list[Instruction]:
    return final_stage(instructions(DOCKERFILE.read_text()))


def agent_options() -> dict[str, object]:
    from validator.cli import cli

    return {p.name: p for p in cli.commands["agent"].params}


def test_base_image_is_python_slim():
    items = instructions(DOCKERFILE.read_text())
    args = {m.group(1): m.group(2) for item in items if item.keyword == "ARG"
            for m in [re.match(r"(\w+)=(\S+)", item.args)] if m}
    for item in items:
        if item.keyword == "FROM":
            image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], item.args.split()[0])
            assert re.fullmatch(r"python:3\.\d+-slim(-\w+)?", image), image


def test_runs_as_a_non_root_user(stage):
    users = [item.args for item in stage if item.keyword == "USER"]
    assert users, "the final stage sets no USER: the agent would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0") and (not user.isdigit() or int(user) >= 1000), user


def test_healthcheck_uses_python_on_healthz(stage):
    checks = [item.args for item in stage if item.keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    check = checks[0]
    assert "CMD" in check and '"python"' in check and "/healthz" in check and "curl" not in check
    command = re.search(r'CMD (\[.*\])', check).group(1)
    import json

    argv = json.loads(command)
    assert argv[:2] == ["python", "-c"]
    compile(argv[2], "HEALTHCHECK", "exec")  # the probe is valid Python


def test_expose_and_settings_match_the_agent_command(stage):
    options = agent_options()
    env = env_of(stage)
    exposed = [item.args for item in stage if item.keyword == "EXPOSE"]
    assert exposed == [str(options["port"].default)] == [env["WEIGHTS_PORT"]]
    envvars = {p.envvar for p in options.values() if getattr(p, "envvar", None)}
    for key in env:
        if key.startswith("WEIGHTS_") and key != "WEIGHTS_LOG_DIR":  # WEIGHTS_LOG_DIR: every command's crash logs
            assert key in envvars, f"{key} is not a setting of weights agent"
    assert env["WEIGHTS_HOST"] == "0.0.0.0"  # reachable from outside the container's loopback
    volumes = " ".join(item.args for item in stage if item.keyword == "VOLUME")
    assert env["WEIGHTS_CACHE_DIR"] in volumes and env["WEIGHTS_LOG_DIR"].startswith(env["WEIGHTS_CACHE_DIR"])
    assert env.get("PYTHONDONTWRITEBYTECODE") == "1"  # nothing written to a read-only root filesystem
    entry = [item.args for item in stage if item.keyword == "ENTRYPOINT"]
    assert entry == ['["weights", "agent"]']


def test_no_add_and_no_secrets_copied():
    items = instructions(DOCKERFILE.read_text())
    assert not [item for item in items if item.keyword == "ADD"], "ADD fetches URLs and unpacks archives: use COPY"
    for item in items:
        if item.keyword == "COPY":
            sources = [s for s in item.args.split()[:-1] if not s.startswith("--")]
            for source in sources:
                assert not re.search(r"key|secret|\.pem|\.env|\.weights|root\.json", source, re.I), source
                assert (PROJECT / source).exists(), source
        assert not re.search(r"WEIGHTS_KEY|PRIVATE|PASSWORD|TOKEN", item.args), item


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def in_context(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: the last pattern matching the path (or a folder above it) decides; '!' re-includes."""
    parts = path.split("/")
    included = True
    for negate, regex in rules:
        if any(regex.fullmatch("/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            included = negate
    return included


def context_rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in DOCKERIGNORE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            negate = line.startswith("!")
            rules.append((negate, _glob_regex(line.lstrip("!").rstrip("/"))))
    return rules


def test_dockerignore_is_an_allowlist_without_secrets():
    rules = context_rules()
    assert rules[0] == (False, _glob_regex("*")), ".dockerignore must start by excluding everything"
    for path in [".weights/keys/root.pem", ".git/config", ".venv/bin/python", "config/root.json", "tests/x.py",
                 "validator/__pycache__/a.pyc", "weights/fraud_risk.yaml"]:
        assert not in_context(path, rules), path
    for path in ["pyproject.toml", "README.md", "validator/agent/app.py"]:
        assert in_context(path, rules), path


def test_the_build_context_builds_the_package(tmp_path):
    """What the .dockerignore lets through is enough for the Dockerfile's `pip wheel .`: setuptools' PEP 517
    backend (what pip calls) builds the source distribution from it offline, finding the package, the readme
    and the version, with the agent and its extra in it. (The wheel step itself needs the `wheel` package,
    which the image's pip brings and this environment's setuptools 65 lacks.)"""
    rules = context_rules()
    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT, capture_output=True, text=True, check=True)
    context = tmp_path / "context"
    for rel in tracked.stdout.splitlines():
        if in_context(rel, rules) and (PROJECT / rel).is_file():
            (context / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT / rel, context / rel)
    assert not (context / "tests").exists() and not (context / "config").exists()
    built = subprocess.run([sys.executable, "-c", "import sys, setuptools.build_meta as backend; "
                            "print(backend.build_sdist(sys.argv[1]))", str(tmp_path / "dist")],
                           cwd=context, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    sdist = tmp_path / "dist" / built.stdout.strip().splitlines()[-1]
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
        pkg_info = archive.extractfile(next(n for n in names if n.endswith("/PKG-INFO"))).read().decode()
    assert any(n.endswith("validator/agent/app.py") for n in names)
    assert any(n.endswith("validator/cli/agent_commands.py") for n in names)
    assert "Provides-Extra: agent" in pkg_info
