"""``weights agent``: the HTTP scoring service around one ``WeightsClient`` (extra ``[agent]``).

An app in any language runs the agent beside itself and calls ``POST /v1/models/<name>/<verb>``; the agent
polls, verifies and hot-reloads exactly like an embedded ``WeightsClient`` because it *is* one, behind a
Starlette app served by uvicorn. The modules, by what they decide:

* ``limits``   — every bound a request meets (body bytes, nesting, batch length), with its default and why;
* ``problems`` — RFC 9457 ``application/problem+json`` answers: one exception type, one renderer;
* ``body``     — reading a body under the byte limit and parsing it with the runtime's own ``parse_request``;
* ``verbs``    — how an HTTP request object becomes a kind's call, and its result a JSON object;
* ``openapi``  — the OpenAPI 3.1 document, typed from the app's contracts and the served models' kinds;
* ``metrics``  — Prometheus series of the requests (next to the client's own reload series);
* ``app``      — the Starlette application (routes, probes, status);
* ``server``   — the process: the client, uvicorn on a socket we bind, clean shutdown on SIGTERM/SIGINT.

Nothing under ``validator.runtime`` imports this package, so an app that embeds ``WeightsClient`` never pays
for Starlette, uvicorn or prometheus-client.
"""
from __future__ import annotations

from validator.agent.limits import AgentLimits

__all__ = ["AgentLimits"]
