"""Hypothesis strategies shared by the vectorized property tests: random models of each kind, their
contracts, request rows that exercise every input policy (missing, NaN, infinite, out of range, edges), and
numbers placed at and within a few ulps of a threshold (``nudge``, ``ULPS``)."""
from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from validator.kinds.contract import Contract

NUMBERS = ("amount", "age", "count")
LEVELS = ("card", "paypal", "invoice", "gift_card")

# How far from a threshold the boundary tests put a value: on it, and up to 4 ulps either side.
ULPS = st.integers(-4, 4)
# How far off libm's a SIMD-like stand-in for exp/log1p/sqrt is (0: not at all, as on many CPUs).
SIMD_ULPS = st.sampled_from([0, 1, -1, 2, -3])


def nudge(x: float, ulps: int) -> float:
    """``x`` moved by ``ulps`` units in the last place (``math.nextafter`` steps; negative: down)."""
    direction = math.inf if ulps > 0 else -math.inf
    for _ in range(abs(ulps)):
        x = math.nextafter(x, direction)
    return x


finite = st.floats(min_value=-50, max_value=50, allow_nan=False, allow_infinity=False)
weight = st.one_of(st.floats(min_value=-3, max_value=3, allow_nan=False), st.sampled_from([0.0, 0.5, -1.25, 1.0]))


@st.composite
def contracts(draw: Any) -> Contract:
    inputs: dict[str, Any] = {}
    for name in NUMBERS:
        lo = draw(st.one_of(st.none(), st.sampled_from([-10.0, 0.0, 1.0])))
        hi = draw(st.one_of(st.none(), st.sampled_from([20.0, 40.0, 100.0])))
        decl: dict[str, Any] = {"type": "number"}
        if lo is not None:
            decl["min"] = lo
        if hi is not None:
            decl["max"] = hi
        inputs[name] = decl
    inputs["flag"] = {"type": "boolean"}
    inputs["method"] = {"type": "category", "values": list(LEVELS)}
    return Contract.from_dict("test", {"app": "test", "models": ["m"], "inputs": inputs})


@st.composite
def policies(draw: Any, types: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, typ in types.items():
        policy: dict[str, Any] = {}
        if draw(st.booleans()):
            policy["missing"] = draw(st.sampled_from(["reject", "default"]))
        if draw(st.booleans()):
            policy["out_of_range"] = draw(st.sampled_from(["clamp", "default", "reject"]))
        if draw(st.booleans()):
            policy["default"] = {"number": draw(finite), "boolean": draw(st.booleans()),
                                 "category": draw(st.sampled_from(LEVELS + ("unknown_level",)))}[typ]
        if policy:
            out[name] = policy
    return out


@st.composite
def bins(draw: Any) -> list[dict[str, Any]]:
    candidates = st.sampled_from([-5.0, 0.0, 1.0, 2.5, 7.0, 15.0, 30.0, 60.0])
    edges = sorted(set(draw(st.lists(candidates, min_size=1, max_size=6))))
    out = []
    k = 0
    while k < len(edges) - 1:
        out.append({"from": edges[k], "to": edges[k + 1], "value": draw(finite)})
        k += 2 if draw(st.integers(0, 4)) == 0 else 1  # sometimes leave a gap
    if not out:
        out.append({"from": edges[0], "value": draw(finite)})
    if draw(st.booleans()):
        out[0].pop("from", None)
    if draw(st.booleans()):
        out[-1].pop("to", None)
    if len(out) == 1 and "from" not in out[0] and "to" not in out[0]:
        out[0]["to"] = 1.0
    return out


@st.composite
def scorecards(draw: Any) -> dict[str, Any]:
    terms = []
    types: dict[str, str] = {}
    for j in range(draw(st.integers(1, 5))):
        typ = draw(st.sampled_from(["numeric", "numeric", "boolean", "categorical"]))
        term: dict[str, Any] = {"name": f"t{j}", "type": typ, "weight": draw(weight)}
        if typ == "numeric":
            term["input"] = draw(st.sampled_from(NUMBERS))
            if draw(st.booleans()):
                term["bins"] = draw(bins())
            else:
                term["transform"] = draw(st.sampled_from(["identity", "log1p", "sqrt"]))
            types[term["input"]] = "number"
        elif typ == "boolean":
            term["input"] = "flag"
            types["flag"] = "boolean"
        else:
            term["input"] = "method"
            levels = draw(st.lists(st.sampled_from(LEVELS), min_size=1, unique=True))
            term["levels"] = {level: draw(finite) for level in levels}
            if draw(st.booleans()):
                term["other"] = draw(finite)
            types["method"] = "category"
        if draw(st.booleans()):
            term["reason"] = f"R{j}"
        terms.append(term)
    link = draw(st.sampled_from(["logistic", "identity"]))
    scale = (0.05, 0.95) if link == "logistic" else (-20.0, 20.0)
    thresholds = draw(st.lists(st.floats(*scale, allow_nan=False), max_size=3))
    bands = [{"decision": f"d{k}", "below": t} for k, t in enumerate(thresholds)] + [{"decision": "last"}]
    doc: dict[str, Any] = {
        "kind": "scorecard", "name": "m", "contract": "test", "link": link,
        "intercept": draw(finite), "terms": terms, "bands": bands,
        "inputs": draw(policies(types)),
    }
    if draw(st.booleans()):
        doc["reasons"] = {"top": draw(st.integers(0, 3)), "min_contribution": draw(st.sampled_from([0.0, 0.3, 1.0]))}
    return doc


# The bin edges, contract bounds and boost limits the strategies above use.
EDGES = (-5.0, 0.0, 1.0, 2.5, 7.0, 15.0, 30.0, 60.0, -10.0, 20.0, 40.0, 100.0)


def number_value() -> st.SearchStrategy:
    return st.one_of(
        st.none(), st.just(math.nan), st.just(math.inf), st.just(-math.inf),
        st.sampled_from(EDGES),                                  # on an edge or bound
        st.builds(nudge, st.sampled_from(EDGES), ULPS),          # within a few ulps of one
        st.floats(min_value=-200, max_value=200, allow_nan=False), st.integers(-20, 120),
    )


@st.composite
def rows(draw: Any, n: int = 25) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        row: dict[str, Any] = {}
        for name in NUMBERS:
            value = draw(number_value())
            if value is not None or draw(st.booleans()):
                row[name] = value
        flag = draw(st.one_of(st.none(), st.booleans()))
        if flag is not None:
            row["flag"] = flag
        method = draw(st.one_of(st.none(), st.sampled_from(LEVELS + ("crypto",))))
        if method is not None:
            row["method"] = method
        out.append(row)
    return out


@st.composite
def segment_models(draw: Any) -> dict[str, Any]:
    n_features = draw(st.integers(1, 3))
    features = []
    for f in range(n_features):
        feature: dict[str, Any] = {"name": f"f{f}", "input": NUMBERS[f], "center": draw(finite),
                                   "scale": draw(st.floats(min_value=0.1, max_value=20))}
        if draw(st.booleans()):
            feature["transform"] = draw(st.sampled_from(["identity", "log1p", "sqrt"]))
        if draw(st.booleans()):
            feature["weight"] = draw(st.sampled_from([0.5, 1.0, 2.0]))
        features.append(feature)
    coordinate = st.one_of(st.sampled_from([0.0, 1.0, -1.0, 0.5]), st.floats(min_value=-3, max_value=3))
    segments = [{"id": f"s{k}", "variant": f"v{k % 2}",
                 "centroid": {f"f{f}": draw(coordinate) for f in range(n_features)}}
                for k in range(draw(st.integers(1, 4)))]
    if len(segments) > 1 and draw(st.booleans()):
        segments[1]["centroid"] = dict(segments[0]["centroid"])  # an exact tie: the first written wins
    types = {NUMBERS[f]: "number" for f in range(n_features)}
    return {
        "kind": "segments", "name": "m", "contract": "test", "features": features, "segments": segments,
        "fallback": {"segment": "general", "variant": "v_default",
                     "max_distance": draw(st.sampled_from([0.5, 1.0, 2.0, 3.0, 100.0]))},
        "inputs": draw(policies(types)),
    }


@st.composite
def ranking_models(draw: Any) -> dict[str, Any]:
    features = [{"name": f"f{j}", "input": draw(st.sampled_from(NUMBERS)), "weight": draw(weight),
                 **({"transform": draw(st.sampled_from(["identity", "log1p", "sqrt"]))} if draw(st.booleans()) else {})}
                for j in range(draw(st.integers(1, 3)))]
    boosts = []
    for j in range(draw(st.integers(0, 4))):
        when = draw(st.sampled_from([
            {"input": "flag", "equals": True},
            {"input": "flag", "equals": False},
            {"input": "method", "equals": "card"},
            {"input": "method", "in": ["paypal", "gift_card"]},
            {"input": "amount", "below": 15.0},
            {"input": "amount", "at_least": 1.0, "below": 30.0},
            {"input": "age", "at_least": 7.0},
            {"input": "count", "equals": 2.5},
            {"input": "count", "in": [0.0, 1.0, 7.0]},
        ]))
        boost: dict[str, Any] = {"name": f"b{j}", "when": dict(when)}
        choice = draw(st.integers(0, 2))
        if choice in (0, 2):
            boost["multiply"] = draw(st.sampled_from([0.5, 1.15, 2.0, 1.0]))
        if choice in (1, 2):
            boost["add"] = draw(st.sampled_from([0.3, -1.0, 0.0, 2.5]))
        boosts.append(boost)
    keys = draw(st.lists(st.sampled_from([
        {"input": "amount", "order": "asc", "type": "number"},
        {"input": "age", "order": "desc", "type": "number"},
        {"input": "method", "order": "asc", "type": "category"},
        {"input": "method", "order": "desc", "type": "category"},
        {"input": "flag", "order": "desc", "type": "boolean"},
    ]), max_size=2, unique_by=lambda k: k["input"]))
    types: dict[str, str] = {}
    for f in features:
        types[f["input"]] = "number"
    for b in boosts:
        name = b["when"]["input"]
        types[name] = "boolean" if name == "flag" else ("category" if name == "method" else "number")
    for k in keys:
        types[k["input"]] = k["type"]
    return {"kind": "ranking", "name": "m", "contract": "test", "features": features, "boosts": boosts,
            "tie_break": keys, "inputs": draw(policies(types))}
