"""The bandit's vectorized twin: many visitors' choices at once, and the traffic each arm can expect.

The split of one uniform draw ``u`` into holdout, floor slices and the Thompson step uses the scalar
``compile()``'s cumulative edges with the same strict comparisons, so given the same ``u`` both forms take
the same branch (``choose_from`` makes that testable exactly). The Thompson step cannot reproduce
``random.betavariate``'s stream — it consumes a variable number of uniforms per draw — so numpy's
``Generator.beta`` draws from the same Beta posteriors instead, and the property tests prove agreement in
distribution. The largest draw wins, an exact tie the arm written first (``argmax`` takes the first maximum).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from validator.kinds.bandit import evaluator as scalar_kind
from validator.kinds.contract import Contract

DEFAULT_DRAWS = 100_000
_CHUNK = 65_536  # rows of Beta draws per step: bounded memory however many visitors are simulated


@dataclass(frozen=True)
class ChoiceBatch:
    """One choice per visitor: an index into ``labels`` (the arms in file order, then the holdout variant)."""

    choices: np.ndarray  # int16
    labels: tuple[str, ...]
    holdout: np.ndarray  # bool


class VectorBandit:
    kind = "bandit"
    input_types: dict[str, str] = {}

    def __init__(self, data: Mapping[str, Any], contract: Contract | None) -> None:
        self.scalar = scalar_kind.compile(data, contract)
        self.name = self.scalar.name
        arms = self.scalar._arms  # (id, alpha + successes, beta + failures)
        self.arms = tuple(arm for arm, _, _ in arms)
        self._a = np.array([a for _, a, _ in arms], dtype=np.float64)
        self._b = np.array([b for _, _, b in arms], dtype=np.float64)
        self._holdout = self.scalar._holdout
        self._holdout_share = self.scalar._holdout_share
        self._floors = self.scalar._floors  # (upper edge, arm id, floor)
        self._explore_end = self.scalar._explore_end
        self.labels = self.arms + ((self._holdout,) if self._holdout is not None else ())

    def choose_from(self, u: np.ndarray, draws: np.ndarray) -> ChoiceBatch:
        """Choices for given uniforms ``u`` (visitors) and Beta draws ``draws`` (visitors x arms).

        The branch logic alone, with the randomness supplied: the scalar ``choose()`` fed the same numbers
        (through a stub rng) makes the same choices, which the tests check exactly.
        """
        n = len(u)
        arm_index = {arm: i for i, arm in enumerate(self.arms)}
        choices = np.argmax(draws, axis=1).astype(np.int16) if len(self.arms) else np.zeros(n, dtype=np.int16)
        explored = u < self._explore_end
        if self._floors:
            slice_arm = np.full(n, -1, dtype=np.int16)
            for edge, arm, _ in reversed(self._floors):
                slice_arm[u < edge] = arm_index[arm]
            choices = np.where(explored & (slice_arm >= 0), slice_arm, choices)
        holdout = u < self._holdout_share
        if self._holdout is not None:
            choices = np.where(holdout, len(self.arms), choices).astype(np.int16)
        return ChoiceBatch(choices.astype(np.int16), self.labels, holdout)

    def choose(self, n: int, seed: int = 0) -> ChoiceBatch:
        """``n`` visitors' choices drawn with ``numpy.random.default_rng(seed)``."""
        rng = np.random.default_rng(seed)
        parts, holds = [], []
        for start in range(0, n, _CHUNK):
            m = min(_CHUNK, n - start)
            u = rng.random(m)
            draws = rng.beta(self._a, self._b, size=(m, len(self._a)))
            batch = self.choose_from(u, draws)
            parts.append(batch.choices)
            holds.append(batch.holdout)
        choices = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)
        holdout = np.concatenate(holds) if holds else np.zeros(0, dtype=bool)
        return ChoiceBatch(choices, self.labels, holdout)

    def p_best(self, n_draws: int = DEFAULT_DRAWS, seed: int = 0) -> dict[str, float]:
        """Probability that each arm is the best, given the posteriors (Monte Carlo): its Thompson share."""
        if n_draws <= 0:
            raise ValueError(f"n_draws must be > 0, got {n_draws}")
        rng = np.random.default_rng(seed)
        wins = np.zeros(len(self._a), dtype=np.int64)
        for start in range(0, n_draws, _CHUNK):
            m = min(_CHUNK, n_draws - start)
            draws = rng.beta(self._a, self._b, size=(m, len(self._a)))
            wins += np.bincount(np.argmax(draws, axis=1), minlength=len(self._a))
        return {arm: float(wins[i]) / n_draws for i, arm in enumerate(self.arms)}

    def expected_shares(self, n_draws: int = DEFAULT_DRAWS, seed: int = 0) -> dict[str, float]:
        """Each variant's expected share of all traffic (arms, then the holdout): floors and holdout exactly,
        the Thompson part as ``(1 - holdout - floors) x P(best)`` — the scalar ``expected_shares`` formula."""
        thompson = max(0.0, 1.0 - self._explore_end)
        shares = {arm: 0.0 for arm in self.arms}
        for _, arm, floor in self._floors:
            shares[arm] += floor
        if thompson > 0.0:
            for arm, p in self.p_best(n_draws, seed).items():
                shares[arm] += thompson * p
        if self._holdout is not None:
            shares[self._holdout] = shares.get(self._holdout, 0.0) + self._holdout_share
        return shares

    def posterior_means(self) -> dict[str, float]:
        return self.scalar.posterior_means()


def compile_vectorized(data: Mapping[str, Any], contract: Contract | None) -> VectorBandit:
    return VectorBandit(data, contract)
