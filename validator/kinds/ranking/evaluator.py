"""The `ranking` kind: weighted features, conditional boosts and tie-breaks (search and recommendations).

An item's score is built in three steps, each one reviewable on its own:

1. ``base = sum(weight_i * transform_i(item[input_i]))`` over the features, in file order; a transform
   (identity, log1p, sqrt) tames long-tailed counts such as sales so one bestseller does not drown relevance.
2. The boosts, in file order: when a boost's condition holds, ``score = score * multiply + add`` (a missing
   ``multiply`` is 1, a missing ``add`` is 0). Order matters: a multiply after an add scales the add too.
3. Items sort by score, highest first; equal scores are ordered by the tie-break keys in turn, and items equal
   on every key keep the order the app sent them in. The last tie-break key should be unique per item (an
   id) so the order is total and the same request always gets the same page.

Conditions compare one input: ``equals`` (a number, true/false or a word), ``in`` (a list of words or
numbers), or a range made of ``at_least`` (inclusive) and/or ``below`` (exclusive).

Every input an item carries goes through the model's input policy (``validator.kinds.inputs``): a missing
value is refused or replaced by the declared default, an out-of-range number is clamped (by default),
replaced or refused. Each input is read once per item, however many features, boosts and keys use it.

Why the per-item function is generated source (as the scorecard's is): a request scores tens to hundreds
of items, and per item the work is a few reads, multiplications and comparisons; a loop over compiled part
tuples pays an index, an unpack and a dispatch for each of them, several times the arithmetic. ``explain``
keeps the plain loop over the same parts, and the tests hold the two to the same results.

Sorting: one key tuple per item, ``(-score, key1 or -key1, ...)``, when every descending key is a number or
a boolean; a descending text key cannot be negated, so then the items are sorted once per key, least
significant first (Python's sort is stable, also in reverse). Both orders are the same.
"""
from __future__ import annotations

import builtins
import math
from typing import Any, Callable, Iterator, Mapping, Sequence

from validator.kinds.base import InputError, ModelError, check_mapping
from validator.kinds.contract import Contract
from validator.kinds.inputs import InputSpec, build_specs, check_items, read
from validator.kinds.results import RankedItem, Ranking

KIND_NAME = "ranking"
TRANSFORMS = ("identity", "log1p", "sqrt")
# Transforms that need x >= 0 (the rules check the contract's min; the evaluator refuses a negative value).
NON_NEGATIVE = frozenset({"log1p", "sqrt"})
DEFAULT_TRANSFORM = "identity"
ORDERS = ("asc", "desc")
# Tie-break key types, in the contract's vocabulary (an integer input is a number here).
KEY_TYPES = ("number", "string", "category", "boolean")
# Condition operators; `below` and `at_least` may be combined into a range, the others stand alone.
OPERATORS = ("equals", "in", "below", "at_least")
TEXT_TYPES = frozenset({"category", "string"})

# ------------------------------------------------------------------------- what the document reads and emits


def condition_type(when: Mapping[str, Any]) -> str:
    """How a condition reads its input: a boolean, a word (category) or a number, from the values it compares."""
    if "equals" in when:
        value = when["equals"]
        if isinstance(value, bool):
            return "boolean"
        return "category" if isinstance(value, str) else "number"
    if "in" in when:
        values = when["in"] or ()
        return "category" if any(isinstance(v, str) for v in values) or not values else "number"
    return "number"


def uses(data: Mapping[str, Any]) -> Iterator[tuple[str, str, tuple]]:
    """Every place the document reads an input: (input, type it is read as, JSON path of the input's name)."""
    for i, feature in enumerate(data.get("features") or ()):
        yield feature["input"], "number", ("features", i, "input")
    for i, boost in enumerate(data.get("boosts") or ()):
        when = boost.get("when") or {}
        if "input" in when:
            yield when["input"], condition_type(when), ("boosts", i, "when", "input")
    for i, key in enumerate(data.get("tie_break") or ()):
        yield key["input"], key.get("type", "number"), ("tie_break", i, "input")


def types_agree(a: str, b: str) -> bool:
    """Whether two uses of one input read it compatibly (category and string are both text)."""
    return a == b or (a in TEXT_TYPES and b in TEXT_TYPES)


def inputs_used(data: Mapping[str, Any]) -> dict[str, tuple]:
    """Each input with the path of its first use (features, then boosts, then tie-break keys)."""
    used: dict[str, tuple] = {}
    for name, _, path in uses(data):
        used.setdefault(name, path)
    return used


def input_types(data: Mapping[str, Any]) -> dict[str, str]:
    """The type of each input's first use; a text input is "string" if any use reads it as plain text.

    Conflicting uses (a feature and an `equals: true` on one input) are ranking.input-types-agree's business.
    """
    types: dict[str, str] = {}
    for name, typ, _ in uses(data):
        if name not in types:
            types[name] = typ
        elif typ == "string" and types[name] == "category":
            types[name] = "string"  # only a string input satisfies both uses
    return types


def outputs_emitted(data: Mapping[str, Any]) -> dict[str, dict[str, tuple]]:
    """A ranking emits an order, not labels: nothing for the contract to accept."""
    return {}


# ------------------------------------------------------------------------------------------------ evaluator

_IDENTITY, _LOG1P, _SQRT = 0, 1, 2
_CODES = {"identity": _IDENTITY, "log1p": _LOG1P, "sqrt": _SQRT}
_NUMBER, _BOOLEAN, _TEXT = 0, 1, 2
_TYPE_CODES = {"number": _NUMBER, "boolean": _BOOLEAN, "category": _TEXT, "string": _TEXT}
_EQUALS, _IN, _RANGE = 0, 1, 2
_BIG = 1.7976931348623157e308  # float max: "no bound" that still refuses inf and NaN in one comparison

# Compiled parts, in the shapes the evaluator and its generated twin share:
# input:   (name, type code, lo, hi, spec)
# feature: (input index, weight, transform code, feature name)
# boost:   (input index, operator, a, b, multiply, add, boost name); equals: x == a; in: x in a (frozenset);
#          range: a <= x < b
# key:     (input index, descending, type code)
InputPart = tuple[str, int, float, float, InputSpec]
FeaturePart = tuple[int, float, int, str]
BoostPart = tuple[int, int, Any, Any, float, float, str]
KeyPart = tuple[int, bool, int]


class RankingModel:
    """A compiled ranking model; immutable after the runtime sets ``version``, safe to share across threads.

    ``rank`` and ``score_item`` run a function generated at compile time (``source``) that reads the inputs,
    sums the features and applies the boosts in straight-line code; ``explain`` walks the same compiled
    parts in a plain loop, and the tests hold the two to the same result.
    """

    __slots__ = ("name", "kind", "version", "source", "_inputs", "_features", "_boosts", "_keys", "_single_sort",
                 "_entry")

    def __init__(
        self,
        name: str,
        inputs: tuple[InputPart, ...],
        features: tuple[FeaturePart, ...],
        boosts: tuple[BoostPart, ...],
        keys: tuple[KeyPart, ...],
    ) -> None:
        self.name = name
        self.kind = KIND_NAME
        self.version: str | None = None
        self._inputs = inputs
        self._features = features
        self._boosts = boosts
        self._keys = keys
        # Text sorted descending cannot be negated into one key tuple: then sort once per key (stable).
        self._single_sort = not any(desc and code == _TEXT for _, desc, code in keys)
        self.source: str | None = None
        self._entry: Callable[[Mapping[str, Any]], tuple[float, tuple]] | None = None

    def prepare(self) -> "RankingModel":
        """Generate the per-item function (idempotent; ``compile_model`` calls it before an app sees the model).

        Not in ``compile()``: the gate compiles every model to prove it evaluable and never ranks, and
        Python's compiler dominated its time (see validator/models/scorecard.py ``prepare``).
        """
        if self._entry is None:
            source, namespace = _generate(self)
            # builtins.compile: this module's compile() is the Kind API's.
            exec(builtins.compile(source, f"<ranking {self.name}>", "exec"), namespace)  # noqa: S102 - see _generate
            self.source = source
            self._entry = namespace["entry"]
        return self

    def _entry_fn(self) -> Callable[[Mapping[str, Any]], tuple[float, tuple]]:
        fn = self._entry
        return fn if fn is not None else self.prepare()._entry  # type: ignore[return-value]

    # -- per item

    def _values(self, item: Mapping[str, Any]) -> list[Any]:
        """The item's inputs after the model's policy, in first-use order."""
        values = []
        for input_name, code, lo, hi, spec in self._inputs:
            value: Any = item.get(input_name)  # whatever the app sent: compared only once its type is known
            tv = type(value)
            if code == _NUMBER:
                ok = (tv is float or tv is int) and lo <= value <= hi
            else:
                ok = tv is bool if code == _BOOLEAN else tv is str
            values.append(value if ok else read(spec, self.name, item))
        return values

    def _negative(self, index: int, feature: str, code: int, x: float) -> None:
        fn = "log1p" if code == _LOG1P else "sqrt"
        raise InputError(self.name, self._inputs[index][0],
                         f"is {x!r}, but feature {feature!r} takes {fn} of it, which needs a value >= 0")

    def _non_finite(self, item: Mapping[str, Any]) -> None:
        """Name the input that made a score inf or NaN (a sort would silently misplace the item)."""
        values = self._values(item)
        for index, weight, _, feature in self._features:
            x = float(values[index])
            if not math.isfinite(weight * x):
                raise InputError(self.name, self._inputs[index][0],
                                 f"is {x!r}: feature {feature!r} (weight {weight!r}) makes the score non-finite")
        raise InputError(self.name, self._inputs[self._features[0][0]][0],
                         "and the other inputs give a score too large for a float")

    def score_item(self, item: Mapping[str, Any]) -> float:
        """The item's final score (features, then boosts): what rank() sorts by."""
        try:
            return self._entry_fn()(item)[0]
        except AttributeError:
            check_mapping(self.name, item, "an item")
            raise

    def explain(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """Each feature's contribution, the base score, the boosts that applied and the final score.

        What an analyst asks when an item lands where nobody expected it.
        """
        values = self._values(item)
        contributions: dict[str, float] = {}
        base = 0.0
        for index, weight, code, feature in self._features:
            x = values[index]
            if code:
                if x < 0:
                    self._negative(index, feature, code, x)
                x = math.log1p(x) if code == _LOG1P else math.sqrt(x)
            contributions[feature] = weight * x
            base += weight * x
        applied = []
        score = base
        for index, op, a, b, multiply, add, boost in self._boosts:
            x = values[index]
            hit = (a <= x < b) if op == _RANGE else (x == a if op == _EQUALS else x in a)
            if hit:
                score = score * multiply + add
                applied.append(boost)
        if score - score != 0.0:
            self._non_finite(item)
        return {"features": contributions, "base": base, "boosts": applied, "score": score}

    # -- whole request

    def rank(self, items: Sequence[Mapping[str, Any]], limit: int | None = None) -> Ranking:
        """Score every item and order them: score descending, then the tie-break keys, then the app's order.

        Every item is scored (and its inputs checked) even with a ``limit``: a bad item fails the request
        rather than hide below the cut. Raises InputError naming the input an item breaks.
        """
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0 or None, got {limit}")
        check_items(self.name, items)  # REQUEST_LIMITS.max_items: every item is scored and sorted in memory
        try:
            entries = list(map(self._entry_fn(), items))
        except (AttributeError, TypeError):
            if isinstance(items, (Mapping, str, bytes)) or not hasattr(items, "__iter__"):
                raise InputError(self.name, None, f"items must be a list of mappings, got {type(items).__name__}") from None
            for item in items:
                check_mapping(self.name, item, "every item")
            raise
        n = len(entries)
        if self._single_sort:
            # Each entry's key is (-score, key1 or -key1, ...); a stable sort keeps the app's order last.
            order = sorted(range(n), key=[entry[1] for entry in entries].__getitem__)
        else:
            order = list(range(n))
            keys = self._keys
            # Least significant key first; Python's sort is stable, also with reverse=True.
            for k in range(len(keys) - 1, -1, -1):
                column = [entry[1][k] for entry in entries]
                order.sort(key=column.__getitem__, reverse=keys[k][1])
            order.sort(key=lambda p: entries[p][0], reverse=True)
        if limit is not None:
            order = order[:limit]
        ranked = tuple(RankedItem(items[pos], entries[pos][0], rank) for rank, pos in enumerate(order, 1))
        return Ranking(ranked, self.name, self.version)

    def __repr__(self) -> str:
        return (f"<RankingModel {self.name!r} version={self.version!r} features={len(self._features)} "
                f"boosts={len(self._boosts)}>")


def _lit(x: float) -> str:
    """A float as source text: repr() of a finite float is a numeric literal and nothing else."""
    x = float(x)
    if not math.isfinite(x):  # pragma: no cover - compile refuses these earlier
        raise ModelError(f"non-finite number {x!r}")
    return repr(x)


def _generate(model: RankingModel) -> tuple[str, dict[str, Any]]:
    """The source of ``entry(item) -> (score, sort key)`` for this model, and its namespace.

    Why generated: the per-item work is a handful of reads, multiplications and comparisons; a loop over
    part tuples pays an index, an unpack and a dispatch for each, about four times the arithmetic. The text
    holds only this template, identifiers made up here (``v0``, ``_k0``) and ``repr()`` of finite floats:
    input names, category words and every other string from the model file reach the function through its
    namespace, never through the source, so a model file cannot inject code.
    """
    ns: dict[str, Any] = {
        "__builtins__": {"type": type, "float": float, "int": int, "str": str, "bool": bool},
        "_M": model.name, "_read": read, "_log1p": math.log1p, "_sqrt": math.sqrt,
        "_negative": model._negative, "_non_finite": model._non_finite,
    }
    lines = ["def entry(item):", "    get = item.get"]
    for i, (input_name, code, lo, hi, spec) in enumerate(model._inputs):
        ns[f"_k{i}"], ns[f"_s{i}"] = input_name, spec
        v = f"v{i}"
        lines.append(f"    {v} = get(_k{i})")
        if code == _NUMBER:
            lines.append(f"    t = type({v})")
            lines.append(f"    if not ((t is float or t is int) and {_lit(lo)} <= {v} <= {_lit(hi)}):")
        elif code == _BOOLEAN:
            lines.append(f"    if {v} is not True and {v} is not False:")
        else:
            lines.append(f"    if type({v}) is not str:")
        lines.append(f"        {v} = _read(_s{i}, _M, item)")

    terms = []
    for j, (index, weight, code, feature) in enumerate(model._features):
        v = f"v{index}"
        ns[f"_f{j}"] = feature
        if code:
            lo, spec = model._inputs[index][2], model._inputs[index][4]
            default = spec.default if type(spec.default) in (int, float) else 0.0
            if lo < 0 or default < 0:  # else the read already guarantees x >= 0
                lines.append(f"    if {v} < 0:")
                lines.append(f"        _negative({index}, _f{j}, {code}, {v})")
            terms.append(f"{_lit(weight)} * {'_log1p' if code == _LOG1P else '_sqrt'}({v})")
        else:
            terms.append(f"{_lit(weight)} * {v}")
    # Summed left to right from 0.0, as explain() and a vectorised twin sum them.
    lines.append(f"    s = 0.0 + {' + '.join(terms)}")

    for j, (index, op, a, b, multiply, add, _) in enumerate(model._boosts):
        v = f"v{index}"
        if op == _RANGE:
            parts = ([f"{_lit(a)} <= {v}"] if a != -math.inf else []) + ([f"{v} < {_lit(b)}"] if b != math.inf else [])
            test = " and ".join(parts) or "True"
        elif op == _EQUALS:
            if type(a) is bool:
                test = f"{v} is {'True' if a else 'False'}"
            elif isinstance(a, str):
                ns[f"_b{j}"] = a
                test = f"{v} == _b{j}"
            else:
                test = f"{v} == {_lit(a)}"
        else:
            ns[f"_b{j}"] = a
            test = f"{v} in _b{j}"
        lines.append(f"    if {test}:")
        # s * 1.0 is s and s + 0.0 is s (up to the sign of a zero), so only what changes the score is written.
        if multiply != 1.0 and add != 0.0:
            lines.append(f"        s = s * {_lit(multiply)} + {_lit(add)}")
        elif add != 0.0:
            lines.append(f"        s = s + {_lit(add)}")
        else:
            lines.append(f"        s = s * {_lit(multiply)}")
    lines.append("    if s - s != 0.0:")
    lines.append("        _non_finite(item)")

    key_parts = [f"-v{index}" if desc and model._single_sort else f"v{index}" for index, desc, _ in model._keys]
    if model._single_sort:
        lines.append(f"    return s, (-s, {''.join(p + ', ' for p in key_parts)})")
    else:
        lines.append(f"    return s, ({''.join(p + ', ' for p in key_parts)})")
    return "\n".join(lines) + "\n", ns


# -------------------------------------------------------------------------------------------------- compile


def _finite(value: Any, where: str) -> float:
    if type(value) is bool or not isinstance(value, (int, float)):
        raise ModelError(f"{where} must be a number, got {value!r}")
    result = float(value)
    if not math.isfinite(result):
        raise ModelError(f"{where} must be finite, got {value!r}")
    return result


def _default_fits(default: Any, typ: str) -> bool:
    if typ == "number":
        return type(default) is not bool and isinstance(default, (int, float)) and math.isfinite(default)
    if typ == "boolean":
        return type(default) is bool
    return isinstance(default, str)


def _condition(when: Mapping[str, Any], where: str, typ: str) -> tuple[int, Any, Any]:
    """(operator, a, b) for the evaluator; refuses combinations whose meaning would be a guess."""
    ops = [op for op in OPERATORS if op in when]
    if not ops:
        raise ModelError(f"{where} has no comparison: write equals, in, below or at_least")
    if ("equals" in ops or "in" in ops) and len(ops) > 1:
        raise ModelError(f"{where} combines {' and '.join(ops)}: use equals or in alone, or a range of at_least/below")
    if "equals" in when:
        value = when["equals"]
        if typ == "number":
            value = _finite(value, f"{where} equals")
        return _EQUALS, value, None
    if "in" in when:
        values = list(when["in"] or ())
        if not values:
            raise ModelError(f"{where} has an empty `in` list: it would never hold")
        if typ == "number":
            if any(isinstance(v, str) for v in values):
                raise ModelError(f"{where} mixes words and numbers in `in`: {values!r}")
            return _IN, frozenset(_finite(v, f"{where} in") for v in values), None
        if not all(isinstance(v, str) for v in values):
            raise ModelError(f"{where} mixes words and numbers in `in`: {values!r}")
        return _IN, frozenset(values), None
    lo = _finite(when["at_least"], f"{where} at_least") if "at_least" in when else -math.inf
    hi = _finite(when["below"], f"{where} below") if "below" in when else math.inf
    return _RANGE, lo, hi


def compile(data: Mapping[str, Any], contract: Contract | None) -> RankingModel:  # noqa: A001 - the Kind protocol's name
    """Fold the document into index tuples; refuse what could only be evaluated by guessing."""
    try:
        name = str(data["name"])
        features = list(data["features"])
    except (KeyError, TypeError) as exc:
        raise ModelError(f"ranking model is incomplete: {exc}") from None
    if not features:
        raise ModelError(f"model {name!r} has no features")
    boosts = list(data.get("boosts") or ())
    keys = list(data.get("tie_break") or ())

    types: dict[str, str] = {}
    try:
        for input_name, typ, path in uses(data):
            first = types.setdefault(input_name, typ)
            if not types_agree(first, typ):
                where = ".".join(map(str, path))
                raise ModelError(f"input {input_name!r} is read as {first} and as {typ} (at {where}): "
                                 "one input has one type")
    except (KeyError, TypeError) as exc:
        raise ModelError(f"ranking model is incomplete: {exc}") from None
    specs = build_specs(data, input_types(data), contract)
    index: dict[str, int] = {}
    compiled_inputs: list[InputPart] = []
    for input_name, typ in types.items():
        if typ not in _TYPE_CODES:
            raise ModelError(f"input {input_name!r} has type {typ!r}; known: {', '.join(KEY_TYPES)}")
        spec = specs[input_name]
        if spec.default is not None and not _default_fits(spec.default, typ):
            raise ModelError(f"input {input_name!r} has default {spec.default!r}, but the model reads it as {typ}")
        index[input_name] = len(compiled_inputs)
        compiled_inputs.append((
            input_name,
            _TYPE_CODES[typ],
            spec.min if spec.min is not None else -_BIG,
            spec.max if spec.max is not None else _BIG,
            spec,
        ))

    compiled_features = []
    for i, feature in enumerate(features):
        fname = str(feature.get("name", f"#{i + 1}"))
        weight = _finite(feature.get("weight"), f"feature {fname!r} weight")
        transform = feature.get("transform", DEFAULT_TRANSFORM)
        if transform not in _CODES:
            raise ModelError(f"feature {fname!r} has unknown transform {transform!r}; known: {', '.join(TRANSFORMS)}")
        compiled_features.append((index[feature["input"]], weight, _CODES[transform], fname))

    compiled_boosts = []
    for i, boost in enumerate(boosts):
        bname = str(boost.get("name", f"#{i + 1}"))
        when = boost.get("when") or {}
        if "input" not in when:
            raise ModelError(f"boost {bname!r} has no condition input")
        op, a, b = _condition(when, f"boost {bname!r} condition", types[when["input"]])
        multiply = _finite(boost.get("multiply", 1.0), f"boost {bname!r} multiply")
        add = _finite(boost.get("add", 0.0), f"boost {bname!r} add")
        if "multiply" not in boost and "add" not in boost:
            raise ModelError(f"boost {bname!r} neither multiplies nor adds")
        compiled_boosts.append((index[when["input"]], op, a, b, multiply, add, bname))

    compiled_keys = []
    for i, key in enumerate(keys):
        order = key.get("order")
        if order not in ORDERS:
            raise ModelError(f"tie-break key {i + 1} has order {order!r}; known: asc, desc")
        compiled_keys.append((index[key["input"]], order == "desc", _TYPE_CODES[types[key["input"]]]))

    return RankingModel(name, tuple(compiled_inputs), tuple(compiled_features), tuple(compiled_boosts),
                        tuple(compiled_keys))


def call(evaluator: Any, request: Any) -> Any:
    """One request: a list of items, each a mapping of input name to value."""
    return evaluator.rank(request)


__all__ = [
    "RankingModel", "compile", "condition_type", "input_types", "inputs_used",
    "outputs_emitted", "types_agree", "uses",
]
