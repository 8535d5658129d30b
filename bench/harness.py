"""The shared harness of the benches: baseline and candidate measured alternately in one run, judged on ratios.

Why ratios: absolute times on a shared, noisy CI machine mean little, but the ratio of two computations measured
side by side in the same process, interleaved (A B A B ...), holds — drift in machine load hits both sides alike.

How a bench uses it::

    from harness import Bench

    bench = Bench("validate", "weights validate vs a bare libyaml parse", params={"files": 1000})
    bench.compare("full gate", baseline=("bare libyaml parse", parse), candidate=("weights validate", run),
                  target=2.0, repeat=7, warmup=1)
    raise SystemExit(bench.finish())

* ``compare`` runs ``warmup`` untimed rounds of each side, then ``repeat`` rounds of baseline, candidate,
  baseline, candidate ... and records each run's seconds (``time.perf_counter`` around the call). A side may
  instead measure itself (e.g. in a child process, so its peak RSS is its own) by returning a :class:`Run`;
  the harness then records that run's seconds and peak bytes as given.
* ``memory=True`` adds one untimed run of each side under ``tracemalloc`` (numpy reports its buffers to it;
  Arrow's C++ allocations are not seen: benches that need those measure RSS in a child and return a ``Run``).
* Figures per side: every run's seconds, min and median. The ratio is candidate/baseline, on the medians and on
  the mins. **The target applies to the median ratio** (the verdict); the min ratio is printed and stored too,
  as the least noisy reading of the two computations' cost.
* ``interval`` records a distribution that is not a ratio (``bench_propagation``: delays in poll intervals):
  p50, p99, max, with an optional bound on one of them.
* ``finish`` prints a table, writes ``bench/results/<name>.json`` (figures, targets, verdicts, parameters,
  machine: python, numpy, cpu count, platform; a UTC timestamp) and returns the exit code: 1 when any target
  is missed, else 0. The docs quote these files rather than copying numbers.

The statistics (:func:`summarize`, :func:`judge`, :func:`percentile`) are pure functions, and ``compare`` takes
its clock as a parameter, so the tests check the logic on fake timings without reading a wall clock.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Run:
    """One run that measured itself (in a child process, say): its seconds and, if known, its peak bytes."""

    seconds: float
    peak_bytes: int | None = None


@dataclass(frozen=True)
class Side:
    """Every run of one side of a comparison, and the summary the verdict is taken from."""

    label: str
    seconds: tuple[float, ...]
    peak_bytes: int | None = None

    @property
    def min(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "runs": len(self.seconds), "seconds": [round(s, 6) for s in self.seconds],
                "min_s": round(self.min, 6), "median_s": round(self.median, 6), "peak_bytes": self.peak_bytes}


@dataclass(frozen=True)
class Comparison:
    """Baseline vs candidate with the target on the median ratio; ``passed`` is the verdict."""

    name: str
    baseline: Side
    candidate: Side
    target: float | None

    @property
    def ratio_median(self) -> float:
        return self.candidate.median / self.baseline.median

    @property
    def ratio_min(self) -> float:
        return self.candidate.min / self.baseline.min

    @property
    def passed(self) -> bool:
        return judge(self.ratio_median, self.target)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "baseline": self.baseline.as_dict(), "candidate": self.candidate.as_dict(),
                "ratio_median": round(self.ratio_median, 4), "ratio_min": round(self.ratio_min, 4),
                "target": None if self.target is None else {"max_ratio": self.target, "applies_to": "ratio_median"},
                "verdict": verdict_word(self.passed, self.target)}


@dataclass(frozen=True)
class Interval:
    """A distribution that is not a ratio (e.g. reload delays in poll intervals), with an optional bound."""

    name: str
    unit: str
    values: tuple[float, ...]
    target: float | None = None
    target_on: str = "p99"

    def summary(self) -> dict[str, float]:
        return {"p50": percentile(self.values, 0.5), "p99": percentile(self.values, 0.99),
                "max": max(self.values), "mean": statistics.mean(self.values)}

    @property
    def passed(self) -> bool:
        return judge(self.summary()[self.target_on], self.target)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "unit": self.unit, "count": len(self.values),
                **{k: round(v, 4) for k, v in self.summary().items()},
                "target": None if self.target is None else {"max": self.target, "applies_to": self.target_on},
                "verdict": verdict_word(self.passed, self.target)}


def judge(value: float, target: float | None) -> bool:
    """A figure meets its target when it is at most the target; no target is never a failure."""
    return target is None or value <= target


def verdict_word(passed: bool, target: float | None) -> str:
    return "no target" if target is None else "pass" if passed else "FAIL"


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), without importing numpy."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summarize(name: str, baseline: Side, candidate: Side, target: float | None) -> Comparison:
    return Comparison(name, baseline, candidate, target)


def machine() -> dict[str, Any]:
    try:
        import numpy
        numpy_version: str | None = numpy.__version__
    except ImportError:
        numpy_version = None
    return {"python": platform.python_version(), "numpy": numpy_version, "cpu_count": os.cpu_count(),
            "platform": platform.platform(), "implementation": platform.python_implementation()}


def _peak_traced(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def alternate(baseline: Callable[[], object], candidate: Callable[[], object], *, repeat: int, warmup: int = 1,
              clock: Callable[[], float] = time.perf_counter) -> tuple[list[Run], list[Run]]:
    """Warm-up rounds untimed, then B C B C ...; a side that returns a :class:`Run` reports its own figures."""
    if repeat < 1:
        raise ValueError("repeat must be at least 1")
    for _ in range(warmup):
        baseline()
        candidate()
    runs: tuple[list[Run], list[Run]] = ([], [])
    for _ in range(repeat):
        for fn, into in ((baseline, runs[0]), (candidate, runs[1])):
            start = clock()
            out = fn()
            elapsed = clock() - start
            into.append(out if isinstance(out, Run) else Run(elapsed))
    return runs


def _side(label: str, runs: list[Run], traced_peak: int | None) -> Side:
    peaks = [r.peak_bytes for r in runs if r.peak_bytes is not None]
    return Side(label, tuple(r.seconds for r in runs), max(peaks) if peaks else traced_peak)


@dataclass
class Bench:
    """One bench's figures, written to ``bench/results/<name>.json`` by :meth:`finish`."""

    name: str
    description: str
    params: dict[str, Any] = field(default_factory=dict)
    results_dir: Path = RESULTS
    comparisons: list[Comparison] = field(default_factory=list)
    intervals: list[Interval] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def compare(self, name: str, *, baseline: tuple[str, Callable[[], object]],
                candidate: tuple[str, Callable[[], object]], target: float | None, repeat: int = 7,
                warmup: int = 1, memory: bool = False,
                clock: Callable[[], float] = time.perf_counter) -> Comparison:
        base_runs, cand_runs = alternate(baseline[1], candidate[1], repeat=repeat, warmup=warmup, clock=clock)
        base_peak = _peak_traced(baseline[1]) if memory else None
        cand_peak = _peak_traced(candidate[1]) if memory else None
        comparison = summarize(name, _side(baseline[0], base_runs, base_peak),
                               _side(candidate[0], cand_runs, cand_peak), target)
        self.comparisons.append(comparison)
        return comparison

    def interval(self, name: str, unit: str, values: Sequence[float], *, target: float | None = None,
                 target_on: str = "p99") -> Interval:
        if not values:
            raise ValueError(f"{name}: no values to summarize")
        item = Interval(name, unit, tuple(values), target, target_on)
        self.intervals.append(item)
        return item

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.comparisons) and all(i.passed for i in self.intervals)

    def as_dict(self, now: _dt.datetime | None = None) -> dict[str, Any]:
        stamp = (now or _dt.datetime.now(_dt.timezone.utc)).isoformat(timespec="seconds")
        return {"format_version": FORMAT_VERSION, "bench": self.name, "description": self.description,
                "timestamp": stamp, "machine": machine(), "params": self.params, "notes": self.notes,
                "comparisons": [c.as_dict() for c in self.comparisons],
                "intervals": [i.as_dict() for i in self.intervals],
                "verdict": "pass" if self.passed else "FAIL"}

    def table(self) -> str:
        lines = [f"{self.name}: {self.description}"]
        for c in self.comparisons:
            lines.append(f"  {c.name}")
            for side in (c.baseline, c.candidate):
                peak = "" if side.peak_bytes is None else f"   peak {side.peak_bytes / 2**20:8.1f} MiB"
                lines.append(f"    {side.label:<44} min {_ms(side.min)}  median {_ms(side.median)}"
                             f"  ({len(side.seconds)} runs){peak}")
            goal = "" if c.target is None else f"   target <= {c.target:g}x on the median"
            lines.append(f"    ratio: median {c.ratio_median:.2f}x  min {c.ratio_min:.2f}x{goal}"
                         f"   -> {verdict_word(c.passed, c.target)}")
        for i in self.intervals:
            s = i.summary()
            goal = "" if i.target is None else f"   target {i.target_on} <= {i.target:g}"
            lines.append(f"  {i.name} ({i.unit}, {len(i.values)} values): p50 {s['p50']:.3f}  p99 {s['p99']:.3f}"
                         f"  max {s['max']:.3f}  mean {s['mean']:.3f}{goal}   -> {verdict_word(i.passed, i.target)}")
        lines.append(f"verdict: {'pass' if self.passed else 'FAIL'}")
        return "\n".join(lines)

    def write(self, now: _dt.datetime | None = None) -> Path:
        self.results_dir.mkdir(parents=True, exist_ok=True)
        path = self.results_dir / f"{self.name}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.as_dict(now), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path

    def finish(self, out: Any = None) -> int:
        """Print the table, write the JSON, and return the exit code (1 when a target is missed)."""
        stream = out or sys.stdout
        print(self.table(), file=stream)
        path = self.write()
        print(f"figures written to {_shown(path)}", file=stream)
        return 0 if self.passed else 1


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:10.2f} ms"


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
