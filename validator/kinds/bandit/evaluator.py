"""The `bandit` kind: Thompson sampling over site variants, with exploration floors and a holdout.

Each arm is a variant the app renders (a homepage hero, a checkout button). Its success rate (click-through,
conversion: the model's ``metric``) is uncertain, described by a Beta distribution: the analyst's prior
``Beta(alpha, beta)`` updated by the observed counts to ``Beta(alpha + successes, beta + failures)``. A job
refreshes the counts; the pull request that changes them is the audit trail of what the bandit learned.

Per visitor, ``choose()`` splits traffic three ways with one uniform draw ``u``:

- ``u < holdout.share``: the holdout (control) variant, outside the bandit, so the bandit's lift can be
  measured against a fixed baseline;
- the next ``sum(floors)`` of the unit interval: each arm's own ``floor`` slice, so every arm keeps at least
  that share of all traffic whatever the posteriors say (exploration, and a guaranteed minimum for a
  variant a campaign has paid for);
- the rest: Thompson sampling. Draw one sample from every arm's posterior and show the arm with the largest
  draw. An arm is thus shown with the probability that it is the best one, given what we know: clear
  winners take the traffic, arms we are unsure about still get tried.

Only the stdlib ``random`` is used: this is the app's request path.
"""
from __future__ import annotations

import math
import random
from typing import Any, Mapping, Protocol

from validator.kinds.base import InputError, ModelError
from validator.kinds.contract import Contract
from validator.kinds.inputs import shown
from validator.kinds.results import Choice


class RandomSource(Protocol):
    """What choose() draws from: a ``random.Random``, the ``random`` module itself, or an app's own generator."""

    def random(self) -> float: ...

    def betavariate(self, alpha: float, beta: float) -> float: ...


KIND_NAME = "bandit"
# A prior with more pseudo-observations than this outweighs weeks of real data (bandit.prior-strength).
STRONG_PRIOR = 1000.0
# Float slack when checking that shares sum to at most 1 (0.05 * 20 is not exactly 1.0 in binary).
SHARE_EPSILON = 1e-9

# ------------------------------------------------------------------------- what the document reads and emits


def inputs_used(data: Mapping[str, Any]) -> dict[str, tuple]:
    """A bandit reads nothing from the request: the choice depends only on the counts and chance."""
    return {}


def input_types(data: Mapping[str, Any]) -> dict[str, str]:
    return {}


def outputs_emitted(data: Mapping[str, Any]) -> dict[str, dict[str, tuple]]:
    """Every arm id, and the holdout's control variant: all are variants the app must be able to render."""
    variants: dict[str, tuple] = {}
    for i, arm in enumerate(data.get("arms") or ()):
        variants.setdefault(arm["id"], ("arms", i, "id"))
    holdout = data.get("holdout") or {}
    if "variant" in holdout:
        variants.setdefault(holdout["variant"], ("holdout", "variant"))
    return {"variants": variants}


# --------------------------------------------------------------------------------- helpers shared with rules


def counts(arm: Mapping[str, Any]) -> tuple[int, int]:
    posterior = arm.get("posterior") or {}
    return posterior.get("successes", 0), posterior.get("failures", 0)


def floors_total(data: Mapping[str, Any]) -> float:
    return math.fsum(float(arm.get("floor", 0.0)) for arm in data.get("arms") or ())


def holdout_share(data: Mapping[str, Any]) -> float:
    return float((data.get("holdout") or {}).get("share", 0.0))


# ------------------------------------------------------------------------------------------------ evaluator


class BanditModel:
    """A compiled bandit; immutable after the runtime sets ``version``, safe to share across threads."""

    __slots__ = ("name", "kind", "version", "_arms", "_holdout", "_holdout_share", "_floors", "_explore_end")

    def __init__(
        self,
        name: str,
        arms: tuple[tuple[str, float, float], ...],
        holdout: str | None,
        holdout_share: float,
        floors: tuple[tuple[float, str, float], ...],
    ) -> None:
        self.name = name
        self.kind = KIND_NAME
        self.version: str | None = None
        self._arms = arms  # (id, alpha + successes, beta + failures), in file order
        self._holdout = holdout
        self._holdout_share = holdout_share
        # (upper edge in [0, 1), arm id, floor) of each floor slice, in file order; slices start at the holdout share
        self._floors = floors
        self._explore_end = floors[-1][0] if floors else holdout_share

    @property
    def arms(self) -> tuple[str, ...]:
        return tuple(arm for arm, _, _ in self._arms)

    def posterior_means(self) -> dict[str, float]:
        """Each arm's expected success rate, (alpha + successes) / (alpha + successes + beta + failures)."""
        return {arm: a / (a + b) for arm, a, b in self._arms}

    def choose(self, rng: RandomSource | None = None, *, seed: int | None = None) -> Choice:
        """The variant for one visitor.

        Draw order (a vectorised twin must reproduce this distribution):

        1. ``u = rng.random()``, exactly one uniform draw in [0, 1).
        2. ``u < holdout.share``: the holdout variant, ``holdout=True``; nothing else is drawn.
        3. ``u < holdout.share + floor_1 + ... + floor_k``: the floor slices follow the holdout in file order
           (arm i's slice is ``[share + floor_1 + ... + floor_(i-1), ... + floor_i)``), so arm i gets exactly
           ``floor_i`` of all traffic this way; nothing else is drawn.
        4. Otherwise Thompson sampling: ``rng.betavariate(alpha_i + successes_i, beta_i + failures_i)`` for
           every arm in file order, with the same rng; the largest draw wins, an exact tie goes to the arm
           written first.

        ``random.betavariate`` uses a variable number of uniforms per call (two gamma draws by rejection), so
        a numpy twin reproduces the distribution of choices, not this stream of random numbers. Python
        guarantees the ``random()`` stream of a seed across versions but not ``betavariate``'s algorithm, so a
        seeded sequence of choices is reproducible within one Python version.

        ``rng``: any object with ``random()`` and ``betavariate()`` (default: the ``random`` module's shared
        generator, which reseeds itself in forked worker processes). ``seed``: build ``random.Random(seed)``
        instead, for reproducible tests and simulations.
        """
        if seed is not None:
            if rng is not None:
                raise ValueError("pass rng or seed, not both")
            try:
                rng = random.Random(seed)
            except TypeError:  # a list or mapping from a JSON request: the app's mistake, not a crash
                raise InputError(self.name, "seed", f"must be an integer, got {shown(seed)}") from None
        elif rng is None:
            rng = random  # the module's functions are its shared Random's methods
        u = rng.random()
        if u < self._holdout_share:
            return Choice(self._holdout, True, self.name, self.version)  # type: ignore[arg-type]
        if u < self._explore_end:
            for edge, arm, _ in self._floors:
                if u < edge:
                    return Choice(arm, False, self.name, self.version)
        draw = rng.betavariate
        best = -1.0
        best_arm = ""
        for arm, a, b in self._arms:
            x = draw(a, b)
            if x > best:  # strict: an equal draw keeps the earlier arm
                best = x
                best_arm = arm
        return Choice(best_arm, False, self.name, self.version)

    def thompson_probabilities(self, n_draws: int = 20000, seed: int = 0) -> dict[str, float]:
        """How often each arm wins the Thompson step (Monte Carlo with ``random.Random(seed)``, same draws as choose)."""
        if n_draws <= 0:
            raise ValueError(f"n_draws must be > 0, got {n_draws}")
        rng = random.Random(seed)
        draw = rng.betavariate
        wins = [0] * len(self._arms)
        arms = self._arms
        for _ in range(n_draws):
            best = -1.0
            best_index = 0
            for index, (_, a, b) in enumerate(arms):
                x = draw(a, b)
                if x > best:
                    best = x
                    best_index = index
            wins[best_index] += 1
        return {arm: wins[i] / n_draws for i, (arm, _, _) in enumerate(arms)}

    def expected_shares(self, n_draws: int = 20000, seed: int = 0) -> dict[str, float]:
        """The share of traffic each variant gets, arms in file order then the holdout variant; sums to 1.

        The holdout and the floor slices are exact; only the Thompson part is estimated, by
        ``thompson_probabilities(n_draws, seed)``, so the floors show up exactly in a simulation and the
        estimate's noise is confined to the part that is random.
        """
        thompson = max(0.0, 1.0 - self._explore_end)
        shares = {arm: 0.0 for arm, _, _ in self._arms}
        for _, arm, floor in self._floors:
            shares[arm] += floor
        if thompson > 0.0:
            for arm, p in self.thompson_probabilities(n_draws, seed).items():
                shares[arm] += thompson * p
        if self._holdout is not None:
            shares[self._holdout] = shares.get(self._holdout, 0.0) + self._holdout_share
        return shares

    def __repr__(self) -> str:
        return f"<BanditModel {self.name!r} version={self.version!r} arms={len(self._arms)}>"


# -------------------------------------------------------------------------------------------------- compile


def _positive(value: Any, where: str) -> float:
    if type(value) is bool or not isinstance(value, (int, float)):
        raise ModelError(f"{where} must be a number, got {value!r}")
    result = float(value)
    if not (math.isfinite(result) and result > 0):
        raise ModelError(f"{where} must be a finite number > 0, got {value!r}")
    return result


def _count(value: Any, where: str) -> int:
    if type(value) is bool or not isinstance(value, int) or value < 0:
        raise ModelError(f"{where} must be a whole number >= 0, got {value!r}")
    return value


def _share(value: Any, where: str) -> float:
    if type(value) is bool or not isinstance(value, (int, float)):
        raise ModelError(f"{where} must be a number, got {value!r}")
    result = float(value)
    if not (0.0 <= result <= 1.0):
        raise ModelError(f"{where} must be between 0 and 1, got {value!r}")
    return result


def compile(data: Mapping[str, Any], contract: Contract | None) -> BanditModel:  # noqa: A001 - the Kind protocol's name
    """Turn priors plus counts into posterior parameters and floors into cumulative edges; refuse the impossible."""
    try:
        name = str(data["name"])
        arms = list(data["arms"])
    except (KeyError, TypeError) as exc:
        raise ModelError(f"bandit model is incomplete: {exc}") from None
    if not arms:
        raise ModelError(f"model {name!r} has no arms")
    holdout = data.get("holdout")
    variant: str | None = None
    share = 0.0
    if holdout is not None:
        try:
            variant = str(holdout["variant"])
        except (KeyError, TypeError) as exc:
            raise ModelError(f"holdout is incomplete: {exc}") from None
        share = _share(holdout.get("share"), "holdout share")

    compiled_arms = []
    floors = []
    edge = share
    for i, arm in enumerate(arms):
        try:
            arm_id = str(arm["id"])
            prior = arm["prior"]
            alpha = _positive(prior.get("alpha"), f"arm {arm_id!r} prior alpha")
            beta = _positive(prior.get("beta"), f"arm {arm_id!r} prior beta")
        except (KeyError, TypeError, AttributeError) as exc:
            raise ModelError(f"arm {i + 1} is incomplete: {exc}") from None
        posterior = arm.get("posterior") or {}
        successes = _count(posterior.get("successes", 0), f"arm {arm_id!r} successes")
        failures = _count(posterior.get("failures", 0), f"arm {arm_id!r} failures")
        if arm_id == variant:
            raise ModelError(f"arm {arm_id!r} is also the holdout variant: reports could not tell them apart")
        compiled_arms.append((arm_id, alpha + successes, beta + failures))
        floor = _share(arm.get("floor", 0.0), f"arm {arm_id!r} floor")
        if floor > 0.0:
            edge += floor
            floors.append((edge, arm_id, floor))
    if edge > 1.0 + SHARE_EPSILON:
        raise ModelError(f"floors and holdout share sum to {edge:.6g}, more than all traffic")
    return BanditModel(name, tuple(compiled_arms), variant, share, tuple(floors))


def call(evaluator: Any, request: Any) -> Any:
    """One request: ``{"seed": N}`` or nothing (a bandit reads no inputs)."""
    return evaluator.choose(seed=request.get("seed") if isinstance(request, Mapping) else None)


__all__ = [
    "BanditModel", "compile", "counts", "floors_total", "holdout_share", "input_types",
    "inputs_used", "outputs_emitted",
]
