"""PII masking, twice: as Ibis expressions (in the engine) and in Python (fetched frames).

Both versions follow the same rules and a property test keeps them equal. Nulls stay null;
every other input gives a string.

- phone: digits only, a +86 prefix dropped; first 3 + **** + last 4 ('+8613812345678' →
  '138****5678'); fewer than 9 digits → '****'.
- email: first character + *** + '@' and the domain ('zhang.wei@example.com' →
  'z***@example.com'); no '@' after the first character → '****'.
- name: first character and one * per further character ('张伟丰' → '张**', 'Li Na' →
  'L****'); a single character → '*'.
- birth_date: the year as 'YYYY' (a date, or a string starting 'YYYY-'); else '****'.
- id (member, device, WeChat ids): first 2 + **** + last 2; fewer than 6 characters → '****'.
- by_id_type: phone, email or id as the row's identifier type says.
- message: a quarantine message with the value it quotes replaced: "('12345')" → "('****')".
- redact: '****'.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

MaskKind = Literal["phone", "email", "name", "birth_date", "id", "by_id_type", "message", "redact"]
STARS = "****"
_NOT_DIGIT = "[^0-9]"
_QUOTED = r"\('[\s\S]*'\)"  # greedy: from the first (' to the last ')
_YEAR_FIRST = "^[0-9]{4}-"


# -- Python -------------------------------------------------------------------------------


def mask_phone(value: str) -> str:
    """'+8613812345678' or '13812345678' → '138****5678'."""
    digits = re.sub(_NOT_DIGIT, "", value)
    national = digits[2:] if value.startswith("+86") else digits
    return national[:3] + STARS + national[-4:] if len(national) >= 9 else STARS


def mask_email(value: str) -> str:
    """'zhang.wei@example.com' → 'z***@example.com'."""
    at = value.find("@")
    return value[0] + "***" + value[at:] if at >= 1 else STARS


def mask_name(value: str) -> str:
    """'张伟丰' → '张**', 'Li Na' → 'L****'."""
    return value[0] + "*" * (len(value) - 1) if len(value) > 1 else "*"


def mask_birth_date(value: Any) -> str:
    """A date (or an ISO date string) → its year."""
    if isinstance(value, dt.date):  # datetime and pd.Timestamp are dates too
        return f"{value.year:04d}"
    text = str(value)
    return text[:4] if re.match(_YEAR_FIRST, text) else STARS


def mask_id(value: str) -> str:
    """Member, device and WeChat ids: 'oWx8Kd93fP' → 'oW****fP'."""
    return value[:2] + STARS + value[-2:] if len(value) >= 6 else STARS


def mask_message(value: str) -> str:
    """A quarantine message without the rejected value it quotes."""
    return re.sub(_QUOTED, "('****')", value)


def mask_by_id_type(value: str, id_type: Any) -> str:
    """An identifier value masked as its type says."""
    if id_type == "phone":
        return mask_phone(value)
    if id_type == "email":
        return mask_email(value)
    return mask_id(value)


_PYTHON: dict[str, Callable[[str], str]] = {
    "phone": mask_phone,
    "email": mask_email,
    "name": mask_name,
    "id": mask_id,
    "message": mask_message,
    "redact": lambda _value: STARS,
}


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str | list | dict) and bool(pd.isna(value)))


def mask_value(kind: MaskKind, value: Any, id_type: Any = None) -> str | None:
    """One value masked in Python (None stays None)."""
    if _missing(value):
        return None
    if kind == "birth_date":
        return mask_birth_date(value)
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    if kind == "by_id_type":
        return mask_by_id_type(text, id_type)
    return _PYTHON[kind](text)


def mask_series(kind: MaskKind, values: pd.Series, id_types: pd.Series | None = None) -> pd.Series:
    """A fetched column masked in Python."""
    kinds = id_types if id_types is not None else pd.Series([None] * len(values), values.index)
    masked = [mask_value(kind, v, t) for v, t in zip(values, kinds, strict=True)]
    return pd.Series(masked, index=values.index, dtype=object, name=values.name)


# -- Ibis ---------------------------------------------------------------------------------


def _phone(v: ir.StringValue) -> ir.StringValue:
    digits = v.re_replace(_NOT_DIGIT, "")
    national = ibis.ifelse(v.startswith("+86"), digits.substr(2), digits)
    return ibis.ifelse(
        national.length() >= 9, national.substr(0, 3) + STARS + national.right(4), STARS
    )


def _email(v: ir.StringValue) -> ir.StringValue:
    at = v.find("@")
    return ibis.ifelse(at >= 1, v.substr(0, 1) + "***" + v.substr(at), STARS)


def _name(v: ir.StringValue) -> ir.StringValue:
    return ibis.ifelse(v.length() > 1, v.substr(0, 1).rpad(v.length(), "*"), "*")


def _birth_date(v: ir.Value) -> ir.StringValue:
    if v.type().is_temporal():
        return v.year().cast("string").lpad(4, "0")
    text = v.cast("string")
    return ibis.ifelse(text.re_search(_YEAR_FIRST), text.substr(0, 4), STARS)


def _id(v: ir.StringValue) -> ir.StringValue:
    return ibis.ifelse(v.length() >= 6, v.substr(0, 2) + STARS + v.right(2), STARS)


def _message(v: ir.StringValue) -> ir.StringValue:
    return v.re_replace(_QUOTED, "('****')")


_IBIS: dict[str, Callable[[ir.StringValue], ir.StringValue]] = {
    "phone": _phone,
    "email": _email,
    "name": _name,
    "id": _id,
    "message": _message,
    "redact": lambda _v: ibis.literal(STARS),
}


def mask_expr(kind: MaskKind, value: ir.Value, id_type: ir.Value | None = None) -> ir.StringValue:
    """One column masked in the engine (null stays null)."""
    if kind == "birth_date":
        masked = _birth_date(value)
    else:
        text = value if value.type().is_string() else value.cast("string")
        if kind == "by_id_type":
            kinds = id_type if id_type is not None else ibis.literal(None, "string")
            masked = ibis.cases(
                (kinds == "phone", _phone(text)),
                (kinds == "email", _email(text)),
                else_=_id(text),
            )
        else:
            masked = _IBIS[kind](text)
    return ibis.ifelse(value.isnull(), ibis.null("string"), masked)
