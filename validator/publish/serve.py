"""A small static file server for a published repository: local development, demos and tests.

Production serves the same folder or bucket from a real web server or CDN. This one exists so that
``weights publish && weights serve`` gives apps a TUF repository to poll with nothing else installed. It is
deliberately narrow, because even a local server is reachable by everything on the machine:

* binds to 127.0.0.1 unless told otherwise;
* GET and HEAD only (anything else is 405);
* files only: no directory listings, no hidden files (temp files of an interrupted write, the publish lock);
* no path escapes the folder: ``..``, encoded separators, NUL, and symlinks pointing outside are 404;
* ``timestamp.json`` is ``no-cache`` and every other file ``immutable`` (consistent snapshots make every
  other file's name unique to its content), which is the caching policy a CDN in front should use too.
"""
from __future__ import annotations

import os
import posixpath
import signal
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Callable
from urllib.parse import unquote, urlsplit

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8001
MUTABLE = frozenset({"timestamp.json"})
_CHUNK = 64 * 1024


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


def _handler(root: Path, log: Callable[[str], None] | None) -> type[BaseHTTPRequestHandler]:
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
                size = os.fstat(handle.fileno()).st_size
                self.send_response(HTTPStatus.OK)
                kind = "application/json" if target.suffix == ".json" else "application/octet-stream"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(size))
                self.send_header("X-Content-Type-Options", "nosniff")
                if target.name in MUTABLE:
                    self.send_header("Cache-Control", "no-cache")
                else:
                    self.send_header("Cache-Control", "public, max-age=31536000, immutable")
                self.end_headers()
                if head:
                    return
                while chunk := handle.read(_CHUNK):
                    self.wfile.write(chunk)

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
            self._send_file(head=False)

        def do_HEAD(self) -> None:  # noqa: N802
            self._send_file(head=True)

        def _not_allowed(self) -> None:
            self.close_connection = True
            self._error(HTTPStatus.METHOD_NOT_ALLOWED, allow=True)

        do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _not_allowed  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
            if log is not None:
                log(f"{self.address_string()} {format % args}")

    return Handler


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class StaticServer:
    """The server object: ``start()`` runs it in a thread (tests), ``serve_forever()`` blocks (the CLI)."""

    def __init__(self, folder: Path | str, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 log: Callable[[str], None] | None = None) -> None:
        self.folder = Path(folder).resolve()
        if not self.folder.is_dir():
            raise ServeError(f"{folder} is not a folder: publish first (weights publish) or pass --dir")
        server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
        try:
            self.httpd = server_class((host, port), _handler(self.folder, log))
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
        try:
            self.httpd.serve_forever()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "StaticServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
