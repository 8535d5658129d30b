"""Replay benchmark: 1,000,000 rows x 30 features through two versions of a scorecard, as a ratio to plain numpy.

    .venv/bin/python bench/bench_replay.py [--rows 1000000] [--repeat 7]

Measured in the same run, on the same Parquet file, read the same way:

- replay: ``validator.gate.replay.simulate_model`` — the input policies, both vectorized evaluators,
  near-threshold re-scoring, decisions, flips, PSI and the histograms;
- baseline: plain numpy — the same formula of both versions written by hand (searchsorted bins, transforms,
  the logistic) and the decisions, with the same reading: ``validator.data.datasets.read_batches``, the same
  columns in the same record batches (``DEFAULT_BATCH_ROWS`` rows), so the ratio is the cost of what replay
  computes beyond the formula, not of a different way to read.

Each run is a fresh child process (spawn), so its peak RSS is its own (Arrow's and numpy's allocations both
count); runs alternate baseline, replay, baseline, replay ... after one warm-up of each. Target: the median
replay time at most 1.5x the median baseline time. Figures: ``bench/results/replay.json`` (see bench/harness.py).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from harness import Bench, Run  # noqa: E402

N_FEATURES = 30
TARGET = 1.5
LEVELS = ("card", "paypal", "invoice", "gift_card")


def make_model(version: int) -> dict:
    """A 30-term scorecard: 20 binned numeric terms, 8 transformed ones, a boolean and a categorical."""
    terms = []
    for j in range(N_FEATURES - 2):
        w = round(0.05 + 0.01 * (j % 7) + (0.02 if version == 2 and j % 5 == 0 else 0.0), 4)
        if j < 20:
            terms.append({"name": f"t{j}", "input": f"x{j}", "type": "numeric", "weight": w, "bins": [
                {"to": 10.0, "value": 0.0}, {"from": 10.0, "to": 30.0, "value": 0.5},
                {"from": 30.0, "to": 60.0, "value": 1.0}, {"from": 60.0, "value": 2.0}]})
        else:
            terms.append({"name": f"t{j}", "input": f"x{j}", "type": "numeric", "weight": w,
                          "transform": "log1p" if j % 2 else "sqrt"})
    terms.append({"name": "flag", "input": "flag", "type": "boolean", "weight": 0.4})
    terms.append({"name": "method", "input": "method", "type": "categorical", "weight": 1.0,
                  "levels": {"card": 0.0, "paypal": 0.1, "invoice": 0.5, "gift_card": 0.9}})
    return {"kind": "scorecard", "name": "bench", "contract": "bench", "link": "logistic",
            "intercept": -4.0 if version == 1 else -4.05, "terms": terms,
            "bands": [{"decision": "approve", "below": 0.35}, {"decision": "review", "below": 0.7},
                      {"decision": "decline"}],
            "replay": {"dataset": "bench.parquet"}}


def make_data(path: Path, rows: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    columns = {f"x{j}": rng.gamma(2.0, 15.0, rows) for j in range(N_FEATURES - 2)}
    columns["flag"] = rng.random(rows) < 0.2
    columns["method"] = pa.array(np.array(LEVELS)[rng.integers(0, 4, rows)]).dictionary_encode()
    pq.write_table(pa.table(columns), path, row_group_size=131_072)


def contract():
    from validator.kinds.contract import Contract

    inputs = {f"x{j}": {"type": "number", "min": 0, "max": 100000} for j in range(N_FEATURES - 2)}
    inputs["flag"] = {"type": "boolean"}
    inputs["method"] = {"type": "category", "values": list(LEVELS)}
    return Contract.from_dict("bench", {"app": "bench", "models": ["bench"], "inputs": inputs})


def run_replay(root: str, queue: mp.Queue) -> None:
    from validator.gate.replay import simulate_model

    c = contract()
    start = time.perf_counter()
    impact = simulate_model(Path(root), "bench", make_model(1), make_model(2), c, c)
    elapsed = time.perf_counter() - start
    queue.put((elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, impact.metrics["decision_flip_rate"]))


def run_numpy(root: str, queue: mp.Queue) -> None:
    import numpy as np

    from validator.data.datasets import DEFAULT_BATCH_ROWS, Wanted, read_batches

    start = time.perf_counter()
    models = [make_model(1), make_model(2)]
    wanted = [Wanted(f"x{j}", "number") for j in range(N_FEATURES - 2)]
    wanted += [Wanted("flag", "boolean"), Wanted("method", "text")]
    edges, bins, bands = np.array([10.0, 30.0, 60.0]), np.array([0.0, 0.5, 1.0, 2.0]), np.array([0.35, 0.7])
    rows = flipped = 0
    for batch in read_batches(Path(root), "bench.parquet", wanted, DEFAULT_BATCH_ROWS):
        x = {f"x{j}": batch.column(f"x{j}").to_numpy() for j in range(N_FEATURES - 2)}
        flag = batch.column("flag").to_numpy(zero_copy_only=False)
        method = batch.column("method")
        codes = method.indices.to_numpy()
        names = method.dictionary.to_pylist()
        decisions = []
        for model in models:
            z = np.full(batch.num_rows, model["intercept"])
            for term in model["terms"]:
                if term["type"] == "boolean":
                    z += np.where(flag, term["weight"], 0.0)
                elif term["type"] == "categorical":
                    z += term["weight"] * np.array([term["levels"][n] for n in names])[codes]
                elif "bins" in term:
                    z += term["weight"] * bins[np.searchsorted(edges, x[term["input"]], "right")]
                else:
                    v = x[term["input"]]
                    z += term["weight"] * (np.log1p(v) if term["transform"] == "log1p" else np.sqrt(v))
            p = 1.0 / (1.0 + np.exp(-z))
            decisions.append(np.searchsorted(bands, p, "right"))
        rows += batch.num_rows
        flipped += int(np.count_nonzero(decisions[0] != decisions[1]))
    elapsed = time.perf_counter() - start
    queue.put((elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flipped / rows))


def in_child(target: Callable[[str, mp.Queue], None], root: str, flip_rates: list[float]) -> Run:
    """One run in a fresh process: its own seconds (measured inside) and its own peak RSS."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(root, queue))
    proc.start()
    elapsed, max_rss_kib, flips = queue.get()
    proc.join()
    flip_rates.append(flips)
    return Run(elapsed, max_rss_kib * 1024)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    bench = Bench("replay", f"weights replay vs plain numpy of the same formula, same Arrow batches "
                            f"({args.rows:,} rows x {N_FEATURES} features, two scorecard versions)",
                  params={"rows": args.rows, "features": N_FEATURES, "repeat": args.repeat})
    base_flips: list[float] = []
    sim_flips: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "config").mkdir()
        make_data(Path(tmp) / "bench.parquet", args.rows)
        bench.params["parquet_bytes"] = (Path(tmp) / "bench.parquet").stat().st_size
        bench.compare("replay, two versions", target=TARGET, repeat=args.repeat, warmup=1,
                      baseline=("plain numpy, same batches", lambda: in_child(run_numpy, tmp, base_flips)),
                      candidate=("weights replay (simulate_model)", lambda: in_child(run_replay, tmp, sim_flips)))
    if max(abs(a - b) for a in base_flips for b in sim_flips) > 1e-12:
        print(f"MISMATCH: flip rates {sorted(set(sim_flips))} (replay) vs {sorted(set(base_flips))} (numpy)",
              file=sys.stderr)
        return 1
    bench.notes["decision_flip_rate"] = sim_flips[0]
    return bench.finish()


if __name__ == "__main__":
    sys.exit(main())
