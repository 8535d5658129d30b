"""Benchmark: request-path latency of ``weights.model(name).<verb>(request)`` with shadow evaluation at 5% vs
without it, for fraud_risk (a scorecard) and customer_segments (segments).

    .venv/bin/python bench/bench_shadow.py [--requests 2000] [--repeat 15] [--gap-us 200]

What is measured, and why this way: the latency one request sees, as an app sees it. An app's request thread
spends most of its time waiting on IO (the database, the payment provider) and calls the model between those
waits; the shadow worker is meant to run in those gaps. So each run is an open loop: one request, timed alone
with ``perf_counter``, then an idle gap (``time.sleep``) standing for the app's IO, then the next. A closed loop
of back-to-back calls would instead measure throughput with the worker competing for the one interpreter lock
on every sampled request, which is not what an app with IO in its requests sees. Both clients read the same
served repository; the shadowed one also has a candidate on the ``shadow`` channel (the live weights with
fraud_risk's intercept and one segment centroid moved, so comparisons do real work and some flip). Each run's
figure is its mean per-request latency; runs alternate baseline and candidate (``bench/harness.py``), the
target applies to the median ratio: at most 1.05x. Each side's p50/p99 per-request latency over all runs, and
the shadow's counts (compared, dropped), are recorded in the notes. Figures: ``bench/results/shadow.json``.
"""
from __future__ import annotations

import argparse
import copy
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "tests"))

from bench_score import orders  # noqa: E402
from harness import Bench, Run, percentile  # noqa: E402
from publish_helpers import served  # noqa: E402
from runtime_helpers import Site, app_contracts, base_document, bundle_of, wait_for  # noqa: E402

from validator.publish import repository as tuf_repo  # noqa: E402
from validator.runtime import WeightsClient  # noqa: E402

TARGET = 1.05
RATE = 0.05


def customers(n: int, seed: int = 3) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [{"orders_12m": rng.choice([0, 1, 2, 5, 10, 20]), "avg_basket_eur": round(rng.lognormvariate(3.9, 0.7), 2),
             "discount_share": round(rng.random() * 0.6, 3), "days_since_last_order": rng.choice([2, 8, 30, 90, 200]),
             "categories_bought": rng.choice([1, 2, 3, 5, 8]), "email_open_rate": round(rng.random() * 0.6, 3)}
            for _ in range(n)]


def candidate_document() -> dict[str, Any]:
    doc = copy.deepcopy(base_document())
    doc["models"]["fraud_risk"]["intercept"] += 1.5
    doc["models"]["customer_segments"]["segments"][0]["centroid"]["discount_share"] -= 0.5
    doc["provenance"]["commit"] = "c" * 40
    return doc


def open_loop(call: Callable[[Any], object], requests: list[Any], gap: float, into: list[float]) -> float:
    """Each request timed alone, an idle gap after it; returns the mean latency (seconds) of this run."""
    clock, sleep = time.perf_counter, time.sleep
    latencies = []
    for request in requests:
        start = clock()
        call(request)
        latencies.append(clock() - start)
        sleep(gap)
    into.extend(latencies)
    return statistics.fmean(latencies)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--gap-us", type=float, default=200.0)
    args = parser.parse_args()
    gap = args.gap_us / 1e6
    bench = Bench("shadow", "request-path latency with shadow evaluation at 5% vs without (open loop, idle gaps)",
                  params={"requests_per_run": args.requests, "repeat": args.repeat, "gap_us": args.gap_us,
                          "shadow": RATE, "measure": "mean per-request latency of each run"})
    cases = {"fraud_risk": ("score", orders(args.requests)), "customer_segments": ("assign", customers(args.requests))}
    with tempfile.TemporaryDirectory() as tmp:
        site = Site(Path(tmp) / "site")
        site.publish(base_document())
        tuf_repo.publish(site.storage, site.root, site.keys.source(), bundle_of(candidate_document()), "shadow",
                         site.expiry)
        common = {"contract": app_contracts(), "push": False, "interval": 3600.0}
        with served(site.folder) as server, \
                WeightsClient(server.url, site.root, Path(tmp) / "plain", **common) as plain, \
                WeightsClient(server.url, site.root, Path(tmp) / "shadowed", shadow=RATE, **common) as shadowed:
            assert plain.wait_ready(30) and shadowed.wait_ready(30)
            shadow = shadowed.shadow
            assert shadow is not None
            wait_for(lambda: shadow.status().active, 30)   # the shadow source follows the first swap in its poll
            for name, (verb, requests) in cases.items():
                for request in requests:   # the same answers, and every evaluator's code generated before timing
                    assert getattr(plain.model(name), verb)(request) == getattr(shadowed.model(name), verb)(request)
                assert shadow.wait_idle(30)
                seen: dict[str, list[float]] = {"without": [], "with": []}

                def without(name: str = name, verb: str = verb, requests: list = requests,
                            into: list = seen["without"]) -> Run:
                    return Run(open_loop(lambda r: getattr(plain.model(name), verb)(r), requests, gap, into))

                def with_shadow(name: str = name, verb: str = verb, requests: list = requests,
                                into: list = seen["with"]) -> Run:
                    run = Run(open_loop(lambda r: getattr(shadowed.model(name), verb)(r), requests, gap, into))
                    assert shadow.wait_idle(30)   # untimed: the run's figure is its requests' mean latency
                    return run

                bench.compare(f"{name}.{verb}() per-request latency", baseline=("without shadow", without),
                              candidate=(f"shadow={RATE:g}", with_shadow), target=TARGET, repeat=args.repeat,
                              warmup=1)
                counts = [c for c in shadow.counts() if c.model == name]
                bench.notes[name] = {
                    "latency_us": {side: {"p50": round(percentile(values, 0.5) * 1e6, 2),
                                          "p99": round(percentile(values, 0.99) * 1e6, 2)}
                                   for side, values in seen.items()},
                    "shadow_compared": sum(c.requests for c in counts),
                    "shadow_flips": sum(c.flips for c in counts),
                    "shadow_dropped": sum(c.dropped for c in counts),
                    "shadow_errors": sum(c.errors for c in counts),
                }
    return bench.finish()


if __name__ == "__main__":
    raise SystemExit(main())
