"""The fleet's measurements through a real Prometheus server (the Debian package's binary, started here).

Exporters on 127.0.0.1 show the series of interface 5; Prometheus scrapes them every second; ``read_fleet``
and the ``weights`` command line ask its HTTP API. Without the binary the tests skip on a developer's machine
and fail on CI (tests/ci_env.py), where .ci/run installs it.
"""
from __future__ import annotations

import contextlib
import json
import math
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from cli_helpers import analyst_repo, edit, git, run_weights
from prometheus_client import CollectorRegistry
from prometheus_helpers import (
    Exporter,
    PrometheusServer,
    Shadowed,
    basic_auth_proxy,
    client_registry,
    free_port,
    prometheus_with_exporters,
    wait_for,
)
from publish_helpers import files_of, served

from validator.publish.fleet import FleetError, _Prometheus, read_fleet, render_fleet
from validator.publish.guard import evaluate_guard, parse_guard
from validator.runtime import WeightsClient
from validator.runtime.cohort import cohort_point

TOLERANCE = 1e-12  # rates are ratios of exact integer counts; only the division rounds
EXPORTERS = 5
DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


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


def test_a_server_that_never_answers_is_a_fleet_error_after_the_timeout() -> None:
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(FleetError, match=f"cannot reach Prometheus at {url}: .*timed out"):
            read_fleet(url, "production", "4", timeout=0.5)


def test_a_server_that_is_not_prometheus_is_a_fleet_error(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<html>hello</html>")
    with served(tmp_path) as static:
        with pytest.raises(FleetError, match=r"does not answer like a Prometheus server \(HTTP 404"):
            read_fleet(static.url, "production", "4", timeout=5)


@pytest.mark.parametrize("url", ["prometheus:9090", "ftp://127.0.0.1/", "http://", "file:///etc/passwd"])
def test_a_url_that_is_not_http_is_a_fleet_error(url: str) -> None:
    with pytest.raises(FleetError, match="is not an http"):
        read_fleet(url, "production", "4")


def test_credentials_in_the_url_are_sent_as_basic_auth_and_never_shown(prometheus, exporters) -> None:
    server, _ = prometheus
    _fleet_a(exporters, server, "fleet-auth")
    with basic_auth_proxy(server.url, "ops", "s3cret") as (where, forwarded):
        view = read_fleet(f"http://ops:s3cret@{where}/", "fleet-auth", "4")
        assert view.source == f"http://{where}" and forwarded  # the queries went through the proxy
        direct = read_fleet(server.url, "fleet-auth", "4")
        assert {**view.to_dict(), "source": "", "at": 0} == {**direct.to_dict(), "source": "", "at": 0}
        with pytest.raises(FleetError) as caught:
            read_fleet(f"http://ops:wrong@{where}", "fleet-auth", "4")
    message = str(caught.value)
    assert "HTTP 401: credentials missing or refused" in message
    assert "wrong" not in message and "ops:" not in message


def test_a_query_prometheus_refuses_is_its_own_message(prometheus) -> None:
    server, _ = prometheus
    api = _Prometheus(server.url + "/api/v1/query", 10)  # the API URL itself is accepted as the base
    with pytest.raises(FleetError, match=r"refused the query \(bad_data: .*HTTP 400\)"):
        api.vector("sum(", api.now())


# --------------------------------------------------------------------------------------- the command line, end to end

CANARY = 0.25
GUARD = "flip_rate <= 0.02 and clients >= 2"
LIVE_CLIENTS = 3
ROWS_PER_CLIENT = 400
DEADLINE = 60.0  # seconds for a client to load or drain its shadow queue: a bound, not a timing assertion


@dataclass
class Canary:
    """A published repository whose channel has a live bundle and a canary candidate, served on loopback, and
    real WeightsClients of it (shadow=1.0, metrics on their own registries) shown by the exporters."""

    repo: Path
    channel: str
    version: str
    predicted: dict[str, Any]
    clients: list[WeightsClient]

    @property
    def published(self) -> Path:
        return self.repo / ".weights" / "published"

    def counts(self) -> tuple[int, int]:
        """(requests, flips) of fraud_risk over every client, as the clients themselves counted them."""
        rows = [c for client in self.clients if client.shadow is not None for c in client.shadow.counts()
                if c.model == "fraud_risk" and c.candidate_version == self.version]
        return sum(c.requests for c in rows), sum(c.flips for c in rows)


def _ok(ran: Any) -> Any:
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return ran


@contextlib.contextmanager
def canary(tmp_path: Path, prometheus: tuple[PrometheusServer, list[Exporter]], channel: str,
           intercept: str) -> Iterator[Canary]:
    """Publish main, then (after changing fraud_risk's intercept to ``intercept``) a canary of the change with
    the replay's prediction; start clients on both sides of the cohort and send each live one real requests."""
    server, exporters = prometheus
    repo = analyst_repo(tmp_path / "repo", ignore_published=True)
    _ok(run_weights(repo, "publish", "--channel", channel))
    edit(repo, "intercept: -3.2", f"intercept: {intercept}", "weights/fraud_risk.yaml")
    git(repo, "commit", "-q", "-am", f"fraud_risk: intercept {intercept}")
    checked = run_weights(repo, "check", "--base", "HEAD~1", "--format", "json")
    assert checked.returncode in (0, 1), checked.stderr  # 1: a guardrail breach, still a prediction
    report = tmp_path / "report.json"
    report.write_text(checked.stdout)
    _ok(run_weights(repo, "publish", "--channel", channel, "--canary", str(CANARY), "--report", str(report)))
    state = json.loads(_ok(run_weights(repo, "status", "--format", "json")).stdout)
    candidate = state["channels"][channel]["candidate"]
    version, salt = str(candidate["version"]), candidate["canary"]["salt"]
    ids = [f"app-{n}" for n in range(100)]
    live_ids = [i for i in ids if cohort_point(i, salt) >= CANARY][:LIVE_CLIENTS]
    canary_ids = [i for i in ids if cohort_point(i, salt) < CANARY][:1]
    rows = [{k: v for k, v in row.items() if k not in ("order_id", "is_fraud")}
            for row in pq.read_table(DATA / "fraud_orders.parquet").slice(0, ROWS_PER_CLIENT * LIVE_CLIENTS)
            .to_pylist()]
    root = (repo / ".weights" / "dev-keys" / "root.json").read_bytes()
    clients: list[WeightsClient] = []
    with served(repo / ".weights" / "published") as site:
        try:
            for n, instance_id in enumerate(live_ids + canary_ids):
                registry = CollectorRegistry()
                client = WeightsClient(site.url, root, tmp_path / f"cache-{n}", channel=channel, interval=0.2,
                                       push=False, metrics=registry, instance_id=instance_id, shadow=1.0).start()
                clients.append(client)
                exporters[n].show(registry)
            for client in clients:
                assert client.wait_ready(DEADLINE), client.status().last_error
            roles = ["live"] * LIVE_CLIENTS + ["candidate"]  # the cohort decides, from the candidate's salt

            def settled() -> bool:
                states = [c.status() for c in clients]
                return ([s.role for s in states] == roles
                        and all(s.shadow is not None and s.shadow.candidate_version == version
                                for s in states[:LIVE_CLIENTS]))

            wait_for(settled, f"clients serving {roles}, the live ones shadowing version {version}")
            for n, client in enumerate(clients[:LIVE_CLIENTS]):
                model = client.model("fraud_risk")
                for row in rows[n * ROWS_PER_CLIENT:(n + 1) * ROWS_PER_CLIENT]:
                    model.score(row)
                assert client.shadow is not None and client.shadow.wait_idle(DEADLINE)
            site_canary = Canary(repo, channel, version, candidate.get("predicted") or {}, clients)
            requests, _ = site_canary.counts()
            assert requests == ROWS_PER_CLIENT * LIVE_CLIENTS  # shadow=1.0 and a queue that never filled
            selector = f'{{channel="{channel}", candidate_version="{version}", model="fraud_risk"}}'
            server.wait_for_values(f"sum(weights_shadow_requests_total{selector})", {"": requests}, by="")
            server.wait_for_values(f'count(weights_client_info{{channel="{channel}"}})', {"": len(clients)}, by="")
            yield site_canary
        finally:
            for client in clients:
                client.stop()


def test_promote_if_promotes_when_the_fleets_measurements_hold(prometheus, exporters, tmp_path: Path) -> None:
    server, _ = prometheus
    with canary(tmp_path, prometheus, "guard-good", "-3.2  # unchanged scores, a new commit") as site:
        assert site.counts()[1] == 0
        ran = run_weights(site.repo, "promote", "--channel", site.channel, "--if", GUARD, "--metrics", server.url)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert f"guard holds: {GUARD}" in ran.stdout and "promoted:" in ran.stdout
        assert "flip_rate = 0 <= 0.02: holds" in ran.stdout
        assert f"clients = {LIVE_CLIENTS} >= 2: holds" in ran.stdout
        # Every client converges on the promoted version as live.
        wait_for(lambda: all(c.status().role == "live" and c.status().version == site.version for c in site.clients),
                 f"every client serving version {site.version} as live")


def test_promote_if_refuses_and_publishes_nothing_when_they_do_not(prometheus, exporters, tmp_path: Path) -> None:
    server, _ = prometheus
    with canary(tmp_path, prometheus, "guard-bad", "-1.6") as site:
        requests, flips = site.counts()
        assert flips / requests > 0.02  # the change flips many decisions: the guard must see it
        before = files_of(site.published)
        ran = run_weights(site.repo, "promote", "--channel", site.channel, "--if", GUARD, "--metrics", server.url)
        assert ran.returncode == 1, ran.stdout + ran.stderr
        assert f"not promoted: the candidate of {site.channel} (version {site.version}) does not meet: {GUARD}" \
            in ran.stdout
        assert f"flip_rate = {flips / requests:.6g} <= 0.02: does not hold" in ran.stdout
        assert files_of(site.published) == before
        assert all(c.status().role == ("candidate" if n == LIVE_CLIENTS else "live")
                   for n, c in enumerate(site.clients))


def test_status_shows_the_fleet_beside_the_prediction(prometheus, exporters, tmp_path: Path) -> None:
    server, _ = prometheus
    with canary(tmp_path, prometheus, "guard-status", "-1.6") as site:
        requests, flips = site.counts()
        ran = run_weights(site.repo, "status", "--metrics", server.url)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        lines = ran.stdout.splitlines()
        (live,) = [line for line in lines if line.split()[:3] == ["live", "version", "1"]]
        assert live.endswith(f"{LIVE_CLIENTS} clients")
        (candidate,) = [line for line in lines if line.split()[:3] == ["candidate", "version", site.version]]
        assert candidate.endswith("1 client")
        assert f"shadow      candidate version {site.version}: measured by {LIVE_CLIENTS} clients" in lines
        (fraud,) = [line for line in lines if line.split()[:1] == ["fraud_risk"]]
        prediction = site.predicted["fraud_risk"]
        assert fraud.split()[1:5] == [str(requests), str(flips), f"{100 * flips / requests:.2f}%",
                                      f"{100 * float(prediction['value']):.2f}%"]  # TUF custom: a decimal string
        assert f"{prediction['metric']} on {prediction['rows']} rows" in fraud


@pytest.mark.parametrize("command", [["status"], ["promote", "--if", GUARD]])
def test_an_unreachable_prometheus_is_exit_2_in_one_line(tmp_path: Path, command: list[str]) -> None:
    repo = analyst_repo(tmp_path / "repo", ignore_published=True)
    _ok(run_weights(repo, "publish"))
    change = "intercept: -3.2  # a new commit"
    edit(repo, "intercept: -3.2", change, "weights/fraud_risk.yaml")
    git(repo, "commit", "-q", "-am", "a candidate")
    _ok(run_weights(repo, "publish", "--canary", "0.5"))
    before = files_of(repo / ".weights" / "published")
    url = f"http://127.0.0.1:{free_port()}"
    ran = run_weights(repo, *command, "--metrics", url)
    assert ran.returncode == 2, ran.stdout + ran.stderr
    (line,) = ran.stderr.strip().splitlines()
    assert f"cannot reach Prometheus at {url}: Connection refused" in line and "Traceback" not in ran.stderr
    assert files_of(repo / ".weights" / "published") == before
