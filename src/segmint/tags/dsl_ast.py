"""Syntax tree, error format and canonical printer of the tag rule language.

The language itself (and its null semantics) is described in `segmint.tags.dsl`; the
tokenizer and parser are in `segmint.tags.dsl_parse`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from segmint.errors import TagRuleError

MAX_RULE_LENGTH = 4000
MAX_DEPTH = 64
MAX_DURATION_DAYS = 365_000
INT64_MAX = 2**63 - 1

KEYWORDS = frozenset(("and", "or", "not", "in", "between", "is", "null", "true", "false")) | {
    "contains",
    "starts_with",
    "within",
    "before",
}
# name -> (fewest, most) arguments; None = no upper bound.
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "abs": (1, 1),
    "as_of": (0, 0),
    "coalesce": (2, None),
    "date": (1, 1),
    "days_since": (1, 1),
    "greatest": (2, None),
    "least": (2, None),
    "length": (1, 1),
    "lower": (1, 1),
    "month": (1, 1),
    "now": (0, 0),
    "upper": (1, 1),
    "weekday": (1, 1),
    "year": (1, 1),
}
DURATION_UNITS = {"h": "hours", "d": "days", "w": "weeks"}
COMPARE_OPS = ("==", "!=", "<", "<=", ">", ">=")


def rule_error(name: str, text: str, pos: int, message: str) -> TagRuleError:
    """A TagRuleError naming the tag, the line and column (1-based) and a caret line."""
    pos = max(0, min(pos, len(text)))
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    line = text[start : len(text) if end < 0 else end]
    column = pos - start + 1
    lo = max(0, column - 61)
    shown = ("…" if lo else "") + line[lo : lo + 100] + ("…" if lo + 100 < len(line) else "")
    shown = "".join(ch if ch.isprintable() else " " for ch in shown)
    before = ("…" if lo else "") + line[lo : column - 1]
    pad = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in before)
    line_no = text.count("\n", 0, pos) + 1
    return TagRuleError(
        f"tag '{name}': {message} at line {line_no}, column {column}:\n  {shown}\n  {' ' * pad}^"
    )


# --- syntax tree ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """A node of a parsed rule; `pos` (where it starts) and `op_pos` are not compared."""

    pos: int = field(default=0, compare=False, repr=False, kw_only=True)
    op_pos: int = field(default=0, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class Number(Node):
    value: int | float


@dataclass(frozen=True)
class String(Node):
    value: str


@dataclass(frozen=True)
class Bool(Node):
    value: bool


@dataclass(frozen=True)
class Null(Node):
    pass


@dataclass(frozen=True)
class Duration(Node):
    amount: int
    unit: str  # "h", "d" or "w"


@dataclass(frozen=True)
class DateLit(Node):
    value: dt.date


@dataclass(frozen=True)
class Column(Node):
    name: str


@dataclass(frozen=True)
class Call(Node):
    func: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Neg(Node):
    operand: Node


@dataclass(frozen=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True)
class BinOp(Node):
    op: str  # + - * /
    left: Node
    right: Node


@dataclass(frozen=True)
class Compare(Node):
    op: str  # one of COMPARE_OPS
    left: Node
    right: Node


@dataclass(frozen=True)
class BoolOp(Node):
    op: str  # "and" or "or"
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class InList(Node):
    operand: Node
    items: tuple[Node, ...]
    negated: bool = False


@dataclass(frozen=True)
class Between(Node):
    operand: Node
    low: Node
    high: Node
    negated: bool = False


@dataclass(frozen=True)
class IsNull(Node):
    operand: Node
    negated: bool = False


@dataclass(frozen=True)
class StrMatch(Node):
    op: str  # "contains" or "starts_with"
    operand: Node
    pattern: Node


@dataclass(frozen=True)
class Within(Node):
    op: str  # "within" or "before"
    operand: Node
    duration: Duration


def children(node: Node) -> Iterator[Node]:
    """The direct sub-nodes of a node, in source order."""
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if isinstance(value, Node):
            yield value
        elif isinstance(value, tuple):
            yield from value


# --- canonical printer ---------------------------------------------------------------------

_PREC_OR, _PREC_AND, _PREC_NOT, _PREC_PRED, _PREC_SUM, _PREC_TERM, _PREC_NEG, _PREC_ATOM = range(
    1, 9
)


def format_rule(node: Node) -> str:
    """Canonical text of a rule: parse_rule(format_rule(tree)) == tree."""
    return _fmt(node)[0]


def _wrap(node: Node, min_prec: int) -> str:
    text, prec = _fmt(node)
    return f"({text})" if prec < min_prec else text


def _fmt(node: Node) -> tuple[str, int]:
    match node:
        case Number(value=value):
            text = _fmt_number(value)
            return text, _PREC_NEG if text.startswith("-") else _PREC_ATOM
        case String(value=value):
            escaped = "".join(
                {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\t": "\\t"}.get(c, c) for c in value
            )
            return f"'{escaped}'", _PREC_ATOM
        case Bool(value=value):
            return ("true" if value else "false"), _PREC_ATOM
        case Null():
            return "null", _PREC_ATOM
        case Duration(amount=amount, unit=unit):
            return f"{amount}{unit}", _PREC_ATOM
        case DateLit(value=value):
            return f"date('{value.isoformat()}')", _PREC_ATOM
        case Column(name=name):
            return name, _PREC_ATOM
        case Call(func=func, args=args):
            return f"{func}({', '.join(_fmt(a)[0] for a in args)})", _PREC_ATOM
        case Neg(operand=operand):
            return f"-{_wrap(operand, _PREC_NEG)}", _PREC_NEG
        case Not(operand=operand):
            return f"not {_wrap(operand, _PREC_NOT)}", _PREC_NOT
        case BinOp(op=op, left=left, right=right):
            prec = _PREC_SUM if op in "+-" else _PREC_TERM
            return f"{_wrap(left, prec)} {op} {_wrap(right, prec + 1)}", prec
        case Compare(op=op, left=left, right=right):
            return f"{_wrap(left, _PREC_SUM)} {op} {_wrap(right, _PREC_SUM)}", _PREC_PRED
        case BoolOp(op=op, operands=operands):
            prec = _PREC_OR if op == "or" else _PREC_AND
            return f" {op} ".join(_wrap(o, prec + 1) for o in operands), prec
        case InList(operand=operand, items=items, negated=negated):
            kw = "not in" if negated else "in"
            listed = ", ".join(_fmt(i)[0] for i in items)
            return f"{_wrap(operand, _PREC_SUM)} {kw} [{listed}]", _PREC_PRED
        case Between(operand=operand, low=low, high=high, negated=negated):
            kw = "not between" if negated else "between"
            bounds = f"{_wrap(low, _PREC_SUM)} and {_wrap(high, _PREC_SUM)}"
            return f"{_wrap(operand, _PREC_SUM)} {kw} {bounds}", _PREC_PRED
        case IsNull(operand=operand, negated=negated):
            kw = "is not null" if negated else "is null"
            return f"{_wrap(operand, _PREC_SUM)} {kw}", _PREC_PRED
        case (
            StrMatch(op=op, operand=operand, pattern=pattern)
            | Within(op=op, operand=operand, duration=pattern)
        ):
            return f"{_wrap(operand, _PREC_SUM)} {op} {_wrap(pattern, _PREC_SUM)}", _PREC_PRED
    raise TypeError(f"not a rule node: {node!r}")


def _fmt_number(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text if "." in text else f"{text}.0"
