"""Planting bad rows: broken fields, ragged lines, exact duplicates and key conflicts.

Every source spec lists the kinds of bad rows it may carry and their shares. `plant` picks
rows (at most one kind each), breaks them, renders the text lines, inserts the extra lines
(duplicates and conflicting versions right after their original) and reports the physical
position and kind of every bad line, so the ground truth can point at them exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmint.generate.arrays import I64
from segmint.generate.fmt import csv_field, date_iso, has_bytes, join, money, take
from segmint.generate.seasons import DAY
from segmint.generate.sources import ROW_KINDS, BadKind, Frame, SourceSpec, format_time

UNPARSEABLE_TIMESTAMPS = (
    "2025-02-30 25:61:00",
    "2026-13-45 10:00:00",
    "32/13/2025 10:00",
    "yesterday 3pm",
    "上周三下午",
    "2025-00-00 00:00:00",
    "#########",
)
UNPARSEABLE_AMOUNTS = ("12.3.4", "abc", "#VALUE!", "..", "一百二十", "12..5", "1,2,3.4.5")
MALFORMED_PHONES = (
    "1381234",
    "12345",
    "138123456789",
    "1381234567a",
    "000",
    "139-1234-567",
    "10086x",
)
MALFORMED_EMAILS = (
    "zhangwei.qq.com",
    "wang@@163.com",
    "zhang.wei@qq",
    "@qq.com",
    "chen@",
    "liu#163.com",
    "xu@163,com",
)
ORPHAN = "orphan"


def _pool(values: tuple[str, ...], n: int, rng: np.random.Generator) -> pa.Array:
    return take(values, rng.integers(0, len(values), n))


def corrupt(
    bad: BadKind, n: int, spec: SourceSpec, as_of: int, rng: np.random.Generator
) -> pa.Array:
    """n replacement values that make a field bad in the way `bad.kind` says."""
    kind = bad.kind
    if kind == "missing_required":
        return pa.nulls(n, pa.string())
    if kind == "unparseable_timestamp":
        return _pool(UNPARSEABLE_TIMESTAMPS, n, rng)
    if kind == "unparseable_amount":
        return _pool(UNPARSEABLE_AMOUNTS, n, rng)
    if kind == "negative_amount":
        return join("-", money(rng.integers(100, 50_000, n)))
    if kind == "absurd_amount":
        return money(rng.integers(200_000_000, 9_000_000_000, n))
    if kind == "future_timestamp":
        return format_time(spec.time_style, as_of + rng.integers(3 * DAY, 400 * DAY, n))
    if kind == "malformed_phone":
        return _pool(MALFORMED_PHONES, n, rng)
    if kind == "malformed_email":
        return _pool(MALFORMED_EMAILS, n, rng)
    if kind == "age_out_of_range":
        today = as_of // DAY
        years = np.where(rng.random(n) < 0.7, -rng.integers(122, 200, n), rng.integers(1, 5, n))
        return date_iso((today + years * 365.25 + rng.integers(0, 300, n)).astype(np.int64))
    if kind in ("unknown_enum", "out_of_range"):
        return _pool(bad.values, n, rng)
    raise ValueError(f"unknown bad-row kind {kind!r}")  # pragma: no cover - spec typo


def _replace(values: pa.Array, rows: I64, replacement: pa.Array) -> pa.Array:
    mask = np.zeros(len(values), bool)
    mask[rows] = True
    return pc.replace_with_mask(values, pa.array(mask), replacement.cast(values.type))


def _json_quoted(values: pa.Array) -> pa.Array:
    if has_bytes(values, b'"\\'):
        values = pc.replace_substring(pc.replace_substring(values, "\\", "\\\\"), '"', '\\"')
    return values


def render(columns: dict[str, pa.Array], spec: SourceSpec, names: tuple[str, ...]) -> pa.Array:
    """Text lines (ending in the spec's newline) of the given columns: CSV fields or JSON.

    JSON: text values are quoted, nulls written as null; the spec's optional keys are left
    out when null. Columns without nulls are spliced between literal pieces directly.
    """
    tail = spec.newline
    if spec.format == "csv":
        fields: list[pa.Array | str] = []
        for name in names:
            fields.extend([csv_field(columns[name]), ","])
        fields[-1] = tail
        return join(*fields).cast(pa.string())
    pieces: list[pa.Array | str] = []
    literal = "{"
    path: list[str] = []  # nested objects currently open
    comma = False
    for name in names:
        *parents, leaf = name.split(".")
        common = 0
        while common < min(len(path), len(parents)) and path[common] == parents[common]:
            common += 1
        if len(path) > common:
            literal += "}" * (len(path) - common)
            path = path[:common]
        for part in parents[common:]:
            literal += ("," if comma else "") + f'"{part}":{{'
            path.append(part)
            comma = False
        values = columns[name]
        number = name in spec.json_numbers
        text = values if number else _json_quoted(values)
        quote = "" if number else '"'
        if name in spec.json_optional:
            if not comma:  # pragma: no cover - guards edits to the source specs
                raise ValueError(f"optional JSON key {name} cannot open an object")
            pieces.extend([literal, pc.fill_null(join(f',"{leaf}":{quote}', text, quote), "")])
            literal = ""
        elif values.null_count == 0:
            pieces.extend([literal + ("," if comma else "") + f'"{leaf}":{quote}', text])
            literal = quote
        else:
            value = pc.fill_null(join(quote, text, quote), "null")
            pieces.extend([literal + ("," if comma else "") + f'"{leaf}":', value])
            literal = ""
        comma = True
    pieces.append(literal + "}" * len(path) + "}" + tail)
    return join(*pieces).cast(pa.string())


def _ragged(
    columns: dict[str, pa.Array], rows: I64, spec: SourceSpec, rng: np.random.Generator
) -> pa.Array:
    """Lines with a field missing (values shift left) or one field too many."""
    sub = {c: columns[c].take(pa.array(rows)) for c in spec.columns}
    middle = spec.columns[: len(spec.columns) // 2] + spec.columns[len(spec.columns) // 2 + 1 :]
    short = render(sub, spec, middle)
    sub["__extra__"] = pa.array(["1"] * len(rows), pa.string())
    long = render(sub, spec, (*spec.columns, "__extra__"))
    return pc.if_else(pa.array(rng.random(len(rows)) < 0.5), short, long)


@dataclass(frozen=True)
class Planted:
    """A chunk's lines and the truth about them.

    `lines` has one line per frame row (some broken); `extra` holds inserted lines (exact
    copies, conflicting versions), each written just before frame row `before` (n: at the
    end) and copied from frame row `copied`.
    """

    lines: pa.Array
    key: pa.Array  # per frame row: the key as written ("" when missing)
    code: I64  # per frame row: index into spec.bad; len(spec.bad) clean, +1 orphan
    extra: pa.Array
    before: I64
    copied: I64
    extra_code: I64


def plant(frame: Frame, spec: SourceSpec, as_of: int, rng: np.random.Generator) -> Planted:
    """Break a share of the frame's rows as the spec says and render the lines."""
    n = frame.n
    clean = len(spec.bad)
    shares = np.array([b.share for b in spec.bad])
    code = np.searchsorted(np.cumsum(shares), rng.random(n), side="right").astype(np.int64)
    orphan = np.zeros(n, bool) if frame.orphan is None else frame.orphan
    code[orphan] = clean
    columns = dict(frame.columns)
    for k, bad in enumerate(spec.bad):
        rows = np.flatnonzero(code == k)
        if bad.kind in ROW_KINDS or len(rows) == 0:
            continue
        columns[bad.column] = _replace(
            columns[bad.column], rows, corrupt(bad, len(rows), spec, as_of, rng)
        )
    lines = render(columns, spec, spec.columns)
    # Extra lines: exact copies go after their original (the first copy is the good one);
    # a conflicting version of a key goes before it (the latest line is the good one).
    extra: list[pa.Array] = []
    before: list[I64] = []
    copied: list[I64] = []
    extra_code: list[I64] = []
    duplicate = next((k for k, b in enumerate(spec.bad) if b.kind == "duplicate_row"), None)
    for k, bad in enumerate(spec.bad):
        rows = np.flatnonzero(code == k)
        if len(rows) == 0:
            continue
        shift = rng.integers(0, 20, len(rows))
        if bad.kind == "ragged_row":
            lines = _replace(lines, rows, _ragged(columns, rows, spec, rng))
        elif bad.kind == "duplicate_row":
            code[rows] = clean
            extra.append(lines.take(pa.array(rows)))
            before.append(np.minimum(rows + 1 + shift, n))
            copied.append(rows)
            extra_code.append(np.full(len(rows), k, np.int64))
        elif bad.kind == "key_conflict":
            code[rows] = clean
            donor = (rows + rng.integers(1, max(n, 2), len(rows))) % n
            original = frame.columns[bad.column]
            same = np.asarray(
                pc.fill_null(
                    pc.equal(original.take(pa.array(donor)), original.take(pa.array(rows))), True
                )
            )
            if duplicate is None:  # pragma: no cover - every spec with conflicts has duplicates
                rows, donor, same, shift = rows[~same], donor[~same], same[~same], shift[~same]
            sub = {c: columns[c].take(pa.array(rows)) for c in spec.columns}
            sub[bad.column] = original.take(pa.array(donor))
            extra.append(render(sub, spec, spec.columns))
            # an unlucky donor with the same value makes an exact copy: put it after
            before.append(
                np.where(same, np.minimum(rows + 1 + shift, n), np.maximum(rows - shift, 0))
            )
            copied.append(rows)
            extra_code.append(np.where(same, duplicate if duplicate is not None else k, k))
    empty = np.zeros(0, np.int64)
    return Planted(
        lines=lines,
        key=pc.fill_null(columns[spec.key], ""),
        code=np.where(orphan, clean + 1, code),
        extra=pa.concat_arrays(extra) if extra else pa.array([], pa.string()),
        before=np.concatenate(before) if before else empty,
        copied=np.concatenate(copied) if copied else empty,
        extra_code=np.concatenate(extra_code).astype(np.int64) if extra_code else empty,
    )
