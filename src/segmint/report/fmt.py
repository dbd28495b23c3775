"""Number, date and label formatting shared by the report template and the charts.

Every formatter accepts anything number-like (int, float, numpy scalar, None, NaN) and
returns a display string; missing or non-finite values become an em dash so a gap in the
data never shows up as ``nan`` in front of an analyst.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

MISSING = "—"
"""What a missing value looks like in the report."""


def as_float(value: Any) -> float | None:
    """Return ``value`` as a finite float, or None when it is missing, NaN or infinite."""
    if value is None or isinstance(value, str):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def fmt_int(value: Any) -> str:
    """Format a count with thousands separators: ``1234567`` → ``1,234,567``."""
    number = as_float(value)
    return MISSING if number is None else f"{round(number):,}"


def fmt_num(value: Any, decimals: int = 1) -> str:
    """Format a number with thousands separators and a fixed number of decimals."""
    number = as_float(value)
    return MISSING if number is None else f"{number:,.{decimals}f}"


def fmt_money(value: Any) -> str:
    """Format an amount of money with thousands separators and two decimals."""
    return fmt_num(value, 2)


def fmt_pct(value: Any, decimals: int = 1) -> str:
    """Format a fraction (0–1) as a percentage with one decimal: ``0.1234`` → ``12.3%``."""
    number = as_float(value)
    return MISSING if number is None else f"{number * 100:,.{decimals}f}%"


def fmt_compact(value: Any) -> str:
    """Format a number compactly for axis ticks: ``1500`` → ``1.5K``, ``2e6`` → ``2M``."""
    number = as_float(value)
    if number is None:
        return MISSING
    magnitude = abs(number)
    for limit, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if magnitude >= limit:
            scaled = number / limit
            if abs(scaled) >= 1000:  # beyond the largest suffix: fall back to scientific
                return f"{number:.2g}"
            text = f"{scaled:.1f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    if magnitude == 0:
        return "0"
    if magnitude < 0.01:
        return f"{number:.1g}"
    if number == round(number):
        return f"{round(number)}"
    return f"{number:.2f}".rstrip("0").rstrip(".")


DURATION_UNITS: dict[str, tuple[str, str, str]] = {
    "en": (" s", " min", " h"),
    "zh": (" 秒", " 分", " 小时"),
}


def fmt_seconds(value: Any, lang: str = "en") -> str:
    """Format a duration in seconds: ``4.2`` → ``4.2 s``, ``125`` → ``2 min 5 s`` (zh: 秒/分)."""
    number = as_float(value)
    if number is None:
        return MISSING
    sec, mins, hrs = DURATION_UNITS.get(lang, DURATION_UNITS["en"])
    if abs(number) < 60:
        return f"{number:,.1f}{sec}"
    minutes, seconds = divmod(round(number), 60)
    if minutes < 60:
        return f"{minutes}{mins} {seconds}{sec}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}{hrs} {minutes}{mins}"


def parse_timestamp(value: Any) -> datetime | None:
    """Parse an ISO string, datetime or pandas Timestamp; None when missing or unparseable."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
        if value is pd.NaT:
            return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def fmt_timestamp(value: Any) -> str:
    """Format a timestamp as ``YYYY-MM-DD HH:MM`` (plus ``UTC`` or the offset when known).

    Strings that are not ISO timestamps are shown as they are.
    """
    moment = parse_timestamp(value)
    if moment is None:
        if isinstance(value, str) and value.strip().lower() not in ("", "none", "nat", "nan"):
            return value.strip()
        return MISSING
    text = moment.strftime("%Y-%m-%d %H:%M")
    offset = moment.utcoffset()
    if offset is None:
        return text
    if offset.total_seconds() == 0:
        return f"{text} UTC"
    return f"{text} {moment.strftime('%z')}"


def text_units(text: str) -> int:
    """Display width of ``text`` in half-width units (CJK and other wide characters count 2)."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def truncate(text: str, max_units: int) -> str:
    """Shorten ``text`` to at most ``max_units`` display units, ending in an ellipsis if cut."""
    if text_units(text) <= max_units:
        return text
    budget = max(max_units - 1, 0)
    kept: list[str] = []
    used = 0
    for char in text:
        width = 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if used + width > budget:
            break
        kept.append(char)
        used += width
    return "".join(kept).rstrip() + "…"


def clean_label(value: Any) -> str:
    """Turn any label into printable text: None/NaN become an em dash, control chars are dropped."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return MISSING
    text = str(value)
    return "".join(
        char for char in text if char in "\t" or unicodedata.category(char) not in ("Cc", "Cs")
    ).replace("\t", " ")


def clean_text(value: Any) -> str:
    """Like :func:`clean_label` but keeps line breaks and tabs (for raw rows shown verbatim)."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return MISSING
    return "".join(
        char
        for char in str(value)
        if char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cs")
    )


MASK = "****"
"""What stands for the hidden part of a masked identifier."""


def mask_identifier(id_type: Any, value: Any) -> str:
    """An identifier value with its middle hidden, safe to show in a shared report.

    * phone: the country code and first digits stay, four digits are hidden and the last four
      stay, as on Chinese receipts: ``+8613812345678`` → ``+86138****5678``;
    * email: the first character of the local part and the domain stay:
      ``zhang.wei@example.com`` → ``z***@example.com``;
    * any other identifier (member id, WeChat openid, device id …): the first two and last
      two characters stay: ``oXy1abcdefgh9Z`` → ``oX***9Z``.

    Values too short to keep anything (under 8 characters, phones under 9) are hidden
    entirely, so the output never repeats a whole identifier. Missing values give "—".
    """
    text = clean_label(value).strip()
    if value is None or text in ("", MISSING):
        return MISSING
    kind = str(id_type or "").strip().lower()
    if kind == "phone":
        return text[:-8] + MASK + text[-4:] if len(text) >= 9 else "***"
    if kind == "email":
        local, at, domain = text.rpartition("@")
        if at and local and domain:
            return f"{local[0]}***@{domain}"
    if len(text) >= 8:
        return f"{text[:2]}***{text[-2:]}"
    return "***"
