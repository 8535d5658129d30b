"""The registry of semantic rules: one explicit list, in the order the rule reference documents them.

The rules every model file meets (``common_rules``) come first, then each registered kind's ``rules.py`` in the
order of ``validator.kinds.KINDS``, then the rules of the repository settings file. A new kind's rules join by
registering the kind: nothing here names one.
"""
from __future__ import annotations

from validator.gate import common_rules as common
from validator.gate import dataset_rules, guardrail_rules
from validator.gate import settings_rules as settings
from validator.gate.rules import Problem, Rule, RuleContext, rule
from validator.kinds import KINDS


def collect() -> tuple[Rule, ...]:
    """Every rule, in documented order; refuses two rules with one id (a finding's id must name one rule)."""
    rules = (*common.RULES, *dataset_rules.RULES, *guardrail_rules.RULES, *(r for kind in KINDS.values() for r in kind.rules), *settings.RULES)
    seen: dict[str, Rule] = {}
    for r in rules:
        if r.id in seen:
            raise ValueError(f"rule id {r.id!r} is defined twice: rule ids must be unique")
        seen[r.id] = r
    return rules


ALL_RULES: tuple[Rule, ...] = collect()

RULES_BY_ID: dict[str, Rule] = {r.id: r for r in ALL_RULES}

__all__ = ["ALL_RULES", "RULES_BY_ID", "Problem", "Rule", "RuleContext", "collect", "rule"]
