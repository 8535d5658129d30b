"""Rules for `bandit` models: proper priors, counts that are counts, and traffic shares that add up.

A bandit with a broken number still picks variants, so these mistakes would only show in a dashboard weeks
later: a prior so strong it ignores all data, floors that leave the bandit nothing to optimise, a holdout that
is also an arm, or a count that went negative in the counting job.
"""
from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, Iterator, Mapping

from validator.gate.findings import Severity
from validator.gate.rules import Problem, RuleContext, rule
from validator.kinds.bandit.evaluator import SHARE_EPSILON, STRONG_PRIOR, counts, floors_total, holdout_share

KINDS = ["bandit"]
# Floors and holdout above this share leave the bandit less than half the traffic to optimise.
MAX_FIXED_SHARE = 0.5


def _fmt(x: float) -> str:
    """Shares and counts as an analyst writes them: 0.05, 1.05, 412, 2000."""
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{round(x, 6):g}"


def _arms(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(data.get("arms") or ())


def _shares(data: Mapping[str, Any]) -> str:
    """How the fixed shares add up: floors 4 x 0.05 + holdout 0.05."""
    floors = [float(arm["floor"]) for arm in _arms(data) if arm.get("floor")]
    parts = []
    if floors:
        if len(set(floors)) == 1:
            parts.append(f"floors {len(floors)} x {_fmt(floors[0])}" if len(floors) > 1 else f"floor {_fmt(floors[0])}")
        else:
            parts.append("floors " + " + ".join(_fmt(f) for f in floors))
    if data.get("holdout"):
        parts.append(f"holdout {_fmt(holdout_share(data))}")
    return " + ".join(parts) or "nothing"


@rule("bandit.priors-proper", Severity.ERROR, kinds=KINDS)
def priors_proper(ctx: RuleContext) -> Iterator[Problem]:
    """Every prior is a proper Beta distribution, `alpha` > 0 and `beta` > 0: Beta(0, b) is not a distribution, sampling it fails, and a "no opinion" prior is Beta(1, 1), not Beta(0, 0).

    Bad:
        arms:
          - {id: hero_spring_sale, prior: {alpha: 0, beta: 0}}
    Good:
        arms:
          - {id: hero_spring_sale, prior: {alpha: 1, beta: 1}}   # uniform: no opinion
    """
    for i, arm in enumerate(_arms(ctx.data)):
        prior = arm["prior"]
        for key in ("alpha", "beta"):
            value = prior[key]
            if value > 0:
                continue
            yield Problem(("arms", i, "prior", key),
                          f"arm {arm['id']!r} has prior {key} {_fmt(value)}: a Beta prior needs alpha > 0 and beta > 0",
                          "for no prior opinion use {alpha: 1, beta: 1}; to encode an expected rate p worth n visits "
                          "use alpha = p x n, beta = (1 - p) x n (5% worth 40 visits: {alpha: 2, beta: 38})")


@rule("bandit.prior-strength", Severity.WARNING, kinds=KINDS)
def prior_strength(ctx: RuleContext) -> Iterator[Problem]:
    """A prior is worth at most 1000 visits (`alpha + beta` <= 1000): a stronger prior outweighs weeks of real data, so the bandit keeps believing the analyst instead of the visitors.

    Bad:
        arms:
          - {id: hero_spring_sale, prior: {alpha: 200, beta: 3800}}
    Good:
        arms:
          - {id: hero_spring_sale, prior: {alpha: 2, beta: 38}}
    """
    for i, arm in enumerate(_arms(ctx.data)):
        prior = arm["prior"]
        alpha, beta = prior["alpha"], prior["beta"]
        if alpha <= 0 or beta <= 0:
            continue  # priors-proper says so
        weight = alpha + beta
        if weight <= STRONG_PRIOR:
            continue
        successes, failures = counts(arm)
        seen = successes + failures
        data_note = (f"; it has {_fmt(seen)} observed visits, so the prior still makes up "
                     f"{_fmt(round(100 * weight / (weight + seen)))}% of the evidence") if seen > 0 else ""
        mean = alpha / weight
        yield Problem(("arms", i, "prior"),
                      f"arm {arm['id']!r} has a prior worth {_fmt(weight)} visits (alpha + beta){data_note}: the "
                      "bandit would be slow to notice that the arm does better or worse than expected",
                      f"keep the expected rate {_fmt(round(mean, 4))} but make it worth tens of visits, e.g. "
                      f"{{alpha: {_fmt(round(mean * 40, 2))}, beta: {_fmt(round((1 - mean) * 40, 2))}}}")


@rule("bandit.floors-sum", Severity.ERROR, kinds=KINDS)
def floors_sum(ctx: RuleContext) -> Iterator[Problem]:
    """The arms' traffic floors plus the holdout share add up to at most 1 (all traffic): each is a share of all visitors, and more than everyone cannot be guaranteed.

    Bad:
        arms:
          - {id: hero_spring_sale, prior: {alpha: 2, beta: 38}, floor: 0.5}
          - {id: hero_free_shipping, prior: {alpha: 2, beta: 38}, floor: 0.5}
        holdout: {variant: hero_control, share: 0.05}
    Good:
        arms:
          - {id: hero_spring_sale, prior: {alpha: 2, beta: 38}, floor: 0.05}
          - {id: hero_free_shipping, prior: {alpha: 2, beta: 38}, floor: 0.05}
        holdout: {variant: hero_control, share: 0.05}
    """
    total = floors_total(ctx.data) + holdout_share(ctx.data)
    if total <= 1.0 + SHARE_EPSILON:
        return
    arms = _arms(ctx.data)
    largest = max(range(len(arms)), key=lambda i: arms[i].get("floor", 0.0))
    path = ("arms", largest, "floor") if arms[largest].get("floor") else ("holdout", "share")
    yield Problem(path,
                  f"traffic floors and holdout add up to {_fmt(total)} ({_shares(ctx.data)}), more than all "
                  "traffic (1)",
                  "floors are shares of all visitors: keep their sum plus the holdout well below 1 "
                  "(0.05 per arm is usual) so the bandit has traffic to optimise")


@rule("bandit.unique-arms", Severity.ERROR, kinds=KINDS)
def unique_arms(ctx: RuleContext) -> Iterator[Problem]:
    """Arm ids are unique and the holdout's variant is not an arm: the app and the counting job key everything by variant id, so two arms with one id would share (and corrupt) each other's counts.

    Bad:
        arms:
          - {id: hero_spring_sale, prior: {alpha: 2, beta: 38}}
          - {id: hero_control, prior: {alpha: 2, beta: 38}}
        holdout: {variant: hero_control, share: 0.05}
    Good:
        arms:
          - {id: hero_spring_sale, prior: {alpha: 2, beta: 38}}
          - {id: hero_free_shipping, prior: {alpha: 2, beta: 38}}
        holdout: {variant: hero_control, share: 0.05}
    """
    seen: dict[str, int] = {}
    for i, arm in enumerate(_arms(ctx.data)):
        arm_id = arm["id"]
        if arm_id in seen:
            yield Problem(("arms", i, "id"),
                          f"arm id {arm_id!r} is used twice (arms {seen[arm_id] + 1} and {i + 1}): the counting job "
                          "could not tell which arm a click belongs to",
                          "give each variant its own id, or merge the two arms")
        else:
            seen[arm_id] = i
    holdout = ctx.data.get("holdout") or {}
    variant = holdout.get("variant")
    if variant in seen:
        yield Problem(("holdout", "variant"),
                      f"holdout variant {variant!r} is also arm {seen[variant] + 1}: the control would be chosen by "
                      "the bandit too, so it is no longer a fixed baseline to measure the bandit's lift against",
                      f"keep {variant!r} only as the holdout and remove it from the arms, or give the holdout another variant")


@rule("bandit.posterior-counts", Severity.ERROR, kinds=KINDS)
def posterior_counts(ctx: RuleContext) -> Iterator[Problem]:
    """Observed `successes` and `failures` are counts, whole numbers >= 0: a negative count (a broken counting job, or a subtraction written by hand) bends the posterior towards nonsense and can make it improper.

    Bad:
        arms:
          - id: hero_spring_sale
            prior: {alpha: 2, beta: 38}
            posterior: {successes: 412, failures: -9588}
    Good:
        arms:
          - id: hero_spring_sale
            prior: {alpha: 2, beta: 38}
            posterior: {successes: 412, failures: 9588}
    """
    for i, arm in enumerate(_arms(ctx.data)):
        posterior = arm.get("posterior")
        if not posterior:
            continue
        for key in ("successes", "failures"):
            value = posterior[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                yield Problem(("arms", i, "posterior", key),
                              f"arm {arm['id']!r} has {_fmt(value)} {key}: observed counts cannot be negative",
                              "write the count of visits from the counting job (successes: clicked, failures: shown "
                              "and not clicked), or remove posterior: to start from the prior")


@rule("bandit.min-arms", Severity.ERROR, kinds=KINDS)
def min_arms(ctx: RuleContext) -> Iterator[Problem]:
    """A bandit has at least two arms and some traffic left after the floors and the holdout: with one arm, or floors that take all traffic, nothing is ever learned and a fixed split belongs in the app's config, not in a bandit.

    Bad:
        arms:
          - {id: hero_spring_sale, prior: {alpha: 2, beta: 38}, floor: 1.0}
    Good:
        arms:
          - {id: hero_spring_sale, prior: {alpha: 2, beta: 38}, floor: 0.05}
          - {id: hero_free_shipping, prior: {alpha: 2, beta: 38}, floor: 0.05}
    """
    arms = _arms(ctx.data)
    if len(arms) < 2:
        yield Problem(("arms",),
                      f"the bandit has {len(arms)} arm{'s' if len(arms) != 1 else ''}: there is nothing to choose "
                      "between, every visitor outside the holdout sees " + (repr(arms[0]["id"]) if arms else "nothing"),
                      "add the variants to compare (at least two arms), or show the variant without a bandit",
                      at_key=True)
        return
    total = floors_total(ctx.data) + holdout_share(ctx.data)
    if abs(total - 1.0) <= SHARE_EPSILON:
        yield Problem(("arms",),
                      f"traffic floors and holdout take all traffic ({_shares(ctx.data)} = 1): no visitor is left "
                      "for Thompson sampling, so the bandit never acts on what it learns",
                      "lower the floors (0.05 per arm is usual) so most traffic goes to the best-looking arm",
                      at_key=True)


@rule("bandit.exploration-share", Severity.WARNING, kinds=KINDS)
def exploration_share(ctx: RuleContext) -> Iterator[Problem]:
    """Traffic floors and the holdout leave the bandit at least half of the traffic: every visitor in a floor or the holdout sees a fixed variant, so large floors turn the bandit into a costly fixed split.

    Bad:
        arms:
          - {id: hero_spring_sale, prior: {alpha: 2, beta: 38}, floor: 0.2}
          - {id: hero_free_shipping, prior: {alpha: 2, beta: 38}, floor: 0.2}
          - {id: hero_new_arrivals, prior: {alpha: 2, beta: 38}, floor: 0.2}
        holdout: {variant: hero_control, share: 0.1}
    Good:
        arms:
          - {id: hero_spring_sale, prior: {alpha: 2, beta: 38}, floor: 0.05}
          - {id: hero_free_shipping, prior: {alpha: 2, beta: 38}, floor: 0.05}
          - {id: hero_new_arrivals, prior: {alpha: 2, beta: 38}, floor: 0.05}
        holdout: {variant: hero_control, share: 0.1}
    """
    total = floors_total(ctx.data) + holdout_share(ctx.data)
    if not (MAX_FIXED_SHARE < total < 1.0 - SHARE_EPSILON):
        return  # above: floors-sum or min-arms say so
    yield Problem(("arms",),
                  f"traffic floors and holdout take {_fmt(round(total * 100, 2))}% of traffic ({_shares(ctx.data)}): "
                  f"the bandit optimises only the remaining {_fmt(round((1 - total) * 100, 2))}%",
                  "floors are a minimum for exploration, not an allocation: 0.02 to 0.05 per arm is usual",
                  at_key=True)


@rule("bandit.update-source", Severity.ERROR, kinds=KINDS)
def update_source(ctx: RuleContext) -> Iterator[Problem]:
    """The events file in `update: {from: ...}` is a path inside the repository, relative to its root: `weights update` and the nightly workflow read it from the checkout and refuse anything else, so an absolute path, a `..` or a URL would only fail at night.

    Bad:
        update: {from: /data/exports/homepage_events.parquet}
    Good:
        update: {from: tests/data/homepage_events.parquet}
    """
    block = ctx.data.get("update")
    path = block.get("from") if isinstance(block, dict) else None
    if not isinstance(path, str):
        return
    pure = PurePosixPath(path.replace("\\", "/"))
    if "://" in path or pure.is_absolute() or ".." in pure.parts or PureWindowsPath(path).drive:
        yield Problem(("update", "from"),
                      f"update.from {path!r} is not a path inside the repository",
                      "write the events file's path relative to the repository root (e.g. "
                      "tests/data/homepage_events.parquet), or read other files with update: {sql: ...}")


RULES = (
    priors_proper,
    prior_strength,
    floors_sum,
    unique_arms,
    posterior_counts,
    min_arms,
    exploration_share,
    update_source,
)
