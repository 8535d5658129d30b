"""The bounds every agent request meets, each with its default and why (after ``ClientConfig``)."""
from __future__ import annotations

from dataclasses import dataclass

from validator.kinds.inputs import REQUEST_LIMITS, RequestLimits

# The wrappers the HTTP shape adds around a kind's own request: a batch ({"requests": [...]}) is two levels, a
# ranking's {"items": [...]} one more than ``weights eval``'s bare list.
WRAPPER_DEPTH = 2


@dataclass(frozen=True)
class AgentLimits:
    """What one request may be.

    max_body_bytes: a larger body is refused (413) from its Content-Length before it is read, and a body
        without one (chunked) is refused as soon as the bytes read pass the bound, so a client cannot make the
        agent buffer more than this. 4 MiB holds a batch of a thousand orders or a ranking of 5,000
        candidates of 40 inputs; anything bigger is a batch job (``weights score``), not a request.
    max_batch: requests in one ``{"requests": [...]}``. A batch is scored from one snapshot in one go, so
        its length bounds how long one call holds a worker; a thousand scores take a few milliseconds.
    max_depth: nesting of the whole body: the runtime's bound for one request (``REQUEST_LIMITS.max_depth``)
        plus the batch wrapper. The JSON parser itself would otherwise recurse until RecursionError.
    offload_bytes: bodies larger than this are evaluated in the thread pool instead of on the event loop, so
        a large batch or ranking does not hold up the small requests behind it.
    """

    max_body_bytes: int = 4 * 1024 * 1024
    max_batch: int = 1000
    max_depth: int = REQUEST_LIMITS.max_depth + WRAPPER_DEPTH
    offload_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_batch", "max_depth", "offload_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")

    @property
    def parse_limits(self) -> RequestLimits:
        """The runtime's parser limits for a whole body (its byte bound is ours, checked before it runs)."""
        return RequestLimits(max_depth=self.max_depth, max_bytes=self.max_body_bytes,
                             max_items=REQUEST_LIMITS.max_items, max_shown=REQUEST_LIMITS.max_shown)


DEFAULT_LIMITS = AgentLimits()
