"""The table kind: everything it means lives in this folder (see ``validator.kinds.base`` for the rooms)."""
from validator.kinds.table.evaluator import KIND

__all__ = ["KIND"]
