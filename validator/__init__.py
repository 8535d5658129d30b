"""weights: scoring weights and thresholds as code.

The package is grouped by who runs it: ``validator.kinds`` (kinds and their evaluators) and
``validator.runtime`` are what an app imports; everything else is the gate that runs in CI and on
analysts' machines. ``validator.api`` is the library the CLI is a thin layer over.
"""
# The one version string: pyproject.toml reads it ([tool.setuptools.dynamic]) and the CLI prints it.
__version__ = "0.1.0"
