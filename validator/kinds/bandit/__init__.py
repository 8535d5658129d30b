"""The bandit kind: everything it means lives in this folder."""
