"""Conditional requests: `weights serve` tags every file and answers 304; an idle client poll is one such request.

Real HTTP on 127.0.0.1: the server is the project's StaticServer, whose request log (method, path, status)
is what the tests count, and the client is a real WeightsClient or Repository.
"""
from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import re
import threading
import time
from pathlib import Path

import pytest
from publish_helpers import served
from runtime_helpers import Site, document, wait_for

from validator.publish.repository import Expiry
from validator.publish.serve import StaticServer, not_modified
from validator.runtime import WeightsClient

REQUEST = re.compile(r'"(\w+) (\S+) HTTP/[\d.]+" (\d+)')


def get(url: str, path: str, method: str = "GET", **headers: str) -> tuple[int, dict[str, str], bytes]:
    host, port = re.match(r"http://([^:/]+):(\d+)/", url).groups()
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


class Logged:
    """A StaticServer whose requests are recorded as (method, path, status)."""

    def __init__(self, folder: Path) -> None:
        self.lines: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()
        self.server = StaticServer(folder, port=0, log=self._log, notify=False)

    def _log(self, line: str) -> None:
        match = REQUEST.search(line)
        if match:
            with self._lock:
                self.lines.append((match.group(1), match.group(2), int(match.group(3))))

    def take(self) -> list[tuple[str, str, int]]:
        """The requests logged since the last call (each is logged after its answer was sent)."""
        with self._lock:
            lines, self.lines = self.lines, []
        return lines

    def __enter__(self) -> "Logged":
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "metadata").mkdir(parents=True)
    (root / "metadata" / "timestamp.json").write_text('{"t": 1}')
    return root


def replace(path: Path, text: str) -> None:
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def test_every_file_has_a_strong_etag_and_conditionals_answer_304(folder):
    path = "/metadata/timestamp.json"
    with served(folder) as server:
        status, headers, body = get(server.url, path)
        tag, modified = headers["etag"], headers["last-modified"]
        assert status == 200 and body == b'{"t": 1}'
        assert re.fullmatch(r'"[0-9a-f]{32}"', tag), tag            # strong: no W/ prefix
        for conditional in ({"If-None-Match": tag}, {"If-None-Match": f'"x", W/{tag}'}, {"If-None-Match": "*"},
                            {"If-Modified-Since": modified}):
            status, headers, body = get(server.url, path, **conditional)
            assert (status, body) == (304, b""), conditional
            assert headers["etag"] == tag and "content-length" not in headers
        status, _, body = get(server.url, path, "HEAD", **{"If-None-Match": tag})
        assert (status, body) == (304, b"")
        # If-None-Match decides when present, even if the date alone would say "not modified".
        status, _, body = get(server.url, path, **{"If-None-Match": '"other"', "If-Modified-Since": modified})
        assert (status, body) == (200, b'{"t": 1}')
        status, _, _ = get(server.url, path, **{"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
        assert status == 200

        replace(folder / "metadata" / "timestamp.json", '{"t": 2}')
        status, headers, body = get(server.url, path, **{"If-None-Match": tag})
        assert (status, body) == (200, b'{"t": 2}') and headers["etag"] != tag


def test_the_etag_follows_the_bytes_not_the_inode_size_or_mtime(folder):
    """Same size and the same mtime but other bytes: another tag (an inode-size-mtime tag would repeat)."""
    target = folder / "metadata" / "timestamp.json"
    with served(folder) as server:
        first = get(server.url, "/metadata/timestamp.json")[1]["etag"]
        stat = target.stat()
        replace(target, '{"t": 9}')
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        second = get(server.url, "/metadata/timestamp.json")[1]["etag"]
        replace(target, '{"t": 1}')
        third = get(server.url, "/metadata/timestamp.json")[1]["etag"]
    assert first != second and first == third


def test_not_modified_unit():
    tag = '"abc"'
    assert not_modified('"abc"', None, tag, 100.0)
    assert not_modified('W/"abc"', None, tag, 100.0)
    assert not not_modified('"abcd"', None, tag, 100.0)
    assert not not_modified(None, None, tag, 100.0)
    assert not_modified(None, "Thu, 01 Jan 1970 00:01:40 GMT", tag, 100.9)      # the same second
    assert not not_modified(None, "Thu, 01 Jan 1970 00:01:39 GMT", tag, 100.0)
    assert not not_modified(None, "yesterday", tag, 100.0)


def client(site: Site, url: str, tmp_path: Path, **kw) -> WeightsClient:
    return WeightsClient(url, site.root, tmp_path / "cache", push=False, **kw)


def test_an_idle_poll_is_one_conditional_request_answered_304(tmp_path):
    site = Site(tmp_path / "site")
    site.publish(document(1))
    with Logged(site.folder) as logged:
        weights = client(site, logged.server.url, tmp_path, interval=3600)
        try:
            assert weights.refresh(raise_errors=True)                # the first poll: the full TUF walk
            full = logged.take()
            assert ("GET", "/metadata/timestamp.json", 200) in full and len(full) >= 4
            for _ in range(3):
                assert not weights.refresh(raise_errors=True)
                assert logged.take() == [("GET", "/metadata/timestamp.json", 304)]
            assert weights.status().state.value == "READY"

            version = site.publish(document(2))                      # a change: 200, then the full walk
            assert weights.refresh(raise_errors=True)
            assert weights.version == str(version)
            after = logged.take()
            assert after[0] == ("GET", "/metadata/timestamp.json", 200) and len(after) > 2
            assert not weights.refresh(raise_errors=True)
            assert logged.take() == [("GET", "/metadata/timestamp.json", 304)]
        finally:
            weights.stop()


def test_no_304_shortcut_once_the_trusted_timestamp_expired(tmp_path):
    """Freeze protection: after the trusted timestamp expires, a poll walks TUF in full and refuses."""
    site = Site(tmp_path / "site", expiry=Expiry(timestamp=dt.timedelta(seconds=3)))
    site.publish(document(1))
    expires = json.loads((site.folder / "metadata" / "timestamp.json").read_bytes())["signed"]["expires"]
    expires_at = dt.datetime.strptime(expires, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    with Logged(site.folder) as logged:
        weights = client(site, logged.server.url, tmp_path, interval=3600)
        try:
            weights.refresh(raise_errors=True)
            logged.take()
            if dt.datetime.now(dt.timezone.utc) < expires_at:        # still valid: the cheap path
                weights.refresh(raise_errors=True)
                assert logged.take() == [("GET", "/metadata/timestamp.json", 304)]
            wait_for(lambda: dt.datetime.now(dt.timezone.utc) > expires_at, timeout=30, step=0.05)
            weights.refresh()
            requests = logged.take()
            assert all(status != 304 for _, _, status in requests) and len(requests) >= 2
            status = weights.status()
            assert status.last_error_reason == "expired" and status.consecutive_failures == 1
        finally:
            weights.stop()


def test_a_full_refresh_is_forced_after_the_bound(tmp_path):
    """full_refresh_every (here ten intervals of 0.3 s) after the last full walk, the next poll walks again."""
    site = Site(tmp_path / "site")
    site.publish(document(1))
    bound = 3.0
    with Logged(site.folder) as logged:
        weights = client(site, logged.server.url, tmp_path, interval=0.3)
        assert weights.config.effective_full_refresh_every == pytest.approx(bound, abs=1e-9)
        try:
            before = time.monotonic()
            weights.refresh(raise_errors=True)
            walked_at = time.monotonic()
            logged.take()
            weights.refresh(raise_errors=True)
            if time.monotonic() < before + bound:                    # within the bound: the cheap path
                assert logged.take() == [("GET", "/metadata/timestamp.json", 304)]
            wait_for(lambda: time.monotonic() > walked_at + bound, timeout=30, step=0.05)
            weights.refresh(raise_errors=True)
            walked = logged.take()
            assert ("GET", "/metadata/timestamp.json", 200) in walked and len(walked) >= 2
            assert all(status != 304 for _, _, status in walked)
            weights.refresh(raise_errors=True)                       # and the cheap path is back
            assert logged.take() == [("GET", "/metadata/timestamp.json", 304)]
        finally:
            weights.stop()


def test_after_a_failed_walk_no_shortcut_until_a_walk_succeeds(tmp_path):
    """A bad timestamp fails the walk; the server then sending the trusted bytes again gets a full walk, not a 304."""
    site = Site(tmp_path / "site")
    site.publish(document(1))
    timestamp = site.folder / "metadata" / "timestamp.json"
    trusted = timestamp.read_bytes()
    with Logged(site.folder) as logged:
        weights = client(site, logged.server.url, tmp_path, interval=3600)
        try:
            weights.refresh(raise_errors=True)
            weights.refresh(raise_errors=True)
            assert logged.take()[-1] == ("GET", "/metadata/timestamp.json", 304)
            replace(timestamp, '{"signed": {"_type": "timestamp"}, "signatures": []}')
            weights.refresh()
            assert weights.status().consecutive_failures == 1
            logged.take()
            timestamp.write_bytes(trusted)
            weights.refresh(raise_errors=True)
            walked = logged.take()
            assert ("GET", "/metadata/timestamp.json", 200) in walked and len(walked) >= 2
            assert weights.status().consecutive_failures == 0
            weights.refresh(raise_errors=True)
            assert logged.take() == [("GET", "/metadata/timestamp.json", 304)]
        finally:
            weights.stop()
