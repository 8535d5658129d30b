"""The hostile corpus: edits meant to break the gate (tests/hostile/mutations.yaml), each refused at its position.

Every file mutation is an edit of the example repository: a value or key replaced in place, so the rest of
the file keeps its comments and layout and the finding's expected position is where the edit starts. Each
must give a finding of the expected rule there (or pass, for a good edit), and none may crash. Requests go to
``weights eval``'s parser and the model's evaluator and must fail with InputError. Entries marked ``cli``
also run through real ``weights`` subprocesses. A sweep puts a huge number into every numeric field of
every model, contract and settings file at once: each must be refused at its own position.

Request values no JSON can carry (an integer of 5,000 digits, a list nested 100,000 deep, an object whose
repr() raises) go straight to every model's evaluator, as an app's code could pass them.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from validator.api import load_models, validate_paths
from validator.gate.golden import parse_file
from validator.gate.guardrails import GuardrailConfigError, load_defaults
from validator.gate.yamlload import MAX_MAGNITUDE, load_bytes
from validator.kinds import KINDS
from validator.kinds.base import InputError
from validator.kinds.inputs import REQUEST_LIMITS, RequestLimits, check_items, parse_request, shown

PROJECT = Path(__file__).resolve().parents[1]
CORPUS = yaml.safe_load((PROJECT / "tests" / "hostile" / "mutations.yaml").read_text(encoding="utf-8"))
WEIGHTS = [str(Path(sys.executable).with_name("weights"))]

TOKENS = {
    "$HUGE5000": "9" * 5000,
    "$HUGE_NEG": "-" + "9" * 400,
    "$HUGE_HEX": "0x" + "f" * 300,
    "$HUGE": "9" * 400,
    "$BIG": "1.0e+300",
    "$OVER": str(MAX_MAGNITUDE + 1),
}
_DEEP = re.compile(r"\$DEEP_(OBJECT|ARRAY)\((\d+)\)")


def expand(text: str) -> str:
    """The corpus tokens replaced by what they stand for (longest token first: $HUGE5000 before $HUGE)."""
    text = _DEEP.sub(lambda m: ('{"a": ' * int(m[2]) + "1" + "}" * int(m[2])) if m[1] == "OBJECT"
                     else "[" * int(m[2]) + "1" + "]" * int(m[2]), text)
    for token, value in TOKENS.items():
        text = text.replace(token, value)
    return text


@dataclass(frozen=True)
class Edit:
    """One applied mutation: the new file bytes and where the edited text starts (1-based)."""

    raw: bytes
    line: int
    col: int


def _offset(lines: list[str], line: int, col: int) -> int:
    return sum(len(x) for x in lines[:line - 1]) + col - 1


def apply(mutation: dict[str, Any], original: bytes) -> Edit:
    """The file with the mutation applied in place, found through the loader's own positions."""
    text = original.decode("utf-8")
    if "cell" in mutation:
        line, col = mutation["cell"]
        rows = text.split("\n")
        cells = rows[line - 1].split(",")
        cells[col - 1] = expand(mutation["set"])
        rows[line - 1] = ",".join(cells)
        return Edit("\n".join(rows).encode("utf-8"), line, col)
    document, findings = load_bytes(original, mutation["file"])
    assert document is not None and not findings, f"{mutation['file']} must load cleanly before the edit"
    path = tuple(mutation["path"])
    renaming = "rename" in mutation
    spans = document.keys if renaming else document.values
    assert path in spans, f"{mutation['id']}: no {'key' if renaming else 'value'} at {path} in {mutation['file']}"
    line, col, end_line, end_col = spans[path]
    lines = text.splitlines(keepends=True)
    start, end = _offset(lines, line, col), _offset(lines, end_line, end_col)
    while end > start and text[end - 1] == "\n":  # a block scalar's span ends on the next key's line
        end -= 1
    new = expand(mutation["rename"] if renaming else mutation["set"])
    return Edit((text[:start] + new + text[end:]).encode("utf-8"), line, col)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example repository; each test restores the one file it edits."""
    root = tmp_path_factory.mktemp("hostile") / "repo"
    shutil.copytree(PROJECT / "config", root / "config")
    shutil.copytree(PROJECT / "weights", root / "weights")
    shutil.copytree(PROJECT / "tests" / "golden", root / "tests" / "golden")
    return root


def gate_findings(root: Path, rel: str) -> list[tuple[str, int, int, str, str]]:
    """(path, line, col, severity, rule) of what the gate says about ``rel``, from the runner that reads it."""
    if rel.startswith("tests/golden/"):
        _, findings = parse_file((root / rel).read_bytes(), rel)
        return [(f.path, f.line, f.col, f.severity.value, f.rule) for f in findings]
    if rel == "config/guardrails.yaml":
        try:
            load_defaults(root)
        except GuardrailConfigError as exc:
            return [(m[1], int(m[2]), int(m[3]), m[4], m[5])
                    for m in re.finditer(r"([\w/.]+):(\d+):(\d+): (error|warning) ([\w.-]+):", str(exc))]
        return []
    target = rel[:-4] + ".yaml" if rel.endswith(".csv") else rel
    result = validate_paths(root, [target])
    return [(f.path, f.line, f.col, f.severity.value, f.rule) for f in result.findings]


def expected_at(mutation: dict[str, Any], edit: Edit) -> tuple[str, int, int, str, str]:
    line, col = (1, 1) if mutation.get("at") == "file" else (edit.line, edit.col)
    return (mutation["file"], line, col, mutation.get("severity", "error"), mutation["expect"])


@pytest.mark.parametrize("mutation", CORPUS["files"], ids=[m["id"] for m in CORPUS["files"]])
def test_file_mutation_is_refused_at_its_position(mutation: dict[str, Any], repo: Path) -> None:
    target = repo / mutation["file"]
    original = target.read_bytes()
    edit = apply(mutation, original)
    target.write_bytes(edit.raw)
    try:
        found = gate_findings(repo, mutation["file"])
    finally:
        target.write_bytes(original)
    if mutation["expect"] == "ok":
        assert not [f for f in found if f[3] == "error"], found
        return
    assert expected_at(mutation, edit) in found, found


def test_the_corpus_is_well_formed() -> None:
    ids = [m["id"] for m in CORPUS["files"] + CORPUS["requests"]]
    assert len(ids) == len(set(ids)), "mutation ids must be unique"
    assert len(CORPUS["files"]) >= 40
    for mutation in CORPUS["files"]:
        assert ("set" in mutation) ^ ("rename" in mutation), mutation["id"]
        assert ("cell" in mutation) ^ ("path" in mutation), mutation["id"]


CLI_FILES = [m for m in CORPUS["files"] if m.get("cli")]


@pytest.mark.parametrize("mutation", CLI_FILES, ids=[m["id"] for m in CLI_FILES])
def test_file_mutation_through_weights_validate(mutation: dict[str, Any], repo: Path) -> None:
    target = repo / mutation["file"]
    original = target.read_bytes()
    edit = apply(mutation, original)
    target.write_bytes(edit.raw)
    try:
        run = subprocess.run([*WEIGHTS, "validate", "--format", "text"], cwd=repo, capture_output=True, text=True,
                             timeout=120)
    finally:
        target.write_bytes(original)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "internal error" not in run.stderr
    path, line, col, severity, rule = expected_at(mutation, edit)
    assert f"{path}:{line}:{col}: {severity} {rule}:" in run.stdout, run.stdout


# ------------------------------------------------------------------------- every numeric field at once


def numeric_paths(value: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in numeric_paths(v, path + (k,))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in numeric_paths(v, path + (i,))]
    return [path] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


SWEPT = sorted(
    rel for rel in (
        [p.relative_to(PROJECT).as_posix() for p in (PROJECT / "weights").glob("*.yaml")]
        + [p.relative_to(PROJECT).as_posix() for p in (PROJECT / "config" / "contracts").glob("*.yaml")]
        + ["config/weights.yaml"]
    )
    if numeric_paths(yaml.safe_load((PROJECT / rel).read_text(encoding="utf-8")))  # storefront's has none
)


@pytest.mark.parametrize("value", ["$HUGE", "$BIG"])
@pytest.mark.parametrize("rel", SWEPT)
def test_every_numeric_field_refuses_a_huge_number_at_its_position(rel: str, value: str, repo: Path) -> None:
    target = repo / rel
    original = target.read_bytes()
    document, _ = load_bytes(original, rel)
    assert document is not None
    paths = numeric_paths(document.data)
    # Edit from the end of the file backwards, so earlier offsets stay where the loader saw them; a number
    # later on a line that already had one replaced starts further right by the growth of those before it.
    text = original.decode("utf-8")
    lines = text.splitlines(keepends=True)
    new = expand(value)
    spans = sorted(document.values[p] for p in paths)
    starts, growth = [], {}
    for line, col, end_line, end_col in spans:
        assert line == end_line, "numbers are written on one line"
        starts.append((line, col + growth.get(line, 0)))
        growth[line] = growth.get(line, 0) + len(new) - (end_col - col)
    for line, col, _, end_col in reversed(spans):
        start = _offset(lines, line, col)
        text = text[:start] + new + text[start + end_col - col:]
    target.write_text(text, encoding="utf-8")
    try:
        result = validate_paths(repo, [rel])
    finally:
        target.write_bytes(original)
    refused = {(f.line, f.col) for f in result.findings if f.path == rel and f.rule == "yaml.number-too-large"}
    assert refused == set(starts)


# ---------------------------------------------------------------------------------------------- requests


@pytest.fixture(scope="module")
def models() -> dict[str, Any]:
    return load_models(PROJECT)


@pytest.mark.parametrize("request_case", CORPUS["requests"], ids=[m["id"] for m in CORPUS["requests"]])
def test_request_is_refused_with_an_input_error(request_case: dict[str, Any], models: dict[str, Any]) -> None:
    name = request_case["model"]
    evaluator = models[name]
    with pytest.raises(InputError) as caught:
        payload = parse_request(expand(request_case["json"]), name)
        KINDS[evaluator.kind].call(evaluator, payload)
    message = str(caught.value)
    assert request_case["expect"] in message
    assert message.startswith(f"model {name!r}: ")
    assert len(message) < 1000


CLI_REQUESTS = [m for m in CORPUS["requests"] if m.get("cli")]


@pytest.mark.parametrize("request_case", CLI_REQUESTS, ids=[m["id"] for m in CLI_REQUESTS])
def test_request_through_weights_eval(request_case: dict[str, Any]) -> None:
    run = subprocess.run([*WEIGHTS, "eval", request_case["model"], "-"], cwd=PROJECT, capture_output=True,
                         text=True, input=expand(request_case["json"]), timeout=120)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "internal error" not in run.stderr
    assert request_case["expect"] in " ".join(run.stderr.split())


def test_a_good_request_still_evaluates_through_weights_eval() -> None:
    run = subprocess.run([*WEIGHTS, "eval", "homepage_hero", '{"seed": 7}'], cwd=PROJECT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["model"] == "homepage_hero"


class _HostileRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr refused")


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


RUNTIME_VALUES = {
    "integer-5000-digits": 10**5000,
    "negative-integer-400-digits": -(10**400),
    "list-nested-100000": _nested(100_000),
    "mapping-nested-100000": {"a": _nested(100_000)},
    "string-10-mb": "x" * 10_000_000,
    "object-with-failing-repr": _HostileRepr(),
    "infinity": float("inf"),
}


def _requests_for(kind: str, names: list[str], value: Any) -> list[Any]:
    """One request per input the model reads, that input set to ``value`` (a bandit reads only its seed)."""
    if kind == "bandit":
        return [{"seed": value}]
    requests = [{name: value} for name in names]
    return [[r] for r in requests] if kind == "ranking" else requests


@pytest.mark.parametrize("value_id", list(RUNTIME_VALUES))
def test_runtime_values_fail_with_a_bounded_input_error(value_id: str, models: dict[str, Any]) -> None:
    value = RUNTIME_VALUES[value_id]
    checked = 0
    validation = validate_paths(PROJECT)
    for name, evaluator in models.items():
        kind = KINDS[evaluator.kind]
        names = sorted(kind.input_types(validation.models[name]))
        for request in _requests_for(evaluator.kind, names, value):
            try:
                kind.call(evaluator, request)
            except InputError as exc:
                assert len(str(exc)) < 1000, str(exc)[:200]
                checked += 1
            # A bandit takes any hashable seed (a str, a float, inf): choosing is no failure.
    assert checked


# --------------------------------------------------------------------------------------- request limits


def test_limits_are_generous_for_every_kind_and_below_python_recursion() -> None:
    assert 2 < REQUEST_LIMITS.max_depth < sys.getrecursionlimit() // 10
    assert REQUEST_LIMITS.max_items >= 10_000


def test_a_request_over_the_byte_limit_is_refused_before_parsing() -> None:
    with pytest.raises(InputError, match="over the limit of 100"):
        parse_request('{"a": "' + "x" * 200 + '"}', "m", RequestLimits(max_bytes=100))


def test_depth_limit_is_exact() -> None:
    limits = RequestLimits(max_depth=3)
    assert parse_request("[[[1]]]", "m", limits) == [[[1]]]
    with pytest.raises(InputError, match="deeper than 3"):
        parse_request("[[[[1]]]]", "m", limits)


def test_numbers_at_the_edge_of_the_float_range() -> None:
    assert parse_request("[1e308, -1e308, 0.0, 9007199254740993]", "m") == [1e308, -1e308, 0.0, 9007199254740993]
    with pytest.raises(InputError, match="too large for a float"):
        parse_request("[" + "1" + "0" * 309 + "]", "m")


def test_rank_refuses_more_items_than_the_limit(models: dict[str, Any]) -> None:
    with pytest.raises(InputError, match="over the limit of 3"):
        check_items("search_ranking", [{}] * 4, RequestLimits(max_items=3))
    check_items("search_ranking", [{}] * 3, RequestLimits(max_items=3))
    too_many = [{}] * (REQUEST_LIMITS.max_items + 1)
    with pytest.raises(InputError, match="items"):
        models["search_ranking"].rank(too_many)


@pytest.mark.parametrize(("value", "expected"), [
    (10**5000, "<an integer of about 5,001 digits>"),
    (12345, "12345"),
    ("abc", "'abc'"),
    (_nested(5), "[[[...]]]"),
], ids=["int-5000-digits", "int", "str", "nested-list"])
def test_shown_is_bounded_and_never_raises(value: Any, expected: str) -> None:
    assert shown(value) == expected


def test_shown_cuts_long_strings() -> None:
    text = shown("y" * 1_000_000)
    assert len(text) <= REQUEST_LIMITS.max_shown + 2 and "..." in text
