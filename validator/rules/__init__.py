"""The registry of semantic rules: one explicit list, in the order the README documents them."""
from __future__ import annotations

from . import bandit, common, ranking, scorecard, segments
from .base import Problem, Rule, RuleContext, rule

ALL_RULES: tuple[Rule, ...] = (*common.RULES, *scorecard.RULES, *ranking.RULES, *bandit.RULES, *segments.RULES)

RULES_BY_ID: dict[str, Rule] = {r.id: r for r in ALL_RULES}
assert len(RULES_BY_ID) == len(ALL_RULES), "rule ids must be unique"

__all__ = ["ALL_RULES", "RULES_BY_ID", "Problem", "Rule", "RuleContext", "rule"]
