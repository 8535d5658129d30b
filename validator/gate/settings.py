"""Repository settings (``config/weights.yaml``): where things live and the limits the gate enforces.

Every limit has its default here with the reason for it, so a repository file only states what it changes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from validator.gate.yamlload import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, load_bytes

SETTINGS_FILE = "config/weights.yaml"


class SettingsError(Exception):
    """The repository settings file is unreadable or wrong: an environment error (exit 2), not a finding."""


@dataclass(frozen=True)
class Limits:
    # A model is a page of numbers; a file of megabytes is a mistake (or an attack on the gate).
    max_file_bytes: int = DEFAULT_MAX_BYTES
    # No kind nests deeper than a handful of levels; a deep document only costs recursion.
    max_depth: int = DEFAULT_MAX_DEPTH


@dataclass(frozen=True)
class Settings:
    weights_dir: str = "weights"
    contracts_dir: str = "config/contracts"
    schemas_dir: str = "config/schemas"
    limits: Limits = field(default_factory=Limits)
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Settings":
        limits = data.get("limits") or {}
        known = {"weights_dir", "contracts_dir", "schemas_dir", "limits"}
        return cls(
            weights_dir=str(data.get("weights_dir", cls.weights_dir)),
            contracts_dir=str(data.get("contracts_dir", cls.contracts_dir)),
            schemas_dir=str(data.get("schemas_dir", cls.schemas_dir)),
            limits=Limits(
                max_file_bytes=int(limits.get("max_file_bytes", DEFAULT_MAX_BYTES)),
                max_depth=int(limits.get("max_depth", DEFAULT_MAX_DEPTH)),
            ),
            raw={k: v for k, v in data.items() if k not in known},
        )


def load_settings(raw: bytes | None) -> Settings:
    """Settings from the bytes of ``config/weights.yaml`` (None: the file is absent, use defaults)."""
    if raw is None:
        return Settings()
    document, findings = load_bytes(raw, SETTINGS_FILE)
    if document is None or findings:
        raise SettingsError("; ".join(f.render() for f in findings))
    if not isinstance(document.data, dict):
        raise SettingsError(f"{SETTINGS_FILE}:1:1: the settings file must be a mapping")
    try:
        return Settings.from_dict(document.data)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{SETTINGS_FILE}: {exc}") from None


def find_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds ``config/weights.yaml`` (a weights repository)."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / SETTINGS_FILE).is_file():
            return folder
    return None
