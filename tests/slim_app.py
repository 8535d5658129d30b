"""An app that uses only the base install: run by tests/test_slim_install.py with a venv's interpreter.

It loads its contracts, polls a served TUF repository with ``WeightsClient``, calls every model once (one kind
each: score, rank, choose, assign, lookup) with the first golden case's request, and prints the answers as one
JSON object, with the optional modules that ended up imported. Arguments: a JSON file holding ``url``,
``root``, ``cache``, ``contracts`` (paths) and ``requests`` (per model); standard library and ``validator`` only.
"""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

from validator.extras import EXTRA_MODULES
from validator.runtime import WeightsClient, load_contract

WAIT = 120.0  # the bound of the wait for the first bundle: only a client that never gets one fails
# Every model of this project (one or more of each kind), asked with the first case of its golden file.
GOLDEN = Path(__file__).resolve().parent / "golden"
MODELS = ("fraud_risk", "churn_coupon", "search_ranking", "homepage_hero", "customer_segments", "category_boost")


def golden_requests(golden: Path = GOLDEN) -> dict[str, Any]:
    """The first golden case of each model (tests/golden/<model>.yaml): its inputs, items or seed.

    Called by the tests in the project's venv, never by the app (it receives the requests as JSON).
    """
    import yaml

    requests: dict[str, Any] = {}
    for model in MODELS:
        case = yaml.safe_load((golden / f"{model}.yaml").read_text(encoding="utf-8"))["cases"][0]
        requests[model] = case.get("items") or case.get("inputs") or case.get("seed")
    return requests


def answers(client: Any, requests: dict[str, Any]) -> dict[str, Any]:
    """Each model's answer to its request, as plain JSON; ``client`` is a WeightsClient or a Snapshot."""
    fraud = client.model("fraud_risk").score(requests["fraud_risk"])
    churn = client.model("churn_coupon").score(requests["churn_coupon"])
    ranking = client.model("search_ranking").rank(requests["search_ranking"])
    choice = client.model("homepage_hero").choose(random.Random(requests["homepage_hero"]))
    assignment = client.model("customer_segments").assign(requests["customer_segments"])
    lookup = client.model("category_boost").lookup(requests["category_boost"])
    return {
        "version": fraud.version,
        "fraud_risk": {"value": fraud.value, "decision": fraud.decision, "reasons": list(fraud.reasons)},
        "churn_coupon": {"value": churn.value, "decision": churn.decision},
        "search_ranking": {"ids": ranking.ids(), "scores": [entry.score for entry in ranking.items]},
        "homepage_hero": {"arm": choice.arm, "holdout": choice.holdout},
        "customer_segments": {"segment": assignment.segment, "variant": assignment.variant,
                              "distance": assignment.distance},
        "category_boost": {"values": lookup.values, "found": lookup.found},
    }


def main(config_path: str) -> None:
    config = json.loads(open(config_path, encoding="utf-8").read())
    contracts = [load_contract(path) for path in config["contracts"]]
    with WeightsClient(config["url"], config["root"], config["cache"], contract=contracts, interval=0.2) as client:
        if not client.wait_ready(WAIT):
            raise SystemExit(f"no bundle within {WAIT} s: {client.status()}")
        result = answers(client, config["requests"])
    optional = sorted({m for modules in EXTRA_MODULES.values() for m in modules})
    result["imported"] = [m for m in optional if m in sys.modules]
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])
