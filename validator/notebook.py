"""The notebook API: score an analyst's own data with a model from the work tree or any git revision, and judge
a change on that data with the metrics and guardrails of ``weights check``.

Why here and not in the analyst's notebook: the notebook must use the SAME code as the gate and the app, or a
number shown in a notebook and a number that ships could differ. ``score_frame`` loads the model through the
full gate and scores with the scoring core (``validator.data.scoring``: the vectorized twins in their exact
mode); ``compare`` runs the replay (``validator.gate.replay.simulate_model``, the kinds' ``metrics.py`` and
``validator.gate.guardrails``) on the frame's rows instead of the declared dataset.

Errors an analyst can fix (an unknown model, a missing or mistyped column, a bad revision, weights that fail
the gate) are raised as ``NotebookError`` (or ``validator.api.ValidationFailed``, a finding per line) with a
message saying what to fix, never as a traceback from deep inside.
"""
from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import pyarrow as pa

from validator.api import ValidationFailed, repository_root
from validator.data.scoring import Scorer, ScoringError, load_scorer, output_schema, score_batch
from validator.gate.sources import SourceError

if TYPE_CHECKING:
    from validator.gate.replay import Impact

# A pandas DataFrame, a pyarrow Table or RecordBatch (pandas has no type stubs installed: Any for its side).
Frame = Union[Any, pa.Table, pa.RecordBatch]

__all__ = ["Comparison", "NotebookError", "ValidationFailed", "compare", "score_frame"]


class NotebookError(ValueError):
    """A notebook call cannot run as asked; the message names the model, column or revision to fix."""


def _pandas() -> Any:
    """pandas, imported when a frame is one (an Arrow caller never needs it); it ships no type information."""
    import pandas

    return pandas


def _root(root: Path | str | None) -> Path:
    try:
        return repository_root(root)
    except SourceError as exc:
        raise NotebookError(str(exc)) from None


def _as_arrow(frame: Any) -> pa.Table | pa.RecordBatch:
    if isinstance(frame, (pa.Table, pa.RecordBatch)):
        return frame
    try:
        pd = _pandas()
    except ImportError:  # pragma: no cover - pandas is in the dev extra; Arrow callers need no pandas
        pd = None
    if pd is not None and isinstance(frame, pd.DataFrame):
        if not all(isinstance(c, str) for c in frame.columns):
            bad = [repr(c) for c in frame.columns if not isinstance(c, str)]
            raise NotebookError(f"the frame's column names must be text; rename {', '.join(bad[:5])}")
        try:
            return pa.Table.from_pandas(frame, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise NotebookError(f"the frame cannot be read as columns of one type each: "
                                f"{str(exc).splitlines()[0]}") from None
    raise NotebookError(f"frame must be a pandas DataFrame or a pyarrow Table, got {type(frame).__name__}")


def _scorer(model: Any, revision: str | None, root: Path | str | None) -> Scorer:
    if isinstance(model, str):
        try:
            return load_scorer(_root(root), model, revision)
        except ScoringError as exc:
            raise NotebookError(str(exc)) from None
    if revision is not None:
        raise NotebookError("revision applies to a model given by name; this model is already compiled")
    if isinstance(model, Scorer):
        return model
    try:
        output_schema(model)
    except ScoringError:
        raise NotebookError(
            f"model must be a model's name or a vectorized model (validator.kinds.vectorized.compile_vectorized), "
            f"got {type(model).__name__}") from None
    return Scorer(str(model.name), model, {}, None, None)


def score_frame(model: Any, frame: Frame, revision: str | None = None, root: Path | str | None = None, *,
                group: str | None = None, seed: int = 0, prefix: str = "") -> Any:
    """Score every row of ``frame`` with ``model`` and return the frame with the results as columns.

    ``model``: a model's name, loaded from the work tree of the repository at ``root`` (default: the one holding
    the current folder) or from git ``revision`` (a branch, tag or commit), through the full gate; or a model
    already compiled with ``validator.kinds.vectorized.compile_vectorized``. ``frame``: a pandas DataFrame (the
    result is a DataFrame with the same index) or a pyarrow Table / RecordBatch (the result is of the same type).

    The result columns are the kind's (``validator.data.scoring.output_schema``) plus ``refused``, each named with
    ``prefix`` (e.g. ``prefix="head_"`` to put two versions side by side). ``group``: the column whose runs of
    equal ids are one request (a ranking's query; default: the model's ``replay.query`` when the frame has it).
    ``seed``: the seed of a bandit's choices.
    """
    scorer = _scorer(model, revision, root)
    table = _as_arrow(frame)
    chosen = group if group is not None else (scorer.group if scorer.group in table.schema.names else None)
    try:
        results = score_batch(scorer.model, table, group=chosen, seed=seed)
    except ScoringError as exc:
        raise NotebookError(str(exc)) from None
    names = [prefix + name for name in results.schema.names]
    clash = [name for name in names if name in table.schema.names]
    if clash:
        raise NotebookError(f"the frame already has column(s) {', '.join(clash)}: pass prefix= (e.g. "
                            f"prefix='{scorer.name}_') to name the results apart")
    results = results.rename_columns(names)
    if isinstance(frame, pa.Table):
        for name, column in zip(names, results.columns, strict=True):
            frame = frame.append_column(name, column)
        return frame
    if isinstance(frame, pa.RecordBatch):
        return pa.RecordBatch.from_arrays([*frame.columns, *results.columns], names=[*frame.schema.names, *names])
    pd = _pandas()

    converted = results.to_pandas(types_mapper=_pandas_type)
    converted.index = frame.index
    return pd.concat([frame, converted], axis=1)


def _pandas_type(arrow_type: pa.DataType) -> Any:
    """Nullable pandas types for results that may be null (a refused row): ints stay ints, flags stay flags,
    reason codes stay lists."""
    pd = _pandas()

    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype() if arrow_type == pa.int64() else pd.Int32Dtype()
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    if pa.types.is_list(arrow_type):
        return pd.ArrowDtype(arrow_type)
    return None


# ------------------------------------------------------------------------------------------------- compare


@dataclass(frozen=True)
class Comparison:
    """What ``weights check`` would measure for a change, on the analyst's rows: one replay per model.

    ``impacts``: the replay of each model (``validator.gate.replay.Impact``: metrics, summary lines, guardrail
    verdicts); ``skipped``: models the frame could not replay, with why. ``passed``: no guardrail failed.
    """

    base: str
    head: str
    rows: int
    impacts: list[Impact]
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(impact.passed for impact in self.impacts)

    def __getitem__(self, model: str) -> Impact:
        for impact in self.impacts:
            if impact.model == model:
                return impact
        raise KeyError(f"no replay of {model!r} in this comparison; replayed: "
                       f"{', '.join(i.model for i in self.impacts) or '(none)'}")

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready): per model its status, rows, metrics, summary and guardrail verdicts."""
        return {
            "base": self.base, "head": self.head, "rows": self.rows, "passed": self.passed,
            "models": {
                i.model: {
                    "kind": i.kind, "status": i.status, "rows": i.rows, "passed": i.passed,
                    "metrics": dict(i.metrics), "summary": list(i.summary),
                    "guardrails": [_verdict(g) for g in i.guardrails],
                } for i in self.impacts
            },
            "skipped": dict(self.skipped),
        }

    def to_frame(self) -> Any:
        """One row per model and metric (columns ``model``, ``metric``, ``value``): the numbers to plot."""
        pd = _pandas()

        rows = [(i.model, name, float(value)) for i in self.impacts for name, value in i.metrics.items()]
        return pd.DataFrame(rows, columns=["model", "metric", "value"])

    def guardrails_frame(self) -> Any:
        """One row per model and guardrail: the value measured, the limit, and the verdict."""
        pd = _pandas()

        rows = [{"model": i.model, **_verdict(g)} for i in self.impacts for g in i.guardrails]
        return pd.DataFrame(rows, columns=["model", "guardrail", "value", "limit", "breached", "accepted",
                                           "failed", "message"])

    def __repr__(self) -> str:
        from validator.gate.replay import format_impact

        head = f"compare {self.base} -> {self.head} on {self.rows} rows: {'passed' if self.passed else 'FAILED'}"
        parts = [head, *(format_impact(i) for i in self.impacts)]
        parts += [f"{name}: not replayed: {why}" for name, why in self.skipped.items()]
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        e = html.escape
        out = [f"<p><b>{e(self.base)} &rarr; {e(self.head)}</b> on {self.rows} rows: "
               f"<b>{'passed' if self.passed else 'FAILED'}</b></p>"]
        for i in self.impacts:
            out.append(f"<h4>{e(i.model)} ({e(i.kind)}, {e(i.status)})</h4>")
            out.append("<ul>" + "".join(f"<li>{e(line)}</li>" for line in i.summary) + "</ul>")
            if i.guardrails:
                out.append("<table><tr><th>guardrail</th><th>measured</th><th>verdict</th></tr>")
                for g in i.guardrails:
                    verdict = "ok" if not g.breached else ("accepted" if g.accepted else "BREACHED")
                    out.append(f"<tr><td>{e(g.name)}</td><td>{e(g.message)}</td><td>{verdict}</td></tr>")
                out.append("</table>")
        for name, why in self.skipped.items():
            out.append(f"<p>{e(name)}: not replayed: {e(why)}</p>")
        return "\n".join(out)


def _verdict(g: Any) -> dict[str, Any]:
    return {"guardrail": g.name, "value": g.value, "limit": g.limit, "breached": g.breached,
            "accepted": g.accepted, "failed": g.failed, "message": g.message}


def compare(base: str | None, head: str | None, frame: Frame, model: str | Sequence[str] | None = None,
            root: Path | str | None = None, *, seed: int = 0) -> Comparison:
    """Replay ``frame`` through the ``base`` and ``head`` versions (git revisions; ``head`` None: the work tree;
    ``base`` None: the merge base with the default branch, as ``weights check`` picks it) and judge the change
    by the guardrails ``weights check`` applies.

    ``model``: the model(s) to replay; default: the models the change touches (as ``weights check`` chooses
    them) whose columns the frame has; the others are listed in ``skipped``. A model given by name is replayed
    even when the change leaves it as it was (its metrics then show no change).
    """
    from validator.gate.check import _replay_names
    from validator.gate.check import compare as load_sides
    from validator.gate.replay import FRAME, ReplayError, simulate_model

    repo = _root(root)
    table = _as_arrow(frame)
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    try:
        base_side, head_side, repo_diff = load_sides(repo, base, head)
    except SourceError as exc:
        raise NotebookError(str(exc)) from None
    for side in (base_side, head_side):
        if not side.validation.ok:
            raise ValidationFailed([f for f in side.validation.findings if f.severity.value == "error"])
    known = sorted(set(base_side.validation.models) | set(head_side.validation.models))
    if model is None:
        names, explicit = _replay_names(base_side, head_side, repo_diff, False), False
    else:
        names, explicit = ([model] if isinstance(model, str) else list(model)), True
        unknown = [n for n in names if n not in known]
        if unknown:
            raise NotebookError(f"no model {', '.join(map(repr, unknown))} in {base_side.label} or "
                                f"{head_side.label}; models: {', '.join(known)}")
    impacts: list[Impact] = []
    skipped: dict[str, str] = {}
    for name in names:
        base_doc, head_doc = base_side.validation.models.get(name), head_side.validation.models.get(name)
        base_contract = base_side.validation.contracts.get(base_doc["contract"]) if base_doc else None
        head_contract = head_side.validation.contracts.get(head_doc["contract"]) if head_doc else None
        try:
            impacts.append(simulate_model(repo, name, base_doc, head_doc, base_contract, head_contract,
                                          seed=seed, frame=table))
        except ReplayError as exc:
            message = str(exc).replace(f"dataset {FRAME} ", "the frame ")
            if explicit:
                raise NotebookError(message) from None
            skipped[name] = message
    if not impacts and not skipped:
        raise NotebookError(f"the change {base_side.label} -> {head_side.label} touches no model; name one with "
                            f"model= to replay it anyway (models: {', '.join(known)})")
    return Comparison(base_side.label, head_side.label, table.num_rows, impacts, skipped)
