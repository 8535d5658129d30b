"""Golden cases of a bandit: no request (a bandit reads no inputs), and the traffic shares its posteriors and
floors must keep, estimated by a seeded Monte Carlo."""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from validator.gate.golden import RANGE, GoldenRunner, Mismatch, in_range, known_value, range_order, range_text
from validator.kinds.bandit.evaluator import outputs_emitted
from validator.kinds.schema_parts import prop, string

DEFAULT_DRAWS = 20000  # Monte Carlo draws for a bandit's traffic shares: +-0.3 pts at a 50% share

EXPECTATIONS: dict[str, dict[str, Any]] = {
    "shares": prop("Traffic shares",
                   "Per variant (arm or holdout), the bounds its expected share of traffic must lie within.",
                   type="object", additionalProperties=RANGE, minProperties=1),
    "most_traffic": string("Most traffic", "The arm expected to get the largest share of traffic."),
}

REQUEST: dict[str, dict[str, Any]] = {
    "seed": prop("Seed", "Seed of the Monte Carlo estimate of traffic shares (default 0).", type="integer", minimum=0),
    "draws": prop("Draws", f"Monte Carlo draws for traffic shares (default {DEFAULT_DRAWS}).",
                  type="integer", minimum=1000, maximum=1000000),
}


def run(evaluator: Any, case: Mapping[str, Any]) -> dict[str, Any]:
    shares = evaluator.expected_shares(int(case.get("draws", DEFAULT_DRAWS)), int(case.get("seed", 0)))
    arms = set(evaluator.arms)
    return {"shares": shares, "most_traffic": max((a for a in shares if a in arms), key=shares.__getitem__)}


def compare(expect: Mapping[str, Any], got: Mapping[str, Any]) -> Iterator[Mismatch]:
    shares = got["shares"]
    for arm, bounds in (expect.get("shares") or {}).items():
        share = shares.get(arm, 0.0)
        if not in_range(share, bounds):
            yield Mismatch(("expect", "shares", arm), "golden.shares",
                           f"expected {arm!r} to get a share {range_text(bounds)}, got {share:.4f}")
    if "most_traffic" in expect and got["most_traffic"] != expect["most_traffic"]:
        ranked = sorted(shares.items(), key=lambda kv: -kv[1])[:3]
        text = ", ".join(f"{a} {s:.1%}" for a, s in ranked)
        yield Mismatch(("expect", "most_traffic"), "golden.most_traffic",
                       f"expected {expect['most_traffic']!r} to get the most traffic, got {got['most_traffic']!r} "
                       f"({text})")


def check(model: Mapping[str, Any], case: Mapping[str, Any]) -> list[Mismatch]:
    """Arms and variants the model does not have, and share ranges upside down."""
    variants = outputs_emitted(model).get("variants", {})
    expect = case["expect"]
    problems: list[Mismatch] = []
    if isinstance(expect.get("most_traffic"), str):
        problems.extend(known_value(("expect", "most_traffic"), expect["most_traffic"], variants, "variants"))
    for arm in expect.get("shares") or {}:
        problems.extend(known_value(("expect", "shares", arm), arm, variants, "variants", at_key=True))
    for arm, bounds in (expect.get("shares") or {}).items():
        problems.extend(range_order(("expect", "shares", arm), bounds))
    return problems


RUNNER = GoldenRunner(
    expectations=EXPECTATIONS,
    request=REQUEST,
    required=(),
    hint="a bandit case gives optionally seed: and draws: (no inputs; a bandit reads none)",
    run=run,
    compare=compare,
    check=check,
)

__all__ = ["DEFAULT_DRAWS", "RUNNER"]
