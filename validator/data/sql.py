"""DuckDB queries over the repository's files, in a sandbox.

A query comes from a model file or a ``weights update --sql`` option, i.e. from a pull request: the gate must not
let it read arbitrary files of the machine it runs on, write files, load or install extensions, or reach the
network. DuckDB's own settings do the confining (``enable_external_access=false`` with ``allowed_directories``
set to the repository root, extensions neither auto-installed nor auto-loaded, no spilling to a temp folder, then
``lock_configuration`` so no statement can undo it) and, before that, this module accepts exactly one SELECT (or
WITH ... SELECT) statement, so COPY, ATTACH, INSTALL, LOAD, SET and PRAGMA never reach the engine.

DuckDB resolves a relative path against the PROCESS's working folder (and checks the sandbox on that), which
would make the same query read different files depending on where ``weights`` was started. So the file paths
written as literals in the query (the arguments of ``read_parquet``/``read_csv``/... and ``FROM 'file.parquet'``)
are rewritten to absolute paths under the repository root before the query runs, found with DuckDB's own parser
(``json_serialize_sql``) rather than a regular expression. A relative path that climbs out (``../x``), an absolute
path outside the root or a URL is refused here with a message naming it; anything the rewrite does not see (a
computed path) still meets DuckDB's sandbox, which also refuses symlinks that lead outside.
"""
from __future__ import annotations

import json
import os
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

DEFAULT_BATCH_ROWS = 65_536

# Table functions whose unnamed string arguments are file paths (or globs): their literals are resolved against
# the repository root. Other table functions are left alone (DuckDB's sandbox still applies to them).
FILE_FUNCTIONS = frozenset({
    "read_csv", "read_csv_auto", "sniff_csv", "read_parquet", "parquet_scan", "parquet_metadata", "parquet_schema",
    "parquet_file_metadata", "parquet_kv_metadata", "parquet_bloom_probe", "read_json", "read_json_auto",
    "read_ndjson", "read_ndjson_auto", "read_json_objects", "read_ndjson_objects", "read_json_objects_auto",
    "read_text", "read_blob", "glob",
})

_WHAT_TO_DO = ("write one SELECT (or WITH ... SELECT) over files of the repository, with paths relative to its "
               "root, e.g. SELECT * FROM read_parquet('tests/data/orders.parquet') WHERE amount > 0")


class SqlError(Exception):
    """A query that is refused or fails: not one SELECT, a syntax or binding error, a file outside the repository.

    ``line``/``col`` (1-based, within the query text) are set when DuckDB names a position; ``source`` names where
    the query came from (``weights/x.yaml:12``, ``--sql``) and prefixes the message.
    """

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None,
                 col: int | None = None) -> None:
        where = f" (line {line}, column {col})" if line is not None and col is not None else ""
        prefix = f"query in {source}" if source else "query"
        super().__init__(f"{prefix}{where}: {message}")
        self.reason = message
        self.source = source
        self.line = line
        self.col = col


@dataclass(frozen=True)
class _Splice:
    start: int
    end: int
    text: str


def connect(root: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that can reach files under ``root`` and nothing else: no other file, no
    extension, no network, no temp files, no Python variables as tables; its configuration is locked.

    Run only what ``prepare`` returns on it: DuckDB would still let a COPY statement write a file under ``root``,
    and it is ``prepare`` (one SELECT, which writes nothing) that refuses statements other than a query."""
    top = Path(root).resolve()
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                             "autoload_known_extensions": False})
    try:
        # Order matters: allowed_directories cannot change once external access is off, and nothing can once locked.
        con.execute("SET allowed_directories = ?", [[str(top) + os.sep]])
        con.execute("SET temp_directory = ''")  # no spill files: a query writes nothing, not even temp files
        con.execute("SET python_enable_replacements = false")  # a table name never reaches the caller's variables
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def _position(sql: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset in ``sql``."""
    offset = max(0, min(offset, len(sql)))
    before = sql[:offset]
    line = before.count("\n") + 1
    return line, offset - (before.rfind("\n") + 1) + 1


def _parse(con: duckdb.DuckDBPyConnection, sql: str, source: str | None) -> dict[str, Any]:
    """DuckDB's parse tree of ``sql``, which must be one SELECT; SqlError at the position of a syntax error."""
    if not sql.strip():
        raise SqlError(f"empty; {_WHAT_TO_DO}", source=source)
    tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()[0][0])
    if tree.get("error") and tree.get("error_type") == "parser":
        line = col = None
        if str(tree.get("position", "")).isdigit():
            line, col = _position(sql, int(tree["position"]))
        raise SqlError(f"{tree.get('error_message', 'cannot be parsed')}; {_WHAT_TO_DO}", source=source,
                       line=line, col=col)
    kinds = _statement_kinds(sql)
    if kinds != ["SELECT"]:
        raise SqlError(_not_a_select(kinds), source=source)
    if tree.get("error"):
        raise SqlError(f"{tree.get('error_message', 'cannot be parsed')}; {_WHAT_TO_DO}", source=source)
    return dict(tree["statements"][0])


def _statement_kinds(sql: str) -> list[str]:
    try:
        return [str(s.type).rsplit(".", 1)[-1] for s in duckdb.extract_statements(sql)]
    except duckdb.Error:
        return []


def _not_a_select(kinds: list[str]) -> str:
    if not kinds:
        return f"no statement, only comments; {_WHAT_TO_DO}"
    if len(kinds) != 1:
        return f"{len(kinds)} statements ({', '.join(kinds)}), but only one may run; {_WHAT_TO_DO}"
    article = "an" if kinds[0][:1] in "AEIOU" else "a"
    return f"{article} {kinds[0]} statement, but only a SELECT may run (nothing is written, attached or installed); " \
           f"{_WHAT_TO_DO}"


def _literal_end(sql: str, start: int) -> int | None:
    """The offset just past the quoted literal or identifier starting at ``start`` (None when none starts there)."""
    if start >= len(sql) or sql[start] not in "'\"":
        return None
    quote, i = sql[start], start + 1
    while i < len(sql):
        if sql[i] == quote:
            if i + 1 < len(sql) and sql[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return None


def _resolve(top: Path | None, path: str, sql: str, offset: int, source: str | None) -> str | None:
    """The absolute path a literal path names under the root (None: leave it as written), or SqlError.
    ``top`` None: no root at hand (checking a model file), so an absolute path is refused too: the file is shared
    by every machine that runs the gate, and only a relative path means the same file on all of them."""
    line, col = _position(sql, offset)
    if "://" in path or path.startswith(("s3:", "gs:", "az:", "hf:", "http:", "https:")):
        raise SqlError(f"{path!r} is a URL; only files inside the repository may be read", source=source,
                       line=line, col=col)
    if path.startswith("~"):
        raise SqlError(f"{path!r} is outside the repository; write paths relative to its root", source=source,
                       line=line, col=col)
    if posixpath.isabs(path) or os.path.isabs(path):
        if top is None:
            raise SqlError(f"{path!r} is an absolute path; write it relative to the repository root, so the query "
                           f"reads the same file on every machine", source=source, line=line, col=col)
        if not Path(os.path.normpath(path)).is_relative_to(top):
            raise SqlError(f"{path!r} is outside the repository {top}; write paths relative to its root",
                           source=source, line=line, col=col)
        return None
    normal = posixpath.normpath(path.replace(os.sep, "/"))
    if normal == ".." or normal.startswith("../"):
        raise SqlError(f"{path!r} leads outside the repository; write paths relative to its root", source=source,
                       line=line, col=col)
    return str(top / normal) if top is not None else None


def _path_literals(node: Any, ctes: frozenset[str], out: list[tuple[str, int, int]]) -> None:
    """Collect (path, start, length) of the file paths written as literals anywhere in a parse tree."""
    if isinstance(node, list):
        for item in node:
            _path_literals(item, ctes, out)
        return
    if not isinstance(node, dict):
        return
    cte_map = node.get("cte_map", {}).get("map") if isinstance(node.get("cte_map"), dict) else None
    if cte_map:
        ctes = ctes | {str(entry.get("key", "")).lower() for entry in cte_map if isinstance(entry, dict)}
    kind = node.get("type")
    if kind == "TABLE_FUNCTION":
        function = node.get("function") or {}
        if str(function.get("function_name", "")).lower() in FILE_FUNCTIONS:
            for argument in function.get("arguments") or []:
                if isinstance(argument, dict) and not argument.get("name"):
                    _string_constants(argument.get("expression"), out)
    elif kind == "BASE_TABLE":
        name = str(node.get("table_name", ""))
        if (not node.get("schema_name") and not node.get("catalog_name") and name.lower() not in ctes
                and ("." in name or "/" in name)):
            out.append((name, int(node.get("query_location", -1)), -1))
    for value in node.values():
        if isinstance(value, (dict, list)):
            _path_literals(value, ctes, out)


def _string_constants(node: Any, out: list[tuple[str, int, int]]) -> None:
    """String constants of a path argument: the constant itself or the items of a list of paths."""
    if not isinstance(node, dict):
        return
    if node.get("class") == "CONSTANT":
        literal = node.get("literal") or {}
        if literal.get("kind") == "STRING":
            out.append((str(literal.get("text", "")), int(node.get("query_location", -1)),
                        int(node.get("query_location_length", -1))))
    elif node.get("class") == "FUNCTION" and node.get("function_name") == "list_value":
        for argument in node.get("arguments") or []:
            if isinstance(argument, dict):
                _string_constants(argument.get("expression"), out)


def check_query(sql: str, *, source: str | None = None) -> None:
    """SqlError unless ``sql`` is one SELECT whose literal file paths are relative and stay inside the repository:
    what a model file may declare, judged from the text alone (no file is read; ``weights validate`` runs it)."""
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                             "autoload_known_extensions": False,
                                             "enable_external_access": False})
    try:
        tree = _parse(con, sql, source)
    finally:
        con.close()
    found: list[tuple[str, int, int]] = []
    _path_literals(tree.get("node"), frozenset(), found)
    for path, start, _length in found:
        if start >= 0 and _literal_end(sql, start) is not None:
            _resolve(None, path, sql, start, source)


def prepare(root: Path, sql: str, *, source: str | None = None,
            con: duckdb.DuckDBPyConnection | None = None) -> str:
    """The query as it runs: checked to be one SELECT, its literal file paths made absolute under ``root``
    (SqlError for a path outside it), a trailing semicolon dropped so it can be wrapped as ``(\n{query}\n)``.
    Pure text in, text out; nothing is read."""
    top = Path(root).resolve()
    own = con is None
    con = con or connect(top)
    try:
        tree = _parse(con, sql, source)
    finally:
        if own:
            con.close()
    found: list[tuple[str, int, int]] = []
    _path_literals(tree.get("node"), frozenset(), found)
    splices: list[_Splice] = []
    for path, start, _length in found:
        end = _literal_end(sql, start) if start >= 0 else None
        if end is None:
            continue  # not written as a plain quoted literal: DuckDB's sandbox judges it
        absolute = _resolve(top, path, sql, start, source)
        if absolute is None:
            continue
        quote = sql[start]
        splices.append(_Splice(start, end, quote + absolute.replace(quote, quote * 2) + quote))
    out = sql
    for splice in sorted({(s.start, s.end, s.text) for s in splices}, reverse=True):
        out = out[:splice[0]] + splice[2] + out[splice[1]:]
    out = out.rstrip()
    return out[:-1] if out.endswith(";") else out  # so a caller can use it as a subquery


_LINE_DISPLAY = re.compile(r"^LINE (\d+): (.*)\n( *)(\^+)", re.MULTILINE)


def _located(text: str, sql: str) -> tuple[int, int] | None:
    """Where in ``sql`` (as the analyst wrote it) the token DuckDB underlines in its ``LINE n:`` display is.

    The display shows the text that ran (paths made absolute, perhaps wrapped as a subquery), so the position is
    found by the underlined token itself: when it occurs exactly once in the query, that is the place."""
    match = _LINE_DISPLAY.search(text)
    if match is None:
        return None
    start = len(match.group(3)) - len(f"LINE {match.group(1)}: ")
    token = match.group(2)[start:start + len(match.group(4))]
    if not token.strip() or sql.count(token) != 1:
        return None
    return _position(sql, sql.index(token))


def _error(exc: BaseException, source: str | None, root: Path, sql: str = "") -> SqlError:
    """A DuckDB error as a SqlError that says what to do (paths shown relative to the root, as written), with
    DuckDB's own suggestions ("Did you mean", "Candidate bindings") and the position of its underlined token."""
    text = str(exc).strip().replace(str(Path(root).resolve()) + os.sep, "")
    lines = [line.strip() for line in text.split("\n\nLINE ", 1)[0].splitlines() if line.strip()]
    message = "; ".join(lines) if lines else type(exc).__name__
    position = _located(text, sql) if sql else None
    line, col = position if position else (None, None)
    if isinstance(exc, duckdb.PermissionException) or "disabled by configuration" in message:
        message += " (only files inside the repository may be read; no extensions, no network, no writes)"
    elif isinstance(exc, (duckdb.BinderException, duckdb.CatalogException)):
        message += " (check the column and function names against the files' columns)"
    elif isinstance(exc, duckdb.IOException):
        message += " (paths are relative to the repository root)"
    return SqlError(message, source=source, line=line, col=col)


def query_columns(root: Path, sql: str, *, source: str | None = None) -> list[str]:
    """The column names the query returns, from binding it (file footers and CSV headers are read; the rows
    are not)."""
    return query_schema(root, sql, source=source).names


def query_schema(root: Path, sql: str, *, source: str | None = None) -> pa.Schema:
    """The Arrow schema of the query's result, from running it with LIMIT 0 (no rows are produced)."""
    con = connect(root)
    try:
        text = prepare(root, sql, source=source, con=con)
        try:
            return con.sql(f"SELECT * FROM {_subquery(text)} AS query LIMIT 0").to_arrow_table().schema
        except duckdb.Error as exc:
            raise _error(exc, source, root, sql) from None
    finally:
        con.close()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _subquery(text: str) -> str:
    """The prepared query as a subquery (a trailing comment is closed by the newline)."""
    return f"(\n{text}\n)"


def query_batches(root: Path, sql: str, batch_rows: int = DEFAULT_BATCH_ROWS, *, columns: list[str] | None = None,
                  source: str | None = None) -> Iterator[pa.RecordBatch]:
    """The query's rows as Arrow record batches of at most ``batch_rows`` rows, streamed: memory is bounded by
    the batch size and what the query itself holds (a sort or a join), not by the result. ``columns``: only these
    columns of the result, in this order (DuckDB then reads only what they need)."""
    if batch_rows <= 0:
        raise SqlError(f"batch_rows must be > 0, got {batch_rows}", source=source)
    con = connect(root)
    try:
        text = prepare(root, sql, source=source, con=con)
        if columns is not None:
            text = f"SELECT {', '.join(_quote(c) for c in columns)} FROM {_subquery(text)} AS query"
        try:
            reader = con.sql(text).to_arrow_reader(batch_rows)
        except duckdb.Error as exc:
            raise _error(exc, source, root, sql) from None
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (duckdb.Error, pa.ArrowException) as exc:
                raise _error(exc, source, root, sql) from None
            if batch.num_rows > batch_rows:
                for start in range(0, batch.num_rows, batch_rows):
                    yield batch.slice(start, batch_rows)
            elif batch.num_rows:
                yield batch
    finally:
        con.close()
