"""Spark benchmark: scoring 1,000,000 rows inside Spark (local mode) with ``validator.data.spark`` through
``mapInArrow``, as a ratio to a plain pandas UDF (``mapInPandas``) computing the same formula.

    .venv/bin/python bench/bench_spark.py [--rows 1000000] [--repeat 5] [--cores 2]

One SparkSession (``local[cores]``, UI off), one Parquet file of customers (the rows of
tests/data/churn_customers.csv sampled with replacement, as bench/bench_batch_score.py makes them), the
repository's ``churn_coupon``. Each run scores every row and hands the results to Spark's ``noop`` sink (the
whole job runs, nothing is collected or written), alternating:

- baseline: ``mapInPandas`` with the model's formula written by hand in pandas/numpy from the model file's
  numbers (bins by ``searchsorted``, ``log1p``/``sqrt``, the level table, the default for a missing NPS, the
  logistic, the band, the top-2 reason codes above ``min_contribution``): customer_id, score, decision, reasons;
- candidate: ``validator.data.spark.score_dataframe`` (``mapInArrow`` + ``ArrowScorer``): the input policies, the
  vectorized twin in its exact mode (near-threshold rows re-decided by the scalar evaluator), the reason codes,
  customer_id, score, decision, reasons, refused and version.

Before timing, both are collected once and compared (decisions and reason codes exactly, scores within 1e-9)
or the bench fails. Target: median ratio at most 2x. Figures: ``bench/results/spark.json``.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "bench"))

from bench_batch_score import make_data  # noqa: E402
from harness import Bench  # noqa: E402

TARGET = 2.0
MODEL = "churn_coupon"
TOLERANCE = 1e-9


def pandas_formula(doc: Mapping[str, Any], defaults: Mapping[str, float]) -> Any:
    """The scorecard's formula by hand, for mapInPandas: frames in, frames of the results out."""
    import numpy as np
    import pandas as pd

    terms = doc["terms"]
    top, floor = doc["reasons"]["top"], doc["reasons"]["min_contribution"]
    thresholds = np.array([band["below"] for band in doc["bands"][:-1]])
    labels = np.array([band["decision"] for band in doc["bands"]], dtype=object)
    coded = [t for t in terms if t.get("reason")]
    codes = np.array([t["reason"] for t in coded], dtype=object)

    def contribution(term: Mapping[str, Any], pdf: Any) -> Any:
        x = pdf[term["input"]]
        if term["input"] in defaults:
            x = x.fillna(defaults[term["input"]])
        if term["type"] == "categorical":
            return term["weight"] * x.map(term["levels"]).to_numpy(dtype=float)
        x = x.to_numpy(dtype=float)
        if "bins" in term:
            edges = np.array([b["to"] for b in term["bins"][:-1]])
            values = np.array([b["value"] for b in term["bins"]])
            return term["weight"] * values[np.searchsorted(edges, x, side="right")]
        f = {"log1p": np.log1p, "sqrt": np.sqrt, "identity": lambda v: v}[term.get("transform", "identity")]
        return term["weight"] * f(x)

    def score(frames: Iterator[Any]) -> Iterator[Any]:
        for pdf in frames:
            parts = {t["name"]: contribution(t, pdf) for t in terms}
            z = doc["intercept"] + sum(parts.values())
            p = 1.0 / (1.0 + np.exp(-z))
            matrix = np.column_stack([parts[t["name"]] for t in coded])
            eligible = matrix > floor
            order = np.argsort(np.where(eligible, -matrix, np.inf), axis=1, kind="stable")[:, :top]
            chosen = np.take_along_axis(eligible, order, axis=1)
            reasons = [list(codes[o[c]]) for o, c in zip(order, chosen, strict=True)]
            yield pd.DataFrame({"customer_id": pdf["customer_id"], "score": p,
                                "decision": labels[np.searchsorted(thresholds, p, side="right")],
                                "reasons": reasons})

    return score


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args(argv)

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    from validator.data.model_source import from_repository
    from validator.data.spark import score_dataframe

    model = from_repository(PROJECT, MODEL)
    doc = model.document
    defaults = {name: spec["default"] for name, spec in (doc.get("inputs") or {}).items() if "default" in spec}
    spark = (SparkSession.builder.master(f"local[{args.cores}]").appName("weights-bench-spark")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false").config("spark.sql.shuffle.partitions", str(args.cores))
             .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
             .config("spark.driver.memory", "2g").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    bench = Bench("spark", f"Spark local[{args.cores}]: weights' mapInArrow scorer vs a plain pandas UDF "
                           f"(mapInPandas) of the same formula ({args.rows:,} rows, {MODEL})",
                  params={"rows": args.rows, "model": MODEL, "repeat": args.repeat, "cores": args.cores,
                          "spark": spark.version, "sink": "noop (the whole job runs, nothing collected)"})
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "customers.parquet"
            make_data(path, args.rows)
            df = spark.read.parquet(str(path))
            baseline = df.mapInPandas(pandas_formula(doc, defaults),
                                      "customer_id string, score double, decision string, reasons array<string>")
            candidate = score_dataframe(df, model, keep=["customer_id"])
            mismatch = compare(baseline.toArrow(), candidate.toArrow())
            if mismatch:
                print(f"MISMATCH: {mismatch}", file=sys.stderr)
                return 1

            def run(frame: Any) -> None:
                frame.write.format("noop").mode("overwrite").save()

            bench.compare(f"{args.rows:,} rows scored in Spark", target=TARGET, repeat=args.repeat, warmup=1,
                          baseline=("pandas UDF (mapInPandas), same formula", lambda: run(baseline)),
                          candidate=("weights mapInArrow (ArrowScorer)", lambda: run(candidate)))
    finally:
        spark.stop()
    return bench.finish()


def compare(a: Any, b: Any) -> str | None:
    """Why the two results differ (None: decisions and reasons equal, scores within the tolerance)."""
    a, b = a.sort_by("customer_id"), b.sort_by("customer_id")
    if a.num_rows != b.num_rows:
        return f"{a.num_rows} vs {b.num_rows} rows"
    for name in ("customer_id", "decision", "reasons"):
        if a.column(name).to_pylist() != b.column(name).to_pylist():
            return f"column {name} differs"
    worst = max(abs(x - y) for x, y in zip(a.column("score").to_pylist(), b.column("score").to_pylist(),
                                           strict=True))
    return None if math.isfinite(worst) and worst <= TOLERANCE else f"scores differ by {worst}"


if __name__ == "__main__":
    sys.exit(main())
