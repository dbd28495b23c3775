"""Parsers and normalisers: unit cases plus property tests, evaluated on DuckDB."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import ibis
import ibis.expr.types as ir
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from segmint.identity.normalize import half_width
from segmint.ingest.parse import normalise_phone, normalise_text, parse_column
from segmint.project.entities import CUSTOMERS, ORDERS

AS_OF = dt.datetime(2026, 11, 1)
_con = ibis.duckdb.connect()


def evaluate(values: list[str | None], build: Callable[[ir.StringValue], ir.Value]) -> list:
    """Apply an expression to each text value on DuckDB and return the results in order."""
    table = ibis.memtable(
        {"i": list(range(len(values))), "v": values}, schema={"i": "int64", "v": "string"}
    )
    return _con.to_pyarrow(table.mutate(out=build(table.v)).order_by("i"))["out"].to_pylist()


def parse(values: list[str | None], column_name: str, entity=ORDERS, offset: float = 8.0):
    column = entity.column(column_name)
    table = ibis.memtable(
        {"i": list(range(len(values))), "v": values}, schema={"i": "int64", "v": "string"}
    )
    text = normalise_text(table.v)
    step = table.mutate(t=text)
    parsed = parse_column(
        step.t, column, utc_offset_hours=offset, as_of=AS_OF, tolerance_hours=24, max_age_years=120
    )
    step = step.mutate(value=parsed.value)
    step = step.mutate(rule=parsed.rule(step.t, step.value))
    frame = _con.to_pyarrow(step.order_by("i"))
    return frame["value"].to_pylist(), frame["rule"].to_pylist()


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-03-05 14:03:00", "2026-03-05 06:03:00"),
        ("2026-03-05T14:03:00+08:00", "2026-03-05 06:03:00"),
        ("2026-03-05T06:03:00Z", "2026-03-05 06:03:00"),
        ("2026-03-05T14:03:00+0800", "2026-03-05 06:03:00"),
        ("2026/3/5 14:03", "2026-03-05 06:03:00"),
        ("2026.3.5 14:03", "2026-03-05 06:03:00"),
        ("2026年3月5日 14:03", "2026-03-05 06:03:00"),
        ("２０２６年３月５日 １４:０３", "2026-03-05 06:03:00"),
        ("2026年3月5日", "2026-03-04 16:00:00"),
        ("20260305", "2026-03-04 16:00:00"),
        ("20260305140300", "2026-03-05 06:03:00"),
        ("2026年3月5日14时03分", "2026-03-05 06:03:00"),
        ("2026年3月5日 14时03分20秒", "2026-03-05 06:03:20"),
        ("2026.3.5 14:03:00.5", "2026-03-05 06:03:00.500000"),
        ("2026-3-5T14:03+08:00", "2026-03-05 06:03:00"),
        ("2026/03/05 14:03:00Z", "2026-03-05 14:03:00"),
        ("2026-03-05T14:03:00.250-05:00", "2026-03-05 19:03:00.250000"),
    ],
)
def test_timestamp_formats(text: str, utc: str) -> None:
    values, rules = parse([text], "ordered_at")
    assert rules == [None]
    assert str(values[0]) == utc


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("2026-02-30 10:00", "unparseable_timestamp"),
        ("not a date", "unparseable_timestamp"),
        ("2026-13-01", "unparseable_timestamp"),
        ("12026-01-01", "unparseable_timestamp"),
        ("2026-3-5 ", None),
        ("2026-03-05 25:00", "unparseable_timestamp"),
        ("2030-01-01", "future_timestamp"),
        ("1960-01-01", "implausible_timestamp"),
        ("", "missing_required"),
    ],
)
def test_timestamp_rules(text: str, rule: str | None) -> None:
    assert parse([text], "ordered_at")[1] == [rule]


@pytest.mark.parametrize(
    ("text", "value", "rule"),
    [
        ("¥1,234.50", "1234.50", None),
        ("￥88", "88.00", None),
        ("12元", "12.00", None),
        ("RMB 1,000", "1000.00", None),
        ("$3.20", "3.20", None),
        ("-5", "-5.00", "negative_amount"),
        ("2000000", "2000000.00", "absurd_amount"),
        ("abc", None, "unparseable_amount"),
        ("1.2.3", None, "unparseable_amount"),
    ],
)
def test_money(text: str, value: str | None, rule: str | None) -> None:
    values, rules = parse([text], "amount")
    assert rules == [rule]
    assert (None if values[0] is None else f"{values[0]:.2f}") == value


@pytest.mark.parametrize(
    ("text", "e164"),
    [
        ("13812345678", "+8613812345678"),
        ("+86 138 1234 5678", "+8613812345678"),
        ("0086-138-1234-5678", "+8613812345678"),
        ("86 13812345678", "+8613812345678"),
        ("８６１３８１２３４５６７８", "+8613812345678"),
        ("(010) 1234-5678", "+861012345678"),
        ("0755 8888 9999", "+8675588889999"),
        ("+1 415 555 2671", "+14155552671"),
        ("12345", None),
        ("138123456789", None),
        ("12812345678", None),
    ],
)
def test_phone_normalisation(text: str, e164: str | None) -> None:
    assert evaluate([text], lambda v: normalise_phone(normalise_text(v))) == [e164]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (" Foo@Bar.COM ", "foo@bar.com"),
        ("ok.name+tag@mail.example.cn", "ok.name+tag@mail.example.cn"),
        ("a@b", None),
        ("x..y@z.com", None),
        ("no-at-sign.com", None),
    ],
)
def test_email(text: str, value: str | None) -> None:
    values, rules = parse([text], "email")
    assert values == [value]
    assert rules == [None if value else "malformed_email"]


def test_enum_is_case_insensitive_and_canonical() -> None:
    values, rules = parse(["PAID", "Refunded", "shipped"], "status")
    assert values[:2] == ["paid", "refunded"]
    assert rules == [None, None, "unknown_enum"]


def test_birth_date_age_range() -> None:
    _, rules = parse(["1990-01-01", "1800-01-01", "2030-01-01"], "birth_date", entity=CUSTOMERS)
    assert rules == [None, "age_out_of_range", "age_out_of_range"]


# -- properties ---------------------------------------------------------------------------

mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
FULL = str.maketrans("0123456789", "０１２３４５６７８９")


def _decorate(number: str, style: int) -> str:
    return [
        number,
        f"+86 {number[:3]} {number[3:7]} {number[7:]}",
        f"0086-{number[:3]}-{number[3:7]}-{number[7:]}",
        f"86{number}",
        number.translate(FULL),
        f" {number} ",
    ][style]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(mobiles, st.integers(0, 5)), min_size=1, max_size=30))
def test_phone_normalisation_is_idempotent_and_injective(cases: list[tuple[str, int]]) -> None:
    texts = [_decorate(number, style) for number, style in cases]
    once = evaluate(texts, lambda v: normalise_phone(normalise_text(v)))
    twice = evaluate(once, lambda v: normalise_phone(normalise_text(v)))
    assert once == twice
    assert once == [f"+86{number}" for number, _ in cases]
    # never maps two different valid numbers to one
    by_value: dict[str, str] = {}
    for (number, _), value in zip(cases, once, strict=True):
        assert by_value.setdefault(value, number) == number


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2026, 10, 1)),
            st.sampled_from(
                [
                    "%Y-%m-%d %H:%M:%S",
                    "%Y/%m/%d %H:%M:%S",
                    "%Y年%m月%d日 %H:%M:%S",
                    "%Y%m%d%H%M%S",
                    "%Y-%m-%dT%H:%M:%S+08:00",
                ]
            ),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_timestamps_round_trip_through_every_format(cases: list[tuple[dt.datetime, str]]) -> None:
    texts = [moment.strftime(fmt) for moment, fmt in cases]
    values, rules = parse(texts, "ordered_at", offset=8.0)
    assert rules == [None] * len(cases)
    for (moment, _), value in zip(cases, values, strict=True):
        assert value == moment.replace(microsecond=0) - dt.timedelta(hours=8)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 99_999_999), min_size=1, max_size=20))
def test_money_round_trips_with_separators_and_symbols(cents: list[int]) -> None:
    texts = [f"￥{c / 100:,.2f}" for c in cents]
    values, rules = parse(texts, "amount")
    assert rules == [None] * len(cents)
    assert [round(float(v) * 100) for v in values] == cents


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(max_size=12), min_size=1, max_size=20))
def test_text_normalisation_is_idempotent(texts: list[str]) -> None:
    once = evaluate(texts, normalise_text)
    twice = evaluate([None if v is None else v for v in once], normalise_text)
    assert once == twice


_EDGES = " \t\n\r\x0b\x0c\u3000\x01ａＺ１"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example([("", "abc", "\u3000"), ("\u3000", "x", ""), ("", "abc", "\x0b"), ("\x01", "a", "")])
@given(
    st.lists(
        st.tuples(
            st.text(alphabet=_EDGES, max_size=3),
            st.text(max_size=8),
            st.text(alphabet=_EDGES, max_size=3),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_text_normalisation_matches_half_width_then_strip(
    parts: list[tuple[str, str, str]],
) -> None:
    """The cheap "does it need trimming" test never skips text that needs it."""
    texts = [head + body + tail for head, body, tail in parts]
    expected = [half_width(t).strip(" \t\n\r\x0b\x0c") or None for t in texts]
    assert evaluate(texts, normalise_text) == expected
