"""Reference normalisers for identifiers, in plain Python.

Ingestion normalises identifiers with Ibis expressions (`segmint.ingest.parse`) so the work
runs inside DuckDB or Spark; these functions say what the answer must be, one value at a
time, and the tests hold the engine to them. International phone numbers are the one case
the engine cannot decide in SQL: it sends those few values here (see `parse.normalise_phone`).

Where an engine expression must agree exactly, the text steps below are the engines' own:
full-width ASCII (U+FF01-U+FF5E) and the ideographic space map to half-width, trimming
removes the six ASCII whitespace characters `TRIM` removes, and case mapping is applied
only to ASCII text (DuckDB, Spark and Python map some non-ASCII letters differently).
Names and addresses are Python-only for now and use Python's full Unicode rules.

Every function returns None for "no usable value" and is idempotent: feeding a result back
in returns it unchanged.
"""

from __future__ import annotations

import re

import phonenumbers

__all__ = [
    "FULL_WIDTH",
    "HALF_WIDTH",
    "clean_text",
    "half_width",
    "is_placeholder_email",
    "is_placeholder_phone",
    "normalize_address",
    "normalize_device_id",
    "normalize_email",
    "normalize_member_id",
    "normalize_name",
    "normalize_phone",
    "normalize_wechat_id",
]

#: Full-width ASCII and the ideographic space, and the half-width characters they become.
FULL_WIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
HALF_WIDTH = "".join(chr(c) for c in range(0x21, 0x7F)) + " "
_TO_HALF = str.maketrans(FULL_WIDTH, HALF_WIDTH)
#: What DuckDB's TRIM (and segmint's Spark strip) remove from both ends.
TRIM_CHARACTERS = " \t\n\r\x0b\x0c"
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")

# -- phones --------------------------------------------------------------------------------

#: Separators people type inside phone numbers (spaces, dashes, dots, brackets).
PHONE_SEPARATORS = r"[ \t\n\r\x0c\x0b\-().]"
#: A mainland mobile after separators are removed: optional +86 / 0086 / 86, an optional
#: trunk 0 (no area code starts 01[3-9]), then 1[3-9] and nine digits. Group 1: the number.
CN_MOBILE = r"^(?:\+?86|0086)?0?(1[3-9][0-9]{9})$"
#: What may be a dialled landline or international number: + or 0 (trunk or 00), digits.
#: Anything else that is not a mobile is junk without asking phonenumbers.
DIALLABLE = r"^[+0][0-9]{5,17}$"
_SEPARATORS_RE = re.compile(PHONE_SEPARATORS)
_CN_MOBILE_RE = re.compile(CN_MOBILE, re.ASCII)
_DIALLABLE_RE = re.compile(DIALLABLE, re.ASCII)
_PHONE_TEXT_RE = re.compile(r"^\+?[0-9]+$", re.ASCII)

# Numbers typed when the customer gives none (national significant numbers, mainland).
PLACEHOLDER_CN_NUMBERS = frozenset({"13800138000", "12345678910", "12345678900", "10000000000"})
ASCENDING_DIGITS = "0123456789" * 3
DESCENDING_DIGITS = "9876543210" * 3


def half_width(text: str) -> str:
    """Full-width ASCII letters, digits, punctuation and the ideographic space to half-width."""
    return text.translate(_TO_HALF)


def clean_text(raw: str | None) -> str | None:
    """Half-width and trimmed like ingestion's `normalise_text`; empty text becomes None."""
    if raw is None:
        return None
    text = half_width(raw).strip(TRIM_CHARACTERS)
    return text or None


def _dialled_digits(raw: str) -> str:
    return _SEPARATORS_RE.sub("", half_width(raw))


def normalize_phone(raw: str | None, default_region: str = "CN") -> str | None:
    """A phone number as E.164 text (`+8613812345678`), or None when it is not a number.

    With the default region CN:

    - mainland mobiles are recognised by shape, so newly issued ranges are never rejected:
      `13812345678`, `+86 138-1234-5678`, `0086 13812345678`, `8613812345678`, full-width
      digits, brackets and dots all give `+8613812345678`;
    - other text that starts with `+`, `00` or a trunk `0` (landlines such as `010-12345678`,
      international numbers such as `+44 20 7946 0958` or `001 415 555 2671`) must be a
      valid number for `phonenumbers` (`is_valid_number`);
    - anything else (letters, extensions, short or bare non-mobile digits) is None.

    With another default region every number goes to `phonenumbers` with that region.
    """
    if raw is None:
        return None
    digits = _dialled_digits(raw)
    if not _PHONE_TEXT_RE.match(digits):
        return None
    if default_region == "CN":
        mobile = _CN_MOBILE_RE.match(digits)
        if mobile:
            return "+86" + mobile.group(1)
        if not _DIALLABLE_RE.match(digits):
            return None
    try:
        number = phonenumbers.parse(digits, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_placeholder_phone(number: str | None) -> bool:
    """Whether a phone number is one typed when the customer gives none.

    `number` is normalised first; text that is no valid number at all (`12345678901`) is
    malformed rather than a placeholder, so False. Placeholders: one digit repeated, a first
    digit and one repeated digit (`13333333333`), a mobile prefix and eight zeros
    (`13800000000`), a mainland mobile prefix and nine equal digits (`13999999999`),
    consecutive digits after at most one leading digit (`+1 234-567-8901`,
    `13456789012`) and the well-known stand-ins `13800138000` and `12345678910`. Real
    numbers shared by many people (a store's phone) are not placeholders; identity
    resolution finds those as hubs.
    """
    e164 = normalize_phone(number)
    if e164 is None:
        return False
    national = phonenumbers.parse(e164).national_number
    digits = str(national)
    if len(set(digits)) == 1 or len(set(digits[1:])) == 1:
        return True
    if any(d in ASCENDING_DIGITS or d in DESCENDING_DIGITS for d in (digits, digits[1:])):
        return True
    if e164.startswith("+86"):
        if digits in PLACEHOLDER_CN_NUMBERS:
            return True
        if len(digits) == 11 and (digits.endswith("00000000") or len(set(digits[2:])) == 1):
            return True
    return False


# -- e-mail --------------------------------------------------------------------------------

#: The shape ingestion accepts, after lower-casing and removing whitespace.
EMAIL = r"^[a-z0-9._%+\-]+@[a-z0-9\-]+(\.[a-z0-9\-]+)*\.[a-z]{2,}$"
#: The whitespace removed anywhere in an address (the engines' common `\s`).
EMAIL_WHITESPACE = r"[ \t\n\r\x0c\x0b]"
_EMAIL_RE = re.compile(EMAIL, re.ASCII)
_EMAIL_WHITESPACE_RE = re.compile(EMAIL_WHITESPACE)
_GMAIL = frozenset({"gmail.com", "googlemail.com"})
PLACEHOLDER_EMAIL_LOCALS = frozenset(
    {
        "test",
        "tests",
        "testing",
        "none",
        "null",
        "nil",
        "na",
        "n.a",
        "unknown",
        "noreply",
        "no-reply",
        "no_reply",
        "donotreply",
        "do-not-reply",
        "do_not_reply",
        "noemail",
        "no-email",
        "nomail",
        "no-mail",
        "example",
        "sample",
        "dummy",
        "fake",
        "asdf",
        "qwerty",
        "abc",
        "abc123",
        "123",
        "1234",
        "12345",
        "123456",
    }
)
PLACEHOLDER_EMAIL_DOMAINS = frozenset(
    {
        "test.com",
        "example.com",
        "example.org",
        "example.net",
        "none.com",
        "noemail.com",
        "nomail.com",
        "no-email.com",
        "null.com",
        "fake.com",
        "dummy.com",
        "localhost",
    }
)
# RFC 2606 reserves these top-level domains for tests and examples.
_RESERVED_TLDS = (".test", ".example", ".invalid", ".localhost")


def normalize_email(raw: str | None, provider_rules: bool = False) -> str | None:
    """An e-mail address trimmed, half-width and lower-cased, or None when malformed.

    Whitespace anywhere is dropped; the address needs a local part, a domain and a
    top-level domain of letters, and no `..` (ingestion's `parse_email` rule). Text with
    non-ASCII characters is malformed: the engines lower-case those differently.

    With `provider_rules`, Gmail's documented equivalences are applied: dots and a `+tag`
    in the local part are ignored and googlemail.com is gmail.com. Other providers'
    aliases (QQ's numeric and foxmail addresses, Outlook's `+tag`) are not applied: they do
    not hold for every account.
    """
    text = clean_text(raw)
    if text is None or not text.isascii():
        return None
    address = _EMAIL_WHITESPACE_RE.sub("", text.lower())
    if not _EMAIL_RE.match(address) or ".." in address:
        return None
    if provider_rules:
        local, domain = address.rsplit("@", 1)
        if domain in _GMAIL:
            local = local.split("+", 1)[0].replace(".", "")
            if not local:
                return None
            address = f"{local}@gmail.com"
    return address


def is_placeholder_email(address: str | None) -> bool:
    """Whether an address is one typed when the customer gives none.

    Placeholders: local parts such as test, none, noreply, unknown, asdf or one repeated
    character, and domains such as test.com, example.com, noemail.com or a reserved
    top-level domain (.test, .example, .invalid, .localhost).
    """
    email = normalize_email(address)
    if email is None:
        return False
    local, domain = email.rsplit("@", 1)
    if local in PLACEHOLDER_EMAIL_LOCALS or len(set(local)) == 1:
        return True
    return domain in PLACEHOLDER_EMAIL_DOMAINS or domain.endswith(_RESERVED_TLDS)


# -- device, WeChat and member ids -----------------------------------------------------------

#: IDFA and most OAIDs: a UUID, 8-4-4-4-12 hex digits, with or without the dashes.
UUID_DASHED = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
UUID_PLAIN = r"^[0-9A-Fa-f]{32}$"
#: Android ID (and Xiaomi's OAID): 16 hex digits.
HEX16 = r"^[0-9A-Fa-f]{16}$"
#: Values SDKs and exports write when there is no id (compared lower-cased, ASCII only).
#: 9774d56d682e549c is the Android ID a whole generation of Android 2.2 devices shared.
PLACEHOLDER_DEVICE_IDS = (
    "unknown",
    "null",
    "(null)",
    "none",
    "nil",
    "nan",
    "undefined",
    "n/a",
    "na",
    "idfa",
    "oaid",
    "9774d56d682e549c",
)
_UUID_DASHED_RE = re.compile(UUID_DASHED)
_UUID_PLAIN_RE = re.compile(UUID_PLAIN)
_HEX16_RE = re.compile(HEX16)
_PLACEHOLDER_DEVICE = frozenset(PLACEHOLDER_DEVICE_IDS)
_WECHAT_ID_RE = re.compile(r"^[A-Za-z0-9_\-]+$")


def normalize_device_id(raw: str | None) -> str | None:
    """A device or anonymous id in one canonical spelling, or None for placeholders.

    - IDFA / OAID (UUID-shaped, with or without dashes): upper case, 8-4-4-4-12;
    - Android ID (16 hex digits): lower case;
    - anything else (cookie ids, anonymousId): trimmed and half-width, case kept;
    - None for the all-zero id iOS reports when tracking is limited, any id that is one
      repeated character (dashes aside), and the stand-ins in PLACEHOLDER_DEVICE_IDS.
    """
    text = clean_text(raw)
    if text is None:
        return None
    compact = text.replace("-", "")
    if len(set(compact)) <= 1:
        return None
    if text.isascii() and text.lower() in _PLACEHOLDER_DEVICE:
        return None
    if _UUID_DASHED_RE.match(text) or _UUID_PLAIN_RE.match(text):
        hexid = compact.upper()
        return f"{hexid[:8]}-{hexid[8:12]}-{hexid[12:16]}-{hexid[16:20]}-{hexid[20:]}"
    if _HEX16_RE.match(text):
        return text.lower()
    return text


def normalize_wechat_id(raw: str | None) -> str | None:
    """A WeChat OpenID or UnionID, trimmed and half-width, or None when it cannot be one.

    The ids are URL-safe base64 (letters, digits, `_` and `-`) and case-sensitive, so the
    case is kept; text with other characters, or a placeholder word, is None.
    """
    text = clean_text(raw)
    if text is None or not _WECHAT_ID_RE.match(text):
        return None
    if text.lower() in _PLACEHOLDER_DEVICE:
        return None
    return text


def normalize_member_id(raw: str | None) -> str | None:
    """A loyalty / CRM member number: trimmed, half-width, ASCII letters upper-cased."""
    text = clean_text(raw)
    return None if text is None else text.translate(_ASCII_UPPER)


# -- names and addresses -----------------------------------------------------------------------

# Latin-script names: ASCII, Latin-1 and Latin Extended-A letters, spaces, - ' . and ·.
_LATIN = r"A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u017f"
_LATIN_NAME_RE = re.compile(f"^[{_LATIN}][{_LATIN} '\\-.·]*$")
_LETTERS_RE = re.compile(r"[^\W\d_]+")
_ADDRESS_PUNCTUATION = ",.;:!?、。，；：！？#*~_-—/|"
_REPEATED_PUNCTUATION_RE = re.compile(f"([{re.escape(_ADDRESS_PUNCTUATION)}])\\1+")
_WHITESPACE_RE = re.compile(r"\s+")


def _title_word(match: re.Match[str]) -> str:
    word = match.group(0)
    return word[0].title() + word[1:].lower()


def normalize_name(raw: str | None) -> str | None:
    """A person's name: half-width, trimmed, inner whitespace collapsed to one space.

    Latin-script names are title-cased per word (`LI  na` → `Li Na`, `o'brien` →
    `O'Brien`); names in other scripts (Chinese) keep their characters.
    """
    if raw is None:
        return None
    text = " ".join(half_width(raw).split())
    if not text:
        return None
    if _LATIN_NAME_RE.match(text):
        text = _LETTERS_RE.sub(_title_word, text)
    return text


def normalize_address(raw: str | None) -> str | None:
    """A postal address: half-width, whitespace collapsed, punctuation noise removed.

    Runs of one punctuation mark collapse to one (`,,` → `,`, `——` → `—`), and
    punctuation and spaces at either end are dropped. Nothing else changes: addresses are
    compared by later matching stages, not rewritten here.
    """
    if raw is None:
        return None
    text = _WHITESPACE_RE.sub(" ", half_width(raw))
    text = _REPEATED_PUNCTUATION_RE.sub(r"\1", text)
    text = text.strip(" " + _ADDRESS_PUNCTUATION)
    return text or None
