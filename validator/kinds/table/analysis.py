"""What a lookup table can return: per value column, the range its rows may hold (as the model declares and the
table's data rules enforce) together with the missing-key default, and the keys that select a row.

Static by design: the gate runs every kind's analysis once per model and never per row (the rows' own checks
are the table's data rules), so the ranges are the declared ``min``/``max`` of each value column widened by
the default a lookup returns when no row matches.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from validator.kinds.contract import Contract
from validator.kinds.intervals import Analysis, Contribution, Interval, is_number, show_interval


def analyse(data: Mapping[str, Any], contract: Contract | None) -> Analysis:
    """The analysis of a schema-valid table document."""
    keys = [str(k.get("input", k.get("column"))) for k in data.get("keys") or ()]
    missing = data.get("missing_key") or {}
    default = missing.get("default") or {} if missing.get("action") == "default" else {}
    terms: list[Contribution] = []
    for i, column in enumerate(data.get("values") or ()):
        name = str(column["column"])
        if column.get("type") not in ("number", "integer"):
            continue  # a word column has no range to add up
        lo = float(column["min"]) if is_number(column.get("min")) else -math.inf
        hi = float(column["max"]) if is_number(column.get("max")) else math.inf
        reach = Interval(lo, hi)
        how = f"declared {show_interval(reach)}"
        if is_number(default.get(name)):
            reach = reach.union(Interval.point(default[name]))
            how += f"; {default[name]!r} when no row matches"
        unit = f" ({column['unit']})" if column.get("unit") else ""
        terms.append(Contribution(name=name, path=("values", i), contribution=reach, driver=", ".join(keys),
                                  input_range=f"one row per key{unit}", how=how))
    action = missing.get("action", "reject")
    notes = (f"keys: {', '.join(keys)}; a key without a row: {action}",)
    return Analysis(kind="table", model=str(data["name"]), scale="looked-up value", base=0.0, terms=tuple(terms),
                    score=Interval(0.0, 0.0), score_label="looked-up value", notes=notes,
                    additive=False)
