"""The same work as segmint's ingest → identity → RFM, written the way an analyst would in pandas.

Straightforward pandas: `read_csv` (the pyarrow engine, which is the only one that reports
rows with too few fields), vectorised `.str` methods with the same patterns segmint uses,
`duplicated` for de-duplication, a self-merge for the hub guard, min-label propagation with
`groupby().min()` for connected components, `merge` + `groupby` + `rank` for RFM.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from common import (
    ANY_FULL,
    COMPACT,
    DATETIME,
    EMAIL,
    ENTITIES,
    EPOCH,
    FULL_TO_HALF,
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
    NUMBER,
    PHONE_STRIP,
    RULES,
    SEGMENT_GRID,
    TRIM_CHARS,
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
    """Lower-cased addresses with a local part, a domain and a TLD."""
    lowered = text.str.lower().str.replace(r"\s", "", regex=True)
    ok = lowered.str.match(EMAIL, na=False) & ~lowered.str.contains("..", regex=False, na=False)
    return lowered.where(ok)


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
                + "')",
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
    quarantine = pd.concat([p for p in pieces if len(p)], ignore_index=True)
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


def resolve_identity(
    entities: dict[str, pd.DataFrame], spec: BenchSpec
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """(identity map, hubs, rounds): records sharing an identifier are one customer."""
    frames = []
    for name, table in entities.items():
        ids = [k for k in spec.identifiers if k in table.columns]
        frames.append(table[["source", "record_key", *ids]].assign(entity=name))
    records = pd.concat(frames, ignore_index=True)
    del frames
    records = records.sort_values(["source", "record_key"], ignore_index=True)
    node_ids = np.arange(len(records))

    parts = []
    for kind in spec.identifiers:
        if kind not in records.columns:
            continue
        has = records[kind].notna()
        parts.append(
            pd.DataFrame(
                {"node": node_ids[has.to_numpy()], "id_type": kind, "id_value": records[kind][has]}
            )
        )
    edges = pd.concat(parts, ignore_index=True).drop_duplicates()
    edges["idn"] = edges.groupby(["id_type", "id_value"], sort=False).ngroup()

    # Hubs: deny-listed values, and values seen with too many distinct other identifiers.
    multi = edges[edges.node.duplicated(keep=False)][["node", "idn"]]
    pairs = multi.merge(multi, on="node")
    pairs = pairs[pairs.idn_x != pairs.idn_y]
    partners = pairs.groupby("idn_x").idn_y.nunique()
    too_many = set(partners[partners > spec.max_partners].index)
    denied = set(edges.idn[edges.id_value.isin(spec.deny)])
    hub_ids = denied | too_many
    hubs = edges[edges.idn.isin(hub_ids)].drop_duplicates("idn")[["id_type", "id_value", "idn"]]
    hubs = hubs.assign(
        partners=hubs.idn.map(partners).where(~hubs.idn.isin(denied)),
        reason=np.where(hubs.idn.isin(denied), "deny-list", "too many partners"),
    ).drop(columns="idn")
    links = edges[~edges.idn.isin(hub_ids)]

    # Connected components by min-label propagation over record - identifier links.
    node = links.node.to_numpy()
    idn = links.idn.to_numpy()
    labels = node_ids.copy()
    rounds = 0
    for rounds in range(1, spec.max_iterations + 1):  # noqa: B007
        id_label = pd.Series(labels[node]).groupby(idn).min()
        candidate = pd.Series(id_label.reindex(idn).to_numpy()).groupby(node).min()
        new = labels.copy()
        new[candidate.index] = np.minimum(labels[candidate.index], candidate.to_numpy())
        changed = int((new != labels).sum())
        labels = new
        if changed == 0:
            break
    else:
        raise RuntimeError("label propagation did not converge")

    rank = pd.Series(labels).rank(method="dense").astype(np.int64)
    identity = records[["source", "entity", "record_key"]].assign(
        customer_id="C" + rank.astype(str).str.zfill(9)
    )
    return identity, hubs, rounds


# --------------------------------------------------------------------------------- RFM


def rfm(orders: pd.DataFrame, identity: pd.DataFrame, spec: BenchSpec) -> pd.DataFrame:
    """One row per buying customer: recency, frequency, monetary, scores, segment."""
    paid = orders.loc[
        (orders.status.isna() | (orders.status == "paid"))
        & (orders.ordered_at <= pd.Timestamp(spec.as_of)),
        ["source", "record_key", "order_id", "ordered_at", "amount"],
    ]
    bought = paid.merge(
        identity[["source", "record_key", "customer_id"]], on=["source", "record_key"]
    )
    per = bought.groupby("customer_id").agg(
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
    """The whole pipeline, timed per stage."""
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
        identity, hubs, rounds = resolve_identity(entities, spec)
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
    first = anchor.groupby("customer_id").anchor.min()
    frame = out.rfm[["customer_id", "frequency", "monetary"]].copy()
    frame["anchor"] = frame.customer_id.map(first)
    return frame[["anchor", "frequency", "monetary"]]
