"""Which trust root and keys sign a change, and which root a status check verifies with.

``config/root.json`` is the trust root apps ship with; the online keys come from ``WEIGHTS_KEY_<ROLE>`` (CI
secrets) or a keys folder (``validator.publish.keys``). With no key configured at all, a change to the default
local folder (``.weights/published``) runs as a *demo*: it is signed with dev keys made on first use in
``.weights/dev-keys/`` (git-ignored, owner-only) whose root is ``.weights/dev-keys/root.json``, so a fresh
clone can run ``weights publish`` at once. Any other target without keys is an error, never a demo: nothing a
demo key signs may leave the machine, and a CI job (which always names its target) cannot fall into one.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from validator.publish.keys import (
    DEV_KEYS_DIR,
    DEV_ROOT_NAME,
    ONLINE_ROLES,
    ROLES,
    KeyProblem,
    KeySource,
    missing_key_message,
)
from validator.publish.repository.metadata import utc_now
from validator.publish.repository.operations import RotateResult, init_root, rotate
from validator.publish.repository.settings import DEFAULT_TARGET, Expiry
from validator.publish.storage import FolderStorage, Storage

TRUST_ROOT_FILE = "config/root.json"
DEMO_ROOT_FILE = f"{DEV_KEYS_DIR}/{DEV_ROOT_NAME}"
DEMO_LABEL = f"{DEMO_ROOT_FILE} (demo)"


class TrustError(KeyProblem):
    """No trust root applies (none committed, none given, or no key to sign with): the operator's to fix (exit 2)."""


@dataclass(frozen=True)
class Trust:
    """The root a change is built on and the keys that sign it; ``demo`` when both are the local dev ones."""

    anchor: bytes
    keys: KeySource
    label: str
    demo: bool
    path: Path


def is_default_folder(repo: Path | None, storage: Storage) -> bool:
    """Whether ``storage`` is the repository's default local folder, the only place a demo may publish to."""
    return (repo is not None and isinstance(storage, FolderStorage)
            and storage.path.resolve() == (Path(repo) / DEFAULT_TARGET).resolve())


def _demo_applies(repo: Path, keys_dir: Path, default_folder: bool) -> tuple[bool, KeySource]:
    """(demo, the configured key source); raises TrustError when neither real trust nor a demo applies."""
    keys = KeySource(keys_dir)
    configured = any(keys.has(role) for role in ONLINE_ROLES)
    if (Path(repo) / TRUST_ROOT_FILE).is_file() and configured:
        return False, keys
    if not configured and default_folder:
        return True, keys
    if not (Path(repo) / TRUST_ROOT_FILE).is_file():
        raise TrustError(f"no trust root {TRUST_ROOT_FILE}: run weights keys init (see the operator's guide)")
    raise TrustError(missing_key_message("targets", keys_dir) + " (and the snapshot and timestamp keys)")


def signing_trust(repo: Path, keys_dir: Path, default_folder: bool, expiry: Expiry) -> Trust:
    """The trust a publish, refresh or rollback signs with; in a demo, the dev keys are made on first use."""
    repo = Path(repo)
    demo, keys = _demo_applies(repo, keys_dir, default_folder)
    if not demo:
        return Trust((repo / TRUST_ROOT_FILE).read_bytes(), keys, TRUST_ROOT_FILE, False, repo / TRUST_ROOT_FILE)
    dev_dir = repo / DEV_KEYS_DIR
    anchor = ensure_dev_root(dev_dir, expiry)
    return Trust(anchor, KeySource(dev_dir, env={}), DEMO_LABEL, True, dev_dir / DEV_ROOT_NAME)


def existing_trust(repo: Path, keys_dir: Path, default_folder: bool) -> Trust | None:
    """What ``signing_trust`` would return, without creating anything.

    None when it would make the demo keys (so nothing can be published with them yet) or when no trust applies
    (``signing_trust`` then says why). Lets a publish check what is live before it builds anything.
    """
    repo = Path(repo)
    try:
        demo, keys = _demo_applies(repo, keys_dir, default_folder)
    except TrustError:
        return None
    dev_dir = repo / DEV_KEYS_DIR
    path = dev_dir / DEV_ROOT_NAME if demo else repo / TRUST_ROOT_FILE
    if demo and not _dev_keys_complete(dev_dir):
        return None
    try:
        anchor = path.read_bytes()
    except OSError:
        return None
    if demo:
        return Trust(anchor, KeySource(dev_dir, env={}), DEMO_LABEL, True, path)
    return Trust(anchor, keys, TRUST_ROOT_FILE, False, path)


def _dev_keys_complete(dev_dir: Path) -> bool:
    return (dev_dir / DEV_ROOT_NAME).is_file() and all((dev_dir / f"{role}.pem").is_file() for role in ROLES)


def ensure_dev_root(dev_dir: Path, expiry: Expiry) -> bytes:
    """The local demo's trust root, with its four dev keys created on first use (owner-only files).

    Used only when no real key is configured and the target is the default local folder, so that a fresh
    clone can run ``weights publish`` at once; nothing it signs is meant to leave the machine.
    """
    from validator.atomic import write_atomic
    from validator.publish.keys import check_outside_git, generate, write_private_key

    dev_dir = Path(dev_dir)
    root_file = dev_dir / DEV_ROOT_NAME
    if _dev_keys_complete(dev_dir):
        return root_file.read_bytes()
    check_outside_git(dev_dir)
    signers = {role: generate() for role in ROLES}
    for role in ROLES:
        write_private_key(dev_dir / f"{role}.pem", signers[role])
    data = init_root(signers, expiry)
    try:
        write_atomic(root_file, data, mode=0o644)
    except OSError as exc:
        raise KeyProblem(f"cannot write {root_file}: {exc.strerror or exc}") from None
    return data


def status_anchor(repo: Path | None, trusted_root: str | None,
                  read_root: Callable[[int], bytes | None]) -> tuple[bytes, str]:
    """The trust root ``weights status`` verifies with, and its label.

    ``--trusted-root`` when given; else config/root.json or the demo root, whichever the repository descends
    from (compared byte for byte with the published copy that ``read_root(version)`` returns); else the first
    present, so the verification failure names the mismatch.
    """
    if trusted_root:
        try:
            return Path(trusted_root).read_bytes(), trusted_root
        except OSError as exc:
            raise TrustError(f"cannot read {trusted_root}: {exc.strerror or exc}") from None
    if repo is None:
        raise TrustError("outside a weights repository: pass --trusted-root FILE (the root.json apps ship)")
    candidates = [(Path(repo) / TRUST_ROOT_FILE, TRUST_ROOT_FILE), (Path(repo) / DEMO_ROOT_FILE, DEMO_LABEL)]
    present = [(p.read_bytes(), label) for p, label in candidates if p.is_file()]
    if not present:
        raise TrustError(f"no trust root: {TRUST_ROOT_FILE} is missing (weights keys init) and no demo root exists")
    for data, label in present:
        try:
            version = int(json.loads(data)["signed"]["version"])
        except (ValueError, KeyError, TypeError):
            continue
        if read_root(version) == data:
            return data, label
    return present[0]


# --- a new trust root, and a rotated key ------------------------------------------------------------------------

@dataclass(frozen=True)
class NewTrust:
    """What ``init_trust`` wrote: the root apps will ship, and the key id of each role's new private key."""

    root: bytes
    expires: _dt.datetime
    keyids: dict[str, str]
    keys_dir: Path


def init_trust(repo: Path, keys_dir: Path, expiry: Expiry, force: bool = False,
               now: _dt.datetime | None = None) -> NewTrust:
    """One new key per role in ``keys_dir`` and root version 1 in config/root.json.

    Refuses to replace an existing root or keys unless ``force``: a new root is one no deployed app trusts.
    The keys folder must be one git ignores; the private keys are on disk before the root that names them.
    """
    from validator.atomic import write_atomic
    from validator.publish.keys import check_outside_git, generate, write_private_key

    config_root = Path(repo) / TRUST_ROOT_FILE
    existing = [f"{r}.pem" for r in ROLES if (keys_dir / f"{r}.pem").exists()]
    if not force and config_root.exists():
        raise TrustError(
            f"{TRUST_ROOT_FILE} exists: to change a key use weights keys rotate ROLE; --force starts a new trust "
            "root that no deployed app trusts"
        )
    if not force and existing:
        raise TrustError(f"{keys_dir} already holds {', '.join(existing)}: move them away or pass --force")
    check_outside_git(keys_dir)
    signers = {role: generate() for role in ROLES}
    now = now or utc_now()
    data = init_root(signers, expiry, now)
    for role in ROLES:
        write_private_key(keys_dir / f"{role}.pem", signers[role])
    try:
        config_root.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(config_root, data, mode=0o644)
    except OSError as exc:
        raise TrustError(f"cannot write {config_root}: {exc.strerror or exc}") from None
    return NewTrust(data, now + expiry.root, {r: signers[r].public_key.keyid for r in ROLES}, keys_dir)


def rotate_key(repo: Path, keys_dir: Path, storage: Storage, role: str, expiry: Expiry) -> RotateResult:
    """Replace ``role``'s key at ``storage`` (``operations.rotate``) and update config/root.json and the key file.

    The new private key is written (as ``<role>.pem.new``) before anything trusts it, so a crash can never
    strand a trusted key; it replaces ``<role>.pem`` once the new root is published and committed locally.
    """
    from validator.atomic import write_atomic
    from validator.publish.keys import check_outside_git, generate, write_private_key

    config_root = Path(repo) / TRUST_ROOT_FILE
    if not config_root.is_file():
        raise TrustError(f"no trust root {TRUST_ROOT_FILE}: run weights keys init first")
    new_signer = generate()
    pending = keys_dir / f"{role}.pem.new"
    check_outside_git(keys_dir)
    write_private_key(pending, new_signer)
    result = rotate(storage, config_root.read_bytes(), KeySource(keys_dir), role, new_signer, expiry)
    try:
        write_atomic(config_root, result.root, mode=0o644)
        os.replace(pending, keys_dir / f"{role}.pem")
    except OSError as exc:
        raise TrustError(f"rotated, but could not update local files: {exc.strerror or exc}") from None
    return result
