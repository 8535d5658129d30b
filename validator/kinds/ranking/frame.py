"""The ranking's result columns for batch and notebook scoring (``validator.data.scoring``): every item's final
score and, when the caller names the query column (by default the model's ``replay.query``), its 1-based rank
within its query, from the twin's exact mode (queries with near-tied items ranked again by the scalar
evaluator), so orders match what the app's ``rank()`` returns. A query with one refused item is refused whole."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from validator.data.scoring import BatchContext
from validator.kinds.columns import Column

GROUP_KEY = "query"  # replay.query names the column whose runs of equal ids are one request


def fields(model: Any) -> list[pa.Field]:
    return [pa.field("score", pa.float64()), pa.field("rank", pa.int32())]


def score(model: Any, columns: Mapping[str, Column], context: BatchContext) -> tuple[list[pa.Array], np.ndarray]:
    if context.groups is None:
        scores, refused, _ = model.score(columns)
        ranks = pa.nulls(context.rows, pa.int32())
    else:
        batch = model.rank(columns, context.groups)
        scores, refused = batch.scores, batch.rejected
        ranks = pa.array(batch.ranks, pa.int32(), mask=refused)
    return [pa.array(scores, pa.float64(), mask=refused), ranks], refused
