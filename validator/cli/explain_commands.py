"""``weights explain MODEL``: what each term of a model can add to its score over the contract's ranges."""
from __future__ import annotations

import sys

import click

from validator.cli.app import EXIT_OK, EnvironmentProblem, _root, _root_option, cli


@cli.command()
@click.argument("model")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "html"]), default="text",
              help="text (terminal table and chart), markdown (a PR comment) or html (a standalone page).")
@click.option("--rev", default=None, help="Explain the model as it is at a git revision (e.g. main).")
@_root_option
def explain(model: str, fmt: str, rev: str | None, root: str | None) -> int:
    """Show per term of MODEL the smallest and largest contribution any allowed request gets, what moves it,
    the reachable score and the outcomes no request reaches (static: no data is read)."""
    from validator.api import validate_paths
    from validator.gate import explain as explaining
    from validator.gate.settings import SettingsError
    from validator.gate.sources import SourceError

    repo = _root(root)
    try:
        result = validate_paths(repo, rev=rev)
    except (SourceError, SettingsError) as exc:
        raise EnvironmentProblem(str(exc)) from None
    try:
        analysis = explaining.explain(result, model)
    except explaining.ExplainError as exc:
        raise click.BadParameter(str(exc), param_hint="MODEL") from None
    explaining.render(analysis, fmt, sys.stdout)
    return EXIT_OK
