"""The client side of push: hold ``GET /notify`` open and wake the poll loop when the repository may have changed.

A ``Notifier`` runs one daemon thread that keeps a Server-Sent Events stream (``weights serve``'s
``/notify``, see ``validator.publish.notify``) open and calls ``wake()``:

* on the first event of every connection, the first one included: an event may have been missed while the
  stream was down (or before it first came up), and one extra refresh is the price of certainty;
* on every later event whose version differs from the last one heard (repeats are dropped here; a burst of
  changes is coalesced by the client, which polls once for any number of wakes that arrive meanwhile and keeps
  a minimum gap between push-triggered polls).

Nothing in an event is trusted: ``wake()`` only makes the client run its ordinary TUF refresh now instead of
at its next interval, and that refresh verifies everything. A hostile notifier can make a client poll at most
once per ``min_gap`` (enforced by the client), never accept anything.

Failures: a dropped or silent stream (no byte for ``read_timeout``, which should span a few of the server's
heartbeats) is reconnected after an exponential backoff with full jitter, so a fleet whose server restarts
does not come back in lockstep. An answer of 404, 405 or 501, or any successful answer that is not
``text/event-stream``, means this server never notifies (a static host, a CDN): the notifier stops for good
and the client keeps polling at its interval; ``state`` says so and ``status()`` shows it.
"""
from __future__ import annotations

import logging
import random
import threading
from enum import Enum
from typing import Any, Callable

import urllib3

log = logging.getLogger("validator.runtime")

NEVER_NOTIFIES = frozenset({404, 405, 501})
EVENT_STREAM = "text/event-stream"
# An SSE line longer than this is not ours (our events are ~30 bytes): a hostile stream cannot grow our memory.
MAX_LINE = 4096


class PushState(str, Enum):
    """Where the notification stream stands, in ``status().push``."""

    OFF = "off"                    # push=False, or the client is stopped
    CONNECTING = "connecting"      # the first connection is under way
    CONNECTED = "connected"        # a stream is open: changes arrive within moments
    RECONNECTING = "reconnecting"  # the stream dropped or failed; waiting out a backoff, polling meanwhile
    UNSUPPORTED = "unsupported"    # the server does not notify (404/405/501 or not an event stream): polling only


class Notifier:
    """One SSE connection to ``url``, kept open by a daemon thread, calling ``wake(version)`` (see module doc).

    read_timeout: seconds without a byte (event or heartbeat) after which the stream counts as dead.
    backoff_min / backoff_max: the first and the longest wait before reconnecting; the wait doubles per failure
        in a row and is drawn uniformly from [0, that] ("full jitter").
    """

    def __init__(self, url: str, wake: Callable[[str], Any], *, connect_timeout: float = 10.0,
                 read_timeout: float = 45.0, backoff_min: float = 1.0, backoff_max: float = 60.0,
                 user_agent: str = "weights-runtime") -> None:
        self.url = url
        self.wake = wake
        self.read_timeout = read_timeout
        self.backoff_min = backoff_min
        self.backoff_max = max(backoff_max, backoff_min)
        self._pool = urllib3.PoolManager(
            headers={"User-Agent": user_agent, "Accept": EVENT_STREAM, "Cache-Control": "no-cache"},
            retries=False, timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout))
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._response: Any = None
        self._thread: threading.Thread | None = None
        self.state = PushState.CONNECTING
        self.detail: str | None = None      # why the stream is down or unsupported, for status()
        self.last_version: str | None = None
        self.connects = 0                   # connections that delivered their first event
        self.events = 0                     # events parsed (repeats included)
        self.heartbeats = 0                 # comment lines received
        self.wakes = 0

    def start(self) -> "Notifier":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="weights-push", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float | None = 5.0) -> None:
        """End the thread: a blocked read is cut by shutting the connection down."""
        self._stopping.set()
        with self._lock:
            response = self._response
        if response is not None:
            try:
                response.shutdown()
            except Exception:  # noqa: BLE001 - already closed or never connected
                pass
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._pool.clear()
        if self.state is not PushState.UNSUPPORTED:
            self.state = PushState.OFF

    # --- the thread -----------------------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                delivered = self._session()
            except _NeverNotifies as exc:
                self.state, self.detail = PushState.UNSUPPORTED, str(exc)
                log.info("weights client: %s; polling only", exc)
                return
            except Exception as exc:  # noqa: BLE001 - any failure of the stream means: back off, reconnect
                delivered = False
                self.detail = _describe(exc)
            if self._stopping.is_set():
                return
            failures = 1 if delivered else failures + 1
            self.state = PushState.RECONNECTING
            cap = min(self.backoff_max, self.backoff_min * 2 ** min(failures - 1, 30))
            if self._stopping.wait(random.uniform(0, cap) if failures > 1 else random.uniform(0.5, 1.0) * cap):
                return

    def _session(self) -> bool:
        """One connection: read events until it ends; True when it delivered at least one event."""
        response = self._pool.request("GET", self.url, preload_content=False, redirect=False)
        with self._lock:
            self._response = response
        try:
            if response.status in NEVER_NOTIFIES:
                raise _NeverNotifies(f"{self.url} answered HTTP {response.status}: the server does not notify")
            kind = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if 200 <= response.status < 300 and kind != EVENT_STREAM:
                raise _NeverNotifies(f"{self.url} answered {kind or 'no content type'}, not {EVENT_STREAM}: "
                                     "the server does not notify")
            if response.status != 200:
                raise ConnectionError(f"{self.url} answered HTTP {response.status}")
            first = True
            for event, data in _events(response):
                if event == "heartbeat":
                    self.heartbeats += 1
                    continue
                if event not in ("", "message", "timestamp"):
                    continue
                self.events += 1
                if first:
                    self.connects += 1
                    self.state, self.detail = PushState.CONNECTED, None
                if first or data != self.last_version:
                    self.last_version = data
                    self.wakes += 1
                    self.wake(data)
                first = False
            self.detail = "the server closed the stream"
            return not first
        finally:
            with self._lock:
                self._response = None
            response.close()   # a stream is never reused for another request
            response.release_conn()


class _NeverNotifies(Exception):
    """The server answered in a way that means it has no notification stream."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        return "the stream was silent for longer than the read timeout"
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) < 300 else text[:297] + "..."


def _lines(response: Any) -> Any:
    """The stream's lines (CRLF, LF or CR ends, as SSE allows), each at most ``MAX_LINE`` bytes."""
    buffer = b""
    while True:
        chunk = response.read1(MAX_LINE)
        if not chunk:
            return
        buffer += chunk
        held = buffer.endswith(b"\r")   # maybe the first half of a CRLF split across two reads
        if held:
            buffer = buffer[:-1]
        *lines, buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        if held:
            buffer += b"\r"
        for line in lines:
            if len(line) > MAX_LINE:
                raise ValueError(f"an event-stream line over {MAX_LINE} bytes")
            yield line.decode("utf-8", "replace")
        if len(buffer) > MAX_LINE:
            raise ValueError(f"an event-stream line over {MAX_LINE} bytes")


def _events(response: Any) -> Any:
    """(event name, data) per dispatched event, and ("heartbeat", "") per comment line (the SSE grammar)."""
    name = ""
    data: list[str] = []
    for line in _lines(response):
        if not line:
            if data:
                yield name, "\n".join(data)
            name, data = "", []
        elif line.startswith(":"):
            yield "heartbeat", ""
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
                if len(data) > 64:
                    raise ValueError("an event with more than 64 data lines")
