"""The bandit kind: everything it means lives in this folder (the rooms are listed in ``validator.kinds.base``).

Only the request-path rooms are imported here (evaluator, schema, guardrails): apps import this package, so the
gate-side rooms (rules, vectorized, metrics, golden, scaffold) load only through ``KIND.room``.
"""
from validator.kinds.bandit import evaluator
from validator.kinds.bandit.guardrails import GUARDRAILS
from validator.kinds.bandit.schema import SCHEMA
from validator.kinds.base import Kind

KIND = Kind(
    name=evaluator.KIND_NAME,
    package=__name__,
    schema=SCHEMA,
    compile=evaluator.compile,
    inputs_used=evaluator.inputs_used,
    outputs_emitted=evaluator.outputs_emitted,
    input_types=evaluator.input_types,
    call=evaluator.call,
    guardrails=GUARDRAILS,
    verb="choose",
    summary="chooses a variant per visitor by Thompson sampling.",
)

__all__ = ["KIND"]
