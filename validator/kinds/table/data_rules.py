"""The checks of a table's data file, as documented rules: a stable id, a severity, a docstring with a bad and a
good example (CSV this time, with the header that declares it).

They are not semantic rules of the header (``rules.py``): their findings point into the data file, line and
column, and ``attachments.resolve`` raises them while reading it. They share the ``Rule`` shape so the rule
reference can list them next to the header rules; their ``check`` is never called by the rule engine.
``tests/rule_examples/<id>/`` holds a bad and a good header + CSV pair for each.
"""
from __future__ import annotations

from collections.abc import Iterator

from validator.gate.findings import Severity
from validator.gate.rules import Problem, Rule, RuleContext, rule

KINDS = ["table"]


def _read_by_attachments(ctx: RuleContext) -> Iterator[Problem]:
    """Data rules are raised by ``attachments.resolve`` with positions in the data file, not by the rule engine."""
    return iter(())


def _data_rule(rule_id: str, doc: str) -> Rule:
    def check(ctx: RuleContext) -> Iterator[Problem]:
        return _read_by_attachments(ctx)

    check.__doc__ = doc
    check.__name__ = rule_id.replace(".", "_").replace("-", "_")
    return rule(rule_id, Severity.ERROR, kinds=KINDS)(check)


FILE = _data_rule("table.file", """The header's data file exists beside it, exactly one of `<name>.csv` and
    `<name>.parquet` (or the one `file:` names), and is within the size limit.

    Bad:
        # weights/category_boost.yaml, and no weights/category_boost.csv nor .parquet
        file: category_boosts.csv
    Good:
        # weights/category_boost.yaml beside weights/category_boost.csv
        kind: table
        name: category_boost
    """)

LINE_ENDINGS = _data_rule("table.line-endings", """Lines end with LF or CRLF: a lone carriage return (classic Mac)
    makes every line number wrong.

    Bad:
        category_id,country,boost\\r17,DE,1.2\\r
    Good:
        category_id,country,boost
        17,DE,1.2
    """)

ENCODING = _data_rule("table.encoding", """The data file is UTF-8 (a byte order mark is fine): a Latin-1 export turns
    "Zürich" into bytes no reader agrees on.

    Bad:
        city,boost
        Z\\xfcrich,1.2
    Good:
        city,boost
        Zürich,1.2
    """)

HEADER = _data_rule("table.header", """The first line names every declared column once, and nothing else: a missing,
    misspelt, repeated or undeclared column means the header and the rows disagree about what a number is.

    Bad:
        # keys: category_id, country; values: boost, pinned_slots
        category_id,country,bost,pinned_slots
    Good:
        category_id,country,boost,pinned_slots
    """)

FIELDS = _data_rule("table.fields", """Every line has as many fields as the header: a stray comma shifts every value
    after it into the wrong column.

    Bad:
        category_id,country,boost,pinned_slots
        17,DE,1,2,0
    Good:
        category_id,country,boost,pinned_slots
        17,DE,1.2,0
    """)

TYPE = _data_rule("table.type", """Each cell has its column's declared type: integers are whole numbers, numbers parse
    as numbers, booleans are true/false.

    Bad:
        # values: [{column: pinned_slots, type: integer}]
        category_id,country,boost,pinned_slots
        17,DE,1.2,two
    Good:
        category_id,country,boost,pinned_slots
        17,DE,1.2,2
    """)

EMPTY = _data_rule("table.empty-cell", """No cell is empty: an empty key matches nothing and an empty value has no
    honest default (write the default row's value if that is what you mean).

    Bad:
        category_id,country,boost,pinned_slots
        17,DE,,0
    Good:
        category_id,country,boost,pinned_slots
        17,DE,1.0,0
    """)

NOT_FINITE = _data_rule("table.not-finite", """Number cells are finite: NaN and inf propagate into every score they
    touch.

    Bad:
        category_id,country,boost,pinned_slots
        17,DE,NaN,0
    Good:
        category_id,country,boost,pinned_slots
        17,DE,1.2,0
    """)

RANGE = _data_rule("table.range", """Values lie within their column's declared min and max, and category values among
    its declared `values`: a boost of 12 where 1.2 was meant is a unit slip the header's range catches.

    Bad:
        # values: [{column: boost, type: number, min: 0.5, max: 3.0}]
        category_id,country,boost,pinned_slots
        17,DE,12,0
    Good:
        category_id,country,boost,pinned_slots
        17,DE,1.2,0
    """)

DUPLICATE_KEY = _data_rule("table.duplicate-key", """Each key appears on one row only: with two rows for one key,
    which one the app gets would depend on the order of the file.

    Bad:
        category_id,country,boost,pinned_slots
        17,DE,1.2,0
        17,DE,1.4,0
    Good:
        category_id,country,boost,pinned_slots
        17,DE,1.2,0
        17,AT,1.4,0
    """)

KEY_SENDABLE = _data_rule("table.key-sendable", """Every key is one the app can send, per its contract: a country the
    contract does not list, or an id outside the input's range, is a row no request ever reads.

    Bad:
        # contract: country: {type: category, values: [DE, AT, CH, NL, BE, FR, 'NO', DK]}
        category_id,country,boost,pinned_slots
        17,UK,1.2,0
    Good:
        category_id,country,boost,pinned_slots
        17,DE,1.2,0
    """)

DATA_RULES: tuple[Rule, ...] = (FILE, LINE_ENDINGS, ENCODING, HEADER, FIELDS, TYPE, EMPTY, NOT_FINITE, RANGE,
                                DUPLICATE_KEY, KEY_SENDABLE)

__all__ = ["DATA_RULES"]
