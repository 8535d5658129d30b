"""Benchmark: ``weights agent`` answering single fraud_risk scores vs a bare endpoint of the same ASGI stack.

    .venv/bin/python bench/bench_agent.py [--requests 2000] [--connections 4] [--repeat 15]

Two server processes run side by side on 127.0.0.1: the real ``weights agent`` (polling a signed repository
served in this process, contract-checked, metrics on) and a bare Starlette app on the same uvicorn settings
(``validator.agent.server.run_uvicorn``) whose one POST route reads the body and returns a constant: the agent's
own answer to the same order, byte for byte, so both send the same response size. The load generator is this
process: ``--connections`` threads, each on one keep-alive connection, sending pre-built requests and reading
each answer whole before the next (one in flight per connection), timing every request.

One run = ``--requests`` requests spread over the connections; the harness (bench/harness.py) alternates bare
and agent runs after a warm-up and judges the median ratio of run times, i.e. the inverse throughput ratio:
throughput at least 0.8x the bare endpoint's means a time ratio of at most 1.25. p99 latencies (over every
request of every timed run) are recorded next to it. Figures: ``bench/results/agent.json``.

Internal mode (used by the bench itself): ``bench_agent.py --serve-bare BODY_FILE`` serves the bare endpoint and
prints its URL.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "tests"))

from harness import Bench, Run  # noqa: E402

THROUGHPUT_TARGET = 0.8
TIME_RATIO_TARGET = round(1 / THROUGHPUT_TARGET, 4)  # 1.25
PATH = "/v1/models/fraud_risk/score"


def serve_bare(body_file: str) -> None:
    """The baseline: the same stack (Starlette route, uvicorn settings), reading the body, answering a constant."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from validator.agent.server import bind, run_uvicorn, url_of

    body = Path(body_file).read_bytes()

    async def constant(request: Request) -> Response:
        await request.body()
        return Response(body, 200, {"Weights-Version": "1"}, media_type="application/json")

    app = Starlette(routes=[Route("/v1/models/{name}/{verb}", constant, methods=["POST"])])
    sock = bind("127.0.0.1", 0)
    print(f"bare: serving {url_of(sock)}", flush=True)
    run_uvicorn(app, sock, log_level="warning")


def start_child(args: list[str], pattern: str) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEIGHTS_")}
    env["PYTHONPATH"] = str(PROJECT)
    child = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True, env=env)
    line = child.stdout.readline()  # type: ignore[union-attr]
    match = re.search(pattern, line)
    if not match:
        child.kill()
        raise SystemExit(f"could not start {args}: {line!r}")
    return child, match.group(1)


def request_bytes(host: str, body: bytes) -> bytes:
    return (f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def read_response(sock: socket.socket, buffer: bytearray) -> bytes:
    """One whole response from a keep-alive connection (status line, headers, Content-Length body)."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        buffer += chunk
    head_end = buffer.index(b"\r\n\r\n") + 4
    length = int(re.search(rb"(?i)content-length: *(\d+)", bytes(buffer[:head_end])).group(1))  # type: ignore[union-attr]
    while len(buffer) < head_end + length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        buffer += chunk
    response = bytes(buffer[:head_end + length])
    del buffer[:head_end + length]
    if not response.startswith(b"HTTP/1.1 200"):
        raise AssertionError(response[:200])
    return response


class Load:
    """The load against one server: each run opens its keep-alive connections (uvicorn closes idle ones after
    5 s, and a server waits idle while the other side runs), sends its requests, and closes them."""

    def __init__(self, url: str, body: bytes, connections: int) -> None:
        host, port = re.match(r"http://([\d.]+):(\d+)/", url).groups()  # type: ignore[union-attr]
        self.address = (host, int(port))
        self.request = request_bytes(f"{host}:{port}", body)
        self.connections = connections
        self.latencies: list[float] = []
        self.record = False

    def run(self, total: int) -> Run:
        per = total // self.connections
        results: list[list[float]] = [[] for _ in range(self.connections)]
        errors: list[BaseException] = []
        socks = []
        for _ in range(self.connections):
            sock = socket.create_connection(self.address)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            socks.append(sock)

        def worker(i: int) -> None:
            sock, buffer, out = socks[i], bytearray(), results[i]
            clock, send, request = time.perf_counter, sock.sendall, self.request
            try:
                for _ in range(per):
                    t0 = clock()
                    send(request)
                    read_response(sock, buffer)
                    out.append(clock() - t0)
            except BaseException as exc:  # noqa: BLE001 - reported by the run, not lost in a thread
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(self.connections)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        for sock in socks:
            sock.close()
        if errors:
            raise errors[0]
        if self.record:
            for r in results:
                self.latencies.extend(r)
        return Run(elapsed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--serve-bare", metavar="BODY_FILE")
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return 0

    from publish_helpers import served
    from runtime_helpers import ORDER, Site, document

    body = json.dumps(ORDER).encode()
    children: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        site = Site(tmp / "site")
        site.publish(document(1))
        (tmp / "root.json").write_bytes(site.root)
        with served(site.folder) as server:
            try:
                agent, agent_url = start_child(
                    ["-m", "validator", "agent", "--url", server.url, "--root", str(tmp / "root.json"),
                     "--cache-dir", str(tmp / "cache"), "--port", "0", "--log-level", "warning",
                     "--contract", str(PROJECT / "config" / "contracts" / "checkout.yaml")],
                    r"serving (http://\S+/)")
                children.append(agent)
                answer = _wait_ready_and_answer(agent_url, body)
                (tmp / "body.json").write_bytes(answer)
                bare, bare_url = start_child([str(Path(__file__).resolve()), "--serve-bare", str(tmp / "body.json")],
                                             r"serving (http://\S+/)")
                children.append(bare)
                agent_load = Load(agent_url, body, args.connections)
                bare_load = Load(bare_url, body, args.connections)
                bench = Bench("agent", "weights agent single scores vs a bare Starlette+uvicorn endpoint of the "
                                       "same response size (time ratio = inverse throughput ratio)",
                              params={"requests_per_run": args.requests, "connections": args.connections,
                                      "repeat": args.repeat, "response_bytes": len(answer),
                                      "request_bytes": len(body), "throughput_target": THROUGHPUT_TARGET})

                def baseline() -> Run:
                    return bare_load.run(args.requests)

                def candidate() -> Run:
                    return agent_load.run(args.requests)

                # Warm-up runs are not recorded; from then on every request's latency is.
                bare_load.run(args.requests)
                agent_load.run(args.requests)
                bare_load.record = agent_load.record = True
                comparison = bench.compare(
                    "single score: time for a fixed number of requests", target=TIME_RATIO_TARGET,
                    repeat=args.repeat, warmup=0, baseline=("bare Starlette+uvicorn endpoint", baseline),
                    candidate=("weights agent POST /v1/models/fraud_risk/score", candidate))
                base_ms = [s * 1e3 for s in bare_load.latencies]
                agent_ms = [s * 1e3 for s in agent_load.latencies]
                bare_p99 = bench.interval("latency, bare endpoint", "ms", base_ms).summary()["p99"]
                agent_p99 = bench.interval("latency, weights agent", "ms", agent_ms).summary()["p99"]
                bench.notes.update({
                    "throughput_rps_median": {
                        "bare": round(args.requests / comparison.baseline.median, 1),
                        "agent": round(args.requests / comparison.candidate.median, 1)},
                    "throughput_ratio_median": round(1 / comparison.ratio_median, 4),
                    "throughput_ratio_best_runs": round(1 / comparison.ratio_min, 4),
                    "p99_latency_ratio": round(agent_p99 / bare_p99, 4),
                })
            finally:
                for child in children:
                    child.terminate()
                    child.wait(timeout=60)
    return bench.finish()


def _wait_ready_and_answer(url: str, body: bytes) -> bytes:
    """Poll /readyz (with a deadline), then the agent's answer body to the bench's order."""
    import http.client

    host, port = re.match(r"http://([\d.]+):(\d+)/", url).groups()  # type: ignore[union-attr]
    deadline = time.monotonic() + 120
    while True:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            conn.request("GET", "/readyz")
            ready = conn.getresponse()
            ready.read()
            if ready.status == 200:
                conn.request("POST", PATH, body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                assert response.status == 200
                return response.read()
        except OSError:
            pass
        finally:
            conn.close()
        if time.monotonic() > deadline:
            raise SystemExit("the agent did not become ready in 120 s")
        time.sleep(0.05)


if __name__ == "__main__":
    raise SystemExit(main())
