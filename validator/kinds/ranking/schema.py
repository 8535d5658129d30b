"""The ranking's JSON Schema: what a ranking file may say (published as config/schemas/ranking.schema.json).

Kept apart from the evaluator so the schema (runtime side, published for editors) and the request path
change independently; the gate-only keys (replay, guardrails, accept) come from this kind's GUARDRAILS and
its replay settings.
"""
from __future__ import annotations

from typing import Any

from validator.kinds.ranking.evaluator import (
    DEFAULT_TRANSFORM,
    KEY_TYPES,
    KIND_NAME,
    OPERATORS,
    ORDERS,
    TRANSFORMS,
)
from validator.kinds.ranking.guardrails import GUARDRAILS
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


def _one_of_hint(key: str, title: str, description: str) -> dict[str, Any]:
    """An anyOf branch requiring ``key``; its title and description become the gate's hint when none is given."""
    return {"required": [key], "properties": {key: {"title": title, "description": description}}}


_FEATURE = obj(
    "Feature",
    "One weighted signal of the score: weight x transform(item's input). The score is the sum of all features.",
    {
        "name": string(
            "Feature name",
            "A unique name for this feature, shown by explain() and in reviews (e.g. popularity).",
            pattern=NAME_PATTERN,
        ),
        "description": string("Description", "Why this signal is in the ranking, for reviewers."),
        "input": string(
            "Input",
            "The numeric item field this feature reads (declared in the app's contract, e.g. sales_30d). "
            "The model's `inputs:` policy says what happens when it is missing or out of range.",
            pattern=NAME_PATTERN,
        ),
        "weight": number(
            "Weight",
            "The multiplier of the transformed input: contribution = weight x transform(input). Compare weights "
            "against the input's typical transformed size (log1p of 10000 sales is 9.2; a rating is 1 to 5). "
            "Negative weights push items down.",
        ),
        "transform": string(
            "Transform",
            "Applied to the input before weighting. identity (default): the value as is. log1p: ln(1 + x), for "
            "long-tailed counts (sales, reviews, views), so the 10000th sale adds less than the 10th. sqrt: "
            "square root, for milder skew. log1p and sqrt need x >= 0; a negative value is an input error.",
            enum=list(TRANSFORMS),
            default=DEFAULT_TRANSFORM,
        ),
    },
    required=["name", "input", "weight"],
)

_CONDITION = obj(
    "Condition",
    "When the boost applies: one input compared with `equals`, `in`, or a range of `at_least` and/or `below`.",
    {
        "input": string(
            "Input",
            "The item field the condition reads (declared in the app's contract).",
            pattern=NAME_PATTERN,
        ),
        "equals": prop(
            "Equals",
            "The condition holds when the input equals this value: true/false for a boolean input, a word for a "
            "category or string input, a number for a numeric one. Quote words YAML would read as booleans ('no').",
            type=["number", "boolean", "string"],
        ),
        "in": array(
            "In",
            "The condition holds when the input is one of these values (words for a category, or numbers). "
            "Every word must be a value the contract declares for the input.",
            {"type": ["string", "number"]},
            minItems=1,
            uniqueItems=True,
        ),
        "below": number(
            "Below",
            "The condition holds when the numeric input is strictly below this value (with `at_least`: inside "
            "[at_least, below)).",
        ),
        "at_least": number(
            "At least",
            "The condition holds when the numeric input is this value or more (with `below`: inside [at_least, below)).",
        ),
    },
    required=["input"],
    anyOf=[_one_of_hint(op, "Comparison", "A condition compares its input with equals, in, or a range of "
                        "at_least and/or below; write one of them.") for op in OPERATORS],
)

_BOOST = obj(
    "Boost",
    "A business rule applied after the weighted sum, in file order: when the condition holds, "
    "score = score x multiply + add.",
    {
        "name": string(
            "Boost name",
            "A unique name for this boost, shown by explain() and in reviews (e.g. in_stock).",
            pattern=NAME_PATTERN,
        ),
        "description": string("Description", "The business reason for the boost, for reviewers."),
        "when": _CONDITION,
        "multiply": number(
            "Multiply",
            "Multiplies the score when the condition holds (1.15 lifts it by 15%, 0.8 cuts it by 20%). Must be "
            "> 0; a multiply on a score that can be negative works backwards, so keep feature scores >= 0 or "
            "use `add`.",
        ),
        "add": number(
            "Add",
            "Added to the score (after `multiply`, if both are given) when the condition holds; negative values "
            "demote. Compare it with typical scores: an add of 0.3 beats a 0.3 gap in relevance.",
        ),
    },
    required=["name", "when"],
    anyOf=[_one_of_hint(key, "Effect", "A boost multiplies the score (multiply: 1.15), adds to it (add: 0.3), "
                        "or both; write at least one.") for key in ("multiply", "add")],
)

_TIE_BREAK = obj(
    "Tie-break key",
    "Orders items whose scores are exactly equal; later keys only decide ties on all earlier ones.",
    {
        "input": string(
            "Input",
            "The item field compared (declared in the app's contract). The last key should be unique per "
            "item, such as item_id, so that the order is total.",
            pattern=NAME_PATTERN,
        ),
        "order": string(
            "Order",
            "asc: smallest (or alphabetically first, or false) first. desc: largest (or last, or true) first.",
            enum=list(ORDERS),
        ),
        "type": string(
            "Type",
            "How the input is compared, as the contract declares it: number (also for integer inputs), string "
            "(text such as ids; compared as text, so '10' sorts before '9'), category, or boolean.",
            enum=list(KEY_TYPES),
        ),
    },
    required=["input", "order", "type"],
)

SCHEMA = model_schema(
    KIND_NAME,
    "Ranking model",
    "Orders items (search results, recommendations) by a weighted sum of features, adjusted by boosts, with "
    "tie-break keys for equal scores.",
    {
        "features": array(
            "Features",
            "The weighted signals summed into each item's score, in this order.",
            _FEATURE,
            minItems=1,
        ),
        "boosts": array(
            "Boosts",
            "Business rules applied after the weighted sum, in this order: score = score x multiply + add "
            "for every boost whose condition holds.",
            _BOOST,
        ),
        "tie_break": array(
            "Tie-break keys",
            "How items with exactly equal scores are ordered, key by key; end with a key unique per item "
            "(e.g. item_id) so the same request always returns the same order.",
            _TIE_BREAK,
        ),
        "analysis": obj(
            "Static analysis",
            "Limits the gate checks over the contract's input ranges (weights explain shows the ranges).",
            {
                "max_term_contribution": number(
                    "Largest term contribution",
                    "No feature or boost may move an item's score by more than this, for any item the contract "
                    "allows (ranking.term-contribution-bound). Replaces the repository default in "
                    "config/weights.yaml.",
                    exclusiveMinimum=0, maximum=1000,
                ),
                "leading": string(
                    "Leading feature",
                    "The feature (or boost) meant to outweigh the others together, e.g. text relevance in "
                    "search; ranking.one-term-dominates warns about any other that does.",
                    minLength=1,
                ),
            },
        ),
    },
    ["features"],
    guardrails=GUARDRAILS,
    replay={
        "dataset": DATASET,
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
    },
)

__all__ = ["SCHEMA"]
