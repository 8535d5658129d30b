"""The ranking kind: everything it means lives in this folder (see ``validator.kinds.base`` for the rooms)."""
from validator.kinds.ranking.evaluator import KIND

__all__ = ["KIND"]
