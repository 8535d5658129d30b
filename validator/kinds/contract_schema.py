"""The JSON Schema of an app contract (``config/contracts/<name>.yaml``), in draft-07/2020-12 shared keywords."""
from __future__ import annotations

from validator.kinds.contract import INPUT_TYPES
from validator.kinds.schema_parts import BASE_ID, NAME_PATTERN, SCHEMA_DIALECT, array, number, obj, prop, string

_INPUT = obj(
    "Input",
    "One input the app sends with every request, and what the app guarantees about it.",
    {
        "type": string(
            "Type",
            "number (any real), integer, boolean (true/false), category (one of `values`) or string (free text, e.g. an id).",
            enum=list(INPUT_TYPES),
        ),
        "unit": string("Unit", "The unit of a number, e.g. EUR, days, km, share (0-1). Reviewers read weights against it."),
        "min": number("Minimum", "The smallest value the app sends. Models clamp or reject below it, as their input policy says."),
        "max": number("Maximum", "The largest value the app sends. Models clamp or reject above it, as their input policy says."),
        "values": array(
            "Category values",
            "For a category: every value the app can send. Scorecard level maps must cover them.",
            {"type": "string"},
            minItems=1,
            uniqueItems=True,
        ),
        "description": string("Description", "What the input means and where the app takes it from."),
    },
    required=["type"],
)

_OUTPUT_LIST = array(
    "Accepted values",
    "Every value of this output the app can handle; a model that could emit anything else is refused.",
    {"type": "string"},
    minItems=1,
    uniqueItems=True,
)

CONTRACT_SCHEMA = {
    "$schema": SCHEMA_DIALECT,
    "$id": f"{BASE_ID}contract.schema.json",
    "title": "App contract",
    "description": "The API between an app and its weights: which models it reads, which inputs it sends, which outputs it accepts.",
    "type": "object",
    "properties": {
        "app": string("App", "The service that reads these models, as its owners call it (e.g. checkout-service)."),
        "description": string("Description", "What the app does with the models."),
        "owner": string("Owner", "The engineering team that owns the app and reviews changes to this contract."),
        "models": array(
            "Models",
            "The model names the app reads. Each must exist in weights/ and name this contract.",
            {"type": "string", "pattern": NAME_PATTERN},
            minItems=1,
            uniqueItems=True,
        ),
        "inputs": prop(
            "Inputs",
            "Every input the app sends, by name. A model may only read inputs listed here.",
            type="object",
            additionalProperties=_INPUT,
        ),
        "outputs": prop(
            "Outputs",
            "Per model: the outputs the app accepts, by field (decisions, reasons, variants, segments).",
            type="object",
            additionalProperties=obj(
                "Model outputs",
                "The values of each output field the app can handle for this model.",
                {
                    "decisions": _OUTPUT_LIST,
                    "reasons": _OUTPUT_LIST,
                    "variants": _OUTPUT_LIST,
                    "segments": _OUTPUT_LIST,
                },
            ),
        ),
    },
    "required": ["app", "models", "inputs", "outputs"],
    "additionalProperties": False,
}
