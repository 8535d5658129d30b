"""Golden cases: the analysts' own examples of what a model must answer, kept next to the weights.

A weight change is reviewed as numbers, but the reviewer's real question is "does the model still do what
we agreed?" - a gift-card order from a day-old account shipping abroad is declined, a lapsing detractor gets
a coupon. Each ``tests/golden/<model>.yaml`` names such cases with their inputs and the outcome they must
keep. ``weights test``, ``weights check`` and ``pytest`` (through the plugin this package registers) all run
them through this module, with the same evaluators the app runs, so a case that passes here passes in
production.

Case files are loaded with positions (``validator.gate.yamlload``) and checked against a schema and against the
model they name (an expected decision the model cannot emit is a typo, caught before anything runs), so a
broken case file and a failing case both read like findings: ``file:line:col``, expected vs got.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Callable, Iterable, Mapping, Sequence

from validator.gate import schema_check
from validator.gate.findings import Finding, Severity, has_errors, sort_findings
from validator.gate.rules import did_you_mean
from validator.gate.settings import Settings
from validator.gate.sources import Source
from validator.gate.validate import ValidationResult
from validator.gate.yamlload import Document, load_bytes
from validator.kinds import KINDS, InputError, compile_model
from validator.kinds.contract import Contract
from validator.kinds.schema_parts import NAME_PATTERN, SCHEMA_DIALECT, array, number, obj, prop, string

DEFAULT_GOLDEN_DIR = "tests/golden"
HINT = ("the model's answer differs from the case: if the change is intended, update the expectation "
        "in the case (the reviewer sees both); otherwise revisit the weights")


@dataclass(frozen=True)
class Mismatch:
    """One problem a kind's runner finds in a case: before running (``check``) or in an answer (``compare``).

    ``where`` is the path inside the case (("expect", "decision"), ("items",)); the gate turns it into a
    positioned finding of the case file. ``rule`` is the finding's id: ``golden.<expectation key>`` for an
    answer that differs, ``golden.expectation-unknown`` / ``golden.range-order`` / ... for a case that cannot
    be right whatever the weights.
    """

    where: tuple
    rule: str
    message: str
    hint: str = HINT
    at_key: bool = False  # point at the key itself rather than its value


@dataclass(frozen=True)
class GoldenRunner:
    """How one kind runs golden cases: its kind folder's ``golden.py`` defines ``RUNNER = GoldenRunner(...)``.

    A case file (``tests/golden/<model>.yaml``) holds cases ``{name, description?, <request keys>, expect}``.
    The gate owns the file: loading with positions, the schema, unique names, the model lookup, turning
    ``Mismatch`` values into findings, and the ``rejected`` expectation. The runner owns what the kind means:

    - ``expectations``: the keys a case of this kind may write under ``expect:``, each with its JSON-schema
      fragment (title without the kind; the published ``golden.schema.json`` appends the kinds that use a key).
      Include ``"rejected": REJECTED`` when a request can be refused by the model's input policy; the gate then
      checks that ``run`` raised ``InputError`` for that input.
    - ``request``: the keys besides ``name``/``description``/``expect`` that make up the request (``inputs``,
      ``items``, ``seed`` ...), with their fragments. A key several kinds use must have the same fragment
      (reuse ``INPUTS``); a key of another kind in a case is refused with ``hint``.
    - ``required``: the request keys every case must give.
    - ``hint``: one line saying how a case of this kind asks, e.g. "a scorecard case gives inputs: {...}".
    - ``run(evaluator, case_data) -> observed``: evaluate the case's request with the compiled scalar evaluator
      (``validator.kinds.compile_model``) and return what it answered, keyed like the expectations
      ({"decision": "review", "score": 0.61, ...}); reports show it. Raise (let through) ``InputError`` when the
      model refuses the request.
    - ``compare(expect, observed) -> Mismatch...``: every expectation of ``expect`` the answer breaks, with
      rule ``golden.<key>`` and a message "expected X, got Y". Never raises.
    - ``check(model, case_data) -> Mismatch...`` (optional): problems visible before running, against the model
      document: an expected value the model cannot emit (``known_value`` with ``kind.outputs_emitted``), min
      above max (``range_order``), ids that name no item.
    - ``inputs_key`` (optional): the request key that maps input names to values; the gate refuses names the
      model does not read (with a did-you-mean) and points an ``InputError`` at the offending value.
    - ``describe(observed) -> str`` (optional): a short account of an answer appended to failure messages,
      e.g. " (score 0.61, decision 'review', reasons none)".
    """

    expectations: Mapping[str, Mapping[str, Any]]
    request: Mapping[str, Mapping[str, Any]]
    required: tuple[str, ...]
    hint: str
    run: Callable[[Any, Mapping[str, Any]], dict[str, Any]]
    compare: Callable[[Mapping[str, Any], Mapping[str, Any]], Iterable[Mismatch]]
    check: Callable[[Mapping[str, Any], Mapping[str, Any]], Iterable[Mismatch]] | None = None
    inputs_key: str | None = None
    describe: Callable[[Mapping[str, Any]], str] = field(default=lambda observed: "")


def golden_dir(settings: Settings) -> str:
    """Where case files live: ``golden_dir`` in config/weights.yaml, else tests/golden."""
    return str(settings.raw.get("golden_dir", DEFAULT_GOLDEN_DIR))


# --------------------------------------------------------------------------------------------------- schema

_RANGE = obj(
    "Range",
    "Inclusive bounds the value must lie within; give min, max or both.",
    {
        "min": number("Minimum", "The smallest value that passes (inclusive)."),
        "max": number("Maximum", "The largest value that passes (inclusive)."),
    },
    minProperties=1,
)
# Fragments and helpers a kind's runner builds on (see GoldenRunner).
RANGE = _RANGE
INPUTS = prop("Inputs", "The request the app sends: input name -> value.", type="object")
REJECTED = string("Rejected input",
                  "The inputs must be refused with an input error naming this input (missing, wrong "
                  "type or out of range under the model's input policy).")


def fmt(x: Any) -> str:
    """A value in a message: floats to 4 significant digits, the rest as repr."""
    return f"{x:.4g}" if isinstance(x, float) else repr(x)


def in_range(value: float, bounds: Mapping[str, float]) -> bool:
    """Whether ``value`` lies within a ``RANGE`` expectation (inclusive)."""
    return bounds.get("min", -math.inf) <= value <= bounds.get("max", math.inf)


def range_text(bounds: Mapping[str, float]) -> str:
    """A ``RANGE`` expectation in words: "between 0.2 and 0.4", ">= 0.2"."""
    if "min" in bounds and "max" in bounds:
        return f"between {fmt(bounds['min'])} and {fmt(bounds['max'])}"
    return f">= {fmt(bounds['min'])}" if "min" in bounds else f"<= {fmt(bounds['max'])}"


def known_value(where: tuple, value: str, options: Mapping[str, Any], what: str,
                at_key: bool = False) -> list[Mismatch]:
    """An expected ``value`` the model cannot emit (``options``: one field of ``kind.outputs_emitted``)."""
    if value in options:
        return []
    hint = did_you_mean(value, options) or (f"the model's {what}: {', '.join(options)}" if options
                                            else f"the model has no {what}")
    return [Mismatch(where, "golden.expectation-unknown", f"the model cannot emit {value!r} ({what})", hint, at_key)]


def range_order(where: tuple, bounds: Any) -> list[Mismatch]:
    """A ``RANGE`` expectation whose min is above its max."""
    if isinstance(bounds, dict) and "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
        return [Mismatch(where, "golden.range-order", f"min {bounds['min']} is above max {bounds['max']}", "swap them")]
    return []


_CASE_KEYS = {
    "name": string("Case name", "A sentence that says what must hold, e.g. 'gift card from a day-old "
                                "account shipping abroad is declined'.", minLength=1),
    "description": string("Description", "Why this case matters (who asked for it, which incident)."),
}


def runner_of(kind: str) -> GoldenRunner:
    """The golden-case runner of a registered kind (its folder's ``golden.py``)."""
    return KINDS[kind].room("golden").RUNNER


def _merged(part: str) -> dict[str, dict[str, Any]]:
    """Every registered kind's ``expectations`` or ``request`` keys, in registry order, each titled with the
    kinds that use it. A key two kinds share must mean the same: its fragment (title aside) must be equal."""
    merged: dict[str, dict[str, Any]] = {}
    users: dict[str, list[str]] = {}
    for name in KINDS:
        for key, fragment in getattr(runner_of(name), part).items():
            if key in merged and dict(fragment) != merged[key]:
                raise ValueError(f"golden case key {key!r} means different things to the {users[key][0]} and {name} "
                                 "kinds: share one fragment (validator.gate.golden.INPUTS, REJECTED, RANGE) or "
                                 "rename the key")
            merged.setdefault(key, dict(fragment))
            users.setdefault(key, []).append(name)
    return {key: {**fragment, "title": f"{fragment['title']} ({', '.join(users[key])})"}
            for key, fragment in merged.items()}


def request_keys() -> tuple[str, ...]:
    """Every key any registered kind's cases may use to make a request."""
    return tuple(key for name in KINDS for key in runner_of(name).request)


def golden_schema() -> dict[str, Any]:
    """The JSON Schema of case files (config/schemas/golden.schema.json), from the registered kinds' runners."""
    expect = obj(
        "Expected outcome",
        "What the model must answer for this case. Only the expectations written here are checked; which ones "
        "apply depends on the model's kind.",
        _merged("expectations"),
        minProperties=1,
    )
    case = obj(
        "Golden case",
        "One named example: inputs and the outcome the model must keep.",
        {**_CASE_KEYS, **_merged("request"), "expect": expect},
        required=["name", "expect"],
    )
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "Golden cases",
        "description": "Named cases one model must pass (tests/golden/<model>.yaml).",
        "type": "object",
        "properties": {
            "model": string("Model", "The model these cases test; the file is named after it.", pattern=NAME_PATTERN),
            "description": string("Description", "What these cases protect."),
            "cases": array("Cases", "The named cases.", case, minItems=1),
        },
        "required": ["model", "cases"],
        "additionalProperties": False,
    }


# --------------------------------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Case:
    """One case of a case file, with the document it came from (for positions)."""

    file: str
    model: str
    index: int
    name: str
    data: Mapping[str, Any]
    document: Document = field(repr=False, compare=False)

    @property
    def path(self) -> tuple:
        return ("cases", self.index)

    @property
    def line(self) -> int:
        return self.document.span(self.path).line

    def finding(self, where: tuple, rule: str, message: str, hint: str = HINT, at_key: bool = False,
                severity: Severity = Severity.ERROR) -> Finding:
        span = self.document.span(self.path + where, at_key=at_key)
        return Finding(self.file, span.line, span.col, severity, rule, f"case {self.name!r}: {message}", hint,
                       span.end_line, span.end_col)


@dataclass(frozen=True)
class CaseFile:
    path: str
    model: str
    document: Document = field(repr=False)
    cases: tuple[Case, ...]


@dataclass(frozen=True)
class CaseOutcome:
    case: Case
    failures: tuple[Finding, ...]
    got: Mapping[str, Any]  # what the model answered, for reports: {"decision": "review", "score": 0.61, ...}

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class GoldenResult:
    """Every case file's load problems and every case's outcome."""

    files: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # file problems and failed expectations
    outcomes: list[CaseOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not has_errors(self.findings)

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def failed(self) -> int:
        return sum(not o.passed for o in self.outcomes)


class GoldenCaseFailed(Exception):
    """Raised by the pytest plugin's items: the case's findings, rendered like validate's."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = list(findings)
        super().__init__("\n".join(f.render() for f in self.findings))


# ---------------------------------------------------------------------------------------------------- load


def parse_file(raw: bytes, path: str) -> tuple[CaseFile | None, list[Finding]]:
    """A case file from its bytes: YAML with positions, then the schema, then unique case names."""
    document, findings = load_bytes(raw, path)
    if document is None or has_errors(findings):
        return None, findings
    findings = findings + schema_check.check(document, golden_schema())
    if has_errors(findings):
        return None, findings
    data = document.data
    stem = PurePosixPath(path).stem
    if data["model"] != stem:
        span = document.span(("model",))
        findings.append(Finding(path, span.line, span.col, Severity.ERROR, "golden.model-matches-file",
                                f"the file {path} holds cases for {data['model']!r}; name it after the model",
                                f"rename it to {PurePosixPath(path).with_name(data['model'] + '.yaml')} "
                                f"or set model: {stem}", span.end_line, span.end_col))
        return None, findings
    seen: dict[str, int] = {}
    cases = []
    for index, case in enumerate(data["cases"]):
        name = case["name"]
        if name in seen:
            span = document.span(("cases", index, "name"))
            first = document.span(("cases", seen[name], "name")).line
            findings.append(Finding(path, span.line, span.col, Severity.ERROR, "golden.unique-names",
                                    f"case name {name!r} is also used at line {first}",
                                    "name each case after what it protects, so a failure says which promise broke",
                                    span.end_line, span.end_col))
            continue
        seen[name] = index
        cases.append(Case(path, data["model"], index, name, case, document))
    return CaseFile(path, data["model"], document, tuple(cases)), findings


def check_against_model(case_file: CaseFile, data: Mapping[str, Any] | None, known: Iterable[str]) -> list[Finding]:
    """Problems a case has before it runs: the model is unknown, an expectation or request key does not fit its
    kind, an input it does not read, and what the kind's runner checks against the model (an expected decision,
    segment, reason or arm it cannot emit: a typo would otherwise be a failure no weight change can fix)."""
    document = case_file.document
    if data is None:
        span = document.span(("model",))
        hint = did_you_mean(case_file.model, known) or f"models: {', '.join(sorted(known))}"
        return [Finding(case_file.path, span.line, span.col, Severity.ERROR, "golden.model-unknown",
                        f"no model {case_file.model!r} in the weights", hint, span.end_line, span.end_col)]
    kind_name = str(data["kind"])
    kind = KINDS[kind_name]
    runner = runner_of(kind_name)
    allowed = runner.expectations
    foreign = [key for key in dict.fromkeys(request_keys()) if key not in runner.request]
    problems: list[Finding] = []
    for case in case_file.cases:
        for key in case.data["expect"]:
            if key not in allowed:
                problems.append(case.finding(("expect", key), "golden.expectation-kind",
                                             f"{key!r} does not apply to a {kind_name} model",
                                             f"{kind_name} cases expect: {', '.join(sorted(allowed))}", at_key=True))
        for key in foreign:
            if key in case.data:
                problems.append(case.finding((key,), "golden.request-kind", f"{key!r} does not apply to a "
                                             f"{kind_name} model", runner.hint, at_key=True))
        inputs = case.data.get(runner.inputs_key) if runner.inputs_key else None
        if isinstance(inputs, Mapping):
            used = kind.inputs_used(data)
            for name in inputs:
                if name not in used:
                    problems.append(case.finding((runner.inputs_key, name), "golden.input-unknown",
                                                 f"model {case_file.model!r} reads no input {name!r}",
                                                 did_you_mean(name, used) or f"it reads: {', '.join(sorted(used))}",
                                                 at_key=True))
        for key in runner.required:
            if key not in case.data:
                problems.append(case.finding((), "golden.request-missing", f"a {kind_name} case needs {key!r}",
                                             runner.hint))
        if runner.check is not None:
            problems.extend(_finding(case, m) for m in runner.check(data, case.data))
    return problems


def _finding(case: Case, mismatch: Mismatch) -> Finding:
    return case.finding(mismatch.where, mismatch.rule, mismatch.message, mismatch.hint, at_key=mismatch.at_key)


def load_case_files(source: Source, settings: Settings) -> tuple[list[CaseFile], list[str], list[Finding]]:
    """Every case file of the repository (parsed and schema-checked), the files seen, and their problems."""
    files = source.list(golden_dir(settings))
    parsed: list[CaseFile] = []
    findings: list[Finding] = []
    for path in files:
        raw = source.read(path)
        if raw is None:  # pragma: no cover - listed a moment ago
            continue
        case_file, problems = parse_file(raw, path)
        findings.extend(problems)
        if case_file is not None:
            parsed.append(case_file)
    return parsed, files, findings


# ----------------------------------------------------------------------------------------------------- run


def run_case(case: Case, evaluator: Any) -> CaseOutcome:
    """Evaluate one case with the compiled model and compare every expectation; never raises for a bad answer."""
    expect = case.data["expect"]
    runner = runner_of(evaluator.kind)
    try:
        got = runner.run(evaluator, case.data)
    except InputError as exc:
        got = {"rejected": exc.input_name, "error": str(exc)}
        if "rejected" in expect:
            if exc.input_name == expect["rejected"]:
                return CaseOutcome(case, (), got)
            return CaseOutcome(case, (case.finding(("expect", "rejected"), "golden.rejected",
                                                   f"expected input {expect['rejected']!r} to be refused, "
                                                   f"got: {exc}"),), got)
        where: tuple = next(((key,) for key in runner.request if key in case.data), ())
        inputs = case.data.get(runner.inputs_key) if runner.inputs_key else None
        if isinstance(inputs, Mapping) and exc.input_name in inputs:
            where = (runner.inputs_key, exc.input_name)  # point at the offending value, not the block
        return CaseOutcome(case, (case.finding(where,
                                               "golden.input-error", f"the model refused the inputs: {exc}",
                                               "fix the case's inputs, or expect `rejected: <input>` if the "
                                               "model must refuse them"),), got)
    failures: list[Finding] = []
    if "rejected" in expect:
        failures.append(case.finding(("expect", "rejected"), "golden.rejected",
                                     f"expected input {expect['rejected']!r} to be refused, but the model "
                                     f"answered{runner.describe(got)}"))
    failures.extend(_finding(case, m) for m in runner.compare(expect, got))
    return CaseOutcome(case, tuple(failures), got)


class ModelPool:
    """Compiled evaluators of one validated repository, built on first use (a case file may name one model)."""

    def __init__(self, models: Mapping[str, Mapping[str, Any]], contracts: Mapping[str, Contract]) -> None:
        self.models = models
        self.contracts = contracts
        self._compiled: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        if name not in self._compiled:
            data = self.models[name]
            self._compiled[name] = compile_model(data, self.contracts.get(data["contract"]))
        return self._compiled[name]


def not_runnable(case_file: CaseFile, validation: ValidationResult, known: Iterable[str]) -> list[Finding]:
    """Why the cases of ``case_file`` cannot run: model unknown, model fails validation, or case problems."""
    name = case_file.model
    if name not in validation.models:
        model_path = next((p for p in known if PurePosixPath(p).stem == name), None)
        if model_path is not None:  # the file exists but does not pass the gate
            span = case_file.document.span(("model",))
            return [Finding(case_file.path, span.line, span.col, Severity.ERROR, "golden.model-invalid",
                            f"{len(case_file.cases)} case(s) not run: {model_path} does not pass validation",
                            "fix the findings of weights validate first", span.end_line, span.end_col)]
        stems = [PurePosixPath(p).stem for p in known]
        return check_against_model(case_file, None, stems)
    return check_against_model(case_file, validation.models[name], validation.models)


def run(source: Source, settings: Settings, validation: ValidationResult,
        models: Sequence[str] | None = None) -> GoldenResult:
    """Run the case files of ``source`` against its validated models (``models``: only those)."""
    case_files, files, findings = load_case_files(source, settings)
    result = GoldenResult(files=files, findings=list(findings))
    pool = ModelPool(validation.models, validation.contracts)
    model_files = source.list(settings.weights_dir)
    for case_file in case_files:
        if models is not None and case_file.model not in models:
            continue
        problems = not_runnable(case_file, validation, model_files)
        result.findings.extend(problems)
        if has_errors(problems):
            continue
        evaluator = pool.get(case_file.model)
        for case in case_file.cases:
            outcome = run_case(case, evaluator)
            result.outcomes.append(outcome)
            result.findings.extend(outcome.failures)
    if models is not None:
        result.files = [f for f in files if PurePosixPath(f).stem in models]
        result.findings = [f for f in result.findings if PurePosixPath(f.path).stem in models]
    result.findings = sort_findings(result.findings)
    return result
