"""The change notification of ``weights serve``: a Server-Sent Events stream on ``metadata/timestamp.json``.

Every publish, promote, rollback or re-sign ends by replacing ``timestamp.json`` (it is the one mutable file of
a consistent-snapshot TUF repository), so "the timestamp changed" is exactly "there may be something new".
Each listener gets, on one long-lived response::

    event: timestamp
    data: 12                  <- at once: the version of timestamp.json now ("none" before the first publish)

    : heartbeat               <- every ``heartbeat`` seconds while nothing changes

    event: timestamp
    data: 13                  <- once per change of the file

Why a watcher thread that ``stat()``s the file every 50 ms instead of inotify: it runs the same on every OS
and file system (inotify is Linux-only and misses changes on network mounts), and publish replaces the file
atomically (``os.replace``), so a change is always a new inode, size or mtime; a stat is a microsecond, so
twenty a second cost nothing. One thread watches for all listeners and wakes them through one ``Condition``.

The stream carries no trust: a client that hears an event runs its ordinary TUF refresh, which verifies
everything. A forged or replayed event can therefore only make a client poll early (and the client bounds
how often), never make it accept anything.
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Protocol

DEFAULT_HEARTBEAT = 15.0
# One thread of the server per listener (an idle thread is a parked stack, mostly untouched virtual memory):
# a few thousand app processes per `weights serve` is far beyond its purpose (local use, demos, tests, a small
# fleet); beyond the bound a client is told 503 and keeps polling.
DEFAULT_MAX_SUBSCRIBERS = 4096
WATCH_PERIOD = 0.05

_Key = tuple[int, int, int]


class _Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...

    def flush(self) -> object: ...


class TimestampWatcher:
    """Watches one file and streams its version to every listener; thread-safe."""

    def __init__(self, path: Path, heartbeat: float = DEFAULT_HEARTBEAT,
                 max_subscribers: int = DEFAULT_MAX_SUBSCRIBERS, period: float = WATCH_PERIOD) -> None:
        if not heartbeat > 0:
            raise ValueError(f"heartbeat must be a positive number of seconds, not {heartbeat!r}")
        if max_subscribers < 1:
            raise ValueError(f"max_subscribers must be at least 1, not {max_subscribers!r}")
        self.path = path
        self.heartbeat = float(heartbeat)
        self.max_subscribers = max_subscribers
        self.period = period
        self._cond = threading.Condition()
        self._generation = 0
        self._version = "none"
        self._key: _Key | None = None
        self._subscribers = 0
        self._closed = False
        self._thread: threading.Thread | None = None

    # --- the watcher ----------------------------------------------------------------------------------

    def start(self) -> None:
        with self._cond:
            if self._thread is not None or self._closed:
                return
            self._look()   # the first event is right from the first listener on
            self._thread = threading.Thread(target=self._watch, name="weights-serve-watch", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """End the watcher and every open stream (their handlers return and close the connections)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _watch(self) -> None:
        with self._cond:
            while not self._closed:
                self._cond.wait(self.period)   # releases the lock while it waits
                if not self._closed:
                    self._look()

    def _look(self) -> None:
        """Caller holds the lock: compare the file's stat key with the last one; on a change, wake everyone."""
        try:
            st = os.stat(self.path)
            key: _Key | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            key = None
        if key == self._key:
            return
        self._key = key
        self._version = _version_of(self.path) if key is not None else "none"
        self._generation += 1
        self._cond.notify_all()

    @property
    def version(self) -> str:
        with self._cond:
            return self._version

    @property
    def subscribers(self) -> int:
        with self._cond:
            return self._subscribers

    # --- the listeners --------------------------------------------------------------------------------

    def enter(self) -> bool:
        """Take a listener's place; False when ``max_subscribers`` streams are open already."""
        with self._cond:
            if self._closed or self._subscribers >= self.max_subscribers:
                return False
            self._subscribers += 1
            return True

    def leave(self) -> None:
        with self._cond:
            self._subscribers -= 1

    def stream(self, out: _Writable) -> None:
        """Write events to ``out`` until the client goes away or the watcher closes."""
        with self._cond:
            seen, version = self._generation, self._version
        try:
            out.write(_event(version))
            out.flush()
            while True:
                beat_at = time.monotonic() + self.heartbeat
                with self._cond:
                    while not self._closed and self._generation == seen:
                        left = beat_at - time.monotonic()
                        if left <= 0:
                            break
                        self._cond.wait(left)
                    if self._closed:
                        return
                    changed = self._generation != seen
                    seen, version = self._generation, self._version
                out.write(_event(version) if changed else b": heartbeat\n\n")
                out.flush()
        except OSError:
            return   # the client closed the connection (reset, broken pipe)


def _event(version: str) -> bytes:
    return f"event: timestamp\ndata: {version}\n\n".encode()


def _version_of(path: Path) -> str:
    """The ``signed.version`` of a timestamp file, unverified: it only names the event, trusts nothing."""
    try:
        version = json.loads(path.read_bytes())["signed"]["version"]
    except (OSError, ValueError, KeyError, TypeError):
        return "unreadable"
    return str(version) if isinstance(version, int) and not isinstance(version, bool) else "unreadable"
