"""``weights new``: every kind, against every contract of this repository and a new one, validates and passes
its own golden cases once the printed contract lines are applied; nothing is ever overwritten."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from validator.api import validate_paths
from validator.cli import main
from validator.gate import golden
from validator.gate.scaffold import ScaffoldError, plan, write
from validator.gate.sources import WorkTree
from validator.gate.validate import settings_from, validate
from validator.kinds import KINDS

PROJECT = Path(__file__).resolve().parents[1]
CONTRACTS = sorted(p.stem for p in (PROJECT / "config" / "contracts").glob("*.yaml"))


@pytest.fixture
def workspace(repo: Path) -> Path:
    """conftest's copy of config/ and weights/, without the golden cases (each test checks only its own)."""
    return repo


def apply_contract_lines(root: Path, scaffold) -> None:
    """Do what the printed instructions say, as the contract's owners would (comments are not kept here)."""
    path = root / scaffold.contract_path
    data = yaml.safe_load(path.read_text())
    data["models"] = list(scaffold.models_after)
    if scaffold.outputs:
        data.setdefault("outputs", {})[scaffold.name] = scaffold.outputs
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def errors_and_warnings(root: Path) -> list[str]:
    return [f.render() for f in validate_paths(root).findings]


# A ranking over a contract that sends no item id cannot end its tie-break on one: the gate warns, rightly.
ALLOWED_WARNINGS = ("ranking.tie-break-unique",)


def golden_outcome(root: Path, name: str):
    source = WorkTree(root)
    settings = settings_from(source)
    return golden.run(source, settings, validate(source, settings), [name])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("contract", [*CONTRACTS, None])
def test_scaffold_validates_and_passes_its_cases(workspace: Path, kind: str, contract: str | None) -> None:
    name = f"new_{kind}"
    try:
        scaffold = plan(workspace, kind, name, contract, owner="pricing-analytics")
    except ScaffoldError as exc:
        # Only a contract with no input the kind can read may refuse, and it must say so.
        assert "declares no" in str(exc) and contract is not None
        return
    write(workspace, scaffold)
    model = (workspace / "weights" / f"{name}.yaml").read_text()
    assert model.startswith(f"# yaml-language-server: $schema=../config/schemas/{kind}.schema.json\n")
    assert (workspace / "tests" / "golden" / f"{name}.yaml").is_file()
    if contract is None:
        assert scaffold.contract_is_new and scaffold.contract_instructions is None
        assert (workspace / "config" / "contracts" / f"{name}.yaml").read_text().startswith(
            "# yaml-language-server: $schema=../schemas/contract.schema.json")
    else:
        before = errors_and_warnings(workspace)
        assert any("contract.model-listed" in f for f in before), before  # not listed yet: the gate says so
        assert f"models: [{', '.join(scaffold.models_after)}]" in scaffold.contract_instructions
        apply_contract_lines(workspace, scaffold)
    left = [f for f in errors_and_warnings(workspace) if not any(f" warning {w}:" in f for w in ALLOWED_WARNINGS)]
    assert left == []
    outcome = golden_outcome(workspace, name)
    assert outcome.ok and outcome.failed == 0 and outcome.passed >= 1, [f.render() for f in outcome.findings]


def test_cli_writes_and_prints_the_contract_lines(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["new", "scorecard", "refund_risk", "--contract", "checkout", "--root", str(workspace)])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "wrote weights/refund_risk.yaml" in out and "wrote tests/golden/refund_risk.yaml" in out
    assert "In config/contracts/checkout.yaml, list the model:" in out
    assert "  models: [fraud_risk, refund_risk]" in out
    assert "    refund_risk:\n      decisions: [low, high]" in out


def test_refuses_to_overwrite_and_writes_nothing(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    golden_file = workspace / "tests" / "golden" / "churn_coupon.yaml"
    golden_file.parent.mkdir(parents=True)
    golden_file.write_text("model: churn_coupon\ncases: []\n")
    before = (workspace / "weights" / "churn_coupon.yaml").read_bytes()
    with pytest.raises(SystemExit) as exit_info:
        main(["new", "scorecard", "churn_coupon", "--contract", "retention", "--root", str(workspace)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "weights/churn_coupon.yaml and tests/golden/churn_coupon.yaml already exist" in err
    assert (workspace / "weights" / "churn_coupon.yaml").read_bytes() == before
    assert golden_file.read_text() == "model: churn_coupon\ncases: []\n"


def test_a_file_that_appears_meanwhile_is_not_replaced(workspace: Path) -> None:
    scaffold = plan(workspace, "bandit", "promo_banner")
    golden_path = workspace / "tests" / "golden" / "promo_banner.yaml"
    golden_path.parent.mkdir(parents=True)
    golden_path.write_text("someone else's\n")
    with pytest.raises(ScaffoldError, match="already exists"):
        write(workspace, scaffold)
    assert golden_path.read_text() == "someone else's\n"
    assert not (workspace / "weights" / "promo_banner.yaml").exists()  # rolled back: all or nothing


@pytest.mark.parametrize("args, message", [
    (["new", "scorecard", "Fraud-Risk"], "must be lowercase letters"),
    (["new", "scorecard", "ok_name", "--contract", "Bad Contract"], "contract name 'Bad Contract'"),
    (["new", "ranking", "ranked", "--contract", "storefront"], "declares no number or integer input"),
    (["new", "oracle", "x"], "is not one of"),
])
def test_clear_errors_exit_2(workspace: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                             message: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--root", str(workspace)])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not list((workspace / "weights").glob("ranked.yaml"))


def test_values_read_back_under_yaml_1_1() -> None:
    from validator.gate.scaffold import scalar

    for value in ["NO", "yes", "Off", "null", "DE", "a b", 0.0001, 2500.0, 7, True]:
        assert yaml.safe_load(f"v: {scalar(value)}")["v"] == value
