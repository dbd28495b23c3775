"""Typed parsing and validation of text values, as Ibis expressions.

Every parser takes the (already normalised) text of one column and returns a `Parsed`: the
typed value (null when the text is empty or invalid) and a rule code (null when the value is
fine). The same expressions run on DuckDB and Spark: no `strptime`, which raises on DuckDB,
but regular expressions, canonical text and `try_cast`. The one exception is phone numbers
that are not mainland mobiles: they need `phonenumbers` and go through a Python UDF (see
`normalise_phone`). `segmint.identity.normalize` is the reference each identifier parser
here is tested against.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from segmint.identity import normalize as ref
from segmint.project.entities import Column, ColumnType

# Full-width ASCII (U+FF01-U+FF5E) and the ideographic space map to their half-width forms.
_FULL = ref.FULL_WIDTH
_HALF = ref.HALF_WIDTH
_ANY_FULL = f"[{chr(0xFF01)}-{chr(0xFF5E)}{chr(0x3000)}]"
_IDEOGRAPHIC_SPACE = 0x3000
_ASCII_LOWER = "abcdefghijklmnopqrstuvwxyz"
_ASCII_UPPER = _ASCII_LOWER.upper()
_NON_ASCII = r"[^\x00-\x7F]"

#: What each rule code means, for messages and the report.
RULES: dict[str, str] = {
    "malformed_row": "the line does not parse (wrong number of fields or not JSON)",
    "missing_required": "a required value is empty",
    "unparseable_timestamp": "not a recognisable date-time",
    "unparseable_date": "not a recognisable date",
    "unparseable_amount": "not a recognisable amount",
    "unparseable_number": "not a number",
    "unparseable_bool": "not a yes/no value",
    "negative_amount": "amount below zero",
    "absurd_amount": "amount implausibly large",
    "out_of_range": "number outside its allowed range",
    "future_timestamp": "timestamp later than the as-of time allows",
    "implausible_timestamp": "timestamp before 1970",
    "age_out_of_range": "birth date gives an impossible age",
    "malformed_phone": "not a valid phone number",
    "malformed_email": "not a valid e-mail address",
    "unknown_enum": "value not in the allowed list",
    "duplicate_row": "exact copy of an earlier row",
    "key_conflict": "primary key repeated with different content",
}

# After separators are normalised: 2026-3-5[ 14:03[:00[.123]]][Z|+08:00|+0800].
_SHAPE = (
    r"^\d{4}-\d{1,2}-\d{1,2}(?: +\d{1,2}:\d{1,2}(?::\d{1,2}(?:\.\d+)?)?:?)? *"
    r"(?:Z|[+-]\d{2}:?\d{2})?$"
)
_OFFSET = r"(Z|[+-]\d{2}:?\d{2})$"
# 20260305 or 20260305140300
_COMPACT = r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2}))?$"
# ISO 8601 with two-digit fields, optional fraction and offset. Group 1: the offset.
_ISO = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$"
_MONEY_STRIP = r"[\s,¥￥$€£]|RMB|CNY|USD|元"
_NUMBER = r"^[-+]?\d+(\.\d+)?$"


RuleFn = Callable[[ir.StringValue, ir.Value], ir.StringValue]
#: Reads a column computed by an earlier step ("text" is the parser's input).
Lookup = Callable[[str], ir.Value]
#: One projection of a parser: named columns computed from earlier ones.
Step = Callable[[Lookup], dict[str, ir.Value]]


@dataclass(frozen=True)
class Parsed:
    """A typed value, computed in steps, and how to find the rule it broke.

    SQL has no common-subexpression reuse: an intermediate value that a later expression
    reads three times is computed three times, and nesting multiplies that (the date-time
    parser, written as one expression, was 245 kB of SQL: 3.6 s on 3M values, 1.6 s in
    steps). So a parser is a list of steps; each step computes named columns from the input
    text and the columns of earlier steps, and the caller evaluates one projection per step
    (`stage` puts the steps of every column side by side). The last step names `value`.

    The rule is a function so that it can be applied to the already computed value column.
    """

    text: ir.StringValue
    steps: tuple[Step, ...]
    rule: RuleFn

    @property
    def value(self) -> ir.Value:
        """The typed value as one expression (fine for tests and small tables)."""
        columns: dict[str, ir.Value] = {"text": self.text}
        for step in self.steps:
            columns.update(step(columns.__getitem__))
        return columns["value"]


def _one_step(text: ir.StringValue, value: ir.Value, rule: RuleFn) -> Parsed:
    """A parser whose value is a single expression of its text."""
    return Parsed(text, (lambda get: {"value": value},), rule)


def _null_rule() -> ir.StringValue:
    return ibis.null(str)


def _invalid_when_null(rule: str) -> RuleFn:
    """The rule for parsers whose only failure is: text given, no value."""

    def check(text: ir.StringValue, value: ir.Value) -> ir.StringValue:
        return ibis.cases((text.notnull() & value.isnull(), ibis.literal(rule)), else_=_null_rule())

    return check


def _no_rule(text: ir.StringValue, value: ir.Value) -> ir.StringValue:
    return _null_rule()


def normalise_text(text: ir.StringValue) -> ir.StringValue:
    """Full-width to half-width, trimmed; empty text becomes null."""
    # DuckDB's translate costs ~3 µs a value; most values have no full-width character.
    half = ibis.cases((text.re_search(_ANY_FULL), text.translate(_FULL, _HALF)), else_=text)
    # Trimming a set of characters costs four times a look at both ends, and most values
    # need no trimming. The test is a superset: it also lets through text that starts or
    # ends with an ideographic space (which `half` turns into a space) and, on engines whose
    # ascii() reads a signed first byte, any non-ASCII first or last character.
    first, last = text.ascii_str(), text.right(1).ascii_str()
    edge = (first <= 32) | (first == _IDEOGRAPHIC_SPACE) | (last <= 32)
    edge = edge | (last == _IDEOGRAPHIC_SPACE)
    return ibis.cases((edge, half.strip()), else_=half).nullif("")


def _canonical_steps(skip: str) -> tuple[Step, ...]:
    """Steps giving `canonical` text both engines cast the same way, and its `offset`.

    Only rows where the column `skip` (a fast path's test) is false are worked on; the
    others get nulls. Chinese and slashed forms become dashed ones with plain replaces; one
    strict regex then admits only shapes that DuckDB and Spark cast identically (they differ
    on oddities such as five-digit years or trailing spaces). Single-digit fields are fine
    for both casts. `canonical` is null when the shape is wrong; `offset` is "" when absent.
    """

    def replace(get: Lookup) -> dict[str, ir.Value]:
        text, rest = get("text"), ~get(skip)
        replaced = (
            text.replace("年", "-")
            .replace("月", "-")
            .replace("日 ", " ")
            .replace("日", " ")
            .replace("时", ":")
            .replace("點", ":")
            .replace("点", ":")
            .replace("分", ":")
            .replace("秒", "")
            .replace("/", "-")
            .replace("T", " ")
        )
        return {
            "replaced": ibis.cases((rest, replaced), else_=ibis.null(str)),
            "compact": ibis.cases((rest, text.re_search(_COMPACT)), else_=ibis.null(bool)),
        }

    def dash(get: Lookup) -> dict[str, ir.Value]:
        text, replaced = get("text"), get("replaced")
        compact_time = ibis.cases(
            (
                text.length() > 8,
                " " + text.substr(8, 2) + ":" + text.substr(10, 2) + ":" + text.substr(12, 2),
            ),
            else_=ibis.literal(""),
        )
        dashed = ibis.cases(
            (
                get("compact"),
                text.substr(0, 4)
                + "-"
                + text.substr(4, 2)
                + "-"
                + text.substr(6, 2)
                + compact_time,
            ),
            # 2026.3.5: the first ten characters hold every date dot and no time dot.
            (
                replaced.re_search(r"^\d{4}\."),
                replaced.substr(0, 10).replace(".", "-") + replaced.substr(10),
            ),
            else_=replaced,
        )
        return {"dashed": dashed}

    def shape(get: Lookup) -> dict[str, ir.Value]:
        dashed = get("dashed")
        shaped = ibis.cases((dashed.re_search(_SHAPE), dashed), else_=ibis.null(str))
        return {"shaped": shaped, "offset": shaped.re_extract(_OFFSET, 1)}

    def strip_offset(get: Lookup) -> dict[str, ir.Value]:
        shaped, offset = get("shaped"), get("offset")
        body = ibis.cases(
            (offset == "", shaped), else_=shaped.substr(0, shaped.length() - offset.length())
        )
        return {"canonical": body.re_replace(r"[:\s]+$", ""), "offset": offset.fill_null("")}

    return replace, dash, shape, strip_offset


def _offset_minutes(offset: ir.StringValue, default_minutes: int) -> ir.IntegerValue:
    digits = offset.re_replace(r"[^0-9]", "")
    sign = ibis.cases((offset.startswith("-"), -1), else_=1)
    minutes = digits.substr(0, 2).cast("int64") * 60 + digits.substr(2, 2).cast("int64")
    return ibis.cases(
        (offset == "", ibis.literal(default_minutes, "int64")),
        (offset == "Z", ibis.literal(0, "int64")),
        else_=sign * minutes,
    )


def parse_timestamp(
    text: ir.StringValue, utc_offset_hours: float, as_of: dt.datetime, tolerance_hours: float
) -> Parsed:
    """A date-time in ISO or common Chinese formats, converted to UTC (naive)."""
    default_minutes = round(utc_offset_hours * 60)
    latest = ibis.literal(as_of + dt.timedelta(hours=tolerance_hours))

    # Fast path: ISO text needs one regex and a cast; the other steps work on the rest.
    def iso(get: Lookup) -> dict[str, ir.Value]:
        text = get("text")
        return {"iso": text.re_search(_ISO), "iso_offset": text.re_extract(_ISO, 1)}

    def local(get: Lookup) -> dict[str, ir.Value]:
        text, is_iso, iso_offset = get("text"), get("iso"), get("iso_offset")
        iso_body = text.substr(0, text.length() - iso_offset.length()).replace("T", " ")
        return {
            "local": ibis.cases(
                (is_iso, iso_body.try_cast("timestamp")),
                else_=get("canonical").try_cast("timestamp"),
            ),
            "offset": ibis.cases((is_iso, iso_offset), else_=get("offset")),
        }

    def utc(get: Lookup) -> dict[str, ir.Value]:
        minutes = _offset_minutes(get("offset"), default_minutes)
        return {"value": get("local") - minutes.as_interval("m")}

    def rule(text: ir.StringValue, value: ir.Value) -> ir.StringValue:
        return ibis.cases(
            (text.isnull(), _null_rule()),
            (value.isnull(), ibis.literal("unparseable_timestamp")),
            (value > latest, ibis.literal("future_timestamp")),
            (value < ibis.literal(dt.datetime(1970, 1, 1)), ibis.literal("implausible_timestamp")),
            else_=_null_rule(),
        )

    return Parsed(text, (iso, *_canonical_steps("iso"), local, utc), rule)


def parse_date(text: ir.StringValue, as_of: dt.datetime, max_age_years: int) -> Parsed:
    """A calendar date (time of day, if given, is ignored); birth dates get an age check."""
    oldest = ibis.literal(as_of.date().replace(year=as_of.year - max_age_years))
    today = ibis.literal(as_of.date())

    def rule(text: ir.StringValue, value: ir.Value) -> ir.StringValue:
        return ibis.cases(
            (text.isnull(), _null_rule()),
            (value.isnull(), ibis.literal("unparseable_date")),
            ((value > today) | (value < oldest), ibis.literal("age_out_of_range")),
            else_=_null_rule(),
        )

    def plain(get: Lookup) -> dict[str, ir.Value]:
        return {"plain": get("text").re_search(r"^\d{4}-\d{2}-\d{2}$")}

    def date(get: Lookup) -> dict[str, ir.Value]:
        value = ibis.cases(
            (get("plain"), get("text").try_cast("date")),
            else_=get("canonical").try_cast("timestamp").date(),
        )
        return {"value": value}

    return Parsed(text, (plain, *_canonical_steps("plain"), date), rule)


def _range_rule(value: ir.NumericValue, column: Column, low: str, high: str) -> ir.StringValue:
    checks = []
    if column.min_value is not None:
        checks.append((value < column.min_value, ibis.literal(low)))
    if column.max_value is not None:
        checks.append((value > column.max_value, ibis.literal(high)))
    if not checks:
        return _null_rule()
    return ibis.cases(*checks, else_=_null_rule())


def parse_money(text: ir.StringValue, column: Column) -> Parsed:
    """An amount: currency symbols, 元/RMB and thousands separators are accepted."""
    stripped = text.re_replace(_MONEY_STRIP, "")
    value = ibis.cases(
        (text.re_search(_NUMBER), text.try_cast("decimal(18,2)")),
        (stripped.re_search(_NUMBER), stripped.try_cast("decimal(18,2)")),
        else_=ibis.null(),
    ).cast("decimal(18,2)")

    def rule(text: ir.StringValue, value: ir.Value) -> ir.StringValue:
        return ibis.cases(
            (text.isnull(), _null_rule()),
            (value.isnull(), ibis.literal("unparseable_amount")),
            else_=_range_rule(value, column, "negative_amount", "absurd_amount"),
        )

    return _one_step(text, value, rule)


def parse_number(text: ir.StringValue, column: Column, integer: bool) -> Parsed:
    """An integer or a float, with the column's range."""
    pattern = r"^[-+]?\d+(\.0+)?$" if integer else r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
    target = "int64" if integer else "float64"
    clean = text.re_replace(r"[\s,]", "")
    value = ibis.cases(
        (clean.re_search(pattern), clean.try_cast("float64").cast(target)), else_=ibis.null()
    ).cast(target)

    def rule(text: ir.StringValue, value: ir.Value) -> ir.StringValue:
        return ibis.cases(
            (text.isnull(), _null_rule()),
            (value.isnull(), ibis.literal("unparseable_number")),
            else_=_range_rule(value, column, "out_of_range", "out_of_range"),
        )

    return _one_step(text, value, rule)


def parse_bool(text: ir.StringValue) -> Parsed:
    """true/false, yes/no, y/n, 1/0, 是/否."""
    lowered = text.lower()
    value = ibis.cases(
        (lowered.isin(["true", "t", "yes", "y", "1", "是"]), ibis.literal(True)),
        (lowered.isin(["false", "f", "no", "n", "0", "否"]), ibis.literal(False)),
        else_=ibis.null(bool),
    )
    return _one_step(text, value, _invalid_when_null("unparseable_bool"))


@ibis.udf.scalar.python(signature=((str,), str), null_handling="special")
def _phone_by_library(digits: str | None) -> str | None:
    """Landlines and international numbers, validated by `phonenumbers` (row by row)."""
    return ref.normalize_phone(digits)


def normalise_phone(text: ir.StringValue) -> ir.StringValue:
    """E.164 text for phone numbers, as `segmint.identity.normalize.normalize_phone` says.

    Mainland mobiles, nearly every value in practice, are recognised by shape in SQL:
    13812345678, +86 138-1234-5678, 0086 13812345678 and 8613812345678 all become
    +8613812345678. Values that start with +, 00 or a trunk 0 (landlines such as
    010-12345678, international numbers) need the numbering plan, which SQL does not have:
    they go to a Python UDF running the reference normaliser. Everything else is null.

    DuckDB calls the UDF only for the rows of its branch (a mobile-only column costs nothing
    extra). Spark lifts Python UDFs out of CASE and calls them on every row, so the argument
    is null except on those rows: the rest cost a trip to the Python worker but no parsing.
    Spark's Python workers must be able to import segmint (and so phonenumbers).
    """
    digits = text.re_replace(ref.PHONE_SEPARATORS, "")
    mobile = digits.re_search(ref.CN_MOBILE)
    diallable = digits.re_search(ref.DIALLABLE)
    return ibis.cases(
        (mobile, "+86" + digits.re_extract(r"(1[3-9][0-9]{9})$", 1)),
        (diallable, _phone_by_library(ibis.cases((~mobile & diallable, digits), else_=None))),
        else_=ibis.null(str),
    )


def parse_phone(text: ir.StringValue) -> Parsed:
    """A phone number normalised to E.164."""
    return _one_step(text, normalise_phone(text), _invalid_when_null("malformed_phone"))


def parse_email(text: ir.StringValue) -> Parsed:
    """An e-mail address, lower-cased; must have a local part, a domain and a TLD.

    Agrees with `normalize_email`: non-ASCII text is malformed, because the engines
    lower-case some non-ASCII letters differently (DuckDB maps İ to i, Spark and Python do
    not), and the whitespace removed is the set every engine's `\\s` shares.
    """
    lowered = text.lower().re_replace(ref.EMAIL_WHITESPACE, "")
    valid = lowered.re_search(ref.EMAIL) & ~lowered.contains("..") & ~text.re_search(_NON_ASCII)
    value = ibis.cases((valid, lowered), else_=ibis.null(str))
    return _one_step(text, value, _invalid_when_null("malformed_email"))


def normalise_device_id(text: ir.StringValue) -> ir.StringValue:
    """One spelling per device id, as `segmint.identity.normalize.normalize_device_id` says.

    UUIDs (IDFA, OAID) become upper-case 8-4-4-4-12, Android IDs (16 hex digits) lower
    case; other ids are kept as written. Placeholders (the all-zero IDFA, one repeated
    character, `unknown`, `null`, the shared Android ID 9774d56d682e549c …) become null:
    they mean "no id", like an empty field, so they break no rule and never cost the row.
    """
    compact = text.replace("-", "")
    hexid = compact.upper()
    uuid = (
        hexid.substr(0, 8)
        + "-"
        + hexid.substr(8, 4)
        + "-"
        + hexid.substr(12, 4)
        + "-"
        + hexid.substr(16, 4)
        + "-"
        + hexid.substr(20, 12)
    )
    repeated = compact.replace(compact.substr(0, 1), "") == ""
    placeholder = ~text.re_search(_NON_ASCII) & text.lower().isin(ref.PLACEHOLDER_DEVICE_IDS)
    return ibis.cases(
        (repeated | placeholder, ibis.null(str)),
        (text.re_search(ref.UUID_DASHED) | text.re_search(ref.UUID_PLAIN), uuid),
        (text.re_search(ref.HEX16), text.lower()),
        else_=text,
    )


def normalise_member_id(text: ir.StringValue) -> ir.StringValue:
    """Member numbers with ASCII letters upper-cased (`normalize_member_id`).

    `upper()` is exact only for ASCII (DuckDB turns ß into ẞ, Python and Spark into SS), so
    the rare text with other characters goes through `translate` instead.
    """
    return ibis.cases(
        (text.re_search(_NON_ASCII), text.translate(_ASCII_LOWER, _ASCII_UPPER)),
        else_=text.upper(),
    )


def parse_enum(text: ir.StringValue, allowed: tuple[str, ...]) -> Parsed:
    """One of the allowed values, matched case-insensitively, returned in canonical case."""
    lowered = text.lower()
    value = ibis.cases(*((lowered == v.lower(), ibis.literal(v)) for v in allowed), else_=None)
    return _one_step(text, value.cast(str), _invalid_when_null("unknown_enum"))


def parse_column(
    text: ir.StringValue,
    column: Column,
    *,
    utc_offset_hours: float,
    as_of: dt.datetime,
    tolerance_hours: float,
    max_age_years: int,
) -> Parsed:
    """Parse and validate normalised text as `column`'s type; add the required-field rule."""
    kind = column.type
    if kind is ColumnType.TIMESTAMP:
        parsed = parse_timestamp(text, utc_offset_hours, as_of, tolerance_hours)
    elif kind is ColumnType.DATE:
        parsed = parse_date(text, as_of, max_age_years)
    elif kind is ColumnType.MONEY:
        parsed = parse_money(text, column)
    elif kind in (ColumnType.INT, ColumnType.FLOAT):
        parsed = parse_number(text, column, integer=kind is ColumnType.INT)
    elif kind is ColumnType.BOOL:
        parsed = parse_bool(text)
    elif kind is ColumnType.PHONE:
        parsed = parse_phone(text)
    elif kind is ColumnType.EMAIL:
        parsed = parse_email(text)
    elif kind is ColumnType.DEVICE_ID:
        parsed = _one_step(text, normalise_device_id(text), _no_rule)
    elif kind is ColumnType.MEMBER_ID:
        parsed = _one_step(text, normalise_member_id(text), _no_rule)
    elif kind is ColumnType.ENUM:
        parsed = parse_enum(text, column.enum_values)
    else:
        parsed = _one_step(text, text, _no_rule)
    if column.required:
        inner = parsed.rule

        def required(text: ir.StringValue, value: ir.Value) -> ir.StringValue:
            return ibis.cases(
                (text.isnull(), ibis.literal("missing_required")), else_=inner(text, value)
            )

        return Parsed(parsed.text, parsed.steps, required)
    return parsed


def sql_type(column: Column) -> str:
    """The Ibis type a canonical column is stored as."""
    return {
        ColumnType.TIMESTAMP: "timestamp",
        ColumnType.DATE: "date",
        ColumnType.MONEY: "decimal(18,2)",
        ColumnType.INT: "int64",
        ColumnType.FLOAT: "float64",
        ColumnType.BOOL: "boolean",
    }.get(column.type, "string")
