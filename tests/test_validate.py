"""The gate as a library: what it accepts, what it refuses, and that it evaluates what it validated."""
from __future__ import annotations

import pytest

from validator.api import ValidationFailed, load_models, validate_paths


def test_the_project_weights_pass_the_gate(project_root):
    result = validate_paths(project_root)
    assert result.ok, [f.render() for f in result.findings]
    assert set(result.models) == {"fraud_risk", "churn_coupon", "search_ranking", "homepage_hero", "customer_segments",
                                  "category_boost"}


def test_every_model_names_an_existing_contract_that_lists_it(project_root):
    result = validate_paths(project_root)
    for name, data in result.models.items():
        assert name in result.contracts[data["contract"]].models


def test_load_models_gives_evaluators(project_root):
    models = load_models(project_root)
    assert {m.kind for m in models.values()} == {"scorecard", "ranking", "bandit", "segments", "table"}


def test_load_models_refuses_broken_weights(repo):
    path = repo / "weights" / "fraud_risk.yaml"
    path.write_text(path.read_text().replace("kind: scorecard", "kind: scorecard\nwieght: 2"), encoding="utf-8")
    with pytest.raises(ValidationFailed) as info:
        load_models(repo)
    finding = info.value.findings[0]
    assert finding.rule == "schema.unknown-key" and "did you mean 'weight'" not in finding.message
    assert finding.path == "weights/fraud_risk.yaml" and finding.line == 3


def test_unknown_key_suggests_the_close_one(repo):
    path = repo / "weights" / "fraud_risk.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("intercept:", "intercpt:", 1), encoding="utf-8")
    result = validate_paths(repo)
    hit = next(f for f in result.findings if f.rule == "schema.unknown-key")
    assert "did you mean 'intercept'" in hit.hint
    line = next(i for i, text_line in enumerate(text.splitlines(), 1) if text_line.startswith("intercept:"))
    assert (hit.line, hit.col) == (line, 1)


def test_unknown_kind_and_non_mapping(repo):
    (repo / "weights" / "odd.yaml").write_text("kind: score_card\nname: odd\n", encoding="utf-8")
    (repo / "weights" / "list.yaml").write_text("- 1\n- 2\n", encoding="utf-8")
    result = validate_paths(repo)
    rules = {(f.path, f.rule) for f in result.findings}
    assert ("weights/odd.yaml", "model.kind") in rules
    assert ("weights/list.yaml", "schema.type") in rules
    hint = next(f.hint for f in result.findings if f.path == "weights/odd.yaml")
    assert "scorecard" in hint


def test_duplicate_model_names_are_refused(repo):
    src = repo / "weights" / "homepage_hero.yaml"
    (repo / "weights" / "homepage_hero_copy.yaml").write_bytes(src.read_bytes())
    result = validate_paths(repo)
    assert any(f.rule in ("model.unique-names", "model.name-matches-file") for f in result.findings)


def test_missing_contract_is_reported_on_the_model(repo):
    (repo / "config" / "contracts" / "storefront.yaml").unlink()
    result = validate_paths(repo)
    hit = next(f for f in result.findings if f.rule == "contract.exists")
    assert hit.path == "weights/homepage_hero.yaml"


def test_contract_that_lists_a_missing_model(repo):
    (repo / "weights" / "homepage_hero.yaml").unlink()
    result = validate_paths(repo)
    hit = next(f for f in result.findings if f.rule == "contract.model-missing")
    assert hit.path == "config/contracts/storefront.yaml"


def test_paths_filter_reports_only_those_files(repo):
    path = repo / "weights" / "fraud_risk.yaml"
    path.write_text(path.read_text().replace("kind: scorecard", "kind: scorecard\ncolour: red"), encoding="utf-8")
    assert not validate_paths(repo, ["weights/search_ranking.yaml"]).findings
    assert validate_paths(repo, ["weights/fraud_risk.yaml"]).findings


@pytest.mark.parametrize("extra", ["min_gap: 1e-3\n", "owner: twice\n", "note: !!float 1\n", "\xff"])
def test_a_broken_model_file_is_not_also_reported_missing_by_its_contract(repo, extra):
    path = repo / "weights" / "fraud_risk.yaml"
    path.write_bytes(path.read_bytes() + extra.encode("latin-1"))
    result = validate_paths(repo)
    assert result.findings and all(f.path == "weights/fraud_risk.yaml" for f in result.findings), \
        [f.render() for f in result.findings]


def test_a_model_without_contract_key_gets_one_finding(repo):
    path = repo / "weights" / "fraud_risk.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("contract: checkout\n", ""), encoding="utf-8")
    result = validate_paths(repo)
    assert [f.rule for f in result.findings] == ["schema.missing-key"]
    assert "None" not in result.findings[0].message
