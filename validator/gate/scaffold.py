"""``weights new KIND NAME``: a starting model and its golden cases, so an analyst never starts from a blank page.

A blank YAML file is where a new model goes wrong: the schema line is forgotten (no autocompletion), the first
draft reads inputs the app does not send, and nobody writes down what the model must answer until after the
first incident. The scaffold writes, from the app's contract:

* ``weights/NAME.yaml``: the ``# yaml-language-server: $schema=`` line, every required key, and numbers that
  already pass the semantic rules, built only from inputs the contract declares with their declared types and
  ranges (so ``contract.input-known``/``input-type`` hold from the first save);
* ``tests/golden/NAME.yaml``: two golden cases in the format ``validator.gate.golden`` reads, whose inputs lie
  inside the contract's ranges and whose expectations the starting model meets;
* for a contract that does not exist yet, the contract itself, listing the model with placeholder inputs.

An existing contract is never edited: it is the app's API and its owners review every change to it (see
CODEOWNERS), and rewriting a commented YAML file would lose its comments. The scaffold returns the exact lines
to add instead (``Scaffold.contract_instructions``), and the model validates once they are added.

Nothing here overwrites a file; a name that exists is an error, reported before anything is written.
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Mapping, Sequence

from validator.kinds.contract import Contract, InputDecl
from validator.kinds.schema_parts import NAME_PATTERN

KINDS = ("scorecard", "ranking", "bandit", "segments")
MAX_TERMS = 3  # a starting model shows the shape; the analyst adds the real terms


class ScaffoldError(Exception):
    """The request cannot be scaffolded as asked (bad name, existing file, unusable contract): exit 2."""


@dataclass(frozen=True)
class Scaffold:
    """What ``weights new`` writes and tells, decided before anything touches the disk."""

    kind: str
    name: str
    contract: str
    files: dict[str, str]                   # repository-relative path -> text, written in this order
    contract_path: str                      # config/contracts/<contract>.yaml
    contract_is_new: bool                   # True: the contract is among ``files``
    models_after: tuple[str, ...]           # the contract's ``models:`` once the model is listed
    outputs: dict[str, list[str]]           # the contract's ``outputs: <name>:`` entry the model needs
    next_steps: list[str] = field(default_factory=list)

    @property
    def contract_instructions(self) -> str | None:
        """The lines an existing contract needs (None for a new one, which is written already listing the model)."""
        if self.contract_is_new:
            return None
        lines = [f"In {self.contract_path}, list the model:", "",
                 f"  models: [{', '.join(self.models_after)}]"]
        if self.outputs:
            lines += ["", "and add under outputs: what the app accepts from it:", "", "  outputs:",
                      f"    {self.name}:"]
            lines += [f"      {fld}: [{', '.join(values)}]" for fld, values in self.outputs.items()]
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ YAML bits

def _scalar(value: Any) -> str:
    """A YAML scalar that reads back as ``value`` under YAML 1.1 (so no 1e-3, and 'NO' stays a string)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{value:.1f}"
        text = f"{value:.10f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", value) and value.lower() not in _YAML11_WORDS:
        return value
    return json.dumps(value)  # JSON strings are YAML flow scalars


# Words YAML 1.1 reads as booleans or null: quoted whatever their case.
_YAML11_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})


def _flow(mapping: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in mapping.items()) + "}"


def _nice(value: float) -> float:
    """Round a derived threshold to 3 significant digits so the file reads like a person wrote it."""
    if value == 0 or not math.isfinite(value):
        return 0.0
    digits = 2 - int(math.floor(math.log10(abs(value))))
    return float(round(value, max(digits, 0)))


# ------------------------------------------------------------------------------------------- the inputs

@dataclass(frozen=True)
class _Numeric:
    """A numeric input and the values a starting model and its cases use: a split point inside the declared
    range, one value below it and one at or above it (all within the range, so no case is out of range)."""

    decl: InputDecl

    @property
    def integer(self) -> bool:
        return self.decl.type == "integer"

    def _fix(self, value: float) -> float | int:
        return int(math.floor(value)) if self.integer else _nice(value)

    @property
    def low(self) -> float | int:
        lo, hi = self.decl.min, self.decl.max
        if lo is not None:
            return int(math.ceil(lo)) if self.integer else lo
        return self._fix((hi if hi is not None else 0.0) - 10)

    @property
    def high(self) -> float | int:
        lo, hi = self.decl.min, self.decl.max
        if hi is not None:
            return int(math.floor(hi)) if self.integer else hi
        return self._fix((lo if lo is not None else 0.0) + 10)

    @property
    def split(self) -> float | int:
        """A point with ``low < split <= high``: the midpoint, as an integer for integer inputs."""
        mid = (float(self.low) + float(self.high)) / 2
        value: float | int = int(math.ceil(mid)) if self.integer else _nice(mid)
        if not (float(self.low) < float(value) <= float(self.high)):
            value = self.high
        return value

    @property
    def spread(self) -> float:
        """A scale for the segments kind: a quarter of the range, so centroids at +-1 stay inside it."""
        return _nice(max((float(self.high) - float(self.low)) / 4, 1e-6)) or 1.0

    @property
    def center(self) -> float:
        return _nice((float(self.low) + float(self.high)) / 2)


def _numeric(contract: Contract) -> list[_Numeric]:
    out = []
    for decl in contract.inputs.values():
        if decl.type not in ("number", "integer"):
            continue
        if decl.min is not None and decl.max is not None and not decl.min < decl.max:
            continue  # contract.range-ordered reports it; nothing sensible to split
        candidate = _Numeric(decl)
        if float(candidate.low) < float(candidate.high):
            out.append(candidate)
    return out


def _of_type(contract: Contract, typ: str) -> list[InputDecl]:
    return [d for d in contract.inputs.values() if d.type == typ and (typ != "category" or d.values)]


def _header(kind: str, name: str, schemas_rel: str, what: str) -> list[str]:
    return [
        f"# yaml-language-server: $schema={schemas_rel}/{kind}.schema.json",
        f"# {name}: {what}",
        "# Written by `weights new`: a starting point that passes `weights validate`. Replace the placeholder",
        "# numbers and names with real ones, then run `weights check` before opening the pull request.",
        f"kind: {kind}",
        f"name: {name}",
    ]


def _common(contract: str, owner: str, description: str) -> list[str]:
    return [f"contract: {contract}", f"description: {json.dumps(description)}", f"owner: {_scalar(owner)}"]


def _golden_header(name: str, model_path: str, owner: str) -> list[str]:
    return [
        f"# Golden cases for {model_path}: what the model must keep answering, whatever its numbers become.",
        "# Written by `weights new`: replace these with cases the model's owners and the app agree on.",
        f"model: {name}",
        f"description: {json.dumps(f'Ask {owner} before changing an expectation.')}",
        "cases:",
    ]


# ------------------------------------------------------------------------------------------- the kinds

@dataclass(frozen=True)
class _Draft:
    model: list[str]
    golden: list[str]
    outputs: dict[str, list[str]]
    inputs_used: tuple[str, ...]


def _scorecard(name: str, contract: Contract, owner: str, schemas_rel: str, model_path: str) -> _Draft:
    numeric = _numeric(contract)[:2]
    flags = _of_type(contract, "boolean")[:1]
    categories = [d for d in _of_type(contract, "category") if len(d.values or ()) >= 2][:1]
    if not (numeric or flags or categories):
        raise ScaffoldError(f"contract {contract.name!r} declares no number, integer, boolean or category input "
                            "a scorecard can read: add the inputs the app sends to it first")
    lines = _header("scorecard", name, schemas_rel, "a score from weighted terms, cut into decision bands.")
    lines += _common(contract.name, owner, "What this score decides and for whom (one or two sentences).")
    lines += ["", "link: identity        # or logistic: the score becomes a probability",
              "intercept: 0.0", "weight_bounds: {min: -5, max: 5}", "", "terms:"]
    low_case: dict[str, Any] = {}
    high_case: dict[str, Any] = {}
    reasons: list[str] = []
    for i, num in enumerate(numeric, start=1):
        code = f"R{len(reasons) + 1:02d}_{num.decl.name.upper()}"
        reasons.append(code)
        lines += [f"  - name: {num.decl.name}",
                  f"    input: {num.decl.name}",
                  "    type: numeric",
                  "    bins:" + (f"                              # {num.decl.unit}" if num.decl.unit else ""),
                  f"      - {_flow({'to': num.split, 'value': 0.0})}",
                  f"      - {_flow({'from': num.split, 'value': 1.0})}",
                  "    weight: 1.0",
                  f"    reason: {code}"]
        low_case[num.decl.name], high_case[num.decl.name] = num.low, num.high
    for decl in flags:
        code = f"R{len(reasons) + 1:02d}_{decl.name.upper()}"
        reasons.append(code)
        lines.append(f"  - {_flow({'name': decl.name, 'input': decl.name, 'type': 'boolean', 'weight': 1.0, 'reason': code})}")
        low_case[decl.name], high_case[decl.name] = False, True
    for decl in categories:
        values = list(decl.values or ())
        code = f"R{len(reasons) + 1:02d}_{decl.name.upper()}"
        reasons.append(code)
        levels = {v: (1.0 if i == 0 else 0.0) for i, v in enumerate(values)}
        lines += [f"  - name: {decl.name}", f"    input: {decl.name}", "    type: categorical",
                  f"    levels: {{{', '.join(f'{_scalar(v)}: {_scalar(x)}' for v, x in levels.items())}}}",
                  "    weight: 1.0", f"    reason: {code}"]
        low_case[decl.name], high_case[decl.name] = values[1], values[0]
    # Every term adds 0 or 1, so a score of 0.5 or more means at least one term fired.
    lines += ["", "bands:                # ordered by score; the last band has no upper bound",
              "  - {decision: low, below: 0.5}", "  - {decision: high}",
              "", "reasons: {top: 2}",
              "", "# What `weights check` replays to show a change's impact before it merges (see tests/data/):",
              "# replay:", "#   dataset: tests/data/<rows the app scored>.parquet", "#   outcome: <a 0/1 column>"]
    golden = _golden_header(name, model_path, owner)
    golden += ["  - name: nothing stands out, so the score stays in the low band",
               f"    inputs: {_flow(low_case)}", "    expect: {decision: low, top_reason: null}", "",
               "  - name: every signal at the top of its range puts the case in the high band",
               f"    inputs: {_flow(high_case)}", f"    expect: {{decision: high, top_reason: {reasons[0]}}}"]
    return _Draft(lines, golden, {"decisions": ["low", "high"], "reasons": reasons},
                  tuple([*low_case]))


def _ranking(name: str, contract: Contract, owner: str, schemas_rel: str, model_path: str) -> _Draft:
    numeric = _numeric(contract)[:MAX_TERMS]
    if not numeric:
        raise ScaffoldError(f"contract {contract.name!r} declares no number or integer input a ranking can weigh: "
                            "add the item fields the app sends to it first")
    ids = _of_type(contract, "string")[:1]
    lines = _header("ranking", name, schemas_rel, "orders candidate items by a weighted sum of their features.")
    lines += _common(contract.name, owner, "Which list this orders, for whom, and what comes first.")
    lines += ["", "features:"]
    for i, num in enumerate(numeric):
        weight = 1.0 if i == 0 else 0.5
        lines.append(f"  - {_flow({'name': num.decl.name, 'input': num.decl.name, 'weight': weight})}")
    if ids:
        lines += ["", "tie_break:             # equal scores: the lower id first, so a request always gets the same order",
                  f"  - {_flow({'input': ids[0].name, 'order': 'asc', 'type': 'string'})}"]
    lines += ["", "# What `weights check` replays (rows of one query adjacent; see tests/data/):",
              "# replay:", "#   dataset: tests/data/<candidates>.parquet", "#   query: <query id column>"]
    id_key = ids[0].name if ids else "item_id"
    lead = numeric[0]
    better = {id_key: "item_a", **{n.decl.name: n.high for n in numeric}}
    worse = {id_key: "item_b", **{n.decl.name: n.low for n in numeric}}
    golden = _golden_header(name, model_path, owner)
    golden += [f"  - name: the item higher on {lead.decl.name} and every other feature is ranked first",
               *([f"    id_key: {id_key}"] if id_key != "item_id" else []),
               "    items:", f"      - {_flow(worse)}", f"      - {_flow(better)}",
               "    expect: {order: [item_a, item_b]}"]
    return _Draft(lines, golden, {}, tuple(n.decl.name for n in numeric))


def _bandit(name: str, contract: Contract, owner: str, schemas_rel: str, model_path: str) -> _Draft:
    arms = ["variant_a", "variant_b"]
    lines = _header("bandit", name, schemas_rel, "chooses a variant per visitor by Thompson sampling.")
    lines += _common(contract.name, owner, "Which variant this chooses, where, and what counts as a success.")
    lines += ["metric: conversion    # what counts as a success for every arm", "",
              "# Beta(1, 1) priors: no opinion yet, so the first counts decide. The counting job fills posterior:",
              "arms:"]
    for arm in arms:
        lines += [f"  - id: {arm}", f"    description: {json.dumps(f'What visitors see in {arm}.')}",
                  "    prior: {alpha: 1, beta: 1}", "    floor: 0.1       # always at least 10% of traffic"]
    lines += ["", "# Replayed by `weights check` as a seeded Monte Carlo over the counts: no dataset needed."]
    golden = _golden_header(name, model_path, owner)
    golden += ["  - name: with no counts yet the two variants share the traffic about equally", "    seed: 1",
               "    expect:", "      shares:"]
    golden += [f"        {arm}: {{min: 0.4, max: 0.6}}" for arm in arms]
    return _Draft(lines, golden, {"variants": arms}, ())


def _segments(name: str, contract: Contract, owner: str, schemas_rel: str, model_path: str) -> _Draft:
    numeric = _numeric(contract)[:MAX_TERMS]
    if not numeric:
        raise ScaffoldError(f"contract {contract.name!r} declares no number or integer input to place customers by: "
                            "add the inputs the app sends to it first")
    lines = _header("segments", name, schemas_rel, "assigns each request to the nearest centroid's segment.")
    lines += _common(contract.name, owner, "Who is segmented, and what each segment is shown.")
    lines += ["", "# Each input is centred and divided by its scale: 0 is the typical case, 1 one spread above.",
              "features:"]
    for num in numeric:
        lines.append(f"  - {_flow({'name': num.decl.name, 'input': num.decl.name, 'center': num.center, 'scale': num.spread})}")
    low = {n.decl.name: -1.0 for n in numeric}
    high = {n.decl.name: 1.0 for n in numeric}
    lines += ["", "segments:",
              "  - id: segment_low", f"    centroid: {_flow(low)}", "    variant: variant_low",
              "  - id: segment_high", f"    centroid: {_flow(high)}", "    variant: variant_high", "",
              "fallback: {segment: general, variant: variant_default, max_distance: 3.0}",
              "", "# What `weights check` replays to show a change's impact (see tests/data/):",
              "# replay:", "#   dataset: tests/data/<recent requests>.parquet"]

    def at(offset: float) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for n in numeric:
            value = n.center + offset * n.spread
            value = min(max(value, float(n.low)), float(n.high))
            out[n.decl.name] = int(round(value)) if n.integer else _nice(value)
        return out

    golden = _golden_header(name, model_path, owner)
    golden += ["  - name: a case below the typical one on every feature joins segment_low",
               f"    inputs: {_flow(at(-1.0))}", "    expect: {segment: segment_low, variant: variant_low}", "",
               "  - name: a case above the typical one on every feature joins segment_high",
               f"    inputs: {_flow(at(1.0))}", "    expect: {segment: segment_high, variant: variant_high}"]
    return _Draft(lines, golden, {"segments": ["segment_low", "segment_high", "general"],
                                  "variants": ["variant_low", "variant_high", "variant_default"]},
                  tuple(n.decl.name for n in numeric))


_BUILDERS: dict[str, Callable[[str, Contract, str, str, str], _Draft]] = {
    "scorecard": _scorecard, "ranking": _ranking, "bandit": _bandit, "segments": _segments,
}

# Placeholder inputs of a new contract, per kind: what a typical app of that kind sends.
_NEW_CONTRACT_INPUTS: dict[str, list[str]] = {
    "scorecard": ["order_amount: {type: number, unit: EUR, min: 0, max: 5000, description: Replace with what the app sends}",
                  "is_new_customer: {type: boolean, description: Replace with what the app sends}"],
    "ranking": ["relevance: {type: number, min: 0, max: 100, description: Text relevance of the item for the query}",
                "sales_30d: {type: integer, unit: units, min: 0, max: 100000, description: Units sold in the last 30 days}",
                "item_id: {type: string, description: The id of the candidate item}"],
    "bandit": [],
    "segments": ["orders_12m: {type: integer, unit: orders, min: 0, max: 200, description: Orders in the last 12 months}",
                 "avg_basket_eur: {type: number, unit: EUR, min: 0, max: 2000, description: Mean order value}"],
}


def _new_contract_text(name: str, model: str, kind: str, owner: str, outputs: Mapping[str, Sequence[str]],
                       schemas_rel: str) -> str:
    inputs = _NEW_CONTRACT_INPUTS[kind]
    lines = [f"# yaml-language-server: $schema={schemas_rel}/contract.schema.json",
             f"# {name}: the inputs the app sends and the outputs it accepts. Written by `weights new` with",
             "# placeholder inputs: the app's engineers replace them with what the app really sends.",
             f"app: {name.replace('_', '-')}",
             'description: "Which app reads these models, and when."',
             f"owner: {_scalar(owner)}",
             f"models: [{model}]"]
    lines += ["inputs:" + ("" if inputs else " {}")] + [f"  {line}" for line in inputs]
    if outputs:
        lines += ["outputs:", f"  {model}:"] + [f"    {f}: [{', '.join(v)}]" for f, v in outputs.items()]
    else:
        lines.append("outputs: {}")
    return "\n".join(lines) + "\n"


def _new_contract(name: str, kind: str) -> Contract:
    import yaml

    data = yaml.safe_load("inputs:\n" + "".join(f"  {line}\n" for line in _NEW_CONTRACT_INPUTS[kind])) or {}
    return Contract.from_dict(name, {"app": name, "inputs": data.get("inputs") or {}})


# ------------------------------------------------------------------------------------------- plan, write

def plan(root: Path, kind: str, name: str, contract: str | None = None, owner: str | None = None) -> Scaffold:
    """Decide every file and message of ``weights new`` without writing; ScaffoldError says what is wrong."""
    from validator.gate import golden
    from validator.gate.sources import WorkTree
    from validator.gate.validate import settings_from
    from validator.gate.yamlload import load_bytes

    if kind not in _BUILDERS:
        raise ScaffoldError(f"no kind {kind!r}; kinds: {', '.join(KINDS)}")
    for label, value in (("model name", name), ("contract name", contract)):
        if value is not None and not re.fullmatch(NAME_PATTERN, value):
            raise ScaffoldError(f"{label} {value!r} must be lowercase letters, digits and underscores, starting "
                                "with a letter (it becomes a file name and the name apps ask for)")
    root = Path(root)
    source = WorkTree(root)
    settings = settings_from(source)
    contract_name = contract or name
    owner = owner or "your-team"
    model_path = f"{settings.weights_dir}/{name}.yaml"
    golden_path = f"{golden.golden_dir(settings)}/{name}.yaml"
    contract_path = f"{settings.contracts_dir}/{contract_name}.yaml"
    existing = [p for p in (model_path, golden_path) if (root / p).exists()]
    if existing:
        raise ScaffoldError(f"{' and '.join(existing)} already exist{'s' if len(existing) == 1 else ''}: "
                            "weights new never overwrites; pick another name or edit the file")
    model_rel = _relative(settings.schemas_dir, settings.weights_dir)
    contract_rel = _relative(settings.schemas_dir, settings.contracts_dir)

    raw = source.read(contract_path)
    if raw is None:
        parsed = _new_contract(contract_name, kind)
        listed: tuple[str, ...] = ()
    else:
        document, problems = load_bytes(raw, contract_path)
        data = document.data if document is not None else None
        if any(f.severity.value == "error" for f in problems) or not isinstance(data, Mapping):
            raise ScaffoldError(f"{contract_path} does not parse: run weights validate {contract_path}")
        try:
            parsed = Contract.from_dict(contract_name, data)
        except (KeyError, TypeError, AttributeError):
            raise ScaffoldError(f"{contract_path} is not a valid contract: run weights validate {contract_path}") from None
        listed = parsed.models
    draft = _BUILDERS[kind](name, parsed, owner, model_rel, model_path)
    files = {model_path: "\n".join(draft.model) + "\n", golden_path: "\n".join(draft.golden) + "\n"}
    models_after = listed if name in listed else (*listed, name)
    steps = []
    if raw is None:
        files[contract_path] = _new_contract_text(contract_name, name, kind, owner, draft.outputs, contract_rel)
        steps.append(f"{contract_path} is new: its inputs are placeholders for the app's engineers to replace")
    if kind != "bandit":
        steps.append(f"declare the rows to replay under replay: in {model_path} (weights check needs them)")
    steps += [f"replace the placeholder numbers and cases, then run: weights validate && weights test {name}",
              "open a pull request: the check comments the model's impact and its owners review it"]
    return Scaffold(kind, name, contract_name, files, contract_path, raw is None, models_after, draft.outputs,
                    steps)


def _relative(target: str, start: str) -> str:
    """The schema folder as seen from a file in ``start`` (both repository-relative): ``../config/schemas``."""
    return PurePosixPath(os.path.relpath(PurePosixPath(target), PurePosixPath(start))).as_posix()


def write(root: Path, scaffold: Scaffold) -> list[Path]:
    """Create the scaffold's files; never replaces one (a file that appeared meanwhile is an error).

    Files are created exclusively (``open(..., "x")``), so two analysts running ``weights new`` for the same
    name at once cannot overwrite each other; on a failure the files this call created are removed again.
    """
    created: list[Path] = []
    try:
        for rel, text in scaffold.files.items():
            path = Path(root) / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                with path.open("x", encoding="utf-8", newline="\n") as handle:
                    handle.write(text)
            except FileExistsError:
                raise ScaffoldError(f"{rel} already exists: weights new never overwrites") from None
            created.append(path)
    except BaseException:
        for path in created:
            path.unlink(missing_ok=True)
        raise
    return created


__all__ = ["KINDS", "Scaffold", "ScaffoldError", "plan", "write"]
