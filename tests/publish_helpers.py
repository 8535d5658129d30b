"""Helpers for the publishing tests: real git repositories, keys, a served folder, and a TUF client we did not
write (python-tuf's ``ngclient.Updater``) to judge what we publish.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from validator.publish.bundle import Bundle, Provenance
from validator.publish.keys import ROLES, KeySource, env_name
from validator.publish.repository import Expiry, init_root
from validator.publish.serve import StaticServer
from validator.publish.storage import FolderStorage, Storage

PROJECT = Path(__file__).resolve().parents[1]
BUNDLE = "production/bundle.json"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Ana Lyst", "GIT_AUTHOR_EMAIL": "analyst@example.com",
    "GIT_COMMITTER_NAME": "Merge Bot", "GIT_COMMITTER_EMAIL": "bot@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    full_env = {**os.environ, **GIT_ENV, "HOME": str(cwd), **(env or {})}
    return subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=cwd, check=True, capture_output=True,
                          text=True, env=full_env).stdout


def make_repo(folder: Path, *, date: str = "2024-05-01T12:00:00+02:00") -> Path:
    """A copy of this project's config/ and weights/ committed in a new git repository at ``folder``.

    The project's own config/root.json is left out: its keys are not ours, and each test picks its trust.
    """
    folder.mkdir(parents=True)
    shutil.copytree(PROJECT / "config", folder / "config", ignore=shutil.ignore_patterns("root.json"))
    shutil.copytree(PROJECT / "weights", folder / "weights")
    (folder / ".gitignore").write_text("/.weights/\n")
    git(folder, "init", "-q", "-b", "main")
    commit_all(folder, "weights as they are on main", date)
    return folder


def commit_all(repo: Path, message: str, date: str = "2024-05-02T09:30:00+00:00") -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message,
        env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
    return git(repo, "rev-parse", "HEAD").strip()


def change_weights(repo: Path, n: int) -> str:
    """Commit a harmless edit (a comment) of a model file; the bundle changes through its provenance."""
    path = sorted((repo / "weights").glob("*.yaml"))[0]
    path.write_text(path.read_text() + f"# edit {n}\n")
    return commit_all(repo, f"edit {n}", f"2024-05-0{2 + n}T10:00:00+00:00")


@dataclass
class TestKeys:
    """One ed25519 key per role, handed to the code the way CI does: PEM text in environment variables."""

    __test__ = False
    signers: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def generate(cls) -> "TestKeys":
        from securesystemslib.signer import CryptoSigner

        return cls({role: CryptoSigner.generate_ed25519() for role in ROLES})

    def env(self, roles: tuple[str, ...] = ROLES) -> dict[str, str]:
        return {env_name(role): self.signers[role].private_bytes.decode() for role in roles}

    def source(self, roles: tuple[str, ...] = ROLES) -> KeySource:
        return KeySource(keys_dir=None, env=self.env(roles))

    def root(self, expiry: Expiry | None = None, now: dt.datetime | None = None) -> bytes:
        return init_root(self.signers, expiry or Expiry(), now)


def fake_bundle(text: str, commit: str = "c" * 40) -> Bundle:
    """A stand-in bundle for TUF tests that are about the repository, not the weights."""
    return Bundle(data=f'{{"format_version":1,"note":"{text}"}}'.encode(),
                  provenance=Provenance(commit=commit, author="Ana Lyst", committed_at="2024-05-01T10:00:00Z"))


@contextlib.contextmanager
def served(folder: Path) -> Iterator[StaticServer]:
    server = StaticServer(folder, port=0).start()
    try:
        yield server
    finally:
        server.stop()


def updater(meta_dir: Path, base_url: str, root: bytes, fetcher: Any = None, config: Any = None):
    """python-tuf's client, bootstrapped from the published root, caching its trusted metadata in ``meta_dir``."""
    from tuf.ngclient import Updater

    meta_dir.mkdir(parents=True, exist_ok=True)
    base = base_url if base_url.endswith("/") else base_url + "/"
    return Updater(str(meta_dir), base + "metadata/", str(meta_dir.parent / (meta_dir.name + "-targets")),
                   base + "targets/", fetcher=fetcher, config=config, bootstrap=root)


def fetch(meta_dir: Path, base_url: str, root: bytes, path: str = BUNDLE, **kwargs: Any) -> bytes:
    """Refresh, then download and verify ``path``; returns its bytes (raises what python-tuf raises)."""
    client = updater(meta_dir, base_url, root, **kwargs)
    client.refresh()
    info = client.get_targetinfo(path)
    assert info is not None, f"{path} is not a target"
    target = client.download_target(info)
    return Path(target).read_bytes()


def files_of(folder: Path) -> dict[str, bytes]:
    """Every visible file under ``folder`` (relative path -> bytes)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".")
    }


class SimulatedCrash(Exception):
    """Stands for a publish process killed mid-way."""


class CrashingStorage:
    """A folder whose ``write`` dies after ``allowed`` complete writes, leaving the partial temp file a killed
    process would leave behind."""

    def __init__(self, inner: FolderStorage, allowed: int) -> None:
        self.inner = inner
        self.allowed = allowed
        self.location = inner.location
        self.done: list[str] = []

    def read(self, relpath: str) -> bytes | None:
        return self.inner.read(relpath)

    def list(self, folder: str) -> list[str]:
        return self.inner.list(folder)

    def lock(self):
        return self.inner.lock()

    def write(self, relpath: str, data: bytes) -> None:
        if len(self.done) >= self.allowed:
            target = self.inner.path / relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            (target.parent / f".{target.name}.killed.tmp").write_bytes(data[: len(data) // 2])
            raise SimulatedCrash(f"killed while writing {relpath}")
        self.inner.write(relpath, data)
        self.done.append(relpath)


def storage_of(folder: Path) -> Storage:
    return FolderStorage(folder)


def run_weights(*args: str, cwd: Path, env: dict[str, str] | None = None,
                timeout: float = 60) -> subprocess.CompletedProcess:
    """The real command line in a child process (``python -m validator``), with a clean WEIGHTS_* environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WEIGHTS_")}
    clean["PYTHONPATH"] = str(PROJECT) + os.pathsep + clean.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "validator", *args], cwd=cwd, env={**clean, **(env or {})},
                          capture_output=True, timeout=timeout)


@dataclass
class Ran:
    code: int
    out: str
    err: str


def make_invoker(capsys: Any, monkeypatch: Any):
    """Run ``weights ARGS`` in this process (fast), through the same ``main`` that maps exit codes."""
    from validator.cli import main

    def invoke(*args: str, env: dict[str, str] | None = None) -> Ran:
        capsys.readouterr()
        with monkeypatch.context() as m:
            for key in list(os.environ):
                if key.startswith("WEIGHTS_"):
                    m.delenv(key)
            for key, value in (env or {}).items():
                m.setenv(key, value)
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return invoke


SERVE_WAIT = 120  # upper bound of a wait on the serve child; only a child that never gets there fails


class Serve:
    """`weights serve --dir FOLDER` in a child process; ``url`` once it has said where it listens."""

    def __init__(self, folder: Path, port: int = 0) -> None:
        env = {**os.environ, "PYTHONPATH": str(PROJECT)}
        self.child = subprocess.Popen(
            [sys.executable, "-m", "validator", "serve", "--dir", str(folder), "--port", str(port), "--quiet"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        with selectors.DefaultSelector() as selector:
            selector.register(self.child.stdout, selectors.EVENT_READ)
            if not selector.select(SERVE_WAIT):
                self.stop()
                raise AssertionError("weights serve printed nothing")
        line = self.child.stdout.readline()
        match = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
        if not match:
            self.stop()
            raise AssertionError(f"weights serve said {line!r}: {self.child.stderr.read()}")
        self.url = match.group(1)

    def stop(self) -> None:
        if self.child.poll() is None:
            self.child.send_signal(signal.SIGTERM)
            try:
                self.child.wait(SERVE_WAIT)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()
        self.child.stdout.close()
        self.child.stderr.close()
