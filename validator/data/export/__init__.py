"""scikit-learn -> weights YAML: write fitted estimators into model files (extra ``[sklearn]``).

See :mod:`validator.export` for the public names and docs/analyst/export.md for a worked example.
"""
from __future__ import annotations

from validator.data.export.common import (
    CannotExpress,
    ExportError,
    ExportResult,
    ExportValidationFailed,
    InputMappingError,
)
from validator.kinds.scorecard.export import bin_indices, export_scorecard
from validator.kinds.segments.export import export_segments

__all__ = [
    "CannotExpress", "ExportError", "ExportResult", "ExportValidationFailed", "InputMappingError", "bin_indices",
    "export_scorecard", "export_segments",
]
