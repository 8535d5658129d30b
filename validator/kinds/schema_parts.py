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


# Guardrails per kind (validator.gate.guardrails defines what each measures; a test keeps the two in sync). Here
# because the schema is built from this module and the runtime must not import the gate.
GUARDRAIL_NAMES: dict[str, tuple[str, ...]] = {
    "scorecard": ("max_decision_flip_rate", "max_share_change", "max_psi", "min_auc_delta"),
    "segments": ("max_reassignment_rate", "max_segment_share", "max_share_change"),
    "bandit": ("min_arm_share", "max_share_change"),
    "ranking": ("min_topk_overlap", "min_ndcg_delta"),
}

_GUARDRAIL_HELP = {
    "max_decision_flip_rate": "Most rows (share, 0.02 = 2%) whose decision may change between base and head.",
    "max_share_change": "Largest change of any decision's / segment's / variant's share, as a share (0.02 = 2 points).",
    "max_psi": "Largest population stability index of the score distribution (0.1 moderate, 0.25 large).",
    "min_auc_delta": "Lowest allowed head AUC minus base AUC against the outcome (-0.01: may lose 0.01).",
    "max_reassignment_rate": "Most customers (share) whose segment may change between base and head.",
    "max_segment_share": "Largest share of customers one segment (or the fallback) may get.",
    "min_arm_share": "Smallest expected traffic share any arm must keep.",
    "min_topk_overlap": "Lowest mean share of each query's top k items that must stay in the top k.",
    "min_ndcg_delta": "Lowest allowed head NDCG@k minus base NDCG@k against the relevance labels.",
}


def _replay_schema(kind: str) -> dict[str, Any]:
    dataset = prop(
        "Dataset",
        "Parquet or CSV file(s) of sample rows, relative to the repository root (e.g. tests/data/orders.parquet); "
        "one column per input the model reads. Read from the work tree for base and head alike.",
        anyOf=[
            {"type": "string", "pattern": "[.](parquet|pq|csv)$"},
            {"type": "array", "items": {"type": "string", "pattern": "[.](parquet|pq|csv)$"}, "minItems": 1},
        ],
    )
    if kind == "bandit":
        props: dict[str, Any] = {
            "draws": prop(
                "Monte Carlo draws",
                "How many simulated visitors estimate each arm's chance to be best (default 100000; seeded).",
                type="integer", minimum=1000, maximum=10000000,
            ),
        }
    else:
        props = {"dataset": dataset}
    if kind == "scorecard":
        cost = obj(
            "Costs of a decision",
            "What this decision costs per row when the outcome is positive (e.g. fraud) and when it is negative.",
            {
                "positive": number("Cost if positive", "Cost per row with a positive outcome (e.g. a chargeback let through)."),
                "negative": number("Cost if negative", "Cost per row with a negative outcome (e.g. a good order declined)."),
            },
        )
        props.update({
            "outcome": string(
                "Outcome column",
                "A true/false (or 1/0) column of what really happened (e.g. is_fraud): enables AUC, precision and "
                "recall per band, and expected loss.",
                minLength=1,
            ),
            "costs": prop(
                "Decision costs",
                "Per decision, the cost of a positive and of a negative outcome; the replay reports the expected "
                "loss per row. Needs `outcome`.",
                type="object", additionalProperties=cost,
            ),
            "unit": string("Row unit", "What a row is, for the report (e.g. orders, customers). Default: rows.",
                           minLength=1),
        })
    if kind == "ranking":
        props.update({
            "query": string(
                "Query column",
                "The column that groups rows into one request (e.g. query_id); rows of a query are adjacent.",
                minLength=1,
            ),
            "relevance": string(
                "Relevance column",
                "Graded relevance labels (0 = irrelevant, 3 = perfect) per row: enables NDCG@k.",
                minLength=1,
            ),
            "top_k": prop("Top k", "The k of top-k overlap and NDCG@k (default 10).", type="integer",
                          minimum=1, maximum=1000),
        })
    return obj(
        "Replay",
        "The sample data `weights check` replays through the base and head versions of this model to measure "
        "what a change does.",
        props,
    )


def _guardrails_schema(kind: str) -> dict[str, Any]:
    return obj(
        "Guardrails",
        "Limits for this model that replace the defaults in config/guardrails.yaml (null switches one off).",
        {name: prop(name.replace("_", " ").capitalize(), _GUARDRAIL_HELP[name], type=["number", "null"])
         for name in GUARDRAIL_NAMES[kind]},
    )


def _accept_schema(kind: str) -> dict[str, Any]:
    return array(
        "Accepted breaches",
        "Reviewed exceptions: a guardrail breach this change may make, with the reason. Only entries added or "
        "changed together with the weights count; an old entry accepts nothing new.",
        obj(
            "Accepted breach",
            "One guardrail this change may breach, and why that is fine.",
            {
                "guardrail": string("Guardrail", "The guardrail breached (as in the report).",
                                    enum=list(GUARDRAIL_NAMES[kind])),
                "reason": string("Reason", "Why the breach is intended, for the reviewer and the history.",
                                 minLength=10),
                "up_to": number("Up to", "Accept the breach only up to this value (e.g. 0.04 for a 4% flip rate)."),
            },
            required=["guardrail", "reason"],
        ),
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
        # Gate-only keys (the runtime ignores them): what replay data to use and which limits apply.
        **({"replay": _replay_schema(kind), "guardrails": _guardrails_schema(kind), "accept": _accept_schema(kind)}
           if kind in GUARDRAIL_NAMES else {}),
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
