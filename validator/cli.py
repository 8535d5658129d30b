"""The ``weights`` command: click parses options, the library does the work, one place maps exit codes.

Exit codes: 0 every gate passes, 1 a gate failed (findings), 2 usage or environment error, 3 an unexpected
internal error (one line on screen, the traceback in a log file).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any, Sequence

import click

from . import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class EnvironmentProblem(click.ClickException):
    """The command cannot run here (no repository, bad revision, unreadable settings): exit 2."""

    exit_code = EXIT_USAGE


def _root(root: str | None) -> Path:
    from .api import repository_root
    from .sources import SourceError

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


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default=None,
              help="Report format (default: github inside GitHub Actions, else text).")
@click.option("--rev", default=None, help="Validate a git revision instead of the work tree (e.g. main).")
@_root_option
def validate(paths: Sequence[str], fmt: str | None, rev: str | None, root: str | None) -> int:
    """Check model files and contracts: YAML, schema, semantic rules, the app contract."""
    from .api import validate_paths
    from .reporters import REPORTERS, default_format
    from .settings import SettingsError
    from .sources import SourceError

    repo = _root(root)
    relative = []
    for p in paths:
        absolute = Path(p).resolve()
        if rev is None and not absolute.exists():
            raise click.BadParameter(f"{p} does not exist", param_hint="PATHS")
        try:
            relative.append(absolute.relative_to(repo).as_posix())
        except ValueError:
            raise click.BadParameter(f"{p} is outside the weights repository {repo}", param_hint="PATHS") from None
    try:
        result = validate_paths(repo, relative or None, rev)
    except (SourceError, SettingsError) as exc:
        raise EnvironmentProblem(str(exc)) from None
    if paths and not result.files:
        raise click.BadParameter("no model or contract files under the given paths", param_hint="PATHS")
    REPORTERS[fmt or default_format()](result.findings, result.files, sys.stdout)
    return EXIT_OK if result.ok else EXIT_FAILED


@cli.command("eval")
@click.argument("model")
@click.argument("inputs", default="-")
@_root_option
def evaluate(model: str, inputs: str, root: str | None) -> int:
    """Evaluate MODEL from the work tree on INPUTS (JSON text, or - for stdin) and print the result as JSON.

    A scorecard or segments model takes one JSON object; a ranking model takes a list of items; a bandit
    model takes {"seed": N} (or nothing).
    """
    from .api import ValidationFailed, load_models
    from .models import InputError
    from .settings import SettingsError
    from .sources import SourceError

    repo = _root(root)
    try:
        models = load_models(repo)
    except ValidationFailed as exc:
        raise EnvironmentProblem(f"the weights do not validate; run weights validate\n{exc}") from None
    except (SettingsError, SourceError) as exc:
        raise EnvironmentProblem(str(exc)) from None
    if model not in models:
        raise click.BadParameter(f"no model {model!r}; models: {', '.join(sorted(models))}", param_hint="MODEL")
    text = sys.stdin.read() if inputs == "-" else inputs
    try:
        payload: Any = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="INPUTS") from None
    evaluator = models[model]
    try:
        if evaluator.kind == "scorecard":
            result = evaluator.score(payload)
        elif evaluator.kind == "ranking":
            result = evaluator.rank(payload)
        elif evaluator.kind == "bandit":
            result = evaluator.choose(seed=payload.get("seed") if isinstance(payload, dict) else None)
        else:
            result = evaluator.assign(payload)
    except (InputError, AttributeError, TypeError) as exc:
        raise click.BadParameter(str(exc), param_hint="INPUTS") from None
    click.echo(json.dumps(_plain(result), indent=2, sort_keys=True, default=str))
    return EXIT_OK


@cli.command()
@click.option("--check", is_flag=True, help="Exit 1 if config/schemas/ differs from the schemas the code defines.")
@_root_option
def schemas(check: bool, root: str | None) -> int:
    """Write the JSON Schemas of every kind and of contracts to config/schemas/."""
    from .schemas import all_schemas, render, write_schemas

    folder = _root(root) / "config" / "schemas"
    if check:
        stale = [n for n, s in all_schemas().items()
                 if not (folder / n).is_file() or (folder / n).read_text(encoding="utf-8") != render(s)]
        for name in stale:
            click.echo(f"config/schemas/{name} is out of date: run weights schemas")
        return EXIT_FAILED if stale else EXIT_OK
    for path in write_schemas(folder):
        click.echo(f"wrote {path}")
    return EXIT_OK


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text")
@click.option("--update-readme", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Rewrite the rule reference between the rules markers of this README.")
def rules(fmt: str, update_readme: str | None) -> int:
    """List every rule id with its severity and summary (markdown: the README's rule reference)."""
    from .atomic import write_atomic
    from .rules.reference import markdown_reference, text_reference, with_reference

    if update_readme:
        path = Path(update_readme)
        try:
            text = with_reference(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise EnvironmentProblem(f"{path}: {exc}") from None
        write_atomic(path, text.encode("utf-8"))
        click.echo(f"updated the rule reference in {path}")
        return EXIT_OK
    click.echo(markdown_reference() if fmt == "markdown" else text_reference(), nl=False)
    return EXIT_OK


def _plain(value: Any) -> Any:
    """Result records (named tuples, nested) as JSON-ready dicts and lists."""
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _log_crash() -> Path:
    folder = Path(os.environ.get("WEIGHTS_LOG_DIR") or Path(tempfile.gettempdir()) / "weights-logs")
    folder.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    path = folder / f"crash-{stamp}-{os.getpid()}.log"
    path.write_text(f"weights {__version__} {' '.join(sys.argv)}\n{traceback.format_exc()}", encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script; the only place that turns outcomes into exit codes."""
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
        try:
            log = _log_crash()
            where = f"the traceback is in {log}"
        except OSError:
            where = "the traceback could not be written to a log file"
        click.echo(f"weights: internal error: {type(exc).__name__}: {exc} ({where}; please report it)", err=True)
        code = EXIT_INTERNAL
    sys.exit(code if isinstance(code, int) else EXIT_OK)


# Command groups that live in their own modules register themselves on `cli` when imported.
from . import cli_publish  # noqa: E402,F401 - registers the publishing commands
from . import cli_check  # noqa: E402,F401 - registers test, diff and check
from . import cli_scaffold  # noqa: E402,F401 - registers weights new


if __name__ == "__main__":  # pragma: no cover
    main()
