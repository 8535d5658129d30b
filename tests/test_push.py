"""Push: `weights serve`'s /notify stream wakes clients; streams that die, servers without one, and hostile ones.

Real processes and real HTTP on 127.0.0.1: `weights serve` as a child process where the test is about the
command, the in-process StaticServer where a setting (a short heartbeat) is needed, and small hand-written
servers for the ones that do not notify or notify hostilely. Clients poll every hour (``interval=3600``) where
only a notification can explain a reload.
"""
from __future__ import annotations

import functools
import http.client
import re
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from publish_helpers import Serve
from runtime_helpers import Site, document, free_port, wait_for

from validator.publish.serve import StaticServer
from validator.runtime import WeightsClient
from validator.runtime.push import Notifier, PushState


class Changes:
    """on_change recorder: the versions swapped in, in order."""

    def __init__(self) -> None:
        self.versions: list[str] = []

    def __call__(self, old: Any, new: Any) -> None:
        self.versions.append(new.version)


def stream(url: str) -> tuple[http.client.HTTPResponse, http.client.HTTPConnection]:
    host, port = re.match(r"http://([^:/]+):(\d+)/", url).groups()
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("GET", "/notify")
    return conn.getresponse(), conn


def next_block(response: http.client.HTTPResponse) -> list[str]:
    """The lines of the next SSE block (an event or a comment), up to its blank line."""
    lines = []
    while (line := response.readline().decode().rstrip("\n")) or not lines:
        if line:
            lines.append(line)
    return lines


def test_the_notify_stream(tmp_path):
    """First event at once with the timestamp version, one per publish, heartbeats between, 503 when full."""
    site = Site(tmp_path / "site")
    first = site.publish(document(1))
    server = StaticServer(site.folder, port=0, heartbeat=0.2, max_subscribers=1).start()
    try:
        response, conn = stream(server.url)
        try:
            assert response.status == 200
            assert response.getheader("Content-Type").startswith("text/event-stream")
            assert next_block(response) == ["event: timestamp", f"data: {first}"]
            assert next_block(response) == [": heartbeat"]                     # nothing changed yet
            full, other = stream(server.url)
            assert full.status == 503                                          # max_subscribers=1
            full.close()
            other.close()
            second = site.publish(document(2))
            block = next_block(response)
            while block == [": heartbeat"]:
                block = next_block(response)
            assert block == ["event: timestamp", f"data: {second}"] and second == first + 1
        finally:
            response.close()
            conn.close()
        wait_for(lambda: server.watcher.subscribers == 0)                   # the place is given back
        response, conn = stream(server.url)
        assert response.status == 200
        response.close()
        conn.close()
    finally:
        server.stop()


def test_push_wakes_a_client_long_before_its_poll(tmp_path):
    site = Site(tmp_path / "site")
    site.publish(document(1))
    serve = Serve(site.folder)
    changes = Changes()
    weights = WeightsClient(serve.url, site.root, tmp_path / "cache", interval=3600, on_change=changes)
    try:
        weights.start()
        assert weights.wait_ready(60)
        wait_for(lambda: weights.status().push == "connected", timeout=60)
        for n in (2, 3):
            version = str(site.publish(document(n)))
            wait_for(lambda v=version: v in changes.versions, timeout=60)
        assert weights.status().polls >= 3 and weights.version == version
    finally:
        weights.stop()
        serve.stop()
    assert weights.status().push == "off"


def test_heartbeats_keep_a_quiet_stream_and_silence_ends_it(tmp_path):
    """With heartbeats 5x per read timeout the one stream lasts; without them it is dropped and reopened."""
    site = Site(tmp_path / "site")
    site.publish(document(1))
    for heartbeat, kept in ((0.1, True), (60.0, False)):
        server = StaticServer(site.folder, port=0, heartbeat=heartbeat).start()
        notifier = Notifier(server.url + "notify", lambda version: None, read_timeout=0.5, backoff_min=0.05,
                            backoff_max=0.1).start()
        try:
            if kept:   # 20 heartbeats = 2 s = four read timeouts
                wait_for(lambda n=notifier: n.heartbeats >= 20, timeout=60)
                assert notifier.connects == 1 and notifier.state is PushState.CONNECTED
            else:
                wait_for(lambda n=notifier: n.connects >= 3, timeout=60)
                assert notifier.heartbeats == 0 and notifier.wakes == notifier.connects
        finally:
            notifier.stop()
            server.stop()


class _Plain(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("kind", ["404", "not an event stream", "notify=False"])
def test_a_server_that_never_notifies_is_polled(tmp_path, kind):
    site = Site(tmp_path / "site")
    site.publish(document(1))
    if kind == "notify=False":
        server: Any = StaticServer(site.folder, port=0, notify=False).start()
        url, stop = server.url, server.stop
    else:
        if kind == "not an event stream":
            (site.folder / "notify").write_text("data: 1\n\n")                # 200, application/octet-stream
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Plain, directory=str(site.folder)))
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        url = f"http://127.0.0.1:{httpd.server_address[1]}/"

        def stop() -> None:
            httpd.shutdown()
            httpd.server_close()
    changes = Changes()
    weights = WeightsClient(url, site.root, tmp_path / "cache", interval=0.2, on_change=changes)
    try:
        weights.start()
        wait_for(lambda: weights.status().push == "unsupported", timeout=60)
        status = weights.status()
        assert any("does not notify" in note and "polling every 0.2 s" in note for note in status.notes)
        version = str(site.publish(document(2)))
        wait_for(lambda: version in changes.versions, timeout=60)
        assert weights._notifier.connects == 0 and weights._notifier._thread.is_alive() is False
    finally:
        weights.stop()
        stop()


def test_the_stream_comes_back_after_the_server_restarts(tmp_path):
    site = Site(tmp_path / "site")
    site.publish(document(1))
    port = free_port()
    serve = Serve(site.folder, port)
    changes = Changes()
    weights = WeightsClient(serve.url, site.root, tmp_path / "cache", interval=3600, on_change=changes)
    try:
        weights.start()
        wait_for(lambda: weights.status().push == "connected", timeout=60)
        serve.stop()
        wait_for(lambda: weights.status().push == "reconnecting", timeout=60)
        version = str(site.publish(document(2)))      # published while the server is down: no event for it
        serve = Serve(site.folder, port)
        # The reconnect's first event wakes a poll (an event may have been missed), which finds the new version.
        wait_for(lambda: version in changes.versions, timeout=60)
        assert weights._notifier.connects == 2 and weights.status().push == "connected"
    finally:
        weights.stop()
        serve.stop()


class _Flood(SimpleHTTPRequestHandler):
    """Serves the repository, and once a /notify that announces a new version every millisecond."""

    events = 1500
    floods = 0

    def do_GET(self) -> None:  # noqa: N802
        if not self.path.startswith("/notify"):
            super().do_GET()
            return
        cls = type(self)
        cls.floods += 1
        if cls.floods > 1:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for n in range(cls.events):
            self.wfile.write(f"event: timestamp\ndata: {n}\n\n".encode())
            self.wfile.flush()
            time.sleep(0.001)

    def log_message(self, *args: object) -> None:
        pass


def test_a_hostile_notifier_cannot_cause_a_refresh_storm(tmp_path):
    """1,500 distinct versions in ~2 s: the client polls at most once per push_min_gap (0.5 s), coalescing."""
    site = Site(tmp_path / "site")
    site.publish(document(1))
    handler = type("Flood", (_Flood,), {})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(site.folder)))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    weights = WeightsClient(f"http://127.0.0.1:{httpd.server_address[1]}/", site.root, tmp_path / "cache",
                            interval=3600)
    gap = weights.config.push_min_gap
    try:
        started = time.monotonic()
        weights.start()
        wait_for(lambda: weights.status().push == "unsupported", timeout=120)   # the flood is over
        notifier = weights._notifier
        assert notifier.wakes == handler.events                                # every one was a "change"
        # The last wake is answered at most one gap later; then nothing can wake the client any more.
        wait_for(lambda: not weights._wake.is_set() and weights.status().next_poll_in is not None, timeout=60)
        elapsed = time.monotonic() - started
        polls = weights.status().polls
        assert 2 <= polls <= 2 + elapsed / gap, (polls, elapsed)
        assert polls < handler.events / 20
    finally:
        weights.stop()
        httpd.shutdown()
        httpd.server_close()


def test_push_false_polls_only(tmp_path):
    site = Site(tmp_path / "site")
    site.publish(document(1))
    serve = Serve(site.folder)
    weights = WeightsClient(serve.url, site.root, tmp_path / "cache", interval=3600, push=False)
    try:
        weights.start()
        assert weights.wait_ready(60)
        assert weights.status().push == "off" and weights._notifier is None
        assert weights.status().to_dict()["push"] == "off"
    finally:
        weights.stop()
        serve.stop()


class _Chunks:
    """A response whose read1() hands out the given chunks (how a socket may split a stream)."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = list(chunks)

    def read1(self, amt: int) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""


def test_the_event_stream_grammar_across_chunk_boundaries():
    from validator.runtime.push import MAX_LINE, _events

    stream = _Chunks(b"event: timestamp\r", b"\ndata: 7\r\n\r", b"\n: heartbeat\n\nda", b"ta:8\rdata: x\r\r",
                     b"event: other\ndata: 9\n\n", b"data: 10\n")            # the last one is never completed
    assert list(_events(stream)) == [("timestamp", "7"), ("heartbeat", ""), ("", "8\nx"), ("other", "9")]
    with pytest.raises(ValueError, match="line over"):
        list(_events(_Chunks(b"data: " + b"1" * MAX_LINE, b"1" * MAX_LINE)))
