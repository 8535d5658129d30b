"""The JSON Schema of the repository settings (``config/weights.yaml``).

Authored in Python like the kinds' schemas so the limits below sit next to the reasons for them; ``weights
schemas`` writes it to ``config/schemas/settings.schema.json`` for editors. The gate applies it whenever the
settings are loaded, so a misspelt key is a finding with a did-you-mean instead of a setting silently ignored.
Only keywords that draft-07 and 2020-12 share are used (see ``validator.kinds.schema_parts``).
"""
from __future__ import annotations

from typing import Any

from validator.gate.yamlload import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH
from validator.kinds.schema_parts import BASE_ID, SCHEMA_DIALECT, obj, prop, string

# Bounds of the gate's own limits. Below the minimums no model of any kind fits (the deepest file in this
# repository nests 6 levels, the smallest model is a few hundred bytes); above the maximums the limit stops
# protecting the gate: it reads a whole file into memory and builds nested values recursively.
MIN_FILE_BYTES = 1024
MAX_FILE_BYTES = 64 * 1024 * 1024
MIN_DEPTH = 8
MAX_DEPTH = 256
# TUF signatures expire; ten years is already far beyond any key's useful life (publish refuses more).
MAX_EXPIRY_DAYS = 3660
# Days each role's signature stays valid when the settings do not say (validator.publish.repository.Expiry; a
# test keeps the two equal). The settings rules need them to check the order of what a file does set.
EXPIRY_DEFAULTS: dict[str, int] = {"root": 365, "targets": 90, "snapshot": 14, "timestamp": 2}
# The TUF target path is <channel>/bundle.json: a single lower-case path segment (as publish checks it).
CHANNEL_PATTERN = "^[a-z0-9][a-z0-9._-]{0,62}$"


def _folder(title: str, default: str, what: str) -> dict[str, Any]:
    return string(title, f"{what} Relative to the repository root; default {default}.", minLength=1)


def _days(role: str, why: str) -> dict[str, Any]:
    return prop(
        f"{role.capitalize()} expiry (days)",
        f"How long a {role} signature stays valid, in days (default {EXPIRY_DEFAULTS[role]}). {why}",
        type="number", exclusiveMinimum=0, maximum=MAX_EXPIRY_DAYS,
    )


_LIMITS = obj(
    "Limits",
    "What the gate refuses before it reads a file's meaning: oversized and over-nested documents.",
    {
        "max_file_bytes": prop(
            "Largest file (bytes)",
            f"A model or contract file over this size is refused (default {DEFAULT_MAX_BYTES:,} = 1 MiB). A model "
            f"is a page of numbers: a bigger file is a mistake or an attack on the gate. "
            f"Between {MIN_FILE_BYTES:,} and {MAX_FILE_BYTES:,}.",
            type="integer", minimum=MIN_FILE_BYTES, maximum=MAX_FILE_BYTES,
        ),
        "max_depth": prop(
            "Deepest nesting",
            f"A document nesting deeper than this many levels is refused (default {DEFAULT_MAX_DEPTH}). No kind "
            f"nests deeper than a handful of levels. Between {MIN_DEPTH} and {MAX_DEPTH}.",
            type="integer", minimum=MIN_DEPTH, maximum=MAX_DEPTH,
        ),
    },
)

_EXPIRES_DAYS = obj(
    "Signature expiry",
    "How long each TUF role's signature stays valid. Shorter periods reveal a frozen mirror sooner but must be "
    "re-signed more often; keep timestamp <= snapshot <= targets.",
    {
        "root": _days("root", "Signed with the offline key: re-sign yearly (weights keys rotate root)."),
        "targets": _days("targets", "Re-signed by every publish, and by refresh when half the period is gone."),
        "snapshot": _days("snapshot", "Re-signed by refresh when half the period is gone."),
        "timestamp": _days("timestamp", "Re-signed by the daily refresh; apps notice a frozen mirror this soon."),
    },
)

_PUBLISH = obj(
    "Publish",
    "Where and how weights publish / refresh / rollback / status / serve sign and put the bundle.",
    {
        "target": string(
            "Target",
            "A folder (relative to the repository) or a storage URL such as s3://bucket/weights; "
            "default .weights/published. WEIGHTS_PUBLISH_TO or --to override it.",
            minLength=1,
        ),
        "channel": string(
            "Channel",
            "The TUF target is <channel>/bundle.json (default production): lower-case letters, digits, '.', "
            "'_' and '-', e.g. production or canary.",
            pattern=CHANNEL_PATTERN,
        ),
        "keys_dir": string(
            "Keys folder",
            "Where <role>.pem private keys are read when WEIGHTS_KEY_<ROLE> does not give them (default "
            ".weights/keys); keep it out of git.",
            minLength=1,
        ),
        "expires_days": _EXPIRES_DAYS,
    },
)

# The per-term contribution bound (rule <kind>.term-contribution-bound) is on each kind's score scale; above this
# it bounds nothing any model could mean (a logistic z of 1000 is a probability of 1 to 400 digits).
MAX_TERM_CONTRIBUTION = 1000

_ANALYSIS = obj(
    "Static analysis",
    "Repository defaults of the limits the gate checks over each model's contract ranges; a model's own "
    "analysis: block replaces them.",
    {
        "max_term_contribution": prop(
            "Largest term contribution, per kind",
            "Per model kind (scorecard, ranking, segments), the most that one term, feature or boost may move "
            f"the kind's score over the contract's ranges; above 0 and at most {MAX_TERM_CONTRIBUTION}. A kind "
            "not named here has no bound unless its models declare one.",
            type="object",
            additionalProperties=prop("Bound", "On the kind's score scale (scorecard: z).", type="number",
                                      exclusiveMinimum=0, maximum=MAX_TERM_CONTRIBUTION),
        ),
    },
)

SETTINGS_SCHEMA: dict[str, Any] = {
    "$schema": SCHEMA_DIALECT,
    "$id": f"{BASE_ID}settings.schema.json",
    "title": "Repository settings",
    "description": "config/weights.yaml: where models, contracts, schemas and golden cases live, the limits the gate "
                   "enforces, and where bundles are published. Every key is optional.",
    "type": "object",
    "properties": {
        "weights_dir": _folder("Models folder", "weights", "One model per file, as analysts edit them."),
        "contracts_dir": _folder("Contracts folder", "config/contracts", "One app contract per file."),
        "schemas_dir": _folder("Schemas folder", "config/schemas",
                               "Where weights schemas writes the JSON Schemas that editors read; weights new points "
                               "the yaml-language-server line of new files there."),
        "golden_dir": _folder("Golden cases folder", "tests/golden", "One file of golden cases per model; weights "
                              "test and pytest run them."),
        "limits": _LIMITS,
        "publish": _PUBLISH,
        "analysis": _ANALYSIS,
    },
    "additionalProperties": False,
}
