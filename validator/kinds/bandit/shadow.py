"""Why a shadowing app compares nothing for a bandit: each ``choose()`` is a fresh Thompson draw.

Two draws for one visitor, one from the live and one from the candidate posteriors, differ by chance even when
the two versions are identical, so a "flip" would count sampling noise, and the real question (how the traffic
shares move) is already answered exactly enough by the replay's seeded Monte Carlo over both posteriors
(``expected_share.*`` in ``metrics.py``). ``CHANGE`` is therefore None (the runtime skips the kind: no candidate
call, no counters) and ``compare`` exists only so every kind answers the same three names; it reports no change.
Runtime side: no numpy, no gate.
"""
from __future__ import annotations

from validator.kinds.results import Choice

CHANGE: str | None = None
PREDICTED_BY: str | None = None


def compare(live_result: Choice, candidate_result: Choice) -> tuple[bool, float | None]:
    """Always (False, None): two random draws are not a change of the model (see the module docstring)."""
    return False, None


__all__ = ["CHANGE", "PREDICTED_BY", "compare"]
