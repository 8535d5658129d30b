"""Where the gate reads files from: the work tree, or any git revision without touching the checkout.

Both look the same to the gate (list a folder, read a file), so validating ``main`` and validating the work
tree are one code path. Revisions are read through GitPython's object database: no checkout, no worktree,
no stash, nothing an analyst's uncommitted edits could lose.
"""
from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Protocol

YAML_SUFFIXES = (".yaml", ".yml")


class SourceError(Exception):
    """The revision or folder cannot be read (bad revision name, not a git repository): exit 2."""


class Source(Protocol):
    label: str

    def list(self, folder: str) -> list[str]:
        """Relative POSIX paths of the YAML files directly in ``folder`` (sorted)."""

    def read(self, relpath: str) -> bytes | None:
        """The bytes of ``relpath``, or None when it does not exist in this source."""


class WorkTree:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.label = "work tree"

    def list(self, folder: str) -> list[str]:
        base = self.root / folder
        if not base.is_dir():
            return []
        return sorted(
            str(PurePosixPath(folder) / p.name) for p in base.iterdir() if p.is_file() and p.suffix in YAML_SUFFIXES
        )

    def read(self, relpath: str) -> bytes | None:
        path = self.root / relpath
        return path.read_bytes() if path.is_file() else None


class GitRevision:
    def __init__(self, root: Path, rev: str) -> None:
        import git  # the gate only: apps never read git

        try:
            self.repo = git.Repo(root, search_parent_directories=False)
            self.commit = self.repo.commit(rev)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise SourceError(f"{root} is not a git repository") from None
        except (git.BadName, ValueError):
            raise SourceError(f"unknown git revision {rev!r}: name a branch, tag or commit (e.g. main, HEAD~1)") from None
        self.rev = rev
        self.label = f"{rev} ({self.commit.hexsha[:12]})"

    def _tree(self, folder: str):  # -> git.Tree | None
        try:
            node = self.commit.tree / folder if folder not in ("", ".") else self.commit.tree
        except KeyError:
            return None
        return node if node.type == "tree" else None

    def list(self, folder: str) -> list[str]:
        tree = self._tree(folder)
        if tree is None:
            return []
        return sorted(
            str(PurePosixPath(folder) / blob.name)
            for blob in tree.blobs
            if PurePosixPath(blob.name).suffix in YAML_SUFFIXES
        )

    def read(self, relpath: str) -> bytes | None:
        try:
            blob = self.commit.tree / relpath
        except KeyError:
            return None
        if blob.type != "blob":
            return None
        return blob.data_stream.read()
