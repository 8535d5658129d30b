"""Benchmark: fraud_risk ``score()`` on the request path vs a hand-written Python function of the same weights.

    .venv/bin/python bench/bench_score.py [--orders 20000] [--repeat 15]

Both sides score the same orders in the same run, alternating (bench/harness.py), so the ratio holds on a noisy
machine. The candidates are what an app calls on a started WeightsClient: ``evaluator.score(order)`` on a held
evaluator, and ``weights.model("fraud_risk").score(order)`` (snapshot lookup and model lookup too) — input
checks, bins, link, band and reason codes, and a Score record; the baseline is the function an engineer would
hard-code (no input checks, a tuple for a result). Every order's results are compared first, so the baseline
is the same computation, and each side scores every order once before the timed runs (the evaluator's
request-path code is generated on its first call). Target: each median at most 1.2x the hand-written one.
Figures: ``bench/results/score.json``.
"""
from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "tests"))

from harness import Bench  # noqa: E402
from publish_helpers import served  # noqa: E402
from runtime_helpers import Site, app_contracts, base_document  # noqa: E402

from validator.runtime import WeightsClient  # noqa: E402

_PAYMENT = {"card": 0.0, "paypal": 0.1, "apple_pay": -0.3, "google_pay": -0.3, "bank_transfer": -0.5,
            "invoice": 0.6, "gift_card": 1.0}
_CODES = ("R01_HIGH_ORDER_AMOUNT", "R02_NEW_ACCOUNT", "R03_COUNTRY_MISMATCH", "R04_RISKY_PAYMENT_METHOD",
          "R05_NEW_EMAIL_DOMAIN", "R06_ORDER_VELOCITY", "R07_SHIPPING_FAR_FROM_BILLING")
_exp, _sqrt = math.exp, math.sqrt


def fraud_risk_by_hand(order: dict) -> tuple[float, str, tuple[str, ...]]:
    """weights/fraud_risk.yaml, hard-coded the way one would without this project."""
    amount = order["order_amount"]
    c0 = 0.0 if amount < 150 else 0.4 if amount < 500 else 0.9 if amount < 2000 else 1.5
    age = order["account_age_days"]
    c1 = 1.5 * (1.0 if age < 1 else 0.8 if age < 7 else 0.5 if age < 30 else 0.2 if age < 180 else 0.0)
    c2 = 1.2 if order["country_mismatch"] else 0.0
    c3 = _PAYMENT[order["payment_method"]]
    domain = order.get("email_domain_age_days", 365)
    c4 = 0.8 * (1.0 if domain < 30 else 0.4 if domain < 180 else 0.0)
    velocity = order["orders_last_24h"]
    c5 = 0.0 if velocity < 2 else 0.5 if velocity < 4 else 1.0 if velocity < 8 else 1.8
    c6 = 0.02 * _sqrt(order["shipping_to_billing_distance_km"])
    c7 = -0.7 if order.get("device_seen_before", False) else 0.0
    z = -3.2 + c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7
    value = 1.0 / (1.0 + _exp(-z))
    decision = "approve" if value < 0.35 else "review" if value < 0.7 else "decline"
    top = sorted((-c, i) for i, c in enumerate((c0, c1, c2, c3, c4, c5, c6)) if c > 0.25)[:3]
    return value, decision, tuple(_CODES[i] for _, i in top)


def orders(n: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        order = {
            "order_amount": round(rng.lognormvariate(4.5, 1.0), 2),
            "account_age_days": rng.choice([0, 3, 20, 90, 400, 2000]),
            "country_mismatch": rng.random() < 0.1,
            "payment_method": rng.choice(list(_PAYMENT)),
            "email_domain_age_days": rng.choice([5, 100, 3000]),
            "orders_last_24h": rng.choice([0, 1, 1, 2, 5, 9]),
            "shipping_to_billing_distance_km": round(rng.uniform(0, 3000), 1),
            "device_seen_before": rng.random() < 0.7,
        }
        if rng.random() < 0.05:
            del order["email_domain_age_days"]
        if rng.random() < 0.05:
            del order["device_seen_before"]
        out.append(order)
    return out


TARGET = 1.2


def over(fn: Callable[[dict], object], data: list[dict]) -> Callable[[], None]:
    def run() -> None:
        for item in data:
            fn(item)
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    data = orders(args.orders)
    bench = Bench("score", "fraud_risk score() vs a hand-written function of the same weights",
                  params={"orders": len(data), "repeat": args.repeat})
    with tempfile.TemporaryDirectory() as tmp:
        site = Site(Path(tmp) / "site")
        site.publish(base_document())
        with served(site.folder) as server, WeightsClient(server.url, site.root, Path(tmp) / "cache",
                                                          contract=app_contracts()) as weights:
            assert weights.wait_ready(10)
            evaluator = weights.model("fraud_risk")
            for order in data:  # the same computation, or the comparison means nothing
                got = evaluator.score(order)
                want = fraud_risk_by_hand(order)
                assert abs(got.value - want[0]) < 1e-12 and got.decision == want[1] and got.reasons == want[2], \
                    (order, got, want)

            def request_path(order: dict) -> object:
                return weights.model("fraud_risk").score(order)

            hand = ("hand-written function", over(fraud_risk_by_hand, data))
            bench.compare("evaluator.score(order)", baseline=hand, candidate=("evaluator.score(order)",
                          over(evaluator.score, data)), target=TARGET, repeat=args.repeat, warmup=1)
            bench.compare("weights.model('fraud_risk').score(order)", baseline=hand,
                          candidate=("weights.model(...).score(order)", over(request_path, data)),
                          target=TARGET, repeat=args.repeat, warmup=1)
    per = 1e9 / len(data)
    bench.notes["ns_per_order_median"] = {c.name: {"baseline": round(c.baseline.median * per),
                                                   "candidate": round(c.candidate.median * per)}
                                          for c in bench.comparisons}
    return bench.finish()


if __name__ == "__main__":
    raise SystemExit(main())
