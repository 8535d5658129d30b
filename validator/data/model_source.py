"""Where batch scoring gets its model: the work tree, a git revision, or a published bundle.

Every source hands back the same thing: the model's vectorized twin and the version that goes into every
output row, so a score in a warehouse table can always be traced to the weights that made it:

- the work tree: ``worktree`` (the files as they are now, committed or not, so no commit can vouch for them);
- a revision (``--rev``): the full commit id it resolves to (a branch moves; the commit does not);
- a published bundle (``--url``/``--trusted-root``): the TUF targets version, the number ``weights publish``
  prints and ``WeightsClient.version`` reports, so batch and request-path scores carry the same label.

The repository sources run the full gate first and refuse a model that does not pass it: batch scoring with
weights the gate would refuse is how a bad threshold reaches a million customers at once. A bundle has passed
the gate before it was published, and is verified (signatures, expiry, rollback) before it is used.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from validator.kinds.base import ModelError
from validator.kinds.contract import Contract

WORKTREE = "worktree"


class ModelSourceError(Exception):
    """The model cannot be had: no repository, bad revision, unknown model, unreachable or refused bundle.

    ``exit_code`` is 1 when the model exists but fails the gate (a gate failure), 2 otherwise (usage or
    environment).
    """

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for batch scoring: its vectorized twin and the version stamped on its rows; and the
    validated document and contract it was compiled from, which is what travels to Spark executors (they
    compile their own twin: generated request-path code does not pickle)."""

    name: str
    kind: str
    twin: Any
    document: Mapping[str, Any]
    contract: Contract | None
    version: str
    source: str         # for messages: "work tree", "main (0123abcd4567)", "bundle version 7 from URL"
    group: str | None   # the column whose runs of equal ids are one request (ranking: replay.query), if any


def _compile(name: str, data: Mapping[str, Any], contract: Contract | None, version: str,
             source: str) -> LoadedModel:
    from validator.data.scoring import default_group
    from validator.kinds.vectorized import compile_vectorized

    try:
        twin = compile_vectorized(data, contract)
    except (ModelError, ValueError, KeyError, TypeError) as exc:
        raise ModelSourceError(f"model {name!r} ({source}) cannot be compiled for batch scoring: {exc}") from None
    return LoadedModel(name, str(data["kind"]), twin, data, contract, version, source, default_group(twin, data))


def from_repository(root: Path, name: str, rev: str | None = None) -> LoadedModel:
    """The model from the work tree (``rev`` None) or a git revision, after the full gate."""
    from validator.api import validate_paths
    from validator.gate.sources import GitRevision, SourceError

    try:
        result = validate_paths(root, rev=rev)
        version = WORKTREE if rev is None else GitRevision(root, rev).commit.hexsha
    except SourceError as exc:
        raise ModelSourceError(str(exc)) from None
    source = "work tree" if rev is None else f"{rev} ({version[:12]})"
    if name not in result.models:
        errors = [f for f in result.findings if f.severity.value == "error"]
        if errors:
            shown = "\n".join(f.render() for f in errors[:20])
            raise ModelSourceError(f"model {name!r} is not usable: the weights at {source} do not pass the gate "
                                   f"({len(errors)} error(s)); fix them first (weights validate):\n{shown}", 1)
        from validator.gate.rules import did_you_mean

        hint = did_you_mean(name, list(result.models))
        known = ", ".join(sorted(result.models)) or "none"
        raise ModelSourceError(f"no model {name!r} in the {source} of {root}{' (' + hint + ')' if hint else ''}; "
                               f"models: {known}")
    data = result.models[name]
    return _compile(name, data, result.contracts.get(data["contract"]), version, source)


def from_bundle(url: str, trusted_root: Path, cache_dir: Path, name: str, *, channel: str = "production",
                max_bundle_bytes: int = 16 * 1024 * 1024) -> LoadedModel:
    """The model from the bundle a TUF repository publishes now, verified as ``WeightsClient`` verifies it."""
    from validator.publish.bundle import target_path
    from validator.runtime.snapshot import parse_bundle, served_version
    from validator.runtime.tuf_client import HttpFetcher, Repository, classify, read_root

    fetcher = HttpFetcher()
    try:
        repo = Repository(url, read_root(trusted_root), Path(cache_dir), target_path(channel), fetcher,
                          max_bundle_bytes)
        target = repo.check().live
        document = parse_bundle(repo.download(target))
    except Exception as exc:  # noqa: BLE001 - sorted by the runtime's classify(), as WeightsClient sorts a poll
        raise ModelSourceError(f"cannot use the bundle published at {url}: {classify(exc)}") from None
    finally:
        fetcher.close()
    version = served_version(target.info.custom, target.version)   # the version apps report for these bytes
    source = f"bundle version {version} from {url}"
    models = document.get("models", {})
    if name not in models:
        raise ModelSourceError(f"no model {name!r} in {source}; models: {', '.join(sorted(models)) or 'none'}")
    data = models[name]
    contract_name = data.get("contract")
    contract_data = document.get("contracts", {}).get(contract_name) if isinstance(contract_name, str) else None
    contract = Contract.from_dict(contract_name, contract_data) if contract_data is not None else None
    return _compile(name, data, contract, version, source)
