"""The ``weights agent`` process: one ``WeightsClient``, the Starlette app around it, uvicorn on our socket.

Why the socket is bound here rather than by uvicorn: the port is known (and printed) before serving starts,
so ``--port 0`` works for tests and supervisors that read the URL from the first line of output, and a port
already taken is a clear error (exit 2) before any thread starts.

Why uvicorn's signal capture is replaced: uvicorn handles SIGINT/SIGTERM by shutting down gracefully (open
requests finish, the lifespan stops the client) and then *raises the signal again* so the default action
runs; for SIGTERM that kills the process with status 143 after a clean shutdown, which supervisors report as
a crash. The agent keeps the graceful part and exits 0. The handlers are installed explicitly, so an agent
started with SIGINT ignored (a background job of a shell script) still stops on it.
"""
from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from validator.agent.app import create_app
from validator.agent.limits import AgentLimits
from validator.agent.metrics import new_registry
from validator.kinds.contract import Contract
from validator.runtime import WeightsClient, load_contract

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
log = logging.getLogger("validator.agent")


class AgentError(Exception):
    """The agent cannot start here (unreadable root or contract, port taken, bad option): exit 2."""


@dataclass(frozen=True)
class AgentOptions:
    """Everything ``weights agent`` is told (flags or ``WEIGHTS_*`` variables), validated by ``build``."""

    url: str
    root: Path
    cache_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    interval: float = 30.0
    channel: str = "production"
    contracts: Sequence[Path] = field(default_factory=tuple)
    limits: AgentLimits = field(default_factory=AgentLimits)
    log_level: str = "info"
    access_log: bool = False
    instance_id: str | None = None   # the canary cohort's key (WeightsClient's default when None)
    shadow: float = 0.0              # share of requests the candidate is evaluated on, off the request path
    push: bool = True                # hold the server's change notification open


def load_contracts(paths: Sequence[Path]) -> list[Contract]:
    contracts = []
    for path in paths:
        try:
            contracts.append(load_contract(path))
        except FileNotFoundError:
            raise AgentError(f"{path}: no such contract file") from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise AgentError(f"{path}: not a contract: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - e.g. yaml.YAMLError, a parser error in the file
            raise AgentError(f"{path}: not a contract: {type(exc).__name__}: {exc}") from None
    return contracts


def build(options: AgentOptions) -> tuple[WeightsClient, Starlette]:
    """The client and the app (nothing started), or ``AgentError`` saying which option is wrong."""
    if not options.root.is_file():
        raise AgentError(f"--root {options.root}: no such file (the trusted root.json the app ships with)")
    contracts = load_contracts(options.contracts)
    registry = new_registry()
    try:
        options.cache_dir.mkdir(parents=True, exist_ok=True)
        client = WeightsClient(options.url, options.root, options.cache_dir, channel=options.channel,
                               interval=options.interval, contract=contracts, metrics=registry,
                               instance_id=options.instance_id, shadow=options.shadow, push=options.push)
    except OSError as exc:
        raise AgentError(f"--cache-dir {options.cache_dir}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise AgentError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - python-tuf refusing the root file: its message says why
        raise AgentError(f"--root {options.root}: {type(exc).__name__}: {exc}") from None
    app = create_app(client, contracts=contracts, limits=options.limits, registry=registry, manage_client=True)
    return client, app


def bind(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket (IPv6 when the host is an IPv6 address); ``AgentError`` when the port is taken.

    Listening already here means a client that connects as soon as the URL is printed waits in the backlog
    until uvicorn's loop accepts it, instead of being refused in the moment before it starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted connections only when the socket says it
    # is TCP; without it every response (headers and body written apart) waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)  # uvicorn's default backlog
    except OSError as exc:
        sock.close()
        raise AgentError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


class _Server(uvicorn.Server):
    """uvicorn's server, stopping gracefully on SIGINT/SIGTERM without re-raising the signal afterwards."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {signum: signal.signal(signum, self.handle_exit) for signum in STOP_SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def run_uvicorn(app: Starlette, sock: socket.socket, log_level: str = "info", access_log: bool = False) -> bool:
    """Serve ``app`` on ``sock`` until SIGINT/SIGTERM; whether it started. The bench's bare endpoint runs
    through here too, so the agent is compared with the very same server settings."""
    config = uvicorn.Config(app, lifespan="on", log_level=log_level, access_log=access_log,
                            server_header=False, proxy_headers=False, timeout_graceful_shutdown=10)
    server = _Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return server.started


def serve(options: AgentOptions, announce: Callable[[str], None]) -> None:
    """Build, bind, announce the URL, serve until SIGINT/SIGTERM; the client stops with the app."""
    _client, app = build(options)
    sock = bind(options.host, options.port)
    announce(f"weights agent: serving {url_of(sock)} (weights from {options.url}, channel {options.channel})")
    if not run_uvicorn(app, sock, options.log_level, options.access_log):
        raise AgentError("the agent did not start (see the log above)")
