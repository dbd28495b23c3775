"""The tag rule language: a small, safe expression language compiled to Ibis.

A tag in segmint.yml has a ``rule:`` over the customer profile (one row per customer_id,
one column per trait). A hand-written tokenizer and recursive-descent parser
(`segmint.tags.dsl_parse`, syntax tree in `segmint.tags.dsl_ast`) read the rule; this module
compiles it to an Ibis boolean expression, so it runs inside the engine (DuckDB or Spark).
No Python ``eval``, no attribute access, no function outside a fixed whitelist. Example::

    rule: recency_days <= 30 and monetary between 500 and 5000 and city_tier in [1, 2]

Grammar (keywords are case-insensitive; ``=`` means ``==`` and ``<>`` means ``!=``)::

    rule      = or_expr
    or_expr   = and_expr { "or" and_expr }
    and_expr  = not_expr { "and" not_expr }
    not_expr  = "not" not_expr | predicate
    predicate = sum [ ("==" | "!=" | "<" | "<=" | ">" | ">=") sum
                    | ["not"] "in" ( "[" list "]" | "(" list ")" )
                    | ["not"] "between" sum "and" sum
                    | "is" ["not"] "null"
                    | ("contains" | "starts_with") sum
                    | ("within" | "before") DURATION ]
    sum       = term { ("+" | "-") term }
    term      = unary { ("*" | "/") unary }
    unary     = "-" unary | primary
    primary   = INT | DECIMAL | STRING | "true" | "false" | "null" | DURATION
              | "date" "(" STRING ")" | FUNC "(" [ list ] ")" | COLUMN | "(" or_expr ")"
    list      = or_expr { "," or_expr } [ "," ]

* Strings take single or double quotes; ``\\'``, ``\\"``, ``\\\\``, ``\\n`` and ``\\t`` escape.
* Durations are whole numbers of hours, days or weeks: ``12h``, ``30d``, ``4w``.
* ``x within 30d`` means ``as_of - 30 days <= x <= as_of``; ``x before 30d`` means
  ``x < as_of - 30 days``. On a DATE column both work on whole days (hours are refused).
* Functions: abs, coalesce, date, days_since, greatest, least, length, lower, month,
  now / as_of (the as-of timestamp), upper, weekday (0 = Monday … 6 = Sunday), year.
  ``days_since(x)`` is ``as_of.date - x.date`` in whole days.
* ``a / b`` is NULL when ``b`` is 0 (never an engine error, whatever the ANSI setting).
* Types are checked against the profile schema before anything runs: numbers compare with
  numbers (integer and decimal mix freely), strings with strings, booleans only with ``==``
  and ``!=``, dates with timestamps (the date is cast to midnight). ``null`` may appear only
  in ``is null`` and in coalesce(); a comparison with null is refused (use ``is null``).

Null semantics: inside a rule, SQL three-valued logic applies (a comparison with a NULL
trait is unknown; ``unknown and false`` is false, ``unknown or true`` is true, ``not
unknown`` is unknown). The rule as a whole is wrapped in ``coalesce(rule, false)``, so a
customer whose result is unknown is *not* tagged. Thus a customer with a NULL monetary
satisfies neither ``monetary > 100`` nor ``not (monetary > 100)``; write ``monetary is null
or monetary <= 100`` to include them.

Every error is a TagRuleError naming the tag, what was expected or found, the line and
column (1-based) and a caret under the spot. Rules are limited to 4000 characters and 64
levels of nesting.
"""

from __future__ import annotations

import datetime as dt
import difflib
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn, cast

import ibis
import ibis.expr.datatypes as dtypes
import ibis.expr.types as ir

from segmint.tags.dsl_ast import (
    Between,
    BinOp,
    Bool,
    BoolOp,
    Call,
    Column,
    Compare,
    DateLit,
    Duration,
    InList,
    IsNull,
    Neg,
    Node,
    Not,
    Null,
    Number,
    String,
    StrMatch,
    Within,
    children,
    format_rule,
    rule_error,
)
from segmint.tags.dsl_parse import parse_rule

__all__ = ["Node", "check_rule", "compile_rule", "format_rule", "parse_rule", "rule_columns"]

_KIND_NAMES = {
    "int": "integer",
    "float": "decimal number",
    "string": "string",
    "bool": "boolean",
    "date": "date",
    "timestamp": "timestamp",
    "null": "null",
}
_NUMERIC = ("int", "float")
_TEMPORAL = ("date", "timestamp")
_IBIS_TYPES = {
    "int": dtypes.int64,
    "float": dtypes.float64,
    "string": dtypes.string,
    "bool": dtypes.boolean,
    "date": dtypes.date,
    "timestamp": dtypes.timestamp,
}
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
}
_CHECK_AS_OF = dt.datetime(2000, 1, 1)


def rule_columns(text: str, *, name: str = "<rule>") -> set[str]:
    """The profile columns a rule reads."""
    return {n.name for n in _walk(parse_rule(text, name=name)) if isinstance(n, Column)}


def compile_rule(
    text: str, table: ir.Table, *, as_of: dt.datetime, name: str = "<rule>"
) -> ir.BooleanValue:
    """Compile a rule to a never-NULL boolean expression over `table` (see the module doc).

    A timezone-aware `as_of` is converted to naive UTC, like the pipeline's as-of time.
    """
    if as_of.tzinfo is not None:
        as_of = as_of.astimezone(dt.UTC).replace(tzinfo=None)
    tree = parse_rule(text, name=name)
    result = _Compiler(text, name, table, as_of).visit(tree)
    if result.kind != "bool":
        raise rule_error(
            name,
            text,
            tree.pos,
            f"a rule must be true or false, but {_describe(result)} is not",
        )
    return cast(ir.BooleanValue, ibis.coalesce(result.expr, ibis.literal(False)))


def check_rule(text: str, schema: ibis.Schema, *, name: str = "<rule>") -> None:
    """Parse and type-check a rule against a profile schema, without any data or engine."""
    compile_rule(text, ibis.table(schema, name="profile"), as_of=_CHECK_AS_OF, name=name)


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for child in children(node):
        yield from _walk(child)


@dataclass(frozen=True)
class _Val:
    """A compiled sub-expression: its Ibis value, its kind and the node it came from."""

    expr: Any
    kind: str
    node: Node


def _describe(v: _Val) -> str:
    text = format_rule(v.node)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{text} ({_KIND_NAMES[v.kind]})"


class _Compiler:
    def __init__(self, text: str, name: str, table: ir.Table, as_of: dt.datetime) -> None:
        self.text, self.name, self.table, self.as_of = text, name, table, as_of
        self.schema = table.schema()

    def fail(self, node: Node, message: str, *, start: bool = False) -> NoReturn:
        """Fail at the node's operator, or with `start` where the node begins."""
        raise rule_error(self.name, self.text, node.pos if start else node.op_pos, message)

    def need(self, v: _Val, kinds: tuple[str, ...], what: str) -> _Val:
        if v.kind not in kinds:
            named: dict[tuple[str, ...], str] = {_NUMERIC: "number", _TEMPORAL: "date or timestamp"}
            wanted = named.get(kinds)
            wanted = wanted or " or ".join(_KIND_NAMES[k] for k in kinds)
            self.fail(v.node, f"{what} needs a {wanted}, not {_describe(v)}", start=True)
        return v

    def unify(
        self, vals: list[_Val], node: Node, what: str, *, order: bool = False, nulls: bool = False
    ) -> tuple[list[Any], str]:
        """Bring values of one family (number, string, boolean, temporal) to one type."""
        for v in vals:
            if v.kind == "null" and not nulls:
                msg = f"null cannot be compared {what}; test for it with 'is null'"
                self.fail(v.node, msg, start=True)
        real = [v for v in vals if v.kind != "null"]
        if not real:
            self.fail(node, f"{what} needs at least one value that is not null")

        def family(kind: str) -> str:
            return "number" if kind in _NUMERIC else "time" if kind in _TEMPORAL else kind

        first = real[0]
        for v in real[1:]:
            if family(v.kind) != family(first.kind):
                hint = ""
                if {family(v.kind), family(first.kind)} == {"string", "time"}:
                    hint = "; write a date as date('YYYY-MM-DD')"
                self.fail(
                    node, f"cannot compare {_describe(first)} with {_describe(v)} {what}{hint}"
                )
        kinds = {v.kind for v in real}
        if order and "bool" in kinds:
            self.fail(node, f"booleans have no order {what}; use == or !=")
        target = first.kind
        if family(target) == "number":
            target = "float" if "float" in kinds else "int"
        elif family(target) == "time":
            target = "timestamp" if "timestamp" in kinds else "date"
        exprs = [
            ibis.null().cast(_IBIS_TYPES[target])
            if v.kind == "null"
            else v.expr.cast(_IBIS_TYPES[target])
            if v.kind != target and target in ("timestamp", "float")
            else v.expr
            for v in vals
        ]
        return exprs, target

    def visit(self, node: Node) -> _Val:
        match node:
            case Number(value=value):
                kind = "int" if isinstance(value, int) else "float"
                return _Val(ibis.literal(value, type=_IBIS_TYPES[kind]), kind, node)
            case String(value=value):
                return _Val(ibis.literal(value, type=dtypes.string), "string", node)
            case Bool(value=value):
                return _Val(ibis.literal(value, type=dtypes.boolean), "bool", node)
            case Null():
                return _Val(ibis.null(), "null", node)
            case DateLit(value=value):
                return _Val(ibis.literal(value, type=dtypes.date), "date", node)
            case Duration():
                self.fail(node, "a duration such as 30d can only follow 'within' or 'before'")
            case Column(name=name):
                return self.column(node, name)
            case Call():
                return self.call(node)
            case Neg(operand=operand):
                v = self.need(self.visit(operand), _NUMERIC, "'-'")
                return _Val(-v.expr, v.kind, node)
            case Not(operand=operand):
                v = self.need(self.visit(operand), ("bool",), "'not'")
                return _Val(~v.expr, "bool", node)
            case BoolOp(op=op, operands=operands):
                exprs = [self.need(self.visit(o), ("bool",), f"'{op}'").expr for o in operands]
                combine = operator.and_ if op == "and" else operator.or_
                return _Val(_balanced(combine, exprs), "bool", node)
            case BinOp(op=op, left=left, right=right):
                a = self.need(self.visit(left), _NUMERIC, f"'{op}'")
                b = self.need(self.visit(right), _NUMERIC, f"'{op}'")
                if op == "/":
                    return _Val(a.expr / b.expr.nullif(0), "float", node)
                kind = "int" if a.kind == b.kind == "int" else "float"
                return _Val(_ARITH[op](a.expr, b.expr), kind, node)
            case Compare(op=op, left=left, right=right):
                vals = [self.visit(left), self.visit(right)]
                order = op not in ("==", "!=")
                (a, b), _ = self.unify(vals, node, f"using '{op}'", order=order)
                return _Val(_COMPARE[op](a, b), "bool", node)
            case InList(operand=operand, items=items, negated=negated):
                vals = [self.visit(operand), *(self.visit(i) for i in items)]
                kw = "not in" if negated else "in"
                (a, *rest), _ = self.unify(vals, node, f"in '{kw} [...]'")
                return _Val(a.notin(rest) if negated else a.isin(rest), "bool", node)
            case Between(operand=operand, low=low, high=high, negated=negated):
                vals = [self.visit(operand), self.visit(low), self.visit(high)]
                (a, lo, hi), _ = self.unify(vals, node, "in 'between'", order=True)
                expr = a.between(lo, hi)
                return _Val(~expr if negated else expr, "bool", node)
            case IsNull(operand=operand, negated=negated):
                v = self.visit(operand)
                return _Val(v.expr.notnull() if negated else v.expr.isnull(), "bool", node)
            case StrMatch(op=op, operand=operand, pattern=pattern):
                a = self.need(self.visit(operand), ("string",), f"'{op}'")
                b = self.need(self.visit(pattern), ("string",), f"'{op}'")
                expr = a.expr.contains(b.expr) if op == "contains" else a.expr.startswith(b.expr)
                return _Val(expr, "bool", node)
            case Within():
                return self.within(node)
        raise TypeError(f"not a rule node: {node!r}")

    def column(self, node: Node, name: str) -> _Val:
        if name not in self.schema:
            names = list(self.schema.names)
            lowered = {n.lower(): n for n in names}
            close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
            if close:
                hint = f"; did you mean '{lowered[close[0]]}'?"
            elif len(names) <= 12:
                hint = f"; the profile has: {', '.join(names)}"
            else:
                hint = f"; none of the profile's {len(names)} columns is close"
            self.fail(node, f"unknown column '{name}'{hint}")
        dtype = self.schema[name]
        kind = (
            "int"
            if dtype.is_integer()
            else "float"
            if dtype.is_floating() or dtype.is_decimal()
            else "string"
            if dtype.is_string()
            else "bool"
            if dtype.is_boolean()
            else "date"
            if dtype.is_date()
            else "timestamp"
            if dtype.is_timestamp()
            else None
        )
        if kind is None:
            self.fail(
                node,
                f"column '{name}' has type {dtype}; rules can use numbers, strings, "
                "booleans, dates and timestamps",
            )
        return _Val(self.table[name], kind, node)

    def call(self, node: Call) -> _Val:
        func = node.func
        what = f"{func}()"
        if func in ("now", "as_of"):
            return _Val(ibis.literal(self.as_of, type=dtypes.timestamp), "timestamp", node)
        args = [self.visit(a) for a in node.args]
        if func in ("coalesce", "least", "greatest"):
            exprs, kind = self.unify(
                args, node, f"in {what}", order=func != "coalesce", nulls=func == "coalesce"
            )
            fn = {"coalesce": ibis.coalesce, "least": ibis.least, "greatest": ibis.greatest}
            return _Val(fn[func](*exprs), kind, node)
        (arg,) = args
        if func == "abs":
            v = self.need(arg, _NUMERIC, what)
            return _Val(v.expr.abs(), v.kind, node)
        if func in ("lower", "upper"):
            v = self.need(arg, ("string",), what)
            return _Val(v.expr.lower() if func == "lower" else v.expr.upper(), "string", node)
        if func == "length":
            v = self.need(arg, ("string",), what)
            return _Val(v.expr.length().cast(dtypes.int64), "int", node)
        v = self.need(arg, _TEMPORAL, what)
        if func == "days_since":
            day = v.expr.date() if v.kind == "timestamp" else v.expr
            as_of_day = ibis.literal(self.as_of.date(), type=dtypes.date)
            return _Val(as_of_day.delta(day, unit="day").cast(dtypes.int64), "int", node)
        if func == "year":
            return _Val(v.expr.year().cast(dtypes.int64), "int", node)
        if func == "month":
            return _Val(v.expr.month().cast(dtypes.int64), "int", node)
        if func == "weekday":  # Ibis' day_of_week.index() is 0 = Monday on every backend
            return _Val(v.expr.day_of_week.index().cast(dtypes.int64), "int", node)
        raise TypeError(f"no compiler for function {func}()")  # FUNCTIONS and this disagree

    def within(self, node: Within) -> _Val:
        v = self.need(self.visit(node.operand), _TEMPORAL, f"'{node.op}'")
        dur = node.duration
        if v.kind == "date":
            if dur.unit == "h":
                self.fail(dur, f"{_describe(v)} has whole days; use days or weeks, not hours")
            end: dt.date = self.as_of.date()
            start = end - dt.timedelta(days=dur.amount * (7 if dur.unit == "w" else 1))
        else:
            end = self.as_of
            hours = dur.amount * {"h": 1, "d": 24, "w": 168}[dur.unit]
            start = self.as_of - dt.timedelta(hours=hours)
        lo = ibis.literal(start, type=_IBIS_TYPES[v.kind])
        if node.op == "before":
            return _Val(v.expr < lo, "bool", node)
        hi = ibis.literal(end, type=_IBIS_TYPES[v.kind])
        return _Val((v.expr >= lo) & (v.expr <= hi), "bool", node)


def _balanced(combine: Callable[[Any, Any], Any], exprs: list[Any]) -> Any:
    """Combine with a balanced tree: a long 'a or b or c …' stays shallow for the engine."""
    if len(exprs) == 1:
        return exprs[0]
    mid = len(exprs) // 2
    return combine(_balanced(combine, exprs[:mid]), _balanced(combine, exprs[mid:]))
