"""Shared fixtures of the ``weights update`` tests: a copy of the project's weights with the sample events, and
event files written in the shapes analysts export (Parquet, CSV)."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Sequence

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

PROJECT = Path(__file__).resolve().parents[1]
MODEL = "weights/homepage_hero.yaml"
EVENTS = "tests/data/homepage_events.parquet"
ARMS = ("hero_spring_sale", "hero_free_shipping", "hero_new_arrivals", "hero_loyalty_points")
# weights/homepage_hero.yaml's counts (and the sample events' totals): arm -> (successes, failures)
FILE_COUNTS = {"hero_spring_sale": (412, 9588), "hero_free_shipping": (505, 9495),
               "hero_new_arrivals": (287, 7713), "hero_loyalty_points": (96, 2404)}


def make_repo(root: Path) -> Path:
    """config/, weights/ and the sample events of this project in ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(PROJECT / "config", root / "config")
    shutil.copytree(PROJECT / "weights", root / "weights")
    (root / "tests" / "data").mkdir(parents=True)
    shutil.copy2(PROJECT / EVENTS, root / EVENTS)
    return root


def event_rows(counts: dict[str, tuple[int, int]]) -> tuple[list[str], list[bool]]:
    """One row per view: ``successes`` True rows then ``failures`` False rows per arm."""
    arms: list[str] = []
    successes: list[bool] = []
    for arm, (won, lost) in counts.items():
        arms += [arm] * (won + lost)
        successes += [True] * won + [False] * lost
    return arms, successes


def write_table(path: Path, columns: dict[str, Sequence[Any]]) -> Path:
    """An events file of these columns, Parquet or CSV by the path's suffix."""
    table = pa.table({name: list(values) for name, values in columns.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    return path


def write_events(path: Path, counts: dict[str, tuple[int, int]], *, arm: str = "arm",
                 success: str = "success") -> Path:
    """An events file (Parquet or CSV by suffix) whose totals are ``counts``."""
    arms, won = event_rows(counts)
    return write_table(path, {arm: arms, success: won})


def posterior_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "posterior:" in line]
