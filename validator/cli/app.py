"""The ``weights`` group, its shared options and the one place that maps outcomes to exit codes.

Command modules import this module and register on ``cli``; this module imports none of them, so there is no
import circle. ``validator.cli.main`` imports the command modules, then calls ``run``.

Exit codes: 0 every gate passes, 1 a gate failed (findings), 2 usage or environment error, 3 an unexpected
internal error (one line on screen, the traceback in a log file).
"""
from __future__ import annotations

import datetime as _dt
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Sequence

import click

from validator import __version__
from validator.extras import missing_extra

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class EnvironmentProblem(click.ClickException):
    """The command cannot run here (no repository, bad revision, unreadable settings): exit 2."""

    exit_code = EXIT_USAGE


def _root(root: str | None) -> Path:
    from validator.api import repository_root
    from validator.gate.sources import SourceError

    try:
        return repository_root(root)
    except SourceError as exc:
        raise EnvironmentProblem(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="weights")
def cli() -> None:
    """Scoring weights and thresholds as code: validate, test, simulate, publish."""


_root_option = click.option("--root", type=click.Path(file_okay=False), default=None,
                            help="The weights repository (default: the one holding the current folder).")


def _log_crash() -> Path:
    folder = Path(os.environ.get("WEIGHTS_LOG_DIR") or Path(tempfile.gettempdir()) / "weights-logs")
    folder.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    path = folder / f"crash-{stamp}-{os.getpid()}.log"
    path.write_text(f"weights {__version__} {' '.join(sys.argv)}\n{traceback.format_exc()}", encoding="utf-8")
    return path


def run(argv: Sequence[str] | None = None) -> None:
    """Run the group with every command registered; the only place that turns outcomes into exit codes."""
    try:
        code = cli.main(args=list(argv) if argv is not None else None, prog_name="weights", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.UsageError as exc:
        exc.show()
        code = EXIT_USAGE
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        code = EXIT_USAGE
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:  # noqa: BLE001 - the one place that catches everything
        problem = missing_extra(exc)
        if problem is not None:  # an optional dependency is not installed: say which extra, exit 2
            click.echo(f"weights: {problem}", err=True)
            sys.exit(EXIT_USAGE)
        try:
            log = _log_crash()
            where = f"the traceback is in {log}"
        except OSError:
            where = "the traceback could not be written to a log file"
        click.echo(f"weights: internal error: {type(exc).__name__}: {exc} ({where}; please report it)", err=True)
        code = EXIT_INTERNAL
    sys.exit(code if isinstance(code, int) else EXIT_OK)
