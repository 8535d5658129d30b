"""Publishing a commit that is already live: found before anything is built, and never without verifying what
is live first."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from publish_helpers import (
    TestKeys,
    change_weights,
    fake_bundle,
    git,
    make_invoker,
    make_repo,
)

from validator.publish import bundle as bundle_module
from validator.publish import repository as tuf_repo
from validator.publish.bundle import build_bundle, builder_id
from validator.publish.repository import (
    Expiry,
    RepositoryStateError,
    already_live,
    content_file,
)
from validator.publish.storage import FolderStorage

PUBLISHED = ".weights/published"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


@pytest.fixture
def weights(capsys, monkeypatch):
    return make_invoker(capsys, monkeypatch)


@pytest.fixture
def live(repo, tmp_path):
    """The repository's HEAD built and published to a folder with test keys."""
    keys = TestKeys.generate()
    root = keys.root()
    storage = FolderStorage(tmp_path / "site")
    bundle = build_bundle(repo)
    tuf_repo.publish(storage, root, keys.source(), bundle, "production", Expiry())
    return keys, root, storage, bundle


def test_the_live_commit_is_found_verified_without_a_build(live):
    _, root, storage, bundle = live
    result = already_live(storage, root, bundle.provenance.commit, "production")
    assert result is not None and result.changed is False and result.written == []
    assert result.version == 1 and result.path == "production/bundle.json"
    assert result.custom["commit"] == bundle.provenance.commit and result.custom["builder"] == builder_id()
    assert result.length == len(bundle.data)


def test_another_commit_channel_or_builder_is_not_live(live, repo):
    keys, root, storage, bundle = live
    assert already_live(storage, root, "0" * 40, "production") is None
    assert already_live(storage, root, bundle.provenance.commit, "canary") is None
    # A bundle from elsewhere (no builder recorded) never lets a later publish skip its build.
    tuf_repo.publish(storage, root, keys.source(), fake_bundle("x", commit="d" * 40), "production", Expiry())
    assert already_live(storage, root, "d" * 40, "production") is None


def test_a_changed_builder_means_a_rebuild(live, monkeypatch):
    _, root, storage, bundle = live
    monkeypatch.setattr(tuf_repo.operations, "builder_id", lambda: "another builder")
    assert already_live(storage, root, bundle.provenance.commit, "production") is None


def test_a_tampered_live_bundle_is_never_called_live(live):
    keys, root, storage, bundle = live
    info = tuf_repo.TufRepository.load(storage, root).target("production/bundle.json")
    path = storage.path / content_file("production/bundle.json", info.hashes["sha256"])
    path.write_bytes(path.read_bytes().replace(b'"format_version":1', b'"format_version":2'))
    assert already_live(storage, root, bundle.provenance.commit, "production") is None
    with pytest.raises(RepositoryStateError, match="does not match its signed metadata"):
        tuf_repo.publish(storage, root, keys.source(), bundle, "production", Expiry())


def test_a_newer_trust_root_to_publish_is_not_a_no_op(live):
    keys, root, storage, bundle = live
    repo = tuf_repo.TufRepository.load(storage, root)
    md = repo.next_root(Expiry())
    repo.stage_root(md, [keys.signers["root"]])
    newer = repo.root_bytes  # staged, never committed: the anchor knows a root the location lacks
    assert already_live(storage, newer, bundle.provenance.commit, "production") is None


# --- through the command --------------------------------------------------------------------------------------

def _count_builds(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = bundle_module.build_bundle

    def counting(root, rev="HEAD"):
        calls.append(rev)
        return real(root, rev)

    monkeypatch.setattr(bundle_module, "build_bundle", counting)
    return calls


def test_a_no_op_publish_builds_nothing_and_says_unchanged(repo, weights, monkeypatch):
    first = weights("publish", "--root", str(repo), "--format", "json")
    assert first.code == 0, first.err
    builds = _count_builds(monkeypatch)
    again = weights("publish", "--root", str(repo))
    assert again.code == 0, again.err
    commit = git(repo, "rev-parse", "HEAD").strip()
    assert again.out.startswith(f"unchanged: production/bundle.json is already commit {commit[:12]} (version 1)")
    assert "demo" in again.err
    assert builds == []
    as_json = json.loads(weights("publish", "--root", str(repo), "--format", "json").out)
    assert {k: as_json[k] for k in ("changed", "version", "written", "trust", "demo")} == {
        "changed": False, "version": 1, "written": [], "trust": ".weights/dev-keys/root.json (demo)", "demo": True}
    assert as_json["sha256"] == json.loads(first.out)["sha256"]


def test_a_new_commit_or_a_new_builder_builds(repo, weights, monkeypatch):
    assert weights("publish", "--root", str(repo)).code == 0
    builds = _count_builds(monkeypatch)
    monkeypatch.setattr(tuf_repo.operations, "builder_id", lambda: "another builder")
    same = weights("publish", "--root", str(repo))
    assert same.code == 0 and same.out.startswith("unchanged:") and builds == ["HEAD"]
    monkeypatch.undo()
    builds = _count_builds(monkeypatch)
    change_weights(repo, 1)
    ran = weights("publish", "--root", str(repo))
    assert ran.code == 0 and "version 2" in ran.out and builds == ["HEAD"]


def test_a_no_op_publish_over_a_tampered_bundle_exits_1(repo, weights):
    assert weights("publish", "--root", str(repo)).code == 0
    site = repo / PUBLISHED
    (bundle_file,) = (site / "targets" / "production").iterdir()
    bundle_file.write_bytes(bundle_file.read_bytes() + b" ")
    ran = weights("publish", "--root", str(repo))
    assert ran.code == 1
    assert "does not match its signed metadata" in ran.err and "Traceback" not in ran.err
