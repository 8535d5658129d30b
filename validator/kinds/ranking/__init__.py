"""The ranking kind: everything it means lives in this folder."""
