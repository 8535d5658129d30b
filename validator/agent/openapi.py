"""The OpenAPI 3.1 document of an agent, generated from the app's contracts and the served models' kinds.

Why both: the contracts the agent was built against (``--contract``) are the typed promise — each input's JSON
type, range, allowed categories and unit, each model's decisions, reason codes, variants and segments; but a
contract does not say which *kind* a model is (so which operation it answers), and only the served bundle
does. So the document lists every model of the served bundle under its kind's verb, types the request from
the model's contract (every input of it: which of them a model reads is its own business and may change with
a publish, the contract may not), and types the result from the kind's result record with the contract's
accepted outputs as enums. A model no contract names is still listed, with an untyped inputs object.

The document changes only when the served bundle does; the app caches it per bundle version.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from validator import __version__
from validator.agent.limits import AgentLimits
from validator.agent.problems import MEDIA_TYPE, PROBLEMS, VERSION_HEADER
from validator.agent.verbs import VERBS, Schema, inputs_schema
from validator.kinds import KINDS
from validator.kinds.contract import Contract, InputDecl

OPENAPI_VERSION = "3.1.0"
_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]")


def input_schema(decl: InputDecl) -> Schema:
    """One contract input as JSON Schema: its type, range or categories, and its description with the unit."""
    schema: Schema
    if decl.type in ("number", "integer"):
        schema = {"type": decl.type}
        if decl.min is not None:
            schema["minimum"] = int(decl.min) if decl.type == "integer" else decl.min
        if decl.max is not None:
            schema["maximum"] = int(decl.max) if decl.type == "integer" else decl.max
    elif decl.type == "boolean":
        schema = {"type": "boolean"}
    elif decl.type == "category" and decl.values:
        schema = {"type": "string", "enum": list(decl.values)}
    else:
        schema = {"type": "string"}
    text = decl.description.strip()
    if decl.unit:
        text = f"{text} (unit: {decl.unit})" if text else f"unit: {decl.unit}"
    if text:
        schema["description"] = text
    return schema


def _contract_of(model: str, contracts: Iterable[Contract]) -> Contract | None:
    return next((c for c in contracts if model in c.models), None)


def _component_names(models: Iterable[str]) -> dict[str, str]:
    """Model name -> a component name OpenAPI accepts (``^[A-Za-z0-9._-]+$``), unique."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for model in models:
        base = _NAME_CHARS.sub("_", model) or "model"
        name, n = base, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        names[model] = name
    return names


def _problem_schema() -> Schema:
    return {"type": "object", "required": ["type", "title", "status", "detail", "instance", "version"],
            "description": "RFC 9457 problem details.",
            "properties": {
                "type": {"type": "string", "format": "uri-reference",
                         "enum": sorted(f"urn:weights:problem:{slug}" for slug in PROBLEMS)},
                "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"},
                "instance": {"type": "string", "format": "uri-reference"},
                "model": {"type": "string", "description": "The model the request addressed."},
                "input": {"type": "string", "description": "The input at fault."},
                "index": {"type": "integer", "description": "The position of the refused request in a batch."},
                "version": {"type": ["string", "null"], "description": "The bundle version served."}}}


def _problem_responses(statuses: Iterable[int]) -> dict[str, Any]:
    titles: dict[int, list[str]] = {}
    for status, title in PROBLEMS.values():
        titles.setdefault(status, []).append(title)
    return {str(status): {"description": "; ".join(titles[status]),
                          "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for status in statuses}


def _version_header() -> dict[str, Any]:
    return {VERSION_HEADER: {"description": "The version of the weights bundle that answered (absent before the "
                                            "first bundle is served).", "schema": {"type": "string"}}}


def _json_response(description: str, schema: Schema) -> dict[str, Any]:
    return {"description": description, "headers": _version_header(),
            "content": {"application/json": {"schema": schema}}}


def build_document(contracts: Iterable[Contract], served: Mapping[str, str], version: str | None,
                   limits: AgentLimits) -> dict[str, Any]:
    """The document for the models ``served`` (model name -> kind name) typed by ``contracts``."""
    contracts = tuple(contracts)
    components: dict[str, Schema] = {"Problem": _problem_schema()}
    paths: dict[str, Any] = {}
    names = _component_names(sorted(served))
    for model in sorted(served):
        kind = KINDS.get(served[model])
        if kind is None or kind.verb not in VERBS:
            continue
        verb = VERBS[kind.verb]
        contract = _contract_of(model, contracts)
        props = {n: input_schema(d) for n, d in sorted(contract.inputs.items())} if contract is not None else {}
        inputs = inputs_schema(props)
        outputs = contract.outputs.get(model, {}) if contract is not None else {}
        c = names[model]
        request = verb.request_schema(inputs)
        result = verb.result_schema(inputs, outputs)
        components[f"{c}.request"] = request
        components[f"{c}.result"] = result
        components[f"{c}.batch"] = {
            "type": "object", "required": ["requests"], "properties": {"requests": {
                "type": "array", "maxItems": limits.max_batch, "items": {"$ref": f"#/components/schemas/{c}.request"}}}}
        components[f"{c}.batch_result"] = {
            "type": "object", "required": ["model", "version", "results"], "properties": {
                "model": {"type": "string"}, "version": {"type": ["string", "null"]},
                "results": {"type": "array", "items": {"$ref": f"#/components/schemas/{c}.result"}}}}
        where = f" (contract {contract.name!r}, app {contract.app!r})" if contract is not None else \
            " (no contract of this agent names it: its inputs are not typed)"
        paths[f"/v1/models/{quote(model, safe='')}/{verb.name}"] = {"post": {
            "operationId": f"{verb.name}_{c.replace('.', '_').replace('-', '_')}",
            "summary": f"{model}: {verb.summary}",
            "description": f"Model {model!r} is a {kind.name}{where}. The body is one request or "
                           f'{{"requests": [...]}} (at most {limits.max_batch}); a batch is answered from one '
                           "bundle, in order.",
            "tags": ["models"],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"anyOf": [
                {"$ref": f"#/components/schemas/{c}.request"}, {"$ref": f"#/components/schemas/{c}.batch"}]}}}},
            "responses": {
                "200": _json_response("The result (or the batch's results, in order).", {"anyOf": [
                    {"$ref": f"#/components/schemas/{c}.result"},
                    {"$ref": f"#/components/schemas/{c}.batch_result"}]}),
                **_problem_responses((400, 404, 413, 415, 422, 503)),
            }}}
    paths.update(_service_paths())
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "weights agent", "version": __version__,
                 "description": "Scores, rankings, choices, segment assignments and table lookups from the "
                                "published weights bundle, verified and hot-reloaded by the agent. Generated "
                                f"from the app's contracts and the served bundle (version {version})."},
        "x-weights-bundle-version": version,
        "paths": paths,
        "components": {"schemas": components},
    }


def _service_paths() -> dict[str, Any]:
    plain_json = {"type": "object", "additionalProperties": True}
    return {
        "/v1/status": {"get": {"operationId": "status", "summary": "The client's state, bundle and last error.",
                               "tags": ["service"], "responses": {"200": _json_response("Status", plain_json)}}},
        "/healthz": {"get": {"operationId": "healthz", "summary": "Liveness: the process answers.",
                             "tags": ["service"], "responses": {"200": _json_response("Alive", plain_json)}}},
        "/readyz": {"get": {"operationId": "readyz", "summary": "Readiness: a bundle is served (READY or STALE).",
                            "tags": ["service"], "responses": {
                                "200": _json_response("Serving", plain_json),
                                "503": _json_response("Nothing served yet", plain_json)}}},
        "/metrics": {"get": {"operationId": "metrics", "summary": "Prometheus metrics (text exposition format).",
                             "tags": ["service"], "responses": {"200": {
                                 "description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
        "/openapi.json": {"get": {"operationId": "openapi", "summary": "This document.", "tags": ["service"],
                                  "responses": {"200": _json_response("OpenAPI 3.1", plain_json),
                                                **_problem_responses((503,))}}},
    }
