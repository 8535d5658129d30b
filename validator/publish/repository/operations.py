"""What the commands do to a repository: publish, canary, promote, abort, roll back, refresh, rotate a key,
and make the first root.

Each operation loads the live repository verified (``staging.TufRepository.load``), stages the next version on
top, and commits it under the storage's lock. "Version" in this project's words is the targets metadata
version: each publish, canary, promote, abort or rollback makes the next one, and ``weights rollback --to N``
names one. Each target also records, as custom ``version``, the targets version that first published its
bytes there; a promotion keeps the candidate's, so clients that ran the canary see no new version.

A channel ``C`` serves ``C/bundle.json`` (live) and, during a canary, ``C/candidate.json`` with its
``canary: {fraction, salt}``; both are targets of the same signed metadata.
"""
from __future__ import annotations

import datetime as _dt
import math
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from securesystemslib.signer import Signer
from tuf.api.metadata import Metadata, Root, TargetFile

from validator.publish.bundle import (
    BUNDLE_FORMAT_VERSION,
    Bundle,
    builder_id,
    candidate_path,
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
from validator.signed_numbers import as_number, signable


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
            now: _dt.datetime | None = None, predicted: Mapping[str, Any] | None = None) -> PublishResult:
    """Publish ``bundle`` as ``<channel>/bundle.json``: the next version, or nothing if it is already live.

    A canary candidate of the channel is left baking beside the new live bundle (a note says so), unless the
    bundle *is* the candidate: then this publish is its promotion and removes the candidate target.
    """
    custom = bundle_custom(bundle)
    if predicted:
        custom["predicted"] = dict(predicted)
    return _publish_live(storage, anchor, keys, channel, bundle.data, custom, expiry, now)


def bundle_custom(bundle: Bundle) -> dict[str, Any]:
    """What a target records about the bundle it serves (provenance, format, builder), before versioning."""
    custom: dict[str, Any] = {
        **bundle.provenance.to_dict(),
        "format_version": BUNDLE_FORMAT_VERSION,
    }
    if bundle.builder is not None:
        custom["builder"] = bundle.builder
    return custom


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


def _same(info: TargetFile | None, probe: TargetFile) -> bool:
    return info is not None and info.hashes.get(HASH) == probe.hashes[HASH] and info.length == probe.length


def _unchanged(repo: TufRepository, path: str, info: TargetFile, data: bytes | None,
               notes: list[str] | None = None) -> PublishResult:
    """Nothing to sign: only repair a missing content file and publish a pending root (what a re-run owes)."""
    notes = list(notes or [])
    if data is not None:
        name = content_file(path, info.hashes[HASH])
        if repo.storage.read(name) != data:
            repo.writes.append((name, data))
            notes.append(f"restored the missing {name}")
    written = repo.commit()
    return PublishResult(repo.storage.location, bool(written), repo.version, path, info.hashes[HASH], info.length,
                         dict(info.custom or {}), written, notes)


def _sign_and_commit(repo: TufRepository, keys: KeySource, expiry: Expiry, edit: Callable[[Any], None]) -> list[str]:
    """One signed publish: targets edited by ``edit``, then snapshot and timestamp, written in that order."""
    signers = repo.signers_for(keys, ONLINE_ROLES)
    repo.stage_targets(signers["targets"], expiry, edit)
    repo.stage_snapshot(signers["snapshot"], expiry)
    repo.stage_timestamp(signers["timestamp"], expiry)
    return repo.commit()


def _write(repo: TufRepository, keys: KeySource, expiry: Expiry, path: str, data: bytes, custom: dict[str, Any],
           remove: Sequence[str] = (), notes: Sequence[str] = ()) -> PublishResult:
    """Serve ``data`` as ``path`` (and drop the ``remove`` targets) in one signed publish."""
    info = repo.stage_content(path, data)
    info.unrecognized_fields["custom"] = signable({**custom, "published_at": iso(repo.now)})

    def edit(targets: Any) -> None:
        targets.targets[path] = info
        for gone in remove:
            targets.targets.pop(gone, None)

    written = _sign_and_commit(repo, keys, expiry, edit)
    return PublishResult(repo.storage.location, True, repo.version, path, info.hashes[HASH], info.length,
                         dict(info.custom), written, list(notes))


def _publish_live(storage: Storage, anchor: bytes, keys: KeySource, channel: str, data: bytes,
                  custom: dict[str, Any], expiry: Expiry, now: _dt.datetime | None) -> PublishResult:
    """Make the channel's live target serve ``data`` in the next version (publish and rollback), under the lock.

    The target's ``version`` is the targets version that first publishes these bytes live, except when they are
    the baking candidate's: then this is its promotion, which keeps the candidate's version (clients on the
    canary keep reporting the same version) and removes the candidate target in the same publish.
    """
    path, cand_path = target_path(channel), candidate_path(channel)
    with storage.lock():
        repo = TufRepository.load(storage, anchor, now)
        probe = TargetFile.from_data(path, data, [HASH])
        current = repo.target(path)
        if current is not None and _same(current, probe):
            return _unchanged(repo, path, current, data)
        candidate = repo.target(cand_path)
        custom = {**custom, "version": repo.version + 1}
        if candidate is None:
            return _write(repo, keys, expiry, path, data, custom)
        old = dict(candidate.custom or {})
        if _same(candidate, probe):
            custom.update(_promoted(old, cand_path, repo.version + 1))
            custom.setdefault("predicted", old.get("predicted"))
            custom = {k: v for k, v in custom.items() if v is not None}
            return _write(repo, keys, expiry, path, data, custom, [cand_path],
                          [f"this is the candidate of {channel} (version {custom['version']}): publishing it "
                           f"promotes it, and {cand_path} is removed"])
        note = (f"the candidate {_label(old)} still bakes beside the new live bundle on "
                f"{_fraction_text(old)} of clients: weights promote or weights abort")
        return _write(repo, keys, expiry, path, data, custom, (), [note])


def _promoted(candidate_custom: Mapping[str, Any], cand_path: str, fallback_version: int) -> dict[str, Any]:
    """The live target's record of a promotion: the candidate's version, and where and at what share it baked."""
    canary = candidate_custom.get("canary") or {}
    return {
        "version": candidate_custom.get("version", fallback_version),
        "promoted_from": {"target": cand_path, "fraction": canary.get("fraction")},
    }


def _label(custom: Mapping[str, Any]) -> str:
    return f"commit {str(custom.get('commit', '?'))[:12]} (version {custom.get('version', '?')})"


def _fraction_text(custom: Mapping[str, Any]) -> str:
    fraction = as_number((custom.get("canary") or {}).get("fraction"))
    return f"{fraction:.0%}" if fraction is not None else "a share"


# --- the canary: candidate, promote, abort ------------------------------------------------------------------

class CandidateChanged(RepositoryStateError):
    """The candidate is no longer the one that was measured (replaced or aborted meanwhile): exit 1, nothing done."""


def check_fraction(fraction: float) -> float:
    """A canary's share of clients: strictly between 0 and 1 (all clients is a promotion, none is an abort)."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not math.isfinite(fraction):
        raise ValueError(f"the canary fraction must be a number between 0 and 1, not {fraction!r}")
    if fraction >= 1:
        raise ValueError(f"a canary fraction of {fraction:g} puts every client on the candidate: give a share "
                         "below 1 such as 0.1, publish without --canary, or promote a running canary")
    if fraction <= 0:
        raise ValueError(f"a canary fraction of {fraction:g} puts no client on the candidate: "
                         "give a share such as 0.1, or use weights abort")
    return float(fraction)


def publish_canary(storage: Storage, anchor: bytes, keys: KeySource, bundle: Bundle, channel: str,
                   fraction: float, expiry: Expiry, predicted: Mapping[str, Any] | None = None,
                   now: _dt.datetime | None = None) -> PublishResult:
    """Stage ``bundle`` as ``<channel>/candidate.json`` for ``fraction`` of the clients, in one signed publish.

    A client is in the canary when its cohort point (a hash of the salt and its instance id) is below the
    fraction. So re-publishing the same candidate with another fraction keeps the salt and the version: the
    clients of a 10% canary are all inside the 30% one, and none of them reloads for nothing. A different
    candidate replaces the old one with a fresh salt, so the new cohort is not the old one's leftovers.
    ``predicted`` (the PR replay's prediction) is kept from the previous publish of the same candidate when not
    given again.
    """
    fraction = check_fraction(fraction)
    live_path, path = target_path(channel), candidate_path(channel)
    with storage.lock():
        repo = TufRepository.load(storage, anchor, now)
        live = repo.target(live_path)
        if live is None:
            raise NothingPublished(f"nothing is live on {channel} at {storage.location}: a canary is measured "
                                   f"against the live bundle, so publish the first one with weights publish")
        probe = TargetFile.from_data(path, bundle.data, [HASH])
        if _same(live, probe):
            raise ValueError(f"commit {bundle.provenance.commit[:12]} is already live on {channel} "
                             f"(version {dict(live.custom or {}).get('version', repo.version)}): "
                             "there is nothing to canary")
        current = repo.target(path)
        notes: list[str] = []
        if current is not None and _same(current, probe):
            old = dict(current.custom or {})
            old_canary = dict(old.get("canary") or {})
            kept = signable(dict(predicted)) if predicted else old.get("predicted")
            before = as_number(old_canary.get("fraction"))
            if before == fraction and old.get("predicted") == kept:
                return _unchanged(repo, path, current, bundle.data)
            salt = str(old_canary.get("salt") or secrets.token_hex(8))
            version = old.get("version", repo.version + 1)
            if before is not None and before != fraction:
                how = ("every client already on it stays" if fraction > before
                       else f"clients between {before:.0%} and {fraction:.0%} go back to the live bundle")
                notes.append(f"fraction {before:.0%} -> {fraction:.0%} with the same salt: {how}")
        else:
            salt, version, kept = secrets.token_hex(8), repo.version + 1, dict(predicted) if predicted else None
            if current is not None:
                notes.append(f"replaced the candidate {_label(dict(current.custom or {}))}: a new salt draws "
                             "a new cohort")
        custom = {**bundle_custom(bundle), "version": version, "canary": {"fraction": fraction, "salt": salt}}
        if kept:
            custom["predicted"] = kept
        return _write(repo, keys, expiry, path, bundle.data, custom, (), notes)


@dataclass(frozen=True)
class Candidate:
    """A channel's baking candidate as the signed metadata names it (what a guarded promotion measures)."""

    path: str
    sha256: str
    length: int
    custom: Mapping[str, Any]
    targets_version: int

    @property
    def version(self) -> str:
        """The version string clients report for it (interface 1: custom version, else the targets version)."""
        return str(self.custom.get("version", self.targets_version))

    @property
    def predicted(self) -> dict[str, dict[str, Any]] | None:
        """The replay's prediction per model with its value as a number again (it is signed as text)."""
        value = self.custom.get("predicted")
        if not isinstance(value, Mapping):
            return None
        return {str(model): {**guess, "value": as_number(guess.get("value"))}
                for model, guess in value.items() if isinstance(guess, Mapping)}


def candidate_of(storage: Storage, anchor: bytes, channel: str, now: _dt.datetime | None = None) -> Candidate | None:
    """The channel's candidate, read from the repository verified from ``anchor``; None when nothing bakes."""
    path = candidate_path(channel)
    repo = TufRepository.load(storage, anchor, now)
    info = repo.target(path)
    if info is None:
        return None
    return Candidate(path, info.hashes[HASH], info.length, dict(info.custom or {}), repo.version)


def promote(storage: Storage, anchor: bytes, keys: KeySource, channel: str, expiry: Expiry,
            now: _dt.datetime | None = None, expect_sha256: str | None = None) -> PublishResult:
    """Make the candidate's bytes the live ``<channel>/bundle.json`` and remove the candidate: one signed publish.

    The live target keeps the candidate's version, commit and prediction, so clients already on the canary see
    no new version. ``expect_sha256`` names the candidate that was measured (a guarded promotion): if another
    candidate replaced it meanwhile, nothing is promoted (CandidateChanged). Without a candidate nothing
    changes, which makes a repeated promote harmless.
    """
    live_path, path = target_path(channel), candidate_path(channel)
    with storage.lock():
        repo = TufRepository.load(storage, anchor, now)
        candidate, live = repo.target(path), repo.target(live_path)
        if candidate is None:
            live_sha = live.hashes[HASH] if live is not None else None
            if expect_sha256 is not None and live_sha != expect_sha256:
                raise CandidateChanged(f"{path} is gone and the live bundle is not the measured candidate "
                                       f"{expect_sha256[:12]}: it was aborted or replaced; nothing promoted")
            if live is None:
                written = repo.commit()
                return PublishResult(storage.location, bool(written), repo.version, live_path, written=written,
                                     notes=[f"no candidate on {channel}, and nothing is live there"])
            already = "already promoted; " if expect_sha256 is not None else ""
            return _unchanged(repo, live_path, live, None, [
                f"no candidate on {channel}: {already}live is {_label(_versioned(live, repo))}"])
        sha = candidate.hashes[HASH]
        if expect_sha256 is not None and sha != expect_sha256:
            raise CandidateChanged(f"the candidate of {channel} is now {sha[:12]}, not the measured "
                                   f"{expect_sha256[:12]}: measure the new one; nothing promoted")
        data = _content(repo, path, candidate)
        old = dict(candidate.custom or {})
        custom = {k: v for k, v in old.items() if k not in ("canary", "published_at")}
        custom.update(_promoted(old, path, repo.version + 1))
        return _write(repo, keys, expiry, live_path, data, custom, [path],
                      [f"promoted {_label(old)} from {_fraction_text(old)} of clients to all of them"])


def abort(storage: Storage, anchor: bytes, keys: KeySource, channel: str, expiry: Expiry,
          now: _dt.datetime | None = None) -> PublishResult:
    """Remove the channel's candidate in one signed publish: its cohort goes back to the live bundle.

    Without a candidate nothing changes, so an abort can be repeated. The candidate's content file stays in
    storage (files are immutable; older metadata versions still name it).
    """
    live_path, path = target_path(channel), candidate_path(channel)
    with storage.lock():
        repo = TufRepository.load(storage, anchor, now)
        candidate, live = repo.target(path), repo.target(live_path)
        live_text = _label(_versioned(live, repo)) if live is not None else "nothing"
        if candidate is None:
            written = repo.commit()
            return PublishResult(storage.location, bool(written), repo.version, path, written=written,
                                 notes=[f"no candidate on {channel}: nothing to abort; live is {live_text}"])
        old = dict(candidate.custom or {})

        def edit(targets: Any) -> None:
            targets.targets.pop(path, None)

        written = _sign_and_commit(repo, keys, expiry, edit)
        return PublishResult(storage.location, True, repo.version, path, candidate.hashes[HASH], candidate.length,
                             old, written,
                             [f"aborted the candidate {_label(old)}: its clients go back to live {live_text}"])


def _versioned(info: TargetFile, repo: TufRepository) -> dict[str, Any]:
    """A target's custom with the version clients report for it (targets version for older targets)."""
    return {"version": repo.version, **dict(info.custom or {})}


def _content(repo: TufRepository, path: str, info: TargetFile) -> bytes:
    name = content_file(path, info.hashes[HASH])
    data = repo.storage.read(name)
    if data is None:
        raise RepositoryStateError(f"{repo.storage.location}/{name} is missing: the candidate cannot be promoted")
    check_meta(info, data, name)
    return data


def rollback(storage: Storage, anchor: bytes, keys: KeySource, to_version: int, channel: str, expiry: Expiry,
             now: _dt.datetime | None = None) -> PublishResult:
    """Republish the bundle that version ``to_version`` served on ``channel`` as a new, higher version.

    TUF clients refuse lower version numbers (that is the rollback-attack defence), so the content goes back
    while the version goes forward: the target's ``version`` is the new one too, so clients report a version
    they have not run before and ``rollback_of`` says where the bytes came from. Only the live bundle moves; a
    baking candidate stays (a note says so).
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
    dropped = ("published_at", "rollback_of", "version", "predicted", "promoted_from", "canary")
    custom = {k: v for k, v in (info.custom or {}).items() if k not in dropped}
    custom["rollback_of"] = to_version
    return _publish_live(storage, anchor, keys, channel, data, custom, expiry, now)


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

