"""One folder per kind: every registered kind has every room of ``validator.kinds.base``, nothing outside
``validator/kinds/`` tests a kind's name, and a kind registered by one line is picked up by the schemas, the
golden cases, the guardrails, the rules, the replay and ``weights new`` without an edit anywhere else."""
from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from validator.gate.golden import GoldenRunner
from validator.gate.rules import Rule
from validator.kinds import KINDS
from validator.kinds.base import GuardrailSpec, Kind

PROJECT = Path(__file__).resolve().parents[1]
ROOMS = ("evaluator", "schema", "guardrails", "vectorized", "rules", "metrics", "golden", "scaffold", "analysis",
         "frame", "shadow")
# The words a shadow room may use for an outcome change (interface 4 of issue 12; the fleet view prints them).
SHADOW_CHANGES = ("decision", "segment", "rank", "value")
SEED_KINDS = ("scorecard", "ranking", "bandit", "segments")


def _params(kind: Kind) -> list[str]:
    return list(inspect.signature(kind.room("metrics").measure).parameters)


# ------------------------------------------------------------------------------------------- (a) the rooms


@pytest.mark.parametrize("name", list(KINDS))
def test_every_kind_has_every_room(name: str) -> None:
    kind = KINDS[name]
    assert isinstance(kind, Kind) and kind.name == name
    assert kind.package == f"validator.kinds.{name}"
    missing = [room for room in ROOMS if not kind.has_room(room)]
    assert missing == [], f"{name} lacks {missing}"
    assert kind.summary and kind.verb


@pytest.mark.parametrize("name", list(KINDS))
def test_request_path_rooms(name: str) -> None:
    kind = KINDS[name]
    evaluator = kind.room("evaluator")
    assert evaluator.KIND_NAME == name
    for function in ("compile", "inputs_used", "outputs_emitted", "input_types", "call"):
        assert callable(getattr(evaluator, function)), function
    schema = kind.room("schema").SCHEMA
    assert schema is kind.schema
    assert schema["$id"].endswith(f"/{name}.schema.json")
    assert schema["properties"]["kind"]["const"] == name
    guardrails = kind.room("guardrails").GUARDRAILS
    assert isinstance(guardrails, tuple) and guardrails == kind.guardrails
    assert all(isinstance(g, GuardrailSpec) for g in guardrails)
    assert len({g.name for g in guardrails}) == len(guardrails)
    for g in guardrails:
        assert g.bound in ("max", "min") and isinstance(g.default, float) and g.label and g.description and g.help


@pytest.mark.parametrize("name", list(KINDS))
def test_gate_rooms(name: str) -> None:
    kind = KINDS[name]
    assert callable(kind.room("vectorized").compile_vectorized)
    rules = kind.room("rules").RULES
    assert isinstance(rules, tuple) and rules and all(isinstance(r, Rule) for r in rules)
    assert all(r.id.startswith(f"{name}.") and r.kinds == frozenset({name}) for r in rules)
    metrics = kind.room("metrics")
    assert isinstance(metrics.UNIT, str) and metrics.UNIT
    assert isinstance(metrics.READS_DATA, bool)
    assert _params(kind) == ["job"]
    runner = kind.room("golden").RUNNER
    assert isinstance(runner, GoldenRunner)
    for part in (runner.expectations, runner.request):
        assert all(isinstance(fragment, dict) and fragment.get("title") for fragment in part.values())
    assert runner.expectations and runner.hint
    assert set(runner.required) <= set(runner.request)
    assert runner.inputs_key is None or runner.inputs_key in runner.request
    scaffold = kind.room("scaffold")
    assert isinstance(scaffold.CONTRACT_INPUTS, tuple)
    assert all(isinstance(line, str) for line in scaffold.CONTRACT_INPUTS)
    assert list(inspect.signature(scaffold.draft).parameters) == ["name", "contract", "owner", "schemas_rel",
                                                                  "model_path"]
    frame = kind.room("frame")
    assert callable(frame.fields) and callable(frame.score)
    assert frame.GROUP_KEY is None or isinstance(frame.GROUP_KEY, str)


@pytest.mark.parametrize("name", list(KINDS))
def test_shadow_room(name: str) -> None:
    """CHANGE and PREDICTED_BY are both set or both None, and the prediction is a metric the replay writes."""
    shadow = KINDS[name].room("shadow")
    assert shadow.CHANGE is None or shadow.CHANGE in SHADOW_CHANGES
    assert (shadow.CHANGE is None) == (shadow.PREDICTED_BY is None)
    assert list(inspect.signature(shadow.compare).parameters) == ["live_result", "candidate_result"]
    if shadow.PREDICTED_BY is not None:
        metrics_source = inspect.getsource(KINDS[name].room("metrics"))
        assert f'"{shadow.PREDICTED_BY}"' in metrics_source, f"{name}'s metrics.py writes no {shadow.PREDICTED_BY}"


def test_shadow_rooms_load_no_numpy_and_no_gate() -> None:
    """The shadow worker runs in apps: its rooms stay on the runtime side like the evaluators."""
    script = ("import json, sys\n"
              f"for name in {list(KINDS)!r}:\n"
              "    __import__(f'validator.kinds.{name}.shadow')\n"
              "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'pyarrow') "
              "or m.startswith('validator.gate'))))")
    out = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=60,
                         check=True)
    assert json.loads(out.stdout) == [], out.stderr


def test_importing_the_kinds_loads_no_gate_room() -> None:
    """Apps import validator.kinds: only evaluator, schema and guardrails of each kind may load."""
    script = ("import json, sys, validator.kinds\n"
              "print(json.dumps(sorted(m for m in sys.modules if m.startswith('validator.kinds.') and "
              f"m.rsplit('.', 1)[-1] in {list(ROOMS[3:])!r})))")
    out = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=60,
                         check=True)
    assert json.loads(out.stdout) == [], out.stderr


# ------------------------------------------------------------------------ (b) no kind names outside kinds/


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def kind_name_literals(source: str, names: set[str]) -> list[tuple[int, str]]:
    """Every string literal in ``source`` that is exactly a kind's name (docstrings aside): a comparison, a
    lookup table keyed by kind, a tuple of kinds... all of them mean the module knows a kind by name."""
    tree = ast.parse(source)
    docstrings = _docstring_nodes(tree)
    return sorted((node.lineno, node.value) for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names
                  and id(node) not in docstrings)


def test_the_scan_finds_a_kind_branch() -> None:
    source = 'def f(kind):\n    """About a scorecard."""\n    if kind == "bandit":\n        return {"ranking": 1}\n'
    assert kind_name_literals(source, {"bandit", "ranking", "scorecard"}) == [(3, "bandit"), (4, "ranking")]


def test_no_module_outside_the_kinds_knows_a_kind_by_name() -> None:
    names = set(KINDS) | set(SEED_KINDS)
    found = []
    for path in sorted((PROJECT / "validator").rglob("*.py")):
        rel = path.relative_to(PROJECT)
        if rel.parts[:2] == ("validator", "kinds"):
            continue  # the registry and the kinds' folders
        for line, value in kind_name_literals(path.read_text(encoding="utf-8"), names):
            found.append(f"{rel}:{line}: {value!r}")
    assert found == []


# ------------------------------------------------------------------------- (c) a kind added by one line

TOY = {
    "__init__.py": '''
        """A kind that exists only in this test: a model is one constant value."""
        from toy_kind_pkg import evaluator
        from toy_kind_pkg.guardrails import GUARDRAILS
        from toy_kind_pkg.schema import SCHEMA
        from validator.kinds.base import Kind

        KIND = Kind(name=evaluator.KIND_NAME, package=__name__, schema=SCHEMA, compile=evaluator.compile,
                    inputs_used=evaluator.inputs_used, outputs_emitted=evaluator.outputs_emitted,
                    input_types=evaluator.input_types, call=evaluator.call, guardrails=GUARDRAILS, verb="value",
                    summary="one constant value (a kind of the rooms test).")
        ''',
    "evaluator.py": '''
        KIND_NAME = "toy"

        class Toy:
            kind = KIND_NAME

            def __init__(self, name, value):
                self.name, self.value = name, value

        def compile(data, contract):
            return Toy(data["name"], float(data["value"]))

        def inputs_used(data):
            return {}

        def outputs_emitted(data):
            return {}

        def input_types(data):
            return {}

        def call(evaluator, request):
            return evaluator.value
        ''',
    "schema.py": '''
        from toy_kind_pkg.guardrails import GUARDRAILS
        from validator.kinds.schema_parts import model_schema, number

        SCHEMA = model_schema("toy", "Toy", "One constant value.", {"value": number("Value", "The constant.")},
                              ["value"], guardrails=GUARDRAILS, replay={})
        ''',
    "guardrails.py": '''
        from validator.kinds.base import GuardrailSpec

        GUARDRAILS = (GuardrailSpec("max_value_change", "max", "value change", 0.5, "|head - base|",
                                    help="Largest change of the constant."),)
        ''',
    "vectorized.py": '''
        from toy_kind_pkg.evaluator import compile as compile_vectorized
        ''',
    "rules.py": '''
        from validator.gate.rules import Problem, rule

        @rule("toy.value-positive", kinds=["toy"])
        def value_positive(ctx):
            """The constant is positive."""
            if ctx.data["value"] <= 0:
                yield Problem(("value",), "the value must be positive", "write a positive number")

        RULES = (value_positive,)
        ''',
    "metrics.py": '''
        from validator.gate.replay_metrics import Measured

        UNIT = "runs"
        READS_DATA = False

        def measure(job):
            base = job.base.value if job.base is not None else 0.0
            head = job.head.value if job.head is not None else 0.0
            return Measured(metrics={"rows": 1.0, "value.base": base, "value.head": head},
                            summary=[f"value {base} -> {head}"],
                            guard_values={"max_value_change": (abs(head - base), "")}, source="the constant")
        ''',
    "golden.py": '''
        from validator.gate.golden import RANGE, GoldenRunner, Mismatch, in_range, range_text

        def run(evaluator, case):
            return {"value": evaluator.value}

        def compare(expect, got):
            if "value" in expect and not in_range(got["value"], expect["value"]):
                yield Mismatch(("expect", "value"), "golden.value",
                               f"expected value {range_text(expect['value'])}, got {got['value']}")

        RUNNER = GoldenRunner(expectations={"value": {**RANGE, "title": "Value"}}, request={}, required=(),
                              hint="a toy case gives no request", run=run, compare=compare)
        ''',
    "scaffold.py": '''
        from validator.gate.scaffold import Draft, common, golden_header, header

        CONTRACT_INPUTS = ()

        def draft(name, contract, owner, schemas_rel, model_path):
            lines = header("toy", name, schemas_rel) + common(contract.name, owner, "A constant.") + ["value: 1.0"]
            golden = golden_header(name, model_path, owner) + [
                "  - name: the constant is one", "    expect: {value: {min: 0.5, max: 1.5}}"]
            return Draft(lines, golden, {}, ())
        ''',
}


@pytest.fixture
def toy_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Kind:
    """The toy kind's folder written out and registered with one line, as a new kind would be."""
    package = tmp_path / "toy_pkg_root" / "toy_kind_pkg"
    package.mkdir(parents=True)
    for file, text in TOY.items():
        (package / file).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    monkeypatch.syspath_prepend(str(package.parent))
    for module in [m for m in sys.modules if m.startswith("toy_kind_pkg")]:
        monkeypatch.delitem(sys.modules, module)
    from toy_kind_pkg import KIND  # type: ignore[import-not-found]

    monkeypatch.setitem(KINDS, "toy", KIND)  # the registry line
    return KIND


def test_a_new_kind_gets_its_schemas_guardrails_and_rules(toy_kind: Kind) -> None:
    from validator.gate.golden import golden_schema
    from validator.gate.guardrails import builtin_defaults, check_limit, load_defaults
    from validator.gate.rule_registry import collect
    from validator.gate.schemas import all_schemas

    schemas = all_schemas()
    assert schemas["toy.schema.json"]["properties"]["accept"]["items"]["properties"]["guardrail"]["enum"] == \
        ["max_value_change", "change_budget"]  # change_budget: validator.gate.governance
    expect = golden_schema()["properties"]["cases"]["items"]["properties"]["expect"]["properties"]
    assert expect["value"]["title"] == "Value (toy)"
    assert builtin_defaults()["toy"] == {"max_value_change": 0.5}
    assert load_defaults(PROJECT)["toy"] == {"max_value_change": 0.5}  # config/guardrails.yaml does not name it
    assert check_limit("toy", "max_value_change", 0.1) is None
    assert "not a guardrail of toy models" in (check_limit("toy", "max_psi", 0.1) or "")
    assert [r.id for r in collect() if r.id.startswith("toy.")] == ["toy.value-positive"]


def test_a_new_kind_is_scaffolded_validated_tested_and_replayed(toy_kind: Kind, repo: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from validator.gate import golden
    from validator.gate import validate as validate_module
    from validator.gate.replay import simulate_model
    from validator.gate.rule_registry import collect
    from validator.gate.scaffold import plan, write
    from validator.gate.sources import WorkTree

    monkeypatch.setattr(validate_module, "ALL_RULES", collect())  # the registry is read once, at import
    scaffold = plan(repo, "toy", "constant_one", owner="tests")
    write(repo, scaffold)
    assert (repo / "weights/constant_one.yaml").read_text().startswith(
        "# yaml-language-server: $schema=../config/schemas/toy.schema.json\n# constant_one: one constant value")
    assert not any("replay:" in step for step in scaffold.next_steps)  # READS_DATA is false

    source = WorkTree(repo)
    settings = validate_module.settings_from(source)
    result = validate_module.validate(source, settings)
    assert [f.render() for f in result.findings if "constant_one" in f.path] == []
    cases = golden.run(source, settings, result, ["constant_one"])
    assert cases.ok and cases.passed == 1

    model = repo / "weights/constant_one.yaml"
    model.write_text(model.read_text().replace("value: 1.0", "value: -2.0"), encoding="utf-8")
    result = validate_module.validate(source, settings)
    assert [f.rule for f in result.findings if "constant_one" in f.path] == ["toy.value-positive"]
    cases = golden.run(source, settings, validate_module.validate(source, settings), ["constant_one"])
    assert not cases.ok  # the model no longer validates: its cases are not run

    base = {"kind": "toy", "name": "constant_one", "contract": "constant_one", "value": 1.0}
    head = {**base, "value": 1.75}
    impact = simulate_model(repo, "constant_one", base, head, None, None)
    assert impact.dataset == "the constant" and impact.rows == 1
    assert impact.summary == ["value 1.0 -> 1.75"]
    (guardrail,) = impact.guardrails
    assert guardrail.name == "max_value_change" and guardrail.breached
    assert guardrail.value == pytest.approx(0.75, abs=1e-12)
