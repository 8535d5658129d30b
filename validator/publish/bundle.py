"""The canonical bundle: every model and contract of one git commit, as one JSON document of fixed bytes.

Anyone can rebuild a published bundle from the commit it names and compare bytes, so nothing in it may depend
on the machine or the moment of the build:

* canonical JSON: sorted keys, separators ``,`` and ``:``, UTF-8, no NaN/Infinity, no trailing newline;
* models normalized: every default the kind's JSON Schema declares is written out, so an app reading the
  bundle never depends on the defaults of the library version it runs;
* provenance from git only: the commit, its author and its commit time (the moment it landed on the branch,
  in UTC). Never the wall clock, the host name or the tool's version.

Only a commit has provenance, so a bundle is always built from one (``HEAD`` by default), never from the
work tree. Uncommitted edits of the inputs are therefore *not* in the bundle; ``dirty_inputs`` lets the CLI
say so (``weights build``) or refuse (``weights publish`` without ``--rev``).

The format (``format_version`` 1)::

    {"contracts": {<name>: <contract document>},
     "format_version": 1,
     "models": {<name>: <model document, defaults resolved>},
     "provenance": {"author": "Ana Lyst", "commit": "<40 hex>", "committed_at": "2024-05-01T12:00:00Z"}}
"""
from __future__ import annotations

import copy
import datetime as _dt
import functools
import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from validator.gate.findings import Finding
from validator.gate.settings import SETTINGS_FILE

BUNDLE_FORMAT_VERSION = 1
BUNDLE_NAME = "bundle.json"
CANDIDATE_NAME = "candidate.json"
CHANNEL_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
DEFAULT_CHANNEL = "production"
SHADOW_CHANNEL = "shadow"  # the channel a WeightsClient shadows when its own channel has no candidate


class BundleError(Exception):
    """The bundle cannot be built here (not a git repository, unknown revision, no commit yet): exit 2."""


class BundleInvalid(Exception):
    """The weights at that commit do not pass the gate, so there is nothing to publish: exit 1."""

    def __init__(self, findings: Sequence[Finding], label: str) -> None:
        self.findings = list(findings)
        super().__init__(
            f"the weights at {label} do not validate ({len(self.findings)} error(s)); run weights validate"
        )


@dataclass(frozen=True)
class Provenance:
    commit: str
    author: str
    committed_at: str

    def to_dict(self) -> dict[str, str]:
        return {"commit": self.commit, "author": self.author, "committed_at": self.committed_at}


@dataclass(frozen=True)
class Bundle:
    """The built bundle: its exact bytes plus what the publisher records about it."""

    data: bytes
    provenance: Provenance
    models: tuple[str, ...] = field(default=())
    builder: str | None = None  # builder_id() of the code that built it; None when built elsewhere

    @property
    def size(self) -> int:
        return len(self.data)


def target_path(channel: str) -> str:
    """The TUF target name of a channel's bundle, e.g. ``production/bundle.json``."""
    check_channel(channel)
    return f"{channel}/{BUNDLE_NAME}"


def candidate_path(channel: str) -> str:
    """The TUF target name of a channel's canary candidate, e.g. ``production/candidate.json``.

    A second target beside the live one in the same signed targets metadata, so a client's rollback, freeze
    and mix-and-match protection covers the candidate exactly as it covers the live bundle.
    """
    check_channel(channel)
    return f"{channel}/{CANDIDATE_NAME}"


def check_channel(channel: str) -> str:
    if not CHANNEL_PATTERN.match(channel or ""):
        raise ValueError(
            f"bad channel name {channel!r}: lower-case letters, digits, '.', '_' and '-' (e.g. production, canary)"
        )
    return channel


# --- canonical JSON -----------------------------------------------------------------------------------------

def canonical_json(value: Any) -> bytes:
    """The one serialization of ``value``: same value, same bytes, on every machine and Python >= 3.10."""
    return json.dumps(
        _plain(value, "$"), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _plain(value: Any, where: str) -> Any:
    """A copy made only of JSON types; anything else is a bug upstream, named by its JSON path."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: {value!r} has no JSON form")
        return float(value)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: key {key!r} is not a string")
            out[key] = _plain(item, f"{where}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise ValueError(f"{where}: {type(value).__name__} has no JSON form")


# --- defaults from the JSON Schema --------------------------------------------------------------------------

def apply_defaults(value: Any, schema: Mapping[str, Any], root: Mapping[str, Any] | None = None) -> Any:
    """A copy of ``value`` with every absent property that has a schema ``default`` filled in, at any depth.

    Follows ``$ref`` (local), ``properties``, ``additionalProperties``, ``items`` and ``allOf``; inside
    ``oneOf``/``anyOf`` it uses the one branch the value matches (none or several: no defaults from there).
    """
    root = root if root is not None else schema
    schema = _resolve(schema, root)
    if isinstance(value, dict):
        out = {k: v for k, v in value.items()}
        props: Mapping[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key in list(out):
            if key in props:
                out[key] = apply_defaults(out[key], props[key], root)
            elif isinstance(extra, Mapping):
                out[key] = apply_defaults(out[key], extra, root)
        for key, sub in props.items():
            resolved = _resolve(sub, root) if isinstance(sub, Mapping) else {}
            if key not in out and "default" in resolved:
                out[key] = apply_defaults(copy.deepcopy(resolved["default"]), resolved, root)
        value = out
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, Mapping):
            value = [apply_defaults(item, items, root) for item in value]
    for sub in schema.get("allOf") or ():
        value = apply_defaults(value, sub, root)
    for keyword in ("oneOf", "anyOf"):
        branches = schema.get(keyword) or ()
        matching = [b for b in branches if _matches(value, b, root)]
        if len(matching) == 1:
            value = apply_defaults(value, matching[0], root)
    return value


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    seen = 0
    while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#/"):
        node: Any = root
        for part in schema["$ref"][2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema = node
        seen += 1
        if seen > 32:
            raise ValueError("a $ref cycle in a schema")
    return schema


def _matches(value: Any, branch: Mapping[str, Any], root: Mapping[str, Any]) -> bool:
    from jsonschema import Draft202012Validator  # the gate only

    probe = dict(_resolve(branch, root))
    for keyword in ("definitions", "$defs"):
        if keyword in root:
            probe.setdefault(keyword, root[keyword])
    return Draft202012Validator(probe).is_valid(value)


def normalize_model(data: Mapping[str, Any]) -> dict[str, Any]:
    """A validated model document with its kind's schema defaults written out."""
    from validator.kinds import KINDS

    kind = KINDS[str(data["kind"])]
    return _plain(apply_defaults(_plain(data, "$"), kind.schema), "$")


def normalize_contract(data: Mapping[str, Any]) -> dict[str, Any]:
    from validator.kinds.contract_schema import CONTRACT_SCHEMA

    return _plain(apply_defaults(_plain(data, "$"), CONTRACT_SCHEMA), "$")


# --- provenance and build -----------------------------------------------------------------------------------

def _utc(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def provenance_of(commit: Any) -> Provenance:
    """Provenance of a GitPython commit: sha, author name, and the commit (landing) time in UTC."""
    return Provenance(
        commit=commit.hexsha,
        author=str(commit.author.name or ""),
        committed_at=_utc(commit.committed_datetime),
    )


def bundle_document(models: Mapping[str, Mapping[str, Any]], contracts: Mapping[str, Mapping[str, Any]],
                    provenance: Provenance) -> dict[str, Any]:
    return {
        "format_version": BUNDLE_FORMAT_VERSION,
        "provenance": provenance.to_dict(),
        "models": {name: normalize_model(doc) for name, doc in models.items()},
        "contracts": {name: normalize_contract(doc) for name, doc in contracts.items()},
    }


def build_bundle(root: Path | str, rev: str = "HEAD") -> Bundle:
    """Build the bundle of ``rev`` (default ``HEAD``) of the git repository at ``root``.

    Raises BundleError when there is no such commit and BundleInvalid when its weights fail the gate.
    """
    from validator.gate.settings import SettingsError
    from validator.gate.sources import GitRevision, SourceError
    from validator.gate.validate import settings_from, validate

    root = Path(root)
    try:
        source = GitRevision(root, rev)
    except SourceError as exc:
        if not (root / ".git").exists():
            raise BundleError(
                f"{root} is not a git repository: a bundle's provenance is a commit, so commit the weights first"
            ) from None
        if rev == "HEAD":
            raise BundleError(f"{root} has no commit yet: commit the weights, then build") from None
        raise BundleError(str(exc)) from None
    try:
        result = validate(source, settings_from(source))
    except SettingsError as exc:
        raise BundleError(f"{SETTINGS_FILE} at {source.label}: {exc}") from None
    if not result.ok:
        raise BundleInvalid([f for f in result.findings if f.severity.value == "error"], source.label)
    provenance = provenance_of(source.commit)
    document = bundle_document(result.models, result.contract_data, provenance)
    return Bundle(data=canonical_json(document), provenance=provenance, models=tuple(sorted(result.models)),
                  builder=builder_id())


def commit_of(root: Path | str, rev: str = "HEAD") -> str | None:
    """The full sha ``rev`` names in the git repository at ``root``; None when it names none (build says why)."""
    import git  # the gate only

    try:
        return str(git.Repo(root, search_parent_directories=False).commit(rev).hexsha)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, git.BadName, ValueError):
        return None


@functools.lru_cache(maxsize=1)
def builder_id() -> str:
    """A hash of everything besides the commit that decides a bundle's bytes and whether it validates.

    That is this package's own files (kinds, schemas, rules, the loader, this builder) and the versions of the
    YAML and JSON Schema libraries under them. The same commit and the same builder give the same bytes and the
    same verdict, which is what lets ``weights publish`` call a commit already live without rebuilding it; any
    change to the code (a release, or an edit in a development checkout) makes the next publish rebuild.
    """
    from importlib.metadata import PackageNotFoundError, version

    import validator

    digest = hashlib.sha256(f"format {BUNDLE_FORMAT_VERSION}\n".encode())
    for dist in ("PyYAML", "jsonschema"):
        try:
            digest.update(f"{dist} {version(dist)}\n".encode())
        except PackageNotFoundError:
            digest.update(f"{dist} -\n".encode())
    package = Path(validator.__file__).parent
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
            data = path.read_bytes()
            digest.update(f"{path.relative_to(package).as_posix()} {len(data)}\n".encode())
            digest.update(data)
    return digest.hexdigest()


def dirty_inputs(root: Path | str) -> list[str]:
    """Work-tree files that feed a bundle and differ from ``HEAD`` (edited, staged or untracked).

    Empty when the tree is clean or ``root`` is not a git work tree.
    """
    import git  # the gate only

    from validator.gate.settings import load_settings

    root = Path(root)
    try:
        repo = git.Repo(root, search_parent_directories=False)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return []
    settings_file = root / SETTINGS_FILE
    try:
        settings = load_settings(settings_file.read_bytes() if settings_file.is_file() else None)
    except Exception:  # noqa: BLE001 - a broken settings file is itself an input that differs
        return [SETTINGS_FILE]
    folders = [settings.weights_dir, settings.contracts_dir, SETTINGS_FILE]
    try:
        status = repo.git.status("--porcelain", "--untracked-files=all", "--", *folders)
    except git.GitCommandError:
        return []
    return sorted({line[3:].strip().strip('"') for line in status.splitlines() if len(line) > 3})


def read_bundle(data: bytes) -> dict[str, Any]:
    """Parse bundle bytes and check the envelope (for ``status`` and tests; the runtime has its own reader)."""
    document = json.loads(data.decode("utf-8"))
    if not isinstance(document, dict) or document.get("format_version") != BUNDLE_FORMAT_VERSION:
        raise ValueError(f"not a format {BUNDLE_FORMAT_VERSION} weights bundle")
    for key in ("models", "contracts", "provenance"):
        if not isinstance(document.get(key), dict):
            raise ValueError(f"bundle without {key!r}")
    return document
