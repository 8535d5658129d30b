"""Benchmark: validate 1,000 generated model files, as a ratio to a bare libyaml parse of the same files.

    .venv/bin/python bench/bench_validate.py [--files 1000] [--repeat 7]

Both sides are measured in the same run on the same files (read from disk each time), alternating baseline and
candidate after a warm-up (bench/harness.py), so the ratio holds on a shared, noisy machine where absolute times
do not:

- baseline: ``yaml.load(bytes, Loader=yaml.CSafeLoader)`` of every model file the gate reads — libyaml's C
  parser and composer, and PyYAML's constructor into plain Python values: what a program that just reads the
  files pays;
- candidate: ``validate()`` of the repository — the gate's positioned loader, JSON Schema, every semantic rule,
  the contracts and the compile of every model.

Target: the median validate time at most 2x the median bare parse. A second, informational comparison uses
``yaml.compose`` with the C loader (the node tree alone, no Python values) as the baseline: the floor under
the gate's own loader, which composes with libyaml and builds the values itself with positions.
Figures: ``bench/results/validate.json``.
"""
from __future__ import annotations

import argparse
import copy
import random
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from harness import Bench  # noqa: E402

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


DATA_SUFFIXES = (".csv", ".parquet")


def make_repo(folder: Path, n_files: int, seed: int = 0) -> list[Path]:
    """A copy of the project's config and weights plus ``n_files`` perturbed copies of its model files.

    Models whose rows live in a data file beside the YAML (the ``table`` kind) are left out: validating them
    reads the data file, which would measure CSV reading against a YAML parse that never sees it.
    """
    rng = random.Random(seed)
    shutil.copytree(PROJECT / "config", folder / "config")
    shutil.copytree(PROJECT / "weights", folder / "weights")
    with_data = {p.stem for p in (folder / "weights").iterdir() if p.suffix in DATA_SUFFIXES}
    for stem in with_data:
        for path in (folder / "weights").glob(f"{stem}.*"):
            path.unlink()
    examples = {p.stem: yaml.safe_load(p.read_text()) for p in sorted((folder / "weights").glob("*.yaml"))}
    contracts = {p.stem: yaml.safe_load(p.read_text()) for p in (folder / "config" / "contracts").glob("*.yaml")}
    for contract in contracts.values():
        contract["models"] = [m for m in contract.get("models", []) if m not in with_data]
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
        text = yaml.dump(contract, Dumper=_NoAliases, sort_keys=False)
        (folder / "config" / "contracts" / f"{stem}.yaml").write_text(text)
    return paths


def bare_parse(paths: list[Path]) -> None:
    for path in paths:
        yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)


def bare_compose(paths: list[Path]) -> None:
    for path in paths:
        yaml.compose(path.read_bytes(), Loader=yaml.CSafeLoader)


TARGET = 2.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_repo(root, args.files)
        paths = sorted((root / "weights").glob("*.yaml"))  # every model file validate reads
        source = WorkTree(root)
        result = validate(source)
        assert result.ok, [f.render() for f in result.findings[:5]]
        assert len(result.models) == len(paths), (len(result.models), len(paths))
        bench = Bench("validate", "weights validate vs a bare libyaml parse of the same model files",
                      params={"files": len(paths), "generated": args.files, "repeat": args.repeat,
                              "bytes": sum(p.stat().st_size for p in paths)})
        bench.compare("full gate vs yaml.load (CSafeLoader)", target=TARGET, repeat=args.repeat, warmup=1,
                      baseline=("yaml.load, CSafeLoader", lambda: bare_parse(paths)),
                      candidate=("weights validate (full gate)", lambda: validate(source)))
        bench.compare("full gate vs yaml.compose (CSafeLoader), informational", target=None, repeat=args.repeat,
                      warmup=1, baseline=("yaml.compose, CSafeLoader", lambda: bare_compose(paths)),
                      candidate=("weights validate (full gate)", lambda: validate(source)))
    return bench.finish()


if __name__ == "__main__":
    raise SystemExit(main())
