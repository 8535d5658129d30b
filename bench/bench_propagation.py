"""Benchmark: publish → N polling clients all reloaded. Each client's delay from the end of a publish to its
``on_change``, in poll intervals (p50, p99, max), measured in the same run.

    .venv/bin/python bench/bench_propagation.py [--clients 16] [--interval 0.5] [--publishes 10]

A client polls every ``interval * U(1 - jitter, 1 + jitter)`` seconds, so a publish lands on average half an
interval before the next poll: p50 near 0.5 and p99 a little over 1 (at most 1 + jitter, plus the cost of one
poll: TUF refresh, download, compile, swap) are the design. Target: p99 at most 1.5 intervals. This is a
distribution, not a ratio, so it is recorded with ``Bench.interval`` (bench/harness.py) in
``bench/results/propagation.json``. The clients are threads of this process, served by the project's static
server on 127.0.0.1.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "tests"))

from bench_reload import bench_base  # noqa: E402
from harness import Bench  # noqa: E402
from publish_helpers import served  # noqa: E402
from runtime_helpers import Site, intercept_of  # noqa: E402

from validator.kinds.contract import Contract  # noqa: E402
from validator.runtime import WeightsClient  # noqa: E402

P99_TARGET = 1.5


def document(n: int) -> dict[str, Any]:
    """Variant ``n`` of the project's bundle without its data-table models (as bench_reload.py builds it).

    The clients are threads of one process and share its GIL: a bundle whose reload costs more than
    interval/clients of CPU (a 50,000-row table) would measure their contention, not propagation, which on
    separate machines does not arise.
    """
    doc, _ = bench_base()
    doc["models"]["fraud_risk"]["intercept"] = intercept_of(n)
    doc["provenance"]["commit"] = f"{n:040x}"
    return doc


def app_contracts() -> list[Contract]:
    return [Contract.from_dict(name, c) for name, c in sorted(bench_base()[0]["contracts"].items())]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    bench = Bench("propagation", "publish -> every polling client reloaded, in poll intervals",
                  params={"clients": args.clients, "interval_s": args.interval, "jitter": args.jitter,
                          "publishes": args.publishes, "left_out_data_tables": bench_base()[1]})
    bench.interval("publish to on_change", "poll intervals", delays, target=P99_TARGET, target_on="p99")
    return bench.finish()


if __name__ == "__main__":
    raise SystemExit(main())
