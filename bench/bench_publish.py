"""Benchmark: ``weights publish`` of generated models, through the real command line in child processes.

Two comparisons, each alternating its two sides (harness):

* **no-op vs real** (1,000 models): a real publish builds, validates and signs the commit into a new, empty
  folder; a no-op publish of the same commit to a folder where it is already live must only load and verify
  what is live (root chain, signatures, the live bundle's bytes). Target: no-op <= 0.2x real (median ratio).
* **linearity** (1,000 vs 5,000 models): a real publish's seconds per model at each size. Target: per-model
  cost at 5,000 <= 1.5x per-model cost at 1,000. 5,000 models take about half a minute per publish on a
  2-core machine, so this comparison runs 3 rounds by default (about 3 minutes in all).

Both sides run ``python -m validator publish`` so process start-up and imports count, as they do for a user;
the keys are given as CI gives them (``WEIGHTS_KEY_<ROLE>``) with a committed ``config/root.json``. The
children run a snapshot of the package copied at the start: a no-op is only a no-op for the same builder
(``bundle.builder_id`` hashes the package), so edits to the checkout during the run would turn it into a real
publish, and one half-saved file would fail it.

    .venv/bin/python bench/bench_publish.py [--models 1000] [--large 5000] [--repeat 5] [--large-repeat 3]
"""
from __future__ import annotations

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PROJECT = BENCH.parent
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(BENCH))

from bench_validate import make_repo  # noqa: E402
from bench_validate_rev import commit_all  # noqa: E402
from harness import Bench, Run  # noqa: E402

from validator.publish.keys import ROLES, env_name  # noqa: E402
from validator.publish.repository import Expiry, init_root  # noqa: E402


def make_weights_repo(root: Path, models: int) -> dict[str, str]:
    """A committed repository of ``models`` generated models with a trust root; returns the signing env."""
    from securesystemslib.signer import CryptoSigner

    make_repo(root, models)
    signers = {role: CryptoSigner.generate_ed25519() for role in ROLES}
    (root / "config" / "root.json").write_bytes(init_root(signers, Expiry()))
    (root / ".gitignore").write_text("/.weights/\n/sites/\n")
    commit_all(root)
    return {env_name(role): signers[role].private_bytes.decode() for role in ("targets", "snapshot", "timestamp")}


def snapshot_code(dest: Path) -> Path:
    """A copy of the ``validator`` package for the children to import (see the module docstring for why)."""
    shutil.copytree(PROJECT / "validator", dest / "validator", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def publisher(root: Path, keys_env: dict[str, str], code: Path):
    """``publish(to)``: one ``weights publish --to <to>`` in a child process; fails loudly on a non-zero exit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEIGHTS_")}
    env.update(keys_env)
    env["PYTHONPATH"] = str(code) + os.pathsep + env.get("PYTHONPATH", "")

    def publish(to: Path) -> str:
        done = subprocess.run([sys.executable, "-m", "validator", "publish", "--root", str(root), "--to", str(to)],
                              check=False, cwd=code, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise SystemExit(f"weights publish failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    return publish


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--large", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--large-repeat", type=int, default=3)
    args = parser.parse_args()
    bench = Bench("publish", "weights publish: a no-op vs a real publish, and seconds per model as models grow",
                  params=vars(args))
    with tempfile.TemporaryDirectory() as tmp:
        small, large = Path(tmp, "small"), Path(tmp, "large")
        small.mkdir()
        large.mkdir()
        code = snapshot_code(Path(tmp, "code"))
        publish_small = publisher(small, make_weights_repo(small, args.models), code)
        fresh = (small / "sites" / f"real-{i}" for i in itertools.count())
        live = small / "sites" / "live"
        assert "version 1" in publish_small(live)
        assert publish_small(live).startswith("unchanged:")
        bench.compare(f"publish {args.models} models",
                      baseline=("real publish (build, validate, sign, write)", lambda: publish_small(next(fresh))),
                      candidate=("no-op publish (same commit already live)", lambda: publish_small(live)),
                      target=0.2, repeat=args.repeat, warmup=1)

        publish_large = publisher(large, make_weights_repo(large, args.large), code)
        fresh_large = (large / "sites" / f"real-{i}" for i in itertools.count())

        def per_model(publish, sites, models: int):
            def run() -> Run:
                start = time.perf_counter()
                publish(next(sites))
                return Run((time.perf_counter() - start) / models)
            return run

        bench.compare(f"seconds per model, {args.models} vs {args.large} models (real publish)",
                      baseline=(f"{args.models} models, per model", per_model(publish_small, fresh, args.models)),
                      candidate=(f"{args.large} models, per model", per_model(publish_large, fresh_large, args.large)),
                      target=1.5, repeat=args.large_repeat, warmup=0)
    return bench.finish()


if __name__ == "__main__":
    raise SystemExit(main())
