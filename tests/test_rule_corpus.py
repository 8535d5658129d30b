"""Every semantic rule has a failing and a passing example model, run through the real gate.

The corpus lives in tests/rule_examples/<rule-id>/{bad,good}.yaml (after check-jsonschema's
example-files): bad.yaml must raise that rule, good.yaml must pass the whole gate.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from validator.api import validate_paths
from validator.gate.rule_registry import ALL_RULES

PROJECT = Path(__file__).resolve().parents[1]
CORPUS = PROJECT / "tests" / "rule_examples"


def place(tmp_path: Path, example: Path) -> tuple[Path, str]:
    """Copy the repository and put the example where it belongs.

    A model example replaces ``weights/<name>.yaml``; an example whose first line is ``# as: <path>`` (used
    for contract-level rules) is written to that path instead.
    """
    root = tmp_path / "repo"
    shutil.copytree(PROJECT / "config", root / "config")
    shutil.copytree(PROJECT / "weights", root / "weights")
    text = example.read_text(encoding="utf-8")
    first = text.splitlines()[0] if text else ""
    if first.startswith("# as: "):
        rel = first[len("# as: "):].strip()
    else:
        rel = f"weights/{yaml.safe_load(text)['name']}.yaml"
    (root / rel).write_bytes(example.read_bytes())
    return root, rel


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.id)
def test_rule_has_a_bad_and_a_good_example(rule):
    folder = CORPUS / rule.id
    assert (folder / "bad.yaml").is_file() and (folder / "good.yaml").is_file(), f"add {folder}/bad.yaml and good.yaml"


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.id)
def test_bad_example_raises_the_rule(rule, tmp_path):
    root, rel = place(tmp_path, CORPUS / rule.id / "bad.yaml")
    result = validate_paths(root, [rel])
    hits = [f for f in result.findings if f.rule == rule.id]
    assert hits, f"{rule.id} not raised; findings: {[f.render() for f in result.findings]}"
    assert all(f.severity == rule.severity for f in hits)
    assert all(f.line >= 1 and f.col >= 1 for f in hits)


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.id)
def test_good_example_passes_the_gate(rule, tmp_path):
    root, rel = place(tmp_path, CORPUS / rule.id / "good.yaml")
    result = validate_paths(root)
    assert not [f for f in result.findings if f.rule == rule.id], [f.render() for f in result.findings]
    assert result.ok, [f.render() for f in result.findings]


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.id)
def test_rule_is_documented_with_examples(rule):
    examples = rule.examples()
    assert rule.summary, f"{rule.id} has no summary"
    assert examples.get("bad") and examples.get("good"), f"{rule.id} docstring needs Bad: and Good: blocks"
