"""Guardrails: defaults from config/guardrails.yaml, per-model overrides, and accept entries that count only
when they come with the change."""
from __future__ import annotations

from pathlib import Path

import pytest

from validator.gate.guardrails import BUILTIN_DEFAULTS, GUARDRAILS, GuardrailConfigError, evaluate, limits_for, load_defaults, new_accepts
from validator.kinds.schema_parts import GUARDRAIL_NAMES

PROJECT = Path(__file__).resolve().parents[1]


def test_schema_names_and_guardrail_definitions_agree() -> None:
    for kind, names in GUARDRAIL_NAMES.items():
        assert set(names) == {g.name for g in GUARDRAILS.values() if kind in g.kinds}
        assert set(BUILTIN_DEFAULTS[kind]) == set(names)


def test_the_repository_file_matches_the_builtin_defaults() -> None:
    assert load_defaults(PROJECT) == BUILTIN_DEFAULTS


def test_absent_file_means_builtin_defaults(tmp_path: Path) -> None:
    assert load_defaults(tmp_path) == BUILTIN_DEFAULTS


@pytest.mark.parametrize("text, message", [
    ("scorecard:\n  max_flip_rate: 0.02\n", r"config/guardrails.yaml:2:3: 'max_flip_rate' is not a guardrail of scorecard"),
    ("scorecards:\n  max_psi: 0.1\n", r"config/guardrails.yaml:1:1: unknown kind 'scorecards'"),
    ("scorecard:\n  max_psi: lots\n", r"config/guardrails.yaml:2:3: the limit of max_psi must be a number"),
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
