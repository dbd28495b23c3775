"""The tag rule language: parser, printer, type checks and compiled results on DuckDB.

Compiled rules run on a real in-memory DuckDB and are compared row by row with an
independent Python computation (hand-written per construct, and a reference evaluator of the
syntax tree with SQL three-valued logic for the property tests).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import string
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmint.errors import ConfigError, TagRuleError
from segmint.tags import dsl_ast as A
from segmint.tags.dsl import check_rule, compile_rule, format_rule, parse_rule, rule_columns

AS_OF = dt.datetime(2026, 3, 15, 12, 0)  # a Sunday
D30 = AS_OF - dt.timedelta(days=30)

SCHEMA = ibis.schema(
    {
        "customer_id": "int64",
        "recency_days": "int64",
        "frequency": "int64",
        "monetary": "float64",
        "aov": "float64",
        "gender": "string",
        "top_category": "string",
        "city_tier": "int64",
        "last_order_at": "timestamp",
        "registered_at": "timestamp",
        "birth_date": "date",
        "is_b2b": "boolean",
        "weekend_share": "float64",
    }
)
_COLS = list(SCHEMA.names)
TS, DAY, N = dt.datetime, dt.date, None


def ago(**delta: float) -> dt.datetime:
    return AS_OF - dt.timedelta(**delta)


# customer_id, recency_days, frequency, monetary, aov, gender, top_category, city_tier,
# last_order_at, registered_at, birth_date, is_b2b, weekend_share
_ROWS = [
    (1, 5, 3, 120.5, 40.0, "F", "家居", 1, ago(days=5), TS(2020, 1, 1), DAY(1990, 5, 1), True, 0.5),
    (2, N, 0, N, N, N, N, N, N, TS(2025, 6, 1, 9), N, N, N),
    (3, 30, 10, 5e3, 500.0, "M", "美妆_50%", 2, D30, TS(2019, 2, 28), DAY(2000, 2, 29), False, 0.0),
    (4, 31, 1, 99.99, 99.99, "F", "Books", 3, ago(days=30, seconds=1), TS(2026, 3, 1),
     DAY(1985, 12, 31),
     N, 1.0),
    (5, 400, 2, 0.0, 0.0, "m", "", 1, ago(hours=-1), TS(2024, 7, 4), DAY(2026, 3, 15), True, 0.25),
    (6, 0, 7, 250.0, 35.75, "F", "beauty", N, AS_OF, TS(2026, 3, 15, 11), DAY(1970, 1, 1), False,
     N),
    (7, 12, 4, -10.0, 2.5, "M", "家居用品", 2, ago(hours=30), TS(2018, 3, 15), DAY(1999, 3, 14), N,
     0.75),
    (8, 60, 1, 1e3, 1e3, "f", "Beauty & care", 3, ago(days=60), TS(2026, 2, 14), DAY(2010, 3, 16),
     True, 0.1),
]  # fmt: skip
ROWS = [dict(zip(_COLS, r, strict=True)) for r in _ROWS]


@pytest.fixture(scope="module")
def duck() -> Callable[[list[str]], list[list[bool]]]:
    """Run many rules in one query; one list of booleans (ordered by customer_id) per rule."""
    con = ibis.duckdb.connect()
    table = ibis.memtable(pd.DataFrame(ROWS), schema=SCHEMA)

    def run(rules: list[str]) -> list[list[bool]]:
        cols = {f"r{i}": compile_rule(r, table, as_of=AS_OF) for i, r in enumerate(rules)}
        df = con.execute(table.select("customer_id", **cols).order_by("customer_id"))
        return [[bool(v) for v in df[f"r{i}"]] for i in range(len(rules))]

    return run


def _days(value: dt.date | dt.datetime) -> int:
    day = value.date() if isinstance(value, dt.datetime) else value
    return (AS_OF.date() - day).days


# --- each construct against a hand-written Python condition ------------------------------------

R = dict[str, Any]


def nn(*values: Any) -> bool:
    """None of the values is missing."""
    return all(v is not None for v in values)


def _present(*values: Any) -> list[Any]:
    return [v for v in values if v is not None]


CASES: list[tuple[str, Callable[[Any], bool | None]]] = [
    ("monetary > 100", lambda r: nn(r.monetary) and r.monetary > 100),
    ("not (monetary > 100)", lambda r: nn(r.monetary) and not r.monetary > 100),
    (
        "recency_days <= 30 AND frequency >= 3",
        lambda r: nn(r.recency_days) and r.recency_days <= 30 and r.frequency >= 3,
    ),
    (
        "recency_days = 30 Or gender <> 'F'",
        lambda r: r.recency_days == 30 or (nn(r.gender) and r.gender != "F"),
    ),
    (
        "monetary / frequency > 50",
        lambda r: nn(r.monetary) and r.frequency and r.monetary / r.frequency > 50,
    ),
    ("frequency * 2 - 1 == 5", lambda r: r.frequency * 2 - 1 == 5),
    ("-monetary > 0", lambda r: nn(r.monetary) and -r.monetary > 0),
    ("aov * 1.5 >= 60.0", lambda r: nn(r.aov) and r.aov * 1.5 >= 60.0),
    ("city_tier in [1, 2]", lambda r: r.city_tier in (1, 2)),
    ("city_tier not in (1, 2)", lambda r: nn(r.city_tier) and r.city_tier not in (1, 2)),
    ("gender in ['F', 'f']", lambda r: r.gender in ("F", "f")),
    ("monetary between 99.99 and 1000", lambda r: nn(r.monetary) and 99.99 <= r.monetary <= 1000),
    ("monetary not between 0 and 1000", lambda r: nn(r.monetary) and not 0 <= r.monetary <= 1000),
    ("gender is null", lambda r: r.gender is None),
    ("is_b2b is not null", lambda r: r.is_b2b is not None),
    ("is_b2b", lambda r: r.is_b2b is True),
    ("not is_b2b", lambda r: r.is_b2b is False),
    ("is_b2b == false", lambda r: r.is_b2b is False),
    ("top_category contains '家居'", lambda r: nn(r.top_category) and "家居" in r.top_category),
    ("top_category contains '_50%'", lambda r: nn(r.top_category) and "_50%" in r.top_category),
    ('top_category starts_with "Beauty"', lambda r: (r.top_category or "").startswith("Beauty")),
    (
        "lower(top_category) starts_with 'beauty'",
        lambda r: (r.top_category or "").lower().startswith("beauty"),
    ),
    ("upper(gender) == 'F'", lambda r: nn(r.gender) and r.gender.upper() == "F"),
    ("length(top_category) == 2", lambda r: nn(r.top_category) and len(r.top_category) == 2),
    (
        "top_category > 'B' and top_category < 'c'",
        lambda r: nn(r.top_category) and "B" < r.top_category < "c",
    ),
    ("last_order_at within 30d", lambda r: nn(r.last_order_at) and D30 <= r.last_order_at <= AS_OF),
    (
        "last_order_at within 30h",
        lambda r: nn(r.last_order_at) and ago(hours=30) <= r.last_order_at <= AS_OF,
    ),
    (
        "last_order_at within 1w",
        lambda r: nn(r.last_order_at) and ago(days=7) <= r.last_order_at <= AS_OF,
    ),
    ("last_order_at before 30d", lambda r: nn(r.last_order_at) and r.last_order_at < D30),
    ("birth_date within 1d", lambda r: nn(r.birth_date) and 0 <= _days(r.birth_date) <= 1),
    ("birth_date before 2w", lambda r: nn(r.birth_date) and _days(r.birth_date) > 14),
    (
        "days_since(last_order_at) > 30",
        lambda r: nn(r.last_order_at) and _days(r.last_order_at) > 30,
    ),
    (
        "days_since(last_order_at) == 0",
        lambda r: nn(r.last_order_at) and _days(r.last_order_at) == 0,
    ),
    ("days_since(birth_date) < 10000", lambda r: nn(r.birth_date) and _days(r.birth_date) < 10000),
    ("last_order_at > now()", lambda r: nn(r.last_order_at) and r.last_order_at > AS_OF),
    (
        "registered_at <= as_of() and registered_at >= date('2026-01-01')",
        lambda r: TS(2026, 1, 1) <= r.registered_at <= AS_OF,
    ),
    (
        "birth_date < date('1990-05-01')",
        lambda r: nn(r.birth_date) and r.birth_date < DAY(1990, 5, 1),
    ),
    (
        "birth_date < registered_at",
        lambda r: nn(r.birth_date) and TS.combine(r.birth_date, dt.time()) < r.registered_at,
    ),
    ("year(birth_date) >= 2000", lambda r: nn(r.birth_date) and r.birth_date.year >= 2000),
    ("month(registered_at) == 3", lambda r: r.registered_at.month == 3),
    ("weekday(registered_at) == 6", lambda r: r.registered_at.weekday() == 6),
    (
        "weekday(birth_date) in [0, 1]",
        lambda r: nn(r.birth_date) and r.birth_date.weekday() in (0, 1),
    ),
    ("coalesce(monetary, 0) >= 0", lambda r: (r.monetary if nn(r.monetary) else 0) >= 0),
    ("coalesce(is_b2b, true)", lambda r: r.is_b2b is not False),
    ("abs(monetary) == 10", lambda r: nn(r.monetary) and abs(r.monetary) == 10),
    ("least(monetary, aov) < 50", lambda r: min(_present(r.monetary, r.aov), default=99) < 50),
    (
        "greatest(recency_days, frequency, 10) == 10",
        lambda r: max(_present(r.recency_days, r.frequency, 10)) == 10,
    ),
    (
        "weekend_share >= 0.5 or monetary is null",
        lambda r: (nn(r.weekend_share) and r.weekend_share >= 0.5) or r.monetary is None,
    ),
    ("not (weekend_share >= 0.5) or true", lambda r: True),
    (
        "gender == 'F' and (city_tier == 1 or city_tier == 3)",
        lambda r: r.gender == "F" and r.city_tier in (1, 3),
    ),
]


@pytest.mark.parametrize(("rule", "expected"), CASES, ids=[c[0] for c in CASES])
def test_construct_matches_python(duck: Any, rule: str, expected: Callable[[Any], bool]) -> None:
    (got,) = duck([rule])
    assert got == [bool(expected(SimpleNamespace(**r))) for r in ROWS]


def test_compiled_rule_never_null_and_is_boolean() -> None:
    table = ibis.table(SCHEMA, name="profile")
    expr = compile_rule("monetary > 100", table, as_of=AS_OF)
    assert expr.type().is_boolean()
    assert "COALESCE" in ibis.to_sql(table.select(x=expr), dialect="duckdb").upper()


def test_timezone_aware_as_of_is_naive_utc() -> None:
    table = ibis.table(SCHEMA, name="profile")
    aware = dt.datetime(2026, 3, 15, 20, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    a = compile_rule("last_order_at within 30d", table, as_of=aware)
    b = compile_rule("last_order_at within 30d", table, as_of=AS_OF)
    assert a.equals(b)


def test_rule_columns_and_check_rule() -> None:
    rule = "days_since(last_order_at) > 30 and (gender == 'F' or city_tier in [1, top_n])"
    assert rule_columns(rule) == {"last_order_at", "gender", "city_tier", "top_n"}
    check_rule("monetary > 100 and last_order_at within 30d", SCHEMA, name="t")


# --- error messages ----------------------------------------------------------------------------


def _error(rule: str, name: str = "weekend_shopper") -> str:
    with pytest.raises(TagRuleError) as info:
        check_rule(rule, SCHEMA, name=name)
    assert isinstance(info.value, ConfigError)
    return str(info.value)


def test_parse_error_names_tag_position_and_caret() -> None:
    assert _error("weekend_share >=  and x") == (
        "tag 'weekend_shopper': expected a value after '>=' but found 'and' at line 1, "
        "column 19:\n  weekend_share >=  and x\n                    ^"
    )


def test_error_on_a_later_line_points_into_that_line() -> None:
    msg = _error("is_b2b\n  and monetary >\n")
    assert "expected a value after '>' but found the end of the rule at line 3, column 1" in msg
    msg = _error("is_b2b and\n  gender > 5")
    assert msg.endswith("at line 2, column 10:\n    gender > 5\n           ^")
    assert "cannot compare gender (string) with 5 (integer) using '>'" in msg


def test_caret_under_wide_characters() -> None:
    msg = _error("top_category == '家居' and 性别 > 1")
    assert "unexpected character '性'" in msg
    # '家居' is two double-width characters: the caret moves four cells for them.
    assert "column 26" in msg
    assert msg.endswith("\n  top_category == '家居' and 性别 > 1\n" + " " * (2 + 25 + 2) + "^")


@pytest.mark.parametrize(
    ("rule", "parts"),
    [
        ("monetory > 100", ["unknown column 'monetory'; did you mean 'monetary'?", "column 1"]),
        ("Gender == 'F'", ["did you mean 'gender'?"]),
        ("zzz > 1", ["unknown column 'zzz'; none of the profile's 13 columns is close"]),
        ("foo(monetary) > 1", ["unknown function 'foo'", "allowed: abs, as_of, coalesce"]),
        ("lowr(gender) == 'f'", ["unknown function 'lowr'; did you mean 'lower'?"]),
        ("abs(monetary, 1) > 1", ["abs() takes 1 argument(s) but got 2", "column 4"]),
        ("gender > 5", ["cannot compare gender (string) with 5 (integer) using '>'", "column 8"]),
        ("gender + 1 > 2", ["'+' needs a number, not gender (string)", "column 1"]),
        ("monetary + 1", ["a rule must be true or false, but monetary + 1 (decimal number)"]),
        ("gender within 30d", ["'within' needs a date or timestamp, not gender (string)"]),
        ("birth_date within 12h", ["birth_date (date) has whole days; use days or weeks"]),
        ("birth_date > '2000-01-01'", ["write a date as date('YYYY-MM-DD')"]),
        ("monetary == null", ["null cannot be compared using '=='; test for it with 'is null'"]),
        ("least(monetary, null) > 1", ["null cannot be compared in least()", "column 17"]),
        ("weekday(gender) == 1", ["weekday() needs a date or timestamp, not gender (string)"]),
        ("not frequency", ["'not' needs a boolean, not frequency (integer)", "column 5"]),
        ("is_b2b < true", ["booleans have no order"]),
        ("monetary > 1 and gender", ["'and' needs a boolean, not gender (string)", "column 18"]),
        ("last_order_at > 30d", ["a duration such as 30d can only follow 'within' or 'before'"]),
        ("recency_days > 6m", ["unknown duration '6m'; units are h (hours), d (days), w (weeks)"]),
        ("last_order_at within 1.5d", ["a duration must be a whole number"]),
        ("last_order_at within 30", ["expected a duration such as 30d, 12h or 4w after 'within'"]),
        ("1 < frequency < 3", ["comparisons cannot be chained"]),
        ("monetary betwen 1 and 2", ["did you mean 'between'?", "column 10"]),
        ("city_tier in []", ["the list after 'in' is empty"]),
        ("city_tier in [1, 2", ["expected ',' or ']' in the list but found the end of the rule"]),
        ("gender == 'F", ["unterminated string", "column 11"]),
        ("gender == 'a\\qb'", ["unknown escape"]),
        ("gender != 'x' ! 1", ["unexpected character '!'"]),
        ("birth_date > date('2026-02-30')", ["'2026-02-30' is not a valid date"]),
        ("birth_date > date(20260101)", ["date() takes one 'YYYY-MM-DD' string"]),
        ("frequency > 99999999999999999999", ["is too large"]),
        ("   ", ["the rule is empty", "line 1, column 1"]),
        ("gender is 'F'", ["expected 'null' after 'is' but found 'F'"]),
        ("gender not like 'F'", ["expected 'in' or 'between' after 'not'"]),
        ("(monetary > 1", ["expected ')' but found the end of the rule"]),
        ("monetary > 1)", ["expected 'and', 'or' or the end of the rule but found ')'"]),
        ("coalesce(null, null) is null", ["coalesce() needs at least one value that is not null"]),
    ],
)
def test_error_messages(rule: str, parts: list[str]) -> None:
    msg = _error(rule)
    assert msg.startswith("tag 'weekend_shopper': ")
    assert "\n  " in msg and msg.endswith("^")
    for part in parts:
        assert part in msg


def test_unknown_column_lists_a_short_profile() -> None:
    with pytest.raises(TagRuleError, match=r"unknown column 'x'; the profile has: a, b at line"):
        check_rule("x > 1", ibis.schema({"a": "int64", "b": "string"}), name="t")


def test_unsupported_column_type() -> None:
    schema = ibis.schema({"tags": "array<string>"})
    with pytest.raises(TagRuleError, match=r"column 'tags' has type array<string>"):
        check_rule("tags is null", schema, name="t")


def test_limits_on_length_and_depth() -> None:
    assert "the limit is 4000" in _error("monetary > 1 or " * 300 + "true")
    assert "nested too deeply (more than 64 levels)" in _error("(" * 65 + "is_b2b" + ")" * 65)
    assert "nested too deeply" in _error("not " * 70 + "is_b2b")
    assert "nested too deeply" in _error("frequency" + " + 1" * 70 + " > 1")
    check_rule("(" * 60 + "is_b2b" + ")" * 60, SCHEMA)  # deep but allowed
    # a long flat 'or' chain is not deep: it compiles to a balanced tree
    check_rule(" or ".join(f"frequency == {i}" for i in range(150)), SCHEMA)


# --- property tests ----------------------------------------------------------------------------

_NUM_COLS = ["recency_days", "frequency", "monetary", "aov", "city_tier", "weekend_share"]
_STR_COLS = ["gender", "top_category"]
_TIME_COLS = ["last_order_at", "registered_at", "birth_date"]
_INTS = st.integers(-3, 400).map(lambda v: A.Number(v))
# Dyadic decimals: exact as DOUBLE and as SQL DECIMAL literals, so no rounding differences.
_FLOATS = st.sampled_from([0.0, 0.25, 0.5, 2.5, 35.75, 99.5, 120.5, 1000.0]).map(A.Number)
_STRS = st.sampled_from(["F", "M", "f", "家居", "Books", "beauty", "", "_50%", "B", "家"]).map(
    A.String
)


def _col(names: list[str]) -> st.SearchStrategy[A.Node]:
    return st.sampled_from(names).map(A.Column)


_NUM_BASE = st.one_of(
    _col(_NUM_COLS),
    st.builds(
        lambda f, c: A.Call(f, (A.Column(c),)),
        st.sampled_from(["days_since", "year", "month", "weekday"]),
        st.sampled_from(_TIME_COLS),
    ),
    st.builds(lambda c: A.Call("length", (A.Column(c),)), st.sampled_from(_STR_COLS)),
)


def _num_step(sub: st.SearchStrategy[A.Node]) -> st.SearchStrategy[A.Node]:
    other = sub | _INTS | _FLOATS
    return st.one_of(
        st.builds(A.BinOp, st.sampled_from("+-*/"), sub, other),
        st.builds(A.Neg, sub),
        st.builds(lambda a: A.Call("abs", (a,)), sub),
        st.builds(
            lambda f, a, b: A.Call(f, (a, b)),
            st.sampled_from(["coalesce", "least", "greatest"]),
            sub,
            other,
        ),
    )


# A numeric expression that reads at least one column (so never literal-only arithmetic).
NUM_WITH_COLUMN = st.recursive(_NUM_BASE, _num_step, max_leaves=4)
NUM = NUM_WITH_COLUMN | _INTS | _FLOATS


def _str() -> st.SearchStrategy[A.Node]:
    col = _col(_STR_COLS)
    return (
        col
        | _STRS
        | st.builds(lambda f, c: A.Call(f, (c,)), st.sampled_from(["lower", "upper"]), col)
        | st.builds(lambda c, s: A.Call("coalesce", (c, s)), col, _STRS)
    )


def _time() -> st.SearchStrategy[A.Node]:
    dates = st.dates(dt.date(1985, 1, 1), dt.date(2026, 4, 1)).map(A.DateLit)
    return _col(_TIME_COLS) | dates | st.just(A.Call("now", ()))


def _predicate() -> st.SearchStrategy[A.Node]:
    ops = st.sampled_from(A.COMPARE_OPS)
    num, text, time = NUM, _str(), _time()
    # amounts that land exactly on a row's timestamp test the inclusive bounds
    days = st.sampled_from([0, 1, 5, 30, 60]) | st.integers(0, 400)
    dur = st.builds(A.Duration, days, st.sampled_from("dw"))
    return st.one_of(
        st.builds(A.Compare, ops, num, num),
        st.builds(A.Compare, ops, text, text),
        st.builds(A.Compare, ops, time, time),
        st.builds(A.InList, num, st.lists(num, min_size=1, max_size=3).map(tuple), st.booleans()),
        st.builds(
            A.InList, text, st.lists(_STRS, min_size=1, max_size=3).map(tuple), st.booleans()
        ),
        st.builds(A.Between, num, num, num, st.booleans()),
        st.builds(A.Between, time, time, time, st.booleans()),
        st.builds(A.IsNull, num | text | time, st.booleans()),
        st.builds(A.StrMatch, st.sampled_from(["contains", "starts_with"]), text, text),
        st.builds(A.Within, st.sampled_from(["within", "before"]), _col(_TIME_COLS), dur),
        st.builds(
            A.Within,
            st.sampled_from(["within", "before"]),
            st.sampled_from(["last_order_at", "registered_at"]).map(A.Column),
            st.builds(
                A.Duration, st.sampled_from([0, 30, 120]) | st.integers(0, 2000), st.just("h")
            ),
        ),
        st.just(A.Column("is_b2b")),
        st.sampled_from([A.Bool(True), A.Bool(False)]),
        st.builds(
            lambda a: A.Call("coalesce", (A.Column("is_b2b"), a)),
            st.sampled_from([A.Bool(True), A.Bool(False)]),
        ),
    )


BOOL_RULES = st.recursive(
    _predicate(),
    lambda sub: (
        st.builds(A.Not, sub)
        | st.builds(
            A.BoolOp,
            st.sampled_from(["and", "or"]),
            st.lists(sub, min_size=2, max_size=3).map(tuple),
        )
    ),
    max_leaves=6,
)


def _and3(values: list[bool | None]) -> bool | None:
    return False if False in values else None if None in values else True


def _or3(values: list[bool | None]) -> bool | None:
    return True if True in values else None if None in values else False


def _not3(value: bool | None) -> bool | None:
    return None if value is None else not value


def _same_kind(a: Any, b: Any) -> tuple[Any, Any]:
    if isinstance(a, dt.datetime) and not isinstance(b, dt.datetime):
        return a, dt.datetime.combine(b, dt.time())
    if isinstance(b, dt.datetime) and not isinstance(a, dt.datetime):
        return dt.datetime.combine(a, dt.time()), b
    return a, b


_PY_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def reference(node: A.Node, row: R) -> Any:
    """Evaluate a rule tree on one row in Python, with SQL three-valued logic."""

    def ev(n: A.Node) -> Any:
        return reference(n, row)

    match node:
        case A.Number(value=v) | A.String(value=v) | A.Bool(value=v) | A.DateLit(value=v):
            return v
        case A.Null():
            return None
        case A.Column(name=name):
            return row[name]
        case A.Neg(operand=o):
            v = ev(o)
            return None if v is None else -v
        case A.Not(operand=o):
            return _not3(ev(o))
        case A.BoolOp(op=op, operands=ops):
            return (_and3 if op == "and" else _or3)([ev(o) for o in ops])
        case A.BinOp(op=op, left=left, right=right):
            a, b = ev(left), ev(right)
            if a is None or b is None or (op == "/" and b == 0):
                return None
            return {"+": a + b, "-": a - b, "*": a * b}[op] if op != "/" else a / b
        case A.Compare(op=op, left=left, right=right):
            a, b = ev(left), ev(right)
            return None if a is None or b is None else _PY_COMPARE[op](*_same_kind(a, b))
        case A.InList(operand=o, items=items, negated=neg):
            v, vals = ev(o), [ev(i) for i in items]
            hit = None if v is None else _or3([None if x is None else x == v for x in vals])
            return _not3(hit) if neg else hit
        case A.Between(operand=o, low=lo, high=hi, negated=neg):
            v, a, b = ev(o), ev(lo), ev(hi)
            ge = None if v is None or a is None else _PY_COMPARE[">="](*_same_kind(v, a))
            le = None if v is None or b is None else _PY_COMPARE["<="](*_same_kind(v, b))
            return _not3(_and3([ge, le])) if neg else _and3([ge, le])
        case A.IsNull(operand=o, negated=neg):
            return (ev(o) is not None) if neg else (ev(o) is None)
        case A.StrMatch(op=op, operand=o, pattern=p):
            a, b = ev(o), ev(p)
            if a is None or b is None:
                return None
            return b in a if op == "contains" else a.startswith(b)
        case A.Within(op=op, operand=o, duration=d):
            v = ev(o)
            if v is None:
                return None
            hours = d.amount * {"h": 1, "d": 24, "w": 168}[d.unit]
            if isinstance(v, dt.datetime):
                start, end = AS_OF - dt.timedelta(hours=hours), AS_OF
            else:
                end = AS_OF.date()
                start = end - dt.timedelta(hours=hours)
            return v < start if op == "before" else start <= v <= end
        case A.Call(func=f, args=args):
            if f == "now":
                return AS_OF
            vals = [ev(a) for a in args]
            present = [v for v in vals if v is not None]
            if f == "coalesce":
                return present[0] if present else None
            if f in ("least", "greatest"):
                return (min if f == "least" else max)(present) if present else None
            (v,) = vals
            if v is None:
                return None
            return {
                "abs": abs,
                "lower": str.lower,
                "upper": str.upper,
                "length": len,
                "days_since": _days,
                "year": lambda x: x.year,
                "month": lambda x: x.month,
                "weekday": lambda x: x.weekday(),
            }[f](v)
    raise AssertionError(node)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(BOOL_RULES, min_size=15, max_size=15))
def test_random_rules_match_reference_evaluator(duck: Any, trees: list[A.Node]) -> None:
    texts = [format_rule(t) for t in trees]
    results = duck(texts)
    for text, tree, got in zip(texts, trees, results, strict=True):
        want = [reference(tree, row) is True for row in ROWS]
        assert got == want, text


# Untyped trees for the printer round trip: every node kind, any literal.
_IDENT = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True).filter(
    lambda s: s.lower() not in A.KEYWORDS
)
_ANY_LEAF = st.one_of(
    st.integers(-(2**63) + 1, 2**63 - 1).map(A.Number),
    st.floats(-1e12, 1e12, allow_nan=False).filter(lambda f: f == 0 or abs(f) > 1e-9).map(A.Number),
    st.text(max_size=8).map(A.String),
    st.booleans().map(A.Bool),
    st.just(A.Null()),
    st.builds(A.Duration, st.integers(0, 5000), st.sampled_from("hdw")),
    st.dates().map(A.DateLit),
    _IDENT.map(A.Column),
    st.just(A.Call("now", ())),
)


_DURATIONS = st.builds(A.Duration, st.integers(0, 99), st.sampled_from("hdw"))


def _any_tree(sub: st.SearchStrategy[A.Node]) -> st.SearchStrategy[A.Node]:
    pair = st.tuples(sub, sub)
    some = st.lists(sub, min_size=1, max_size=3).map(tuple)
    return st.one_of(
        sub.filter(lambda n: not isinstance(n, A.Number)).map(A.Neg),
        st.builds(A.Not, sub),
        st.builds(lambda o, p: A.BinOp(o, *p), st.sampled_from("+-*/"), pair),
        st.builds(lambda o, p: A.Compare(o, *p), st.sampled_from(A.COMPARE_OPS), pair),
        st.builds(
            A.BoolOp,
            st.sampled_from(["and", "or"]),
            st.lists(sub, min_size=2, max_size=3).map(tuple),
        ),
        st.builds(A.InList, sub, some, st.booleans()),
        st.builds(A.Between, sub, sub, sub, st.booleans()),
        st.builds(A.IsNull, sub, st.booleans()),
        st.builds(A.StrMatch, st.sampled_from(["contains", "starts_with"]), sub, sub),
        st.builds(A.Within, st.sampled_from(["within", "before"]), sub, _DURATIONS),
        st.builds(
            lambda f, a: A.Call(f, (a,)),
            st.sampled_from(["abs", "lower", "days_since", "weekday"]),
            sub,
        ),
        st.builds(
            lambda f, a: A.Call(f, a),
            st.sampled_from(["coalesce", "least"]),
            st.lists(sub, min_size=2, max_size=3).map(tuple),
        ),
    )


ANY_TREES = st.recursive(_ANY_LEAF, _any_tree, max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(ANY_TREES)
def test_format_then_parse_round_trips(tree: A.Node) -> None:
    text = format_rule(tree)
    assert parse_rule(text) == tree
    assert format_rule(parse_rule(text)) == text


_TOKENS = st.sampled_from(
    [*sorted(A.KEYWORDS), "==", "=", "!=", "<>", "<", ">=", "+", "-", "*", "/", "(", ")", "[",
     "]", ",", "monetary", "gender", "last_order_at", "birth_date", "is_b2b", "1", "2.5", "30d",
     "'F'", '"家居"', "date('2026-01-01')", "now()", "coalesce(", "days_since(", "abs(", "\n"]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60) | st.lists(_TOKENS, max_size=12).map(" ".join))
def test_any_text_fails_only_with_tag_rule_error(text: str) -> None:
    try:
        check_rule(text, SCHEMA, name="fuzz")
    except TagRuleError as exc:
        assert str(exc).startswith("tag 'fuzz': ")
        assert " at line " in str(exc)


@given(st.text(alphabet=string.printable + "家居性", max_size=40))
@settings(max_examples=100, deadline=None)
def test_parse_never_raises_anything_else(text: str) -> None:
    with contextlib.suppress(TagRuleError):
        parse_rule(text)
