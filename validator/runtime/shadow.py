"""Shadow evaluation: a sample of real requests also goes to a candidate bundle, off the request path, and the
outcomes are counted side by side.

Why in the app and not in a replay: the replay predicts a change on last month's sample; the shadow measures it
on this hour's traffic of every instance, which is what a rollout should be judged on (``weights promote --if``).

The request path pays one random draw per call (inside a wrapper with the method's own signature when it takes
one parameter, as score/assign/lookup do: packing ``*args, **kwargs`` would cost more than the rest of the tap),
and on a sampled call a copy of the request and one append to a bounded queue. It never waits: a full queue
drops the sample and counts it. One daemon worker per client takes the samples, calls the candidate's same model
and method with the same arguments, and asks the kind's shadow room (``validator/kinds/<kind>/shadow.py``: ``CHANGE``, ``compare``) whether the outcome
changed and by how much. Kinds whose ``CHANGE`` is None (the bandit's random draws) and models the candidate
does not have are not compared; their samples are counted as ``skipped``.

Counts are kept per (model, live version, candidate version): a new version on either side starts new counts, so
a flip rate never mixes two candidates. ``Shadow.counts()`` and ``Status.shadow`` give them to the app, the
Prometheus series of ``validator.runtime.metrics`` to the fleet, and ``on_shadow`` every comparison as it is made
(for logging the requests that flip, or for checking the counts against a replay).

The client decides what to compare (``set_source``: the canary's candidate, else the shadow channel; nothing when
this client serves the candidate itself) and asks ``models_for(live)`` for the mapping ``model()`` reads: the
live snapshot's own evaluators when there is nothing to compare (zero overhead), else a ``ShadowedModel`` per
model that calls the live evaluator, returns its result unchanged and offers a sample.
"""
from __future__ import annotations

import inspect
import keyword
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, ModuleType
from typing import Any

from validator.kinds import KINDS
from validator.runtime.snapshot import Snapshot

log = logging.getLogger("validator.runtime")

# How long the idle worker waits before it looks for samples again (and whether its client was stopped): samples
# are compared within this delay, at the cost of this many wake-ups a second while idle.
_IDLE_SECONDS = 0.05
_SCALARS = frozenset({str, int, float, bool, type(None), bytes})

Key = tuple[str, str, str]   # (model, live version, candidate version)


@dataclass(frozen=True)
class ShadowCount:
    """The counts of one (model, live version, candidate version) since this process started comparing them.

    requests: samples the candidate answered and that were compared (the flip rate's denominator)
    flips: of those, outcome changed (the kind's ``CHANGE``: decision, segment, rank, value)
    abs_delta_sum / abs_delta_count: |candidate - live| of the main value, for kinds that have one
    dropped: samples lost because the queue was full; errors: samples on which the candidate raised;
    skipped: samples not compared (the kind is not compared, or the candidate lacks the model)
    """

    model: str
    live_version: str
    candidate_version: str
    requests: int = 0
    flips: int = 0
    abs_delta_sum: float = 0.0
    abs_delta_count: int = 0
    dropped: int = 0
    errors: int = 0
    skipped: int = 0

    @property
    def flip_rate(self) -> float | None:
        return self.flips / self.requests if self.requests else None

    @property
    def mean_abs_delta(self) -> float | None:
        return self.abs_delta_sum / self.abs_delta_count if self.abs_delta_count else None

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "live_version": self.live_version, "candidate_version": self.candidate_version,
                "requests": self.requests, "flips": self.flips, "flip_rate": self.flip_rate,
                "abs_delta_sum": self.abs_delta_sum, "abs_delta_count": self.abs_delta_count,
                "mean_abs_delta": self.mean_abs_delta, "dropped": self.dropped, "errors": self.errors,
                "skipped": self.skipped}


@dataclass(frozen=True)
class ShadowComparison:
    """One sample as the worker saw it, handed to ``on_shadow``: what was asked, what each version answered.

    ``candidate_result`` and ``changed`` are None when the candidate raised (``error`` says what).
    """

    model: str
    method: str
    live_version: str
    candidate_version: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    live_result: Any
    candidate_result: Any = None
    changed: bool | None = None
    delta: float | None = None
    error: BaseException | None = None


@dataclass(frozen=True)
class ShadowStatus:
    """The shadow side of ``Status``: what is compared now, and every count so far."""

    rate: float
    queue_size: int
    active: bool                          # a candidate is being compared right now
    source: str | None                    # "candidate" (the canary's) or "shadow channel"
    candidate_version: str | None
    reason: str | None                    # why nothing is compared, when not active
    queued: int
    skipped_models: Mapping[str, str] = field(default_factory=dict)   # model -> why it is not compared
    counts: tuple[ShadowCount, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"rate": self.rate, "queue_size": self.queue_size, "active": self.active, "source": self.source,
                "candidate_version": self.candidate_version, "reason": self.reason, "queued": self.queued,
                "skipped_models": dict(self.skipped_models), "counts": [c.to_dict() for c in self.counts]}


class _Tally:
    __slots__ = ("requests", "flips", "delta_sum", "delta_count", "dropped", "errors", "skipped")

    def __init__(self) -> None:
        self.requests = self.flips = self.delta_count = self.dropped = self.errors = self.skipped = 0
        self.delta_sum = 0.0


class ShadowedModel:
    """A live evaluator with its method (``score``, ``rank``, ...) tapped for shadow samples.

    The method returns exactly what the live evaluator returns; every other attribute is the live evaluator's.
    """

    def __init__(self, live: Any, verb: str, tapped: Callable[..., Any]) -> None:
        self._live = live
        setattr(self, verb, tapped)

    @property
    def live(self) -> Any:
        """The live evaluator this tap wraps."""
        return self._live

    def __getattr__(self, name: str) -> Any:
        return getattr(self._live, name)

    def __repr__(self) -> str:
        return f"ShadowedModel({self._live!r})"


def _detach(value: Any) -> Any:
    """A copy of a request as the evaluators take it, so that the app reusing its objects changes nothing here.

    Requests are a mapping of input names to scalars (score, assign, lookup) or a sequence of such mappings
    (rank's items): the mapping is copied, and a sequence is copied with each of its mappings. Deeper objects are
    shared; no evaluator reads any. A shallow ``dict.copy`` runs in C: a copy that walks every value in Python
    cost a sampled request three times the evaluation it shadows (its code is cold by the next sample).
    """
    kind = type(value)
    if kind is dict:
        return value.copy()
    if kind in _SCALARS:
        return value
    if isinstance(value, Mapping):
        return dict(value)
    if kind is list or kind is tuple:
        return [v.copy() if type(v) is dict else dict(v) if isinstance(v, Mapping) else v for v in value]
    return value


_NO_KWARGS: Mapping[str, Any] = MappingProxyType({})
_SINGLE = """
def call({name}):
    result = method({name})
    if draw() < rate:
        if len(pending) < size:
            put((key, job, ({name}.copy() if type({name}) is dict else detach({name}),), no_kwargs, result))
        else:
            dropped(key)
    return result
"""


def _single_parameter(method: Callable[..., Any]) -> str | None:
    """The name of ``method``'s only parameter when it takes exactly one, positionally or by name; else None."""
    try:
        parameters = list(inspect.signature(method).parameters.values())
    except (TypeError, ValueError):
        return None
    if len(parameters) != 1:
        return None
    only = parameters[0]
    if only.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD or only.default is not inspect.Parameter.empty:
        return None
    return only.name if only.name.isidentifier() and not keyword.iskeyword(only.name) else None


class Shadow:
    """The sampler, the queue, the worker and the counts of one client's shadow evaluation.

    rate: the share of calls sampled, in (0, 1]. queue_size: samples waiting at most; beyond, samples are
    dropped (counted) rather than making a request wait or the process grow. metrics: a ``ClientMetrics`` or
    None. on_shadow: called by the worker with each ``ShadowComparison``; exceptions are logged and ignored.
    stopping: the client's stop event; the worker ends once it is set.
    """

    def __init__(self, rate: float, queue_size: int, *, metrics: Any = None,
                 on_shadow: Callable[[ShadowComparison], Any] | None = None,
                 stopping: threading.Event | None = None, name: str = "weights-shadow") -> None:
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 1:
            raise ValueError(f"shadow must be a share of requests in (0, 1], not {rate!r}")
        if isinstance(queue_size, bool) or not isinstance(queue_size, int) or queue_size < 1:
            raise ValueError(f"shadow_queue_size must be a positive number of samples, not {queue_size!r}")
        self.rate = float(rate)
        self.queue_size = queue_size
        self._metrics = metrics
        self._on_shadow = on_shadow
        self._stopping = stopping or threading.Event()
        self._name = name
        # Samples waiting: a deque, not a queue.Queue, so that offering one takes no lock and wakes no thread (a
        # futex call and a thread switch on a sampled request cost more than the evaluation); the worker looks
        # for samples every _IDLE_SECONDS when it finds none. Only the request threads append, only the worker
        # pops; with several request threads the bound may be overshot by at most one sample per thread.
        self._pending: deque[Any] = deque()
        self._busy = False
        self._lock = threading.Lock()
        self._tallies: dict[Key, _Tally] = {}
        self._worker: threading.Thread | None = None
        self._candidate: Snapshot | None = None
        self._source: str | None = None
        self._reason: str | None = "nothing to compare yet"
        self._skipped_models: Mapping[str, str] = MappingProxyType({})
        self._built: tuple[Snapshot, Snapshot | None, Mapping[str, Any]] | None = None

    # --- what the client's poll thread tells it ----------------------------------------------------------

    def set_source(self, candidate: Snapshot | None, source: str | None, reason: str | None = None) -> None:
        """Say what is compared now (None: nothing, ``reason`` says why), once ``model()`` serves the mapping
        ``models_for`` made for it: a status that says active means samples are being taken."""
        self._candidate = candidate
        self._source = source if candidate is not None else None
        self._reason = None if candidate is not None else (reason or "no candidate")

    @property
    def candidate(self) -> Snapshot | None:
        return self._candidate

    def models_for(self, live: Snapshot, candidate: Snapshot | None) -> Mapping[str, Any]:
        """The mapping ``model()`` serves for ``live``: its own evaluators, or tapped ones comparing ``candidate``."""
        if candidate is None:
            self._skipped_models = MappingProxyType({})
            return live.models
        built = self._built
        if built is not None and built[0] is live and built[1] is candidate:
            return built[2]
        skipped: dict[str, str] = {}
        tapped: dict[str, Any] = {}
        for name, evaluator in live.models.items():
            kind = getattr(evaluator, "kind", None)
            spec = KINDS.get(str(kind))
            room = self._room_of(str(kind))
            other = candidate.models.get(name)
            if spec is None or room is None:
                why = f"kind {kind!r} has no shadow room"
            elif room.CHANGE is None:
                why = f"kind {kind} is not compared (its shadow room's CHANGE is None)"
            elif other is None:
                why = f"absent from candidate version {candidate.version}"
            elif getattr(other, "kind", None) != kind:
                why = f"a {getattr(other, 'kind', None)} in candidate version {candidate.version}, a {kind} here"
            else:
                why = ""
            if why:
                skipped[name] = why
            verb = spec.verb if spec is not None else "score"
            if not hasattr(evaluator, verb):
                tapped[name] = evaluator
                continue
            key = (name, live.version, candidate.version)
            job = None if why or room is None else (other, verb, room)
            tapped[name] = ShadowedModel(evaluator, verb, self._tap(key, getattr(evaluator, verb), job))
            if not why and self._metrics is not None:
                self._metrics.shadow_pair(*key)
        models = MappingProxyType(tapped)
        self._skipped_models = MappingProxyType(skipped)
        self._built = (live, candidate, models)
        self._start_worker()
        return models

    def _room_of(self, kind: str) -> ModuleType | None:
        """The kind's shadow room through the registry, which loads and keeps it; None for a kind without one."""
        try:
            return KINDS[kind].room("shadow")
        except (KeyError, ImportError):
            return None

    # --- the request path ---------------------------------------------------------------------------------

    def _tap(self, key: Key, method: Callable[..., Any], job: tuple[Any, str, ModuleType] | None
             ) -> Callable[..., Any]:
        """``method`` plus the sampling: the only code a shadowed request runs beyond the live evaluator's."""
        rate, draw, pending, size = self.rate, random.random, self._pending, self.queue_size
        put, dropped, skipped = pending.append, self._dropped, self._skipped

        if job is None:
            def call(*args: Any, **kwargs: Any) -> Any:
                result = method(*args, **kwargs)
                if draw() < rate:
                    skipped(key)
                return result
        elif (single := _single_parameter(method)) is not None:
            # score(values), assign(inputs), lookup(inputs): a wrapper with the method's own one parameter.
            # Packing *args/**kwargs costs three times what the rest of the tap costs on a 3 µs score().
            namespace: dict[str, Any] = {"method": method, "draw": draw, "rate": rate, "pending": pending,
                                         "size": size, "put": put, "dropped": dropped, "key": key, "job": job,
                                         "detach": _detach, "no_kwargs": _NO_KWARGS}
            exec(_SINGLE.format(name=single), namespace)  # noqa: S102 - a fixed template; the name is an identifier
            call = namespace["call"]
        else:
            def call(*args: Any, **kwargs: Any) -> Any:
                result = method(*args, **kwargs)
                if draw() < rate:
                    if len(pending) < size:
                        put((key, job, tuple(map(_detach, args)),
                             {k: _detach(v) for k, v in kwargs.items()} if kwargs else _NO_KWARGS, result))
                    else:
                        dropped(key)
                return result

        call.__name__ = getattr(method, "__name__", "call")
        call.__doc__ = getattr(method, "__doc__", None)
        return call

    def _tally(self, key: Key) -> _Tally:
        tally = self._tallies.get(key)
        if tally is None:
            tally = self._tallies[key] = _Tally()
        return tally

    def _dropped(self, key: Key) -> None:
        with self._lock:
            self._tally(key).dropped += 1
        if self._metrics is not None:
            self._metrics.shadow_dropped(key[0])

    def _skipped(self, key: Key) -> None:
        with self._lock:
            self._tally(key).skipped += 1

    # --- the worker ---------------------------------------------------------------------------------------

    def _start_worker(self) -> None:
        if self._worker is not None and self._worker.is_alive():
            return
        self._worker = threading.Thread(target=self._work, name=self._name, daemon=True)
        self._worker.start()

    def _work(self) -> None:
        while True:
            self._busy = True       # before taking a sample, so wait_idle never sees it in neither place
            try:
                item = self._pending.popleft()
            except IndexError:
                self._busy = False
                if self._stopping.wait(_IDLE_SECONDS):
                    return
                continue
            try:
                self._evaluate(*item)
            except Exception:  # noqa: BLE001 - the worker must outlive any bug; it says so
                log.exception("weights client: shadow worker failed on a sample (ignored)")
            finally:
                self._busy = False
            time.sleep(0)           # hand the interpreter to a waiting request thread between samples

    def _evaluate(self, key: Key, job: tuple[Any, str, ModuleType], args: tuple[Any, ...],
                  kwargs: dict[str, Any], live_result: Any) -> None:
        candidate, verb, room = job
        model, live_version, candidate_version = key
        try:
            answer = getattr(candidate, verb)(*args, **kwargs)
            changed, delta = room.compare(live_result, answer)
        except Exception as exc:  # noqa: BLE001 - what the candidate raises is what is counted
            with self._lock:
                self._tally(key).errors += 1
            if self._metrics is not None:
                self._metrics.shadow_error(model)
            self._tell(ShadowComparison(model, verb, live_version, candidate_version, args, kwargs, live_result,
                                        error=exc))
            return
        changed = bool(changed)
        with self._lock:
            tally = self._tally(key)
            tally.requests += 1
            if changed:
                tally.flips += 1
            if delta is not None:
                tally.delta_sum += delta
                tally.delta_count += 1
        if self._metrics is not None:
            self._metrics.shadow_compared(model, live_version, candidate_version, changed, delta)
        self._tell(ShadowComparison(model, verb, live_version, candidate_version, args, kwargs, live_result,
                                    answer, changed, delta))

    def _tell(self, comparison: ShadowComparison) -> None:
        if self._on_shadow is None:
            return
        try:
            self._on_shadow(comparison)
        except Exception:  # noqa: BLE001 - an app's callback must not stop the worker
            log.exception("weights client: on_shadow callback raised (ignored)")

    # --- reading the counts -------------------------------------------------------------------------------

    def counts(self) -> list[ShadowCount]:
        """Every count so far, by (model, live version, candidate version), sorted."""
        with self._lock:
            rows = [ShadowCount(k[0], k[1], k[2], t.requests, t.flips, t.delta_sum, t.delta_count, t.dropped,
                                t.errors, t.skipped) for k, t in self._tallies.items()]
        return sorted(rows, key=lambda c: (c.model, c.live_version, c.candidate_version))

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every queued sample has been compared (and told to ``on_shadow``); False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._pending or self._busy:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.002)
        return True

    def status(self) -> ShadowStatus:
        candidate = self._candidate
        return ShadowStatus(rate=self.rate, queue_size=self.queue_size, active=candidate is not None,
                            source=self._source, candidate_version=candidate.version if candidate else None,
                            reason=self._reason, queued=len(self._pending), skipped_models=self._skipped_models,
                            counts=tuple(self.counts()))


__all__ = ["Shadow", "ShadowComparison", "ShadowCount", "ShadowStatus", "ShadowedModel"]
