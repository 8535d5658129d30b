"""The ``weights`` command line: a thin layer over the library (``validator.api`` and the gate/publish packages).

``main`` imports every command module (each registers its commands on the group in ``validator.cli.app``), then
runs the group. Tests call ``main([...])`` or the library directly.

The console script is installed with the base distribution, which an app installs for ``WeightsClient`` and
which has none of the CLI's dependencies (click, rich, ...: the ``[gate]`` extra). So this package imports
nothing at import time: ``main`` imports the commands, and a missing optional module becomes one line naming it
and the extra to install, exit 2 (``validator.extras``), never a traceback. ``cli`` (the click group, for tests
and tools that inspect it) is resolved on first access for the same reason.
"""
from __future__ import annotations

import sys
from typing import Any, NoReturn, Sequence

from validator.extras import COMMAND_EXTRAS, MissingExtra, missing_extra

EXIT_USAGE = 2  # validator.cli.app.EXIT_USAGE, which cannot be imported without click


def _register() -> None:
    """Import the command modules; importing one registers its commands on the group."""
    from validator.cli import (  # noqa: F401 - register
        agent_commands,
        check_commands,
        data_commands,
        explain_commands,
        model_commands,
        publish_commands,
        rollout_commands,
        scaffold_commands,
        score_commands,
    )


def _refuse(problem: MissingExtra) -> NoReturn:
    print(f"weights: {problem}", file=sys.stderr)
    sys.exit(EXIT_USAGE)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script ``weights`` (and of ``python -m validator``)."""
    try:
        _register()
        from validator.cli.app import run
    except (MissingExtra, ModuleNotFoundError) as exc:
        problem = missing_extra(exc, feature="the weights command line")
        if problem is None:
            raise
        command = _command(sys.argv[1:] if argv is None else argv)
        if command in COMMAND_EXTRAS:
            problem = MissingExtra(COMMAND_EXTRAS[command], problem.module, f"weights {command}")
        _refuse(problem)
    run(argv)


def _command(argv: Sequence[str]) -> str | None:
    """The command asked for (the first argument that is not an option), to name its extra; None if none."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def __getattr__(name: str) -> Any:
    """``validator.cli.cli``: the click group with every command registered (imports click on first use)."""
    if name == "cli":
        _register()
        from validator.cli.app import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["cli", "main"]
