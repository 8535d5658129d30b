"""config/weights.yaml goes through a gate of its own: safe YAML, the settings schema, the settings rules.

Library tests call ``check_settings`` / ``load_settings`` on bytes; the end-to-end tests run the real
``weights`` command on a copy of this repository, because what matters is the exit code and the message a
person sees: a finding (exit 1) from ``weights validate``, a refusal to start (exit 2) from the others.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft7Validator, Draft202012Validator

from validator.gate.findings import Finding
from validator.gate.settings import SETTINGS_FILE, Settings, SettingsError, check_settings, load_settings
from validator.gate.settings_schema import (
    EXPIRY_DEFAULTS,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MIN_DEPTH,
    MIN_FILE_BYTES,
    SETTINGS_SCHEMA,
)
from validator.gate.yamlload import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, load_bytes

PROJECT = Path(__file__).resolve().parents[1]


def findings_of(text: str) -> list[Finding]:
    return check_settings(text.encode("utf-8")).findings


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, [f.render() for f in findings]
    return findings[0]


def weights(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    env.update({"NO_COLOR": "1", "COLUMNS": "200"})
    return subprocess.run([sys.executable, "-m", "validator", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


# --- the library ----------------------------------------------------------------------------------------------

def test_this_repositorys_settings_pass_and_load():
    checked = check_settings((PROJECT / SETTINGS_FILE).read_bytes())
    assert checked.findings == [] and checked.present
    settings = checked.settings
    assert settings is not None
    assert (settings.weights_dir, settings.contracts_dir, settings.schemas_dir) == ("weights", "config/contracts",
                                                                                   "config/schemas")
    assert settings.limits.max_file_bytes == DEFAULT_MAX_BYTES and settings.limits.max_depth == DEFAULT_MAX_DEPTH
    assert settings.raw["publish"]["channel"] == "production"  # the sections other parts own stay in raw


def test_an_absent_file_means_the_defaults():
    checked = check_settings(None)
    assert checked.settings == Settings() and checked.findings == [] and not checked.present
    assert load_settings(None) == Settings()


def test_an_unknown_key_is_positioned_with_a_did_you_mean():
    finding = only(findings_of("weights_dir: weights\nwieghts_dir: models\n"))
    assert (finding.path, finding.line, finding.col) == (SETTINGS_FILE, 2, 1)
    assert finding.rule == "schema.unknown-key" and finding.hint == "did you mean 'weights_dir'?"


def test_an_unknown_nested_key_names_its_section():
    finding = only(findings_of("publish:\n  target: s3://bucket/weights\n  chanel: canary\n"))
    assert (finding.line, finding.col, finding.rule) == (3, 3, "schema.unknown-key")
    assert finding.message == "publish: unknown key 'chanel'" and "did you mean 'channel'?" in finding.hint


@pytest.mark.parametrize(("key", "value", "ok"), [
    ("max_file_bytes", 0, False),
    ("max_file_bytes", -1, False),
    ("max_file_bytes", MIN_FILE_BYTES - 1, False),
    ("max_file_bytes", MIN_FILE_BYTES, True),
    ("max_file_bytes", MAX_FILE_BYTES, True),
    ("max_file_bytes", MAX_FILE_BYTES + 1, False),
    ("max_depth", 0, False),
    ("max_depth", MIN_DEPTH - 1, False),
    ("max_depth", MIN_DEPTH, True),
    ("max_depth", MAX_DEPTH, True),
    ("max_depth", 100_000, False),
    ("max_depth", 64.5, False),
])
def test_limits_out_of_range_are_errors_at_their_value(key, value, ok):
    findings = findings_of(f"weights_dir: weights\nlimits:\n  {key}: {value}\n")
    if ok:
        assert findings == []
        settings = load_settings(f"limits:\n  {key}: {value}\n".encode())
        assert getattr(settings.limits, key) == value
        return
    finding = only(findings)
    assert (finding.line, finding.col) == (3, len(f"  {key}: ") + 1)
    assert finding.severity.value == "error" and finding.message.startswith(f"limits.{key}: ")


def test_the_default_limits_are_inside_their_allowed_range():
    assert MIN_FILE_BYTES <= DEFAULT_MAX_BYTES <= MAX_FILE_BYTES and MIN_DEPTH <= DEFAULT_MAX_DEPTH <= MAX_DEPTH


def test_the_deepest_allowed_limit_loads_a_document_that_deep_without_crashing():
    """MAX_DEPTH keeps the recursive YAML builder far from Python's recursion limit."""
    deep = ("a: " + "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1)).encode()
    document, problems = load_bytes(deep, "x.yaml", max_depth=MAX_DEPTH)
    assert document is not None and problems == []
    _, too_deep = load_bytes(b"a: " + b"[" * MAX_DEPTH + b"1" + b"]" * MAX_DEPTH, "x.yaml", max_depth=MAX_DEPTH)
    assert [f.rule for f in too_deep] == ["yaml.too-deep"]


def test_a_quoted_number_is_a_type_error_with_a_hint():
    finding = only(findings_of("limits:\n  max_depth: '64'\n"))
    assert finding.rule == "schema.type" and finding.hint == "write the number without quotes"


def test_a_document_that_is_not_a_mapping_is_refused_at_its_start():
    finding = only(findings_of("- weights\n- config/contracts\n"))
    assert (finding.line, finding.col, finding.rule) == (1, 1, "schema.type")


@pytest.mark.parametrize("channel", ["Production", "prod/eu", "-canary", ""])
def test_a_bad_channel_is_refused_with_what_a_channel_may_be(channel):
    finding = only(findings_of(f"publish:\n  channel: '{channel}'\n"))
    assert finding.rule == "schema.pattern" and finding.message.startswith("publish.channel: ")
    assert "lower-case letters" in finding.hint and "snake_case" not in finding.hint


def test_load_settings_raises_with_every_error_at_file_line_col():
    with pytest.raises(SettingsError) as caught:
        load_settings(b"limits:\n  max_file_bytes: 0\npublish:\n  expires_days: {timestamp: -1}\n")
    message = str(caught.value)
    assert "config/weights.yaml:2:19: error schema.minimum: limits.max_file_bytes: 0" in message
    assert "config/weights.yaml:4:29: error schema.exclusiveMinimum: publish.expires_days.timestamp: -1" in message
    assert [(f.line, f.col) for f in caught.value.findings] == [(2, 19), (4, 29)]


def test_yaml_problems_stop_before_the_schema():
    finding = only(findings_of("limits: {max_depth: 10, max_depth: 20, typo: 1}\n"))
    assert finding.rule == "yaml.duplicate-key"


@pytest.mark.parametrize(("value", "says"), [
    ("../shared/weights", "leaves the repository"),
    ("weights/../../elsewhere", "leaves the repository"),
    ("/srv/weights", "is an absolute path"),
    ("C:/weights", "is an absolute path"),
    ("'weights\\\\models'", "contains a backslash"),
])
def test_a_folder_outside_the_repository_is_refused(value, says):
    finding = only(findings_of(f"golden_dir: {value}\n"))
    assert finding.rule == "settings.folder-in-repository" and says in finding.message
    assert (finding.line, finding.col) == (1, 13)


@pytest.mark.parametrize("value", ["weights", "./weights", "models/weights", "."])
def test_a_folder_inside_the_repository_passes(value):
    assert findings_of(f"weights_dir: {value}\n") == []


@pytest.mark.parametrize(("days", "at"), [
    ("{timestamp: 30}", "timestamp"),  # outlives the default snapshot (14)
    ("{snapshot: 1}", "snapshot"),  # the default timestamp (2) outlives it
    ("{snapshot: 100}", "snapshot"),  # outlives the default targets (90)
    ("{timestamp: 3, snapshot: 2, targets: 90}", "timestamp"),
])
def test_signatures_must_expire_in_order(days, at):
    text = f"publish:\n  expires_days: {days}\n"
    finding = only(findings_of(text))
    assert finding.rule == "settings.expiry-order"
    assert (finding.line, finding.col) == (2, text.splitlines()[1].index(f"{at}:") + len(at) + 3)


def test_fractional_days_in_order_pass():
    assert findings_of("publish:\n  expires_days: {timestamp: 0.5, snapshot: 0.5, targets: 7}\n") == []


def test_expiry_defaults_agree_with_what_publish_signs_with():
    from validator.publish.repository import Expiry

    expiry = Expiry()
    assert {role: expiry.of(role).days for role in EXPIRY_DEFAULTS} == EXPIRY_DEFAULTS


def test_the_committed_settings_file_points_editors_at_the_schema():
    path = PROJECT / SETTINGS_FILE
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=schemas/settings.schema.json"
    schema = json.loads((path.parent / "schemas" / "settings.schema.json").read_text(encoding="utf-8"))
    assert schema == SETTINGS_SCHEMA
    document, _ = load_bytes(path.read_bytes(), SETTINGS_FILE)
    assert document is not None
    broken = {**document.data, "weigths_dir": "weights", "limits": {"max_depth": 0}}
    for validator in (Draft7Validator(schema), Draft202012Validator(schema)):  # the editor's draft and the gate's
        assert list(validator.iter_errors(document.data)) == []
        messages = " ".join(e.message for e in validator.iter_errors(broken))
        assert "weigths_dir" in messages and "minimum" in messages


# --- the commands ---------------------------------------------------------------------------------------------

BROKEN = "weights_dir: weights\nlimits:\n  max_file_bytes: 0\n"


def test_validate_reports_settings_findings_and_exits_1(repo):
    (repo / SETTINGS_FILE).write_text(BROKEN, encoding="utf-8")
    for args in ((), ("weights/fraud_risk.yaml",), ("--format", "json")):
        result = weights("validate", *args, cwd=repo)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
    text = weights("validate", cwd=repo).stdout
    assert "config/weights.yaml:3:19: error schema.minimum: limits.max_file_bytes: 0" in text
    report = json.loads(weights("validate", "--format", "json", cwd=repo).stdout)
    assert report["valid"] is False and report["files_checked"] == 1
    assert [(d["path"], d["rule"], d["range"]["start"]) for d in report["diagnostics"]] == [
        (SETTINGS_FILE, "schema.minimum", {"line": 3, "column": 19})]


def test_validate_can_name_the_settings_file(repo):
    clean = weights("validate", SETTINGS_FILE, cwd=repo)
    assert clean.returncode == 0 and "1 files checked" in clean.stdout
    (repo / SETTINGS_FILE).write_text("weights_dir: weights\nschema_dir: config/schemas\n", encoding="utf-8")
    broken = weights("validate", SETTINGS_FILE, cwd=repo)
    assert broken.returncode == 1 and "did you mean 'schemas_dir'?" in broken.stdout


@pytest.mark.parametrize("command", [("test",), ("schemas", "--check"), ("new", "scorecard", "late_payment")])
def test_commands_that_need_the_settings_exit_2_with_the_finding(repo, command):
    (repo / SETTINGS_FILE).write_text(BROKEN, encoding="utf-8")
    result = weights(*command, cwd=repo)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "config/weights.yaml:3:19" in result.stderr and "limits.max_file_bytes" in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_schemas_writes_to_the_configured_folder(repo):
    settings = (repo / SETTINGS_FILE).read_text(encoding="utf-8")
    (repo / SETTINGS_FILE).write_text(settings.replace("schemas_dir: config/schemas", "schemas_dir: schemas"),
                                      encoding="utf-8")
    stale = weights("schemas", "--check", cwd=repo)
    assert stale.returncode == 1 and "schemas/settings.schema.json is out of date" in stale.stdout
    assert weights("schemas", cwd=repo).returncode == 0
    assert (repo / "schemas" / "settings.schema.json").is_file()
    assert weights("schemas", "--check", cwd=repo).returncode == 0


def test_pytest_fails_the_golden_cases_with_the_settings_findings(repo):
    """Broken settings must not make pytest skip the analysts' cases silently (the plugin collects them)."""
    import shutil

    shutil.copytree(PROJECT / "tests" / "golden", repo / "tests" / "golden")
    (repo / SETTINGS_FILE).write_text(BROKEN, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests", "-q"], cwd=repo,
                            env=env, capture_output=True, text=True, timeout=300)
    cases = len(list((repo / "tests" / "golden").glob("*.yaml")))
    assert result.returncode == 1, result.stdout
    assert f"{cases} failed" in result.stdout and "config/weights.yaml:3:19" in result.stdout
