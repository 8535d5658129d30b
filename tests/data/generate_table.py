"""Write the example table model's rows and its replay requests (seeded: the same bytes on every run).

    .venv/bin/python tests/data/generate_table.py     # rewrites weights/category_boost.csv and
                                                       # tests/data/search_requests.parquet

- weights/category_boost.csv: the search team's per-category, per-country boost of the ranking score, as
  the analytics team exports it: 6,250 tuned categories x 8 shop countries = 50,000 rows, sorted by key.
  Most boosts sit near 1.0 (a multiplier), seasonal and strategic categories higher, clearance lower;
  ``pinned_slots`` reserves 0-3 of the first page's slots for the category's items, rarely more than 0.
- tests/data/search_requests.parquet: 20,000 search requests (category_id of the query's main category,
  the shopper's country), category popularity Zipf-like over 1..8,000, so about one request in twenty asks
  for a category nobody tuned and gets the header's default row.

``write_csv`` is the one place that formats rows, so the benchmark's million-row file looks like this one.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
SEED = 20240612
COUNTRIES = ("DE", "AT", "CH", "NL", "BE", "FR", "NO", "DK")
TUNED_CATEGORIES = 6_250
ASKED_CATEGORIES = 8_000


def boost_rows(rng: np.random.Generator, categories: int) -> dict[str, np.ndarray]:
    """The key and value columns of ``categories`` x 8 countries rows, sorted by (category_id, country)."""
    n = categories * len(COUNTRIES)
    category = np.repeat(np.arange(1, categories + 1, dtype=np.int64), len(COUNTRIES))
    country = np.tile(np.array(COUNTRIES), categories)
    base = rng.lognormal(0.0, 0.18, categories)  # a category's boost, shared by the countries...
    local = rng.lognormal(0.0, 0.06, n)          # ...with a little local tuning
    boost = np.clip(np.repeat(base, len(COUNTRIES)) * local, 0.5, 3.0)
    pinned = np.where(rng.random(n) < 0.04, rng.integers(1, 4, n), 0)
    return {"category_id": category, "country": country, "boost": np.round(boost, 2), "pinned_slots": pinned}


def write_csv(path: Path, columns: dict[str, np.ndarray]) -> None:
    """The rows as the analytics team's export writes them: header line, LF, two decimals for the boost."""
    lines = ["category_id,country,boost,pinned_slots"]
    cells = (columns[name].tolist() for name in ("category_id", "country", "boost", "pinned_slots"))
    lines += [f"{c},{k},{b:.2f},{p}" for c, k, b, p in zip(*cells, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")


def search_requests(rng: np.random.Generator, n: int = 20_000) -> pa.Table:
    ranks = np.arange(1, ASKED_CATEGORIES + 1)
    popularity = 1.0 / ranks ** 0.6
    category = rng.choice(ranks, n, p=popularity / popularity.sum()).astype(np.int64)
    country = rng.choice(np.array(COUNTRIES), n, p=[0.45, 0.10, 0.08, 0.12, 0.06, 0.12, 0.03, 0.04])
    return pa.table({"category_id": category, "country": country})


def main() -> None:
    rng = np.random.default_rng(SEED)
    write_csv(ROOT / "weights" / "category_boost.csv", boost_rows(rng, TUNED_CATEGORIES))
    pq.write_table(search_requests(rng), ROOT / "tests" / "data" / "search_requests.parquet", compression="zstd")


if __name__ == "__main__":
    main()
