"""Helpers for the runtime tests: a real bundle, a signed repository to publish variants of it into, a served
folder, and a fault-injecting HTTP proxy in front of it (500s, hangs, resets, truncated bodies, refusals).
"""
from __future__ import annotations

import copy
import functools
import json
import math
import shutil
import socket
import struct
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

from publish_helpers import TestKeys, make_repo

from validator.kinds.contract import Contract
from validator.publish import repository as tuf_repo
from validator.publish.bundle import Bundle, Provenance, build_bundle, canonical_json
from validator.publish.repository import Expiry
from validator.publish.storage import FolderStorage

PROJECT = Path(__file__).resolve().parents[1]
# One order whose fraud_risk z is the intercept plus a fixed sum of contributions.
ORDER = {
    "order_amount": 80.0, "account_age_days": 400, "country_mismatch": False, "payment_method": "card",
    "email_domain_age_days": 3000, "orders_last_24h": 1, "shipping_to_billing_distance_km": 2.0,
    "device_seen_before": True,
}


@functools.lru_cache(maxsize=1)
def base_document() -> dict[str, Any]:
    """The bundle this project's weights make, built once per test session from a real git commit."""
    tmp = Path(tempfile.mkdtemp(prefix="weights-runtime-base-"))
    try:
        data = build_bundle(make_repo(tmp / "repo")).data
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return json.loads(data)


def document(n: int) -> dict[str, Any]:
    """Variant ``n`` of the bundle: fraud_risk's intercept encodes n, so a score names the bundle it came from."""
    doc = copy.deepcopy(base_document())
    doc["models"]["fraud_risk"]["intercept"] = intercept_of(n)
    doc["provenance"]["commit"] = f"{n:040x}"
    return doc


def intercept_of(n: int) -> float:
    return -4.0 + n / 64


def n_of_score(value: float, base_z: float) -> int:
    """Invert the logistic score of ORDER back to the variant number."""
    z = math.log(value / (1 - value))
    return round((z - base_z + 4.0) * 64)


def bundle_of(doc: dict[str, Any]) -> Bundle:
    prov = doc["provenance"]
    return Bundle(canonical_json(doc), Provenance(prov["commit"], prov["author"], prov["committed_at"]))


def app_contracts(*names: str) -> list[Contract]:
    """The app's build-time contracts, as the example app would load them (from the base bundle's copy)."""
    contracts = base_document()["contracts"]
    return [Contract.from_dict(name, contracts[name]) for name in (names or sorted(contracts))]


@dataclass
class Site:
    """A TUF repository in a folder, with its keys, that tests publish bundles into."""

    folder: Path
    keys: TestKeys = field(default_factory=TestKeys.generate)
    expiry: Expiry = field(default_factory=Expiry)
    root: bytes = b""

    def __post_init__(self) -> None:
        self.root = self.keys.root(self.expiry)
        self.storage = FolderStorage(self.folder)

    def publish(self, doc: dict[str, Any] | bytes, **kw: Any) -> int:
        bundle = bundle_of(doc) if isinstance(doc, dict) else Bundle(doc, Provenance("d" * 40, "x", "2024-01-01T00:00:00Z"))
        result = tuf_repo.publish(self.storage, self.root, self.keys.source(), bundle, "production",
                                  kw.pop("expiry", self.expiry), **kw)
        return result.version


class FaultProxy:
    """An HTTP server in front of ``upstream`` whose behaviour a test switches at any moment.

    modes: ok (forward), 500, hang (never answer until switched back or closed), reset (RST the
    connection), truncate (promise the full Content-Length, send half, close), down (close at once).
    ``only`` limits the fault to paths containing that text (e.g. "timestamp", "targets/").
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.mode = "ok"
        self.only: str | None = None
        self.requests: list[str] = []
        self._released = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802
                proxy.requests.append(self.path)
                mode = proxy.mode if (proxy.only is None or proxy.only in self.path) else "ok"
                if mode == "hang":
                    proxy._released.wait(10)
                    self.close_connection = True
                    return
                if mode in ("reset", "down"):
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                if mode == "500":
                    body = b"internal error\n"
                    self.send_response(500)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                try:
                    with urllib.request.urlopen(proxy.upstream + self.path, timeout=5) as resp:
                        status, body = resp.status, resp.read()
                except urllib.error.HTTPError as exc:
                    status, body = exc.code, exc.read()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mode == "truncate" and status == 200:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def set(self, mode: str, only: str | None = None) -> None:
        if self.mode == "hang" and mode != "hang":
            self._released.set()
        if mode == "hang":
            self._released.clear()
        self.mode, self.only = mode, only

    def __enter__(self) -> "FaultProxy":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._released.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, step: float = 0.01) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")
