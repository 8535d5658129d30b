"""Why a poll did not produce a new snapshot, split by who is at fault (after python-tuf's exceptions).

* ``FetchError``: the network or the server failed (refused, reset, timed out, HTTP 5xx, truncated body).
  Nothing is wrong with what is published; the client retries with backoff and recovers by itself.
* ``BundleRefused``: what the server sent was verified and found wanting (bad signature, rolled back,
  expired, not a bundle, breaks the app's contract, does not compile). Retrying does not help until someone
  publishes a fix; an operator should look.

Every error carries a short, stable ``reason`` (a metrics label, a status field) next to its message, so a
dashboard can count failures by cause without parsing text.
"""
from __future__ import annotations


class WeightsError(Exception):
    """Base of the runtime's errors; ``reason`` is one word from a small fixed set (see the subclasses)."""

    reason: str = "internal"

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class FetchError(WeightsError):
    """The repository could not be read: ``network`` (refused, reset, truncated), ``timeout`` or ``http``."""

    reason = "network"


class BundleRefused(WeightsError):
    """What was published was refused.

    Reasons: ``verification`` (signature, hash, length), ``rollback`` (a lower version than already trusted),
    ``expired`` (a freeze: metadata past its expiry), ``missing`` (no bundle for the channel), ``too_large``,
    ``format`` (not a format 1 bundle), ``contract`` (breaks the app's contract), ``compile`` (a model that
    does not compile).
    """

    reason = "verification"


class NotReady(LookupError):
    """``model()`` was called before any bundle was loaded (neither from the server nor from the cache)."""


class UnknownModel(KeyError):
    """The live bundle has no model of that name."""

    def __str__(self) -> str:  # KeyError's repr-quoting makes messages unreadable
        return str(self.args[0]) if self.args else "unknown model"
