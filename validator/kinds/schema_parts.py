"""Building blocks for the per-kind JSON Schemas.

Schemas are authored here in Python so the keys every kind shares are written once; ``weights schemas``
writes them to ``config/schemas/`` for editors and a test keeps the files in sync. Only keywords that
draft-07 and 2020-12 share are used (the YAML language server validates with draft-07): ``definitions``
not ``$defs``, no ``prefixItems``/``unevaluated*``/``dependent*``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from validator.kinds.base import GuardrailSpec

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


# A file or a query, told apart by their JSON type rather than by anyOf: each keyword below applies only to
# values of its type (pattern to text, properties to mappings), so a mistake is reported where it is ("sql"
# misspelt: an unknown key with a did-you-mean; a .txt file: the pattern) instead of as "not a string".
_QUERY_KEYS: dict[str, Any] = {
    "properties": {"sql": string(
        "SQL query",
        "One DuckDB SELECT whose rows are replayed, over Parquet/CSV files named relative to the repository "
        "root, e.g. SELECT * FROM 'tests/data/orders.parquet' WHERE country = 'DE'.",
        minLength=1,
    )},
    "required": ["sql"],
    "additionalProperties": False,
}
_ONE_DATASET: dict[str, Any] = {"type": ["string", "object"], "pattern": "[.](parquet|pq|csv)$", **_QUERY_KEYS}


def dataset_schema(description: str) -> dict[str, Any]:
    """A ``replay.dataset``: a file, ``{sql: ...}`` (a DuckDB query), or a list of them (a kind may describe its
    rows its own way)."""
    return prop(
        "Dataset",
        description,
        type=["string", "object", "array"],
        pattern=_ONE_DATASET["pattern"],
        **_QUERY_KEYS,
        items=_ONE_DATASET,
        minItems=1,
    )


DATASET = dataset_schema(
    "Parquet or CSV file(s) of sample rows, relative to the repository root (e.g. tests/data/orders.parquet), "
    "or {sql: ...}, a DuckDB query over such files; one column per input the model reads. Read from the work "
    "tree for base and head alike."
)


def replay_schema(properties: dict[str, Any]) -> dict[str, Any]:
    """The ``replay:`` block of a kind: what its ``metrics.measure`` reads (``DATASET`` under ``dataset`` for a
    kind that replays sample rows, plus the kind's own settings)."""
    return obj(
        "Replay",
        "The sample data `weights check` replays through the base and head versions of this model to measure "
        "what a change does.",
        properties,
    )


def _limit_range(guardrail: GuardrailSpec) -> dict[str, float]:
    """The schema's ``minimum``/``maximum`` of a guardrail's limit (``GuardrailSpec.limit_range``; no bound at
    infinity), so an editor marks a rate of 2 or a positive ``min_..._delta`` as it is typed."""
    low, high = guardrail.limit_range
    return {"minimum": low, **({"maximum": high} if math.isfinite(high) else {})}


def guardrails_schema(guardrails: Sequence[GuardrailSpec]) -> dict[str, Any]:
    """A model's ``guardrails:`` overrides: one nullable number per guardrail of its kind (``GuardrailSpec.help``)."""
    return obj(
        "Guardrails",
        "Limits for this model that replace the defaults in config/guardrails.yaml (null switches one off).",
        {g.name: prop(g.name.replace("_", " ").capitalize(), g.help, type=["number", "null"], **_limit_range(g))
         for g in guardrails},
    )


def budgets_schema() -> dict[str, Any]:
    """A model's ``budgets:``: per parameter key, how far one change may move it (tightens the kind's budget in
    config/guardrails.yaml; ``validator.gate.governance``)."""
    return prop(
        "Change budgets",
        "Per parameter key (e.g. weight): how far one change may move each such value. A move is within budget "
        "when it is at most `absolute` or at most `relative` times the old value; tightens the kind's budget in "
        "config/guardrails.yaml. Over budget needs an accept: entry with guardrail: change_budget.",
        type="object",
        additionalProperties=obj(
            "Budget",
            "How far one change may move the parameter.",
            {"relative": number("Relative", "A share of the old value's magnitude (0.5 = 50%).", minimum=0),
             "absolute": number("Absolute", "An amount in the parameter's own unit.", minimum=0)},
            minProperties=1,
        ),
    )


def accept_schema(guardrails: Sequence[GuardrailSpec]) -> dict[str, Any]:
    """A model's ``accept:`` entries: reviewed breaches, named by the guardrails of its kind."""
    return array(
        "Accepted breaches",
        "Reviewed exceptions: a guardrail breach this change may make, with the reason. Only entries added or "
        "changed together with the weights count; an old entry accepts nothing new.",
        obj(
            "Accepted breach",
            "One guardrail this change may breach, and why that is fine.",
            {
                "guardrail": string("Guardrail", "The guardrail breached (as in the report); change_budget: a "
                                    "parameter moved over its change budget.",
                                    enum=[*(g.name for g in guardrails), "change_budget"]),
                "reason": string("Reason", "Why the breach is intended, for the reviewer and the history.",
                                 minLength=10),
                "up_to": number("Up to", "Accept the breach only up to this value (e.g. 0.04 for a 4% flip rate)."),
            },
            required=["guardrail", "reason"],
        ),
    )


def common_properties(kind: str, guardrails: Sequence[GuardrailSpec] = (),
                      replay: dict[str, Any] | None = None) -> dict[str, Any]:
    """Keys every model file has, whatever its kind; ``replay``/``guardrails``/``accept`` for a kind with
    guardrails (its ``GUARDRAILS``; ``replay`` the properties of its ``replay:`` block)."""
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
        # Gate-only keys (the runtime ignores them): what replay data to use and which limits apply.
        **({"replay": replay_schema(replay or {}), "guardrails": guardrails_schema(guardrails),
            "accept": accept_schema(guardrails), "budgets": budgets_schema()} if guardrails else {}),
    }


def model_schema(
    kind: str,
    title: str,
    description: str,
    properties: dict[str, Any],
    required: list[str],
    definitions: dict[str, Any] | None = None,
    *,
    guardrails: Sequence[GuardrailSpec] = (),
    replay: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole schema of one kind: common keys first, then the kind's own; unknown keys are errors.

    ``guardrails`` (the kind's ``GUARDRAILS``) and ``replay`` (the properties of its ``replay:`` block) add the
    gate-only keys ``replay``, ``guardrails`` and ``accept``; a kind without guardrails has none of them.
    """
    schema: dict[str, Any] = {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{BASE_ID}{kind}.schema.json",
        "title": title,
        "description": description,
        "type": "object",
        "properties": {**common_properties(kind, guardrails, replay), **properties},
        "required": ["kind", "name", "contract", *required],
        "additionalProperties": False,
    }
    if definitions:
        schema["definitions"] = definitions
    return schema
