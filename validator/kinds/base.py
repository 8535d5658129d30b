"""What every model kind provides, and the errors an evaluator raises.

A kind is one folder, ``validator/kinds/<kind>/``, and one line in ``validator.kinds.KINDS``. The folder's
``__init__.py`` builds a ``Kind`` from the request-path rooms (evaluator, schema, guardrails), which are imported
eagerly because apps need them; every gate-side room (rules, numpy twin, replay metrics, golden-case runner,
scaffold) is a module in the same folder imported only when the gate asks for it (``Kind.room``), so the
runtime never pays for numpy, pyarrow or the gate. The gate, the reports, the CLI and the scaffold iterate the
registry and never test a kind's name: a new kind is its folder plus its registry line (plus, for the published
files, ``weights schemas`` and ``weights rules --update docs/reference/rules.md``; its guardrail defaults apply
until config/guardrails.yaml names the kind).

The rooms of a kind folder and what each must define (the gate reads nothing else; tests/test_kind_rooms.py
holds every registered kind to this list):

=================  ===================================================================================
``__init__.py``    ``KIND = Kind(...)`` from the three rooms below; imports nothing else (no numpy, no gate)
``evaluator.py``   ``KIND_NAME``; ``compile(data, contract)`` -> evaluator (with ``.kind``, the kind's name);
                   ``inputs_used``, ``outputs_emitted``, ``input_types`` (see the ``Kind`` fields below);
                   ``call(evaluator, request)`` -> result
``schema.py``      ``SCHEMA``: the JSON Schema of the kind (draft-07 ∩ 2020-12 keywords), built with
                   ``schema_parts.model_schema(..., guardrails=GUARDRAILS, replay={...})``
``guardrails.py``  ``GUARDRAILS``: tuple of ``GuardrailSpec`` (names, bounds, texts and built-in defaults; no
                   numpy). ``share_change(default)`` is the ``max_share_change`` every categorical kind shares
``shadow.py``      what a shadowing app (``WeightsClient(shadow=...)``) counts; runtime side, loaded lazily through
                   ``Kind.room("shadow")``, no numpy, no gate: ``CHANGE`` (the word for an outcome change:
                   "decision", "segment", "rank", "value"; None: the kind is not compared, e.g. random draws),
                   ``PREDICTED_BY`` (the ``metrics.py`` output key whose value is the share of replayed requests
                   the same comparison counts as changed; None with ``CHANGE``) and
                   ``compare(live_result, candidate_result)`` -> (outcome changed, abs difference of the main
                   value or None) on two results of the scalar evaluator for one request
``vectorized.py``  ``compile_vectorized(data, contract)`` -> the numpy twin of the evaluator
``rules.py``       ``RULES``: tuple of ``validator.gate.rules.Rule`` (ids ``<kind>.<rule>``)
``metrics.py``     ``UNIT`` (what a replayed row is, for summary lines: "rows", "customers"), ``READS_DATA``
                   (False for a kind whose replay needs no dataset, e.g. a Monte Carlo) and
                   ``measure(job) -> Measured``: the replay of one model, ``job`` a
                   ``validator.gate.replay.ReplayJob``, the result a ``validator.gate.replay_metrics.Measured``
                   whose ``guard_values`` use the names of ``GUARDRAILS``
``analysis.py``    ``analyse(data, contract)`` -> ``validator.kinds.intervals.Analysis``: each term's (feature's)
                   contribution range over the contract's input ranges, the reachable score and the outcomes
                   some request reaches (static, no data); the kind's analysis rules and ``weights explain``
``golden.py``      ``RUNNER``: a ``validator.gate.golden.GoldenRunner`` (expectations and request keys with
                   their schema fragments, how to run one case on the scalar evaluator and compare)
``scaffold.py``    ``CONTRACT_INPUTS`` (placeholder inputs of a new contract) and
                   ``draft(name, contract, owner, schemas_rel, model_path)`` -> ``validator.gate.scaffold.Draft``:
                   the ``weights new`` starting file and its golden cases
``frame.py``       the result columns of batch and notebook scoring (``validator.data.scoring``):
                   ``fields(model)`` -> list of ``pa.Field``; ``score(model, columns, context)`` -> (one Arrow
                   array per field, the refused-row mask); ``GROUP_KEY``: the ``replay:`` key naming the column
                   whose runs of equal ids are one request (None: every row is one request)
=================  ===================================================================================
"""
from __future__ import annotations

import importlib
import importlib.util
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from validator.kinds.contract import Contract


class ModelError(ValueError):
    """A model document cannot be compiled (the gate reports why with positions; the runtime refuses it)."""


class InputError(ValueError):
    """A request's inputs break the model's declared input policy (missing, wrong type, out of range).

    Raised on the request path; the message names the model and the input so an app log says what to fix.
    """

    def __init__(self, model: str, input_name: str | None, problem: str) -> None:
        where = f"input {input_name!r} " if input_name is not None else ""
        super().__init__(f"model {model!r}: {where}{problem}")
        self.model = model
        self.input_name = input_name
        self.problem = problem


def not_a_mapping(model: str, value: Any, what: str = "the inputs") -> InputError:
    """The error for a request that is not a mapping of input names to values (a list, a string, None)."""
    return InputError(model, None, f"{what} must be a mapping of input name to value, got {type(value).__name__}")


def check_mapping(model: str, value: Any, what: str = "the inputs") -> None:
    """Raise the InputError above unless ``value`` is a mapping; called only after an evaluator failed."""
    if not isinstance(value, Mapping):
        raise not_a_mapping(model, value, what) from None


@dataclass(frozen=True)
class GuardrailSpec:
    """One replay guardrail of a kind: what it limits, which way, how it prints, and the built-in default.

    Plain data so the kind's schema (runtime side) and the gate's guardrail evaluation read the same list: the
    names users write in ``config/guardrails.yaml``, a model's ``guardrails:`` and ``accept:`` come from here.
    """

    name: str
    bound: str            # "max": the measured value must stay at or below the limit; "min": at or above
    label: str            # "decision flip rate"
    default: float        # the built-in limit (config/guardrails.yaml ships with the same values)
    description: str      # what is measured (docs, schema hover text)
    percent: bool = False  # a share, shown as a percentage
    points: bool = False   # a difference of shares, shown in percentage points
    help: str = ""         # the schema's hover text for a model's override of this guardrail
    # What a limit means, so a limit that cannot mean anything is refused where it is written: "share" (a
    # fraction of rows, or a difference of two fractions: within [0, 1]), "delta" (head minus base of a
    # quality measure between 0 and 1: within [-1, 1]) or "index" (a non-negative statistic such as PSI or a
    # relative change, unbounded above).
    unit: str = "share"
    # The sign a limit must have: +1 (a "max_" of a rate or index: at least 0), -1 (a "min_..._delta": how much
    # may be LOST, at most 0; a positive value would demand an improvement on every change), 0 (either).
    sign: int = 1

    @property
    def limit_range(self) -> tuple[float, float]:
        """The values a limit of this guardrail can meaningfully take (the schema's minimum/maximum)."""
        low, high = {"share": (0.0, 1.0), "delta": (-1.0, 1.0), "index": (0.0, math.inf)}[self.unit]
        if self.sign > 0:
            low = max(low, 0.0)
        elif self.sign < 0:
            high = min(high, 0.0)
        return low, high

    def limit_problem(self, limit: float) -> str | None:
        """Why ``limit`` cannot be a limit of this guardrail (None if it can)."""
        low, high = self.limit_range
        if low <= limit <= high:
            return None
        what = {"share": "a share between 0 and 1 (0.02 is 2%)",
                "delta": "a change between -1 and 1", "index": "a statistic of 0 or more"}[self.unit]
        sign = {1: "", -1: ", at most 0 (how much may be lost; a positive value demands a gain on every change)",
                0: ""}[self.sign]
        return (f"{self.name} is {what}{sign}: {limit:g} is outside "
                f"[{low:g}, {'inf' if math.isinf(high) else f'{high:g}'}]")

    def looser(self, limit: float, reference: float) -> bool:
        """Whether ``limit`` lets through more than ``reference`` does (a larger max, a smaller min)."""
        return limit > reference if self.bound == "max" else limit < reference

    def breached(self, value: float, limit: float) -> bool:
        return value > limit if self.bound == "max" else value < limit

    def show(self, value: float) -> str:
        if self.points:
            return f"{value * 100:.1f} pts"
        if self.percent:
            text = f"{value * 100:.2f}".rstrip("0").rstrip(".")
            return f"{text}%"
        return f"{value:+.4f}" if self.bound == "min" and self.name.endswith("_delta") else f"{value:.4f}"


def share_change(default: float) -> GuardrailSpec:
    """``max_share_change``: the guardrail every kind with categorical outcomes (decisions, segments, variants)
    shares, with the same name and text so one ``accept:`` vocabulary serves them all; only the default differs."""
    return GuardrailSpec(
        "max_share_change", "max", "largest share change", default,
        "Largest absolute change (in share points) of any decision's, segment's or variant's share.",
        points=True,
        help="Largest change of any decision's / segment's / variant's share, as a share (0.02 = 2 points).",
    )


@dataclass(frozen=True)
class Kind:
    """One model kind, registered once in ``validator.kinds.KINDS``; built by its folder's ``__init__``."""

    name: str
    # The package of the kind's folder (``validator.kinds.scorecard``): where ``room()`` finds the gate's modules.
    package: str
    # JSON Schema (dict) written in the keywords draft-07 and 2020-12 share; published to config/schemas/.
    schema: dict[str, Any]
    # Compile a schema-valid document (and the contract it names, if known) into an evaluator object.
    compile: Callable[[Mapping[str, Any], Contract | None], Any]
    # The inputs a document reads: input name -> the JSON path (tuple) where it is named, for positioned findings.
    inputs_used: Callable[[Mapping[str, Any]], dict[str, tuple]]
    # The outputs a document can emit, by contract output field: e.g. {"decisions": {"approve": path, ...}}.
    outputs_emitted: Callable[[Mapping[str, Any]], dict[str, dict[str, tuple]]]
    # How each used input is typed by the model: input name -> "number" | "boolean" | "category" (for contract.input-type).
    input_types: Callable[[Mapping[str, Any]], dict[str, str]]
    # Evaluate one request (JSON-shaped) with a compiled evaluator: `weights eval`, the agent. Raises InputError.
    call: Callable[[Any, Any], Any]
    # The replay guardrails of this kind, with their built-in defaults.
    guardrails: tuple[GuardrailSpec, ...] = ()
    # The evaluator method apps call (score, rank, choose, assign, lookup): docs, the agent's routes.
    verb: str = "score"
    # One line for `weights new --help`, the kinds table and the docs.
    summary: str = ""
    _rooms: dict[str, ModuleType] = field(default_factory=dict, compare=False, repr=False)

    def room(self, name: str) -> ModuleType:
        """The gate-side module ``<package>.<name>`` (rules, vectorized, metrics, golden, scaffold)."""
        module = self._rooms.get(name)
        if module is None:
            module = importlib.import_module(f"{self.package}.{name}")
            self._rooms[name] = module
        return module

    def has_room(self, name: str) -> bool:
        return importlib.util.find_spec(f"{self.package}.{name}") is not None

    # Convenience accessors for the rooms every kind has.
    def compile_vectorized(self, data: Mapping[str, Any], contract: Contract | None) -> Any:
        return self.room("vectorized").compile_vectorized(data, contract)

    @property
    def rules(self) -> tuple[Any, ...]:
        return tuple(self.room("rules").RULES)

    @property
    def guardrail_names(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.guardrails)
