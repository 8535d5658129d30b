"""Benchmark: validate a git revision vs the work tree of the same 1,000 generated model files.

Both sides run the full gate (``validate``) in this process on the same files, alternately (harness); the
revision side reads every file from git's object database (``GitRevision``, a new one each run so nothing is
cached across runs). Target: the revision costs at most 1.5x the work tree (the median ratio).

    .venv/bin/python bench/bench_validate_rev.py [--files 1000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from bench_validate import make_repo  # noqa: E402
from harness import Bench  # noqa: E402

from validator.gate.sources import GitRevision, WorkTree  # noqa: E402
from validator.gate.validate import validate  # noqa: E402

GIT_ENV = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com", "GIT_COMMITTER_NAME": "Bench",
           "GIT_COMMITTER_EMAIL": "bench@example.com", "GIT_CONFIG_NOSYSTEM": "1"}


def commit_all(root: Path) -> None:
    """A git repository at ``root`` whose HEAD holds exactly the work tree."""
    env = {**os.environ, **GIT_ENV, "HOME": str(root)}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["-c", "commit.gpgsign=false", "commit", "-qm", "bench"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    bench = Bench("validate_rev", "validate a git revision vs the work tree, same files",
                  params={"files": args.files, "repeat": args.repeat})
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_repo(root, args.files)
        commit_all(root)
        tree, rev = validate(WorkTree(root)), validate(GitRevision(root, "HEAD"))
        assert tree.ok and rev.ok, [f.render() for f in [*tree.findings, *rev.findings][:5]]
        assert sorted(tree.models) == sorted(rev.models) and len(rev.models) >= args.files
        bench.notes["models"] = len(rev.models)
        bench.compare(f"validate {len(rev.models)} models",
                      baseline=("work tree (WorkTree)", lambda: validate(WorkTree(root))),
                      candidate=("git revision HEAD (GitRevision)", lambda: validate(GitRevision(root, "HEAD"))),
                      target=1.5, repeat=args.repeat, warmup=1)
    return bench.finish()


if __name__ == "__main__":
    raise SystemExit(main())
