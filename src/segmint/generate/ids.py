"""Identifiers: unique numbers, UUID-shaped device ids, WeChat OpenIDs, mobile numbers.

Uniqueness comes from construction, not from luck: ids are bijective functions of a counter
(splitmix64 is a bijection on 64-bit integers), so no deduplication pass is ever needed.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from segmint.generate.arrays import I64, U8, U64
from segmint.generate.fmt import fixed

_HEX_LOWER: U8 = np.frombuffer("".join(f"{i:02x}" for i in range(256)).encode(), np.uint8).reshape(
    256, 2
)
_HEX_UPPER: U8 = np.frombuffer("".join(f"{i:02X}" for i in range(256)).encode(), np.uint8).reshape(
    256, 2
)
_B64 = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", np.uint8)

# Mobile prefixes of the three carriers (138 / 188 are avoided for person numbers: the
# well-known placeholder numbers live there).
MOBILE_PREFIXES: tuple[int, ...] = (
    130,
    131,
    132,
    133,
    134,
    135,
    136,
    137,
    139,
    150,
    151,
    152,
    153,
    155,
    156,
    157,
    158,
    159,
    166,
    176,
    177,
    178,
    180,
    181,
    182,
    183,
    185,
    186,
    187,
    189,
    198,
    199,
)


# Kinds of generated ids; each gets its own key space (see id_key).
KIND_WEB = 1
KIND_APP = 2
KIND_MINI = 3
KIND_OPENID = 4
KIND_TABLET = 5
KIND_EVENT = 6
KIND_PHONE = 7


def id_key(kind: int, seed: int) -> int:
    """A key for `mix64` that separates id kinds (high bits) and seeds (low bits).

    Counters stay below 2**40, so ids of different kinds can never collide.
    """
    return (kind << 40) | (seed & 0xFFFFFFFF)


def mix64(x: np.ndarray, key: int) -> U64:
    """splitmix64 of `x ^ key`: a keyed bijection on uint64 (distinct in -> distinct out)."""
    z = np.asarray(x, dtype=np.uint64) ^ np.uint64(key & 0xFFFFFFFFFFFFFFFF)
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


_HEX16_LOWER = (
    np.ascontiguousarray(
        np.concatenate([np.repeat(_HEX_LOWER, 256, axis=0), np.tile(_HEX_LOWER, (256, 1))], axis=1)
    )
    .view(np.uint32)
    .ravel()
)
_HEX16_UPPER = (
    np.ascontiguousarray(
        np.concatenate([np.repeat(_HEX_UPPER, 256, axis=0), np.tile(_HEX_UPPER, (256, 1))], axis=1)
    )
    .view(np.uint32)
    .ravel()
)


def _hex(words: np.ndarray, upper: bool) -> U8:
    """16 hex digits per 64-bit word (big-endian), via a 65,536-entry table of 4 digits."""
    table = _HEX16_UPPER if upper else _HEX16_LOWER
    quads = np.ascontiguousarray(words.astype(">u8")).view(">u2").reshape(len(words), 4)
    return (
        np.ascontiguousarray(table[quads.astype(np.int64)]).view(np.uint8).reshape(len(words), 16)
    )


def uuid_text(counter: I64, key: int, upper: bool = False) -> pa.StringArray:
    """UUID-shaped strings (8-4-4-4-12 hex), unique per (counter, key)."""
    counter = np.asarray(counter, np.int64)
    hi = _hex(mix64(counter, key), upper)
    lo = _hex(mix64(counter, key ^ 0x5DEECE66D), upper)
    mat = np.empty((len(counter), 36), np.uint8)
    dash = ord("-")
    mat[:, 0:8] = hi[:, 0:8]
    mat[:, 8] = dash
    mat[:, 9:13] = hi[:, 8:12]
    mat[:, 13] = dash
    mat[:, 14:18] = hi[:, 12:16]
    mat[:, 18] = dash
    mat[:, 19:23] = lo[:, 0:4]
    mat[:, 23] = dash
    mat[:, 24:36] = lo[:, 4:16]
    return fixed(mat)


def hex16(counter: I64, key: int) -> pa.StringArray:
    """16 lower-case hex digits, unique per (counter, key) (Android-ID style)."""
    return fixed(_hex(mix64(np.asarray(counter, np.int64), key), False))


def openid_text(counter: I64, key: int) -> pa.StringArray:
    """WeChat-OpenID-shaped strings: `o` + 27 url-safe base64 characters, unique per counter."""
    counter = np.asarray(counter, np.int64)
    words = (mix64(counter, key), mix64(counter, key ^ 0x2545F4914F6CDD1D))
    mat = np.empty((len(counter), 28), np.uint8)
    mat[:, 0] = ord("o")
    # 11 characters carry all 64 bits of the first word (a bijection of the counter), so
    # distinct counters give distinct ids; the second word only adds look.
    for k in range(27):
        word = words[0] if k < 11 else words[1]
        shift = np.uint64(6 * (k if k < 11 else k - 11) % 64)
        mat[:, 1 + k] = _B64[((word >> shift) & np.uint64(63)).astype(np.int64)]
    return fixed(mat)


def permute_1e8(counter: I64, key: int) -> I64:
    """A keyed bijection of [0, 10**8): a 4-round Feistel network on two 4-digit halves."""
    left = np.asarray(counter, np.int64) // 10_000
    right = np.asarray(counter, np.int64) % 10_000
    for round_ in range(4):
        mixed = mix64(right, key + round_).astype(np.int64) & 0x7FFFFFFF
        left, right = right, (left + mixed) % 10_000
    return left * 10_000 + right


def mobile_numbers(counter: I64, key: int, prefix_pick: I64) -> I64:
    """Distinct 11-digit mobile numbers: a carrier prefix + an 8-digit bijection of counter.

    Distinct counters (below 10**8) give distinct numbers whatever prefixes are picked.
    """
    suffix = permute_1e8(counter, id_key(KIND_PHONE, key))
    prefixes = np.asarray(MOBILE_PREFIXES, np.int64)[prefix_pick % len(MOBILE_PREFIXES)]
    return prefixes * 100_000_000 + suffix


def swap_digits(phones: I64, rng: np.random.Generator) -> I64:
    """Each number with two neighbouring digits swapped (among the last eight)."""
    phones = np.asarray(phones, np.int64)
    k = rng.integers(3, 10, len(phones))  # swap digit k and k+1 (0 = leftmost of 11)
    hi = np.power(np.int64(10), 10 - k).astype(np.int64)
    lo = np.power(np.int64(10), 9 - k).astype(np.int64)
    a = (phones // hi) % 10
    b = (phones // lo) % 10
    return np.asarray(phones + (b - a) * hi + (a - b) * lo, np.int64)
