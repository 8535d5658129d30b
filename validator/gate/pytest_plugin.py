"""The pytest plugin (entry point ``pytest11: weights``): golden case files become test items.

One ``pytest`` run then holds the project's tests and the analysts' cases, and a failing case reads like a
finding (``tests/golden/fraud_risk.yaml:19:17: error golden.decision: case '...': expected decision 'decline',
got 'review' (score 0.62, ...)``) instead of a Python traceback. ``weights test`` runs the very same cases
through the same functions (``validator.gate.golden``).

Only YAML files directly in the golden folder of a weights repository (a folder with config/weights.yaml
above them; ``golden_dir`` in its settings, default tests/golden) are collected, so other YAML under tests/
(rule examples, fixtures) is left alone. The repository is validated once per session and root. Disable the
plugin with ``pytest -p no:weights``.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, cast

import pytest

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr

_STATE_KEY = pytest.StashKey[dict]()


def _repo_for(file_path: Path) -> tuple[Path, Any] | None:
    """(root, settings) when ``file_path`` is a case file of a weights repository, else None.

    When the settings file has errors, the golden folder it names is unknown: a file in the default folder
    then comes back with the SettingsError in place of the settings, so its cases fail with the settings'
    findings instead of silently not being collected.
    """
    from validator.gate.settings import SETTINGS_FILE, SettingsError, find_root, load_settings

    if file_path.suffix not in (".yaml", ".yml"):
        return None
    root = find_root(file_path.parent)
    if root is None:
        return None
    # Only now the gate's dependencies (the [gate] extra): an app with the base install runs pytest on its own
    # YAML files without them, and a weights repository without them is told what to install.
    from validator.extras import require

    require("gate", "validator.gate.golden", feature="the weights pytest plugin (golden cases)")
    from validator.gate.golden import DEFAULT_GOLDEN_DIR, golden_dir
    try:
        settings = load_settings((root / SETTINGS_FILE).read_bytes())
    except OSError:
        return None
    except SettingsError as exc:
        return (root, exc) if file_path.resolve().parent == (root / DEFAULT_GOLDEN_DIR).resolve() else None
    if file_path.resolve().parent != (root / golden_dir(settings)).resolve():
        return None
    return root, settings


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    found = _repo_for(file_path)
    if found is None:
        return None
    return GoldenFile.from_parent(parent, path=file_path, root=found[0], settings=found[1])


class _Repository:
    """The validated work tree of one weights repository, shared by every case file of the session."""

    def __init__(self, root: Path, settings: Any) -> None:
        from validator.gate.golden import ModelPool
        from validator.gate.sources import WorkTree
        from validator.gate.validate import validate

        self.root = root
        self.source = WorkTree(root)
        self.validation = validate(self.source, settings)
        self.model_files = self.source.list(settings.weights_dir)
        self.pool = ModelPool(self.validation.models, self.validation.contracts)


def _repository(config: pytest.Config, root: Path, settings: Any) -> _Repository:
    cache = config.stash.setdefault(_STATE_KEY, {})
    if root not in cache:
        cache[root] = _Repository(root, settings)
    return cache[root]


class GoldenFile(pytest.File):
    """One case file: an item per case, or one failing item when the file itself is broken."""

    def __init__(self, *, root: Path, settings: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.root = root
        self.settings = settings

    def collect(self) -> Iterator[pytest.Item]:
        from validator.gate.findings import has_errors
        from validator.gate.golden import not_runnable, parse_file
        from validator.gate.settings import SETTINGS_FILE, SettingsError

        if isinstance(self.settings, SettingsError):
            yield GoldenFileProblem.from_parent(self, name=f"[{SETTINGS_FILE}]", findings=self.settings.findings)
            return

        relpath = self.path.resolve().relative_to(self.root.resolve()).as_posix()
        case_file, problems = parse_file(self.path.read_bytes(), relpath)
        if case_file is not None and not has_errors(problems):
            repo = _repository(self.config, self.root, self.settings)
            problems = problems + not_runnable(case_file, repo.validation, repo.model_files)
        if case_file is None or has_errors(problems):
            yield GoldenFileProblem.from_parent(self, name="[case file]", findings=problems)
            return
        for case in case_file.cases:
            yield GoldenItem.from_parent(self, name=case.name, case=case)


class GoldenFileProblem(pytest.Item):
    """Stands for a case file that cannot run (YAML, schema, unknown model): fails with its findings."""

    def __init__(self, *, findings: list, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.findings = findings

    def runtest(self) -> None:
        from validator.gate.findings import has_errors
        from validator.gate.golden import GoldenCaseFailed

        if has_errors(self.findings):
            raise GoldenCaseFailed(self.findings)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        from validator.gate.golden import GoldenCaseFailed

        if isinstance(excinfo.value, GoldenCaseFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, 0, f"{self.path.name}: case file"


class GoldenItem(pytest.Item):
    """One golden case: runs it and fails with the case's findings (expected vs got, file:line)."""

    def __init__(self, *, case: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        from validator.gate.golden import GoldenCaseFailed, run_case

        parent = cast(GoldenFile, self.parent)
        repo = _repository(self.config, parent.root, parent.settings)
        outcome = run_case(self.case, repo.pool.get(self.case.model))
        if not outcome.passed:
            raise GoldenCaseFailed(outcome.failures)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        from validator.gate.golden import GoldenCaseFailed

        if isinstance(excinfo.value, GoldenCaseFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, self.case.line - 1, f"{self.case.model}: {self.case.name}"
