"""Rules for `ranking` models: scores that mean what the analyst thinks, boosts that push the right way, and
an order that is the same for the same request.

A ranking that is subtly wrong still returns a list, so none of these mistakes would ever raise: a penalty
written as multiply 0, a boost on a brand tier the app never sends, a multiply on a score that can be
negative (it works backwards), a log1p of a value that can be negative, or ties left to chance.
"""
from __future__ import annotations

import math
from typing import Any, Iterator, Mapping

from validator.gate.common_rules import defaults_outside_contract
from validator.gate.findings import Severity
from validator.gate.rules import Problem, RuleContext, did_you_mean, rule
from validator.kinds.contract import InputDecl
from validator.kinds.intervals import Analysis, cached, show_interval, term_limit
from validator.kinds.ranking.analysis import analyse, dominant
from validator.kinds.ranking.evaluator import DEFAULT_TRANSFORM, NON_NEGATIVE, OPERATORS, types_agree, uses

KINDS = ["ranking"]
NUMERIC = ("number", "integer")


def _fmt(x: float) -> str:
    """Numbers as an analyst writes them: 0.8, 1.15, 100000, -2.5."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, str):
        return repr(x)
    if math.isinf(x):
        return "infinity" if x > 0 else "-infinity"
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    if x != 0 and (abs(x) >= 1e7 or abs(x) < 0.001):
        return f"{x:.3g}"
    return f"{round(x, 4):g}"


def _features(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(data.get("features") or ())


def _boosts(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(data.get("boosts") or ())


def _keys(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(data.get("tie_break") or ())


def _decl(ctx: RuleContext, name: str) -> InputDecl | None:
    return ctx.contract.inputs.get(name) if ctx.contract is not None else None


def _describe(when: Mapping[str, Any]) -> str:
    """A condition as a reviewer reads it: stock_units below 3, brand_tier in [house]."""
    parts = []
    for op in OPERATORS:
        if op in when:
            value = when[op]
            shown = "[" + ", ".join(str(v) for v in value) + "]" if op == "in" else _fmt(value)
            parts.append(f"{op.replace('_', ' ')} {shown}")
    return f"{when.get('input')} {' and '.join(parts)}"


def _where(data: Mapping[str, Any], path: tuple) -> str:
    """Who reads an input at ``path``: feature 'popularity', boost 'in_stock', tie-break key 2."""
    section, index = path[0], path[1]
    if section == "features":
        return f"feature {data['features'][index]['name']!r}"
    if section == "boosts":
        return f"boost {data['boosts'][index]['name']!r}"
    return f"tie-break key {index + 1}"


def _string_inputs(ctx: RuleContext) -> list[str]:
    """The contract's string inputs, ids first: candidates for a last tie-break key."""
    if ctx.contract is None:
        return []
    names = [name for name, decl in ctx.contract.inputs.items() if decl.type == "string"]
    return sorted(names, key=lambda n: (not n.endswith("_id") and n != "id", names.index(n)))


@rule("ranking.weights-not-all-zero", Severity.ERROR, kinds=KINDS)
def weights_not_all_zero(ctx: RuleContext) -> Iterator[Problem]:
    """At least one feature has a non-zero weight: with every weight at 0 every item scores 0, and the order comes from boosts and tie-breaks alone (usually weights zeroed for a test and committed).

    Bad:
        features:
          - {name: text_relevance, input: bm25_score, weight: 0.0}
          - {name: popularity, input: sales_30d, weight: 0.0, transform: log1p}
    Good:
        features:
          - {name: text_relevance, input: bm25_score, weight: 1.0}
          - {name: popularity, input: sales_30d, weight: 0.35, transform: log1p}
    """
    features = _features(ctx.data)
    if features and all(f["weight"] == 0 for f in features):
        names = ", ".join(repr(f["name"]) for f in features)
        yield Problem(("features", 0, "weight"),
                      f"every feature weight is 0 ({names}): every item scores 0 before the boosts, so results are "
                      "ordered by boosts and tie-break keys only, not by relevance",
                      "give the main signal a weight (text relevance is usually 1.0) and the others weights relative to it")


@rule("ranking.unique-names", Severity.ERROR, kinds=KINDS)
def unique_names(ctx: RuleContext) -> Iterator[Problem]:
    """Feature and boost names are unique (together: explain() and reviews name them), and each input appears once among the tie-break keys (a repeated key can never decide anything).

    Bad:
        features:
          - {name: popularity, input: sales_30d, weight: 0.35, transform: log1p}
          - {name: popularity, input: review_count, weight: 0.1, transform: log1p}
    Good:
        features:
          - {name: popularity, input: sales_30d, weight: 0.35, transform: log1p}
          - {name: review_volume, input: review_count, weight: 0.1, transform: log1p}
    """
    seen: dict[str, str] = {}
    for section, label in (("features", "feature"), ("boosts", "boost")):
        for i, entry in enumerate(ctx.data.get(section) or ()):
            name = entry["name"]
            here = f"{label} {i + 1}"
            if name in seen:
                yield Problem((section, i, "name"),
                              f"name {name!r} of {here} is already used by {seen[name]}: explain() and reviews "
                              "could not tell them apart",
                              "rename one after what it measures (e.g. review_volume, sales_popularity)")
            else:
                seen[name] = here
    keys: dict[str, int] = {}
    for i, key in enumerate(_keys(ctx.data)):
        name = key["input"]
        if name in keys:
            yield Problem(("tie_break", i, "input"),
                          f"tie-break key {i + 1} repeats {name!r} (key {keys[name] + 1}): items it would order "
                          "are already equal on it, so it never decides anything",
                          "remove it, or order by another input (end with a unique id such as item_id)")
        else:
            keys[name] = i


@rule("ranking.boost-factor", Severity.ERROR, kinds=KINDS)
def boost_factor(ctx: RuleContext) -> Iterator[Problem]:
    """A boost's `multiply` is above 0: 0 erases the relevance of every matching item (they all tie), and a negative factor turns the best matches into the worst.

    Bad:
        boosts:
          - {name: low_stock_penalty, when: {input: stock_units, below: 3}, multiply: 0}
    Good:
        boosts:
          - {name: low_stock_penalty, when: {input: stock_units, below: 3}, multiply: 0.8}
    """
    for i, boost in enumerate(_boosts(ctx.data)):
        factor = boost.get("multiply")
        if factor is None or factor > 0:
            continue
        if factor == 0:
            why = ("sets the score of every matching item to 0" + (f" (plus {_fmt(boost['add'])})" if boost.get("add") else "")
                   + ": their relevance is erased and they tie with each other")
        else:
            why = "flips the sign of every matching item's score: the most relevant of them become the least relevant"
        yield Problem(("boosts", i, "multiply"),
                      f"boost {boost['name']!r} multiplies by {_fmt(factor)}, which {why}",
                      "to demote, multiply by a factor between 0 and 1 (0.8 cuts the score by 20%) or add a negative "
                      "amount; to hide items, filter them in the app")


@rule("ranking.boost-no-effect", Severity.WARNING, kinds=KINDS)
def boost_no_effect(ctx: RuleContext) -> Iterator[Problem]:
    """A boost changes the score: `multiply: 1` without an `add`, or `add: 0` without a `multiply`, does nothing and hides what the boost was meant to do (often a factor reset for a test).

    Bad:
        boosts:
          - {name: in_stock, when: {input: in_stock, equals: true}, multiply: 1.0}
    Good:
        boosts:
          - {name: in_stock, when: {input: in_stock, equals: true}, multiply: 1.15}
    """
    for i, boost in enumerate(_boosts(ctx.data)):
        factor = boost.get("multiply", 1)
        add = boost.get("add", 0)
        if factor == 1 and add == 0:
            written = " and ".join(f"{k} {_fmt(boost[k])}" for k in ("multiply", "add") if k in boost)
            key = "multiply" if "multiply" in boost else "add"
            yield Problem(("boosts", i, key),
                          f"boost {boost['name']!r} has {written}: it changes no score",
                          "set the factor or amount the boost is meant to have, or remove the boost")


@rule("ranking.tie-break-unique", Severity.WARNING, kinds=KINDS)
def tie_break_unique(ctx: RuleContext) -> Iterator[Problem]:
    """The tie-break keys end with an input that is unique per item, such as the item id (a contract `string`): otherwise items with equal scores keep whatever order the app sent, which can change between requests and makes pages flicker and duplicate across pagination.

    Bad:
        tie_break:
          - {input: margin_pct, order: desc, type: number}
    Good:
        tie_break:
          - {input: margin_pct, order: desc, type: number}
          - {input: item_id, order: asc, type: string}
    """
    keys = _keys(ctx.data)
    candidates = _string_inputs(ctx)
    suggestion = (f"end tie_break with {{input: {candidates[0]}, order: asc, type: string}}" if candidates
                  else "end tie_break with the item's id, e.g. {input: item_id, order: asc, type: string}")
    if not keys:
        yield Problem(("features",),
                      "no tie_break keys: items with equal scores (common for boosted or zero-relevance items) keep "
                      "the order the app sent them in, which can change from one request to the next",
                      f"add tie_break: and {suggestion}", at_key=True)
        return
    last = keys[-1]
    decl = _decl(ctx, last["input"])
    if decl is None or decl.type == "string":
        return  # no contract, or an unknown input: contract.exists / contract.input-known say so
    yield Problem(("tie_break", len(keys) - 1, "input"),
                  f"the last tie-break key {last['input']!r} is a {decl.type} input of contract "
                  f"{ctx.contract.name!r}, not a unique id: items equal on every key keep the app's order, which "  # type: ignore[union-attr]
                  "can change between requests",
                  suggestion)


def _value_problem(decl: InputDecl, value: Any) -> str | None:
    """Why ``value`` can never equal what the app sends for ``decl`` (None: it can)."""
    typ = decl.type
    if typ == "boolean":
        return None if isinstance(value, bool) else f"{decl.name!r} is boolean: compare with true or false"
    if typ in NUMERIC:
        if isinstance(value, bool) or isinstance(value, str):
            return f"{decl.name!r} is a {typ}: compare with a number"
        if typ == "integer" and float(value) != math.floor(value):
            return f"{decl.name!r} is an integer, so it never equals {_fmt(value)}"
        return None
    if not isinstance(value, str):
        return f"{decl.name!r} is a {typ}: compare with a word" + (" in quotes" if isinstance(value, bool) else "")
    if typ == "category" and decl.values is not None and value not in decl.values:
        return f"{value!r} is not a value the app sends for {decl.name!r}"
    return None


@rule("ranking.condition-type", Severity.ERROR, kinds=KINDS)
def condition_type(ctx: RuleContext) -> Iterator[Problem]:
    """A boost condition compares its input with values the app can send: `equals` and `in` values have the input's contract type (and a category's values are ones the contract lists), and `below`/`at_least` apply only to numbers. Otherwise the boost silently never applies.

    Bad:
        # contract: brand_tier: {type: category, values: [house, premium, national, marketplace]}
        boosts:
          - {name: own_brand, when: {input: brand_tier, in: [House]}, add: 0.3}
    Good:
        boosts:
          - {name: own_brand, when: {input: brand_tier, in: [house]}, add: 0.3}
    """
    if ctx.contract is None:
        return
    for i, boost in enumerate(_boosts(ctx.data)):
        when = boost["when"]
        decl = _decl(ctx, when["input"])
        if decl is None:
            continue  # contract.input-known says so
        path = ("boosts", i, "when")
        label = f"boost {boost['name']!r}"
        options = list(decl.values or ())
        if "equals" in when:
            why = _value_problem(decl, when["equals"])
            if why:
                yield Problem(path + ("equals",), f"{label} compares equals {_fmt(when['equals'])}, but {why}: it never applies",
                              _value_hint(decl, when["equals"], options))
        if "in" in when:
            if decl.type == "boolean":
                yield Problem(path + ("in",), f"{label} uses `in` on boolean input {decl.name!r}",
                              "write equals: true or equals: false")
            else:
                for j, value in enumerate(when["in"]):
                    why = _value_problem(decl, value)
                    if why:
                        yield Problem(path + ("in", j), f"{label} lists {_fmt(value)}, but {why}",
                                      _value_hint(decl, value, options))
        for op in ("below", "at_least"):
            if op in when and decl.type not in NUMERIC:
                yield Problem(path + (op,),
                              f"{label} uses {op} on {decl.type} input {decl.name!r}: only numbers are ordered",
                              "write equals: or in: [...] with the values it should match")


def _value_hint(decl: InputDecl, value: Any, options: list[str]) -> str:
    if decl.type == "category" and options:
        return did_you_mean(str(value), options) or f"values the app sends: {', '.join(options)}"
    if decl.type == "boolean":
        return "write equals: true or equals: false (without quotes)"
    if decl.type in NUMERIC:
        return "write a number without quotes" + (" (a whole number)" if decl.type == "integer" else "")
    return "write the value as text in quotes"


@rule("ranking.condition-operators", Severity.ERROR, kinds=KINDS)
def condition_operators(ctx: RuleContext) -> Iterator[Problem]:
    """A condition uses `equals` alone, `in` alone (all words or all numbers), or a range of `at_least` and/or `below`: a mix such as equals plus below has no single meaning.

    Bad:
        boosts:
          - {name: low_stock_penalty, when: {input: stock_units, equals: 0, below: 3}, multiply: 0.8}
    Good:
        boosts:
          - {name: low_stock_penalty, when: {input: stock_units, at_least: 1, below: 3}, multiply: 0.8}
    """
    for i, boost in enumerate(_boosts(ctx.data)):
        when = boost["when"]
        ops = [op for op in OPERATORS if op in when]
        label = f"boost {boost['name']!r}"
        exclusive = [op for op in ("equals", "in") if op in ops]
        if exclusive and len(ops) > 1:
            others = [op for op in ops if op != exclusive[0]]
            yield Problem(("boosts", i, "when", others[0]),
                          f"{label} combines {' and '.join(ops)} in one condition: it is unclear whether both must "
                          "hold or either",
                          "use equals or in alone, or a range: at_least (inclusive) and/or below (exclusive)", at_key=True)
        values = when.get("in") or []
        words = [v for v in values if isinstance(v, str)]
        if words and len(words) != len(values):
            j = next(j for j, v in enumerate(values) if not isinstance(v, str))
            yield Problem(("boosts", i, "when", "in", j),
                          f"{label} mixes words and numbers in `in` ({', '.join(map(str, values))}): an input is "
                          "either a category or a number",
                          "quote the numbers if they are category values, or make them all numbers")


@rule("ranking.input-types-agree", Severity.ERROR, kinds=KINDS)
def input_types_agree(ctx: RuleContext) -> Iterator[Problem]:
    """Every feature, condition and tie-break key reads an input as the same type: a feature weights a number, `equals: true` needs a boolean, so one of the two is reading the wrong input.

    Bad:
        features:
          - {name: availability, input: in_stock, weight: 0.5}
        boosts:
          - {name: in_stock, when: {input: in_stock, equals: true}, multiply: 1.15}
    Good:
        features:
          - {name: availability, input: stock_units, weight: 0.01}
        boosts:
          - {name: in_stock, when: {input: in_stock, equals: true}, multiply: 1.15}
    """
    first: dict[str, tuple[str, tuple]] = {}
    for name, typ, path in uses(ctx.data):
        if name not in first:
            first[name] = (typ, path)
            continue
        seen, seen_path = first[name]
        if not types_agree(seen, typ):
            yield Problem(path,
                          f"{_where(ctx.data, path)} reads {name!r} as {_type_word(typ)}, but "
                          f"{_where(ctx.data, seen_path)} reads it as {_type_word(seen)}",
                          "one input has one type: check which of the two meant another input")


def _type_word(typ: str) -> str:
    return {"number": "a number", "boolean": "true/false", "category": "a word", "string": "text"}.get(typ, typ)


@rule("ranking.transform-domain", Severity.ERROR, kinds=KINDS)
def transform_domain(ctx: RuleContext) -> Iterator[Problem]:
    """A log1p or sqrt feature reads an input that cannot be negative (the contract declares `min` >= 0, and the input's default is >= 0): otherwise items the app may legitimately send fail the whole request.

    Bad:
        # contract: margin_pct: {type: number, min: -100, max: 100}
        features:
          - {name: margin, input: margin_pct, weight: 0.1, transform: log1p}
    Good:
        features:
          - {name: margin, input: margin_pct, weight: 0.01}
    """
    policies = ctx.data.get("inputs") or {}
    for i, feature in enumerate(_features(ctx.data)):
        transform = feature.get("transform", DEFAULT_TRANSFORM)
        if transform not in NON_NEGATIVE:
            continue
        name = feature["input"]
        default = (policies.get(name) or {}).get("default")
        if isinstance(default, (int, float)) and not isinstance(default, bool) and default < 0:
            yield Problem(("inputs", name, "default"),
                          f"default {_fmt(default)} of input {name!r} is negative, but feature {feature['name']!r} "
                          f"takes {transform} of it: every item that uses the default would fail the request",
                          "use a default >= 0")
        decl = _decl(ctx, name)
        if decl is None or decl.type not in NUMERIC:
            continue
        path = ("features", i, "transform")
        if decl.min is None:
            yield Problem(path,
                          f"feature {feature['name']!r} takes {transform} of {name!r}, but contract "
                          f"{ctx.contract.name!r} declares no min for it: a negative value would fail the request",  # type: ignore[union-attr]
                          f"if {name} cannot be negative, declare min: 0 in config/contracts/"
                          f"{ctx.contract.name}.yaml; otherwise use transform: identity")  # type: ignore[union-attr]
        elif decl.min < 0:
            yield Problem(path,
                          f"feature {feature['name']!r} takes {transform} of {name!r}, which needs a value >= 0, but "
                          f"the app may send down to {_fmt(decl.min)}: those items would fail the request",
                          "use transform: identity for an input that can be negative")


def _span_of(ctx: RuleContext, name: str) -> tuple[float | None, float | None, list[Any]]:
    """What the app can send for a numeric input after the model's policy: (lo, hi, defaults also possible)."""
    decl = _decl(ctx, name)
    policy = (ctx.data.get("inputs") or {}).get(name) or {}
    default = policy.get("default")
    extra = [default] if isinstance(default, (int, float)) and not isinstance(default, bool) and (
        policy.get("missing") == "default" or policy.get("out_of_range") == "default") else []
    if decl is None:
        return None, None, extra
    return decl.min, decl.max, extra


@rule("ranking.condition-reachable", Severity.WARNING, kinds=KINDS)
def condition_reachable(ctx: RuleContext) -> Iterator[Problem]:
    """A boost's condition can be true for some items and false for others, given what the app sends: a condition that never holds is a dead boost, and one that always holds scales or shifts every score alike, which on its own changes no order.

    Bad:
        # contract: stock_units: {type: integer, min: 0, max: 100000}
        boosts:
          - {name: low_stock_penalty, when: {input: stock_units, below: 0}, multiply: 0.8}
    Good:
        boosts:
          - {name: low_stock_penalty, when: {input: stock_units, below: 3}, multiply: 0.8}
    """
    for i, boost in enumerate(_boosts(ctx.data)):
        when = boost["when"]
        name = when["input"]
        path = ("boosts", i, "when")
        label = f"boost {boost['name']!r} ({_describe(when)})"
        if "equals" in when or "in" in when:
            if "below" in when or "at_least" in when:
                continue  # condition-operators says so
            decl = _decl(ctx, name)
            if decl is None:
                continue
            listed = when.get("in") or []
            if decl.type == "category" and decl.values and set(decl.values) <= set(listed):
                yield Problem(path + ("in",),
                              f"{label} lists every value the app sends for {name!r}: every item gets the boost, "
                              "which on its own changes no order",
                              "list only the values that should be boosted, or remove the boost")
            if decl.type in NUMERIC:
                values = [v for v in ([when["equals"]] if "equals" in when else listed)
                          if isinstance(v, (int, float)) and not isinstance(v, bool)]
                lo, hi, extra = _span_of(ctx, name)
                if values and all(((lo is not None and v < lo) or (hi is not None and v > hi)) and v not in extra
                                  for v in values):
                    yield Problem(path, f"{label} never holds: the app sends {name} in "
                                        f"[{_fmt(lo) if lo is not None else '-infinity'}, {_fmt(hi) if hi is not None else 'infinity'}]",
                                  "fix the value, or remove the boost")
            continue
        at_least = when.get("at_least", -math.inf)
        below = when.get("below", math.inf)
        if at_least >= below:
            yield Problem(path, f"{label} never holds: no value is at least {_fmt(at_least)} and below {_fmt(below)}",
                          "swap the two bounds, or fix the one that was mistyped")
            continue
        decl = _decl(ctx, name)
        if decl is None or decl.type not in NUMERIC:
            continue
        lo, hi, extra = _span_of(ctx, name)
        shown = f"[{_fmt(lo) if lo is not None else '-infinity'}, {_fmt(hi) if hi is not None else 'infinity'}]"
        holds = lambda v, lo_=at_least, hi_=below: lo_ <= v < hi_  # noqa: E731 - bound now: the loop moves on
        never = ((hi is not None and at_least > hi) or (lo is not None and below <= lo)) and not any(map(holds, extra))
        always = ((at_least == -math.inf or (lo is not None and at_least <= lo))
                  and (below == math.inf or (hi is not None and below > hi)) and all(map(holds, extra)))
        if never:
            yield Problem(path, f"{label} never holds: the app sends {name} in {shown}",
                          "fix the threshold (it is in the input's own unit), or remove the boost")
        elif always:
            yield Problem(path, f"{label} holds for every item: the app sends {name} in {shown}, so every item gets "
                                "the boost, which on its own changes no order",
                          "move the threshold inside the range, or remove the boost")


def _contribution_floor(ctx: RuleContext, feature: Mapping[str, Any]) -> float:
    """The lowest contribution a feature can make, given the contract's range (-inf when unbounded)."""
    weight = feature["weight"]
    if weight == 0:
        return 0.0
    transform = feature.get("transform", DEFAULT_TRANSFORM)
    lo, hi, extra = _span_of(ctx, feature["input"])
    if extra:
        lo = min([lo, *extra]) if lo is not None else None
        hi = max([hi, *extra]) if hi is not None else None
    bound = lo if weight > 0 else hi
    if transform in NON_NEGATIVE:
        bound = 0.0 if bound is None and weight > 0 else bound
        if bound is not None:
            bound = max(bound, 0.0)
    if bound is None:
        return -math.inf
    value = math.log1p(bound) if transform == "log1p" else math.sqrt(bound) if transform == "sqrt" else bound
    return weight * value


@rule("ranking.boost-on-negative-score", Severity.WARNING, kinds=KINDS)
def boost_on_negative_score(ctx: RuleContext) -> Iterator[Problem]:
    """A `multiply` boost only applies to scores that cannot be negative: 1.15 x -2.0 is -2.3, so a "lift" moves a negative-scoring item down and a 0.8 "penalty" moves it up. Scores can go negative through negative weights, inputs whose contract range goes below 0 (or declares no min), or negative adds before the boost.

    Bad:
        features:
          - {name: text_relevance, input: bm25_score, weight: 1.0}
          - {name: age, input: days_since_launch, weight: -0.01}
        boosts:
          - {name: in_stock, when: {input: in_stock, equals: true}, multiply: 1.15}
    Good:
        features:
          - {name: text_relevance, input: bm25_score, weight: 1.0}
        boosts:
          - {name: new_arrival, when: {input: days_since_launch, below: 30}, add: 0.4}
          - {name: in_stock, when: {input: in_stock, equals: true}, multiply: 1.15}
    """
    if ctx.contract is None:
        return
    floors = [(feature, _contribution_floor(ctx, feature)) for feature in _features(ctx.data)]
    low = math.fsum(f for _, f in floors) if all(math.isfinite(f) for _, f in floors) else -math.inf
    culprits = [feature for feature, f in floors if f < 0]
    for i, boost in enumerate(_boosts(ctx.data)):
        factor = boost.get("multiply", 1)
        add = boost.get("add", 0)
        if factor > 0 and factor != 1 and low < 0:
            if culprits:
                why = ", ".join(_culprit(ctx, f) for f in culprits[:3])
            else:
                why = "negative adds of earlier boosts"
            direction = "down, not up" if factor > 1 else "up, not down"
            yield Problem(("boosts", i, "multiply"),
                          f"boost {boost['name']!r} multiplies by {_fmt(factor)}, but scores can be negative "
                          f"(down to {_fmt(low)}: {why}): a negative score times {_fmt(factor)} moves the item "
                          f"{direction}",
                          "keep every contribution >= 0 (a positive weight on a recency input instead of a negative "
                          "weight on age; contract ranges with min: 0), or use add for this boost")
        if factor > 0:
            low = min(low, low * factor + add) if math.isfinite(low) else low


def _culprit(ctx: RuleContext, feature: Mapping[str, Any]) -> str:
    lo, hi, _ = _span_of(ctx, feature["input"])
    if feature["weight"] < 0:
        return f"feature {feature['name']!r} has weight {_fmt(feature['weight'])}"
    if lo is None:
        return f"{feature['input']!r} has no min in the contract"
    return f"{feature['input']!r} goes down to {_fmt(lo)}"


def _analysis(ctx: RuleContext) -> Analysis:
    return cached(ctx, analyse)


@rule("ranking.term-contribution-bound", Severity.ERROR, kinds=KINDS)
def term_contribution_bound(ctx: RuleContext) -> Iterator[Problem]:
    """No single feature or boost can move an item's score by more than the largest contribution the model declares (`analysis: {max_term_contribution: ...}`), or else the repository's default for rankings in config/weights.yaml. The range is computed over the contract's input ranges, through transforms, defaults and the boosts before it, so a weight slipped by a factor of 100 on a long-tailed count is caught.

    Bad:
        # contract: sales_30d: {type: integer, min: 0, max: 1000000}
        analysis: {max_term_contribution: 150}
        features:
          - {name: popularity, input: sales_30d, weight: 0.35}
    Good:
        analysis: {max_term_contribution: 150}
        features:
          - {name: popularity, input: sales_30d, weight: 0.35, transform: log1p}
    """
    limit, source = term_limit(ctx.data, ctx.extra, "ranking")
    if limit is None:
        return
    for term in _analysis(ctx).terms:
        if term.contribution.magnitude > limit:
            what = "weight" if term.path[0] == "features" else "name"
            yield Problem(term.path + (what,),
                          f"{term.path[0][:-1]} {term.name!r} can move an item's score by "
                          f"{show_interval(term.contribution)} over the contract's range of {term.driver!r} "
                          f"({term.input_range}); that exceeds {_fmt(limit)}, {source}",
                          "lower the weight (or the boost), or use a flatter transform (log1p, sqrt); see weights explain")


@rule("ranking.one-term-dominates", Severity.WARNING, kinds=KINDS)
def one_term_dominates(ctx: RuleContext) -> Iterator[Problem]:
    """No feature or boost can move an item's score by more than all the others together (by over 10%, over the contract's ranges), unless the model names it as the one meant to lead (`analysis: {leading: <name>}`, e.g. text relevance): otherwise that one term alone decides the order and every other weight is decoration. A warning, because leading by design is legitimate once it is declared.

    Bad:
        features:
          - {name: text_relevance, input: bm25_score, weight: 1.0}
          - {name: popularity, input: sales_30d, weight: 35.0, transform: log1p}
        analysis: {leading: text_relevance}
    Good:
        features:
          - {name: text_relevance, input: bm25_score, weight: 1.0}
          - {name: popularity, input: sales_30d, weight: 0.35, transform: log1p}
        analysis: {leading: text_relevance}
    """
    analysis = _analysis(ctx)
    if len(analysis.terms) < 2:
        return
    leading = (ctx.data.get("analysis") or {}).get("leading")
    for term, rest in dominant(analysis, leading):
        what = term.path[0][:-1]
        yield Problem(term.path + ("name",),
                      f"{what} {term.name!r} can move an item's score by up to {_fmt(term.contribution.width)} "
                      f"({show_interval(term.contribution)}), more than all the other features and boosts together "
                      f"({_fmt(rest)}): it alone decides the order",
                      "lower its weight (or boost), or, if it is meant to lead, say so: analysis: {leading: "
                      f"{term.name}}}")


@rule("ranking.default-in-range", Severity.ERROR, kinds=KINDS)
def default_in_range(ctx: RuleContext) -> Iterator[Problem]:
    """An input's `default` (used when the value is missing, or out of range with `out_of_range: default`) is a value the app's contract allows: a default outside the range gives every item without the value a score no real item has.

    Bad:
        # contract: avg_rating: {type: number, min: 1, max: 5}
        inputs:
          avg_rating: {missing: default, default: 35}
    Good:
        inputs:
          avg_rating: {missing: default, default: 3.5}
    """
    yield from defaults_outside_contract(ctx)


RULES = (
    weights_not_all_zero,
    unique_names,
    boost_factor,
    boost_no_effect,
    tie_break_unique,
    condition_type,
    condition_operators,
    input_types_agree,
    transform_domain,
    condition_reachable,
    boost_on_negative_score,
    term_contribution_bound,
    one_term_dominates,
    default_in_range,
)
