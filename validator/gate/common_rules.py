"""Rules every model kind shares: naming, the app contract, and input policies.

They are written once against what each kind declares (``inputs_used``, ``input_types``,
``outputs_emitted``), so a new kind gets contract conformance without writing a line of it.
"""
from __future__ import annotations

import re
from typing import Iterator

from validator.gate.findings import Severity
from validator.gate.rules import Problem, RuleContext, did_you_mean, rule
from validator.kinds.intervals import default_outside
from validator.kinds.schema_parts import NAME_PATTERN

# Output fields an app may leave undeclared (it then accepts any value): reason codes are informative.
OPTIONAL_OUTPUT_FIELDS = frozenset({"reasons"})


@rule("model.name-matches-file")
def name_matches_file(ctx: RuleContext) -> Iterator[Problem]:
    """A model's `name` equals its file name, so `weights/fraud_risk.yaml` is always the model apps call `fraud_risk`.

    Bad:
        # weights/fraud_risk.yaml
        name: fraud_risk_v2
    Good:
        # weights/fraud_risk.yaml
        name: fraud_risk
    """
    name = ctx.data.get("name")
    if name != ctx.file_stem:
        if re.match(NAME_PATTERN, ctx.file_stem):
            hint = f"rename the file to {name}.yaml or set name: {ctx.file_stem}"
        else:  # the file name itself is not a valid model name: only renaming the file helps
            hint = f"rename the file to {name}.yaml (names are lower_snake_case)"
        yield Problem(("name",), f"model name {name!r} differs from its file name {ctx.file_stem!r}", hint)


@rule("contract.exists")
def contract_exists(ctx: RuleContext) -> Iterator[Problem]:
    """The contract a model names exists in `config/contracts/`: without it nobody knows what the app sends.

    Bad:
        contract: chekout
    Good:
        contract: checkout   # config/contracts/checkout.yaml
    """
    name = ctx.data.get("contract")
    if name not in ctx.contract_names:
        yield Problem(("contract",), f"no contract {name!r} in config/contracts/",
                      did_you_mean(str(name), ctx.contract_names) or
                      f"known contracts: {', '.join(sorted(ctx.contract_names)) or 'none'}")


@rule("contract.model-listed")
def model_listed(ctx: RuleContext) -> Iterator[Problem]:
    """The model's contract lists it under `models:`, so the app's owners agreed to read it.

    Bad:
        # config/contracts/checkout.yaml
        models: [fraud_risk]
        # weights/refund_risk.yaml
        contract: checkout
    Good:
        # config/contracts/checkout.yaml
        models: [fraud_risk, refund_risk]
    """
    if ctx.contract is None:
        return
    name = ctx.data.get("name")
    if name not in ctx.contract.models:
        yield Problem(("contract",), f"contract {ctx.contract.name!r} does not list model {name!r}",
                      f"add {name} to models: in config/contracts/{ctx.contract.name}.yaml (its owners review that)")


@rule("contract.input-known")
def input_known(ctx: RuleContext) -> Iterator[Problem]:
    """A model reads only inputs its app sends: anything else would be missing on every request.

    Bad:
        terms:
          - {name: account_age, input: acount_age_days, type: numeric, weight: 0.4}
    Good:
        terms:
          - {name: account_age, input: account_age_days, type: numeric, weight: 0.4}
    """
    if ctx.contract is None:
        return
    sent = ctx.contract.inputs
    for name, path in ctx.kind.inputs_used(ctx.data).items():
        if name not in sent:
            yield Problem(path, f"input {name!r} is not sent by app {ctx.contract.app!r} (contract {ctx.contract.name!r})",
                          did_you_mean(name, sent) or f"add it to config/contracts/{ctx.contract.name}.yaml with the app's owners")


@rule("contract.input-type")
def input_type(ctx: RuleContext) -> Iterator[Problem]:
    """A model reads each input as the type the app sends: a boolean term on a number is a silent bug.

    Bad:
        # contract: country_mismatch: {type: boolean}
        terms:
          - {name: mismatch, input: country_mismatch, type: numeric, weight: 1.2}
    Good:
        terms:
          - {name: mismatch, input: country_mismatch, type: boolean, weight: 1.2}
    """
    if ctx.contract is None:
        return
    used = ctx.kind.inputs_used(ctx.data)
    for name, typ in ctx.kind.input_types(ctx.data).items():
        decl = ctx.contract.inputs.get(name)
        if decl is not None and not decl.accepts_type(typ):
            yield Problem(used.get(name, ()), f"input {name!r} is read as {typ} but the app sends {decl.type}",
                          "use a term type that matches the contract, or ask the app's owners to change the contract")


@rule("contract.output-accepted")
def output_accepted(ctx: RuleContext) -> Iterator[Problem]:
    """A model emits only outputs the app accepts (decision labels, variant ids, segments): anything else breaks the app.

    Bad:
        # contract outputs: fraud_risk: {decisions: [approve, review, decline]}
        bands:
          - {decision: approve, below: 0.3}
          - {decision: block}
    Good:
        bands:
          - {decision: approve, below: 0.3}
          - {decision: decline}
    """
    if ctx.contract is None:
        return
    name = ctx.data.get("name")
    accepted = ctx.contract.outputs.get(name, {}) if isinstance(name, str) else {}
    for field, values in ctx.kind.outputs_emitted(ctx.data).items():
        if field not in accepted:
            if field in OPTIONAL_OUTPUT_FIELDS or not values:
                continue
            first = next(iter(values.values()))
            yield Problem(first, f"contract {ctx.contract.name!r} declares no accepted {field} for model {name!r}",
                          f"add outputs: {name}: {field}: [...] to config/contracts/{ctx.contract.name}.yaml")
            continue
        for value, path in values.items():
            if value not in accepted[field]:
                yield Problem(path, f"{field[:-1] if field.endswith('s') else field} {value!r} is not accepted by app {ctx.contract.app!r}",
                              did_you_mean(value, accepted[field]) or f"accepted: {', '.join(sorted(accepted[field]))}")


@rule("model.input-policy")
def input_policy(ctx: RuleContext) -> Iterator[Problem]:
    """Input policies are complete and used: `missing: default` or `out_of_range: default` needs a `default` of the input's type.

    Bad:
        inputs:
          account_age_days: {missing: default}
    Good:
        inputs:
          account_age_days: {missing: default, default: 0}
    """
    used = ctx.kind.input_types(ctx.data)
    for name, policy in (ctx.data.get("inputs") or {}).items():
        path = ("inputs", name)
        if name not in used:
            yield Problem(path, f"policy for input {name!r}, which the model does not read", "remove it, or fix its name", at_key=True)
            continue
        wants_default = policy.get("missing") == "default" or policy.get("out_of_range") == "default"
        default = policy.get("default")
        if wants_default and default is None:
            yield Problem(path, f"input {name!r} falls back to a default but declares none", "add default: <value>")
        if default is not None and not _fits(default, used[name]):
            yield Problem(path + ("default",), f"default {default!r} is not a {used[name]} like input {name!r}",
                          "write a default of the input's type")
        if policy.get("out_of_range") and used[name] not in ("number", "integer"):
            yield Problem(path + ("out_of_range",), f"input {name!r} is {used[name]}: it has no range to be out of",
                          "remove out_of_range")


def _fits(value: object, typ: str) -> bool:
    if typ in ("number", "integer"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if typ == "boolean":
        return isinstance(value, bool)
    return isinstance(value, str)


@rule("contract.model-missing", kinds=["contract"])
def contract_model_missing(ctx: RuleContext) -> Iterator[Problem]:
    """Every model a contract lists exists in `weights/` and names this contract: the app would fail to find it.

    Bad:
        # config/contracts/checkout.yaml
        models: [fraud_risk, refund_risk]   # no weights/refund_risk.yaml
    Good:
        models: [fraud_risk]
    """
    models = ctx.extra.get("models", {})
    files = ctx.extra.get("model_files", frozenset())
    for i, name in enumerate(ctx.data.get("models") or []):
        if name not in models:
            if name in files:
                continue  # the file exists but does not load: its own findings say why
            yield Problem(("models", i), f"model {name!r} is listed but weights/{name}.yaml does not exist",
                          did_you_mean(name, models) or "add the model, or remove it from the list")
        elif models[name] is None:
            continue  # the model names no contract: schema.missing-key on the model says so
        elif models[name] != ctx.file_stem:
            yield Problem(("models", i), f"model {name!r} names contract {models[name]!r}, not {ctx.file_stem!r}",
                          "a model belongs to one contract: fix its contract: key or this list")


@rule("contract.range-ordered", kinds=["contract"])
def contract_range(ctx: RuleContext) -> Iterator[Problem]:
    """An input's `min` is below its `max`, and only numbers have a range and only categories have values.

    Bad:
        order_amount: {type: number, min: 50000, max: 0}
    Good:
        order_amount: {type: number, unit: EUR, min: 0, max: 50000}
    """
    for name, decl in (ctx.data.get("inputs") or {}).items():
        path = ("inputs", name)
        lo, hi = decl.get("min"), decl.get("max")
        if lo is not None and hi is not None and lo >= hi:
            yield Problem(path + ("min",), f"input {name!r} has min {lo} not below max {hi}", "swap them")
        if decl["type"] not in ("number", "integer") and (lo is not None or hi is not None):
            yield Problem(path, f"input {name!r} is {decl['type']}: min/max apply only to numbers", "remove min and max")
        if decl["type"] == "category" and not decl.get("values"):
            yield Problem(path, f"category input {name!r} lists no values", "add values: [...] with every value the app sends")
        if decl["type"] != "category" and decl.get("values"):
            yield Problem(path + ("values",), f"input {name!r} is {decl['type']}: only categories have values",
                          "set type: category, or remove values")


RULES = (
    name_matches_file,
    contract_exists,
    model_listed,
    input_known,
    input_type,
    output_accepted,
    input_policy,
    contract_model_missing,
    contract_range,
)

__all__ = ["RULES", "Severity"]


def defaults_outside_contract(ctx: RuleContext) -> Iterator[Problem]:
    """Inputs whose `default` the contract could never send: the body every kind's `<kind>.default-in-range` shares.

    Each kind keeps its own rule id and docstring (the example says what a wrong default does to that kind), and
    all read the input policies and the contract the same way, so the check lives once here.
    """
    if ctx.contract is None:
        return
    for name, policy in (ctx.data.get("inputs") or {}).items():
        if not isinstance(policy, dict) or "default" not in policy:
            continue
        why = default_outside(ctx.contract.inputs.get(name), policy["default"])
        if why:
            yield Problem(("inputs", name, "default"), f"default {policy['default']!r} of input {name!r} is {why}",
                          "use a value the app could send (the range is in the contract), or ask the app's "
                          "owners to widen the contract")
