"""The bandit's replay: a seeded Monte Carlo over the posteriors (a bandit reads no inputs, so no dataset):
expected traffic share per variant and P(best) per arm for each version (``validator.gate.replay.ReplayJob`` in,
``Measured`` out; guardrails judge ``min_arm_share`` and ``max_share_change``)."""
from __future__ import annotations

from typing import Any

from validator.gate.replay import ReplayJob
from validator.gate.replay_metrics import Distribution, Measured, pct, pts
from validator.kinds.bandit.vectorized import DEFAULT_DRAWS

UNIT = "visitors"
READS_DATA = False


def measure(job: ReplayJob) -> Measured:
    """Simulate ``replay.draws`` visitors (seeded by ``job.seed``) through both versions."""
    draws = int(job.replay.get("draws", DEFAULT_DRAWS))
    if draws <= 0:
        raise job.fail(("replay", "draws"), f"draws must be > 0, got {draws}")
    out = bandit_metrics(job.base, job.head, draws, job.seed)
    out.source = f"monte carlo ({draws} draws, seed {job.seed})"
    return out


def bandit_metrics(base: Any | None, head: Any | None, draws: int, seed: int) -> Measured:
    """Expected traffic share per variant and P(best) per arm, for each version (Monte Carlo, seeded)."""
    out = Measured()
    m = out.metrics
    m["rows"] = float(draws)
    expected: dict[str, dict[str, float]] = {}
    for version, model in (("base", base), ("head", head)):
        if model is None:
            continue
        expected[version] = model.expected_shares(draws, seed)
        for arm, p in model.p_best(draws, seed).items():
            m[f"p_best.{arm}.{version}"] = p
        for arm, mean in model.posterior_means().items():
            m[f"posterior_mean.{arm}.{version}"] = mean
        for variant, s in expected[version].items():
            m[f"expected_share.{variant}.{version}"] = s
    labels = tuple(dict.fromkeys((*expected.get("head", {}), *expected.get("base", {}))))
    if head is not None:
        arm_shares = {arm: expected["head"][arm] for arm in head.arms}
        if arm_shares:
            arm = min(arm_shares, key=arm_shares.__getitem__)
            out.guard_values["min_arm_share"] = (arm_shares[arm], arm)
    if len(expected) == 2:
        changes = {v: abs(expected["head"].get(v, 0.0) - expected["base"].get(v, 0.0)) for v in labels}
        worst = max(changes, key=changes.__getitem__)
        out.guard_values["max_share_change"] = (
            changes[worst], f"{worst} {pct(expected['base'].get(worst, 0.0))} -> {pct(expected['head'].get(worst, 0.0))}")
        for v in labels:
            b, h = expected["base"].get(v, 0.0), expected["head"].get(v, 0.0)
            out.summary.append(f"{v} expected share {pct(b)} -> {pct(h)} ({pts(h - b)})")
    elif expected:
        (version, values), = expected.items()
        out.summary.append(("model added: " if version == "head" else "model removed: ") + ", ".join(
            f"{v} {pct(s)}" for v, s in values.items()))
    best_model = head if head is not None else base
    if best_model is not None:
        version = "head" if head is not None else "base"
        p = {arm: m[f"p_best.{arm}.{version}"] for arm in best_model.arms}
        leader = max(p, key=p.__getitem__)
        out.summary.append(f"P(best) on {version}: {leader} {pct(p[leader])} ({draws} Monte Carlo draws, seed fixed)")
    out.distributions.append(Distribution(
        "expected traffic share", None, labels,
        tuple(expected["base"].get(v, 0.0) for v in labels) if "base" in expected else (),
        tuple(expected["head"].get(v, 0.0) for v in labels) if "head" in expected else ()))
    return out
