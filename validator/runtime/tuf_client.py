"""The IO shell around python-tuf's ngclient: an HTTP fetcher with hard timeouts, one verified poll, and the
on-disk cache of the last good bundle.

Cache layout (``cache_dir``)::

    metadata/                  python-tuf's trusted metadata (root_history/, timestamp.json, snapshot.json,
                               targets.json), persisted by the Updater, so a restarted app still refuses
                               anything older than what it trusted before (rollback and freeze protection)
    last-good/bundle.json      the bytes of the bundle this process last swapped in
    last-good/targets.json     the signed targets metadata that named those bytes' hash
    last-good/state.json       version, sha256 and when the server last confirmed it (for STALE on a cold start)
    downloads/                 a target while it is being verified

Every file is written atomically (temp file in the same folder, then ``os.replace``). The cached bundle is
never trusted because it is on disk: before a cold start serves it, its length and hash are checked
against targets metadata whose signature verifies against the root chain that starts at the root the app
ships (see ``load_cached``).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import urllib3
from tuf.api import exceptions
from tuf.api.metadata import Metadata, Root, TargetFile, Targets
from tuf.ngclient import FetcherInterface, Updater, UpdaterConfig

from validator.atomic import write_atomic
from validator.runtime.errors import BundleRefused, FetchError, WeightsError

HASH = "sha256"
USER_AGENT = "weights-runtime"


class HttpFetcher(FetcherInterface):
    """urllib3 with a timeout on every request: connect and read-gap ``timeout``, and a total ``deadline``.

    python-tuf's own fetcher bounds only the gap between bytes, so a server that drips a byte a second
    would hold a poll forever; this one also gives up once the whole download exceeds ``deadline``. Every
    failure (refused, reset, truncated body, timeout) comes out as a python-tuf ``DownloadError``, which is
    what the Updater expects. Connections are kept alive between polls.
    """

    def __init__(self, timeout: float = 10.0, deadline: float = 60.0, chunk_size: int = 256 * 1024) -> None:
        self.timeout = float(timeout)
        self.deadline = float(deadline)
        self.chunk_size = chunk_size
        # One retry for a pooled keep-alive connection the server closed meanwhile (a read error); none for
        # connecting, so a hanging server costs at most two timeouts per request and a refused one none.
        retries = urllib3.Retry(total=1, connect=0, read=1, redirect=3, status=0, raise_on_status=False)
        self._pool = urllib3.PoolManager(
            headers={"User-Agent": USER_AGENT}, retries=retries,
            timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout),
        )

    def _fetch(self, url: str) -> Iterator[bytes]:
        started = time.monotonic()
        try:
            response = self._pool.request("GET", url, preload_content=False)
        except urllib3.exceptions.MaxRetryError as exc:
            # NewConnectionError (refused, unreachable) subclasses ConnectTimeoutError in urllib3 2: not a timeout.
            if isinstance(exc.reason, urllib3.exceptions.TimeoutError) and not isinstance(
                    exc.reason, urllib3.exceptions.NewConnectionError):
                raise exceptions.SlowRetrievalError(f"{url}: no answer within {self.timeout:g} s") from exc
            raise exceptions.DownloadError(f"{url}: {exc.reason or exc}") from exc
        except urllib3.exceptions.TimeoutError as exc:
            raise exceptions.SlowRetrievalError(f"{url}: no answer within {self.timeout:g} s") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise exceptions.DownloadError(f"{url}: {exc}") from exc
        if response.status >= 400:
            response.drain_conn()
            response.release_conn()
            raise exceptions.DownloadHTTPError(f"{url}: HTTP {response.status}", response.status)
        return self._chunks(url, response, started)

    def _chunks(self, url: str, response: Any, started: float) -> Iterator[bytes]:
        try:
            for chunk in response.stream(self.chunk_size):
                if time.monotonic() - started > self.deadline:
                    raise exceptions.SlowRetrievalError(f"{url}: download exceeded {self.deadline:g} s")
                yield chunk
        except exceptions.DownloadError:
            raise
        except urllib3.exceptions.TimeoutError as exc:
            raise exceptions.SlowRetrievalError(f"{url}: stalled for {self.timeout:g} s") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            # IncompleteRead (truncated body), connection reset mid-body, ...
            raise exceptions.DownloadError(f"{url}: {_short(exc)}") from exc
        finally:
            response.release_conn()

    def close(self) -> None:
        self._pool.clear()


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 300 else text[:297] + "..."


def classify(exc: BaseException) -> WeightsError:
    """A runtime error (with its metrics ``reason``) for whatever a poll raised."""
    if isinstance(exc, WeightsError):
        return exc
    if isinstance(exc, exceptions.SlowRetrievalError):
        return FetchError(f"timed out: {exc}", "timeout")
    if isinstance(exc, exceptions.DownloadHTTPError):
        return FetchError(f"the server answered HTTP {exc.status_code}: {exc}", "http")
    if isinstance(exc, exceptions.DownloadLengthMismatchError):
        return BundleRefused(f"the server sent more bytes than the signed metadata allows: {exc}", "verification")
    if isinstance(exc, exceptions.DownloadError):
        cause = exc.__cause__
        detail = f"{exc}" if cause is None or str(cause) in str(exc) else f"{exc} ({_short(cause)})"
        return FetchError(f"cannot reach the repository: {detail}", "network")
    if isinstance(exc, exceptions.ExpiredMetadataError):
        return BundleRefused(f"expired metadata (a frozen or unmaintained repository): {exc}", "expired")
    if isinstance(exc, exceptions.BadVersionNumberError):
        return BundleRefused(f"rollback refused: {exc}", "rollback")
    if isinstance(exc, exceptions.RepositoryError):
        return BundleRefused(f"verification failed: {type(exc).__name__}: {exc}", "verification")
    if isinstance(exc, OSError):
        return WeightsError(f"cache folder: {exc}", "cache")
    return WeightsError(f"{type(exc).__name__}: {exc}", "internal")


@dataclass(frozen=True)
class Target:
    """What the trusted targets metadata says about the channel's bundle right now."""

    info: TargetFile
    version: int                  # the targets metadata version (the project's "version")
    targets_bytes: bytes          # the signed targets metadata, kept with the bundle it names

    @property
    def sha256(self) -> str:
        return self.info.hashes[HASH]


@dataclass(frozen=True)
class Cached:
    """A last-good bundle from disk that verified against signed targets metadata."""

    data: bytes
    target: Target
    verified_at: float | None     # time.time() when the server last confirmed it, if recorded


class Repository:
    """One TUF repository and one target, polled through a fresh ngclient ``Updater`` each time.

    An Updater refreshes once in its life, so each poll makes one; it starts from the app's shipped root
    and walks the persisted ``metadata/`` first, which is what makes rollback protection survive restarts.
    """

    def __init__(self, url: str, root: bytes, cache_dir: Path, target_path: str, fetcher: FetcherInterface,
                 max_bundle_bytes: int, config: UpdaterConfig | None = None) -> None:
        base = url if url.endswith("/") else url + "/"
        self.metadata_url = base + "metadata/"
        self.targets_url = base + "targets/"
        self.root = root
        self.cache_dir = Path(cache_dir)
        self.metadata_dir = self.cache_dir / "metadata"
        self.last_good_dir = self.cache_dir / "last-good"
        self.downloads_dir = self.cache_dir / "downloads"
        for folder in (self.metadata_dir, self.last_good_dir, self.downloads_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.target_path = target_path
        self.fetcher = fetcher
        self.max_bundle_bytes = max_bundle_bytes
        self.config = config or UpdaterConfig(app_user_agent=USER_AGENT)
        self._updater: Updater | None = None
        self._last: Target | None = None

    # --- the network side -----------------------------------------------------------------------------

    def check(self) -> Target:
        """The channel's target now: from the last full refresh when the server says nothing changed, else refreshed.

        Two steps so that each stays one concern: ``_unchanged`` answers an idle poll cheaply (a conditional
        request for ``timestamp.json``) with what the last full refresh returned; ``_refresh`` is the full TUF
        walk. ``self._last`` is what ``_refresh`` last returned.
        """
        unchanged = self._unchanged()
        if unchanged is not None:
            return unchanged
        result = self._refresh()
        self._last = result
        return result

    def _unchanged(self) -> Target | None:
        """The last refresh's result when the repository has not changed since; None means refresh."""
        return None

    def _refresh(self) -> Target:
        """Refresh the metadata (root → timestamp → snapshot → targets) and return the channel's target."""
        updater = Updater(str(self.metadata_dir), self.metadata_url, str(self.downloads_dir), self.targets_url,
                          fetcher=self.fetcher, config=self.config, bootstrap=self.root)
        updater.refresh()
        info = updater.get_targetinfo(self.target_path)
        if info is None:
            raise BundleRefused(f"the repository publishes no {self.target_path}", "missing")
        if HASH not in info.hashes:
            raise BundleRefused(f"{self.target_path} has no {HASH} hash in its metadata", "verification")
        if info.length > self.max_bundle_bytes:
            raise BundleRefused(f"{self.target_path} is {info.length} bytes, over max_bundle_bytes="
                                f"{self.max_bundle_bytes}", "too_large")
        # After refresh() the persisted targets.json is exactly the trusted one (the Updater only keeps a
        # local file that matches the snapshot's meta, else it downloads and persists the new one).
        targets_bytes = (self.metadata_dir / "targets.json").read_bytes()
        version = Metadata[Targets].from_bytes(targets_bytes).signed.version
        self._updater = updater
        return Target(info, version, targets_bytes)

    def download(self, target: Target) -> bytes:
        """The target's bytes, verified by the Updater against the length and hash it just trusted."""
        updater = self._updater
        if updater is None:  # pragma: no cover - check() always runs first
            raise RuntimeError("download() before check()")
        path = self.downloads_dir / (target.sha256 + ".bundle.json")
        try:
            updater.download_target(target.info, filepath=str(path))
            return path.read_bytes()
        finally:
            try:
                path.unlink()
            except FileNotFoundError:
                pass

    # --- the disk side --------------------------------------------------------------------------------

    def save_last_good(self, data: bytes, target: Target, verified_at: float) -> None:
        """Keep the bundle just swapped in, with the signed metadata that vouches for it."""
        write_atomic(self.last_good_dir / "bundle.json", data)
        write_atomic(self.last_good_dir / "targets.json", target.targets_bytes)
        self.save_state(target, verified_at)

    def save_state(self, target: Target, verified_at: float) -> None:
        state = {"sha256": target.sha256, "version": target.version, "verified_at": verified_at}
        write_atomic(self.last_good_dir / "state.json", json.dumps(state, sort_keys=True).encode())

    def load_cached(self) -> Cached:
        """The last good bundle from disk, re-verified; raises ``BundleRefused``/``OSError`` when unusable.

        The bytes must match the length and sha256 that signed targets metadata gives for the channel's
        target: first the persisted trusted ``metadata/targets.json`` (the newest the Updater accepted),
        else the ``last-good/targets.json`` saved with the bundle (when the newest was refused, e.g. for
        breaking the contract). Either must carry a valid signature of a targets key of the root chain that
        starts at the shipped root. Expiry is not checked here: this is the app's own copy of what it served
        last, and status() reports its age.
        """
        data = (self.last_good_dir / "bundle.json").read_bytes()
        root = self.trusted_root()
        problems = []
        for candidate in (self.metadata_dir / "targets.json", self.last_good_dir / "targets.json"):
            try:
                raw = candidate.read_bytes()
                md = Metadata[Targets].from_bytes(raw)
                root.verify_delegate(Targets.type, md.signed_bytes, md.signatures)
                info = md.signed.targets.get(self.target_path)
                if info is None or HASH not in info.hashes:
                    raise exceptions.RepositoryError(f"no {self.target_path} with a {HASH} hash")
                info.verify_length_and_hashes(data)
            except (OSError, ValueError, exceptions.RepositoryError) as exc:
                problems.append(f"{candidate.parent.name}/{candidate.name}: {type(exc).__name__}: {exc}")
                continue
            verified_at = None
            try:
                state = json.loads((self.last_good_dir / "state.json").read_bytes())
                if state.get("sha256") == info.hashes[HASH]:
                    verified_at = float(state["verified_at"])
            except (OSError, ValueError, KeyError, TypeError):
                pass
            return Cached(data, Target(info, md.signed.version, raw), verified_at)
        raise BundleRefused("the cached bundle does not verify: " + "; ".join(problems), "verification")

    def trusted_root(self) -> Root:
        """The newest root reachable from the shipped root through the persisted root history.

        Each step must be signed by the threshold of the previous root's root keys and of its own, and
        carry the next version number: the same rule the Updater applies online.
        """
        trusted = Metadata[Root].from_bytes(self.root).signed
        history = self.metadata_dir / "root_history"
        while True:
            path = history / f"{trusted.version + 1}.root.json"
            try:
                new = Metadata[Root].from_bytes(path.read_bytes())
                trusted.verify_delegate(Root.type, new.signed_bytes, new.signatures)
                new.signed.verify_delegate(Root.type, new.signed_bytes, new.signatures)
            except (OSError, ValueError, exceptions.RepositoryError):
                return trusted
            if new.signed.version != trusted.version + 1:
                return trusted
            trusted = new.signed


def read_root(root: bytes | str | os.PathLike[str] | Mapping[str, Any]) -> bytes:
    """The shipped trust root as bytes: given as bytes, as a file path, or as parsed JSON."""
    if isinstance(root, bytes):
        data = root
    elif isinstance(root, Mapping):
        data = json.dumps(root).encode()
    else:
        data = Path(root).read_bytes()
    try:
        Metadata[Root].from_bytes(data)
    except Exception as exc:  # noqa: BLE001 - any parse failure means a wrong file was shipped
        raise ValueError(f"the trust root is not TUF root metadata: {exc}") from None
    return data
