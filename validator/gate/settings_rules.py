"""Rules for the repository settings (``config/weights.yaml``) that a JSON Schema cannot say.

The schema catches shape (unknown keys, types, limits out of range); these catch what only makes sense across
values: a folder that leaves the repository, signatures that would expire in the wrong order. They run when
the settings load, so ``weights validate`` reports them at file:line:col and other commands refuse to start.
"""
from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Iterator

from validator.gate.rules import Problem, RuleContext, rule
from validator.gate.settings_schema import EXPIRY_DEFAULTS

KINDS = ["settings"]
FOLDER_KEYS = ("weights_dir", "contracts_dir", "schemas_dir", "golden_dir")
# Signatures are checked from the most to the least frequently re-signed: each must expire no later than the
# next (the order validator.publish.repository.Expiry enforces when it signs).
EXPIRY_ORDER = ("timestamp", "snapshot", "targets")
_DRIVE = re.compile(r"^[A-Za-z]:")


@rule("settings.folder-in-repository", kinds=KINDS)
def folder_in_repository(ctx: RuleContext) -> Iterator[Problem]:
    """Folders are paths inside the repository, written with `/`: the gate reads them from git revisions too.

    An absolute path or one that climbs out with `..` would read files that are not part of the reviewed
    commit, and a backslash is not a folder separator in git.

    Bad:
        # config/weights.yaml
        weights_dir: ../shared/weights
    Good:
        # config/weights.yaml
        weights_dir: weights
    """
    for key in FOLDER_KEYS:
        value = ctx.data.get(key)
        if not isinstance(value, str):
            continue
        if "\\" in value:
            yield Problem((key,), f"{key} {value!r} contains a backslash", f"write {value.replace(chr(92), '/')!r}")
        elif value.startswith("/") or _DRIVE.match(value):
            yield Problem((key,), f"{key} {value!r} is an absolute path",
                          "write the folder relative to the repository root, e.g. weights")
        elif ".." in PurePosixPath(value).parts:
            yield Problem((key,), f"{key} {value!r} leaves the repository",
                          "keep the folder inside the repository, so every revision carries it")


@rule("settings.expiry-order", kinds=KINDS)
def expiry_order(ctx: RuleContext) -> Iterator[Problem]:
    """Signatures re-signed more often expire sooner: timestamp <= snapshot <= targets (days, defaults included).

    A timestamp that outlives its snapshot lets a frozen mirror go unnoticed for as long as the snapshot lives,
    and publish refuses such settings.

    Bad:
        # config/weights.yaml
        publish:
          expires_days: {timestamp: 30}   # the snapshot's default is 14
    Good:
        # config/weights.yaml
        publish:
          expires_days: {timestamp: 2, snapshot: 14}
    """
    publish = ctx.data.get("publish")
    given = publish.get("expires_days") if isinstance(publish, dict) else None
    if not isinstance(given, dict):
        return
    days = {role: given.get(role, EXPIRY_DEFAULTS[role]) for role in EXPIRY_ORDER}
    for shorter, longer in zip(EXPIRY_ORDER, EXPIRY_ORDER[1:], strict=False):
        if days[shorter] <= days[longer]:
            continue
        # Point at the value the file sets; when both are set, at the shorter-lived role, which is the usual slip.
        at = shorter if shorter in given else longer
        default = "" if longer in given else " (its default)"
        yield Problem(("publish", "expires_days", at),
                      f"{shorter} signatures would live {days[shorter]:g} days, longer than the {longer}'s "
                      f"{days[longer]:g}{default}",
                      f"keep timestamp <= snapshot <= targets: lower {shorter} or raise {longer}")


RULES = (folder_in_repository, expiry_order)
