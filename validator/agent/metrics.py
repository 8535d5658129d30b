"""Prometheus series of the agent's requests, in the registry that also holds the client's reload series.

Series (besides ``validator.runtime.metrics``' ``weights_*`` reload series and the process collector):

* ``weights_agent_requests_total{model, verb, code}``: answered model requests by HTTP status;
* ``weights_agent_request_duration_seconds{verb}``: histogram from the first byte read to the answer;
* ``weights_agent_batch_size``: histogram of the requests per batch;
* ``weights_agent_serving``: 1 while a bundle is served (READY or STALE), read at scrape time: the readiness
  probe's answer as a series, for an alert that does not depend on the orchestrator.

``model`` is the served model's name, or ``other`` for a name the bundle does not have: a label taken from the
URL as sent would let any client create series without bound.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

OTHER = "other"


class AgentMetrics:
    """The request series of one agent app (one registry; a second app needs its own registry)."""

    def __init__(self, registry: CollectorRegistry, serving: Callable[[], bool]) -> None:
        self.registry = registry
        Gauge("weights_agent_serving", "1 while the agent serves a weights bundle (READY or STALE), else 0",
              registry=registry).set_function(lambda: 1.0 if serving() else 0.0)
        self.requests = Counter("weights_agent_requests_total", "Model requests answered, by HTTP status",
                                ["model", "verb", "code"], registry=registry)
        self.duration = Histogram("weights_agent_request_duration_seconds",
                                  "Time from reading a model request to its answer", ["verb"], registry=registry,
                                  buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                           0.25, 1.0))
        self.batch = Histogram("weights_agent_batch_size", "Requests per batch", registry=registry,
                               buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000))
        self._children: dict[tuple[str, str, int], Any] = {}
        self._durations: dict[str, Any] = {}

    def observe(self, model: str, verb: str, code: int, seconds: float) -> None:
        key = (model, verb, code)
        child = self._children.get(key)
        if child is None:  # labels() looks the child up under a lock; cache it for the request path
            child = self._children[key] = self.requests.labels(model, verb, str(code))
        child.inc()
        duration = self._durations.get(verb)
        if duration is None:
            duration = self._durations[verb] = self.duration.labels(verb)
        duration.observe(seconds)


def new_registry() -> CollectorRegistry:
    """A registry of its own (not the global default), with the process collector (CPU, memory, open files)."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    return registry
