"""The pull-request commands: ``weights test``, ``weights diff`` and ``weights check``.

Thin over ``validator.gate.golden``, ``validator.gate.check`` and ``validator.report``: parse options, call the library,
render, return an exit code (0 pass, 1 a gate failed, 2 usage or environment). Registered on the ``weights``
group by importing this module from ``validator.cli.app``.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Sequence

import click

from validator.cli.app import EXIT_FAILED, EXIT_OK, EnvironmentProblem, _root, _root_option, cli

_base_option = click.option("--base", default=None, metavar="REV",
                            help="The revision to compare against (default: the merge base of HEAD with main, "
                                 "else origin/main).")
_head_option = click.option("--head", default=None, metavar="REV",
                            help="The revision under review (default: the work tree, uncommitted edits included).")


def _default_format(choices: Sequence[str]) -> str:
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" and "github" in choices else "text"


def _environment_errors() -> tuple[type[BaseException], ...]:
    from validator.gate.settings import SettingsError
    from validator.gate.sources import SourceError

    errors: list[type[BaseException]] = [SourceError, SettingsError]
    try:
        from validator.gate.guardrails import GuardrailConfigError

        errors.append(GuardrailConfigError)
    except ImportError:  # pragma: no cover - without the replay's dependencies there is no guardrail config
        pass
    return tuple(errors)


@cli.command("test")
@click.argument("models", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default=None,
              help="Report format (default: github inside GitHub Actions, else text).")
@click.option("-v", "--verbose", is_flag=True, help="List passing cases too.")
@_root_option
def test_command(models: Sequence[str], fmt: str | None, verbose: bool, root: str | None) -> int:
    """Run the golden cases (tests/golden/<model>.yaml) against the weights in the work tree.

    MODELS limits the run to those models' cases. The same cases run under pytest through the plugin.
    """
    from validator.gate import golden
    from validator.gate.sources import WorkTree
    from validator.gate.validate import settings_from, validate
    from validator.report.github import render_test_github
    from validator.report.jsonfmt import render_test_json
    from validator.report.text import render_test_text

    repo = _root(root)
    try:
        source = WorkTree(repo)
        settings = settings_from(source)
        validation = validate(source, settings)
    except _environment_errors() as exc:
        raise EnvironmentProblem(str(exc)) from None
    if models:
        unknown = [m for m in models if m not in validation.models and
                   f"{settings.weights_dir}/{m}.yaml" not in validation.files]
        if unknown:
            from validator.gate.rules import did_you_mean

            hint = did_you_mean(unknown[0], validation.models)
            raise click.BadParameter(f"no model {unknown[0]!r}" + (f"; {hint}" if hint else
                                     f"; models: {', '.join(sorted(validation.models))}"), param_hint="MODELS")
    result = golden.run(source, settings, validation, list(models) or None)
    if not result.files:
        where = golden.golden_dir(settings)
        click.echo(f"no golden cases in {where}/" + (f" for {', '.join(models)}" if models else ""), err=True)
    chosen = fmt or _default_format(["text", "json", "github"])
    if chosen == "json":
        render_test_json(result, sys.stdout)
    elif chosen == "github":
        render_test_github(result.findings, result.passed, result.failed, sys.stdout)
    else:
        render_test_text(result, sys.stdout, verbose)
    return EXIT_OK if result.ok else EXIT_FAILED


@cli.command("diff")
@_base_option
@_head_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              help="Report format.")
@_root_option
def diff_command(base: str | None, head: str | None, fmt: str, root: str | None) -> int:
    """Show what changed in the weights between two revisions: keys, old -> new, relative change.

    Terms, bands, arms and segments are matched by name, so an inserted term is one change, not many.
    Informational: exits 0 whatever changed (2 when a revision cannot be read).
    """
    from validator.gate.check import compare
    from validator.report.jsonfmt import render_diff_json
    from validator.report.markdown import render_diff_markdown
    from validator.report.text import render_diff_text

    repo = _root(root)
    try:
        _, _, repo_diff = compare(repo, base, head)
    except _environment_errors() as exc:
        raise EnvironmentProblem(str(exc)) from None
    if fmt == "json":
        render_diff_json(repo_diff, sys.stdout)
    elif fmt == "markdown":
        click.echo(render_diff_markdown(repo_diff), nl=False)
    else:
        render_diff_text(repo_diff, sys.stdout)
    return EXIT_OK


@cli.command("check")
@_base_option
@_head_option
@click.option("--all", "replay_all", is_flag=True, help="Replay every model, not only the changed ones.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown", "github"]), default=None,
              help="Report format (default: github inside GitHub Actions, else text). markdown is the "
                   "pull-request comment.")
@click.option("--report-dir", type=click.Path(file_okay=False), default=None,
              help="Also write report.html (self-contained, offline), report.md and report.json here.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the replay's Monte Carlo parts.")
@_root_option
def check_command(base: str | None, head: str | None, replay_all: bool, fmt: str | None, report_dir: str | None,
                  seed: int, root: str | None) -> int:
    """The pull-request gate: validate, run the golden cases, replay base vs head and apply the guardrails.

    Exit 0 when every gate passes, 1 when one fails (a finding, a failed case, a breached guardrail that no
    reviewed `accept:` entry covers), 2 when it cannot run (no base revision, unreadable settings).
    """
    from validator.gate.check import run_check
    from validator.report import render_check, write_report_dir

    repo = _root(root)
    try:
        result = run_check(repo, base, head, replay_all=replay_all, seed=seed)
    except _environment_errors() as exc:
        raise EnvironmentProblem(str(exc)) from None
    except ImportError as exc:
        raise EnvironmentProblem(f"the replay needs an optional dependency: {exc} "
                                 "(pip install weights, which brings numpy and pyarrow)") from None
    render_check(result, fmt or _default_format(["text", "json", "markdown", "github"]), sys.stdout)
    if report_dir is not None:
        try:
            paths = write_report_dir(result, Path(report_dir))
        except OSError as exc:
            raise EnvironmentProblem(f"cannot write the report to {report_dir}: {exc}") from None
        click.echo(f"report written to {paths[0]}", err=True)
    return result.exit_code
