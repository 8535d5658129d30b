"""Where the gate reads files from: the work tree, or any git revision without touching the checkout.

Both look the same to the gate (list a folder, read a file), so validating ``main`` and validating the work
tree are one code path. Revisions are read through git's object database: no checkout, no worktree, no
stash, nothing an analyst's uncommitted edits could lose.
"""
from __future__ import annotations

from dataclasses import dataclass
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
    """A commit's files, read without a checkout.

    Each folder's tree is read once and kept as a name -> object-id table, and file bytes come straight from
    git's object database by id (one ``git cat-file --batch`` process for the whole run), so validating a
    revision costs the same per file as reading the work tree. GitPython's ``tree / path`` would instead
    re-parse every tree on the way down at each lookup: quadratic in the size of a folder.
    """

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
        self._folders: dict[tuple[str, ...], dict[str, _Entry] | None] = {}

    def _entries(self, parts: tuple[str, ...]) -> dict[str, _Entry] | None:
        """The entries of the folder at ``parts`` (None when it is not a folder at this revision), read once."""
        from git import Tree

        if parts in self._folders:
            return self._folders[parts]
        tree: Tree | None = None
        if not parts:
            tree = self.commit.tree
        else:
            parent = self._entries(parts[:-1])
            entry = parent.get(parts[-1]) if parent is not None else None
            if entry is not None and entry.type == "tree":
                tree = Tree(self.repo, entry.binsha, Tree.tree_id << 12, "/".join(parts))
        entries = None if tree is None else {item.name: _Entry(item.type, item.binsha) for item in tree}
        self._folders[parts] = entries
        return entries

    def list(self, folder: str) -> list[str]:
        parts = _parts(folder)
        entries = self._entries(parts) if parts is not None else None
        if entries is None:
            return []
        return sorted(
            str(PurePosixPath(folder) / name)
            for name, entry in entries.items()
            if entry.type == "blob" and PurePosixPath(name).suffix in YAML_SUFFIXES
        )

    def read(self, relpath: str) -> bytes | None:
        parts = _parts(relpath)
        if not parts:
            return None
        folder = self._entries(parts[:-1])
        entry = folder.get(parts[-1]) if folder is not None else None
        if entry is None or entry.type != "blob":
            return None
        return self.repo.odb.stream(entry.binsha).read()


@dataclass(frozen=True)
class _Entry:
    type: str      # "blob", "tree" or "commit" (a submodule)
    binsha: bytes  # the object id, raw


def _parts(relpath: str) -> tuple[str, ...] | None:
    """``relpath`` as path segments below the repository root; None when it would leave the root."""
    parts = tuple(p for p in PurePosixPath(relpath).parts if p not in ("", "."))
    if any(p == ".." for p in parts) or PurePosixPath(relpath).is_absolute():
        return None
    return parts
