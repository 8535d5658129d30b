"""The ranking kind: everything it means lives in this folder (the rooms are listed in ``validator.kinds.base``).

Only the request-path rooms are imported here (evaluator, schema, guardrails): apps import this package, so the
gate-side rooms (rules, vectorized, metrics, golden, scaffold) load only through ``KIND.room``.
"""
from validator.kinds.base import Kind
from validator.kinds.ranking import evaluator
from validator.kinds.ranking.guardrails import GUARDRAILS
from validator.kinds.ranking.schema import SCHEMA

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
    verb="rank",
    summary="orders candidate items by a weighted sum of their features.",
)

__all__ = ["KIND"]
