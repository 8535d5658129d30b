"""Golden cases of a ranking: one request's candidate items, and the order (or part of it) that must hold."""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from validator.gate.golden import REJECTED, GoldenRunner, Mismatch
from validator.gate.rules import did_you_mean
from validator.kinds.schema_parts import array, prop, string

DEFAULT_ID_KEY = "item_id"

_ID = prop("Item id", "The value of the item's id key (default `item_id`).", type=["string", "number"])

EXPECTATIONS: dict[str, dict[str, Any]] = {
    "order": array("Rank order",
                   "The ids of the first items of the ranking, in order (the rest may follow in any order).",
                   _ID, minItems=1),
    "first": {**_ID, "title": "First item", "description": "The id of the item ranked first."},
    "above": array("Above", "Pairs [higher, lower]: the first item must be ranked above the second.",
                   array("Pair", "[higher id, lower id]", _ID, minItems=2, maxItems=2), minItems=1),
    "rejected": REJECTED,
}

REQUEST: dict[str, dict[str, Any]] = {
    "items": array("Items", "The candidate items of one request, each a mapping of inputs.",
                   prop("Item", "One candidate item: input name -> value.", type="object"), minItems=1),
    "id_key": string("Id key", "The item input that identifies items in expectations (default item_id)."),
}


def run(evaluator: Any, case: Mapping[str, Any]) -> dict[str, Any]:
    result = evaluator.rank(case.get("items") or [])
    return {"order": result.ids(case.get("id_key", DEFAULT_ID_KEY))}


def compare(expect: Mapping[str, Any], got: Mapping[str, Any]) -> Iterator[Mismatch]:
    order = got["order"]
    if "order" in expect and order[: len(expect["order"])] != list(expect["order"]):
        yield Mismatch(("expect", "order"), "golden.order", f"expected the ranking to start {list(expect['order'])}, "
                       f"got {order[: max(len(expect['order']), 3)]}")
    if "first" in expect and order and order[0] != expect["first"]:
        yield Mismatch(("expect", "first"), "golden.first",
                       f"expected {expect['first']!r} first, got {order[0]!r} (order {order[:5]})")
    for i, (higher, lower) in enumerate(expect.get("above") or ()):
        if order.index(higher) > order.index(lower):
            yield Mismatch(("expect", "above", i), "golden.above",
                           f"expected {higher!r} above {lower!r}, got {higher!r} at rank {order.index(higher) + 1} "
                           f"and {lower!r} at rank {order.index(lower) + 1}")


def check(model: Mapping[str, Any], case: Mapping[str, Any]) -> list[Mismatch]:
    """Items without a unique id, and expectations naming an id no item has."""
    if "items" not in case:
        return []
    id_key = case.get("id_key", DEFAULT_ID_KEY)
    ids = [item.get(id_key) for item in case["items"]]
    if len(set(map(repr, ids))) != len(ids):
        return [Mismatch(("items",), "golden.item-ids",
                         f"the items' {id_key!r} values are not unique (or missing): {ids}",
                         f"give every item a distinct {id_key}")]
    expect = case["expect"]
    wanted: list[tuple[tuple, Any]] = [(("expect", "order", i), v) for i, v in enumerate(expect.get("order") or ())]
    if "first" in expect:
        wanted.append((("expect", "first"), expect["first"]))
    for i, pair in enumerate(expect.get("above") or ()):
        wanted.extend(((("expect", "above", i, j), v) for j, v in enumerate(pair)))
    return [Mismatch(where, "golden.item-ids", f"no item has {id_key} {value!r}",
                     did_you_mean(str(value), map(str, ids)) or f"items: {ids}")
            for where, value in wanted if value not in ids]


RUNNER = GoldenRunner(
    expectations=EXPECTATIONS,
    request=REQUEST,
    required=("items",),
    hint="a ranking case gives items: [{item_id: ..., input: value, ...}, ...] and optionally id_key",
    run=run,
    compare=compare,
    check=check,
)

__all__ = ["RUNNER"]
