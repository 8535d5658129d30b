"""Which optional part of ``weights`` a missing module belongs to, so a command can say what to install.

The base install (``pip install weights``) is what an app needs for ``WeightsClient``; the analysts' CLI and
everything heavier are extras (see pyproject.toml). A command that needs an extra calls ``require`` before it
imports the extra's modules; a missing one raises ``MissingExtra``, which the CLI turns into one line naming the
module and the ``pip install 'weights[...]'`` that brings it, and exit 2 (an environment problem, not a bug).
``missing_extra`` does the same for a ``ModuleNotFoundError`` raised by a plain ``import`` of a known optional
module, so an import that was not guarded still ends in that line instead of a traceback.

This module imports nothing outside the standard library: it must work in the slimmest install.
"""
from __future__ import annotations

import importlib

# The extras of pyproject.toml, and the top-level modules (import names) that each one brings. When a module
# comes with several extras (pandas), the smallest extra that has it is named.
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "gate": ("click", "rich", "git", "jsonschema", "fastjsonschema", "fsspec", "numpy", "pyarrow",
             "confusable_homoglyphs", "duckdb", "ruamel"),
    "notebook": ("pandas",),
    "sklearn": ("sklearn",),
    "agent": ("starlette", "uvicorn"),
    "spark": ("pyspark",),
    "redis": ("redis",),
    "metrics": ("prometheus_client",),
}
_EXTRA_OF: dict[str, str] = {module: extra for extra, modules in EXTRA_MODULES.items() for module in modules}
# Commands that need a smaller extra than the gate (``[agent]`` brings click too): what the CLI names when its
# own modules are missing and one of these commands was asked for.
COMMAND_EXTRAS: dict[str, str] = {"agent": "agent"}


class MissingExtra(ImportError):
    """An optional dependency is not installed: the user must install an extra (exit 2, never a traceback).

    An ``ImportError`` (whose ``name`` is the missing module), so code that guards an optional import with
    ``except ImportError`` keeps working.
    """

    def __init__(self, extra: str, module: str, feature: str | None = None) -> None:
        self.extra = extra
        self.module = module
        self.feature = feature
        who = feature or "this command"
        super().__init__(f"{who} needs the Python module {module!r}, which is not installed: "
                         f"pip install 'weights[{extra}]'", name=module)


def require(extra: str, *modules: str, feature: str | None = None) -> None:
    """Import each of ``modules`` (top-level or dotted names) or raise ``MissingExtra`` naming ``extra``.

    Call it at the top of the function that needs the extra, then import as usual::

        require("agent", "starlette", "uvicorn", feature="weights agent")
        import uvicorn

    Importing (not just finding) the module also catches an install that is present but broken, such as a
    missing dependency of the module itself; that too is reported as the extra to (re)install.
    """
    if extra not in EXTRA_MODULES:
        raise ValueError(f"unknown extra {extra!r}; extras: {', '.join(sorted(EXTRA_MODULES))}")
    for module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            raise MissingExtra(extra, exc.name or module, feature) from None


def missing_extra(exc: BaseException, feature: str | None = None) -> MissingExtra | None:
    """The ``MissingExtra`` that explains ``exc``, or None when it is not about a missing optional module.

    ``exc`` is a ``MissingExtra`` (from ``require``) or a ``ModuleNotFoundError`` of a module that one of the
    extras brings. Anything else gives None: a missing module of this package or of the base install is a
    broken install or a bug, which the caller must not disguise as "install an extra".
    """
    if isinstance(exc, MissingExtra):
        return exc
    if not isinstance(exc, ModuleNotFoundError):
        return None
    name = exc.name or ""
    extra = _EXTRA_OF.get(name.partition(".")[0])
    return MissingExtra(extra, name, feature) if extra else None
