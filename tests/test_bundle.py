"""The canonical bundle: same commit, same bytes; every default written out; provenance from git only."""
from __future__ import annotations

import json
import math
from pathlib import Path

import jsonschema
import pytest
from publish_helpers import change_weights, commit_all, git, make_invoker, make_repo

from validator.api import validate_paths
from validator.kinds import KINDS, compile_model
from validator.kinds.contract_schema import CONTRACT_SCHEMA
from validator.publish.bundle import (
    BUNDLE_FORMAT_VERSION,
    BundleError,
    BundleInvalid,
    apply_defaults,
    build_bundle,
    canonical_json,
    dirty_inputs,
    read_bundle,
    target_path,
)


@pytest.fixture
def weights(capsys, monkeypatch):
    return make_invoker(capsys, monkeypatch)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    return make_repo(tmp_path_factory.mktemp("bundle") / "repo")


@pytest.fixture(scope="module")
def built(repo):
    return build_bundle(repo)


# --- canonical JSON -----------------------------------------------------------------------------------------

def test_canonical_json_is_sorted_compact_utf8():
    assert canonical_json({"b": 1, "a": [1.5, "é", True, None]}) == '{"a":[1.5,"é",true,null],"b":1}'.encode()
    assert canonical_json({"x": 0.1 + 0.2}) == b'{"x":0.30000000000000004}'


@pytest.mark.parametrize("bad", [{"x": math.nan}, {"x": math.inf}, {1: "int key"}, {"x": {1, 2}}, {"x": b"bytes"}])
def test_canonical_json_refuses_what_json_cannot_say(bad):
    with pytest.raises(ValueError):
        canonical_json(bad)


# --- defaults -----------------------------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "definitions": {"feature": {"type": "object", "properties": {
        "name": {"type": "string"}, "weight": {"type": "number", "default": 1.0},
        "transform": {"type": "string", "default": "identity"}}}},
    "properties": {
        "features": {"type": "array", "items": {"$ref": "#/definitions/feature"}},
        "link": {"type": "string", "default": "identity"},
        "policy": {"type": "object", "additionalProperties": {"type": "object", "properties": {
            "missing": {"type": "string", "default": "reject"}}}},
        "either": {"oneOf": [
            {"type": "object", "properties": {"a": {"type": "number"}, "fa": {"default": 1}}, "required": ["a"]},
            {"type": "object", "properties": {"b": {"type": "number"}, "fb": {"default": 2}}, "required": ["b"]},
        ]},
    },
}


def test_apply_defaults_fills_every_absent_default_at_any_depth():
    doc = {"features": [{"name": "x"}, {"name": "y", "weight": 2}], "policy": {"age": {}},
           "either": {"b": 3}}
    out = apply_defaults(doc, SCHEMA)
    assert out == {
        "features": [{"name": "x", "weight": 1.0, "transform": "identity"},
                     {"name": "y", "weight": 2, "transform": "identity"}],
        "link": "identity", "policy": {"age": {"missing": "reject"}}, "either": {"b": 3, "fb": 2},
    }
    assert doc == {"features": [{"name": "x"}, {"name": "y", "weight": 2}], "policy": {"age": {}}, "either": {"b": 3}}


def test_apply_defaults_skips_ambiguous_branches():
    schema = {"anyOf": [{"properties": {"d": {"default": 1}}}, {"properties": {"e": {"default": 2}}}]}
    assert apply_defaults({}, schema) == {}


# --- the bundle of the real weights -------------------------------------------------------------------------

def test_bundle_carries_every_model_and_contract_normalized(repo, built):
    document = read_bundle(built.data)
    result = validate_paths(repo)
    assert document["format_version"] == BUNDLE_FORMAT_VERSION
    assert sorted(document["models"]) == sorted(result.models) == list(built.models)
    assert sorted(document["contracts"]) == sorted(result.contract_data)
    for name, model in document["models"].items():
        kind = KINDS[model["kind"]]
        jsonschema.Draft202012Validator(kind.schema).validate(model)
        compile_model(model, result.contracts.get(model["contract"]))
        assert apply_defaults(model, kind.schema) == model  # nothing left to fill in
        assert set(result.models[name]) <= set(model)
    for contract in document["contracts"].values():
        jsonschema.Draft202012Validator(CONTRACT_SCHEMA).validate(contract)


def test_bundle_is_canonical_json(built):
    assert built.data == canonical_json(json.loads(built.data))
    assert not built.data.endswith(b"\n")


def test_provenance_is_the_commit_never_the_clock(repo, built):
    provenance = read_bundle(built.data)["provenance"]
    assert provenance == {
        "commit": git(repo, "rev-parse", "HEAD").strip(),
        "author": "Ana Lyst",
        "committed_at": "2024-05-01T10:00:00Z",  # committed at 12:00+02:00, written in UTC
    }


def test_same_commit_same_bytes_anywhere(repo, built, tmp_path, monkeypatch):
    """A clone in another folder, in another time zone, later: byte-for-byte the same bundle."""
    clone = tmp_path / "elsewhere"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    assert build_bundle(clone).data == built.data
    assert build_bundle(repo, git(repo, "rev-parse", "HEAD").strip()).data == built.data


def test_build_reads_the_commit_not_the_work_tree(tmp_path):
    repo = make_repo(tmp_path / "repo")
    first = build_bundle(repo).data
    change_weights(repo, 1)
    assert build_bundle(repo).data != first
    assert build_bundle(repo, "HEAD~1").data == first
    path = repo / "weights" / "fraud_risk.yaml"
    path.write_text(path.read_text() + "# not committed\n")
    (repo / "weights" / "new_model.yaml").write_text("kind: nothing\n")
    assert dirty_inputs(repo) == ["weights/fraud_risk.yaml", "weights/new_model.yaml"]
    assert build_bundle(repo, "HEAD~1").data == first


def test_target_path_and_channels():
    assert target_path("production") == "production/bundle.json"
    for bad in ("", "Prod", "../x", "a/b", "-x", "x" * 64):
        with pytest.raises(ValueError):
            target_path(bad)


# --- refusals -----------------------------------------------------------------------------------------------

def test_not_a_git_repository(tmp_path):
    folder = make_repo(tmp_path / "repo")
    import shutil

    shutil.rmtree(folder / ".git")
    with pytest.raises(BundleError, match="not a git repository"):
        build_bundle(folder)


def test_no_commit_yet_and_unknown_revision(tmp_path):
    repo = make_repo(tmp_path / "repo")
    with pytest.raises(BundleError, match="unknown git revision"):
        build_bundle(repo, "no-such-branch")
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    with pytest.raises(BundleError, match="no commit yet"):
        build_bundle(empty)


def test_weights_that_fail_the_gate_have_no_bundle(tmp_path):
    repo = make_repo(tmp_path / "repo")
    path = repo / "weights" / "fraud_risk.yaml"
    path.write_text(path.read_text().replace("kind: scorecard", "kind: scorecards", 1))
    commit_all(repo, "typo")
    with pytest.raises(BundleInvalid) as info:
        build_bundle(repo)
    assert any(f.path == "weights/fraud_risk.yaml" for f in info.value.findings)


# --- the command --------------------------------------------------------------------------------------------

def test_weights_build_command(repo, built, weights, tmp_path):
    out = tmp_path / "b.json"
    ran = weights("build", "--root", str(repo), "-o", str(out))
    assert ran.code == 0, ran.err
    assert out.read_bytes() == built.data
    assert f"commit {built.provenance.commit[:12]}" in ran.err


def test_weights_build_to_stdout(repo, built, capsysbinary, monkeypatch):
    from validator.cli import main

    with pytest.raises(SystemExit) as code:
        main(["build", "--root", str(repo)])
    assert code.value.code == 0
    assert capsysbinary.readouterr().out == built.data


def test_weights_build_notes_uncommitted_changes(tmp_path, weights):
    repo = make_repo(tmp_path / "repo")
    path = repo / "weights" / "fraud_risk.yaml"
    path.write_text(path.read_text() + "# wip\n")
    ran = weights("build", "--root", str(repo), "-o", str(tmp_path / "b.json"))
    assert ran.code == 0 and "uncommitted changes are not in the bundle: weights/fraud_risk.yaml" in ran.err


def test_weights_build_errors_are_clean(tmp_path, weights, repo):
    ran = weights("build", "--root", str(repo), "--rev", "nope", "-o", str(tmp_path / "x.json"))
    assert ran.code == 2 and "unknown git revision" in ran.err and not (tmp_path / "x.json").exists()
    ran = weights("build", "--root", str(repo), "-o", str(tmp_path / "no" / "dir" / "x.json"))
    assert ran.code == 2 and "cannot write" in ran.err and "Traceback" not in ran.err
    broken = make_repo(tmp_path / "broken")
    path = broken / "weights" / "fraud_risk.yaml"
    path.write_text(path.read_text().replace("kind: scorecard", "kind: scorecards", 1))
    commit_all(broken, "typo")
    ran = weights("build", "--root", str(broken), "-o", str(tmp_path / "y.json"))
    assert ran.code == 1 and "weights/fraud_risk.yaml" in ran.err and not (tmp_path / "y.json").exists()
