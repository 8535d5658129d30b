"""Whether the suite runs on CI, and what a test does when a tool it needs is not installed.

On CI (the CI environment variable set to anything but empty/0/false/no, as GitHub Actions and ``.ci/run`` set
it) every tool the suite uses was installed by ``.ci/run``, which fails when it cannot install one; a test that
still cannot find its tool fails, because a skip there would hide exactly the breakage CI exists to catch.
On a developer's machine a missing optional tool (Node packages, say) skips the test with a message saying
how to install it.
"""
from __future__ import annotations

import os

import pytest


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def tool_missing(message: str) -> None:
    """Stop the test because a tool is not installed: a failure on CI, a skip (with ``message``) elsewhere."""
    if running_in_ci():
        pytest.fail(f"{message} (CI installs every tool the suite needs: see .ci/run)", pytrace=False)
    pytest.skip(message)
