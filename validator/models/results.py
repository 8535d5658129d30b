"""What evaluators return: small immutable records an app can log, cache or hand to another thread."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True, slots=True)
class Score:
    """A scorecard's answer: ``value`` on the link's scale, the band's ``decision`` and the top reason codes."""

    value: float
    decision: str
    reasons: tuple[str, ...]
    model: str
    version: str | None = None


@dataclass(frozen=True, slots=True)
class RankedItem:
    item: Mapping[str, Any]
    score: float
    rank: int  # 1-based


@dataclass(frozen=True, slots=True)
class Ranking:
    items: tuple[RankedItem, ...]
    model: str
    version: str | None = None

    def ids(self, key: str = "item_id") -> list[Any]:
        return [entry.item.get(key) for entry in self.items]


@dataclass(frozen=True, slots=True)
class Choice:
    """A bandit's pick: the arm (site variant) to show and whether the visitor fell in the holdout."""

    arm: str
    holdout: bool
    model: str
    version: str | None = None


@dataclass(frozen=True, slots=True)
class Assignment:
    """A segment assignment: the segment, the variant it maps to, the scaled distance, and whether it fell back."""

    segment: str
    variant: str
    distance: float
    fallback: bool
    model: str
    version: str | None = None
