"""The table kind: the data file's checks with positions in the file, the lookup, the rows of a git revision,
the row diff, and the data rules' corpus (tests/rule_examples/table.<data rule>/{bad,good}.{yaml,csv}).

The header rules' corpus runs in test_rule_corpus.py with the other kinds' rules.
"""
from __future__ import annotations

import hashlib
import io
import math
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from validator.api import validate_paths
from validator.gate.diff import Change
from validator.gate.sources import GitRevision, WorkTree
from validator.gate.validate import validate
from validator.kinds import KINDS, InputError, ModelError
from validator.kinds.contract import Contract
from validator.kinds.table import diff as table_diff
from validator.kinds.table.data_rules import DATA_RULES
from validator.kinds.table.datafile import PER_CHECK, check_data
from validator.kinds.table.evaluator import compile as compile_table
from validator.kinds.table.layout import layout_of
from validator.kinds.table.lines import record_lines

PROJECT = Path(__file__).resolve().parents[1]
CORPUS = PROJECT / "tests" / "rule_examples"
HEADER = b"category_id,country,boost,pinned_slots\n"
HEADER_DOC = {
    "kind": "table", "name": "category_boost", "contract": "search",
    "keys": [{"column": "category_id", "input": "category_id", "type": "integer"},
             {"column": "country", "input": "country", "type": "category"}],
    "values": [{"column": "boost", "type": "number", "min": 0.5, "max": 3.0},
               {"column": "pinned_slots", "type": "integer", "min": 0, "max": 5}],
    "missing_key": {"action": "default", "default": {"boost": 1.0, "pinned_slots": 0}},
    "inputs": {"category_id": {"out_of_range": "reject"}},
}
CONTRACT = Contract.from_dict("search", {
    "app": "search-api", "models": ["category_boost"],
    "inputs": {"category_id": {"type": "integer", "min": 1, "max": 20000},
               "country": {"type": "category", "values": ["DE", "AT", "CH"]}},
})


def check(raw: bytes, fmt: str = "csv", doc: dict | None = None):
    return check_data(raw, f"weights/t.{fmt}", fmt, layout_of(doc or HEADER_DOC), CONTRACT)


def positions(result) -> list[tuple[str, int, int]]:
    return [(f.rule, f.line, f.col) for f in result.findings]


def embedded(rows: list[tuple], doc: dict | None = None) -> dict:
    """A resolved document: the header with these (category_id, country, boost, pinned_slots) rows embedded."""
    names = ("category_id", "country", "boost", "pinned_slots")
    columns = {name: [row[i] for row in rows] for i, name in enumerate(names)}
    digest = hashlib.sha256(repr(rows).encode()).hexdigest()  # as the gate's: equal exactly for equal rows
    return {**(doc or HEADER_DOC), "table": {"file": "weights/t.csv", "sha256": digest, "rows": len(rows),
                                            "columns": columns}}


# --- positions in the data file -----------------------------------------------------------------------------

def test_a_clean_file_reads_typed_with_no_findings():
    result = check(HEADER + b"17,DE,0.87,0\n4,AT,1.2,2\n")
    assert result.ok and result.table.num_rows == 2
    assert result.table.column("boost").to_pylist() == [0.87, 1.2]


def test_each_problem_is_positioned_at_its_line_and_column():
    raw = HEADER + b"1,DE,1.0,0\n2,DE,,0\n3,DE,NaN,0\n4,DE,7.5,0\n5,UK,1.0,0\n30000,DE,1.0,0\n1,DE,1.1,0\n"
    assert sorted(positions(check(raw))) == sorted([
        ("table.empty-cell", 3, 3), ("table.not-finite", 4, 3), ("table.range", 5, 3),
        ("table.key-sendable", 6, 2), ("table.key-sendable", 7, 1), ("table.duplicate-key", 8, 1),
    ])


def test_quoted_line_breaks_and_blank_lines_keep_line_numbers_exact():
    raw = HEADER + b'1,"D\nE",1.0,0\n\n2,DE,1.0,0\r\n3,"DE",9.0,0\n'
    result = check(raw)
    assert ("table.range", 6, 3) in positions(result)  # record 3 starts on line 6: line 2-3 quoted, line 4 blank
    assert ("table.key-sendable", 2, 2) in positions(result)


def test_record_lines_agree_with_and_without_quotes():
    plain = b"a,b\n1,2\n\n3,4\r\n\r\n5,6\n"
    assert record_lines(plain).tolist() == [1, 2, 4, 6]
    quoted = b'a,b\n1,"x"\n\n3,"y\nz"\n5,6\n'
    assert record_lines(quoted).tolist() == [1, 2, 4, 6]


def test_a_wrong_type_is_found_by_a_second_read_as_text():
    result = check(HEADER + b"1,DE,1.0,0\n2,DE,x,1\n3,DE,1.2,0.5\n")
    assert positions(result) == [("table.type", 3, 3), ("table.type", 4, 4)]
    assert "'x' is not a number" in result.findings[0].message


def test_the_header_must_name_each_declared_column_once():
    result = check(b"category_id,country,bost,pinned_slots,extra\n1,DE,1.0,0,x\n")
    rules = positions(result)
    assert ("table.header", 1, 3) in rules and ("table.header", 1, 5) in rules
    assert any("did you mean 'boost'" in f.hint for f in result.findings)
    assert result.table is None


def test_a_line_with_an_extra_field_lone_carriage_returns_and_latin1_are_refused_with_positions():
    assert positions(check(HEADER + b"1,DE,1.0,0\n2,DE,1,0,0\n")) == [("table.fields", 3, 1)]
    assert positions(check(HEADER + b"1,DE,1.0,0\r2,DE,1.0,0\n"))[0][:2] == ("table.line-endings", 2)
    assert positions(check(HEADER + b"1,D\xc4,1.0,0\n")) == [("table.encoding", 2, 4)]
    assert positions(check(b"")) == [("table.header", 1, 1)]


def test_a_file_broken_in_every_row_reports_the_first_rows_and_a_count():
    raw = HEADER + b"".join(b"%d,DE,9.0,0\n" % i for i in range(1, 101))
    findings = check(raw).findings
    assert len(findings) == PER_CHECK + 1
    assert "90 more row(s)" in findings[-1].message and findings[-1].line == 2


def test_parquet_rows_are_checked_the_same_way_with_row_numbers():
    table = pa.table({"category_id": [1, 2, 2], "country": ["DE", "DE", "DE"], "boost": [1.0, 9.0, 1.0],
                      "pinned_slots": pa.array([0, 0, 0], pa.int32())})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    result = check(sink.getvalue(), "parquet")
    assert sorted(positions(result)) == [("table.duplicate-key", 3, 1), ("table.range", 2, 3)]
    wrong = pa.table({"category_id": [1], "country": ["DE"], "boost": ["1.0"], "pinned_slots": [0]})
    sink = io.BytesIO()
    pq.write_table(wrong, sink)
    assert positions(check(sink.getvalue(), "parquet")) == [("table.type", 1, 3)]


# --- the lookup ---------------------------------------------------------------------------------------------

def test_lookup_finds_rows_defaults_and_refuses_as_the_header_says():
    model = compile_table(embedded([(17, "DE", 0.87, 0), (4, "DE", 1.2, 2)]), CONTRACT)
    hit = model.lookup({"category_id": 4, "country": "DE"})
    assert hit.found and hit.values == {"boost": 1.2, "pinned_slots": 2} and hit.model == "category_boost"
    assert model.lookup({"category_id": 4.0, "country": "DE"}).found  # a whole-number float finds the row
    miss = model.lookup({"category_id": 5, "country": "DE"})
    assert not miss.found and miss.values == {"boost": 1.0, "pinned_slots": 0}
    miss.values["boost"] = 99.0  # the app may keep or change its copy
    assert model.lookup({"category_id": 5, "country": "DE"}).values["boost"] == 1.0
    with pytest.raises(InputError, match="category_id"):
        model.lookup({"category_id": 25000, "country": "DE"})  # out_of_range: reject
    with pytest.raises(InputError, match="country"):
        model.lookup({"category_id": 4})
    with pytest.raises(InputError, match="mapping"):
        model.lookup(["not", "a", "mapping"])


def test_missing_key_reject_refuses_a_key_without_a_row():
    doc = {**HEADER_DOC, "missing_key": {"action": "reject"}}
    model = compile_table(embedded([(17, "DE", 0.87, 0)], doc), CONTRACT)
    with pytest.raises(InputError, match=r"category_id=5, country='DE' has no row"):
        model.lookup({"category_id": 5, "country": "DE"})
    assert KINDS["table"].call(model, {"category_id": 17, "country": "DE"}).found


def test_compile_refuses_rows_that_break_the_header_and_a_header_without_rows():
    with pytest.raises(ModelError, match="repeat a key"):
        compile_table(embedded([(17, "DE", 0.87, 0), (17, "DE", 0.9, 0)]), CONTRACT)
    with pytest.raises(ModelError, match="boost"):
        compile_table(embedded([(17, "DE", 7.0, 0)]), CONTRACT)
    with pytest.raises(ModelError, match="carries no rows"):
        compile_table(HEADER_DOC, CONTRACT)


# --- the gate reads the rows from the revision it validates ---------------------------------------------------

def test_the_rows_come_from_the_same_source_as_the_header(git_repo):
    result = validate(WorkTree(git_repo))
    assert result.ok, [f.render() for f in result.findings]
    assert result.models["category_boost"]["table"]["rows"] == 50_000
    csv_path = git_repo / "weights" / "category_boost.csv"
    text = csv_path.read_text()
    csv_path.write_text(text.replace("\n17,DE,0.87,0\n", "\n17,DE,9.99,0\n"))
    broken = validate(WorkTree(git_repo))
    assert [(f.path, f.rule) for f in broken.findings] == [("weights/category_boost.csv", "table.range")]
    line = text[:text.index("\n17,DE,0.87,0\n")].count("\n") + 2
    assert (broken.findings[0].line, broken.findings[0].col) == (line, 3)
    assert "category_boost" not in broken.models
    committed = validate(GitRevision(git_repo, "HEAD"))  # the commit still holds the good rows
    assert committed.ok and committed.models["category_boost"]["table"]["columns"]["boost"][
        committed.models["category_boost"]["table"]["columns"]["category_id"].index(17)] == 0.87


def test_validating_the_header_alone_reports_its_data_file(repo):
    (repo / "weights" / "category_boost.csv").write_bytes(HEADER + b"17,DE,,0\n")
    result = validate_paths(repo, ["weights/category_boost.yaml"])
    assert [(f.path, f.rule, f.line) for f in result.findings] == [
        ("weights/category_boost.csv", "table.empty-cell", 2)]
    assert not result.ok


def test_a_missing_or_ambiguous_data_file_is_a_finding_on_the_header(repo):
    csv_path = repo / "weights" / "category_boost.csv"
    shutil.copy(csv_path, repo / "weights" / "category_boost.parquet")
    result = validate_paths(repo)
    assert [(f.path, f.rule) for f in result.findings] == [("weights/category_boost.yaml", "table.file")]
    assert "ambiguous" in result.findings[0].message
    csv_path.unlink()
    (repo / "weights" / "category_boost.parquet").unlink()
    result = validate_paths(repo)
    assert [(f.path, f.rule) for f in result.findings] == [("weights/category_boost.yaml", "table.file")]


# --- the row diff -------------------------------------------------------------------------------------------

def test_the_diff_lists_rows_by_key_largest_moves_first_and_caps_the_list():
    base = embedded([(i, "DE", 1.0, 0) for i in range(1, 41)])
    head_rows = [(i, "DE", 1.0 + i / 100, 0) for i in range(1, 31)] + [(99, "AT", 2.0, 1)]
    head = embedded(head_rows)
    base_header, head_header, changes = table_diff.split(base, head)
    assert "table" not in base_header and "table" not in head_header
    summary, *rows = changes
    assert summary.describe() == "rows: 40 rows -> 31 rows: 1 added, 10 removed, 30 changed, 20 shown"
    assert len(rows) == table_diff.SHOWN
    assert rows[0].op == "removed" or rows[0].op == "added"
    moved = [c for c in rows if c.op == "changed"]
    assert moved[0].label == "rows[category_id=30, country=DE].boost"
    assert math.isclose(moved[0].relative, 0.3, rel_tol=1e-9)
    assert all(isinstance(c, Change) for c in changes)


def test_the_same_rows_give_no_row_changes():
    doc = embedded([(1, "DE", 1.0, 0)])
    assert table_diff.split(doc, dict(doc))[2] == []


def test_weights_diff_shows_a_data_only_change(git_repo):
    from validator.gate.check import compare

    csv_path = git_repo / "weights" / "category_boost.csv"
    csv_path.write_text(csv_path.read_text().replace("\n17,DE,0.87,0\n", "\n17,DE,0.95,0\n"))
    _, _, repo_diff = compare(git_repo, "HEAD", None)
    entry = repo_diff.get("category_boost")
    assert entry is not None and entry.status == "changed"
    assert [c.describe() for c in entry.changes][1] == "rows[category_id=17, country=DE].boost: 0.87 -> 0.95 (+9.2%)"


# --- the data rules' corpus ---------------------------------------------------------------------------------

def place(tmp_path: Path, rule: str, which: str) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(PROJECT / "config", root / "config")
    shutil.copytree(PROJECT / "weights", root / "weights")
    (root / "weights" / "category_boost.csv").unlink()
    folder = CORPUS / rule
    shutil.copy(folder / f"{which}.yaml", root / "weights" / "category_boost.yaml")
    if (folder / f"{which}.csv").exists():
        shutil.copy(folder / f"{which}.csv", root / "weights" / "category_boost.csv")
    return root


@pytest.mark.parametrize("rule", DATA_RULES, ids=lambda r: r.id)
def test_data_rule_bad_example_raises_it_in_the_data_file(rule, tmp_path):
    result = validate_paths(place(tmp_path, rule.id, "bad"))
    hits = [f for f in result.findings if f.rule == rule.id]
    assert hits, [f.render() for f in result.findings]
    assert all(f.line >= 1 and f.col >= 1 for f in hits)


@pytest.mark.parametrize("rule", DATA_RULES, ids=lambda r: r.id)
def test_data_rule_good_example_passes_the_gate(rule, tmp_path):
    result = validate_paths(place(tmp_path, rule.id, "good"))
    assert result.ok, [f.render() for f in result.findings]


@pytest.mark.parametrize("rule", DATA_RULES, ids=lambda r: r.id)
def test_data_rule_is_documented_with_examples(rule):
    examples = rule.examples()
    assert rule.summary and examples.get("bad") and examples.get("good")


# --- weights new table --------------------------------------------------------------------------------------

def test_weights_new_table_writes_a_header_its_rows_and_a_passing_case(repo):
    from validator.gate import golden
    from validator.gate.scaffold import ScaffoldError, plan, write
    from validator.gate.validate import settings_from

    scaffold = plan(repo, "table", "promo_boost", contract="promo")
    assert set(scaffold.files) == {"weights/promo_boost.yaml", "tests/golden/promo_boost.yaml",
                                   "weights/promo_boost.csv", "config/contracts/promo.yaml"}
    write(repo, scaffold)
    assert (repo / "weights" / "promo_boost.csv").read_text().startswith("country,value\nDE,1.0\n")
    result = validate(WorkTree(repo))
    assert result.ok, [f.render() for f in result.findings]
    cases = golden.run(WorkTree(repo), settings_from(WorkTree(repo)), result)
    assert cases.ok and cases.passed >= 1
    with pytest.raises(ScaffoldError, match="already exist"):
        plan(repo, "table", "promo_boost", contract="promo")
