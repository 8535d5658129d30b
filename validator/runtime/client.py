"""``WeightsClient``: one object, one background thread, an explicit lifecycle.

    weights = WeightsClient(url="https://weights.example.com/", root="config/root.json",
                            cache_dir="/var/cache/weights", contract=load_contract("config/contracts/checkout.yaml"))
    weights.start()
    result = weights.model("fraud_risk").score(order)      # .value .decision .reasons .version

The request path reads one attribute (``self._models``: the served snapshot's evaluators, or shadow-tapped ones
made for that very snapshot) and calls an evaluator of that immutable snapshot: no lock, no torn read. The poll thread builds the next snapshot completely (TUF verify → parse → contract
→ compile) before one assignment swaps it in, so a request sees the old bundle or the new one, whole. A
request that uses several models and wants them from one bundle takes ``weights.snapshot`` once. Each model's
request-path code is generated on its first call, not at reload (a bundle of 500 models reloads in a few
``json.loads`` times); a bundle that cannot be compiled is still refused at reload (``validator.runtime.snapshot``).

Failure policy: nothing a poll raises reaches the app. The last good snapshot keeps serving, ``status()``
says why (READY → STALE once the server has not confirmed it for ``max_age``), ``on_error`` is told, and the
next poll backs off exponentially with jitter. A bundle refused for its content is remembered by hash, so a
broken publish is not downloaded again every interval.

Canary and shadow: one refresh yields the live target, the canary's candidate and the shadow channel's bundle
from one signed targets metadata. The client serves the candidate when ``cohort_point(instance_id, salt)`` is
below its fraction (``validator.runtime.cohort``) and it passes every check, else the live bundle; with
``shadow=`` it then compares the candidate (or the shadow channel's bundle) on a sample of requests, off the
request path (``validator.runtime.shadow``).
"""
from __future__ import annotations

import logging
import math
import random
import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from os import PathLike
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from validator.kinds.contract import Contract
from validator.runtime.cohort import canary_of, cohort_point, default_instance_id
from validator.runtime.errors import BundleRefused, NotReady, WeightsError
from validator.runtime.push import Notifier, PushState
from validator.runtime.shadow import Shadow, ShadowComparison, ShadowedModel, ShadowStatus
from validator.runtime.snapshot import Snapshot, build_snapshot, served_version
from validator.runtime.tuf_client import HttpFetcher, Refreshed, Repository, Target, classify, read_root

log = logging.getLogger("validator.runtime")

CHANNEL_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")
BUNDLE_NAME = "bundle.json"
CANDIDATE_NAME = "candidate.json"


class State(str, Enum):
    """The client's health in the words of a readiness probe."""

    STARTING = "STARTING"  # nothing loaded yet and no poll has failed yet (the first poll is under way)
    READY = "READY"        # serving a verified bundle the server confirmed within max_age
    STALE = "STALE"        # serving the last good bundle, but the server has not confirmed it for max_age
    ERROR = "ERROR"        # nothing valid was ever loaded (no cache, every poll failed)


@dataclass(frozen=True)
class ClientConfig:
    """Every limit of a client, with its default and why.

    interval: seconds between polls. A poll that finds nothing new costs two small requests (the next root
        version, answered 404, and ``timestamp.json``), so 30 s keeps a fleet's load trivial while a merge is
        live everywhere within about half a minute.
    jitter: each delay is multiplied by a uniform factor in [1 - jitter, 1 + jitter], so a fleet restarted at
        once does not poll in lockstep.
    timeout: connect and read-gap timeout of every request; a hanging server costs a poll this, not forever.
    deadline: the longest one download may take in total, against a server that drips bytes.
    backoff_max: the longest delay between polls while failing (delays double from ``interval``). Default:
        ten intervals, at most five minutes.
    max_age: after this long without the server confirming the live bundle, status() says STALE.
        Default: ten intervals (a few failed polls are noise; ten are an outage worth an alert).
    max_bundle_bytes: a bigger bundle is refused before download; a weights bundle is kilobytes, 16 MiB
        leaves room for large segment tables while bounding memory.
    push_min_gap: the least time between two polls that notifications trigger. A notification carries no
        trust and can be forged by anything between client and server, so this bounds what a hostile notifier
        costs: at most one refresh per gap, which with the default is at most two a second; an idle refresh
        against an unchanged repository is one conditional request (``bench/results/etag.json`` has its
        CPU). The first notification after a quiet gap is not delayed at all, so a publish is still live
        within about a second.
    push_read_timeout: a notification stream silent for this long (no event, no heartbeat) is dead and is
        reconnected: three of ``weights serve``'s 15 s heartbeats.
    push_backoff_max: the longest wait before reconnecting a failed stream (waits double from one second,
        with full jitter, so a fleet does not reconnect in lockstep after a server restart).
    full_refresh_every: the longest an idle client answers polls from a conditional request (304) without a
        full TUF refresh; default ten intervals, at most an hour, so a new root published without a new
        timestamp still arrives.
    """

    interval: float = 30.0
    jitter: float = 0.1
    timeout: float = 10.0
    deadline: float = 60.0
    backoff_max: float | None = None
    max_age: float | None = None
    max_bundle_bytes: int = 16 * 1024 * 1024
    push_min_gap: float = 0.5
    push_read_timeout: float = 45.0
    push_backoff_max: float = 60.0
    full_refresh_every: float | None = None

    def __post_init__(self) -> None:
        for name in ("interval", "timeout", "deadline", "push_read_timeout", "push_backoff_max"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), not {self.jitter!r}")
        if self.max_bundle_bytes <= 0:
            raise ValueError("max_bundle_bytes must be positive")
        if not (math.isfinite(self.push_min_gap) and self.push_min_gap >= 0):
            raise ValueError(f"push_min_gap must be a number of seconds >= 0, not {self.push_min_gap!r}")

    @property
    def effective_backoff_max(self) -> float:
        if self.backoff_max is not None:
            return max(self.backoff_max, self.interval)
        return max(self.interval, min(300.0, 10 * self.interval))

    @property
    def effective_full_refresh_every(self) -> float:
        if self.full_refresh_every is not None:
            return self.full_refresh_every
        return min(3600.0, 10 * self.interval)

    @property
    def effective_max_age(self) -> float:
        return self.max_age if self.max_age is not None else 10 * self.interval


@dataclass(frozen=True)
class Status:
    """A point-in-time view of the client for health checks, status pages and logs (``to_dict()`` is JSON)."""

    state: State
    url: str
    channel: str
    bundle: Mapping[str, Any] | None          # Snapshot.describe() of what is served, or None
    last_success_at: float | None             # time.time() when the server last confirmed the served bundle
    age_seconds: float | None                 # seconds since then
    last_error: str | None = None             # the latest failed poll's message (kept after recovery)
    last_error_reason: str | None = None
    last_error_at: float | None = None
    consecutive_failures: int = 0
    polls: int = 0
    reloads: int = 0
    next_poll_in: float | None = None
    notes: tuple[str, ...] = field(default=())
    push: str = "off"                         # the notification stream: a PushState value ("connected", ...)
    instance_id: str = ""                     # this process's id for canary cohorts and metrics
    role: str | None = None                   # what is served: "live" or "candidate" (None: nothing yet)
    cohort: str = "live"                      # the cohort this instance is in: "candidate" or "live"
    cohort_point: float | None = None         # its point in [0, 1) for the current candidate's salt
    candidate: Mapping[str, Any] | None = None  # the channel's candidate: version, sha256, fraction, refused
    shadow: ShadowStatus | None = None        # shadow evaluation, when the client was made with shadow=...

    @property
    def version(self) -> str | None:
        return self.bundle["version"] if self.bundle else None

    @property
    def serving(self) -> bool:
        """Whether model() answers: READY or STALE (what a readiness probe should check)."""
        return self.state in (State.READY, State.STALE)

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "url": self.url,
            "channel": self.channel,
            "bundle": dict(self.bundle) if self.bundle else None,
            "last_success_at": _iso(self.last_success_at),
            "age_seconds": None if self.age_seconds is None else round(self.age_seconds, 3),
            "last_error": self.last_error,
            "last_error_reason": self.last_error_reason,
            "last_error_at": _iso(self.last_error_at),
            "consecutive_failures": self.consecutive_failures,
            "polls": self.polls,
            "reloads": self.reloads,
            "next_poll_in": None if self.next_poll_in is None else round(self.next_poll_in, 3),
            "notes": list(self.notes),
            "push": self.push,
            "instance_id": self.instance_id,
            "role": self.role,
            "cohort": self.cohort,
            "cohort_point": self.cohort_point,
            "candidate": dict(self.candidate) if self.candidate else None,
            "shadow": self.shadow.to_dict() if self.shadow is not None else None,
        }


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


Contracts = Contract | Iterable[Contract] | None


class WeightsClient:
    """Polls a TUF repository for ``<channel>/bundle.json`` (and a canary's ``<channel>/candidate.json``),
    verifies, checks the contract, hot-reloads.

    Thread-safe: ``model()``, ``snapshot``, ``version`` and ``status()`` may be called from any thread at
    any time; polls (the background thread's and ``refresh()``) are serialized by an internal lock that no
    reader ever takes.

    url: the base URL that serves the published folder (``metadata/`` and ``targets/`` below it).
    root: the trusted root metadata the app ships (bytes or a path); the only thing trusted a priori.
    cache_dir: where python-tuf keeps trusted metadata and this client keeps the last good bundle; one per
        app (two processes may share it: every write is atomic).
    channel: the TUF target is ``<channel>/bundle.json``.
    contract: the contract(s) the app was built against; a bundle that breaks one is refused. None skips
        the check (tools, tests), which an app should not do.
    on_change(old, new) / on_error(exc): called in the poll thread after a swap / a failed poll;
        exceptions they raise are logged and ignored. Keep them short.
    metrics: True (the default Prometheus registry) or a ``CollectorRegistry``; needs the ``metrics`` extra.
    fetcher: a python-tuf ``FetcherInterface`` to use instead of the built-in HTTP one (proxies, auth).
    push: hold the server's change notification open (``<url>notify``, offered by ``weights serve``) and poll
        as soon as it says something changed; a server without one is polled at ``interval`` as before
        (``status().push`` says which). False: poll only.
    instance_id: this process's identity for canary cohorts and metrics; default
        ``validator.runtime.cohort.default_instance_id()`` (host, pid, start). When the channel publishes a
        candidate (``<channel>/candidate.json``), the client serves it iff ``cohort_point(instance_id, salt)``
        is below its fraction, else the live bundle; ``status()`` says which (``role``, ``cohort``). Pass a
        stable id (a pod name) to keep an instance in its cohort across restarts.
    shadow: the share of requests (0 < shadow <= 1) also evaluated, off the request path, by the candidate
        (the canary's, else ``<shadow_channel>/bundle.json``) and counted (``validator.runtime.shadow``); 0
        (the default) turns it off and ``model()`` returns the live evaluators themselves.
    shadow_channel: the channel whose bundle is shadowed when there is no canary candidate.
    shadow_queue_size: samples waiting for the shadow worker at most; more are dropped and counted.
    on_shadow(comparison): called by the shadow worker with each ``ShadowComparison``. Keep it short.
    The other arguments are the limits of ``ClientConfig``.
    """

    def __init__(
        self,
        url: str,
        root: bytes | str | PathLike[str],
        cache_dir: str | PathLike[str],
        *,
        channel: str = "production",
        interval: float = 30.0,
        jitter: float = 0.1,
        contract: Contracts = None,
        max_bundle_bytes: int = 16 * 1024 * 1024,
        on_change: Callable[[Snapshot | None, Snapshot], Any] | None = None,
        on_error: Callable[[WeightsError], Any] | None = None,
        timeout: float = 10.0,
        deadline: float = 60.0,
        backoff_max: float | None = None,
        max_age: float | None = None,
        metrics: Any = None,
        fetcher: Any = None,
        push: bool = True,
        instance_id: str | None = None,
        shadow: float = 0.0,
        shadow_channel: str = "shadow",
        shadow_queue_size: int = 1000,
        on_shadow: Callable[[ShadowComparison], Any] | None = None,
    ) -> None:
        if not channel or not set(channel) <= CHANNEL_CHARS or channel[0] in "._-":
            raise ValueError(f"bad channel name {channel!r}: lower-case letters, digits, '.', '_' and '-'")
        self.url = url
        self.channel = channel
        self.config = ClientConfig(interval=interval, jitter=jitter, timeout=timeout, deadline=deadline,
                                   backoff_max=backoff_max, max_age=max_age, max_bundle_bytes=max_bundle_bytes)
        if contract is None:
            self.contracts: tuple[Contract, ...] = ()
        elif isinstance(contract, Contract):
            self.contracts = (contract,)
        else:
            self.contracts = tuple(contract)
        self.on_change = on_change
        self.on_error = on_error
        self._owns_fetcher = fetcher is None
        self._fetcher = fetcher if fetcher is not None else HttpFetcher(timeout, deadline)
        if shadow and (not shadow_channel or not set(shadow_channel) <= CHANNEL_CHARS or shadow_channel[0] in "._-"
                       or shadow_channel == channel):
            raise ValueError(f"bad shadow_channel {shadow_channel!r}: another channel's name")
        self.instance_id = default_instance_id() if instance_id is None else str(instance_id)
        self._repo = Repository(url, read_root(root), Path(cache_dir), f"{channel}/{BUNDLE_NAME}",
                                self._fetcher, max_bundle_bytes, candidate_path=f"{channel}/{CANDIDATE_NAME}",
                                shadow_path=f"{shadow_channel}/{BUNDLE_NAME}" if shadow else None)
        self._repo.full_refresh_every = self.config.effective_full_refresh_every
        self._push = push
        self._notifier: Notifier | None = None
        self._wake = threading.Event()          # set by a notification: poll now (coalesces any number)
        self._push_poll_at = -math.inf          # time.monotonic() of the last poll a notification triggered
        self._metrics = None
        if metrics:
            from validator.runtime.metrics import ClientMetrics  # lazy: prometheus-client is an optional extra

            self._metrics = ClientMetrics(channel, None if metrics is True else metrics, self.instance_id)

        self._snapshot: Snapshot | None = None   # THE reference: assigned whole, read without a lock
        self._poll_lock = threading.Lock()
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._cache_tried = False
        self._refused: dict[str, BundleRefused] = {}   # sha256 -> why; a few entries (live, candidate, shadow)
        self._last_success: float | None = None
        self._state_saved_at = 0.0
        self._last_error: WeightsError | None = None
        self._last_error_at: float | None = None
        self._failures = 0
        self._polls = 0
        self._reloads = 0
        self._next_poll_at: float | None = None
        self._notes: list[str] = []
        # What model() reads: the served snapshot's evaluators, or shadow-tapped ones (one reference, whole).
        self._models: Mapping[str, Any] | None = None
        self._role: str | None = None                 # "live" or "candidate": what self._snapshot is
        self._cohort: tuple[str, float | None] = ("live", None)
        self._candidate: Mapping[str, Any] | None = None
        self._shadow: Shadow | None = None
        if shadow:
            self._shadow = Shadow(shadow, shadow_queue_size, metrics=self._metrics, on_shadow=on_shadow,
                                  stopping=self._stopping, name=f"weights-shadow-{channel}")

    # --- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> "WeightsClient":
        """Serve from the verified on-disk cache at once (if any), then poll in one daemon thread."""
        if self._stopped:
            raise RuntimeError("this WeightsClient was stopped; make a new one")
        if self._thread is not None:
            return self
        with self._poll_lock:
            self._load_cache()
        self._thread = threading.Thread(target=self._run, name=f"weights-client-{self.channel}", daemon=True)
        self._thread.start()
        if self._push:
            cfg = self.config
            base = self.url if self.url.endswith("/") else self.url + "/"
            self._notifier = Notifier(base + "notify", self._notified, connect_timeout=cfg.timeout,
                                      read_timeout=cfg.push_read_timeout, backoff_max=cfg.push_backoff_max).start()
        return self

    def stop(self, timeout: float | None = 10.0) -> None:
        """End the poll thread (a poll under way finishes first, bounded by the request timeouts)."""
        self._stopped = True
        self._stopping.set()
        self._wake.set()
        if self._notifier is not None:
            self._notifier.stop(timeout)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        if self._owns_fetcher:
            self._fetcher.close()

    def __enter__(self) -> "WeightsClient":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def refresh(self, raise_errors: bool = False) -> bool:
        """Poll now, in the calling thread; True when a new bundle was swapped in.

        A failure is recorded like any poll's (status, on_error, metrics) and, with ``raise_errors``, raised.
        """
        with self._poll_lock:
            self._load_cache()
            changed, error = self._poll()
        if error is not None and raise_errors:
            raise error
        return changed

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until a bundle is being served (from the server or the cache); False on timeout."""
        return self._ready.wait(timeout)

    # --- the request path -----------------------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot | None:
        """The live snapshot: take it once per request to use several models of one bundle."""
        return self._snapshot

    @property
    def version(self) -> str | None:
        snap = self._snapshot
        return snap.version if snap is not None else None

    def model(self, name: str) -> Any:
        """The evaluator ``name`` of the served bundle (``.score``/``.rank``/``.choose``/``.assign``/``.lookup``).

        While shadowing, a ``ShadowedModel``: the same method returns the same result and offers a sample.
        """
        models = self._models
        if models is None:
            raise NotReady(f"no weights bundle loaded yet from {self.url} (status: {self.status().state.value}); "
                           "call wait_ready() at startup")
        try:  # the served mapping directly: one call less on every request
            return models[name]
        except KeyError:
            snap = self._snapshot
            assert snap is not None  # set before _models
            return snap.model(name)  # raises UnknownModel naming the models the bundle has

    def evaluator(self, snap: Snapshot, name: str) -> Any:
        """Model ``name`` of ``snap`` as ``model()`` serves it: shadow-tapped when ``snap`` is the one served.

        For callers that take ``snapshot`` once per request so that a batch is answered from one bundle (the
        agent): ``model()`` alone could hand them the next bundle's evaluator mid-batch, and ``snap.models``
        alone would bypass shadow sampling. Raises ``UnknownModel`` like ``snap.model``.
        """
        plain = snap.model(name)
        served = self._models
        tapped = served.get(name) if served is not None else None
        if isinstance(tapped, ShadowedModel) and tapped.live is plain:
            return tapped
        return plain

    def status(self) -> Status:
        snap = self._snapshot
        now = time.time()
        age = None if self._last_success is None else max(0.0, now - self._last_success)
        if snap is None:
            state = State.ERROR if self._failures or self._last_error is not None else State.STARTING
        elif age is None or age > self.config.effective_max_age:
            state = State.STALE
        else:
            state = State.READY
        err = self._last_error
        next_in = None
        if self._next_poll_at is not None and self._thread is not None and not self._stopped:
            next_in = max(0.0, self._next_poll_at - time.monotonic())
        return Status(
            state=state, url=self.url, channel=self.channel,
            bundle=snap.describe() if snap is not None else None,
            last_success_at=self._last_success, age_seconds=age,
            last_error=str(err) if err is not None else None,
            last_error_reason=err.reason if err is not None else None,
            last_error_at=self._last_error_at,
            consecutive_failures=self._failures, polls=self._polls, reloads=self._reloads,
            next_poll_in=next_in, notes=tuple(self._notes) + self._push_notes(), push=self._push_state(),
            instance_id=self.instance_id, role=self._role if snap is not None else None,
            cohort=self._cohort[0], cohort_point=self._cohort[1], candidate=self._candidate,
            shadow=self._shadow.status() if self._shadow is not None else None,
        )

    @property
    def shadow(self) -> Shadow | None:
        """The shadow evaluation (``counts()``, ``wait_idle()``, ``status()``), or None without ``shadow=``."""
        return self._shadow

    def _push_state(self) -> str:
        notifier = self._notifier
        if notifier is None:
            return PushState.OFF.value
        if notifier.state is PushState.UNSUPPORTED:
            return notifier.state.value
        return PushState.OFF.value if self._stopped else notifier.state.value

    def _push_notes(self) -> tuple[str, ...]:
        notifier = self._notifier
        if notifier is not None and notifier.state is PushState.UNSUPPORTED:
            return (f"{notifier.detail}; polling every {self.config.interval:g} s",)
        return ()

    # --- the poll thread ------------------------------------------------------------------------------

    def _notified(self, version: str) -> None:
        """The notifier's thread: the server says the repository may have changed (trusting nothing)."""
        self._wake.set()

    def _run(self) -> None:
        delay = 0.0
        while not self._stopping.is_set():
            self._next_poll_at = time.monotonic() + delay
            if delay > 0 and self._wake.wait(delay) and not self._stopping.is_set():
                # A notification: poll now, but never twice within push_min_gap (a hostile notifier's bound).
                gap = self._push_poll_at + self.config.push_min_gap - time.monotonic()
                if gap > 0 and self._stopping.wait(gap):
                    break
                self._push_poll_at = time.monotonic()
            if self._stopping.is_set():
                break
            self._next_poll_at = None
            self._wake.clear()   # what arrives during this poll triggers one more, after the gap
            try:
                with self._poll_lock:
                    self._poll()
            except BaseException as exc:  # noqa: BLE001 - the thread must outlive any bug; it says so
                log.exception("weights client: unexpected error in the poll thread")
                self._record_failure(WeightsError(f"{type(exc).__name__}: {exc}", "internal"))
            delay = self._next_delay()

    def _next_delay(self) -> float:
        cfg = self.config
        base = cfg.interval if self._failures == 0 else min(
            cfg.effective_backoff_max, cfg.interval * 2 ** min(self._failures - 1, 30))
        return base * random.uniform(1 - cfg.jitter, 1 + cfg.jitter)

    def _poll(self) -> tuple[bool, WeightsError | None]:
        """One poll (caller holds the poll lock): never raises; returns (swapped, error)."""
        started = time.monotonic()
        self._polls += 1
        changed, error = False, None
        try:
            found = self._repo.check()
            changed = self._serve(found, time.time())
            if self._shadow is not None:
                self._update_shadow(self._shadow, found)
        except Exception as exc:  # noqa: BLE001 - sorted by classify(); nothing reaches the app
            error = classify(exc)
            if error.reason == "internal":
                log.error("weights client: unexpected %s during a poll", type(exc).__name__, exc_info=exc)
            self._record_failure(error)
        if self._metrics is not None:
            self._metrics.poll(time.monotonic() - started, error is None, error.reason if error else None,
                               self._last_success)
        return changed, error

    def _serve(self, found: Refreshed, now: float) -> bool:
        """Serve the candidate when this instance is in its cohort and it passes every check, else the live bundle.

        A refused candidate (contract, compile, verification) leaves this client on the live bundle, and
        ``status().candidate["refused"]`` says why; the poll itself succeeded.
        """
        candidate = found.candidate
        canary = canary_of(candidate.info.custom) if candidate is not None else None
        point = cohort_point(self.instance_id, canary[1]) if canary is not None else None
        in_canary = canary is not None and point is not None and point < canary[0]
        self._cohort = ("candidate" if in_canary else "live", point)
        refused: str | None = None
        if in_canary:
            assert candidate is not None
            try:
                changed = self._serve_target(candidate, "candidate", now)
            except BundleRefused as exc:
                refused = str(exc)
            else:
                self._candidate = self._describe_candidate(found, canary, None)
                return changed
        self._candidate = self._describe_candidate(found, canary, refused)
        return self._serve_target(found.live, "live", now)

    def _describe_candidate(self, found: Refreshed, canary: tuple[float, str] | None,
                            refused: str | None) -> dict[str, Any] | None:
        """The candidate as ``status()`` shows it; None when the channel runs no canary."""
        target = found.candidate
        problem = found.problems.get(self._repo.candidate_path or "")
        if target is None:
            return {"problem": problem} if problem else None
        if canary is None:
            refused = refused or "its custom metadata carries no canary fraction in (0, 1] and salt"
        return {"version": served_version(target.info.custom, target.version), "sha256": target.sha256,
                "fraction": canary[0] if canary else None, "refused": refused}

    def _serve_target(self, target: Target, role: str, now: float) -> bool:
        """Make ``target`` the served bundle (nothing to do when its bytes are served already); True if swapped."""
        current = self._snapshot
        if current is not None and current.sha256 == target.sha256:
            self._confirmed(target, now)
            if role != self._role:  # a promotion (or the candidate equals live): same bytes, nothing to reload
                self._role = role
                if self._metrics is not None:
                    self._metrics.serving(role, current.version, current.commit)
            return False
        data, snap = self._fetch_snapshot(target, role, now, current)
        self._confirmed(target, now, saved=True)   # fresh before readers can see it
        self._swap(snap, role)
        self._save_last_good(data, target, now)
        return True

    def _fetch_snapshot(self, target: Target, role: str, now: float,
                        previous: Snapshot | None) -> tuple[bytes, Snapshot]:
        """``target`` downloaded and built like any bundle (contract, compile), or the refusal it earned before.

        One path for the served bundle and the shadow source, so both are refused, remembered and never
        downloaded again alike.
        """
        refused = self._refused.get(target.sha256)
        if refused is not None:
            raise refused
        data = self._repo.download(target)
        custom = target.info.custom or {}
        try:
            snap = build_snapshot(data, version=served_version(custom, target.version), sha256=target.sha256,
                                  source="network", loaded_at=now, contracts=self.contracts, custom=custom,
                                  previous=previous)
        except BundleRefused as exc:
            self._remember_refused(target, role, exc)
            raise
        return data, snap

    def _remember_refused(self, target: Target, role: str, exc: BundleRefused) -> None:
        """Refused bytes are not downloaded again (a broken publish would cost every client every poll)."""
        if len(self._refused) >= 8:
            self._refused.pop(next(iter(self._refused)))
        self._refused[target.sha256] = exc
        if role != "live":
            self._note(f"{target.path} not used: {exc}")
            log.warning("weights client: %s refused (serving the live bundle instead): %s", target.path, exc)

    def _update_shadow(self, shadow: Shadow, found: Refreshed) -> None:
        """Choose what the shadow compares against after this poll, and give model() the mapping to serve.

        The candidate when the channel has one, else the shadow channel's bundle; nothing when this client
        serves the candidate itself or the source is the live bundle. Problems here never fail the poll.
        """
        live = self._snapshot
        if live is None:
            return
        target, source = (found.candidate, "candidate") if found.candidate is not None else (found.shadow,
                                                                                            "shadow channel")
        current, compare, reason = shadow.candidate, None, None
        if self._role == "candidate":
            reason = "this client serves the candidate"
        elif target is None:
            reason = f"no {self._repo.candidate_path} and no {self._repo.shadow_path} published"
        elif target.sha256 == live.sha256:
            reason = f"the {source} is the bundle this client serves"
        elif current is not None and current.sha256 == target.sha256:
            compare = current
        else:
            try:
                compare = self._shadow_snapshot(target, live)
            except Exception as exc:  # noqa: BLE001 - a shadow problem never stops serving
                reason = f"the {source} ({target.path}) cannot be compared: {classify(exc)}"
            else:
                log.info("weights client: shadowing %s version %s on %g%% of requests", target.path,
                         compare.version, shadow.rate * 100)
        self._models = shadow.models_for(live, compare)   # first what model() serves, then what status() says
        shadow.set_source(compare, source, reason)

    def _shadow_snapshot(self, target: Target, live: Snapshot) -> Snapshot:
        """The shadow source built like any bundle (contract, compile), lending the live snapshot's evaluators."""
        return self._fetch_snapshot(target, "shadow", time.time(), live)[1]

    def _confirmed(self, target: Target, now: float, saved: bool = False) -> None:
        """The server vouched for what is served: fresh again; persist that now and then for cold starts."""
        if self._failures:
            log.info("weights client: %s reachable again after %d failed poll(s); serving version %s",
                     self.url, self._failures, self.version)
        self._failures = 0
        self._last_success = now
        if not saved and now - self._state_saved_at > max(60.0, self.config.interval):
            try:
                self._repo.save_state(target, now)
                self._state_saved_at = now
            except OSError as exc:
                self._note(f"cannot write the cache: {exc}")

    def _save_last_good(self, data: bytes, target: Target, now: float) -> None:
        try:
            self._repo.save_last_good(data, target, now)
            self._state_saved_at = now
        except OSError as exc:  # serving goes on; only a cold start without the server would miss it
            self._note(f"cannot write the last good bundle to the cache: {exc}")
            log.warning("weights client: cannot write the cache: %s", exc)

    def _swap(self, snap: Snapshot, role: str = "live") -> None:
        old = self._snapshot
        self._role = role
        self._snapshot = snap           # the one swap; readers see old or new, whole
        self._models = snap.models      # model()'s view of it (shadow taps follow in the same poll)
        self._reloads += 1
        self._ready.set()
        log.info("weights client: serving %s version %s (commit %s) from the %s", self.channel, snap.version,
                 (snap.commit or "?")[:12], "cache" if snap.source == "cache" else "server")
        if self._metrics is not None:
            self._metrics.loaded(snap.version, snap.commit, counted=snap.source == "network")
            self._metrics.serving(role, snap.version, snap.commit)
        if self.on_change is not None:
            try:
                self.on_change(old, snap)
            except Exception:  # noqa: BLE001 - an app's callback must not stop reloads
                log.exception("weights client: on_change callback raised (ignored)")

    def _record_failure(self, error: WeightsError) -> None:
        first = self._failures == 0 or self._last_error is None or self._last_error.reason != error.reason
        self._failures += 1
        self._last_error = error
        self._last_error_at = time.time()
        (log.warning if first else log.debug)(
            "weights client: poll of %s failed (%s): %s; serving %s", self.url, error.reason, error,
            f"version {self.version}" if self._snapshot is not None else "nothing yet")
        if self.on_error is not None:
            try:
                self.on_error(error)
            except Exception:  # noqa: BLE001 - an app's callback must not stop reloads
                log.exception("weights client: on_error callback raised (ignored)")

    def _load_cache(self) -> None:
        """Once per client, before its first poll: serve the last good bundle from disk if it verifies."""
        if self._cache_tried:
            return
        self._cache_tried = True
        try:
            cached = self._repo.load_cached()
        except FileNotFoundError:
            return  # nothing cached yet: the first run of this app on this machine
        except (WeightsError, OSError, ValueError) as exc:
            self._note(f"the cached bundle was not used: {exc}")
            log.warning("weights client: the cached bundle was not used: %s", exc)
            return
        custom = cached.target.info.custom or {}
        try:
            snap = build_snapshot(cached.data, version=served_version(custom, cached.target.version),
                                  sha256=cached.target.sha256, source="cache", loaded_at=time.time(),
                                  contracts=self.contracts, custom=custom)
        except BundleRefused as exc:  # e.g. the app was rebuilt with a stricter contract
            self._note(f"the cached bundle was not used: {exc}")
            log.warning("weights client: the cached bundle was not used: %s", exc)
            return
        self._last_success = cached.verified_at
        # The cache holds what this process served last: the candidate too, re-verified against its own path.
        self._swap(snap, "candidate" if cached.target.path == self._repo.candidate_path else "live")

    def _note(self, text: str) -> None:
        self._notes = [*self._notes[-4:], text]
