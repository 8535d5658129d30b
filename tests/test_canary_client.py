"""The client's side of a canary: a real signed repository served over HTTP on 127.0.0.1, a candidate published
as ``production/candidate.json`` by the library's ``publish_canary``, and WeightsClients with distinct instance
ids. Who serves the candidate must follow ``cohort_point < fraction``, the same way every time; promote and
abort must bring every client to one bundle; a cold start must re-verify a cached candidate.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
from pathlib import Path

import pytest
from publish_helpers import served
from runtime_helpers import ORDER, Site, app_contracts, bundle_of, document, free_port, wait_for

from validator.publish.repository import abort, candidate_of, promote, publish_canary
from validator.runtime import State, WeightsClient
from validator.runtime.cohort import canary_of, cohort_point, default_instance_id

WAIT = 120.0   # the upper bound of every wait: only a client that never gets there fails
POLL = {"interval": 0.1, "jitter": 0.0, "timeout": 30.0, "backoff_max": 0.2, "max_age": 600.0, "push": False}
CHANNEL = "production"


@pytest.fixture
def site(tmp_path: Path) -> Site:
    site = Site(tmp_path / "site")
    site.publish(document(1))
    return site


@pytest.fixture
def server(site: Site):
    with served(site.folder) as srv:
        yield srv


def canary(site: Site, n: int, fraction: float, doc: dict | None = None) -> str:
    """Publish variant ``n`` as the candidate for ``fraction`` of the clients; returns its salt."""
    publish_canary(site.storage, site.root, site.keys.source(), bundle_of(doc or document(n)), CHANNEL, fraction,
                   site.expiry)
    found = candidate_of(site.storage, site.root, CHANNEL)
    assert found is not None
    return found.custom["canary"]["salt"]


def make(url: str, site: Site, cache: Path, instance_id: str, **kw) -> WeightsClient:
    options = {**POLL, "contract": app_contracts(), **kw}
    return WeightsClient(url, site.root, cache, instance_id=instance_id, **options)


def sha(doc: dict) -> str:
    return hashlib.sha256(bundle_of(doc).data).hexdigest()


def ids_in(salt: str, fraction: float, want: int, inside: bool) -> list[str]:
    """``want`` instance ids that are (or are not) in a canary of this salt and fraction."""
    out, i = [], 0
    while len(out) < want:
        name = f"pod-{i}"
        if (cohort_point(name, salt) < fraction) == inside:
            out.append(name)
        i += 1
    return out


# --- the cohort function ----------------------------------------------------------------------------------

def test_cohort_point_is_the_published_formula():
    digest = hashlib.sha256(b"0123456789abcdef:pod-7").digest()
    assert cohort_point("pod-7", "0123456789abcdef") == int.from_bytes(digest[:8], "big") / 2**64
    assert 0 <= cohort_point("", "") < 1
    assert cohort_point("pod-7", "0123456789abcdef") != cohort_point("pod-7", "fedcba9876543210")


def test_default_instance_id_names_host_pid_and_start():
    host, pid, started = default_instance_id().rsplit(":", 2)
    assert host == socket.gethostname() and pid == str(os.getpid()) and int(started) > 0
    assert default_instance_id() == default_instance_id()   # stable within the process


@pytest.mark.parametrize("custom", [
    {}, {"canary": None}, {"canary": {"fraction": 0, "salt": "ab"}}, {"canary": {"fraction": 1.5, "salt": "ab"}},
    {"canary": {"fraction": True, "salt": "ab"}}, {"canary": {"fraction": 0.3, "salt": ""}},
    {"canary": {"fraction": "0.3x", "salt": "ab"}}, {"canary": {"fraction": "nan", "salt": "ab"}},
    {"canary": {"fraction": 0.3, "salt": 7}},
])
def test_a_candidate_without_a_usable_canary_is_no_canary(custom):
    assert canary_of(custom) is None


def test_a_usable_canary_is_read():
    assert canary_of({"canary": {"fraction": 1, "salt": "ab"}}) == (1.0, "ab")
    assert canary_of({"canary": {"fraction": "0.25", "salt": "ab"}}) == (0.25, "ab")   # canonical JSON has no floats


# --- who serves the candidate -------------------------------------------------------------------------------

def checkout_only(n: int) -> dict:
    """Variant ``n`` with only the checkout contract's model: 400 cold clients each load it, and the project's
    megabyte table model would make that minutes without telling anything more about cohorts."""
    doc = document(n)
    doc["models"] = {"fraud_risk": doc["models"]["fraud_risk"]}
    doc["contracts"] = {"checkout": doc["contracts"]["checkout"]}
    return doc


def test_a_canary_at_0_3_splits_200_clients_the_same_way_every_time(tmp_path):
    site = Site(tmp_path / "site")
    site.publish(checkout_only(1))
    salt = canary(site, 2, 0.3, checkout_only(2))
    ids = [f"checkout-{i}" for i in range(200)]
    with served(site.folder) as server:
        first = cohort_run(server.url, site, tmp_path / "round-1", ids)
        assert 40 <= len(first) <= 80, len(first)     # 20% to 40% of 200
        assert first == {name for name in ids if cohort_point(name, salt) < 0.3}
        # Fresh clients with fresh caches (new processes, as far as cohorts go): the same instances.
        assert cohort_run(server.url, site, tmp_path / "round-2", ids) == first


def cohort_run(url: str, site: Site, caches: Path, ids: list[str]) -> set[str]:
    """The ids that serve the candidate after one poll each."""
    on_candidate = set()
    contract = app_contracts("checkout")
    for name in ids:
        c = make(url, site, caches / name, name, contract=contract)
        try:
            c.refresh(raise_errors=True)
            status = c.status()
            assert status.cohort == status.role, (name, status.to_dict())
            assert status.candidate is not None and status.candidate["fraction"] == 0.3
            if status.role == "candidate":
                on_candidate.add(name)
                assert c.snapshot.sha256 == sha(checkout_only(2))
            else:
                assert c.snapshot.sha256 == sha(checkout_only(1))
        finally:
            c.stop()
    return on_candidate


def test_status_says_cohort_point_and_versions(site, server, tmp_path):
    salt = canary(site, 2, 0.5)
    inside, outside = ids_in(salt, 0.5, 1, True)[0], ids_in(salt, 0.5, 1, False)[0]
    candidate = candidate_of(site.storage, site.root, CHANNEL)
    for name, role in ((inside, "candidate"), (outside, "live")):
        c = make(server.url, site, tmp_path / name, name)
        try:
            c.refresh(raise_errors=True)
            status = c.status()
            assert (status.instance_id, status.role, status.cohort) == (name, role, role)
            assert status.cohort_point == pytest.approx(cohort_point(name, salt), abs=0)
            assert status.candidate["version"] == candidate.version
            assert status.candidate["sha256"] == candidate.sha256 and status.candidate["refused"] is None
            served_version = candidate.version if role == "candidate" else "1"
            assert status.version == served_version
            assert c.model("fraud_risk").score(ORDER).version == served_version
            json.dumps(status.to_dict())
        finally:
            c.stop()


def test_the_candidate_is_checked_like_any_bundle(site, server, tmp_path):
    broken = document(2)
    del broken["models"]["fraud_risk"]      # the checkout contract needs it
    salt = canary(site, 2, 0.5, broken)
    name = ids_in(salt, 0.5, 1, True)[0]
    c = make(server.url, site, tmp_path / "cache", name)
    try:
        assert c.refresh() is True
        status = c.status()
        assert status.state is State.READY and status.last_error is None
        assert (status.cohort, status.role) == ("candidate", "live")
        assert "contract" in status.candidate["refused"] and "fraud_risk" in status.candidate["refused"]
        assert c.snapshot.sha256 == sha(document(1))
        assert c.refresh() is False and c.status().role == "live"   # refused once, not downloaded again
    finally:
        c.stop()


# --- promote and abort converge ------------------------------------------------------------------------------

def fleet(url: str, site: Site, tmp_path: Path, names: list[str], **kw) -> list[WeightsClient]:
    clients = [make(url, site, tmp_path / name, name, **kw).start() for name in names]
    for c in clients:
        assert c.wait_ready(WAIT)
    return clients


def test_promote_converges_without_reloading_the_canary(site, server, tmp_path):
    salt = canary(site, 2, 0.4)
    inside, outside = ids_in(salt, 0.4, 3, True), ids_in(salt, 0.4, 3, False)
    clients = fleet(server.url, site, tmp_path, inside + outside)
    try:
        wait_for(lambda: all(c.status().role == ("candidate" if c.instance_id in inside else "live")
                             for c in clients), WAIT)
        version = candidate_of(site.storage, site.root, CHANNEL).version
        canary_reloads = {c.instance_id: c.status().reloads for c in clients if c.instance_id in inside}
        promote(site.storage, site.root, site.keys.source(), CHANNEL, site.expiry)
        wait_for(lambda: all((s := c.status()).role == "live" and s.candidate is None
                             and c.snapshot.sha256 == sha(document(2)) for c in clients), WAIT)
        assert {c.version for c in clients} == {version}          # promotion keeps the candidate's version
        for c in clients:
            if c.instance_id in inside:
                assert c.status().reloads == canary_reloads[c.instance_id], "same bytes: nothing to reload"
    finally:
        for c in clients:
            c.stop()


def test_abort_converges_back_on_live(site, server, tmp_path):
    salt = canary(site, 2, 0.5)
    inside, outside = ids_in(salt, 0.5, 3, True), ids_in(salt, 0.5, 2, False)
    clients = fleet(server.url, site, tmp_path, inside + outside)
    try:
        wait_for(lambda: sum(c.status().role == "candidate" for c in clients) == len(inside), WAIT)
        abort(site.storage, site.root, site.keys.source(), CHANNEL, site.expiry)
        wait_for(lambda: all((s := c.status()).role == "live" and s.candidate is None and s.cohort == "live"
                             and c.snapshot.sha256 == sha(document(1)) for c in clients), WAIT)
        assert {c.model("fraud_risk").score(ORDER).version for c in clients} == {"1"}
    finally:
        for c in clients:
            c.stop()


def test_client_info_metric_says_role_and_version(site, server, tmp_path):
    prometheus_client = pytest.importorskip("prometheus_client")
    registry = prometheus_client.CollectorRegistry()
    salt = canary(site, 2, 0.5)
    inside, outside = ids_in(salt, 0.5, 1, True)[0], ids_in(salt, 0.5, 1, False)[0]
    version = candidate_of(site.storage, site.root, CHANNEL).version
    for name in (inside, outside):
        c = make(server.url, site, tmp_path / name, name, metrics=registry)
        try:
            c.refresh(raise_errors=True)
        finally:
            c.stop()
    def info(name: str, role: str, served: str) -> float | None:
        return registry.get_sample_value("weights_client_info", {
            "channel": CHANNEL, "instance_id": name, "role": role, "version": served,
            "commit": f"{(2 if role == 'candidate' else 1):040x}"})
    assert info(inside, "candidate", version) == 1.0
    assert info(outside, "live", "1") == 1.0


# --- cold start ---------------------------------------------------------------------------------------------

def test_cold_start_serves_the_cached_candidate_reverified(site, server, tmp_path):
    salt = canary(site, 2, 0.5)
    name = ids_in(salt, 0.5, 1, True)[0]
    cache = tmp_path / "cache"
    first = make(server.url, site, cache, name)
    try:
        first.refresh(raise_errors=True)
        assert first.status().role == "candidate"
        version = first.version
    finally:
        first.stop()
    state = json.loads((cache / "last-good" / "state.json").read_text())
    assert state["path"] == f"{CHANNEL}/candidate.json"

    down = f"http://127.0.0.1:{free_port()}/"      # the server is unreachable: only the cache can serve
    with make(down, site, cache, name) as again:
        assert again.wait_ready(WAIT)
        status = again.status()
        assert (status.role, status.version, status.bundle["source"]) == ("candidate", version, "cache")
        assert again.model("fraud_risk").score(ORDER).version == version

    # A tampered cache is not served: the candidate's bytes are checked against its signed hash too.
    bundle = cache / "last-good" / "bundle.json"
    data = bytearray(bundle.read_bytes())
    data[-2] = ord(" ") if data[-2] != ord(" ") else ord("\n")
    bundle.write_bytes(bytes(data))
    cold = make(down, site, cache, name)
    try:
        cold.refresh()
        assert cold.snapshot is None and any("does not verify" in n for n in cold.status().notes)
    finally:
        cold.stop()


def test_a_candidate_cached_before_its_promotion_starts_and_stays_without_a_reload(site, server, tmp_path):
    salt = canary(site, 2, 0.5)
    name = ids_in(salt, 0.5, 1, True)[0]
    cache = tmp_path / "cache"
    first = make(server.url, site, cache, name)
    try:
        first.refresh(raise_errors=True)
        version = first.version
    finally:
        first.stop()
    promote(site.storage, site.root, site.keys.source(), CHANNEL, site.expiry)   # while the app is down

    again = make(server.url, site, cache, name)
    try:
        again.refresh(raise_errors=True)       # the cache first (verified as the candidate), then the server
        status = again.status()
        assert (status.role, status.version, status.bundle["source"]) == ("live", version, "cache")
        assert status.reloads == 1 and status.candidate is None          # served from the cache, not reloaded
        assert json.loads((cache / "last-good" / "state.json").read_text())["sha256"] == sha(document(2))
    finally:
        again.stop()
