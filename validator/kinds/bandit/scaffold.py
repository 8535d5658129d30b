"""``weights new bandit NAME``: two arms with uninformative priors and 10% floors, and a case where they share
the traffic about equally (a bandit reads no inputs, so any contract will do).
"""
from __future__ import annotations

import json

from validator.gate.scaffold import Draft, common, golden_header, header
from validator.kinds.bandit.evaluator import KIND_NAME
from validator.kinds.contract import Contract

# Placeholder inputs of a new contract: what a typical app of this kind sends (YAML flow mappings).
CONTRACT_INPUTS: tuple[str, ...] = ()  # a bandit reads no inputs


def draft(name: str, contract: Contract, owner: str, schemas_rel: str, model_path: str) -> Draft:
    arms = ["variant_a", "variant_b"]
    lines = header(KIND_NAME, name, schemas_rel)
    lines += common(contract.name, owner, "Which variant this chooses, where, and what counts as a success.")
    lines += ["metric: conversion    # what counts as a success for every arm", "",
              "# Beta(1, 1) priors: no opinion yet, so the first counts decide. The counting job fills posterior:",
              "arms:"]
    for arm in arms:
        lines += [f"  - id: {arm}", f"    description: {json.dumps(f'What visitors see in {arm}.')}",
                  "    prior: {alpha: 1, beta: 1}", "    floor: 0.1       # always at least 10% of traffic"]
    lines += ["", "# Replayed by `weights check` as a seeded Monte Carlo over the counts: no dataset needed."]
    golden = golden_header(name, model_path, owner)
    golden += ["  - name: with no counts yet the two variants share the traffic about equally", "    seed: 1",
               "    expect:", "      shares:"]
    golden += [f"        {arm}: {{min: 0.4, max: 0.6}}" for arm in arms]
    return Draft(lines, golden, {"variants": arms}, ())


__all__ = ["CONTRACT_INPUTS", "draft"]
