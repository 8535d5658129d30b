"""A request body read under the byte limit and parsed by the runtime's own request parser.

The limit holds before the body is in memory: a Content-Length over it is refused without reading a byte, and
a body sent without one (chunked) is counted while it streams in and refused the moment it passes the bound.
Parsing follows ``validator.kinds.inputs.parse_request`` (what ``weights eval`` uses): finite numbers only,
integers no larger than a float can hold, nesting bounded. Its JSON hooks call Python for every number and
build a decoder per call, a fifth of a small request's time in the agent; so a body is first parsed by
``json.loads`` alone and walked once (depth, finite floats, integer size). Whatever that finds wrong, or
cannot parse, goes through ``parse_request`` itself, whose ``InputError`` becomes the problem: the two
accept exactly the same texts (``tests/test_agent.py`` holds them to it), and the messages are the runtime's.
"""
from __future__ import annotations

import json
import sys
from typing import Any

from starlette.types import Receive

from validator.agent.limits import AgentLimits
from validator.agent.problems import Problem
from validator.kinds.base import InputError
from validator.kinds.inputs import parse_request

_JSON_TYPES = ("application/json",)


def check_media_type(content_type: str | None, model: str) -> None:
    """JSON bodies only: ``application/json`` or any ``application/*+json`` (parameters such as charset ignored);
    a request without a Content-Type is taken as JSON, as curl and most HTTP libraries send one anyway."""
    if not content_type or content_type == "application/json":
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if media in _JSON_TYPES or (media.startswith("application/") and media.endswith("+json")):
        return
    raise Problem("unsupported-media-type", f"the body is {media or 'untyped'}; send JSON with "
                  "Content-Type: application/json", model=model)


def declared_length(raw: str | None, limits: AgentLimits, model: str) -> int | None:
    """The Content-Length the client declared (None without one); over the limit is refused before reading."""
    if raw is None:
        return None
    try:
        length = int(raw)
    except ValueError:
        raise Problem("bad-shape", f"Content-Length {raw[:40]!r} is not a number", model=model) from None
    if length > limits.max_body_bytes:
        raise too_large(length, limits, model)
    return length


def too_large(size: int, limits: AgentLimits, model: str, at_least: bool = False) -> Problem:
    more = "at least " if at_least else ""
    return Problem("too-large", f"the body is {more}{size:,} bytes, over the limit of {limits.max_body_bytes:,}; "
                   "send a shorter batch, or score large sets offline with weights score", model=model)


async def receive_limited(receive: Receive, limits: AgentLimits, model: str) -> bytes:
    """The whole body from the ASGI ``receive``, refused as soon as it passes ``limits.max_body_bytes``
    (whatever Content-Length said)."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Problem("bad-shape", "the client disconnected before the body was complete", model=model)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limits.max_body_bytes:
            raise too_large(size, limits, model, at_least=True)
        parts.append(chunk)
        if not message.get("more_body", False):
            return parts[0] if len(parts) == 1 else b"".join(parts)


def parse_body(data: bytes, limits: AgentLimits, model: str) -> Any:
    """The JSON value of a body, or the problem that says what is wrong with it."""
    if not data or data.isspace():
        raise Problem("not-json", "the body is empty; send a JSON object", model=model)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem("not-json", f"the body is not UTF-8 text: {exc.reason} at byte {exc.start}",
                      model=model) from None
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        pass  # parse_request below says what is wrong
    else:
        if acceptable(payload, limits.max_depth):
            return payload
    try:
        return parse_request(text, model, limits.parse_limits)
    except InputError as exc:
        # parse_request's messages name what is wrong; depth is its own class (a client bug of another kind
        # than a typo in the JSON), everything else it refuses is text that is not acceptable JSON.
        slug = "too-deep" if "nests deeper" in exc.problem else "not-json"
        raise Problem(slug, exc.problem, model=model) from None


_FLOAT_MAX_INT = int(sys.float_info.max)  # the largest integer that is a finite float


def acceptable(value: Any, max_depth: int) -> bool:
    """Whether ``json.loads``' ``value`` is what ``parse_request`` accepts: containers nested at most
    ``max_depth`` deep, every float finite (json.loads turns NaN, Infinity and 1e999 into non-finite floats),
    every integer within a float's range. One iterative walk: no recursion for a hostile depth to exhaust."""
    if type(value) is float:
        return value - value == 0.0  # false for inf and NaN
    if type(value) is int:
        return -_FLOAT_MAX_INT <= value <= _FLOAT_MAX_INT
    if type(value) is not dict and type(value) is not list:
        return True
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            return False
        for child in (item.values() if type(item) is dict else item):
            kind = type(child)
            if kind is float:
                if child - child != 0.0:
                    return False
            elif kind is int:
                if not -_FLOAT_MAX_INT <= child <= _FLOAT_MAX_INT:
                    return False
            elif kind is dict or kind is list:
                stack.append((child, depth + 1))
    return True
