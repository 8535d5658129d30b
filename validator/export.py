"""Write fitted scikit-learn models into weights files: ``from validator.export import export_segments``.

Needs the ``[sklearn]`` extra (scikit-learn, pandas). The work is in :mod:`validator.data.export`; this module is
the name analysts import in a notebook:

- :func:`export_segments`: a ``KMeans`` behind a ``StandardScaler`` (and ``FunctionTransformer(np.log1p)``) into a
  segments model;
- :func:`export_scorecard`: a binary ``LogisticRegression`` over one-hot categoricals and binned numerics into a
  scorecard; :func:`bin_indices` bins a column the way the scorecard does, for ``bins=``.

Both edit an existing file round-trip (numbers only) or start a new one from the ``weights new`` template, run
``weights validate`` on the result, and write it atomically; anything the kind cannot express raises
:class:`CannotExpress` naming the step or feature. docs/analyst/export.md has a worked example.
"""
from __future__ import annotations

from validator.data.export import (
    CannotExpress,
    ExportError,
    ExportResult,
    ExportValidationFailed,
    InputMappingError,
    bin_indices,
    export_scorecard,
    export_segments,
)

__all__ = [
    "CannotExpress", "ExportError", "ExportResult", "ExportValidationFailed", "InputMappingError", "bin_indices",
    "export_scorecard", "export_segments",
]
