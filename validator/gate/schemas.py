"""All published JSON Schemas, by file name, and writing them to ``config/schemas/``.

The Python dicts are the source of truth (kinds share their common keys); the files are what editors and
other tools read. ``weights schemas`` rewrites them; a test fails when they drift.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from validator.kinds import KINDS
from validator.kinds.contract_schema import CONTRACT_SCHEMA


def all_schemas() -> dict[str, dict[str, Any]]:
    schemas = {f"{name}.schema.json": kind.schema for name, kind in sorted(KINDS.items())}
    schemas["contract.schema.json"] = CONTRACT_SCHEMA
    from validator.gate.golden import golden_schema  # golden cases are the gate's, not the runtime's

    schemas["golden.schema.json"] = golden_schema()
    from validator.gate.settings_schema import SETTINGS_SCHEMA

    schemas["settings.schema.json"] = SETTINGS_SCHEMA
    return schemas


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    """Write every schema whose text changed (atomically); return the paths written."""
    from validator.atomic import write_atomic

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in all_schemas().items():
        path = folder / name
        text = render(schema)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            write_atomic(path, text.encode("utf-8"))
            written.append(path)
    return written
