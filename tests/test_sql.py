"""The DuckDB sandbox: a query from a model file or ``--sql`` reads files of the repository and nothing else.

Every escape is tried for real against DuckDB (reading /etc/passwd, writing with COPY, ATTACH, INSTALL/LOAD,
``..``, symlinks, URLs, computed paths), and the query's relative paths must mean the same files whatever the
process's working folder is.
"""
from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from validator.data.sql import SqlError, connect, prepare, query_batches, query_columns, query_schema


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A repository folder with a Parquet and a CSV file, and a secret file beside it (outside)."""
    top = tmp_path / "repo"
    (top / "tests" / "data").mkdir(parents=True)
    pq.write_table(pa.table({"id": list(range(1000)), "amount": [float(i % 97) for i in range(1000)]}),
                   top / "tests" / "data" / "orders.parquet", row_group_size=100)
    (top / "tests" / "data" / "labels.csv").write_text("id,fraud\n" + "".join(f"{i},{str(i % 10 == 0).lower()}\n"
                                                                              for i in range(1000)))
    (tmp_path / "secret.csv").write_text("password\nhunter2\n")
    pq.write_table(pa.table({"password": ["hunter2"]}), tmp_path / "outside.parquet")
    return top


def rows(root: Path, sql: str, batch_rows: int = 65_536) -> list[dict]:
    return [row for batch in query_batches(root, sql, batch_rows) for row in batch.to_pylist()]


# --------------------------------------------------------------------------------------------- the sandbox

ESCAPES = {
    "absolute path": ("SELECT * FROM read_csv('/etc/passwd')", "outside the repository"),
    "absolute path as a table": ("SELECT * FROM '/etc/passwd'", "outside the repository"),
    "parent folder": ("SELECT * FROM read_parquet('../outside.parquet')", "leads outside the repository"),
    "parent folder inside a path": ("SELECT * FROM read_csv('tests/../../secret.csv')", "leads outside"),
    "parent folder in a list": ("SELECT * FROM read_parquet(['tests/data/orders.parquet', '../outside.parquet'])",
                                "leads outside"),
    "home folder": ("SELECT * FROM read_csv('~/.ssh/id_rsa')", "outside the repository"),
    "URL": ("SELECT * FROM read_parquet('https://example.com/x.parquet')", "is a URL"),
    "S3": ("SELECT * FROM 's3://bucket/x.parquet'", "is a URL"),
    "computed path": ("SELECT * FROM read_csv('/etc/' || 'passwd')", "Permission Error"),
    "computed relative path": ("SELECT * FROM read_csv('../' || 'secret.csv')", "Permission Error"),
    "glob outside": ("SELECT * FROM glob('/etc/*')", "outside the repository"),
    "sniff_csv outside": ("SELECT * FROM sniff_csv('/etc/passwd')", "outside the repository"),
    "read_text outside": ("SELECT * FROM read_text('/etc/hostname')", "outside the repository"),
    "COPY TO": ("COPY (SELECT 1 AS x) TO 'tests/data/out.csv'", "a COPY statement"),
    "ATTACH": ("ATTACH 'tests/data/new.db'", "an ATTACH statement"),
    "INSTALL": ("INSTALL httpfs", "only a SELECT may run"),
    "LOAD": ("LOAD httpfs", "only a SELECT may run"),
    "SET": ("SET enable_external_access = true", "a SET statement"),
    "PRAGMA": ("PRAGMA enable_profiling", "only a SELECT may run"),
    "two statements": ("SELECT 1; COPY (SELECT 1) TO 'x.csv'", "2 statements"),
    "CREATE": ("CREATE TABLE t AS SELECT 1", "a CREATE statement"),
}


@pytest.mark.parametrize("sql, expected", ESCAPES.values(), ids=ESCAPES.keys())
def test_escapes_are_refused_with_a_clear_message(root: Path, sql: str, expected: str) -> None:
    before = sorted(p.relative_to(root.parent) for p in root.parent.rglob("*"))
    with pytest.raises(SqlError) as info:
        rows(root, sql)
    assert expected in str(info.value)
    assert "hunter2" not in str(info.value) and "root:" not in str(info.value)
    assert sorted(p.relative_to(root.parent) for p in root.parent.rglob("*")) == before  # nothing written


def test_a_symlink_leading_outside_is_refused(root: Path) -> None:
    (root / "tests" / "data" / "innocent.csv").symlink_to(root.parent / "secret.csv")
    (root / "elsewhere").symlink_to(root.parent, target_is_directory=True)
    for sql in ("SELECT * FROM read_csv('tests/data/innocent.csv')", "SELECT * FROM 'elsewhere/secret.csv'",
                "SELECT * FROM read_parquet('elsewhere/outside.parquet')"):
        with pytest.raises(SqlError, match="Permission Error.*only files inside the repository") as info:
            rows(root, sql)
        assert "hunter2" not in str(info.value)


def test_a_symlink_inside_the_repository_is_read(root: Path) -> None:
    (root / "latest.parquet").symlink_to(root / "tests" / "data" / "orders.parquet")
    assert rows(root, "SELECT count(*) AS n FROM 'latest.parquet'") == [{"n": 1000}]


def test_the_connection_cannot_be_reconfigured(root: Path) -> None:
    con = connect(root)
    try:
        with pytest.raises(Exception, match="locked"):
            con.execute("SET enable_external_access = true")
        with pytest.raises(Exception, match="disabled by configuration|Permission"):
            con.execute("SELECT * FROM read_csv('/etc/passwd')").fetchall()
        with pytest.raises(Exception, match="disabled|Permission"):
            con.execute("LOAD httpfs")
    finally:
        con.close()


def test_python_variables_are_not_tables(root: Path) -> None:
    """DuckDB's Python client would otherwise read a DataFrame or Arrow table named in the query from the
    calling frame: the gate's own memory is not data a query may see."""
    secret = pa.table({"password": ["hunter2"]})
    con = connect(root)
    try:
        assert secret.num_rows == 1
        with pytest.raises(Exception, match="secret does not exist"):
            con.sql("SELECT * FROM secret").fetchall()
    finally:
        con.close()


def test_an_absolute_path_inside_the_repository_is_read(root: Path) -> None:
    path = root.resolve() / "tests" / "data" / "orders.parquet"
    assert rows(root, f"SELECT count(*) AS n FROM read_parquet('{path}')") == [{"n": 1000}]


# --------------------------------------------------------------------------------------------- paths

def test_relative_paths_resolve_against_the_root_whatever_the_working_folder(root: Path, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    decoy = tmp_path / "elsewhere"
    (decoy / "tests" / "data").mkdir(parents=True)
    pq.write_table(pa.table({"id": [1], "amount": [-1.0]}), decoy / "tests" / "data" / "orders.parquet")
    sql = "SELECT count(*) AS n, min(amount) AS low FROM read_parquet('tests/data/orders.parquet')"
    for cwd in (decoy, root / "tests", Path("/")):
        monkeypatch.chdir(cwd)
        assert rows(root, sql) == [{"n": 1000, "low": 0.0}], cwd


def test_paths_are_resolved_in_every_place_a_file_is_named(root: Path) -> None:
    sql = """
        WITH labels AS (SELECT * FROM read_csv('tests/data/labels.csv'))
        SELECT o.id, o.amount, l.fraud
        FROM 'tests/data/orders.parquet' AS o
        JOIN labels AS l USING (id)
        WHERE o.id IN (SELECT id FROM read_parquet(['tests/data/orders.parquet']) WHERE amount > 90)
          AND EXISTS (SELECT 1 FROM glob('tests/data/*.csv'))
        ORDER BY o.id
    """
    got = rows(root, sql)
    assert [r["id"] for r in got] == [i for i in range(1000) if i % 97 > 90]
    assert got[0] == {"id": 91, "amount": 91.0, "fraud": False}


def test_a_quote_in_the_root_folder_is_escaped(tmp_path: Path) -> None:
    top = tmp_path / "it's here"
    top.mkdir()
    pq.write_table(pa.table({"x": [1, 2]}), top / "x.parquet")
    assert rows(top, "SELECT sum(x) AS s FROM 'x.parquet'") == [{"s": 2 + 1}]


def test_prepare_changes_only_the_file_literals(root: Path) -> None:
    sql = "SELECT 'tests/data/orders.parquet' AS label, * FROM read_csv('tests/data/labels.csv', delim=',')"
    out = prepare(root, sql)
    assert out.startswith("SELECT 'tests/data/orders.parquet' AS label, * FROM read_csv('")
    assert f"'{root.resolve() / 'tests' / 'data' / 'labels.csv'}', delim=',')" in out


# --------------------------------------------------------------------------------------------- streaming

def test_batches_are_streamed_with_at_most_batch_rows(root: Path) -> None:
    batches = list(query_batches(root, "SELECT * FROM read_parquet('tests/data/orders.parquet') ORDER BY id", 64))
    assert sum(b.num_rows for b in batches) == 1000
    assert max(b.num_rows for b in batches) <= 64 and len(batches) >= 1000 // 64
    assert pa.Table.from_batches(batches).column("id").to_pylist() == list(range(1000))


def test_a_query_over_many_rows_streams_lazily(root: Path) -> None:
    stream = query_batches(root, "SELECT range AS i FROM range(50000000)", 1000)
    first = next(stream)
    assert first.num_rows <= 1000 and first.column("i")[0].as_py() == 0
    stream.close()  # the generator closes its connection; nothing else ran the fifty million rows


def test_an_empty_result_yields_no_batches(root: Path) -> None:
    assert list(query_batches(root, "SELECT * FROM 'tests/data/orders.parquet' WHERE amount < 0")) == []


def test_columns_and_schema_without_the_rows(root: Path) -> None:
    sql = "SELECT o.id, amount * 2 AS doubled, fraud FROM 'tests/data/orders.parquet' o JOIN " \
          "read_csv('tests/data/labels.csv') USING (id)"
    assert query_columns(root, sql) == ["id", "doubled", "fraud"]
    schema = query_schema(root, sql)
    assert schema.field("doubled").type == pa.float64() and schema.field("fraud").type == pa.bool_()


# --------------------------------------------------------------------------------------------- errors

def test_a_syntax_error_names_its_line_and_column(root: Path) -> None:
    sql = "SELECT id\nFORM 'tests/data/orders.parquet'"
    with pytest.raises(SqlError) as info:
        query_columns(root, sql, source="weights/fraud.yaml:12")
    assert (info.value.line, info.value.col) == (2, 6)
    assert str(info.value).startswith("query in weights/fraud.yaml:12 (line 2, column 6): syntax error")
    assert "write one SELECT" in str(info.value)


def test_an_unknown_column_says_what_to_check(root: Path) -> None:
    with pytest.raises(SqlError, match=r'"amout" not found.*check the column and function names'):
        rows(root, "SELECT amout FROM 'tests/data/orders.parquet'")


def test_a_missing_file_is_named_as_written(root: Path) -> None:
    with pytest.raises(SqlError) as info:
        rows(root, "SELECT * FROM read_parquet('tests/data/nope.parquet')")
    assert '"tests/data/nope.parquet"' in str(info.value) and str(root) not in str(info.value)
    assert "relative to the repository root" in str(info.value)


@pytest.mark.parametrize("sql", ["", "   \n", "-- only a comment"])
def test_an_empty_query_is_refused(root: Path, sql: str) -> None:
    with pytest.raises(SqlError, match="empty|no statement"):
        query_columns(root, sql)


def test_batch_rows_must_be_positive(root: Path) -> None:
    with pytest.raises(SqlError, match="batch_rows must be > 0"):
        list(query_batches(root, "SELECT 1", 0))


def test_the_process_working_folder_is_untouched(root: Path) -> None:
    cwd = os.getcwd()
    rows(root, "SELECT count(*) FROM 'tests/data/orders.parquet'")
    assert os.getcwd() == cwd


@pytest.mark.parametrize("sql", ["SELECT count(*) AS n FROM 'tests/data/orders.parquet';",
                                 "SELECT count(*) AS n FROM 'tests/data/orders.parquet' -- all of them\n;\n",
                                 "SELECT count(*) AS n FROM 'tests/data/orders.parquet' -- all of them"])
def test_a_trailing_semicolon_or_comment_is_fine_as_a_subquery(root: Path, sql: str) -> None:
    assert query_columns(root, sql) == ["n"]
    assert rows(root, sql) == [{"n": 1000}]
    assert [b.num_rows for b in query_batches(root, sql, columns=["n"])] == [1]


def test_duckdbs_suggestions_are_kept(root: Path) -> None:
    with pytest.raises(SqlError, match=r'Did you mean "floor"'):
        rows(root, "SELECT flor(amount) FROM 'tests/data/orders.parquet'")
    with pytest.raises(SqlError, match=r'Candidate bindings: .*"amount"'):
        rows(root, "SELECT amout FROM 'tests/data/orders.parquet'")


def test_an_error_duckdb_underlines_is_placed_in_the_query_as_written(root: Path) -> None:
    sql = "SELECT id,\n       amount + 'ten'::INTEGER AS more\nFROM read_parquet('tests/data/orders.parquet')"
    with pytest.raises(SqlError) as info:
        rows(root, sql)
    assert (info.value.line, info.value.col) == (2, 22)  # DuckDB underlines the cast, ::INTEGER
    assert "Could not convert string 'ten'" in str(info.value) and "LINE" not in str(info.value)
