"""The operations of the HTTP API: how a request object becomes a kind's call, and its result JSON.

Each kind names its verb (``validator.kinds.base.Kind.verb``: score, rank, choose, assign, lookup) and its
``call(evaluator, request)``; this table adds only what HTTP needs on top: every request is a JSON *object*
(a ranking's candidates go in ``{"items": [...]}``, a bandit's optional seed in ``{"seed": N}``) so that one
request and a batch (``{"requests": [...]}``) are told apart the same way for every kind, and the OpenAPI
schemas of the request and the result. The result records (``validator.kinds.results``) become JSON through
their ``_asdict()``. A new kind with a new verb adds one entry here (tests/test_agent.py checks that every
registered kind's verb has one).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from validator.agent.problems import Problem
from validator.kinds.contract import SEGMENT_IDS_OUTPUT
from validator.kinds.inputs import REQUEST_LIMITS

Schema = dict[str, Any]
# contract output field (decisions, reasons, variants, segments) -> the values the app accepts
Outputs = Mapping[str, frozenset[str]]


def _as_is(model: str, request: dict[str, Any]) -> Any:
    return request


def _items(model: str, request: dict[str, Any]) -> Any:
    if "items" not in request:
        raise Problem("invalid-input", f"model {model!r}: a ranking request is {{\"items\": [...]}}, a list of "
                      "candidate objects; the request has no items", model=model, input="items")
    items = request["items"]
    if not isinstance(items, list):
        raise Problem("invalid-input", f"model {model!r}: items must be a list of candidate objects, got "
                      f"{_json_type(items)}", model=model, input="items")
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise Problem("invalid-input", f"model {model!r}: items[{position}] must be an object of input name "
                          f"to value, got {_json_type(item)}", model=model, input="items")
    return items


def _seed(model: str, request: dict[str, Any]) -> Any:
    seed = request.get("seed")
    if seed is not None and (type(seed) is not int):
        raise Problem("invalid-input", f"model {model!r}: seed must be an integer (or left out for a random "
                      f"draw), got {_json_type(seed)}", model=model, input="seed")
    return request


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _enum(values: frozenset[str] | None) -> Schema:
    return {"type": "string", "enum": sorted(values)} if values else {"type": "string"}


def _result(properties: Schema, required: list[str]) -> Schema:
    return {"type": "object", "required": [*required, "model", "version"],
            "properties": {**properties, "model": {"type": "string"},
                           "version": {"type": ["string", "null"],
                                       "description": "The bundle version that answered."}}}


def _inputs_object(inputs: Schema) -> Schema:
    return {"type": "object", "properties": inputs, "additionalProperties": True,
            "description": "Input name to value. Leave out an input the app does not have: the model's policy "
                           "(reject or a default) decides."}


@dataclass(frozen=True)
class Verb:
    """One operation: its request adapter and the OpenAPI schemas of its request and result."""

    name: str
    summary: str
    # (model name, the request object) -> the request the kind's ``call`` takes; raises Problem
    adapt: Callable[[str, dict[str, Any]], Any]
    # the schema of one request, from the schema of an inputs object
    request_schema: Callable[[Schema], Schema]
    # the schema of one result, from the inputs object's schema and the outputs the contract accepts
    result_schema: Callable[[Schema, Outputs], Schema]


VERBS: dict[str, Verb] = {v.name: v for v in (
    Verb("score", "Score one request (or a batch): the value, the decision band and the top reason codes.",
         _as_is, lambda inputs: inputs,
         lambda inputs, out: _result({
             "value": {"type": "number"}, "decision": _enum(out.get("decisions")),
             "reasons": {"type": "array", "items": _enum(out.get("reasons"))}}, ["value", "decision", "reasons"])),
    Verb("rank", "Rank candidate items (or a batch of candidate sets) by the model's weighted features.",
         _items,
         lambda inputs: {"type": "object", "required": ["items"], "properties": {
             "items": {"type": "array", "items": inputs, "maxItems": REQUEST_LIMITS.max_items}}},
         lambda inputs, out: _result({"items": {"type": "array", "items": {
             "type": "object", "required": ["item", "score", "rank"],
             "properties": {"item": inputs, "score": {"type": "number"},
                            "rank": {"type": "integer", "minimum": 1}}}}}, ["items"])),
    Verb("choose", "Choose a variant for one visitor (or a batch) by Thompson sampling.",
         _seed,
         lambda inputs: {"type": "object", "properties": {"seed": {
             "type": "integer", "description": "Fixes the draw (tests); leave it out in production."}}},
         lambda inputs, out: _result({"arm": _enum(out.get("variants")), "holdout": {"type": "boolean"}},
                                     ["arm", "holdout"])),
    Verb("assign", "Assign one request (or a batch) to the nearest segment and its variant.",
         _as_is, lambda inputs: inputs,
         lambda inputs, out: _result({
             "segment": _enum(out.get(SEGMENT_IDS_OUTPUT)), "variant": _enum(out.get("variants")),
             "distance": {"type": "number"}, "fallback": {"type": "boolean"}},
             ["segment", "variant", "distance", "fallback"])),
    Verb("lookup", "Look up the row of a keyed table for one request (or a batch).",
         _as_is, lambda inputs: inputs,
         lambda inputs, out: _result({"values": {"type": "object", "additionalProperties": True},
                                      "found": {"type": "boolean"}}, ["values", "found"])),
)}


def plain(result: Any) -> Any:
    """A result record as a JSON-ready dict.

    ``json`` writes a tuple as an array, which is right for a tuple of reason codes and wrong for a named
    tuple: so only a field holding records (a ranking's items) is walked, the rest is taken as it is.
    """
    fields = result._asdict()
    for key, value in fields.items():
        if type(value) is tuple and value and hasattr(value[0], "_asdict"):
            fields[key] = [plain(item) for item in value]
    return fields



def inputs_schema(inputs: Schema) -> Schema:
    """The schema of an object of inputs (the properties typed from a contract)."""
    return _inputs_object(inputs)
