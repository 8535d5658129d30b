"""The scorecard's JSON Schema: what a scorecard file may say (published as config/schemas/scorecard.schema.json).

Kept apart from the evaluator so the schema (runtime side, published for editors) and the request path
change independently; the gate-only keys (replay, guardrails, accept) come from this kind's GUARDRAILS and
its replay settings.
"""
from __future__ import annotations

from typing import Any

from validator.kinds.schema_parts import (
    DATASET,
    NAME_PATTERN,
    array,
    model_schema,
    number,
    obj,
    prop,
    string,
)
from validator.kinds.scorecard.evaluator import (
    KIND_NAME,
    LINKS,
    REASON_PATTERN,
    TERM_TYPES,
    TRANSFORMS,
)
from validator.kinds.scorecard.guardrails import GUARDRAILS

_COST = obj(
    "Costs of a decision",
    "What this decision costs per row when the outcome is positive (e.g. fraud) and when it is negative.",
    {
        "positive": number("Cost if positive", "Cost per row with a positive outcome (e.g. a chargeback let through)."),
        "negative": number("Cost if negative", "Cost per row with a negative outcome (e.g. a good order declined)."),
    },
)

def _bounds(title: str, description: str) -> dict[str, Any]:
    return obj(
        title,
        description,
        {
            "min": number("Lowest weight", "The smallest weight reviewers agreed to; a lower weight is an error."),
            "max": number("Highest weight", "The largest weight reviewers agreed to; a higher weight is an error."),
        },
        minProperties=1,
    )


_BIN = obj(
    "Bin",
    "A half-open interval [from, to) of the input and the term value for inputs inside it.",
    {
        "from": number(
            "From (inclusive)",
            "The lowest input value in this bin. Only the first bin may omit it (then it starts at minus infinity); "
            "every other bin starts where the previous one ends.",
        ),
        "to": number(
            "To (exclusive)",
            "The first input value above this bin. Only the last bin may omit it (then it runs to infinity).",
        ),
        "value": number(
            "Term value",
            "The term's value for inputs in this bin; the contribution is the term's weight times this value.",
        ),
    },
    required=["value"],
)

_TERM = obj(
    "Term",
    "One input's share of the score: its value (from bins, a transform, a boolean or category levels) times its weight.",
    {
        "name": string(
            "Term name",
            "A unique name for this term, shown by explain() and in reviews (e.g. new_account).",
            pattern=NAME_PATTERN,
        ),
        "description": string("Description", "Why this term is in the model, for reviewers."),
        "input": string(
            "Input",
            "The contract input this term reads (see config/contracts/<contract>.yaml).",
            minLength=1,
        ),
        "type": string(
            "Term type",
            "numeric: value from `bins` or `transform`. boolean: 1 when the input is true, 0 when false. "
            "categorical: value from `levels` (or `other`).",
            enum=list(TERM_TYPES),
        ),
        "bins": array(
            "Bins",
            "numeric only, instead of `transform`: contiguous bins in rising order. The first may omit `from`, "
            "the last may omit `to`; an input in no bin follows the input's out_of_range policy.",
            _BIN,
            minItems=1,
        ),
        "transform": string(
            "Transform",
            "numeric only, instead of `bins`: identity (the input itself), log1p (log(1 + x)) or sqrt. "
            "log1p and sqrt refuse negative inputs.",
            enum=list(TRANSFORMS),
        ),
        "levels": prop(
            "Levels",
            "categorical only: the term value for each category the app sends (e.g. {card: 0.0, gift_card: 1.1}).",
            type="object",
            additionalProperties=number("Level value", "The term value for this category."),
            minProperties=1,
        ),
        "other": number(
            "Other levels",
            "categorical only: the term value for categories not listed in `levels`. Without it an unlisted "
            "category is refused.",
        ),
        "weight": number(
            "Weight",
            "The multiplier of the term value: contribution = weight x term value. Positive weights raise the score.",
        ),
        "bounds": _bounds(
            "Weight bounds",
            "The range this term's weight must stay in (replaces the model's `weight_bounds` for this term).",
        ),
        "reason": string(
            "Reason code",
            "The code reported when this term is among the top contributors (e.g. R01_NEW_ACCOUNT). "
            "Upper case letters, digits and underscores; unique within the model.",
            pattern=REASON_PATTERN,
        ),
    },
    required=["name", "input", "type", "weight"],
)

_BAND = obj(
    "Decision band",
    "A decision for the scores below `below` (and at or above the previous band's `below`).",
    {
        "decision": string(
            "Decision",
            "What the app does for scores in this band (e.g. approve, review, decline); the app's contract "
            "lists the decisions it accepts.",
            pattern=NAME_PATTERN,
        ),
        "below": number(
            "Below",
            "The band covers scores strictly below this value. Every band but the last has one, rising from band "
            "to band; the last band has none and takes every higher score.",
        ),
    },
    required=["decision"],
)

SCHEMA = model_schema(
    KIND_NAME,
    "Scorecard",
    "Weighted terms over an app's inputs, a link (identity or logistic), ordered decision bands and reason codes.",
    {
        "link": string(
            "Link",
            "logistic: value = 1 / (1 + exp(-z)), a probability in (0, 1). identity: value = z.",
            enum=list(LINKS),
        ),
        "intercept": number("Intercept", "The score's starting point z before any term is added."),
        "weight_bounds": _bounds(
            "Default weight bounds",
            "The range every term's weight must stay in, unless the term declares its own `bounds`.",
        ),
        "terms": array("Terms", "The weighted terms, summed in this order.", _TERM, minItems=1),
        "bands": array(
            "Decision bands",
            "Ordered decision bands: each covers the scores below its `below`; the last has no `below`.",
            _BAND,
            minItems=1,
        ),
        "reasons": obj(
            "Reason codes",
            "Which reason codes a score reports. Without this block a score reports none.",
            {
                "top": prop(
                    "How many",
                    "Report at most this many reason codes (0 to 20), largest contribution first; 0 reports none.",
                    type="integer",
                    minimum=0,
                    maximum=20,
                ),
                "min_contribution": number(
                    "Minimum contribution",
                    "Report a term only if its contribution (weight x value) is above this (default 0).",
                    minimum=0,
                ),
            },
            required=["top"],
        ),
        "analysis": obj(
            "Static analysis",
            "Limits the gate checks over the contract's input ranges (weights explain shows the ranges).",
            {
                "max_term_contribution": number(
                    "Largest term contribution",
                    "No term may move z by more than this, for any request the contract allows (the rule "
                    "scorecard.term-contribution-bound). Replaces the repository default in config/weights.yaml.",
                    exclusiveMinimum=0, maximum=1000,
                ),
            },
        ),
    },
    ["link", "intercept", "terms", "bands"],
    guardrails=GUARDRAILS,
    replay={
        "dataset": DATASET,
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
            type="object", additionalProperties=_COST,
        ),
        "unit": string("Row unit", "What a row is, for the report (e.g. orders, customers). Default: rows.",
                       minLength=1),
    },
)

__all__ = ["SCHEMA"]
