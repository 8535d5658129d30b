"""A request body read under the byte limit and parsed by the runtime's own request parser.

The limit holds before the body is in memory: a Content-Length over it is refused without reading a byte, and
a body sent without one (chunked) is counted while it streams in and refused the moment it passes the bound.
Parsing is ``validator.kinds.inputs.parse_request`` (what ``weights eval`` uses): finite numbers only, integer
literals no longer than a float can hold, and nesting bounded before ``json`` could recurse into a
RecursionError. Its ``InputError`` becomes a problem of the matching class here.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from validator.agent.limits import AgentLimits
from validator.agent.problems import Problem
from validator.kinds.base import InputError
from validator.kinds.inputs import parse_request

_JSON_TYPES = ("application/json",)


def check_media_type(content_type: str | None, model: str) -> None:
    """JSON bodies only: ``application/json`` or any ``application/*+json`` (parameters such as charset ignored);
    a request without a Content-Type is taken as JSON, as curl and most HTTP libraries send one anyway."""
    if not content_type:
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if media in _JSON_TYPES or (media.startswith("application/") and media.endswith("+json")):
        return
    raise Problem("unsupported-media-type", f"the body is {media or 'untyped'}; send JSON with "
                  "Content-Type: application/json", model=model)


def declared_length(headers: Mapping[str, str], limits: AgentLimits, model: str) -> int | None:
    """The Content-Length the client declared (None without one); over the limit is refused before reading."""
    raw = headers.get("content-length")
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


async def read_limited(chunks: AsyncIterator[bytes], limits: AgentLimits, model: str) -> bytes:
    """The whole body, refused as soon as it passes ``limits.max_body_bytes`` (whatever Content-Length said)."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limits.max_body_bytes:
            raise too_large(size, limits, model, at_least=True)
        parts.append(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def parse_body(data: bytes, limits: AgentLimits, model: str) -> Any:
    """The JSON value of a body, or the problem that says what is wrong with it."""
    if not data.strip():
        raise Problem("not-json", "the body is empty; send a JSON object", model=model)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem("not-json", f"the body is not UTF-8 text: {exc.reason} at byte {exc.start}",
                      model=model) from None
    try:
        return parse_request(text, model, limits.parse_limits)
    except InputError as exc:
        # parse_request's messages name what is wrong; depth is its own class (a client bug of another kind
        # than a typo in the JSON), everything else it refuses is text that is not acceptable JSON.
        slug = "too-deep" if "nests deeper" in exc.problem else "not-json"
        raise Problem(slug, exc.problem, model=model) from None
