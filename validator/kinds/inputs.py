"""How a model reads one input from a request: the declared policy for missing and out-of-range values.

The policy is declared per input in the model (``inputs:``) because what to do with a missing account age is
a modelling decision; the range comes from the app's contract because the app is what guarantees it.
``read`` is on the request path, so it is a plain function over a slotted record.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from validator.kinds.base import InputError
from validator.kinds.contract import Contract

MISSING_POLICIES = ("reject", "default")
RANGE_POLICIES = ("clamp", "default", "reject")
DEFAULT_MISSING = "reject"
DEFAULT_OUT_OF_RANGE = "clamp"


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
        raise InputError(model, spec.name, "is missing (the model's policy is to reject; declare a default under inputs:)")
    typ = spec.type
    if typ == "number":
        if type(value) is bool or not isinstance(value, (int, float)):
            raise InputError(model, spec.name, f"must be a number, got {type(value).__name__} {value!r}")
        if type(value) is int and not -(2**53) <= value <= 2**53:
            value = float(value) if abs(value) < 1e308 else math.inf  # beyond float precision; huge ints stay refusable
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
            raise InputError(model, spec.name, f"must be true or false, got {type(value).__name__} {value!r}")
        return value
    if not isinstance(value, str):
        raise InputError(model, spec.name, f"must be a string category, got {type(value).__name__} {value!r}")
    return value
