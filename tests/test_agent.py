"""The agent's HTTP API through Starlette's TestClient, around a real WeightsClient that verified a real signed
bundle served on 127.0.0.1: every operation of every kind, batches, every class of refused request as an RFC 9457
problem, probes before and after the first bundle, metrics, and the OpenAPI document (openapi-spec-validator).
"""
from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from agent_helpers import wait_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from publish_helpers import served
from runtime_helpers import ORDER, Site, app_contracts, bundle_of, document, free_port
from starlette.testclient import TestClient

from validator.agent.app import create_app
from validator.agent.limits import AgentLimits
from validator.agent.problems import MEDIA_TYPE, PROBLEMS, VERSION_HEADER
from validator.agent.verbs import VERBS
from validator.kinds import KINDS
from validator.publish import repository as tuf_repo
from validator.runtime import WeightsClient

WAIT = 120.0  # upper bound of a wait for the client; only a client that never gets there fails
TOLERANCE = 1e-12  # the agent returns the evaluator's float through JSON: repr round-trips exactly

ITEMS = [
    {"item_id": "SKU-1001", "bm25_score": 18.0, "sales_30d": 240, "avg_rating": 4.6, "review_count": 310,
     "in_stock": True, "stock_units": 120, "brand_tier": "national", "margin_pct": 22.0, "return_rate": 0.04,
     "days_since_launch": 400},
    {"item_id": "SKU-1002", "bm25_score": 18.0, "sales_30d": 240, "avg_rating": 4.6, "review_count": 310,
     "in_stock": False, "stock_units": 0, "brand_tier": "national", "margin_pct": 22.0, "return_rate": 0.04,
     "days_since_launch": 400},
    {"item_id": "SKU-3001", "bm25_score": 17.5, "sales_30d": 200, "avg_rating": 4.4, "review_count": 150,
     "in_stock": True, "stock_units": 80, "brand_tier": "marketplace", "margin_pct": 8.0, "return_rate": 0.31,
     "days_since_launch": 300},
]
CUSTOMER = {"orders_12m": 5, "avg_basket_eur": 33.0, "discount_share": 0.35, "days_since_last_order": 20,
            "categories_bought": 3, "email_open_rate": 0.33}
# One valid request per served model, in the HTTP shape (a ranking's candidates under "items").
REQUESTS: dict[str, tuple[str, dict[str, Any]]] = {
    "fraud_risk": ("score", ORDER),
    "churn_coupon": ("score", {"days_since_last_order": 200, "orders_12m": 1, "support_tickets_90d": 3,
                               "nps_score": 2, "subscription_plan": "none", "discount_share": 0.6}),
    "search_ranking": ("rank", {"items": ITEMS}),
    "homepage_hero": ("choose", {"seed": 7}),
    "customer_segments": ("assign", CUSTOMER),
    "category_boost": ("lookup", {"category_id": 17, "country": "DE"}),
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WeightsClient]:
    """A WeightsClient serving version 1 of this project's bundle, published and verified for real."""
    tmp = tmp_path_factory.mktemp("agent")
    site = Site(tmp / "site")
    site.publish(document(1))
    with served(site.folder) as server:
        client = WeightsClient(server.url, site.root, tmp / "cache", contract=app_contracts(), interval=3600)
        with client:
            assert client.wait_ready(WAIT)
            yield client


@pytest.fixture(scope="module")
def http(live: WeightsClient) -> Iterator[TestClient]:
    with TestClient(create_app(live, contracts=app_contracts())) as client:
        yield client


def problem_of(response: Any, status: int, slug: str) -> dict[str, Any]:
    """The response's problem document, after checking it is the RFC 9457 problem expected."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == MEDIA_TYPE
    doc = response.json()
    assert doc["type"] == f"urn:weights:problem:{slug}" and doc["status"] == status
    assert doc["title"] == PROBLEMS[slug][1] and doc["detail"] and doc["instance"].startswith("/")
    assert "Traceback" not in doc["detail"]
    return doc


# --- the operations -------------------------------------------------------------------------------------------

def test_score_one_request(http, live):
    response = http.post("/v1/models/fraud_risk/score", json=ORDER)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert response.headers[VERSION_HEADER] == "1"
    body = response.json()
    expected = live.model("fraud_risk").score(ORDER)
    assert body["version"] == "1" and body["model"] == "fraud_risk"
    assert math.isclose(body["value"], expected.value, rel_tol=TOLERANCE)
    assert body["decision"] == expected.decision and body["reasons"] == list(expected.reasons)


def test_a_batch_is_answered_in_order_from_one_bundle(http, live):
    orders = [ORDER, {**ORDER, "order_amount": 4000.0, "account_age_days": 0, "country_mismatch": True},
              {**ORDER, "payment_method": "gift_card"}]
    response = http.post("/v1/models/fraud_risk/score", json={"requests": orders})
    assert response.status_code == 200 and response.headers[VERSION_HEADER] == "1"
    body = response.json()
    assert body["model"] == "fraud_risk" and body["version"] == "1" and len(body["results"]) == 3
    for order, result in zip(orders, body["results"], strict=True):
        expected = live.model("fraud_risk").score(order)
        assert math.isclose(result["value"], expected.value, rel_tol=TOLERANCE)
        assert result["decision"] == expected.decision and result["version"] == "1"


@pytest.mark.parametrize("model", sorted(REQUESTS))
def test_every_kind_answers_its_operation(http, live, model):
    verb, request = REQUESTS[model]
    response = http.post(f"/v1/models/{model}/{verb}", json=request)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == model and body["version"] == "1"
    evaluator = live.model(model)
    kind = KINDS[evaluator.kind]
    expected = kind.call(evaluator, request["items"] if verb == "rank" else request)
    if verb == "rank":
        assert [e["item"]["item_id"] for e in body["items"]] == expected.ids()
        assert [e["rank"] for e in body["items"]] == [1, 2, 3]
    elif verb == "choose":
        assert body["arm"] == expected.arm and body["holdout"] == expected.holdout  # the seed fixes the draw
    elif verb == "assign":
        assert (body["segment"], body["variant"]) == (expected.segment, expected.variant)
    elif verb == "lookup":
        assert body["found"] is True and body["values"] == expected.values
    else:
        assert body["decision"] == expected.decision


def test_an_empty_batch_is_an_empty_answer(http):
    response = http.post("/v1/models/fraud_risk/score", json={"requests": []})
    assert response.status_code == 200 and response.json()["results"] == []


def test_large_bodies_are_answered_off_the_event_loop_alike(live):
    """Above offload_bytes the batch runs in the thread pool: same answer."""
    app = create_app(live, contracts=app_contracts(), limits=AgentLimits(offload_bytes=64))
    with TestClient(app) as client:
        small = client.post("/v1/models/fraud_risk/score", json={"requests": [ORDER]})
        assert small.status_code == 200
    with TestClient(create_app(live)) as client:
        assert client.post("/v1/models/fraud_risk/score", json={"requests": [ORDER]}).json() == small.json()


def test_every_registered_kind_has_an_operation():
    assert {kind.verb for kind in KINDS.values()} <= set(VERBS)


# --- refused requests: 4xx problem+json naming the model and the input -----------------------------------------

NESTED = b"[" * 50 + b"]" * 50
BAD_REQUESTS: list[tuple[str, str, dict[str, Any], int, str, str | None]] = [
    # (id, path, request kwargs, status, problem slug, input named)
    ("not-json", "/v1/models/fraud_risk/score", {"content": b"{order_amount: 1"}, 400, "not-json", None),
    ("not-utf8", "/v1/models/fraud_risk/score", {"content": b'{"a": "\xff"}'}, 400, "not-json", None),
    ("empty", "/v1/models/fraud_risk/score", {"content": b""}, 400, "not-json", None),
    ("nan", "/v1/models/fraud_risk/score", {"content": b'{"order_amount": NaN}'}, 400, "not-json", None),
    ("overflow", "/v1/models/fraud_risk/score", {"content": b'{"order_amount": 1e999}'}, 400, "not-json", None),
    ("huge-int", "/v1/models/fraud_risk/score", {"content": b'{"order_amount": 1' + b"0" * 400 + b"}"}, 400,
     "not-json", None),
    ("too-deep", "/v1/models/fraud_risk/score", {"content": NESTED}, 400, "too-deep", None),
    ("deep-bomb", "/v1/models/fraud_risk/score", {"content": b"[" * 200_000}, 400, "too-deep", None),
    ("not-an-object", "/v1/models/fraud_risk/score", {"json": [ORDER]}, 400, "bad-shape", None),
    ("requests-not-a-list", "/v1/models/fraud_risk/score", {"json": {"requests": ORDER}}, 400, "bad-shape",
     "requests"),
    ("batch-too-long", "/v1/models/fraud_risk/score", {"json": {"requests": [ORDER] * 1001}}, 400,
     "batch-too-long", "requests"),
    ("wrong-type", "/v1/models/fraud_risk/score", {"json": {**ORDER, "order_amount": "80 EUR"}}, 422,
     "invalid-input", "order_amount"),
    ("boolean-as-number", "/v1/models/fraud_risk/score", {"json": {**ORDER, "order_amount": True}}, 422,
     "invalid-input", "order_amount"),
    ("missing-input", "/v1/models/customer_segments/assign",
     {"json": {k: v for k, v in CUSTOMER.items() if k != "orders_12m"}}, 422, "invalid-input", "orders_12m"),
    ("rank-without-items", "/v1/models/search_ranking/rank", {"json": ITEMS[0]}, 422, "invalid-input", "items"),
    ("rank-items-not-objects", "/v1/models/search_ranking/rank", {"json": {"items": [1, 2]}}, 422,
     "invalid-input", "items"),
    ("seed-not-integer", "/v1/models/homepage_hero/choose", {"json": {"seed": "7"}}, 422, "invalid-input", "seed"),
    ("unknown-model", "/v1/models/fraud_riks/score", {"json": ORDER}, 404, "unknown-model", None),
    ("unknown-verb", "/v1/models/fraud_risk/predict", {"json": ORDER}, 404, "unknown-verb", None),
    ("wrong-verb", "/v1/models/fraud_risk/rank", {"json": ORDER}, 404, "wrong-verb", None),
    ("form-body", "/v1/models/fraud_risk/score",
     {"content": b"order_amount=1", "headers": {"content-type": "application/x-www-form-urlencoded"}}, 415,
     "unsupported-media-type", None),
    ("too-large-declared", "/v1/models/fraud_risk/score", {"content": b" " * (4 * 1024 * 1024 + 1)}, 413,
     "too-large", None),
]


@pytest.mark.parametrize(("path", "kwargs", "status", "slug", "input_name"),
                         [case[1:] for case in BAD_REQUESTS], ids=[case[0] for case in BAD_REQUESTS])
def test_a_bad_request_is_a_problem_naming_model_and_input(http, path, kwargs, status, slug, input_name):
    response = http.post(path, **kwargs)
    doc = problem_of(response, status, slug)
    assert doc["instance"] == path and doc["version"] == "1" and response.headers[VERSION_HEADER] == "1"
    assert doc["model"] == path.split("/")[3]
    assert doc.get("input") == input_name
    if input_name is not None:
        assert input_name in doc["detail"]


def test_a_batch_problem_names_the_request_at_fault(http):
    response = http.post("/v1/models/fraud_risk/score",
                         json={"requests": [ORDER, ORDER, {**ORDER, "country_mismatch": "yes"}]})
    doc = problem_of(response, 422, "invalid-input")
    assert doc["index"] == 2 and doc["input"] == "country_mismatch" and doc["model"] == "fraud_risk"
    response = http.post("/v1/models/fraud_risk/score", json={"requests": [ORDER, 5]})
    assert problem_of(response, 400, "bad-shape")["index"] == 1


def test_a_chunked_body_is_refused_once_it_passes_the_limit(live):
    """No Content-Length: the bytes are counted as they come and refused past the limit (TestClient hands the
    app the stream in one piece; tests/test_agent_e2e.py shows a real socket's answer before the body ends)."""
    app = create_app(live, limits=AgentLimits(max_body_bytes=1000))

    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b" " * 100

    with TestClient(app) as client:
        response = client.post("/v1/models/fraud_risk/score", content=chunks())
    doc = problem_of(response, 413, "too-large")
    assert "at least" in doc["detail"] and "limit of 1,000" in doc["detail"] and doc["model"] == "fraud_risk"


def test_the_unknown_model_problem_lists_the_models(http):
    detail = problem_of(http.post("/v1/models/nope/score", json={}), 404, "unknown-model")["detail"]
    assert "fraud_risk" in detail and "search_ranking" in detail


def test_http_level_errors_are_problems_too(http):
    response = http.get("/v1/models/fraud_risk/score")
    assert problem_of(response, 405, "method-not-allowed") and response.headers["allow"] == "POST"
    problem_of(http.get("/v2/nothing"), 404, "not-found")
    problem_of(http.post("/healthz"), 405, "method-not-allowed")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=6),
    max_leaves=20)


def _mutated_request(model: str) -> st.SearchStrategy[Any]:
    """A model's valid request with any of its inputs replaced by arbitrary JSON, or any JSON at all."""
    verb, request = REQUESTS[model]
    base = request["items"][0] if verb == "rank" else request
    mutated = st.fixed_dictionaries({}, optional={k: JSON_VALUES for k in base}).map(lambda d: {**base, **d})
    if verb == "rank":
        mutated = st.lists(mutated | JSON_VALUES, max_size=3).map(lambda items: {"items": items})
    shaped = mutated | JSON_VALUES
    return shaped | st.lists(shaped, max_size=3).map(lambda rs: {"requests": rs})


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_nothing_a_request_sends_reaches_a_500(http, data):
    model = data.draw(st.sampled_from(sorted(REQUESTS)))
    body = data.draw(_mutated_request(model))
    verb = REQUESTS[model][0]
    response = http.post(f"/v1/models/{model}/{verb}", content=json.dumps(body).encode())
    assert response.status_code in (200, 400, 413, 422), response.text
    if response.status_code != 200:
        doc = problem_of(response, response.status_code, response.json()["type"].rsplit(":", 1)[1])
        assert doc["model"] == model


# --- probes, status, metrics ---------------------------------------------------------------------------------

def test_probes_and_status_while_serving(http):
    assert http.get("/healthz").json() == {"alive": True}
    ready = http.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"ready": True, "state": "READY", "version": "1"}
    status = http.get("/v1/status")
    assert status.headers[VERSION_HEADER] == "1"
    doc = status.json()
    assert doc["state"] == "READY" and doc["bundle"]["version"] == "1"
    assert doc["agent"]["operations"]["fraud_risk"] == "score"
    assert doc["agent"]["operations"]["search_ranking"] == "rank"


def test_before_the_first_bundle_nothing_is_ready(tmp_path):
    site = Site(tmp_path / "site")  # nothing published, and nothing listening at the URL
    client = WeightsClient(f"http://127.0.0.1:{free_port()}/", site.root, tmp_path / "cache", interval=3600)
    try:
        with TestClient(create_app(client)) as http:
            assert http.get("/healthz").status_code == 200
            ready = http.get("/readyz")
            assert ready.status_code == 503 and ready.json()["ready"] is False
            assert VERSION_HEADER not in ready.headers
            doc = problem_of(http.post("/v1/models/fraud_risk/score", json=ORDER), 503, "not-ready")
            assert doc["version"] is None and doc["model"] == "fraud_risk"
            problem_of(http.get("/openapi.json"), 503, "not-ready")
            client.refresh()  # the poll fails: ERROR, still not ready
            ready = http.get("/readyz").json()
            assert ready["state"] == "ERROR" and ready["last_error"]
    finally:
        client.stop()


def _sample(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        match = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            return float(match.group(2))
    return None


def test_metrics_count_requests_and_reloads(live):
    with TestClient(create_app(live)) as http:
        http.post("/v1/models/fraud_risk/score", json=ORDER)
        http.post("/v1/models/fraud_risk/score", json={**ORDER, "order_amount": "x"})
        http.post("/v1/models/no_such_model_1/score", json=ORDER)
        http.post("/v1/models/no_such_model_2/score", json=ORDER)
        http.post("/v1/models/fraud_risk/score", json={"requests": [ORDER, ORDER, ORDER]})
        response = http.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert _sample(text, "weights_agent_requests_total", model="fraud_risk", verb="score", code="200") == 2
    assert _sample(text, "weights_agent_requests_total", model="fraud_risk", verb="score", code="422") == 1
    assert _sample(text, "weights_agent_requests_total", model="other", verb="score", code="404") == 2
    assert "no_such_model" not in text  # names from URLs never become labels
    assert _sample(text, "weights_agent_request_duration_seconds_count", verb="score") == 5
    assert _sample(text, "weights_agent_request_duration_seconds_bucket", verb="score", le="+Inf") == 5
    assert "weights_agent_batch_size_count 1.0" in text and "weights_agent_batch_size_sum 3.0" in text
    assert "weights_agent_serving 1.0" in text


def test_metrics_include_the_clients_reload_series(tmp_path):
    from validator.agent.metrics import new_registry

    site = Site(tmp_path / "site")
    site.publish(document(1))
    registry = new_registry()
    with served(site.folder) as server:
        client = WeightsClient(server.url, site.root, tmp_path / "cache", interval=3600, metrics=registry)
        try:
            assert client.refresh(raise_errors=True)
            with TestClient(create_app(client, registry=registry)) as http:
                text = http.get("/metrics").text
        finally:
            client.stop()
    assert _sample(text, "weights_reloads_total", channel="production") == 1
    assert 'weights_bundle_info{channel="production",commit="' in text


# --- OpenAPI ---------------------------------------------------------------------------------------------------

def test_openapi_is_valid_and_typed_from_the_contracts(http):
    response = http.get("/openapi.json")
    assert response.status_code == 200 and response.headers[VERSION_HEADER] == "1"
    doc = response.json()
    validate(doc)
    assert doc["openapi"].startswith("3.1") and doc["x-weights-bundle-version"] == "1"
    paths = doc["paths"]
    for model, (verb, _) in REQUESTS.items():
        assert f"/v1/models/{model}/{verb}" in paths
    schemas = doc["components"]["schemas"]
    fraud = schemas["fraud_risk.request"]["properties"]
    assert fraud["order_amount"]["type"] == "number"
    assert (fraud["order_amount"]["minimum"], fraud["order_amount"]["maximum"]) == (0, 50000)
    assert fraud["account_age_days"]["type"] == "integer" and fraud["country_mismatch"]["type"] == "boolean"
    assert "card" in fraud["payment_method"]["enum"] and "EUR" in fraud["order_amount"]["description"]
    result = schemas["fraud_risk.result"]["properties"]
    assert result["decision"]["enum"] == ["approve", "decline", "review"]
    assert "R02_NEW_ACCOUNT" in result["reasons"]["items"]["enum"]
    ranking = schemas["search_ranking.request"]
    assert ranking["required"] == ["items"]
    assert ranking["properties"]["items"]["items"]["properties"]["brand_tier"]["enum"][0] == "house"
    assert schemas["homepage_hero.result"]["properties"]["arm"]["enum"][0].startswith("hero_")
    assert "bargain_hunters" in schemas["customer_segments.result"]["properties"]["segment"]["enum"]
    operation = paths["/v1/models/fraud_risk/score"]["post"]
    assert {"200", "400", "404", "413", "415", "422", "503"} <= set(operation["responses"])


def test_openapi_without_contracts_lists_models_untyped(live):
    with TestClient(create_app(live)) as http:
        doc = http.get("/openapi.json").json()
    validate(doc)
    assert doc["components"]["schemas"]["fraud_risk.request"]["properties"] == {}


def test_the_openapi_document_validates_real_answers(http):
    """Every answer above matches its schema in the document (jsonschema over the components)."""
    import jsonschema

    doc = http.get("/openapi.json").json()
    components = doc["components"]["schemas"]
    registry_doc = {"components": {"schemas": components}}
    for model, (verb, request) in REQUESTS.items():
        for name, body in ((f"{model}.request", request), (f"{model}.batch", {"requests": [request]})):
            jsonschema.validate(body, {"$ref": f"#/components/schemas/{name}", **registry_doc})
        answer = http.post(f"/v1/models/{model}/{verb}", json=request).json()
        jsonschema.validate(answer, {"$ref": f"#/components/schemas/{model}.result", **registry_doc})
    problem = http.post("/v1/models/fraud_risk/score", json=[]).json()
    jsonschema.validate(problem, {"$ref": "#/components/schemas/Problem", **registry_doc})


def test_limits_are_checked():
    with pytest.raises(ValueError, match="max_batch"):
        AgentLimits(max_batch=0)
    assert AgentLimits().parse_limits.max_depth == AgentLimits().max_depth


def test_agent_without_its_extra_names_it(monkeypatch, capsys):
    """An install without uvicorn (no [agent] extra): one line naming weights[agent], exit 2."""
    from validator.cli import main

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # what a missing module looks like to import
    with pytest.raises(SystemExit) as exited:
        main(["agent", "--url", "http://127.0.0.1:9/", "--root", "root.json", "--cache-dir", "cache"])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "weights[agent]" in err and "uvicorn" in err and "Traceback" not in err


JSON_TEXT_LEAVES = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e400", "1" + "0" * 308,
                                    "1" + "0" * 309, "-" + "9" * 400, "1.5e308", "0", "-0.0", "true", "null",
                                    '"x"', str(2**53 + 1)])


def _texts() -> st.SearchStrategy[str]:
    """JSON texts (and near-JSON: Python's NaN/Infinity literals, huge numbers, deep nesting)."""
    leaf = JSON_TEXT_LEAVES | JSON_VALUES.map(json.dumps)
    nested = st.recursive(leaf, lambda inner: st.lists(inner, max_size=3).map(lambda xs: "[" + ",".join(xs) + "]")
                          | st.lists(inner, max_size=3).map(
                              lambda xs: "{" + ",".join(f'"k{i}":{x}' for i, x in enumerate(xs)) + "}"),
                          max_leaves=15)
    deep = st.integers(1, 30).map(lambda n: "[" * n + "1" + "]" * n)
    return nested | deep


@given(text=_texts())
def test_the_fast_parse_accepts_exactly_what_parse_request_accepts(text):
    """parse_body's json.loads + walk, against the runtime's parse_request on the same limits."""
    from validator.agent.body import parse_body
    from validator.agent.problems import Problem
    from validator.kinds.base import InputError
    from validator.kinds.inputs import parse_request

    limits = AgentLimits(max_depth=12)
    try:
        expected: Any = ("ok", parse_request(text, "m", limits.parse_limits))
    except InputError:
        expected = "refused"
    try:
        got: Any = ("ok", parse_body(text.encode(), limits, "m"))
    except Problem:
        got = "refused"
    assert got == expected


@pytest.mark.parametrize(("path", "slug"), [
    ("/v1/models/%F0%9F%92%A5/score", "unknown-model"), ("/v1/models/" + "m" * 10_000 + "/score", "unknown-model"),
    ("/v1/models/fraud_risk%00/score", "unknown-model"),
    ("/v1/models/..%2Ffraud_risk/score", "not-found"),  # the decoded slash makes it another path
])
def test_odd_model_names_in_the_url_are_problems(http, path, slug):
    doc = problem_of(http.post(path, json=ORDER), 404, slug)
    assert len(doc.get("model", "")) <= 200 and len(doc["detail"]) < 2000


def test_a_shadowing_agent_samples_the_requests_it_answers(tmp_path):
    """The agent answers from the snapshot it took once, yet through the client's shadow taps: every request of
    a batch is sampled at shadow=1, and the answers are the live bundle's."""
    site = Site(tmp_path / "site")
    site.publish(document(1))
    tuf_repo.publish(site.storage, site.root, site.keys.source(), bundle_of(document(2)), "shadow", site.expiry)
    with served(site.folder) as server:
        client = WeightsClient(server.url, site.root, tmp_path / "cache", contract=app_contracts(), interval=3600,
                               shadow=1.0)
        with client, TestClient(create_app(client, contracts=app_contracts())) as http:
            assert client.wait_ready(WAIT)
            wait_for(lambda: client.status().shadow.active, "the shadow source loaded")
            single = http.post("/v1/models/fraud_risk/score", json=ORDER)
            batch = http.post("/v1/models/fraud_risk/score", json={"requests": [ORDER, ORDER]})
            assert single.status_code == 200 and batch.status_code == 200
            assert batch.json()["version"] == client.version
            assert client.shadow is not None and client.shadow.wait_idle(WAIT)
            (count,) = [c for c in client.shadow.counts() if c.model == "fraud_risk"]
            assert (count.requests, count.dropped, count.errors) == (3, 0, 0)
            assert count.candidate_version != count.live_version == client.version
            status = http.get("/v1/status").json()
            assert status["shadow"]["active"] is True
