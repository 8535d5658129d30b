"""The publishing commands: build, keys init/rotate, publish, refresh, rollback, status, serve.

Thin over ``validator.publish.bundle``, ``validator.publish.keys``, ``validator.publish.repository``, ``validator.publish.storage`` and
``validator.publish.serve``: options are parsed here, the library does the work, and exceptions map to exit codes by
who is at fault:

* 1: the content failed: the weights do not validate, or the published repository does not verify;
* 2: the environment or the operator: no git commit, missing or wrong keys, unreadable storage, bad options.

Heavy imports (python-tuf, cryptography, fsspec) happen inside the commands, so ``weights validate`` does not
pay for them.

Which root and keys sign a change (and when the local demo keys do) is decided in ``validator.publish.trust``;
where to publish and where keys are, in ``validator.publish.repository.settings``.
"""
from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from validator.cli.app import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    EnvironmentProblem,
    _root,
    _root_option,
    cli,
)

_keys_dir_option = click.option("--keys-dir", type=click.Path(file_okay=False), default=None,
                                help="Folder of <role>.pem private keys "
                                     "(default: $WEIGHTS_KEYS_DIR, else publish.keys_dir).")
_format_option = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                              help="Human text, or one JSON object for scripts.")


class Failed(click.ClickException):
    """The content is at fault (a published repository that does not verify): exit 1."""

    exit_code = EXIT_FAILED


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """Map library exceptions to exit codes by who is at fault; no traceback for any of them."""
    from validator.publish.bundle import BundleError
    from validator.publish.keys import KeyProblem
    from validator.publish.repository import (
        NothingPublished,
        PublishSettingsError,
        RepositoryStateError,
    )
    from validator.publish.serve import ServeError
    from validator.publish.storage import StorageError

    try:
        yield
    except RepositoryStateError as exc:
        raise Failed(str(exc)) from None
    except (KeyProblem, StorageError, PublishSettingsError, BundleError, ServeError, NothingPublished) as exc:
        raise EnvironmentProblem(str(exc)) from None


def _settings(repo: Path) -> Any:  # -> PublishSettings
    from validator.publish.repository import publish_settings

    with _errors():
        return publish_settings(repo)


def _keys_dir(repo: Path, option: str | None, settings: Any) -> Path:
    from validator.publish.repository import keys_dir_of

    return keys_dir_of(repo, option, settings)


@dataclass
class _Place:
    storage: Any
    spec: str
    is_default_folder: bool


def _place(repo: Path | None, to: str | None, settings: Any) -> _Place:
    """The storage a command works on (see ``target_spec`` for the order of options, environment, settings)."""
    from validator.publish.repository import target_spec
    from validator.publish.storage import open_storage
    from validator.publish.trust import is_default_folder

    spec = target_spec(to, settings)
    if spec is None:
        raise click.UsageError("outside a weights repository: pass --dir DIR or --url URL")
    with _errors():
        storage = open_storage(spec, repo)
    return _Place(storage, spec, is_default_folder(repo, storage))


def _trust(repo: Path, place: _Place, keys_dir: Path, settings: Any) -> Any:  # -> Trust
    from validator.publish.trust import signing_trust

    with _errors():
        return signing_trust(repo, keys_dir, place.is_default_folder, settings.expiry)


def _demo_note(trust: Any, repo: Path) -> None:
    if trust.demo:
        click.echo(
            f"demo: no signing key is configured, so this is signed with local dev keys; apps and weights status "
            f"trust {trust.path.relative_to(repo)} for this folder. For real publishing run weights keys init.",
            err=True,
        )


def _emit(fmt: str, payload: dict[str, Any], lines: list[str]) -> None:
    if fmt == "json":
        click.echo(json.dumps({"format_version": 1, **payload}, indent=2, sort_keys=True))
    else:
        for line in lines:
            click.echo(line)


def _build(repo: Path, rev: str):  # -> Bundle | int
    from validator.publish.bundle import BundleInvalid, build_bundle

    try:
        with _errors():
            return build_bundle(repo, rev)
    except BundleInvalid as exc:
        for finding in exc.findings:
            click.echo(finding.render(), err=True)
        click.echo(f"weights: {exc}", err=True)
        return EXIT_FAILED


# --- build --------------------------------------------------------------------------------------------------

@cli.command()
@click.option("--rev", default=None, help="The commit to build (default: HEAD). The work tree is never read.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the bundle to FILE (atomically) instead of standard output.")
@_root_option
def build(rev: str | None, output: str | None, root: str | None) -> int:
    """Build the canonical bundle of a commit: same commit, same bytes, on any machine."""
    from validator.atomic import write_atomic
    from validator.publish.bundle import dirty_inputs

    repo = _root(root)
    if rev is None:
        dirty = dirty_inputs(repo)
        if dirty:
            click.echo(f"note: building HEAD; uncommitted changes are not in the bundle: {', '.join(dirty[:5])}"
                       + (" ..." if len(dirty) > 5 else ""), err=True)
    bundle = _build(repo, rev or "HEAD")
    if isinstance(bundle, int):
        return bundle
    if output is None:
        sys.stdout.buffer.write(bundle.data)
        sys.stdout.buffer.flush()
        return EXIT_OK
    try:
        write_atomic(Path(output), bundle.data)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"wrote {output}: {len(bundle.models)} models, {bundle.size} bytes, "
               f"commit {bundle.provenance.commit[:12]}", err=True)
    return EXIT_OK


# --- keys ---------------------------------------------------------------------------------------------------

@cli.group()
def keys() -> None:
    """Create the signing keys and the trust root, and rotate keys."""


@keys.command("init")
@_keys_dir_option
@click.option("--force", is_flag=True,
              help="Replace an existing trust root and keys (every app must ship the new root).")
@_root_option
def keys_init(keys_dir: str | None, force: bool, root: str | None) -> int:
    """Create one key per role and write the trust root apps ship with to config/root.json."""
    from validator.publish.keys import ROLES, short
    from validator.publish.repository import iso
    from validator.publish.trust import TRUST_ROOT_FILE, init_trust

    repo = _root(root)
    settings = _settings(repo)
    folder = _keys_dir(repo, keys_dir, settings)
    with _errors():
        made = init_trust(repo, folder, settings.expiry, force)
    click.echo(f"wrote {TRUST_ROOT_FILE} (root version 1, expires {iso(made.expires)}): "
               "commit it; apps ship it")
    click.echo(f"wrote private keys to {folder} (owner-only):")
    for role in ROLES:
        where = "keep offline; only keys rotate and root re-signing need it" if role == "root" else \
            f"for CI: the secret WEIGHTS_KEY_{role.upper()}"
        click.echo(f"  {role + '.pem':<15} key id {short(made.keyids[role])}  {where}")
    return EXIT_OK


@keys.command("rotate")
@click.argument("role", type=click.Choice(["root", "targets", "snapshot", "timestamp"]))
@click.option("--to", "to", default=None, help="The published repository (default: publish.target).")
@_keys_dir_option
@_root_option
def keys_rotate(role: str, to: str | None, keys_dir: str | None, root: str | None) -> int:
    """Replace ROLE's key through a new signed root, published at once; updates config/root.json."""
    from validator.publish.keys import short
    from validator.publish.trust import TRUST_ROOT_FILE, rotate_key

    repo = _root(root)
    settings = _settings(repo)
    folder = _keys_dir(repo, keys_dir, settings)
    if not (repo / TRUST_ROOT_FILE).is_file():
        raise EnvironmentProblem(f"no trust root {TRUST_ROOT_FILE}: run weights keys init first")
    place = _place(repo, to, settings)
    with _errors():
        result = rotate_key(repo, folder, place.storage, role, settings.expiry)
    old = ", ".join(short(k) for k in result.old_keyids)
    click.echo(f"rotated the {role} key: {old} -> {short(result.new_keyid)}; "
               f"root is now version {result.root_version} at {place.storage.location}")
    click.echo(f"wrote {TRUST_ROOT_FILE}: commit it (apps shipping an older root still follow the chain)")
    click.echo(f"the new private key is {folder / (role + '.pem')}"
               + ("" if role == "root" else f"; if CI holds this key, update its secret WEIGHTS_KEY_{role.upper()}"))
    return EXIT_OK


# --- publish, refresh, rollback -----------------------------------------------------------------------------

@cli.command()
@click.option("--to", "to", default=None,
              help="A folder or a storage URL such as s3://bucket/weights (default: publish.target).")
@click.option("--channel", default=None, help="The channel to publish (default: publish.channel, production).")
@click.option("--rev", default=None, help="Publish this commit (default: HEAD, and the work tree must be clean).")
@click.option("--canary", "fraction", type=float, default=None,
              help="Publish as the channel's candidate for this share of clients (0 < F < 1), beside the live "
                   "bundle; weights promote or weights abort ends it.")
@click.option("--report", type=click.Path(dir_okay=False), default=None,
              help="The PR's weights check --format json report: records the replay's predicted flip rate "
                   "per model with the bundle.")
@_keys_dir_option
@_format_option
@_root_option
def publish(to: str | None, channel: str | None, rev: str | None, fraction: float | None, report: str | None,
            keys_dir: str | None, fmt: str, root: str | None) -> int:
    """Build the bundle of a commit, sign it, and publish it as the next version (no-op if already live)."""
    from validator.publish.bundle import check_channel, dirty_inputs
    from validator.publish.repository import check_fraction
    from validator.publish.repository import publish as do_publish

    repo = _root(root)
    settings = _settings(repo)
    channel = channel or settings.channel
    try:
        check_channel(channel)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--channel") from None
    if fraction is not None:
        try:
            check_fraction(fraction)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--canary") from None
    predicted = _predicted(report)
    if rev is None:
        dirty = dirty_inputs(repo)
        if dirty:
            raise EnvironmentProblem(
                f"uncommitted changes to {', '.join(dirty[:5])}{' ...' if len(dirty) > 5 else ''}: a bundle is built "
                "from a commit, so commit them first, or pass --rev HEAD to publish the last commit without them"
            )
    if fraction is not None:
        return _publish_canary(repo, rev or "HEAD", to, keys_dir, channel, fraction, predicted, fmt, settings)
    live = None if predicted else _already_live(repo, rev or "HEAD", to, keys_dir, channel, settings)
    if live is not None:
        result, trust = live
        commit = str(result.custom["commit"])[:12]
    else:
        bundle = _build(repo, rev or "HEAD")
        if isinstance(bundle, int):
            return bundle
        place = _place(repo, to, settings)
        trust = _trust(repo, place, _keys_dir(repo, keys_dir, settings), settings)
        with _errors():
            result = do_publish(place.storage, trust.anchor, trust.keys, bundle, channel, settings.expiry,
                                predicted=predicted)
        commit = bundle.provenance.commit[:12]
    _demo_note(trust, repo)
    if result.changed and result.written and result.written[-1].endswith("timestamp.json"):
        text = f"published {result.path} version {result.version} (commit {commit}) to {result.location}"
    elif result.changed:
        text = f"{result.path} is already live as version {result.version}; wrote {', '.join(result.written)}"
    else:
        text = f"unchanged: {result.path} is already commit {commit} (version {result.version}) at {result.location}"
    _emit(fmt, {**result.to_dict(), "trust": trust.label, "demo": trust.demo}, [text, *result.notes])
    return EXIT_OK


def _predicted(report: str | None) -> dict[str, Any] | None:
    """The replay's predictions from ``--report``, read before anything is built so a bad file costs nothing."""
    if report is None:
        return None
    from validator.publish.prediction import ReportError, read_predictions

    try:
        return read_predictions(report)
    except ReportError as exc:
        raise EnvironmentProblem(f"--report {exc}") from None


def _publish_canary(repo: Path, rev: str, to: str | None, keys_dir: str | None, channel: str, fraction: float,
                    predicted: dict[str, Any] | None, fmt: str, settings: Any) -> int:
    """``weights publish --canary F``: build the commit and stage it as the channel's candidate."""
    from validator.publish.repository import publish_canary

    bundle = _build(repo, rev)
    if isinstance(bundle, int):
        return bundle
    place = _place(repo, to, settings)
    trust = _trust(repo, place, _keys_dir(repo, keys_dir, settings), settings)
    try:
        with _errors():
            result = publish_canary(place.storage, trust.anchor, trust.keys, bundle, channel, fraction,
                                    settings.expiry, predicted=predicted)
    except ValueError as exc:  # the candidate is the live bundle: nothing to canary
        raise EnvironmentProblem(str(exc)) from None
    _demo_note(trust, repo)
    canary = result.custom.get("canary") or {}
    commit = bundle.provenance.commit[:12]
    if result.changed and result.written and result.written[-1].endswith("timestamp.json"):
        text = (f"canary: {result.path} (commit {commit}, version {result.custom.get('version')}) for "
                f"{fraction:.0%} of clients, salt {canary.get('salt')}; "
                f"targets version {result.version} at {result.location}")
    elif result.changed:
        text = f"{result.path} is already this canary; wrote {', '.join(result.written)}"
    else:
        text = (f"unchanged: {result.path} is already commit {commit} for {fraction:.0%} of clients "
                f"(targets version {result.version})")
    _emit(fmt, {**result.to_dict(), "trust": trust.label, "demo": trust.demo}, [text, *result.notes])
    return EXIT_OK


def _already_live(repo: Path, rev: str, to: str | None, keys_dir: str | None, channel: str,
                  settings: Any) -> tuple[Any, Any] | None:
    """(result, trust) when ``rev`` is already live on ``channel``, checked before building anything.

    Only a shortcut: whatever it cannot settle (no commit, no trust yet, a location that does not open, a
    repository that does not verify) is left to the full publish, which reports it in its usual order.
    """
    from validator.publish.bundle import commit_of
    from validator.publish.repository import (
        PublishSettingsError,
        already_live,
        target_spec,
    )
    from validator.publish.storage import StorageError, open_storage
    from validator.publish.trust import existing_trust, is_default_folder

    commit = commit_of(repo, rev)
    spec = target_spec(to, settings)
    if commit is None or spec is None:
        return None
    try:
        storage = open_storage(spec, repo)
    except (StorageError, PublishSettingsError):
        return None
    trust = existing_trust(repo, _keys_dir(repo, keys_dir, settings), is_default_folder(repo, storage))
    if trust is None:
        return None
    result = already_live(storage, trust.anchor, commit, channel)
    return None if result is None else (result, trust)


@cli.command()
@click.option("--to", "to", default=None, help="The published repository (default: publish.target).")
@click.option("--force", is_flag=True, help="Re-sign targets and snapshot too, not only what is due.")
@_keys_dir_option
@_format_option
@_root_option
def refresh(to: str | None, force: bool, keys_dir: str | None, fmt: str, root: str | None) -> int:
    """Re-sign the timestamp (and snapshot/targets when half their validity is gone) before they expire."""
    from validator.publish.repository import refresh as do_refresh

    repo = _root(root)
    settings = _settings(repo)
    place = _place(repo, to, settings)
    trust = _trust(repo, place, _keys_dir(repo, keys_dir, settings), settings)
    with _errors():
        result = do_refresh(place.storage, trust.anchor, trust.keys, settings.expiry, force=force)
    _demo_note(trust, repo)
    _emit(fmt, {**result.to_dict(), "trust": trust.label, "demo": trust.demo},
          [f"refreshed {result.location} (version {result.version} stays live)", *result.notes])
    return EXIT_OK


@cli.command()
@click.option("--to", "to_version", type=click.IntRange(min=1), required=True,
              help="The earlier version whose bundle goes live again (see weights status).")
@click.option("--channel", default=None, help="The channel to roll back (default: publish.channel).")
@click.option("--dir", "folder", default=None, help="The published folder (default: publish.target).")
@click.option("--url", default=None, help="The published storage URL (s3://..., gs://...).")
@_keys_dir_option
@_format_option
@_root_option
def rollback(to_version: int, channel: str | None, folder: str | None, url: str | None, keys_dir: str | None,
             fmt: str, root: str | None) -> int:
    """Republish an earlier version's bundle as a new, higher version (clients never go back in version)."""
    from validator.publish.bundle import check_channel
    from validator.publish.repository import rollback as do_rollback

    if folder and url:
        raise click.UsageError("give --dir or --url, not both")
    repo = _root(root)
    settings = _settings(repo)
    channel = channel or settings.channel
    try:
        check_channel(channel)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--channel") from None
    place = _place(repo, folder or url, settings)
    trust = _trust(repo, place, _keys_dir(repo, keys_dir, settings), settings)
    try:
        with _errors():
            result = do_rollback(place.storage, trust.anchor, trust.keys, to_version, channel, settings.expiry)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--to") from None
    _demo_note(trust, repo)
    if result.changed:
        text = (f"rolled back {result.path}: version {result.version} serves the bundle of version {to_version} "
                f"(commit {str(result.custom.get('commit', '?'))[:12]})")
    else:
        text = f"unchanged: {result.path} already serves that bundle (version {result.version})"
    _emit(fmt, {**result.to_dict(), "trust": trust.label, "demo": trust.demo}, [text])
    return EXIT_OK


# --- status -------------------------------------------------------------------------------------------------

@cli.command()
@click.option("--url", default=None, help="The repository as apps see it: http(s)://... or a storage URL.")
@click.option("--dir", "folder", default=None, help="A published folder (default: publish.target).")
@click.option("--trusted-root", type=click.Path(dir_okay=False), default=None,
              help="The root.json to verify with (default: config/root.json, or the demo root for the demo folder).")
@click.option("--metrics", "metrics_url", default=None,
              help="A Prometheus server (http://host:9090) scraping the apps: also show how many clients run "
                   "each version and the candidate's shadow flip rates beside the replay's prediction.")
@_format_option
@_root_option
def status(url: str | None, folder: str | None, trusted_root: str | None, metrics_url: str | None, fmt: str,
           root: str | None) -> int:
    """Show what is live and what bakes as a canary, verified as a client; with --metrics, what the fleet runs."""
    from validator.publish.repository import StorageFetcher, repository_status
    from validator.publish.trust import status_anchor

    if url and folder:
        raise click.UsageError("give --url or --dir, not both")
    try:
        repo: Path | None = _root(root)
    except EnvironmentProblem:
        if root is not None:
            raise
        repo = None
    settings = _settings(repo) if repo is not None else None
    spec = url or folder
    if url and url.split("://", 1)[0].lower() in ("http", "https"):
        from tuf.ngclient.urllib3_fetcher import Urllib3Fetcher

        fetcher: Any = Urllib3Fetcher(app_user_agent="weights-status")
        base, location = url, url

        def read_root(version: int) -> bytes | None:
            try:
                return fetcher.download_bytes(f"{base.rstrip('/')}/metadata/{version}.root.json", 512000)
            except Exception:  # noqa: BLE001 - only a comparison
                return None
    else:
        place = _place(repo, spec, settings)
        fetcher = StorageFetcher(place.storage)
        base, location = StorageFetcher.PREFIX, place.storage.location

        def read_root(version: int) -> bytes | None:
            with _errors():
                return place.storage.read(f"metadata/{version}.root.json")
    with _errors():
        anchor, label = status_anchor(repo, trusted_root, read_root)
        result = repository_status(base, anchor, fetcher=fetcher, location=location)
    if result.problem_kind == "unreachable" and result.version is None:
        raise EnvironmentProblem(result.problem or f"cannot read {location}")
    fleets = _fleets(metrics_url, result.channels) if metrics_url else {}
    payload = {**result.to_dict(), "trusted_root": label}
    if metrics_url:
        payload["fleet"] = {channel: view.to_dict() for channel, view in fleets.items()}
    if fmt == "json":
        click.echo(json.dumps({**payload}, indent=2, sort_keys=True))
    else:
        for line in _status_lines(result, label):
            click.echo(line)
        for line in _fleet_lines(fleets):
            click.echo(line)
    if result.verified:
        return EXIT_OK
    # Unreachable is the environment's fault (exit 2); anything that does not verify is the repository's (1).
    return EXIT_USAGE if result.problem_kind == "unreachable" else EXIT_FAILED


def _status_lines(result: Any, label: str) -> list[str]:
    lines = [f"repository  {result.location}"]
    if result.verified:
        lines.append(f"verified    yes, as a TUF client trusting {label}")
    else:
        lines.append(f"verified    NO: {result.problem}")
    if result.version is not None:
        lines.append(f"version     {result.version}")
    for channel, entry in sorted(result.channels.items()):
        if "target" in entry:
            lines.append(f"channel     {channel or '(none)'}: {entry.get('target')} (version {entry.get('version')})")
            lines.append(f"  commit    {entry.get('commit', '?')}")
            lines.append(f"  author    {entry.get('author', '?')}")
            lines.append(f"  committed {entry.get('committed_at', '?')}")
            lines.append(f"  published {entry.get('published_at', '?')}")
            if entry.get("rollback_of"):
                lines.append(f"  rollback  serves the bundle of version {entry['rollback_of']}")
            lines.append(f"  sha256    {entry.get('sha256')} ({entry.get('length')} bytes)")
        else:
            lines.append(f"channel     {channel or '(none)'}: nothing live")
        candidate = entry.get("candidate")
        if candidate:
            lines.extend(_candidate_lines(candidate))
    for role in ("root", "targets", "snapshot", "timestamp"):
        info = result.roles.get(role)
        if info is not None:
            lines.append(f"{role:<11} v{info.version}, expires {info.expires}{'  EXPIRED' if info.expired else ''}")
    return lines


def _candidate_lines(candidate: dict[str, Any]) -> list[str]:
    from validator.publish.repository import as_number

    canary = candidate.get("canary") or {}
    fraction = as_number(canary.get("fraction"))
    share = f"{fraction:.0%}" if fraction is not None else "?"
    lines = [
        f"  candidate {candidate.get('target')} (version {candidate.get('version')}) for {share} of clients",
        f"    commit    {candidate.get('commit', '?')}",
        f"    salt      {canary.get('salt', '?')}",
        f"    published {candidate.get('published_at', '?')}",
        f"    sha256    {candidate.get('sha256')} ({candidate.get('length')} bytes)",
    ]
    for model, guess in sorted((candidate.get("predicted") or {}).items()):
        value = as_number(guess.get("value")) if isinstance(guess, dict) else None
        if value is not None:
            lines.append(f"    predicted {model}: {guess.get('metric')} {value:.2%} "
                         f"({guess.get('rows', '?')} replayed rows)")
    return lines


def _fleet_source(channels: dict[str, dict[str, Any]], channel: str) -> tuple[str | None, Any]:
    """The version the channel's clients shadow, and its prediction: the candidate's, else the shadow channel's.

    This mirrors what a client shadows (interface 3): a channel's candidate when present, else the bundle of
    the ``shadow`` channel when the repository publishes one.
    """
    from validator.publish.bundle import SHADOW_CHANNEL
    from validator.publish.repository import as_number

    entry = channels.get(channel) or {}
    source = entry.get("candidate")
    if source is None and channel != SHADOW_CHANNEL:
        shadow = channels.get(SHADOW_CHANNEL) or {}
        source = shadow if "target" in shadow else None
    if source is None:
        return None, None
    version = source.get("version")
    predicted = source.get("predicted")
    if isinstance(predicted, dict):  # signed as decimal text (canonical JSON has no floats): numbers again
        predicted = {model: {**guess, "value": as_number(guess.get("value"))}
                     for model, guess in predicted.items() if isinstance(guess, dict)}
    return (str(version) if version is not None else None), predicted


def _fleets(metrics_url: str, channels: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per published channel, the fleet view read from the Prometheus server at ``metrics_url``."""
    from validator.publish.fleet import FleetError, read_fleet

    views = {}
    for channel in sorted(c for c in channels if c):
        version, predicted = _fleet_source(channels, channel)
        try:
            views[channel] = read_fleet(metrics_url, channel, version, predicted)
        except FleetError as exc:
            raise EnvironmentProblem(f"--metrics: {exc}") from None
    return views


def _fleet_lines(fleets: dict[str, Any]) -> list[str]:
    from validator.publish.fleet import render_fleet

    lines = []
    for _channel, view in sorted(fleets.items()):
        lines.extend(render_fleet(view))
    return lines


# --- serve --------------------------------------------------------------------------------------------------

@cli.command()
@click.option("--dir", "folder", type=click.Path(file_okay=False), default=None,
              help="The folder to serve (default: publish.target when it is a folder).")
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True, help="0: any free port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--quiet", is_flag=True, help="Do not log requests.")
@_root_option
def serve(folder: str | None, port: int, host: str, quiet: bool, root: str | None) -> int:
    """Serve a published repository over HTTP for local use (GET/HEAD only, no listings)."""
    from validator.publish.serve import StaticServer
    from validator.publish.storage import FolderStorage, open_storage

    if folder is None:
        repo = _root(root)
        settings = _settings(repo)
        with _errors():
            storage = open_storage(settings.target, repo)
        if not isinstance(storage, FolderStorage):
            raise click.UsageError(f"publish.target is {settings.target}, not a folder: pass --dir")
        path = storage.path
    else:
        path = Path(folder)
    with _errors():
        server = StaticServer(path, host, port, log=None if quiet else (lambda line: click.echo(line, err=True)))
    click.echo(f"serving {path} at {server.url} (Ctrl-C to stop)")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
    return EXIT_OK
