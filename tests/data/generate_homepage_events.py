"""Write the homepage hero events that ``weights update homepage_hero`` counts (seeded: the same bytes every run).

    .venv/bin/python tests/data/generate_homepage_events.py   # rewrites tests/data/homepage_events.parquet

One row per homepage view, as the site's event pipeline exports it: ``day`` (the date of the view), ``arm`` (the
hero banner shown: a campaign, or the holdout's ``hero_control``) and ``success`` (the visitor clicked the hero).
Every campaign's totals equal the counts in weights/homepage_hero.yaml exactly, so ``weights update
homepage_hero`` on this file is a no-op (the file stays byte for byte); the control banner gets 5% of the views,
as the holdout says. Campaigns started on different days (the loyalty campaign two days before the last day),
so a ``--sql`` query can pick one day's events for ``--add``.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "data" / "homepage_events.parquet"
SEED = 20260601
LAST_DAY = dt.date(2026, 6, 10)

# arm -> (clicks, views without a click, days it has run up to LAST_DAY): weights/homepage_hero.yaml's counts.
ARMS: dict[str, tuple[int, int, int]] = {
    "hero_spring_sale": (412, 9588, 10),
    "hero_free_shipping": (505, 9495, 10),
    "hero_new_arrivals": (287, 7713, 8),
    "hero_loyalty_points": (96, 2404, 2),
    "hero_control": (101, 2031, 10),  # the holdout: 5% of all views, not an arm; counted, never written
}


def events(rng: np.random.Generator) -> pa.Table:
    """Every view of every arm: views spread evenly over the arm's days, exactly its number of clicks among them."""
    days, arms, clicks = [], [], []
    for arm, (successes, failures, ran) in ARMS.items():
        views = successes + failures
        first = LAST_DAY - dt.timedelta(days=ran - 1)
        day_index = np.sort(rng.integers(0, ran, views))
        clicked = np.zeros(views, dtype=bool)
        clicked[rng.choice(views, size=successes, replace=False)] = True
        days.extend(first + dt.timedelta(days=int(i)) for i in day_index)
        arms.extend([arm] * views)
        clicks.append(clicked)
    order = np.lexsort((rng.random(len(arms)), np.array([d.toordinal() for d in days])))  # by day, shuffled within
    return pa.table({
        "day": pa.array([days[i] for i in order], pa.date32()),
        "arm": pa.array([arms[i] for i in order], pa.string()),
        "success": pa.array(np.concatenate(clicks)[order], pa.bool_()),
    })


def main() -> None:
    pq.write_table(events(np.random.default_rng(SEED)), OUT, compression="zstd", use_dictionary=True)
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
