"""The IO shell around python-tuf's ngclient: an HTTP fetcher with hard timeouts, one verified poll, and the
on-disk cache of the last good bundle.

Cache layout (``cache_dir``)::

    metadata/                  python-tuf's trusted metadata (root_history/, timestamp.json, snapshot.json,
                               targets.json), persisted by the Updater, so a restarted app still refuses
                               anything older than what it trusted before (rollback and freeze protection)
    last-good/bundle.json      the bytes of the bundle this process last swapped in
    last-good/targets.json     the signed targets metadata that named those bytes' hash
    last-good/state.json       path, version, sha256 and when the server last confirmed it (for STALE on a cold
                               start); the path says which target the bytes are (the live bundle or the candidate)
    downloads/                 a target while it is being verified

Every file is written atomically (temp file in the same folder, then ``os.replace``). The cached bundle is
never trusted because it is on disk: before a cold start serves it, its length and hash are checked
against targets metadata whose signature verifies against the root chain that starts at the root the app
ships (see ``load_cached``).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Iterator, Mapping

import urllib3
from tuf.api import exceptions
from tuf.api.metadata import Metadata, Root, Snapshot, TargetFile, Targets, Timestamp
from tuf.ngclient import FetcherInterface, Updater, UpdaterConfig

from validator.atomic import write_atomic
from validator.runtime.errors import BundleRefused, FetchError, WeightsError

HASH = "sha256"
USER_AGENT = "weights-runtime"
TIMESTAMP = "timestamp.json"


@dataclass(frozen=True)
class Validators:
    """What lets a later request ask "has timestamp.json changed since these bytes?" (RFC 9110 conditionals).

    etag: the response's ETag. last_modified: its Last-Modified, kept only when the response's Date was at
    least two seconds later (RFC 9110 8.8.2.2: a date within the same second as a change may be followed by
    another change with the same date, which If-Modified-Since could not tell apart). sha256: of the bytes
    those headers came with, so they are only ever used for exactly the bytes the client verified.
    fetched_at: time.monotonic() of that response.
    """

    etag: str | None
    last_modified: str | None
    sha256: str
    fetched_at: float

    @property
    def usable(self) -> bool:
        return bool(self.etag or self.last_modified)


def _validators_of(headers: Any, sha256: str, fetched_at: float) -> Validators:
    etag = headers.get("ETag") or None
    last_modified = headers.get("Last-Modified") or None
    if last_modified is not None:
        try:
            gap = (parsedate_to_datetime(headers.get("Date") or "") - parsedate_to_datetime(last_modified))
            if gap.total_seconds() < 2:
                last_modified = None
        except (TypeError, ValueError, IndexError):
            last_modified = None
    return Validators(etag, last_modified, sha256, fetched_at)


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
        self._validators: dict[str, Validators] = {}

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
        digest = hashlib.sha256() if url.endswith("/" + TIMESTAMP) else None
        try:
            for chunk in response.stream(self.chunk_size):
                if time.monotonic() - started > self.deadline:
                    raise exceptions.SlowRetrievalError(f"{url}: download exceeded {self.deadline:g} s")
                if digest is not None:
                    digest.update(chunk)
                yield chunk
            if digest is not None:   # the whole body arrived: remember what names it for a conditional GET
                self._validators[url] = _validators_of(response.headers, digest.hexdigest(), started)
        except exceptions.DownloadError:
            raise
        except urllib3.exceptions.TimeoutError as exc:
            raise exceptions.SlowRetrievalError(f"{url}: stalled for {self.timeout:g} s") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            # IncompleteRead (truncated body), connection reset mid-body, ...
            raise exceptions.DownloadError(f"{url}: {_short(exc)}") from exc
        finally:
            response.release_conn()

    def validators(self, url: str) -> Validators | None:
        """The validators of the last complete download of ``url`` (a ``timestamp.json``), if any."""
        return self._validators.get(url)

    def not_modified(self, url: str, validators: Validators) -> bool:
        """One conditional GET: True only on a 304; any other answer or failure is False (refresh fully).

        A 200 is not read: the full refresh that follows fetches and verifies the new bytes itself, and
        closing the connection bounds what a hostile server can make us read here to nothing.
        """
        if validators.etag:
            headers = {"If-None-Match": validators.etag}
        elif validators.last_modified:
            headers = {"If-Modified-Since": validators.last_modified}
        else:
            return False
        try:
            response = self._pool.request("GET", url, headers=headers, preload_content=False)
        except (urllib3.exceptions.HTTPError, OSError):
            return False
        try:
            if response.status == 304:
                response.drain_conn()
                return True
            response.close()
            return False
        except (urllib3.exceptions.HTTPError, OSError):
            return False
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
    """What the trusted targets metadata says about one target (the live bundle, a candidate) right now."""

    info: TargetFile
    version: int                  # the targets metadata version
    targets_bytes: bytes          # the signed targets metadata, kept with the bundle it names

    @property
    def sha256(self) -> str:
        return self.info.hashes[HASH]

    @property
    def path(self) -> str:
        return self.info.path

    @property
    def custom(self) -> dict[str, Any]:
        return dict(self.info.custom or {})


@dataclass(frozen=True)
class Refreshed:
    """The targets one refresh trusted, read from ONE targets metadata, so they are mutually consistent.

    live: ``<channel>/bundle.json``; candidate: ``<channel>/candidate.json`` when the channel runs a canary;
    shadow: ``<shadow channel>/bundle.json`` when asked for and published. A candidate or shadow target that
    cannot be used (no hash, too large) is None with the reason in ``problems`` (by path): the live bundle keeps
    serving whatever is wrong with the others.
    """

    live: Target
    candidate: Target | None = None
    shadow: Target | None = None
    problems: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _IdleBasis:
    """What an idle poll may rely on: the last full refresh's timestamp validators and the trust's expiry."""

    validators: Validators
    expires: _dt.datetime


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
                 max_bundle_bytes: int, config: UpdaterConfig | None = None, *,
                 candidate_path: str | None = None, shadow_path: str | None = None) -> None:
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
        self.candidate_path = candidate_path
        self.shadow_path = shadow_path
        self.fetcher = fetcher
        self.max_bundle_bytes = max_bundle_bytes
        self.config = config or UpdaterConfig(app_user_agent=USER_AGENT)
        self._updater: Updater | None = None
        self._last: Refreshed | None = None

    # --- the network side -----------------------------------------------------------------------------

    def check(self) -> Refreshed:
        """The channel's targets now: from the last full refresh when the server says nothing changed, else refreshed.

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

    # Set by the client (ClientConfig.full_refresh_every): the longest _unchanged answers without a full refresh.
    full_refresh_every: float = 3600.0
    _idle_basis: object = None            # the _last that _idle was taken for
    _idle: "_IdleBasis | None" = None

    def _unchanged(self) -> Refreshed | None:
        """The last refresh's result when one conditional GET of ``timestamp.json`` answers 304; None: refresh.

        Why this is as safe as the full refresh it skips: a 304 trusts nothing new. It says the server still
        has the very ``timestamp.json`` bytes the last full refresh downloaded and verified (the validators are
        used only if the hash of the bytes they came with equals the trusted timestamp persisted by that
        refresh), so what that refresh returned still holds, and nothing is parsed from the answer. A lying
        server or cache can only withhold news, which it can equally do by serving the old bytes: the defence
        against that freeze is TUF's, applied here exactly as ``Updater.refresh`` would: the answer is used
        only while none of the trusted root, timestamp, snapshot and targets has expired. Two more bounds:
        the fast path needs a full refresh that succeeded (a failing one is not hidden behind a 304), and it
        serves at most ``full_refresh_every`` after that refresh's download, so a root rotation published
        without a new timestamp is still seen. Anything else (a 200, an error, no validator, another fetcher
        than ``HttpFetcher``) returns None and the caller refreshes fully, reporting any problem as before; the
        shortcut then waits for the next full refresh that succeeds.
        """
        last = self._last
        fetcher = self.fetcher
        if last is None or not isinstance(fetcher, HttpFetcher):
            return None
        url = self.metadata_url + TIMESTAMP
        if last is not self._idle_basis:   # a full refresh succeeded since the last idle poll: adopt its trust
            self._idle_basis = last
            self._idle = self._idle_from(fetcher.validators(url))
        idle = self._idle
        if idle is None:
            return None
        if (time.monotonic() - idle.validators.fetched_at <= self.full_refresh_every
                and _dt.datetime.now(_dt.timezone.utc) < idle.expires
                and fetcher.not_modified(url, idle.validators)):
            return last
        # Walk in full, and take no shortcut again until a walk succeeds: had this one failed (say, on a new
        # timestamp with a bad snapshot), a server later sending the old bytes again would otherwise get a 304
        # accepted that the full walk refuses (a rollback of the timestamp that this client already saw).
        self._idle = None
        return None

    def _idle_from(self, validators: Validators | None) -> "_IdleBasis | None":
        """Right after a successful refresh: its validators and the earliest expiry of what it trusted."""
        if validators is None or not validators.usable:
            return None
        try:
            raw = (self.metadata_dir / TIMESTAMP).read_bytes()
            if hashlib.sha256(raw).hexdigest() != validators.sha256:
                return None    # the validators name other bytes than the ones trusted (another fetch)
            expiries = [Metadata[Timestamp].from_bytes(raw).signed.expires,
                        Metadata[Snapshot].from_bytes((self.metadata_dir / "snapshot.json").read_bytes()).signed.expires,
                        Metadata[Targets].from_bytes((self.metadata_dir / "targets.json").read_bytes()).signed.expires,
                        self.trusted_root().expires]
        except (OSError, ValueError, exceptions.RepositoryError):
            return None
        return _IdleBasis(validators, min(expiries))

    def _refresh(self) -> Refreshed:
        """Refresh the metadata (root → timestamp → snapshot → targets) and return the channel's targets.

        The live bundle must be there and usable (else ``BundleRefused``); the candidate and the shadow source
        are optional and their problems are reported beside the live target instead of failing the poll.
        """
        updater = Updater(str(self.metadata_dir), self.metadata_url, str(self.downloads_dir), self.targets_url,
                          fetcher=self.fetcher, config=self.config, bootstrap=self.root)
        updater.refresh()
        # After refresh() the persisted targets.json is exactly the trusted one (the Updater only keeps a
        # local file that matches the snapshot's meta, else it downloads and persists the new one).
        targets_bytes = (self.metadata_dir / "targets.json").read_bytes()
        version = Metadata[Targets].from_bytes(targets_bytes).signed.version
        live = self._target(updater, self.target_path, version, targets_bytes)
        if live is None:
            raise BundleRefused(f"the repository publishes no {self.target_path}", "missing")
        found: dict[str, Target | None] = {}
        problems: dict[str, str] = {}
        for path in (self.candidate_path, self.shadow_path):
            if path is None:
                continue
            try:
                found[path] = self._target(updater, path, version, targets_bytes)
            except BundleRefused as exc:
                found[path], problems[path] = None, str(exc)
        self._updater = updater
        return Refreshed(live, found.get(self.candidate_path or ""), found.get(self.shadow_path or ""), problems)

    def _target(self, updater: Updater, path: str, version: int, targets_bytes: bytes) -> Target | None:
        info = updater.get_targetinfo(path)
        if info is None:
            return None
        if HASH not in info.hashes:
            raise BundleRefused(f"{path} has no {HASH} hash in its metadata", "verification")
        if info.length > self.max_bundle_bytes:
            raise BundleRefused(f"{path} is {info.length} bytes, over max_bundle_bytes={self.max_bundle_bytes}",
                                "too_large")
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
        state = {"path": target.path, "sha256": target.sha256, "version": target.version,
                 "verified_at": verified_at}
        write_atomic(self.last_good_dir / "state.json", json.dumps(state, sort_keys=True).encode())

    def load_cached(self) -> Cached:
        """The last good bundle from disk, re-verified; raises ``BundleRefused``/``OSError`` when unusable.

        The bytes must match the length and sha256 that signed targets metadata gives for the target they were
        saved as (``state.json``'s path: the live bundle or the candidate; the channel's other targets are
        tried too, so a state file from an older client or a crash between the writes costs nothing): first the
        persisted trusted ``metadata/targets.json`` (the newest the Updater accepted),
        else the ``last-good/targets.json`` saved with the bundle (when the newest was refused, e.g. for
        breaking the contract). Either must carry a valid signature of a targets key of the root chain that
        starts at the shipped root. Expiry is not checked here: this is the app's own copy of what it served
        last, and status() reports its age.
        """
        data = (self.last_good_dir / "bundle.json").read_bytes()
        root = self.trusted_root()
        state = self._read_state()
        paths = [p for p in (state.get("path"), self.target_path, self.candidate_path) if isinstance(p, str)]
        paths = list(dict.fromkeys(paths))
        problems = []
        for candidate in (self.metadata_dir / "targets.json", self.last_good_dir / "targets.json"):
            try:
                raw = candidate.read_bytes()
                md = Metadata[Targets].from_bytes(raw)
                root.verify_delegate(Targets.type, md.signed_bytes, md.signatures)
                info = _matching(md.signed, paths, data)
            except (OSError, ValueError, exceptions.RepositoryError) as exc:
                problems.append(f"{candidate.parent.name}/{candidate.name}: {type(exc).__name__}: {exc}")
                continue
            verified_at = None
            try:
                if state.get("sha256") == info.hashes[HASH]:
                    verified_at = float(state["verified_at"])
            except (KeyError, TypeError, ValueError):
                pass
            return Cached(data, Target(info, md.signed.version, raw), verified_at)
        raise BundleRefused("the cached bundle does not verify: " + "; ".join(problems), "verification")

    def _read_state(self) -> dict[str, Any]:
        try:
            state = json.loads((self.last_good_dir / "state.json").read_bytes())
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

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


def _matching(targets: Targets, paths: list[str], data: bytes) -> TargetFile:
    """The first of ``paths`` that ``targets`` signs for exactly these bytes (length and hash)."""
    problems = []
    for path in paths:
        info = targets.targets.get(path)
        if info is None or HASH not in info.hashes:
            problems.append(f"no {path} with a {HASH} hash")
            continue
        try:
            info.verify_length_and_hashes(data)
        except exceptions.LengthOrHashMismatchError as exc:
            problems.append(f"{path}: {exc}")
            continue
        return info
    raise exceptions.RepositoryError("; ".join(problems))


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
