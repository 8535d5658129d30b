"""``weights update``: a bandit's counts from its events (validator.data.update does the work).

The command parses, calls ``update_bandit`` (or ``update_all``), prints what changed and maps the outcome to the
exit code: 0 changed or unchanged, 1 the gate refused the new text (nothing written), 2 a usage or data problem
(no such model or column, a bad value, an unknown arm; nothing written). ``--format json`` prints one envelope
for one model or for ``--all`` alike, so the nightly workflow reads which models changed from one shape.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from validator.cli.app import EXIT_FAILED, EXIT_OK, EXIT_USAGE, _root, _root_option, cli

if TYPE_CHECKING:
    from validator.data.update import UpdateOutcome, UpdateResult

UPDATE_FORMAT_VERSION = "1.0"


@cli.command()
@click.argument("model", required=False)
@click.option("--from", "from_path", type=click.Path(dir_okay=False), default=None,
              help="A Parquet or CSV file of events (one row per view), relative to the current folder.")
@click.option("--sql", default=None, help="A DuckDB SELECT over Parquet/CSV files of the repository (paths "
              "relative to its root) returning the arm and success columns.")
@click.option("--arm-column", default=None, help="The column holding the arm id (default: the update: block's, "
              "else arm).")
@click.option("--success-column", default=None, help="The column saying whether the view was a success, boolean or "
              "0/1 (default: the update: block's, else success).")
@click.option("--add", is_flag=True, default=None, help="Add the events to the file's counts (the source holds new "
              "events only) instead of replacing them with the source's totals.")
@click.option("--all", "all_models", is_flag=True, help="Update every bandit whose file has an update: block, each "
              "from its own block.")
@click.option("--dry-run", is_flag=True, help="Count, check and report, but write nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              help="json: one envelope with every model's status, arms and counts (for workflows).")
@_root_option
def update(model: str | None, from_path: str | None, sql: str | None, arm_column: str | None,
           success_column: str | None, add: bool | None, all_models: bool, dry_run: bool, fmt: str,
           root: str | None) -> int:
    """Set a bandit's successes/failures from its events and write the file (comments and layout kept).

    MODEL is a model name (or its file). The events come from --from PATH, --sql QUERY, or the file's update:
    block. By default each arm's counts become the totals in the source; --add adds them to the file's counts.
    Arms without events keep their counts. The new file must pass weights validate, else nothing is written.
    """
    from validator.data.update import GateRefused, Sql, UpdateError, UpdateOutcome, update_all, update_bandit

    repo = _root(root)
    if all_models:
        if model or from_path or sql or arm_column or success_column or add:
            raise click.UsageError("--all updates every bandit from its own update: block; give no MODEL, --from, "
                                   "--sql, --arm-column, --success-column or --add with it")
        outcomes = update_all(repo, write=not dry_run)
    else:
        if not model:
            raise click.UsageError("name the bandit to update (weights update homepage_hero), or pass --all")
        if from_path and sql:
            raise click.UsageError("give --from PATH or --sql QUERY, not both")
        source: str | Sql | None = Sql(sql) if sql else str(Path(from_path).resolve()) if from_path else None
        name = str(Path(model).resolve()) if model.endswith((".yaml", ".yml")) else model
        try:
            result = update_bandit(repo, name, source, arm_column=arm_column, success_column=success_column,
                                   add=add, write=not dry_run)
        except GateRefused as exc:
            outcomes = [UpdateOutcome(model, exc.path, "refused", message=str(exc), findings=tuple(exc.findings))]
        except UpdateError as exc:
            outcomes = [UpdateOutcome(model, _model_path(repo, name), "error", message=str(exc))]
        else:
            outcomes = [UpdateOutcome(result.model, result.path, "changed" if result.changed else "unchanged",
                                      result)]
    if fmt == "json":
        _print_json(outcomes, dry_run)
    else:
        _print_text(outcomes, dry_run, several=all_models)
    return _exit_code(outcomes)


def _model_path(repo: Path, model: str) -> str:
    """The model's file for the JSON envelope of an error ("" when the model itself is unknown)."""
    from validator.data.update import UpdateError, find_model

    try:
        return find_model(repo, model)
    except UpdateError:
        return ""


def _exit_code(outcomes: list[UpdateOutcome]) -> int:
    statuses = {o.status for o in outcomes}
    return EXIT_USAGE if "error" in statuses else EXIT_FAILED if "refused" in statuses else EXIT_OK


def _print_json(outcomes: list[UpdateOutcome], dry_run: bool) -> None:
    envelope: dict[str, Any] = {
        "format_version": UPDATE_FORMAT_VERSION,
        "command": "update",
        "dry_run": dry_run,
        "changed": [o.model for o in outcomes if o.status == "changed"],
        "models": [o.to_dict() for o in outcomes],
    }
    json.dump(envelope, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


def _print_text(outcomes: list[UpdateOutcome], dry_run: bool, several: bool) -> None:
    from validator.report.findings import report_text

    if several and not outcomes:
        click.echo("no bandit declares an update: block; nothing to update")
    for outcome in outcomes:
        if outcome.status == "error":
            click.echo(f"weights update: {outcome.model}: {outcome.message}" if several else
                       f"weights update: {outcome.message}", err=True)
        elif outcome.status == "refused":
            report_text(list(outcome.findings), [outcome.path], sys.stdout)
            click.echo(f"weights update: {outcome.message}", err=True)
        elif outcome.result is not None:
            _print_result(outcome.result, dry_run)


def _counts(successes: int, failures: int) -> str:
    return f"{successes} successes, {failures} failures"


def _print_result(result: UpdateResult, dry_run: bool) -> None:
    """What changed, arm by arm, in the words of the file: old -> new counts, then what was left alone."""
    mode = "added to the file's counts" if result.mode == "add" else "totals"
    click.echo(f"{result.model} ({result.path}) from {result.source} ({mode}):")
    width = max((len(a.arm) for a in result.arms), default=0)
    for arm in result.arms:
        if not arm.changed:
            click.echo(f"  {arm.arm:<{width}}  unchanged: {_counts(arm.new.successes, arm.new.failures)}")
            continue
        old = arm.old
        before = f"{old.successes} -> " if old is not None else ""
        after_failures = f"{old.failures} -> " if old is not None else ""
        click.echo(f"  {arm.arm:<{width}}  successes {before}{arm.new.successes}, failures "
                   f"{after_failures}{arm.new.failures}")
    if result.no_events:
        click.echo(f"no events (counts kept): {', '.join(result.no_events)}")
    if result.holdout is not None:
        events = result.holdout.events
        click.echo(f"holdout {result.holdout.variant}: {_counts(events.successes, events.failures)} (not an arm: "
                   f"reported, not written)")
    if result.decreased:
        click.echo(f"counts went down for {', '.join(result.decreased)}: in totals mode the source must hold every "
                   f"event since the arm started (for new events only, use --add)")
    if result.comments:
        click.echo(f"rewrote {result.comments} CTR comment{'s' if result.comments != 1 else ''} to the new counts")
    for warning in result.warnings:
        click.echo(warning.render())
    if not result.changed:
        click.echo(f"{result.path} is up to date; nothing to write")
    elif dry_run:
        click.echo(f"dry run: {result.path} not written")
    else:
        click.echo(f"wrote {result.path}")
