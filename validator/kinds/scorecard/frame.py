"""The scorecard's result columns for batch and notebook scoring (``validator.data.scoring``): the value on the
link's scale, the decision band and the reason codes, from the vectorized twin in its exact mode (rows near a
band threshold or a reason-code cut re-decided by the scalar evaluator), so they match what the app returns."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from validator.data.scoring import BatchContext, labels_array
from validator.kinds.columns import Column

GROUP_KEY = None  # every row is one request


def fields(model: Any) -> list[pa.Field]:
    return [pa.field("score", pa.float64()), pa.field("decision", pa.string()),
            pa.field("reasons", pa.list_(pa.string()))]


def score(model: Any, columns: Mapping[str, Column], context: BatchContext) -> tuple[list[pa.Array], np.ndarray]:
    coded = any(code is not None for code in model.reason_codes) and model.scalar.top > 0
    batch = model.score(columns, contributions=coded)
    refused = batch.rejected
    values = pa.array(batch.values, pa.float64(), mask=refused)
    decisions = labels_array(batch.labels, batch.decisions, refused)
    return [values, decisions, _reasons(model, batch, coded, refused)], refused


def _reasons(model: Any, batch: Any, coded: bool, refused: np.ndarray) -> pa.Array:
    """Each row's reason codes, largest contribution first (the scalar's selection), as one list array."""
    n = len(refused)
    if coded:
        index = model.reasons(batch)
        chosen = (index >= 0) & ~refused[:, None]
    else:
        index = np.zeros((n, 0), dtype=np.int16)
        chosen = np.zeros((n, 0), dtype=bool)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(chosen.sum(axis=1), out=offsets[1:])
    codes = pa.array([code or "" for code in model.reason_codes], pa.string())
    values = codes.take(pa.array(index[chosen].astype(np.int32), pa.int32())) if len(codes) else pa.array([], pa.string())
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values, mask=pa.array(refused, pa.bool_()))
