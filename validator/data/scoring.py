"""Scoring Arrow data with a model's vectorized twin: the one core behind the notebook API
(``validator.notebook.score_frame``) and batch scoring (``weights score``, Spark ``mapInArrow``, DuckDB).

Why one core: an analyst's notebook, the nightly batch job and the gate's replay must give the same answer for
the same row, so all three read inputs the same way (``validator.data.datasets.to_column``: the replay's
conversion of an Arrow column into an evaluator column) and score with the same twins, whose ``exact`` mode
re-decides rows near a threshold with the scalar evaluator (decisions, reason codes, segment ids and orders
then agree exactly with what the app computes).

What a kind's results ARE (columns and their types) is the kind's business: its folder's ``frame.py`` room
says it (``fields(model)``, ``score(model, columns, context)``, ``GROUP_KEY``). This module only drives the
registry: it checks the inputs, converts them, calls the room and assembles one ``pa.RecordBatch``, adding a
``refused`` column (true where the model's input policy refuses the row, as the request path would raise
``InputError``; the row's other results are null).

API (what ``weights score`` builds on)::

    scorer = load_scorer(root, "churn_coupon", revision=None)   # through the full gate
    output_schema(scorer.model)                                  # the result columns, before any data
    score_batch(scorer.model, batch, group=scorer.group, seed=0) # one pa.RecordBatch of results per batch

``group`` (ranking: the query id column, by default the model's ``replay.query``) ranks the rows of each run of
equal ids; a group must not be split across batches (cut batches at group boundaries). ``seed`` makes a
bandit's choices reproducible; give each batch its own seed (e.g. ``seed + batch_number``) so batches do not
repeat one stream.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from validator.data.datasets import DatasetError, to_column
from validator.kinds import KINDS
from validator.kinds.base import ModelError
from validator.kinds.columns import COLUMN_TYPE, Column

REFUSED = "refused"

__all__ = [
    "REFUSED", "BatchContext", "Scorer", "ScoringError", "input_types", "labels_array", "load_scorer",
    "output_schema", "score_batch",
]


class ScoringError(ValueError):
    """The data cannot be scored by this model (a column missing or of the wrong type, a group split up, a name
    unknown to the repository): the message names the model and the column so the caller knows what to fix."""


@dataclass(frozen=True)
class BatchContext:
    """What a kind's ``frame.score`` may need besides the inputs: the batch's size, the group code of each
    row (adjacent equal codes are one request; None when the caller named no group column) and the seed."""

    rows: int
    groups: np.ndarray | None
    seed: int


@dataclass(frozen=True)
class Scorer:
    """A model ready to score batches: its vectorized twin, the validated document it was compiled from, and
    the group column its kind reads by default (None when the kind has no groups or the model names none)."""

    name: str
    model: Any
    document: Mapping[str, Any]
    group: str | None
    revision: str | None


def _room(model: Any) -> ModuleType:
    kind = KINDS.get(str(getattr(model, "kind", "")))
    if kind is None or not hasattr(model, "input_types") or not hasattr(model, "scalar"):
        raise ScoringError(
            f"{model!r} is not a vectorized model: compile the document with "
            "validator.kinds.vectorized.compile_vectorized (or use validator.data.scoring.load_scorer)")
    return kind.room("frame")


def input_types(model: Any) -> dict[str, str]:
    """The input columns the model reads and their column type (``number``, ``boolean``, ``text``)."""
    _room(model)
    return {name: COLUMN_TYPE[typ] for name, typ in model.input_types.items()}


def output_schema(model: Any) -> pa.Schema:
    """The result columns of ``score_batch`` for this model, in order (the kind's, then ``refused``)."""
    fields = [*_room(model).fields(model), pa.field(REFUSED, pa.bool_(), nullable=False)]
    names = [f.name for f in fields]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise ScoringError(f"model {model.name!r}: result column(s) {', '.join(doubled)} named twice")
    return pa.schema(fields)


def default_group(model: Any, document: Mapping[str, Any]) -> str | None:
    """The group column a model scores by when the caller names none: its kind's ``GROUP_KEY`` in ``replay:``."""
    key = _room(model).GROUP_KEY
    if key is None:
        return None
    value = (document.get("replay") or {}).get(key)
    return str(value) if isinstance(value, str) else None


def _missing(model: Any, wanted: Sequence[str], available: Sequence[str]) -> None:
    from validator.gate.rules import did_you_mean

    for name in wanted:
        if name not in available:
            hint = did_you_mean(name, available)
            raise ScoringError(
                f"model {model.name!r} reads column {name!r}, which the data does not have"
                f"{' (' + hint + ')' if hint else ''}; its columns: {', '.join(available) or '(none)'}")


def _group_codes(model: Any, data: pa.RecordBatch | pa.Table, group: str) -> np.ndarray:
    """Per row a code of its group id (any Arrow type); refuses empty ids and a group whose rows are apart."""
    array = data.column(group)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.null_count:
        raise ScoringError(f"model {model.name!r}: group column {group!r} has empty ids")
    encoded = pc.dictionary_encode(array) if not pa.types.is_dictionary(array.type) else array
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    if len(codes):
        runs = 1 + int(np.count_nonzero(codes[1:] != codes[:-1]))
        if runs != len(np.unique(codes)):
            raise ScoringError(f"model {model.name!r}: the rows of a group in {group!r} are not adjacent; sort the "
                               f"data by {group!r} (a group is ranked as one request)")
    return codes


def score_batch(model: Any, batch: pa.RecordBatch | pa.Table, *, group: str | None = None,
                seed: int = 0) -> pa.RecordBatch:
    """Score every row of ``batch`` (a record batch or a table) with the vectorized ``model``.

    Returns one record batch of ``output_schema(model)``, row for row. Columns the model does not read are
    ignored. Raises ScoringError naming the model and the column when one is missing or of the wrong type.
    """
    room = _room(model)
    schema = output_schema(model)
    types = input_types(model)
    available = list(batch.schema.names)
    _missing(model, [*types, *([group] if group else [])], available)
    columns: dict[str, Column] = {}
    try:
        for name, typ in types.items():
            columns[name] = to_column(batch.column(name), typ, f"model {model.name!r}, column {name!r},")
    except DatasetError as exc:
        raise ScoringError(str(exc)) from None
    groups = _group_codes(model, batch, group) if group else None
    context = BatchContext(batch.num_rows, groups, seed)
    try:
        arrays, refused = room.score(model, columns, context)
    except ModelError as exc:
        raise ScoringError(str(exc)) from None
    return pa.RecordBatch.from_arrays([*arrays, pa.array(refused, pa.bool_())], schema=schema)


def labels_array(labels: Sequence[str], index: np.ndarray, refused: np.ndarray) -> pa.Array:
    """Strings from an index into ``labels`` per row (null where refused): one take over a few distinct words,
    not a Python string per row (what keeps a million rows cheap)."""
    words = pa.array(list(labels), pa.string())
    safe = np.where(refused, 0, index).astype(np.int32)
    if not len(words):
        return pa.nulls(len(index), pa.string())
    return words.take(pa.array(safe, pa.int32(), mask=np.asarray(refused, dtype=bool)))


def load_scorer(root: Path | str, name: str, revision: str | None = None) -> Scorer:
    """The model ``name`` of the repository at ``root`` (work tree, or git ``revision``), after the full gate,
    as a vectorized twin; raises ScoringError for an unknown model and ``validator.api.ValidationFailed``
    when the repository does not pass the gate (the findings say where)."""
    from validator.api import ValidationFailed, validate_paths
    from validator.gate.sources import SourceError
    from validator.kinds.vectorized import compile_vectorized

    try:
        result = validate_paths(root, rev=revision)
    except SourceError as exc:
        raise ScoringError(str(exc)) from None
    if not result.ok:
        raise ValidationFailed([f for f in result.findings if f.severity.value == "error"])
    where = f"revision {revision!r}" if revision is not None else "the work tree"
    document = result.models.get(name)
    if document is None:
        from validator.gate.rules import did_you_mean

        hint = did_you_mean(name, list(result.models))
        raise ScoringError(f"no model {name!r} in {where} of {root}{' (' + hint + ')' if hint else ''}; "
                           f"models: {', '.join(sorted(result.models)) or '(none)'}")
    model = compile_vectorized(document, result.contracts.get(str(document.get("contract"))))
    return Scorer(name, model, document, default_group(model, document), revision)
