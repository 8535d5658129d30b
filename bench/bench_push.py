"""Benchmark: 1,000 clients at a 30 s interval, publish -> all reloaded, with push and with polling (seconds).

    .venv/bin/python bench/bench_push.py [--clients 1000] [--publishes 5] [--reloads 30] [--interval 30]

What cannot be measured directly here, and how the bench composes it instead: one reload (TUF walk, download,
parse, contract, compile, swap) costs some milliseconds of CPU on the client and the server, so 1,000 real
reloads on this 2-core machine queue behind each other for many seconds whatever the design, while in a
fleet each runs on its own host at the same moment. The bench therefore measures the two parts of a client's
delay separately, each on the real code, and adds them per client:

* stage A, the wake-up, at full scale: ``--clients`` real ``Notifier`` objects (the class ``WeightsClient``
  uses) hold ``/notify`` streams open to one real ``weights serve`` child process; a publish replaces
  ``timestamp.json``; per subscriber, the time from the end of the publish to its ``wake()``. This is the
  part that depends on the fleet's size (one server writing to every stream). Repeated ``--publishes`` times.
  The 1,000 notifiers are threads of this one process, reading their streams on the same two cores as the
  server: their contention for the GIL is part of these figures (a fleet's clients each have a host), so this
  stage too errs slow.
* stage B, the reload, one client at a time: a real ``WeightsClient`` (push on, interval one hour) is woken by
  the same server; per publish, the time from the end of the publish to its ``on_change``. That includes
  its own wake-up too, so adding it to stage A counts a wake twice: the composition errs slow.

Push: each stage-A wake plus a stage-B sample drawn at random. Polling, for comparison: ``--clients`` pollers
with the client's schedule (interval ``--interval``, jitter 0.1, random phases) send real conditional requests
(If-None-Match, the 304 poll of ``Repository._unchanged``) to the same server through one connection pool;
a publish lands a few seconds in; per poller, the time from the end of the publish to its first poll answered
200, plus a stage-B sample. That takes about one interval. Target: p99 at most 1 s with push (none on
polling, reported next to it). Both are recorded with ``Bench.interval`` in ``bench/results/push.json``.
"""
from __future__ import annotations

import argparse
import heapq
import os
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "tests"))

from harness import Bench  # noqa: E402
from publish_helpers import Serve  # noqa: E402
from runtime_helpers import Site, app_contracts, document  # noqa: E402

from validator.runtime import WeightsClient  # noqa: E402
from validator.runtime.push import Notifier, PushState  # noqa: E402
from validator.runtime.tuf_client import HttpFetcher, Validators  # noqa: E402

P99_TARGET = 1.0


def wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.01)


def stage_a(site: Site, url: str, clients: int, publishes: int, n0: int) -> tuple[list[float], int]:
    """Publish -> wake() of each of ``clients`` real Notifiers, seconds; and how many woke before publish returned."""
    woke: list[dict[str, float]] = [{} for _ in range(clients)]

    def waker(i: int) -> Any:
        def wake(version: str) -> None:
            woke[i].setdefault(version, time.monotonic())
        return wake

    notifiers = [Notifier(url + "notify", waker(i), read_timeout=120) for i in range(clients)]
    delays: list[float] = []
    early = 0
    try:
        for n in notifiers:
            n.start()
        wait(lambda: all(n.connects >= 1 for n in notifiers), 300, f"{clients} streams to connect")
        for k in range(publishes):
            time.sleep(random.uniform(0.3, 0.6))
            version = str(site.publish(document(n0 + k)))
            published = time.monotonic()
            wait(lambda v=version: all(v in w for w in woke), 120, f"every stream to hear version {version}")
            for w in woke:
                delay = w[version] - published
                early += delay < 0
                delays.append(max(0.0, delay))
        if any(n.connects != 1 or n.state is not PushState.CONNECTED for n in notifiers):
            raise SystemExit("a stream dropped during stage A")
    finally:
        for n in notifiers:
            n._stopping.set()
        for n in notifiers:
            n.stop(timeout=5)
    return delays, early


def stage_b(site: Site, url: str, cache: Path, reloads: int, n0: int) -> list[float]:
    """Publish -> on_change of one real push-woken WeightsClient (interval one hour), seconds."""
    arrived: dict[str, float] = {}
    client = WeightsClient(url, site.root, cache, interval=3600, contract=app_contracts(),
                           on_change=lambda old, new: arrived.setdefault(new.version, time.monotonic()))
    samples = []
    try:
        client.start()
        wait(lambda: client.status().push == "connected" and client.snapshot is not None, 60, "the client")
        for k in range(reloads):
            # Spaced beyond push_min_gap, so each sample is a reload and not the client's rate bound.
            time.sleep(client.config.push_min_gap + random.uniform(0.1, 0.4))
            version = str(site.publish(document(n0 + k)))
            published = time.monotonic()
            wait(lambda v=version: v in arrived, 60, f"version {version} to load")
            samples.append(arrived[version] - published)
    finally:
        client.stop()
    return samples


def polling(site: Site, url: str, clients: int, interval: float, jitter: float, n0: int) -> list[float]:
    """Publish -> first poll answered 200, for ``clients`` conditional pollers on the client's schedule."""
    fetcher = HttpFetcher(timeout=10, deadline=60)
    fetcher._pool.connection_pool_kw["maxsize"] = 16
    timestamp_url = url + "metadata/timestamp.json"
    head = fetcher._pool.request("GET", timestamp_url)
    validators = Validators(head.headers["ETag"], None, "", time.monotonic())
    start = time.monotonic()
    due = [(start + random.uniform(0, interval), i) for i in range(clients)]   # random phases
    heapq.heapify(due)
    seen: dict[int, float] = {}
    published_at: list[float] = []
    wrong: list[str] = []
    lock = threading.Lock()

    def poll(i: int) -> None:
        asked = time.monotonic()
        if not fetcher.not_modified(timestamp_url, validators):
            with lock:
                if published_at and asked > published_at[0]:
                    seen.setdefault(i, time.monotonic())
                else:   # a 200 before the publish: an error answer, not a change
                    wrong.append(f"poller {i}: not a 304 before the publish")

    publish_at = start + random.uniform(1.0, 3.0)
    with ThreadPoolExecutor(max_workers=16) as pool:
        while len(seen) < clients:
            now = time.monotonic()
            if not published_at and now >= publish_at:
                site.publish(document(n0))
                published_at.append(time.monotonic())
            when, i = due[0]
            if when > now:
                time.sleep(min(when - now, 0.005))
                continue
            heapq.heappop(due)
            if i in seen:
                continue
            pool.submit(poll, i)
            heapq.heappush(due, (when + interval * random.uniform(1 - jitter, 1 + jitter), i))
            if wrong or now - start > 10 * interval:
                raise SystemExit(f"polling: {wrong[:3] or 'not every poller saw the publish in ten intervals'}")
    fetcher.close()
    return [seen[i] - published_at[0] for i in range(clients)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--publishes", type=int, default=5)
    parser.add_argument("--reloads", type=int, default=30)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--jitter", type=float, default=0.1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        site = Site(Path(tmp) / "site")
        site.publish(document(1))
        server = Serve(site.folder)
        url = server.url
        try:
            wakes, early = stage_a(site, url, args.clients, args.publishes, 2)
            reloads = stage_b(site, url, Path(tmp) / "cache", args.reloads, 100)
            polled = polling(site, url, args.clients, args.interval, args.jitter, 1000)
        finally:
            server.stop()
    rng = random.Random(0)
    push_total = [w + rng.choice(reloads) for w in wakes]
    poll_total = [p + rng.choice(reloads) for p in polled]
    bench = Bench("push", "publish -> every client reloaded (seconds): push vs polling, composed per client "
                          "from a wake-up at full scale and a measured reload",
                  params={"clients": args.clients, "publishes": args.publishes, "reload_samples": args.reloads,
                          "interval_s": args.interval, "jitter": args.jitter, "server": "weights serve (child)"})
    bench.notes["woke_before_publish_returned"] = early
    bench.notes["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    bench.interval("push: wake-up (stage A)", "seconds", wakes)
    bench.interval("reload after a push (stage B)", "seconds", reloads)
    bench.interval("push: publish to reloaded", "seconds", push_total, target=P99_TARGET, target_on="p99")
    bench.interval("polling: publish to reloaded", "seconds", poll_total)
    return bench.finish()


if __name__ == "__main__":
    raise SystemExit(main())
