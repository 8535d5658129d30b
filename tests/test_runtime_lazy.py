"""Lazy request-path code in a snapshot: generated on first use, yet a bundle that cannot compile is refused at reload.

See ``validator.runtime.snapshot``: models up to ``EAGER_PREPARE_BYTES`` of JSON are prepared on their first
call; larger ones at reload, so a compiler limit (RecursionError on a huge expression) refuses the bundle
before the swap.
"""
from __future__ import annotations

import copy
import json
import sys
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from runtime_helpers import ORDER, base_document, document

from validator.runtime import BundleRefused, build_snapshot, parse_bundle
from validator.runtime import snapshot as snapshot_module
from validator.runtime.snapshot import EAGER_PREPARE_BYTES

ITEM = {"item_id": "a1", "bm25_score": 12.0, "sales_30d": 40, "avg_rating": 4.2, "review_count": 17,
        "brand_tier": "house", "in_stock": True, "days_since_launch": 100, "stock_units": 9, "return_rate": 0.05,
        "margin_pct": 20.0, "a": 1.0}


def compact(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def build(data: bytes, version: str = "1", previous: Any = None) -> Any:
    return build_snapshot(data, version=version, sha256="s", source="network", loaded_at=0.0, previous=previous)


def ranking_doc(n_features: int) -> dict[str, Any]:
    """The project's bundle whose search_ranking sums ``n_features`` terms of one input: the deepest expression
    per byte of model text that a ranking can generate."""
    doc = copy.deepcopy(document(1))
    doc["contracts"]["search"]["inputs"]["a"] = {"type": "number", "min": 0, "max": 10}
    doc["models"]["search_ranking"]["features"] = [{"input": "a", "weight": 1}] * n_features
    return doc


def model_bytes(doc: dict[str, Any], name: str) -> int:
    return len(json.dumps(doc["models"][name], sort_keys=True, separators=(",", ":")).encode())


def test_request_path_code_is_generated_on_first_use_not_at_reload() -> None:
    snap = build(compact(document(1)))
    fraud = snap.model("fraud_risk")
    assert fraud.source is None and snap.model("search_ranking").source is None  # nothing generated yet
    first = fraud.score(ORDER)
    assert fraud.source is not None
    generated = fraud.source
    assert fraud.score(ORDER) == first and fraud.source is generated  # generated once, then reused
    assert first.version == "1"


def test_a_model_over_the_bound_is_prepared_at_reload() -> None:
    doc = ranking_doc(EAGER_PREPARE_BYTES // 20)
    assert model_bytes(doc, "search_ranking") > EAGER_PREPARE_BYTES
    snap = build(compact(doc))
    assert snap.model("search_ranking").source is not None
    assert snap.model("fraud_risk").source is None


def test_a_model_too_large_for_the_compiler_is_refused_at_reload_not_at_first_request() -> None:
    doc = ranking_doc(20_000)  # one sum of 20,000 terms: Python's compiler runs out of recursion depth
    with pytest.raises(BundleRefused, match="search_ranking.*too large for Python's compiler") as info:
        build(compact(doc))
    assert info.value.reason == "compile"


def test_without_the_bound_that_model_would_fail_at_its_first_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """Why the bound exists: the failure is in prepare(), which laziness would move onto the request path."""
    monkeypatch.setattr(snapshot_module, "EAGER_PREPARE_BYTES", 10**9)
    snap = build(compact(ranking_doc(20_000)))
    with pytest.raises(RecursionError):
        snap.model("search_ranking").rank([ITEM])


def test_the_largest_model_under_the_bound_compiles_on_first_use() -> None:
    n = EAGER_PREPARE_BYTES // 20
    while model_bytes(ranking_doc(n), "search_ranking") > EAGER_PREPARE_BYTES:
        n -= 10
    doc = ranking_doc(n)
    snap = build(compact(doc))
    model = snap.model("search_ranking")
    assert model.source is None  # lazy: under the bound
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(400)  # a margin: an app may run with a lower limit than the default 1000
    try:
        ranked = model.rank([ITEM])
    finally:
        sys.setrecursionlimit(limit)
    assert model.source is not None and [r.item for r in ranked.items] == [ITEM]


def test_threads_racing_on_the_first_call_all_get_the_same_answer() -> None:
    snap = build(compact(document(1)))
    fraud = snap.model("fraud_risk")
    reference = build(compact(document(1))).model("fraud_risk").score(ORDER)
    start = threading.Barrier(8)
    results: list[Any] = []
    lock = threading.Lock()

    def first_call() -> None:
        start.wait()
        got = fraud.score(ORDER)
        with lock:
            results.append(got)

    threads = [threading.Thread(target=first_call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [reference] * 8


def test_a_reused_evaluator_keeps_the_code_its_first_use_generated() -> None:
    first = build(compact(document(1)), "1")
    first.model("churn_coupon").prepare()
    second = build(compact(document(2)), "2", previous=first)  # only fraud_risk differs
    assert second.model("churn_coupon") is not first.model("churn_coupon")
    assert second.model("churn_coupon").source is first.model("churn_coupon").source is not None
    assert second.model("customer_segments") is not first.model("customer_segments")


def test_the_same_document_in_other_whitespace_is_recompiled_not_misread() -> None:
    first = build(compact(document(1)), "1")
    first.model("fraud_risk").prepare()
    pretty = json.dumps(document(1), indent=2).encode()
    second = build(pretty, "2", previous=first)
    assert second.model("fraud_risk").source is None  # another text: compiled anew (and still lazily)
    assert second.model("fraud_risk").score(ORDER).value == first.model("fraud_risk").score(ORDER).value


def test_a_model_reads_the_same_whatever_the_number_spelling() -> None:
    """1 and 1.0 and true are equal in Python; the model text tells them apart, so reuse never confuses them."""
    doc = document(1)
    first = build(compact(doc), "1")
    doc["models"]["fraud_risk"]["reasons"]["top"] = 3.0 if doc["models"]["fraud_risk"]["reasons"]["top"] == 3 else 3
    second = build(compact(doc), "2", previous=first)
    assert second.compiled_from["fraud_risk"] != first.compiled_from["fraud_risk"]
    assert second.compiled_from["churn_coupon"] == first.compiled_from["churn_coupon"]


@pytest.mark.parametrize("data,match", [
    (b'{"format_version": 1, "models": {}, "contracts": {}, "provenance": {}} x', "Extra data"),
    (b'{"format_version": 1, "models": {"m": {"kind": "x"} "n": 1}}', "Expecting ','"),
    (b'{"format_version": 1, "models": {"m" {"kind": "x"}}}', "Expecting ':'"),
    (b'{"format_version": 1, "models": {1: 2}}', "property name"),
    (b'{"format_version": 1, "models": {"m": {"kind": "x"},}}', "property name"),
    (b'{"format_version": 1', "Expecting"),
    (b"  ", "Expecting value"),
])
def test_malformed_json_is_refused_with_json_s_words(data: bytes, match: str) -> None:
    with pytest.raises(BundleRefused, match=match) as info:
        parse_bundle(data)
    assert info.value.reason == "format"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(models=st.dictionaries(st.text(max_size=6), st.dictionaries(st.text(max_size=5), json_values, max_size=4)),
       extra=st.dictionaries(st.text(max_size=6), json_values, max_size=3),
       indent=st.sampled_from([None, 0, 2]))
def test_the_member_by_member_reader_decodes_what_json_loads_decodes(models: dict, extra: dict,
                                                                     indent: int | None) -> None:
    models = {name: {**m, "kind": "scorecard"} for name, m in models.items()}
    doc = {**extra, "format_version": 1, "models": models, "contracts": {"c": {"inputs": {}}}, "provenance": {}}
    text = json.dumps(doc, indent=indent)
    document, texts = snapshot_module._read_bundle(text.encode())
    assert document == json.loads(text)
    assert {name: json.loads(t) for name, t in texts["models"].items()} == models
    assert json.loads(texts["contracts"]["c"]) == {"inputs": {}}


def test_duplicate_names_keep_the_last_as_json_loads_does() -> None:
    text = ('{"format_version": 1, "contracts": {}, "provenance": {}, "models": {"m": {"kind": "a"}, '
            '"m": {"kind": "b"}}}')
    document, texts = snapshot_module._read_bundle(text.encode())
    assert document == json.loads(text)
    assert json.loads(texts["models"]["m"]) == {"kind": "b"}


def test_the_project_s_code_generating_models_are_all_prepared_lazily() -> None:
    """The project's formula models are a few KiB, far under the bound (a data table generates no code)."""
    doc = base_document()
    snap = build(compact(doc))
    generating = [name for name, model in snap.models.items() if hasattr(model, "prepare")]
    assert generating
    for name in generating:
        assert model_bytes(doc, name) < EAGER_PREPARE_BYTES / 2
        assert snap.model(name).source is None
