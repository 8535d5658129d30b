"""The nightly update, end to end: events -> `weights update` -> `weights check` -> the pull request's inputs.

A bare "origin" holds main (the project's config/, weights/, golden cases and sample data). A runner clone of it
gets tonight's events extract (a Parquet file of clicks, where the bandit's ``update:`` block points), then the
two jobs of .github/workflows/weights-update.yml run the way a GitHub runner runs them: the plan job lists the
bandits with an update source, its output becomes the update job's matrix, and every ``run:`` step runs in
``bash -eo pipefail`` with its ``env:`` and ``if:`` resolved, against the real ``weights`` command.

GitHub's parts cannot run here: the pull-request action and ``gh``. The test stops at what they receive: the
branch, the file to commit and the body file of the action, and which of the two ``gh`` steps (auto-merge on,
or left for a human) would run on the pull request number the action reports. Checkout, setup-python and the
install steps are left out (the runner clone is the checkout; the project is installed already).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from validator.report import MARKER

PROJECT = Path(__file__).resolve().parents[1]
WORKFLOW = PROJECT / ".github" / "workflows" / "weights-update.yml"
MODEL = "homepage_hero"
MODEL_FILE = f"weights/{MODEL}.yaml"
GIT_ENV = {"GIT_AUTHOR_NAME": "Ana Lyst", "GIT_AUTHOR_EMAIL": "analyst@example.com",
           "GIT_COMMITTER_NAME": "Ana Lyst", "GIT_COMMITTER_EMAIL": "analyst@example.com",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
# Upper bound of one workflow step (an update plus a `weights check` with its replay): a hang fails, a slow
# runner does not.
STEP_WAIT = 900
# What the pull-request action reports when it opened or updated the pull request.
PR_NUMBER = "42"
# The counts the project's weights/homepage_hero.yaml holds: (successes, failures) per arm.
COUNTS = {"hero_spring_sale": (412, 9588), "hero_free_shipping": (505, 9495),
          "hero_new_arrivals": (287, 7713), "hero_loyalty_points": (96, 2404)}
POSTERIOR = re.compile(r"posterior: \{successes: (\d+), failures: (\d+)\}")
# The comment beside an arm's counts that states them; weights update restates it for the new counts.
CTR_COMMENT = re.compile(r"\d+(?:\.\d+)?% CTR over (\d+) views")


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV})
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


# --------------------------------------------------------------------------------------- the runner

def _load_workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    if True in data:  # PyYAML reads the key `on` as the boolean true (YAML 1.1)
        data["on"] = data.pop(True)
    return data


@dataclass
class JobRun:
    """What one job did: step outcomes and outputs, the log and summary, and the steps GitHub's tools would run."""

    outcomes: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    summary: str = ""
    # Steps this test does not execute (an action, `gh`): id -> {"with": ..., "env": ..., "run": ...} resolved.
    handed_over: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed: bool = False

    def text(self) -> str:
        return "\n".join(self.log)


class Runner:
    """Runs the jobs of weights-update.yml as a runner would, with the expressions its steps use resolved.

    ``context`` holds the values of contexts the test stands in for (``github.ref``, ``secrets.X``, ...).
    The expression language covered is what this workflow needs: context paths, string literals, ``==``,
    ``!=``, ``&&``, ``||`` and ``fromJSON``; anything else fails the test with the expression named.
    """

    NOT_RUN = ("install",)  # the project is installed in this interpreter already
    ACTIONS_HERE = ("actions/checkout@", "actions/setup-python@")  # the clone is the checkout; Python is here

    def __init__(self, context: Mapping[str, str], action_outputs: Mapping[str, Mapping[str, str]]) -> None:
        self.workflow = _load_workflow()
        self.context = dict(context)
        self.action_outputs = action_outputs  # what a GitHub action reports, by the action's name

    # -- expressions
    def _value(self, term: str, scope: Mapping[str, Any]) -> Any:
        term = term.strip()
        literal = re.fullmatch(r"'((?:[^']|'')*)'", term)
        if literal:
            return literal.group(1).replace("''", "'")
        call = re.fullmatch(r"fromJSON\((.*)\)", term)
        if call:
            return json.loads(self._value(call.group(1), scope))
        if term == "!cancelled()":
            return True
        step = re.fullmatch(r"steps\.([\w-]+)\.(outcome|outputs\.([\w-]+))", term)
        if step:
            if step.group(2) == "outcome":
                return scope["outcomes"].get(step.group(1), "")
            return scope["outputs"].get(step.group(1), {}).get(step.group(3), "")
        needs = re.fullmatch(r"needs\.([\w-]+)\.outputs\.([\w-]+)", term)
        if needs:
            return scope["needs"][needs.group(1)].get(needs.group(2), "")
        matrix = re.fullmatch(r"matrix\.([\w-]+)", term)
        if matrix:
            return scope["matrix"][matrix.group(1)]
        assert term in self.context, f"{WORKFLOW.name}: the test does not know the value of ${{{{ {term} }}}}"
        return self.context[term]

    def evaluate(self, expr: str, scope: Mapping[str, Any]) -> Any:
        expr = expr.strip()
        if "||" in expr:
            for part in expr.split("||"):
                value = self.evaluate(part, scope)
                if value:
                    return value
            return value
        if "&&" in expr:
            return all(self.evaluate(part, scope) for part in expr.split("&&"))
        compare = re.fullmatch(r"(.+?)\s*(==|!=)\s*(.+)", expr)
        if compare:
            left, right = (self._value(compare.group(i), scope) for i in (1, 3))
            return (left == right) == (compare.group(2) == "==")
        return self._value(expr, scope)

    def resolve(self, value: Any, scope: Mapping[str, Any]) -> str:
        text = str(value)
        whole = re.fullmatch(r"\$\{\{(.*?)\}\}", text.strip())
        if whole:
            return str(self.evaluate(whole.group(1), scope))
        return re.sub(r"\$\{\{(.*?)\}\}", lambda m: str(self.evaluate(m.group(1), scope)), text)

    def condition(self, value: str | None, scope: Mapping[str, Any], failed: bool) -> bool:
        if value is None:
            return not failed  # success(): GitHub's default
        expr = value.strip().removeprefix("${{").removesuffix("}}")
        if "cancelled()" not in expr and failed:
            return False  # GitHub adds success() && to a condition without a status function
        return bool(self.evaluate(expr, scope))

    # -- jobs
    def matrix_of(self, job: str, needs: Mapping[str, Mapping[str, str]]) -> list[dict[str, Any]]:
        strategy = self.workflow["jobs"][job].get("strategy", {})
        include = strategy.get("matrix", {}).get("include")
        if include is None:
            return [{}]
        return list(self.evaluate(include.strip().removeprefix("${{").removesuffix("}}"),
                                  {"needs": needs, "outcomes": {}, "outputs": {}}))

    def should_run(self, job: str, needs: Mapping[str, Mapping[str, str]]) -> bool:
        condition = self.workflow["jobs"][job].get("if")
        return condition is None or bool(self.evaluate(condition, {"needs": needs, "outcomes": {}, "outputs": {}}))

    def job_outputs(self, job: str, run: JobRun) -> dict[str, str]:
        scope = {"outcomes": run.outcomes, "outputs": run.outputs, "needs": {}, "matrix": {}}
        return {k: self.resolve(v, scope) for k, v in self.workflow["jobs"][job].get("outputs", {}).items()}

    def run_job(self, job: str, cwd: Path, tmp: Path, needs: Mapping[str, Mapping[str, str]] | None = None,
                matrix: Mapping[str, Any] | None = None) -> JobRun:
        spec = self.workflow["jobs"][job]
        run = JobRun()
        scope: dict[str, Any] = {"outcomes": run.outcomes, "outputs": run.outputs, "needs": needs or {},
                                 "matrix": matrix or {}}
        tmp.mkdir(parents=True, exist_ok=True)
        summary = tmp / "step_summary.md"
        summary.write_text("")
        runner_temp = tmp / "runner_temp"
        runner_temp.mkdir()
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("WEIGHTS_", "GITHUB_", "RUNNER_"))}
        base_env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base_env.get('PATH', '')}"
        base_env.update(GIT_ENV)
        base_env.update({"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "CI": "true",
                         "RUNNER_TEMP": str(runner_temp), "NO_COLOR": "1"})
        for index, step in enumerate(spec["steps"]):
            step_id = step.get("id", f"step{index}")
            uses = step.get("uses", "")
            if step_id in self.NOT_RUN or uses.startswith(self.ACTIONS_HERE):
                continue
            if not self.condition(step.get("if"), scope, run.failed):
                run.outcomes[step_id] = "skipped"
                continue
            env = dict(base_env)
            for level in (spec.get("env", {}), step.get("env", {})):
                env.update({k: self.resolve(v, scope) for k, v in level.items()})
            if uses:  # an action of GitHub's world: record its inputs, report its outputs
                name = uses.split("@", 1)[0]
                assert name in self.action_outputs, f"{WORKFLOW.name}: the test has no stand-in for {uses}"
                run.handed_over[step_id] = {"with": {k: self.resolve(v, scope) for k, v in step["with"].items()}}
                run.outputs[step_id] = dict(self.action_outputs[name])
                run.outcomes[step_id] = "success"
                continue
            script = self.resolve(step["run"], scope)
            if re.search(r"(?:^|\$\(|;|then)\s*gh\s", script, re.M):
                # `gh` talks to GitHub: record what it would be given.
                run.handed_over[step_id] = {"env": {k: env[k] for k in step.get("env", {})}, "run": script}
                run.outcomes[step_id] = "success"
                continue
            output_file = tmp / f"output-{index}"
            output_file.write_text("")
            env["GITHUB_OUTPUT"] = str(output_file)
            done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd,
                                  env=env, capture_output=True, text=True, timeout=STEP_WAIT)
            run.log.append(f"--- {step.get('name')} (exit {done.returncode})\n{done.stdout}{done.stderr}")
            run.outcomes[step_id] = "success" if done.returncode == 0 else "failure"
            run.failed = run.failed or done.returncode != 0
            run.outputs[step_id] = dict(line.split("=", 1) for line in output_file.read_text().splitlines()
                                        if "=" in line)
        run.summary = summary.read_text()
        return run


# --------------------------------------------------------------------------------------- the repository

def events(counts: Mapping[str, tuple[int, int]]) -> pa.Table:
    """Every homepage view since each campaign started: one row per view, `success` when the hero was clicked."""
    arms: list[str] = []
    success: list[bool] = []
    for arm, (clicks, misses) in counts.items():
        arms += [arm] * (clicks + misses)
        success += [True] * clicks + [False] * misses
    return pa.table({"arm": pa.array(arms, pa.string()), "success": pa.array(success, pa.bool_())})


def update_source(model_file: Path) -> Path:
    """The events file the model's `update:` block names (relative to the repository)."""
    block = yaml.safe_load(model_file.read_text(encoding="utf-8")).get("update")
    assert isinstance(block, dict) and "from" in block, \
        f"{model_file.name} declares no `update: {{from: FILE}}` (weights update reads it)"
    return Path(block["from"])


@pytest.fixture()
def origin(tmp_path: Path) -> Path:
    """A bare origin whose main holds the project's weights, contracts, golden cases and sample data."""
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    team = tmp_path / "team"
    team.mkdir()
    for folder in ("config", "weights", "tests/golden", "tests/data", ".github"):
        shutil.copytree(PROJECT / folder, team / folder, ignore=shutil.ignore_patterns("root.json", "*.py"))
    (team / ".gitignore").write_text("/.weights/\n")
    git(team, "init", "-q", "-b", "main")
    git(team, "add", "-A")
    git(team, "commit", "-q", "-m", "Weights, contracts, golden cases and sample data")
    git(team, "remote", "add", "origin", str(bare))
    git(team, "push", "-q", "origin", "main")
    return bare


def nightly(origin: Path, tmp_path: Path, label: str, counts: Mapping[str, tuple[int, int]],
            edit: Any = None) -> dict[str, Any]:
    """One scheduled run on main, after tonight's extract with ``counts`` has landed where the model reads it.

    ``edit(path)`` changes the model file in the runner's work tree before the jobs run (standing for an edit
    that is new against main). Returns the plan, the update job's run, the model file before and after.
    """
    runner = tmp_path / f"runner-{label}"
    git(tmp_path, "clone", "-q", "--branch", "main", str(origin), runner.name)
    model_path = runner / MODEL_FILE
    if edit is not None:
        edit(model_path)
    before = model_path.read_text(encoding="utf-8")
    source = runner / update_source(model_path)
    source.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(events(counts), source)

    context = {"github.ref": "refs/heads/main", "github.token": "ghs_test_token", "github.repository": "acme/weights",
               "secrets.WEIGHTS_UPDATE_TOKEN": ""}
    runner_jobs = Runner(context, {"peter-evans/create-pull-request": {
        "pull-request-number": PR_NUMBER, "pull-request-operation": "created"}})
    assert runner_jobs.should_run("plan", {})
    plan = runner_jobs.run_job("plan", runner, tmp_path / f"{label}-plan")
    assert not plan.failed, plan.text()
    needs = {"plan": runner_jobs.job_outputs("plan", plan)}
    assert runner_jobs.should_run("update", needs), needs
    (matrix,) = runner_jobs.matrix_of("update", needs)  # the project declares one bandit with an update source
    assert matrix == {"model": MODEL, "file": MODEL_FILE}
    update = runner_jobs.run_job("update", runner, tmp_path / f"{label}-update", needs, matrix)
    return {"update": update, "before": before, "after": model_path.read_text(encoding="utf-8"), "runner": runner}


def posteriors(text: str) -> list[tuple[int, int]]:
    return [(int(s), int(f)) for s, f in POSTERIOR.findall(text)]


def rest(line: str) -> str:
    """A line without its counts and the comment stating them, spacing before a comment collapsed."""
    return re.sub(r"\s+#", " #", CTR_COMMENT.sub("", POSTERIOR.sub("", line)))


def assert_only_counts_changed(before: str, after: str) -> None:
    """Every line is as it was except the posterior counts (and the comment stating them): the analysts'
    comments, key order and layout survive the update."""
    old, new = before.splitlines(), after.splitlines()
    assert len(old) == len(new)
    for a, b in zip(old, new, strict=True):
        if a == b:
            continue
        counts = POSTERIOR.search(b)
        assert POSTERIOR.search(a) and counts, f"a line other than counts changed:\n{a}\n{b}"
        # Longer numbers may take the padding before a trailing comment (so the comments stay in their column).
        assert rest(a) == rest(b), f"more than the counts changed:\n{a}\n{b}"
        stated = CTR_COMMENT.search(b)
        if CTR_COMMENT.search(a):  # a comment stating the old counts now states the new ones
            assert stated and int(stated.group(1)) == int(counts.group(1)) + int(counts.group(2)), b


def body_of(run: JobRun) -> str:
    path = Path(run.handed_over["pr"]["with"]["body-path"])
    return path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------- the nights

def test_a_small_change_opens_a_pull_request_that_merges_itself(origin: Path, tmp_path: Path) -> None:
    # Tonight's extract: a few hundred more views per campaign at about the click-through each had.
    counts = {"hero_spring_sale": (430, 9970), "hero_free_shipping": (530, 9870),
              "hero_new_arrivals": (300, 8000), "hero_loyalty_points": (110, 2690)}
    night = nightly(origin, tmp_path, "small", counts)
    run: JobRun = night["update"]
    assert not run.failed, run.text()
    assert run.outcomes["update"] == "success" and run.outputs["update"]["changed"] == "true"

    # The file: the counts are the totals of the extract, every comment and line around them as it was.
    assert posteriors(night["after"]) == list(counts.values())
    assert_only_counts_changed(night["before"], night["after"])
    status = git(night["runner"], "status", "--porcelain", "--", "weights")
    assert status == f"M {MODEL_FILE}", status  # only the model's file, and uncommitted: the action commits it

    # The gate passed; the pull request gets the impact report as its body, on the model's own branch.
    assert run.outputs["check"]["status"] == "0", run.text()
    pr = run.handed_over["pr"]["with"]
    assert pr["branch"] == f"weights-update/{MODEL}" and pr["base"] == "main"
    assert pr["add-paths"] == MODEL_FILE  # the extract in the work tree is not committed
    assert pr["token"] == "ghs_test_token"  # no WEIGHTS_UPDATE_TOKEN secret: the job's own token
    body = body_of(run)
    assert MARKER in body and "weights check passed" in body, body
    assert "max_share_change" in body and "min_arm_share" in body  # the guardrails and their values
    assert "auto-merge is on" in body

    # Auto-merge on, for the pull request the action reported; the hold step does not run.
    assert run.outputs["decide"]["automerge"] == "yes"
    automerge = run.handed_over["automerge"]
    assert automerge["env"]["PR"] == PR_NUMBER and automerge["env"]["GH_REPO"] == "acme/weights"
    assert 'gh pr merge --auto --squash "$PR"' in automerge["run"]
    assert run.outcomes["hold"] == "skipped"
    assert f"### {MODEL}: auto-merge yes" in run.summary


def test_a_guardrail_breach_leaves_the_pull_request_for_a_human(origin: Path, tmp_path: Path) -> None:
    # The loyalty campaign took off: a third of its views clicked. Thompson sampling would hand it the
    # homepage, a swing of more than 50 points in free shipping's share.
    counts = {**COUNTS, "hero_loyalty_points": (1500, 2500)}
    night = nightly(origin, tmp_path, "breach", counts)
    run: JobRun = night["update"]
    assert not run.failed, run.text()  # a breach is a verdict, not a broken job: the pull request still opens
    assert_only_counts_changed(night["before"], night["after"])
    assert run.outputs["check"]["status"] == "1", run.text()

    body = body_of(run)
    assert "BREACHED" in body and "max_share_change" in body, body
    assert "Left open for a human" in body and "guardrail max_share_change breached" in body

    assert run.outputs["decide"]["automerge"] == "no"
    assert run.outcomes["automerge"] == "skipped"
    hold = run.handed_over["hold"]
    assert hold["env"]["PR"] == PR_NUMBER and 'gh pr merge --disable-auto "$PR"' in hold["run"]
    assert f"### {MODEL}: auto-merge no" in run.summary and "Left open for a human" in run.summary


def test_a_check_that_passes_only_by_an_accept_is_not_merged_automatically(origin: Path, tmp_path: Path) -> None:
    """The decision reads the check's verdicts, not just its exit code: an accepted breach needs a person."""
    def tighten_and_accept(path: Path) -> None:
        # The file asks every arm for 10% of traffic and accepts the floors' 5% (an accept: new against main).
        text = path.read_text(encoding="utf-8").rstrip("\n")
        path.write_text(text + "\nguardrails:\n  min_arm_share: 0.1\naccept:\n"
                        "  - {guardrail: min_arm_share, up_to: 0.03, reason: the floors promise 5% only}\n",
                        encoding="utf-8")

    counts = {"hero_spring_sale": (430, 9970), "hero_free_shipping": (530, 9870),
              "hero_new_arrivals": (300, 8000), "hero_loyalty_points": (110, 2690)}
    night = nightly(origin, tmp_path, "accept", counts, edit=tighten_and_accept)
    run: JobRun = night["update"]
    assert not run.failed, run.text()
    assert "accept:" in night["after"] and posteriors(night["after"]) == list(counts.values())
    report = json.loads((tmp_path / "accept-update" / "runner_temp" / "weights-report" / "report.json").read_text())
    assert report["passed"] is True and run.outputs["check"]["status"] == "0"  # the gate passed ...
    assert run.outputs["decide"]["automerge"] == "no"                          # ... but not on its own
    assert "guardrail min_arm_share accepted" in body_of(run)
    assert run.outcomes["automerge"] == "skipped" and "hold" in run.handed_over


def test_a_night_without_new_events_opens_nothing(origin: Path, tmp_path: Path) -> None:
    night = nightly(origin, tmp_path, "quiet", COUNTS)  # the extract says what the file says
    run: JobRun = night["update"]
    assert not run.failed, run.text()
    assert night["after"] == night["before"]
    assert run.outputs["update"]["changed"] == "false"
    for step in ("check", "decide", "pr", "automerge", "hold"):
        assert run.outcomes[step] == "skipped", step
    assert not run.handed_over
    assert f"### {MODEL}: no change" in run.summary


def test_a_broken_extract_fails_the_job_and_opens_nothing(origin: Path, tmp_path: Path) -> None:
    counts = {**COUNTS, "hero_winter_sale": (5, 95)}  # an arm the bandit does not have
    night = nightly(origin, tmp_path, "unknown-arm", counts)
    run: JobRun = night["update"]
    assert run.failed and run.outcomes["update"] == "failure"
    assert "hero_winter_sale" in run.text()
    assert night["after"] == night["before"]  # nothing half-written
    assert not run.handed_over and run.outcomes["pr"] == "skipped"


def test_no_bandit_with_an_update_source_skips_the_update_job(origin: Path, tmp_path: Path) -> None:
    runner = tmp_path / "runner-none"
    git(tmp_path, "clone", "-q", "--branch", "main", str(origin), runner.name)
    model_path = runner / MODEL_FILE
    text, count = re.subn(r"(?m)^update:.*\n", "", model_path.read_text(encoding="utf-8"))
    assert count == 1
    model_path.write_text(text, encoding="utf-8")
    jobs = Runner({"github.ref": "refs/heads/main"}, {})
    plan = jobs.run_job("plan", runner, tmp_path / "none-plan")
    assert not plan.failed, plan.text()
    needs = {"plan": jobs.job_outputs("plan", plan)}
    assert needs["plan"]["models"] == "[]"
    assert not jobs.should_run("update", needs)


def test_the_jobs_run_on_main_only() -> None:
    """The pull requests target main: a run started by hand from another branch does nothing."""
    assert not Runner({"github.ref": "refs/heads/some-branch"}, {}).should_run("plan", {})
