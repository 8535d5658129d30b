"""``weights check``: the pull-request gate. Validate, run the golden cases, diff and replay, base vs head.

Both revisions are read through ``validator.gate.sources`` (git objects for a revision, the files for the work
tree), so the analyst's checkout, index and uncommitted edits are never touched. The base defaults to the
merge base of HEAD with ``main`` (else ``origin/main``): what the branch started from, so changes that
landed on main since are not blamed on the pull request.

Only models whose file or contract changed are replayed (``--all``: every model). Replay datasets are read
from the work tree for both sides: sample data is not versioned per revision, so a replay compares two
versions of the weights on the same rows, which is the question a reviewer asks.

The result is a value (``CheckResult``); renderers in ``validator.report`` turn it into text, JSON,
Markdown, GitHub annotations or HTML, and ``exit_code`` is the one place that decides pass or fail.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Callable, Sequence

from validator.gate import golden
from validator.gate.diff import DocumentDiff, RepoDiff, Side, diff_sides
from validator.gate.findings import Finding, Severity, sort_findings
from validator.gate.governance import budget_breaches, budget_findings, guardrail_changes, scale_findings
from validator.gate.guardrails import GUARDRAILS_FILE, parse_config
from validator.gate.settings import Settings
from validator.gate.sources import GitRevision, Source, SourceError, WorkTree
from validator.gate.validate import ValidationResult, settings_from, validate

if TYPE_CHECKING:  # pragma: no cover
    from validator.gate.governance import BudgetBreach, GuardrailChange
    from validator.gate.replay import Impact

EXIT_OK, EXIT_FAILED = 0, 1
BASE_CANDIDATES = ("main", "origin/main")


def resolve_base(root: Path) -> tuple[str, str]:
    """The merge base of HEAD with main (else origin/main): (commit id, the ref used); SourceError if none."""
    import git

    try:
        repo = git.Repo(root, search_parent_directories=False)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise SourceError(f"{root} is not a git repository: weights check compares against a git revision "
                          "(pass --base REV inside a git checkout)") from None
    try:
        head = repo.commit("HEAD")
    except (git.BadName, ValueError):
        raise SourceError("the repository has no commits yet: commit the weights, or pass --base REV") from None
    tried = []
    for ref in BASE_CANDIDATES:
        try:
            other = repo.commit(ref)
        except (git.BadName, ValueError):
            tried.append(ref)
            continue
        bases = repo.merge_base(head, other)
        if bases:
            return bases[0].hexsha, ref
        raise SourceError(f"HEAD and {ref} share no history (a shallow clone?): fetch the full history "
                          "(actions/checkout with fetch-depth: 0) or pass --base REV")
    raise SourceError(f"no base revision: neither {' nor '.join(repr(r) for r in tried)} exists in this repository; "
                      "pass --base REV (e.g. --base origin/master)")


@dataclass(frozen=True)
class Revision:
    """One side of the comparison, loaded and validated."""

    label: str
    rev: str | None  # None: the work tree
    source: Source
    settings: Settings
    validation: ValidationResult
    side: Side


def load_revision(root: Path, rev: str | None) -> Revision:
    source: Source = WorkTree(root) if rev is None else GitRevision(root, rev)
    settings = settings_from(source)
    validation = validate(source, settings)
    paths = [*source.list(settings.weights_dir), *source.list(settings.contracts_dir)]
    raw = {p: source.read(p) for p in paths}
    return Revision(source.label, rev, source, settings, validation, Side(source.label, raw, validation.documents))


@dataclass
class ModelCheck:
    """One model in the report: its diff, and its replay when it was replayed."""

    name: str
    kind: str | None
    path: str
    diff: DocumentDiff | None
    impact: "Impact | None" = None
    problem: Finding | None = None  # the replay could not run
    invalid: bool = False  # the head file fails validation, so it was not replayed

    @property
    def status(self) -> str:
        return self.diff.status if self.diff is not None else "unchanged"

    @property
    def passed(self) -> bool:
        return not self.invalid and self.problem is None and (self.impact is None or self.impact.passed)


@dataclass
class CheckResult:
    root: Path
    base: Revision
    head: Revision
    golden: golden.GoldenResult
    diff: RepoDiff
    models: list[ModelCheck] = field(default_factory=list)
    replay_all: bool = False
    # validator.gate.governance: limits moved by the change, parameters over budget, contract ranges rescaled.
    guardrail_changes: list["GuardrailChange"] = field(default_factory=list)
    budget_breaches: list["BudgetBreach"] = field(default_factory=list)
    scale_findings: list[Finding] = field(default_factory=list)

    @property
    def validation(self) -> ValidationResult:
        return self.head.validation

    @property
    def guardrail_findings(self) -> list[Finding]:
        """Breached guardrails as findings on the model's first changed line (accepted ones as warnings)."""
        out = []
        for model in self.models:
            if model.impact is None:
                continue
            for g in model.impact.guardrails:
                if not g.breached:
                    continue
                path, line, col = self.anchor(model)
                if g.accepted:
                    out.append(Finding(path, line, col, Severity.WARNING, f"guardrail.{g.name}",
                                       f"{model.name}: {g.message}: breached, accepted: {g.reason or 'no reason given'}",
                                       "the accept: entry in the model file records the review of this change"))
                else:
                    out.append(Finding(path, line, col, Severity.ERROR, f"guardrail.{g.name}",
                                       f"{model.name}: {g.message}: BREACHED",
                                       f"if the change is intended, add to {model.path}: accept: [{{guardrail: "
                                       f"{g.name}, up_to: <the value you accept>, reason: <why>}}]; the "
                                       "review of that line is the acknowledgement"))
        return out

    @property
    def unmeasured_findings(self) -> list[Finding]:
        """A changed model that declares no replay data passes no guardrail either: say so, as a warning."""
        out = []
        for model in self.models:
            impact = model.impact
            if impact is None or model.status == "unchanged" or impact.rows or impact.guardrails:
                continue
            path, line, col = self.anchor(model)
            out.append(Finding(path, line, col, Severity.WARNING, "simulate.no-data",
                               f"{model.name}: no replay data, so the impact of this change is not measured and "
                               "no guardrail applies",
                               "declare replay: {dataset: tests/data/<file>.parquet} in the model (tests/data/"
                               "generate.py shows how the sample data is made)"))
        return out

    @property
    def findings(self) -> list[Finding]:
        """Everything positioned: head validation, golden cases, replay problems and guardrails."""
        replay = [m.problem for m in self.models if m.problem is not None]
        return sort_findings([*self.validation.findings, *self.golden.findings, *replay, *self.guardrail_findings,
                              *self.unmeasured_findings, *budget_findings(self.budget_breaches),
                              *self.scale_findings])

    def anchor(self, model: ModelCheck) -> tuple[str, int, int]:
        """Where a model's verdict belongs in the pull request: its first changed line, else its first line."""
        if model.diff is not None:
            for change in model.diff.changes:
                if change.line is not None and change.op != "removed":
                    return model.path, change.line, change.col or 1
        return model.path, 1, 1

    @property
    def failed_gates(self) -> list[str]:
        gates = []
        if not self.validation.ok:
            gates.append("validate")
        if not self.golden.ok:
            gates.append("golden cases")
        if any(m.problem is not None for m in self.models):
            gates.append("replay")
        if any(m.impact is not None and not m.impact.passed for m in self.models):
            gates.append("guardrails")
        if any(not b.accepted for b in self.budget_breaches):
            gates.append("change budgets")
        return gates

    @property
    def passed(self) -> bool:
        return not self.failed_gates

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.passed else EXIT_FAILED


def compare(root: Path, base_rev: str | None, head_rev: str | None) -> tuple[Revision, Revision, RepoDiff]:
    """Load base and head and diff them (``weights diff``; the first half of ``weights check``)."""
    ref = ""
    if base_rev is None:
        base_commit, ref = resolve_base(root)
        base = load_revision(root, base_commit)
    else:
        base = load_revision(root, base_rev)
    head = load_revision(root, head_rev)
    model_paths = [p for p in (*base.side.raw, *head.side.raw)
                   if PurePosixPath(p).parent.as_posix() in (base.settings.weights_dir, head.settings.weights_dir)]
    contract_paths = [p for p in (*base.side.raw, *head.side.raw)
                      if PurePosixPath(p).parent.as_posix() in (base.settings.contracts_dir, head.settings.contracts_dir)]
    repo_diff = diff_sides(base.side, head.side, model_paths, contract_paths)
    if base_rev is None:
        short = base.label.split(" ")[0][:12]
        base = Revision(f"merge base with {ref} ({short})", base.rev, base.source, base.settings, base.validation,
                        base.side)
        repo_diff.base_label = base.label
    return base, head, repo_diff


def _replay_names(base: Revision, head: Revision, repo_diff: RepoDiff, replay_all: bool) -> list[str]:
    names = sorted(set(base.validation.models) | set(head.validation.models))
    if replay_all:
        return names
    changed_contracts = {d.name for d in repo_diff.contracts if d.status != "unchanged"}
    chosen = []
    for name in names:
        entry = repo_diff.get(name)
        if entry is not None and entry.status != "unchanged":
            chosen.append(name)
            continue
        data = head.validation.models.get(name) or base.validation.models.get(name) or {}
        if data.get("contract") in changed_contracts:
            chosen.append(name)
    return chosen


def _simulation_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a replay raises for a problem with the data or the model (not a bug): a finding.

    A broken config/guardrails.yaml is not among them: that is the repository's setup (exit 2).
    """
    errors: list[type[BaseException]] = [OSError, ValueError]
    try:
        from validator.data.datasets import DatasetError
        from validator.gate.replay import ReplayError

        errors.extend((DatasetError, ReplayError))
    except ImportError:  # pragma: no cover - the replay's dependencies are missing; run_check reports it
        pass
    return tuple(errors)


def run_check(root: Path, base_rev: str | None = None, head_rev: str | None = None, *, replay_all: bool = False,
              seed: int = 0, simulate_model: Callable[..., Any] | None = None) -> CheckResult:
    """Validate head, run its golden cases, diff base vs head and replay what changed.

    ``simulate_model`` replaces ``validator.gate.replay.simulate_model`` (same signature): tests of the
    reports inject fixed impacts through it.
    """
    root = Path(root)
    base, head, repo_diff = compare(root, base_rev, head_rev)
    golden_result = golden.run(head.source, head.settings, head.validation)
    result = CheckResult(root, base, head, golden_result, repo_diff, replay_all=replay_all)

    names = _replay_names(base, head, repo_diff, replay_all)
    head_invalid = {PurePosixPath(f.path).stem for f in head.validation.findings if f.severity is Severity.ERROR}
    for name in names:
        entry = repo_diff.get(name)
        path = head.validation.model_paths.get(name) or base.validation.model_paths.get(name) or \
            (entry.path if entry else f"{head.settings.weights_dir}/{name}.yaml")
        head_data = head.validation.models.get(name)
        base_data = base.validation.models.get(name)
        kind = (head_data or base_data or {}).get("kind")
        model = ModelCheck(name, kind, path, entry)
        result.models.append(model)
        if head_data is None and name in head_invalid:
            model.invalid = True
            continue  # validation already fails the check with positions; a replay would only repeat it
        model.impact, model.problem = _replay(root, name, path, base, head, seed, simulate_model)
    # Changed models that were not replayed (invalid on head) still appear with their diff.
    listed = {m.name for m in result.models}
    for entry in repo_diff.models:
        if entry.name not in listed and (entry.status != "unchanged" or replay_all):
            result.models.append(ModelCheck(entry.name, entry.kind, entry.path, entry,
                                            invalid=entry.name in head_invalid))
    result.models.sort(key=lambda m: m.name)
    parse_config(head.source.read(GUARDRAILS_FILE))  # a broken config/guardrails.yaml is exit 2 even with no replay
    result.guardrail_changes = guardrail_changes(base, head, repo_diff)
    result.budget_breaches = budget_breaches(base, head, repo_diff)
    result.scale_findings = scale_findings(base, head, repo_diff)
    return result


def _replay(root: Path, name: str, path: str, base: Revision, head: Revision, seed: int,
            simulate_model: Callable[..., Any] | None) -> tuple[Any, Finding | None]:
    if simulate_model is None:
        from validator.gate.replay import simulate_model as default_simulate

        simulate_model = default_simulate

    head_data = head.validation.models.get(name)
    base_data = base.validation.models.get(name)
    head_contract = head.validation.contracts.get(head_data["contract"]) if head_data else None
    base_contract = base.validation.contracts.get(base_data["contract"]) if base_data else None
    try:
        impact = simulate_model(root, name, base_data, head_data, base_contract, head_contract, seed=seed)
    except _simulation_errors() as exc:
        line, col = 1, 1
        document = head.validation.documents.get(path) or base.validation.documents.get(path)
        if document is not None:
            key = tuple(getattr(exc, "key", ()) or ("replay",))
            span = document.span(key, at_key=key in document.keys)
            line, col = span.line, span.col
        return None, Finding(path, line, col, Severity.ERROR, "simulate.replay",
                             f"{name}: the replay could not run: {exc}",
                             "declare a readable dataset under replay: (see tests/data/) or fix the model")
    return impact, None


def selected_models(result: CheckResult) -> Sequence[ModelCheck]:
    """The models a report shows: changed or replayed ones."""
    return [m for m in result.models if m.status != "unchanged" or m.impact is not None or m.problem is not None]


__all__ = ["CheckResult", "ModelCheck", "Revision", "compare", "resolve_base", "run_check"]
