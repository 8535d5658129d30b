"""bench/harness.py on fake timings: ordering of runs, statistics, verdict on the median ratio, JSON and exit code.

No wall clock is read: ``compare`` is given a scripted clock, and the statistics are pure functions.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from harness import Bench, Run, Side, alternate, percentile, summarize

TOL = 1e-12


def scripted_clock(durations: list[float]) -> Iterator[float]:
    """A clock whose successive start/stop pairs are ``durations`` apart."""
    now = 0.0
    for d in durations:
        yield now
        now += d
        yield now
        now += 100.0  # time between runs must not leak into any run


def test_alternates_after_warmup_and_times_each_call() -> None:
    calls: list[str] = []
    clock = scripted_clock([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    base, cand = alternate(lambda: calls.append("b"), lambda: calls.append("c"), repeat=3, warmup=2,
                           clock=lambda: next(clock))
    assert calls == ["b", "c", "b", "c", "b", "c", "b", "c", "b", "c"]
    assert [r.seconds for r in base] == [1.0, 3.0, 5.0]
    assert [r.seconds for r in cand] == [2.0, 4.0, 6.0]


def test_a_side_that_measures_itself_is_recorded_as_given() -> None:
    clock = scripted_clock([9.0, 9.0])
    base, cand = alternate(lambda: Run(0.5, peak_bytes=1000), lambda: None, repeat=1, warmup=0,
                           clock=lambda: next(clock))
    assert base == [Run(0.5, 1000)]
    assert cand == [Run(9.0, None)]


def test_repeat_must_be_positive() -> None:
    with pytest.raises(ValueError):
        alternate(lambda: None, lambda: None, repeat=0)


def test_min_median_and_both_ratios() -> None:
    c = summarize("x", Side("base", (1.0, 4.0, 2.0)), Side("cand", (3.0, 1.5, 9.0)), target=2.0)
    assert c.baseline.min == 1.0 and c.baseline.median == 2.0
    assert c.candidate.min == 1.5 and c.candidate.median == 3.0
    assert abs(c.ratio_median - 1.5) < TOL and abs(c.ratio_min - 1.5) < TOL
    assert c.passed


def test_verdict_uses_the_median_ratio_not_the_min() -> None:
    # the best candidate run is as fast as the baseline's, but its median is 3x: the target is missed
    c = summarize("x", Side("base", (1.0, 1.0, 1.0)), Side("cand", (1.0, 3.0, 3.0)), target=2.0)
    assert abs(c.ratio_min - 1.0) < TOL and abs(c.ratio_median - 3.0) < TOL
    assert not c.passed
    assert c.as_dict()["target"] == {"max_ratio": 2.0, "applies_to": "ratio_median"}
    assert c.as_dict()["verdict"] == "FAIL"


def test_target_met_exactly_passes_and_no_target_never_fails() -> None:
    assert summarize("x", Side("b", (2.0,)), Side("c", (4.0,)), target=2.0).passed
    assert summarize("x", Side("b", (1.0,)), Side("c", (50.0,)), target=None).passed


def test_percentile_interpolates_like_numpy() -> None:
    values = [float(v) for v in range(1, 101)]
    assert abs(percentile(values, 0.5) - 50.5) < TOL
    assert abs(percentile(values, 0.99) - 99.01) < 1e-9
    assert percentile([7.0], 0.99) == 7.0


def test_finish_writes_json_prints_table_and_exits_1_on_a_miss(tmp_path: Path) -> None:
    bench = Bench("fake", "fake timings", params={"n": 3}, results_dir=tmp_path)
    ok = scripted_clock([1.0, 1.5] * 3)
    bench.compare("ok", baseline=("b", lambda: None), candidate=("c", lambda: None), target=2.0, repeat=3,
                  warmup=0, clock=lambda: next(ok))
    bad = scripted_clock([1.0, 5.0] * 3)
    bench.compare("bad", baseline=("b", lambda: None), candidate=("c", lambda: None), target=2.0, repeat=3,
                  warmup=0, clock=lambda: next(bad))
    out = io.StringIO()
    assert bench.finish(out) == 1
    text = out.getvalue()
    assert "median 1.50x" in text and "median 5.00x" in text and "verdict: FAIL" in text

    data = json.loads((tmp_path / "fake.json").read_text())
    assert data["bench"] == "fake" and data["params"] == {"n": 3} and data["verdict"] == "FAIL"
    assert set(data["machine"]) >= {"python", "numpy", "cpu_count", "platform"}
    first, second = data["comparisons"]
    assert first["verdict"] == "pass" and second["verdict"] == "FAIL"
    assert first["baseline"]["seconds"] == [1.0, 1.0, 1.0] and first["candidate"]["median_s"] == 1.5
    assert abs(second["ratio_median"] - 5.0) < 1e-4 and abs(second["ratio_min"] - 5.0) < 1e-4


def test_finish_exits_0_when_every_target_is_met(tmp_path: Path) -> None:
    bench = Bench("fine", "fake", results_dir=tmp_path)
    clock = scripted_clock([2.0, 2.0])
    bench.compare("same", baseline=("b", lambda: None), candidate=("c", lambda: None), target=1.2, repeat=1,
                  warmup=0, clock=lambda: next(clock))
    assert bench.finish(io.StringIO()) == 0
    assert json.loads((tmp_path / "fine.json").read_text())["verdict"] == "pass"


def test_intervals_record_percentiles_and_judge_the_named_one(tmp_path: Path) -> None:
    bench = Bench("delays", "fake", results_dir=tmp_path)
    item = bench.interval("reload delay", "poll intervals", [0.1 * k for k in range(1, 11)], target=0.95)
    s = item.summary()
    assert abs(s["p50"] - 0.55) < 1e-9 and abs(s["max"] - 1.0) < 1e-9
    assert not item.passed  # p99 is 0.991 > 0.95
    bench.intervals[0] = dataclasses.replace(item, target_on="p50")  # p50 is 0.55 <= 0.95
    assert bench.passed
    data = bench.as_dict(now=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    assert data["timestamp"] == "2026-01-01T00:00:00+00:00"
    assert data["intervals"][0]["target"] == {"max": 0.95, "applies_to": "p50"}


def test_memory_option_records_a_traced_peak(tmp_path: Path) -> None:
    bench = Bench("mem", "fake", results_dir=tmp_path)
    clock = scripted_clock([1.0, 1.0])
    c = bench.compare("alloc", baseline=("small", lambda: bytearray(10)),
                      candidate=("big", lambda: bytearray(4_000_000)), target=None, repeat=1, warmup=0,
                      memory=True, clock=lambda: next(clock))
    assert c.baseline.peak_bytes is not None and c.candidate.peak_bytes is not None
    assert c.candidate.peak_bytes >= 4_000_000 > c.baseline.peak_bytes


# -- the docs quote the results files, never copied figures -------------------------------------------------

PROJECT = Path(__file__).resolve().parents[1]
BENCHES = ("validate", "replay", "score", "reload", "propagation")
# A measured figure: a number with a unit of time, memory or ratio ("2.3×", "1.5x", "70 ms", "524 MiB", "2 %").
FIGURE = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?(?:[–-]\d+(?:\.\d+)?)?\s?(?:×|x\b|ms\b|µs\b|ns\b|MiB\b|GiB\b|%)")


def copied_figures(text: str) -> list[str]:
    """Figures in paragraphs about benches, except targets (written after "≤")."""
    found = []
    for paragraph in text.split("\n\n"):
        if "bench" not in paragraph.lower():
            continue
        for match in FIGURE.finditer(paragraph):
            if "≤" not in paragraph[max(0, match.start() - 3):match.start()]:
                found.append(match.group(0))
    return found


def test_the_figure_detector_tells_measurements_from_targets() -> None:
    assert copied_figures("bench: measured 2.2–2.5× and 70 ms, peak 524 MiB, about 2 %") == \
        ["2.2–2.5×", "70 ms", "524 MiB", "2 %"]
    assert copied_figures("bench: target ≤ 2×, ≤ 10× cold; 1,000,000 rows × 30 features; 16 KiB") == []
    assert copied_figures("no such word here: 2.5×") == []


def test_docs_point_at_the_results_files_instead_of_copying_figures() -> None:
    pages = [*sorted((PROJECT / "docs").rglob("*.md")), PROJECT / "README.md"]
    copied = {str(p.relative_to(PROJECT)): copied_figures(p.read_text(encoding="utf-8")) for p in pages}
    assert {page: figures for page, figures in copied.items() if figures} == {}
    development = (PROJECT / "docs" / "development.md").read_text(encoding="utf-8")
    for name in BENCHES:
        assert f"`bench/bench_{name}.py`" in development and f"`bench/results/{name}.json`" in development
