"""The pure core of a reload (no IO): parse, contract check, compile, stamp. Each refusal names its reason."""
from __future__ import annotations

import json

import pytest
from runtime_helpers import ORDER, app_contracts, base_document, document

from validator.kinds.contract import Contract
from validator.runtime import BundleRefused, build_snapshot, parse_bundle
from validator.runtime.snapshot import contract_problems


def build(doc, contracts=()):
    data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return build_snapshot(data, version="3", sha256="s", source="network", loaded_at=0.0, contracts=contracts)


def test_every_model_is_compiled_and_stamped():
    snap = build(base_document(), app_contracts())
    assert sorted(snap.models) == sorted(base_document()["models"])
    assert all(m.version == "3" for m in snap.models.values())
    assert snap.model("fraud_risk").score(ORDER).version == "3"
    assert snap.describe()["commit"] == base_document()["provenance"]["commit"]
    with pytest.raises(TypeError):
        snap.models["x"] = None  # read-only


@pytest.mark.parametrize("data,match", [
    (b"\xff", "not JSON"),
    (b"[1]", "not a JSON object"),
    (b'{"format_version": 2}', "format_version 2"),
    (b'{"format_version": 1, "models": {}, "contracts": {}}', "'provenance'"),
    (b'{"format_version": 1, "models": {"m": 1}, "contracts": {}, "provenance": {}}', "not a model document"),
    (b'{"format_version": 1, "models": {}, "contracts": {}, "provenance": {}, "x": NaN}', "not JSON"),
])
def test_malformed_bundles_are_refused_as_format(data, match):
    with pytest.raises(BundleRefused, match=match) as info:
        parse_bundle(data)
    assert info.value.reason == "format"


def test_contract_problems_name_what_breaks():
    doc = document(1)
    assert contract_problems(app_contracts(), doc) == []
    del doc["contracts"]["search"]
    doc["models"]["fraud_risk"]["bands"][0]["decision"] = "wave_through"
    problems = contract_problems(app_contracts(), doc)
    assert "the bundle has no contract 'search'" in problems
    assert any("wave_through" in p for p in problems)
    with pytest.raises(BundleRefused, match="breaks the app's contract") as info:
        build(doc, app_contracts())
    assert info.value.reason == "contract"


def test_a_model_the_app_reads_must_be_there():
    doc = document(1)
    del doc["models"]["homepage_hero"]
    mine = Contract.from_dict("storefront", doc["contracts"]["storefront"])
    assert contract_problems([mine], doc) == ["contract 'storefront': model 'homepage_hero' is missing from the bundle"]


def test_no_contract_means_no_contract_check():
    doc = document(1)
    doc["models"]["fraud_risk"]["bands"][0]["decision"] = "wave_through"
    assert build(doc).model("fraud_risk").score(ORDER).decision == "wave_through"


def test_a_model_that_does_not_compile_is_refused():
    doc = document(1)
    doc["models"]["fraud_risk"]["kind"] = "neural_net"
    with pytest.raises(BundleRefused, match="neural_net") as info:
        build(doc)
    assert info.value.reason == "compile"


def test_unchanged_models_are_reused_not_recompiled_and_stamped_anew():
    first = build(document(1))
    first.model("churn_coupon").prepare()  # request-path code is generated on first use (test_runtime_lazy)
    first.model("fraud_risk").prepare()
    doc = document(2)  # only fraud_risk's intercept differs
    data = json.dumps(doc).encode()
    second = build_snapshot(data, version="4", sha256="t", source="network", loaded_at=0.0, previous=first)
    second.model("fraud_risk").prepare()
    assert second.models["churn_coupon"] is not first.models["churn_coupon"]
    assert second.models["churn_coupon"].source is first.models["churn_coupon"].source  # same generated code
    assert second.models["fraud_risk"].source is not first.models["fraud_risk"].source  # recompiled
    assert {m.version for m in second.models.values()} == {"4"}
    assert {m.version for m in first.models.values()} == {"3"}  # the old snapshot is untouched
    assert second.model("churn_coupon").score({"days_since_last_order": 40, "orders_12m": 3,
                                               "support_tickets_90d": 0, "subscription_plan": "none",
                                               "discount_share": 0.1}).version == "4"
