"""Closed intervals of floats, for the static analysis of a model over its contract's input ranges.

Every kind's ``analysis`` room turns an input's declared range into the range of each term's contribution
with these few operations; nothing here knows a kind. An end may be infinite (an input without a declared
bound); ``0 * inf`` is taken as 0 (a zero weight contributes nothing however large its input), which is the
one place IEEE arithmetic would give NaN. Pure Python: the gate runs it once per model, never per row.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeGuard

from validator.kinds.contract import InputDecl

# "Outweighs all the others together" with a margin: two terms of the same spread written to two digits (1/3650
# as 0.00027) differ by a few percent, and neither decides alone; one 10% past the rest together does.
MARGIN = 1.1


def _mul(a: float, b: float) -> float:
    return 0.0 if a == 0.0 or b == 0.0 else a * b


@dataclass(frozen=True)
class Interval:
    """``[lo, hi]`` with ``lo <= hi``; ends may be infinite."""

    lo: float
    hi: float

    @classmethod
    def point(cls, x: float) -> Interval:
        return cls(float(x), float(x))

    @classmethod
    def hull(cls, values: Iterable[float]) -> Interval:
        """The smallest interval holding every value (an empty input is the point 0: nothing to add)."""
        items = [float(v) for v in values]
        return cls(min(items), max(items)) if items else cls(0.0, 0.0)

    def __add__(self, other: Interval) -> Interval:
        return Interval(self.lo + other.lo, self.hi + other.hi)

    def scale(self, factor: float) -> Interval:
        """``factor * x`` for every x in the interval (a negative factor swaps the ends)."""
        ends = (_mul(factor, self.lo), _mul(factor, self.hi))
        return Interval(min(ends), max(ends))

    def union(self, other: Interval) -> Interval:
        """The hull of both (the analysis over-approximates a set by its hull)."""
        return Interval(min(self.lo, other.lo), max(self.hi, other.hi))

    def clip(self, lo: float, hi: float) -> Interval:
        """The interval with both ends clamped into ``[lo, hi]``."""
        return Interval(min(max(self.lo, lo), hi), min(max(self.hi, lo), hi))

    def map_increasing(self, fn: Callable[[float], float]) -> Interval:
        """The image under a non-decreasing function (log1p, sqrt, the logistic link); inf maps to inf."""
        return Interval(fn(self.lo), fn(self.hi))

    @property
    def magnitude(self) -> float:
        """The largest absolute value in the interval: how far this term alone can move the score."""
        return max(abs(self.lo), abs(self.hi))

    @property
    def width(self) -> float:
        return self.hi - self.lo

    @property
    def bounded(self) -> bool:
        return math.isfinite(self.lo) and math.isfinite(self.hi)

    def contains(self, x: float, tolerance: float = 0.0) -> bool:
        return self.lo - tolerance <= x <= self.hi + tolerance


def logistic(z: float) -> float:
    """1 / (1 + exp(-z)) without overflow, as the scorecard's evaluator computes it."""
    if z < -700.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


def is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def numeric_input(decl: InputDecl | None, policy: Any) -> Interval:
    """The values a numeric input can take after the model's policy, as the request path reads it
    (``validator.kinds.inputs.read``): inside the contract's range (out-of-range values are clamped into it
    or replaced by the default), or the default itself. Without a declared end the interval is open there.
    """
    lo = decl.min if decl is not None and decl.min is not None else -math.inf
    hi = decl.max if decl is not None and decl.max is not None else math.inf
    reach = Interval(float(lo), float(hi))
    default = (policy or {}).get("default") if isinstance(policy, dict) else None
    if is_number(default):
        reach = reach.union(Interval.point(default))
    return reach


def default_outside(decl: InputDecl | None, default: Any) -> str | None:
    """Why an input's ``default`` lies outside what the contract declares the app sends (None: it is inside).

    A default stands in for a missing or out-of-range value, so it must be a value the app could have sent;
    one outside the range feeds the model a number (or category) no real request has.
    """
    if decl is None or default is None:
        return None
    if decl.type in ("number", "integer") and is_number(default):
        if decl.min is not None and default < decl.min:
            return f"below the contract's minimum {decl.min:g}"
        if decl.max is not None and default > decl.max:
            return f"above the contract's maximum {decl.max:g}"
        return None
    if decl.type in ("category", "string") and decl.values is not None and isinstance(default, str):
        if default not in decl.values:
            return f"not one of the values the contract declares ({', '.join(decl.values)})"
    return None


@dataclass(frozen=True)
class Contribution:
    """One term's (feature's, boost's) share of the score: the range it can add and what moves it."""

    name: str
    path: tuple            # where the term is written in the model (for positioned findings)
    contribution: Interval  # what it adds to the score, over every request the contract allows
    driver: str            # the input (or inputs) that move it
    input_range: str       # the values that input can take, as the reviewer reads them
    how: str               # how the input becomes the value: bins, levels, a transform, a weight
    reason: str | None = None


@dataclass(frozen=True)
class Outcome:
    """A decision (variant, segment) the model can emit, and whether any allowed request reaches it."""

    label: str
    path: tuple
    reachable: bool
    why: str = ""          # for an unreachable one: why no request gets there


@dataclass(frozen=True)
class Analysis:
    """What a model can do over its contract's ranges: the input to ``weights explain`` and the rules."""

    kind: str
    model: str
    scale: str             # what the contributions add up to: "z (log-odds)", "relevance score", ...
    base: float            # what the score is before any term (an intercept; 0 when there is none)
    terms: tuple[Contribution, ...]
    score: Interval        # the reachable score on the scale the outcomes are decided on
    score_label: str = "score"
    outcomes: tuple[Outcome, ...] = ()
    notes: tuple[str, ...] = ()
    # Whether the terms add up to the score (scorecard, ranking, segments); a bandit's shares and a table's
    # columns are side by side, and their sum means nothing.
    additive: bool = True

    @property
    def linear(self) -> Interval:
        """The sum of ``base`` and every term's range (before any link)."""
        total = Interval.point(self.base)
        for term in self.terms:
            total = total + term.contribution
        return total


def show(x: float) -> str:
    """A bound as a reviewer reads it: 0.35, 1.2e+04, -inf."""
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.4g}"


def show_interval(iv: Interval) -> str:
    return f"[{show(iv.lo)}, {show(iv.hi)}]"


_LAST: tuple[Any, Callable[..., Any], Any] | None = None


def cached(ctx: Any, analyse: Callable[[Any, Any], Analysis]) -> Analysis:
    """``analyse(ctx.data, ctx.contract)`` once per rule context: a kind's analysis rules share one run.

    The gate runs a model's rules one after the other with the same context object, so remembering the last
    context is enough; one tuple is swapped in whole, so a concurrent caller at worst computes it again.
    """
    global _LAST
    last = _LAST
    if last is not None and last[0] is ctx and last[1] is analyse:
        return last[2]
    result = analyse(ctx.data, ctx.contract)
    _LAST = (ctx, analyse, result)
    return result


def term_limit(data: Any, extra: Any, kind: str) -> tuple[float | None, str]:
    """The largest contribution one term may make, and where it was declared (for the message).

    A model's own ``analysis: {max_term_contribution: ...}`` wins; else the repository's default for the kind
    in config/weights.yaml (``analysis: {max_term_contribution: {<kind>: ...}}``), which the gate hands the
    rules as ``extra["analysis"]``; else no bound.
    """
    own = (data.get("analysis") or {}).get("max_term_contribution") if isinstance(data, dict) else None
    if is_number(own):
        return float(own), "the model's analysis.max_term_contribution"
    repo = ((extra or {}).get("analysis") or {}).get("max_term_contribution") or {}
    value = repo.get(kind) if isinstance(repo, dict) else None
    if is_number(value):
        return float(value), f"the repository's analysis.max_term_contribution.{kind} (config/weights.yaml)"
    return None, ""
