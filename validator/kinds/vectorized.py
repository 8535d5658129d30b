"""The numpy twin of any registered kind's evaluator, for replay and batch scoring (the gate's side: numpy).

Each kind's twin lives in its folder (``validator/kinds/<kind>/vectorized.py``) and starts from the very same
``compile()`` as the scalar evaluator; property tests hold the two together (values within a stated tolerance;
decisions, reasons, ids and orders exactly). Apps never import this module.
"""
from __future__ import annotations

from typing import Any, Mapping

from validator.kinds import KINDS
from validator.kinds.base import ModelError
from validator.kinds.columns import Column, column_from_values, columns_from_rows, read_column
from validator.kinds.contract import Contract


def compile_vectorized(data: Mapping[str, Any], contract: Contract | None = None) -> Any:
    """The vectorized evaluator of a validated model document (raises ModelError as ``compile_model`` does)."""
    kind = KINDS.get(str(data.get("kind")))
    if kind is None:
        raise ModelError(f"no vectorized evaluator for kind {data.get('kind')!r}; known: {', '.join(sorted(KINDS))}")
    return kind.compile_vectorized(data, contract)


__all__ = ["Column", "column_from_values", "columns_from_rows", "compile_vectorized", "read_column"]
