"""The bandit's JSON Schema: what a bandit file may say (published as config/schemas/bandit.schema.json).

Kept apart from the evaluator so the schema (runtime side, published for editors) and the request path
change independently; the gate-only keys (replay, guardrails, accept) come from this kind's GUARDRAILS and
its replay settings.
"""
from __future__ import annotations

from validator.kinds.bandit.evaluator import KIND_NAME
from validator.kinds.bandit.guardrails import GUARDRAILS
from validator.kinds.schema_parts import (
    array,
    model_schema,
    number,
    obj,
    prop,
    string,
)

_PRIOR = obj(
    "Prior",
    "Beta(alpha, beta): what we believe about the arm's success rate before its own data. alpha/(alpha+beta) is "
    "the expected rate, alpha+beta how many observations that belief is worth. Beta(2, 38): about 5%, worth 40 "
    "visits, so real data takes over quickly.",
    {
        "alpha": number(
            "Alpha",
            "Prior successes (pseudo-counts), > 0. With beta: expected rate alpha / (alpha + beta).",
        ),
        "beta": number(
            "Beta",
            "Prior failures (pseudo-counts), > 0. Keep alpha + beta small (tens to a few hundred) so data dominates.",
        ),
    },
    required=["alpha", "beta"],
)

_POSTERIOR = obj(
    "Observed counts",
    "Successes and failures observed for this arm (written by `weights update` from the events). The arm's posterior is "
    "Beta(alpha + successes, beta + failures).",
    {
        "successes": prop(
            "Successes",
            "Visits that counted as a success for the model's metric (e.g. clicked the hero). A whole number >= 0.",
            type="integer",
        ),
        "failures": prop(
            "Failures",
            "Visits that did not (shown, not clicked). A whole number >= 0.",
            type="integer",
        ),
    },
    required=["successes", "failures"],
)

_ARM = obj(
    "Arm",
    "One variant the bandit chooses between, with what we know about its success rate.",
    {
        "id": string(
            "Variant id",
            "The variant the app renders when this arm is chosen (e.g. hero_spring_sale); the app's contract "
            "must accept it.",
            minLength=1,
        ),
        "description": string("Description", "What the visitor sees, for reviewers."),
        "prior": _PRIOR,
        "posterior": _POSTERIOR,
        "floor": number(
            "Traffic floor",
            "The least share of all traffic this arm gets, whatever its results (0.05: every 20th visitor). "
            "Keeps exploring and honours guarantees; floors plus the holdout share must stay well below 1.",
            minimum=0,
            maximum=1,
        ),
    },
    required=["id", "prior"],
)

_HOLDOUT = obj(
    "Holdout",
    "A control variant shown to a fixed random share of traffic, outside the bandit, to measure its lift.",
    {
        "variant": string(
            "Control variant",
            "The variant the holdout sees (e.g. hero_control); not one of the arms. The contract must accept it.",
            minLength=1,
        ),
        "share": number(
            "Holdout share",
            "The share of all traffic that sees the control (0.05: every 20th visitor), > 0.",
            exclusiveMinimum=0,
            maximum=1,
        ),
    },
    required=["variant", "share"],
)

_UPDATE = obj(
    "Update source",
    "Where `weights update` (and the nightly weights-update workflow) counts this bandit's events: a Parquet or "
    "CSV file, or a DuckDB query over such files, with one row per view (the arm shown, whether it was a success). "
    "Give `from` or `sql`, not both.",
    {
        "from": string(
            "Events file",
            "A Parquet or CSV file of events, relative to the repository root (e.g. "
            "tests/data/homepage_events.parquet).",
            pattern="[.](parquet|pq|csv)$",
        ),
        "sql": string(
            "Events query",
            "One DuckDB SELECT over Parquet/CSV files of the repository (paths relative to its root) returning the "
            "arm and success columns, e.g. SELECT arm, clicked AS success FROM read_parquet('events/*.parquet').",
            minLength=1,
        ),
        "arm_column": string("Arm column", "The column holding the arm id (default arm).", minLength=1),
        "success_column": string(
            "Success column",
            "The column saying whether the view was a success: boolean, or integer 0/1 (default success).",
            minLength=1,
        ),
        "mode": string(
            "Mode",
            "total (default): the source holds every event since each arm started, and its counts replace the "
            "file's. add: the source holds new events only (e.g. yesterday's), added to the file's counts.",
            enum=["total", "add"],
        ),
    },
    oneOf=[{"required": ["from"]}, {"required": ["sql"]}],
)

SCHEMA = model_schema(
    KIND_NAME,
    "Bandit model",
    "Chooses a site variant per visitor by Thompson sampling over Beta posteriors, with per-arm traffic floors "
    "and an optional holdout.",
    {
        "metric": string(
            "Metric",
            "What counts as a success for every arm (e.g. hero_click_through: the visitor clicked the hero). "
            "The counting job and reviewers read it; all arms must be counted the same way.",
            minLength=1,
        ),
        "arms": array("Arms", "The variants the bandit chooses between (at least two).", _ARM, minItems=1),
        "holdout": _HOLDOUT,
        "update": _UPDATE,
    },
    ["metric", "arms"],
    guardrails=GUARDRAILS,
    replay={
        "draws": prop(
            "Monte Carlo draws",
            "How many simulated visitors estimate each arm's chance to be best (default 100000; seeded).",
            type="integer", minimum=1000, maximum=10000000,
        ),
    },
)

__all__ = ["SCHEMA"]
