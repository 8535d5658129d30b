"""The validation gate: load every contract and model from a source, then schema, rules and compile.

All files are loaded (a rule about model A may need contract B), but findings can be limited to the paths a
user named. A file that fails to load or to match its schema gets no semantic rules: they would only
repeat the same mistake in other words.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any, Iterable, Sequence

from validator.gate import schema_check
from validator.gate.findings import Finding, Severity, has_errors, sort_findings
from validator.gate.rule_registry import ALL_RULES, RuleContext
from validator.gate.rules import did_you_mean
from validator.gate.settings import SETTINGS_FILE, Settings, check_settings, load_settings
from validator.gate.sources import Source
from validator.gate.yamlload import Document, load_bytes
from validator.kinds import KINDS, ModelError
from validator.kinds.contract import Contract
from validator.kinds.contract_schema import CONTRACT_SCHEMA


@dataclass
class ValidationResult:
    findings: list[Finding]
    files: list[str]
    # name -> plain data of every model that passed the gate (what a bundle carries)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    model_paths: dict[str, str] = field(default_factory=dict)
    contracts: dict[str, Contract] = field(default_factory=dict)
    contract_data: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: dict[str, Document] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not has_errors(self.findings)

    @property
    def error_count(self) -> int:
        return sum(f.severity is Severity.ERROR for f in self.findings)

    @property
    def warning_count(self) -> int:
        return sum(f.severity is Severity.WARNING for f in self.findings)


def _position(document: Document, path: tuple, at_key: bool) -> tuple[int, int, int, int]:
    span = document.span(path, at_key=at_key)
    return span.line, span.col, span.end_line, span.end_col


def _run_rules(document: Document, kind_name: str, ctx: RuleContext) -> list[Finding]:
    out = []
    for rule in ALL_RULES:
        if not rule.applies_to(kind_name):
            continue
        for problem in rule.run(ctx):
            line, col, end_line, end_col = _position(document, problem.path, problem.at_key)
            out.append(Finding(document.path, line, col, rule.severity, rule.id, problem.message, problem.hint,
                               end_line, end_col))
    return out


_ATTACHMENTS: dict[str, bool] = {}


def _has_attachments(kind: Any) -> bool:
    """Whether a kind reads files beside its model files (an ``attachments`` room: ``resolve(source, document,
    contract) -> (document data with the files' content embedded, or None; findings)``). Asked once per kind."""
    if kind.name not in _ATTACHMENTS:
        _ATTACHMENTS[kind.name] = bool(kind.has_room("attachments"))
    return _ATTACHMENTS[kind.name]


def settings_from(source: Source) -> Settings:
    """The settings of ``source``; raises SettingsError (exit 2) when its config/weights.yaml has errors."""
    return load_settings(source.read(SETTINGS_FILE))


def _guardrail_defaults(source: Source) -> dict | None:
    """The revision's per-kind guardrail limits (config/guardrails.yaml, else the built-ins) for the rule that
    refuses a model loosening them; None when that file is broken (weights check reports it with its position)."""
    from validator.gate.guardrails import GUARDRAILS_FILE, GuardrailConfigError, parse_config

    try:
        return parse_config(source.read(GUARDRAILS_FILE)).defaults
    except GuardrailConfigError:
        return None


def validate(source: Source, settings: Settings | None = None, only: Sequence[str] | None = None) -> ValidationResult:
    """Validate the whole repository in ``source``; report findings for ``only`` (relative paths) if given.

    Without ``settings`` the settings file is read and checked like any other file: its findings are reported,
    and when it has errors nothing else is validated, since the folders and limits it sets are unknown.
    """
    findings: list[Finding] = []
    settings_files: list[str] = []
    if settings is None:
        checked = check_settings(source.read(SETTINGS_FILE))
        if checked.settings is None:
            return ValidationResult(findings=checked.findings, files=[SETTINGS_FILE])
        settings = checked.settings
        findings.extend(checked.findings)
        settings_files = [SETTINGS_FILE] if checked.present else []
    limits = settings.limits
    documents: dict[str, Document] = {}

    def load(path: str) -> Document | None:
        raw = source.read(path)
        if raw is None:
            return None
        document, problems = load_bytes(raw, path, max_bytes=limits.max_file_bytes, max_depth=limits.max_depth)
        findings.extend(problems)
        if document is None or problems:
            return None
        documents[path] = document
        return document

    # Contracts first: every model rule needs them.
    contract_docs: dict[str, Document] = {}
    contracts: dict[str, Contract] = {}
    contract_names: set[str] = set()
    contract_paths = source.list(settings.contracts_dir)
    model_paths_listed = source.list(settings.weights_dir)
    for path in contract_paths:
        name = PurePosixPath(path).stem
        contract_names.add(name)
        document = load(path)
        if document is None:
            continue
        problems = schema_check.check(document, CONTRACT_SCHEMA)
        findings.extend(problems)
        if problems:
            continue
        contract_docs[name] = document
        contracts[name] = Contract.from_dict(name, document.data)

    guardrail_defaults = _guardrail_defaults(source)

    # Models.
    owners: dict[str, str] = {}  # a data file with findings -> the model file it belongs to (for ``only``)
    model_docs: dict[str, tuple[Document, str]] = {}
    model_paths: dict[str, str] = {}
    model_contracts: dict[str, str | None] = {}  # None: the file names no contract (its own finding)
    seen_names: dict[str, str] = {}
    # Files present by name, loadable or not: a broken file has findings of its own and must not also be
    # reported as missing by the contracts that list it.
    model_files = frozenset(PurePosixPath(p).stem for p in model_paths_listed)
    for path in model_paths_listed:
        document = load(path)
        if document is None:
            continue
        data = document.data
        if not isinstance(data, dict):
            findings.append(_finding(document, (), False, "schema.type",
                                     "a model file is a mapping that starts with kind: and name:",
                                     "see weights/fraud_risk.yaml"))
            continue
        kind_name = data.get("kind")
        if kind_name not in KINDS:
            where = ("kind",) if "kind" in data else ()
            message = f"unknown model kind {kind_name!r}" if "kind" in data else "missing required key 'kind'"
            hint = did_you_mean(str(kind_name), KINDS) if "kind" in data else ""
            findings.append(_finding(document, where, False, "model.kind", message,
                                     hint or f"kinds: {', '.join(sorted(KINDS))}"))
            continue
        kind = KINDS[kind_name]
        if isinstance(data.get("name"), str):  # known even if the rest is broken: the contract rules need it
            model_contracts.setdefault(data["name"], data.get("contract"))
        problems = schema_check.check(document, kind.schema)
        findings.extend(problems)
        if problems:
            continue
        name = data["name"]
        if name in seen_names:
            findings.append(_finding(document, ("name",), False, "model.unique-names",
                                     f"model name {name!r} is also used by {seen_names[name]}",
                                     "model names are unique"))
            continue
        seen_names[name] = path
        contract = contracts.get(data["contract"])
        ctx = RuleContext(
            data=data,
            file_stem=PurePosixPath(path).stem,
            contract=contract,
            contract_names=frozenset(contract_names),
            kind=kind,
            extra={"analysis": settings.raw.get("analysis") or {},  # the repository's analysis defaults
                   "guardrail_defaults": guardrail_defaults},  # what a model's guardrails: may only tighten
        )
        rule_findings = _run_rules(document, kind_name, ctx)
        findings.extend(rule_findings)
        if has_errors(rule_findings):
            continue
        if _has_attachments(kind):  # a kind whose rows live in a file beside the YAML (e.g. a table)
            resolved, attached = kind.room("attachments").resolve(source, document, contract)
            findings.extend(attached)
            owners.update({f.path: path for f in attached})
            if resolved is None:
                continue
            data = resolved
            document = documents[path] = replace(document, data=resolved)
        try:
            kind.compile(data, contract)  # proves it evaluable; code generation is left to apps (see compile_model)
        except ModelError as exc:
            findings.append(_finding(document, (), False, "model.compile", str(exc),
                                     "fix the model so it can be evaluated"))
            continue
        model_docs[name] = (document, kind_name)
        model_paths[name] = path

    # Contract-level rules need the set of models.
    for name, document in contract_docs.items():
        ctx = RuleContext(data=document.data, file_stem=name, contract=contracts[name],
                          contract_names=frozenset(contract_names),
                          extra={"models": model_contracts, "model_files": model_files})
        findings.extend(_run_rules(document, "contract", ctx))

    files = [*settings_files, *contract_paths, *model_paths_listed]
    if only is not None:
        wanted = set(only)
        findings = [f for f in findings if f.path in wanted or owners.get(f.path) in wanted]
        files = [f for f in files if f in wanted]
    return ValidationResult(
        findings=sort_findings(findings),
        files=files,
        models={name: doc.data for name, (doc, _) in model_docs.items()},
        model_paths=model_paths,
        contracts=contracts,
        contract_data={name: doc.data for name, doc in contract_docs.items()},
        documents=documents,
    )


def _finding(document: Document, path: tuple, at_key: bool, rule: str, message: str, hint: str = "",
             severity: Severity = Severity.ERROR) -> Finding:
    line, col, end_line, end_col = _position(document, path, at_key)
    return Finding(document.path, line, col, severity, rule, message, hint, end_line, end_col)


def select_paths(all_files: Iterable[str], requested: Sequence[str]) -> list[str]:
    """The repository files a user's PATHS name (files or folders, relative to the repository root)."""
    files = list(all_files)
    chosen: list[str] = []
    for req in requested:
        req = str(PurePosixPath(req)).rstrip("/")
        for f in files:
            if f == req or req in (".", "") or f.startswith(req + "/"):
                if f not in chosen:
                    chosen.append(f)
    return chosen
