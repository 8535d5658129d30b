"""Which side of a canary this process is on: a stable point in [0, 1) from its instance id and the canary's salt.

The point is a hash, not a random draw, so the same instance lands in the same cohort at every poll and after
every restart that keeps its id, and the fleet's split follows the fraction without any coordination. The salt
comes with each candidate (``<channel>/candidate.json``'s ``custom.canary.salt``), so a new candidate draws a new
cohort: the same unlucky instances do not carry every canary. Re-fractioning a candidate keeps its salt, so
raising 0.1 to 0.3 keeps the first tenth in and adds instances, never swaps them.
"""
from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Mapping
from typing import Any

from validator.signed_numbers import as_number

# When this module was first imported: the process's start for the id's purpose (two processes on one host that
# got the same pid, e.g. pid 1 in successive containers, still get different ids).
_STARTED_MS = int(time.time() * 1000)


def cohort_point(instance_id: str, salt: str) -> float:
    """The instance's point in [0, 1): the first 8 bytes of sha256("<salt>:<instance_id>") over 2**64.

    An instance is in the canary iff its point is below the candidate's fraction. Tools (``weights status``,
    tests) compute the same number to say who runs what.
    """
    digest = hashlib.sha256(f"{salt}:{instance_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def default_instance_id() -> str:
    """``<hostname>:<pid>:<process start in ms>``: unique per process, so a fleet splits by process.

    A process that restarts gets a new id, hence possibly the other cohort: pass ``instance_id`` (a pod name,
    a host name) to keep an instance in its cohort across restarts.
    """
    return f"{socket.gethostname()}:{os.getpid()}:{_STARTED_MS}"


def canary_of(custom: Mapping[str, Any] | None) -> tuple[float, str] | None:
    """(fraction, salt) of a candidate target's ``custom``, or None when it carries no usable canary.

    The fraction may be a number or its decimal text ("0.3"): TUF signs metadata as canonical JSON, which has
    no floating-point numbers, so a publisher may have to write it as text. A fraction outside (0, 1] or a salt
    that is not text means the publisher wrote something this client does not understand; the client then
    serves the live bundle, which is always safe.
    """
    canary = (custom or {}).get("canary")
    if not isinstance(canary, Mapping):
        return None
    fraction, salt = _fraction(canary.get("fraction")), canary.get("salt")
    if fraction is None or not isinstance(salt, str) or not salt:
        return None
    return fraction, salt


def _fraction(value: Any) -> float | None:
    number = as_number(value)
    return number if number is not None and 0 < number <= 1 else None


__all__ = ["canary_of", "cohort_point", "default_instance_id"]
