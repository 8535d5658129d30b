"""Export a fitted binary ``LogisticRegression`` over one-hot categoricals and binned numerics into a scorecard.

A scorecard computes ``z = intercept + sum(weight x term value)`` and ``P = 1 / (1 + exp(-z))`` (link logistic):
the same formula as ``LogisticRegression.predict_proba(X)[:, 1]``, so every coefficient has exactly one place:

- ``intercept_`` -> ``intercept``;
- ``OneHotEncoder`` over a category input -> a categorical term: each level's value is its column's coefficient,
  the ``drop=`` level's is 0; ``handle_unknown='ignore'`` -> ``other: 0`` (an unknown level adds nothing), 'error'
  -> no ``other`` (an unknown level is refused, as scikit-learn refuses it);
- ``KBinsDiscretizer(encode='onehot'/'onehot-dense')`` -> a numeric term with bins: bin k is
  ``[bin_edges_[k], bin_edges_[k+1])``, the first open below, the last open above (scikit-learn's
  ``searchsorted(inner edges, side='right')``), each valued at its coefficient;
  ``encode='ordinal'`` -> the same bins valued 0, 1, 2, ... and the coefficient as the term's weight;
- bins you computed yourself: ``bins={"column": edges}`` says the column holds :func:`bin_indices` of the input
  (passthrough: ordinal; then ``OneHotEncoder``: one value per bin);
- a numeric column passed through, or through ``FunctionTransformer(np.log1p / np.sqrt)`` -> a numeric term with
  that transform and the coefficient as weight; a column whose contract input is boolean -> a boolean term.

For terms with bins or levels the weight is +1 (or -1 when the file's weight is negative) and the values are the
coefficients (times that sign), so ``weight x value`` is the coefficient exactly. ``StandardScaler`` before the
regression is refused (it would fold into every weight and the intercept): fit on unscaled or binned inputs.
The score is the probability of ``classes_[1]`` (``True`` / ``1`` for a 0/1 outcome). Multiclass is refused.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from validator.data.export.common import (
    ALLOWED,
    CannotExpress,
    Column,
    ExportError,
    ExportResult,
    Group,
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

KIND = "scorecard"
ALLOWED[KIND] = ("a scorecard export reads OneHotEncoder, KBinsDiscretizer, FunctionTransformer(np.log1p or "
                 "np.sqrt), 'passthrough'/'drop' in a Pipeline or ColumnTransformer, then LogisticRegression")


def bin_indices(values: Any, edges: Sequence[float]) -> np.ndarray:
    """The bin of each value under ``edges`` as the scorecard counts: bin k is ``[edges[k-1], edges[k])``.

    Use it to make the column for ``bins={column: edges}``: ``frame["nps_bin"] = bin_indices(frame.nps_score,
    [7, 9])`` gives 0 below 7, 1 for 7 and 8, 2 from 9 (``np.searchsorted(edges, x, side="right")``).
    """
    return np.searchsorted(np.asarray(edges, dtype=float), np.asarray(values, dtype=float), side="right")


@dataclass
class TermFit:
    """One term as fitted: its input column, how it reads it, and the coefficients that belong to it."""

    source: str
    style: str                                  # "levels", "bins", "ordinal", "value"
    transform: str = "identity"
    group: Group | None = None
    coef: float = 0.0                           # ordinal, value
    values: dict[Any, float] | None = None      # levels: category -> coef; bins: bin index -> coef
    where: str = ""


def _terms(estimator: Any, bins: Mapping[str, Sequence[float]] | None) -> tuple[list[TermFit], float]:
    logistic = sklearn("sklearn.linear_model").LogisticRegression
    steps, lr = split_estimator(estimator, (logistic,), "LogisticRegression")
    classes = list(getattr(lr, "classes_", []))
    if len(classes) != 2:
        raise CannotExpress(f"the LogisticRegression has {len(classes)} classes ({classes}); a scorecard is one "
                            "probability: fit a binary outcome")
    coef = np.asarray(lr.coef_, dtype=float)
    if coef.shape[0] != 1:
        raise CannotExpress("the LogisticRegression has several rows of coefficients; a scorecard is binary")
    coef = coef[0]
    columns = run_steps(steps, first_columns(estimator, bins), KIND)
    if len(columns) != coef.shape[0]:
        raise CannotExpress(f"the LogisticRegression has {coef.shape[0]} coefficients but the pipeline before it "
                            f"gives {len(columns)} columns")
    if not np.isfinite(coef).all() or not np.isfinite(lr.intercept_).all():
        raise CannotExpress("the LogisticRegression has non-finite coefficients")
    terms: dict[str, TermFit] = {}
    for c, w in zip(columns, coef, strict=True):
        _add(terms, c, float(w))
    intercept = float(np.asarray(lr.intercept_, dtype=float).reshape(-1)[0]) if lr.fit_intercept else 0.0
    return list(terms.values()), intercept


def _add(terms: dict[str, TermFit], c: Column, w: float) -> None:
    if c.scaled:
        raise CannotExpress(f"{c.describe()}: a StandardScaler before the LogisticRegression would fold into the "
                            "term's weight and the intercept; fit on the unscaled (or binned) input instead")
    g = c.group
    if g is None:
        style = "value"
    elif g.kind == "levels":
        style = "levels"
    else:
        style = "ordinal" if g.ordinal else "bins"
    seen = terms.get(c.source)
    if seen is not None and (style not in ("levels", "bins") or seen.style != style or seen.group != g):
        raise CannotExpress(f"{c.describe()} reaches the LogisticRegression twice ({seen.where} and "
                            f"{' -> '.join(c.steps)}); a scorecard term reads its input once")
    if style == "value":
        terms[c.source] = TermFit(c.source, style, c.transform, coef=w, where=" -> ".join(c.steps))
    elif style == "ordinal":
        terms[c.source] = TermFit(c.source, style, group=g, coef=w, where=" -> ".join(c.steps))
    else:
        term = seen or TermFit(c.source, style, group=g, values={}, where=" -> ".join(c.steps))
        assert term.values is not None
        term.values[c.level if style == "levels" else c.bin] = w
        terms[c.source] = term


# ----------------------------------------------------------------------------------------- the numbers


def _bins_of(term: TermFit, sign: float, label: str) -> tuple[list[dict[str, float]], float]:
    """The term's bins (``from``/``to``/``value``) and weight, so that weight x value is the coefficient."""
    g = term.group
    assert g is not None
    # A whole edge is written as an integer (30, not 30.0): the same number, as an analyst writes days and counts.
    edges: list[float] = [int(e) if e.is_integer() and abs(e) < 2**53 else e for e in g.edges]
    n = len(edges) + 1
    if term.style == "ordinal":
        values = [float(k) for k in range(n)]
        weight = term.coef
    else:
        assert term.values is not None
        values = []
        for k in range(n):
            if k in term.values:
                values.append(term.values[k] * sign)
            elif g.categories and k not in g.categories and g.unknown == "error":
                raise CannotExpress(f"{label}: bin {k} of {term.source!r} is no category of the encoder "
                                    "(handle_unknown='error' refuses it) and a bin cannot refuse: fit with "
                                    "handle_unknown='ignore' or with every bin present")
            else:
                values.append(0.0)  # the dropped bin, or one the encoder ignores: all zeros
        weight = sign
    out = []
    for k in range(n):
        b: dict[str, float] = {}  # int edges are floats to the type checker, and equal to them
        if k > 0:
            b["from"] = edges[k - 1]
        if k < n - 1:
            b["to"] = edges[k]
        b["value"] = values[k]
        out.append(b)
    return out, weight


def _levels_of(term: TermFit, sign: float) -> tuple[dict[str, float], float | None]:
    g = term.group
    assert g is not None and term.values is not None
    levels = {str(cat): (term.values[cat] * sign if cat in term.values else 0.0) for cat in g.categories}
    return levels, (0.0 if g.unknown == "ignore" else None)


def _sign(weight: Any) -> float:
    return -1.0 if weight is not None and float(weight) < 0 else 1.0


def _type_of(term: TermFit, contract_type: str) -> str:
    if term.style == "levels":
        return "categorical"
    if contract_type == "boolean":
        return "boolean"
    return "numeric"


def _allowed_types(term: TermFit) -> tuple[str, ...]:
    if term.style == "levels":
        return ("category",)
    if term.style == "value" and term.transform == "identity":
        return ("number", "integer", "boolean")
    return ("number", "integer")


def _write_term(node: Any, term: TermFit, typ: str, label: str) -> None:
    """Set a term's numbers in ``node`` (a mapping of the file), keeping what is not a number."""
    from ruamel.yaml.comments import CommentedSeq

    if typ == "boolean" or term.style == "value":
        set_num(node, "weight", term.coef)
        return
    sign = _sign(node.get("weight"))
    if term.style == "levels":
        levels, other = _levels_of(term, sign)
        node_levels = node["levels"]
        stale = [k for k in node_levels if k not in levels]
        if stale and other is None:
            raise CannotExpress(f"{label}: level {stale[0]!r} is in the file but not among the encoder's categories "
                                "and handle_unknown='error' would refuse it: fit with it or remove it from the file")
        for k in stale:
            set_num(node_levels, k, 0.0)  # the encoder ignores it: it adds nothing, as in scikit-learn
        for level, value in levels.items():
            set_num(node_levels, level, value)
        if other is not None:
            set_num(node, "other", other)
        elif "other" in node:
            raise CannotExpress(f"{label}: the file gives unknown levels `other: {node['other']}`, but the encoder "
                                "refuses unknown categories (handle_unknown='error'); fit with "
                                "handle_unknown='ignore' or remove `other` from the file")
        set_num(node, "weight", sign)
        return
    bins, weight = _bins_of(term, sign, label)
    old = node["bins"]
    if len(old) == len(bins):
        for b_old, b_new in zip(old, bins, strict=True):
            for key in ("from", "to"):
                if (key in b_old) != (key in b_new):  # only the first `from` and the last `to` can differ
                    raise CannotExpress(
                        f"{label}: the file's {'first' if key == 'from' else 'last'} bin has `{key}: {b_old[key]}`, "
                        f"but the fitted bins are open {'below' if key == 'from' else 'above'} (scikit-learn "
                        f"bins every value); remove that `{key}` from the file first")
            for key, value in b_new.items():
                set_num(b_old, key, value)
    else:
        seq = CommentedSeq([flow_map(b) for b in bins])
        comment = getattr(old, "ca", None)
        node["bins"] = seq
        if comment is not None and comment.comment:  # the comment after `bins:` stays on that line
            seq.ca.comment = comment.comment
    set_num(node, "weight", weight)


def _into_existing(target: Target, terms: list[TermFit], mapped: dict[str, str], intercept: float) -> str:
    assert target.data is not None and target.old_text is not None
    data = target.data
    if data.get("link") != "logistic":
        raise CannotExpress(f"{target.relpath} has link {data.get('link')!r}; a LogisticRegression is link logistic "
                            "(change the file's link first, a decision for its reviewers)")
    file_terms = list(data["terms"])
    by_input: dict[str, int] = {}
    for i, t in enumerate(file_terms):
        if str(t["input"]) in by_input:
            raise ExportError(f"{target.relpath} reads input {t['input']!r} in two terms; the export matches terms "
                              "by input")
        by_input[str(t["input"])] = i
    wanted = {mapped[t.source]: t for t in terms}
    extra = [i for i in wanted if i not in by_input]
    absent = [str(t["input"]) for t in file_terms if t["input"] not in wanted]
    if extra or absent:
        raise ExportError(f"the estimator's terms and {target.relpath}'s differ: only in the estimator: "
                          f"{', '.join(extra) or 'none'}; only in the file: {', '.join(absent) or 'none'} "
                          "(the export changes numbers, not which terms exist)")
    contract_types = {name: decl.type for name, decl in target.contract.inputs.items()}
    for inp, term in wanted.items():
        ft = file_terms[by_input[inp]]
        label = f"term {ft['name']!r}"
        typ = _type_of(term, contract_types[inp])
        if ft["type"] != typ:
            raise CannotExpress(f"{label} is {ft['type']} in {target.relpath}, but the estimator makes it {typ} "
                                f"({term.where or 'passed through'})")
        if typ == "numeric":
            file_style = "bins" if "bins" in ft else f"transform {ft.get('transform', 'identity')}"
            fit_style = "bins" if term.style in ("bins", "ordinal") else f"transform {term.transform}"
            if file_style != fit_style:
                raise CannotExpress(f"{label} has {file_style} in {target.relpath}, but the estimator gives "
                                    f"{fit_style} ({term.where or 'passed through'}): change one to match")

    def mutate(doc: Any) -> None:
        set_num(doc, "intercept", intercept)
        for inp, term in wanted.items():
            node = doc["terms"][by_input[inp]]
            _write_term(node, term, str(node["type"]), f"term {node['name']!r}")

    return edit(target.old_text, mutate)


def _into_new(target: Target, terms: list[TermFit], mapped: dict[str, str], intercept: float,
              bands: Sequence[tuple[str, float | None]] | None, owner: str | None) -> str:
    from validator.data.roundtrip import CommentedMap

    contract_types = {name: decl.type for name, decl in target.contract.inputs.items()}

    def mutate(doc: Any) -> None:
        doc["link"] = "logistic"
        doc.ca.items.pop("link", None)  # the template's "or logistic" hint; a LogisticRegression is logistic
        doc.yaml_add_eol_comment("fitted by a LogisticRegression: the score is a probability", "link", column=22)
        set_num(doc, "intercept", intercept)
        nodes = []
        for term in terms:
            inp = mapped[term.source]
            typ = _type_of(term, contract_types[inp])
            node = CommentedMap()
            node["name"], node["input"], node["type"] = inp, inp, typ
            if typ == "numeric" and term.style == "value":
                node["transform"] = term.transform
            elif typ == "numeric":
                node["bins"] = [{"value": 0.0}]
            elif typ == "categorical":
                node["levels"] = CommentedMap()
            node["weight"] = 1.0
            _write_term(node, term, typ, f"term {inp!r}")
            if typ == "categorical":
                node["levels"].fa.set_flow_style()
            nodes.append(node)
        doc["terms"] = nodes
        if bands is not None:
            doc["bands"] = [flow_map({"decision": d, **({"below": b} if b is not None else {})}) for d, b in bands]
        if "reasons" in doc:
            del doc["reasons"]  # the template's codes were on its terms; reason codes are the analysts' to add

    return spaced(edit(new_text(target, KIND, owner), mutate), ("bands",))


def export_scorecard(
    estimator: Any,
    path: Path | str,
    *,
    inputs: Mapping[str, str],
    bins: Mapping[str, Sequence[float]] | None = None,
    contract: str | None = None,
    bands: Sequence[tuple[str, float | None]] | None = None,
    owner: str | None = None,
    root: Path | str | None = None,
    dry_run: bool = False,
) -> ExportResult:
    """Write a fitted binary LogisticRegression pipeline into the scorecard at ``path`` or a new one there.

    ``inputs`` maps each column the pipeline was fitted on to the contract input the app sends for it; ``bins``
    names columns that hold :func:`bin_indices` of their input. Into an existing file (link logistic, the same
    terms by input, the same term types): intercept, weights, bin edges and values, level values change; names,
    reason codes, bands, comments and layout stay. Into a new file (``contract=`` needed): the ``weights new
    scorecard`` template, one term per input named after it, ``bands`` as ``[(decision, below), ..., (decision,
    None)]`` (default: the template's, split at 0.5, where ``predict`` splits). The text must pass ``weights
    validate`` before it is written (atomically); ``dry_run`` only returns it.
    """
    terms, intercept = _terms(estimator, bins)
    target = locate(path, KIND, root, contract)
    mapped = map_inputs([t.source for t in terms], inputs, target.contract,
                        {t.source: _allowed_types(t) for t in terms})
    if target.data is not None:
        if bands is not None:
            raise ExportError(f"{target.relpath} exists: its bands are the analysts' decision and stay; bands= is for "
                              "a new file")
        text = _into_existing(target, terms, mapped, intercept)
    else:
        if bands is not None:
            for d, b in bands:
                if b is not None and not math.isfinite(b):
                    raise ExportError(f"bands=: band {d!r} has below={b!r}; thresholds are finite")
        text = _into_new(target, terms, mapped, intercept, bands, owner)
    return finish(target, text, dry_run)


__all__ = ["bin_indices", "export_scorecard"]
