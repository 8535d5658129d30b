"""The ``weights`` command line: a thin layer over the library (``validator.api`` and the gate/publish packages).

``main`` imports every command module (each registers its commands on the group in ``validator.cli.app``), then
runs the group. Tests call ``main([...])`` or the library directly.
"""
from __future__ import annotations

from typing import Sequence

from validator.cli import (  # noqa: F401 - register
    agent_commands,
    check_commands,
    data_commands,
    explain_commands,
    model_commands,
    publish_commands,
    scaffold_commands,
    score_commands,
)
from validator.cli.app import cli, run


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script ``weights``."""
    run(argv)


__all__ = ["cli", "main"]
