"""The scorecard kind: everything it means lives in this folder."""
