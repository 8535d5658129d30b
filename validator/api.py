"""The library the CLI is a thin layer over: tests and other tools call these functions directly."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from validator.gate.findings import Finding
from validator.gate.settings import SETTINGS_FILE, check_settings, find_root
from validator.gate.sources import GitRevision, Source, SourceError, WorkTree
from validator.gate.validate import ValidationResult, select_paths, validate
from validator.kinds import compile_model


class ValidationFailed(Exception):
    """The weights do not pass the gate; ``findings`` says where and why."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = list(findings)
        shown = "\n".join(f.render() for f in self.findings[:20])
        super().__init__(f"{len(self.findings)} finding(s):\n{shown}")


def repository_root(start: Path | str | None = None) -> Path:
    """The weights repository that holds ``start`` (default: the current folder)."""
    root = find_root(Path(start) if start is not None else Path.cwd())
    if root is None:
        raise SourceError(
            f"no weights repository at or above {Path(start or '.').resolve()}: "
            "run inside one (a folder with config/weights.yaml) or pass --root"
        )
    return root


def open_source(root: Path | str, rev: str | None = None) -> Source:
    """The work tree (``rev`` None) or a git revision of the repository at ``root``."""
    return WorkTree(Path(root)) if rev is None else GitRevision(Path(root), rev)


def validate_paths(root: Path | str, paths: Sequence[str] | None = None, rev: str | None = None) -> ValidationResult:
    """Validate the repository; with ``paths`` (relative to ``root``), report only those files."""
    source = open_source(root, rev)
    only = None
    if paths:
        # Broken settings leave the folders unknown: validate() then reports the settings file alone.
        checked = check_settings(source.read(SETTINGS_FILE))
        if checked.settings is not None:
            settings = checked.settings
            every = [*([SETTINGS_FILE] if checked.present else []),
                     *source.list(settings.contracts_dir), *source.list(settings.weights_dir)]
            only = select_paths(every, paths)
    return validate(source, None, only)


def load_models(root: Path | str, rev: str | None = None) -> dict[str, Any]:
    """Every model of the repository compiled into its evaluator, after the full gate.

    For an app or notebook that evaluates weights straight from the files; raises ValidationFailed
    rather than hand out a model the gate would refuse.
    """
    result = validate_paths(root, rev=rev)
    if not result.ok:
        raise ValidationFailed([f for f in result.findings if f.severity.value == "error"])
    return {
        name: compile_model(data, result.contracts.get(data["contract"]))
        for name, data in result.models.items()
    }
