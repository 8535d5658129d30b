"""Status: what is live at a location, verified exactly as an app's TUF client would verify it.

The check is python-tuf's own client (``ngclient.Updater``) bootstrapped from the trust root, over HTTP or,
through ``StorageFetcher``, straight from a folder or bucket; every target is downloaded and checked. When
verification fails, the metadata is still read unverified so the operator sees what is there. A channel's
canary candidate is shown inside its channel, next to the live bundle.
"""
from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib import parse

from tuf.api import exceptions
from tuf.api.metadata import Metadata, Targets
from tuf.ngclient import FetcherInterface, Updater, UpdaterConfig
from tuf.ngclient.urllib3_fetcher import Urllib3Fetcher

from validator.publish.bundle import CANDIDATE_NAME
from validator.publish.repository.metadata import HASH, iso, utc_now
from validator.publish.storage import Storage


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
            targets_md = Metadata[Targets].from_file(str(meta_dir / "targets.json"))
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
        status.channels = channel_entries(mds["targets"].signed)
    return status


def channel_entries(targets: Targets) -> dict[str, dict[str, Any]]:
    """Per channel, the live target's entry, with the baking candidate's under ``"candidate"``.

    Each entry carries ``version`` as clients report it (the custom version, else the targets version), so
    ``weights status`` and the fleet's metrics name the same version.
    """
    channels: dict[str, dict[str, Any]] = {}
    for path, info in sorted(targets.targets.items()):
        channel, _, name = path.rpartition("/")
        entry: dict[str, Any] = {"target": path, "sha256": info.hashes.get(HASH), "length": info.length,
                                 "version": targets.version}
        entry.update(dict(info.custom or {}))
        slot = channels.setdefault(channel, {})
        if name == CANDIDATE_NAME:
            slot["candidate"] = entry
        else:
            slot.update(entry)
    return channels


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
