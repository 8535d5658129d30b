"""Benchmark: one reload of a ~1 MB bundle (verify + parse + contract + compile), in ms and as a ratio to a bare
``json.loads`` of the same bytes, measured in the same run.

The bundle is this project's five models plus copies of them (renamed, weights nudged) until it reaches the
size asked for. Two figures:

* core, cold: what the poll thread does with downloaded bytes when nothing is loaded yet: the TUF
  length+sha256 check against the target metadata, then ``build_snapshot`` (parse, contract check, compile
  every model with its generated code);
* core, one model changed: the same when a merge changed one model (the others' evaluators are reused);
* poll: ``WeightsClient.refresh()`` after such a publish, through HTTP on 127.0.0.1: TUF refresh of
  timestamp/snapshot/targets, download, the core, the swap and the atomic write of the cache.

    .venv/bin/python bench/bench_reload.py [--size-mb 1.0] [--repeat 7]
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "tests"))

from tuf.api.metadata import TargetFile  # noqa: E402

from publish_helpers import served  # noqa: E402
from runtime_helpers import Site, app_contracts, base_document  # noqa: E402
from validator.publish.bundle import canonical_json  # noqa: E402
from validator.runtime import WeightsClient, build_snapshot  # noqa: E402


def big_document(size: int, salt: int = 0) -> dict:
    doc = copy.deepcopy(base_document())
    originals = sorted(doc["models"].items())
    i = 0
    while len(canonical_json(doc)) < size:
        name, model = originals[i % len(originals)]
        clone = copy.deepcopy(model)
        clone["name"] = f"{name}_{i:05d}"
        if clone["kind"] == "scorecard":
            clone["intercept"] = clone["intercept"] + i * 1e-6
        doc["models"][clone["name"]] = clone
        i += 1
    doc["models"]["fraud_risk"]["intercept"] += salt * 1e-3  # a merge: one model changed
    doc["provenance"]["commit"] = f"{salt:040x}"
    return doc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    doc = big_document(int(args.size_mb * 1024 * 1024))
    data = canonical_json(doc)
    info = TargetFile.from_data("production/bundle.json", data, ["sha256"])
    contracts = app_contracts()

    def loads() -> None:
        json.loads(data)

    def core() -> None:
        info.verify_length_and_hashes(data)
        build_snapshot(data, version="1", sha256=info.hashes["sha256"], source="network", loaded_at=0.0,
                       contracts=contracts)

    def best(fn) -> float:
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    live = build_snapshot(data, version="1", sha256="x", source="network", loaded_at=0.0, contracts=contracts)
    next_data = canonical_json(big_document(len(data), salt=1))
    next_info = TargetFile.from_data("production/bundle.json", next_data, ["sha256"])

    def core_warm() -> None:
        next_info.verify_length_and_hashes(next_data)
        build_snapshot(next_data, version="2", sha256=next_info.hashes["sha256"], source="network",
                       loaded_at=0.0, contracts=contracts, previous=live)

    t_loads, t_core, t_warm = best(loads), best(core), best(core_warm)

    polls = []
    with tempfile.TemporaryDirectory() as tmp:
        site = Site(Path(tmp) / "site")
        site.publish(doc)
        with served(site.folder) as server:
            client = WeightsClient(server.url, site.root, Path(tmp) / "cache", contract=contracts)
            assert client.refresh(raise_errors=True)
            for k in range(1, args.repeat + 1):
                site.publish(big_document(len(data), salt=k))
                start = time.perf_counter()
                assert client.refresh(raise_errors=True)
                polls.append(time.perf_counter() - start)
            client.stop()
    t_poll = statistics.median(polls)
    print(f"bundle: {len(data) / 1e6:.2f} MB, {len(doc['models'])} models; best of {args.repeat} (poll: median)")
    print(f"json.loads:                                   {t_loads * 1e3:8.1f} ms")
    print(f"reload core, cold (verify+parse+compile all): {t_core * 1e3:8.1f} ms   ratio {t_core / t_loads:5.1f}x")
    print(f"reload core, one model changed:               {t_warm * 1e3:8.1f} ms   ratio {t_warm / t_loads:5.1f}x")
    print(f"poll with such a bundle over HTTP (median):   {t_poll * 1e3:8.1f} ms   ratio {t_poll / t_loads:5.1f}x")
    print(json.dumps({"bytes": len(data), "models": len(doc["models"]), "json_loads_ms": round(t_loads * 1e3, 2),
                      "core_cold_ms": round(t_core * 1e3, 2), "core_one_changed_ms": round(t_warm * 1e3, 2),
                      "poll_ms": round(t_poll * 1e3, 2), "ratio_core_cold": round(t_core / t_loads, 2),
                      "ratio_core_one_changed": round(t_warm / t_loads, 2), "ratio_poll": round(t_poll / t_loads, 2)}))


if __name__ == "__main__":
    main()
