"""Benchmark: one reload of a ~1 MB bundle (~500 models) as a ratio to a bare ``json.loads`` of the same bytes.

    .venv/bin/python bench/bench_reload.py [--size-mb 1.0] [--repeat 9]

The bundle is this project's five models plus copies of them (renamed, weights nudged) until it reaches the
size asked for. Baseline and candidate alternate after a warm-up (bench/harness.py); the targets apply to the
median ratios:

* cold (target <= 10x): what the poll thread does with downloaded bytes when nothing is loaded yet: the TUF
  length+sha256 check against the target metadata, then ``build_snapshot`` (parse, contract check, compile
  every model; request-path code is generated on each model's first call, see validator/runtime/snapshot.py);
* one model changed (target <= 2x): the same when a merge changed one model (the others' evaluators are
  reused, keyed by their exact text in the bundle);
* informational, no target: cold plus the first call of every model (the code generation a reload used to do
  up front: the work an app that uses every model still does, spread over first requests), and a poll
  (``WeightsClient.refresh()`` after a publish, through HTTP on 127.0.0.1: TUF refresh of
  timestamp/snapshot/targets, download, the core, the swap and the atomic write of the cache; the publish
  itself is not timed).

Figures: ``bench/results/reload.json``.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "tests"))

from harness import Bench, Run  # noqa: E402
from publish_helpers import served  # noqa: E402
from runtime_helpers import Site, base_document  # noqa: E402
from tuf.api.metadata import TargetFile  # noqa: E402

from validator.kinds.contract import Contract  # noqa: E402
from validator.publish.bundle import canonical_json  # noqa: E402
from validator.runtime import WeightsClient, build_snapshot  # noqa: E402

COLD_TARGET = 10.0
ONE_CHANGED_TARGET = 2.0


# Models larger than this (a ``table`` kind's keyed scores: a data file, not a formula) are left out of the bench
# bundle, whose point is many formula models; their reload cost is their JSON parse.
MAX_MODEL_BYTES = 64 * 1024


def bench_base() -> tuple[dict[str, Any], list[str]]:
    """The project's bundle without its data-table models (and without them in the contracts' model lists)."""
    doc = copy.deepcopy(base_document())
    dropped = sorted(n for n, m in doc["models"].items() if len(canonical_json(m)) > MAX_MODEL_BYTES)
    for name in dropped:
        del doc["models"][name]
    for contract in doc["contracts"].values():
        contract["models"] = [m for m in contract.get("models", []) if m not in dropped]
    return doc, dropped


def big_document(size: int, salt: int = 0) -> dict[str, Any]:
    """The bench base plus renamed copies of its models until its canonical JSON reaches ``size`` bytes."""
    doc, _ = bench_base()
    originals = sorted(doc["models"].items())
    total, i = len(canonical_json(doc)), 0
    while total < size:
        name, model = originals[i % len(originals)]
        clone = copy.deepcopy(model)
        clone["name"] = f"{name}_{i:05d}"
        if clone["kind"] == "scorecard":
            clone["intercept"] = clone["intercept"] + i * 1e-6
        doc["models"][clone["name"]] = clone
        total += len(canonical_json({clone["name"]: clone})) - 1  # the member and its comma
        i += 1
    doc["models"]["fraud_risk"]["intercept"] += salt * 1e-3  # a merge: one model changed
    doc["provenance"]["commit"] = f"{salt:040x}"
    return doc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    doc = big_document(int(args.size_mb * 1024 * 1024))
    data = canonical_json(doc)
    info = TargetFile.from_data("production/bundle.json", data, ["sha256"])
    contracts = [Contract.from_dict(name, c) for name, c in sorted(doc["contracts"].items())]
    bench = Bench("reload", "one reload of a ~1 MB bundle vs json.loads of the same bytes",
                  params={"bytes": len(data), "models": len(doc["models"]), "repeat": args.repeat,
                          "left_out_data_tables": bench_base()[1]})

    def loads() -> None:
        json.loads(data)

    def core() -> Any:
        info.verify_length_and_hashes(data)
        return build_snapshot(data, version="1", sha256=info.hashes["sha256"], source="network", loaded_at=0.0,
                              contracts=contracts)

    def core_and_first_calls() -> None:
        for evaluator in core().models.values():
            prepare = getattr(evaluator, "prepare", None)
            if prepare is not None:
                prepare()

    live = core()
    next_data = canonical_json(big_document(len(data), salt=1))
    next_info = TargetFile.from_data("production/bundle.json", next_data, ["sha256"])

    def next_loads() -> None:
        json.loads(next_data)

    def core_one_changed() -> None:
        next_info.verify_length_and_hashes(next_data)
        build_snapshot(next_data, version="2", sha256=next_info.hashes["sha256"], source="network",
                       loaded_at=0.0, contracts=contracts, previous=live)

    bench.compare("cold: verify + parse + contract + compile", target=COLD_TARGET, repeat=args.repeat,
                  baseline=("json.loads", loads), candidate=("reload core, cold", core))
    bench.compare("one model changed", target=ONE_CHANGED_TARGET, repeat=args.repeat,
                  baseline=("json.loads", next_loads), candidate=("reload core, one model changed", core_one_changed))
    bench.compare("informational: cold + first call of every model", target=None, repeat=args.repeat,
                  baseline=("json.loads", loads),
                  candidate=("reload core, cold, then prepare all", core_and_first_calls))

    with tempfile.TemporaryDirectory() as tmp:
        site = Site(Path(tmp) / "site")
        site.publish(doc)
        with served(site.folder) as server:
            client = WeightsClient(server.url, site.root, Path(tmp) / "cache", contract=contracts)
            assert client.refresh(raise_errors=True)
            salt = iter(range(1, 10_000))

            def poll() -> Run:
                site.publish(big_document(len(data), salt=next(salt)))  # not timed
                start = time.perf_counter()
                assert client.refresh(raise_errors=True)
                return Run(time.perf_counter() - start)

            bench.compare("informational: poll over HTTP after a publish", target=None, repeat=args.repeat,
                          baseline=("json.loads", loads), candidate=("WeightsClient.refresh()", poll))
            client.stop()
    return bench.finish()


if __name__ == "__main__":
    raise SystemExit(main())
