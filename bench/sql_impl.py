"""The same work as segmint's ingest → identity → RFM, hand-written in DuckDB SQL.

DuckDB's own `read_csv` (every column as VARCHAR, rejected lines kept with their line
number), one `CREATE TABLE … AS` per step, window functions for de-duplication; for
identity, signature nodes, a per-type partner count for hubs and min-label propagation (one
query per round, again inside components split for holding too many member ids); window
ranks for RFM. The SQL text is written per column type and filled in with the project's
column names. DuckDB cannot read GBK, so GBK files are transcoded to UTF-8 in Python
first (inside the timed ingest stage).
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
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
    FULL,
    HALF,
    HEX16,
    INTEGER,
    INTERNATIONAL,
    INTERNATIONAL_PREFIX,
    LANDLINE,
    LANDLINE_DIGITS,
    LANDLINE_PREFIX,
    LINK_FIELDS,
    MOBILE,
    MOBILE_TAIL,
    MONEY_STRIP,
    NON_ASCII,
    NUMBER,
    PER_CUSTOMER_SQL,
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


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def ts(value: dt.datetime) -> str:
    """A SQL timestamp literal."""
    return f"TIMESTAMP '{value.isoformat(sep=' ')}'"


@dataclass
class Output:
    """The DuckDB file the SQL implementation built, and its headline numbers."""

    summary: Summary
    con: duckdb.DuckDBPyConnection


# ------------------------------------------------------------------------------ reading


def _header(path: Path, codec: str, delimiter: str) -> list[str]:
    with path.open("r", encoding="utf-8-sig" if codec == "utf-8" else codec, newline="") as f:
        first = f.readline()
    return [h.strip() for h in next(csv.reader([first], delimiter=delimiter))]


def _transcode(path: Path, codec: str, work: Path) -> Path:
    """A UTF-8 copy of a non-UTF-8 file (DuckDB reads UTF-8 only), with LF line ends.

    Text mode reads any mix of CRLF and LF line ends (DuckDB's reader expects one kind).
    """
    out = work / f"{path.stem}.utf8{path.suffix}"
    with path.open("r", encoding=codec) as src, out.open("w", encoding="utf-8", newline="") as dst:
        shutil.copyfileobj(src, dst, 1 << 24)
    return out


def read_source(
    con: duckdb.DuckDBPyConnection, source: SourceDef, work: Path
) -> tuple[str, list[str]]:
    """Load every file of a source into `raw_<source>` (text, _file, _line) and
    `malformed_<source>` (the lines read_csv rejected); returns the table and its columns."""
    parts = []
    bad_parts = []
    names: list[str] = []
    for i, path in enumerate(source.files):
        codec = file_codec(path, source.encoding)
        names = _header(path, codec, source.delimiter)
        readable = path if codec == "utf-8" else _transcode(path, codec, work)
        columns = "{" + ", ".join(f"{lit(n)}: 'VARCHAR'" for n in names) + "}"
        read, rejects = f"read_{source.name}_{i}", f"rej_{source.name}_{i}"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {read} AS SELECT * FROM read_csv({lit(str(readable))}, "
            f"header = true, columns = {columns}, delim = {lit(source.delimiter)}, "
            "quote = '\"', escape = '\"', auto_detect = false, store_rejects = true, "
            f"rejects_table = '{rejects}', rejects_scan = 'scan_{source.name}_{i}')"
        )
        # Line of the k-th good row: k + 2 + the number of rejected lines before it.
        parts.append(
            f"""
            SELECT r.* EXCLUDE (rowid_), {lit(str(path))} AS _file,
                   r.rowid_ + 2 + coalesce(b.before, 0) AS _line
            FROM (SELECT *, rowid AS rowid_ FROM {read}) r
            ASOF LEFT JOIN (
                SELECT pos, max(before) AS before FROM (
                    SELECT line - 1 - row_number() OVER (ORDER BY line) AS pos,
                           row_number() OVER (ORDER BY line) AS before
                    FROM (SELECT DISTINCT line FROM {rejects})
                ) GROUP BY pos
            ) b ON r.rowid_ >= b.pos
            """
        )
        bad_parts.append(
            f"""
            SELECT {lit(str(path))} AS _file, line AS _line,
                   trim(first(csv_line), chr(10) || chr(13)) AS text,
                   'expected {len(names)} fields' AS reason
            FROM {rejects} GROUP BY line
            """
        )
    raw, bad = f"raw_{source.name}", f"malformed_{source.name}"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {raw} AS " + " UNION ALL ".join(parts))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {bad} AS " + " UNION ALL ".join(bad_parts))
    for i in range(len(source.files)):
        con.execute(f"DROP TABLE read_{source.name}_{i}")
    return raw, names


# ------------------------------------------------------------------------------ parsing


def normalise(column: str) -> str:
    """Full-width to half-width, trimmed; empty becomes NULL.

    DuckDB's translate costs ~3 µs a value whatever the text, so it only runs on text that
    has a full-width character (segmint guards it the same way).
    """
    half = (
        f"CASE WHEN regexp_matches({column}, {lit(ANY_FULL)}) "
        f"THEN translate({column}, {lit(FULL)}, {lit(HALF)}) ELSE {column} END"
    )
    # TRIM with a character set costs ~4x a look at both ends; most values need none.
    edge = (
        f"(ascii({column}) <= 32 OR ascii({column}) = 12288 "
        f"OR ascii(right({column}, 1)) <= 32 OR ascii(right({column}, 1)) = 12288)"
    )
    return f"nullif(CASE WHEN {edge} THEN trim({half}, {lit(TRIM_CHARS)}) ELSE {half} END, '')"


def dashed(t: str) -> str:
    """SQL rewriting compact 20260305[140300] text as 2026-03-05[ 14:03:00]."""
    return (
        f"CASE WHEN regexp_matches({t}, {lit(COMPACT)}) THEN substr({t}, 1, 4) || '-' || "
        f"substr({t}, 5, 2) || '-' || substr({t}, 7, 2) || CASE WHEN length({t}) > 8 THEN "
        f"' ' || substr({t}, 9, 2) || ':' || substr({t}, 11, 2) || ':' || substr({t}, 13, 2) "
        f"ELSE '' END ELSE {t} END"
    )


def datetime_parts(t: str) -> str:
    """SQL for the struct of date-time parts (y, mo, d, h, mi, s, z) of normalised text."""
    names = "['y', 'mo', 'd', 'h', 'mi', 's', 'f', 'z']"
    return f"regexp_extract({dashed(t)}, {lit(DATETIME)}, {names})"


def canonical_datetime(p: str) -> str:
    """SQL for the 'YYYY-MM-DD HH:MM:SS' text of a parts struct column `p`."""

    def two(part: str, default: str) -> str:
        return f"lpad(coalesce(nullif({p}.{part}, ''), '{default}'), 2, '0')"

    return (
        f"{p}.y || '-' || {two('mo', '01')} || '-' || {two('d', '01')} || ' ' || "
        f"{two('h', '00')} || ':' || {two('mi', '00')} || ':' || {two('s', '00')} || {p}.f"
    )


def offset_minutes(p: str, default: int) -> str:
    """SQL for the UTC offset in minutes of a parts struct column `p`."""
    digits = f"regexp_replace({p}.z, '[^0-9]', '', 'g')"
    return (
        f"CASE WHEN {p}.z = '' THEN {default} WHEN {p}.z = 'Z' THEN 0 ELSE "
        f"(CASE WHEN starts_with({p}.z, '-') THEN -1 ELSE 1 END) * "
        f"(CAST(substr({digits}, 1, 2) AS INT) * 60 + CAST(substr({digits}, 3, 2) AS INT)) END"
    )


def parse(t: str, col: Col, spec: BenchSpec, source: SourceDef) -> tuple[str, str | None]:
    """SQL for the typed value and the broken rule of normalised text column `t`."""
    given = f"{t} IS NOT NULL"
    rules: list[tuple[str, str]] = []
    if col.type in ("timestamp", "date"):
        # The (expensive) regex parts are computed once per row in a sub-select below.
        value = f"v_{t}"
        if col.type == "timestamp":
            rules = [
                (f"{given} AND {value} IS NULL", "unparseable_timestamp"),
                (f"{value} > {ts(latest_allowed(spec))}", "future_timestamp"),
                (f"{value} < TIMESTAMP '1970-01-01'", "implausible_timestamp"),
            ]
        else:
            rules = [
                (f"{given} AND {value} IS NULL", "unparseable_date"),
                (
                    f"{value} > DATE '{spec.as_of.date()}' OR "
                    f"{value} < DATE '{oldest_birth(spec)}'",
                    "age_out_of_range",
                ),
            ]
    elif col.type == "money":
        s = f"regexp_replace({t}, {lit(MONEY_STRIP)}, '', 'g')"
        value = (
            f"CASE WHEN regexp_matches({s}, {lit(NUMBER)}) THEN try_cast({s} AS DECIMAL(18, 2)) END"
        )
        rules = [(f"{given} AND v_{t} IS NULL", "unparseable_amount")]
        if col.min is not None:
            rules.append((f"v_{t} < {col.min}", "negative_amount"))
        if col.max is not None:
            rules.append((f"v_{t} > {col.max}", "absurd_amount"))
    elif col.type == "int":
        s = f"regexp_replace({t}, '[\\s,]', '', 'g')"
        value = (
            f"CASE WHEN regexp_matches({s}, {lit(INTEGER)}) "
            f"THEN CAST(try_cast({s} AS DOUBLE) AS BIGINT) END"
        )
        rules = [(f"{given} AND v_{t} IS NULL", "unparseable_number")]
        if col.min is not None:
            rules.append((f"v_{t} < {col.min}", "out_of_range"))
        if col.max is not None:
            rules.append((f"v_{t} > {col.max}", "out_of_range"))
    elif col.type == "phone":
        d = f"regexp_replace({t}, {lit(PHONE_STRIP)}, '', 'g')"
        value = (
            f"CASE WHEN regexp_matches({d}, {lit(MOBILE)}) "
            f"THEN '+86' || regexp_extract({d}, {lit(MOBILE_TAIL)}, 1) "
            f"WHEN regexp_matches({d}, {lit(LANDLINE)}) "
            f"AND regexp_matches({d}, {lit(LANDLINE_PREFIX)}) "
            f"THEN '+86' || nullif(regexp_extract({d}, {lit(LANDLINE_DIGITS)}, 1), '') "
            f"WHEN regexp_matches({d}, {lit(INTERNATIONAL)}) "
            f"THEN '+' || regexp_replace({d}, {lit(INTERNATIONAL_PREFIX)}, '') END"
        )
        rules = [(f"{given} AND v_{t} IS NULL", "malformed_phone")]
    elif col.type == "email":
        low = f"regexp_replace(lower({t}), {lit(EMAIL_WHITESPACE)}, '', 'g')"
        value = (
            f"CASE WHEN regexp_matches({low}, {lit(EMAIL)}) AND NOT contains({low}, '..') "
            f"AND NOT regexp_matches({t}, {lit(NON_ASCII)}) THEN {low} END"
        )
        rules = [(f"{given} AND v_{t} IS NULL", "malformed_email")]
    elif col.type == "member_id":
        value = (
            f"CASE WHEN regexp_matches({t}, {lit(NON_ASCII)}) "
            f"THEN translate({t}, {lit(ASCII_LOWER)}, {lit(ASCII_UPPER)}) ELSE upper({t}) END"
        )
    elif col.type == "device_id":
        compact = f"replace({t}, '-', '')"
        hexid = f"upper({compact})"
        uuid = " || '-' || ".join(
            f"substr({hexid}, {start}, {length})"
            for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
        )
        stand_ins = ", ".join(lit(v) for v in PLACEHOLDER_DEVICE_IDS)
        value = (
            f"CASE WHEN replace({compact}, substr({compact}, 1, 1), '') = '' "
            f"OR (NOT regexp_matches({t}, {lit(NON_ASCII)}) AND lower({t}) IN ({stand_ins})) "
            "THEN NULL "
            f"WHEN regexp_matches({t}, {lit(UUID_DASHED)}) "
            f"OR regexp_matches({t}, {lit(UUID_PLAIN)}) THEN {uuid} "
            f"WHEN regexp_matches({t}, {lit(HEX16)}) THEN lower({t}) "
            f"ELSE {t} END"
        )
    elif col.type == "enum":
        whens = " ".join(f"WHEN {lit(v.lower())} THEN {lit(v)}" for v in col.enum)
        value = f"CASE lower({t}) {whens} END"
        rules = [(f"{given} AND v_{t} IS NULL", "unknown_enum")]
    else:
        value = t
    if col.required:
        rules.insert(0, (f"{t} IS NULL", "missing_required"))
    if not rules:
        return value, None
    return value, "CASE " + " ".join(f"WHEN {c} THEN {lit(r)}" for c, r in rules) + " END"


# ------------------------------------------------------------------------------ ingest


def parsed_select(source: SourceDef, spec: BenchSpec, raw: str, raw_columns: list[str]) -> str:
    """SELECT of the raw rows with typed values (v_<col>), broken rules (r_<col>) and the
    row's first broken rule, its field and its text (_rule, _field, _text)."""
    entity = ENTITIES[source.entity]
    mapped = list(source.columns)
    nullable = {
        n
        for n, m in source.columns.items()
        if m.on_invalid == "null" and not entity.column(n).required
    }

    # Step 1: normalised (and recoded) text per mapped column.
    texts = []
    for name, mapping in source.columns.items():
        text = normalise(ident(mapping.source))
        if mapping.values:
            whens = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in mapping.values.items())
            text = f"CASE {text} {whens} ELSE {text} END"
        texts.append(f"{text} AS t_{name}")
    # Step 2: the parts of date-times (one regex match per value), then typed values.
    parts = [
        f"{datetime_parts(f't_{n}')} AS p_{n}"
        for n in mapped
        if entity.column(n).type in ("timestamp", "date")
    ]
    values = []
    for name in mapped:
        col = entity.column(name)
        if col.type == "timestamp":
            minutes = offset_minutes(f"p_{name}", source.utc_offset_minutes)
            canonical = canonical_datetime(f"p_{name}")
            value = f"try_cast({canonical} AS TIMESTAMP) - to_minutes({minutes})"
        elif col.type == "date":
            value = f"try_cast(substr({canonical_datetime(f'p_{name}')}, 1, 10) AS DATE)"
        else:
            value, _ = parse(f"t_{name}", col, spec, source)
        values.append(f"{value} AS v_t_{name}")
    # Step 3: rules, then the first broken rule of the row.
    rule_sql = []
    for name in mapped:
        _, rule = parse(f"t_{name}", entity.column(name), spec, source)
        rule_sql.append(f"{rule or 'CAST(NULL AS VARCHAR)'} AS r_{name}")
    rejecting = [n for n in mapped if n not in nullable]
    typed = []
    for name in mapped:
        if name in nullable:
            typed.append(f"CASE WHEN r_{name} IS NULL THEN v_t_{name} END AS v_{name}")
        else:
            typed.append(f"v_t_{name} AS v_{name}")
    first_rule = "coalesce(" + ", ".join([f"r_{n}" for n in rejecting] + ["NULL"]) + ")"
    first_field = bad_text = "CAST(NULL AS VARCHAR)"
    if rejecting:
        first_field = " ".join(f"WHEN r_{n} IS NOT NULL THEN {lit(n)}" for n in rejecting)
        first_field = f"CASE {first_field} END"
        bad_text = " ".join(
            f"WHEN r_{n} IS NOT NULL THEN {ident(source.columns[n].source)}" for n in rejecting
        )
        bad_text = f"CASE {bad_text} END"
    raw_cols = ", ".join(ident(c) for c in raw_columns)
    return f"""
        SELECT {raw_cols}, _file, _line, {", ".join(typed)},
               {", ".join(f"r_{n}" for n in mapped)},
               {first_rule} AS _rule, {first_field} AS _field, {bad_text} AS _text
        FROM (
            SELECT *, {", ".join(rule_sql)}
            FROM (
                SELECT *, {", ".join(values)}
                FROM (
                    SELECT *{"".join(", " + x for x in parts)}
                    FROM (SELECT *, {", ".join(texts)} FROM {raw})
                )
            )
        )
        """


def ingest_source(
    con: duckdb.DuckDBPyConnection, source: SourceDef, spec: BenchSpec, work: Path
) -> tuple[SourceCounts, pd.DataFrame]:
    """Build stg_<source> and quarantine_<source>; returns counts and per-field stats."""
    entity = ENTITIES[source.entity]
    raw, raw_columns = read_source(con, source, work)
    s = source.name
    mapped = list(source.columns)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE parsed_{s} AS "
        f"{parsed_select(source, spec, raw, raw_columns)}"
    )

    # Exact duplicates share their key, so only rows whose key repeats can be copies or
    # conflicts: the windows run on those alone, over a narrow projection.
    raw_cols = ", ".join(ident(c) for c in raw_columns)
    key = ", ".join(f"v_{k}" for k in entity.key)
    newest = "_file DESC, _line DESC"
    version = ""
    if entity.version_column in mapped:
        newest = f"v_{entity.version_column} DESC NULLS LAST, " + newest
        version = f", v_{entity.version_column}"
    by_key = f"PARTITION BY {key}, _copy > 0"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE marks_{s} AS
        SELECT _file, _line, _copy,
               CASE WHEN _copy = 0 THEN row_number() OVER ({by_key} ORDER BY {newest}) - 1
               END AS _version,
               CASE WHEN _copy = 0 THEN first_value(_line) OVER ({by_key} ORDER BY {newest})
               END AS _kept_line,
               CASE WHEN _copy = 0 THEN count(*) OVER ({by_key}) END AS _key_rows
        FROM (
            SELECT _file, _line, {key}{version},
                   row_number() OVER (PARTITION BY {raw_cols} ORDER BY _file, _line) - 1
                       AS _copy
            FROM parsed_{s}
            SEMI JOIN (
                SELECT {key} FROM parsed_{s} WHERE _rule IS NULL
                GROUP BY {key} HAVING count(*) > 1
            ) USING ({key})
            WHERE _rule IS NULL
        )
        """
    )
    dropped = f"(SELECT _file, _line FROM marks_{s} WHERE _copy > 0 OR _version > 0)"
    record_key = " || '#' || ".join(f"CAST(v_{k} AS VARCHAR)" for k in entity.key)
    columns = []
    for col in entity.columns:
        if col.name in mapped:
            columns.append(f"v_{col.name} AS {col.name}")
        else:
            kind = {
                "timestamp": "TIMESTAMP",
                "date": "DATE",
                "money": "DECIMAL(18, 2)",
                "int": "BIGINT",
            }.get(col.type, "VARCHAR")
            columns.append(f"CAST(NULL AS {kind}) AS {col.name}")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE stg_{s} AS
        SELECT {lit(s)} AS source, {record_key} AS record_key, {", ".join(columns)}, _file, _line
        FROM parsed_{s} ANTI JOIN {dropped} USING (_file, _line)
        WHERE _rule IS NULL
        """
    )

    raw_json = (
        "json_object("
        + ", ".join(f"{lit(c)}, coalesce({ident(c)}, '')" for c in raw_columns)
        + ")::VARCHAR"
    )
    describe = "CASE " + " ".join(f"WHEN _rule = {lit(k)} THEN {lit(v)}" for k, v in RULES.items())
    key_label = ", ".join(entity.key)
    head = f"{lit(s)} AS source, {lit(entity.name)} AS entity, _file, _line"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE quarantine_{s} AS
        SELECT {head}, _rule AS rule, _field AS field,
               _field || ': ' || {describe} ELSE _rule END || ' (''' || coalesce(_text, '') || ''')'
                   AS message,
               {raw_json} AS raw
        FROM parsed_{s} WHERE _rule IS NOT NULL
        UNION ALL
        SELECT {head}, 'duplicate_row', NULL,
               'exact copy of an earlier row (the first copy was loaded)', {raw_json}
        FROM parsed_{s} SEMI JOIN (SELECT _file, _line FROM marks_{s} WHERE _copy > 0)
            USING (_file, _line)
        UNION ALL
        SELECT {head}, 'key_conflict', {lit(key_label)},
               {lit(key_label)} || ' ''' || {record_key} || ''' repeated with different content; '
                   || 'line ' || _kept_line || ' was loaded',
               {raw_json}
        FROM parsed_{s} JOIN (SELECT _file, _line, _kept_line FROM marks_{s} WHERE _version > 0)
            USING (_file, _line)
        UNION ALL
        SELECT {head}, 'malformed_row', NULL, {lit(RULES["malformed_row"] + ": ")} || reason,
               json_object('_text', text)::VARCHAR
        FROM malformed_{s}
        """
    )

    present = ", ".join(
        f"count(*) FILTER (WHERE CASE WHEN r_{n} = 'missing_required' THEN false "
        f"WHEN r_{n} IS NOT NULL THEN true ELSE v_{n} IS NOT NULL END) AS p_{n}, "
        f"count(r_{n}) AS i_{n}"
        for n in mapped
    )
    row: Any = con.execute(f"SELECT count(*), {present} FROM parsed_{s}").fetchone()
    counts_row: Any = con.execute(
        f"""
        SELECT (SELECT count(*) FROM raw_{s}) + (SELECT count(*) FROM malformed_{s}),
               (SELECT count(*) FROM stg_{s}), (SELECT count(*) FROM quarantine_{s}),
               (SELECT count(*) FROM marks_{s} WHERE _copy = 0 AND _key_rows > 1)
        """
    ).fetchone()
    rows_read, loaded, quarantined, repeated = counts_row
    rules = dict(con.execute(f"SELECT rule, count(*) FROM quarantine_{s} GROUP BY rule").fetchall())
    con.execute(f"DROP TABLE marks_{s}")
    if rows_read != loaded + quarantined:
        raise AssertionError(f"{s}: rows read != loaded + quarantined")
    stats = pd.DataFrame(
        {
            "field": mapped,
            "rows": rows_read,
            "present": [int(row[1 + 2 * i]) for i in range(len(mapped))],
            "invalid": [int(row[2 + 2 * i]) for i in range(len(mapped))],
            "repeated_keys": [repeated if n in entity.key else None for n in mapped],
        }
    )
    return SourceCounts(rows_read, loaded, quarantined, rules), stats


def conform(con: duckdb.DuckDBPyConnection, spec: BenchSpec) -> list[str]:
    """One table per entity; orders get has_customer_record."""
    built = []
    for entity in ENTITIES.values():
        names = [s.name for s in spec.sources if s.entity == entity.name]
        if not names:
            continue
        union = " UNION ALL ".join(f"SELECT * FROM stg_{n}" for n in names)
        if entity.references_customers:
            if "customers" in built:
                flag = " OR ".join(
                    f"coalesce({f} IN (SELECT {f} FROM customers WHERE {f} IS NOT NULL), false)"
                    for f in LINK_FIELDS
                )
            else:
                flag = "false"
            union = f"SELECT *, {flag} AS has_customer_record FROM ({union})"
        con.execute(f"CREATE OR REPLACE TABLE {entity.name} AS {union}")
        built.append(entity.name)
    return built


def quality(
    con: duckdb.DuckDBPyConnection,
    spec: BenchSpec,
    counts: dict[str, SourceCounts],
    stats: dict[str, pd.DataFrame],
) -> None:
    """quality_sources and quality_fields, judged against the thresholds."""
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
        newest_row: Any = con.execute(
            f"SELECT max({entity.time_column}) FROM stg_{source.name}"
        ).fetchone()
        newest = newest_row[0]
        hours = (spec.as_of - newest).total_seconds() / 3600 if newest is not None else None
        orphans = 0
        if entity.references_customers:
            orphan_row: Any = con.execute(
                f"SELECT count(*) FROM {entity.name} WHERE source = {lit(source.name)} "
                "AND NOT has_customer_record"
            ).fetchone()
            orphans = int(orphan_row[0])
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
    con.register("quality_sources_df", pd.DataFrame(source_rows))
    con.register("quality_fields_df", pd.concat(field_rows, ignore_index=True))
    con.execute("CREATE OR REPLACE TABLE quality_sources AS SELECT * FROM quality_sources_df")
    con.execute("CREATE OR REPLACE TABLE quality_fields AS SELECT * FROM quality_fields_df")


# ---------------------------------------------------------------------------- identity


def _propagate(con: duckdb.DuckDBPyConnection, labels: str, links: str, spec: BenchSpec) -> int:
    """Min-label propagation: table `labels` (node, label) over `links` (node, idn).

    Rewrites `labels` in place, one query per round; returns the number of rounds.
    """
    for rounds in range(1, spec.max_iterations + 1):
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {labels}_next AS
            WITH id_label AS (
                SELECT l.idn, min(b.label) AS label
                FROM {links} l JOIN {labels} b USING (node) GROUP BY l.idn
            ),
            candidate AS (
                SELECT l.node, min(i.label) AS candidate
                FROM {links} l JOIN id_label i USING (idn) GROUP BY l.node
            )
            SELECT b.node, least(b.label, coalesce(c.candidate, b.label)) AS label
            FROM {labels} b LEFT JOIN candidate c USING (node)
            """
        )
        changed_row: Any = con.execute(
            f"SELECT count(*) FROM {labels}_next n JOIN {labels} o USING (node) "
            "WHERE n.label <> o.label"
        ).fetchone()
        con.execute(f"DROP TABLE {labels}")
        con.execute(f"ALTER TABLE {labels}_next RENAME TO {labels}")
        if changed_row[0] == 0:
            return rounds
    raise RuntimeError("label propagation did not converge")


def placeholder_sql(id_type: str, value: str) -> str:
    """Whether a normalised identifier value is an obvious placeholder (SQL)."""

    def listed(values: tuple[str, ...]) -> str:
        return ", ".join(lit(v) for v in values)

    national = f"substr({value}, 4)"
    runs = " OR ".join(
        f"contains({lit(run)}, {digits})"
        for run in (ASCENDING_DIGITS, DESCENDING_DIGITS)
        for digits in (national, f"substr({national}, 2)")
    )
    low = f"lower({value})"
    return f"""CASE
        WHEN {id_type} = 'phone' THEN {value} IN ({listed(PLACEHOLDER_PHONES)})
            OR (starts_with({value}, '+86')
                AND (regexp_matches({national}, {lit(PLACEHOLDER_CN)}) OR {runs}))
        WHEN {id_type} = 'email' THEN
            regexp_extract({low}, '^([^@]*)@', 1) IN ({listed(PLACEHOLDER_EMAIL_LOCALS)})
            OR regexp_extract({low}, '@(.*)$', 1) IN ({listed(PLACEHOLDER_EMAIL_DOMAINS)})
            OR regexp_matches({low}, {lit(RESERVED_EMAIL_TLD)})
        ELSE regexp_matches({low}, {lit(PLACEHOLDER_ID)})
    END"""


def _hubs_sql(spec: BenchSpec) -> str:
    """The identity_hubs query over id_edges (node, id_type, id_value, records)."""
    kinds = spec.identifiers
    deny = ", ".join(lit(v) for v in spec.deny) or "NULL"
    strong = ", ".join(lit(k) for k in STRONG_IDENTIFIERS)
    partner_limit = " ".join(f"WHEN {lit(k)} THEN {spec.partner_limit(k)}" for k in kinds)
    member_rules = [(k, m) for k in kinds if (m := spec.member_limit(k)) is not None]
    too_many_members = (
        "member_ids > CASE id_type "
        + " ".join(f"WHEN {lit(k)} THEN {m}" for k, m in member_rules)
        + " END"
        if member_rules
        else "false"
    )
    placeholder = placeholder_sql("id_type", "id_value") if spec.placeholders else "false"
    return f"""
        WITH strong AS (
            SELECT node, id_type AS partner_type, id_value AS partner_value
            FROM id_edges WHERE id_type IN ({strong})
        ),
        per_type AS (
            SELECT e.id_type, e.id_value, s.partner_type, count(DISTINCT s.partner_value) AS n
            FROM id_edges e JOIN strong s USING (node)
            WHERE s.partner_type <> e.id_type
            GROUP BY ALL
        ),
        partners AS (
            SELECT id_type, id_value, max(n) AS partners,
                   max(n) FILTER (WHERE partner_type = 'member_id') AS member_ids
            FROM per_type GROUP BY ALL
        ),
        valued AS (
            SELECT v.id_type, v.id_value, v.records,
                   coalesce(p.partners, 0) AS partners, coalesce(p.member_ids, 0) AS member_ids
            FROM (
                SELECT id_type, id_value, sum(records) AS records FROM id_edges GROUP BY ALL
            ) v LEFT JOIN partners p USING (id_type, id_value)
        ),
        flagged AS (
            SELECT *, CASE
                WHEN id_value IN ({deny}) THEN 'deny-list'
                WHEN {placeholder} THEN 'placeholder'
                WHEN {too_many_members} THEN 'too many member ids'
                WHEN partners > CASE id_type {partner_limit} END THEN 'too many partners'
            END AS reason
            FROM valued
        )
        SELECT id_type, id_value, reason, partners, member_ids, records
        FROM flagged WHERE reason IS NOT NULL
    """


def resolve_identity(
    con: duckdb.DuckDBPyConnection, spec: BenchSpec, entities: list[str]
) -> tuple[int, int]:
    """identity_map and identity_hubs; returns (propagation rounds, components split).

    Records with the same identifiers are one signature node; hub values link nothing;
    nodes whose every identifier is a hub stay unresolved (customer_id NULL); a component
    with more member ids than allowed is split by cutting its weakest identifier types.
    """
    kinds = list(spec.identifiers)
    sig = " || '|' || ".join(f"coalesce(CAST({k} AS VARCHAR), '')" for k in kinds)
    anonymous = " AND ".join(f"{k} IS NULL" for k in kinds)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE id_records AS SELECT *, "
        f"CASE WHEN {anonymous} THEN NULL ELSE {sig} END AS sig FROM ("
        + " UNION ALL ".join(
            f"SELECT {lit(name)} AS entity, source, record_key, "
            + ", ".join(f"CAST({k} AS VARCHAR) AS {k}" for k in kinds)
            + f" FROM {name}"
            for name in entities
        )
        + ")"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE id_signatures AS "
        "SELECT *, row_number() OVER (ORDER BY sig) - 1 AS node FROM ("
        f"SELECT sig, {', '.join(kinds)}, count(*) AS records FROM id_records "
        "WHERE sig IS NOT NULL GROUP BY ALL)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE id_edges AS "
        + " UNION ALL ".join(
            f"SELECT node, {lit(k)} AS id_type, {k} AS id_value, records "
            f"FROM id_signatures WHERE {k} IS NOT NULL"
            for k in kinds
        )
    )
    con.execute(f"CREATE OR REPLACE TABLE identity_hubs AS {_hubs_sql(spec)}")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE id_links AS
        WITH links AS (SELECT * FROM id_edges ANTI JOIN identity_hubs USING (id_type, id_value)),
        ids AS (
            SELECT id_type, id_value, row_number() OVER () AS idn
            FROM (SELECT DISTINCT id_type, id_value FROM links)
        )
        SELECT links.node, ids.idn, links.id_type, links.id_value
        FROM links JOIN ids USING (id_type, id_value)
        """
    )
    # Components over the links; nodes with no usable identifier get no label (unresolved).
    con.execute(
        "CREATE OR REPLACE TEMP TABLE id_labels AS "
        "SELECT DISTINCT node, node AS label FROM id_links"
    )
    rounds = _propagate(con, "id_labels", "id_links", spec)

    # Merge protection: cut the weakest identifier types inside oversized components.
    cut: list[str] = []
    split = 0
    for weakest in reversed(kinds[1:]):
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE id_oversized AS
            SELECT b.label FROM id_links l JOIN id_labels b USING (node)
            WHERE l.id_type = 'member_id'
            GROUP BY b.label HAVING count(DISTINCT l.id_value) > {spec.max_member_ids_per_customer}
            """
        )
        found_row: Any = con.execute("SELECT count(*) FROM id_oversized").fetchone()
        if not found_row[0]:
            break
        split += found_row[0] if not cut else 0
        cut.append(weakest)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE id_inside AS "
            "SELECT node, node AS label FROM id_labels SEMI JOIN id_oversized USING (label)"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE id_sub_links AS "
            "SELECT node, idn FROM id_links SEMI JOIN id_inside USING (node) "
            f"WHERE id_type NOT IN ({', '.join(lit(k) for k in cut)})"
        )
        rounds += _propagate(con, "id_inside", "id_sub_links", spec)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE id_labels_cut AS "
            "SELECT b.node, coalesce(i.label, b.label) AS label "
            "FROM id_labels b LEFT JOIN id_inside i USING (node)"
        )
        con.execute("DROP TABLE id_labels")
        con.execute("ALTER TABLE id_labels_cut RENAME TO id_labels")
    con.execute(
        """
        CREATE OR REPLACE TABLE identity_map AS
        WITH customer AS (
            SELECT node,
                   'C' || lpad(CAST(dense_rank() OVER (ORDER BY label) AS VARCHAR), 9, '0')
                       AS customer_id
            FROM id_labels
        )
        SELECT r.source, r.entity, r.record_key, c.customer_id
        FROM id_records r
        LEFT JOIN id_signatures s USING (sig)
        LEFT JOIN customer c USING (node)
        """
    )
    for scratch in ("id_records", "id_edges", "id_links", "id_labels"):
        con.execute(f"DROP TABLE {scratch}")
    for scratch in ("id_oversized", "id_inside", "id_sub_links"):
        con.execute(f"DROP TABLE IF EXISTS {scratch}")
    return rounds, split


# --------------------------------------------------------------------------------- RFM


def rfm(con: duckdb.DuckDBPyConnection, spec: BenchSpec) -> None:
    """The rfm table: one row per buying customer."""
    bins = spec.bins

    def score(column: str, order: str) -> str:
        return (
            f"CAST(floor((rank() OVER (ORDER BY {column} {order}) - 1) * {bins} / "
            f"count({column}) OVER ()) AS BIGINT) + 1"
        )

    def five(column: str) -> str:
        return f"CAST(floor(({column} - 1) * 5 / {bins}) AS BIGINT) + 1"

    segment = (
        "CASE "
        + " ".join(
            f"WHEN {five('r_score')} IN ({', '.join(map(str, rs))}) "
            f"AND {five('f_score')} IN ({', '.join(map(str, fs))}) THEN {lit(name)}"
            for name, rs, fs in SEGMENT_GRID
        )
        + " ELSE 'Need Attention' END"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE rfm AS
        WITH bought AS (
            SELECT i.customer_id, o.order_id, o.ordered_at, CAST(o.amount AS DOUBLE) AS amount
            FROM orders o JOIN identity_map i USING (source, record_key)
            WHERE i.customer_id IS NOT NULL
              AND (o.status IS NULL OR o.status = 'paid') AND o.ordered_at <= {ts(spec.as_of)}
        ),
        per AS (
            SELECT customer_id, min(ordered_at) AS first_order_at,
                   max(ordered_at) AS last_order_at, count(DISTINCT order_id) AS frequency,
                   round(sum(amount), 2) AS monetary
            FROM bought GROUP BY customer_id
        ),
        scored AS (
            SELECT *, date_diff('day', CAST(last_order_at AS DATE), DATE '{spec.as_of.date()}')
                       AS recency_days
            FROM per
        ),
        ranked AS (
            SELECT *, {score("recency_days", "DESC")} AS r_score,
                   {score("frequency", "ASC")} AS f_score,
                   {score("monetary", "ASC")} AS m_score
            FROM scored
        )
        SELECT customer_id, recency_days, frequency, monetary, first_order_at, last_order_at,
               r_score, f_score, m_score,
               CAST(r_score AS VARCHAR) || CAST(f_score AS VARCHAR) || CAST(m_score AS VARCHAR)
                   AS rfm_cell,
               {segment} AS segment
        FROM ranked
        """
    )


# ----------------------------------------------------------------------------- the run


def run(spec: BenchSpec, database: Path, work: Path) -> Output:
    """The whole pipeline in a fresh DuckDB file, timed per stage.

    DuckDB gets the project's warehouse threads and memory limit, as segmint's engine does.
    """
    for stale in (database, database.with_suffix(database.suffix + ".wal")):
        stale.unlink(missing_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    config = {k: v for k, v in spec.duckdb_config.items() if v is not None}
    con = duckdb.connect(str(database), config=config)
    clock = Stopwatch()
    counts: dict[str, SourceCounts] = {}
    stats: dict[str, pd.DataFrame] = {}
    with clock.stage("ingest"):
        for source in spec.sources:
            counts[source.name], stats[source.name] = ingest_source(con, source, spec, work)
        con.execute(
            "CREATE OR REPLACE TABLE quarantine AS "
            + " UNION ALL ".join(f"SELECT * FROM quarantine_{s.name}" for s in spec.sources)
        )
        entities = conform(con, spec)
        quality(con, spec, counts, stats)
    with clock.stage("identity"):
        rounds, components_split = resolve_identity(con, spec, entities)
    with clock.stage("rfm"):
        rfm(con, spec)

    def one(sql: str) -> Any:
        row: Any = con.execute(sql).fetchone()
        return row[0]

    segments = dict(con.execute("SELECT segment, count(*) FROM rfm GROUP BY segment").fetchall())
    orphans = dict(con.execute("SELECT source, orphans FROM quality_sources").fetchall())
    summary = Summary(
        impl="sql",
        stages=clock.seconds,
        sources=counts,
        records=int(one("SELECT count(*) FROM identity_map")),
        customers=int(one("SELECT count(DISTINCT customer_id) FROM identity_map")),
        hubs=int(one("SELECT count(*) FROM identity_hubs")),
        iterations=rounds,
        rfm_rows=int(one("SELECT count(*) FROM rfm")),
        segments={str(k): int(v) for k, v in segments.items()},
        frequency_total=int(one("SELECT coalesce(sum(frequency), 0) FROM rfm")),
        orphans={str(k): int(v) for k, v in orphans.items()},
        monetary_total=float(one("SELECT coalesce(sum(monetary), 0) FROM rfm")),
        cpu=clock.cpu,
        extra={"peak_mb_after_stage": clock.peak_mb},
        unresolved=int(one("SELECT count(*) FROM identity_map WHERE customer_id IS NULL")),
        nodes=int(one("SELECT count(*) FROM id_signatures")),
        hub_reasons={
            str(k): int(v)
            for k, v in con.execute(
                "SELECT reason, count(*) FROM identity_hubs GROUP BY reason"
            ).fetchall()
        },
        components_split=components_split,
    )
    con.execute("DROP TABLE id_signatures")
    return Output(summary=summary, con=con)


def per_customer(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """RFM keyed by each customer's smallest (source, record_key), for cross-checks."""
    return con.execute(PER_CUSTOMER_SQL).df()
