"""What every model kind provides, and the errors an evaluator raises.

A kind is data plus three functions: its JSON Schema (shape), how to compile a validated document into an
evaluator (meaning), and which outputs it can emit (so the contract check needs no kind-specific code).
Semantic rules live in ``validator.gate.rule_registry`` because only the gate runs them.
"""
from __future__ import annotations

from dataclasses import dataclass
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
class Kind:
    """One model kind, registered once in ``validator.kinds.KINDS``."""

    name: str
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
