"""Rules on a model's replay dataset that hold for every kind: a query it declares must be one that may run.

``weights validate`` judges the query from its text alone (DuckDB's parser; no file is read), so a query that
is not a single SELECT, does not parse or names a file outside the repository is a finding at its ``sql:`` key
in the pull request, not a surprise when ``weights check`` replays it. Whether its files and columns exist is
the replay's business: it reads the data.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping

from validator.gate.findings import Severity
from validator.gate.rules import Problem, RuleContext, rule


def _queries(replay: object) -> Iterator[tuple[tuple, str]]:
    """(path, sql) of every ``{sql: ...}`` entry of ``replay.dataset``."""
    if not isinstance(replay, Mapping):
        return
    value = replay.get("dataset")
    if isinstance(value, Mapping) and isinstance(value.get("sql"), str):
        yield ("replay", "dataset", "sql"), value["sql"]
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, Mapping) and isinstance(item.get("sql"), str):
                yield ("replay", "dataset", i, "sql"), item["sql"]


@rule("replay.sql")
def replay_sql(ctx: RuleContext) -> Iterator[Problem]:
    """A replay dataset given as a query is one DuckDB SELECT over files of the repository, named by paths relative to its root: the gate runs it in a sandbox that refuses anything else (writing with COPY, ATTACH, INSTALL, reading /etc/passwd, ../ or a URL), so a query that would be refused is found when the file is validated, at its position.

    Bad:
        replay:
          dataset:
            sql: |
              COPY (SELECT * FROM read_parquet('tests/data/fraud_orders.parquet'))
              TO '/tmp/orders.csv'
    Good:
        replay:
          dataset:
            sql: |
              SELECT * FROM read_parquet('tests/data/fraud_orders.parquet')
              WHERE payment_method <> 'gift_card'
    """
    from validator.data.sql import SqlError, check_query

    for path, sql in _queries(ctx.data.get("replay")):
        try:
            check_query(sql)
        except SqlError as exc:
            yield Problem(path, str(exc), "the replay reads the rows of one SELECT; see docs/analyst/replay.md")


RULES = (replay_sql,)

__all__ = ["RULES", "Severity"]
