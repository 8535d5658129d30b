"""The table's part of ``weights diff``: which rows changed, by key, instead of a 50,000-line text diff.

The generic diff compares the header (``split`` hands it the document without the embedded rows) and asks this
room for the rows: keys added and removed with their values, and per kept key each value that changed, old ->
new (a number with its relative change). Reviewers need the largest moves first, so changed values are listed
by relative change, then additions and removals; at most ``SHOWN`` row changes are listed, after one summary
line with the counts of everything.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from validator.gate.diff import Change
from validator.kinds.table.layout import TABLE_KEY

SHOWN = 20


def _rows(data: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...], dict[Any, dict[str, Any]]] | None:
    """(key columns, value columns, key -> values) of a resolved document; None without embedded rows."""
    table = data.get(TABLE_KEY)
    if not isinstance(table, Mapping):
        return None
    columns = table.get("columns") or {}
    keys = tuple(str(k.get("column", k.get("input"))) for k in data.get("keys") or ())
    values = tuple(str(v.get("column")) for v in data.get("values") or ())
    if not keys or any(c not in columns for c in (*keys, *values)):
        return None
    key_lists = [columns[c] for c in keys]
    value_lists = [columns[c] for c in values]
    pairs = zip(zip(*key_lists, strict=True), zip(*value_lists, strict=True), strict=True)
    rows = {tuple(k): dict(zip(values, v, strict=True)) for k, v in pairs}
    return keys, values, rows


def _label(keys: tuple[str, ...], key: tuple) -> str:
    return "rows[" + ", ".join(f"{c}={v}" for c, v in zip(keys, key, strict=False)) + "]"


def _relative(old: Any, new: Any) -> float:
    """How far a value moved, for ordering: |new - old| / |old| for numbers, 1 for anything else."""
    if isinstance(old, (int, float)) and isinstance(new, (int, float)) and not isinstance(old, bool):
        if old == 0:
            return math.inf if new != 0 else 0.0
        return abs(new - old) / abs(old)
    return 1.0


def split(base: Mapping[str, Any], head: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[Change]]:
    """The two headers for the generic diff, and the row changes (summary first, then at most SHOWN rows)."""
    base_header = {k: v for k, v in base.items() if k != TABLE_KEY}
    head_header = {k: v for k, v in head.items() if k != TABLE_KEY}
    same_file = (base.get(TABLE_KEY) or {}).get("sha256")
    if same_file is not None and same_file == (head.get(TABLE_KEY) or {}).get("sha256"):
        return base_header, head_header, []  # the very same bytes: no row can differ
    old, new = _rows(base), _rows(head)
    if old is None and new is None:
        return base_header, head_header, []
    if old is None or new is None:
        known = old or new
        assert known is not None
        word = f"{len(known[2]):,} rows"
        unread = "rows not read (the data file has findings)"
        return base_header, head_header, [Change((TABLE_KEY,), "rows", "changed", unread if old is None else word,
                                                 word if old is None else unread)]
    key_columns, _, base_rows = old
    head_key_columns, _, head_rows = new
    if key_columns != head_key_columns:
        return base_header, head_header, [Change((TABLE_KEY,), "rows", "changed", f"{len(base_rows):,} rows keyed by "
                                                 f"{', '.join(key_columns)}", f"{len(head_rows):,} rows keyed by "
                                                 f"{', '.join(head_key_columns)}")]
    changed: list[tuple[float, Change]] = []
    changed_keys = 0
    for key, values in head_rows.items():
        before = base_rows.get(key)
        if before is None or before == values:
            continue
        changed_keys += 1
        for column, value in values.items():
            if column in before and _differs(before[column], value):
                changed.append((_relative(before[column], value),
                                Change((TABLE_KEY, *key, column), f"{_label(key_columns, key)}.{column}", "changed",
                                       before[column], value)))
            elif column not in before:
                changed.append((1.0, Change((TABLE_KEY, *key, column), f"{_label(key_columns, key)}.{column}",
                                            "added", None, value)))
    added = [Change((TABLE_KEY, *key), _label(key_columns, key), "added", None, values)
             for key, values in head_rows.items() if key not in base_rows]
    removed = [Change((TABLE_KEY, *key), _label(key_columns, key), "removed", values, None)
               for key, values in base_rows.items() if key not in head_rows]
    if not changed and not added and not removed:
        return base_header, head_header, []
    changed.sort(key=lambda pair: -pair[0])
    # Keys added or removed are rarer and weigh more than one moved value: they get up to half the lines.
    keyed = (removed + added)[:max(SHOWN // 2, SHOWN - len(changed))]
    listed = [c for _, c in changed] + added + removed
    shown = keyed + [c for _, c in changed][:SHOWN - len(keyed)]
    more = f", {SHOWN} shown" if len(listed) > SHOWN else ""
    summary = Change((TABLE_KEY,), "rows", "changed", f"{len(base_rows):,} rows",
                     f"{len(head_rows):,} rows: {len(added):,} added, {len(removed):,} removed, "
                     f"{changed_keys:,} changed{more}")
    return base_header, head_header, [summary, *shown]


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is not type(b) or a != b
    return bool(a != b)


__all__ = ["SHOWN", "split"]
