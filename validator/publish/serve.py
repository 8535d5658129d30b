"""A small static file server for a published repository: local development, demos and tests.

Production serves the same folder or bucket from a real web server or CDN. This one exists so that
``weights publish && weights serve`` gives apps a TUF repository to poll with nothing else installed. It is
deliberately narrow, because even a local server is reachable by everything on the machine:

* binds to 127.0.0.1 unless told otherwise;
* GET and HEAD only (anything else is 405);
* files only: no directory listings, no hidden files (temp files of an interrupted write, the publish lock);
* no path escapes the folder: ``..``, encoded separators, NUL, and symlinks pointing outside are 404;
* ``timestamp.json`` is ``no-cache`` and every other file ``immutable`` (consistent snapshots make every
  other file's name unique to its content), which is the caching policy a CDN in front should use too;
* every file carries a strong ``ETag`` (a hash of its bytes) and ``Last-Modified``, and ``If-None-Match`` /
  ``If-Modified-Since`` are answered ``304`` with no body, so a client's idle poll of ``timestamp.json`` is one
  tiny exchange;
* ``GET /notify`` is a Server-Sent Events stream that names the timestamp version at once and again whenever
  ``metadata/timestamp.json`` changes (:mod:`validator.publish.notify`), with comment heartbeats and a bound
  on the number of listeners (503 beyond it). The events carry no trust: they only tell a client to run
  its ordinary, fully verified refresh now rather than at its next poll.
"""
from __future__ import annotations

import hashlib
import os
import posixpath
import signal
import socket
import threading
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import BinaryIO, Callable
from urllib.parse import unquote, urlsplit

from validator.publish.notify import DEFAULT_HEARTBEAT, DEFAULT_MAX_SUBSCRIBERS, TimestampWatcher

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8001
MUTABLE = frozenset({"timestamp.json"})
NOTIFY_PATH = "/notify"
_CHUNK = 64 * 1024
# Pending connections the kernel queues before accept(): socketserver's default of 5 refuses (and so delays
# by a SYN retry, a second or more) all but five of a fleet that reconnects its notification streams at once.
_LISTEN_BACKLOG = 1024


# The signals that stop a blocking serve: Ctrl-C, and what process managers, CI runners and `kill` send.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class ServeError(Exception):
    """The server cannot start (folder missing, port taken): exit 2."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def resolve_request_path(root: Path, raw_path: str) -> Path | None:
    """The file under ``root`` that a request path names, or None when it names nothing servable."""
    path = urlsplit(raw_path).path
    if "\\" in path or "\x00" in path:
        return None
    decoded = unquote(path, errors="strict") if "%" in path else path
    if "\x00" in decoded or "\\" in decoded:
        return None
    parts = [p for p in decoded.split("/") if p]
    if not parts or any(p in (".", "..") or p.startswith(".") for p in parts):
        return None
    if posixpath.normpath("/" + "/".join(parts)) != "/" + "/".join(parts):
        return None
    candidate = root.joinpath(*parts)
    try:
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    try:
        real.relative_to(root)
    except ValueError:
        return None  # a symlink pointing out of the folder
    return real if real.is_file() else None


class _ETags:
    """Strong entity tags from the bytes of a file, remembered per (device, inode, size, mtime, ctime).

    Why a content hash and not the usual inode-size-mtime tag: publish replaces ``timestamp.json`` atomically
    many times a day, and a freed inode can be reused; on a file system with coarse timestamps a new file with
    the same size could then get the old tag, and a client would be told "304 unchanged" about a change. A
    hash of the bytes is exact. The stat key only spares hashing the same file again; it is bounded.
    """

    _MAX = 4096

    def __init__(self) -> None:
        self._known: dict[tuple[int, ...], str] = {}
        self._lock = threading.Lock()

    def of(self, handle: BinaryIO, st: os.stat_result) -> str:
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        with self._lock:
            known = self._known.get(key)
        if known is not None:
            return known
        digest = hashlib.sha256()
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
        handle.seek(0)
        tag = f'"{digest.hexdigest()[:32]}"'
        with self._lock:
            if len(self._known) >= self._MAX:
                self._known.clear()
            self._known[key] = tag
        return tag


def _etag_matches(header: str, tag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 13.1.2): ``W/`` prefixes are ignored, ``*`` matches."""
    if header.strip() == "*":
        return True
    bare = tag.removeprefix("W/")
    return any(item.strip().removeprefix("W/") == bare for item in header.split(","))


def not_modified(if_none_match: str | None, if_modified_since: str | None, tag: str, mtime: float) -> bool:
    """Whether a conditional GET/HEAD is answered 304 (RFC 9110 13.2.2: If-None-Match wins when present)."""
    if if_none_match is not None:
        return _etag_matches(if_none_match, tag)
    if if_modified_since is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            return False
        return int(mtime) <= since.timestamp()
    return False


def _handler(root: Path, log: Callable[[str], None] | None,
             watcher: TimestampWatcher | None) -> type[BaseHTTPRequestHandler]:
    etags = _ETags()

    class Handler(BaseHTTPRequestHandler):
        server_version = "weights-serve"
        sys_version = ""
        protocol_version = "HTTP/1.1"
        # Headers and body go out as two writes; without this, Nagle + delayed ACK add ~40 ms per request.
        disable_nagle_algorithm = True

        def _send_file(self, head: bool) -> None:
            try:
                target = resolve_request_path(root, self.path)
            except UnicodeDecodeError:
                target = None
            if target is None:
                self._error(HTTPStatus.NOT_FOUND)
                return
            try:
                handle = open(target, "rb")
            except OSError:
                self._error(HTTPStatus.NOT_FOUND)
                return
            with handle:
                # Tag, length and body all come from this one open file, so a publish replacing it meanwhile
                # cannot pair the old tag with the new bytes.
                st = os.fstat(handle.fileno())
                tag = etags.of(handle, st)
                unchanged = not_modified(self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since"),
                                         tag, st.st_mtime)
                self.send_response(HTTPStatus.NOT_MODIFIED if unchanged else HTTPStatus.OK)
                if not unchanged:
                    kind = "application/json" if target.suffix == ".json" else "application/octet-stream"
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(st.st_size))
                    self.send_header("X-Content-Type-Options", "nosniff")
                self.send_header("ETag", tag)
                self.send_header("Last-Modified", formatdate(st.st_mtime, usegmt=True))
                if target.name in MUTABLE:
                    self.send_header("Cache-Control", "no-cache")
                else:
                    self.send_header("Cache-Control", "public, max-age=31536000, immutable")
                self.end_headers()
                if head or unchanged:
                    return
                while chunk := handle.read(_CHUNK):
                    self.wfile.write(chunk)

        def _notify(self, head: bool) -> None:
            if watcher is None:
                self._error(HTTPStatus.NOT_FOUND)
                return
            if not watcher.enter():
                self.close_connection = True
                self._error(HTTPStatus.SERVICE_UNAVAILABLE)
                return
            try:
                # No Content-Length: the stream ends when either side closes the connection.
                self.close_connection = True
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                self.send_header("Cache-Control", "no-cache, no-store")
                self.send_header("X-Accel-Buffering", "no")   # nginx in front: do not buffer the stream
                self.send_header("X-Content-Type-Options", "nosniff")
                self.send_header("Connection", "close")
                self.end_headers()
                if not head:
                    watcher.stream(self.wfile)
            finally:
                watcher.leave()

        def _error(self, status: HTTPStatus, allow: bool = False) -> None:
            body = f"{status.value} {status.phrase}\n".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            if allow:
                self.send_header("Allow", "GET, HEAD")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if urlsplit(self.path).path == NOTIFY_PATH:
                self._notify(head=False)
            else:
                self._send_file(head=False)

        def do_HEAD(self) -> None:  # noqa: N802
            if urlsplit(self.path).path == NOTIFY_PATH:
                self._notify(head=True)
            else:
                self._send_file(head=True)

        def _not_allowed(self) -> None:
            self.close_connection = True
            self._error(HTTPStatus.METHOD_NOT_ALLOWED, allow=True)

        do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _not_allowed  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
            if log is not None:
                log(f"{self.address_string()} {format % args}")

    return Handler


class _Server(ThreadingHTTPServer):
    request_queue_size = _LISTEN_BACKLOG


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


class StaticServer:
    """The server object: ``start()`` runs it in a thread (tests), ``serve_forever()`` blocks (the CLI).

    notify: offer ``GET /notify`` (False: answer it 404, as a plain static host would).
    heartbeat: seconds between the stream's comment lines, which let a client tell a quiet stream from a
        dead one (it gives up after a few missed heartbeats) and keep idle-closing proxies from cutting it.
    max_subscribers: streams held open at once; each holds a thread of this server, so beyond this bound
        ``/notify`` answers 503 and the client falls back to its polls until a retry finds room.
    """

    def __init__(self, folder: Path | str, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 log: Callable[[str], None] | None = None, *, notify: bool = True,
                 heartbeat: float = DEFAULT_HEARTBEAT, max_subscribers: int = DEFAULT_MAX_SUBSCRIBERS) -> None:
        self.folder = Path(folder).resolve()
        if not self.folder.is_dir():
            raise ServeError(f"{folder} is not a folder: publish first (weights publish) or pass --dir")
        self.watcher = (TimestampWatcher(self.folder / "metadata" / "timestamp.json", heartbeat=heartbeat,
                                         max_subscribers=max_subscribers) if notify else None)
        server_class = _IPv6Server if ":" in host else _Server
        try:
            self.httpd = server_class((host, port), _handler(self.folder, log, self.watcher))
        except OSError as exc:
            raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        address = self.httpd.server_address[0]
        host = address.decode() if isinstance(address, bytes) else str(address)
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/"

    def start(self) -> "StaticServer":
        if self.watcher is not None:
            self.watcher.start()
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="weights-serve", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve until SIGINT or SIGTERM, which raise KeyboardInterrupt here (the CLI exits 0 on it).

        Why the handlers are installed here rather than left to Python's default: Python turns SIGINT into
        KeyboardInterrupt only when the process did not inherit SIGINT ignored, and a shell starts every
        background job of a script (``weights serve &``, a CI step, a test runner launched that way) with SIGINT
        ignored; such a server would ignore the Ctrl-C or ``kill -INT`` meant to stop it, and SIGTERM would kill
        it without closing its socket. The previous handlers come back when serving ends.
        """
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                previous[signum] = signal.signal(signum, _stop)
        if self.watcher is not None:
            self.watcher.start()
        try:
            self.httpd.serve_forever()
        finally:
            if self.watcher is not None:
                self.watcher.close()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.close()   # ends every open stream, so clients see the close and reconnect
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "StaticServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
