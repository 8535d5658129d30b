"""Prometheus series of the agent's requests, in the registry that also holds the client's reload series.

Series (besides ``validator.runtime.metrics``' ``weights_*`` reload series and the process collector):

* ``weights_agent_requests_total{model, verb, code}``: answered model requests by HTTP status;
* ``weights_agent_request_duration_seconds{verb}``: histogram from the first byte read to the answer;
* ``weights_agent_batch_size``: histogram of the requests per batch;
* ``weights_agent_serving``: 1 while a bundle is served (READY or STALE), read at scrape time: the readiness
  probe's answer as a series, for an alert that does not depend on the orchestrator.

``model`` is the served model's name, or ``other`` for a name the bundle does not have: a label taken from the
URL as sent would let any client create series without bound.

Why the request series are counted here and handed to prometheus-client only at scrape time (a custom
collector) rather than kept in its ``Counter``/``Histogram``: those take a lock and walk label and exemplar
bookkeeping on every increment, which measured as a fifth of a small request's time in the agent. Every
request is answered on the event loop's thread and every scrape reads there too, so plain integers need no
lock; the exposition is the same.
"""
from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, ProcessCollector
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

OTHER = "other"
DURATION_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000)


class _Histogram:
    """Bucket counts (the last one is +Inf) and the sum of observations."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value

    def buckets(self) -> list[tuple[str, float]]:
        out, total = [], 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            total += count
            out.append(("+Inf" if bound == float("inf") else repr(float(bound)), float(total)))
        return out


class AgentMetrics(Collector):
    """The request series of one agent app (one registry; a second app needs its own registry)."""

    def __init__(self, registry: CollectorRegistry, serving: Callable[[], bool]) -> None:
        self.registry = registry
        self.requests: dict[tuple[str, str, int], int] = {}
        self.durations: dict[str, _Histogram] = {}
        self.batch = _Histogram(BATCH_BUCKETS)
        Gauge("weights_agent_serving", "1 while the agent serves a weights bundle (READY or STALE), else 0",
              registry=registry).set_function(lambda: 1.0 if serving() else 0.0)
        registry.register(self)

    def observe(self, model: str, verb: str, code: int, seconds: float) -> None:
        key = (model, verb, code)
        self.requests[key] = self.requests.get(key, 0) + 1
        histogram = self.durations.get(verb)
        if histogram is None:
            histogram = self.durations[verb] = _Histogram(DURATION_BUCKETS)
        histogram.observe(seconds)

    def collect(self) -> Iterator[Any]:
        requests = CounterMetricFamily("weights_agent_requests", "Model requests answered, by HTTP status",
                                       labels=["model", "verb", "code"])
        for (model, verb, code), count in sorted(self.requests.items()):
            requests.add_metric([model, verb, str(code)], count)
        yield requests
        duration = HistogramMetricFamily("weights_agent_request_duration_seconds",
                                         "Time from reading a model request to its answer", labels=["verb"])
        for verb, histogram in sorted(self.durations.items()):
            duration.add_metric([verb], histogram.buckets(), histogram.sum)
        yield duration
        batch = HistogramMetricFamily("weights_agent_batch_size", "Requests per batch")
        batch.add_metric([], self.batch.buckets(), self.batch.sum)
        yield batch

    def describe(self) -> Iterator[Any]:
        return iter(())  # names are not checked for duplicates at registration (they are ours alone)


def new_registry() -> CollectorRegistry:
    """A registry of its own (not the global default), with the process collector (CPU, memory, open files)."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    return registry
