"""``weights agent`` end to end: a real ``weights serve`` of a signed repository on 127.0.0.1 and a real agent
process polling it, driven over HTTP like an app in another language would.

Readiness before and after the first bundle, one score and a batch, a publish picked up live, a tampered bundle
refused while the old one keeps serving (and a good publish after it picked up), every class of bad request as
a 4xx problem, the OpenAPI document valid, and a clean exit 0 on SIGTERM. Nothing waits a fixed time: every
wait polls with a deadline that only a broken agent reaches.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from agent_helpers import AGENT_LINE, CONTRACTS, WAIT, kill, read_url, start, stop, wait_for
from openapi_spec_validator import validate
from publish_helpers import PROJECT
from runtime_helpers import ORDER, Site, bundle_of, document

from validator.publish import repository as tuf_repo
from validator.publish.storage import FolderStorage


@dataclass
class Live:
    site: Site
    agent_url: str
    agent: subprocess.Popen
    http: httpx.Client

    def score(self, order: dict[str, Any] = ORDER) -> httpx.Response:
        return self.http.post("/v1/models/fraud_risk/score", json=order)

    def status(self) -> dict[str, Any]:
        return self.http.get("/v1/status").json()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    site = Site(tmp_path / "site")
    site.folder.mkdir()
    (tmp_path / "root.json").write_bytes(site.root)
    server = start(["serve", "--dir", str(site.folder), "--port", "0", "--quiet"])
    agent = None
    try:
        server_url = read_url(server, r"at (http://127\.0\.0\.1:\d+/)")
        # Flags and WEIGHTS_* variables mixed, as a container's environment and its command line would be.
        agent = start(["agent", "--url", server_url, "--root", str(tmp_path / "root.json"), "--port", "0"],
                      env={"WEIGHTS_CACHE_DIR": str(tmp_path / "cache"), "WEIGHTS_INTERVAL": "0.1",
                           "WEIGHTS_CONTRACT": os.pathsep.join(str(p) for p in CONTRACTS), "WEIGHTS_HOST": "127.0.0.1"})
        agent_url = read_url(agent, AGENT_LINE)
        with httpx.Client(base_url=agent_url, timeout=60) as http:
            yield Live(site, agent_url, agent, http)
        code, err = stop(agent)
        assert code == 0 and "Traceback" not in err, err
    finally:
        kill(agent, server)


def version_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["weights-version"] == response.json()["version"]
    return response.json()["version"]


def publish_tampered(site: Site, doc: dict[str, Any], staging: Path) -> tuple[Path, bytes]:
    """Publish ``doc`` into a copy of the site, flip one byte of its bundle (same length, so only the hash
    tells), and move the new files into the live site with timestamp.json last: what a compromised bucket
    serves, with no moment where the agent could see the untampered bundle. Returns the tampered file and its
    original bytes."""
    shutil.copytree(site.folder, staging)
    tuf_repo.publish(FolderStorage(staging), site.root, site.keys.source(), bundle_of(doc), "production",
                     site.expiry)
    new = sorted(p.relative_to(staging) for p in staging.rglob("*")
                 if p.is_file() and not p.name.startswith(".")
                 and (not (site.folder / p.relative_to(staging)).exists()
                      or p.name == "timestamp.json"))
    content = next(p for p in new if p.parts[0] == "targets")
    original = (staging / content).read_bytes()
    data = bytearray(original)
    data[data.index(b"fraud_risk") + 1] ^= 0x01
    (staging / content).write_bytes(bytes(data))
    for rel in sorted(new, key=lambda p: p.name == "timestamp.json"):
        (site.folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(staging / rel, site.folder / rel.parent / f".{rel.name}.tmp")
        os.replace(site.folder / rel.parent / f".{rel.name}.tmp", site.folder / rel)
    return site.folder / content, original


def test_agent_serves_reloads_and_refuses_tampering(live: Live, tmp_path: Path) -> None:
    # Nothing published yet: alive, not ready, and a score is a 503 problem.
    assert live.http.get("/healthz").status_code == 200
    ready = live.http.get("/readyz")
    assert ready.status_code == 503 and ready.json()["ready"] is False
    refused = live.score()
    assert refused.status_code == 503 and refused.headers["content-type"] == "application/problem+json"

    v1 = live.site.publish(document(1))
    wait_for(lambda: live.http.get("/readyz").status_code == 200, "ready after the first publish")
    assert version_of(live.score()) == str(v1)
    batch = live.http.post("/v1/models/fraud_risk/score", json={"requests": [ORDER, {**ORDER, "order_amount": 9000}]})
    assert version_of(batch) == str(v1) and len(batch.json()["results"]) == 2
    ranked = live.http.post("/v1/models/search_ranking/rank", json={"items": [
        {"item_id": "A", "bm25_score": 10.0, "in_stock": True, "stock_units": 5, "brand_tier": "house",
         "margin_pct": 10.0, "days_since_launch": 30},
        {"item_id": "B", "bm25_score": 30.0, "in_stock": True, "stock_units": 5, "brand_tier": "house",
         "margin_pct": 10.0, "days_since_launch": 30}]})
    assert [e["item"]["item_id"] for e in ranked.json()["items"]] == ["B", "A"]

    # A publish is picked up live.
    v2 = live.site.publish(document(2))
    wait_for(lambda: version_of(live.score()) == str(v2), "version 2 served")

    # A tampered bundle is refused by its hash; version 2 keeps serving and the agent stays ready.
    polls = live.status()["polls"]
    tampered, original = publish_tampered(live.site, document(3), tmp_path / "staging")
    status = wait_for(lambda: (s := live.status())["polls"] > polls and s["last_error_reason"] == "verification"
                      and s, "the tampered bundle refused")
    assert status["bundle"]["version"] == str(v2)
    assert version_of(live.score()) == str(v2) and live.http.get("/readyz").status_code == 200

    # The operator restores the file; the next good publish is served.
    tampered.write_bytes(original)
    v4 = live.site.publish(document(4))
    wait_for(lambda: version_of(live.score()) == str(v4), "the publish after the incident served")

    openapi = live.http.get("/openapi.json")
    assert openapi.status_code == 200 and openapi.headers["weights-version"] == str(v4)
    validate(openapi.json())
    metrics = live.http.get("/metrics").text
    assert 'weights_reload_failures_total{channel="production",reason="verification"}' in metrics


BAD = [
    # (id, path, body bytes, extra headers, status, problem slug)
    ("not-json", "/v1/models/fraud_risk/score", b"{not json", {}, 400, "not-json"),
    ("wrong-type", "/v1/models/fraud_risk/score", json.dumps({**ORDER, "order_amount": "80"}).encode(), {}, 422,
     "invalid-input"),
    ("missing-input", "/v1/models/fraud_risk/score",
     json.dumps({k: v for k, v in ORDER.items() if k != "order_amount"}).encode(), {}, 422, "invalid-input"),
    ("unknown-model", "/v1/models/fraud/score", json.dumps(ORDER).encode(), {}, 404, "unknown-model"),
    ("wrong-verb", "/v1/models/fraud_risk/assign", json.dumps(ORDER).encode(), {}, 404, "wrong-verb"),
    ("too-deep", "/v1/models/fraud_risk/score", b"[" * 100_000 + b"]" * 100_000, {}, 400, "too-deep"),
    ("batch-too-long", "/v1/models/fraud_risk/score", json.dumps({"requests": [{}] * 1001}).encode(), {}, 400,
     "batch-too-long"),
    ("too-large", "/v1/models/fraud_risk/score", b" " * (4 * 1024 * 1024 + 10), {}, 413, "too-large"),
    ("not-json-media", "/v1/models/fraud_risk/score", b"<order/>", {"content-type": "application/xml"}, 415,
     "unsupported-media-type"),
]


def test_bad_requests_are_problems_over_http(live: Live) -> None:
    live.site.publish(document(1))
    wait_for(lambda: live.http.get("/readyz").status_code == 200, "ready")
    for case, path, body, headers, status, slug in BAD:
        response = live.http.post(path, content=body, headers={"content-type": "application/json", **headers})
        assert response.status_code == status, (case, response.text)
        assert response.headers["content-type"] == "application/problem+json", case
        doc = response.json()
        assert doc["type"] == f"urn:weights:problem:{slug}" and doc["model"] == path.split("/")[3], case
        assert doc["version"] == "1" and response.headers["weights-version"] == "1", case
        if slug == "invalid-input":
            assert doc["input"] == "order_amount" and "order_amount" in doc["detail"], case
    assert live.score().status_code == 200  # the agent is fine after all of them


def test_a_chunked_body_over_the_limit_is_refused_before_it_ends(live: Live) -> None:
    """The agent answers 413 while the client is still sending: it never buffers past the limit."""
    live.site.publish(document(1))
    wait_for(lambda: live.http.get("/readyz").status_code == 200, "ready")
    host, port = re.match(r"http://([\d.]+):(\d+)/", live.agent_url).groups()  # type: ignore[union-attr]
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(b"POST /v1/models/fraud_risk/score HTTP/1.1\r\nHost: agent\r\n"
                     b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b" " * (1024 * 1024)
        for _ in range(5):  # 5 MiB, over the 4 MiB limit; the terminating 0-chunk is never sent
            sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            assert data, answer
            answer += data
    head = answer.split(b"\r\n\r\n", 1)[0].decode()
    assert head.startswith("HTTP/1.1 413") and "application/problem+json" in head, head


def test_agent_without_the_root_file_is_exit_2(tmp_path: Path) -> None:
    child = start(["agent", "--url", "http://127.0.0.1:9/", "--root", str(tmp_path / "nope.json"),
                   "--cache-dir", str(tmp_path / "cache")])
    code = child.wait(timeout=WAIT)
    err = child.stderr.read()  # type: ignore[union-attr]
    assert code == 2 and "nope.json" in err and "Traceback" not in err


def test_agent_on_a_taken_port_is_exit_2(tmp_path: Path) -> None:
    site = Site(tmp_path / "site")
    (tmp_path / "root.json").write_bytes(site.root)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        child = start(["agent", "--url", "http://127.0.0.1:9/", "--root", str(tmp_path / "root.json"),
                       "--cache-dir", str(tmp_path / "cache"), "--port", str(taken.getsockname()[1])])
        code = child.wait(timeout=WAIT)
    err = child.stderr.read()  # type: ignore[union-attr]
    assert code == 2 and "cannot listen" in err and "Traceback" not in err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_agent_stops_cleanly_on_a_signal(tmp_path: Path, signum: int) -> None:
    """Started with SIGINT ignored (a shell's background job): the agent installs its own handlers."""
    site = Site(tmp_path / "site")
    (tmp_path / "root.json").write_bytes(site.root)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WEIGHTS_")}
    clean["PYTHONPATH"] = str(PROJECT)
    child = subprocess.Popen(["sh", "-c", 'trap "" INT; exec "$@"', "sh", sys.executable, "-m", "validator", "agent",
                              "--url", "http://127.0.0.1:9/", "--root", str(tmp_path / "root.json"),
                              "--cache-dir", str(tmp_path / "cache"), "--port", "0"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean)
    try:
        url = read_url(child, AGENT_LINE)
        wait_for(lambda: _alive(url), "the agent answers")
        child.send_signal(signum)
        code = child.wait(timeout=WAIT)
        err = child.stderr.read()  # type: ignore[union-attr]
        assert code == 0 and "Traceback" not in err, err
    finally:
        kill(child)


def _alive(url: str) -> bool:
    try:
        return httpx.get(url + "healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False
