"""Benchmark: check a 1,000,000-row table file against its header, as a ratio to a bare pyarrow CSV read.

    .venv/bin/python bench/bench_table.py [--categories 125000] [--repeat 7]

The file is the example model's rows at scale (tests/data/generate_table.py writes both, so the bench reads
what analysts export: integer category ids, country codes, two-decimal boosts, slot counts), 8 countries per
category. Both sides read the same bytes from memory, alternating after a warm-up (bench/harness.py):

- baseline: ``pyarrow.csv.read_csv`` of the bytes with its defaults (type inference, all cores);
- candidate: ``validator.kinds.table.datafile.check_data`` — the typed read (keys and words dictionary-encoded)
  and every check of the data file: lone carriage returns, the header against the declared columns, empty
  cells, NaN/inf, value ranges, keys the contract cannot send, repeated keys. A clean file has no findings, so
  no line map is built (that is paid only by a file with findings).

Target: the median check at most 3x the median bare read. An informational comparison adds what the gate does
after a clean check, embedding the rows in the resolved document (``attachments.resolve``: one Python list per
column), which a published bundle needs and is not part of "validating" the file.
Figures: ``bench/results/table.json``.
"""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "tests" / "data"))

from generate_table import COUNTRIES, boost_rows, write_csv  # noqa: E402
from harness import Bench  # noqa: E402

from validator.gate.yamlload import load_bytes  # noqa: E402
from validator.kinds.contract import Contract  # noqa: E402
from validator.kinds.table.attachments import resolve  # noqa: E402
from validator.kinds.table.datafile import check_data  # noqa: E402
from validator.kinds.table.layout import layout_of  # noqa: E402

TARGET = 3.0
HEADER = (PROJECT / "weights" / "category_boost.yaml").read_bytes()


class Memory:
    """A Source holding the header and the big file in memory, so both sides read the same bytes."""

    label = "memory"

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def list(self, folder: str) -> list[str]:
        return sorted(p for p in self.files if p.startswith(folder + "/") and p.endswith(".yaml"))

    def read(self, relpath: str) -> bytes | None:
        return self.files.get(relpath)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--categories", type=int, default=125_000, help="categories (x 8 countries = rows)")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rows = args.categories * len(COUNTRIES)
    scratch = PROJECT / ".weights" / "bench"
    scratch.mkdir(parents=True, exist_ok=True)
    path = scratch / "category_boost_big.csv"
    write_csv(path, boost_rows(np.random.default_rng(1), args.categories))
    raw = path.read_bytes()
    path.unlink()
    document, problems = load_bytes(HEADER, "weights/category_boost.yaml")
    assert document is not None and not problems
    contract = Contract.from_dict("search", {
        "app": "search-api", "models": ["category_boost"],
        "inputs": {"category_id": {"type": "integer", "min": 1, "max": args.categories},
                   "country": {"type": "category", "values": list(COUNTRIES)}},
    })
    layout = layout_of(document.data)
    checked = check_data(raw, "weights/category_boost.csv", "csv", layout, contract)
    assert checked.ok and checked.table.num_rows == rows, [f.render() for f in checked.findings[:5]]
    source = Memory({"weights/category_boost.yaml": HEADER, "weights/category_boost.csv": raw})

    def bare() -> object:
        return pacsv.read_csv(io.BytesIO(raw))

    def check() -> object:
        return check_data(raw, "weights/category_boost.csv", "csv", layout, contract)

    def check_and_embed() -> object:
        return resolve(source, document, contract)

    bench = Bench("table", "checking a table's data file vs a bare pyarrow.csv.read_csv of the same bytes",
                  params={"rows": rows, "bytes": len(raw), "columns": 4})
    bench.compare("check_data vs pyarrow.csv.read_csv", baseline=("pyarrow.csv.read_csv", bare),
                  candidate=("check_data (read typed + every check)", check), target=TARGET, repeat=args.repeat,
                  warmup=1)
    bench.compare("check and embed the rows vs pyarrow.csv.read_csv, informational",
                  baseline=("pyarrow.csv.read_csv", bare), candidate=("attachments.resolve", check_and_embed),
                  target=None, repeat=max(3, args.repeat // 2), warmup=1)
    return bench.finish()


if __name__ == "__main__":
    raise SystemExit(main())
