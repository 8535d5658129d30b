"""The pure core of a reload: bundle bytes in, an immutable ``Snapshot`` out (or ``BundleRefused``). No IO.

This is the one place that decides whether a verified bundle may replace the live one (after python-tuf's
``TrustedMetadataSet``, which decides about metadata while the ``Updater`` around it does the IO). Its steps:

1. parse the bundle (format 1, see ``validator.publish.bundle``; read here with ``json`` because
   ``validator.publish.bundle`` belongs to the gate and pulls in YAML). The ``models`` and ``contracts`` objects
   are decoded member by member with ``json``'s own scanner (``JSONDecoder.raw_decode``), which costs what one
   ``json.loads`` costs and also yields each member's exact text: the identity of a model for step 3;
2. check every contract the app was built against: the bundle must carry it, the published version must be
   satisfied by the app's (``Contract.satisfied_by``), and each model the app reads must be present and emit
   only outputs the app accepts;
3. compile every model with its kind's ``compile`` (every check that can refuse a model) and stamp each
   evaluator with the snapshot's version. A model whose text (and its contract's text) is byte-for-byte the
   same as in the previous snapshot is not compiled again: its evaluator is shallow-copied (evaluators are
   immutable apart from ``version`` and their lazily generated code) and stamped anew.

**Request-path code is generated lazily.** Evaluators that generate Python for the request path do it in
``prepare()``, and Python's ``compile()`` of that code was two thirds of a cold reload of a large bundle while an
app typically reads a few of its models. So a snapshot leaves ``prepare()`` to each model's first call: the
evaluators call it themselves when their generated function is still unset (idempotent; two threads racing on
the first call may both generate it and one result wins, each complete; no lock on the read path). What
``prepare()`` can raise for a model ``compile`` accepted is a limit of Python's compiler — ``RecursionError``
(an expression nested deeper than the compiler recurses), ``MemoryError``, ``SyntaxError`` — and the generated
code grows with the model's document. So a model whose JSON text is larger than ``EAGER_PREPARE_BYTES`` is
prepared here, at reload, and such a failure refuses the bundle before the swap as it always did; below the
bound the generated code stays far from those limits (a ranking of the most features that fit in the bound
sums about 600 terms in one expression, where CPython 3.11 fails near 3,000 with the default recursion
limit, and still compiles with the limit lowered to 400; tests hold this). A bundle that
cannot be evaluated is therefore still refused at reload, never at a first request.

Only then does the client swap its single reference, so a request sees the old snapshot or the new one,
whole, never a mixture.
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from validator.kinds import KINDS
from validator.kinds.base import ModelError
from validator.kinds.contract import Contract
from validator.runtime.errors import BundleRefused, UnknownModel

BUNDLE_FORMAT_VERSION = 1
# Models whose JSON text is larger are prepared (request-path code generated and compiled) at reload, so a
# compiler limit refuses the bundle before the swap; smaller ones on their first call (see the module docstring).
EAGER_PREPARE_BYTES = 16 * 1024
# The members of the bundle that are decoded one by one, so that each model and contract has its own text.
_SPLIT = frozenset({"models", "contracts"})


@dataclass(frozen=True)
class Snapshot:
    """One bundle, verified and compiled: what every request reads through a single reference.

    ``version`` is ``served_version`` of the target that named this bundle (the number ``weights publish``
    prints); ``sha256`` identifies its bytes. Evaluators are shared by all threads; the
    only change after the snapshot is built is an evaluator generating its request-path code on first use.
    """

    version: str
    sha256: str
    length: int
    provenance: Mapping[str, Any]
    models: Mapping[str, Any]
    source: str                      # "network" or "cache": where this process got the bytes
    loaded_at: float                 # time.time() when this snapshot was built
    custom: Mapping[str, Any] = field(default_factory=dict)  # the publisher's target metadata (published_at ...)
    # model name -> digest of (model text, its contract's text): what lets the next reload reuse an evaluator
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


def served_version(custom: Mapping[str, Any] | None, targets_version: int) -> str:
    """The version a served bundle reports: the publisher's ``custom["version"]`` when present, else the targets
    metadata version that attested it.

    ``custom["version"]`` is the targets version in which those bytes were first published to their role and
    stays with them through a canary's promotion, so a client of the canary cohort and one of the live cohort
    report the same number for the same bytes, and promoting reloads nothing. Older publishes lack it.
    """
    value = (custom or {}).get("version")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return str(targets_version)


def _no_constants(token: str) -> float:
    raise ValueError(f"{token} is not a JSON number")


_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder(parse_constant=_no_constants)


def _skip(text: str, idx: int) -> int:
    return _WHITESPACE.match(text, idx).end()  # type: ignore[union-attr]  # matches the empty string


def _decode_object(text: str, idx: int, split: frozenset[str], nested: dict[str, dict[str, str]],
                   member_texts: dict[str, str] | None = None) -> tuple[dict[str, Any], int]:
    """The JSON object at ``text[idx]`` and the index after it.

    Members named in ``split`` whose value is an object are decoded member by member, each member's text
    recorded in ``nested[name]``; ``member_texts`` (if given) receives the text of every member of this
    object. The last of duplicate names wins, as in ``json.loads``. Values are decoded by ``json``'s C
    scanner, so this costs what ``json.loads`` costs plus a few Python steps per member.
    """
    if text[idx:idx + 1] != "{":
        raise ValueError(f"Expecting '{{' at char {idx}")
    members: dict[str, Any] = {}
    idx = _skip(text, idx + 1)
    if text[idx:idx + 1] == "}":
        return members, idx + 1
    while True:
        if text[idx:idx + 1] != '"':
            raise ValueError(f"Expecting property name enclosed in double quotes at char {idx}")
        key, idx = _DECODER.raw_decode(text, idx)
        idx = _skip(text, idx)
        if text[idx:idx + 1] != ":":
            raise ValueError(f"Expecting ':' delimiter at char {idx}")
        start = _skip(text, idx + 1)
        if key in split and text[start:start + 1] == "{":
            inner: dict[str, str] = {}
            value, end = _decode_object(text, start, frozenset(), {}, inner)
            nested[key] = inner
        else:
            value, end = _DECODER.raw_decode(text, start)
            nested.pop(key, None)
        if member_texts is not None:
            member_texts[key] = text[start:end]
        members[key] = value
        idx = _skip(text, end)
        delimiter = text[idx:idx + 1]
        if delimiter == "}":
            return members, idx + 1
        if delimiter != ",":
            raise ValueError(f"Expecting ',' delimiter at char {idx}")
        idx = _skip(text, idx + 1)


def _read_bundle(data: bytes) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """The bundle document and the text of each model and contract; ``BundleRefused(reason="format")``."""
    texts: dict[str, dict[str, str]] = {}
    try:
        text = data.decode("utf-8")
        start = _skip(text, 0)
        if text[start:start + 1] != "{":  # not an object: json.loads says what it is instead, or what is wrong
            document = json.loads(text, parse_constant=_no_constants)
        else:
            document, end = _decode_object(text, start, _SPLIT, texts)
            end = _skip(text, end)
            if end != len(text):
                raise ValueError(f"Extra data at char {end}")
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
    return document, texts


def parse_bundle(data: bytes) -> dict[str, Any]:
    """The bundle document, or ``BundleRefused(reason="format")`` naming what is wrong with the envelope."""
    return _read_bundle(data)[0]


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


def _digest(model_text: bytes, contract_text: str | None) -> str:
    """Same digest, same evaluator: the exact text of the model and of its contract in the bundle."""
    h = hashlib.sha256(model_text)
    if contract_text is not None:
        h.update(b"\0")
        h.update(contract_text.encode("utf-8"))
    return h.hexdigest()


def _compile(name: str, model: Mapping[str, Any], contract: Contract | None, size: int) -> Any:
    """The model's evaluator, every check done; its request-path code generated now only when ``size``
    (its JSON text) exceeds ``EAGER_PREPARE_BYTES``, else on first use."""
    try:
        kind = KINDS.get(str(model.get("kind")))
        if kind is None:
            raise ModelError(f"unknown model kind {model.get('kind')!r}; known: {', '.join(sorted(KINDS))}")
        evaluator = kind.compile(model, contract)
    except (ValueError, KeyError, TypeError, AttributeError, ArithmeticError) as exc:
        raise BundleRefused(f"model {name!r} does not compile: {type(exc).__name__}: {exc}", "compile") from None
    prepare = getattr(evaluator, "prepare", None)
    if prepare is not None and size > EAGER_PREPARE_BYTES:
        try:
            prepare()
        except (RecursionError, MemoryError, SyntaxError) as exc:  # a model too large for Python's compiler
            raise BundleRefused(f"model {name!r} does not compile: it is too large for Python's compiler "
                                f"({type(exc).__name__}: {exc})", "compile") from None
    return evaluator


def build_snapshot(data: bytes, *, version: str, sha256: str, source: str, loaded_at: float,
                   contracts: Iterable[Contract] = (), custom: Mapping[str, Any] | None = None,
                   previous: Snapshot | None = None) -> Snapshot:
    """Parse, check the app's contracts, compile every model; ``BundleRefused`` at the first failing step.

    ``previous`` (the live snapshot) lends its evaluators for models that did not change.
    """
    document, texts = _read_bundle(data)
    contracts = tuple(contracts)
    problems = contract_problems(contracts, document)
    if problems:
        shown = "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
        raise BundleRefused(f"the bundle breaks the app's contract: {shown}", "contract")
    published: dict[str, Contract | None] = {}
    models: dict[str, Any] = {}
    digests: dict[str, str] = {}
    reusable = previous.compiled_from if previous is not None else {}
    model_texts, contract_texts = texts.get("models", {}), texts.get("contracts", {})
    for name, model in sorted(document["models"].items()):
        contract_name = model.get("contract") if isinstance(model.get("contract"), str) else None
        if contract_name is not None and contract_name not in published:
            published[contract_name] = _published_contract(document, contract_name)
        text = model_texts[name].encode("utf-8")
        digest = _digest(text, contract_texts.get(contract_name) if contract_name else None)
        if reusable.get(name) == digest:
            evaluator = copy.copy(previous.models[name])  # type: ignore[union-attr]
        else:
            evaluator = _compile(name, model, published.get(contract_name) if contract_name else None, len(text))
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

