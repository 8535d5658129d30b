"""Change budgets: how far one change may move a parameter (issue 9, part 5), on real git repositories."""
from __future__ import annotations

from pathlib import Path

import pytest
from test_check_e2e import MODEL, NEW_ACCOUNT_WEIGHT, commit, edit, weights, weights_repo  # noqa: F401

from validator.gate.check import run_check
from validator.gate.governance import _budgets_for
from validator.gate.guardrails import Budget, parse_budget

BUDGETS = "\nbudgets:\n  scorecard:\n    weight: {relative: 0.5, absolute: 0.5}\n"


def _with_budgets(root: Path) -> None:
    with (root / "config/guardrails.yaml").open("a", encoding="utf-8") as handle:
        handle.write(BUDGETS)
    commit(root, "model risk: weights move at most 50% or 0.5 per change")


@pytest.mark.parametrize(("old", "new", "over"), [
    (1.5, 2.0, False),    # 0.5: within both
    (1.5, 2.25, False),   # 0.75: within 50% of 1.5
    (1.5, 2.3, True),     # 0.8: over 0.75 and over 0.5
    (0.0, 0.5, False),    # from zero, the absolute allowance applies
    (0.0, 0.6, True),
    (-2.0, -3.0, False),  # 50% of |-2|
    (-2.0, -3.1, True),
])
def test_budget_allowance_is_the_larger_of_relative_and_absolute(old: float, new: float, over: bool) -> None:
    assert Budget(0.5, 0.5).exceeded(old, new) is over


def test_a_model_budget_only_tightens_its_kind() -> None:
    merged = _budgets_for({"weight": Budget(0.5, 0.5)}, {"weight": {"relative": 0.9, "absolute": 0.1},
                                                         "value": {"absolute": 0.2}})
    assert merged == {"weight": Budget(0.5, 0.1), "value": Budget(None, 0.2)}
    assert parse_budget({"relative": -1})[1] == "relative must be a number of 0 or more, got -1"
    assert parse_budget({"percent": 5})[0] is None


def test_an_over_budget_weight_breaches_and_passes_with_an_accept(weights_repo: Path) -> None:  # noqa: F811
    _with_budgets(weights_repo)
    text = (weights_repo / MODEL).read_text(encoding="utf-8")
    first = text.index("    weight: 1.0")
    (weights_repo / MODEL).write_text(text[:first] + "    weight: 1.7" + text[first + len("    weight: 1.0"):],
                                      encoding="utf-8")
    commit(weights_repo, "order amount weighs more")
    result = run_check(weights_repo)
    [breach] = result.budget_breaches
    assert (breach.parameter, breach.old, breach.new, breach.accepted) == ("terms[high_order_amount].weight", 1.0,
                                                                          1.7, False)
    assert "change budgets" in result.failed_gates
    line = next(i for i, t in enumerate((weights_repo / MODEL).read_text().splitlines(), 1) if "weight: 1.7" in t)
    [finding] = [f for f in result.findings if f.rule == "budget.exceeded"]
    assert (finding.path, finding.line, finding.severity.value) == (MODEL, line, "error")
    assert "over its budget of 50% of its value or 0.5 absolute (at most 0.5 here)" in finding.message
    md = weights(weights_repo, "check", "--format", "markdown")
    assert md.returncode == 1
    assert "### Change budgets" in md.stdout and "`terms[high_order_amount].weight`" in md.stdout
    out = weights_repo.parent / "report"
    assert weights(weights_repo, "check", "--report-dir", str(out)).returncode == 1
    page = (out / "report.html").read_text(encoding="utf-8")
    assert ("<h2>Change budgets</h2>" in page
            and "<td><code>terms[high_order_amount].weight</code> (line " in page
            and "<td>1</td><td>1.7</td><td>50% of its value or 0.5 absolute</td><td class=\"fail\">over budget</td>"
            in page)

    with (weights_repo / MODEL).open("a", encoding="utf-8") as handle:
        handle.write("\naccept:\n  - {guardrail: change_budget, up_to: 0.7, reason: \"Refit on Q3 chargebacks (FRAUD-501)\"}\n")
    accepted = run_check(weights_repo)
    [breach] = accepted.budget_breaches
    assert breach.accepted and breach.reason == "Refit on Q3 chargebacks (FRAUD-501)"
    assert "change budgets" not in accepted.failed_gates
    run = weights(weights_repo, "check", "--format", "text")
    assert "(accepted: Refit on Q3 chargebacks (FRAUD-501))" in run.stdout


def test_an_accept_smaller_than_the_move_accepts_nothing(weights_repo: Path) -> None:  # noqa: F811
    _with_budgets(weights_repo)
    edit(weights_repo, NEW_ACCOUNT_WEIGHT, "    weight: 2.5")
    with (weights_repo / MODEL).open("a", encoding="utf-8") as handle:
        handle.write("\naccept:\n  - {guardrail: change_budget, up_to: 0.5, reason: \"only a small step reviewed\"}\n")
    commit(weights_repo, "new accounts: a big step")
    result = run_check(weights_repo)
    assert [b.accepted for b in result.budget_breaches] == [False]
    assert "change budgets" in result.failed_gates


def test_without_budgets_nothing_is_judged(weights_repo: Path) -> None:  # noqa: F811
    edit(weights_repo, NEW_ACCOUNT_WEIGHT, "    weight: 1.9")
    commit(weights_repo, "no budgets configured")
    assert run_check(weights_repo).budget_breaches == []


def test_the_html_report_escapes_what_analysts_wrote() -> None:
    """A reason or a model name typed into a file is shown as text in report.html, never as markup."""
    from types import SimpleNamespace

    from validator.gate.governance import BudgetBreach, GuardrailChange
    from validator.report.governance import html_sections

    result = SimpleNamespace(
        guardrail_changes=[GuardrailChange("weights/a&b.yaml", 3, "fraud<risk>", "max_psi", 0.1, None,
                                           "switched off")],
        budget_breaches=[BudgetBreach("fraud<risk>", "weights/a.yaml", 7, 5, "terms[x].weight", 1.0, 1.7,
                                      Budget(0.5, 0.5), True, "<script>alert(1)</script> & FRAUD-501")])
    page = html_sections(result)  # type: ignore[arg-type]
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; FRAUD-501" in page
    assert "<code>weights/a&amp;b.yaml:3</code> (fraud&lt;risk&gt;)" in page
    assert "<td>0.1</td><td>off</td><td class=\"warn\">switched off</td>" in page
    assert html_sections(SimpleNamespace(guardrail_changes=[], budget_breaches=[])) == ""  # type: ignore[arg-type]
