"""validator.extras: a missing optional module names the extra to install, and the CLI turns it into exit 2.

The base install itself (no extra at all) is tests/test_slim_install.py; these run in the project's venv.
"""
from __future__ import annotations

import click
import pytest

from validator.cli.app import cli, run
from validator.extras import EXTRA_MODULES, MissingExtra, missing_extra, require


def test_require_names_the_extra_and_the_missing_module() -> None:
    with pytest.raises(MissingExtra) as caught:
        require("redis", "json", "weights_no_such_module.client", feature="weights score --to redis://")
    assert caught.value.extra == "redis" and caught.value.module == "weights_no_such_module"
    assert str(caught.value) == ("weights score --to redis:// needs the Python module 'weights_no_such_module', "
                                 "which is not installed: pip install 'weights[redis]'")


def test_require_passes_when_the_modules_are_there() -> None:
    require("gate", "click", "yaml")


def test_require_refuses_an_extra_that_does_not_exist() -> None:
    with pytest.raises(ValueError, match="unknown extra 'gates'; extras: agent, gate, metrics"):
        require("gates", "click")


@pytest.mark.parametrize("module, extra", [
    ("numpy", "gate"), ("pyarrow.parquet", "gate"), ("git", "gate"), ("ruamel.yaml", "gate"),
    ("pandas", "notebook"), ("sklearn.linear_model", "sklearn"), ("uvicorn", "agent"), ("pyspark.sql", "spark"),
    ("redis", "redis"), ("prometheus_client", "metrics"),
])
def test_a_missing_optional_module_maps_to_its_extra(module: str, extra: str) -> None:
    problem = missing_extra(ModuleNotFoundError(f"No module named {module!r}", name=module))
    assert problem is not None and (problem.extra, problem.module) == (extra, module)


@pytest.mark.parametrize("exc", [
    ModuleNotFoundError("No module named 'validator.nothing'", name="validator.nothing"),  # a bug, not an extra
    ModuleNotFoundError("No module named 'tuf'", name="tuf"),  # the base install is broken
    ModuleNotFoundError("no name"),
    ValueError("not about modules"),
])
def test_anything_else_is_not_disguised_as_a_missing_extra(exc: BaseException) -> None:
    assert missing_extra(exc) is None


def test_every_extra_of_pyproject_is_known() -> None:
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the claim does not depend on the interpreter
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    declared = set(pyproject["project"]["optional-dependencies"]) - {"dev", "actionlint"}
    assert declared == set(EXTRA_MODULES)


@pytest.mark.parametrize("raised", [
    MissingExtra("redis", "redis", "weights score --to redis://"),
    ModuleNotFoundError("No module named 'pyspark'", name="pyspark"),
])
def test_the_cli_maps_a_missing_extra_in_a_command_to_exit_2(raised: Exception, capsys) -> None:
    def needs_an_extra() -> None:
        raise raised

    cli.add_command(click.Command("needs-an-extra", callback=needs_an_extra))
    try:
        with pytest.raises(SystemExit) as exited:
            run(["needs-an-extra"])
    finally:
        cli.commands.pop("needs-an-extra")
    out, err = capsys.readouterr()
    assert exited.value.code == 2 and out == ""
    expected = missing_extra(raised)
    assert expected is not None and err == f"weights: {expected}\n"
    assert "pip install 'weights[" in err


def test_client_metrics_without_the_metrics_extra_say_what_to_install(monkeypatch) -> None:
    import sys

    from validator.runtime.metrics import ClientMetrics

    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # import of it raises ModuleNotFoundError
    with pytest.raises(ImportError, match=r"pip install 'weights\[metrics\]'") as caught:
        ClientMetrics("production", registry=object())
    assert isinstance(caught.value, MissingExtra) and caught.value.name == "prometheus_client"
