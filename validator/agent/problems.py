"""RFC 9457 problem details: every refused request is ``application/problem+json`` naming what to fix.

A problem carries the RFC's members (``type``, ``title``, ``status``, ``detail``, ``instance``) and ours:
``model`` and ``input`` (the model the request addressed and the input at fault, when known), ``index`` (the
position in a batch) and ``version`` (the bundle served, so even an error says which weights answered).
``type`` is a URN per problem class (``urn:weights:problem:invalid-input``): stable for clients to branch on,
and not a URL that pretends to host documentation; the classes are listed in docs/app-engineer/agent.md.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

MEDIA_TYPE = "application/problem+json"
VERSION_HEADER = "Weights-Version"

# type slug -> (HTTP status, title). Titles are the same for every occurrence (RFC 9457 §3.1.3); the detail
# says what happened this time.
PROBLEMS: dict[str, tuple[int, str]] = {
    "not-json": (400, "The request body is not JSON"),
    "too-deep": (400, "The request nests too deeply"),
    "bad-shape": (400, "The request body does not have the expected shape"),
    "batch-too-long": (400, "The batch holds too many requests"),
    "too-large": (413, "The request body is too large"),
    "unsupported-media-type": (415, "The request body must be JSON"),
    "unknown-model": (404, "No such model in the served bundle"),
    "unknown-verb": (404, "No such operation"),
    "wrong-verb": (404, "The model does not answer this operation"),
    "not-found": (404, "No such resource"),
    "method-not-allowed": (405, "Method not allowed"),
    "invalid-input": (422, "An input of the request was refused"),
    "not-ready": (503, "No weights bundle is served yet"),
    "internal": (500, "Internal error"),
}


def type_uri(slug: str) -> str:
    return f"urn:weights:problem:{slug}"


@dataclass
class Problem(Exception):
    """A request the agent refuses; raised anywhere below a handler, rendered once by the app."""

    slug: str
    detail: str
    model: str | None = None
    input: str | None = None
    index: int | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.slug not in PROBLEMS:
            raise ValueError(f"unknown problem type {self.slug!r}")
        super().__init__(self.detail)

    @property
    def status(self) -> int:
        return PROBLEMS[self.slug][0]

    def document(self, instance: str, version: str | None) -> dict[str, Any]:
        """The problem as JSON: the RFC's members first, then ours (absent ones left out, version always)."""
        doc: dict[str, Any] = {"type": type_uri(self.slug), "title": PROBLEMS[self.slug][1], "status": self.status,
                               "detail": self.detail, "instance": instance}
        for key in ("model", "input", "index"):
            value = getattr(self, key)
            if value is not None:
                doc[key] = value
        doc["version"] = version
        return doc

    def body(self, instance: str, version: str | None) -> bytes:
        return json.dumps(self.document(instance, version), ensure_ascii=False).encode("utf-8")
