"""What the commands do to a repository: publish, roll back, refresh, rotate a key, and make the first root.

Each operation loads the live repository verified (``staging.TufRepository.load``), stages the next version on
top, and commits it under the storage's lock. "Version" in this project's words is the targets metadata
version: each publish or rollback makes the next one, and ``weights rollback --to N`` names one.
"""
from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from securesystemslib.signer import Signer
from tuf.api.metadata import Metadata, Root, TargetFile

from validator.publish.bundle import (
    BUNDLE_FORMAT_VERSION,
    Bundle,
    builder_id,
    target_path,
)
from validator.publish.keys import ONLINE_ROLES, ROLES, KeyProblem, KeySource
from validator.publish.repository.metadata import (
    HASH,
    NothingPublished,
    RepositoryStateError,
    check_meta,
    content_file,
    iso,
    role_file,
    role_keys,
    serialize,
    signed_by,
    utc_now,
)
from validator.publish.repository.settings import Expiry
from validator.publish.repository.staging import TufRepository
from validator.publish.storage import Storage, StorageError


@dataclass
class PublishResult:
    """What a publish, rollback or refresh did; ``changed`` False means nothing was written."""

    location: str
    changed: bool
    version: int
    path: str | None = None
    sha256: str | None = None
    length: int | None = None
    custom: dict[str, Any] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "location": self.location, "changed": self.changed, "version": self.version, "target": self.path,
            "sha256": self.sha256, "length": self.length, "custom": self.custom, "written": self.written,
            "notes": self.notes,
        }


def init_root(signers: Mapping[str, Signer], expiry: Expiry, now: _dt.datetime | None = None) -> bytes:
    """Root metadata version 1: one key per role (threshold 1), consistent snapshots, signed by the root key."""
    now = now or utc_now()
    root = Root(expires=now + expiry.root, consistent_snapshot=True)
    for role in ROLES:
        root.add_key(signers[role].public_key, role)
    md = Metadata(root)
    md.sign(signers["root"])
    return serialize(md)


def publish(storage: Storage, anchor: bytes, keys: KeySource, bundle: Bundle, channel: str, expiry: Expiry,
            now: _dt.datetime | None = None) -> PublishResult:
    """Publish ``bundle`` as ``<channel>/bundle.json``: the next version, or nothing if it is already live."""
    path = target_path(channel)
    custom: dict[str, Any] = {
        **bundle.provenance.to_dict(),
        "format_version": BUNDLE_FORMAT_VERSION,
    }
    if bundle.builder is not None:
        custom["builder"] = bundle.builder
    return _set_target(storage, anchor, keys, path, bundle.data, custom, expiry, now)


def already_live(storage: Storage, anchor: bytes, commit: str, channel: str,
                 now: _dt.datetime | None = None) -> PublishResult | None:
    """What ``publish`` of ``commit`` reports when that commit is already live, found without building it.

    Building a commit validates every model, which costs far more than reading what is live, so a publish asks
    this first. It loads the repository exactly as ``publish`` does (the root chain, every signature and every
    live bundle's bytes verified) and answers only when the live target was built from ``commit`` by this very
    builder (``bundle.builder_id``): same bytes and same verdict, so a rebuild would change nothing. Anything
    else, a problem with the repository included, gives None: the full publish then builds, and reports any
    problem in its usual order. Nothing is written, not even the lock file.
    """
    path = target_path(channel)
    try:
        repo = TufRepository.load(storage, anchor, now)
    except (RepositoryStateError, KeyProblem, StorageError):
        return None
    current = repo.target(path)
    if current is None or repo.pending_roots:
        return None
    custom = dict(current.custom or {})
    if (custom.get("commit") != commit or custom.get("builder") != builder_id()
            or custom.get("format_version") != BUNDLE_FORMAT_VERSION):
        return None
    return PublishResult(storage.location, False, repo.version, path, current.hashes[HASH], current.length, custom)


def _set_target(storage: Storage, anchor: bytes, keys: KeySource, path: str, data: bytes, custom: dict[str, Any],
                expiry: Expiry, now: _dt.datetime | None) -> PublishResult:
    """Make ``path`` serve ``data`` in the next version (publish and rollback share this), under the lock."""
    with storage.lock():
        repo = TufRepository.load(storage, anchor, now)
        probe = TargetFile.from_data(path, data, [HASH])
        current = repo.target(path)
        notes = []
        if current is not None and current.hashes.get(HASH) == probe.hashes[HASH] and current.length == probe.length:
            # Already live: only repair a missing content file, and publish a pending root.
            name = content_file(path, probe.hashes[HASH])
            if storage.read(name) != data:
                repo.writes.append((name, data))
                notes.append(f"restored the missing {name}")
            written = repo.commit()
            return PublishResult(storage.location, bool(written), repo.version, path, probe.hashes[HASH],
                                 probe.length, dict(current.custom or {}), written, notes)
        signers = repo.signers_for(keys, ONLINE_ROLES)
        info = repo.stage_content(path, data)
        info.unrecognized_fields["custom"] = {**custom, "published_at": iso(repo.now)}

        def edit(targets) -> None:
            targets.targets[path] = info

        repo.stage_targets(signers["targets"], expiry, edit)
        repo.stage_snapshot(signers["snapshot"], expiry)
        repo.stage_timestamp(signers["timestamp"], expiry)
        written = repo.commit()
        return PublishResult(storage.location, True, repo.version, path, info.hashes[HASH], info.length,
                             dict(info.custom), written, notes)


def rollback(storage: Storage, anchor: bytes, keys: KeySource, to_version: int, channel: str, expiry: Expiry,
             now: _dt.datetime | None = None) -> PublishResult:
    """Republish the bundle that version ``to_version`` served on ``channel`` as a new, higher version.

    TUF clients refuse lower version numbers (that is the rollback-attack defence), so the content goes back
    while the version goes forward.
    """
    path = target_path(channel)
    repo = TufRepository.load(storage, anchor, now)
    if not repo.published:
        raise NothingPublished(f"nothing is published at {storage.location} yet")
    if not 1 <= to_version < repo.version:
        raise ValueError(f"version {to_version} is not an earlier version: the live version is {repo.version}")
    name = role_file("targets", to_version)
    old = TufRepository.read(storage, name, "targets")
    if old.md.signed.version != to_version:
        raise RepositoryStateError(f"{name} says it is version {old.md.signed.version}")
    if not any(signed_by(root, "targets", old.md) for root in repo.all_roots()):
        raise RepositoryStateError(f"{name} is not signed by any targets key the trusted roots name")
    info = old.md.signed.targets.get(path)
    if info is None:
        served = ", ".join(sorted(old.md.signed.targets)) or "nothing"
        raise ValueError(f"version {to_version} has no {path}; it served: {served}")
    content_name = content_file(path, info.hashes[HASH])
    data = storage.read(content_name)
    if data is None:
        raise RepositoryStateError(f"{content_name} (the bundle of version {to_version}) is missing")
    check_meta(info, data, content_name)
    custom = {k: v for k, v in (info.custom or {}).items() if k not in ("published_at", "rollback_of")}
    custom["rollback_of"] = to_version
    return _set_target(storage, anchor, keys, path, data, custom, expiry, now)


def refresh(storage: Storage, anchor: bytes, keys: KeySource, expiry: Expiry, now: _dt.datetime | None = None,
            force: bool = False) -> PublishResult:
    """Re-sign the freshness metadata: always the timestamp, and the snapshot/targets (and root, when its key
    is at hand) once less than half of their period is left, or all of them with ``force``.
    """
    with storage.lock():
        repo = TufRepository.load(storage, anchor, now)
        if not repo.published:
            raise NothingPublished(f"nothing is published at {storage.location} yet: run weights publish first")
        notes: list[str] = []

        def due(role: str, signed: Any) -> bool:
            return force or signed.expires - repo.now < expiry.of(role) / 2

        if due("root", repo.root):
            if keys.has("root"):
                root_signer = keys.signer("root", role_keys(repo.root, "root"))
                repo.stage_root(repo.next_root(expiry), [root_signer])
                notes.append(f"re-signed root as version {repo.root.version}")
            else:
                notes.append(f"root expires {iso(repo.root.expires)}: "
                             "re-sign it with the root key (weights keys rotate root)")
        assert repo.snapshot is not None and repo.targets is not None  # published: load read both
        roles = ["timestamp"]
        if due("snapshot", repo.snapshot.md.signed):
            roles.append("snapshot")
        if due("targets", repo.targets.md.signed):
            roles += ["snapshot", "targets"]
        signers = repo.signers_for(keys, sorted(set(roles)))
        if "targets" in signers:
            repo.stage_targets(signers["targets"], expiry)
        if "snapshot" in signers:
            repo.stage_snapshot(signers["snapshot"], expiry)
        repo.stage_timestamp(signers["timestamp"], expiry)
        written = repo.commit()
        notes.insert(0, "re-signed " + ", ".join(r for r in ("targets", "snapshot", "timestamp") if r in signers))
        return PublishResult(storage.location, True, repo.version, written=written, notes=notes)


@dataclass
class RotateResult:
    root: bytes
    root_version: int
    old_keyids: list[str]
    new_keyid: str
    written: list[str]


def rotate(storage: Storage, anchor: bytes, keys: KeySource, role: str, new_signer: Signer, expiry: Expiry,
           now: _dt.datetime | None = None) -> RotateResult:
    """Replace ``role``'s key with ``new_signer`` through new root versions, published to ``storage``.

    For the root key: one new root signed by the old and the new root key. For an online role, three steps
    so that no moment exists at which a client cannot verify what is live: a root that trusts the old and the
    new key, the role's metadata re-signed with the new key (and the snapshot/timestamp above it), then a root
    that trusts only the new key. Files of the old key's era stay valid for old clients until then.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    with storage.lock():
        repo = TufRepository.load(storage, anchor, now)
        root_signer = keys.signer("root", role_keys(repo.root, "root"))
        old = list(repo.root.roles[role].keyids)
        new_key = new_signer.public_key
        if new_key.keyid in old:
            raise KeyProblem(f"the new {role} key is already the one in use")
        if role == "root":
            md = repo.next_root(expiry)
            for kid in old:
                md.signed.revoke_key(kid, "root")
            md.signed.add_key(new_key, "root")
            repo.stage_root(md, [root_signer, new_signer])
        else:
            both = repo.next_root(expiry)
            both.signed.add_key(new_key, role)
            repo.stage_root(both, [root_signer])
            if repo.published:
                # The rotated role's metadata is re-signed, and every role above it in the chain
                # targets -> snapshot -> timestamp, so the new signature is reachable from the timestamp.
                above = {"targets": ["snapshot", "timestamp"], "snapshot": ["timestamp"], "timestamp": []}[role]
                signers = repo.signers_for(keys, above)
                signers[role] = new_signer
                if role == "targets":
                    repo.stage_targets(signers["targets"], expiry)
                if role in ("targets", "snapshot"):
                    repo.stage_snapshot(signers["snapshot"], expiry)
                repo.stage_timestamp(signers["timestamp"], expiry)
            final = repo.next_root(expiry)
            for kid in old:
                final.signed.revoke_key(kid, role)
            repo.stage_root(final, [root_signer])
        written = repo.commit()
        return RotateResult(repo.root_bytes, repo.root.version, old, new_key.keyid, written)

