"""The semantic diff: what changed in the weights between two revisions, in the model's own terms.

A text diff of YAML shows moved lines and comment edits; a reviewer wants "terms[new_account].weight
1.5 -> 1.8 (+20%)", "bands[review].below 0.7 -> 0.65", "term gift_card_velocity added". List elements are
matched by their identity (a term's ``name``, an arm's or segment's ``id``, a band's ``decision``, a
tie-break's ``input``), not by position, so inserting a term does not report every later term as changed,
and a reorder is reported as one change. Comments and formatting are not changes.

Each change carries its position in the head file (or the base file for removals), so annotations land on
the changed line.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Iterable, Mapping

from validator.gate.yamlload import Document

IDENTITY_KEYS = ("name", "id", "decision", "input")


@dataclass(frozen=True)
class Change:
    """One changed value: ``op`` is changed | added | removed | reordered."""

    path: tuple
    label: str  # "terms[new_account].weight"
    op: str
    old: Any = None
    new: Any = None
    line: int | None = None  # in the head file (base file for a removal)
    col: int | None = None

    @property
    def relative(self) -> float | None:
        """(new - old) / |old| for a changed number; None for anything else (or old == 0)."""
        if self.op != "changed" or not _is_number(self.old) or not _is_number(self.new) or self.old == 0:
            return None
        return (self.new - self.old) / abs(self.old)

    def describe(self) -> str:
        """One line for people: "terms[new_account].weight: 1.5 -> 1.8 (+20.0%)"."""
        if self.op == "added":
            return f"{self.label}: added {render_value(self.new)}"
        if self.op == "removed":
            return f"{self.label}: removed (was {render_value(self.old)})"
        if self.op == "reordered":
            return f"{self.label}: order {render_value(self.old)} -> {render_value(self.new)}"
        text = f"{self.label}: {render_value(self.old)} -> {render_value(self.new)}"
        rel = self.relative
        if rel is not None:
            text += f" ({rel:+.1%})"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"path": list(self.path), "label": self.label, "op": self.op, "old": self.old, "new": self.new,
                "relative": self.relative, "line": self.line, "col": self.col}


@dataclass(frozen=True)
class DocumentDiff:
    """One model (or contract) file between base and head."""

    name: str
    kind: str | None  # the model kind, "contract" for a contract, None when unknown (unparseable)
    path: str  # head path, else base path
    status: str  # added | removed | changed | unchanged
    changes: tuple[Change, ...] = ()
    file_changed: bool = False  # the bytes differ (a comment-only edit is file_changed and unchanged)

    @property
    def is_contract(self) -> bool:
        return self.kind == "contract"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "path": self.path, "status": self.status,
                "file_changed": self.file_changed, "changes": [c.to_dict() for c in self.changes]}


@dataclass
class RepoDiff:
    base_label: str
    head_label: str
    documents: list[DocumentDiff] = field(default_factory=list)

    @property
    def models(self) -> list[DocumentDiff]:
        return [d for d in self.documents if not d.is_contract]

    @property
    def contracts(self) -> list[DocumentDiff]:
        return [d for d in self.documents if d.is_contract]

    def changed(self) -> list[DocumentDiff]:
        return [d for d in self.documents if d.status != "unchanged"]

    def get(self, name: str, contract: bool = False) -> DocumentDiff | None:
        return next((d for d in self.documents if d.name == name and d.is_contract == contract), None)

    def to_dict(self) -> dict[str, Any]:
        return {"base": self.base_label, "head": self.head_label, "documents": [d.to_dict() for d in self.documents]}


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def render_value(value: Any, limit: int = 60) -> str:
    """A value compactly, as it would read in the YAML (lists and mappings in flow style), shortened."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        text = f"{value:.1f}"
    elif _is_number(value):
        text = repr(value)
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _identity(items: list) -> str | None:
    """The key that identifies the dicts of a list (unique and present in all), or None."""
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in IDENTITY_KEYS:
        values = [i.get(key) for i in items]
        if (all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in values)
                and len(set(values)) == len(values)):
            return key
    return None


def _label(parent: str, key: Any, ident: Any | None = None) -> str:
    if ident is not None:
        return f"{parent}[{ident}]"
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)


def _walk(base: Any, head: Any, path: tuple, label: str, out: list[Change]) -> None:
    if isinstance(base, dict) and isinstance(head, dict):
        for key in head:
            if key not in base:
                out.append(Change(path + (key,), _label(label, key), "added", None, head[key]))
            else:
                _walk(base[key], head[key], path + (key,), _label(label, key), out)
        for key in base:
            if key not in head:
                out.append(Change(path + (key,), _label(label, key), "removed", base[key], None))
        return
    if isinstance(base, list) and isinstance(head, list):
        key = _identity(base)
        if key is not None and _identity(head) == key:
            base_ids = [item[key] for item in base]
            head_ids = [item[key] for item in head]
            base_at = {ident: i for i, ident in enumerate(base_ids)}
            for j, item in enumerate(head):
                ident = item[key]
                if ident not in base_at:
                    out.append(Change(path + (j,), _label(label, j, ident), "added", None, item))
                else:
                    _walk(base[base_at[ident]], item, path + (j,), _label(label, j, ident), out)
            head_set = set(head_ids)
            for i, item in enumerate(base):
                if item[key] not in head_set:
                    out.append(Change(path + (i,), _label(label, i, item[key]), "removed", item, None))
            common_base = [i for i in base_ids if i in head_set]
            common_head = [i for i in head_ids if i in base_at]
            if common_base != common_head:
                out.append(Change(path, label, "reordered", common_base, common_head))
            return
        if all(isinstance(x, dict) for x in base + head) and base and head:
            for i in range(min(len(base), len(head))):
                _walk(base[i], head[i], path + (i,), _label(label, i), out)
            for j in range(len(base), len(head)):
                out.append(Change(path + (j,), _label(label, j), "added", None, head[j]))
            for i in range(len(head), len(base)):
                out.append(Change(path + (i,), _label(label, i), "removed", base[i], None))
            return
    if not _same(base, head):
        out.append(Change(path, label, "changed", base, head))


def _same(a: Any, b: Any) -> bool:
    """Equal as the evaluator sees it: 1 and 1.0 are the same weight; true and 1 are not."""
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if type(a) is not type(b):
        return False
    return bool(a == b)


def diff_data(base: Any, head: Any) -> list[Change]:
    """Every semantic change from ``base`` to ``head`` (two plain JSON-like values), without positions."""
    out: list[Change] = []
    _walk(base, head, (), "", out)
    return out


def _positioned(change: Change, head_doc: Document | None, base_doc: Document | None) -> Change:
    """The change with the line of its value in the head file (of its key in the base file for a removal)."""
    document = base_doc if change.op == "removed" else head_doc
    if document is None:
        return change
    keyed = bool(change.path) and not isinstance(change.path[-1], int) and change.op in ("added", "removed")
    span = document.span(change.path, at_key=keyed)
    return Change(change.path, change.label, change.op, change.old, change.new, span.line, span.col)


@dataclass(frozen=True)
class Side:
    """One revision's files, as the validator loaded them: path -> (bytes, Document or None)."""

    label: str
    raw: Mapping[str, bytes | None]
    documents: Mapping[str, Document]


def diff_sides(base: Side, head: Side, model_paths: Iterable[str], contract_paths: Iterable[str],
               kinds: Mapping[str, str] | None = None) -> RepoDiff:
    """The diff of every model and contract file present on either side.

    ``kinds``: model path -> kind (from either side's data), so removed and unparsable files keep a kind.
    """
    result = RepoDiff(base.label, head.label)
    for paths, is_contract in ((sorted(set(model_paths)), False), (sorted(set(contract_paths)), True)):
        for path in paths:
            result.documents.append(_diff_file(path, base, head, is_contract, kinds or {}))
    return result


def _diff_file(path: str, base: Side, head: Side, is_contract: bool, kinds: Mapping[str, str]) -> DocumentDiff:
    name = PurePosixPath(path).stem
    base_raw, head_raw = base.raw.get(path), head.raw.get(path)
    base_doc, head_doc = base.documents.get(path), head.documents.get(path)
    kind: str | None = "contract" if is_contract else None
    if not is_contract:
        for doc in (head_doc, base_doc):
            if doc is not None and isinstance(doc.data, dict) and isinstance(doc.data.get("kind"), str):
                kind = doc.data["kind"]
                break
        kind = kind or kinds.get(path)
    if base_raw is None and head_raw is None:  # pragma: no cover - listed on one side at least
        return DocumentDiff(name, kind, path, "unchanged")
    if base_raw is None:
        return DocumentDiff(name, kind, path, "added", file_changed=True)
    if head_raw is None:
        return DocumentDiff(name, kind, path, "removed", file_changed=True)
    file_changed = base_raw != head_raw
    room = _diff_room(kind)
    if not file_changed and room is None:
        return DocumentDiff(name, kind, path, "unchanged")
    if base_doc is None or head_doc is None:
        if not file_changed:
            return DocumentDiff(name, kind, path, "unchanged")
        # One side does not parse: the text changed, but there is no structure to compare.
        base_state = "unparsable" if base_doc is None else "parsed"
        head_state = "unparsable" if head_doc is None else "parsed"
        return DocumentDiff(name, kind, path, "changed",
                            (Change((), "(file)", "changed", base_state, head_state, 1, 1),), True)
    base_data, head_data, own = base_doc.data, head_doc.data, []
    if room is not None:  # the kind diffs what its documents embed (a table's rows) itself
        base_data, head_data, own = room.split(base_data, head_data)
    changes = tuple(_positioned(c, head_doc, base_doc) for c in diff_data(base_data, head_data)) + tuple(own)
    return DocumentDiff(name, kind, path, "changed" if changes else "unchanged", changes, file_changed or bool(own))


def _diff_room(kind: str | None) -> Any | None:
    """The ``diff`` room of a model kind, if it has one: ``split(base, head) -> (base, head, changes)`` takes out
    what the generic walk should not compare value by value (content embedded from files beside the YAML)
    and returns its own changes for it."""
    from validator.kinds import KINDS

    kind_ = KINDS.get(kind or "")
    return kind_.room("diff") if kind_ is not None and kind_.has_room("diff") else None
