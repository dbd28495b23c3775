"""Governed ingestion of one source: read → parse → validate → dedupe → load or quarantine.

Every row read ends up either in the source's staged table or in quarantine with the rule
it broke, and the counts are checked (rows read = rows loaded + rows quarantined).
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.engine.engine import Engine, table_name
from segmint.errors import DataQualityError, SourceReadError
from segmint.ingest.parse import RULES, normalise_text, parse_column, sql_type
from segmint.ingest.readers import (
    FILE_COLUMN,
    JSON_COLUMN,
    LINE_COLUMN,
    RawRead,
    present_columns,
    read_files,
)
from segmint.project.entities import ENTITIES, Entity
from segmint.project.loader import LoadedProject
from segmint.project.spec import Source, utc_offset_hours

QUARANTINE_SCHEMA = ibis.schema(
    {
        "run_id": "string",
        "source": "string",
        "entity": "string",
        "file": "string",
        "line": "int64",
        "rule": "string",
        "field": "string",
        "message": "string",
        "raw": "string",
    }
)
RECORD_KEY = "record_key"
SOURCE = "source"


@dataclass(frozen=True)
class SourceLoad:
    """The outcome of ingesting one source."""

    source: str
    entity: str
    files: list[str]
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    staged: ir.Table  # the loaded rows in the entity's columns, as an expression
    mapped: tuple[str, ...]  # the entity columns the source fills
    quarantine_table: str
    field_stats: pd.DataFrame  # field, rows, present, invalid, repeated_keys


def _json_string(value: ir.StringValue) -> ir.StringValue:
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return ibis.cases((value.isnull(), ibis.literal("null")), else_='"' + escaped + '"')


def raw_json(table: ir.Table, columns: list[str]) -> ir.StringValue:
    """The row as read: a JSON source's own line, else a JSON object of its text values."""
    if JSON_COLUMN in table.columns:
        return table[JSON_COLUMN]
    parts: list[ir.StringValue] = []
    for index, name in enumerate(columns):
        key = ("{" if index == 0 else ",") + json.dumps(name, ensure_ascii=False) + ":"
        parts.append(key + _json_string(table[name]))
    if not parts:
        return ibis.literal("{}")
    out = parts[0]
    for part in parts[1:]:
        out = out + part
    return out + "}"


def _read_raw(engine: Engine, project: LoadedProject, source: Source) -> RawRead | ir.Table:
    if source.table is not None:
        table = engine.table(source.table)
        return table.select(
            *(table[c].cast("string").name(c) for c in table.columns),
            ibis.literal(source.table).name(FILE_COLUMN),
            (ibis.row_number() + 1).cast("int64").name(LINE_COLUMN),
        )
    assert source.path is not None
    return read_files(
        project.resolve(source.path),
        source.resolved_format(),
        source.encoding,
        source.delimiter,
        source.sheet,
        wanted=[source.mapping(c).source for c in source.columns],
    )


def _check_columns(source: Source, available: list[str], where: str) -> None:
    missing = []
    for canonical in source.columns:
        name = source.mapping(canonical).source
        if name not in available:
            guess = difflib.get_close_matches(name, available, n=1)
            missing.append(f"{name!r}" + (f" (did you mean {guess[0]!r}?)" if guess else ""))
    if missing:
        shown = ", ".join(c for c in available if not c.startswith("_"))
        raise SourceReadError(
            f"{where}: source {source.name} maps column(s) {', '.join(missing)} that the data "
            f"does not have; it has: {shown}"
        )


def _coalesce(values: list[ir.Value], type_: str) -> ir.Value:
    if not values:
        return ibis.null(type_)
    if len(values) == 1:
        return values[0]
    return ibis.coalesce(*values)


def _step_name(canonical: str, key: str) -> str:
    return f"s__{canonical}__{key}"


def _lookup(table: ir.Table, canonical: str) -> Callable[[str], ir.Value]:
    """A parser step's view of `table`: its input text and its own earlier columns."""

    def get(key: str) -> ir.Value:
        return table[text_name(canonical) if key == "text" else _step_name(canonical, key)]

    return get


def _fence(table: ir.Table) -> ir.Table:
    """`table`, kept as its own projection.

    Ibis merges consecutive projections, inlining each column's expression wherever the
    next one reads it; a non-deterministic column stops that.
    """
    return table.mutate(_fence=ibis.random())


def _parsed_expression(
    raw: ir.Table, source: Source, entity: Entity, project: LoadedProject, as_of: dt.datetime
) -> tuple[ir.Table, list[str]]:
    """Typed canonical columns, per-field rule columns and the row's first broken rule."""
    quality = project.spec.quality
    offset = utc_offset_hours(source.timezone)
    mapped = [c.name for c in entity.columns if c.name in source.columns]
    # Each step is one projection over the previous one's named columns, so that no value
    # is computed twice: normalised text, the parsers' steps side by side, typed values, then
    # the rules that judge them.
    texts = {}
    for name in mapped:
        mapping = source.mapping(name)
        text = normalise_text(raw[mapping.source])
        texts[text_name(name)] = text.substitute(mapping.values) if mapping.values else text
    step = _fence(raw.mutate(**texts))
    parsers = {
        name: parse_column(
            step[text_name(name)],
            entity.column(name),
            utc_offset_hours=offset,
            as_of=as_of,
            tolerance_hours=quality.future_tolerance_hours,
            max_age_years=quality.max_age_years,
        )
        for name in mapped
    }
    scratch: list[str] = []
    for index in range(max(len(p.steps) for p in parsers.values())):
        columns: dict[str, ir.Value] = {}
        for name, parser in parsers.items():
            if index < len(parser.steps):
                lookup = _lookup(step, name)
                columns.update(
                    {_step_name(name, k): v for k, v in parser.steps[index](lookup).items()}
                )
        scratch.extend(c for c in columns if c not in scratch)
        step = _fence(step.mutate(**columns))
    step = step.mutate(
        **{
            typed_name(n): step[_step_name(n, "value")].cast(sql_type(entity.column(n)))
            for n in parsers
        }
    ).drop(*scratch)
    step = step.mutate(
        **{
            f"_rule__{n}": p.rule(step[text_name(n)], step[typed_name(n)])
            for n, p in parsers.items()
        }
    )
    step = _fence(step)
    nullable = [
        n
        for n in mapped
        if source.mapping(n).on_invalid == "null" and not entity.column(n).required
    ]
    if nullable:
        step = step.mutate(
            **{
                typed_name(n): ibis.cases(
                    (step[f"_rule__{n}"].isnull(), step[typed_name(n)]), else_=ibis.null()
                ).cast(sql_type(entity.column(n)))
                for n in nullable
            }
        )
        step = _fence(step)
    field_rules = {f"_rule__{n}": step[f"_rule__{n}"] for n in mapped}
    originals = {n: raw[source.mapping(n).source] for n in mapped}
    rejecting = [name for name in mapped if name not in nullable]
    rules = [field_rules[f"_rule__{n}"] for n in rejecting]
    first_rule = _coalesce(rules, "string")
    first_field = _coalesce(
        [ibis.cases((field_rules[f"_rule__{n}"].notnull(), ibis.literal(n))) for n in rejecting],
        "string",
    )
    bad_text = _coalesce(
        [ibis.cases((field_rules[f"_rule__{n}"].notnull(), originals[n])) for n in rejecting],
        "string",
    )
    parsed = step.mutate(_rule=first_rule, _field=first_field, _text=bad_text)
    return parsed.drop("_fence", *texts), mapped


def text_name(canonical: str) -> str:
    """The name of a canonical column's normalised text while it is being parsed."""
    return f"t__{canonical}"


def typed_name(canonical: str) -> str:
    """The name of a canonical column's typed value while it sits beside the raw text."""
    return f"v__{canonical}"


def _record_key(table: ir.Table, entity: Entity) -> ir.StringValue:
    parts = [table[typed_name(k)].cast("string") for k in entity.primary_key]
    key = parts[0]
    for part in parts[1:]:
        key = key + "#" + part
    return key


def _message(field: ir.StringValue, rule: ir.StringValue, text: ir.StringValue) -> ir.StringValue:
    description = ibis.cases(*((rule == code, ibis.literal(d)) for code, d in RULES.items()))
    return field + ": " + description.fill_null(rule) + " ('" + text.fill_null("") + "')"


def ingest_source(
    engine: Engine,
    project: LoadedProject,
    source: Source,
    run_id: str,
    as_of: dt.datetime,
) -> SourceLoad:
    """Parse and dedupe one source: its loaded rows (an expression that conform writes into
    the entity's table) and its rejects in `_r<run>__quarantine_<source>`."""
    entity = ENTITIES[source.entity]
    raw_name = engine.run_table(run_id, f"raw_{source.name}")
    read = _read_raw(engine, project, source)
    if isinstance(read, RawRead):
        where = ", ".join(read.files)
        _check_columns(source, present_columns(read, source.resolved_format()), where)
        raw = engine.materialize(raw_name, read.table, temporary=True)
        malformed = read.malformed
        files = read.files
    else:
        where = f"table {source.table}"
        _check_columns(source, read.columns, where)
        raw = engine.materialize(raw_name, read, temporary=True)
        malformed = []
        files = [str(source.table)]
    source_columns = [c for c in raw.columns if c not in (FILE_COLUMN, LINE_COLUMN, JSON_COLUMN)]
    # Rows are exact copies when their text is: a JSON line's own text, else every column.
    content_columns = [JSON_COLUMN] if JSON_COLUMN in raw.columns else source_columns

    parsed_expr, mapped = _parsed_expression(raw, source, entity, project, as_of)
    parsed = engine.materialize(
        engine.run_table(run_id, f"parsed_{source.name}"), parsed_expr, temporary=True
    )

    # Exact duplicate rows, then repeated keys with different content, among valid rows.
    # Exact copies share their key too, so only rows whose key is repeated can be either:
    # the windows run on those alone (a few percent), over a narrow projection, into
    # `marks`. Key columns are required, so valid rows never have a null key. The key window
    # is split by "is a copy" so that the versions of a key are counted among distinct rows.
    position = [FILE_COLUMN, LINE_COLUMN]
    key_columns = [typed_name(k) for k in entity.primary_key]
    version = (
        [typed_name(entity.version_column)]
        if entity.version_column and entity.version_column in mapped
        else []
    )
    valid = parsed.filter(parsed._rule.isnull())
    by_key_count = valid.group_by(key_columns).aggregate(_rows=ibis._.count())
    repeating = by_key_count.filter(by_key_count._rows > 1).select(*key_columns)
    narrow = valid.semi_join(repeating, key_columns)
    narrow = narrow.select(*position, *key_columns, *version, *content_columns)
    narrow = narrow.mutate(
        _copy=ibis.row_number().over(ibis.window(group_by=content_columns, order_by=position))
    )
    newest_first = [ibis.desc(FILE_COLUMN), ibis.desc(LINE_COLUMN)]
    if version:
        newest_first.insert(0, narrow[version[0]].desc(nulls_first=False))
    is_copy = narrow._copy > 0
    key_groups = [*key_columns, is_copy]
    by_key = ibis.window(group_by=key_groups, order_by=newest_first)
    among_distinct = {
        "_version": ibis.row_number().over(by_key),
        "_kept_line": narrow[LINE_COLUMN].first().over(by_key),
        "_key_rows": narrow[LINE_COLUMN].count().over(ibis.window(group_by=key_groups)),
    }
    marks = engine.materialize(
        engine.run_table(run_id, f"marks_{source.name}"),
        narrow.select(
            *position,
            "_copy",
            **{k: ibis.cases((is_copy, ibis.null()), else_=v) for k, v in among_distinct.items()},
        ),
        temporary=True,
    )
    # Copies and outdated versions are few: the loaded rows are the valid rows without them.
    dropped = marks.filter((marks._copy > 0) | (marks._version > 0))
    loaded_expr = valid.anti_join(dropped, position)
    copies = valid.semi_join(dropped.filter(dropped._copy > 0), position)
    outdated = dropped.filter(dropped._version > 0).select(*position, "_kept_line")
    superseded = valid.join(outdated, position)

    typed_columns = []
    for column in entity.columns:
        if column.name in mapped:
            typed_columns.append(loaded_expr[typed_name(column.name)].name(column.name))
        else:
            typed_columns.append(ibis.null(sql_type(column)).name(column.name))
    # Not materialised: conform writes every source of an entity into one table.
    staged = loaded_expr.select(
        ibis.literal(source.name).name(SOURCE),
        _record_key(loaded_expr, entity).name(RECORD_KEY),
        *typed_columns,
        loaded_expr[FILE_COLUMN],
        loaded_expr[LINE_COLUMN],
    )

    def quarantine_rows(
        table: ir.Table, rule: ir.Value, field: ir.Value, message: ir.Value
    ) -> ir.Table:
        return table.select(
            run_id=ibis.literal(run_id),
            source=ibis.literal(source.name),
            entity=ibis.literal(entity.name),
            file=table[FILE_COLUMN],
            line=table[LINE_COLUMN],
            rule=rule,
            field=field,
            message=message,
            raw=raw_json(table, source_columns),
        )

    rejected = parsed.filter(parsed._rule.notnull())
    key_text = _record_key(superseded, entity)
    key_label = ibis.literal(", ".join(entity.primary_key))
    pieces = [
        quarantine_rows(
            rejected,
            rejected._rule,
            rejected._field,
            _message(rejected._field, rejected._rule, rejected._text),
        ),
        quarantine_rows(
            copies,
            ibis.literal("duplicate_row"),
            ibis.null(str),
            ibis.literal("exact copy of an earlier row (the first copy was loaded)"),
        ),
        quarantine_rows(
            superseded,
            ibis.literal("key_conflict"),
            key_label,
            key_label
            + " '"
            + key_text
            + "' repeated with different content; line "
            + superseded._kept_line.cast("string")
            + " was loaded",
        ),
    ]
    if malformed:
        bad = pd.DataFrame(
            {
                "run_id": run_id,
                "source": source.name,
                "entity": entity.name,
                "file": [m.file for m in malformed],
                "line": [m.line for m in malformed],
                "rule": "malformed_row",
                "field": None,
                "message": [f"{RULES['malformed_row']}: {m.reason}" for m in malformed],
                "raw": [json.dumps({"_text": m.text}, ensure_ascii=False) for m in malformed],
            }
        )
        pieces.append(ibis.memtable(bad, schema=QUARANTINE_SCHEMA))
    quarantine_expr = ibis.union(*(p.cast(QUARANTINE_SCHEMA) for p in pieces))
    quarantine = engine.materialize(
        engine.run_table(run_id, f"quarantine_{source.name}"), quarantine_expr, temporary=True
    )

    rows_read = engine.scalar(raw.count()) + len(malformed)
    rows_loaded = engine.scalar(staged.count())
    rows_quarantined = engine.scalar(quarantine.count())
    if rows_read != rows_loaded + rows_quarantined:
        raise DataQualityError(
            f"source {source.name}: conservation broken: read {rows_read} rows but loaded "
            f"{rows_loaded} and quarantined {rows_quarantined}"
        )
    repeated_rows = marks.filter((marks._copy == 0) & (marks._key_rows > 1)).count()
    stats = _field_stats(engine, parsed, repeated_rows, mapped, entity, len(malformed))
    return SourceLoad(
        source=source.name,
        entity=entity.name,
        files=files,
        rows_read=rows_read,
        rows_loaded=rows_loaded,
        rows_quarantined=rows_quarantined,
        staged=staged,
        mapped=tuple(mapped),
        quarantine_table=table_name(quarantine),
        field_stats=stats,
    )


def _field_stats(
    engine: Engine,
    parsed: ir.Table,
    repeated_rows: ir.IntegerScalar,
    mapped: list[str],
    entity: Entity,
    malformed: int,
) -> pd.DataFrame:
    """Per mapped field: rows, non-empty values, invalid values; repeated keys for key fields."""
    metrics: dict[str, Any] = {"rows": parsed.count()}
    for name in mapped:
        rule = parsed[f"_rule__{name}"]
        metrics[f"present__{name}"] = ibis.cases(
            (rule == "missing_required", False),
            (rule.notnull(), True),
            else_=parsed[typed_name(name)].notnull(),
        ).sum()
        metrics[f"invalid__{name}"] = parsed[f"_rule__{name}"].notnull().sum()
    row = engine.to_pandas(parsed.aggregate(**metrics)).iloc[0]
    repeated = engine.scalar(repeated_rows)
    rows = int(row["rows"]) + malformed
    records = []
    for name in mapped:
        records.append(
            {
                "field": name,
                "rows": rows,
                "present": int(row[f"present__{name}"] or 0),
                "invalid": int(row[f"invalid__{name}"] or 0),
                "repeated_keys": int(repeated) if name in entity.primary_key else None,
            }
        )
    return pd.DataFrame.from_records(records)
