"""The Starlette application of ``weights agent``: model operations, probes, status, metrics, OpenAPI.

``create_app(client, ...)`` builds it around one ``WeightsClient`` (tests build it around a client of their
own and drive it with Starlette's TestClient; ``validator.agent.server`` serves it with uvicorn). A request
reads ``client.snapshot`` once, so a batch is answered from one bundle even while a reload swaps the next one
in, and the version in the answer is the version that computed it.

What a request can get wrong is a ``Problem`` (4xx ``application/problem+json``); what the agent gets wrong is
logged with its traceback and answered as a 500 problem that says nothing more (no internals to a client).
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from validator import __version__
from validator.agent.body import check_media_type, declared_length, parse_body, receive_limited
from validator.agent.limits import DEFAULT_LIMITS, AgentLimits
from validator.agent.metrics import OTHER, AgentMetrics, new_registry
from validator.agent.openapi import build_document
from validator.agent.problems import MEDIA_TYPE, VERSION_HEADER, Problem
from validator.agent.verbs import VERBS, Verb, plain
from validator.kinds import KINDS, Kind
from validator.kinds.base import InputError
from validator.kinds.contract import Contract
from validator.kinds.inputs import shown
from validator.runtime import Snapshot, WeightsClient

log = logging.getLogger("validator.agent")

_MAX_NAME_SHOWN = 200  # a model name from the URL, as echoed in a problem's "model" member


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
JSON = "application/json"


def _dumps(doc: Any) -> bytes:
    return _ENCODER.encode(doc).encode("utf-8")


def _path(scope: Scope) -> str:
    return scope.get("root_path", "") + scope["path"]


async def _send(send: Send, status: int, body: bytes, media_type: str, version: str | None,
                headers: dict[str, str] | None = None) -> None:
    """One whole response on the ASGI interface (no Response object: this is the request path)."""
    raw = [(b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode())]
    if version is not None:
        raw.append((b"weights-version", version.encode()))
    for key, value in (headers or {}).items():
        raw.append((key.lower().encode("latin-1"), value.encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class Operations:
    """The model route as a plain ASGI endpoint rather than a Starlette request handler.

    Starlette calls an endpoint that is not a function with (scope, receive, send) directly; this route is the
    agent's request path, and building a ``Request`` and a ``Response`` (header objects, a body stream, an
    exception-wrapping layer) cost more than scoring the request. The other routes are ordinary handlers.
    """

    def __init__(self, agent: "Agent") -> None:
        self.agent = agent

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.agent.evaluate(scope, receive, send)


class Agent:
    """The handlers and what they share: the client, the contracts, the limits and the metrics."""

    def __init__(self, client: WeightsClient, contracts: Iterable[Contract], limits: AgentLimits,
                 registry: CollectorRegistry) -> None:
        self.client = client
        self.contracts = tuple(contracts)
        self.limits = limits
        self.registry = registry
        self.metrics = AgentMetrics(registry, lambda: client.status().serving)
        self._openapi: tuple[str, bytes] | None = None  # (bundle sha256, document bytes)

    # --- responses --------------------------------------------------------------------------------------

    @staticmethod
    def json(doc: Any, version: str | None, status: int = 200) -> Response:
        headers = {VERSION_HEADER: version} if version is not None else None
        return Response(_dumps(doc), status, headers, media_type="application/json")

    @staticmethod
    def problem(problem: Problem, request: Request, version: str | None) -> Response:
        headers = dict(problem.headers)
        if version is not None:
            headers[VERSION_HEADER] = version
        return Response(problem.body(request.url.path, version), problem.status, headers, media_type=MEDIA_TYPE)

    def version(self) -> str | None:
        return self.client.version

    # --- model operations -------------------------------------------------------------------------------

    async def evaluate(self, scope: Scope, receive: Receive, send: Send) -> None:
        """POST /v1/models/{name}/{verb}, on the ASGI interface itself (see ``Operations``)."""
        started = time.perf_counter()
        params = scope["path_params"]
        name: str = params["name"]
        snap = self.client.snapshot  # once: the whole request is answered from this bundle
        version = snap.version if snap is not None else None
        verb = VERBS.get(params["verb"])
        if verb is None:
            problem = Problem("unknown-verb", f"no operation {shown(params['verb'])}; POST "
                              f"/v1/models/<name>/<operation> with one of: {', '.join(VERBS)}",
                              model=name[:_MAX_NAME_SHOWN])
            await _send(send, problem.status, problem.body(_path(scope), version), MEDIA_TYPE, version)
            return
        label, code = OTHER, 500
        try:
            if snap is None:
                raise Problem("not-ready", "the agent has not loaded a weights bundle yet (see GET /v1/status); "
                              "retry, or wait for GET /readyz to answer 200", model=name[:_MAX_NAME_SHOWN],
                              headers={"Retry-After": "1"})
            if name not in snap.models:
                raise Problem("unknown-model", f"no model {shown(name)} in bundle version {snap.version}; models: "
                              f"{', '.join(sorted(snap.models)) or 'none'}", model=name[:_MAX_NAME_SHOWN])
            label = name
            evaluator = self.client.evaluator(snap, name)  # shadow-tapped when the client shadows
            kind = KINDS[evaluator.kind]
            if kind.verb != verb.name:
                raise Problem("wrong-verb", f"model {name!r} is a {kind.name} model and answers "
                              f"POST /v1/models/{name}/{kind.verb}, not {verb.name}", model=name)
            content_type = content_length = None
            for key, value in scope["headers"]:
                if key == b"content-type":
                    content_type = value.decode("latin-1")
                elif key == b"content-length":
                    content_length = value.decode("latin-1")
            check_media_type(content_type, name)
            declared_length(content_length, self.limits, name)
            data = await receive_limited(receive, self.limits, name)
            payload = parse_body(data, self.limits, name)
            if len(data) > self.limits.offload_bytes:
                body, batch = await run_in_threadpool(self.answer, snap, evaluator, kind, verb, name, payload)
            else:
                body, batch = self.answer(snap, evaluator, kind, verb, name, payload)
            if batch is not None:
                self.metrics.batch.observe(batch)  # here, on the loop's thread (see validator.agent.metrics)
            code = 200
            await _send(send, 200, body, JSON, snap.version)
        except Problem as problem:
            code = problem.status
            await _send(send, code, problem.body(_path(scope), version), MEDIA_TYPE, version, problem.headers)
        except Exception:  # noqa: BLE001 - a bug of ours: logged in full, answered without internals
            log.exception("weights agent: unexpected error answering POST %s", _path(scope))
            failure = Problem("internal", "the agent failed to answer this request; its log has the details",
                              model=name[:_MAX_NAME_SHOWN])
            await _send(send, 500, failure.body(_path(scope), version), MEDIA_TYPE, version)
        finally:
            self.metrics.observe(label, verb.name, code, time.perf_counter() - started)

    def answer(self, snap: Snapshot, evaluator: Any, kind: Kind, verb: Verb, name: str,
               payload: Any) -> tuple[bytes, int | None]:
        """The response body for one request or a batch, all from ``snap`` (``evaluator`` is its model ``name``),
        and the batch's length (None for one request). Runs on the loop or in a worker thread: it touches nothing
        shared."""
        if not isinstance(payload, dict):
            raise Problem("bad-shape", f"the body must be a JSON object (one request, or {{\"requests\": [...]}} "
                          f"for a batch), got {shown(payload)}", model=name)
        if "requests" in payload:
            requests = payload["requests"]
            if not isinstance(requests, list):
                raise Problem("bad-shape", "requests must be a list of request objects", model=name,
                              input="requests")
            if len(requests) > self.limits.max_batch:
                raise Problem("batch-too-long", f"the batch holds {len(requests):,} requests, over the limit of "
                              f"{self.limits.max_batch:,}; split it", model=name, input="requests")
            results = [self.one(evaluator, kind, verb, name, item, index) for index, item in enumerate(requests)]
            return _dumps({"model": name, "version": snap.version, "results": results}), len(requests)
        return _dumps(self.one(evaluator, kind, verb, name, payload, None)), None

    def one(self, evaluator: Any, kind: Kind, verb: Verb, name: str, request: Any, index: int | None) -> Any:
        where = f"requests[{index}]" if index is not None else "the request"
        if not isinstance(request, dict):
            raise Problem("bad-shape", f"{where} must be a JSON object of input name to value, got "
                          f"{shown(request)}", model=name, index=index)
        try:
            result = kind.call(evaluator, verb.adapt(name, request))
        except InputError as exc:
            raise Problem("invalid-input", str(exc), model=name, input=exc.input_name, index=index) from None
        except Problem as problem:
            problem.index = index
            raise
        return plain(result)

    # --- service endpoints ------------------------------------------------------------------------------

    async def status(self, request: Request) -> Response:
        status = self.client.status()
        snap = self.client.snapshot
        served = {name: KINDS[m.kind].verb for name, m in sorted(snap.models.items())} if snap is not None else {}
        doc = {**status.to_dict(), "agent": {
            "version": __version__, "contracts": [c.name for c in self.contracts], "operations": served,
            "limits": {"max_body_bytes": self.limits.max_body_bytes, "max_batch": self.limits.max_batch,
                       "max_depth": self.limits.max_depth}}}
        return self.json(doc, status.version)

    async def healthz(self, request: Request) -> Response:
        return self.json({"alive": True}, self.version())

    async def readyz(self, request: Request) -> Response:
        status = self.client.status()
        doc = {"ready": status.serving, "state": status.state.value, "version": status.version}
        if not status.serving:
            doc["last_error"] = status.last_error
        return self.json(doc, status.version, 200 if status.serving else 503)

    async def metrics_text(self, request: Request) -> Response:
        headers = {VERSION_HEADER: v} if (v := self.version()) is not None else None
        return Response(generate_latest(self.registry), 200, headers, media_type=CONTENT_TYPE_LATEST)

    async def openapi(self, request: Request) -> Response:
        snap = self.client.snapshot
        if snap is None:
            return self.problem(Problem("not-ready", "the OpenAPI document lists the served bundle's models; no "
                                        "bundle is served yet (see GET /v1/status)", headers={"Retry-After": "1"}),
                                request, None)
        cached = self._openapi
        if cached is None or cached[0] != snap.sha256:
            document = build_document(self.contracts, {n: m.kind for n, m in snap.models.items()}, snap.version,
                                      self.limits)
            cached = self._openapi = (snap.sha256, json.dumps(document, indent=2, ensure_ascii=False).encode())
        return Response(cached[1], 200, {VERSION_HEADER: snap.version}, media_type="application/json")

    async def http_error(self, request: Request, exc: Exception) -> Response:
        """Starlette's own 404 (no route) and 405 (wrong method) as problems too."""
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status == 405:
            allow = (exc.headers or {}).get("Allow", "") if isinstance(exc, HTTPException) else ""
            problem = Problem("method-not-allowed", f"{request.method} is not allowed here; use {allow or 'GET'}",
                              headers={"Allow": allow} if allow else {})
        elif status == 404:
            problem = Problem("not-found", f"no resource at {shown(request.url.path)}; the operations are "
                              "POST /v1/models/<name>/<operation>, and GET /v1/status, /healthz, /readyz, "
                              "/metrics, /openapi.json")
        else:
            problem = Problem("bad-shape", "the request could not be read")
        return self.problem(problem, request, self.version())


def create_app(client: WeightsClient, *, contracts: Iterable[Contract] = (), limits: AgentLimits = DEFAULT_LIMITS,
               registry: CollectorRegistry | None = None, manage_client: bool = False) -> Starlette:
    """The agent's ASGI app around ``client``.

    contracts: the app's contracts (the same the client checks bundles against): they type /openapi.json.
    registry: where /metrics reads (pass the registry the client records its reload metrics in; default: a new
        one with the process collector).
    manage_client: start the client when the app starts and stop it when the app stops (the server does;
        a test that owns its client does not).
    """
    agent = Agent(client, contracts, limits, registry if registry is not None else new_registry())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_client:
            client.start()
        try:
            yield
        finally:
            if manage_client:
                await run_in_threadpool(client.stop)

    routes = [
        Route("/v1/models/{name}/{verb}", Operations(agent), methods=["POST"]),
        Route("/v1/status", agent.status, methods=["GET"]),
        Route("/healthz", agent.healthz, methods=["GET"]),
        Route("/readyz", agent.readyz, methods=["GET"]),
        Route("/metrics", agent.metrics_text, methods=["GET"]),
        Route("/openapi.json", agent.openapi, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: agent.http_error})
    app.state.agent = agent
    return app
