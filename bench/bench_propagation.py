"""Benchmark: publish → N polling clients all reloaded. Each client's delay from the end of a publish to its
``on_change``, as a multiple of the poll interval (p50, p99, max), measured in the same run.

A client polls every ``interval * U(1 - jitter, 1 + jitter)`` seconds, so a publish lands on average half an
interval before the next poll: p50 near 0.5x and p99 a little over 1x are the design (plus the cost of one
poll: TUF refresh, download, compile, swap). The clients are threads of this process, served by the
project's static server on 127.0.0.1.

    .venv/bin/python bench/bench_propagation.py [--clients 16] [--interval 0.5] [--publishes 10]
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "tests"))

from publish_helpers import served  # noqa: E402
from runtime_helpers import Site, app_contracts, document  # noqa: E402
from validator.runtime import WeightsClient  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--jitter", type=float, default=0.1)
    parser.add_argument("--publishes", type=int, default=10)
    args = parser.parse_args()
    delays: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        site = Site(Path(tmp) / "site")
        site.publish(document(0))
        arrived: dict[str, list[float]] = {}
        lock = threading.Lock()

        def on_change(old, new) -> None:
            with lock:
                arrived.setdefault(new.version, []).append(time.monotonic())

        with served(site.folder) as server:
            clients = [WeightsClient(server.url, site.root, Path(tmp) / f"cache{i}", interval=args.interval,
                                     jitter=args.jitter, contract=app_contracts(), on_change=on_change)
                       for i in range(args.clients)]
            for c in clients:
                c.start()
            for c in clients:
                assert c.wait_ready(30)
            for n in range(1, args.publishes + 1):
                time.sleep(random.uniform(0, args.interval))  # publishes land at random phases of the polls
                version = str(site.publish(document(n)))
                published = time.monotonic()
                deadline = published + 10 * args.interval + 5
                while time.monotonic() < deadline:
                    with lock:
                        if len(arrived.get(version, ())) == args.clients:
                            break
                    time.sleep(0.005)
                with lock:
                    got = arrived.get(version, [])
                    if len(got) < args.clients:
                        raise SystemExit(f"version {version}: only {len(got)} of {args.clients} clients reloaded")
                    delays += [(t - published) / args.interval for t in got]
            for c in clients:
                c.stop()
    p50, p99 = percentile(delays, 0.5), percentile(delays, 0.99)
    print(f"{args.clients} clients, interval {args.interval} s (jitter {args.jitter}), {args.publishes} publishes, "
          f"{len(delays)} reloads")
    print(f"publish -> reloaded, in poll intervals: p50 {p50:.2f}x  p99 {p99:.2f}x  max {max(delays):.2f}x  "
          f"mean {statistics.mean(delays):.2f}x")
    print(json.dumps({"clients": args.clients, "interval_s": args.interval, "reloads": len(delays),
                      "p50_intervals": round(p50, 3), "p99_intervals": round(p99, 3),
                      "max_intervals": round(max(delays), 3)}))


if __name__ == "__main__":
    main()
