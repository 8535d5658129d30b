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

What a starting model of each kind looks like is the kind's business: its folder's ``scaffold.py`` defines
``CONTRACT_INPUTS`` and ``draft(...) -> Draft`` from the helpers here (``header``, ``common``, ``golden_header``,
``numeric_inputs``, ``of_type``, ``flow``, ``scalar``, ``nice``).

Nothing here overwrites a file; a name that exists is an error, reported before anything is written.
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Mapping, Sequence

from validator.kinds import KINDS
from validator.kinds.contract import Contract, InputDecl
from validator.kinds.schema_parts import NAME_PATTERN

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

def scalar(value: Any) -> str:
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
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", value) and value.lower() not in YAML11_WORDS:
        return value
    return json.dumps(value)  # JSON strings are YAML flow scalars


# Words YAML 1.1 reads as booleans or null: quoted whatever their case.
YAML11_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})


def flow(mapping: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {scalar(v)}" for k, v in mapping.items()) + "}"


def nice(value: float) -> float:
    """Round a derived threshold to 3 significant digits so the file reads like a person wrote it."""
    if value == 0 or not math.isfinite(value):
        return 0.0
    digits = 2 - int(math.floor(math.log10(abs(value))))
    return float(round(value, max(digits, 0)))


# ------------------------------------------------------------------------------------------- the inputs

@dataclass(frozen=True)
class Numeric:
    """A numeric input and the values a starting model and its cases use: a split point inside the declared
    range, one value below it and one at or above it (all within the range, so no case is out of range)."""

    decl: InputDecl

    @property
    def integer(self) -> bool:
        return self.decl.type == "integer"

    def _fix(self, value: float) -> float | int:
        return int(math.floor(value)) if self.integer else nice(value)

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
        value: float | int = int(math.ceil(mid)) if self.integer else nice(mid)
        if not (float(self.low) < float(value) <= float(self.high)):
            value = self.high
        return value

    @property
    def spread(self) -> float:
        """A scale for the segments kind: a quarter of the range, so centroids at +-1 stay inside it."""
        return nice(max((float(self.high) - float(self.low)) / 4, 1e-6)) or 1.0

    @property
    def center(self) -> float:
        return nice((float(self.low) + float(self.high)) / 2)


def numeric_inputs(contract: Contract) -> list[Numeric]:
    out = []
    for decl in contract.inputs.values():
        if decl.type not in ("number", "integer"):
            continue
        if decl.min is not None and decl.max is not None and not decl.min < decl.max:
            continue  # contract.range-ordered reports it; nothing sensible to split
        candidate = Numeric(decl)
        if float(candidate.low) < float(candidate.high):
            out.append(candidate)
    return out


def of_type(contract: Contract, typ: str) -> list[InputDecl]:
    return [d for d in contract.inputs.values() if d.type == typ and (typ != "category" or d.values)]


def header(kind: str, name: str, schemas_rel: str) -> list[str]:
    """The first lines of a starting model: the schema line, what the kind does (its ``summary``), kind and name."""
    return [
        f"# yaml-language-server: $schema={schemas_rel}/{kind}.schema.json",
        f"# {name}: {KINDS[kind].summary}",
        "# Written by `weights new`: a starting point that passes `weights validate`. Replace the placeholder",
        "# numbers and names with real ones, then run `weights check` before opening the pull request.",
        f"kind: {kind}",
        f"name: {name}",
    ]


def common(contract: str, owner: str, description: str) -> list[str]:
    """The keys every model file has after its name: contract, description (what the analyst replaces), owner."""
    return [f"contract: {contract}", f"description: {json.dumps(description)}", f"owner: {scalar(owner)}"]


def golden_header(name: str, model_path: str, owner: str) -> list[str]:
    """The first lines of the starting case file, up to ``cases:``; the kind appends its cases."""
    return [
        f"# Golden cases for {model_path}: what the model must keep answering, whatever its numbers become.",
        "# Written by `weights new`: replace these with cases the model's owners and the app agree on.",
        f"model: {name}",
        f"description: {json.dumps(f'Ask {owner} before changing an expectation.')}",
        "cases:",
    ]


# ------------------------------------------------------------------------------------------- the kinds

@dataclass(frozen=True)
class Draft:
    """What a kind's ``scaffold.draft(name, contract, owner, schemas_rel, model_path)`` returns.

    ``draft`` builds the model from the contract's declared inputs only (``numeric_inputs``, ``of_type``), with
    values inside their ranges, so the model validates and its cases pass from the first save; it raises
    ``ScaffoldError`` when the contract has nothing the kind can read. ``model`` starts with ``header`` and
    ``common``; ``golden`` with ``golden_header``. The kind's ``CONTRACT_INPUTS`` are the placeholder inputs of
    a contract that does not exist yet (what a typical app of the kind sends).
    """

    model: list[str]                 # the lines of weights/NAME.yaml
    golden: list[str]                # the lines of tests/golden/NAME.yaml
    outputs: dict[str, list[str]]    # the contract's ``outputs: NAME:`` entry the model needs (field -> values)
    inputs_used: tuple[str, ...]     # the contract inputs the model reads
    # files the model reads beside its YAML (a table's rows): repository-relative path -> text
    files: dict[str, str] = field(default_factory=dict)


def _new_contract_text(name: str, model: str, inputs: Sequence[str], owner: str, outputs: Mapping[str, Sequence[str]],
                       schemas_rel: str) -> str:
    lines = [f"# yaml-language-server: $schema={schemas_rel}/contract.schema.json",
             f"# {name}: the inputs the app sends and the outputs it accepts. Written by `weights new` with",
             "# placeholder inputs: the app's engineers replace them with what the app really sends.",
             f"app: {name.replace('_', '-')}",
             'description: "Which app reads these models, and when."',
             f"owner: {scalar(owner)}",
             f"models: [{model}]"]
    lines += ["inputs:" + ("" if inputs else " {}")] + [f"  {line}" for line in inputs]
    if outputs:
        lines += ["outputs:", f"  {model}:"] + [f"    {f}: [{', '.join(v)}]" for f, v in outputs.items()]
    else:
        lines.append("outputs: {}")
    return "\n".join(lines) + "\n"


def _new_contract(name: str, inputs: Sequence[str]) -> Contract:
    import yaml

    data = yaml.safe_load("inputs:\n" + "".join(f"  {line}\n" for line in inputs)) or {}
    return Contract.from_dict(name, {"app": name, "inputs": data.get("inputs") or {}})


# ------------------------------------------------------------------------------------------- plan, write

def plan(root: Path, kind: str, name: str, contract: str | None = None, owner: str | None = None) -> Scaffold:
    """Decide every file and message of ``weights new`` without writing; ScaffoldError says what is wrong."""
    from validator.gate import golden
    from validator.gate.sources import WorkTree
    from validator.gate.validate import settings_from
    from validator.gate.yamlload import load_bytes

    if kind not in KINDS:
        raise ScaffoldError(f"no kind {kind!r}; kinds: {', '.join(KINDS)}")
    kind_scaffold = KINDS[kind].room("scaffold")
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
        parsed = _new_contract(contract_name, kind_scaffold.CONTRACT_INPUTS)
        listed: tuple[str, ...] = ()
    else:
        document, problems = load_bytes(raw, contract_path)
        data = document.data if document is not None else None
        if any(f.severity.value == "error" for f in problems) or not isinstance(data, Mapping):
            raise ScaffoldError(f"{contract_path} does not parse: run weights validate {contract_path}")
        try:
            parsed = Contract.from_dict(contract_name, data)
        except (KeyError, TypeError, AttributeError):
            raise ScaffoldError(f"{contract_path} is not a valid contract: "
                                f"run weights validate {contract_path}") from None
        listed = parsed.models
    draft: Draft = kind_scaffold.draft(name, parsed, owner, model_rel, model_path)
    files = {model_path: "\n".join(draft.model) + "\n", golden_path: "\n".join(draft.golden) + "\n", **draft.files}
    existing = [p for p in draft.files if (root / p).exists()]
    if existing:
        raise ScaffoldError(f"{' and '.join(existing)} already exist{'s' if len(existing) == 1 else ''}: "
                            "weights new never overwrites; pick another name or move the file")
    models_after = listed if name in listed else (*listed, name)
    steps = []
    if raw is None:
        files[contract_path] = _new_contract_text(contract_name, name, kind_scaffold.CONTRACT_INPUTS, owner,
                                                  draft.outputs, contract_rel)
        steps.append(f"{contract_path} is new: its inputs are placeholders for the app's engineers to replace")
    if KINDS[kind].room("metrics").READS_DATA:
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


__all__ = [
    "MAX_TERMS", "Draft", "Numeric", "Scaffold", "ScaffoldError", "common", "flow", "golden_header", "header", "nice",
    "numeric_inputs", "of_type", "plan", "scalar", "write",
]
