"""The fleet's measurements through a real Prometheus server (the Debian package's binary, started here).

Exporters on 127.0.0.1 show the series of interface 5; Prometheus scrapes them every second; ``read_fleet``
and the ``weights`` command line ask its HTTP API. Without the binary the tests skip on a developer's machine
and fail on CI (tests/ci_env.py), where .ci/run installs it.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_helpers import (
    Exporter,
    PrometheusServer,
    Shadowed,
    client_registry,
    free_port,
    prometheus_with_exporters,
)
from publish_helpers import served

from validator.publish.fleet import FleetError, _Prometheus, read_fleet, render_fleet
from validator.publish.guard import evaluate_guard, parse_guard

TOLERANCE = 1e-12  # rates are ratios of exact integer counts; only the division rounds
EXPORTERS = 5


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PrometheusServer, list[Exporter]]]:
    with prometheus_with_exporters(tmp_path_factory.mktemp("prometheus"), EXPORTERS) as running:
        yield running


@pytest.fixture
def exporters(prometheus: tuple[PrometheusServer, list[Exporter]]) -> Iterator[list[Exporter]]:
    """The module's exporters, emptied after each test (each test also uses its own channel)."""
    yield prometheus[1]
    for exporter in prometheus[1]:
        exporter.show()


def _fleet_a(exporters: list[Exporter], server: PrometheusServer, channel: str) -> None:
    """Three live clients shadowing candidate 4 (one of them also scraped twice), one client on the candidate,
    one still measuring an earlier candidate 2."""
    a1 = client_registry(channel, "host-1:11:1.0", "live", "3", "c3" * 20, [
        Shadowed("fraud_risk", "3", "4", requests=1000, flips=12, deltas=(0.1, 0.3)),
        Shadowed("churn_coupon", "3", "4", requests=500, flips=5, dropped=2)])
    a2 = client_registry(channel, "host-2:12:1.0", "live", "3", "c3" * 20, [
        Shadowed("fraud_risk", "3", "4", requests=600, flips=6, deltas=(0.2,)),
        Shadowed("churn_coupon", "3", "4", requests=400, flips=8, errors=1)])
    a3 = client_registry(channel, "host-3:13:1.0", "candidate", "4", "c4" * 20)
    a4 = client_registry(channel, "host-4:14:1.0", "live", "3", "c3" * 20, [
        Shadowed("fraud_risk", "3", "2", requests=70, flips=70)])
    for exporter, registry in zip(exporters, (a1, a2, a3, a4, a1), strict=True):
        exporter.show(registry)
    selector = f'{{channel="{channel}"}}'
    server.wait_for_values(f"count(weights_client_info{selector})", {"": 5}, by="")
    server.wait_for_values(f"sum by (candidate_version) (weights_shadow_requests_total{selector})",
                           {"4": 4000, "2": 70}, by="candidate_version")  # a1's 1500 counted twice by the job


def test_read_fleet_counts_clients_per_version_and_computes_flip_rates(prometheus, exporters) -> None:
    server, _ = prometheus
    _fleet_a(exporters, server, "fleet-a")
    predicted = {"fraud_risk": {"metric": "decision_flip_rate", "value": 0.011, "rows": 16000}}
    view = read_fleet(server.url, "fleet-a", "4", predicted)
    assert [(v.role, v.version, v.commit, v.clients) for v in view.versions] == [
        ("live", "3", "c3" * 20, 3), ("candidate", "4", "c4" * 20, 1)]  # a1, scraped twice, counts once
    assert (view.live_clients, view.canary_clients, view.clients_measuring) == (3, 1, 2)
    assert view.measured_versions == {"4": 2, "2": 1}
    fraud, churn = sorted(view.models, key=lambda m: m.model != "fraud_risk")
    assert (fraud.requests, fraud.flips, fraud.clients, fraud.dropped, fraud.errors) == (1600, 18, 2, 0, 0)
    assert math.isclose(fraud.flip_rate or -1, 18 / 1600, rel_tol=0, abs_tol=TOLERANCE)
    assert math.isclose(fraud.mean_abs_delta or -1, 0.6 / 3, rel_tol=0, abs_tol=TOLERANCE)
    assert (fraud.predicted_metric, fraud.predicted_value, fraud.predicted_rows) == ("decision_flip_rate", 0.011,
                                                                                     16000)
    assert (churn.requests, churn.flips, churn.clients, churn.dropped, churn.errors) == (900, 13, 2, 2, 1)
    assert math.isclose(churn.flip_rate or -1, 13 / 900, rel_tol=0, abs_tol=TOLERANCE)
    assert churn.mean_abs_delta is None and churn.predicted_value is None
    assert view.to_dict()["models"][0]["flip_rate"] == churn.flip_rate  # sorted by name: churn_coupon first

    lines = render_fleet(view)
    assert any(line.split()[:4] == ["live", "version", "3", "commit"] and line.endswith("3 clients") for line in lines)
    assert any(line.split()[:2] == ["candidate", "version"] and line.endswith("1 client") for line in lines)
    (fraud_line,) = [line for line in lines if line.split()[:1] == ["fraud_risk"]]
    assert fraud_line.split()[1:5] == ["1600", "18", "1.12%", "1.10%"]  # measured beside predicted
    assert "decision_flip_rate on 16000 rows" in fraud_line


def test_the_guard_judges_what_prometheus_holds(prometheus, exporters) -> None:
    server, _ = prometheus
    _fleet_a(exporters, server, "fleet-b")
    view = read_fleet(server.url, "fleet-b", "4")
    verdict = evaluate_guard(parse_guard("flip_rate <= 0.02 and clients >= 2 and requests >= 900"), view)
    assert verdict.passed, verdict.reasons
    assert math.isclose(verdict.values["flip_rate"] or -1, 13 / 900, rel_tol=0, abs_tol=TOLERANCE)  # the worst
    assert verdict.values["requests"] == 900 and verdict.values["clients"] == 2
    refused = evaluate_guard(parse_guard("flip_rate <= 0.01"), view)
    assert not refused.passed and refused.reasons == ["flip_rate = 0.0144444 <= 0.01: does not hold"]
    # The earlier candidate 2 was measured by a4 only, at a flip rate of 100%: nothing of it leaks into 4, and
    # read as its own candidate it fails the guard.
    old = read_fleet(server.url, "fleet-b", "2")
    assert old.clients_measuring == 1 and [m.flip_rate for m in old.models] == [1.0]
    assert not evaluate_guard(parse_guard("flip_rate <= 0.02"), old).passed


def test_a_candidate_nobody_measured_fails_every_guard_on_it(prometheus, exporters) -> None:
    server, _ = prometheus
    _fleet_a(exporters, server, "fleet-c")
    view = read_fleet(server.url, "fleet-c", "9", {"fraud_risk": {"metric": "decision_flip_rate", "value": 0.0}})
    assert view.clients_measuring == 0
    (fraud,) = view.models
    assert not fraud.measured and fraud.requests == 0 and fraud.flip_rate is None
    verdict = evaluate_guard(parse_guard("flip_rate <= 0.02 or live_clients >= 1"), view)
    assert not verdict.passed
    assert verdict.reasons == ["flip_rate has no data: no shadow request of version 9 yet for fraud_risk"]


# --------------------------------------------------------------------------------------- servers that fail

def test_an_unreachable_prometheus_is_a_fleet_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(FleetError, match=f"cannot reach Prometheus at {url}: Connection refused"):
        read_fleet(url, "production", "4", timeout=5)


def test_a_server_that_is_not_prometheus_is_a_fleet_error(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<html>hello</html>")
    with served(tmp_path) as static:
        with pytest.raises(FleetError, match=r"does not answer like a Prometheus server \(HTTP 404"):
            read_fleet(static.url, "production", "4", timeout=5)


@pytest.mark.parametrize("url", ["prometheus:9090", "ftp://127.0.0.1/", "http://", "file:///etc/passwd"])
def test_a_url_that_is_not_http_is_a_fleet_error(url: str) -> None:
    with pytest.raises(FleetError, match="is not an http"):
        read_fleet(url, "production", "4")


def test_credentials_in_the_url_are_sent_but_never_shown() -> None:
    url = f"http://ops:s3cret@127.0.0.1:{free_port()}/prom/"
    with pytest.raises(FleetError) as caught:
        read_fleet(url, "production", "4", timeout=5)
    assert "s3cret" not in str(caught.value) and "ops" not in str(caught.value)
    assert "/prom" in str(caught.value)


def test_a_query_prometheus_refuses_is_its_own_message(prometheus) -> None:
    server, _ = prometheus
    api = _Prometheus(server.url + "/api/v1/query", 10)  # the API URL itself is accepted as the base
    with pytest.raises(FleetError, match=r"refused the query \(bad_data: .*HTTP 400\)"):
        api.vector("sum(", api.now())
