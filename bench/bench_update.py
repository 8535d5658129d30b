"""Benchmark: ``weights update`` over 10,000,000 events vs a bare DuckDB ``GROUP BY`` of the same Parquet file.

    .venv/bin/python bench/bench_update.py [--events 10000000] [--repeat 7]

The events (seeded: arm among homepage_hero's four campaigns and its holdout, success with a 5% click rate) are
written once to a temporary folder, beside a copy of this project's config/ and weights/. Sides, alternating
(bench/harness.py):

- baseline: what one would write by hand to get the counts: a fresh DuckDB connection and ``SELECT arm,
  count(*) FILTER (WHERE success), count(*) FILTER (WHERE NOT success) FROM read_parquet(...) GROUP BY arm``,
  rows fetched;
- candidate (target <= 2x on the median): the library call the command wraps, ``update_bandit(root,
  "homepage_hero", events)`` in this process: find the model, read its columns' types, the same GROUP BY in the
  repository sandbox (with the null and 0/1 checks in the same pass), the round-trip edit, the gate on the new
  text and the atomic write. The model file is put back before each run, so every run writes;
- informational (no target): the command a user types, ``weights update homepage_hero --from events.parquet``
  in a subprocess, vs ``python -c`` running the same bare DuckDB query in a subprocess, so both pay for starting
  Python (the command also imports click, rich and the gate).

Figures: ``bench/results/update.json``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from harness import Bench  # noqa: E402

from validator.data.update import update_bandit  # noqa: E402

MODEL = "weights/homepage_hero.yaml"
VARIANTS = ("hero_spring_sale", "hero_free_shipping", "hero_new_arrivals", "hero_loyalty_points", "hero_control")
QUERY = ("SELECT arm, count(*) FILTER (WHERE success), count(*) FILTER (WHERE NOT success) "
         "FROM read_parquet('{path}') GROUP BY arm")


def write_events(path: Path, n: int, seed: int = 10) -> None:
    """``n`` views in row groups of 1M: the arm shown (the holdout gets 5%) and whether it was clicked (5%)."""
    rng = np.random.default_rng(seed)
    arms = pa.array(VARIANTS)
    with pq.ParquetWriter(path, pa.schema({"arm": pa.string(), "success": pa.bool_()})) as writer:
        for start in range(0, n, 1_000_000):
            rows = min(1_000_000, n - start)
            index = rng.choice(len(VARIANTS), size=rows, p=[0.2375] * 4 + [0.05])
            writer.write_table(pa.table({"arm": arms.take(pa.array(index)), "success": rng.random(rows) < 0.05}))


def bare_group_by(path: Path) -> list[tuple]:
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        return con.execute(QUERY.format(path=path)).fetchall()
    finally:
        con.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--cli-repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-update-") as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        for folder in ("config", "weights"):
            shutil.copytree(PROJECT / folder, root / folder)
        events = root / "events.parquet"
        write_events(events, args.events)
        original = (root / MODEL).read_bytes()

        expected = {arm: (s, f) for arm, s, f in bare_group_by(events)}
        result = update_bandit(root, "homepage_hero", events)
        got = {a.arm: (a.new.successes, a.new.failures) for a in result.arms}
        assert result.written and got == {k: v for k, v in expected.items() if k != "hero_control"}, got
        assert result.holdout is not None and (result.holdout.events.successes,
                                               result.holdout.events.failures) == expected["hero_control"]

        def candidate() -> None:
            (root / MODEL).write_bytes(original)
            assert update_bandit(root, "homepage_hero", events).written

        bench = Bench("update", "weights update over Parquet events vs a bare DuckDB GROUP BY of the same file",
                      params={"events": args.events, "arms": 4, "holdout": True, "format": "parquet",
                              "file_bytes": events.stat().st_size, "repeat": args.repeat})
        bench.compare("update_bandit (library call, writes the file)",
                      baseline=("bare DuckDB GROUP BY", lambda: bare_group_by(events)),
                      candidate=("update_bandit(root, 'homepage_hero', events)", candidate),
                      target=2.0, repeat=args.repeat, warmup=1)

        env = {**os.environ, "NO_COLOR": "1"}
        command = [sys.executable, "-m", "validator", "update", "homepage_hero", "--from", str(events)]
        bare = [sys.executable, "-c", f"import duckdb; duckdb.connect().execute({QUERY.format(path=events)!r}).fetchall()"]

        def cli() -> None:
            (root / MODEL).write_bytes(original)
            subprocess.run(command, cwd=root, env=env, check=True, capture_output=True)

        bench.compare("weights update (command in a subprocess)",
                      baseline=("python -c bare DuckDB GROUP BY", lambda: subprocess.run(bare, check=True)),
                      candidate=("weights update homepage_hero --from ...", cli),
                      target=None, repeat=args.cli_repeat, warmup=1)
        bench.notes["target"] = "the library call: <= 2x the bare GROUP BY on the median (issue 10)"
    return bench.finish()


if __name__ == "__main__":
    raise SystemExit(main())
