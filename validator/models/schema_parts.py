"""Building blocks for the per-kind JSON Schemas.

Schemas are authored here in Python so the keys every kind shares are written once; ``weights schemas``
writes them to ``config/schemas/`` for editors and a test keeps the files in sync. Only keywords that
draft-07 and 2020-12 share are used (the YAML language server validates with draft-07): ``definitions``
not ``$defs``, no ``prefixItems``/``unevaluated*``/``dependent*``.
"""
from __future__ import annotations

from typing import Any

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
NAME_PATTERN = "^[a-z][a-z0-9_]*$"
BASE_ID = "https://weights.invalid/schemas/"


def prop(title: str, description: str, **schema: Any) -> dict[str, Any]:
    """A property with the hover text analysts read in their editor."""
    return {"title": title, "description": description, **schema}


def number(title: str, description: str, **schema: Any) -> dict[str, Any]:
    return prop(title, description, type="number", **schema)


def string(title: str, description: str, **schema: Any) -> dict[str, Any]:
    return prop(title, description, type="string", **schema)


def obj(title: str, description: str, properties: dict[str, Any], required: list[str] | tuple[str, ...] = (), **schema: Any) -> dict[str, Any]:
    out = prop(title, description, type="object", properties=properties, additionalProperties=False, **schema)
    if required:
        out["required"] = list(required)
    return out


def array(title: str, description: str, items: dict[str, Any], **schema: Any) -> dict[str, Any]:
    return prop(title, description, type="array", items=items, **schema)


INPUT_POLICY = obj(
    "Input policy",
    "What the model does when this input is missing or outside the range the app's contract declares.",
    {
        "missing": string(
            "When missing",
            "reject: raise an input error naming the input (default). default: use `default` instead.",
            enum=["reject", "default"],
        ),
        "default": prop(
            "Default value",
            "The value used when the input is missing (and, with out_of_range: default, when it is out of range).",
            type=["number", "boolean", "string"],
        ),
        "out_of_range": string(
            "When out of range",
            "clamp: move the value to the nearest bound of the contract's range (default). "
            "default: use `default`. reject: raise an input error.",
            enum=["clamp", "default", "reject"],
        ),
    },
)


def common_properties(kind: str) -> dict[str, Any]:
    """Keys every model file has, whatever its kind."""
    return {
        "kind": prop("Model kind", f"Always `{kind}` in this file; it selects the schema, the rules and the evaluator.", const=kind),
        "name": string(
            "Model name",
            "The name apps ask for (`weights.model(name)`); must equal the file name without `.yaml`.",
            pattern=NAME_PATTERN,
        ),
        "contract": string(
            "App contract",
            "The file name (without .yaml) in config/contracts/ of the app that reads this model: "
            "which inputs it sends and which outputs it accepts.",
            pattern=NAME_PATTERN,
        ),
        "description": string("Description", "What the model decides and for whom, in a sentence or two."),
        "owner": string("Owner", "The team that owns these numbers and reviews changes to them."),
        "inputs": prop(
            "Input policies",
            "Per input the model reads: what to do when it is missing or out of range. Inputs not listed "
            "here are rejected when missing and clamped when out of range.",
            type="object",
            additionalProperties=INPUT_POLICY,
        ),
    }


def model_schema(
    kind: str,
    title: str,
    description: str,
    properties: dict[str, Any],
    required: list[str],
    definitions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole schema of one kind: common keys first, then the kind's own; unknown keys are errors."""
    schema: dict[str, Any] = {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{BASE_ID}{kind}.schema.json",
        "title": title,
        "description": description,
        "type": "object",
        "properties": {**common_properties(kind), **properties},
        "required": ["kind", "name", "contract", *required],
        "additionalProperties": False,
    }
    if definitions:
        schema["definitions"] = definitions
    return schema
