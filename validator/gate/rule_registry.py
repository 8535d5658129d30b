"""The registry of semantic rules: one explicit list, in the order the README documents them."""
from __future__ import annotations

from validator.kinds.bandit import rules as bandit
from validator.gate import common_rules as common
from validator.kinds.ranking import rules as ranking
from validator.kinds.scorecard import rules as scorecard
from validator.kinds.segments import rules as segments
from validator.gate import settings_rules as settings
from validator.gate.rules import Problem, Rule, RuleContext, rule

ALL_RULES: tuple[Rule, ...] = (*common.RULES, *scorecard.RULES, *ranking.RULES, *bandit.RULES, *segments.RULES,
                               *settings.RULES)

RULES_BY_ID: dict[str, Rule] = {r.id: r for r in ALL_RULES}
assert len(RULES_BY_ID) == len(ALL_RULES), "rule ids must be unique"

__all__ = ["ALL_RULES", "RULES_BY_ID", "Problem", "Rule", "RuleContext", "rule"]
