"""The JSON Schema of a table model's header (the YAML beside the CSV or Parquet file that holds the rows).

The header says what the rows mean; the rows themselves are checked by ``attachments`` (positions in the data
file) and never written in the YAML: ``table`` is the key the gate fills from the file. The schema describes it
(a published bundle's models validate against their kind's schema) and ``attachments`` refuses it in a header.
"""
from __future__ import annotations

from typing import Any

from validator.kinds.schema_parts import (
    NAME_PATTERN,
    array,
    guardrails_schema,
    model_schema,
    number,
    obj,
    prop,
    string,
)
from validator.kinds.table.guardrails import GUARDRAILS
from validator.kinds.table.layout import KEY_TYPES, MISSING_KEY_ACTIONS, TABLE_KEY, VALUE_TYPES

KIND_NAME = "table"
# A column name as a CSV header writes it: a letter or underscore, then letters, digits, underscores.
COLUMN_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"
# The data file: one file name beside the header (no folders: the header and its rows travel together).
FILE_PATTERN = "^[A-Za-z0-9_][A-Za-z0-9_.-]*[.](csv|parquet|pq)$"
MAX_KEYS = 8

_KEY = obj(
    "Key column",
    "A column that identifies a row, and the request input the app sends for it.",
    {
        "column": string("Column", "The column's name in the data file's header (default: the input's name).",
                         pattern=COLUMN_PATTERN),
        "input": string("Input", "The request input (declared in the app's contract) whose value selects rows.",
                        pattern=NAME_PATTERN),
        "type": string(
            "Key type",
            "integer: whole numbers (ids); category: words (country codes, category slugs); boolean: true/false. "
            "Fractional numbers cannot be keys: an app's 0.1 + 0.2 is not 0.3.",
            enum=list(KEY_TYPES),
        ),
    },
    required=["input", "type"],
)

_VALUE = obj(
    "Value column",
    "A column the lookup returns, with the type and range every row must respect.",
    {
        "column": string("Column", "The column's name in the data file's header; the app reads the value by it.",
                         pattern=COLUMN_PATTERN),
        "type": string("Value type", "number, integer, boolean or category (a word).", enum=list(VALUE_TYPES)),
        "min": number("Minimum", "The smallest value a row may hold (numbers and integers)."),
        "max": number("Maximum", "The largest value a row may hold (numbers and integers)."),
        "values": prop("Allowed words", "The words a category column may hold; absent: any word.",
                       type="array", items={"type": "string", "minLength": 1}, minItems=1, uniqueItems=True),
        "unit": string("Unit", "What the number measures (multiplier, EUR, slots), for reviewers."),
        "description": string("Description", "What the app does with this value."),
    },
    required=["column", "type"],
)

_MISSING_KEY = obj(
    "Missing key",
    "What a lookup of a key the table has no row for returns.",
    {
        "action": string(
            "Action",
            "default: answer with the `default` row (found: false), e.g. a boost of 1.0 for a category nobody "
            "tuned. reject: refuse the request with an input error naming the key.",
            enum=list(MISSING_KEY_ACTIONS),
        ),
        "default": prop(
            "Default row",
            "With action: default, one value per value column, within its range: what a key without a row gets.",
            type="object",
            additionalProperties={"type": ["number", "boolean", "string"]},
        ),
    },
    required=["action"],
)


def _gate_keys() -> dict[str, Any]:
    """replay/guardrails/accept for a kind that ``schema_parts`` does not list, built from GUARDRAILS."""
    names = [g.name for g in GUARDRAILS]
    return {
        "replay": obj(
            "Replay",
            "The sample requests `weights check` looks up in the base and head tables to measure what a change "
            "does to the app's traffic.",
            {"dataset": prop(
                "Dataset",
                "Parquet or CSV file(s) of sample requests, relative to the repository root (e.g. "
                "tests/data/search_requests.parquet); one column per key input.",
                anyOf=[
                    {"type": "string", "pattern": "[.](parquet|pq|csv)$"},
                    {"type": "array", "items": {"type": "string", "pattern": "[.](parquet|pq|csv)$"},
                     "minItems": 1},
                ],
            )},
        ),
        "guardrails": guardrails_schema(GUARDRAILS),
        "accept": array(
            "Accepted breaches",
            "Reviewed exceptions: a guardrail breach this change may make, with the reason. Only entries added "
            "or changed together with the rows count; an old entry accepts nothing new.",
            obj(
                "Accepted breach",
                "One guardrail this change may breach, and why that is fine.",
                {
                    "guardrail": string("Guardrail", "The guardrail breached (as in the report).",
                                        enum=[*names, "change_budget"]),
                    "reason": string("Reason", "Why the breach is intended, for the reviewer and the history.",
                                     minLength=10),
                    "up_to": number("Up to", "Accept the breach only up to this value."),
                },
                required=["guardrail", "reason"],
            ),
        ),
    }


SCHEMA: dict[str, Any] = model_schema(
    KIND_NAME,
    "Table model",
    "Keyed values in a CSV or Parquet file beside this header (the analytics team writes the rows): the app "
    "looks a row up by the key inputs it sends and reads the value columns.",
    {
        "file": string(
            "Data file",
            "The CSV or Parquet file with the rows, beside this header (default: the header's file name with "
            ".csv, else .parquet). Its first line names the columns.",
            pattern=FILE_PATTERN,
        ),
        "keys": array("Keys", "The columns that identify a row; each row's key is unique.", _KEY,
                      minItems=1, maxItems=MAX_KEYS),
        "values": array("Values", "The columns a lookup returns.", _VALUE, minItems=1),
        "missing_key": _MISSING_KEY,
        TABLE_KEY: obj(
            "Rows (filled by the gate)",
            "Never written in the header: the gate reads the data file and embeds its rows here in the resolved "
            "model that golden cases, replay and the published bundle use.",
            {
                "file": string("Data file", "The repository path of the file the rows were read from."),
                "sha256": string("SHA-256", "The digest of the data file's bytes.", pattern="^[0-9a-f]{64}$"),
                "rows": prop("Rows", "How many rows the file holds.", type="integer", minimum=0),
                "columns": prop("Columns", "Column name -> its values, one per row, in file order.",
                                type="object", additionalProperties={"type": "array"}),
            },
            required=["file", "sha256", "rows", "columns"],
        ),
    },
    ["keys", "values", "missing_key"],
)
for _key, _part in _gate_keys().items():
    SCHEMA["properties"].setdefault(_key, _part)

__all__ = ["KIND_NAME", "SCHEMA"]
