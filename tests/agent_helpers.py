"""Helpers for the tests that run ``weights agent`` (and ``weights serve``) as real child processes."""
from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from publish_helpers import PROJECT, served
from runtime_helpers import Site

WAIT = 120.0  # upper bound of every wait on a child; only a child that never gets there fails
CONTRACTS = [PROJECT / "config" / "contracts" / "checkout.yaml", PROJECT / "config" / "contracts" / "search.yaml"]
AGENT_LINE = r"serving (http://127\.0\.0\.1:\d+/)"


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll ``predicate`` until it is truthy (returned); fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"{what}: not within {timeout} s")


def read_url(child: subprocess.Popen, pattern: str) -> str:
    """The URL in the child's first line of output; fails (not hangs) if it prints nothing or exits."""
    assert child.stdout is not None and child.stderr is not None
    with selectors.DefaultSelector() as selector:
        selector.register(child.stdout, selectors.EVENT_READ)
        if not selector.select(WAIT):
            raise AssertionError(f"no line from {child.args} in {WAIT} s")
    line = child.stdout.readline()
    match = re.search(pattern, line)
    if not match:
        if not line:  # the child closed its output: it is exiting, and stderr says why
            child.wait(timeout=WAIT)
        raise AssertionError(f"{line!r}; stderr: {child.stderr.read() if child.poll() is not None else ''}")
    return match.group(1)


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    """``weights ARGS`` in a child process with a clean ``WEIGHTS_*`` environment plus ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WEIGHTS_")}
    clean["PYTHONPATH"] = str(PROJECT) + os.pathsep + clean.get("PYTHONPATH", "")
    return subprocess.Popen([sys.executable, "-m", "validator", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**clean, **(env or {})})


def stop(child: subprocess.Popen) -> tuple[int, str]:
    """SIGTERM, then the exit code and stderr (killed, and the test failed, if it does not exit)."""
    assert child.stderr is not None
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
    try:
        code = child.wait(timeout=WAIT)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        raise
    return code, child.stderr.read()


def kill(*children: subprocess.Popen | None) -> None:
    for child in children:
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()


def agent_args(url: str, site: Site, tmp: Path) -> list[str]:
    (tmp / "root.json").write_bytes(site.root)
    contracts: list[str] = []
    for path in CONTRACTS:
        contracts += ["--contract", str(path)]
    return ["agent", "--url", url, "--root", str(tmp / "root.json"), "--cache-dir", str(tmp / "agent-cache"),
            "--port", "0", "--interval", "0.1", *contracts]


@contextlib.contextmanager
def agent_for(site: Site, tmp: Path) -> Iterator[str]:
    """A real agent process polling ``site`` (served in this process); yields its URL, stops it with SIGTERM."""
    with served(site.folder) as server:
        agent = start(agent_args(server.url, site, tmp))
        try:
            url = read_url(agent, AGENT_LINE)
            yield url
            code, err = stop(agent)
            assert code == 0 and "Traceback" not in err, err
        finally:
            kill(agent)
