"""The bandit kind: everything it means lives in this folder (see ``validator.kinds.base`` for the rooms)."""
from validator.kinds.bandit.evaluator import KIND

__all__ = ["KIND"]
