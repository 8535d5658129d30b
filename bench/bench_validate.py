"""Benchmark: validate 1,000 generated model files, as a ratio to a bare libyaml parse of the same files.

Both sides are measured in the same run on the same files (read from disk each time), so the ratio holds on
a shared, noisy machine where absolute times do not. Target (issue 2): at most 3x.

    .venv/bin/python bench/bench_validate.py [--files 1000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import copy
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from validator.gate.sources import WorkTree  # noqa: E402
from validator.gate.validate import validate  # noqa: E402


def _perturb(value, rng: random.Random):
    """Nudge every float so files differ (no parse caching) while staying valid."""
    if isinstance(value, dict):
        return {k: _perturb(v, rng) if k not in ("below", "from", "to", "center", "scale", "share", "floor") else v
                for k, v in value.items()}
    if isinstance(value, list):
        return [_perturb(v, rng) for v in value]
    if isinstance(value, float):
        return round(value * (1 + rng.uniform(-0.01, 0.01)), 6)
    return value


class _NoAliases(yaml.SafeDumper):
    """The gate refuses anchors/aliases, so the generated files write shared values out in full."""

    def ignore_aliases(self, data) -> bool:  # type: ignore[override]
        return True


def make_repo(folder: Path, n_files: int, seed: int = 0) -> list[Path]:
    rng = random.Random(seed)
    shutil.copytree(PROJECT / "config", folder / "config")
    shutil.copytree(PROJECT / "weights", folder / "weights")
    examples = {p.stem: yaml.safe_load(p.read_text()) for p in sorted((PROJECT / "weights").glob("*.yaml"))}
    contracts = {p.stem: yaml.safe_load(p.read_text()) for p in (folder / "config" / "contracts").glob("*.yaml")}
    paths = []
    stems = sorted(examples)
    for i in range(n_files):
        stem = stems[i % len(stems)]
        data = _perturb(copy.deepcopy(examples[stem]), rng)
        name = f"{stem}_{i:04d}"
        data["name"] = name
        contract = contracts[data["contract"]]
        contract["models"].append(name)
        if stem in contract.get("outputs", {}):
            contract["outputs"][name] = copy.deepcopy(contract["outputs"][stem])
        path = folder / "weights" / f"{name}.yaml"
        path.write_text(yaml.dump(data, Dumper=_NoAliases, sort_keys=False), encoding="utf-8")
        paths.append(path)
    for stem, contract in contracts.items():
        (folder / "config" / "contracts" / f"{stem}.yaml").write_text(yaml.dump(contract, Dumper=_NoAliases, sort_keys=False))
    return paths


def bare_parse(paths: list[Path]) -> None:
    for path in paths:
        yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = make_repo(root, args.files)
        source = WorkTree(root)
        result = validate(source)
        assert result.ok, [f.render() for f in result.findings[:5]]
        assert len(result.models) == args.files + len(list((PROJECT / 'weights').glob('*.yaml'))), len(result.models)
        base, ours = [], []
        for _ in range(args.repeat):  # interleaved, so drift in machine load hits both sides alike
            start = time.perf_counter()
            bare_parse(paths)
            base.append(time.perf_counter() - start)
            start = time.perf_counter()
            validate(source)
            ours.append(time.perf_counter() - start)
        b, o = statistics.median(base), statistics.median(ours)
        print(f"files: {args.files}, bytes: {sum(p.stat().st_size for p in paths):,}")
        print(f"bare libyaml parse (CSafeLoader): {b * 1000:8.1f} ms (median of {args.repeat})")
        print(f"weights validate (full gate):     {o * 1000:8.1f} ms (median of {args.repeat})")
        print(f"ratio validate / bare parse: {o / b:.2f}x (target <= 3x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
