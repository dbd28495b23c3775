"""The same work as segmint's ingest → identity → RFM, written the way an analyst would in pandas.

Straightforward pandas: `read_csv` (the pyarrow engine, which is the only one that reports
rows with too few fields), vectorised `.str` methods with the same patterns segmint uses,
`duplicated` for de-duplication, `groupby().ngroup()` for identity's signature nodes, a
self-merge for the hub guard, min-label propagation with `groupby().min()` for connected
components (and again inside components split for holding too many member ids), `merge` +
`groupby` + `rank` for RFM.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from common import (
    ANY_FULL,
    ASCENDING_DIGITS,
    ASCII_LOWER,
    ASCII_UPPER,
    COMPACT,
    DATETIME,
    DESCENDING_DIGITS,
    EMAIL,
    EMAIL_WHITESPACE,
    ENTITIES,
    EPOCH,
    FULL_TO_HALF,
    HEX16,
    HUB_REASONS,
    INTEGER,
    INTERNATIONAL,
    INTERNATIONAL_PREFIX,
    ISO_DATE,
    ISO_LOCAL,
    LANDLINE,
    LANDLINE_DIGITS,
    LANDLINE_PREFIX,
    LINK_FIELDS,
    MOBILE,
    MOBILE_TAIL,
    MONEY_LIMIT,
    MONEY_STRIP,
    NON_ASCII,
    NUMBER,
    PHONE_STRIP,
    PLACEHOLDER_CN,
    PLACEHOLDER_DEVICE_IDS,
    PLACEHOLDER_EMAIL_DOMAINS,
    PLACEHOLDER_EMAIL_LOCALS,
    PLACEHOLDER_ID,
    PLACEHOLDER_PHONES,
    RESERVED_EMAIL_TLD,
    RULES,
    SEGMENT_GRID,
    STRONG_IDENTIFIERS,
    TRIM_CHARS,
    UUID_DASHED,
    UUID_PLAIN,
    BenchSpec,
    Col,
    SourceCounts,
    SourceDef,
    Stopwatch,
    Summary,
    file_codec,
    latest_allowed,
    oldest_birth,
)

FILE = "_file"
LINE = "_line"


@dataclass
class Output:
    """Everything the pandas implementation builds (kept for the equivalence test)."""

    summary: Summary
    quarantine: pd.DataFrame
    entities: dict[str, pd.DataFrame]
    quality_sources: pd.DataFrame
    quality_fields: pd.DataFrame
    identity: pd.DataFrame  # source, entity, record_key, customer_id
    hubs: pd.DataFrame
    rfm: pd.DataFrame


# ------------------------------------------------------------------------------ reading


def _bad_line_numbers(path: Path, codec: str, texts: list[str]) -> list[int]:
    """Line numbers of the rows the CSV reader rejected (it does not report them itself)."""
    wanted = {t.encode(codec) for t in texts}
    found = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if number > 1 and line.rstrip(b"\r\n") in wanted:
                found.append(number)
    return found


def read_source(source: SourceDef) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All files of a source as text (empty fields as ""), plus the malformed rows."""
    frames = []
    malformed = []
    for path in source.files:
        codec = file_codec(path, source.encoding)
        bad: list[Any] = []

        def keep_bad(row: Any, bad: list[Any] = bad) -> str:
            bad.append(row)
            return "skip"

        frame = pd.read_csv(
            path,
            sep=source.delimiter,
            dtype=str,
            keep_default_na=False,
            encoding=codec,
            engine="pyarrow",
            on_bad_lines=keep_bad,
        )
        frame.columns = [str(c).strip() for c in frame.columns]
        bad_lines = _bad_line_numbers(path, codec, [r.text for r in bad]) if bad else []
        if len(bad_lines) != len(bad):
            raise RuntimeError(f"{path}: found {len(bad_lines)} of {len(bad)} malformed lines")
        lines = np.setdiff1d(np.arange(2, 2 + len(frame) + len(bad)), bad_lines)
        frame[FILE] = str(path)
        frame[LINE] = lines
        frames.append(frame)
        for row, line in zip(bad, bad_lines, strict=True):
            malformed.append(
                {
                    FILE: str(path),
                    LINE: line,
                    "text": row.text,
                    "reason": f"expected {row.expected_columns} fields",
                }
            )
    raw = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return raw, pd.DataFrame(malformed, columns=[FILE, LINE, "text", "reason"])


# ------------------------------------------------------------------------------ parsing
# Every pattern is anchored with ^, so `str.match` is a regex search.


def normalise(text: pd.Series) -> pd.Series:
    """Full-width to half-width, trimmed; empty becomes missing.

    `str.translate` runs in Python, so only the few values with a full-width character go
    through it (segmint and the SQL version guard their translate the same way).
    """
    full = text.str.contains(ANY_FULL, regex=True, na=False)
    if full.any():
        text = text.copy()
        text[full] = text[full].str.translate(FULL_TO_HALF)
    clean = text.str.strip(TRIM_CHARS)
    return clean.mask(clean == "")


def _rule(conditions: list[tuple[pd.Series, str]], index: pd.Index) -> pd.Series:
    """The first rule whose condition holds, else missing (conditions as boolean Series)."""
    choices = [np.asarray(c.fillna(False), dtype=bool) for c, _ in conditions]
    picked = np.select(choices, range(1, len(conditions) + 1), default=0)
    names = np.array([None, *(r for _, r in conditions)], dtype=object)
    return pd.Series(names[picked], index=index, dtype=object)


def _canonical_datetime(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """'YYYY-MM-DD HH:MM:SS' text (missing when unmatched) and the offset text."""
    dashed = text.copy()
    compact = text.str.match(COMPACT, na=False)
    if compact.any():
        c = text[compact]
        clock = (" " + c.str[8:10] + ":" + c.str[10:12] + ":" + c.str[12:14]).where(
            c.str.len() > 8, ""
        )
        dashed[compact] = c.str[0:4] + "-" + c.str[4:6] + "-" + c.str[6:8] + clock
    parts = dashed.str.extract(DATETIME)

    def two(index: int, default: str) -> pd.Series:
        return parts[index].fillna(default).str.zfill(2)

    date = parts[0] + "-" + two(1, "01") + "-" + two(2, "01")
    clock = two(3, "00") + ":" + two(4, "00") + ":" + two(5, "00") + parts[6].fillna("")
    return date + " " + clock, parts[7]


def _offset_minutes(offset: pd.Series, default: int) -> pd.Series:
    digits = offset.str.replace(r"[^0-9]", "", regex=True)
    sign = np.where(offset.str.startswith("-", na=False), -1, 1)
    minutes = pd.to_numeric(digits.str[0:2], errors="coerce") * 60 + pd.to_numeric(
        digits.str[2:4], errors="coerce"
    )
    out = (sign * minutes).where(offset.notna(), default)
    return out.mask(offset == "Z", 0)


def _datetimes(text: pd.Series, fmt: str) -> pd.Series:
    """`to_datetime` at microsecond precision (finer fractions are cut, as DuckDB does)."""
    value = pd.to_datetime(text, format=fmt, errors="coerce")
    if value.dtype != "datetime64[us]":
        value = value.dt.floor("us").astype("datetime64[us]")
    return value


def parse_timestamp(text: pd.Series, spec: BenchSpec, source: SourceDef) -> pd.Series:
    """UTC (naive) timestamps; missing when the text is not a recognisable date-time.

    Plain ISO local times (most rows) go straight to `to_datetime`; the regex that knows
    every accepted format only sees the others.
    """
    iso = text.str.match(ISO_LOCAL, na=False)
    local = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    minutes = pd.Series(float(source.utc_offset_minutes), index=text.index)
    if iso.any():
        local[iso] = _datetimes(text[iso], "ISO8601")
    rest = text.notna() & ~iso
    if rest.any():
        canonical, offset = _canonical_datetime(text[rest])
        local[rest] = _datetimes(canonical, "ISO8601")
        minutes[rest] = _offset_minutes(offset, source.utc_offset_minutes)
    return local - pd.to_timedelta(minutes, unit="m")


def parse_date(text: pd.Series) -> pd.Series:
    """Calendar dates (midnight timestamps); a time of day is ignored."""
    iso = text.str.match(ISO_DATE, na=False)
    value = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    if iso.any():
        value[iso] = _datetimes(text[iso], "%Y-%m-%d")
    rest = text.notna() & ~iso
    if rest.any():
        canonical, _ = _canonical_datetime(text[rest])
        value[rest] = _datetimes(canonical.str[0:10], "%Y-%m-%d")
    return value


def parse_money(text: pd.Series) -> pd.Series:
    """Amounts with currency signs, 元/RMB and thousands separators removed."""
    stripped = text.str.replace(MONEY_STRIP, "", regex=True)
    ok = stripped.str.match(NUMBER, na=False)
    value = pd.to_numeric(stripped.where(ok), errors="coerce").round(2)
    return value.mask(value.abs() >= MONEY_LIMIT)


def parse_int(text: pd.Series) -> pd.Series:
    """Integers (a trailing .0 is allowed)."""
    clean = text.str.replace(r"[\s,]", "", regex=True)
    ok = clean.str.match(INTEGER, na=False)
    return pd.to_numeric(clean.where(ok), errors="coerce").astype("Int64")


def normalise_phone(text: pd.Series) -> pd.Series:
    """E.164 text for mainland mobiles, landlines and +/00-prefixed numbers; else missing."""
    digits = text.str.replace(PHONE_STRIP, "", regex=True)
    mobile = digits.str.match(MOBILE, na=False)
    landline = digits.str.match(LANDLINE, na=False) & digits.str.match(LANDLINE_PREFIX, na=False)
    international = digits.str.match(INTERNATIONAL, na=False)
    out = pd.Series(np.nan, index=text.index, dtype=object)
    take = mobile
    if take.any():
        out[take] = "+86" + digits[take].str.extract(MOBILE_TAIL)[0]
    take = ~mobile & landline
    if take.any():
        out[take] = "+86" + digits[take].str.extract(LANDLINE_DIGITS)[0]
    take = ~mobile & ~landline & international
    if take.any():
        out[take] = "+" + digits[take].str.replace(INTERNATIONAL_PREFIX, "", regex=True)
    return out


def parse_email(text: pd.Series) -> pd.Series:
    """Lower-cased ASCII addresses with a local part, a domain and a TLD."""
    lowered = text.str.lower().str.replace(EMAIL_WHITESPACE, "", regex=True)
    ok = (
        lowered.str.match(EMAIL, na=False)
        & ~lowered.str.contains("..", regex=False, na=False)
        & ~text.str.contains(NON_ASCII, regex=True, na=False)
    )
    return lowered.where(ok)


_TO_UPPER = str.maketrans(ASCII_LOWER, ASCII_UPPER)


def normalise_member_id(text: pd.Series) -> pd.Series:
    """ASCII letters upper-cased (other letters kept as written)."""
    out = text.str.upper()
    other = text.str.contains(NON_ASCII, regex=True, na=False)
    if other.any():
        out[other] = text[other].str.translate(_TO_UPPER)
    return out


def normalise_device_id(text: pd.Series) -> pd.Series:
    """UUIDs upper-case 8-4-4-4-12, Android IDs lower case, placeholders missing."""
    compact = text.str.replace("-", "", regex=False)
    hexid = compact.str.upper()
    uuid = (
        hexid.str[0:8]
        + "-"
        + hexid.str[8:12]
        + "-"
        + hexid.str[12:16]
        + "-"
        + hexid.str[16:20]
        + "-"
        + hexid.str[20:32]
    )
    given = text.notna()
    repeated = pd.Series(False, index=text.index)
    repeated[given] = [c.replace(c[:1], "") == "" for c in compact[given]]
    placeholder = ~text.str.contains(NON_ASCII, regex=True, na=False) & text.str.lower().isin(
        PLACEHOLDER_DEVICE_IDS
    )
    is_uuid = text.str.match(UUID_DASHED, na=False) | text.str.match(UUID_PLAIN, na=False)
    out = text.where(~is_uuid, uuid)
    out = out.where(~(~is_uuid & text.str.match(HEX16, na=False)), text.str.lower())
    return out.where(~(repeated | placeholder))


def parse_enum(text: pd.Series, allowed: tuple[str, ...]) -> pd.Series:
    """One of the allowed values, matched case-insensitively."""
    return text.str.lower().map({v.lower(): v for v in allowed})


def parse_column(
    text: pd.Series, col: Col, spec: BenchSpec, source: SourceDef
) -> tuple[pd.Series, pd.Series]:
    """(typed value, broken rule) for one canonical column's normalised text."""
    given = text.notna()
    index = text.index
    if col.type == "timestamp":
        value = parse_timestamp(text, spec, source)
        rules = [
            (given & value.isna(), "unparseable_timestamp"),
            (value > pd.Timestamp(latest_allowed(spec)), "future_timestamp"),
            (value < pd.Timestamp(EPOCH), "implausible_timestamp"),
        ]
    elif col.type == "date":
        value = parse_date(text)
        today = pd.Timestamp(spec.as_of.date())
        oldest = pd.Timestamp(oldest_birth(spec))
        rules = [
            (given & value.isna(), "unparseable_date"),
            ((value > today) | (value < oldest), "age_out_of_range"),
        ]
    elif col.type in ("money", "int"):
        money = col.type == "money"
        value = parse_money(text) if money else parse_int(text)
        low, high = ("negative_amount", "absurd_amount") if money else ("out_of_range",) * 2
        rules = [(given & value.isna(), "unparseable_amount" if money else "unparseable_number")]
        if col.min is not None:
            rules.append((value < col.min, low))
        if col.max is not None:
            rules.append((value > col.max, high))
    elif col.type == "phone":
        value = normalise_phone(text)
        rules = [(given & value.isna(), "malformed_phone")]
    elif col.type == "email":
        value = parse_email(text)
        rules = [(given & value.isna(), "malformed_email")]
    elif col.type == "enum":
        value = parse_enum(text, col.enum)
        rules = [(given & value.isna(), "unknown_enum")]
    elif col.type == "member_id":
        value = normalise_member_id(text)
        rules = []
    elif col.type == "device_id":
        value = normalise_device_id(text)
        rules = []
    else:
        value = text
        rules = []
    if col.required:
        rules.insert(0, (~given, "missing_required"))
    rule = _rule(rules, index) if rules else pd.Series(None, index=index, dtype=object)
    return value, rule


def nullable_field(source: SourceDef, name: str) -> bool:
    """Whether a bad value in this field is blanked (on_invalid: null) instead of rejected."""
    col = ENTITIES[source.entity].column(name)
    return source.columns[name].on_invalid == "null" and not col.required


def parse_source(
    raw: pd.DataFrame, source: SourceDef, spec: BenchSpec
) -> tuple[dict[str, pd.Series], dict[str, pd.Series]]:
    """Typed values and broken rules of every mapped column (bad values blanked where the
    mapping says on_invalid: null)."""
    entity = ENTITIES[source.entity]
    values: dict[str, pd.Series] = {}
    rules: dict[str, pd.Series] = {}
    for name, mapping in source.columns.items():
        text = normalise(raw[mapping.source])
        if mapping.values:
            text = text.replace(mapping.values)
        values[name], rules[name] = parse_column(text, entity.column(name), spec, source)
        if nullable_field(source, name):
            values[name] = values[name].where(rules[name].isna())
    return values, rules


# ------------------------------------------------------------------------------ ingest


def _json_rows(frame: pd.DataFrame) -> list[str]:
    return [json.dumps(r, ensure_ascii=False) for r in frame.to_dict("records")]


def ingest_source(
    source: SourceDef, spec: BenchSpec
) -> tuple[pd.DataFrame, pd.DataFrame, SourceCounts, pd.DataFrame]:
    """Staged rows, quarantined rows, counts and per-field stats of one source."""
    entity = ENTITIES[source.entity]
    raw, malformed = read_source(source)
    raw_columns = [c for c in raw.columns if c not in (FILE, LINE)]
    mapped = list(source.columns)
    values, rules = parse_source(raw, source, spec)
    nullable = [n for n in mapped if nullable_field(source, n)]

    # The first broken rule of each row (in the entity's column order), its field and text.
    first_rule = pd.Series(None, index=raw.index, dtype=object)
    first_field = pd.Series(None, index=raw.index, dtype=object)
    bad_text = pd.Series(None, index=raw.index, dtype=object)
    for name in mapped:
        if name in nullable:
            continue
        new = first_rule.isna() & rules[name].notna()
        first_rule = first_rule.mask(new, rules[name])
        first_field = first_field.mask(new, name)
        bad_text = bad_text.mask(new, raw[source.columns[name].source])

    stats = pd.DataFrame(
        {
            "field": mapped,
            "rows": len(raw) + len(malformed),
            "present": [
                int(
                    np.where(
                        rules[n] == "missing_required",
                        False,
                        rules[n].notna() | values[n].notna(),
                    ).sum()
                )
                for n in mapped
            ],
            "invalid": [int(rules[n].notna().sum()) for n in mapped],
        }
    )

    ok = first_rule.isna()
    # Exact duplicates (every column as read). Identical rows parse identically, so the
    # duplicates among valid rows are the valid rows duplicated anywhere before them.
    copy = ok & raw.duplicated(subset=raw_columns, keep="first")
    # Then repeated keys with different content: the newest version (else the last line) wins.
    key_columns = [f"v__{k}" for k in entity.key]
    typed = pd.DataFrame({f"v__{n}": values[n] for n in mapped})
    typed[FILE] = raw[FILE]
    typed[LINE] = raw[LINE]
    del values
    distinct = typed[ok & ~copy]
    del typed
    order = [FILE, LINE]
    if entity.version_column in mapped:
        order.insert(0, f"v__{entity.version_column}")
    newest_first = distinct[order + key_columns].sort_values(
        order, ascending=False, na_position="last"
    )
    conflict = newest_first.duplicated(subset=key_columns, keep="first")
    kept_line = newest_first[~conflict].set_index(key_columns)[LINE]
    conflicts = distinct.loc[newest_first.index[conflict]]
    loaded = distinct.drop(index=conflicts.index)
    repeated = int(distinct.duplicated(subset=key_columns, keep=False).sum())
    del distinct, newest_first
    stats["repeated_keys"] = [repeated if n in entity.key else None for n in mapped]

    record_key = loaded[key_columns[0]].astype(str)
    for k in key_columns[1:]:
        record_key = record_key + "#" + loaded[k].astype(str)
    staged = pd.DataFrame({"source": source.name, "record_key": record_key}, index=loaded.index)
    for col in entity.columns:
        staged[col.name] = loaded[f"v__{col.name}"] if col.name in mapped else None
    staged[FILE] = loaded[FILE]
    staged[LINE] = loaded[LINE]
    del loaded
    staged = staged.reset_index(drop=True)

    rejected = raw[~ok]
    key_label = ", ".join(entity.key)
    describe = first_rule[~ok].map(RULES)
    pieces = [
        pd.DataFrame(
            {
                FILE: rejected[FILE],
                LINE: rejected[LINE],
                "rule": first_rule[~ok],
                "field": first_field[~ok],
                "message": first_field[~ok]
                + ": "
                + describe
                + " ('"
                + bad_text[~ok].fillna("")
                + "')"
                if len(rejected)
                else pd.Series([], dtype=object),
                "raw": _json_rows(rejected[raw_columns]),
            }
        ),
        pd.DataFrame(
            {
                FILE: raw[FILE][copy],
                LINE: raw[LINE][copy],
                "rule": "duplicate_row",
                "field": None,
                "message": "exact copy of an earlier row (the first copy was loaded)",
                "raw": _json_rows(raw.loc[copy, raw_columns]),
            }
        ),
        pd.DataFrame(
            {
                FILE: conflicts[FILE],
                LINE: conflicts[LINE],
                "rule": "key_conflict",
                "field": key_label,
                "message": key_label
                + " '"
                + conflicts[key_columns[0]].astype(str)
                + "' repeated with different content; line "
                + conflicts[key_columns[0]].map(kept_line).astype(str)
                + " was loaded",
                "raw": _json_rows(raw.loc[conflicts.index, raw_columns]),
            }
        ),
        pd.DataFrame(
            {
                FILE: malformed[FILE],
                LINE: malformed[LINE],
                "rule": "malformed_row",
                "field": None,
                "message": RULES["malformed_row"] + ": " + malformed["reason"],
                "raw": [json.dumps({"_text": t}, ensure_ascii=False) for t in malformed["text"]],
            }
        ),
    ]
    quarantine = pd.concat([p for p in pieces if len(p)] or pieces[:1], ignore_index=True)
    quarantine.insert(0, "entity", entity.name)
    quarantine.insert(0, "source", source.name)

    counts = SourceCounts(
        rows_read=len(raw) + len(malformed),
        rows_loaded=len(staged),
        rows_quarantined=len(quarantine),
        rules={str(k): int(v) for k, v in quarantine["rule"].value_counts().items()},
    )
    if counts.rows_read != counts.rows_loaded + counts.rows_quarantined:
        raise AssertionError(f"{source.name}: rows read != loaded + quarantined")
    return staged, quarantine, counts, stats


def conform(staged: dict[str, pd.DataFrame], spec: BenchSpec) -> dict[str, pd.DataFrame]:
    """One table per entity; rows referencing customers get has_customer_record."""
    out: dict[str, pd.DataFrame] = {}
    for entity in ENTITIES.values():
        parts = [staged[s.name] for s in spec.sources if s.entity == entity.name]
        if not parts:
            continue
        table = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        if entity.references_customers:
            known = pd.Series(False, index=table.index)
            customers = out.get("customers")
            if customers is not None:
                for f in LINK_FIELDS:
                    known |= table[f].isin(customers[f].dropna())
            table = table.assign(has_customer_record=known)
        out[entity.name] = table
    return out


def quality(
    spec: BenchSpec,
    entities: dict[str, pd.DataFrame],
    newest_by_source: dict[str, Any],
    counts: dict[str, SourceCounts],
    stats: dict[str, pd.DataFrame],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-source and per-field quality results against the thresholds."""
    source_rows = []
    field_rows = []
    for source in spec.sources:
        entity = ENTITIES[source.entity]
        fields = stats[source.name].copy()
        fields["completeness"] = (fields.present / fields.rows).fillna(1.0)
        fields["validity"] = ((fields.present - fields.invalid) / fields.present).fillna(1.0)
        required = fields.field.map({c.name: c.required for c in entity.columns})
        fields["completeness_passed"] = (fields.completeness >= spec.completeness_min) | ~required
        fields["validity_passed"] = fields.validity >= spec.validity_min
        fields.insert(0, "source", source.name)
        field_rows.append(fields)
        newest = newest_by_source[source.name]
        hours = (
            (pd.Timestamp(spec.as_of) - newest).total_seconds() / 3600
            if newest is not None and not pd.isna(newest)
            else None
        )
        orphans = 0
        if entity.references_customers:
            table = entities[entity.name]
            orphans = int(((table.source == source.name) & ~table.has_customer_record).sum())
        c = counts[source.name]
        source_rows.append(
            {
                "source": source.name,
                "rows_read": c.rows_read,
                "rows_loaded": c.rows_loaded,
                "rows_quarantined": c.rows_quarantined,
                "duplicate_rows": c.rules.get("duplicate_row", 0),
                "key_conflicts": c.rules.get("key_conflict", 0),
                "malformed_rows": c.rules.get("malformed_row", 0),
                "orphans": orphans,
                "newest_record": newest,
                "freshness_hours": hours,
                "passed": bool(
                    fields.completeness_passed.all()
                    and fields.validity_passed.all()
                    and (hours is None or hours <= spec.freshness_max_hours)
                ),
            }
        )
    return pd.DataFrame(source_rows), pd.concat(field_rows, ignore_index=True)


# ---------------------------------------------------------------------------- identity


def _propagate(
    labels: np.ndarray, node: np.ndarray, idn: np.ndarray, max_iterations: int
) -> tuple[np.ndarray, int]:
    """Min-label propagation over node - identifier links; nodes without links keep theirs."""
    for rounds in range(1, max_iterations + 1):
        id_label = pd.Series(labels[node]).groupby(idn).min()
        candidate = pd.Series(id_label.reindex(idn).to_numpy()).groupby(node).min()
        new = labels.copy()
        new[candidate.index] = np.minimum(labels[candidate.index], candidate.to_numpy())
        changed = int((new != labels).sum())
        labels = new
        if changed == 0:
            return labels, rounds
    raise RuntimeError("label propagation did not converge")


def _search(text: pd.Series, pattern: str) -> pd.Series:
    """Whether each value contains a match of `pattern` (whose groups are not wanted)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "This pattern is interpreted", UserWarning)
        return text.str.contains(pattern, regex=True)


def _in_digit_run(national: pd.Series) -> pd.Series:
    """Whether digits, whole or without the first, are an ascending or descending run."""
    runs = (ASCENDING_DIGITS, DESCENDING_DIGITS)
    return national.map(lambda n: any(d in r for d in (n, n[1:]) for r in runs))


def is_placeholder(id_type: pd.Series, value: pd.Series) -> pd.Series:
    """Whether each normalised identifier value is an obvious placeholder."""
    value = value.astype(str)
    lowered = value.str.lower()
    out = _search(lowered, PLACEHOLDER_ID).to_numpy(dtype=bool)
    phone = (id_type == "phone").to_numpy()
    if phone.any():
        number = value[phone]
        national = number.str[3:]
        mainland = number.str.startswith("+86").to_numpy(dtype=bool) & (
            _search(national, PLACEHOLDER_CN).to_numpy(dtype=bool)
            | _in_digit_run(national).to_numpy(dtype=bool)
        )
        out[phone] = number.isin(PLACEHOLDER_PHONES).to_numpy() | mainland
    email = (id_type == "email").to_numpy()
    if email.any():
        address = lowered[email]
        local = address.str.extract(r"^([^@]*)@", expand=False)
        domain = address.str.extract(r"@(.*)$", expand=False)
        out[email] = (
            local.isin(PLACEHOLDER_EMAIL_LOCALS).to_numpy()
            | domain.isin(PLACEHOLDER_EMAIL_DOMAINS).to_numpy()
            | _search(address, RESERVED_EMAIL_TLD).to_numpy(dtype=bool)
        )
    return pd.Series(out, index=value.index)


def find_hubs(edges: pd.DataFrame, spec: BenchSpec) -> pd.DataFrame:
    """Identifier values that link nothing: deny-list, placeholder, too many members/partners.

    `edges` has one row per signature node and identifier (node, id_type, id_value, idn).
    A value's partners are the most distinct strong identifiers of one other type it is
    seen with; its member ids are the distinct member ids it is seen with.
    """
    strong = edges.loc[edges.id_type.isin(STRONG_IDENTIFIERS), ["node", "id_type", "idn"]]
    pairs = edges[["node", "id_type", "idn"]].merge(
        strong.rename(columns={"id_type": "partner_type", "idn": "partner"}), on="node"
    )
    pairs = pairs[pairs.id_type != pairs.partner_type]
    per_type = pairs.groupby(["idn", "partner_type"]).partner.nunique().reset_index()
    partners = per_type.groupby("idn").partner.max()
    members = per_type[per_type.partner_type == "member_id"].set_index("idn").partner

    values = edges.drop_duplicates("idn")[["idn", "id_type", "id_value"]].set_index("idn")
    values["records"] = edges.groupby("idn").records.sum()
    values["partners"] = partners.reindex(values.index).fillna(0).astype(np.int64)
    values["member_ids"] = members.reindex(values.index).fillna(0).astype(np.int64)
    partner_limit = values.id_type.map({k: spec.partner_limit(k) for k in spec.identifiers})
    member_limit = values.id_type.map({k: spec.member_limit(k) or np.inf for k in spec.identifiers})
    if spec.placeholders:
        placeholder = is_placeholder(values.id_type, values.id_value).to_numpy()
    else:
        placeholder = np.zeros(len(values), dtype=bool)
    reason = np.select(
        [
            values.id_value.isin(spec.deny).to_numpy(),
            placeholder,
            (values.member_ids > member_limit).to_numpy(),
            (values.partners > partner_limit).to_numpy(),
        ],
        list(HUB_REASONS),
        "",
    )
    hubs = values.assign(reason=reason)
    return hubs[hubs.reason != ""].reset_index()


def resolve_identity(
    entities: dict[str, pd.DataFrame], spec: BenchSpec
) -> tuple[pd.DataFrame, pd.DataFrame, int, dict[str, int]]:
    """(identity map, hubs, rounds, counts): records sharing an identifier are one customer.

    Records with the same identifiers are one signature node; hub values link nothing;
    nodes whose every identifier is a hub stay unresolved (no customer_id); a component
    with more member ids than allowed is split by cutting its weakest identifier types.
    """
    kinds = list(spec.identifiers)
    names = list(entities)
    frames = [
        table[["source", "record_key", *kinds]].assign(
            entity=pd.Categorical.from_codes(np.full(len(table), i, dtype=np.int8), names)
        )
        for i, (name, table) in enumerate(entities.items())
    ]
    records = pd.concat(frames, ignore_index=True)
    del frames
    anonymous = records[kinds].isna().all(axis=1).to_numpy()
    node_of = records.groupby(kinds, dropna=False, sort=False).ngroup().to_numpy()
    node_of[anonymous] = -1
    # Renumber the signatures 0..n-1 (the anonymous one, if any, is left out).
    used, node_of_used = np.unique(node_of[~anonymous], return_inverse=True)
    node_of[~anonymous] = node_of_used
    n_nodes = len(used)
    first = pd.Series(np.arange(len(records)))[~anonymous].groupby(node_of[~anonymous]).first()
    signatures = records.iloc[first.to_numpy()][kinds].reset_index(drop=True)
    signatures["records"] = np.bincount(node_of[~anonymous], minlength=n_nodes)

    parts = []
    for kind in kinds:
        has = signatures[kind].notna()
        parts.append(
            pd.DataFrame(
                {
                    "node": np.flatnonzero(has.to_numpy()),
                    "id_type": kind,
                    "id_value": signatures[kind][has].to_numpy(),
                    "records": signatures.records[has].to_numpy(),
                }
            )
        )
    edges = pd.concat(parts, ignore_index=True)
    edges["idn"] = edges.groupby(["id_type", "id_value"], sort=False).ngroup()

    hubs = find_hubs(edges, spec)
    links = edges[~edges.idn.isin(hubs.idn)]

    # Connected components over the links; nodes with no usable identifier are unresolved.
    node = links.node.to_numpy()
    idn = links.idn.to_numpy()
    labels, rounds = _propagate(np.arange(n_nodes), node, idn, spec.max_iterations)
    linked = np.zeros(n_nodes, dtype=bool)
    linked[node] = True

    # Merge protection: cut the weakest identifier types inside oversized components.
    members = links[links.id_type == "member_id"]
    cut: list[str] = []
    split = 0
    for weakest in reversed(kinds[1:]):
        sizes = pd.Series(members.idn.to_numpy()).groupby(labels[members.node.to_numpy()])
        per_label = sizes.nunique()
        oversized = per_label.index[per_label > spec.max_member_ids_per_customer]
        if len(oversized) == 0:
            break
        split += len(oversized) if not cut else 0
        cut.append(weakest)
        inside = np.isin(labels, oversized)
        keep = inside[node] & ~links.id_type.isin(cut).to_numpy()
        sub, sub_rounds = _propagate(np.arange(n_nodes), node[keep], idn[keep], spec.max_iterations)
        rounds += sub_rounds
        labels = np.where(inside, sub, labels)

    # First-run ids: C + 9 digits, numbered in the order of the components' labels (a
    # categorical: 20M id strings would not fit in memory next to everything else at 1M).
    number = np.full(n_nodes, -1, dtype=np.int64)
    distinct = np.unique(labels[linked])
    number[linked] = np.searchsorted(distinct, labels[linked])
    record_number = np.where(anonymous, -1, number[np.maximum(node_of, 0)])
    ids = pd.Series(np.arange(1, len(distinct) + 1)).astype(str).str.zfill(9).radd("C")
    identity = records[["source", "entity", "record_key"]].assign(
        customer_id=pd.Categorical.from_codes(record_number, ids)
    )
    counts = {
        "nodes": n_nodes,
        "unresolved": int((record_number < 0).sum()),
        "components_split": split,
    }
    return identity, hubs, rounds, counts


# --------------------------------------------------------------------------------- RFM


def rfm(orders: pd.DataFrame, identity: pd.DataFrame, spec: BenchSpec) -> pd.DataFrame:
    """One row per buying customer: recency, frequency, monetary, scores, segment."""
    paid = orders.loc[
        (orders.status.isna() | (orders.status == "paid"))
        & (orders.ordered_at <= pd.Timestamp(spec.as_of)),
        ["source", "record_key", "order_id", "ordered_at", "amount"],
    ]
    resolved = identity.loc[identity.customer_id.notna(), ["source", "record_key", "customer_id"]]
    bought = paid.merge(resolved, on=["source", "record_key"])
    per = bought.groupby("customer_id", observed=True).agg(
        first_order_at=("ordered_at", "min"),
        last_order_at=("ordered_at", "max"),
        frequency=("order_id", "nunique"),
        monetary=("amount", "sum"),
    )
    per["monetary"] = per.monetary.astype(float).round(2)
    today = pd.Timestamp(spec.as_of.date())
    per["recency_days"] = (today - per.last_order_at.dt.normalize()).dt.days
    bins = spec.bins
    total = len(per)

    def score(value: pd.Series, higher_is_better: bool) -> pd.Series:
        rank = value.rank(method="min", ascending=higher_is_better).astype(np.int64) - 1
        return rank * bins // total + 1

    per["r_score"] = score(per.recency_days, higher_is_better=False)
    per["f_score"] = score(per.frequency, higher_is_better=True)
    per["m_score"] = score(per.monetary, higher_is_better=True)
    r5 = (per.r_score - 1) * 5 // bins + 1
    f5 = (per.f_score - 1) * 5 // bins + 1
    conditions = [r5.isin(rs) & f5.isin(fs) for _, rs, fs in SEGMENT_GRID]
    per["segment"] = np.select(conditions, [n for n, _, _ in SEGMENT_GRID], "Need Attention")
    per["rfm_cell"] = per.r_score.astype(str) + per.f_score.astype(str) + per.m_score.astype(str)
    return per.reset_index()


# ----------------------------------------------------------------------------- the run


def run(spec: BenchSpec) -> Output:
    """The whole pipeline, timed per stage, with pandas' Arrow-backed `str` dtype.

    pandas 3 stores text in Arrow by default; the project pins pandas 2.3 (Splink needs
    it), where the same dtype is an opt-in. Without it every value is a Python object,
    which at 1M customers costs more memory than the machine has.
    """
    if pd.__version__.startswith("2."):
        with pd.option_context("future.infer_string", True):
            return _run(spec)
    return _run(spec)


def _run(spec: BenchSpec) -> Output:
    clock = Stopwatch()
    staged: dict[str, pd.DataFrame] = {}
    newest: dict[str, Any] = {}
    quarantines = []
    counts: dict[str, SourceCounts] = {}
    stats: dict[str, pd.DataFrame] = {}
    with clock.stage("ingest"):
        for source in spec.sources:
            table, bad, count, field_stats = ingest_source(source, spec)
            staged[source.name] = table
            time_column = ENTITIES[source.entity].time_column
            newest[source.name] = table[time_column].max() if time_column else None
            quarantines.append(bad)
            counts[source.name] = count
            stats[source.name] = field_stats
        quarantine = pd.concat(quarantines, ignore_index=True)
        entities = conform(staged, spec)
        del staged
        quality_sources, quality_fields = quality(spec, entities, newest, counts, stats)
    with clock.stage("identity"):
        identity, hubs, rounds, identity_counts = resolve_identity(entities, spec)
    with clock.stage("rfm"):
        scores = rfm(entities["orders"], identity, spec) if "orders" in entities else pd.DataFrame()
    summary = Summary(
        impl="pandas",
        stages=clock.seconds,
        sources=counts,
        records=len(identity),
        customers=int(identity.customer_id.nunique()),
        hubs=len(hubs),
        iterations=rounds,
        rfm_rows=len(scores),
        segments={str(k): int(v) for k, v in scores.segment.value_counts().items()},
        frequency_total=int(scores.frequency.sum()),
        orphans=dict(zip(quality_sources.source, quality_sources.orphans.astype(int), strict=True)),
        monetary_total=float(scores.monetary.sum()),
        cpu=clock.cpu,
        extra={"peak_mb_after_stage": clock.peak_mb},
        unresolved=identity_counts["unresolved"],
        nodes=identity_counts["nodes"],
        hub_reasons={str(k): int(v) for k, v in hubs.reason.value_counts().items()},
        components_split=identity_counts["components_split"],
    )
    return Output(
        summary=summary,
        quarantine=quarantine,
        entities=entities,
        quality_sources=quality_sources,
        quality_fields=quality_fields,
        identity=identity,
        hubs=hubs,
        rfm=scores,
    )


def per_customer(out: Output) -> pd.DataFrame:
    """RFM keyed by each customer's smallest (source, record_key), for cross-checks."""
    anchor = out.identity.assign(anchor=out.identity.source + "\x1f" + out.identity.record_key)
    first = anchor.groupby("customer_id", observed=True).anchor.min()
    frame = out.rfm[["customer_id", "frequency", "monetary"]].copy()
    frame["anchor"] = frame.customer_id.astype(object).map(first)
    return frame[["anchor", "frequency", "monetary"]]
