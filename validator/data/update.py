"""``weights update``: a bandit's counts from the events the site logged, written into the analyst's file.

Without this, a bandit learns only when someone retypes its counts. Here the counts come from a Parquet/CSV file
of events (one row per view: the arm shown, whether it was a success) or a DuckDB query over such files, are
counted by DuckDB's ``GROUP BY`` (core DuckDB only: no extension is downloaded), and are written into the model
file round-trip (validator.data.roundtrip), so comments, key order and layout stay and ``git diff`` shows only
the numbers. The new text passes the same gate as a hand edit before anything is written.

Decisions (each also in docs/analyst/update.md):

- ``success`` is BOOLEAN, or an integer column holding only 0 and 1; anything else (text, floats, 2, -1) is
  refused naming the column and a bad value: a float there is usually a rate, not an event.
- Rows with a null arm or a null success are refused with their count: dropping them silently would
  under-count an arm, and only the analyst knows whether they are bot traffic or a logging bug.
- An arm in the events that the file does not have is an error naming it (with a did-you-mean): the events
  and the file disagree about what is running. Nothing is written.
- Events for the holdout's control variant are not an error (the site logs them like any view), but the
  holdout is not an arm and has no counts in the file: they are counted and reported, never written.
- Arms without events keep their counts and are listed.
- Totals mode (default): the source holds every event since the arm started, and its counts replace the
  file's. ``add`` mode adds them (a day's events onto yesterday's counts). In totals mode a count that goes
  down is reported (the source may not hold every event), not refused: corrections are legitimate.
- A comment ``# 4.1% CTR over 10000 views`` beside an arm's counts that states the OLD counts (to its own
  precision) is rewritten to state the new ones; any other comment is left exactly as it is.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path, PurePosixPath
from typing import Any, Iterator, Literal, Sequence

from validator.data.roundtrip import CommentedMap, RoundTripError, edit_text, set_number
from validator.gate.findings import Finding, Severity
from validator.kinds.bandit.evaluator import KIND_NAME as BANDIT

__all__ = [
    "ArmUpdate",
    "Counts",
    "GateRefused",
    "HoldoutEvents",
    "Sql",
    "UpdateError",
    "UpdateOutcome",
    "UpdateResult",
    "count_events",
    "find_model",
    "update_all",
    "update_bandit",
    "updatable_models",
]

KIND = BANDIT  # counts of successes and failures per arm are the bandit kind's; no other kind has them
FILE_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
DEFAULT_ARM_COLUMN = "arm"
DEFAULT_SUCCESS_COLUMN = "success"
Mode = Literal["total", "add"]
_INTEGER_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                            "UINTEGER", "UBIGINT", "UHUGEINT"})
_CTR_COMMENT = re.compile(r"(?P<lead>#\s*)(?P<pct>\d+(?:\.(?P<decimals>\d+))?)% CTR over (?P<views>\d+) views"
                          r"(?P<tail>[ \t]*)$")


class UpdateError(Exception):
    """The update cannot run: bad source, missing or mistyped column, unknown arm, unknown model (exit 2).

    The message names the file or column and says what to do.
    """


class GateRefused(Exception):
    """The updated file would not pass ``weights validate``: nothing was written (exit 1).

    ``findings`` are the gate's findings on the new text (errors and warnings), ``new_text`` what was refused.
    """

    def __init__(self, path: str, findings: Sequence[Finding], new_text: str) -> None:
        errors = [f for f in findings if f.severity is Severity.ERROR]
        super().__init__(f"{path}: the updated file would not pass weights validate ({len(errors)} "
                         f"error{'s' if len(errors) != 1 else ''}); nothing was written")
        self.path = path
        self.findings = list(findings)
        self.new_text = new_text


@dataclass(frozen=True)
class Sql:
    """A source that is a DuckDB query (one SELECT over Parquet/CSV files of the repository, paths relative to
    its root), as opposed to a file path."""

    query: str


@dataclass(frozen=True)
class Counts:
    successes: int
    failures: int

    @property
    def views(self) -> int:
        return self.successes + self.failures

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.successes + other.successes, self.failures + other.failures)

    def to_dict(self) -> dict[str, int]:
        return {"successes": self.successes, "failures": self.failures}


@dataclass(frozen=True)
class ArmUpdate:
    """One arm that had events: its counts in the file before (None: the file had no ``posterior``), the events
    counted in the source, and the counts written."""

    arm: str
    old: Counts | None
    events: Counts
    new: Counts

    @property
    def changed(self) -> bool:
        return self.old != self.new

    @property
    def decreased(self) -> bool:
        return self.old is not None and (self.new.successes < self.old.successes or
                                         self.new.failures < self.old.failures)

    def to_dict(self) -> dict[str, Any]:
        return {"arm": self.arm, "old": None if self.old is None else self.old.to_dict(),
                "events": self.events.to_dict(), "new": self.new.to_dict(), "changed": self.changed}


@dataclass(frozen=True)
class HoldoutEvents:
    """Events of the holdout's control variant: counted for the report, never written (it is not an arm)."""

    variant: str
    events: Counts


@dataclass(frozen=True)
class UpdateResult:
    """What an update did (or, with ``write=False``, would do) to one model file."""

    model: str
    path: str  # relative to the repository root, POSIX
    source: str  # how the source was named: a path, "--sql", "weights/x.yaml update.sql"
    mode: Mode
    arms: tuple[ArmUpdate, ...]  # arms with events, in the file's order
    no_events: tuple[str, ...]  # arms without events: counts kept
    holdout: HoldoutEvents | None
    comments: int  # "# N% CTR over M views" comments rewritten
    warnings: tuple[Finding, ...]  # the gate's warnings on the new text
    old_text: str
    new_text: str
    written: bool

    @property
    def changed(self) -> bool:
        return self.new_text != self.old_text

    @property
    def decreased(self) -> tuple[str, ...]:
        """Arms whose count went down (totals mode): the source may not hold every event since they started."""
        return tuple(a.arm for a in self.arms if a.decreased) if self.mode == "total" else ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "path": self.path, "source": self.source, "mode": self.mode,
            "changed": self.changed, "written": self.written,
            "arms": [a.to_dict() for a in self.arms],
            "no_events": list(self.no_events),
            "holdout": None if self.holdout is None else {"variant": self.holdout.variant,
                                                          "events": self.holdout.events.to_dict()},
            "decreased": list(self.decreased),
            "comments_rewritten": self.comments,
            "warnings": [f.to_dict() for f in self.warnings],
        }


@dataclass(frozen=True)
class UpdateOutcome:
    """One model of ``update_all``: its result, or why it was not updated (``status`` says which)."""

    model: str
    path: str
    status: Literal["changed", "unchanged", "refused", "error"]
    result: UpdateResult | None = None
    message: str = ""
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"model": self.model, "path": self.path, "status": self.status}
        if self.result is not None:
            out.update({k: v for k, v in self.result.to_dict().items() if k not in ("model", "path")})
        if self.message:
            out["message"] = self.message
        if self.findings:
            out["diagnostics"] = [f.to_dict() for f in self.findings]
        return out


# --- the repository: settings, model files -------------------------------------------------------------------


def _weights_dir(root: Path) -> str:
    from validator.gate.settings import SETTINGS_FILE, check_settings

    checked = check_settings((root / SETTINGS_FILE).read_bytes() if (root / SETTINGS_FILE).is_file() else None)
    if checked.settings is None:
        raise UpdateError(f"{SETTINGS_FILE} has errors; run weights validate and fix it first")
    return str(checked.settings.weights_dir)


def _model_files(root: Path) -> Iterator[tuple[str, Any]]:
    """(relative path, plain data or None) of every model file, read with the gate's loader."""
    from validator.gate.sources import WorkTree
    from validator.gate.yamlload import load_bytes

    for relpath in WorkTree(root).list(_weights_dir(root)):
        document, _ = load_bytes((root / relpath).read_bytes(), relpath)
        yield relpath, None if document is None else document.data


def find_model(root: Path | str, model: str) -> str:
    """The relative path of the model file named ``model`` (its ``name:``, else its file name), or a path to a
    model file itself (``weights/homepage_hero.yaml``)."""
    from validator.gate.rules import did_you_mean

    root = Path(root).resolve()
    if model.endswith((".yaml", ".yml")):
        candidate = Path(model)
        candidate = candidate if candidate.is_absolute() else root / candidate
        candidate = candidate.resolve()
        if candidate.is_file() and candidate.is_relative_to(root):
            return candidate.relative_to(root).as_posix()
    names: dict[str, str] = {}
    for relpath, data in _model_files(root):
        name = data.get("name") if isinstance(data, dict) else None
        names.setdefault(name if isinstance(name, str) else PurePosixPath(relpath).stem, relpath)
    if model in names:
        return names[model]
    hint = did_you_mean(model, names)
    raise UpdateError(f"no model {model!r} in {_weights_dir(root)}/{' (' + hint + ')' if hint else ''}; "
                      f"models: {', '.join(sorted(names)) or 'none'}")


def updatable_models(root: Path | str) -> list[tuple[str, str]]:
    """(name, relative path) of every bandit whose file declares an ``update:`` block, sorted by name: what
    ``weights update --all`` (the nightly workflow) updates."""
    out = []
    for relpath, data in _model_files(Path(root).resolve()):
        if isinstance(data, dict) and data.get("kind") == KIND and isinstance(data.get("update"), dict):
            name = data.get("name")
            out.append((name if isinstance(name, str) else PurePosixPath(relpath).stem, relpath))
    return sorted(out)


# --- counting events ----------------------------------------------------------------------------------------


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _shown(value: Any) -> str:
    """A value from the data as a message shows it: text quoted, anything else as text (2.5, 2026-06-01)."""
    text = value if isinstance(value, str) else str(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return repr(text) if isinstance(value, str) else text


@dataclass(frozen=True)
class _Relation:
    """The events as a DuckDB FROM clause on an open connection, and a label for messages."""

    con: Any
    sql: str
    params: tuple[Any, ...]
    label: str


def _open(root: Path, source: str | Path | Sql, label: str, from_file: bool) -> _Relation:
    """A connection and FROM clause for ``source``. A query, and a path from a model file, run in the
    repository sandbox (validator.data.sql); a path the caller passed may lie anywhere (they chose it)."""
    import duckdb

    from validator.data.sql import SqlError, connect, prepare

    if isinstance(source, Sql):
        con = connect(root)
        try:
            text = prepare(root, source.query, source=label, con=con)
        except SqlError as exc:
            con.close()
            raise UpdateError(f"{exc}") from None
        return _Relation(con, f"({text}\n) AS events", (), label)
    if from_file:
        from validator.data.datasets import DatasetError, resolve

        try:
            path = resolve(root, str(source))
        except DatasetError as exc:
            raise UpdateError(f"{label}: {exc}") from None
    else:
        path = Path(source)
        path = (path if path.is_absolute() else root / path).resolve()
        if not path.is_file():
            raise UpdateError(f"{label}: no such file {path}; name a Parquet or CSV file of events")
    reader = FILE_FORMATS.get(path.suffix.lower())
    if reader is None:
        raise UpdateError(f"{label}: {path.suffix or 'no suffix'} is not a format weights update reads; "
                          f"name a .parquet or .csv file, or pass a query with --sql")
    if path.is_relative_to(root):
        con = connect(root)
    else:
        con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                                 "autoload_known_extensions": False})
    return _Relation(con, f"read_{reader}(?) AS events", (str(path),), label)


def _run(rel: _Relation, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    import duckdb

    try:
        return rel.con.execute(query, [*rel.params, *params]).fetchall()
    except duckdb.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UpdateError(f"{rel.label}: {first}") from None


def count_events(root: Path | str, source: str | Path | Sql, *, arm_column: str = DEFAULT_ARM_COLUMN,
                 success_column: str = DEFAULT_SUCCESS_COLUMN, label: str | None = None,
                 from_file: bool = False) -> dict[str, Counts]:
    """Successes and failures per arm in ``source``: one DuckDB ``GROUP BY`` over the file or query.

    ``from_file``: the path came from a model file's ``update:`` block, so it must lie inside the repository.
    Refuses (UpdateError) a missing column (listing the columns), an arm column that is not text, a success
    column that is not boolean or 0/1, and rows with a null arm or success (with their count).
    """
    root = Path(root).resolve()
    label = label or (f"--sql {source.query!r}" if isinstance(source, Sql) else str(source))
    rel = _open(root, source, label, from_file)
    try:
        return _count(rel, arm_column, success_column)
    finally:
        rel.con.close()


def _count(rel: _Relation, arm_column: str, success_column: str) -> dict[str, Counts]:
    from validator.gate.rules import did_you_mean

    columns = {str(name): str(kind) for name, kind, *_ in _run(rel, f"DESCRIBE SELECT * FROM {rel.sql}")}
    for role, name, flag in (("arm", arm_column, "--arm-column"), ("success", success_column, "--success-column")):
        if name not in columns:
            hint = did_you_mean(name, columns)
            raise UpdateError(f"{rel.label} has no column {name!r}{' (' + hint + ')' if hint else ''}; its columns: "
                              f"{', '.join(columns) or 'none'}; name the {role} column with {flag} (or "
                              f"{role}_column: in the update: block)")
    arm_type, success_type = columns[arm_column], columns[success_column]
    arm, success = _ident(arm_column), _ident(success_column)
    if arm_type != "VARCHAR" and not arm_type.startswith("ENUM"):
        raise UpdateError(f"{rel.label}: column {arm_column!r} is {arm_type}, but arm ids are text such as "
                          f"'hero_spring_sale'; name the column that holds the arm id with --arm-column")
    if success_type == "BOOLEAN":
        won, lost, bad = f"{success}", f"NOT {success}", None
    elif success_type in _INTEGER_TYPES:
        won, lost, bad = f"{success} = 1", f"{success} = 0", f"{success} NOT IN (0, 1)"
    else:
        example = _run(rel, f"SELECT {success} FROM {rel.sql} WHERE {success} IS NOT NULL LIMIT 1")
        shown = f" (e.g. {_shown(example[0][0])})" if example else ""
        raise UpdateError(f"{rel.label}: column {success_column!r} is {success_type}{shown}, but a success must be "
                          f"boolean (true/false) or an integer 0/1; convert it (e.g. in a --sql query) or name "
                          f"another column with --success-column")
    arm_text = arm if arm_type == "VARCHAR" else f"CAST({arm} AS VARCHAR)"
    # One pass: the two counts the baseline GROUP BY computes, plus nulls (and, for integers, values not 0/1).
    checks = f", count(*) FILTER (WHERE {bad}), min({success}) FILTER (WHERE {bad})" if bad else ", 0, NULL"
    rows = _run(rel, f"SELECT {arm_text}, count(*) FILTER (WHERE {won}), count(*) FILTER (WHERE {lost}), "
                     f"count(*) FILTER (WHERE {success} IS NULL){checks} FROM {rel.sql} GROUP BY ALL")
    null_arm = sum(r[1] + r[2] + r[3] + r[4] for r in rows if r[0] is None)
    if null_arm:
        raise UpdateError(f"{rel.label}: {null_arm} event{'s have' if null_arm != 1 else ' has'} no arm (null in "
                          f"column {arm_column!r}); drop or fix those rows (e.g. WHERE {arm_column} IS NOT NULL in a "
                          f"--sql query) and run again")
    null_success = sum(r[3] for r in rows)
    if null_success:
        first = next(r[0] for r in rows if r[3])
        raise UpdateError(f"{rel.label}: {null_success} event{'s have' if null_success != 1 else ' has'} a null "
                          f"{success_column!r} (e.g. for arm {first!r}); a success must be true/false or 1/0; drop "
                          f"or fix those rows and run again")
    bad_rows = sum(r[4] for r in rows)
    if bad_rows:
        value = next(r[5] for r in rows if r[4])
        raise UpdateError(f"{rel.label}: column {success_column!r} holds {_shown(value)} ({bad_rows} event"
                          f"{'s' if bad_rows != 1 else ''} other than 0 or 1); a success must be boolean or 0/1")
    return {str(r[0]): Counts(int(r[1]), int(r[2])) for r in rows}


# --- the file -------------------------------------------------------------------------------------------------


def _old_counts(arm: Any) -> Counts | None:
    posterior = arm.get("posterior") if isinstance(arm, dict) else None
    if not isinstance(posterior, dict):
        return None
    try:
        return Counts(int(posterior["successes"]), int(posterior["failures"]))
    except (KeyError, TypeError, ValueError):
        return None


def _percent(counts: Counts, decimals: int) -> str:
    exact = Decimal(counts.successes * 100) / Decimal(counts.views)
    return str(exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def _rewrite_ctr(comment: str, old: Counts, new: Counts) -> str | None:
    """``comment`` restating ``new`` if its first line states ``old`` as "N% CTR over M views", else None."""
    first, newline, rest = comment.partition("\n")
    match = _CTR_COMMENT.search(first)
    if match is None or old.views == 0 or new.views == 0 or int(match["views"]) != old.views:
        return None
    decimals = len(match["decimals"] or "")
    stated = Decimal(match["pct"])
    exact = Decimal(old.successes * 100) / Decimal(old.views)
    if abs(stated - exact) > Decimal(5).scaleb(-decimals - 1) + Decimal("1e-9"):
        return None  # not the old counts: someone wrote something else, leave it
    line = (first[:match.start()] + match["lead"] + f"{_percent(new, decimals)}% CTR over {new.views} views"
            + match["tail"])
    return line + newline + rest


def _comment_tokens(arm: CommentedMap) -> Iterator[Any]:
    """The comment tokens that can sit beside an arm's counts: after ``posterior: {...}`` or after either
    count of a block ``posterior:``."""
    item = arm.ca.items.get("posterior") if hasattr(arm, "ca") else None
    if item and len(item) > 2 and item[2] is not None:
        yield item[2]
    posterior = arm.get("posterior")
    if hasattr(posterior, "ca"):
        for key in ("successes", "failures"):
            entry = posterior.ca.items.get(key)
            if entry and len(entry) > 2 and entry[2] is not None:
                yield entry[2]


def _apply(doc: CommentedMap, updates: dict[str, Counts]) -> int:
    """Write ``updates`` (arm id -> new counts) into the round-trip document; the number of comments rewritten."""
    rewritten = 0
    for arm in doc.get("arms") or []:
        new = updates.get(str(arm.get("id")))
        if new is None:
            continue
        old = _old_counts(arm)
        posterior = arm.get("posterior")
        if not isinstance(posterior, dict):
            posterior = CommentedMap()
            posterior.fa.set_flow_style()
            keys = list(arm.keys())
            position = keys.index("prior") + 1 if "prior" in keys else len(keys)
            arm.insert(position, "posterior", posterior)
        set_number(posterior, "successes", new.successes)
        set_number(posterior, "failures", new.failures)
        if old is not None and old != new:
            for token in _comment_tokens(arm):
                text = _rewrite_ctr(token.value, old, new)
                if text is not None:
                    token.value = text
                    rewritten += 1
                    break
    return rewritten


class _Overlay:
    """The work tree with the model file replaced by its new text, and only that file in the weights folder.

    The gate validates what a change to one file can break: that file against the contracts and settings.
    Findings about other model files (a name used twice) exist with or without the update; leaving them out
    keeps ``weights update`` as fast as counting the events.
    """

    def __init__(self, root: Path, weights_dir: str, relpath: str, data: bytes) -> None:
        from validator.gate.sources import WorkTree

        self._tree = WorkTree(root)
        self._weights_dir = PurePosixPath(weights_dir)
        self._relpath = relpath
        self._data = data
        self.label = "work tree with the update"

    def list(self, folder: str) -> list[str]:
        if PurePosixPath(folder) == self._weights_dir:
            return [self._relpath]
        return self._tree.list(folder)

    def read(self, relpath: str) -> bytes | None:
        return self._data if relpath == self._relpath else self._tree.read(relpath)


def _gate(root: Path, relpath: str, text: str) -> list[Finding]:
    from validator.gate.validate import validate

    result = validate(_Overlay(root, _weights_dir(root), relpath, text.encode("utf-8")), None, [relpath])
    return [f for f in result.findings if f.path == relpath]


# --- the update -------------------------------------------------------------------------------------------------


def _source_of(root: Path, block: Any, relpath: str,
               source: str | Path | Sql | None) -> tuple[str | Path | Sql, str, bool]:
    """(source, label, from_file) from the caller's source or the file's ``update:`` block; the label names the
    source in messages (a path relative to the root where it lies inside)."""
    if isinstance(source, Sql):
        return source, "--sql", False
    if source is not None:
        path = Path(source)
        absolute = (path if path.is_absolute() else root / path).resolve()
        label = absolute.relative_to(root).as_posix() if absolute.is_relative_to(root) else str(source)
        return source, label, False
    if not isinstance(block, dict) or not (block.get("from") or block.get("sql")):
        raise UpdateError(f"{relpath} declares no update source; pass --from PATH or --sql QUERY, or add one to the "
                          f"file, e.g. update: {{from: tests/data/events.parquet}}")
    if block.get("sql"):
        return Sql(str(block["sql"])), f"update.sql of {relpath}", False
    return str(block["from"]), str(block["from"]), True


def update_bandit(
    root: Path | str,
    model: str,
    source: str | Path | Sql | None = None,
    *,
    arm_column: str | None = None,
    success_column: str | None = None,
    add: bool | None = None,
    write: bool = True,
) -> UpdateResult:
    """Set the counts of the bandit ``model`` from the events in ``source`` and write its file.

    ``source``: a Parquet/CSV path (relative paths are relative to ``root``), ``Sql(query)``, or None for the
    file's own ``update:`` block. ``arm_column``/``success_column``/``add`` left None come from the block, else
    ``arm``/``success``/totals mode. ``write=False`` computes and validates everything but writes nothing.

    Raises UpdateError (bad source or data, unknown arm; exit 2) or GateRefused (the new text fails the gate;
    exit 1). Writes atomically, and only when the text changes.
    """
    from validator.atomic import write_atomic
    from validator.gate.rules import did_you_mean
    from validator.gate.yamlload import load_bytes

    root = Path(root).resolve()
    relpath = find_model(root, model)
    path = root / relpath
    raw = path.read_bytes()
    document, problems = load_bytes(raw, relpath)
    if document is None or not isinstance(document.data, dict):
        raise GateRefused(relpath, problems, raw.decode("utf-8", "replace"))
    data = document.data
    name = str(data.get("name") or PurePosixPath(relpath).stem)
    if data.get("kind") != KIND:
        raise UpdateError(f"{relpath} is a {data.get('kind')!r} model; weights update counts events for "
                          f"{KIND} models")
    block: dict[str, Any] = data["update"] if isinstance(data.get("update"), dict) else {}
    chosen, label, from_file = _source_of(root, block, relpath, source)
    arm_column = arm_column or block.get("arm_column") or DEFAULT_ARM_COLUMN
    success_column = success_column or block.get("success_column") or DEFAULT_SUCCESS_COLUMN
    mode: Mode = "add" if (add if add is not None else block.get("mode") == "add") else "total"

    events = count_events(root, chosen, arm_column=str(arm_column), success_column=str(success_column),
                          label=label, from_file=from_file)

    arms = [a for a in data.get("arms") or [] if isinstance(a, dict)]
    arm_ids = [str(a.get("id")) for a in arms]
    holdout = data.get("holdout") if isinstance(data.get("holdout"), dict) else None
    holdout_variant = str(holdout["variant"]) if holdout and "variant" in holdout else None
    unknown = sorted(set(events) - set(arm_ids) - {holdout_variant})
    if unknown:
        named = []
        for arm_id in unknown:
            hint = did_you_mean(arm_id, arm_ids)
            named.append(f"{arm_id!r}{' (' + hint + ')' if hint else ''}")
        raise UpdateError(f"{label}: events for arm{'s' if len(unknown) != 1 else ''} {', '.join(named)} that "
                          f"{relpath} does not have (its arms: {', '.join(arm_ids)}); add the arm to the file or fix "
                          f"the events; nothing was written")

    updates: list[ArmUpdate] = []
    no_events: list[str] = []
    for arm, arm_id in zip(arms, arm_ids, strict=True):
        counted = events.get(arm_id)
        if counted is None or counted.views == 0:
            no_events.append(arm_id)
            continue
        old = _old_counts(arm)
        new = counted if mode == "total" or old is None else old + counted
        updates.append(ArmUpdate(arm_id, old, counted, new))

    rewritten = 0

    def mutate(doc: CommentedMap) -> None:
        nonlocal rewritten
        rewritten = _apply(doc, {u.arm: u.new for u in updates})

    old_text = raw.decode("utf-8")
    try:
        edited = edit_text(old_text, mutate)
    except RoundTripError as exc:
        raise UpdateError(f"{relpath}: {exc}") from None
    findings = _gate(root, relpath, edited.new_text)
    if any(f.severity is Severity.ERROR for f in findings):
        raise GateRefused(relpath, findings, edited.new_text)
    written = False
    if write and edited.changed:
        write_atomic(path, edited.new_text.encode("utf-8"))
        written = True
    held = events.get(holdout_variant) if holdout_variant else None
    return UpdateResult(
        model=name, path=relpath, source=label, mode=mode, arms=tuple(updates), no_events=tuple(no_events),
        holdout=HoldoutEvents(holdout_variant, held) if holdout_variant and held else None,
        comments=rewritten if edited.changed else 0,
        warnings=tuple(f for f in findings if f.severity is not Severity.ERROR),
        old_text=old_text, new_text=edited.new_text, written=written,
    )


def update_all(root: Path | str, *, write: bool = True) -> list[UpdateOutcome]:
    """``update_bandit`` for every bandit with an ``update:`` block, each from its own block; one model's error
    does not stop the others (the nightly workflow opens one pull request per model that changed)."""
    outcomes = []
    for name, relpath in updatable_models(root):
        try:
            result = update_bandit(root, relpath, write=write)
        except GateRefused as exc:
            outcomes.append(UpdateOutcome(name, relpath, "refused", message=str(exc), findings=tuple(exc.findings)))
        except UpdateError as exc:
            outcomes.append(UpdateOutcome(name, relpath, "error", message=str(exc)))
        else:
            outcomes.append(UpdateOutcome(name, relpath, "changed" if result.changed else "unchanged", result))
    return outcomes

