"""The semantic diff: list items matched by identity, relative changes, positions, and ``weights diff``."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import git

from validator.gate.check import compare
from validator.gate.diff import Change, diff_data, render_value


def by_label(changes: list[Change]) -> dict[str, Change]:
    return {c.label: c for c in changes}


BASE = {
    "intercept": -3.2,
    "terms": [
        {"name": "new_account", "weight": 1.5, "bins": [{"to": 1, "value": 1.0}, {"from": 1, "value": 0.0}]},
        {"name": "payment_method", "weight": 1.0, "levels": {"card": 0.0, "gift_card": 1.0}},
    ],
    "bands": [{"decision": "approve", "below": 0.35}, {"decision": "review", "below": 0.7}, {"decision": "decline"}],
    "reasons": {"top": 3},
}


def test_values_are_matched_by_name_with_relative_change():
    head = json.loads(json.dumps(BASE))
    head["terms"][0]["weight"] = 1.8
    head["terms"][1]["levels"]["gift_card"] = 1.25
    head["bands"][0]["below"] = 0.3
    changes = by_label(diff_data(BASE, head))
    assert set(changes) == {"terms[new_account].weight", "terms[payment_method].levels.gift_card",
                            "bands[approve].below"}
    weight = changes["terms[new_account].weight"]
    assert (weight.op, weight.old, weight.new, weight.path) == ("changed", 1.5, 1.8, ("terms", 0, "weight"))
    assert abs(weight.relative - 0.2) < 1e-12
    assert weight.describe() == "terms[new_account].weight: 1.5 -> 1.8 (+20.0%)"
    assert changes["bands[approve].below"].describe() == "bands[approve].below: 0.35 -> 0.3 (-14.3%)"


def test_an_inserted_term_is_one_addition_not_a_shifted_list():
    head = json.loads(json.dumps(BASE))
    head["terms"].insert(0, {"name": "order_velocity", "weight": 1.0})
    (change,) = diff_data(BASE, head)
    assert (change.op, change.label, change.path) == ("added", "terms[order_velocity]", ("terms", 0))
    assert change.describe().startswith("terms[order_velocity]: added {")


def test_removed_keys_terms_and_reorders():
    head = json.loads(json.dumps(BASE))
    del head["terms"][1]
    del head["reasons"]
    head["bands"] = [head["bands"][1], head["bands"][0], head["bands"][2]]
    changes = by_label(diff_data(BASE, head))
    assert changes["terms[payment_method]"].op == "removed"
    assert changes["reasons"].op == "removed" and changes["reasons"].old == {"top": 3}
    reorder = changes["bands"]
    assert reorder.op == "reordered" and reorder.new == ["review", "approve", "decline"]


def test_lists_without_identity_compare_by_index_and_scalars_as_a_whole():
    head = json.loads(json.dumps(BASE))
    head["terms"][0]["bins"][0]["value"] = 1.2
    changes = by_label(diff_data(BASE, head))
    assert set(changes) == {"terms[new_account].bins[0].value"}
    assert diff_data({"in": ["house"]}, {"in": ["house", "premium"]})[0].describe() == \
        'in: ["house"] -> ["house", "premium"]'


def test_int_and_float_are_the_same_weight_but_bool_is_not_a_number():
    assert diff_data({"w": 1}, {"w": 1.0}) == []
    (change,) = diff_data({"x": True}, {"x": 1})
    assert change.relative is None
    assert render_value("x" * 100).endswith("…") and len(render_value("x" * 100)) == 60


def _commit_edit(repo: Path, old: str, new: str) -> None:
    path = repo / "weights" / "fraud_risk.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_repository_diff_positions_changes_on_the_head_file(git_repo: Path):
    _commit_edit(git_repo, "intercept: -3.2", "intercept: -3.4")
    (git_repo / "weights" / "churn_coupon.yaml").unlink()
    contract = git_repo / "config" / "contracts" / "checkout.yaml"
    contract.write_text(contract.read_text().replace("max: 50000", "max: 60000"), encoding="utf-8")
    _, _, repo_diff = compare(git_repo, "main", None)
    fraud = repo_diff.get("fraud_risk")
    (change,) = fraud.changes
    line = next(i for i, text in enumerate((git_repo / "weights" / "fraud_risk.yaml").read_text().splitlines(), 1)
                if text.startswith("intercept:"))
    assert (change.label, change.line, change.col) == ("intercept", line, 12)
    assert repo_diff.get("churn_coupon").status == "removed"
    checkout = repo_diff.get("checkout", contract=True)
    assert checkout.status == "changed" and checkout.changes[0].label == "inputs.order_amount.max"
    assert repo_diff.get("homepage_hero").status == "unchanged"


def _weights(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    env.update({"NO_COLOR": "1", "COLUMNS": "200"})
    return subprocess.run([sys.executable, "-m", "validator", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_weights_diff_command(git_repo: Path):
    _commit_edit(git_repo, "intercept: -3.2", "intercept: -3.4")
    git(git_repo, "commit", "-qam", "lower intercept")
    text = _weights(git_repo, "diff", "--base", "HEAD~1", "--head", "HEAD")
    assert text.returncode == 0, text.stderr
    assert "fraud_risk (scorecard, changed)" in text.stdout and "intercept: -3.2 -> -3.4 (-6.2%)" in text.stdout
    report = json.loads(_weights(git_repo, "diff", "--base", "HEAD~1", "--format", "json").stdout)
    assert report["format_version"] == "1.0" and report["command"] == "diff"
    fraud = next(d for d in report["documents"] if d["name"] == "fraud_risk")
    assert fraud["changes"][0]["old"] == -3.2 and fraud["changes"][0]["new"] == -3.4
    markdown = _weights(git_repo, "diff", "--base", "HEAD~1", "--format", "markdown").stdout
    assert "| `intercept` (line" in markdown and "| -3.2 | -3.4 | -6.2% |" in markdown
    bad = _weights(git_repo, "diff", "--base", "nope")
    assert bad.returncode == 2 and "unknown git revision 'nope'" in bad.stderr
