"""What every model kind provides, and the errors an evaluator raises.

A kind is one folder, ``validator/kinds/<kind>/``, and one line in ``validator.kinds.KINDS``. The folder's
``__init__.py`` builds a ``Kind``: the request-path half (schema, compile, what the document reads and emits,
how a request is evaluated) is imported eagerly because apps need it; every gate-side room (rules, numpy twin,
replay metrics, golden-case runner, scaffold, static analysis) is a module in the same folder that is imported
only when the gate asks for it (``Kind.room``), so the runtime never pays for numpy, pyarrow or the gate.

The rooms of a kind folder and what each must define (the gate reads nothing else; a test holds every
registered kind to this list):

=================  ===================================================================================
``evaluator.py``   ``compile(data, contract)`` -> evaluator; ``inputs_used``, ``outputs_emitted``,
                   ``input_types`` (see the fields below); ``call(evaluator, request)`` -> result
``schema.py``      ``SCHEMA``: the JSON Schema of the kind (draft-07 ∩ 2020-12 keywords)
``guardrails.py``  ``GUARDRAILS``: tuple of ``GuardrailSpec`` (names, bounds and defaults; no numpy)
``vectorized.py``  ``compile_vectorized(data, contract)`` -> the numpy twin of the evaluator
``rules.py``       ``RULES``: tuple of ``validator.gate.rules.Rule``
``metrics.py``     ``UNIT`` (what a replayed row is, for summary lines: "rows", "customers"), ``READS_DATA``
                   (False for a kind whose replay needs no dataset, e.g. a Monte Carlo) and
                   ``measure(job) -> Measured``: the replay of one model, ``job`` a
                   ``validator.gate.replay.ReplayJob``, the result a ``validator.gate.replay_metrics.Measured``
                   whose ``guard_values`` use the names of ``GUARDRAILS``
``golden.py``      ``RUNNER``: a ``validator.gate.golden.GoldenRunner`` (expectations and request keys with
                   their schema fragments, how to run one case on the scalar evaluator and compare)
``scaffold.py``    ``draft(name, contract, schemas_rel)`` -> the ``weights new`` starting file and its cases
=================  ===================================================================================
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Mapping

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

    def breached(self, value: float, limit: float) -> bool:
        return value > limit if self.bound == "max" else value < limit

    def show(self, value: float) -> str:
        if self.points:
            return f"{value * 100:.1f} pts"
        if self.percent:
            text = f"{value * 100:.2f}".rstrip("0").rstrip(".")
            return f"{text}%"
        return f"{value:+.4f}" if self.bound == "min" and self.name.endswith("_delta") else f"{value:.4f}"


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
        """The gate-side module ``<package>.<name>`` (rules, vectorized, metrics, golden, scaffold, analysis)."""
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
