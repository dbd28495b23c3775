"""Vectorised string formatting: numbers, dates, money and phones into Arrow string arrays.

Everything works on whole numpy arrays. Fixed-width values are assembled as a `(rows, width)`
byte matrix and handed to Arrow without copying; variable-width values are joined with Arrow
compute kernels. No function here loops over rows in Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmint.generate.arrays import I64, U8

LOCAL_OFFSET = 8 * 3600  # Asia/Shanghai is UTC+08:00 all year
_EPOCH = dt.date(1970, 1, 1)
_PAIRS: U8 = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), np.uint8).reshape(
    100, 2
)
_FULLWIDTH_DIGITS: U8 = np.frombuffer("０１２３４５６７８９".encode(), np.uint8).reshape(10, 3)


def fixed(mat: U8) -> pa.StringArray:
    """An Arrow string array whose row i is the ASCII/UTF-8 bytes of `mat[i]`."""
    rows, width = mat.shape
    data = pa.py_buffer(np.ascontiguousarray(mat))
    offsets = pa.py_buffer(np.arange(rows + 1, dtype=np.int32) * np.int32(width))
    return pa.StringArray.from_buffers(rows, offsets, data)


def digits(values: np.ndarray, width: int) -> U8:
    """Zero-padded decimal digits of non-negative integers as a `(rows, width)` byte matrix."""
    v = np.asarray(values, dtype=np.int64)
    out = np.empty((len(v), width), np.uint8)
    pos = width
    while pos >= 2:
        out[:, pos - 2 : pos] = _PAIRS[v % 100]
        v = v // 100
        pos -= 2
    if pos == 1:
        out[:, 0] = 48 + v % 10
    return out


def padded(values: np.ndarray, width: int, prefix: str = "") -> pa.StringArray:
    """`prefix` followed by the zero-padded number, e.g. padded([12], 8, "M") -> M00000012."""
    head = np.frombuffer(prefix.encode(), np.uint8)
    body = digits(values, width)
    mat = np.empty((len(body), len(head) + width), np.uint8)
    mat[:, : len(head)] = head
    mat[:, len(head) :] = body
    return fixed(mat)


def ints(values: np.ndarray) -> pa.Array:
    """Plain decimal strings of integers."""
    return pa.array(np.asarray(values, dtype=np.int64)).cast(pa.string())


def join(*parts: pa.Array | str, sep: str = "") -> pa.Array:
    """Concatenate string arrays and literals element-wise."""
    return pc.binary_join_element_wise(*parts, sep)


def take(values: Sequence[str], index: np.ndarray) -> pa.Array:
    """`values[index]` for a small vocabulary, as an Arrow string array."""
    return pa.array(list(values), pa.string()).take(pa.array(np.asarray(index, dtype=np.int64)))


def blank_where(values: pa.Array, mask: np.ndarray) -> pa.Array:
    """`values` with nulls where `mask` is true."""
    if not mask.any():
        return values
    return pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), values)


def mixed(codes: np.ndarray, builders: Sequence[Callable[[np.ndarray], pa.Array]]) -> pa.Array:
    """Row i formatted by `builders[codes[i]]`; each builder gets the row indices it owns.

    Rows are grouped by code, each group is formatted once, and the pieces are put back in
    row order with one `take`.
    """
    codes = np.asarray(codes)
    n = len(codes)
    if n == 0:
        return pa.array([], pa.string())
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(builders) + 1))
    pieces = [
        builders[k](order[bounds[k] : bounds[k + 1]])
        for k in range(len(builders))
        if bounds[k + 1] > bounds[k]
    ]
    combined = pa.concat_arrays([p.cast(pa.string()) for p in pieces])
    if len(pieces) == 1:
        return combined
    inverse = np.empty(n, np.int64)
    inverse[order] = np.arange(n)
    return combined.take(pa.array(inverse))


def has_bytes(values: pa.Array, chars: bytes) -> bool:
    """Whether any value may contain one of the (ASCII) characters (a fast byte scan)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    data = values.buffers()[2] if len(values.buffers()) > 2 else None
    if data is None:
        return False
    raw = np.frombuffer(data, np.uint8)
    return any(bool((raw == c).any()) for c in chars)


def csv_field(values: pa.Array) -> pa.Array:
    """Text as a CSV field: nulls become empty, values with a comma or quote are quoted."""
    values = pc.fill_null(values.cast(pa.string()), "")
    if not has_bytes(values, b',"'):
        return values
    needs = pc.or_(pc.match_substring(values, ","), pc.match_substring(values, '"'))
    if not pc.any(needs).as_py():
        return values
    quoted = join('"', pc.replace_substring(values, '"', '""'), '"')
    return pc.if_else(needs, quoted, values)


def email_text(emails: pa.Array, codes: np.ndarray) -> pa.Array:
    """E-mail addresses as people type them.

    codes: 0 as is, 1 upper case, 2 capitalised, 3 padded with spaces, 4 trailing space.
    """
    return pc.choose(
        pa.array(np.asarray(codes, np.int8)),
        emails,
        pc.utf8_upper(emails),
        pc.utf8_capitalize(emails),
        join(" ", emails, " "),
        join(emails, " "),
    )


# --------------------------------------------------------------------------------- dates


def _day_labels(days: I64, label: Callable[[dt.date], str]) -> pa.Array:
    """Format each distinct day once (Python) and spread the labels (Arrow take)."""
    if len(days) == 0:
        return pa.array([], pa.string())
    lo = int(days.min())
    hi = int(days.max())
    table = [label(_EPOCH + dt.timedelta(days=d)) for d in range(lo, hi + 1)]
    return pa.array(table, pa.string()).take(pa.array(days - lo))


def _ymd(day: dt.date) -> str:
    return day.isoformat()


def _ymd_slash(day: dt.date) -> str:
    return f"{day.year}/{day.month}/{day.day}"


def _ymd_chinese(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def date_iso(days: I64) -> pa.Array:
    """Days since 1970-01-01 -> `YYYY-MM-DD`."""
    return _day_labels(days, _ymd)


def date_slash(days: I64) -> pa.Array:
    """Days since 1970-01-01 -> `YYYY/M/D`."""
    return _day_labels(days, _ymd_slash)


def _clock(seconds_of_day: I64, with_seconds: bool) -> U8:
    s = seconds_of_day
    width = 8 if with_seconds else 5
    mat = np.empty((len(s), width), np.uint8)
    mat[:, 0:2] = _PAIRS[s // 3600]
    mat[:, 2] = ord(":")
    mat[:, 3:5] = _PAIRS[(s // 60) % 60]
    if with_seconds:
        mat[:, 5] = ord(":")
        mat[:, 6:8] = _PAIRS[s % 60]
    return mat


def _split(t: I64) -> tuple[I64, I64]:
    days = t // 86400
    return days, t - days * 86400


def _date_matrix(days: I64) -> U8:
    lo = int(days.min())
    hi = int(days.max())
    labels = "".join(_ymd(_EPOCH + dt.timedelta(days=d)) for d in range(lo, hi + 1))
    table = np.frombuffer(labels.encode(), np.uint8).reshape(hi - lo + 1, 10)
    return table[days - lo]


def ts_iso(t: I64, sep: str = " ", suffix: str = "") -> pa.Array:
    """Epoch seconds -> `YYYY-MM-DD HH:MM:SS` (+ a literal suffix such as `+08:00`).

    The caller shifts `t` to the wall-clock zone it wants first.
    """
    if len(t) == 0:
        return pa.array([], pa.string())
    days, sod = _split(t)
    tail = np.frombuffer(suffix.encode(), np.uint8)
    mat = np.empty((len(t), 19 + len(tail)), np.uint8)
    mat[:, 0:10] = _date_matrix(days)
    mat[:, 10] = ord(sep)
    mat[:, 11:19] = _clock(sod, True)
    mat[:, 19:] = tail
    return fixed(mat)


def ts_utc_ms(t: I64, millis: I64) -> pa.Array:
    """UTC epoch seconds + milliseconds -> `YYYY-MM-DDTHH:MM:SS.mmmZ`."""
    if len(t) == 0:
        return pa.array([], pa.string())
    days, sod = _split(t)
    mat = np.empty((len(t), 24), np.uint8)
    mat[:, 0:10] = _date_matrix(days)
    mat[:, 10] = ord("T")
    mat[:, 11:19] = _clock(sod, True)
    mat[:, 19] = ord(".")
    mat[:, 20:23] = digits(millis, 3)
    mat[:, 23] = ord("Z")
    return fixed(mat)


def ts_slash(t: I64) -> pa.Array:
    """Epoch seconds -> `YYYY/M/D HH:MM` (no zero padding on month and day)."""
    days, sod = _split(t)
    return join(_day_labels(days, _ymd_slash), fixed(_clock(sod, False)), sep=" ")


def ts_chinese(t: I64) -> pa.Array:
    """Epoch seconds -> `YYYY年M月D日 HH:MM`."""
    days, sod = _split(t)
    return join(_day_labels(days, _ymd_chinese), fixed(_clock(sod, False)), sep=" ")


# --------------------------------------------------------------------------------- money


def money(cents: I64) -> pa.Array:
    """Cents -> `1234.50`."""
    if len(cents) == 0:
        return pa.array([], pa.string())
    return join(ints(cents // 100), fixed(_PAIRS[cents % 100]), sep=".")


def money_short(cents: I64) -> pa.Array:
    """Cents -> the shortest decimal: `1234.5`, `88`, `12.34`."""
    cents = np.asarray(cents, np.int64)
    code = np.where(cents % 100 == 0, 0, np.where(cents % 10 == 0, 1, 2))

    def whole(idx: np.ndarray) -> pa.Array:
        return ints(cents[idx] // 100)

    def tenth(idx: np.ndarray) -> pa.Array:
        c = cents[idx]
        return join(ints(c // 100), ints((c // 10) % 10), sep=".")

    def full(idx: np.ndarray) -> pa.Array:
        return money(cents[idx])

    return mixed(code, [whole, tenth, full])


def grouped(yuan: I64) -> pa.Array:
    """Whole yuan with thousands separators: `1,234,567`."""
    yuan = np.asarray(yuan, np.int64)
    code = (yuan >= 1000).astype(np.int8) + (yuan >= 1_000_000)

    def small(idx: np.ndarray) -> pa.Array:
        return ints(yuan[idx])

    def thousands(idx: np.ndarray) -> pa.Array:
        y = yuan[idx]
        return join(ints(y // 1000), fixed(digits(y % 1000, 3)), sep=",")

    def millions(idx: np.ndarray) -> pa.Array:
        y = yuan[idx]
        return join(
            ints(y // 1_000_000),
            fixed(digits((y // 1000) % 1000, 3)),
            fixed(digits(y % 1000, 3)),
            sep=",",
        )

    return mixed(code, [small, thousands, millions])


def money_symbol(cents: I64, symbol: str, decimals: bool = True) -> pa.Array:
    """Cents -> `¥1,234.50` (or `￥88` without decimals when they are zero)."""
    if len(cents) == 0:
        return pa.array([], pa.string())
    head = grouped(cents // 100)
    if decimals:
        return join(symbol, head, ".", fixed(_PAIRS[cents % 100]))
    return join(symbol, head)


# --------------------------------------------------------------------------------- phones

PHONE_FORMATS = 7  # see phone_text


def _phone_plain(p: I64) -> U8:
    return digits(p, 11)


def _spaced(p: I64, head: str, sep: str) -> U8:
    d = digits(p, 11)
    h = np.frombuffer(head.encode(), np.uint8)
    s = ord(sep)
    mat = np.empty((len(p), len(h) + 13), np.uint8)
    k = len(h)
    mat[:, :k] = h
    mat[:, k : k + 3] = d[:, 0:3]
    mat[:, k + 3] = s
    mat[:, k + 4 : k + 8] = d[:, 3:7]
    mat[:, k + 8] = s
    mat[:, k + 9 : k + 13] = d[:, 7:11]
    return mat


def _prefixed(p: I64, head: str) -> U8:
    d = digits(p, 11)
    h = np.frombuffer(head.encode(), np.uint8)
    mat = np.empty((len(p), len(h) + 11), np.uint8)
    mat[:, : len(h)] = h
    mat[:, len(h) :] = d
    return mat


def _fullwidth(p: I64) -> U8:
    d = digits(p, 11) - 48
    return _FULLWIDTH_DIGITS[d].reshape(len(p), 33)


def phone_text(phones: I64, codes: np.ndarray) -> pa.Array:
    """11-digit mobile numbers written the way people type them.

    codes: 0 `13812345678`, 1 `+86 138 1234 5678`, 2 `0086-138-1234-5678`,
    3 `86 13812345678`, 4 `+8613812345678`, 5 `138-1234-5678`, 6 full-width digits.
    """
    phones = np.asarray(phones, np.int64)
    makers: list[Callable[[I64], U8]] = [
        _phone_plain,
        lambda p: _spaced(p, "+86 ", " "),
        lambda p: _spaced(p, "0086-", "-"),
        lambda p: _prefixed(p, "86 "),
        lambda p: _prefixed(p, "+86"),
        lambda p: _spaced(p, "", "-"),
        _fullwidth,
    ]

    def builder(make: Callable[[I64], U8]) -> Callable[[np.ndarray], pa.Array]:
        return lambda idx: fixed(make(phones[idx]))

    return mixed(codes, [builder(m) for m in makers])


def e164(phones: I64) -> pa.Array:
    """11-digit mobile numbers -> `+8613812345678` (the normalised form)."""
    return fixed(_prefixed(np.asarray(phones, np.int64), "+86"))


def ymd_digits(t: I64) -> U8:
    """Epoch seconds -> the `YYYYMMDD` bytes of each row's date, as a byte matrix."""
    if len(t) == 0:
        return np.empty((0, 8), np.uint8)
    mat = _date_matrix(t // 86400)
    return np.ascontiguousarray(mat[:, [0, 1, 2, 3, 5, 6, 8, 9]])


def concat_fixed(*parts: U8 | str, rows: int) -> pa.StringArray:
    """Concatenate byte matrices and literals column-wise into a fixed-width string array."""
    mats = [
        np.broadcast_to(np.frombuffer(p.encode(), np.uint8), (rows, len(p.encode())))
        if isinstance(p, str)
        else p
        for p in parts
    ]
    return fixed(np.concatenate(mats, axis=1) if mats else np.empty((rows, 0), np.uint8))
