"""Benchmark: the client CPU of one idle poll, today's full TUF refresh vs one conditional request answered 304.

    .venv/bin/python bench/bench_etag.py [--polls 50] [--repeat 9]

An idle poll is a poll that finds nothing new, which is nearly every poll of a fleet. Today it walks TUF in
full: the next root (404), ``timestamp.json`` downloaded, parsed and its signature verified, the snapshot and
targets checked against it. With ``ETag`` the client sends one ``If-None-Match`` for ``timestamp.json`` and a
304 ends the poll (``Repository._unchanged``). Both sides are real ``WeightsClient.refresh()`` calls against a
real ``weights serve`` in a child process, so the server's work is not counted: ``time.process_time()`` of
this process around ``--polls`` polls, divided by their number, is the client's CPU per poll. The baseline is
the same client with the fast path's bound set to zero (``full_refresh_every``: every poll walks in full),
i.e. today's behaviour. Sides alternate (``Bench.compare``); target: the ETag poll costs at most 1/5 of the
full one, on the median ratio. Results: ``bench/results/etag.json``.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "tests"))

from harness import Bench, Run  # noqa: E402
from publish_helpers import Serve  # noqa: E402
from runtime_helpers import Site, document  # noqa: E402

from validator.runtime import WeightsClient  # noqa: E402

TARGET = 0.2


def polls(client: WeightsClient, count: int) -> Callable[[], Run]:
    def run() -> Run:
        before_polls = client.status().polls
        start = time.process_time()
        for _ in range(count):
            if client.refresh():
                raise SystemExit("an idle poll reloaded: the repository changed under the bench")
        cpu = time.process_time() - start
        status = client.status()
        if status.polls - before_polls != count or status.consecutive_failures:
            raise SystemExit(f"a poll failed: {status.last_error}")
        return Run(cpu / count)
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=50, help="polls per timed run")
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        site = Site(Path(tmp) / "site")
        site.publish(document(1))
        server = Serve(site.folder)
        url = server.url
        try:
            full = WeightsClient(url, site.root, Path(tmp) / "full", interval=30, push=False)
            full._repo.full_refresh_every = 0.0          # every poll walks TUF in full: today's client
            etag = WeightsClient(url, site.root, Path(tmp) / "etag", interval=30, push=False)
            for client in (full, etag):
                client.refresh(raise_errors=True)
            bench = Bench("etag", "client CPU per idle poll: full TUF refresh vs a conditional GET answered 304",
                          params={"polls_per_run": args.polls, "repeat": args.repeat,
                                  "server": "weights serve (child process)", "clock": "time.process_time"})
            bench.compare("idle poll, client CPU per poll", baseline=("full TUF refresh", polls(full, args.polls)),
                          candidate=("conditional GET, 304", polls(etag, args.polls)), target=TARGET,
                          repeat=args.repeat, warmup=1)
            bench.notes["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
            if etag._repo._idle is None:
                raise SystemExit("the ETag client never took the fast path")
            for client in (full, etag):
                client.stop()
        finally:
            server.stop()
    return bench.finish()


if __name__ == "__main__":
    raise SystemExit(main())
