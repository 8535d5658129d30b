"""`weights serve`: files only, GET/HEAD only, nothing outside the folder, loopback by default."""
from __future__ import annotations

import http.client
import os
import re
import selectors
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from publish_helpers import PROJECT, served

from validator.publish.serve import ServeError, StaticServer, resolve_request_path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "metadata").mkdir(parents=True)
    (root / "metadata" / "timestamp.json").write_text('{"t": 1}')
    (root / "metadata" / "1.root.json").write_text('{"r": 1}')
    (root / "targets" / "production").mkdir(parents=True)
    (root / "targets" / "production" / "abc.bundle.json").write_text('{"b": 1}')
    (root / ".weights-publish.lock").write_text("")
    (root / "metadata" / ".timestamp.json.123.tmp").write_text("half")
    (tmp_path / "secret.txt").write_text("outside")
    os.symlink(tmp_path / "secret.txt", root / "metadata" / "link.json")
    return root


def request(url: str, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    host, port = re.match(r"http://([^:/]+):(\d+)/", url).groups()
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_get_and_head_of_a_file(folder):
    with served(folder) as server:
        assert server.url.startswith("http://127.0.0.1:")
        status, headers, body = request(server.url, "GET", "/metadata/1.root.json")
        assert (status, body) == (200, b'{"r": 1}')
        assert headers["content-type"] == "application/json" and headers["content-length"] == "8"
        assert "immutable" in headers["cache-control"]
        status, headers, body = request(server.url, "HEAD", "/metadata/timestamp.json")
        assert (status, body) == (200, b"") and headers["content-length"] == "8"
        assert headers["cache-control"] == "no-cache"
        status, _, body = request(server.url, "GET", "/targets/production/abc.bundle.json?x=1")
        assert (status, body) == (200, b'{"b": 1}')


@pytest.mark.parametrize("path", [
    "/", "/metadata", "/metadata/", "/targets/production/",                       # no listings
    "/../secret.txt", "/metadata/../../secret.txt", "/%2e%2e/secret.txt",         # no escapes
    "/metadata/%2e%2e%2f%2e%2e%2fsecret.txt", "/metadata/..%2f..%2fsecret.txt",
    "//secret.txt", "/metadata/timestamp.json%00", "/metadata\\..\\..\\secret.txt",
    "/metadata/link.json",                                                         # symlink out of the folder
    "/.weights-publish.lock", "/metadata/.timestamp.json.123.tmp",                # hidden files
    "/metadata/nope.json", "/%ff%fe",
])
def test_nothing_but_files_inside_the_folder(folder, path):
    with served(folder) as server:
        status, _, body = request(server.url, "GET", path)
    assert status == 404, path
    assert b"outside" not in body and b"timestamp" not in body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
def test_only_get_and_head(folder, method):
    with served(folder) as server:
        status, headers, _ = request(server.url, method, "/metadata/timestamp.json")
    assert status == 405 and headers["allow"] == "GET, HEAD"
    assert (folder / "metadata" / "timestamp.json").read_text() == '{"t": 1}'


def test_resolve_request_path_unit(folder):
    root = folder.resolve()
    assert resolve_request_path(root, "/metadata/1.root.json") == root / "metadata" / "1.root.json"
    assert resolve_request_path(root, "/metadata/./1.root.json") is None
    assert resolve_request_path(root, "/metadata") is None


def test_missing_folder_and_busy_port_are_clear_errors(folder, tmp_path):
    with pytest.raises(ServeError, match="not a folder"):
        StaticServer(tmp_path / "missing", port=0)
    with served(folder) as server:
        with pytest.raises(ServeError, match="cannot listen"):
            StaticServer(folder, port=server.port)


# Upper bounds for waits on a child process: far above what any runner needs, so only a real hang fails.
CHILD_WAIT = 120


def read_line(child: subprocess.Popen, timeout: float = CHILD_WAIT) -> str:
    """The child's next line of stdout; fails (not hangs) if it neither prints one nor exits in ``timeout``."""
    with selectors.DefaultSelector() as selector:
        selector.register(child.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f"no line from the child in {timeout} s")
    return child.stdout.readline()


@pytest.mark.parametrize("inherited", ["default", "ignored"])
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_weights_serve_command(folder, inherited, stop):
    """The real command in a child process: prints its URL, serves, stops on SIGINT or SIGTERM with exit 0.

    ``ignored``: the child inherits SIGINT ignored, as every background job of a shell script does (a CI
    runner, a test run started with ``&``); Python's own Ctrl-C handler is then never installed, so the
    server has to install its stop handlers itself. The signal is sent only once the server has answered a
    request, which proves its serve loop (and so its handlers) is running.
    """
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    command = [sys.executable, "-m", "validator", "serve", "--dir", str(folder), "--port", "0", "--quiet"]
    if inherited == "ignored":
        command = ["sh", "-c", 'trap "" INT; exec "$@"', "sh", *command]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        line = read_line(child)
        match = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
        assert match, line + (child.stderr.read() if child.poll() is not None else "")
        status, _, body = request(match.group(1), "GET", "/metadata/timestamp.json")
        assert (status, body) == (200, b'{"t": 1}')
        child.send_signal(stop)
        assert child.wait(timeout=CHILD_WAIT) == 0, child.stderr.read()
        assert "Traceback" not in child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_weights_serve_without_a_folder_is_exit_2(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    ran = subprocess.run([sys.executable, "-m", "validator", "serve", "--dir", str(tmp_path / "nope"), "--port", "0"],
                         capture_output=True, text=True, env=env, timeout=CHILD_WAIT)
    assert ran.returncode == 2 and "not a folder" in ran.stderr and "Traceback" not in ran.stderr
