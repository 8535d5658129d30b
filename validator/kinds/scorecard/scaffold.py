"""``weights new scorecard NAME``: a starting scorecard whose terms read the contract's inputs (up to two
numbers split at their midpoint, a flag, a category), two bands, and two cases: nothing fires, everything fires.
"""
from __future__ import annotations

from typing import Any

from validator.gate.scaffold import (
    Draft,
    ScaffoldError,
    common,
    flow,
    golden_header,
    header,
    numeric_inputs,
    of_type,
    scalar,
)
from validator.kinds.contract import Contract
from validator.kinds.scorecard.evaluator import KIND_NAME

# Placeholder inputs of a new contract: what a typical app of this kind sends (YAML flow mappings).
CONTRACT_INPUTS: tuple[str, ...] = (
    "order_amount: {type: number, unit: EUR, min: 0, max: 5000, description: Replace with what the app sends}",
    "is_new_customer: {type: boolean, description: Replace with what the app sends}",
)


def draft(name: str, contract: Contract, owner: str, schemas_rel: str, model_path: str) -> Draft:
    numeric = numeric_inputs(contract)[:2]
    flags = of_type(contract, "boolean")[:1]
    categories = [d for d in of_type(contract, "category") if len(d.values or ()) >= 2][:1]
    if not (numeric or flags or categories):
        raise ScaffoldError(f"contract {contract.name!r} declares no number, integer, boolean or category input "
                            "a scorecard can read: add the inputs the app sends to it first")
    lines = header(KIND_NAME, name, schemas_rel)
    lines += common(contract.name, owner, "What this score decides and for whom (one or two sentences).")
    lines += ["", "link: identity        # or logistic: the score becomes a probability",
              "intercept: 0.0", "weight_bounds: {min: -5, max: 5}", "", "terms:"]
    low_case: dict[str, Any] = {}
    high_case: dict[str, Any] = {}
    reasons: list[str] = []
    for num in numeric:
        code = f"R{len(reasons) + 1:02d}_{num.decl.name.upper()}"
        reasons.append(code)
        lines += [f"  - name: {num.decl.name}",
                  f"    input: {num.decl.name}",
                  "    type: numeric",
                  "    bins:" + (f"                              # {num.decl.unit}" if num.decl.unit else ""),
                  f"      - {flow({'to': num.split, 'value': 0.0})}",
                  f"      - {flow({'from': num.split, 'value': 1.0})}",
                  "    weight: 1.0",
                  f"    reason: {code}"]
        low_case[num.decl.name], high_case[num.decl.name] = num.low, num.high
    for decl in flags:
        code = f"R{len(reasons) + 1:02d}_{decl.name.upper()}"
        reasons.append(code)
        term = {"name": decl.name, "input": decl.name, "type": "boolean", "weight": 1.0, "reason": code}
        lines.append(f"  - {flow(term)}")
        low_case[decl.name], high_case[decl.name] = False, True
    for decl in categories:
        values = list(decl.values or ())
        code = f"R{len(reasons) + 1:02d}_{decl.name.upper()}"
        reasons.append(code)
        levels = {v: (1.0 if i == 0 else 0.0) for i, v in enumerate(values)}
        lines += [f"  - name: {decl.name}", f"    input: {decl.name}", "    type: categorical",
                  f"    levels: {{{', '.join(f'{scalar(v)}: {scalar(x)}' for v, x in levels.items())}}}",
                  "    weight: 1.0", f"    reason: {code}"]
        low_case[decl.name], high_case[decl.name] = values[1], values[0]
    # Every term adds 0 or 1, so a score of 0.5 or more means at least one term fired.
    lines += ["", "bands:                # ordered by score; the last band has no upper bound",
              "  - {decision: low, below: 0.5}", "  - {decision: high}",
              "", "reasons: {top: 2}",
              "", "# What `weights check` replays to show a change's impact before it merges (see tests/data/):",
              "# replay:", "#   dataset: tests/data/<rows the app scored>.parquet", "#   outcome: <a 0/1 column>"]
    golden = golden_header(name, model_path, owner)
    golden += ["  - name: nothing stands out, so the score stays in the low band",
               f"    inputs: {flow(low_case)}", "    expect: {decision: low, top_reason: null}", "",
               "  - name: every signal at the top of its range puts the case in the high band",
               f"    inputs: {flow(high_case)}", f"    expect: {{decision: high, top_reason: {reasons[0]}}}"]
    return Draft(lines, golden, {"decisions": ["low", "high"], "reasons": reasons},
                  tuple([*low_case]))


__all__ = ["CONTRACT_INPUTS", "draft"]
