"""The PR replay's prediction of a canary's shadow flip rate, read from a ``weights check --format json`` report.

The replay measured, on sample data, how often the change flips an outcome; the fleet's shadow evaluation then
measures the same thing on real traffic. Publishing the replay's figure with the bundle (the target's custom
``predicted``) lets ``weights status --metrics`` print both side by side, so an operator sees at once when real
traffic disagrees with the sample.

Which replay metric predicts the shadow flip rate is each kind's own word: ``PREDICTED_BY`` in
``validator/kinds/<kind>/shadow.py``. A kind without that module, or whose ``PREDICTED_BY`` is None (the
bandit draws at random, so nothing predicts its flips), gets no prediction.
"""
from __future__ import annotations

import importlib
import json
import math
import re
from pathlib import Path
from typing import Any

REPORT_HINT = "write one with: weights check --base origin/main --format json > FILE"
_KIND_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class ReportError(Exception):
    """The report file cannot be used (missing, not JSON, not a check report): the operator's to fix, exit 2."""


def predicted_by(kind: str) -> str | None:
    """The replay metric that predicts ``kind``'s shadow flip rate, or None when the kind names none."""
    if not _KIND_NAME.match(kind):
        return None
    module_name = f"validator.kinds.{kind}.shadow"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name in (module_name, f"validator.kinds.{kind}"):
            return None
        raise
    metric = getattr(module, "PREDICTED_BY", None)
    return metric if isinstance(metric, str) and metric else None


def predictions(report: dict[str, Any], source: str = "the report") -> dict[str, dict[str, Any]]:
    """Per model, ``{"metric", "value", "rows"}`` from a parsed check report; models without a replay are left out."""
    if report.get("command") != "check" or not isinstance(report.get("models"), list):
        raise ReportError(f"{source} is not a weights check JSON report; {REPORT_HINT}")
    out: dict[str, dict[str, Any]] = {}
    for model in report["models"]:
        if not isinstance(model, dict) or not isinstance(model.get("name"), str):
            raise ReportError(f"{source} has a model entry without a name; {REPORT_HINT}")
        impact = model.get("impact")
        if not isinstance(impact, dict) or not isinstance(impact.get("metrics"), dict):
            continue
        metric = predicted_by(str(model.get("kind", "")))
        if metric is None:
            continue
        value = impact["metrics"].get(metric)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        rows = impact.get("rows")
        out[model["name"]] = {"metric": metric, "value": float(value),
                              "rows": int(rows) if isinstance(rows, (int, float)) else 0}
    return out


def read_predictions(path: Path | str) -> dict[str, dict[str, Any]]:
    """``predictions`` of the report at ``path``; ReportError names the file and what to run when it is unusable."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file; {REPORT_HINT}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: cannot read it ({exc}); {REPORT_HINT}") from None
    try:
        report = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: not JSON (line {exc.lineno}: {exc.msg}); {REPORT_HINT}") from None
    if not isinstance(report, dict):
        raise ReportError(f"{path} is not a weights check JSON report; {REPORT_HINT}")
    return predictions(report, str(path))
