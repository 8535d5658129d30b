"""The segments' result columns for batch and notebook scoring (``validator.data.scoring``): the segment, the
variant (landing page) it maps to, the scaled distance and whether the fallback answered, from the twin's
exact mode (near ties and rows near ``max_distance`` assigned again by the scalar evaluator)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from validator.data.scoring import BatchContext, labels_array
from validator.kinds.columns import Column

GROUP_KEY = None  # every row is one customer


def fields(model: Any) -> list[pa.Field]:
    return [pa.field("segment", pa.string()), pa.field("variant", pa.string()),
            pa.field("distance", pa.float64()), pa.field("fallback", pa.bool_())]


def score(model: Any, columns: Mapping[str, Column], context: BatchContext) -> tuple[list[pa.Array], np.ndarray]:
    batch = model.assign(columns)
    refused = batch.rejected
    return [labels_array(batch.labels, batch.segments, refused),
            labels_array(batch.variants, batch.segments, refused),
            pa.array(batch.distances, pa.float64(), mask=refused),
            pa.array(batch.fallback, pa.bool_(), mask=refused)], refused
