"""The model kinds, registered in one place.

A new kind is one folder here (``validator/kinds/<kind>/``, rooms listed in ``validator.kinds.base``) and one
line in ``KINDS``. This package is imported by apps, so it depends on nothing of the gate: each kind's gate-side
rooms are imported only through ``Kind.room``.
"""
from __future__ import annotations

from typing import Any, Mapping

from validator.kinds import bandit, ranking, scorecard, segments, table
from validator.kinds.base import InputError, Kind, ModelError
from validator.kinds.contract import Contract

KINDS: dict[str, Kind] = {
    kind.name: kind for kind in (scorecard.KIND, ranking.KIND, bandit.KIND, segments.KIND, table.KIND)
}


def compile_model(data: Mapping[str, Any], contract: Contract | None = None) -> Any:
    """Turn a validated model document into its evaluator (``.score``/``.rank``/``.choose``/``.assign``/``.lookup``).

    Evaluators that generate code for the request path do it here (``prepare()``), so an app's reload pays
    for it and its requests do not; the gate calls ``kind.compile`` alone.
    """
    kind = KINDS.get(str(data.get("kind")))
    if kind is None:
        raise ModelError(f"unknown model kind {data.get('kind')!r}; known: {', '.join(sorted(KINDS))}")
    evaluator = kind.compile(data, contract)
    prepare = getattr(evaluator, "prepare", None)
    if prepare is not None:
        try:
            prepare()
        except (RecursionError, MemoryError, SyntaxError) as exc:  # a model too large for Python's compiler
            raise ModelError(f"model {data.get('name')!r} cannot be compiled: {type(exc).__name__}: {exc}") from None
    return evaluator


__all__ = ["KINDS", "Contract", "InputError", "Kind", "ModelError", "compile_model"]
