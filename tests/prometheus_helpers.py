"""A real Prometheus server for tests, and exporters it scrapes.

``PrometheusServer`` runs the Debian package's binary (/usr/bin/prometheus) on a free 127.0.0.1 port with a
temporary configuration and data folder, scraping every second. ``Exporter`` is a prometheus_client HTTP
endpoint on a free port whose content a test swaps (any registry, e.g. the one a WeightsClient records into),
so one server started per module serves many tests: each test uses its own channel, and series an exporter
stops showing are marked stale by Prometheus at the next scrape.

Waiting is always on a condition with a deadline (readiness, then the data itself), never a fixed sleep.
"""
from __future__ import annotations

import base64
import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ci_env import tool_missing
from prometheus_client import CollectorRegistry, Counter, Info, Summary, start_http_server
from prometheus_client.registry import Collector

PROMETHEUS = "/usr/bin/prometheus"
DEADLINE = 60.0  # seconds: generous for a loaded 2-core machine; a healthy run waits 1-3 scrapes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prometheus_binary() -> str:
    """The server binary; skips the test on a developer's machine without it, fails it on CI."""
    binary = PROMETHEUS if Path(PROMETHEUS).is_file() else shutil.which("prometheus")
    if binary is None:
        tool_missing("prometheus is not installed (apt-get install -y prometheus)")  # skips or fails: no return
    return str(binary)


class Exporter(Collector):
    """A /metrics endpoint on 127.0.0.1 showing whatever registries are set now (none: an empty page)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._registries: tuple[CollectorRegistry, ...] = ()
        self.server, self.thread = start_http_server(0, addr="127.0.0.1", registry=self)
        self.port = int(self.server.server_port)
        self.target = f"127.0.0.1:{self.port}"

    def show(self, *registries: CollectorRegistry) -> None:
        with self._lock:
            self._registries = registries

    def collect(self) -> Iterable[Any]:
        with self._lock:
            registries = self._registries
        for registry in registries:
            yield from registry.collect()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class PrometheusServer:
    """A Prometheus process of our own; ``url`` is its base URL (what ``--metrics`` takes)."""

    folder: Path
    targets: list[str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "PrometheusServer":
        binary = prometheus_binary()
        config = self.folder / "prometheus.yml"
        config.write_text(json.dumps({  # JSON is YAML
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [{"job_name": "apps", "static_configs": [{"targets": self.targets}]}],
        }))
        log = (self.folder / "prometheus.log").open("wb")
        self.process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={self.folder / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.folder)
        log.close()
        wait_for(self._ready, f"Prometheus ready at {self.url}", self)
        return self

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=5) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"prometheus exited with {self.process.returncode}:\n{self.log()}")

    def log(self) -> str:
        path = self.folder / "prometheus.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def query(self, promql: str) -> list[tuple[dict[str, str], float]]:
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=10) as answer:
            data = json.load(answer)
        assert data["status"] == "success", data
        return [(item["metric"], float(item["value"][1])) for item in data["data"]["result"]]

    def wait_for_values(self, promql: str, expected: Mapping[str, float], by: str) -> None:
        """Wait until ``promql`` answers exactly ``expected`` (label ``by`` -> value): the scrapes are in."""
        def seen() -> bool:
            return {m.get(by, ""): v for m, v in self.query(promql)} == dict(expected)

        wait_for(seen, f"{promql} == {dict(expected)}", self)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


def wait_for(condition: Callable[[], bool], what: str, server: PrometheusServer | None = None,
              deadline: float = DEADLINE) -> None:
    """Poll ``condition`` until it holds; fail after ``deadline`` seconds saying what never happened."""
    end = time.monotonic() + deadline
    while True:
        if server is not None:
            server.alive()
        if condition():
            return
        if time.monotonic() > end:
            log = server.log() if server is not None else ""
            raise AssertionError(f"waited {deadline:.0f}s for {what}" + (f"\nprometheus log:\n{log}" if log else ""))
        time.sleep(0.1)


@contextlib.contextmanager
def prometheus_with_exporters(folder: Path, count: int) -> Iterator[tuple[PrometheusServer, list[Exporter]]]:
    """``count`` exporters and a Prometheus scraping them every second; everything stopped afterwards."""
    exporters: list[Exporter] = []
    server: PrometheusServer | None = None
    try:
        exporters = [Exporter() for _ in range(count)]
        server = PrometheusServer(folder, [e.target for e in exporters]).start()
        yield server, exporters
    finally:
        if server is not None:
            server.stop()
        for exporter in exporters:
            exporter.stop()


@dataclass(frozen=True)
class Shadowed:
    """What one client measured of one model: the counts the series of interface 5 carry."""

    model: str
    live_version: str
    candidate_version: str
    requests: int
    flips: int
    deltas: tuple[float, ...] = ()
    dropped: int = 0
    errors: int = 0


def client_registry(channel: str, instance_id: str, role: str, version: str, commit: str,
                    shadowed: Iterable[Shadowed] = ()) -> CollectorRegistry:
    """A registry holding exactly the series a WeightsClient exports (interface 5), filled by hand."""
    registry = CollectorRegistry()
    info = Info("weights_client", "what this client serves", ["channel", "instance_id"], registry=registry)
    info.labels(channel, instance_id).info({"role": role, "version": version, "commit": commit})
    labels = ["channel", "instance_id", "model", "live_version", "candidate_version"]
    requests = Counter("weights_shadow_requests", "shadowed requests", labels, registry=registry)
    flips = Counter("weights_shadow_flips", "outcome changes", labels, registry=registry)
    delta = Summary("weights_shadow_abs_score_delta", "abs value delta", labels, registry=registry)
    dropped = Counter("weights_shadow_dropped", "queue full", ["channel", "instance_id", "model"], registry=registry)
    errors = Counter("weights_shadow_errors", "candidate raised", ["channel", "instance_id", "model"],
                     registry=registry)
    for s in shadowed:
        key = (channel, instance_id, s.model, s.live_version, s.candidate_version)
        requests.labels(*key).inc(s.requests)
        flips.labels(*key).inc(s.flips)
        for value in s.deltas:
            delta.labels(*key).observe(value)
        dropped.labels(channel, instance_id, s.model).inc(s.dropped)
        errors.labels(channel, instance_id, s.model).inc(s.errors)
    return registry


@contextlib.contextmanager
def basic_auth_proxy(upstream: str, user: str, password: str) -> Iterator[tuple[str, list[str]]]:
    """An authenticating reverse proxy in front of ``upstream`` (how Prometheus is often exposed): GET only,
    401 without the right basic-auth header. Yields its base URL (under /prom) and the paths it forwarded."""
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    forwarded: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="prometheus"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path = self.path.removeprefix("/prom")
            forwarded.append(path)
            try:
                with urllib.request.urlopen(upstream + path, timeout=10) as answer:
                    status, body = answer.status, answer.read()
            except urllib.error.HTTPError as exc:
                status, body = exc.code, exc.read()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_port}/prom", forwarded
    finally:
        server.shutdown()
        server.server_close()
