"""``weights new ranking NAME``: a starting ranking weighing up to three numeric item fields of the contract
(tie-broken by a string id when there is one), and a case whose better item comes first.
"""
from __future__ import annotations

from validator.gate.scaffold import (
    MAX_TERMS,
    Draft,
    ScaffoldError,
    common,
    flow,
    golden_header,
    header,
    numeric_inputs,
    of_type,
)
from validator.kinds.contract import Contract
from validator.kinds.ranking.evaluator import KIND_NAME

# Placeholder inputs of a new contract: what a typical app of this kind sends (YAML flow mappings).
CONTRACT_INPUTS: tuple[str, ...] = (
    "relevance: {type: number, min: 0, max: 100, description: Text relevance of the item for the query}",
    "sales_30d: {type: integer, unit: units, min: 0, max: 100000, description: Units sold in the last 30 days}",
    "item_id: {type: string, description: The id of the candidate item}",
)


def draft(name: str, contract: Contract, owner: str, schemas_rel: str, model_path: str) -> Draft:
    numeric = numeric_inputs(contract)[:MAX_TERMS]
    if not numeric:
        raise ScaffoldError(f"contract {contract.name!r} declares no number or integer input a ranking can weigh: "
                            "add the item fields the app sends to it first")
    ids = of_type(contract, "string")[:1]
    lines = header(KIND_NAME, name, schemas_rel)
    lines += common(contract.name, owner, "Which list this orders, for whom, and what comes first.")
    lines += ["", "features:"]
    for num in numeric:
        # Each feature spans about 1 over the contract's range, so none outweighs the rest from the start
        # (ranking.one-term-dominates); an input without both bounds keeps weight 1.
        lo, hi = num.decl.min, num.decl.max
        weight = float(f"{1.0 / (hi - lo):.2g}") if lo is not None and hi is not None else 1.0
        lines.append(f"  - {flow({'name': num.decl.name, 'input': num.decl.name, 'weight': weight})}")
    if ids:
        lines += ["",
                  "tie_break:             # equal scores: the lower id first, so a request always gets the same order",
                  f"  - {flow({'input': ids[0].name, 'order': 'asc', 'type': 'string'})}"]
    lines += ["", "# What `weights check` replays (rows of one query adjacent; see tests/data/):",
              "# replay:", "#   dataset: tests/data/<candidates>.parquet", "#   query: <query id column>"]
    id_key = ids[0].name if ids else "item_id"
    lead = numeric[0]
    better = {id_key: "item_a", **{n.decl.name: n.high for n in numeric}}
    worse = {id_key: "item_b", **{n.decl.name: n.low for n in numeric}}
    golden = golden_header(name, model_path, owner)
    golden += [f"  - name: the item higher on {lead.decl.name} and every other feature is ranked first",
               *([f"    id_key: {id_key}"] if id_key != "item_id" else []),
               "    items:", f"      - {flow(worse)}", f"      - {flow(better)}",
               "    expect: {order: [item_a, item_b]}"]
    return Draft(lines, golden, {}, tuple(n.decl.name for n in numeric))


__all__ = ["CONTRACT_INPUTS", "draft"]
