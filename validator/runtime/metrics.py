"""Prometheus metrics for a WeightsClient: an optional extra (``pip install weights[metrics]``).

``prometheus_client`` is imported only when an app asks for metrics, so the runtime works without it. The
library registers collectors and never starts an HTTP server: the app already exposes ``/metrics`` (or
calls ``prometheus_client.start_http_server`` itself) and these series appear there.

Series (label ``channel``; failures also by ``reason``, one word from ``validator.runtime.errors``):

* ``weights_last_reload_successful`` 1/0: did the last poll end well (nothing new counts as well)
* ``weights_last_success_timestamp_seconds``: when the server last confirmed what this process serves
* ``weights_reloads_total``: bundles swapped in
* ``weights_reload_failures_total{reason}``: polls that failed, by reason
* ``weights_poll_duration_seconds``: histogram of poll durations (verify, and when changed download+compile)
* ``weights_bundle_info{version, commit}``: 1, the identity of the live bundle
* ``weights_client_info{channel, instance_id, role, version, commit}``: 1, what this process serves now: role
  ``live`` or ``candidate`` (a canary). Counting these series by role and version is how ``weights status``
  and a guarded promotion know how many clients run each side.

Shadow evaluation (``WeightsClient(shadow=...)``, see ``validator.runtime.shadow``), labels ``channel``,
``instance_id``, ``model`` and, for what was compared, ``live_version`` and ``candidate_version``:

* ``weights_shadow_requests_total``: sampled requests the candidate answered and that were compared
* ``weights_shadow_flips_total``: of those, how many changed outcome (the kind's ``shadow.CHANGE``: decision,
  segment, rank, value); the flip rate is ``rate(flips) / rate(requests)``
* ``weights_shadow_abs_score_delta`` (summary: ``_sum``, ``_count``): |candidate - live| of the main value,
  where the kind has one
* ``weights_shadow_dropped_total{channel, instance_id, model}``: samples dropped because the queue was full
* ``weights_shadow_errors_total{channel, instance_id, model}``: samples on which the candidate raised
"""
from __future__ import annotations

import threading
from typing import Any

from validator.extras import require

_LOCK = threading.Lock()
_BY_REGISTRY: dict[int, "_Collectors"] = {}


class _Collectors:
    """One set of collectors per registry: Prometheus refuses to register a metric name twice."""

    def __init__(self, registry: Any) -> None:
        from prometheus_client import Counter, Gauge, Histogram, Info, Summary

        kw = {"registry": registry}
        self.successful = Gauge("weights_last_reload_successful",
                                "1 when the last poll for weights ended well, else 0", ["channel"], **kw)
        self.last_success = Gauge("weights_last_success_timestamp_seconds",
                                  "Unix time the server last confirmed the live weights bundle", ["channel"], **kw)
        self.reloads = Counter("weights_reloads_total", "Weights bundles swapped in", ["channel"], **kw)
        self.failures = Counter("weights_reload_failures_total", "Failed weights polls by reason",
                                ["channel", "reason"], **kw)
        self.duration = Histogram("weights_poll_duration_seconds", "Duration of one weights poll", ["channel"],
                                  buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), **kw)
        self.bundle = Info("weights_bundle", "The live weights bundle", ["channel"], **kw)
        self.client = Info("weights_client", "What this weights client serves: role (live or candidate) and version",
                           ["channel", "instance_id"], **kw)
        pair = ["channel", "instance_id", "model", "live_version", "candidate_version"]
        self.shadow_requests = Counter("weights_shadow_requests_total",
                                       "Sampled requests evaluated by the shadow candidate and compared", pair, **kw)
        self.shadow_flips = Counter("weights_shadow_flips_total",
                                    "Shadow-compared requests whose outcome the candidate changed", pair, **kw)
        self.shadow_delta = Summary("weights_shadow_abs_score_delta",
                                    "Absolute difference of the main value, candidate vs live", pair, **kw)
        per_model = ["channel", "instance_id", "model"]
        self.shadow_dropped = Counter("weights_shadow_dropped_total",
                                      "Shadow samples dropped because the queue was full", per_model, **kw)
        self.shadow_errors = Counter("weights_shadow_errors_total",
                                     "Shadow samples on which the candidate raised", per_model, **kw)


class ClientMetrics:
    """The metrics of one client (one channel), recorded by its poll thread."""

    def __init__(self, channel: str, registry: Any = None, instance_id: str = "") -> None:
        # Without the extra the app's WeightsClient(metrics=...) fails at once, saying what to install.
        require("metrics", "prometheus_client", feature="WeightsClient(metrics=...)")
        import prometheus_client

        registry = registry if registry is not None else prometheus_client.REGISTRY
        with _LOCK:
            collectors = _BY_REGISTRY.get(id(registry))
            if collectors is None:
                collectors = _BY_REGISTRY[id(registry)] = _Collectors(registry)
        self._c = collectors
        self.channel = channel
        self.instance_id = instance_id
        # Make every series visible from the start (a failure counter that appears only on the first failure
        # defeats rate() alerts).
        self._c.reloads.labels(channel)
        self._c.successful.labels(channel).set(0)

    def poll(self, seconds: float, ok: bool, reason: str | None, success_at: float | None) -> None:
        self._c.duration.labels(self.channel).observe(seconds)
        self._c.successful.labels(self.channel).set(1 if ok else 0)
        if ok and success_at is not None:
            self._c.last_success.labels(self.channel).set(success_at)
        if not ok:
            self._c.failures.labels(self.channel, reason or "internal").inc()

    def loaded(self, version: str, commit: str | None, counted: bool = True) -> None:
        if counted:
            self._c.reloads.labels(self.channel).inc()
        self._c.bundle.labels(self.channel).info({"version": version, "commit": commit or ""})

    def success_at(self, when: float) -> None:
        self._c.last_success.labels(self.channel).set(when)

    def serving(self, role: str, version: str, commit: str | None) -> None:
        """What this process serves now (after a swap, and when a promotion turns the same bytes live)."""
        self._c.client.labels(self.channel, self.instance_id).info(
            {"role": role, "version": version, "commit": commit or ""})

    def shadow_pair(self, model: str, live_version: str, candidate_version: str) -> None:
        """Make a comparison's series visible at zero before its first sample (rate() needs the zero)."""
        labels = (self.channel, self.instance_id, model, live_version, candidate_version)
        self._c.shadow_requests.labels(*labels)
        self._c.shadow_flips.labels(*labels)
        self._c.shadow_dropped.labels(self.channel, self.instance_id, model)
        self._c.shadow_errors.labels(self.channel, self.instance_id, model)

    def shadow_compared(self, model: str, live_version: str, candidate_version: str, flipped: bool,
                        delta: float | None) -> None:
        labels = (self.channel, self.instance_id, model, live_version, candidate_version)
        self._c.shadow_requests.labels(*labels).inc()
        if flipped:
            self._c.shadow_flips.labels(*labels).inc()
        if delta is not None:
            self._c.shadow_delta.labels(*labels).observe(delta)

    def shadow_dropped(self, model: str) -> None:
        self._c.shadow_dropped.labels(self.channel, self.instance_id, model).inc()

    def shadow_error(self, model: str) -> None:
        self._c.shadow_errors.labels(self.channel, self.instance_id, model).inc()
