"""The published TUF repository: load and verify what is live, stage the next version, write it in a safe order.

Layout (the convention every TUF client expects, with consistent snapshots)::
    metadata/1.root.json  2.root.json ...     every root version, immutable (clients walk the chain)
    metadata/<N>.targets.json                 immutable, one per version
    metadata/<N>.snapshot.json                immutable, one per version
    metadata/timestamp.json                   the only file ever rewritten in place
    targets/<channel>/<sha256>.bundle.json    content-addressed bundles, immutable

A change is staged in memory, then written in this order, each file atomically: new bundle content, new
roots, targets, snapshot, and ``timestamp.json`` last. Until the timestamp is replaced a client sees the
previous version, complete and consistent; a publish killed at any point leaves only unreferenced files,
which the next publish overwrites or ignores.

Every signature and structure goes through python-tuf's Metadata API (``tuf.api.metadata``); keys come from
``validator.publish.keys``. What the publisher reads back from storage is verified against the trust root before it
is built upon, so a tampered bucket is reported instead of re-signed.

"Version" in this project's words is the targets metadata version: each publish or rollback makes the next
one, and ``weights rollback --to N`` names one.
"""
from __future__ import annotations

import datetime as _dt
import re
import tempfile
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence
from urllib import parse

from securesystemslib.signer import Signer
from tuf.api import exceptions
from tuf.api.exceptions import LengthOrHashMismatchError, UnsignedMetadataError
from tuf.api.metadata import Metadata, MetaFile, Root, Snapshot, TargetFile, Targets, Timestamp
from tuf.api.serialization.json import JSONSerializer
from tuf.ngclient import FetcherInterface, Updater, UpdaterConfig
from tuf.ngclient.urllib3_fetcher import Urllib3Fetcher

from validator.publish.bundle import BUNDLE_FORMAT_VERSION, Bundle, check_channel, target_path
from validator.publish.keys import ONLINE_ROLES, ROLES, KeyProblem, KeySource
from validator.publish.storage import Storage

METADATA_DIR = "metadata"
TARGETS_DIR = "targets"
HASH = "sha256"
_ROOT_FILE = re.compile(r"^([1-9][0-9]*)\.root\.json$")


class RepositoryStateError(Exception):
    """The published repository is inconsistent, tampered with, or descends from another trust root.

    The repository's content is at fault (exit 1): publishing on top of it would sign what we did not write.
    """

class NothingPublished(Exception):
    """The command needs a published repository and the location has none: the operator's to fix (exit 2)."""

class PublishSettingsError(Exception):
    """The ``publish:`` section of config/weights.yaml is wrong: exit 2."""

# --- settings -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Expiry:
    """How long each role's signature stays valid.

    The shorter a period, the sooner a client notices a frozen mirror (freeze attack) but the more often it
    must be re-signed: the timestamp by the scheduled ``weights refresh`` (daily), the snapshot and targets by
    the same job when half their period has passed, the root by a person with the offline key.
    """

    root: _dt.timedelta = _dt.timedelta(days=365)
    targets: _dt.timedelta = _dt.timedelta(days=90)
    snapshot: _dt.timedelta = _dt.timedelta(days=14)
    timestamp: _dt.timedelta = _dt.timedelta(days=2)

    def of(self, role: str) -> _dt.timedelta:
        return getattr(self, role)

    @classmethod
    def from_days(cls, data: Mapping[str, Any] | None) -> Expiry:
        data = data or {}
        if not isinstance(data, Mapping):
            raise PublishSettingsError("publish.expires_days must be a mapping of role: days")
        unknown = set(data) - set(ROLES)
        if unknown:
            raise PublishSettingsError(
                f"publish.expires_days: unknown role(s) {', '.join(sorted(unknown))}; roles: {', '.join(ROLES)}"
            )
        values = {}
        for role in ROLES:
            if role not in data:
                continue
            days = data[role]
            if isinstance(days, bool) or not isinstance(days, (int, float)) or not days > 0 or days > 3660:
                raise PublishSettingsError(
                    f"publish.expires_days.{role}: {days!r} is not a number of days in (0, 3660]"
                )
            values[role] = _dt.timedelta(days=float(days))
        expiry = cls(**values)
        if expiry.timestamp > expiry.snapshot or expiry.snapshot > expiry.targets:
            raise PublishSettingsError("publish.expires_days: expect timestamp <= snapshot <= targets")
        return expiry


@dataclass(frozen=True)
class PublishSettings:
    """The ``publish:`` section of config/weights.yaml, with the embedded defaults."""

    target: str = ".weights/published"
    channel: str = "production"
    keys_dir: str = ".weights/keys"
    expiry: Expiry = field(default_factory=Expiry)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> "PublishSettings":
        data = data or {}
        if not isinstance(data, Mapping):
            raise PublishSettingsError("publish: must be a mapping (target, channel, keys_dir, expires_days)")
        unknown = set(data) - {"target", "channel", "keys_dir", "expires_days"}
        if unknown:
            raise PublishSettingsError(
                f"publish: unknown key(s) {', '.join(sorted(unknown))}; keys: target, channel, keys_dir, expires_days"
            )
        for key in ("target", "channel", "keys_dir"):
            if key in data and (not isinstance(data[key], str) or not data[key].strip()):
                raise PublishSettingsError(f"publish.{key} must be a non-empty string")
        channel = data.get("channel", cls.channel)
        try:
            check_channel(channel)
        except ValueError as exc:
            raise PublishSettingsError(f"publish.channel: {exc}") from None
        return cls(
            target=data.get("target", cls.target),
            channel=channel,
            keys_dir=data.get("keys_dir", cls.keys_dir),
            expiry=Expiry.from_days(data.get("expires_days")),
        )


def publish_settings(root: Path) -> PublishSettings:
    """The publish settings of the work tree (operator configuration, not part of any bundle)."""
    from validator.gate.settings import SETTINGS_FILE, SettingsError, load_settings

    path = Path(root) / SETTINGS_FILE
    try:
        settings = load_settings(path.read_bytes() if path.is_file() else None)
    except SettingsError as exc:
        raise PublishSettingsError(str(exc)) from None
    return PublishSettings.from_mapping(settings.raw.get("publish"))


# --- helpers ------------------------------------------------------------------------------------------------

def utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)


def iso(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _serialize(md: Metadata) -> bytes:

    # Indented and key-sorted: an operator can read it, and the same metadata always gives the same bytes.
    return md.to_bytes(JSONSerializer(compact=False))


def _parse(data: bytes, name: str, expected_type: str) -> Metadata:

    try:
        md = Metadata.from_bytes(data)
    except Exception as exc:  # noqa: BLE001 - any parse failure means the file is not what it claims
        raise RepositoryStateError(f"{name} is not valid TUF metadata: {exc}") from None
    if md.signed.type != expected_type:
        raise RepositoryStateError(f"{name} holds {md.signed.type} metadata, not {expected_type}")
    return md


def role_file(role: str, version: int | None) -> str:
    return f"{METADATA_DIR}/{role}.json" if version is None else f"{METADATA_DIR}/{version}.{role}.json"


def content_file(path: str, sha256: str) -> str:
    """Where the bytes of target ``path`` live: consistent snapshots prefix the file name with its hash."""
    folder, _, name = path.rpartition("/")
    return f"{TARGETS_DIR}/{folder}/{sha256}.{name}" if folder else f"{TARGETS_DIR}/{sha256}.{name}"


def _meta_of(data: bytes, version: int):  # -> MetaFile
    # Length and hash as well as the version: a client then refuses any other file under that name.
    return MetaFile.from_data(version, data, [HASH])


def _check_meta(meta, data: bytes, name: str) -> None:

    try:
        meta.verify_length_and_hashes(data)
    except LengthOrHashMismatchError as exc:
        raise RepositoryStateError(f"{name} does not match what the metadata above it says: {exc}") from None


def _verify_signed(root: Root, role: str, md: Metadata, name: str) -> None:

    try:
        root.verify_delegate(role, md.signed_bytes, md.signatures)
    except UnsignedMetadataError as exc:
        raise RepositoryStateError(
            f"{name} is not signed by the {role} key(s) root v{root.version} trusts ({exc}): it was tampered "
            "with, or written with other keys"
        ) from None


def role_keys(root: Root, role: str) -> dict[str, Any]:
    """Key id -> public key of every key ``root`` trusts for ``role``."""
    return {kid: root.keys[kid] for kid in root.roles[role].keyids}


# --- the repository -----------------------------------------------------------------------------------------

@dataclass
class _Loaded:
    md: Metadata
    raw: bytes


class TufRepository:
    """A verified view of the repository at ``storage`` plus the changes staged on top of it.

    ``load`` reads and verifies; the ``stage_*`` methods sign new metadata versions and queue their bytes;
    ``commit`` writes the queue in order. Nothing is written before ``commit``.
    """

    def __init__(self, storage: Storage, roots: list[_Loaded], pending_roots: list[_Loaded],
                 timestamp: _Loaded | None, snapshot: _Loaded | None, targets: _Loaded | None,
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
        trusted = _Loaded(_parse(anchor, "the trust root", "root"), anchor)
        try:
            trusted.md.signed.verify_delegate("root", trusted.md.signed_bytes, trusted.md.signatures)
        except UnsignedMetadataError as exc:
            raise KeyProblem(f"the trust root is not signed by its own root key(s): {exc}") from None
        anchor_version = trusted.md.signed.version
        versions = sorted(int(m.group(1)) for name in storage.list(METADATA_DIR) if (m := _ROOT_FILE.match(name)))
        roots: list[_Loaded] = []
        pending: list[_Loaded] = []
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
            newest = cls._read(storage, role_file("root", versions[-1]), "root")
            _verify_root_step(newest.md, trusted.md, role_file("root", anchor_version))
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
                step = cls._read(storage, name, "root")
                if step.md.signed.version != version:
                    raise RepositoryStateError(f"{name} says it is version {step.md.signed.version}")
                _verify_root_step(roots[-1].md, step.md, name)
                roots.append(step)
        root = (pending or roots)[-1].md.signed

        timestamp = snapshot = targets = None
        raw = storage.read(role_file("timestamp", None))
        if raw is not None:
            name = role_file("timestamp", None)
            timestamp = _Loaded(_parse(raw, name, "timestamp"), raw)
            _verify_signed(root, "timestamp", timestamp.md, name)
            snap_meta = timestamp.md.signed.snapshot_meta
            snapshot = cls._read(storage, role_file("snapshot", snap_meta.version), "snapshot")
            _check_meta(snap_meta, snapshot.raw, role_file("snapshot", snap_meta.version))
            _verify_signed(root, "snapshot", snapshot.md, role_file("snapshot", snap_meta.version))
            targets_meta = snapshot.md.signed.meta.get("targets.json")
            if targets_meta is None:
                raise RepositoryStateError(f"{role_file('snapshot', snap_meta.version)} lists no targets.json")
            targets = cls._read(storage, role_file("targets", targets_meta.version), "targets")
            _check_meta(targets_meta, targets.raw, role_file("targets", targets_meta.version))
            _verify_signed(root, "targets", targets.md, role_file("targets", targets_meta.version))
            cls._verify_live_targets(storage, targets)
        return cls(storage, roots, pending, timestamp, snapshot, targets, now or utc_now())

    @staticmethod
    def _verify_live_targets(storage: Storage, targets: _Loaded) -> None:
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
    def _read(storage: Storage, name: str, role: str) -> _Loaded:
        raw = storage.read(name)
        if raw is None:
            raise RepositoryStateError(f"{storage.location}/{name} is missing")
        md = _parse(raw, name, role)
        return _Loaded(md, raw)

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
        return _serialize(md)

    def _next(self, loaded: _Loaded | None, factory: Callable[[], Any], role: str, expiry: Expiry) -> Metadata:
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
        self.targets = _Loaded(md, raw)
        self.writes.append((role_file("targets", md.signed.version), raw))

    def stage_snapshot(self, signer: Signer, expiry: Expiry) -> None:
        if self.targets is None:
            raise RepositoryStateError("no targets metadata to snapshot")
        md = self._next(self.snapshot, Snapshot, "snapshot", expiry)
        md.signed.meta = {"targets.json": _meta_of(self.targets.raw, self.targets.md.signed.version)}
        raw = self._sign(md, "snapshot", [signer])
        self.snapshot = _Loaded(md, raw)
        self.writes.append((role_file("snapshot", md.signed.version), raw))

    def stage_timestamp(self, signer: Signer, expiry: Expiry) -> None:
        if self.snapshot is None:
            raise RepositoryStateError("no snapshot metadata to timestamp")
        md = self._next(self.timestamp, Timestamp, "timestamp", expiry)
        md.signed.snapshot_meta = _meta_of(self.snapshot.raw, self.snapshot.md.signed.version)
        raw = self._sign(md, "timestamp", [signer])
        self.timestamp = _Loaded(md, raw)
        self.writes.append((role_file("timestamp", None), raw))

    def stage_root(self, md: Metadata, signers: Sequence[Signer]) -> None:
        """Queue a new root version signed by ``signers``; it must verify against the current root and itself."""
        assert isinstance(md.signed, Root)
        md.signatures.clear()
        for signer in signers:
            md.sign(signer, append=True)
        raw = _serialize(md)
        try:
            _verify_root_step(self.root_md, md, role_file("root", md.signed.version))
        except RepositoryStateError as exc:
            raise KeyProblem(f"the new root is not signed well enough: {exc}") from None
        self.pending_roots.append(_Loaded(md, raw))
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


def _verify_root_step(trusted: Metadata, new: Metadata, name: str) -> None:
    """TUF's rule for a new root: signed by a threshold of the old root's keys and of its own."""
    if new.signed.version != trusted.signed.version + 1:
        raise RepositoryStateError(f"{name} is version {new.signed.version}, expected {trusted.signed.version + 1}")
    try:
        trusted.signed.verify_delegate("root", new.signed_bytes, new.signatures)
        new.signed.verify_delegate("root", new.signed_bytes, new.signatures)
    except UnsignedMetadataError as exc:
        raise RepositoryStateError(f"{name} is not signed by the previous root's keys and its own: {exc}") from None


# --- operations ---------------------------------------------------------------------------------------------

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
    return _serialize(md)


def publish(storage: Storage, anchor: bytes, keys: KeySource, bundle: Bundle, channel: str, expiry: Expiry,
            now: _dt.datetime | None = None) -> PublishResult:
    """Publish ``bundle`` as ``<channel>/bundle.json``: the next version, or nothing if it is already live."""
    path = target_path(channel)
    custom = {
        **bundle.provenance.to_dict(),
        "format_version": BUNDLE_FORMAT_VERSION,
    }
    return _set_target(storage, anchor, keys, path, bundle.data, custom, expiry, now)


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
    old = TufRepository._read(storage, name, "targets")
    if old.md.signed.version != to_version:
        raise RepositoryStateError(f"{name} says it is version {old.md.signed.version}")
    if not any(_signed_by(root, "targets", old.md) for root in repo.all_roots()):
        raise RepositoryStateError(f"{name} is not signed by any targets key the trusted roots name")
    info = old.md.signed.targets.get(path)
    if info is None:
        served = ", ".join(sorted(old.md.signed.targets)) or "nothing"
        raise ValueError(f"version {to_version} has no {path}; it served: {served}")
    content_name = content_file(path, info.hashes[HASH])
    data = storage.read(content_name)
    if data is None:
        raise RepositoryStateError(f"{content_name} (the bundle of version {to_version}) is missing")
    _check_meta(info, data, content_name)
    custom = {k: v for k, v in (info.custom or {}).items() if k not in ("published_at", "rollback_of")}
    custom["rollback_of"] = to_version
    return _set_target(storage, anchor, keys, path, data, custom, expiry, now)


def _signed_by(root: Root, role: str, md: Metadata) -> bool:

    try:
        root.verify_delegate(role, md.signed_bytes, md.signatures)
        return True
    except (UnsignedMetadataError, ValueError):
        return False


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


# --- reading as a client (status) ---------------------------------------------------------------------------

class StorageFetcher(FetcherInterface):
    """An ngclient fetcher over a Storage, so ``status`` verifies a folder or bucket exactly as a client would."""
    PREFIX = "storage:///"

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def _fetch(self, url: str) -> Iterator[bytes]:
        if not url.startswith(self.PREFIX):
            raise exceptions.DownloadHTTPError(f"not a storage URL: {url}", 400)
        data = self.storage.read(parse.unquote(url[len(self.PREFIX):]))
        if data is None:
            raise exceptions.DownloadHTTPError(f"{url} not found", 404)
        return iter([data])


class _NothingPublished(Exception):
    pass


@dataclass
class RoleStatus:
    version: int
    expires: str
    expired: bool

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "expires": self.expires, "expired": self.expired}


@dataclass
class Status:
    """What is live at a location, as a TUF client sees it."""

    location: str
    verified: bool
    problem: str | None = None
    problem_kind: str | None = None   # "verification" (the repository is bad) or "unreachable" (environment)
    version: int | None = None
    roles: dict[str, RoleStatus] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": 1,
            "location": self.location,
            "verified": self.verified,
            "problem": self.problem,
            "problem_kind": self.problem_kind,
            "version": self.version,
            "roles": {k: v.to_dict() for k, v in self.roles.items()},
            "channels": self.channels,
        }


def repository_status(base_url: str, anchor: bytes, fetcher: Any = None, location: str | None = None,
                      config: Any = None) -> Status:
    """Verify the repository at ``base_url`` with python-tuf's own client (``ngclient.Updater``) bootstrapped
    from ``anchor``, download every target to check it, and report versions, expiries and provenance.

    When verification fails the metadata is still read (unverified) so the operator sees what is there.
    """
    base = base_url if base_url.endswith("/") else base_url + "/"
    status = Status(location=location or base_url, verified=False)
    with tempfile.TemporaryDirectory(prefix="weights-status-") as tmp:
        meta_dir = Path(tmp, "metadata")
        meta_dir.mkdir()
        try:
            probe = fetcher or Urllib3Fetcher(app_user_agent="weights-status")
            fetcher = probe
            try:
                probe.download_bytes(base + "metadata/timestamp.json", (config or UpdaterConfig()).timestamp_max_length)
            except exceptions.DownloadHTTPError as exc:
                if exc.status_code in (403, 404):
                    raise _NothingPublished() from None
                raise
            updater = Updater(str(meta_dir), base + "metadata/", str(Path(tmp, "targets")), base + "targets/",
                              fetcher=fetcher, config=config, bootstrap=anchor)
            updater.refresh()
            targets_md = Metadata.from_file(str(meta_dir / "targets.json"))
            for path in sorted(targets_md.signed.targets):
                info = updater.get_targetinfo(path)
                if info is not None:
                    updater.download_target(info)
            status.verified = True
        except (exceptions.RepositoryError, exceptions.DownloadLengthMismatchError) as exc:
            status.problem, status.problem_kind = f"{type(exc).__name__}: {exc}", "verification"
        except _NothingPublished:
            status.problem = f"nothing is published at {status.location} (no metadata/timestamp.json)"
            status.problem_kind = "unreachable"
        except exceptions.DownloadHTTPError as exc:
            # The timestamp was there, so a missing file below it is the repository's fault.
            status.problem = f"the repository is incomplete: {exc} (HTTP {exc.status_code})"
            status.problem_kind = "verification"
        except exceptions.DownloadError as exc:
            cause = exc.__cause__ or exc
            status.problem, status.problem_kind = f"cannot read {status.location}: {cause}", "unreachable"
        except (OSError, ValueError) as exc:
            status.problem, status.problem_kind = f"{type(exc).__name__}: {exc}", "verification"
        mds: dict[str, Metadata] = {}
        if status.verified:
            for role in ("root", "timestamp", "snapshot", "targets"):
                mds[role] = Metadata.from_file(str(meta_dir / f"{role}.json"))
        else:
            mds = _read_unverified(base, fetcher)
    now = utc_now()
    for role in ("root", "targets", "snapshot", "timestamp"):
        if role in mds:
            signed = mds[role].signed
            status.roles[role] = RoleStatus(signed.version, iso(signed.expires), signed.is_expired(now))
    if "targets" in mds:
        status.version = mds["targets"].signed.version
        for path, info in sorted(mds["targets"].signed.targets.items()):
            channel = path.rsplit("/", 1)[0] if "/" in path else ""
            entry = {"target": path, "sha256": info.hashes.get(HASH), "length": info.length}
            entry.update(dict(info.custom or {}))
            status.channels[channel] = entry
    return status


def _read_unverified(base: str, fetcher: Any) -> dict[str, Metadata]:
    """Best-effort read of the live metadata without verification, for display next to the failure."""
    fetcher = fetcher or Urllib3Fetcher()
    out: dict[str, Metadata] = {}

    def get(name: str, limit: int = 2_000_000) -> Metadata | None:
        try:
            return Metadata.from_bytes(fetcher.download_bytes(base + "metadata/" + name, limit))
        except Exception:  # noqa: BLE001 - display only
            return None

    ts = get("timestamp.json", 16384)
    if ts is None:
        return out
    out["timestamp"] = ts
    snap = get(f"{ts.signed.snapshot_meta.version}.snapshot.json")
    if snap is None:
        return out
    out["snapshot"] = snap
    meta = snap.signed.meta.get("targets.json")
    targets = get(f"{meta.version}.targets.json") if meta else None
    if targets is not None:
        out["targets"] = targets
    return out


def ensure_dev_root(dev_dir: Path, expiry: Expiry) -> bytes:
    """The local demo's trust root, with its four dev keys created on first use (owner-only files).

    Used only when no real key is configured and the target is the default local folder, so that a fresh
    clone can run ``weights publish`` at once; nothing it signs is meant to leave the machine.
    """
    from validator.atomic import write_atomic
    from validator.publish.keys import DEV_ROOT_NAME, check_outside_git, generate, write_private_key

    dev_dir = Path(dev_dir)
    root_file = dev_dir / DEV_ROOT_NAME
    if root_file.is_file() and all((dev_dir / f"{role}.pem").is_file() for role in ROLES):
        return root_file.read_bytes()
    check_outside_git(dev_dir)
    signers = {role: generate() for role in ROLES}
    for role in ROLES:
        write_private_key(dev_dir / f"{role}.pem", signers[role])
    data = init_root(signers, expiry)
    write_atomic(root_file, data, mode=0o644)
    return data
