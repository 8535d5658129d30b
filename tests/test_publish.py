"""Publishing end to end: real git repositories, a served folder, and python-tuf's own client as the judge."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from ci_env import tool_missing
from publish_helpers import (
    BUNDLE,
    CrashingStorage,
    SimulatedCrash,
    TestKeys,
    change_weights,
    commit_all,
    fake_bundle,
    fetch,
    files_of,
    make_invoker,
    make_repo,
    served,
)

from validator.publish import repository as tuf_repo
from validator.publish.bundle import build_bundle
from validator.publish.keys import KeyProblem
from validator.publish.repository import Expiry, RepositoryStateError, StorageFetcher
from validator.publish.storage import FolderStorage, FsspecStorage, StorageError, open_storage

PUBLISHED = ".weights/published"
DEMO_ROOT = ".weights/dev-keys/root.json"


@pytest.fixture
def weights(capsys, monkeypatch):
    return make_invoker(capsys, monkeypatch)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


# --- interoperability ---------------------------------------------------------------------------------------

def test_python_tuf_client_downloads_what_weights_build_makes(repo, weights, tmp_path):
    """The issue's interop test: publish with the CLI (demo keys on a fresh clone), serve it, and let python-tuf's
    Updater, bootstrapped from the published root, fetch production/bundle.json: same bytes as weights build."""
    ran = weights("publish", "--root", str(repo))
    assert ran.code == 0, ran.err
    assert "published production/bundle.json version 1" in ran.out
    assert "demo" in ran.err
    built = weights("build", "--root", str(repo), "-o", str(tmp_path / "built.json"))
    assert built.code == 0, built.err
    root = (repo / PUBLISHED / "metadata" / "1.root.json").read_bytes()
    assert root == (repo / DEMO_ROOT).read_bytes()
    with served(repo / PUBLISHED) as server:
        got = fetch(tmp_path / "client", server.url, root)
    assert got == (tmp_path / "built.json").read_bytes()
    assert json.loads(got)["provenance"]["commit"] == commit_of(repo)


def commit_of(repo: Path) -> str:
    from publish_helpers import git

    return git(repo, "rev-parse", "HEAD").strip()


def test_publish_with_ci_keys_from_environment(repo, weights, tmp_path):
    keys = TestKeys.generate()
    (repo / "config" / "root.json").write_bytes(keys.root())
    commit_all(repo, "trust root")
    env = keys.env(("targets", "snapshot", "timestamp"))
    ran = weights("publish", "--root", str(repo), "--to", str(tmp_path / "site"), env=env)
    assert ran.code == 0, ran.err
    assert "demo" not in ran.err
    for secret in env.values():
        assert secret.strip() not in ran.out + ran.err
    with served(tmp_path / "site") as server:
        got = fetch(tmp_path / "client", server.url, (repo / "config" / "root.json").read_bytes())
    assert got == build_bundle(repo).data


# --- versions, no-ops, only the timestamp rewritten ---------------------------------------------------------

def test_second_publish_of_same_commit_writes_nothing(repo, weights):
    assert weights("publish", "--root", str(repo)).code == 0
    site = repo / PUBLISHED
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in site.rglob("*") if p.is_file()}
    ran = weights("publish", "--root", str(repo))
    assert ran.code == 0 and ran.out.startswith("unchanged:")
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in site.rglob("*") if p.is_file()}
    assert after == before


def test_new_commit_is_new_version_and_only_timestamp_is_rewritten(repo, weights, tmp_path):
    assert weights("publish", "--root", str(repo)).code == 0
    site = repo / PUBLISHED
    first = files_of(site)
    change_weights(repo, 1)
    ran = weights("publish", "--root", str(repo), "--format", "json")
    assert ran.code == 0, ran.err
    result = json.loads(ran.out)
    assert result["version"] == 2 and result["changed"] is True
    assert result["written"][-1] == "metadata/timestamp.json"
    second = files_of(site)
    changed = {name for name in first if first[name] != second[name]}
    assert changed == {"metadata/timestamp.json"}
    new = set(second) - set(first)
    assert {"metadata/2.targets.json", "metadata/2.snapshot.json"} <= new
    assert len([n for n in new if n.startswith("targets/production/")]) == 1
    with served(site) as server:
        got = fetch(tmp_path / "client", server.url, (repo / DEMO_ROOT).read_bytes())
    assert got == build_bundle(repo).data


def test_publish_refuses_a_dirty_work_tree_unless_rev_given(repo, weights):
    (repo / "weights" / "fraud_risk.yaml").write_text((repo / "weights" / "fraud_risk.yaml").read_text() + "# wip\n")
    ran = weights("publish", "--root", str(repo))
    assert ran.code == 2
    assert "uncommitted changes to weights/fraud_risk.yaml" in ran.err and "Traceback" not in ran.err
    assert not (repo / PUBLISHED).exists()
    ran = weights("publish", "--root", str(repo), "--rev", "HEAD")
    assert ran.code == 0, ran.err


def test_publish_of_weights_that_fail_the_gate_exits_1_and_writes_nothing(repo, weights):
    path = repo / "weights" / "fraud_risk.yaml"
    path.write_text(path.read_text().replace("kind: scorecard", "kind: scorecards", 1))
    commit_all(repo, "broken")
    ran = weights("publish", "--root", str(repo))
    assert ran.code == 1
    assert "weights/fraud_risk.yaml" in ran.err and "do not validate" in ran.err
    assert not (repo / ".weights").exists()


def test_channels_are_separate_targets(repo, weights, tmp_path):
    assert weights("publish", "--root", str(repo)).code == 0
    ran = weights("publish", "--root", str(repo), "--channel", "canary")
    assert ran.code == 0 and "canary/bundle.json version 2" in ran.out
    with served(repo / PUBLISHED) as server:
        root = (repo / DEMO_ROOT).read_bytes()
        assert fetch(tmp_path / "a", server.url, root, "canary/bundle.json") == fetch(tmp_path / "b", server.url, root)
    assert weights("publish", "--root", str(repo), "--channel", "../x").code == 2


# --- rollback, refresh, status ------------------------------------------------------------------------------

def test_rollback_republishes_old_content_as_a_higher_version(repo, weights, tmp_path):
    assert weights("publish", "--root", str(repo)).code == 0
    v1 = build_bundle(repo).data
    change_weights(repo, 1)
    assert weights("publish", "--root", str(repo)).code == 0
    site = repo / PUBLISHED
    root = (repo / DEMO_ROOT).read_bytes()
    with served(site) as server:
        client = tmp_path / "client"
        assert fetch(client, server.url, root) == build_bundle(repo).data
        ran = weights("rollback", "--to", "1", "--root", str(repo))
        assert ran.code == 0, ran.err
        assert "version 3 serves the bundle of version 1" in ran.out
        # The same client (it trusts version 2 already) accepts version 3, whose content is version 1's.
        assert fetch(client, server.url, root) == v1
    status = json.loads(weights("status", "--root", str(repo), "--format", "json").out)
    assert status["version"] == 3 and status["channels"]["production"]["rollback_of"] == 1
    assert weights("rollback", "--to", "1", "--root", str(repo)).out.startswith("unchanged")
    bad = weights("rollback", "--to", "7", "--root", str(repo))
    assert bad.code == 2 and "not an earlier version" in bad.err


def test_refresh_resigns_timestamp_and_what_is_due(tmp_path):
    keys = TestKeys.generate()
    long = Expiry()
    t0 = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    root = keys.root(long, t0)
    storage = FolderStorage(tmp_path / "site")
    tuf_repo.publish(storage, root, keys.source(), fake_bundle("one"), "production", long, now=t0)
    # A day later: only the timestamp is re-signed; 60 days later the targets (90 d) are past half-life too.
    day = tuf_repo.refresh(storage, root, keys.source(("timestamp",)), long, now=t0 + dt.timedelta(days=1))
    assert day.written == ["metadata/timestamp.json"]
    later = tuf_repo.refresh(storage, root, keys.source(), long, now=t0 + dt.timedelta(days=60))
    assert later.written == ["metadata/2.targets.json", "metadata/2.snapshot.json", "metadata/timestamp.json"]
    repo = tuf_repo.TufRepository.load(storage, root)
    assert repo.version == 2 and repo.timestamp.md.signed.version == 3
    assert repo.target(BUNDLE).length == len(fake_bundle("one").data)
    with pytest.raises(KeyProblem, match="no snapshot key"):
        tuf_repo.refresh(storage, root, keys.source(("timestamp",)), long, now=t0 + dt.timedelta(days=150))


def test_refresh_cli_and_status(repo, weights):
    assert weights("refresh", "--root", str(repo)).code == 2  # nothing published yet: the demo keys exist, no repo
    assert weights("publish", "--root", str(repo)).code == 0
    ran = weights("refresh", "--root", str(repo))
    assert ran.code == 0, ran.err
    assert "re-signed timestamp" in ran.out
    text = weights("status", "--root", str(repo))
    assert text.code == 0, text.err
    assert "verified    yes" in text.out and "Ana Lyst" in text.out and "timestamp   v2" in text.out
    data = json.loads(weights("status", "--root", str(repo), "--format", "json").out)
    assert data["verified"] is True and data["version"] == 1
    assert data["channels"]["production"]["commit"] == commit_of(repo)
    assert set(data["roles"]) == {"root", "targets", "snapshot", "timestamp"}


def test_refresh_of_unpublished_location_is_an_error(repo, weights, tmp_path):
    weights("publish", "--root", str(repo))  # creates the demo keys
    ran = weights("refresh", "--root", str(repo), "--to", str(tmp_path / "empty"))
    assert ran.code == 2 and "no trust root" in ran.err


def test_status_of_tampered_repository_exits_1(repo, weights):
    assert weights("publish", "--root", str(repo)).code == 0
    content = next((repo / PUBLISHED / "targets" / "production").glob("*.bundle.json"))
    content.write_bytes(content.read_bytes().replace(b"Ana Lyst", b"Eve Lyst"))
    ran = weights("status", "--root", str(repo))
    assert ran.code == 1
    assert "verified    NO" in ran.out and "LengthOrHashMismatchError" in ran.out


def test_status_of_nothing_published_exits_2(repo, weights, tmp_path):
    keys = TestKeys.generate()
    (repo / "config" / "root.json").write_bytes(keys.root())
    ran = weights("status", "--root", str(repo), "--dir", str(tmp_path / "nowhere"))
    assert ran.code == 2 and "nothing is published" in ran.err


def test_status_over_http_from_outside_the_repository(repo, weights, tmp_path, monkeypatch):
    assert weights("publish", "--root", str(repo)).code == 0
    monkeypatch.chdir(tmp_path)
    with served(repo / PUBLISHED) as server:
        ran = weights("status", "--url", server.url, "--trusted-root", str(repo / DEMO_ROOT))
        assert ran.code == 0, ran.out + ran.err
        assert "version     1" in ran.out
        assert weights("status", "--url", server.url).code == 2  # no repository, no --trusted-root


# --- object storage through fsspec --------------------------------------------------------------------------

def test_publish_to_fsspec_memory_and_verify_as_client(repo, weights, tmp_path):
    keys = TestKeys.generate()
    (repo / "config" / "root.json").write_bytes(keys.root())
    commit_all(repo, "trust root")
    url = f"memory://weights-test-{os.getpid()}-{id(tmp_path)}/repo"
    env = keys.env(("targets", "snapshot", "timestamp"))
    ran = weights("publish", "--root", str(repo), "--to", url, env=env)
    assert ran.code == 0, ran.err
    storage = open_storage(url)
    assert isinstance(storage, FsspecStorage)
    assert storage.list("metadata") == ["1.root.json", "1.snapshot.json", "1.targets.json", "timestamp.json"]
    root = (repo / "config" / "root.json").read_bytes()
    got = fetch(tmp_path / "client", StorageFetcher.PREFIX, root, fetcher=StorageFetcher(storage))
    assert got == build_bundle(repo).data
    again = weights("publish", "--root", str(repo), "--to", url, env=env)
    assert again.out.startswith("unchanged")
    status = json.loads(weights("status", "--root", str(repo), "--url", url, "--format", "json").out)
    assert status["verified"] and status["version"] == 1


def test_bad_publish_locations_are_usage_errors(repo, weights, tmp_path):
    ran = weights("publish", "--root", str(repo), "--to", "http://example.invalid/weights")
    assert ran.code == 2 and "an HTTP host only serves" in ran.err
    ran = weights("publish", "--root", str(repo), "--to", "nosuchscheme://bucket/x")
    assert ran.code == 2 and "Traceback" not in ran.err
    with pytest.raises(StorageError):
        open_storage("")


def test_no_keys_and_a_non_default_target_is_an_error_not_a_demo(repo, weights, tmp_path):
    ran = weights("publish", "--root", str(repo), "--to", str(tmp_path / "site"))
    assert ran.code == 2 and "no trust root config/root.json" in ran.err
    keys = TestKeys.generate()
    (repo / "config" / "root.json").write_bytes(keys.root())
    commit_all(repo, "trust root")
    ran = weights("publish", "--root", str(repo), "--to", str(tmp_path / "site"))
    assert ran.code == 2 and "no targets key" in ran.err
    assert not (tmp_path / "site" / "metadata").exists()


def test_wrong_or_broken_key_is_named_without_its_content(repo, weights, tmp_path):
    keys, other = TestKeys.generate(), TestKeys.generate()
    (repo / "config" / "root.json").write_bytes(keys.root())
    commit_all(repo, "trust root")
    env = {**keys.env(("snapshot", "timestamp")), **other.env(("targets",))}
    ran = weights("publish", "--root", str(repo), "--to", str(tmp_path / "site"), env=env)
    assert ran.code == 2 and "is not one the root trusts" in ran.err
    broken = {**keys.env(), "WEIGHTS_KEY_TARGETS": "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n"}
    ran = weights("publish", "--root", str(repo), "--to", str(tmp_path / "site"), env=broken)
    assert ran.code == 2 and "not a PEM private key" in ran.err and "c2VjcmV0" not in ran.err


def test_publish_settings_errors_exit_2(repo, weights):
    settings = repo / "config" / "weights.yaml"
    kept = settings.read_text().split("\npublish:")[0]
    settings.write_text(kept + "\npublish:\n  expires_days: {timestamp: -1}\n")
    ran = weights("publish", "--root", str(repo), "--rev", "HEAD")
    assert ran.code == 2 and "publish.expires_days.timestamp" in ran.err


# --- keys ---------------------------------------------------------------------------------------------------

def test_key_sources_env_text_file_uri_and_folder(tmp_path):
    from tuf.api.metadata import Metadata

    from validator.publish.keys import KeySource
    from validator.publish.repository import role_keys

    keys = TestKeys.generate()
    root = Metadata.from_bytes(keys.root()).signed
    trusted = role_keys(root, "targets")
    pem = keys.signers["targets"].private_bytes
    (tmp_path / "k.pem").write_bytes(pem)
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "targets.pem").write_bytes(pem)
    sources = {
        "text": KeySource(None, {"WEIGHTS_KEY_TARGETS": pem.decode()}),
        "file": KeySource(None, {"WEIGHTS_KEY_TARGETS_FILE": str(tmp_path / "k.pem")}),
        "uri": KeySource(None, {"WEIGHTS_KEY_TARGETS_URI": f"file2:{tmp_path / 'k.pem'}"}),
        "folder": KeySource(tmp_path / "dir", {}),
    }
    for how, source in sources.items():
        signer = source.signer("targets", trusted)
        assert signer.public_key.keyid in trusted, how
    assert sources["text"].where("targets") == "$WEIGHTS_KEY_TARGETS"  # the variable's name, never its value
    with pytest.raises(KeyProblem, match="cannot read"):
        KeySource(None, {"WEIGHTS_KEY_TARGETS_FILE": str(tmp_path / "missing.pem")}).signer("targets", trusted)
    with pytest.raises(KeyProblem, match="no snapshot key"):
        sources["folder"].signer("snapshot", role_keys(root, "snapshot"))


def test_keys_rotate_before_anything_is_published(repo, weights, tmp_path):
    assert weights("keys", "init", "--root", str(repo)).code == 0
    first = (repo / "config" / "root.json").read_bytes()
    ran = weights("keys", "rotate", "timestamp", "--root", str(repo))
    assert ran.code == 0, ran.err
    site = repo / PUBLISHED
    assert sorted(p.name for p in (site / "metadata").iterdir()) == ["1.root.json", "2.root.json", "3.root.json"]
    commit_all(repo, "rotated")
    assert weights("publish", "--root", str(repo)).code == 0
    with served(site) as server:
        assert fetch(tmp_path / "client", server.url, first) == build_bundle(repo).data
    assert weights("keys", "rotate", "nobody", "--root", str(repo)).code == 2


def test_keys_init_writes_owner_only_keys_and_the_trust_root(repo, weights):
    ran = weights("keys", "init", "--root", str(repo))
    assert ran.code == 0, ran.err
    folder = repo / ".weights" / "keys"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for role in ("root", "targets", "snapshot", "timestamp"):
        assert stat.S_IMODE((folder / f"{role}.pem").stat().st_mode) == 0o600
        assert "PRIVATE KEY" not in ran.out
    root = json.loads((repo / "config" / "root.json").read_bytes())
    assert root["signed"]["consistent_snapshot"] is True and root["signed"]["version"] == 1
    again = weights("keys", "init", "--root", str(repo))
    assert again.code == 2 and "keys rotate" in again.err
    # The keys in .weights/keys (not a demo) now sign a publish.
    commit_all(repo, "trust root")
    ran = weights("publish", "--root", str(repo))
    assert ran.code == 0 and "demo" not in ran.err
    assert (repo / PUBLISHED / "metadata" / "1.root.json").read_bytes() == (repo / "config" / "root.json").read_bytes()


def test_keys_init_refuses_a_folder_git_would_track(repo, weights):
    ran = weights("keys", "init", "--root", str(repo), "--keys-dir", str(repo / "secrets"))
    assert ran.code == 2 and "git would track it" in ran.err
    assert not (repo / "secrets").exists() and not (repo / "config" / "root.json").exists()


def test_keys_rotate_targets_then_publish_with_the_new_key(repo, weights, tmp_path):
    assert weights("keys", "init", "--root", str(repo)).code == 0
    commit_all(repo, "trust root")
    assert weights("publish", "--root", str(repo)).code == 0
    old_root = (repo / "config" / "root.json").read_bytes()
    old_key = (repo / ".weights" / "keys" / "targets.pem").read_bytes()
    ran = weights("keys", "rotate", "targets", "--root", str(repo))
    assert ran.code == 0, ran.err
    assert "root is now version 3" in ran.out
    assert (repo / ".weights" / "keys" / "targets.pem").read_bytes() != old_key
    assert not (repo / ".weights" / "keys" / "targets.pem.new").exists()
    commit_all(repo, "rotated")
    change_weights(repo, 1)
    assert weights("publish", "--root", str(repo)).code == 0
    # An app that shipped the old root follows the chain 1 -> 2 -> 3 and gets the new bundle.
    with served(repo / PUBLISHED) as server:
        assert fetch(tmp_path / "client", server.url, old_root) == build_bundle(repo).data
    # The rotated-out key is refused with a message that says so.
    ran = weights("publish", "--root", str(repo), "--channel", "canary",
                  env={"WEIGHTS_KEY_TARGETS": old_key.decode()})
    assert ran.code == 2 and "rotated out" in ran.err


# --- crash safety -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def v1_site(tmp_path_factory):
    keys = TestKeys.generate()
    root = keys.root()
    site = tmp_path_factory.mktemp("crash") / "site"
    tuf_repo.publish(FolderStorage(site), root, keys.source(), fake_bundle("v1"), "production", Expiry())
    return keys, root, site


@pytest.mark.parametrize("allowed", range(5))
def test_publish_killed_after_each_write_leaves_the_previous_version(v1_site, tmp_path, allowed):
    keys, root, original = v1_site
    site = tmp_path / "site"
    shutil.copytree(original, site)
    seen_v1 = tmp_path / "seen-v1"
    with served(site) as server:
        assert fetch(seen_v1, server.url, root) == fake_bundle("v1").data
        storage = CrashingStorage(FolderStorage(site), allowed)
        if allowed < 4:
            with pytest.raises(SimulatedCrash):
                tuf_repo.publish(storage, root, keys.source(), fake_bundle("v2"), "production", Expiry())
        else:
            tuf_repo.publish(storage, root, keys.source(), fake_bundle("v2"), "production", Expiry())
        assert len(storage.done) == allowed
        expected = fake_bundle("v1" if allowed < 4 else "v2").data
        # A new client and one that already trusted version 1 both read a complete, verified version.
        assert fetch(tmp_path / "fresh", server.url, root) == expected
        assert fetch(seen_v1, server.url, root) == expected
        # The next publish (not killed) completes over whatever the killed one left.
        tuf_repo.publish(FolderStorage(site), root, keys.source(), fake_bundle("v2"), "production", Expiry())
        assert fetch(seen_v1, server.url, root) == fake_bundle("v2").data
        assert fetch(tmp_path / "fresh2", server.url, root) == fake_bundle("v2").data


@pytest.mark.parametrize("allowed", range(6))
def test_key_rotation_killed_after_each_write_never_breaks_a_client(v1_site, tmp_path, allowed):
    """Rotation writes root(old+new), targets, snapshot, timestamp, root(new): a client verifies at every step."""
    from validator.publish.keys import generate

    keys, root, original = v1_site
    site = tmp_path / "site"
    shutil.copytree(original, site)
    client = tmp_path / "client"
    with served(site) as server:
        assert fetch(client, server.url, root) == fake_bundle("v1").data
        storage = CrashingStorage(FolderStorage(site), allowed)
        try:
            tuf_repo.rotate(storage, root, keys.source(), "targets", generate(), Expiry())
        except SimulatedCrash:
            pass
        assert len(storage.done) == min(allowed, 5)
        assert fetch(client, server.url, root) == fake_bundle("v1").data
        assert fetch(tmp_path / "fresh", server.url, root) == fake_bundle("v1").data


def test_a_concurrent_publish_to_the_same_folder_is_refused(v1_site, tmp_path):
    keys, root, original = v1_site
    site = tmp_path / "site"
    shutil.copytree(original, site)
    storage = FolderStorage(site)
    with storage.lock():
        with pytest.raises(StorageError, match="another publish"):
            tuf_repo.publish(FolderStorage(site), root, keys.source(), fake_bundle("v2"), "production", Expiry())


def test_publishing_over_another_trust_root_is_refused(v1_site, tmp_path):
    keys, root, original = v1_site
    site = tmp_path / "site"
    shutil.copytree(original, site)
    stranger = TestKeys.generate()
    with pytest.raises(RepositoryStateError, match="another trust root"):
        tuf_repo.publish(FolderStorage(site), stranger.root(), stranger.source(), fake_bundle("x"), "production",
                         Expiry())


def test_tampered_targets_in_storage_are_not_signed_over(v1_site, tmp_path):
    keys, root, original = v1_site
    site = tmp_path / "site"
    shutil.copytree(original, site)
    path = site / "metadata" / "1.targets.json"
    path.write_bytes(path.read_bytes().replace(b'"production/bundle.json"', b'"production/evil.json"'))
    with pytest.raises(RepositoryStateError, match="does not match"):
        tuf_repo.publish(FolderStorage(site), root, keys.source(), fake_bundle("v2"), "production", Expiry())


# --- a second client we did not write: tuf-js (optional) ----------------------------------------------------

TUF_JS_CLIENT = r"""
const { Updater } = require('tuf-js');
(async () => {
  const [base, meta, targets, path, out] = process.argv.slice(2);
  const updater = new Updater({ metadataDir: meta, metadataBaseUrl: base + 'metadata', targetDir: targets,
                                targetBaseUrl: base + 'targets' });
  await updater.refresh();
  const info = await updater.getTargetInfo(path);
  if (!info) { console.error('no target ' + path); process.exit(3); }
  await updater.downloadTarget(info, out);
})().catch(e => { console.error(`${e.constructor.name}: ${e.message}`); process.exit(1); });
"""


def _tuf_js_node_path() -> str | None:
    """Where tuf-js is installed: $WEIGHTS_TUF_JS_NODE_PATH, else .ci/npm/node_modules (.ci/run installs it there)."""
    import subprocess

    node = shutil.which("node")
    if node is None:
        return None
    default = Path(__file__).resolve().parents[1] / ".ci" / "npm" / "node_modules"
    node_path = os.environ.get("WEIGHTS_TUF_JS_NODE_PATH") or os.environ.get("NODE_PATH") or str(default)
    probe = subprocess.run([node, "-e", "require.resolve('tuf-js')"], capture_output=True,
                           env={**os.environ, "NODE_PATH": node_path}, timeout=30)
    return node_path if probe.returncode == 0 else None


def test_tuf_js_client_downloads_the_same_bytes(repo, weights, tmp_path):
    """Where Node and tuf-js are present (npm install tuf-js; WEIGHTS_TUF_JS_NODE_PATH=<node_modules>)."""
    import subprocess

    node_path = _tuf_js_node_path()
    if node_path is None:
        tool_missing("Node and tuf-js not found (npm install --prefix .ci/npm tuf-js@6, or set "
                     "WEIGHTS_TUF_JS_NODE_PATH to the node_modules that has it)")
    assert weights("publish", "--root", str(repo)).code == 0
    meta = tmp_path / "meta"
    meta.mkdir()
    shutil.copy(repo / DEMO_ROOT, meta / "root.json")  # tuf-js bootstraps from metadataDir/root.json
    script = tmp_path / "client.js"
    script.write_text(TUF_JS_CLIENT)
    with served(repo / PUBLISHED) as server:
        ran = subprocess.run(["node", str(script), server.url, str(meta), str(tmp_path / "t"), BUNDLE,
                              str(tmp_path / "out.json")], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "NODE_PATH": node_path})
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "out.json").read_bytes() == build_bundle(repo).data


def test_status_says_what_expired(tmp_path, weights):
    keys = TestKeys.generate()
    past = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(days=5)
    root = keys.root(Expiry(), past)
    (tmp_path / "root.json").write_bytes(root)
    tuf_repo.publish(FolderStorage(tmp_path / "site"), root, keys.source(), fake_bundle("v1"), "production", Expiry(),
                     now=past)
    ran = weights("status", "--dir", str(tmp_path / "site"), "--trusted-root", str(tmp_path / "root.json"))
    assert ran.code == 1
    assert "ExpiredMetadataError" in ran.out and "timestamp   v1" in ran.out and "EXPIRED" in ran.out
    data = json.loads(weights("status", "--dir", str(tmp_path / "site"), "--trusted-root", str(tmp_path / "root.json"),
                              "--format", "json").out)
    assert data["verified"] is False and data["roles"]["timestamp"]["expired"] is True
    assert data["roles"]["targets"]["expired"] is False and data["channels"]["production"]["commit"] == "c" * 40


def test_publish_and_rollback_refuse_a_location_whose_bundle_was_altered(repo, weights):
    """Signing a new version over altered files would hide the incident; stop and name the file."""
    first = weights("publish", "--root", str(repo))
    assert first.code == 0, first.err
    live = next((repo / PUBLISHED / "targets" / "production").glob("*.bundle.json"))
    live.write_bytes(live.read_bytes() + b" ")
    for args in (("publish", "--root", str(repo)), ("rollback", "--to", "1", "--root", str(repo))):
        ran = weights(*args)
        assert ran.code == 1 and "does not match its signed metadata" in ran.err and live.name in ran.err, ran.err
