"""Shadow evaluation on a real client: a signed repository served over HTTP on 127.0.0.1, the live bundle on
``production`` and a candidate on the ``shadow`` channel (or a canary's candidate). What the client counts, in
``status()`` and on a Prometheus registry, must equal a direct count of the same requests; a full queue must drop
and count without making any request wait or changing any answer.
"""
from __future__ import annotations

import copy
import random
import threading
from pathlib import Path

import pytest
from publish_helpers import served
from runtime_helpers import PROJECT, Site, app_contracts, bundle_of, document, wait_for

from validator.publish import repository as tuf_repo
from validator.runtime import WeightsClient, build_snapshot
from validator.runtime.cohort import cohort_point
from validator.runtime.shadow import ShadowComparison, ShadowedModel

WAIT = 120.0
POLL = {"interval": 0.1, "jitter": 0.0, "timeout": 30.0, "backoff_max": 0.2, "max_age": 600.0, "push": False}
LIVE = 1


def shifted(n: int, shift: float) -> dict:
    """Variant ``n`` with fraud_risk's intercept moved by ``shift``: many orders change decision band."""
    doc = document(n)
    doc["models"]["fraud_risk"]["intercept"] += shift
    return doc


def orders(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        order = {
            "order_amount": round(rng.lognormvariate(5.0, 1.2), 2),
            "account_age_days": rng.choice([0, 3, 20, 90, 400]),
            "country_mismatch": rng.random() < 0.3,
            "payment_method": rng.choice(["card", "paypal", "invoice", "gift_card", "bank_transfer"]),
            "email_domain_age_days": rng.choice([5, 100, 3000]),
            "orders_last_24h": rng.choice([0, 1, 2, 5, 9]),
            "shipping_to_billing_distance_km": round(rng.uniform(0, 3000), 1),
            "device_seen_before": rng.random() < 0.5,
        }
        if rng.random() < 0.2:
            del order["email_domain_age_days"]
        out.append(order)
    return out


@pytest.fixture
def site(tmp_path: Path) -> Site:
    site = Site(tmp_path / "site")
    site.publish(document(LIVE))
    return site


@pytest.fixture
def server(site: Site):
    with served(site.folder) as srv:
        yield srv


def publish_shadow(site: Site, doc: dict) -> None:
    tuf_repo.publish(site.storage, site.root, site.keys.source(), bundle_of(doc), "shadow", site.expiry)


def client(url: str, site: Site, cache: Path, **kw) -> WeightsClient:
    options = {**POLL, "contract": app_contracts(), "instance_id": "app-1", **kw}
    return WeightsClient(url, site.root, cache, **options)


def evaluator_of(doc: dict, name: str):
    """The candidate's evaluator built on its own, for the direct count."""
    return build_snapshot(bundle_of(doc).data, version="x", sha256="x", source="network", loaded_at=0.0,
                          contracts=app_contracts()).models[name]


def shadowing(c: WeightsClient) -> None:
    c.refresh(raise_errors=True)
    status = c.status().shadow
    assert status is not None and status.active, status


def row(c: WeightsClient, model: str):
    rows = [r for r in c.shadow.counts() if r.model == model]
    assert len(rows) == 1, rows
    return rows[0]


# --- what is counted -----------------------------------------------------------------------------------------

def test_counts_match_a_direct_count_in_status_and_prometheus(site, server, tmp_path):
    prometheus_client = pytest.importorskip("prometheus_client")
    registry = prometheus_client.CollectorRegistry()
    candidate_doc = shifted(2, 2.0)
    publish_shadow(site, candidate_doc)
    candidate = evaluator_of(candidate_doc, "fraud_risk")
    c = client(server.url, site, tmp_path / "cache", shadow=1.0, metrics=registry)
    try:
        shadowing(c)
        live = c.snapshot.models["fraud_risk"]
        flips, delta_sum, n = 0, 0.0, 300
        for order in orders(n):
            got = c.model("fraud_risk").score(order)
            assert got == live.score(order)                  # the app gets the live answer, untouched
            other = candidate.score(order)
            flips += got.decision != other.decision
            delta_sum += abs(other.value - got.value)
        assert 0 < flips < n                                  # the test compares something that moves
        assert c.shadow.wait_idle(WAIT)
        count = row(c, "fraud_risk")
        status = c.status().shadow
        live_version, candidate_version = c.version, status.candidate_version
        assert (count.live_version, count.candidate_version) == (live_version, candidate_version)
        assert (count.requests, count.flips, count.abs_delta_count) == (n, flips, n)
        assert count.abs_delta_sum == pytest.approx(delta_sum, rel=1e-12)   # the same floats, summed in order
        assert (count.dropped, count.errors, count.skipped) == (0, 0, 0)
        assert status.source == "shadow channel" and status.counts == tuple(c.shadow.counts())

        labels = {"channel": "production", "instance_id": "app-1", "model": "fraud_risk",
                  "live_version": live_version, "candidate_version": candidate_version}
        sample = registry.get_sample_value
        assert sample("weights_shadow_requests_total", labels) == n
        assert sample("weights_shadow_flips_total", labels) == flips
        assert sample("weights_shadow_abs_score_delta_count", labels) == n
        assert sample("weights_shadow_abs_score_delta_sum", labels) == pytest.approx(delta_sum, rel=1e-12)
        per_model = {k: labels[k] for k in ("channel", "instance_id", "model")}
        assert sample("weights_shadow_dropped_total", per_model) == 0
        assert sample("weights_shadow_errors_total", per_model) == 0
    finally:
        c.stop()


def test_a_share_of_requests_is_sampled(site, server, tmp_path):
    publish_shadow(site, shifted(2, 2.0))
    seen: list[ShadowComparison] = []
    c = client(server.url, site, tmp_path / "cache", shadow=0.2, on_shadow=seen.append)
    try:
        shadowing(c)
        n = 2000
        for order in orders(n):
            c.model("fraud_risk").score(order)
        assert c.shadow.wait_idle(WAIT)
        count = row(c, "fraud_risk")
        assert 300 <= count.requests <= 500, count      # 400 expected; 5 standard deviations either side
        assert len(seen) == count.requests and sum(bool(s.changed) for s in seen) == count.flips
        assert all(s.model == "fraud_risk" and s.method == "score" for s in seen)
    finally:
        c.stop()


def test_a_full_queue_drops_and_counts_without_blocking_requests(site, server, tmp_path):
    prometheus_client = pytest.importorskip("prometheus_client")
    registry = prometheus_client.CollectorRegistry()
    publish_shadow(site, shifted(2, 2.0))
    entered, release = threading.Event(), threading.Event()

    def hold(comparison: ShadowComparison) -> None:   # the worker stops inside its first sample
        entered.set()
        release.wait(WAIT)

    queue_size, n = 5, 60
    c = client(server.url, site, tmp_path / "cache", shadow=1.0, shadow_queue_size=queue_size, on_shadow=hold,
               metrics=registry)
    try:
        shadowing(c)
        live = c.snapshot.models["fraud_risk"]
        batch = orders(n + 1)
        assert c.model("fraud_risk").score(batch[0]) == live.score(batch[0])
        assert entered.wait(WAIT)
        # The worker is held: the queue fills with the next `queue_size` samples, the rest are dropped. Every
        # request still returns (this loop would hang if one waited) with the live answer.
        for order in batch[1:]:
            assert c.model("fraud_risk").score(order) == live.score(order)
        count = row(c, "fraud_risk")
        assert count.dropped == n - queue_size and c.status().shadow.queued == queue_size
        assert registry.get_sample_value("weights_shadow_dropped_total", {
            "channel": "production", "instance_id": "app-1", "model": "fraud_risk"}) == n - queue_size
        release.set()
        assert c.shadow.wait_idle(WAIT)
        assert row(c, "fraud_risk").requests == 1 + queue_size
    finally:
        release.set()
        c.stop()


def test_candidate_errors_are_counted(site, server, tmp_path):
    candidate_doc = document(2)
    del candidate_doc["models"]["fraud_risk"]["inputs"]["email_domain_age_days"]   # now required
    publish_shadow(site, candidate_doc)
    seen: list[ShadowComparison] = []
    c = client(server.url, site, tmp_path / "cache", shadow=1.0, on_shadow=seen.append)
    try:
        shadowing(c)
        batch = orders(200)
        missing = sum("email_domain_age_days" not in o for o in batch)
        assert 0 < missing < len(batch)
        for order in batch:
            c.model("fraud_risk").score(order)            # the live model defaults it: never raises
        assert c.shadow.wait_idle(WAIT)
        count = row(c, "fraud_risk")
        assert (count.errors, count.requests) == (missing, len(batch) - missing)
        errors = [s for s in seen if s.error is not None]
        assert len(errors) == missing and all("email_domain_age_days" in str(s.error) for s in errors)
    finally:
        c.stop()


def test_the_request_is_copied_before_it_is_queued(site, server, tmp_path):
    publish_shadow(site, shifted(2, 2.0))
    seen: list[ShadowComparison] = []
    c = client(server.url, site, tmp_path / "cache", shadow=1.0, on_shadow=seen.append)
    try:
        shadowing(c)
        order = orders(1)[0]
        original = copy.deepcopy(order)
        live = c.model("fraud_risk").score(order)
        order["order_amount"] = 10_000.0          # the app reuses its dict at once
        assert c.shadow.wait_idle(WAIT)
        assert seen[0].args == (original,) and seen[0].live_result == live
    finally:
        c.stop()


def test_a_ranking_is_compared_by_its_order(site, server, tmp_path):
    import yaml

    candidate_doc = document(2)
    for feature in candidate_doc["models"]["search_ranking"]["features"]:
        if feature["name"] == "popularity":
            feature["weight"] = 3.0          # popularity now outweighs text relevance on some pages
    publish_shadow(site, candidate_doc)
    candidate = evaluator_of(candidate_doc, "search_ranking")
    golden = yaml.safe_load((PROJECT / "tests" / "golden" / "search_ranking.yaml").read_text())
    pages = [case["items"] for case in golden["cases"] if "rejected" not in case["expect"]]
    c = client(server.url, site, tmp_path / "cache", shadow=1.0)
    try:
        shadowing(c)
        changed = 0
        for items in pages:
            live = c.model("search_ranking").rank(items, limit=3)       # a keyword argument goes along too
            other = candidate.rank(copy.deepcopy(items), limit=3)
            changed += live.ids() != other.ids()
            items.clear()                    # the app reuses its list: the sample holds its own copy
        assert 0 < changed < len(pages)
        assert c.shadow.wait_idle(WAIT)
        count = row(c, "search_ranking")
        assert (count.requests, count.flips, count.abs_delta_count, count.errors) == (len(pages), changed, 0, 0)
    finally:
        c.stop()


# --- what is not compared ------------------------------------------------------------------------------------

def test_without_shadow_model_returns_the_live_evaluator_itself(site, server, tmp_path):
    c = client(server.url, site, tmp_path / "cache")
    try:
        c.refresh(raise_errors=True)
        assert c.model("fraud_risk") is c.snapshot.models["fraud_risk"]
        assert c.shadow is None and c.status().shadow is None
    finally:
        c.stop()


def test_nothing_to_compare_serves_the_live_evaluator_and_says_why(site, server, tmp_path):
    c = client(server.url, site, tmp_path / "cache", shadow=0.5)
    try:
        c.refresh(raise_errors=True)
        assert c.model("fraud_risk") is c.snapshot.models["fraud_risk"]
        status = c.status().shadow
        assert not status.active and "shadow/bundle.json" in status.reason
    finally:
        c.stop()


def test_kinds_not_compared_and_models_the_candidate_lacks_are_skipped(site, server, tmp_path):
    candidate_doc = shifted(2, 2.0)
    del candidate_doc["models"]["customer_segments"]
    publish_shadow(site, candidate_doc)
    c = client(server.url, site, tmp_path / "cache", shadow=1.0, contract=app_contracts("checkout", "storefront"))
    try:
        shadowing(c)
        skipped = c.status().shadow.skipped_models
        assert "CHANGE is None" in skipped["homepage_hero"]
        assert "absent from candidate" in skipped["customer_segments"]
        assert "fraud_risk" not in skipped
        hero = c.model("homepage_hero")
        for _ in range(7):
            hero.choose()
        assert c.shadow.wait_idle(WAIT)
        count = row(c, "homepage_hero")
        assert (count.skipped, count.requests, count.errors) == (7, 0, 0)
    finally:
        c.stop()


def test_a_new_candidate_version_starts_new_counts(site, server, tmp_path):
    publish_shadow(site, shifted(2, 2.0))
    c = client(server.url, site, tmp_path / "cache", shadow=1.0)
    try:
        shadowing(c)
        first = c.status().shadow.candidate_version
        for order in orders(10):
            c.model("fraud_risk").score(order)
        publish_shadow(site, shifted(3, 1.0))
        c.refresh(raise_errors=True)
        second = c.status().shadow.candidate_version
        assert second != first
        for order in orders(4):
            c.model("fraud_risk").score(order)
        assert c.shadow.wait_idle(WAIT)
        by_version = {r.candidate_version: r.requests for r in c.shadow.counts() if r.model == "fraud_risk"}
        assert by_version == {first: 10, second: 4}
    finally:
        c.stop()


def test_the_canary_candidate_is_the_source_and_its_cohort_does_not_shadow(site, server, tmp_path):
    publish_shadow(site, shifted(3, 1.0))                   # the canary's candidate comes first
    tuf_repo.publish_canary(site.storage, site.root, site.keys.source(), bundle_of(shifted(2, 2.0)), "production",
                            0.5, site.expiry)
    salt = tuf_repo.candidate_of(site.storage, site.root, "production").custom["canary"]["salt"]
    names = [f"pod-{i}" for i in range(40)]
    inside = next(n for n in names if cohort_point(n, salt) < 0.5)
    outside = next(n for n in names if cohort_point(n, salt) >= 0.5)

    on_live = client(server.url, site, tmp_path / "live", shadow=1.0, instance_id=outside)
    on_candidate = client(server.url, site, tmp_path / "candidate", shadow=1.0, instance_id=inside)
    try:
        shadowing(on_live)
        status = on_live.status()
        assert status.shadow.source == "candidate" and status.shadow.candidate_version == status.candidate["version"]
        assert isinstance(on_live.model("fraud_risk"), ShadowedModel)

        on_candidate.refresh(raise_errors=True)
        status = on_candidate.status()
        assert status.role == "candidate" and not status.shadow.active
        assert status.shadow.reason == "this client serves the candidate"
        assert on_candidate.model("fraud_risk") is on_candidate.snapshot.models["fraud_risk"]
    finally:
        on_live.stop()
        on_candidate.stop()


def test_started_client_shadows_after_its_polls(site, server, tmp_path):
    c = client(server.url, site, tmp_path / "cache", shadow=1.0).start()
    try:
        assert c.wait_ready(WAIT)
        publish_shadow(site, shifted(2, 2.0))
        wait_for(lambda: c.status().shadow.active, WAIT)
        c.model("fraud_risk").score(orders(1)[0])
        assert c.shadow.wait_idle(WAIT) and row(c, "fraud_risk").requests == 1
    finally:
        c.stop()


@pytest.mark.parametrize("kw, message", [
    ({"shadow": 1.5}, "shadow must be a share"), ({"shadow": -0.1}, "shadow must be a share"),
    ({"shadow": 0.1, "shadow_queue_size": 0}, "shadow_queue_size"),
    ({"shadow": 0.1, "shadow_channel": "production"}, "bad shadow_channel"),
])
def test_bad_shadow_arguments_are_refused(site, tmp_path, kw, message):
    with pytest.raises(ValueError, match=message):
        client("http://127.0.0.1:9/", site, tmp_path / "cache", **kw)
