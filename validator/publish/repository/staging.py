"""Staging: a verified view of what is live, and the next version built on top of it in memory.

``TufRepository.load`` reads the published repository and verifies it from the trust root down (root chain,
timestamp, snapshot, targets, and every live bundle's bytes) before anything is built on it, so a tampered
bucket is reported instead of re-signed. The ``stage_*`` methods then sign new metadata versions and queue
their bytes; ``commit`` writes the queue in order, each file atomically: new bundle content, new roots,
targets, snapshot, and ``timestamp.json`` last. Until the timestamp is replaced a client sees the previous
version, complete and consistent; a publish killed at any point leaves only unreferenced files, which the next
publish overwrites or ignores.
"""
from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from securesystemslib.signer import Signer
from tuf.api.exceptions import LengthOrHashMismatchError, UnsignedMetadataError
from tuf.api.metadata import Metadata, Root, Snapshot, TargetFile, Targets, Timestamp

from validator.publish.keys import KeyProblem, KeySource
from validator.publish.repository.metadata import (
    HASH,
    METADATA_DIR,
    ROOT_FILE,
    RepositoryStateError,
    check_meta,
    content_file,
    meta_of,
    parse,
    role_file,
    role_keys,
    serialize,
    utc_now,
    verify_root_step,
    verify_signed,
)
from validator.publish.repository.settings import Expiry
from validator.publish.storage import Storage


@dataclass
class Loaded:
    """Metadata with the exact bytes it was read from or signed into (hashes are taken over these)."""

    md: Metadata
    raw: bytes


class TufRepository:
    """A verified view of the repository at ``storage`` plus the changes staged on top of it.

    ``load`` reads and verifies; the ``stage_*`` methods sign new metadata versions and queue their bytes;
    ``commit`` writes the queue in order. Nothing is written before ``commit``.
    """

    def __init__(self, storage: Storage, roots: list[Loaded], pending_roots: list[Loaded],
                 timestamp: Loaded | None, snapshot: Loaded | None, targets: Loaded | None,
                 now: _dt.datetime) -> None:
        self.storage = storage
        self.roots = roots                  # the verified chain from the trust anchor to the newest published root
        self.pending_roots = pending_roots  # roots the anchor knows but storage does not have yet
        self.timestamp = timestamp
        self.snapshot = snapshot
        self.targets = targets
        self.now = now
        self.writes: list[tuple[str, bytes]] = [(role_file("root", r.md.signed.version), r.raw) for r in pending_roots]

    # -- reading

    @classmethod
    def load(cls, storage: Storage, anchor: bytes, now: _dt.datetime | None = None) -> TufRepository:
        """Read and verify the published repository, starting from the trust root ``anchor`` (bytes)."""
        trusted = Loaded(parse(anchor, "the trust root", "root"), anchor)
        try:
            trusted.md.signed.verify_delegate("root", trusted.md.signed_bytes, trusted.md.signatures)
        except UnsignedMetadataError as exc:
            raise KeyProblem(f"the trust root is not signed by its own root key(s): {exc}") from None
        anchor_version = trusted.md.signed.version
        versions = sorted(int(m.group(1)) for name in storage.list(METADATA_DIR) if (m := ROOT_FILE.match(name)))
        roots: list[Loaded] = []
        pending: list[Loaded] = []
        if not versions:
            if storage.read(role_file("timestamp", None)) is not None:
                raise RepositoryStateError(f"{storage.location} has metadata/timestamp.json but no root metadata")
            pending = [trusted]
        elif anchor_version > versions[-1]:
            if anchor_version != versions[-1] + 1:
                raise RepositoryStateError(
                    f"the trust root is version {anchor_version} but {storage.location} has roots up to "
                    f"{versions[-1]}: the versions between are missing (publish them from where they were made)"
                )
            newest = cls.read(storage, role_file("root", versions[-1]), "root")
            verify_root_step(newest.md, trusted.md, role_file("root", anchor_version))
            roots = [newest]
            pending = [trusted]
        else:
            published = storage.read(role_file("root", anchor_version))
            if published != anchor:
                raise RepositoryStateError(
                    f"{storage.location} descends from another trust root ({role_file('root', anchor_version)} "
                    "differs from the trust root you gave): publish to an empty location, or use that repository's root"
                )
            roots = [trusted]
            for version in range(anchor_version + 1, versions[-1] + 1):
                name = role_file("root", version)
                step = cls.read(storage, name, "root")
                if step.md.signed.version != version:
                    raise RepositoryStateError(f"{name} says it is version {step.md.signed.version}")
                verify_root_step(roots[-1].md, step.md, name)
                roots.append(step)
        root = (pending or roots)[-1].md.signed

        timestamp = snapshot = targets = None
        raw = storage.read(role_file("timestamp", None))
        if raw is not None:
            name = role_file("timestamp", None)
            timestamp = Loaded(parse(raw, name, "timestamp"), raw)
            verify_signed(root, "timestamp", timestamp.md, name)
            snap_meta = timestamp.md.signed.snapshot_meta
            snapshot = cls.read(storage, role_file("snapshot", snap_meta.version), "snapshot")
            check_meta(snap_meta, snapshot.raw, role_file("snapshot", snap_meta.version))
            verify_signed(root, "snapshot", snapshot.md, role_file("snapshot", snap_meta.version))
            targets_meta = snapshot.md.signed.meta.get("targets.json")
            if targets_meta is None:
                raise RepositoryStateError(f"{role_file('snapshot', snap_meta.version)} lists no targets.json")
            targets = cls.read(storage, role_file("targets", targets_meta.version), "targets")
            check_meta(targets_meta, targets.raw, role_file("targets", targets_meta.version))
            verify_signed(root, "targets", targets.md, role_file("targets", targets_meta.version))
            cls._verify_live_targets(storage, targets)
        return cls(storage, roots, pending, timestamp, snapshot, targets, now or utc_now())

    @staticmethod
    def _verify_live_targets(storage: Storage, targets: Loaded) -> None:
        """Every live bundle must be the bytes its signed metadata names.

        Signing a new version over a location whose files were altered would lend them our signature's
        credibility in the operator's eyes (status says "published") while clients refuse them; stop and
        say which file instead.
        """
        for path, target in targets.md.signed.targets.items():
            name = content_file(path, target.hashes[HASH])
            data = storage.read(name)
            if data is None:
                raise RepositoryStateError(f"{storage.location}/{name} is missing: the live {path} cannot be served")
            try:
                target.verify_length_and_hashes(data)
            except LengthOrHashMismatchError as exc:
                raise RepositoryStateError(
                    f"{storage.location}/{name} does not match its signed metadata ({exc}): the storage was "
                    "altered. Restore the file from a trusted copy (weights build --rev <its commit> gives the "
                    "same bytes), then publish again"
                ) from None

    @staticmethod
    def read(storage: Storage, name: str, role: str) -> Loaded:
        raw = storage.read(name)
        if raw is None:
            raise RepositoryStateError(f"{storage.location}/{name} is missing")
        md = parse(raw, name, role)
        return Loaded(md, raw)

    @property
    def root_md(self) -> Metadata:
        return (self.pending_roots or self.roots)[-1].md

    @property
    def root(self) -> Root:
        return self.root_md.signed

    @property
    def root_bytes(self) -> bytes:
        return (self.pending_roots or self.roots)[-1].raw

    @property
    def published(self) -> bool:
        """Whether any version has been published (a timestamp exists)."""
        return self.timestamp is not None

    @property
    def version(self) -> int:
        """The live version (targets metadata version); 0 before the first publish."""
        return self.targets.md.signed.version if self.targets else 0

    def target(self, path: str):  # -> TargetFile | None
        return self.targets.md.signed.targets.get(path) if self.targets else None

    def all_roots(self) -> list[Root]:
        return [r.md.signed for r in (*self.roots, *self.pending_roots)]

    # -- signing and staging

    def signers_for(self, keys: KeySource, roles: Sequence[str], root: Root | None = None) -> dict[str, Signer]:
        root = root or self.root
        return {role: keys.signer(role, role_keys(root, role)) for role in roles}

    def _sign(self, md: Metadata, role: str, signers: Sequence[Signer], root: Root | None = None) -> bytes:
        md.signatures.clear()
        for signer in signers:
            md.sign(signer, append=True)
        try:
            (root or self.root).verify_delegate(role, md.signed_bytes, md.signatures)
        except UnsignedMetadataError as exc:
            raise KeyProblem(f"not enough {role} signatures for its threshold: {exc}") from None
        return serialize(md)

    def _next(self, loaded: Loaded | None, factory: Callable[[], Any], role: str, expiry: Expiry) -> Metadata:
        md = deepcopy(loaded.md) if loaded is not None else Metadata(factory())
        if loaded is None:
            md.signed.version = 0
        md.signed.version += 1
        md.signed.expires = self.now + expiry.of(role)
        return md

    def stage_content(self, path: str, data: bytes):  # -> TargetFile
        info = TargetFile.from_data(path, data, [HASH])
        self.writes.append((content_file(path, info.hashes[HASH]), data))
        return info

    def stage_targets(self, signer: Signer, expiry: Expiry, edit: Callable[[Any], None] | None = None) -> None:
        md = self._next(self.targets, Targets, "targets", expiry)
        if edit is not None:
            edit(md.signed)
        raw = self._sign(md, "targets", [signer])
        self.targets = Loaded(md, raw)
        self.writes.append((role_file("targets", md.signed.version), raw))

    def stage_snapshot(self, signer: Signer, expiry: Expiry) -> None:
        if self.targets is None:
            raise RepositoryStateError("no targets metadata to snapshot")
        md = self._next(self.snapshot, Snapshot, "snapshot", expiry)
        md.signed.meta = {"targets.json": meta_of(self.targets.raw, self.targets.md.signed.version)}
        raw = self._sign(md, "snapshot", [signer])
        self.snapshot = Loaded(md, raw)
        self.writes.append((role_file("snapshot", md.signed.version), raw))

    def stage_timestamp(self, signer: Signer, expiry: Expiry) -> None:
        if self.snapshot is None:
            raise RepositoryStateError("no snapshot metadata to timestamp")
        md = self._next(self.timestamp, Timestamp, "timestamp", expiry)
        md.signed.snapshot_meta = meta_of(self.snapshot.raw, self.snapshot.md.signed.version)
        raw = self._sign(md, "timestamp", [signer])
        self.timestamp = Loaded(md, raw)
        self.writes.append((role_file("timestamp", None), raw))

    def stage_root(self, md: Metadata, signers: Sequence[Signer]) -> None:
        """Queue a new root version signed by ``signers``; it must verify against the current root and itself."""
        assert isinstance(md.signed, Root)
        md.signatures.clear()
        for signer in signers:
            md.sign(signer, append=True)
        raw = serialize(md)
        try:
            verify_root_step(self.root_md, md, role_file("root", md.signed.version))
        except RepositoryStateError as exc:
            raise KeyProblem(f"the new root is not signed well enough: {exc}") from None
        self.pending_roots.append(Loaded(md, raw))
        self.writes.append((role_file("root", md.signed.version), raw))

    def next_root(self, expiry: Expiry) -> Metadata:
        md = deepcopy(self.root_md)
        md.signed.version += 1
        md.signed.expires = self.now + expiry.root
        return md

    # -- writing

    def commit(self) -> list[str]:
        """Write the staged files in order, each atomically; ``timestamp.json`` is always the last one staged.

        Immutable files already present with the same bytes are skipped. Returns the paths written.
        """
        written = []
        for path, data in self.writes:
            if path != role_file("timestamp", None) and self.storage.read(path) == data:
                continue
            self.storage.write(path, data)
            written.append(path)
        self.writes = []
        self.roots.extend(self.pending_roots)
        self.pending_roots = []
        return written
