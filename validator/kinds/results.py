"""What evaluators return: small immutable records an app can log, cache or hand to another thread.

Named tuples rather than frozen dataclasses: a frozen dataclass sets each field through
``object.__setattr__``, which cost 1.6 µs of a 3.9 µs ``score()`` on the request path; a named tuple is
built in 0.6 µs and is just as immutable (``bench/bench_score.py``). ``._asdict()`` gives a dict for logs.
Generated request-path code builds them with ``tuple.__new__(Score, (...))``, which skips the Python-level
``__new__`` a named tuple gets (less than half the cost) and makes the same record.
"""
from __future__ import annotations

from typing import Any, Mapping, NamedTuple


class Score(NamedTuple):
    """A scorecard's answer: ``value`` on the link's scale, the band's ``decision`` and the top reason codes."""

    value: float
    decision: str
    reasons: tuple[str, ...]
    model: str
    version: str | None = None


class RankedItem(NamedTuple):
    item: Mapping[str, Any]
    score: float
    rank: int  # 1-based


class Ranking(NamedTuple):
    items: tuple[RankedItem, ...]
    model: str
    version: str | None = None

    def ids(self, key: str = "item_id") -> list[Any]:
        return [entry.item.get(key) for entry in self.items]


class Choice(NamedTuple):
    """A bandit's pick: the arm (site variant) to show and whether the visitor fell in the holdout."""

    arm: str
    holdout: bool
    model: str
    version: str | None = None


class Assignment(NamedTuple):
    """A segment assignment: the segment, the variant it maps to, the scaled distance, and whether it fell back."""

    segment: str
    variant: str
    distance: float
    fallback: bool
    model: str
    version: str | None = None


class Lookup(NamedTuple):
    """A table lookup: the row's ``values`` by column (a fresh dict the app may keep), and whether the key had a
    row (``found`` false: the header's default row answered)."""

    values: dict[str, Any]
    found: bool
    model: str
    version: str | None = None
