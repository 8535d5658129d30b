"""The JSON envelope of ``weights check``/``test``/``diff``: versioned, for tools that post-process a run.

Shaped like ``weights validate --format json`` (``format_version``, counts, ``diagnostics`` with ranges)
plus what only a check has: the revisions, the golden case outcomes, and per model the changes and the
replay's metrics, guardrails and distributions. Keys are sorted so two runs diff cleanly.
"""
from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, TextIO

from validator.report import JSON_FORMAT_VERSION, counts, model_verdict
from validator.report.governance import json_dict as governance_dict

if TYPE_CHECKING:  # pragma: no cover
    from validator.gate.check import CheckResult, ModelCheck
    from validator.gate.diff import RepoDiff
    from validator.gate.golden import CaseOutcome, GoldenResult


def _json_safe(value: Any) -> Any:
    """NaN/inf are not JSON; a metric that is undefined (AUC without both classes) becomes null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def impact_dict(impact: Any) -> dict[str, Any]:
    return {
        "model": impact.model,
        "kind": impact.kind,
        "dataset": impact.dataset,
        "rows": impact.rows,
        "status": impact.status,
        "passed": impact.passed,
        "metrics": dict(impact.metrics),
        "summary": list(impact.summary),
        "guardrails": [
            {"name": g.name, "limit": g.limit, "value": g.value, "breached": g.breached, "accepted": g.accepted,
             "failed": g.failed, "reason": g.reason, "message": g.message}
            for g in impact.guardrails
        ],
        "distributions": [
            {"label": d.label, "edges": list(d.edges) if d.edges is not None else None,
             "categories": list(d.categories) if d.categories is not None else None,
             "base": list(d.base), "head": list(d.head)}
            for d in impact.distributions
        ],
    }


def model_dict(result: "CheckResult", model: "ModelCheck") -> dict[str, Any]:
    path, line, col = result.anchor(model)
    return {
        "name": model.name,
        "kind": model.kind,
        "path": model.path,
        "status": model.status,
        "passed": model.passed,
        "verdict": model_verdict(model),
        "anchor": {"path": path, "line": line, "column": col},
        "changes": [c.to_dict() for c in model.diff.changes] if model.diff is not None else [],
        "impact": impact_dict(model.impact) if model.impact is not None else None,
        "problem": model.problem.to_dict() if model.problem is not None else None,
    }


def outcome_dict(outcome: "CaseOutcome") -> dict[str, Any]:
    case = outcome.case
    return {"file": case.file, "line": case.line, "model": case.model, "name": case.name,
            "passed": outcome.passed, "got": dict(outcome.got),
            "failures": [f.to_dict() for f in outcome.failures]}


def golden_dict(golden: "GoldenResult") -> dict[str, Any]:
    return {"files": list(golden.files), "cases_passed": golden.passed, "cases_failed": golden.failed,
            "cases": [outcome_dict(o) for o in golden.outcomes]}


def check_envelope(result: "CheckResult") -> dict[str, Any]:
    return _json_safe({
        "format_version": JSON_FORMAT_VERSION,
        "command": "check",
        "passed": result.passed,
        "exit_code": result.exit_code,
        "failed_gates": result.failed_gates,
        "base": {"label": result.base.label, "rev": result.base.rev},
        "head": {"label": result.head.label, "rev": result.head.rev},
        "counts": counts(result),
        "diagnostics": [f.to_dict() for f in result.findings],
        "golden": golden_dict(result.golden),
        "models": [model_dict(result, m) for m in result.models],
        "contracts": [d.to_dict() for d in result.diff.contracts if d.status != "unchanged"],
        **governance_dict(result),
    })


def render_check_json(result: "CheckResult", out: TextIO) -> None:
    json.dump(check_envelope(result), out, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    out.write("\n")


def render_test_json(golden: "GoldenResult", out: TextIO) -> None:
    envelope = {"format_version": JSON_FORMAT_VERSION, "command": "test", "passed": golden.ok,
                "error_count": sum(f.severity.value == "error" for f in golden.findings),
                "diagnostics": [f.to_dict() for f in golden.findings], **golden_dict(golden)}
    json.dump(_json_safe(envelope), out, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    out.write("\n")


def render_diff_json(repo_diff: "RepoDiff", out: TextIO) -> None:
    json.dump({"format_version": JSON_FORMAT_VERSION, "command": "diff", **repo_diff.to_dict()}, out, indent=2,
              sort_keys=True, ensure_ascii=False, default=str)
    out.write("\n")
