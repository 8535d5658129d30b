"""Rules for `scorecard` models: bins that tile the input, levels that match what the app sends, weights
inside the bounds reviewers agreed on, decision bands that rise, and reason codes that explain the score.

The schema checks shape; these check meaning. A scorecard with a gap in its bins, a misspelt category or
two swapped thresholds evaluates without complaint and quietly makes the wrong decisions.
"""
from __future__ import annotations

import math
from typing import Any, Iterator, Mapping

from validator.gate.common_rules import defaults_outside_contract
from validator.gate.findings import Severity
from validator.gate.rules import Problem, RuleContext, did_you_mean, rule
from validator.kinds.contract import InputDecl
from validator.kinds.intervals import Analysis, cached, show_interval, term_limit
from validator.kinds.scorecard.analysis import analyse
from validator.kinds.scorecard.evaluator import INPUT_TYPE_OF_TERM, reasons_top

KINDS = ["scorecard"]
# Transforms that refuse negative inputs at request time.
NON_NEGATIVE = ("log1p", "sqrt")


def _fmt(x: float) -> str:
    """Numbers as an analyst writes them: 0.35, 50000, -inf."""
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:g}"


def _span(lo: float | None, hi: float | None) -> str:
    return f"[{_fmt(-math.inf if lo is None else lo)}, {_fmt(math.inf if hi is None else hi)})"


def _terms(data: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any]]]:
    return list(enumerate(data.get("terms") or ()))


def _bands(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(data.get("bands") or ())


def _numeric_decl(ctx: RuleContext, name: str) -> InputDecl | None:
    """The contract's declaration of a numeric input, or None when there is nothing to check against."""
    if ctx.contract is None:
        return None
    decl = ctx.contract.inputs.get(name)
    return decl if decl is not None and decl.type in ("number", "integer") else None


def _bands_well_formed(data: Mapping[str, Any]) -> bool:
    """Bands that bands-ordered and bands-in-range accept (other rules stay quiet about broken ones)."""
    bands = _bands(data)
    given = [b.get("below") for b in bands[:-1]]
    belows = [b for b in given if b is not None]
    if len(belows) < len(given) or (bands and "below" in bands[-1]):
        return False
    if data.get("link") == "logistic" and not all(0 < b < 1 for b in belows):
        return False
    return all(a < b for a, b in zip(belows, belows[1:], strict=False))


@rule("scorecard.unique-names", Severity.ERROR, kinds=KINDS)
def unique_names(ctx: RuleContext) -> Iterator[Problem]:
    """Term names are unique within a model, and so are reason codes: explain() and reviews tell terms apart by name, and an app that sees a reason code must know which term fired.

    Bad:
        terms:
          - {name: new_account, input: account_age_days, type: numeric, transform: log1p, weight: -0.3, reason: R02_NEW_ACCOUNT}
          - {name: new_account, input: email_domain_age_days, type: numeric, transform: log1p, weight: -0.2, reason: R02_NEW_ACCOUNT}
    Good:
        terms:
          - {name: new_account, input: account_age_days, type: numeric, transform: log1p, weight: -0.3, reason: R02_NEW_ACCOUNT}
          - {name: new_email_domain, input: email_domain_age_days, type: numeric, transform: log1p, weight: -0.2, reason: R05_NEW_EMAIL_DOMAIN}
    """
    names: dict[str, int] = {}
    codes: dict[str, str] = {}
    for i, term in _terms(ctx.data):
        name = term["name"]
        if name in names:
            yield Problem(("terms", i, "name"), f"term name {name!r} is already used by term {names[name] + 1}",
                          "rename one of them: explain() and reviews tell terms apart by name")
        else:
            names[name] = i
        code = term.get("reason")
        if code:
            if code in codes:
                yield Problem(("terms", i, "reason"), f"reason code {code!r} of term {name!r} is also the code of term {codes[code]!r}",
                              "give each term its own code, or the app cannot tell which one raised the score")
            else:
                codes[code] = name


@rule("scorecard.input-one-type", Severity.ERROR, kinds=KINDS)
def input_one_type(ctx: RuleContext) -> Iterator[Problem]:
    """Terms that read the same input read it as the same type: an input is a number, a boolean or a category, never two of them, and the model cannot compile otherwise.

    Bad:
        terms:
          - {name: velocity, input: orders_last_24h, type: numeric, transform: sqrt, weight: 0.5}
          - {name: repeat_orders, input: orders_last_24h, type: boolean, weight: 0.3}
    Good:
        terms:
          - {name: velocity, input: orders_last_24h, type: numeric, transform: sqrt, weight: 0.5}
          - name: repeat_orders
            input: orders_last_24h
            type: numeric
            bins: [{to: 2, value: 0.0}, {from: 2, value: 1.0}]
            weight: 0.3
    """
    first: dict[str, tuple[str, str]] = {}
    for i, term in _terms(ctx.data):
        typ = INPUT_TYPE_OF_TERM[term["type"]]
        seen = first.setdefault(term["input"], (typ, term["name"]))
        if seen[0] != typ:
            yield Problem(("terms", i, "type"),
                          f"term {term['name']!r} reads input {term['input']!r} as {typ}, but term {seen[1]!r} reads it as {seen[0]}",
                          f"an input has one type: make this a {_term_type_for(seen[0])} term like {seen[1]!r}, or read another input")


def _term_type_for(input_type: str) -> str:
    return {v: k for k, v in INPUT_TYPE_OF_TERM.items()}[input_type]


@rule("scorecard.bins-or-transform", Severity.ERROR, kinds=KINDS)
def bins_or_transform(ctx: RuleContext) -> Iterator[Problem]:
    """A numeric term gets its value from `bins` or from a `transform` (identity, log1p, sqrt), never both; a categorical term from `levels` (and `other`); a boolean term from the input itself. Anything else is ignored or ambiguous.

    Bad:
        terms:
          - name: order_amount
            input: order_amount
            type: numeric
            transform: log1p
            bins: [{to: 500, value: 0.0}, {from: 500, value: 1.0}]
            weight: 0.8
          - {name: country_mismatch, input: country_mismatch, type: boolean, levels: {'true': 1.0}, weight: 1.2}
    Good:
        terms:
          - {name: order_amount, input: order_amount, type: numeric, transform: log1p, weight: 0.3}
          - {name: country_mismatch, input: country_mismatch, type: boolean, weight: 1.2}
    """
    for i, term in _terms(ctx.data):
        name, typ = term["name"], term["type"]
        path = ("terms", i)
        if typ == "numeric":
            if "bins" in term and "transform" in term:
                yield Problem(path + ("transform",), f"numeric term {name!r} has both bins and a transform",
                              "keep bins (a value per range of the input) or transform (a value computed from it), not both",
                              at_key=True)
            elif "bins" not in term and "transform" not in term:
                yield Problem(path, f"numeric term {name!r} has neither bins nor a transform",
                              "add bins: [...] or transform: identity | log1p | sqrt")
            for key in ("levels", "other"):
                if key in term:
                    yield Problem(path + (key,), f"numeric term {name!r} has {key}, which only categorical terms use",
                                  "remove it, or make the term categorical", at_key=True)
            continue
        for key in ("bins", "transform"):
            if key in term:
                yield Problem(path + (key,), f"{typ} term {name!r} has {key}, which only numeric terms use",
                              "remove it" + (", or make the term numeric" if typ == "boolean" else ""), at_key=True)
        if typ == "categorical" and "levels" not in term:
            yield Problem(path, f"categorical term {name!r} has no levels",
                          "add levels: {<category>: <value>, ...} for the categories the app sends")
        if typ == "boolean":
            for key in ("levels", "other"):
                if key in term:
                    yield Problem(path + (key,), f"boolean term {name!r} has {key}; its value is 1 when true and 0 when false",
                                  "remove it; the weight is the contribution when the input is true", at_key=True)


@rule("scorecard.bins-contiguous", Severity.ERROR, kinds=KINDS)
def bins_contiguous(ctx: RuleContext) -> Iterator[Problem]:
    """Bins tile the input without gaps or overlaps, in rising order: each bin starts exactly where the previous one ends, only the first may omit `from` and only the last may omit `to`. A gap leaves inputs without a value; an overlap makes the first bin silently win.

    Bad:
        bins:
          - {to: 7, value: 1.0}
          - {from: 7, to: 30, value: 0.5}
          - {from: 45, value: 0.0}
    Good:
        bins:
          - {to: 7, value: 1.0}
          - {from: 7, to: 30, value: 0.5}
          - {from: 30, value: 0.0}
    """
    for i, term in _terms(ctx.data):
        bins = term.get("bins")
        if term["type"] != "numeric" or not bins:
            continue
        name = term["name"]
        last = len(bins) - 1
        for k, b in enumerate(bins):
            path = ("terms", i, "bins", k)
            lo, hi = b.get("from"), b.get("to")
            if lo is None and k > 0:
                yield Problem(path, f"bin {k + 1} of term {name!r} has no `from`; only the first bin may start at minus infinity",
                              f"add from: {_fmt(bins[k - 1]['to'])}" if bins[k - 1].get("to") is not None else "add from: <where the previous bin ends>")
            if hi is None and k < last:
                yield Problem(path, f"bin {k + 1} of term {name!r} has no `to`; only the last bin may run to infinity",
                              f"add to: {_fmt(bins[k + 1]['from'])}" if bins[k + 1].get("from") is not None else "add to: <where the next bin starts>")
            if lo is not None and hi is not None and not lo < hi:
                yield Problem(path + ("to",), f"bin {_span(lo, hi)} of term {name!r} is empty: from {_fmt(lo)} is not below to {_fmt(hi)}",
                              "swap from and to" if lo > hi else "remove the bin, or widen it")
                continue
            if k == 0:
                continue
            prev = bins[k - 1]
            p_lo, p_hi = prev.get("from"), prev.get("to")
            if lo is None or p_hi is None:
                continue  # reported above
            if hi is not None and p_lo is not None and hi <= p_lo:
                yield Problem(path, f"bins of term {name!r} are out of order: {_span(lo, hi)} comes after {_span(p_lo, p_hi)}",
                              "list bins from the lowest input to the highest")
            elif lo > p_hi:
                yield Problem(path + ("from",),
                              f"gap in the bins of term {name!r}: a bin ends at {_fmt(p_hi)} but the next starts at {_fmt(lo)}, "
                              f"so inputs from {_fmt(p_hi)} to {_fmt(lo)} fall in no bin",
                              f"start this bin at from: {_fmt(p_hi)}, or end the previous one at to: {_fmt(lo)}")
            elif lo < p_hi:
                top = p_hi if hi is None else min(p_hi, hi)
                yield Problem(path + ("from",),
                              f"bins of term {name!r} overlap: {_span(p_lo, p_hi)} and {_span(lo, hi)} both cover {_fmt(lo)} to {_fmt(top)}",
                              f"start this bin at from: {_fmt(p_hi)}, where the previous one ends")


@rule("scorecard.bins-cover-range", Severity.WARNING, kinds=KINDS)
def bins_cover_range(ctx: RuleContext) -> Iterator[Problem]:
    """The bins reach over the whole range the app's contract declares for the input (remember `to` is exclusive): an input outside every bin is clamped to the nearest bin, or replaced or refused if the input's `out_of_range` policy says so.

    Bad:
        # contract: order_amount: {type: number, min: 0, max: 50000}
        bins:
          - {from: 10, to: 500, value: 0.0}
          - {from: 500, to: 50000, value: 1.0}
    Good:
        bins:
          - {to: 500, value: 0.0}
          - {from: 500, value: 1.0}
    """
    for i, term in _terms(ctx.data):
        bins = term.get("bins")
        if term["type"] != "numeric" or not bins:
            continue
        decl = _numeric_decl(ctx, term["input"])
        if decl is None:
            continue
        name, inp = term["name"], term["input"]
        start, end = bins[0].get("from"), bins[-1].get("to")
        if start is not None and (decl.min is None or start > decl.min):
            sent = "sets no minimum" if decl.min is None else f"allows values down to {_fmt(decl.min)}"
            yield Problem(("terms", i, "bins", 0, "from"),
                          f"the bins of term {name!r} start at {_fmt(start)} but the contract {sent} for {inp!r}; "
                          "lower inputs fall in no bin",
                          "let the first bin omit `from` so it takes every lower input")
        if end is not None and (decl.max is None or end <= decl.max):
            sent = "sets no maximum" if decl.max is None else f"allows values up to {_fmt(decl.max)}"
            yield Problem(("terms", i, "bins", len(bins) - 1, "to"),
                          f"the bins of term {name!r} end below {_fmt(end)} (`to` is exclusive) but the contract {sent} "
                          f"for {inp!r}; higher inputs fall in no bin",
                          "let the last bin omit `to` so it takes every higher input")


@rule("scorecard.transform-domain", Severity.ERROR, kinds=KINDS)
def transform_domain(ctx: RuleContext) -> Iterator[Problem]:
    """log1p and sqrt need inputs of 0 or more: the app's contract must declare `min: 0` (or higher) for the input, and a default must not be negative, or requests with negative values are refused.

    Bad:
        # contract: shipping_to_billing_distance_km: {type: number, max: 20000}   (no min)
        - {name: shipping_distance, input: shipping_to_billing_distance_km, type: numeric, transform: sqrt, weight: 0.02}
    Good:
        # contract: shipping_to_billing_distance_km: {type: number, min: 0, max: 20000}
        - {name: shipping_distance, input: shipping_to_billing_distance_km, type: numeric, transform: sqrt, weight: 0.02}
    """
    policies = ctx.data.get("inputs") or {}
    for i, term in _terms(ctx.data):
        transform = term.get("transform")
        if term["type"] != "numeric" or transform not in NON_NEGATIVE or "bins" in term:
            continue
        name, inp = term["name"], term["input"]
        decl = _numeric_decl(ctx, inp)
        if decl is not None:
            if decl.min is None:
                yield Problem(("terms", i, "transform"),
                              f"term {name!r} takes {transform} of {inp!r}, but the contract sets no minimum for it: "
                              "a negative value would be refused at request time",
                              f"ask the app's owners to declare min: 0 for {inp} in the contract, or use bins")
            elif decl.min < 0:
                yield Problem(("terms", i, "transform"),
                              f"term {name!r} takes {transform} of {inp!r}, but the app sends values down to {_fmt(decl.min)}; "
                              "negative values would be refused at request time",
                              "use bins or transform: identity for an input that can be negative")
        default = (policies.get(inp) or {}).get("default")
        if isinstance(default, (int, float)) and not isinstance(default, bool) and default < 0:
            yield Problem(("inputs", inp, "default"),
                          f"default {_fmt(default)} of {inp!r} is negative, but term {name!r} takes {transform} of it",
                          "use a default of 0 or more")


@rule("scorecard.levels-cover", Severity.ERROR, kinds=KINDS)
def levels_cover(ctx: RuleContext) -> Iterator[Problem]:
    """A categorical term has a level for every category the app's contract says it sends, unless it gives an `other` value: a request with an unlisted category is refused.

    Bad:
        # contract: payment_method: {type: category, values: [card, paypal, gift_card]}
        levels: {card: 0.0, paypal: 0.2}
    Good:
        levels: {card: 0.0, paypal: 0.2, gift_card: 1.1}
    """
    if ctx.contract is None:
        return
    for i, term in _terms(ctx.data):
        if term["type"] != "categorical" or "other" in term or "levels" not in term:
            continue
        decl = ctx.contract.inputs.get(term["input"])
        if decl is None or not decl.values:
            continue
        missing = [v for v in decl.values if v not in term["levels"]]
        if missing:
            listed = " and ".join(filter(None, [", ".join(repr(v) for v in missing[:-1]), repr(missing[-1])]))
            yield Problem(("terms", i, "levels"),
                          f"term {term['name']!r} has no level for {listed}, which app {ctx.contract.app!r} sends as "
                          f"{term['input']!r}; those requests would be refused",
                          "add a level for each, or an `other:` value for the categories you do not list")


@rule("scorecard.levels-known", Severity.ERROR, kinds=KINDS)
def levels_known(ctx: RuleContext) -> Iterator[Problem]:
    """Every level of a categorical term is a category the app's contract declares: any other level never matches, usually because of a typo, and its value is silently never used.

    Bad:
        # contract: payment_method: {type: category, values: [card, paypal, gift_card]}
        levels: {card: 0.0, paypal: 0.2, giftcard: 1.1}
    Good:
        levels: {card: 0.0, paypal: 0.2, gift_card: 1.1}
    """
    if ctx.contract is None:
        return
    for i, term in _terms(ctx.data):
        if term["type"] != "categorical" or "levels" not in term:
            continue
        decl = ctx.contract.inputs.get(term["input"])
        if decl is None or decl.values is None:
            continue
        for level in term["levels"]:
            if level not in decl.values:
                yield Problem(("terms", i, "levels", level),
                              f"level {level!r} of term {term['name']!r} is not a value app {ctx.contract.app!r} sends "
                              f"as {term['input']!r}, so it never matches",
                              did_you_mean(level, decl.values) or f"the app sends: {', '.join(decl.values)}",
                              at_key=True)


@rule("scorecard.weight-bounds", Severity.ERROR, kinds=KINDS)
def weight_bounds(ctx: RuleContext) -> Iterator[Problem]:
    """Each weight stays within its term's `bounds`, or else the model's `weight_bounds`, and every bound has min <= max. Bounds are what reviewers agreed a weight may be, so a slipped decimal point stands out.

    Bad:
        weight_bounds: {min: -3, max: 3}
        terms:
          - {name: country_mismatch, input: country_mismatch, type: boolean, weight: 12.0}
    Good:
        weight_bounds: {min: -3, max: 3}
        terms:
          - {name: country_mismatch, input: country_mismatch, type: boolean, weight: 1.2}
    """
    def broken(bounds: Mapping[str, Any], path: tuple, whose: str) -> Iterator[Problem]:
        lo, hi = bounds.get("min"), bounds.get("max")
        if lo is not None and hi is not None and lo > hi:
            yield Problem(path + ("min",), f"{whose} min {_fmt(lo)} is above max {_fmt(hi)}", "swap min and max")

    model_bounds = ctx.data.get("weight_bounds") or {}
    yield from broken(model_bounds, ("weight_bounds",), "weight_bounds")
    for i, term in _terms(ctx.data):
        own = term.get("bounds")
        if own is not None:
            yield from broken(own, ("terms", i, "bounds"), f"bounds of term {term['name']!r}:")
        bounds, source = (own, "its bounds") if own is not None else (model_bounds, "the model's weight_bounds")
        lo, hi = bounds.get("min"), bounds.get("max")
        if lo is not None and hi is not None and lo > hi:
            continue
        weight = term["weight"]
        if lo is not None and weight < lo:
            yield Problem(("terms", i, "weight"), f"weight {_fmt(weight)} of term {term['name']!r} is below {_fmt(lo)}, the min of {source}",
                          "check for a slipped sign or decimal point; widen the bounds only in the same review")
        elif hi is not None and weight > hi:
            yield Problem(("terms", i, "weight"), f"weight {_fmt(weight)} of term {term['name']!r} is above {_fmt(hi)}, the max of {source}",
                          "check for a slipped decimal point; widen the bounds only in the same review")


@rule("scorecard.bands-ordered", Severity.ERROR, kinds=KINDS)
def bands_ordered(ctx: RuleContext) -> Iterator[Problem]:
    """Decision bands rise: each band's `below` is higher than the previous one's, every band but the last has a `below`, and the last has none so it takes every higher score. Swapped thresholds silently approve what should be declined.

    Bad:
        bands:
          - {decision: approve, below: 0.7}
          - {decision: review, below: 0.35}
          - {decision: decline}
    Good:
        bands:
          - {decision: approve, below: 0.35}
          - {decision: review, below: 0.7}
          - {decision: decline}
    """
    bands = _bands(ctx.data)
    last = len(bands) - 1
    previous: tuple[str, float] | None = None
    for k, band in enumerate(bands):
        decision, below = band["decision"], band.get("below")
        if k == last:
            if below is not None:
                yield Problem(("bands", k, "below"),
                              f"the last band {decision!r} has below: {_fmt(below)}; it must take every higher score",
                              "remove `below` from the last band (add a band after it if higher scores need another decision)",
                              at_key=True)
        elif below is None:
            yield Problem(("bands", k), f"band {decision!r} has no `below`; only the last band may omit it",
                          "add below: <score> (the band covers scores under it)")
            continue
        if below is None:
            continue
        if previous is not None and below <= previous[1]:
            yield Problem(("bands", k, "below"),
                          f"decision bands must rise: {decision!r} below {_fmt(below)} comes after {previous[0]!r} below {_fmt(previous[1])}",
                          "order bands from the lowest score to the highest, each `below` higher than the one before")
        previous = (decision, below)


@rule("scorecard.bands-in-range", Severity.ERROR, kinds=KINDS)
def bands_in_range(ctx: RuleContext) -> Iterator[Problem]:
    """With `link: logistic` the score is a probability strictly between 0 and 1, so every `below` must be too: a threshold of 35 (a percentage) or 0 makes bands that no score can reach.

    Bad:
        link: logistic
        bands:
          - {decision: approve, below: 35}
          - {decision: decline}
    Good:
        link: logistic
        bands:
          - {decision: approve, below: 0.35}
          - {decision: decline}
    """
    if ctx.data.get("link") != "logistic":
        return
    for k, band in enumerate(_bands(ctx.data)):
        below = band.get("below")
        if below is not None and not 0 < below < 1:
            hint = f"did you mean {_fmt(below / 100)}?" if 1 < below <= 100 else "use a threshold between 0 and 1, or link: identity for points"
            yield Problem(("bands", k, "below"),
                          f"band {band['decision']!r} has below: {_fmt(below)}, but a logistic score lies between 0 and 1", hint)


@rule("scorecard.bands-distinct", Severity.ERROR, kinds=KINDS)
def bands_distinct(ctx: RuleContext) -> Iterator[Problem]:
    """Each decision names one band: two bands with the same decision around another one send higher scores back to a milder decision, and two adjacent ones are a threshold that changes nothing.

    Bad:
        bands:
          - {decision: approve, below: 0.35}
          - {decision: review, below: 0.6}
          - {decision: approve, below: 0.8}
          - {decision: decline}
    Good:
        bands:
          - {decision: approve, below: 0.35}
          - {decision: review, below: 0.8}
          - {decision: decline}
    """
    bands = _bands(ctx.data)
    seen: dict[str, int] = {}
    for k, band in enumerate(bands):
        decision = band["decision"]
        if decision not in seen:
            seen[decision] = k
            continue
        first = seen[decision]
        if first == k - 1:
            yield Problem(("bands", k, "decision"),
                          f"band {k + 1} repeats decision {decision!r} of the band before it; the threshold between them changes nothing",
                          "merge the two bands")
        else:
            between = ", ".join(repr(b["decision"]) for b in bands[first + 1:k])
            yield Problem(("bands", k, "decision"),
                          f"decision {decision!r} comes back in band {k + 1} after {between}: higher scores would return to {decision!r}",
                          "give each decision one band, in order of rising score")


def _contribution_range(ctx: RuleContext, term: Mapping[str, Any]) -> tuple[float, float]:
    """The lowest and highest contribution a term can make, given the contract's ranges (inf: unbounded)."""
    inp = term["input"]
    decl = ctx.contract.inputs.get(inp) if ctx.contract is not None else None
    policy = (ctx.data.get("inputs") or {}).get(inp) or {}
    default = policy.get("default")
    values: list[float]
    if term["type"] == "boolean":
        values = [0.0, 1.0]
    elif term["type"] == "categorical":
        levels = term.get("levels") or {}
        if decl is not None and decl.values:
            values = [levels[v] for v in decl.values if v in levels]
            if "other" in term and any(v not in levels for v in decl.values):
                values.append(term["other"])
        else:
            values = list(levels.values()) + ([term["other"]] if "other" in term else [])
    elif term.get("bins"):
        lo = decl.min if decl is not None and decl.type in ("number", "integer") else None
        hi = decl.max if decl is not None and decl.type in ("number", "integer") else None
        bins = term["bins"]
        values = [b["value"] for b in bins
                  if (hi is None or b.get("from") is None or b["from"] <= hi)
                  and (lo is None or b.get("to") is None or b["to"] > lo)]
        values = values or [b["value"] for b in bins]  # all outside: clamped to the nearest
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            values += [b["value"] for b in bins
                       if (b.get("from") is None or b["from"] <= default) and (b.get("to") is None or default < b["to"])]
    else:
        transform = term.get("transform", "identity")
        lo = decl.min if decl is not None and decl.min is not None else -math.inf
        hi = decl.max if decl is not None and decl.max is not None else math.inf
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            lo, hi = min(lo, default), max(hi, default)
        if transform in NON_NEGATIVE:
            lo, hi = max(lo, 0.0), max(hi, 0.0)
            fn = math.log1p if transform == "log1p" else math.sqrt
            values = [fn(lo), fn(hi) if math.isfinite(hi) else math.inf]
        else:
            values = [lo, hi]
    weight = term["weight"]
    if not values or weight == 0:
        return 0.0, 0.0
    products = [0.0 if v == 0 else weight * v for v in (min(values), max(values))]
    return min(products), max(products)


@rule("scorecard.bands-reachable", Severity.WARNING, kinds=KINDS)
def bands_reachable(ctx: RuleContext) -> Iterator[Problem]:
    """Every decision band can be reached: with every term at its lowest and at its highest (within the contract's ranges), the score spans at least part of each band. A band out of reach is a threshold set on the wrong scale, or a term whose weight no longer fits.

    Bad:
        # intercept -3.5, and all terms together add at most 4.0: the highest risk is 0.62
        bands:
          - {decision: approve, below: 0.35}
          - {decision: review, below: 0.7}
          - {decision: decline}
    Good:
        bands:
          - {decision: approve, below: 0.35}
          - {decision: review, below: 0.6}
          - {decision: decline}
    """
    data = ctx.data
    if not _bands_well_formed(data):
        return
    logistic = data.get("link") == "logistic"
    low = high = float(data["intercept"])
    for _, term in _terms(data):
        lo, hi = _contribution_range(ctx, term)
        low, high = low + lo, high + hi
    if logistic:
        def link(z: float) -> float:
            return 0.0 if z < -700 else 1.0 / (1.0 + math.exp(-z))
        low, high = link(low), link(high)
    bands = _bands(data)
    floor = -math.inf
    for k, band in enumerate(bands):
        below = band.get("below", math.inf)
        decision = band["decision"]
        if below <= low:
            yield Problem(("bands", k), f"band {decision!r} covers scores below {_fmt(below)}, but the lowest score this model "
                                        f"can give is {low:.3g} (every term at its lowest)",
                          "lower the threshold, or check the intercept and the weights")
        elif floor > high:
            yield Problem(("bands", k), f"band {decision!r} needs a score of at least {_fmt(floor)}, but the highest score this "
                                        f"model can give is {high:.3g} (every term at its highest)",
                          "lower the threshold before it, or check the intercept and the weights")
        floor = below


@rule("scorecard.reason-codes", Severity.WARNING, kinds=KINDS)
def reason_codes(ctx: RuleContext) -> Iterator[Problem]:
    """When the model reports reasons, every term that can raise the score above `reasons.min_contribution` has a reason code: otherwise a score that term drives reports the smaller reasons of other terms instead.

    Bad:
        reasons: {top: 3, min_contribution: 0.25}
        terms:
          - {name: country_mismatch, input: country_mismatch, type: boolean, weight: 1.2}
    Good:
        reasons: {top: 3, min_contribution: 0.25}
        terms:
          - {name: country_mismatch, input: country_mismatch, type: boolean, weight: 1.2, reason: R03_COUNTRY_MISMATCH}
    """
    if reasons_top(ctx.data) <= 0:
        return
    floor = (ctx.data.get("reasons") or {}).get("min_contribution", 0.0)
    for i, term in _terms(ctx.data):
        if term.get("reason") or term["weight"] <= 0:
            continue
        _, highest = _contribution_range(ctx, term)
        if highest > floor:
            yield Problem(("terms", i), f"term {term['name']!r} can raise the score by up to {_fmt(highest)} but has no reason code",
                          "add reason: <CODE> (and the code to the contract's reasons for this model)")


@rule("scorecard.reasons-unused", Severity.WARNING, kinds=KINDS)
def reasons_unused(ctx: RuleContext) -> Iterator[Problem]:
    """Terms carry reason codes only if the model reports reasons: without a `reasons:` block (or with `top: 0`) a score never reports them, which is rarely what whoever wrote them meant.

    Bad:
        terms:
          - {name: country_mismatch, input: country_mismatch, type: boolean, weight: 1.2, reason: R03_COUNTRY_MISMATCH}
        # no reasons: block
    Good:
        terms:
          - {name: country_mismatch, input: country_mismatch, type: boolean, weight: 1.2, reason: R03_COUNTRY_MISMATCH}
        reasons: {top: 3, min_contribution: 0.25}
    """
    if reasons_top(ctx.data) > 0:
        return
    coded = [i for i, term in _terms(ctx.data) if term.get("reason")]
    if not coded:
        return
    path = ("reasons", "top") if "reasons" in ctx.data else ("terms", coded[0], "reason")
    yield Problem(path, f"{len(coded)} term{'s carry' if len(coded) > 1 else ' carries'} a reason code, but the model reports no reasons",
                  "add reasons: {top: 3} to report them, or remove the codes")


@rule("scorecard.replay-costs", Severity.ERROR, kinds=KINDS)
def replay_costs(ctx: RuleContext) -> Iterator[Problem]:
    """Every key under `replay.costs` is a decision of the model (its bands, or the contract's decisions for it), and every decision the bands emit has costs: the replay weighs each row by its decision's costs, so a misspelt key is ignored and its rows silently cost nothing (the report's expected loss drops).

    Bad:
        replay:
          dataset: tests/data/fraud_orders.parquet
          outcome: is_fraud
          costs:
            approve: {positive: 150.0, negative: 0.0}
            reveiw: {positive: 8.0, negative: 6.0}
            decline: {positive: 0.0, negative: 25.0}
    Good:
        replay:
          dataset: tests/data/fraud_orders.parquet
          outcome: is_fraud
          costs:
            approve: {positive: 150.0, negative: 0.0}
            review: {positive: 8.0, negative: 6.0}
            decline: {positive: 0.0, negative: 25.0}
    """
    costs = (ctx.data.get("replay") or {}).get("costs")
    if not isinstance(costs, Mapping) or not costs:
        return
    emitted = [b["decision"] for b in _bands(ctx.data) if isinstance(b.get("decision"), str)]
    declared: frozenset[str] = frozenset()
    if ctx.contract is not None:
        declared = ctx.contract.outputs.get(str(ctx.data.get("name")), {}).get("decisions", frozenset())
    known = list(dict.fromkeys([*emitted, *sorted(declared)]))
    for key in costs:
        if key not in known:
            hint = did_you_mean(str(key), known)
            yield Problem(("replay", "costs", key), f"replay.costs names {key!r}, which is not a decision of this model"
                          f"{' (' + hint + ')' if hint else ''}; its decisions: {', '.join(known)}",
                          "name each decision exactly as the bands do: costs of an unknown key are ignored",
                          at_key=True)
    missing = [d for d in dict.fromkeys(emitted) if d not in costs]
    if missing:
        yield Problem(("replay", "costs"), f"replay.costs gives no costs for {', '.join(repr(d) for d in missing)}: "
                      "rows with that decision would count as costing nothing in the expected loss",
                      "add {positive: <cost>, negative: <cost>} for each decision (0.0 where it truly costs nothing)",
                      at_key=True)


def _analysis(ctx: RuleContext) -> Analysis:
    return cached(ctx, analyse)


@rule("scorecard.term-contribution-bound", Severity.ERROR, kinds=KINDS)
def term_contribution_bound(ctx: RuleContext) -> Iterator[Problem]:
    """No single term can move z by more than the largest contribution the model declares (`analysis: {max_term_contribution: ...}`), or else the repository's default for scorecards in config/weights.yaml: a term past it decides every case alone. The range is computed over the contract's input ranges, through bins, levels, transforms and defaults, so a bounded weight on an unbounded transform is caught too.

    Bad:
        # contract: support_tickets_90d: {type: integer, min: 0, max: 100}
        analysis: {max_term_contribution: 4.0}
        terms:
          - {name: support_trouble, input: support_tickets_90d, type: numeric, transform: identity, weight: 0.45, reason: C02_SUPPORT_TROUBLE}
    Good:
        analysis: {max_term_contribution: 4.0}
        terms:
          - {name: support_trouble, input: support_tickets_90d, type: numeric, transform: sqrt, weight: 0.3, reason: C02_SUPPORT_TROUBLE}
    """
    limit, source = term_limit(ctx.data, ctx.extra, "scorecard")
    if limit is None:
        return
    for term in _analysis(ctx).terms:
        if term.contribution.magnitude > limit:
            yield Problem(term.path + ("weight",),
                          f"term {term.name!r} can move z by {show_interval(term.contribution)} over the contract's "
                          f"range of {term.driver!r} ({term.input_range}); that exceeds {_fmt(limit)}, {source}",
                          "lower the weight, cap the input with bins, or use a flatter transform (log1p, sqrt); "
                          "see weights explain")


@rule("scorecard.reason-never-given", Severity.WARNING, kinds=KINDS)
def reason_never_given(ctx: RuleContext) -> Iterator[Problem]:
    """A term with a reason code can raise the score by more than `reasons.min_contribution` for some request the contract allows: a term that can only lower the score (a negative weight on a positive value, or levels that are all 0 or less) never has its reason reported, usually because a sign slipped.

    Bad:
        reasons: {top: 3, min_contribution: 0.25}
        terms:
          - {name: country_mismatch, input: country_mismatch, type: boolean, weight: -1.2, reason: R03_COUNTRY_MISMATCH}
    Good:
        reasons: {top: 3, min_contribution: 0.25}
        terms:
          - {name: country_mismatch, input: country_mismatch, type: boolean, weight: 1.2, reason: R03_COUNTRY_MISMATCH}
    """
    if reasons_top(ctx.data) <= 0:
        return  # scorecard.reasons-unused says so
    floor = float((ctx.data.get("reasons") or {}).get("min_contribution", 0.0))
    for term in _analysis(ctx).terms:
        if term.reason is None or term.contribution.hi > floor:
            continue
        if term.contribution.hi <= 0:
            what = f"can never raise the score (its contribution lies in {show_interval(term.contribution)})"
        else:
            what = (f"raises the score by at most {_fmt(term.contribution.hi)}, never above reasons.min_contribution "
                    f"{_fmt(floor)}")
        yield Problem(term.path + ("reason",), f"term {term.name!r} carries reason code {term.reason!r} but {what}, "
                                               "so the code is never reported",
                      "check the sign of the weight (and of the bin or level values); a term that only lowers "
                      "the score needs no reason code")


@rule("scorecard.default-in-range", Severity.ERROR, kinds=KINDS)
def default_in_range(ctx: RuleContext) -> Iterator[Problem]:
    """An input's `default` (used when the value is missing, or out of range with `out_of_range: default`) is a value the app's contract allows: a default outside the range feeds the model a number no real request has, and a bin or transform then gives it a contribution nobody reviewed.

    Bad:
        # contract: nps_score: {type: integer, min: 0, max: 10}
        inputs:
          nps_score: {missing: default, default: 80}
    Good:
        inputs:
          nps_score: {missing: default, default: 8}
    """
    yield from defaults_outside_contract(ctx)


RULES = (
    unique_names,
    input_one_type,
    bins_or_transform,
    bins_contiguous,
    bins_cover_range,
    transform_domain,
    levels_cover,
    levels_known,
    weight_bounds,
    bands_ordered,
    bands_in_range,
    bands_distinct,
    bands_reachable,
    reason_codes,
    reasons_unused,
    replay_costs,
)

__all__ = ["RULES"]
