"""Where a TUF repository lives: a local folder (the embedded default) or object storage through fsspec URLs.

The TUF code above this module only needs four operations on relative POSIX paths: read, write (atomically:
a reader sees the old bytes or the new ones, never half), list one folder, and a lock for the duration of a
publish. A folder gets them from ``write_atomic`` and ``flock``; an object store gets atomic writes for free
(a PUT replaces the whole object) and leaves mutual exclusion to the CI job's concurrency group.

An HTTP host is not a publish target: it *serves* the folder or bucket you publish to (nginx, a CDN in front
of S3, GitHub Pages). ``weights serve`` is such a host for local use.
"""
from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path, PurePosixPath
from typing import Iterator, Protocol

from validator.atomic import write_atomic

LOCK_NAME = ".weights-publish.lock"


class StorageError(Exception):
    """The publish location cannot be read or written (missing folder, permissions, network, no driver): exit 2.

    The operator's environment is at fault, not the repository's content.
    """


class Storage(Protocol):
    """One publish location; every path is relative to its root and uses ``/``."""

    location: str

    def read(self, relpath: str) -> bytes | None:
        """The bytes at ``relpath``, or None when there is no such file."""

    def write(self, relpath: str, data: bytes) -> None:
        """Replace ``relpath`` with ``data`` atomically, creating folders as needed."""

    def list(self, folder: str) -> list[str]:
        """Names of the files directly in ``folder`` (sorted; empty when the folder does not exist)."""

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Held for a whole publish so two publishes on one machine cannot interleave their writes."""


def _check_relpath(relpath: str) -> str:
    path = PurePosixPath(relpath)
    if path.is_absolute() or not path.parts or any(p in ("", ".", "..") for p in path.parts):
        raise ValueError(f"not a relative path inside the repository: {relpath!r}")
    return str(path)


class FolderStorage:
    """A local folder: the default target, and what ``weights serve`` or any static web server serves."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.location = str(self.path)

    def read(self, relpath: str) -> bytes | None:
        target = self.path / _check_relpath(relpath)
        try:
            return target.read_bytes()
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            raise StorageError(f"{target} is a folder where a file was expected") from None
        except OSError as exc:
            raise StorageError(f"cannot read {target}: {exc.strerror or exc}") from None

    def write(self, relpath: str, data: bytes) -> None:
        target = self.path / _check_relpath(relpath)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # 0644: the folder is meant to be served; nothing secret is ever written here.
            write_atomic(target, data, mode=0o644)
        except OSError as exc:
            raise StorageError(f"cannot write {target}: {exc.strerror or exc}") from None

    def list(self, folder: str) -> list[str]:
        base = self.path / _check_relpath(folder)
        try:
            return sorted(p.name for p in base.iterdir() if p.is_file() and not p.name.startswith("."))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StorageError(f"cannot list {base}: {exc.strerror or exc}") from None

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            handle = open(self.path / LOCK_NAME, "a+b")
        except OSError as exc:
            raise StorageError(f"cannot create the publish folder {self.path}: {exc.strerror or exc}") from None
        with handle:
            try:
                import fcntl
            except ImportError:  # pragma: no cover - Windows: no advisory locks; CI serializes anyway
                yield
                return
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EACCES):
                    raise StorageError(f"another publish to {self.path} is running; try again when it ends") from None
                raise StorageError(f"cannot lock {self.path}: {exc.strerror or exc}") from None
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class FsspecStorage:
    """Object storage (``s3://``, ``gs://``, ``az://``, ``memory://`` ...) through fsspec.

    The driver for a scheme is a separate package (s3fs, gcsfs, adlfs); fsspec says which when it is missing.
    Credentials come from the driver's usual places (environment, instance role), never from this repository.
    """

    def __init__(self, url: str) -> None:
        try:
            from fsspec.core import url_to_fs

            self.fs, self.root = url_to_fs(url)
        except ImportError as exc:
            raise StorageError(f"cannot open {url}: {exc} (install the fsspec driver for this scheme)") from None
        except (ValueError, OSError) as exc:
            raise StorageError(f"cannot open {url}: {exc}") from None
        self.location = url
        self.root = self.root.rstrip("/")

    def _full(self, relpath: str) -> str:
        return f"{self.root}/{_check_relpath(relpath)}" if self.root else _check_relpath(relpath)

    def read(self, relpath: str) -> bytes | None:
        try:
            return self.fs.cat_file(self._full(relpath))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise StorageError(f"cannot read {self.location}/{relpath}: {exc}") from None

    def write(self, relpath: str, data: bytes) -> None:
        try:
            self.fs.pipe_file(self._full(relpath), data)
        except (OSError, ValueError) as exc:
            raise StorageError(f"cannot write {self.location}/{relpath}: {exc}") from None

    def list(self, folder: str) -> list[str]:
        try:
            entries = self.fs.ls(self._full(folder), detail=True)
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise StorageError(f"cannot list {self.location}/{folder}: {exc}") from None
        names = (PurePosixPath(e["name"]).name for e in entries if e.get("type") == "file")
        return sorted(n for n in names if not n.startswith("."))

    def lock(self) -> contextlib.AbstractContextManager[None]:
        # Object stores have no cheap lock; the publish workflow runs in one concurrency group instead.
        return contextlib.nullcontext()


def is_url(spec: str) -> bool:
    return "://" in spec


def open_storage(spec: str | os.PathLike[str], base: Path | None = None) -> Storage:
    """The storage a ``--to``/``--dir``/``--url`` value names: a folder (relative to ``base``) or a URL."""
    text = os.fspath(spec)
    if not text.strip():
        raise StorageError("empty publish location: name a folder or a storage URL (e.g. s3://bucket/weights)")
    if not is_url(text):
        path = Path(text).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        return FolderStorage(path)
    scheme = text.split("://", 1)[0].lower()
    if scheme == "file":
        return FolderStorage(Path(text.split("://", 1)[1]))
    if scheme in ("http", "https"):
        raise StorageError(
            f"cannot publish to {text}: an HTTP host only serves a repository; publish to the folder or bucket "
            "it serves (e.g. --to /srv/www/weights or --to s3://bucket/weights)"
        )
    return FsspecStorage(text)
