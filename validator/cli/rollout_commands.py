"""The staged-rollout commands: promote and abort a canary (``weights publish --canary`` starts one).

Thin over ``validator.publish.repository`` (the signed operations) and, for a guarded promotion,
``validator.publish.guard`` and ``validator.publish.fleet`` (the fleet's measurements from Prometheus). The
target, keys and output options are publish's own (``publish_commands``), so the three commands of a rollout
read the same repository with the same keys.

A guarded promotion checks everything it can before it touches anything: the options, then the expression
(exit 2 on a mistake), then the candidate and the fleet's measurements of exactly that candidate; it promotes
only the candidate it measured (a candidate replaced meanwhile is refused, exit 1).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from validator.cli.app import EXIT_FAILED, EXIT_OK, EnvironmentProblem, _root, _root_option, cli
from validator.cli.publish_commands import (
    _demo_note,
    _emit,
    _errors,
    _format_option,
    _keys_dir,
    _keys_dir_option,
    _place,
    _settings,
    _trust,
)

_to_option = click.option("--to", "to", default=None,
                          help="The published repository: a folder or a storage URL (default: publish.target).")
_channel_option = click.option("--channel", default=None, help="The channel (default: publish.channel).")


def _channel(channel: str | None, settings: Any) -> str:
    from validator.publish.bundle import check_channel

    channel = channel or settings.channel
    try:
        return check_channel(channel)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--channel") from None


def _guard(condition: str | None, metrics_url: str | None) -> Any:  # -> Guard | None
    """The parsed ``--if`` expression, checked before anything is read (a typo costs nothing)."""
    if condition is None and metrics_url is None:
        return None
    if condition is None:
        raise click.UsageError("--metrics needs --if EXPR: the condition the fleet's measurements must meet")
    if metrics_url is None:
        raise click.UsageError("--if needs --metrics URL: the Prometheus server that scrapes the apps")
    from validator.publish.guard import GuardError, parse_guard

    try:
        return parse_guard(condition)
    except GuardError as exc:
        raise click.BadParameter(str(exc), param_hint="--if") from None


@cli.command()
@_to_option
@_channel_option
@click.option("--if", "condition", default=None, metavar="EXPR",
              help="Promote only if the fleet's shadow measurements of the candidate hold, e.g. "
                   "'flip_rate <= 0.02 and clients >= 10' (needs --metrics).")
@click.option("--metrics", "metrics_url", default=None, metavar="URL",
              help="The Prometheus server (http://host:9090) that scrapes the apps (needs --if).")
@_keys_dir_option
@_format_option
@_root_option
def promote(to: str | None, channel: str | None, condition: str | None, metrics_url: str | None,
            keys_dir: str | None, fmt: str, root: str | None) -> int:
    """Make the channel's canary candidate the live bundle for every client (one signed publish)."""
    from validator.publish.repository import candidate_of
    from validator.publish.repository import promote as do_promote

    guard = _guard(condition, metrics_url)
    repo = _root(root)
    settings = _settings(repo)
    channel = _channel(channel, settings)
    place = _place(repo, to, settings)
    trust = _trust(repo, place, _keys_dir(repo, keys_dir, settings), settings)
    expect: str | None = None
    judged: dict[str, Any] = {}
    if guard is not None:
        assert metrics_url is not None  # _guard demands both
        with _errors():
            candidate = candidate_of(place.storage, trust.anchor, channel)
        if candidate is not None:
            verdict, view = _judge(guard, metrics_url, channel, candidate)
            judged = {"guard": guard.text, "verdict": verdict.to_dict(), "fleet": view.to_dict()}
            if not verdict.passed:
                _refuse(fmt, channel, candidate, guard.text, verdict, judged)
                return EXIT_FAILED
            expect = candidate.sha256
    with _errors():
        result = do_promote(place.storage, trust.anchor, trust.keys, channel, settings.expiry,
                            expect_sha256=expect)
    _demo_note(trust, repo)
    if result.changed and result.written and result.written[-1].endswith("timestamp.json") and result.sha256:
        text = (f"promoted: {result.path} is now commit {str(result.custom.get('commit', '?'))[:12]} "
                f"(version {result.custom.get('version')}) for every client; targets version {result.version} "
                f"at {result.location}")
    else:
        text = f"unchanged: nothing promoted on {channel} (targets version {result.version})"
    lines = [text, *result.notes]
    if judged and guard is not None:
        lines = [f"guard holds: {guard.text}", *[f"  {reason}" for reason in judged["verdict"]["reasons"]], *lines]
    _emit(fmt, {**result.to_dict(), **judged, "trust": trust.label, "demo": trust.demo}, lines)
    return EXIT_OK


def _judge(guard: Any, metrics_url: str, channel: str, candidate: Any) -> tuple[Any, Any]:
    """The guard's verdict on the fleet's measurements of exactly this candidate version."""
    from validator.publish.fleet import FleetError, read_fleet
    from validator.publish.guard import evaluate_guard

    try:
        view = read_fleet(metrics_url, channel, candidate.version, candidate.predicted)
    except FleetError as exc:
        raise EnvironmentProblem(f"--metrics: {exc}") from None
    return evaluate_guard(guard, view), view


def _refuse(fmt: str, channel: str, candidate: Any, text: str, verdict: Any, judged: dict[str, Any]) -> None:
    """Say why a guarded promotion did not happen: each comparison's reason and every variable's value."""
    values = ", ".join(f"{name}={'no data' if value is None else f'{value:g}'}"
                       for name, value in sorted(verdict.values.items()))
    lines = [f"not promoted: the candidate of {channel} (version {candidate.version}) does not meet: {text}",
             *[f"  {reason}" for reason in verdict.reasons], f"  values: {values}"]
    _emit(fmt, {"changed": False, "channel": channel, "target": candidate.path, "sha256": candidate.sha256,
                "candidate_version": candidate.version, **judged}, lines)


@cli.command()
@_to_option
@_channel_option
@_keys_dir_option
@_format_option
@_root_option
def abort(to: str | None, channel: str | None, keys_dir: str | None, fmt: str, root: str | None) -> int:
    """Remove the channel's canary candidate: its clients go back to the live bundle (one signed publish)."""
    from validator.publish.repository import abort as do_abort

    repo: Path = _root(root)
    settings = _settings(repo)
    channel = _channel(channel, settings)
    place = _place(repo, to, settings)
    trust = _trust(repo, place, _keys_dir(repo, keys_dir, settings), settings)
    with _errors():
        result = do_abort(place.storage, trust.anchor, trust.keys, channel, settings.expiry)
    _demo_note(trust, repo)
    if result.changed and result.sha256:
        text = f"aborted: {result.path} removed; targets version {result.version} at {result.location}"
    else:
        text = f"unchanged: nothing to abort on {channel} (targets version {result.version})"
    _emit(fmt, {**result.to_dict(), "trust": trust.label, "demo": trust.demo}, [text, *result.notes])
    return EXIT_OK
