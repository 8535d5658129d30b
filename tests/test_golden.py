"""Golden cases: the file format (positions, schema, checks against the model), running them, the pytest
plugin and ``weights test``."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from validator.gate import golden
from validator.gate.sources import WorkTree
from validator.gate.validate import settings_from, validate

PROJECT = Path(__file__).resolve().parents[1]


def run_repo(root: Path, models=None) -> golden.GoldenResult:
    source = WorkTree(root)
    settings = settings_from(source)
    return golden.run(source, settings, validate(source, settings), models)


def write_cases(root: Path, model: str, text: str) -> Path:
    path = root / "tests" / "golden" / f"{model}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    """1-based line of the first line containing ``needle``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise LookupError(f"{needle!r} not in {path}")


FRAUD_INPUTS = """      order_amount: 420.0
      account_age_days: 0
      country_mismatch: true
      payment_method: gift_card
      email_domain_age_days: 12
      orders_last_24h: 3
      shipping_to_billing_distance_km: 1900.0
      device_seen_before: false
"""


def test_the_shipped_cases_pass_for_every_shipped_model():
    result = run_repo(PROJECT)
    assert result.findings == []
    models = {p.stem for p in (PROJECT / "weights").glob("*.yaml")}
    assert {"fraud_risk", "churn_coupon", "search_ranking", "homepage_hero", "customer_segments"} <= models
    assert {Path(f).stem for f in result.files} == models
    assert result.failed == 0 and result.passed >= 20
    assert {o.case.model for o in result.outcomes} == models


def test_a_failing_case_reads_like_a_finding_with_expected_and_got(repo):
    path = write_cases(repo, "fraud_risk", f"""model: fraud_risk
cases:
  - name: gift card from a day-old account abroad is approved
    inputs:
{FRAUD_INPUTS}    expect:
      decision: approve
      score: {{max: 0.5}}
      top_reason: R04_RISKY_PAYMENT_METHOD
""")
    result = run_repo(repo)
    assert not result.ok and result.failed == 1
    rules = {f.rule: f for f in result.findings}
    assert set(rules) == {"golden.decision", "golden.score", "golden.top_reason"}
    decision = rules["golden.decision"]
    # positioned on the expectation's value: "      decision: approve" -> column 17
    assert (decision.path, decision.line, decision.col) == ("tests/golden/fraud_risk.yaml", line_of(path, "decision: approve"), 17)
    assert "expected decision 'approve', got 'decline'" in decision.message
    assert "gift card from a day-old account abroad is approved" in decision.message
    assert "expected score <= 0.5, got 0.9557" in rules["golden.score"].message
    assert "got 'R02_NEW_ACCOUNT'" in rules["golden.top_reason"].message
    assert decision.render().startswith(f"tests/golden/fraud_risk.yaml:{decision.line}:17: error golden.decision:")


def test_broken_yaml_in_a_case_file_gives_file_line_col(repo):
    write_cases(repo, "fraud_risk", "model: fraud_risk\ncases:\n  - name: x\n    expect: {decision: decline\n")
    result = run_repo(repo)
    (finding,) = result.findings
    assert finding.rule == "yaml.syntax" and finding.path == "tests/golden/fraud_risk.yaml" and finding.line >= 4


def test_schema_mistakes_are_positioned_with_a_did_you_mean(repo):
    path = write_cases(repo, "fraud_risk", """model: fraud_risk
cases:
  - name: typo in the expectation block
    inputs: {order_amount: 10.0}
    expected: {decision: decline}
""")
    result = run_repo(repo)
    unknown = next(f for f in result.findings if f.rule == "schema.unknown-key")
    assert unknown.line == line_of(path, "expected:") and "did you mean 'expect'" in unknown.hint
    assert any(f.rule == "schema.missing-key" for f in result.findings)


def test_case_file_named_after_another_model_and_duplicate_names(repo):
    write_cases(repo, "fraud_risk", "model: churn_coupon\ncases:\n  - {name: a, inputs: {}, expect: {decision: coupon}}\n")
    assert [f.rule for f in run_repo(repo).findings] == ["golden.model-matches-file"]
    path = write_cases(repo, "fraud_risk", """model: fraud_risk
cases:
  - {name: same, inputs: {order_amount: 1.0}, expect: {rejected: account_age_days}}
  - {name: same, inputs: {order_amount: 1.0}, expect: {rejected: account_age_days}}
""")
    (dup,) = [f for f in run_repo(repo).findings if f.rule == "golden.unique-names"]
    assert dup.line == 4 and "also used at line 3" in dup.message and path.exists()


def test_expectations_are_checked_against_the_model_before_running(repo):
    path = write_cases(repo, "fraud_risk", f"""model: fraud_risk
cases:
  - name: typos and wrong-kind expectations
    inputs:
{FRAUD_INPUTS}    expect:
      decision: decliend
      segment: bargain_hunters
      reasons: [R02_NEW_ACCOUNT, R99_MADE_UP]
      score: {{min: 0.9, max: 0.5}}
""")
    result = run_repo(repo)
    by_rule: dict[str, list] = {}
    for f in result.findings:
        by_rule.setdefault(f.rule, []).append(f)
    assert result.outcomes == []  # nothing ran: the file itself is wrong
    typo = next(f for f in by_rule["golden.expectation-unknown"] if "decliend" in f.message)
    assert typo.hint == "did you mean 'decline'?" and typo.line == line_of(path, "decision: decliend")
    assert any("R99_MADE_UP" in f.message for f in by_rule["golden.expectation-unknown"])
    assert by_rule["golden.expectation-kind"][0].line == line_of(path, "segment:")
    assert "min 0.9 is above max 0.5" in by_rule["golden.range-order"][0].message


def test_unknown_model_and_invalid_model(repo):
    write_cases(repo, "fraud_risks", "model: fraud_risks\ncases:\n  - {name: a, inputs: {}, expect: {decision: decline}}\n")
    (finding,) = run_repo(repo).findings
    assert finding.rule == "golden.model-unknown" and "did you mean 'fraud_risk'" in finding.hint
    (repo / "tests" / "golden" / "fraud_risks.yaml").unlink()
    write_cases(repo, "fraud_risk", "model: fraud_risk\ncases:\n  - {name: a, inputs: {}, expect: {decision: decline}}\n")
    model = repo / "weights" / "fraud_risk.yaml"
    model.write_text(model.read_text().replace("intercept: -3.2", "intercept: minus three"), encoding="utf-8")
    (finding,) = run_repo(repo).findings
    assert finding.rule == "golden.model-invalid" and "1 case(s) not run" in finding.message


def test_rejected_inputs_both_ways(repo):
    path = write_cases(repo, "fraud_risk", f"""model: fraud_risk
cases:
  - name: a complete order is refused (wrong)
    inputs:
{FRAUD_INPUTS}    expect: {{rejected: order_amount}}
  - name: an order without an amount is refused
    inputs: {{account_age_days: 3}}
    expect: {{rejected: order_amount}}
  - name: an order without an amount is declined (wrong)
    inputs: {{account_age_days: 3}}
    expect: {{decision: decline}}
""")
    result = run_repo(repo)
    outcomes = {o.case.name: o for o in result.outcomes}
    assert outcomes["an order without an amount is refused"].passed
    (wrong,) = outcomes["a complete order is refused (wrong)"].failures
    assert wrong.rule == "golden.rejected" and "but the model answered" in wrong.message
    (refused,) = outcomes["an order without an amount is declined (wrong)"].failures
    assert refused.rule == "golden.input-error" and "'order_amount' is missing" in refused.message
    lines = path.read_text(encoding="utf-8").splitlines()
    second_inputs = [i for i, line in enumerate(lines, 1) if "inputs: {account_age_days: 3}" in line][1]
    assert (refused.line, refused.col) == (second_inputs, 13)


def test_ranking_bandit_and_segments_failures_say_what_came_instead(repo):
    write_cases(repo, "search_ranking", """model: search_ranking
cases:
  - name: backordered first (wrong)
    items:
      - {item_id: A, bm25_score: 18.0, in_stock: true, stock_units: 50, brand_tier: national, margin_pct: 20.0}
      - {item_id: B, bm25_score: 18.0, in_stock: false, stock_units: 0, brand_tier: national, margin_pct: 20.0}
    expect: {order: [B, A], first: B, above: [[B, A]]}
  - name: unknown id
    items:
      - {item_id: A, bm25_score: 18.0, in_stock: true, stock_units: 50, brand_tier: national, margin_pct: 20.0}
    expect: {first: Z}
""")
    result = run_repo(repo)
    assert {f.rule for f in result.findings} == {"golden.item-ids"}  # the file is refused before running
    write_cases(repo, "search_ranking", """model: search_ranking
cases:
  - name: backordered first (wrong)
    items:
      - {item_id: A, bm25_score: 18.0, in_stock: true, stock_units: 50, brand_tier: national, margin_pct: 20.0}
      - {item_id: B, bm25_score: 18.0, in_stock: false, stock_units: 0, brand_tier: national, margin_pct: 20.0}
    expect: {order: [B, A], first: B, above: [[B, A]]}
""")
    write_cases(repo, "homepage_hero", """model: homepage_hero
cases:
  - name: new arrivals lead (wrong)
    seed: 3
    draws: 2000
    expect:
      most_traffic: hero_new_arrivals
      shares: {hero_new_arrivals: {min: 0.5}}
""")
    write_cases(repo, "customer_segments", """model: customer_segments
cases:
  - name: a bargain hunter is loyal (wrong)
    inputs: {orders_12m: 5, avg_basket_eur: 33.0, discount_share: 0.35, days_since_last_order: 20, categories_bought: 3, email_open_rate: 0.33}
    expect: {segment: loyal_regulars, fallback: true, distance: {min: 2.0}}
""")
    messages = {f.rule: f.message for f in run_repo(repo).findings}
    assert "expected the ranking to start ['B', 'A'], got ['A', 'B']" in messages["golden.order"]
    assert "expected 'B' first, got 'A'" in messages["golden.first"]
    assert "expected 'B' above 'A', got 'B' at rank 2 and 'A' at rank 1" in messages["golden.above"]
    assert "got 'hero_free_shipping'" in messages["golden.most_traffic"]
    assert "expected 'hero_new_arrivals' to get a share >= 0.5, got 0.05" in messages["golden.shares"]
    assert "expected segment 'loyal_regulars', got 'bargain_hunters'" in messages["golden.segment"]
    assert "expected fallback True, got False" in messages["golden.fallback"]
    assert "expected distance >= 2" in messages["golden.distance"]


def test_bandit_shares_are_seeded_and_repeatable(project_root):
    source = WorkTree(project_root)
    settings = settings_from(source)
    validation = validate(source, settings)
    files, _, _ = golden.load_case_files(source, settings)
    case_file = next(f for f in files if f.model == "homepage_hero")
    evaluator = golden.ModelPool(validation.models, validation.contracts).get("homepage_hero")
    first = golden.run_case(case_file.cases[0], evaluator)
    second = golden.run_case(case_file.cases[0], evaluator)
    assert first.passed and first.got == second.got


def test_only_named_models(repo):
    shutil.copytree(PROJECT / "tests" / "golden", repo / "tests" / "golden")
    result = run_repo(repo, ["churn_coupon"])
    assert result.files == ["tests/golden/churn_coupon.yaml"]
    assert {o.case.model for o in result.outcomes} == {"churn_coupon"} and result.ok


def test_every_shipped_case_file_is_schema_valid_plain_yaml():
    for path in sorted((PROJECT / "tests" / "golden").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert data["model"] == path.stem
        assert all(len(case["name"]) > 20 for case in data["cases"]), "case names say what must hold"


# -------------------------------------------------------------------------------------- the pytest plugin


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_pytest_collects_case_files_and_fails_like_a_finding(repo):
    shutil.copytree(PROJECT / "tests" / "golden", repo / "tests" / "golden")
    path = repo / "tests" / "golden" / "fraud_risk.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("decision: decline", "decision: review", 1), encoding="utf-8")
    (repo / "tests" / "rule_examples").mkdir()
    (repo / "tests" / "rule_examples" / "bad.yaml").write_text("not: [a case file\n")  # must not be collected
    result = _pytest(repo, "tests", "-q")
    assert result.returncode == 1, result.stdout + result.stderr
    line = line_of(path, "decision: review")
    assert f"tests/golden/fraud_risk.yaml:{line}:17: error golden.decision:" in result.stdout
    assert "expected decision 'review', got 'decline'" in result.stdout
    assert "1 failed" in result.stdout and "Traceback" not in result.stdout
    assert "rule_examples" not in result.stdout


def test_pytest_reports_a_broken_case_file_as_one_failing_item(repo):
    write_cases(repo, "fraud_risk", "model: fraud_risk\ncases: []\n")
    result = _pytest(repo, "tests", "-q")
    assert result.returncode == 1
    assert "tests/golden/fraud_risk.yaml:2:8: error schema.minItems" in result.stdout


def test_pytest_plugin_can_be_disabled(repo):
    write_cases(repo, "fraud_risk", "model: fraud_risk\ncases: []\n")
    result = _pytest(repo, "tests", "-q", "-p", "no:weights")
    assert result.returncode == 5  # nothing collected


# ------------------------------------------------------------------------------------------ weights test


def _weights(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    env.update({"NO_COLOR": "1", "COLUMNS": "200"})
    return subprocess.run([sys.executable, "-m", "validator", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_weights_test_exit_codes_and_formats(repo):
    shutil.copytree(PROJECT / "tests" / "golden", repo / "tests" / "golden")
    ok = _weights(repo, "test")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "0 failed" in ok.stdout
    path = repo / "tests" / "golden" / "churn_coupon.yaml"
    path.write_text(path.read_text().replace("decision: coupon", "decision: no_coupon", 1), encoding="utf-8")
    failed = _weights(repo, "test", "churn_coupon")
    assert failed.returncode == 1
    assert f"tests/golden/churn_coupon.yaml:{line_of(path, 'decision: no_coupon')}:" in failed.stdout
    report = json.loads(_weights(repo, "test", "--format", "json").stdout)
    assert report["format_version"] == "1.0" and report["passed"] is False and report["cases_failed"] == 1
    github = _weights(repo, "test", "--format", "github")
    assert github.stdout.startswith("::error file=tests/golden/churn_coupon.yaml,line=")
    unknown = _weights(repo, "test", "fraud_rsk")
    assert unknown.returncode == 2 and "did you mean 'fraud_risk'" in unknown.stderr
    assert "Traceback" not in unknown.stderr



def test_a_misspelt_input_is_named_with_a_did_you_mean(repo):
    path = write_cases(repo, "fraud_risk", f"""model: fraud_risk
cases:
  - name: a typo in an input name
    inputs:
{FRAUD_INPUTS.replace("account_age_days", "acount_age_days")}    expect: {{decision: decline}}
""")
    result = run_repo(repo)
    (problem,) = [f for f in result.findings if f.rule == "golden.input-unknown"]
    assert (problem.line, problem.col) == (line_of(path, "acount_age_days"), 7)
    assert "did you mean 'account_age_days'" in problem.hint


def test_a_wrong_typed_input_points_at_its_value(repo):
    path = write_cases(repo, "fraud_risk", f"""model: fraud_risk
cases:
  - name: a word where a number belongs
    inputs:
{FRAUD_INPUTS.replace("account_age_days: 0", 'account_age_days: "zero"')}    expect: {{decision: decline}}
""")
    result = run_repo(repo)
    (outcome,) = result.outcomes
    (failure,) = outcome.failures
    assert failure.rule == "golden.input-error" and failure.line == line_of(path, '"zero"')
