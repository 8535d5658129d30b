"""Export a fitted ``KMeans`` (behind a ``StandardScaler``, optionally ``FunctionTransformer(np.log1p)``) into a
segments model.

The segments kind computes ``z = (transform(x) - center) / scale`` per feature and assigns the nearest centroid
(Euclidean, each squared difference times the feature's weight). A fitted pipeline maps onto it exactly:

- ``FunctionTransformer(np.log1p)`` / ``np.sqrt`` -> ``transform: log1p`` / ``sqrt`` (identity without one);
- ``StandardScaler`` -> ``center: mean_`` and ``scale: scale_`` (``with_mean=False``: center 0;
  ``with_std=False``: scale 1); a feature without a scaler has center 0 and scale 1;
- ``KMeans.cluster_centers_`` -> each segment's ``centroid`` (they are in scaled units already);
- weight 1 for every feature: KMeans weighs features alike. A file whose features carry other weights is refused
  unless ``reset_weights=True`` says to write 1 (the analyst's weight is a decision, not a fitted number).

KMeans has no fallback: ``fallback.max_distance`` stays what the file says (or ``max_distance=``), so customers
within it get exactly KMeans' cluster, and customers farther away get the fallback, as the analysts decided.

Which segment a cluster becomes is explicit (``segment_ids``): ``"order"`` (cluster k is the k-th segment of the
file), a list of ids (cluster k becomes ``segment_ids[k]``), or ``"nearest"`` (the one-to-one matching of new to old
centroids with the smallest total distance). The chosen mapping is in the result's ``notes``.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from validator.data.export.common import (
    ALLOWED,
    CannotExpress,
    Column,
    ExportError,
    ExportResult,
    Target,
    edit,
    finish,
    first_columns,
    flow_map,
    locate,
    map_inputs,
    new_text,
    run_steps,
    set_num,
    sklearn,
    spaced,
    split_estimator,
)

KIND = "segments"
ALLOWED[KIND] = ("a segments export reads StandardScaler, FunctionTransformer(np.log1p or np.sqrt), "
                 "'passthrough'/'drop' in a Pipeline or ColumnTransformer, then KMeans")
NUMERIC = ("number", "integer")


def _features(estimator: Any) -> tuple[list[Column], np.ndarray]:
    cluster = sklearn("sklearn.cluster")
    steps, kmeans = split_estimator(estimator, (cluster.KMeans, cluster.MiniBatchKMeans), "KMeans")
    columns = run_steps(steps, first_columns(estimator), KIND)
    for c in columns:
        if c.group is not None:
            raise CannotExpress(f"{c.describe()}: {c.group.step} encodes it; segments read numbers, not levels or bins")
    centers = np.asarray(kmeans.cluster_centers_, dtype=float)
    if centers.shape[1] != len(columns):
        raise CannotExpress(f"KMeans has {centers.shape[1]} features but the pipeline before it gives {len(columns)}")
    if not np.isfinite(centers).all():
        raise CannotExpress("KMeans has non-finite cluster centers")
    sources = [c.source for c in columns]
    duplicate = sorted({s for s in sources if sources.count(s) > 1})
    if duplicate:
        raise CannotExpress(f"feature {duplicate[0]!r} reaches KMeans more than once; the export maps each input "
                            "to one feature")
    return columns, centers


def _cluster_order(target: Target, segment_ids: Any, centers: np.ndarray, names: list[str]) -> list[int]:
    """For each segment of the file, in file order, the fitted cluster that gives its centroid."""
    assert target.data is not None
    existing = [str(s["id"]) for s in target.data["segments"]]
    k = len(centers)
    if k != len(existing):
        raise ExportError(f"KMeans has {k} clusters, {target.relpath} has {len(existing)} segments: the export "
                          "changes centroids, not which segments exist (ids and variants are the analysts'); "
                          "fit as many clusters as the file has segments, or edit the segments first")
    if isinstance(segment_ids, str) and segment_ids == "order":
        order = list(range(k))
        how = "by order"
    elif isinstance(segment_ids, str) and segment_ids == "nearest":
        linear_sum_assignment = sklearn("scipy.optimize").linear_sum_assignment  # scikit-learn depends on scipy
        old = np.array([[float(s["centroid"][n]) for n in names] for s in target.data["segments"]])
        cost = ((old[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
        rows, cols = linear_sum_assignment(cost)
        order = [int(c) for _, c in sorted(zip(rows, cols, strict=True))]
        how = "nearest to the file's centroids"
    elif isinstance(segment_ids, Sequence) and not isinstance(segment_ids, str):
        ids = [str(x) for x in segment_ids]
        if sorted(ids) != sorted(existing) or len(ids) != k:
            raise ExportError(f"segment_ids= must name each segment of {target.relpath} once, one per cluster in "
                              f"cluster order; the file has {', '.join(existing)}, got {', '.join(ids)}")
        order = [ids.index(sid) for sid in existing]
        how = "as segment_ids= says"
    else:
        raise ExportError("segment_ids= must be 'order', 'nearest' or a list of segment ids (one per cluster)")
    target.notes.append(f"clusters matched to segments {how}: "
                        + ", ".join(f"cluster {order[i]} -> {sid}" for i, sid in enumerate(existing)))
    return order


def _into_existing(target: Target, columns: list[Column], centers: np.ndarray, mapped: dict[str, str],
                   segment_ids: Any, max_distance: float | None, reset_weights: bool) -> str:
    assert target.data is not None and target.old_text is not None
    file_features = list(target.data["features"])
    by_input = {str(f["input"]): i for i, f in enumerate(file_features)}
    if len(by_input) != len(file_features):
        raise ExportError(f"{target.relpath} reads one input in two features; the export matches features by input")
    wanted = {mapped[c.source]: k for k, c in enumerate(columns)}
    extra = [i for i in wanted if i not in by_input]
    absent = [str(f["input"]) for f in file_features if f["input"] not in wanted]
    if extra or absent:
        raise ExportError(f"the estimator's features and {target.relpath}'s differ: "
                          f"only in the estimator: {', '.join(extra) or 'none'}; only in the file: "
                          f"{', '.join(absent) or 'none'} (the export changes numbers, not which features exist)")
    for inp, k in wanted.items():
        f = file_features[by_input[inp]]
        c = columns[k]
        if f.get("transform", "identity") != c.transform:
            raise ExportError(f"feature {f['name']!r} has transform {f.get('transform', 'identity')} in "
                              f"{target.relpath}, but the estimator applies {c.transform} to {c.source!r}: "
                              "change the pipeline or the file's transform first")
        if "weight" in f and float(f["weight"]) != 1.0 and not reset_weights:
            raise CannotExpress(f"feature {f['name']!r} has weight {f['weight']} in {target.relpath}, but KMeans "
                                "weighs every feature alike (weight 1); pass reset_weights=True to write weight 1")
    names = [str(file_features[by_input[mapped[c.source]]]["name"]) for c in columns]
    order = _cluster_order(target, segment_ids, centers, names)

    def mutate(doc: Any) -> None:
        for c in columns:
            f = doc["features"][by_input[mapped[c.source]]]
            set_num(f, "center", c.center)
            set_num(f, "scale", c.scale)
            if "weight" in f:
                set_num(f, "weight", 1.0)
        for i, segment in enumerate(doc["segments"]):
            for k, name in enumerate(names):
                set_num(segment["centroid"], name, float(centers[order[i]][k]))
        if max_distance is not None:
            set_num(doc["fallback"], "max_distance", max_distance)

    return edit(target.old_text, mutate)


def _into_new(target: Target, columns: list[Column], centers: np.ndarray, mapped: dict[str, str],
              segment_ids: Any, variants: Sequence[str] | None, fallback: tuple[str, str],
              max_distance: float | None, owner: str | None) -> str:
    k = len(centers)
    if isinstance(segment_ids, str) or len(segment_ids) != k:
        raise ExportError(f"{target.relpath} is new: pass segment_ids= with one id per cluster ({k}), in cluster order")
    ids = [str(x) for x in segment_ids]
    names_variants = [str(v) for v in variants] if variants is not None else ids
    if len(names_variants) != k:
        raise ExportError(f"variants= needs one variant per cluster ({k}), in cluster order")
    names = [mapped[c.source] for c in columns]
    target.notes.append("segments in cluster order: " + ", ".join(f"cluster {i} -> {s}" for i, s in enumerate(ids)))

    def mutate(doc: Any) -> None:
        from validator.data.roundtrip import CommentedMap

        features = [flow_map({"name": name, "input": name, **({"transform": c.transform}
                                                               if c.transform != "identity" else {}),
                              "center": c.center, "scale": c.scale}) for name, c in zip(names, columns, strict=True)]
        segments = []
        for i in range(k):
            seg = CommentedMap()
            seg["id"] = ids[i]
            seg["centroid"] = flow_map({n: float(centers[i][j]) for j, n in enumerate(names)})
            seg["variant"] = names_variants[i]
            segments.append(seg)
        doc["features"] = features
        doc["segments"] = segments
        doc["fallback"] = flow_map({"segment": fallback[0], "variant": fallback[1],
                                    "max_distance": max_distance if max_distance is not None else 3.0})

    return spaced(edit(new_text(target, KIND, owner), mutate), ("segments", "fallback"))


def export_segments(
    estimator: Any,
    path: Path | str,
    *,
    inputs: Mapping[str, str],
    segment_ids: str | Sequence[str] = "order",
    reset_weights: bool = False,
    max_distance: float | None = None,
    contract: str | None = None,
    variants: Sequence[str] | None = None,
    fallback: tuple[str, str] = ("general", "variant_default"),
    owner: str | None = None,
    root: Path | str | None = None,
    dry_run: bool = False,
) -> ExportResult:
    """Write a fitted KMeans pipeline into the segments model at ``path`` (numbers only) or a new model there.

    ``inputs`` maps each column the pipeline was fitted on to the contract input the app sends for it.
    Into an existing file: ``segment_ids`` says which segment each cluster becomes ("order", "nearest" or a list);
    ids, variants, descriptions, comments and layout stay. Into a new file (``contract=`` needed): the
    ``weights new segments`` template, with ``segment_ids`` (one per cluster) and ``variants`` (default: the ids).
    The text must pass ``weights validate`` before it is written (atomically); ``dry_run`` only returns it.
    Raises CannotExpress, InputMappingError, ExportValidationFailed (all ExportError) without writing.
    """
    columns, centers = _features(estimator)
    if max_distance is not None and not (math.isfinite(max_distance) and max_distance > 0):
        raise ExportError(f"max_distance= must be a finite number > 0, got {max_distance!r}")
    target = locate(path, KIND, root, contract)
    mapped = map_inputs([c.source for c in columns], inputs, target.contract,
                        {c.source: NUMERIC for c in columns})
    if target.data is not None:
        if variants is not None:
            raise ExportError(f"{target.relpath} exists: its variants stay; variants= is for a new file")
        text = _into_existing(target, columns, centers, mapped, segment_ids, max_distance, reset_weights)
    else:
        text = _into_new(target, columns, centers, mapped, segment_ids, variants, fallback, max_distance, owner)
    return finish(target, text, dry_run)


__all__ = ["export_segments"]
