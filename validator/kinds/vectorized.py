"""Vectorized (numpy) twins of the model kinds' evaluators, for replaying datasets.

The request path stays plain Python (``validator.kinds``); replay needs millions of rows a second, so each
kind has a twin here that starts from the very same ``compile()`` and evaluates whole columns. Property
tests (tests/test_vectorized_*.py) hold every twin to its scalar evaluator: same decisions, segments and
orders exactly; values to 1e-12 relative; the bandit in distribution. A new kind adds one module and one
line in ``TWINS``. This package is the gate's (it imports numpy); apps never import it.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from validator.kinds.base import ModelError
from validator.kinds.contract import Contract
from validator.kinds.bandit import vectorized as bandit
from validator.kinds.ranking import vectorized as ranking
from validator.kinds.scorecard import vectorized as scorecard
from validator.kinds.segments import vectorized as segments
from validator.kinds.columns import Column, column_from_values, columns_from_rows, read_column

TWINS: dict[str, Callable[[Mapping[str, Any], Contract | None], Any]] = {
    "scorecard": scorecard.compile_vectorized,
    "ranking": ranking.compile_vectorized,
    "bandit": bandit.compile_vectorized,
    "segments": segments.compile_vectorized,
}


def compile_vectorized(data: Mapping[str, Any], contract: Contract | None = None) -> Any:
    """The vectorized evaluator of a validated model document (raises ModelError as ``compile_model`` does)."""
    twin = TWINS.get(str(data.get("kind")))
    if twin is None:
        raise ModelError(f"no vectorized evaluator for kind {data.get('kind')!r}; known: {', '.join(sorted(TWINS))}")
    return twin(data, contract)


__all__ = ["TWINS", "Column", "column_from_values", "columns_from_rows", "compile_vectorized", "read_column"]
