"""What an app imports: ``WeightsClient`` and the evaluators it serves.

This package imports nothing of the gate (no click, rich, GitPython, jsonschema, fastjsonschema or YAML at
import time; ``tests/test_runtime_imports.py`` holds it to that), so an app pays only for python-tuf, its
crypto and urllib3. Metrics (``prometheus-client``) load only when asked for.
"""
from __future__ import annotations

import json
from os import PathLike
from pathlib import Path

from validator.kinds.contract import Contract
from validator.runtime.client import ClientConfig, State, Status, WeightsClient
from validator.runtime.errors import BundleRefused, FetchError, NotReady, UnknownModel, WeightsError
from validator.runtime.snapshot import Snapshot, build_snapshot, parse_bundle


def load_contract(path: str | PathLike[str], name: str | None = None) -> Contract:
    """The app's build-time contract from ``config/contracts/<name>.yaml`` (or a ``.json`` copy of it).

    The name defaults to the file's stem, as in the repository. YAML needs PyYAML, imported only here
    (an app that ships its contract as JSON never loads it).
    """
    path = Path(path)
    text = path.read_bytes()
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml  # lazy: only apps that read YAML contracts pay for it

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a contract (expected a mapping)")
    return Contract.from_dict(name or path.stem, data)


__all__ = [
    "BundleRefused", "ClientConfig", "Contract", "FetchError", "NotReady", "Snapshot", "State", "Status",
    "UnknownModel", "WeightsClient", "WeightsError", "build_snapshot", "load_contract", "parse_bundle",
]
