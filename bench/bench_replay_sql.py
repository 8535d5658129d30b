"""Replay benchmark: a model whose ``replay.dataset`` is a DuckDB query vs the same model reading the file.

    .venv/bin/python bench/bench_replay_sql.py [--rows 1000000] [--repeat 5]

The data and the two scorecard versions are bench_replay's (30 features, 1,000,000 rows in one Parquet file).
Measured in the same run, alternating, each run a fresh child process (its own peak RSS):

- baseline: ``simulate_model`` with ``replay: {dataset: bench.parquet}`` (pyarrow reads the file's columns);
- candidate: ``simulate_model`` with ``replay: {dataset: {sql: "SELECT * FROM 'bench.parquet' WHERE x0 >= 0"}}``,
  the same rows through the sandboxed DuckDB connection (validator.data.sql): parse and path rewrite, binding,
  the wanted columns streamed as Arrow record batches.

Both must report the same decision flip rate. Target: the median query replay at most 1.3x the median file
replay — what the analyst pays for writing the extract as a query instead of exporting a file.
Figures: ``bench/results/replay_sql.json`` (see bench/harness.py).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "bench"))

from bench_replay import N_FEATURES, contract, make_data, make_model  # noqa: E402
from harness import Bench, Run  # noqa: E402

TARGET = 1.3
QUERY = "SELECT * FROM 'bench.parquet' WHERE x0 >= 0"


def run_replay(root: str, dataset: object, queue: mp.Queue) -> None:
    from validator.gate.replay import simulate_model

    c = contract()
    base, head = make_model(1), make_model(2)
    for doc in (base, head):
        doc["replay"] = {"dataset": dataset}
    start = time.perf_counter()
    impact = simulate_model(Path(root), "bench", base, head, c, c)
    elapsed = time.perf_counter() - start
    queue.put((elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, impact.metrics["decision_flip_rate"],
               impact.rows))


def in_child(root: str, dataset: object, flips: list[tuple[float, int]]) -> Run:
    """One replay in a fresh process: its own seconds (measured inside) and its own peak RSS."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=run_replay, args=(root, dataset, queue))
    proc.start()
    elapsed, max_rss_kib, flip_rate, rows = queue.get()
    proc.join()
    flips.append((flip_rate, rows))
    return Run(elapsed, max_rss_kib * 1024)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    bench = Bench("replay_sql", f"weights replay of a DuckDB query vs of the file it reads ({args.rows:,} rows x "
                                f"{N_FEATURES} features, two scorecard versions)",
                  params={"rows": args.rows, "features": N_FEATURES, "repeat": args.repeat, "query": QUERY})
    from_file: list[tuple[float, int]] = []
    from_query: list[tuple[float, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "config").mkdir()
        make_data(Path(tmp) / "bench.parquet", args.rows)
        bench.compare("replay, two versions", target=TARGET, repeat=args.repeat, warmup=1,
                      baseline=("replay of the Parquet file", lambda: in_child(tmp, "bench.parquet", from_file)),
                      candidate=("replay of a DuckDB query over it",
                                 lambda: in_child(tmp, {"sql": QUERY}, from_query)))
    if set(from_file) != set(from_query) or len(set(from_file)) != 1:
        print(f"MISMATCH: (flip rate, rows) {sorted(set(from_query))} (query) vs {sorted(set(from_file))} (file)",
              file=sys.stderr)
        return 1
    bench.notes["decision_flip_rate"], bench.notes["rows"] = from_file[0]
    return bench.finish()


if __name__ == "__main__":
    sys.exit(main())
