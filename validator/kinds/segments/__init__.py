"""The segments kind: everything it means lives in this folder."""
