"""Guardrails: defaults from config/guardrails.yaml, per-model overrides, and accept entries that count only
when they come with the change."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from validator.gate.guardrails import (
    GuardrailConfigError,
    builtin_defaults,
    evaluate,
    limits_for,
    load_defaults,
    new_accepts,
)
from validator.kinds import KINDS

PROJECT = Path(__file__).resolve().parents[1]
BUILTIN_DEFAULTS = builtin_defaults()


@pytest.mark.parametrize("kind", list(KINDS))
def test_schema_names_and_guardrail_definitions_agree(kind: str) -> None:
    """A model's guardrails: and accept: offer exactly the kind's GUARDRAILS, whose defaults are the built-ins."""
    names = [g.name for g in KINDS[kind].guardrails]
    properties = KINDS[kind].schema["properties"]
    assert list(properties["guardrails"]["properties"]) == names
    assert properties["accept"]["items"]["properties"]["guardrail"]["enum"] == [*names, "change_budget"]
    assert BUILTIN_DEFAULTS[kind] == {g.name: g.default for g in KINDS[kind].guardrails}


def test_the_repository_file_matches_the_builtin_defaults() -> None:
    """config/guardrails.yaml ships the built-in defaults: every kind it names, with the same values."""
    raw = yaml.safe_load((PROJECT / "config/guardrails.yaml").read_text(encoding="utf-8"))
    raw.pop("budgets", None)
    assert set(raw) <= set(KINDS)
    for kind, limits in raw.items():
        assert limits == BUILTIN_DEFAULTS[kind], kind
    assert load_defaults(PROJECT) == BUILTIN_DEFAULTS


def test_absent_file_means_builtin_defaults(tmp_path: Path) -> None:
    assert load_defaults(tmp_path) == BUILTIN_DEFAULTS


def test_a_kind_the_file_does_not_name_keeps_its_builtin_defaults(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config/guardrails.yaml").write_text("scorecard:\n  max_psi: 0.2\n")
    defaults = load_defaults(tmp_path)
    assert defaults["scorecard"] == {"max_psi": 0.2}
    assert defaults["ranking"] == BUILTIN_DEFAULTS["ranking"]


@pytest.mark.parametrize("text, message", [
    ("scorecard:\n  max_flip_rate: 0.02\n",
     r"config/guardrails.yaml:2:3: error guardrails.unknown: 'max_flip_rate' is not a guardrail of scorecard"),
    ("scorecards:\n  max_psi: 0.1\n", r"config/guardrails.yaml:1:1: error guardrails.unknown: unknown kind 'scorecards'"),
    ("scorecard:\n  max_psi: lots\n",
     r"config/guardrails.yaml:2:12: error guardrails.value: the limit of max_psi must be a number"),
    ("scorecard:\n  max_decision_flip_rate: 2\n",
     r"config/guardrails.yaml:2:27: error guardrails.range: max_decision_flip_rate is a share between 0 and 1"),
    ("scorecard:\n  min_auc_delta: 0.01\n", r"config/guardrails.yaml:2:18: error guardrails.range: .*at most 0"),
    ("ranking:\n  min_ndcg_delta: -2\n", r"config/guardrails.yaml:2:19: error guardrails.range: .*outside \[-1, 0\]"),
    ("scorecard:\n  max_psi: -0.1\n", r"config/guardrails.yaml:2:12: error guardrails.range: max_psi is a statistic"),
    ("table:\n  max_relative_change: 3.0\nbudgets:\n  scorecards: {weight: {relative: 0.5}}\n",
     r"config/guardrails.yaml:4:3: error guardrails.unknown: unknown kind 'scorecards' \(did you mean 'scorecard'\?\)"),
    ("budgets:\n  scorecard: {weight: {relative: -0.5}}\n",
     r"config/guardrails.yaml:2:23: error guardrails.value: budget of weight: relative must be a number of 0 or more"),
])
def test_bad_config_is_refused_with_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config/guardrails.yaml").write_text(text)
    with pytest.raises(GuardrailConfigError, match=message):
        load_defaults(tmp_path)


def test_model_overrides_replace_and_switch_off_defaults() -> None:
    model = {"name": "fraud_risk", "guardrails": {"max_psi": 0.3, "min_auc_delta": None}}
    limits = limits_for("scorecard", BUILTIN_DEFAULTS, model)
    assert limits["max_psi"] == 0.3 and "min_auc_delta" not in limits
    assert limits["max_decision_flip_rate"] == 0.02


def test_breach_accept_and_up_to() -> None:
    limits = {"max_decision_flip_rate": 0.02}
    values = {"max_decision_flip_rate": (0.027, "")}
    [plain] = evaluate("scorecard", values, limits, [])
    assert plain.breached and plain.failed and plain.message == "decision flip rate 2.7% (max 2%)"
    accept = {"guardrail": "max_decision_flip_rate", "reason": "new velocity bins, reviewed by fraud ops", "up_to": 0.03}
    [ok] = evaluate("scorecard", values, limits, [accept])
    assert ok.breached and ok.accepted and not ok.failed and ok.reason == accept["reason"]
    [too_far] = evaluate("scorecard", {"max_decision_flip_rate": (0.05, "")}, limits, [accept])
    assert too_far.failed


def test_only_accept_entries_of_this_change_count() -> None:
    entry = {"guardrail": "max_psi", "reason": "recalibrated intercept after the Q3 review"}
    base, head = {"accept": [entry]}, {"accept": [entry]}
    assert new_accepts(head, base) == []
    edited = {**entry, "reason": "recalibrated again after the Q4 review"}
    assert new_accepts({"accept": [edited]}, base) == [edited]
    assert new_accepts({"accept": [entry]}, None) == [entry]


def test_codeowners_give_the_guardrail_defaults_to_model_risk() -> None:
    """Loosening a limit is a model-risk decision: the last CODEOWNERS line matching the file names that team."""
    owners = [line.split() for line in (PROJECT / ".github/CODEOWNERS").read_text(encoding="utf-8").splitlines()
              if line.strip() and not line.startswith("#")]
    matching = [o for o in owners if o[0] in ("*", "/config/", "/config/guardrails.yaml")]
    assert matching[-1] == ["/config/guardrails.yaml", "@your-org/model-risk"]
