"""The pure core of a reload: bundle bytes in, an immutable ``Snapshot`` out (or ``BundleRefused``). No IO.

This is the one place that decides whether a verified bundle may replace the live one (after python-tuf's
``TrustedMetadataSet``, which decides about metadata while the ``Updater`` around it does the IO). Its steps:

1. parse the bundle (format 1, see ``validator.publish.bundle``; read here with ``json`` because ``validator.publish.bundle``
   belongs to the gate and pulls in YAML);
2. check every contract the app was built against: the bundle must carry it, the published version must be
   satisfied by the app's (``Contract.satisfied_by``), and each model the app reads must be present and emit
   only outputs the app accepts;
3. compile every model with ``compile_model`` (which also generates the request-path code) and stamp each
   evaluator with the snapshot's version. A model whose document (and contract) is byte-for-byte the same
   as in the previous snapshot is not compiled again: its evaluator is shallow-copied (evaluators are
   immutable apart from ``version``) and stamped anew. Python's ``compile()`` is two thirds of a cold reload
   and a merge usually changes one model of many.

Only then does the client swap its single reference, so a request sees the old snapshot or the new one,
whole, never a mixture.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from validator.kinds import KINDS, compile_model
from validator.kinds.contract import Contract
from validator.runtime.errors import BundleRefused, UnknownModel

BUNDLE_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Snapshot:
    """One bundle, verified and compiled: what every request reads through a single reference.

    ``version`` is the TUF targets version that attested this bundle when it was loaded (the number
    ``weights publish`` prints); ``sha256`` identifies its bytes. Evaluators are shared by all threads and
    never change after the snapshot is built.
    """

    version: str
    sha256: str
    length: int
    provenance: Mapping[str, Any]
    models: Mapping[str, Any]
    source: str                      # "network" or "cache": where this process got the bytes
    loaded_at: float                 # time.time() when this snapshot was built
    custom: Mapping[str, Any] = field(default_factory=dict)  # the publisher's target metadata (published_at ...)
    # model name -> digest of (model document, its contract): what lets the next reload reuse an evaluator
    compiled_from: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def commit(self) -> str | None:
        return self.provenance.get("commit")

    def model(self, name: str) -> Any:
        try:
            return self.models[name]
        except KeyError:
            known = ", ".join(sorted(self.models)) or "none"
            raise UnknownModel(f"no model {name!r} in bundle version {self.version}; models: {known}") from None

    def describe(self) -> dict[str, Any]:
        """The identity of this snapshot as plain JSON (for status pages and logs)."""
        return {
            "version": self.version,
            "sha256": self.sha256,
            "commit": self.commit,
            "author": self.provenance.get("author"),
            "committed_at": self.provenance.get("committed_at"),
            "published_at": self.custom.get("published_at"),
            "models": sorted(self.models),
            "source": self.source,
        }


def _no_constants(token: str) -> float:
    raise ValueError(f"{token} is not a JSON number")


def parse_bundle(data: bytes) -> dict[str, Any]:
    """The bundle document, or ``BundleRefused(reason="format")`` naming what is wrong with the envelope."""
    try:
        document = json.loads(data.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BundleRefused(f"the bundle is not JSON: {exc}", "format") from None
    if not isinstance(document, dict):
        raise BundleRefused("the bundle is not a JSON object", "format")
    if document.get("format_version") != BUNDLE_FORMAT_VERSION:
        raise BundleRefused(
            f"bundle format_version {document.get('format_version')!r}; this client reads format "
            f"{BUNDLE_FORMAT_VERSION} (upgrade the app's weights package)", "format")
    for key in ("models", "contracts", "provenance"):
        if not isinstance(document.get(key), dict):
            raise BundleRefused(f"the bundle has no {key!r} object", "format")
    for name, model in document["models"].items():
        if not isinstance(model, dict) or not isinstance(model.get("kind"), str):
            raise BundleRefused(f"model {name!r} in the bundle is not a model document", "format")
    return document


def _published_contract(document: Mapping[str, Any], name: str) -> Contract | None:
    data = document["contracts"].get(name)
    if data is None:
        return None
    if not isinstance(data, dict):
        raise BundleRefused(f"contract {name!r} in the bundle is not an object", "format")
    try:
        return Contract.from_dict(name, data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BundleRefused(f"contract {name!r} in the bundle is malformed: {exc}", "format") from None


def contract_problems(app_contracts: Iterable[Contract], document: Mapping[str, Any]) -> list[str]:
    """Why this bundle would break an app built against ``app_contracts`` (empty: it is fine)."""
    problems: list[str] = []
    for mine in app_contracts:
        published = _published_contract(document, mine.name)
        if published is None:
            problems.append(f"the bundle has no contract {mine.name!r}")
            continue
        problems += [f"contract {mine.name!r}: {p}" for p in mine.satisfied_by(published)]
        for model in mine.models:
            data = document["models"].get(model)
            if data is None:
                problems.append(f"contract {mine.name!r}: model {model!r} is missing from the bundle")
                continue
            kind = KINDS.get(str(data.get("kind")))
            if kind is None:
                continue  # compile refuses it with a better message
            # The gate already checked the models against the published contract; checking the outputs
            # against the app's own contract as well costs microseconds and does not trust the publisher's.
            accepted = mine.outputs.get(model, {})
            try:
                emitted = kind.outputs_emitted(data)
            except (KeyError, TypeError, AttributeError):
                continue
            for fld, values in emitted.items():
                if fld in accepted:
                    extra = sorted(set(values) - set(accepted[fld]))
                    if extra:
                        problems.append(f"contract {mine.name!r}: model {model!r} may emit {fld} the app "
                                        f"does not accept: {', '.join(extra)}")
    return problems


def _digest(model: Mapping[str, Any], contract: Any) -> str:
    text = json.dumps([model, contract], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_snapshot(data: bytes, *, version: str, sha256: str, source: str, loaded_at: float,
                   contracts: Iterable[Contract] = (), custom: Mapping[str, Any] | None = None,
                   previous: Snapshot | None = None) -> Snapshot:
    """Parse, check the app's contracts, compile every model; ``BundleRefused`` at the first failing step.

    ``previous`` (the live snapshot) lends its evaluators for models that did not change.
    """
    document = parse_bundle(data)
    contracts = tuple(contracts)
    problems = contract_problems(contracts, document)
    if problems:
        shown = "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
        raise BundleRefused(f"the bundle breaks the app's contract: {shown}", "contract")
    published: dict[str, Contract | None] = {}
    models: dict[str, Any] = {}
    digests: dict[str, str] = {}
    reusable = previous.compiled_from if previous is not None else {}
    for name, model in sorted(document["models"].items()):
        contract_name = model.get("contract") if isinstance(model.get("contract"), str) else None
        if contract_name is not None and contract_name not in published:
            published[contract_name] = _published_contract(document, contract_name)
        digest = _digest(model, document["contracts"].get(contract_name) if contract_name else None)
        if reusable.get(name) == digest:
            evaluator = copy.copy(previous.models[name])  # type: ignore[union-attr]
        else:
            try:
                evaluator = compile_model(model, published.get(contract_name) if contract_name else None)
            except (ValueError, KeyError, TypeError, AttributeError, ArithmeticError) as exc:
                raise BundleRefused(f"model {name!r} does not compile: {type(exc).__name__}: {exc}",
                                    "compile") from None
        evaluator.version = version
        models[name] = evaluator
        digests[name] = digest
    provenance = document["provenance"]
    return Snapshot(
        version=version,
        sha256=sha256,
        length=len(data),
        provenance=MappingProxyType(dict(provenance)),
        models=MappingProxyType(models),
        source=source,
        loaded_at=loaded_at,
        custom=MappingProxyType(dict(custom or {})),
        compiled_from=MappingProxyType(digests),
    )

