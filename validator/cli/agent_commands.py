"""``weights agent``: the HTTP scoring service (extra ``[agent]``); the work is in ``validator.agent``."""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Sequence

import click

from validator.cli.app import EXIT_OK, EnvironmentProblem, cli

_LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


@cli.command()
@click.option("--url", envvar="WEIGHTS_URL", required=True, metavar="URL",
              help="The published repository (metadata/ and targets/ below it). Env: WEIGHTS_URL.")
@click.option("--root", "root_file", envvar="WEIGHTS_ROOT", required=True,
              type=click.Path(dir_okay=False, path_type=Path), metavar="ROOT.json",
              help="The trusted TUF root metadata the app ships with (config/root.json). Env: WEIGHTS_ROOT.")
@click.option("--cache-dir", envvar="WEIGHTS_CACHE_DIR", required=True, type=click.Path(path_type=Path),
              metavar="DIR", help="Trusted metadata and the last good bundle (a volume or tmpfs in a container). "
              "Env: WEIGHTS_CACHE_DIR.")
@click.option("--host", envvar="WEIGHTS_HOST", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 in a container). Env: WEIGHTS_HOST.")
@click.option("--port", envvar="WEIGHTS_PORT", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port, printed). Env: WEIGHTS_PORT.")
@click.option("--interval", envvar="WEIGHTS_INTERVAL", default=30.0, show_default=True,
              type=click.FloatRange(min=0.01), help="Seconds between polls. Env: WEIGHTS_INTERVAL.")
@click.option("--channel", envvar="WEIGHTS_CHANNEL", default="production", show_default=True,
              help="The channel to serve (<channel>/bundle.json). Env: WEIGHTS_CHANNEL.")
@click.option("--contract", "contracts", envvar="WEIGHTS_CONTRACT", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path), metavar="PATH",
              help="A contract the app was built against (config/contracts/<name>.yaml or .json); repeatable. "
              "Bundles that break it are refused, and it types /openapi.json. Env: WEIGHTS_CONTRACT "
              "(paths separated by ':', as in PATH).")
@click.option("--max-body-bytes", envvar="WEIGHTS_MAX_BODY_BYTES", default=4 * 1024 * 1024, show_default=True,
              type=click.IntRange(min=1), help="Largest request body. Env: WEIGHTS_MAX_BODY_BYTES.")
@click.option("--max-batch", envvar="WEIGHTS_MAX_BATCH", default=1000, show_default=True,
              type=click.IntRange(min=1), help="Most requests in one batch. Env: WEIGHTS_MAX_BATCH.")
@click.option("--log-level", envvar="WEIGHTS_LOG_LEVEL", default="info", show_default=True,
              type=click.Choice(_LOG_LEVELS), help="Env: WEIGHTS_LOG_LEVEL.")
@click.option("--access-log/--no-access-log", envvar="WEIGHTS_ACCESS_LOG", default=False, show_default=True,
              help="Log every request (costs throughput). Env: WEIGHTS_ACCESS_LOG.")
@click.option("--instance-id", envvar="WEIGHTS_INSTANCE_ID", default=None, metavar="ID",
              help="This agent's id for canary cohorts and metrics (default: hostname, process id and start "
              "time; give a stable one, e.g. the pod name, so a restart keeps its cohort). Env: WEIGHTS_INSTANCE_ID.")
@click.option("--shadow", envvar="WEIGHTS_SHADOW", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              metavar="FRACTION", help="Evaluate the candidate (a canary, or the shadow channel) on this share of "
              "requests off the request path, and count how often it decides otherwise (/metrics, /v1/status). "
              "Env: WEIGHTS_SHADOW.")
@click.option("--push/--no-push", envvar="WEIGHTS_PUSH", default=True, show_default=True,
              help="Hold the server's change notification open (weights serve's /notify) and refresh as soon as "
              "it says a publish happened; without one, poll. Env: WEIGHTS_PUSH.")
def agent(url: str, root_file: Path, cache_dir: Path, host: str, port: int, interval: float, channel: str,
          contracts: Sequence[Path], max_body_bytes: int, max_batch: int, log_level: str, access_log: bool,
          instance_id: str | None, shadow: float, push: bool) -> int:
    """Serve the published weights over HTTP to apps in any language (POST /v1/models/NAME/score ...).

    Polls URL, verifies every bundle against ROOT.json, hot-reloads, and answers /readyz once a bundle is
    served. Stops cleanly on SIGTERM or Ctrl-C.
    """
    from validator.extras import require

    # A missing module of the extra is one line naming weights[agent], exit 2 (validator.cli.app.run).
    require("agent", "starlette", "uvicorn", "prometheus_client", feature="weights agent")
    from validator.agent.limits import AgentLimits
    from validator.agent.server import AgentError, AgentOptions, serve

    logging.basicConfig(level=log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        options = AgentOptions(url=url, root=root_file, cache_dir=cache_dir, host=host, port=port,
                               interval=interval, channel=channel, contracts=tuple(contracts),
                               limits=AgentLimits(max_body_bytes=max_body_bytes, max_batch=max_batch),
                               log_level=log_level, access_log=access_log, instance_id=instance_id,
                               shadow=shadow, push=push)

        def announce(line: str) -> None:
            click.echo(line)
            sys.stdout.flush()

        serve(options, announce)
    except AgentError as exc:
        raise EnvironmentProblem(str(exc)) from None
    return EXIT_OK
