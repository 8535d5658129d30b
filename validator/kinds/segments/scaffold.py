"""``weights new segments NAME``: two centroids one spread below and above the typical case of up to three
numeric inputs of the contract, a fallback, and a case for each centroid.
"""
from __future__ import annotations

from typing import Any

from validator.gate.scaffold import (
    MAX_TERMS,
    Draft,
    ScaffoldError,
    common,
    flow,
    golden_header,
    header,
    nice,
    numeric_inputs,
)
from validator.kinds.contract import Contract
from validator.kinds.segments.evaluator import KIND_NAME

# Placeholder inputs of a new contract: what a typical app of this kind sends (YAML flow mappings).
CONTRACT_INPUTS: tuple[str, ...] = (
    "orders_12m: {type: integer, unit: orders, min: 0, max: 200, description: Orders in the last 12 months}",
    "avg_basket_eur: {type: number, unit: EUR, min: 0, max: 2000, description: Mean order value}",
)


def draft(name: str, contract: Contract, owner: str, schemas_rel: str, model_path: str) -> Draft:
    numeric = numeric_inputs(contract)[:MAX_TERMS]
    if not numeric:
        raise ScaffoldError(f"contract {contract.name!r} declares no number or integer input to place customers by: "
                            "add the inputs the app sends to it first")
    lines = header(KIND_NAME, name, schemas_rel)
    lines += common(contract.name, owner, "Who is segmented, and what each segment is shown.")
    lines += ["", "# Each input is centred and divided by its scale: 0 is the typical case, 1 one spread above.",
              "features:"]
    for num in numeric:
        feature = {"name": num.decl.name, "input": num.decl.name, "center": num.center, "scale": num.spread}
        lines.append(f"  - {flow(feature)}")
    low = {n.decl.name: -1.0 for n in numeric}
    high = {n.decl.name: 1.0 for n in numeric}
    lines += ["", "segments:",
              "  - id: segment_low", f"    centroid: {flow(low)}", "    variant: variant_low",
              "  - id: segment_high", f"    centroid: {flow(high)}", "    variant: variant_high", "",
              "fallback: {segment: general, variant: variant_default, max_distance: 3.0}",
              "", "# What `weights check` replays to show a change's impact (see tests/data/):",
              "# replay:", "#   dataset: tests/data/<recent requests>.parquet"]

    def at(offset: float) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for n in numeric:
            value = n.center + offset * n.spread
            value = min(max(value, float(n.low)), float(n.high))
            out[n.decl.name] = int(round(value)) if n.integer else nice(value)
        return out

    golden = golden_header(name, model_path, owner)
    golden += ["  - name: a case below the typical one on every feature joins segment_low",
               f"    inputs: {flow(at(-1.0))}", "    expect: {segment: segment_low, variant: variant_low}", "",
               "  - name: a case above the typical one on every feature joins segment_high",
               f"    inputs: {flow(at(1.0))}", "    expect: {segment: segment_high, variant: variant_high}"]
    return Draft(lines, golden, {"segments": ["segment_low", "segment_high", "general"],
                                  "variants": ["variant_low", "variant_high", "variant_default"]},
                  tuple(n.decl.name for n in numeric))


__all__ = ["CONTRACT_INPUTS", "draft"]
