"""The condition of a guarded promotion: ``weights promote --if 'flip_rate <= 0.02 and clients >= 10'``.

The expression comes from a command line or a CI variable, so it is parsed by a small hand-written parser
into a tree of exactly four node types (comparison, and/or, not, operand) and evaluated by walking that tree:
nothing is ever handed to ``eval``, no attribute, call or subscript can be written, and a misspelt name is an
error before any measurement is read, naming its column and the names that exist.

Grammar (Python's precedence and chained comparisons, so ``0 < flip_rate <= 0.02`` means what it says)::

    expr       := conj ("or" conj)*
    conj       := neg ("and" neg)*
    neg        := "not" neg | "(" expr ")" | comparison
    comparison := operand (("<" | "<=" | ">" | ">=" | "==" | "!=") operand)+
    operand    := variable | ["-" | "+"] number

Variables (``guard_values`` computes them from a ``FleetView``; all about the candidate version):

* ``flip_rate``: the worst (largest) flip rate of any compared model (flips / shadowed requests);
* ``requests``: the fewest shadowed requests of any compared model (the evidence behind the weakest rate);
* ``clients``: distinct clients that shadowed the candidate at least once;
* ``canary_clients`` / ``live_clients``: clients serving the candidate / the live version (weights_client_info);
* ``predicted_flip_rate``: the largest flip rate the PR replay predicted (``publish --report``);
* ``score_delta``: the largest mean absolute difference of a model's main value.

A compared model is one the fleet shadowed requests of, or one the PR report predicted (the replay covers the
models a change touches, so each of them must have been measured; a model the apps never call is not). A variable
without data (no shadow request yet, a model predicted but never measured, no prediction published) makes the
whole guard fail with the reason, whatever the rest of the expression says: ``not (flip_rate > 0.02)`` and
``flip_rate <= 0.02 or clients >= 10`` never pass on missing measurements.
"""
from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from validator.publish.fleet import FleetView

VARIABLES: dict[str, str] = {
    "flip_rate": "the worst model's shadow flip rate for the candidate (flips / requests)",
    "requests": "the fewest shadowed requests of any compared model",
    "clients": "distinct clients that shadowed the candidate",
    "canary_clients": "clients serving the candidate version",
    "live_clients": "clients serving the live version",
    "predicted_flip_rate": "the largest flip rate the PR replay predicted",
    "score_delta": "the largest mean absolute score difference of a model",
}
ALLOWED = ", ".join(sorted(VARIABLES))
MAX_LENGTH = 1000  # a guard is one line; a longer text is a mistake
MAX_DEPTH = 32  # parentheses; bounds the parser's recursion far below Python's limit

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
}
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)(?:[eE][+-]?[0-9](?:_?[0-9])*)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|==|!=|<|>)
  | (?P<paren>[()])
  | (?P<sign>[-+])
""", re.VERBOSE)
_KEYWORDS = frozenset({"and", "or", "not"})


class GuardError(ValueError):
    """The guard expression is not valid: says where (``column``, 1-based) and which names exist."""

    def __init__(self, column: int | None, problem: str) -> None:
        self.column = column
        self.problem = problem
        where = "" if column is None else f"column {column}: "
        super().__init__(f"{where}{problem} (variables: {ALLOWED}; operators: < <= > >= == !=, and, or, not, "
                         "parentheses)")


@dataclass(frozen=True)
class Var:
    name: str
    column: int


@dataclass(frozen=True)
class Num:
    value: float
    column: int


Operand = Union[Var, Num]


@dataclass(frozen=True)
class Compare:
    operands: tuple[Operand, ...]
    ops: tuple[str, ...]


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    values: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    value: "Node"


Node = Union[Compare, BoolOp, Not]


@dataclass(frozen=True)
class Guard:
    """A parsed guard: its text, its tree and the variables it reads."""

    text: str
    tree: Node
    names: frozenset[str]


@dataclass
class GuardVerdict:
    """Whether the guard holds, with every variable's value (None: no data) and one reason per comparison."""

    passed: bool
    values: dict[str, float | None]
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"passed": self.passed, "values": dict(self.values), "reasons": list(self.reasons)}


@dataclass(frozen=True)
class _Token:
    kind: str  # number, name, keyword, op, paren, sign, end
    text: str
    column: int


def _tokens(text: str) -> Iterator[_Token]:
    """Tokens on demand, so the first problem in reading order is the one reported."""
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            char = text[at]
            hint = " (did you mean '=='?)" if char == "=" else \
                " (write and, or, not)" if char in "&|!" else ""
            raise GuardError(at + 1, f"unexpected {char!r}{hint}")
        kind = match.lastgroup or ""
        if kind != "space":
            word = match.group()
            yield _Token("keyword" if kind == "name" and word in _KEYWORDS else kind, word, at + 1)
        at = match.end()
    yield _Token("end", "", len(text) + 1)


class _Parser:
    def __init__(self, text: str) -> None:
        self._source = _tokens(text)
        self.tokens: list[_Token] = []
        self.at = 0

    def peek(self) -> _Token:
        while len(self.tokens) <= self.at:
            self.tokens.append(next(self._source, None) or self.tokens[-1])
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.peek()
        self.at += 1
        return token

    def fail(self, token: _Token, expected: str) -> GuardError:
        got = "the end" if token.kind == "end" else repr(token.text)
        return GuardError(token.column, f"expected {expected}, found {got}")

    def expr(self, depth: int = 0) -> Node:
        values = [self.conj(depth)]
        while self.peek().text == "or" and self.peek().kind == "keyword":
            self.take()
            values.append(self.conj(depth))
        return values[0] if len(values) == 1 else BoolOp("or", tuple(values))

    def conj(self, depth: int) -> Node:
        values = [self.neg(depth)]
        while self.peek().text == "and" and self.peek().kind == "keyword":
            self.take()
            values.append(self.neg(depth))
        return values[0] if len(values) == 1 else BoolOp("and", tuple(values))

    def neg(self, depth: int) -> Node:
        token = self.peek()
        if token.kind == "keyword" and token.text == "not":
            self.take()
            return Not(self.neg(depth + 1)) if depth < MAX_DEPTH else self._too_deep(token)
        if token.text == "(":
            if depth >= MAX_DEPTH:
                raise GuardError(token.column, f"parentheses nest deeper than {MAX_DEPTH}")
            self.take()
            inner = self.expr(depth + 1)
            close = self.take()
            if close.text != ")":
                raise self.fail(close, "')' (to close the '(' at column " f"{token.column})")
            return inner
        return self.comparison()

    def _too_deep(self, token: _Token) -> Node:
        raise GuardError(token.column, f"'not' and parentheses nest deeper than {MAX_DEPTH}")

    def comparison(self) -> Compare:
        operands = [self.operand()]
        ops: list[str] = []
        while self.peek().kind == "op":
            ops.append(self.take().text)
            operands.append(self.operand())
        if not ops:
            first = self.tokens[self.at - 1].text
            raise self.fail(self.peek(), f"a comparison (<, <=, >, >=, ==, !=) after {first!r}: every part of a "
                                         "guard compares a variable with a number")
        return Compare(tuple(operands), tuple(ops))

    def operand(self) -> Operand:
        token = self.take()
        if token.kind == "sign":
            number = self.take()
            if number.kind != "number":
                raise self.fail(number, f"a number after {token.text!r}")
            value = float(number.text)
            return Num(-value if token.text == "-" else value, token.column)
        if token.kind == "number":
            return Num(float(token.text), token.column)
        if token.kind == "name":
            if token.text not in VARIABLES:
                close = difflib.get_close_matches(token.text, VARIABLES, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise GuardError(token.column, f"{token.text!r} is not a guard variable{hint}")
            return Var(token.text, token.column)
        raise self.fail(token, "a variable or a number")


def parse_guard(text: str) -> Guard:
    """Parse a guard expression; a ``GuardError`` names the column (1-based) and what was expected there."""
    if len(text) > MAX_LENGTH:
        raise GuardError(None, f"the guard is {len(text)} characters long; at most {MAX_LENGTH}")
    if not text.strip():
        raise GuardError(None, "the guard is empty: write e.g. 'flip_rate <= 0.02 and clients >= 10'")
    parser = _Parser(text)
    tree = parser.expr()
    end = parser.peek()
    if end.kind != "end":
        raise parser.fail(end, "and, or, or the end of the guard")
    return Guard(text=text, tree=tree, names=frozenset(_names(tree)))


def _names(node: Node) -> set[str]:
    if isinstance(node, Compare):
        return {o.name for o in node.operands if isinstance(o, Var)}
    if isinstance(node, Not):
        return _names(node.value)
    return set().union(*(_names(v) for v in node.values))


def evaluate(tree: Node, values: dict[str, float]) -> bool:
    """The truth of ``tree`` for these values (every variable it reads must be present)."""
    if isinstance(tree, Compare):
        left = _value(tree.operands[0], values)
        for op, operand in zip(tree.ops, tree.operands[1:], strict=True):
            right = _value(operand, values)
            if not _COMPARE[op](left, right):
                return False
            left = right
        return True
    if isinstance(tree, Not):
        return not evaluate(tree.value, values)
    if tree.op == "and":
        return all(evaluate(v, values) for v in tree.values)
    return any(evaluate(v, values) for v in tree.values)


def _value(operand: Operand, values: dict[str, float]) -> float:
    return values[operand.name] if isinstance(operand, Var) else operand.value


def guard_values(view: "FleetView") -> tuple[dict[str, float | None], dict[str, str]]:
    """Every variable's value from a fleet view, and for each one without data, why."""
    values: dict[str, float | None] = {name: None for name in VARIABLES}
    missing: dict[str, str] = {}
    values["live_clients"] = float(view.live_clients)
    version = view.candidate_version
    if version is None:
        for name in ("flip_rate", "requests", "clients", "canary_clients", "predicted_flip_rate", "score_delta"):
            missing[name] = "the channel has no candidate version to measure"
        return values, missing
    values["canary_clients"] = float(view.canary_clients)
    values["clients"] = float(view.clients_measuring)
    models = [m for m in view.models if m.compared]
    if not models:
        reason = f"no client has shadowed a request of version {version} yet"
        missing.update(flip_rate=reason, requests=reason, score_delta=reason)
    else:
        values["requests"] = float(min(m.requests for m in models))
        unmeasured = [m.model + (f" ({m.errors} errors: the candidate raised)" if m.errors else "")
                      for m in models if m.flip_rate is None]
        if unmeasured:
            missing["flip_rate"] = (f"no shadow request of version {version} yet for "
                                    f"{', '.join(unmeasured)}")
        else:
            values["flip_rate"] = max(m.flip_rate for m in models if m.flip_rate is not None)
        deltas = [m.mean_abs_delta for m in models if m.mean_abs_delta is not None]
        if deltas:
            values["score_delta"] = max(deltas)
        else:
            missing["score_delta"] = "no model measured a score difference (kinds without a value, or no requests)"
    predictions = [m.predicted_value for m in models if m.predicted_value is not None]
    if predictions:
        values["predicted_flip_rate"] = max(predictions)
    else:
        missing["predicted_flip_rate"] = "the candidate carries no prediction (publish --canary --report FILE)"
    return values, missing


def evaluate_guard(guard: Guard, view: "FleetView") -> GuardVerdict:
    """Judge the guard on the fleet's measurements; missing data fails it, never passes it."""
    values, missing = guard_values(view)
    absent = sorted(name for name in guard.names if values[name] is None)
    if absent:
        return GuardVerdict(False, values, [f"{name} has no data: {missing[name]}" for name in absent])
    known = {name: value for name, value in values.items() if value is not None}
    reasons = [_explain(node, known) for node in _comparisons(guard.tree)]
    return GuardVerdict(evaluate(guard.tree, known), values, reasons)


def _comparisons(node: Node) -> list[Compare]:
    if isinstance(node, Compare):
        return [node]
    if isinstance(node, Not):
        return _comparisons(node.value)
    return [c for v in node.values for c in _comparisons(v)]


def _explain(node: Compare, values: dict[str, float]) -> str:
    parts = [_show(node.operands[0], values)]
    for op, operand in zip(node.ops, node.operands[1:], strict=True):
        parts += [op, _show(operand, values)]
    return f"{' '.join(parts)}: {'holds' if evaluate(node, values) else 'does not hold'}"


def _show(operand: Operand, values: dict[str, float]) -> str:
    if isinstance(operand, Num):
        return f"{operand.value:g}"
    return f"{operand.name} = {values[operand.name]:.6g}"
