"""The scorecard kind: weighted terms over an app's inputs, an identity or logistic link, ordered decision
bands and reason codes — fraud risk at checkout, churn probability that decides who gets a coupon.

A score is ``z = intercept + sum(weight_i * value_i)`` summed in term order, then ``value = z`` (identity) or
``value = 1 / (1 + exp(-z))`` (logistic). A term's value comes from its input:

- numeric: the value of the bin the input falls in (bins are ``[from, to)``), else ``transform(x)``
  (identity, log1p or sqrt; log1p and sqrt refuse negative inputs).
- boolean: 1 when true, 0 when false.
- categorical: the value of the input's level, else ``other``, else the request is refused.

A numeric input that falls in no bin (the bins do not reach that far, or leave a gap) follows the input's
``out_of_range`` policy, as if the bins were the range: clamp (the default) takes the nearest bin, default
takes the bin of the input's default, reject raises InputError. The rules ``scorecard.bins-contiguous`` and
``scorecard.bins-cover-range`` make that case rare in reviewed weights.

The decision is the first band whose ``below`` exceeds the value, else the last band. Reason codes are those
of the terms with a reason code and a contribution above ``reasons.min_contribution``, largest first (ties
in term order), at most ``reasons.top`` of them.

Why the evaluator is generated source: ``score()`` is on the app's request path and must cost about what a
hand-written function of the same weights costs. A loop over term objects pays a call and a type dispatch
per term; instead, compile writes one straight-line function (inline bins, literal weights) and ``exec``s
it once. The generated text contains only our template, identifiers we make up (``v0``, ``_k0``) and
``repr()`` of finite floats; every piece of text from the model file (input names, decisions, reason codes)
reaches the function through its namespace, never through the source, so a model file cannot inject code.
"""
from __future__ import annotations

import builtins
import math
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from validator.kinds.base import InputError, ModelError, check_mapping
from validator.kinds.contract import Contract
from validator.kinds.inputs import InputSpec, build_specs, read, shown
from validator.kinds.results import Score

KIND_NAME = "scorecard"
LINKS = ("logistic", "identity")
TERM_TYPES = ("numeric", "boolean", "categorical")
TRANSFORMS = ("identity", "log1p", "sqrt")
REASON_PATTERN = "^[A-Z][A-Z0-9_]*$"
# How each term type reads its input, in the vocabulary of contracts and validator.kinds.inputs.
INPUT_TYPE_OF_TERM = {"numeric": "number", "boolean": "boolean", "categorical": "category"}


# ----------------------------------------------------------------------------------- introspection (gate)


def inputs_used(data: Mapping[str, Any]) -> dict[str, tuple]:
    used: dict[str, tuple] = {}
    for i, term in enumerate(data.get("terms") or ()):
        used.setdefault(term["input"], ("terms", i, "input"))
    return used


def input_types(data: Mapping[str, Any]) -> dict[str, str]:
    types: dict[str, str] = {}
    for term in data.get("terms") or ():
        types.setdefault(term["input"], INPUT_TYPE_OF_TERM[term["type"]])
    return types


def reasons_top(data: Mapping[str, Any]) -> int:
    """How many reason codes a score reports (0 when the model has no `reasons:` block)."""
    return int((data.get("reasons") or {}).get("top", 0))


def outputs_emitted(data: Mapping[str, Any]) -> dict[str, dict[str, tuple]]:
    decisions: dict[str, tuple] = {}
    for i, band in enumerate(data.get("bands") or ()):
        decisions.setdefault(band["decision"], ("bands", i, "decision"))
    out: dict[str, dict[str, tuple]] = {"decisions": decisions}
    if reasons_top(data) > 0:
        codes: dict[str, tuple] = {}
        for i, term in enumerate(data.get("terms") or ()):
            if term.get("reason"):
                codes.setdefault(term["reason"], ("terms", i, "reason"))
        out["reasons"] = codes
    return out


# ------------------------------------------------------------------------------------------------ compile


@dataclass(frozen=True)
class BinTable:
    """Bins as a partition of the real line: ``parts[bisect_right(edges, x)]`` is x's term value.

    A part that is ``None`` lies outside every bin (below the first, above the last, or in a gap).
    """

    edges: tuple[float, ...]
    parts: tuple[float | None, ...]

    def lookup(self, x: float) -> float | None:
        return self.parts[bisect_right(self.edges, x)]

    def nearest(self, x: float) -> float:
        """The value of the bin nearest to ``x`` (x lies outside every bin); a tie goes to the lower bin."""
        j = bisect_right(self.edges, x)
        lower = next((self.parts[k] for k in range(j - 1, -1, -1) if self.parts[k] is not None), None)
        upper = next((self.parts[k] for k in range(j + 1, len(self.parts)) if self.parts[k] is not None), None)
        if lower is None:
            return upper  # type: ignore[return-value]
        if upper is None:
            return lower
        return lower if x - self.edges[j - 1] <= self.edges[j] - x else upper

    def describe(self) -> str:
        spans, lo = [], -math.inf
        for k, part in enumerate(self.parts):
            hi = self.edges[k] if k < len(self.edges) else math.inf
            if part is not None:
                spans.append(f"[{_fmt(lo)}, {_fmt(hi)})")
            lo = hi
        return " and ".join(spans)


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "-inf" if x < 0 else "inf"
    return f"{x:g}"


def bin_table(bins: Sequence[Mapping[str, Any]], where: str) -> BinTable:
    """Turn written bins into a partition; refuse bins whose order makes the lookup ambiguous."""
    edges: list[float] = []
    parts: list[float | None] = []
    last = len(bins) - 1
    for k, b in enumerate(bins):
        lo, hi = b.get("from"), b.get("to")
        if lo is None and k > 0:
            raise ModelError(f"{where}: bin {k + 1} has no `from`; only the first bin may start at minus infinity")
        if hi is None and k < last:
            raise ModelError(f"{where}: bin {k + 1} has no `to`; only the last bin may run to infinity")
        if lo is not None and hi is not None and not lo < hi:
            raise ModelError(f"{where}: bin {k + 1} is empty: from {lo} is not below to {hi}")
        if lo is not None:
            prev = edges[-1] if edges else -math.inf
            if lo < prev:
                raise ModelError(f"{where}: bin {k + 1} starts at {lo}, inside the previous bin (which ends at {prev})")
            if k == 0 or lo > prev:
                parts.append(None)  # below the first bin, or a gap
                edges.append(float(lo))
        parts.append(float(b["value"]))
        if hi is not None:
            edges.append(float(hi))
    if bins[last].get("to") is not None:
        parts.append(None)  # above the last bin
    return BinTable(tuple(edges), tuple(parts))


@dataclass(frozen=True)
class Term:
    """One compiled term; ``transform`` is set for numeric terms without bins."""

    name: str
    input: str
    type: str
    weight: float
    reason: str | None
    bins: BinTable | None = None
    transform: str | None = None
    levels: Mapping[str, float] | None = None
    other: float | None = None


def _finite(value: Any, where: str) -> float:
    number_ = float(value)
    if not math.isfinite(number_):
        raise ModelError(f"{where} is {value!r}; weights and thresholds are finite numbers")
    return number_


def _compile_term(data: Mapping[str, Any]) -> Term:
    name, typ = data["name"], data["type"]
    where = f"term {name!r}"
    if typ not in TERM_TYPES:
        raise ModelError(f"{where} has type {typ!r}, not one of {', '.join(TERM_TYPES)}")
    if data.get("transform", "identity") not in TRANSFORMS:
        raise ModelError(f"{where} has transform {data['transform']!r}, not one of {', '.join(TRANSFORMS)}")
    has_bins, has_transform = "bins" in data, "transform" in data
    has_levels = "levels" in data or "other" in data
    if typ == "numeric":
        if has_bins and has_transform:
            raise ModelError(f"{where} has both bins and a transform; keep one")
        if has_levels:
            raise ModelError(f"{where} is numeric: levels and other are for categorical terms")
    elif has_bins or has_transform:
        raise ModelError(f"{where} is {typ}: bins and transform are for numeric terms")
    if typ == "categorical" and "levels" not in data:
        raise ModelError(f"{where} is categorical but has no levels")
    if typ == "boolean" and has_levels:
        raise ModelError(f"{where} is boolean: levels and other are for categorical terms")
    bins = None
    if has_bins:
        for k, b in enumerate(data["bins"]):
            for key in ("from", "to", "value"):
                if key in b:
                    _finite(b[key], f"{where}, bin {k + 1}, {key}")
        bins = bin_table(data["bins"], where)
    levels = None
    if "levels" in data:
        levels = {str(level): _finite(v, f"{where}, level {level!r}") for level, v in data["levels"].items()}
    return Term(
        name=name,
        input=data["input"],
        type=typ,
        weight=_finite(data["weight"], f"{where}, weight"),
        reason=data.get("reason"),
        bins=bins,
        transform=(data.get("transform", "identity") if typ == "numeric" and not has_bins else None),
        levels=levels,
        other=_finite(data["other"], f"{where}, other") if "other" in data else None,
    )


def _check_defaults(specs: Mapping[str, InputSpec]) -> None:
    """A default of the wrong type would fail deep inside a request; refuse it while compiling."""
    for spec in specs.values():
        d = spec.default
        if d is None:
            continue
        ok = {
            "number": isinstance(d, (int, float)) and not isinstance(d, bool) and math.isfinite(d),
            "boolean": isinstance(d, bool),
            "category": isinstance(d, str),
        }[spec.type]
        if not ok:
            raise ModelError(f"input {spec.name!r}: default {d!r} is not a {spec.type}")


def compile(data: Mapping[str, Any], contract: Contract | None) -> "ScorecardEvaluator":  # noqa: A001 - the Kind API
    """Build the evaluator; refuse only what cannot be evaluated unambiguously (the rules judge the rest).

    The runtime compiles bundles without running the gate's rules, so this does not trust the schema either.
    """
    name = data["name"]
    if data.get("link") not in LINKS:
        raise ModelError(f"link {data.get('link')!r} is not one of {', '.join(LINKS)}")
    if not data.get("bands"):
        raise ModelError("a scorecard needs at least one decision band")
    terms = tuple(_compile_term(t) for t in data["terms"])
    seen: set[str] = set()
    for term in terms:
        if term.name in seen:
            raise ModelError(f"two terms are named {term.name!r}; explain() and reviews need unique names")
        seen.add(term.name)
    types: dict[str, tuple[str, str]] = {}
    for term in terms:
        typ = INPUT_TYPE_OF_TERM[term.type]
        first = types.setdefault(term.input, (typ, term.name))
        if first[0] != typ:
            raise ModelError(
                f"input {term.input!r} is read as {first[0]} by term {first[1]!r} and as {typ} by term {term.name!r}"
            )
    specs = build_specs(data, {k: v[0] for k, v in types.items()}, contract)
    _check_defaults(specs)

    bands = data["bands"]
    thresholds: list[float] = []
    for k, band in enumerate(bands[:-1]):
        if "below" not in band:
            raise ModelError(f"band {k + 1} ({band['decision']!r}) has no `below`; only the last band may omit it")
        thresholds.append(_finite(band["below"], f"band {band['decision']!r}, below"))
    reasons = data.get("reasons") or {}
    return ScorecardEvaluator(
        name=name,
        link=data["link"],
        intercept=_finite(data["intercept"], "intercept"),
        terms=terms,
        specs=specs,
        thresholds=tuple(thresholds),
        decisions=tuple(str(b["decision"]) for b in bands),
        top=int(reasons.get("top", 0)),
        min_contribution=_finite(reasons.get("min_contribution", 0.0), "reasons.min_contribution"),
    )


# -------------------------------------------------------------------------------------------- evaluator


def _logistic_tail(z: float) -> float:
    """1 / (1 + exp(-z)) where exp(-z) overflows a float: the limit, as IEEE arithmetic (and numpy) gives it."""
    try:
        return 1.0 / (1.0 + math.exp(-z))
    except OverflowError:
        return 0.0


class ScorecardEvaluator:
    """A compiled scorecard. Immutable after compile except ``version``, which the runtime sets once."""

    __slots__ = (
        "name", "kind", "version", "link", "intercept", "terms", "thresholds", "decisions", "top",
        "min_contribution", "specs", "source", "_score", "_explain",
    )

    def __init__(
        self,
        *,
        name: str,
        link: str,
        intercept: float,
        terms: tuple[Term, ...],
        specs: Mapping[str, InputSpec],
        thresholds: tuple[float, ...],
        decisions: tuple[str, ...],
        top: int,
        min_contribution: float,
    ) -> None:
        self.name = name
        self.kind = KIND_NAME
        self.version: str | None = None
        self.link = link
        self.intercept = intercept
        self.terms = terms
        self.specs = dict(specs)
        self.thresholds = thresholds
        self.decisions = decisions
        self.top = top
        self.min_contribution = min_contribution
        self.source: str | None = None
        self._score: Callable[[Mapping[str, Any], str | None], Score] | None = None
        self._explain: Callable[[Mapping[str, Any]], list[tuple[str, float, float]]] | None = None

    def prepare(self) -> "ScorecardEvaluator":
        """Generate and compile the request-path functions (idempotent; ``compile_model`` calls it).

        Kept out of ``compile()`` because the gate compiles a thousand models to prove they are evaluable
        and never scores them: Python's compiler was a quarter of ``weights validate``'s time. The
        runtime prepares every model before it swaps a bundle in, so a request never pays for it.
        """
        if self._score is None:
            source, namespace = _generate(self)
            # builtins.compile: this module's compile() is the Kind API's.
            exec(builtins.compile(source, f"<scorecard {self.name}>", "exec"), namespace)  # noqa: S102 - see module docstring
            self.source = source
            self._explain = namespace["explain"]
            self._score = namespace["score"]  # last: a racing reader sees None (and prepares too) or all of it
        return self

    def score(self, values: Mapping[str, Any]) -> Score:
        """Score one request: the value on the link's scale, its decision band and the top reason codes."""
        fn = self._score
        if fn is None:
            fn = self.prepare()._score
        try:
            return fn(values, self.version)  # type: ignore[misc]
        except AttributeError:  # free on the request path: only a non-mapping request gets here
            check_mapping(self.name, values)
            raise

    def explain(self, values: Mapping[str, Any]) -> list[tuple[str, float, float]]:
        """Every term as (name, term value, contribution), in model order: what moved this score and by how much."""
        fn = self._explain
        if fn is None:
            fn = self.prepare()._explain
        try:
            return fn(values)  # type: ignore[misc]
        except AttributeError:
            check_mapping(self.name, values)
            raise

    def z(self, values: Mapping[str, Any]) -> float:
        """The linear score before the link (intercept plus contributions, summed in term order)."""
        z = self.intercept
        for _, _, contribution in self.explain(values):
            z += contribution
        return z

    def __repr__(self) -> str:
        return f"<ScorecardEvaluator {self.name!r} version={self.version!r} terms={len(self.terms)}>"


def _lit(x: float) -> str:
    """A float as source text: repr() of a finite float is a numeric literal and nothing else."""
    x = float(x)
    if not math.isfinite(x):  # pragma: no cover - compile refuses these earlier
        raise ModelError(f"non-finite number {x!r}")
    return repr(x)


# Up to this many reason codes, score() picks them with one tuple display per count of candidates.
_UNROLLED_REASONS = 5


def _product(weight: float, value: float) -> str:
    """``weight * value`` as source text: the product's literal, or the multiplication when it overflows."""
    product = weight * value
    return _lit(product) if math.isfinite(product) else f"({_lit(weight)} * {_lit(value)})"


def _outside_handler(model: str, term: Term, spec: InputSpec) -> Callable[[float], float]:
    """What a numeric input in no bin becomes: the input's out_of_range policy, applied to the bins."""
    table = term.bins
    assert table is not None

    def outside(x: float) -> float:
        if spec.out_of_range == "clamp":
            return table.nearest(x)
        if spec.out_of_range == "default" and spec.default is not None:
            value = table.lookup(spec.default)
            if value is not None:
                return value
        raise InputError(model, spec.name, f"is {x!r}, which falls in no bin of term {term.name!r} "
                                           f"(bins cover {table.describe()})")

    return outside


def _unknown_level_handler(model: str, term: Term) -> Callable[[str], float]:
    known = ", ".join(sorted(term.levels or ()))

    def unknown(level: str) -> float:
        raise InputError(model, term.input, f"is {shown(level)}, a level term {term.name!r} does not know "
                                            f"(known: {known}; or give the term an `other` value)")

    return unknown


def _negative_handler(model: str, term: Term) -> Callable[[float], None]:
    def negative(x: float) -> None:
        raise InputError(model, term.input, f"is {x!r}; term {term.name!r} takes {term.transform} of it, "
                                            "which needs a value of 0 or more")

    return negative


def _generate(ev: ScorecardEvaluator) -> tuple[str, dict[str, Any]]:
    """The source of ``score(values, version)`` and ``explain(values)`` for this model, and their namespace."""
    ns: dict[str, Any] = {
        "__builtins__": {"type": type, "float": float, "int": int, "str": str, "tuple": tuple, "len": len},
        "_M": ev.name, "_read": read, "_exp": math.exp, "_log1p": math.log1p, "_sqrt": math.sqrt,
        "_bisect": bisect_right, "_tail": _logistic_tail, "_Score": Score, "_INF": math.inf,
        # tuple.__new__ skips the named tuple's Python-level __new__ (0.9 µs -> 0.4 µs): same type, same fields
        "_new": tuple.__new__,
    }
    inputs = list(ev.specs)
    slot = {name: i for i, name in enumerate(inputs)}

    read_lines: list[str] = ["    get = values.get"]
    for i, name in enumerate(inputs):
        spec = ev.specs[name]
        ns[f"_k{i}"], ns[f"_s{i}"] = name, spec
        v = f"v{i}"
        read_lines.append(f"    {v} = get(_k{i})")
        if spec.type == "number":
            low = f"{_lit(spec.min)} <= {v}" if spec.min is not None else f"-_INF < {v}"
            high = f"{v} <= {_lit(spec.max)}" if spec.max is not None else f"{v} < _INF"
            read_lines.append(f"    t = type({v})")
            read_lines.append(f"    if not ((t is float or t is int) and {low} and {high}):")
        elif spec.type == "boolean":
            read_lines.append(f"    if {v} is not True and {v} is not False:")
        else:
            read_lines.append(f"    if type({v}) is not str:")
        read_lines.append(f"        {v} = _read(_s{i}, _M, values)")

    # score() and explain() compute the same contributions; score() skips the term values it does not return and
    # folds each weight into the bin and level values it multiplies (the same float product, made once here).
    score_lines: list[str] = []
    term_lines: list[str] = []  # explain()'s
    explain_rows: list[str] = []
    for j, term in enumerate(ev.terms):
        v, x, c, w = f"v{slot[term.input]}", f"x{j}", f"c{j}", _lit(term.weight)
        ns[f"_n{j}"] = term.name
        term_lines.append(f"    # term {j}")
        score_lines.append(f"    # term {j}")
        if term.type == "boolean":
            term_lines.append(f"    {c} = {w} if {v} else 0.0")
            term_lines.append(f"    {x} = 1.0 if {v} else 0.0")
            score_lines.append(f"    {c} = {w} if {v} else 0.0")
        elif term.type == "categorical":
            levels = dict(term.levels or {})
            ns[f"_lv{j}"] = levels
            ns[f"_lc{j}"] = {level: term.weight * value for level, value in levels.items()}
            if term.other is not None:
                term_lines.append(f"    {x} = _lv{j}.get({v}, {_lit(term.other)})")
                score_lines.append(f"    {c} = _lc{j}.get({v}, {_product(term.weight, term.other)})")
            else:
                ns[f"_unk{j}"] = _unknown_level_handler(ev.name, term)
                term_lines.append(f"    {x} = _lv{j}.get({v})")
                term_lines.append(f"    if {x} is None:")
                term_lines.append(f"        {x} = _unk{j}({v})")
                score_lines.append(f"    {c} = _lc{j}.get({v})")
                score_lines.append(f"    if {c} is None:")
                score_lines.append(f"        {c} = _unk{j}({v})")  # raises
            term_lines.append(f"    {c} = {w} * {x}")
        elif term.bins is not None:
            table = term.bins
            if any(part is None for part in table.parts):
                ns[f"_out{j}"] = _outside_handler(ev.name, term, ev.specs[term.input])
            outside_x, outside_c = f"_out{j}({v})", f"{w} * _out{j}({v})"
            if len(table.parts) <= 8:
                for k, part in enumerate(table.parts):
                    if k < len(table.edges):
                        head = f"    {'if' if k == 0 else 'elif'} {v} < {_lit(table.edges[k])}:"
                    else:
                        head = "    else:" if table.edges else ""
                    indent = "        " if head else "    "
                    for lines in (term_lines, score_lines):
                        if head:
                            lines.append(head)
                    term_lines.append(f"{indent}{x} = {outside_x if part is None else _lit(part)}")
                    score_lines.append(f"{indent}{c} = {outside_c if part is None else _product(term.weight, part)}")
            else:
                ns[f"_e{j}"], ns[f"_p{j}"] = table.edges, table.parts
                ns[f"_pc{j}"] = tuple(None if part is None else term.weight * part for part in table.parts)
                term_lines.append(f"    {x} = _p{j}[_bisect(_e{j}, {v})]")
                score_lines.append(f"    {c} = _pc{j}[_bisect(_e{j}, {v})]")
                if any(part is None for part in table.parts):
                    term_lines.append(f"    if {x} is None:")
                    term_lines.append(f"        {x} = {outside_x}")
                    score_lines.append(f"    if {c} is None:")
                    score_lines.append(f"        {c} = {outside_c}")
            term_lines.append(f"    {c} = {w} * {x}")
        else:
            if term.transform == "identity":
                value = v
            else:
                ns[f"_neg{j}"] = _negative_handler(ev.name, term)
                value = f"{'_log1p' if term.transform == 'log1p' else '_sqrt'}({v})"
                for lines in (term_lines, score_lines):
                    lines.append(f"    if {v} < 0:")
                    lines.append(f"        _neg{j}({v})")
            term_lines.append(f"    {x} = {value}")
            term_lines.append(f"    {c} = {w} * {x}")
            score_lines.append(f"    {c} = {w} * {value}")
        explain_rows.append(f"(_n{j}, {x}, {c})")

    n = len(ev.terms)
    # Left to right, as the vectorized twin adds; in chunks, because one expression of thousands of terms
    # exceeds the depth Python's compiler recurses to.
    parts = [_lit(ev.intercept), *(f"c{j}" for j in range(n))]
    z_lines = [f"    z = {' + '.join(parts[:100])}"]
    for k in range(100, len(parts), 100):
        z_lines.append(f"    z = z + {' + '.join(parts[k:k + 100])}")
    if ev.link == "logistic":
        value_line = "    value = 1.0 / (1.0 + _exp(-z)) if z > -700.0 else _tail(z)"
    else:
        value_line = "    value = z"

    decide: list[str] = []
    for k, decision in enumerate(ev.decisions):
        ns[f"_d{k}"] = decision
    if ev.thresholds:
        for k, below in enumerate(ev.thresholds):
            decide.append(f"    {'if' if k == 0 else 'elif'} value < {_lit(below)}:")
            decide.append(f"        decision = _d{k}")
        decide.append("    else:")
        decide.append(f"        decision = _d{len(ev.decisions) - 1}")
    else:
        decide.append("    decision = _d0")

    coded = [j for j, t in enumerate(ev.terms) if t.reason]
    reason_lines: list[str] = []
    if ev.top > 0 and coded:
        ns["_codes"] = tuple(t.reason for t in ev.terms)
        floor = _lit(ev.min_contribution)
        reason_lines.append("    cand = []")
        for j in coded:
            reason_lines.append(f"    if c{j} > {floor}:")
            reason_lines.append(f"        cand.append((-c{j}, {j}))")
        reason_lines += [
            "    n = len(cand)",
            "    if n == 0:",
            "        reasons = ()",
            "    else:",
            "        cand.sort()",
        ]
        most = min(int(ev.top), len(coded))
        if most <= _UNROLLED_REASONS:
            # A tuple display per count of candidates: a list comprehension is a function call (CPython < 3.12)
            # and cost a tenth of score().
            for m in range(most, 0, -1):
                codes = ", ".join(f"_codes[cand[{i}][1]]" for i in range(m)) + ("," if m == 1 else "")
                if most == 1:
                    reason_lines.append(f"        reasons = ({codes})")
                    break
                head = f"if n >= {m}:" if m == most else (f"elif n == {m}:" if m > 1 else "else:")
                reason_lines.append(f"        {head}")
                reason_lines.append(f"            reasons = ({codes})")
        else:
            reason_lines.append(f"        reasons = tuple([_codes[p[1]] for p in cand[:{int(ev.top)}]])")
    else:
        reason_lines.append("    reasons = ()")

    source = "\n".join([
        "def score(values, version):",
        *read_lines,
        *score_lines,
        *z_lines,
        value_line,
        *decide,
        *reason_lines,
        "    return _new(_Score, (value, decision, reasons, _M, version))",
        "",
        "def explain(values):",
        *read_lines,
        *term_lines,
        f"    return [{', '.join(explain_rows)}]",
        "",
    ])
    return source, ns


def call(evaluator: Any, request: Any) -> Any:
    """One request: a mapping of input name to value."""
    return evaluator.score(request)


