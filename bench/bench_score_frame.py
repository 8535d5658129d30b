"""Notebook scoring benchmark: ``score_frame`` over 1,000,000 customers with ``churn_coupon``, as a ratio to
plain numpy computing the same formula.

    .venv/bin/python bench/bench_score_frame.py [--rows 1000000] [--repeat 7]

Both sides take the same in-memory Arrow table and return the same result columns as Arrow arrays: the churn
probability, the decision and the reason codes (list<string>):

- candidate: ``validator.notebook.score_frame(model, table)`` with the model compiled once beforehand
  (``load_scorer``: loading through the gate is paid once per notebook, not per row) — the input policies
  (defaults, ranges, levels), the scorecard's vectorized twin with near-threshold and reason-cut re-scoring,
  and the result table;
- baseline: the model's formula written by hand in numpy from the model file's numbers: ``np.searchsorted``
  bin lookups, ``log1p``/``sqrt``, the level table, the sum, the logistic, the band by ``searchsorted``, the
  top-2 reason codes above ``min_contribution`` by a stable ``argsort``, and the same Arrow arrays built from it
  (no input checks: the generated data is within the contract's ranges).

The two must agree (decisions and reason codes exactly, probabilities within 1e-12) or the bench fails. Runs
alternate baseline, candidate, ... after one warm-up of each (bench/harness.py). Target: the median
``score_frame`` time at most 1.5x the median numpy time. Figures: ``bench/results/score_frame.json``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from harness import Bench  # noqa: E402

from validator.data.scoring import load_scorer  # noqa: E402
from validator.notebook import score_frame  # noqa: E402

TARGET = 1.5
MODEL = "churn_coupon"
PLANS = ("none", "basic", "plus", "premium")


def make_data(rows: int) -> pa.Table:
    """Customers within the retention contract's ranges; a third never answered the NPS survey."""
    rng = np.random.default_rng(0)
    nps = rng.integers(0, 11, rows).astype(np.float64)
    return pa.table({
        "days_since_last_order": np.minimum(rng.gamma(1.2, 60.0, rows).round(), 3650.0),
        "orders_12m": np.minimum(rng.poisson(4.0, rows), 500).astype(np.float64),
        "support_tickets_90d": np.minimum(rng.poisson(0.4, rows), 100).astype(np.float64),
        "nps_score": pa.array(nps, mask=rng.random(rows) < 0.33),
        "subscription_plan": pa.array(np.array(PLANS)[rng.integers(0, 4, rows)]),
        "discount_share": rng.random(rows).round(3),
    })


def numpy_scorer(doc: dict[str, Any]) -> Any:
    """The model's formula, by hand from the file's numbers (what an analyst would write without the API)."""
    terms = doc["terms"]
    defaults = {name: spec.get("default") for name, spec in (doc.get("inputs") or {}).items()}
    decisions = pa.array([band["decision"] for band in doc["bands"]])
    thresholds = np.array([band["below"] for band in doc["bands"][:-1]])
    codes = pa.array([t.get("reason") or "" for t in terms])
    coded = np.array([t.get("reason") is not None for t in terms])
    top, floor = doc["reasons"]["top"], doc["reasons"]["min_contribution"]

    def score(table: pa.Table) -> dict[str, pa.Array]:
        n = table.num_rows
        contributions = np.empty((n, len(terms)))
        for j, term in enumerate(terms):
            column = table.column(term["input"]).combine_chunks()
            if term["type"] == "categorical":
                encoded = column.dictionary_encode()
                level = np.array([term["levels"][w] for w in encoded.dictionary.to_pylist()])
                x = level[encoded.indices.to_numpy()]
            else:
                x = column.to_numpy(zero_copy_only=False)
                if defaults.get(term["input"]) is not None:
                    x = np.where(np.isnan(x), defaults[term["input"]], x)
                if "bins" in term:
                    edges = np.array([b["from"] for b in term["bins"][1:]])
                    x = np.array([b["value"] for b in term["bins"]])[np.searchsorted(edges, x, "right")]
                elif term.get("transform") in ("log1p", "sqrt"):
                    x = np.log1p(x) if term["transform"] == "log1p" else np.sqrt(x)
            contributions[:, j] = term["weight"] * x
        z = doc["intercept"] + contributions.sum(axis=1)
        p = 1.0 / (1.0 + np.exp(-z))
        band = np.searchsorted(thresholds, p, "right").astype(np.int32)
        eligible = (contributions > floor) & coded
        order = np.argsort(np.where(eligible, -contributions, np.inf), axis=1, kind="stable")[:, :top]
        chosen = np.take_along_axis(eligible, order, axis=1)
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(chosen.sum(axis=1), out=offsets[1:])
        reasons = pa.ListArray.from_arrays(pa.array(offsets), codes.take(pa.array(order[chosen].astype(np.int32))))
        return {"score": pa.array(p), "decision": decisions.take(pa.array(band)), "reasons": reasons}

    return score


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    table = make_data(args.rows)
    scorer = load_scorer(PROJECT, MODEL)
    by_hand = numpy_scorer(dict(scorer.document))

    ours, theirs = score_frame(scorer, table), by_hand(table)
    mismatch = [name for name in ("decision", "reasons") if not ours.column(name).combine_chunks().equals(theirs[name])]
    difference = float(np.max(np.abs(ours.column("score").to_numpy() - theirs["score"].to_numpy())))
    if mismatch or difference > 1e-12:
        print(f"MISMATCH: {mismatch or ''} largest probability difference {difference:.3g}", file=sys.stderr)
        return 1

    bench = Bench("score_frame", f"score_frame vs plain numpy of the same formula, same Arrow table in and "
                                 f"result columns out ({args.rows:,} rows, {MODEL})",
                  params={"rows": args.rows, "model": MODEL, "repeat": args.repeat})
    bench.compare("score_frame, Arrow in and out", target=TARGET, repeat=args.repeat, warmup=1,
                  baseline=("plain numpy, same formula", lambda: by_hand(table)),
                  candidate=("score_frame", lambda: score_frame(scorer, table)))
    bench.notes["largest_probability_difference"] = difference
    bench.notes["coupon_share"] = float(np.mean(ours.column("decision").to_numpy(zero_copy_only=False) == "coupon"))
    return bench.finish()


if __name__ == "__main__":
    sys.exit(main())
