"""Numbers inside signed TUF metadata: written as decimal text, read back from text or a JSON number.

TUF signs the canonical JSON of its metadata (OLPC canonical JSON), which has integers but no floating-point
numbers, so a canary's fraction and a replay's predicted rate travel in a target's ``custom`` as text ("0.3").
The publisher writes with ``signable``; every reader (the runtime choosing its cohort, ``weights status``, the
fleet view) reads with ``as_number``, so the two forms are understood in one place. Imports nothing: the runtime
uses it too.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def signable(value: Any) -> Any:
    """``value`` with every float written as its decimal text (``repr``: the shortest text that reads back)."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Mapping):
        return {key: signable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [signable(item) for item in value]
    return value


def as_number(value: Any) -> float | None:
    """A finite number written by ``signable`` (decimal text) or by hand (a JSON number); None for anything else.

    Booleans are not numbers here (``True`` is an ``int`` to Python, never a fraction to a publisher).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None
