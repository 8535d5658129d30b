"""Batch scoring benchmark: ``weights score``'s library call over 1,000,000 rows, as a ratio to the replay's own
vectorized scoring of the same rows.

    .venv/bin/python bench/bench_batch_score.py [--rows 1000000] [--repeat 5]

The model is the repository's ``churn_coupon`` (a logistic scorecard: bins, log1p and sqrt transforms, a
categorical, six terms, two reason codes), the data 1,000,000 customers drawn from tests/data/churn_customers.csv
(rows sampled with replacement, seeded) in one Parquet file. Measured in the same process, alternating:

- candidate, batch scoring: ``validator.data.batch.score_file`` (what ``weights score`` calls after loading the
  model; the CLI's model loading, a fixed ~1 s gate run, is left out): the input read in record batches, the
  twin's exact score with contributions and reason codes (``validator.data.scoring``), the Arrow result
  columns (score, decision, reasons, refused), the kept ``customer_id`` and ``version``, written to Parquet;
- baseline (the target's), the replay's vectorized scoring of the same results: the replay's own reading
  (``validator.data.datasets.read_batches``: the same columns, ``DEFAULT_BATCH_ROWS`` batches, ``to_columns``)
  and the same twin as the replay runs it (``score`` in exact mode), asked for the same results: contributions
  and the reason codes (``reasons``); kept as numpy arrays, nothing written. The ratio is what batch scoring
  costs beyond the scoring itself: the kept column, the Arrow results and the Parquet file;
- for reference (no target): the replay's scoring exactly as ``validator.kinds.scorecard.metrics.measure`` runs
  it per version, without reason codes (the replay only counts decisions and values).

Target: median ratio at most 1.5x against the first baseline. Figures: ``bench/results/batch_score.json``.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from harness import Bench  # noqa: E402

TARGET = 1.5
MODEL = "churn_coupon"


def make_data(path: Path, rows: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    sample = pacsv.read_csv(PROJECT / "tests" / "data" / "churn_customers.csv")
    pick = np.random.default_rng(7).integers(0, sample.num_rows, rows)
    table = sample.take(pa.array(pick))
    ids = pa.array([f"c{i:07d}" for i in range(rows)], pa.string())
    table = table.set_column(table.column_names.index("customer_id"), "customer_id", ids)
    pq.write_table(table, path, row_group_size=131_072)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    from validator.data.batch import score_file
    from validator.data.datasets import DEFAULT_BATCH_ROWS, read_batches, to_columns
    from validator.data.model_source import from_repository
    from validator.data.scoring import input_types

    model = from_repository(PROJECT, MODEL)
    twin = model.twin
    bench = Bench("batch_score", f"weights score (library: score_file, Parquet out) vs the replay's vectorized "
                                 f"scoring of the same rows ({args.rows:,} rows, {MODEL})",
                  params={"rows": args.rows, "model": MODEL, "repeat": args.repeat,
                          "batch_rows": DEFAULT_BATCH_ROWS, "interface": "library (validator.data.batch.score_file)"})
    from validator.data.datasets import Wanted

    wanted = [Wanted(name, typ) for name, typ in input_types(twin).items()]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_data(root / "customers.parquet", args.rows)
        bench.params["parquet_bytes"] = (root / "customers.parquet").stat().st_size
        counted: list[int] = []
        written: list[int] = []

        def replay_scoring(reasons: bool) -> None:
            rows = 0
            for batch in read_batches(root, "customers.parquet", wanted, DEFAULT_BATCH_ROWS):
                scores = twin.score(to_columns(batch, twin.input_types, "customers.parquet"), contributions=reasons)
                if reasons:
                    twin.reasons(scores)
                rows += len(scores.values)
            counted.append(rows)

        def batch_scoring() -> None:
            result = score_file(twin, root / "customers.parquet", root / "scores.parquet",
                                batch_rows=DEFAULT_BATCH_ROWS, version=model.version, keep=["customer_id"])
            written.append(result.rows)

        bench.compare(f"{args.rows:,} rows scored, same results", target=TARGET, repeat=args.repeat, warmup=1,
                      baseline=("replay's twin, with reason codes, no output", lambda: replay_scoring(True)),
                      candidate=("weights score: score_file -> Parquet", batch_scoring))
        bench.compare("for reference: the replay's loop without reason codes", target=None, repeat=args.repeat,
                      warmup=0, baseline=("replay's twin as metrics.measure runs it", lambda: replay_scoring(False)),
                      candidate=("weights score: score_file -> Parquet", batch_scoring))
        bench.params["output_parquet_bytes"] = (root / "scores.parquet").stat().st_size
    bench.notes["writer"] = "a writer thread encodes Parquet while the next batch is scored (queue of 2 batches)"
    if set(counted) != {args.rows} or set(written) != {args.rows}:
        print(f"MISMATCH: rows {sorted(set(counted))} (replay) vs {sorted(set(written))} (batch)", file=sys.stderr)
        return 1
    return bench.finish()


if __name__ == "__main__":
    sys.exit(main())
