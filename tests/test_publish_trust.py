"""The trust policy, called directly: which root and keys sign a change, when the local demo keys do, and which
root ``weights status`` verifies with. The commands over it are tested end to end in test_publish.py."""
from __future__ import annotations

import stat
from pathlib import Path

import pytest
from publish_helpers import TestKeys, commit_all, make_repo

from validator.publish.keys import ROLES, KeyProblem, env_name
from validator.publish.repository import (
    DEFAULT_TARGET,
    Expiry,
    keys_dir_of,
    target_spec,
)
from validator.publish.repository.settings import PublishSettings
from validator.publish.storage import FolderStorage, FsspecStorage
from validator.publish.trust import (
    DEMO_LABEL,
    DEMO_ROOT_FILE,
    TRUST_ROOT_FILE,
    TrustError,
    ensure_dev_root,
    existing_trust,
    init_trust,
    is_default_folder,
    rotate_key,
    signing_trust,
    status_anchor,
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


@pytest.fixture
def no_key_env(monkeypatch):
    key_vars = (env_name(role) + suffix for role in ROLES for suffix in ("", "_FILE", "_URI"))
    for name in ("WEIGHTS_KEYS_DIR", "WEIGHTS_PUBLISH_TO", *key_vars):
        monkeypatch.delenv(name, raising=False)


def _with_config_root_and_keys(repo: Path, keys_dir: Path) -> TestKeys:
    keys = TestKeys.generate()
    (repo / TRUST_ROOT_FILE).write_bytes(keys.root())
    keys_dir.mkdir(parents=True)
    for role in ("targets", "snapshot", "timestamp"):
        (keys_dir / f"{role}.pem").write_bytes(keys.signers[role].private_bytes)
    return keys


# --- signing -------------------------------------------------------------------------------------------------

def test_no_key_and_the_default_folder_is_a_demo_with_keys_made_on_first_use(repo, no_key_env):
    trust = signing_trust(repo, repo / ".weights/keys", True, Expiry())
    assert trust.demo and trust.label == DEMO_LABEL and trust.path == repo / DEMO_ROOT_FILE
    assert trust.anchor == (repo / DEMO_ROOT_FILE).read_bytes()
    dev = repo / ".weights" / "dev-keys"
    for role in ROLES:
        assert stat.S_IMODE((dev / f"{role}.pem").stat().st_mode) == 0o600
    assert all(trust.keys.has(role) for role in ROLES)
    # Made once: the next demo signs with the same root.
    assert signing_trust(repo, repo / ".weights/keys", True, Expiry()).anchor == trust.anchor


def test_configured_keys_and_a_committed_root_are_real_trust(repo, no_key_env):
    _with_config_root_and_keys(repo, repo / ".weights" / "keys")
    trust = signing_trust(repo, repo / ".weights" / "keys", True, Expiry())
    assert not trust.demo and trust.label == TRUST_ROOT_FILE
    assert trust.anchor == (repo / TRUST_ROOT_FILE).read_bytes()
    assert not (repo / ".weights" / "dev-keys").exists()


def test_no_key_and_another_target_is_an_error_never_a_demo(repo, no_key_env):
    with pytest.raises(TrustError, match=f"no trust root {TRUST_ROOT_FILE}: run weights keys init"):
        signing_trust(repo, repo / ".weights/keys", False, Expiry())
    (repo / TRUST_ROOT_FILE).write_bytes(TestKeys.generate().root())
    with pytest.raises(TrustError, match="no targets key: set WEIGHTS_KEY_TARGETS"):
        signing_trust(repo, repo / ".weights/keys", False, Expiry())
    assert not (repo / ".weights").exists()


def test_keys_without_a_committed_root_are_an_error_even_for_the_default_folder(repo, monkeypatch, no_key_env):
    keys = TestKeys.generate()
    monkeypatch.setenv(env_name("targets"), keys.signers["targets"].private_bytes.decode())
    with pytest.raises(TrustError, match="no trust root"):
        signing_trust(repo, repo / ".weights/keys", True, Expiry())
    assert existing_trust(repo, repo / ".weights/keys", True) is None


def test_existing_trust_never_creates_the_demo_keys(repo, no_key_env):
    assert existing_trust(repo, repo / ".weights/keys", True) is None
    assert not (repo / ".weights").exists()
    made = signing_trust(repo, repo / ".weights/keys", True, Expiry())
    seen = existing_trust(repo, repo / ".weights/keys", True)
    assert seen is not None and seen.demo and seen.anchor == made.anchor and seen.label == made.label


def test_existing_trust_is_the_committed_root_when_keys_are_configured(repo, no_key_env):
    _with_config_root_and_keys(repo, repo / "keys-outside")
    seen = existing_trust(repo, repo / "keys-outside", False)
    assert seen is not None and not seen.demo and seen.anchor == (repo / TRUST_ROOT_FILE).read_bytes()


def test_demo_keys_are_never_written_where_git_would_track_them(repo, no_key_env):
    (repo / ".gitignore").write_text("")  # .weights/ no longer ignored
    commit_all(repo, "track everything")
    with pytest.raises(KeyProblem, match="git would track it"):
        ensure_dev_root(repo / ".weights" / "dev-keys", Expiry())
    assert not (repo / ".weights" / "dev-keys" / "root.json").exists()


def test_the_default_folder_is_the_only_demo_place(repo, tmp_path):
    assert is_default_folder(repo, FolderStorage(repo / DEFAULT_TARGET))
    assert is_default_folder(repo, FolderStorage(repo / "config" / ".." / DEFAULT_TARGET))
    assert not is_default_folder(repo, FolderStorage(tmp_path / "site"))
    assert not is_default_folder(None, FolderStorage(repo / DEFAULT_TARGET))
    assert not is_default_folder(repo, FsspecStorage("memory://weights-trust-test"))


# --- where: options, environment, settings -------------------------------------------------------------------

def test_target_and_keys_dir_come_from_option_then_environment_then_settings(repo, tmp_path):
    settings = PublishSettings(target="site-from-settings", keys_dir="keys-from-settings")
    env = {"WEIGHTS_PUBLISH_TO": "s3://bucket/w", "WEIGHTS_KEYS_DIR": str(tmp_path / "env-keys")}
    assert target_spec("opt", settings, env) == "opt"
    assert target_spec(None, settings, env) == "s3://bucket/w"
    assert target_spec(None, settings, {}) == "site-from-settings"
    assert target_spec(None, None, {}) is None
    assert keys_dir_of(repo, str(tmp_path / "opt"), settings, env) == tmp_path / "opt"
    assert keys_dir_of(repo, None, settings, env) == tmp_path / "env-keys"
    assert keys_dir_of(repo, None, settings, {}) == repo / "keys-from-settings"


# --- status ---------------------------------------------------------------------------------------------------

def test_status_anchor_is_the_root_the_repository_descends_from(repo, no_key_env):
    committed = TestKeys.generate().root()
    (repo / TRUST_ROOT_FILE).write_bytes(committed)
    demo = signing_trust(repo, repo / ".weights/keys", True, Expiry()).anchor
    published = {1: demo}
    assert status_anchor(repo, None, published.get) == (demo, DEMO_LABEL)
    published = {1: committed}
    assert status_anchor(repo, None, published.get) == (committed, TRUST_ROOT_FILE)
    # Neither matches: the committed root, so the failure names it.
    assert status_anchor(repo, None, {}.get) == (committed, TRUST_ROOT_FILE)


def test_status_anchor_given_or_missing(repo, tmp_path):
    given = tmp_path / "root.json"
    given.write_bytes(b"{}")
    assert status_anchor(None, str(given), {}.get) == (b"{}", str(given))
    with pytest.raises(TrustError, match="cannot read"):
        status_anchor(repo, str(tmp_path / "absent.json"), {}.get)
    with pytest.raises(TrustError, match="pass --trusted-root FILE"):
        status_anchor(None, None, {}.get)
    with pytest.raises(TrustError, match="no trust root: config/root.json is missing"):
        status_anchor(repo, None, {}.get)


# --- a new trust root, a rotated key -----------------------------------------------------------------------------

def test_init_trust_writes_the_root_and_one_owner_only_key_per_role(repo, no_key_env):
    import json

    made = init_trust(repo, repo / ".weights" / "keys", Expiry())
    assert (repo / TRUST_ROOT_FILE).read_bytes() == made.root
    signed = json.loads(made.root)["signed"]
    assert signed["version"] == 1
    for role in ROLES:
        assert signed["roles"][role]["keyids"] == [made.keyids[role]]
        assert stat.S_IMODE((repo / ".weights" / "keys" / f"{role}.pem").stat().st_mode) == 0o600
    trust = signing_trust(repo, repo / ".weights" / "keys", False, Expiry())
    assert not trust.demo and trust.anchor == made.root


def test_init_trust_refuses_to_replace_a_root_or_keys_without_force(repo, tmp_path, no_key_env):
    first = init_trust(repo, repo / ".weights" / "keys", Expiry())
    with pytest.raises(TrustError, match="config/root.json exists: to change a key use weights keys rotate"):
        init_trust(repo, repo / ".weights" / "keys", Expiry())
    (repo / TRUST_ROOT_FILE).unlink()
    with pytest.raises(TrustError, match="already holds root.pem, targets.pem"):
        init_trust(repo, repo / ".weights" / "keys", Expiry())
    again = init_trust(repo, repo / ".weights" / "keys", Expiry(), force=True)
    assert again.keyids["root"] != first.keyids["root"]


def test_rotate_key_publishes_a_new_root_and_replaces_the_key_file(repo, tmp_path, no_key_env):
    keys_dir = repo / ".weights" / "keys"
    before = init_trust(repo, keys_dir, Expiry())
    site = FolderStorage(tmp_path / "site")
    result = rotate_key(repo, keys_dir, site, "targets", Expiry())
    assert result.old_keyids == [before.keyids["targets"]] and result.root_version == 3
    assert (repo / TRUST_ROOT_FILE).read_bytes() == result.root == site.read("metadata/3.root.json")
    assert not (keys_dir / "targets.pem.new").exists()
    assert signing_trust(repo, keys_dir, False, Expiry()).keys.signer(
        "targets", {result.new_keyid: json_key(result.root, result.new_keyid)}).public_key.keyid == result.new_keyid


def test_rotate_key_needs_a_committed_root(repo, tmp_path):
    with pytest.raises(TrustError, match="no trust root config/root.json: run weights keys init first"):
        rotate_key(repo, repo / ".weights" / "keys", FolderStorage(tmp_path / "site"), "targets", Expiry())


def json_key(root: bytes, keyid: str):
    import json

    from securesystemslib.signer import Key

    return Key.from_dict(keyid, dict(json.loads(root)["signed"]["keys"][keyid]))
