"""The commands on one repository's models: validate, eval, schemas, rules."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Sequence

import click

from validator.cli.app import EXIT_FAILED, EXIT_OK, EnvironmentProblem, _root, _root_option, cli


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default=None,
              help="Report format (default: github inside GitHub Actions, else text).")
@click.option("--rev", default=None, help="Validate a git revision instead of the work tree (e.g. main).")
@_root_option
def validate(paths: Sequence[str], fmt: str | None, rev: str | None, root: str | None) -> int:
    """Check model files and contracts: YAML, schema, semantic rules, the app contract."""
    from validator.api import validate_paths
    from validator.gate.settings import SettingsError
    from validator.gate.sources import SourceError
    from validator.report.findings import REPORTERS, default_format

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
    from validator.api import ValidationFailed, load_models
    from validator.gate.settings import SettingsError
    from validator.gate.sources import SourceError
    from validator.kinds import KINDS, InputError
    from validator.kinds.inputs import parse_request

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
    evaluator = models[model]
    try:
        # Depth, size and finite numbers are checked here (validator.kinds.inputs.REQUEST_LIMITS): a request
        # nested 1,000 deep or a 400-digit number is a usage error, not a crash.
        payload: Any = parse_request(text, model) if text.strip() else {}
        result = KINDS[evaluator.kind].call(evaluator, payload)
    except (InputError, AttributeError, TypeError) as exc:
        raise click.BadParameter(str(exc), param_hint="INPUTS") from None
    click.echo(json.dumps(_plain(result), indent=2, sort_keys=True, default=str))
    return EXIT_OK


@cli.command()
@click.option("--check", is_flag=True, help="Exit 1 if config/schemas/ differs from the schemas the code defines.")
@_root_option
def schemas(check: bool, root: str | None) -> int:
    """Write the JSON Schemas of every kind, contracts, golden cases and settings to config/schemas/.

    The folder is ``schemas_dir`` of config/weights.yaml, where new files' yaml-language-server lines point.
    """
    from validator.gate.schemas import all_schemas, render, write_schemas
    from validator.gate.settings import SettingsError
    from validator.gate.sources import WorkTree
    from validator.gate.validate import settings_from

    repo = _root(root)
    try:
        schemas_dir = settings_from(WorkTree(repo)).schemas_dir
    except SettingsError as exc:
        raise EnvironmentProblem(str(exc)) from None
    folder = repo / schemas_dir
    if check:
        stale = [n for n, s in all_schemas().items()
                 if not (folder / n).is_file() or (folder / n).read_text(encoding="utf-8") != render(s)]
        for name in stale:
            click.echo(f"{schemas_dir}/{name} is out of date: run weights schemas")
        return EXIT_FAILED if stale else EXIT_OK
    for path in write_schemas(folder):
        click.echo(f"wrote {path}")
    return EXIT_OK


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text")
@click.option("--update", "--update-readme", "update_readme", type=click.Path(dir_okay=False, exists=True),
              default=None, help="Rewrite the rule reference between the rules markers of this Markdown file "
              "(docs/reference/rules.md).")
def rules(fmt: str, update_readme: str | None) -> int:
    """List every rule id with its severity and summary (markdown: the docs' rule reference)."""
    from validator.atomic import write_atomic
    from validator.gate.rule_reference import markdown_reference, text_reference, with_reference

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
