"""The bandit's result columns for batch and notebook scoring (``validator.data.scoring``): one variant per row
and whether the row fell in the holdout, drawn by the twin from ``numpy.random.default_rng(seed)`` (the same
posteriors, floors and holdout as the scalar ``choose()``; reproducible for a given seed and batch size)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from validator.data.scoring import BatchContext, labels_array
from validator.kinds.columns import Column

GROUP_KEY = None  # every row is one visitor


def fields(model: Any) -> list[pa.Field]:
    return [pa.field("variant", pa.string()), pa.field("holdout", pa.bool_())]


def score(model: Any, columns: Mapping[str, Column], context: BatchContext) -> tuple[list[pa.Array], np.ndarray]:
    batch = model.choose(context.rows, context.seed)
    refused = np.zeros(context.rows, dtype=bool)  # a bandit reads no inputs: nothing to refuse
    return [labels_array(batch.labels, batch.choices, refused), pa.array(batch.holdout, pa.bool_())], refused
