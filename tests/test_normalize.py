"""Identifier normalisers: the Python reference on real examples and properties, and the
engine's Ibis expressions (on DuckDB) against the reference."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from segmint.identity.normalize import (
    is_placeholder_email,
    is_placeholder_phone,
    normalize_address,
    normalize_device_id,
    normalize_email,
    normalize_member_id,
    normalize_name,
    normalize_phone,
    normalize_wechat_id,
)
from segmint.ingest.parse import (
    normalise_device_id,
    normalise_member_id,
    normalise_phone,
    normalise_text,
    parse_email,
)

_con = ibis.duckdb.connect()
FULL = str.maketrans(
    "0123456789+-() abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ@.",
    "０１２３４５６７８９＋－（）\u3000ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ"
    "ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ＠．",
)
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def engine(values: list[str | None], build: Callable[[ir.StringValue], ir.Value]) -> list:
    """Ingestion's text step then `build`, on DuckDB, one query for all values."""
    table = ibis.memtable(
        {"i": list(range(len(values))), "v": values}, schema={"i": "int64", "v": "string"}
    )
    expr = table.mutate(out=build(normalise_text(table.v))).order_by("i")
    return _con.to_pyarrow(expr)["out"].to_pylist()


def _email(text: ir.StringValue) -> ir.Value:
    return parse_email(text).value


ENGINE_AND_REFERENCE: list[tuple[Callable[[ir.StringValue], ir.Value], Callable]] = [
    (normalise_phone, normalize_phone),
    (_email, normalize_email),
    (normalise_device_id, normalize_device_id),
    (normalise_member_id, normalize_member_id),
]


def assert_engine_agrees(values: list[str | None]) -> None:
    for build, reference in ENGINE_AND_REFERENCE:
        got = engine(values, build)
        want = [reference(v) for v in values]
        diff = [(v, g, w) for v, g, w in zip(values, got, want, strict=True) if g != w]
        assert not diff, f"{reference.__name__}: (input, engine, reference) {diff}"


# -- examples ------------------------------------------------------------------------------

PHONES = [
    ("+86 138-1234-5678", "+8613812345678"),
    ("８６１３８１２３４５６７８", "+8613812345678"),
    ("0086 13812345678", "+8613812345678"),
    ("8613812345678", "+8613812345678"),
    ("(+86) 138 1234 5678", "+8613812345678"),
    ("０１３８－１２３４－５６７８", "+8613812345678"),  # stray trunk 0
    ("13012345678", "+8613012345678"),
    ("19212345678", "+8619212345678"),
    ("010-12345678", "+861012345678"),
    ("(010) 1234-5678", "+861012345678"),
    ("+86 10 1234 5678", "+861012345678"),
    ("+86 (0)10 1234 5678", "+861012345678"),
    ("0086-10-12345678", "+861012345678"),
    ("0755 8888 9999", "+8675588889999"),
    ("021-6123-4567", "+862161234567"),
    ("+44 20 7946 0958", "+442079460958"),
    ("0044 20 7946 0958", "+442079460958"),
    ("+44 (0)20 7946 0958", "+442079460958"),
    ("+1 415 555 2671", "+14155552671"),
    ("001-415-555-2671", "+14155552671"),
    ("＋１ ４１５ ５５５ ２６７１", "+14155552671"),
    ("+852 9123 4567", "+85291234567"),
    ("+886 912 345 678", "+886912345678"),
    ("+39 06 1234 5678", "+390612345678"),  # Italian numbers keep their leading 0
    ("12345", None),
    ("138123456789", None),
    ("12812345678", None),
    ("1381234567a", None),
    ("138 1234 5678 ext 12", None),
    ("+861381234567", None),  # not a mobile, and no such area code
    ("0123456789", None),
    ("4155552671", None),  # bare digits are read as Chinese: no + or 00, no number
    ("+44 20 7946", None),
    ("+1 415 555 267", None),
    ("+999 1234 5678", None),
    ("abc", None),
    ("", None),
    ("   ", None),
    (None, None),
]


@pytest.mark.parametrize(("text", "e164"), PHONES)
def test_phone_reference(text: str | None, e164: str | None) -> None:
    assert normalize_phone(text) == e164


def test_phone_engine_matches_the_examples() -> None:
    assert engine([t for t, _ in PHONES], normalise_phone) == [e for _, e in PHONES]


def test_phone_with_another_default_region() -> None:
    assert normalize_phone("(415) 555-2671", default_region="US") == "+14155552671"
    assert normalize_phone("020 7946 0958", default_region="GB") == "+442079460958"
    assert normalize_phone("13812345678", default_region="US") is None


@pytest.mark.parametrize(
    ("text", "placeholder"),
    [
        ("13800000000", True),
        ("138-0000-0000", True),
        ("+86 138 0013 8000", True),
        ("13900000000", True),
        ("19999999999", True),
        ("13333333333", True),
        ("13456789012", True),
        ("+1 234-567-8901", True),
        ("13812345678", False),
        ("+44 20 7946 0958", False),
        ("12345678901", False),  # not a number at all: malformed, not a placeholder
        (None, False),
    ],
)
def test_placeholder_phones(text: str | None, placeholder: bool) -> None:
    assert is_placeholder_phone(text) is placeholder


EMAILS = [
    (" Foo@Bar.COM ", "foo@bar.com"),
    ("ｆｏｏ＠ｂａｒ．ｃｏｍ", "foo@bar.com"),
    ("li na@163.com", "lina@163.com"),
    ("ok.name+tag@mail.example.cn", "ok.name+tag@mail.example.cn"),
    ("a@b", None),
    ("x..y@z.com", None),
    ("no-at-sign.com", None),
    ("İ@x.com", None),  # DuckDB would lower-case İ to i; the others keep a dotted i
    ("zhang@例子.cn", None),
    (None, None),
]


@pytest.mark.parametrize(("text", "value"), EMAILS)
def test_email_reference(text: str | None, value: str | None) -> None:
    assert normalize_email(text) == value


def test_email_engine_matches_the_examples() -> None:
    assert engine([t for t, _ in EMAILS], _email) == [v for _, v in EMAILS]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("F.o.o+news@GoogleMail.com", "foo@gmail.com"),
        ("foo.bar@gmail.com", "foobar@gmail.com"),
        ("+news@gmail.com", None),
        ("foo.bar+x@outlook.com", "foo.bar+x@outlook.com"),
        ("12345678@qq.com", "12345678@qq.com"),
    ],
)
def test_email_provider_rules(text: str, value: str | None) -> None:
    assert normalize_email(text, provider_rules=True) == value


@pytest.mark.parametrize(
    ("text", "placeholder"),
    [
        ("test@test.com", True),
        ("None@shop.cn", True),
        ("noreply@brand.com", True),
        ("no-reply@brand.com", True),
        ("zhang@example.com", True),
        ("aaaa@qq.com", True),
        ("x@foo.test", True),
        ("li.na@163.com", False),
        ("not an email", False),
    ],
)
def test_placeholder_emails(text: str, placeholder: bool) -> None:
    assert is_placeholder_email(text) is placeholder


DEVICE_IDS = [
    ("6d92078a-8246-4ba4-ae5b-76104861e7dc", "6D92078A-8246-4BA4-AE5B-76104861E7DC"),
    ("6D92078A82464BA4AE5B76104861E7DC", "6D92078A-8246-4BA4-AE5B-76104861E7DC"),
    (" 6D92078A-8246-4BA4-AE5B-76104861E7DC ", "6D92078A-8246-4BA4-AE5B-76104861E7DC"),
    ("00000000-0000-0000-0000-000000000000", None),  # iOS with limited ad tracking
    ("ffffffff-ffff-ffff-ffff-ffffffffffff", None),
    ("9F2A5C3B1D0E4F67", "9f2a5c3b1d0e4f67"),  # Android ID
    ("9774d56d682e549c", None),  # the Android ID many devices shared
    ("0000000000000000", None),
    ("  anon-7f3K_x9 ", "anon-7f3K_x9"),  # cookie / anonymousId: case kept
    ("ＡＢＣ１２３", "ABC123"),
    ("unknown", None),
    ("NULL", None),
    ("(null)", None),
    ("-", None),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("text", "value"), DEVICE_IDS)
def test_device_id_reference(text: str | None, value: str | None) -> None:
    assert normalize_device_id(text) == value


def test_device_id_engine_matches_the_examples() -> None:
    values = [t for t, _ in DEVICE_IDS]
    assert engine(values, normalise_device_id) == [v for _, v in DEVICE_IDS]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (" m00123456 ", "M00123456"),
        ("ｍ００１", "M001"),
        ("vip-7a", "VIP-7A"),
        ("straße", "STRAßE"),
    ],
)
def test_member_id(text: str, value: str) -> None:
    assert normalize_member_id(text) == value
    assert engine([text], normalise_member_id) == [value]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (" o6_bmjrPTlm6_2sgVt7hMZOPfL2M ", "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"),
        ("ｏ６＿ｂｍｊｒ", "o6_bmjr"),
        ("o6_bmj rPTlm6", None),
        ("null", None),
        ("", None),
    ],
)
def test_wechat_id(text: str, value: str | None) -> None:
    assert normalize_wechat_id(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("  LI   na ", "Li Na"),
        ("o'BRIEN", "O'Brien"),
        ("ＪＯＨＮ　ＳＭＩＴＨ", "John Smith"),
        ("élodie DUPONT-martin", "Élodie Dupont-Martin"),
        ("张　伟", "张 伟"),
        (" 欧阳娜娜 ", "欧阳娜娜"),
        ("   ", None),
    ],
)
def test_name(text: str, value: str | None) -> None:
    assert normalize_name(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (" 上海市，，浦东新区  世纪大道１００号。。", "上海市,浦东新区 世纪大道100号"),
        ("北京市朝阳区建国路88号 ——", "北京市朝阳区建国路88号"),
        ("Room 5,, 88 Jianguo Rd.", "Room 5, 88 Jianguo Rd"),
        (",,, ", None),
    ],
)
def test_address(text: str, value: str | None) -> None:
    assert normalize_address(text) == value


# -- properties ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    """A valid phone number and every way the tests write it."""

    e164: str
    renderings: tuple[str, ...]


def _number(parsed: phonenumbers.PhoneNumber) -> Number:
    e164 = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
    spaced = phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)
    code = str(parsed.country_code)
    rest = spaced.removeprefix(f"+{code}").strip()
    shown = [
        e164,
        spaced,
        spaced.replace(" ", "-"),
        f"00{code} {rest}",
        f"(+{code}) {rest}",
        spaced.translate(FULL),
        f"  {spaced}\t",
    ]
    if code == "86":
        national = phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL)
        shown += [national, national.replace(" ", "-"), national.translate(FULL)]
        if e164[3] == "1" and len(e164) == 14:  # a mobile
            shown += [e164[3:], e164[1:], f"86 {e164[3:]}"]
    return Number(e164, tuple(shown))


def _example_numbers() -> list[phonenumbers.PhoneNumber]:
    numbers = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None and phonenumbers.is_valid_number(example):
                numbers.append(example)
    return numbers


EXAMPLES = _example_numbers()
AREA_CODES = ("10", "20", "21", "22", "23", "24", "25", "27", "28", "29", "311", "371", "512",
              "571", "591", "755", "769", "851", "871", "898", "931", "991")  # fmt: skip


def _valid(parsed: phonenumbers.PhoneNumber) -> bool:
    return phonenumbers.is_valid_number(parsed)


def _with_tail(example: phonenumbers.PhoneNumber, tail: int) -> phonenumbers.PhoneNumber:
    """The example with its last two digits replaced (Italian leading zeros kept)."""
    national = phonenumbers.national_significant_number(example)
    return phonenumbers.parse(f"+{example.country_code}{national[:-2]}{tail:02d}")


cn_mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True).map(
    lambda n: phonenumbers.parse("+86" + n)
)
cn_landlines = st.builds(
    lambda area, local: phonenumbers.parse(f"+86{area}{local}"),
    st.sampled_from(AREA_CODES),
    st.from_regex(r"[2-8][0-9]{6,7}", fullmatch=True),
).filter(_valid)
international = st.builds(_with_tail, st.sampled_from(EXAMPLES), st.integers(0, 99)).filter(_valid)
numbers = st.one_of(cn_mobiles, cn_landlines, international).map(_number)
junk_phones = st.text(alphabet="0123456789+-() ８６＋　x", max_size=20)
uuids = st.builds(
    lambda u, upper, dashes: (str(u).upper() if upper else str(u)).replace(
        "-", "-" if dashes else ""
    ),
    st.uuids(),
    st.booleans(),
    st.booleans(),
)
hex16 = st.from_regex(r"[0-9a-fA-F]{16}", fullmatch=True)
texts = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40
)
emails = st.builds(
    lambda local, domain, pad: f"{pad}{local}@{domain}{pad}",
    st.from_regex(r"[A-Za-z0-9._%+\-]{1,12}", fullmatch=True),
    st.sampled_from(["Gmail.com", "googlemail.com", "qq.com", "163.com", "ex-ample.com.cn", "x"]),
    st.sampled_from(["", " ", "\u3000", "\t"]),
)
anything = st.one_of(texts, junk_phones, uuids, hex16, emails)


@PROPERTY
@given(st.lists(numbers, min_size=1, max_size=8))
def test_phones_every_format_of_a_number_gives_it_and_distinct_numbers_stay_distinct(
    cases: list[Number],
) -> None:
    for number in cases:
        for text in number.renderings:
            assert normalize_phone(text) == number.e164, text
    # normalised values differ exactly when the numbers differ
    values = {normalize_phone(n.renderings[0]) for n in cases}
    assert len(values) == len({n.e164 for n in cases})


@PROPERTY
@given(st.lists(st.one_of(numbers.map(lambda n: n.renderings), junk_phones.map(lambda t: (t,)))))
def test_phone_engine_agrees_with_the_reference(groups: list[tuple[str, ...]]) -> None:
    values = [text for group in groups for text in group]
    assert engine(values, normalise_phone) == [normalize_phone(v) for v in values]


@PROPERTY
@given(st.lists(anything, max_size=30))
def test_engine_agrees_with_the_reference_on_any_text(values: list[str]) -> None:
    assert_engine_agrees(values)


IDEMPOTENT: list[Callable[[str], str | None]] = [
    normalize_phone,
    lambda v: normalize_phone(v, default_region="US"),
    normalize_email,
    lambda v: normalize_email(v, provider_rules=True),
    normalize_device_id,
    normalize_wechat_id,
    normalize_member_id,
    normalize_name,
    normalize_address,
]


@PROPERTY
@given(anything)
def test_every_normaliser_is_idempotent(text: str) -> None:
    for normalise in IDEMPOTENT:
        once = normalise(text)
        if once is not None:
            assert normalise(once) == once


@PROPERTY
@given(numbers)
def test_phone_normalisation_is_idempotent_on_valid_numbers(number: Number) -> None:
    for text in number.renderings:
        once = normalize_phone(text)
        assert once is not None
        assert normalize_phone(once) == once
