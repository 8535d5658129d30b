"""WeightsClient end to end: a real signed repository served over HTTP on 127.0.0.1, a fault-injecting proxy in
front of it, and the client polling every 50 ms. Every refusal must leave the old bundle serving and say why.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from ci_env import tool_missing
from publish_helpers import served
from runtime_helpers import ORDER, FaultProxy, Site, app_contracts, document, free_port
from runtime_helpers import wait_for as wait_for_within
from tuf.api.metadata import Metadata
from tuf.api.serialization.json import JSONSerializer

from validator.publish.keys import generate
from validator.publish.repository import Expiry, utc_now
from validator.runtime import NotReady, State, UnknownModel, WeightsClient

# Polls every 50 ms so the tests see many polls quickly. Everything that is not what a test is about is
# generous, so a loaded runner slows a test down but never changes its verdict: an HTTP timeout no local
# answer needs (the test of a hanging server sets its own), and a max_age no test waits out (the test of
# staleness sets its own).
FAST = {"interval": 0.05, "timeout": 30.0, "deadline": 60.0, "backoff_max": 0.2, "max_age": 600.0}
# The upper bound of every wait for the client to reach a state: only a client that never gets there fails.
WAIT = 120.0


def wait_for(predicate, timeout: float = WAIT):
    return wait_for_within(predicate, timeout=timeout)


@pytest.fixture
def site(tmp_path: Path) -> Site:
    site = Site(tmp_path / "site")
    site.publish(document(1))
    return site


@pytest.fixture
def server(site: Site):
    with served(site.folder) as srv:
        yield srv


@pytest.fixture
def proxy(server):
    with FaultProxy(server.url) as p:
        yield p


def client(url: str, site: Site, cache: Path, **kw) -> WeightsClient:
    options = {**FAST, "contract": app_contracts(), **kw}
    return WeightsClient(url, site.root, cache, **options)


def score_version(c: WeightsClient) -> str:
    return c.model("fraud_risk").score(ORDER).version


def failed_with(c: WeightsClient, reason: str, after: int = 0):
    """Wait until a poll after the ``after``-th has failed for ``reason``; return the status."""
    return wait_for(lambda: (s := c.status()).last_error_reason == reason and s.polls > after and s)


# --- the happy path --------------------------------------------------------------------------------------

def test_a_publish_is_picked_up_live(site, server, tmp_path):
    changes = []
    with client(server.url, site, tmp_path / "cache", on_change=lambda old, new: changes.append((old, new))) as c:
        assert c.wait_ready(WAIT)
        assert c.version == "1" and score_version(c) == "1"
        status = c.status()
        assert status.state is State.READY and status.bundle["commit"] == f"{1:040x}"
        v2 = site.publish(document(2))
        wait_for(lambda: c.version == str(v2))
        result = c.model("fraud_risk").score(ORDER)
        assert result.version == str(v2)
        snap = c.snapshot
        assert {m.version for m in snap.models.values()} == {str(v2)}  # every evaluator stamped alike
        assert [(o and o.version, n.version) for o, n in changes] == [(None, "1"), ("1", "2")]
        json.dumps(c.status().to_dict())  # a status page can serve it as is
    with pytest.raises(UnknownModel):
        c.model("no_such_model")


def test_nothing_new_downloads_nothing(site, proxy, tmp_path):
    with client(proxy.url, site, tmp_path / "cache") as c:
        assert c.wait_ready(WAIT)
        wait_for(lambda: c.status().polls >= 6)
        bundles = [p for p in proxy.requests if p.startswith("/targets/")]
        assert len(bundles) == 1, bundles  # the bundle once; later polls only check timestamp.json


def test_model_before_ready_says_so(site, tmp_path):
    c = client(f"http://127.0.0.1:{free_port()}/", site, tmp_path / "cache")
    with pytest.raises(NotReady, match="no weights bundle loaded"):
        c.model("fraud_risk")
    assert c.status().state is State.STARTING
    assert c.refresh() is False
    status = c.status()
    assert status.state is State.ERROR and status.last_error_reason == "network"


# --- refused bundles: the old one keeps serving -------------------------------------------------------------

def test_tampered_bundle_is_refused(site, server, tmp_path):
    with client(server.url, site, tmp_path / "cache") as c:
        assert c.wait_ready(WAIT)
        polls = c.status().polls
        c.stop()
        v2 = site.publish(document(2))
        # The attacker swaps the bundle bytes (same length) behind the signed metadata.
        content = next(p for p in (site.folder / "targets" / "production").iterdir()
                       if p.read_bytes() != b"" and json.loads(p.read_bytes())["provenance"]["commit"].endswith("2"))
        original = content.read_bytes()
        data = bytearray(original)
        data[data.index(b"fraud_risk") + 1] ^= 0x01
        content.write_bytes(bytes(data))
    with client(server.url, site, tmp_path / "cache") as c:
        status = failed_with(c, "verification", polls)
        assert c.version == "1" and score_version(c) == "1"
        assert "hash" in status.last_error.lower() or "length" in status.last_error.lower()
        assert status.state is State.STALE or status.state is State.READY
        content.write_bytes(original)  # the operator restores the file (publish refuses altered storage)
        v3 = site.publish(document(3))  # a good publish after the incident is picked up
        wait_for(lambda: c.version == str(v3))
    assert v3 > v2


def test_metadata_signed_by_an_unknown_key_is_refused(site, server, tmp_path):
    with client(server.url, site, tmp_path / "cache") as c:
        assert c.wait_ready(WAIT)
        site.publish(document(2))
        wait_for(lambda: c.version == "2")
        # Re-sign the live timestamp with a key the root does not trust, as a compromised mirror would.
        path = site.folder / "metadata" / "timestamp.json"
        md = Metadata.from_bytes(path.read_bytes())
        md.signed.version += 1
        md.signatures.clear()
        md.sign(generate())
        path.write_bytes(md.to_bytes(JSONSerializer(compact=False)))
        status = failed_with(c, "verification")
        assert "signature" in status.last_error.lower() or "unsigned" in status.last_error.lower()
        assert score_version(c) == "2"


def test_replayed_metadata_is_refused(site, tmp_path):
    old = tmp_path / "site-v1"
    shutil.copytree(site.folder, old)
    site.publish(document(2))
    with served(site.folder) as new_server, client(new_server.url, site, tmp_path / "cache") as c:
        assert c.wait_ready(WAIT) and c.version == "2"
    # A mirror (or an attacker) now serves the repository as it was at version 1.
    with served(old) as old_server, client(old_server.url, site, tmp_path / "cache") as c:
        status = failed_with(c, "rollback")
        assert c.version == "2" and score_version(c) == "2"  # from the verified cache, never version 1
        assert "version" in status.last_error.lower()


def test_expired_metadata_is_refused(site, server, tmp_path):
    with client(server.url, site, tmp_path / "cache") as c:
        assert c.wait_ready(WAIT)
        # A publish signed a month ago: its timestamp (2 days) expired long since: a freeze attack's shape.
        site.publish(document(2), now=utc_now() - dt.timedelta(days=30), expiry=Expiry())
        status = failed_with(c, "expired")
        assert c.version == "1" and "expired" in status.last_error.lower()


def test_a_bundle_that_breaks_the_apps_contract_is_refused(site, proxy, tmp_path):
    with client(proxy.url, site, tmp_path / "cache") as c:
        assert c.wait_ready(WAIT)
        doc = document(2)
        # The analysts renamed a decision and changed the published contract to match: the gate passes it, but
        # the checkout service was built to understand approve/review/decline only.
        doc["models"]["fraud_risk"]["bands"][-1]["decision"] = "block"
        doc["contracts"]["checkout"]["outputs"]["fraud_risk"]["decisions"] = ["approve", "review", "block"]
        site.publish(doc)
        status = failed_with(c, "contract")
        assert "block" in status.last_error and c.version == "1" and score_version(c) == "1"
        downloads = len([p for p in proxy.requests if p.startswith("/targets/")])
        wait_for(lambda: c.status().consecutive_failures >= 4)
        # Refused once by its hash, not downloaded again at every poll.
        assert len([p for p in proxy.requests if p.startswith("/targets/")]) == downloads
        v3 = site.publish(document(3))
        wait_for(lambda: c.version == str(v3))
        assert c.status().state is State.READY


def test_a_model_that_does_not_compile_is_refused(site, server, tmp_path):
    with client(server.url, site, tmp_path / "cache") as c:
        assert c.wait_ready(WAIT)
        doc = document(2)
        doc["models"]["fraud_risk"]["terms"][0]["bins"][1]["from"] = 10_000  # bins out of order
        site.publish(doc)
        failed_with(c, "compile")
        assert c.version == "1"


def test_a_bundle_over_the_size_limit_is_not_downloaded(site, proxy, tmp_path):
    with client(proxy.url, site, tmp_path / "cache", max_bundle_bytes=1000) as c:
        status = failed_with(c, "too_large")
        assert status.state is State.ERROR
        assert not [p for p in proxy.requests if p.startswith("/targets/")]


# --- cold starts --------------------------------------------------------------------------------------------

def test_server_down_at_start_serves_the_verified_cache(site, server, tmp_path):
    cache = tmp_path / "cache"
    with client(server.url, site, cache) as c:
        assert c.wait_ready(WAIT)
    down = f"http://127.0.0.1:{free_port()}/"
    with client(down, site, cache) as c:
        assert c.snapshot is not None  # served before the first poll even ran
        assert c.status().bundle["source"] == "cache"
        assert score_version(c) == "1"
        status = failed_with(c, "network")
        assert status.state is State.READY  # confirmed moments ago by the previous run
    with client(down, site, cache, max_age=0.01) as c:
        status = wait_for(lambda: (s := c.status()).state is State.STALE and s)
        assert status.serving


def test_a_tampered_cache_is_not_served(site, server, tmp_path):
    cache = tmp_path / "cache"
    with client(server.url, site, cache) as c:
        assert c.wait_ready(WAIT)
    bundle = cache / "last-good" / "bundle.json"
    bundle.write_bytes(bundle.read_bytes().replace(b'"approve"', b'"approvE"'))
    c = client(f"http://127.0.0.1:{free_port()}/", site, cache)
    with c:
        status = failed_with(c, "network")
        assert c.snapshot is None and status.state is State.ERROR
        assert any("does not verify" in note for note in status.notes)


def test_cold_start_after_a_refused_publish_serves_the_last_good(site, server, tmp_path):
    cache = tmp_path / "cache"
    with client(server.url, site, cache) as c:
        assert c.wait_ready(WAIT)
        doc = document(2)
        doc["contracts"]["checkout"]["inputs"]["ip_risk"] = {"type": "number"}  # the app sends no ip_risk
        site.publish(doc)
        failed_with(c, "contract")
    # The trusted targets metadata now names the refused bundle; the last good one is vouched for by the
    # signed targets metadata saved with it.
    with client(f"http://127.0.0.1:{free_port()}/", site, cache) as c:
        assert c.version == "1" and score_version(c) == "1"


# --- a misbehaving server: no exception in the app, status says why, recovery -------------------------------

@pytest.mark.parametrize("mode,only,reason", [
    ("500", None, "http"),
    ("hang", None, "timeout"),  # the client's timeout is set short for this one
    ("reset", None, "network"),
    ("truncate", "timestamp", "network"),
    ("truncate", "targets/", "network"),
    ("down", None, "network"),
])
def test_a_failing_server_keeps_the_last_good_and_recovers(site, proxy, tmp_path, mode, only, reason):
    errors = []
    limits = {"timeout": 0.3, "deadline": 2.0} if mode == "hang" else {}
    with client(proxy.url, site, tmp_path / "cache", on_error=errors.append, **limits) as c:
        assert c.wait_ready(WAIT)
        proxy.set(mode, only)
        if only == "targets/":
            site.publish(document(2))  # the fault hits the download of a new bundle
        status = failed_with(c, reason)
        assert status.serving and c.version == "1" and score_version(c) == "1"
        wait_for(lambda: errors)
        assert errors[-1].reason == reason
        proxy.set("ok")
        v = site.publish(document(3))
        wait_for(lambda: c.version == str(v))
        # recovered: a poll after the swap succeeds (with the hang test's short timeout, one may still time out
        # on a loaded runner; the next one succeeds)
        wait_for(lambda: (s := c.status()).state is State.READY and s.consecutive_failures == 0)


def test_no_server_and_no_cache_is_error_until_it_comes_up(site, proxy, tmp_path):
    proxy.set("down")
    with client(proxy.url, site, tmp_path / "cache") as c:
        status = failed_with(c, "network")
        assert status.state is State.ERROR and not c.wait_ready(0)
        proxy.set("ok")
        assert c.wait_ready(WAIT) and c.status().state is State.READY


def test_callbacks_that_raise_do_not_stop_reloads(site, server, tmp_path):
    def boom(*args):
        raise RuntimeError("the app's callback is broken")

    with client(server.url, site, tmp_path / "cache", on_change=boom, on_error=boom) as c:
        assert c.wait_ready(WAIT)
        v2 = site.publish(document(2))
        wait_for(lambda: c.version == str(v2))
        assert c._thread.is_alive()


def test_backoff_grows_while_failing(site, proxy, tmp_path):
    proxy.set("500")
    with client(proxy.url, site, tmp_path / "cache", backoff_max=0.4, jitter=0.0) as c:
        failed_with(c, "http")
        wait_for(lambda: c.status().consecutive_failures >= 4)
        # From the fourth failure on the delay is 0.05 x 2^3 = 0.4 s, the cap: the next poll is scheduled that
        # far ahead (seen while the client waits), never farther, where a client without backoff would wait 50 ms.
        wait_for(lambda: (n := c.status().next_poll_in) is not None and n > 0.2)
        upcoming = wait_for(lambda: c.status().next_poll_in)  # None while a poll is under way
        assert upcoming <= 0.4 + 1e-6


def test_metrics(site, proxy, tmp_path):
    try:
        import prometheus_client
    except ImportError:
        tool_missing("prometheus-client is not installed: it is in the dev extra, pip install -e '.[dev]'")
    registry = prometheus_client.CollectorRegistry()
    with client(proxy.url, site, tmp_path / "cache", metrics=registry) as c:
        assert c.wait_ready(WAIT)
        wait_for(lambda: registry.get_sample_value("weights_last_reload_successful", {"channel": "production"}) == 1)
        assert registry.get_sample_value("weights_reloads_total", {"channel": "production"}) == 1
        assert registry.get_sample_value("weights_bundle_info", {"channel": "production", "version": "1",
                                                                 "commit": f"{1:040x}"}) == 1
        proxy.set("500")
        wait_for(lambda: registry.get_sample_value("weights_reload_failures_total",
                                                   {"channel": "production", "reason": "http"}))
        assert registry.get_sample_value("weights_last_reload_successful", {"channel": "production"}) == 0
        assert registry.get_sample_value("weights_poll_duration_seconds_count", {"channel": "production"}) >= 2
        assert registry.get_sample_value("weights_last_success_timestamp_seconds", {"channel": "production"}) > 0
