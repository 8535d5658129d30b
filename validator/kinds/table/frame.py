"""The table's result columns for batch and notebook scoring (``validator.data.scoring``): ``found`` (the key had
a row; false when the header's default row answered) and every value column with its declared type, looked up
by the twin (values copied, never computed: they equal the scalar lookup's exactly)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from validator.data.scoring import BatchContext
from validator.kinds.columns import Column

GROUP_KEY = None  # every row is one request
_ARROW = {"number": pa.float64(), "integer": pa.int64(), "boolean": pa.bool_()}


def fields(model: Any) -> list[pa.Field]:
    return [pa.field("found", pa.bool_()),
            *(pa.field(v.column, _ARROW.get(v.type, pa.string())) for v in model.layout.values)]


def score(model: Any, columns: Mapping[str, Column], context: BatchContext) -> tuple[list[pa.Array], np.ndarray]:
    batch = model.lookup(columns)
    refused = batch.rejected
    arrays = [pa.array(batch.found, pa.bool_(), mask=refused)]
    for value in model.layout.values:
        typ = _ARROW.get(value.type, pa.string())
        column = batch.values[value.column]
        if value.type == "integer":
            column = np.where(refused, 0, np.nan_to_num(column)).astype(np.int64)
        arrays.append(pa.array(column, typ, mask=refused))
    return arrays, refused
