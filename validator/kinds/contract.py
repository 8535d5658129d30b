"""The app's contract: the inputs an app sends and the outputs it accepts, per model.

It lives in ``config/contracts/<name>.yaml`` next to the weights, is validated by the gate, shipped in every
bundle, and checked again by the client against the contract the app was built with. This module is pure
data (no jsonschema) because the runtime imports it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

INPUT_TYPES = ("number", "integer", "boolean", "category", "string")


@dataclass(frozen=True)
class InputDecl:
    """One input the app sends: its type, unit and the range the app guarantees (or values for categories)."""

    name: str
    type: str
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] | None = None
    description: str = ""

    def accepts_type(self, model_type: str) -> bool:
        """Whether a model that reads this input as ``model_type`` can use what the app sends."""
        if model_type == "number":
            return self.type in ("number", "integer")
        if model_type == "category":
            return self.type in ("category", "string")
        return self.type == model_type


# The contract's output field that lists the segment ids an app accepts (the segments kind's outputs). Named here,
# beside the contract, so readers of a contract outside kinds/ (the agent's OpenAPI document) need no kind's name.
SEGMENT_IDS_OUTPUT = "segments"


@dataclass(frozen=True)
class Contract:
    name: str
    app: str
    models: tuple[str, ...]
    inputs: Mapping[str, InputDecl]
    # model name -> output field (e.g. "decisions", "variants", "segments", "reasons") -> accepted values
    outputs: Mapping[str, Mapping[str, frozenset[str]]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any]) -> "Contract":
        inputs = {}
        for key, decl in (data.get("inputs") or {}).items():
            values = decl.get("values")
            inputs[key] = InputDecl(
                name=key,
                type=decl["type"],
                unit=decl.get("unit"),
                min=_num(decl.get("min")),
                max=_num(decl.get("max")),
                values=tuple(values) if values is not None else None,
                description=decl.get("description", ""),
            )
        outputs = {
            model: {fld: frozenset(vals) for fld, vals in (spec or {}).items()}
            for model, spec in (data.get("outputs") or {}).items()
        }
        return cls(
            name=name,
            app=data.get("app", name),
            models=tuple(data.get("models") or ()),
            inputs=inputs,
            outputs=outputs,
        )

    def satisfied_by(self, other: "Contract") -> list[str]:
        """Why a bundle's contract ``other`` would break an app built against ``self`` (empty: it is fine).

        The app's build-time contract is the promise; a published contract may send fewer constraints
        but must accept every model the app reads and emit only outputs the app accepts.
        """
        problems: list[str] = []
        for model in self.models:
            if model not in other.models:
                problems.append(f"model {model!r} is missing from the published contract")
        for model, fields in other.outputs.items():
            if model not in self.models:
                continue
            mine = self.outputs.get(model, {})
            for fld, values in fields.items():
                if fld in mine and not values <= mine[fld]:
                    extra = ", ".join(sorted(values - mine[fld]))
                    problems.append(f"model {model!r} may emit {fld} the app does not accept: {extra}")
        for name, decl in other.inputs.items():
            if name not in self.inputs:
                problems.append(f"input {name!r} is not sent by the app")
            elif not self.inputs[name].accepts_type(decl.type):
                problems.append(f"input {name!r} is {decl.type} in the bundle but {self.inputs[name].type} in the app")
        return problems


def _num(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"non-finite bound {value!r}")
    return number
