"""The whole life of a weight change, with real git and the commands the GitHub workflows run.

A bare "origin" holds main with a trust root; the publish job (its ``run:`` steps read from
.github/workflows/weights-publish.yml, with the signing keys as the secrets it names) publishes it; an app's
``WeightsClient`` serves it over HTTP. An analyst's branch then raises the fraud model's approve threshold too
far: the gate (its steps read from weights-check.yml) exits 1 and the Markdown comment names the guardrail. A
smaller step passes, the branch is merged, the publish job runs again on the merge commit, and the running
client swaps to the new version, where an order it used to send to review is approved.

Only the install steps are left out (the project is installed already); everything else runs as the
workflow files say, so a workflow edit that breaks the lifecycle fails here.
"""
from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping

import yaml

from validator.publish.keys import ONLINE_ROLES, env_name
from validator.publish.serve import StaticServer
from validator.report import MARKER
from validator.runtime import WeightsClient

PROJECT = Path(__file__).resolve().parents[1]
WORKFLOWS = PROJECT / ".github" / "workflows"
GIT_ENV = {"GIT_AUTHOR_NAME": "Ana Lyst", "GIT_AUTHOR_EMAIL": "analyst@example.com",
           "GIT_COMMITTER_NAME": "Ana Lyst", "GIT_COMMITTER_EMAIL": "analyst@example.com",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
THRESHOLD = re.compile(r"\{decision: approve, below: [0-9.]+\}")
# Upper bound of every wait on the running client (a bundle to load, a new version to arrive): far above what
# the slowest runner needs, so only a client that never gets there fails; a fast one returns at once.
CLIENT_WAIT = 120.0
# Upper bound of one workflow step (a whole `weights check` with replay): a hang fails, a slow runner does not.
STEP_WAIT = 900


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV})
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def set_approve_threshold(clone: Path, value: str) -> None:
    path = clone / "weights" / "fraud_risk.yaml"
    text, count = THRESHOLD.subn(f"{{decision: approve, below: {value}}}", path.read_text())
    assert count == 1
    path.write_text(text)


class WorkflowJob:
    """Runs one job's ``run:`` steps the way a GitHub runner does: ``bash -eo pipefail``, the step's and the
    job's ``env:`` with their ``${{ }}`` expressions resolved, ``if:`` conditions, and $GITHUB_OUTPUT."""

    def __init__(self, file: str, context: Mapping[str, str], skip_ids: tuple[str, ...] = ("install",),
                 job: str | None = None) -> None:
        workflow = yaml.safe_load((WORKFLOWS / file).read_text())
        jobs = workflow["jobs"]
        if job is None:
            assert len(jobs) == 1, f"{file} has jobs {sorted(jobs)}: name the one to run"
            (self.job,) = jobs.values()
        else:
            self.job = jobs[job]
        self.file = file
        self.context = dict(context)
        self.skip_ids = skip_ids

    def _expr(self, expr: str, outcomes: Mapping[str, str], outputs: Mapping[str, dict[str, str]]) -> str:
        expr = expr.strip()
        step = re.fullmatch(r"steps\.(\w+)\.(outcome|outputs\.(\w+))", expr)
        if step:
            name = step.group(1)
            if step.group(2) == "outcome":
                return outcomes.get(name, "")
            return outputs.get(name, {}).get(step.group(3), "")
        assert expr in self.context, f"{self.file}: the test does not know the value of ${{{{ {expr} }}}}"
        return self.context[expr]

    def _resolve(self, value: Any, outcomes: Mapping[str, str], outputs: Mapping[str, dict[str, str]]) -> str:
        return re.sub(r"\$\{\{(.*?)\}\}", lambda m: self._expr(m.group(1), outcomes, outputs), str(value))

    def _should_run(self, condition: str | None, failed: bool, outcomes: Mapping[str, str]) -> bool:
        if condition is None:
            return not failed  # success(): GitHub's default
        terms = condition.strip().removeprefix("${{").removesuffix("}}").split("&&")
        for term in (t.strip() for t in terms):
            if term == "!cancelled()":
                continue
            match = re.fullmatch(r"steps\.(\w+)\.outcome == '(\w+)'", term)
            if match:
                if outcomes.get(match.group(1)) != match.group(2):
                    return False
                continue
            setting = re.fullmatch(r"(vars\.\w+) (==|!=) '([^']*)'", term)
            assert setting, f"{self.file}: the test cannot evaluate the condition {term!r}"
            name, op, value = setting.groups()
            assert name in self.context, f"{self.file}: the test does not know the value of {name}"
            if (self.context[name] == value) != (op == "=="):
                return False
        return True

    def run(self, cwd: Path, tmp: Path) -> dict[str, Any]:
        """Run the job in ``cwd``; returns outcomes per step id, the combined output, and the step summary."""
        summary = tmp / "step_summary.md"
        summary.write_text("")
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("WEIGHTS_", "GITHUB_"))}
        base_env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base_env.get('PATH', '')}"
        base_env.update(GIT_ENV)
        base_env.update({"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "CI": "true"})
        base_env.update({k.removeprefix("env."): v for k, v in self.context.items() if k.startswith("env.")})
        outcomes: dict[str, str] = {}
        outputs: dict[str, dict[str, str]] = {}
        log: list[str] = []
        failed = False
        for index, step in enumerate(self.job["steps"]):
            step_id = step.get("id", f"step{index}")
            if "run" not in step or step_id in self.skip_ids:
                continue
            if not self._should_run(step.get("if"), failed, outcomes):
                outcomes[step_id] = "skipped"
                continue
            output_file = tmp / f"output-{index}"
            output_file.write_text("")
            env = dict(base_env, GITHUB_OUTPUT=str(output_file))
            for scope in (self.job.get("env", {}), step.get("env", {})):
                env.update({k: self._resolve(v, outcomes, outputs) for k, v in scope.items()})
            script = self._resolve(step["run"], outcomes, outputs)
            done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd,
                                  env=env, capture_output=True, text=True, timeout=STEP_WAIT)
            log.append(f"--- {step.get('name')} (exit {done.returncode})\n{done.stdout}{done.stderr}")
            outcomes[step_id] = "success" if done.returncode == 0 else "failure"
            failed = failed or done.returncode != 0
            outputs[step_id] = dict(line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line)
        return {"outcomes": outcomes, "log": "\n".join(log), "summary": summary.read_text(), "failed": failed}


def clone(origin: Path, where: Path, branch: str = "main") -> Path:
    git(where.parent, "clone", "-q", "--branch", branch, str(origin), where.name)
    return where


def test_a_weight_change_from_branch_to_running_app(tmp_path: Path) -> None:
    # --- The team's repository: weights, contracts, golden cases, replay data, workflows, a trust root.
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    team = tmp_path / "team"
    team.mkdir()
    for folder in ("config", "weights", "tests/golden", "tests/data", ".github"):
        shutil.copytree(PROJECT / folder, team / folder, ignore=shutil.ignore_patterns("root.json", "*.py"))
    (team / ".gitignore").write_text("/.weights/\n")
    keys = tmp_path / "keys"  # the operator's machine: never in the repository
    done = subprocess.run([sys.executable, "-m", "validator", "keys", "init", "--keys-dir", str(keys)], cwd=team,
                          capture_output=True, text=True, env={**os.environ, **GIT_ENV})
    assert done.returncode == 0, done.stderr
    git(team, "init", "-q", "-b", "main")
    git(team, "add", "-A")
    git(team, "commit", "-q", "-m", "Weights, contracts and the trust root")
    git(team, "remote", "add", "origin", str(origin))
    git(team, "push", "-q", "origin", "main")

    # The repository secrets the README asks for, and where the app reads from.
    published = tmp_path / "published"
    secrets = {f"secrets.{env_name(r)}": (keys / f"{r}.pem").read_text() for r in ONLINE_ROLES}
    settings = {"vars.WEIGHTS_PUBLISH_TO": str(published), "vars.WEIGHTS_STORAGE_PACKAGES": "",
                "vars.WEIGHTS_CANARY_FRACTION": ""}  # no canary: every merge goes live at once

    def publish_main(label: str) -> str:
        runner = clone(origin, tmp_path / f"runner-publish-{label}")
        sha = git(runner, "rev-parse", "HEAD")
        job = WorkflowJob("weights-publish.yml", {**secrets, **settings, "env.GITHUB_SHA": sha}, job="publish")
        scratch = tmp_path / f"publish-{label}-tmp"
        scratch.mkdir()
        result = job.run(runner, scratch)
        assert not result["failed"], result["log"]
        assert f"commit    {sha}" in result["summary"], result["summary"]
        return sha

    first = publish_main("first")

    # --- The app: a client polling the published repository over HTTP, trusting the committed root.
    server = StaticServer(published, port=0).start()
    swapped: queue.Queue[str | None] = queue.Queue()  # the commit of every bundle the client swaps in
    client = WeightsClient(server.url, (team / "config" / "root.json").read_bytes(), tmp_path / "app-cache",
                           interval=0.1, jitter=0.0, timeout=30.0, deadline=60.0,
                           on_change=lambda old, new: swapped.put(new.commit))
    try:
        client.start()
        assert client.wait_ready(CLIENT_WAIT), client.status()
        assert client.snapshot.commit == first
        version_before = int(client.version)
        old_model = client.model("fraud_risk")

        # --- The analyst's branch: fewer manual reviews, by approving up to a score of 0.44.
        analyst = clone(origin, tmp_path / "analyst")
        git(analyst, "checkout", "-q", "-b", "fewer-reviews")
        set_approve_threshold(analyst, "0.44")
        git(analyst, "commit", "-q", "-am", "Approve more orders without review")
        git(analyst, "push", "-q", "origin", "fewer-reviews")

        def gate(label: str) -> dict[str, Any]:
            runner = tmp_path / f"runner-check-{label}"
            git(tmp_path, "clone", "-q", str(origin), runner.name)  # all branches as origin/*, like fetch-depth: 0
            git(runner, "checkout", "-q", "--detach", "origin/fewer-reviews")
            (tmp_path / f"check-{label}-tmp").mkdir()
            job = WorkflowJob("weights-check.yml", {"github.base_ref": "main", "github.event.pull_request.number": "7"})
            result = job.run(runner, tmp_path / f"check-{label}-tmp")
            result["report"] = (runner / "weights-report" / "report.md").read_text()
            result["pr"] = (runner / "weights-report" / "pr-number").read_text().strip()
            for name in ("report.html", "report.json"):
                assert (runner / "weights-report" / name).is_file()
            return result

        breach = gate("breach")
        named = {k: v for k, v in breach["outcomes"].items() if not k.startswith("step")}
        assert named == {"base": "success", "validate": "success", "test": "success", "simulate": "failure"}, \
            breach["log"]
        assert breach["pr"] == "7"
        comment = breach["report"]
        assert comment.startswith(MARKER)
        assert "guardrail.max_decision_flip_rate" in comment and "BREACHED" in comment
        assert "::error file=weights/fraud_risk.yaml" in breach["log"]  # the annotation on the changed line
        assert "max_decision_flip_rate" in breach["summary"]           # the job summary

        # --- The fix: a smaller step, pushed to the same branch; the gate passes.
        set_approve_threshold(analyst, "0.40")
        git(analyst, "commit", "-q", "-am", "A smaller step: approve up to 0.40")
        git(analyst, "push", "-q", "origin", "fewer-reviews")
        fixed = gate("fixed")
        assert not fixed["failed"], fixed["log"]
        assert "weights check passed" in fixed["report"]

        # --- The merge, and the publish job on the merge commit.
        git(team, "pull", "-q", "origin", "main")
        git(team, "fetch", "-q", "origin", "fewer-reviews")
        git(team, "merge", "-q", "--no-ff", "-m", "Merge pull request #7 from fewer-reviews", "origin/fewer-reviews")
        git(team, "push", "-q", "origin", "main")
        merged = publish_main("merged")
        assert merged != first

        # --- The running client picks the new version up by itself.
        while client.snapshot.commit != merged:
            try:
                swapped.get(timeout=CLIENT_WAIT)
            except queue.Empty:
                raise AssertionError(f"the client did not swap to {merged} in {CLIENT_WAIT} s: "
                                     f"{client.status()}") from None
        assert int(client.version) > version_before
        new_model = client.model("fraud_risk")
        order = _order_scoring_between(old_model, 0.35, 0.40)
        assert old_model.score(order).decision == "review"
        assert new_model.score(order).decision == "approve"
    finally:
        client.stop()
        server.stop()


def _order_scoring_between(model: Any, low: float, high: float) -> dict[str, Any]:
    """An order from the replay data that the old weights scored within [low, high): the ones the change moves."""
    import pyarrow.parquet as pq

    table = pq.read_table(PROJECT / "tests" / "data" / "fraud_orders.parquet")
    inputs = [n for n in table.schema.names if n not in ("order_id", "is_fraud")]
    for batch in table.to_batches(max_chunksize=2000):
        for row in batch.to_pylist():
            order = {k: row[k] for k in inputs if row[k] is not None}
            if low <= model.score(order).value < high:
                return order
    raise AssertionError(f"no order in the replay data scores in [{low}, {high})")
