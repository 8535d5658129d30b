"""Rules on a model's own ``guardrails:``: a model file may tighten the repository's limits, never loosen them.

The repository defaults (``config/guardrails.yaml``) are owned by the model-risk reviewers (.github/CODEOWNERS);
a model file is owned by the analysts who change its weights. If the same change could raise its own limit, the
guardrail would stop nothing, so a looser model-level value is an error: loosen the default in
config/guardrails.yaml (reviewed by model risk) or keep the limit and record the reviewed breach as an
``accept:`` entry. ``validate`` hands the rules the defaults of the revision it reads as
``ctx.extra["guardrail_defaults"]`` (absent when that file is broken: ``weights check`` reports it).
"""
from __future__ import annotations

from collections.abc import Iterator

from validator.gate.findings import Severity
from validator.gate.guardrails import GUARDRAILS_FILE, kind_guardrails
from validator.gate.rules import Problem, RuleContext, rule


@rule("guardrails.loosened", Severity.ERROR)
def loosened(ctx: RuleContext) -> Iterator[Problem]:
    """A model's `guardrails:` may only tighten the repository default of config/guardrails.yaml (a smaller max, a larger min, never null): the analysts who change the weights must not widen the limits the same change is judged by.

    Bad:
        guardrails:
          max_decision_flip_rate: 0.2
    Good:
        guardrails:
          max_decision_flip_rate: 0.01
    """
    defaults = ctx.extra.get("guardrail_defaults")
    overrides = ctx.data.get("guardrails")
    if not isinstance(defaults, dict) or not isinstance(overrides, dict) or ctx.kind is None:
        return
    repository = defaults.get(ctx.kind.name) or {}
    specs = kind_guardrails(ctx.kind.name)
    for name, limit in overrides.items():
        spec, default = specs.get(name), repository.get(name)
        if spec is None or default is None:
            continue  # an unknown name is the schema's; no repository limit: nothing to loosen
        if limit is not None and not spec.looser(float(limit), float(default)):
            continue
        shown = "null (switched off)" if limit is None else spec.show(float(limit))
        yield Problem(("guardrails", name),
                      f"guardrails.{name}: {shown} is looser than the repository limit {spec.show(float(default))} "
                      f"({spec.bound} {spec.show(float(default))} in {GUARDRAILS_FILE}); a model file may only tighten it",
                      f"change {GUARDRAILS_FILE} (owned by the model-risk owners in .github/CODEOWNERS), or keep the "
                      f"limit and add a reviewed accept: [{{guardrail: {name}, up_to: <value>, reason: <why>}}]")


RULES = (loosened,)

__all__ = ["RULES"]
