"""How a model reads one input from a request: the declared policy for missing and out-of-range values.

The policy is declared per input in the model (``inputs:``) because what to do with a missing account age is
a modelling decision; the range comes from the app's contract because the app is what guarantees it.
``read`` is on the request path, so it is a plain function over a slotted record.

A request is hostile input as far as the messages go: a value can be a list nested 100,000 deep, a string of
100 MB or an integer of 5,000 digits, whose ``repr()`` raises RecursionError or ValueError (or is the message
itself). Every request value a message quotes goes through ``shown``, which is bounded and never raises. The
limits on a request's shape are ``REQUEST_LIMITS``; they cost nothing on a good request (see ``RequestLimits``).
"""
from __future__ import annotations

import json
import math
import reprlib
from dataclasses import dataclass
from typing import Any, Mapping

from validator.kinds.base import InputError
from validator.kinds.contract import Contract

MISSING_POLICIES = ("reject", "default")
RANGE_POLICIES = ("clamp", "default", "reject")
DEFAULT_MISSING = "reject"
DEFAULT_OUT_OF_RANGE = "clamp"


@dataclass(frozen=True)
class RequestLimits:
    """The shape a request may have, each bound with why. The evaluators read only the inputs a model names
    (``values.get(name)``), so neither a request's depth nor its number of keys costs them anything, and a value
    of the wrong shape is refused by its type check; what needs a bound is what is walked whole.
    """

    # weights eval parses JSON text: every kind's request is at most two levels deep (ranking: a list of items,
    # each a mapping of scalars). Ten leaves room for an app's extra fields and stays far below Python's
    # recursion limit, where json.loads would fail with RecursionError.
    max_depth: int = 10
    # weights eval reads the whole text into memory: 10,000 ranking items of 40 inputs are about 8 MB.
    max_bytes: int = 16 * 1024 * 1024
    # rank() scores and sorts every item in memory on the request path: a candidate set larger than this is
    # a batch job for the vectorized twin (validator.data), not one request. Checked with len(): O(1).
    max_items: int = 100_000
    # A value quoted in an InputError (the message ends up in app logs): the first characters are enough to
    # recognise it.
    max_shown: int = 80


REQUEST_LIMITS = RequestLimits()
_FLOAT_MAX_INT = int(1.7976931348623157e308)  # int(sys.float_info.max): the largest int that is a finite float


class _Shown(reprlib.Repr):
    """reprlib with integers measured instead of printed: repr() of an int over 4,300 digits raises."""

    def repr_int(self, x: int, level: int) -> str:
        if -(10**30) < x < 10**30:
            return repr(x)
        digits = int(x.bit_length() * 0.30103) + 1
        return f"<an integer of about {digits:,} digits>"


_SHOWN = _Shown()
_SHOWN.maxlevel = 2
_SHOWN.maxstring = REQUEST_LIMITS.max_shown
_SHOWN.maxother = REQUEST_LIMITS.max_shown
_SHOWN.maxlist = _SHOWN.maxtuple = _SHOWN.maxdict = _SHOWN.maxset = 4


def shown(value: Any) -> str:
    """``value`` for a message: repr() cut to a readable length, nesting cut at two levels; never raises."""
    try:
        return _SHOWN.repr(value)
    except Exception:  # a hostile __repr__ of an app's own object: name its type instead
        return f"<{type(value).__name__} object>"


def parse_request(text: str, model: str, limits: RequestLimits = REQUEST_LIMITS) -> Any:
    """The JSON text of one request (``weights eval``) as Python values, or InputError saying what to send.

    JSON's grammar lets a number have any number of digits and nest without end; Python's json module adds
    ``NaN`` and ``Infinity``. A request gets none of these: numbers must be finite as floats, and the nesting
    and the size stay within ``limits``.
    """
    size = len(text.encode("utf-8"))
    if size > limits.max_bytes:
        raise InputError(model, None, f"the request is {size:,} bytes, over the limit of {limits.max_bytes:,}; "
                                      "score a large set as a batch (weights simulate) instead")
    try:
        payload = json.loads(text, parse_int=_finite_int, parse_float=_finite_float, parse_constant=_no_constant)
    except RecursionError:
        raise _too_deep(model, limits) from None
    except _NotFinite as exc:
        raise InputError(model, None, f"the request holds {exc}; send finite numbers") from None
    except json.JSONDecodeError as exc:
        raise InputError(model, None, f"the request is not JSON: {exc}") from None
    if _depth_over(payload, limits.max_depth):
        raise _too_deep(model, limits)
    return payload


class _NotFinite(ValueError):
    """A JSON number that is no finite float; its message names the literal."""


def _finite_int(text: str) -> int | float:
    # A float's range ends near 1.8e308, 309 digits: a longer literal is refused before int() (which itself
    # refuses more than 4,300 digits with ValueError).
    if len(text.lstrip("-")) > 309 or abs(value := int(text)) > _FLOAT_MAX_INT:
        shown_text = text if len(text) <= 24 else f"{text[:12]}...({len(text):,} digits)"
        raise _NotFinite(f"the number {shown_text}, too large for a float")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(f"the number {text[:24]}, which overflows to infinity")
    return value


def _no_constant(text: str) -> float:
    raise _NotFinite(f"{text}, which is not a number in JSON")


def _too_deep(model: str, limits: RequestLimits) -> InputError:
    return InputError(model, None, f"the request nests deeper than {limits.max_depth} levels; send a mapping of "
                                   "input name to value (ranking: a list of such mappings)")


def _depth_over(value: Any, limit: int) -> bool:
    """Whether ``value`` nests lists/mappings deeper than ``limit`` (iterative: no recursion to exhaust)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def check_items(model: str, items: Any, limits: RequestLimits = REQUEST_LIMITS) -> None:
    """Refuse a rank() request with more candidates than ``limits.max_items``; only sized collections count."""
    try:
        count = len(items)
    except TypeError:
        return
    if count > limits.max_items:
        raise InputError(model, None, f"the request ranks {count:,} items, over the limit of {limits.max_items:,} "
                                      "per request; rank the top candidates, or score the set as a batch")


@dataclass(frozen=True, slots=True)
class InputSpec:
    name: str
    type: str  # "number" | "boolean" | "category"
    missing: str = DEFAULT_MISSING
    default: Any = None
    out_of_range: str = DEFAULT_OUT_OF_RANGE
    min: float | None = None
    max: float | None = None


def build_specs(
    model: Mapping[str, Any], used_types: Mapping[str, str], contract: Contract | None
) -> dict[str, InputSpec]:
    """Combine the model's per-input policy with the contract's ranges for every input the model reads."""
    policies = model.get("inputs") or {}
    specs: dict[str, InputSpec] = {}
    for name, typ in used_types.items():
        policy = policies.get(name) or {}
        decl = contract.inputs.get(name) if contract is not None else None
        specs[name] = InputSpec(
            name=name,
            type=typ,
            missing=policy.get("missing", DEFAULT_MISSING),
            default=policy.get("default"),
            out_of_range=policy.get("out_of_range", DEFAULT_OUT_OF_RANGE),
            min=decl.min if decl is not None else None,
            max=decl.max if decl is not None else None,
        )
    return specs


def read(spec: InputSpec, model: str, values: Mapping[str, Any]) -> Any:
    """The value of one input after the policy: a number, a bool or a str; raises InputError when refused."""
    value = values.get(spec.name)
    if value is None or (type(value) is float and math.isnan(value)):
        if spec.missing == "default" and spec.default is not None:
            return spec.default
        raise InputError(model, spec.name,
                         "is missing (the model's policy is to reject; declare a default under inputs:)")
    typ = spec.type
    if typ == "number":
        if type(value) is bool or not isinstance(value, (int, float)):
            raise InputError(model, spec.name, f"must be a number, got {type(value).__name__} {shown(value)}")
        if type(value) is int and not -(2**53) <= value <= 2**53:
            if not -_FLOAT_MAX_INT <= value <= _FLOAT_MAX_INT:
                raise InputError(model, spec.name,
                                 f"must be a finite number; got {shown(value)}, too large for a float")
            value = float(value)  # beyond float precision: compared and clamped as the float it rounds to
        if math.isinf(value):
            raise InputError(model, spec.name, f"must be finite, got {value!r}")
        lo, hi = spec.min, spec.max
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            policy = spec.out_of_range
            if policy == "clamp":
                return lo if lo is not None and value < lo else hi
            if policy == "default" and spec.default is not None:
                return spec.default
            raise InputError(model, spec.name, f"is {value!r}, outside the contract's range [{lo}, {hi}]")
        return value
    if typ == "boolean":
        if type(value) is not bool:
            raise InputError(model, spec.name, f"must be true or false, got {type(value).__name__} {shown(value)}")
        return value
    if not isinstance(value, str):
        raise InputError(model, spec.name, f"must be a string category, got {type(value).__name__} {shown(value)}")
    return value
