"""Data-quality results: per source and per field, judged against the project's thresholds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import pandas as pd

from segmint.engine.engine import Engine
from segmint.ingest.conform import HAS_CUSTOMER
from segmint.ingest.stage import SourceLoad
from segmint.project.entities import ENTITIES
from segmint.project.spec import QualityThresholds


@dataclass(frozen=True)
class QualityResults:
    """The two quality tables a run publishes."""

    sources: pd.DataFrame
    fields: pd.DataFrame


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator else 1.0


def assess_quality(
    engine: Engine,
    run_id: str,
    loads: list[SourceLoad],
    thresholds: QualityThresholds,
    as_of: dt.datetime,
) -> QualityResults:
    """Completeness, validity, duplicates, orphans and freshness for every source."""
    field_rows = []
    source_rows = []
    for load in loads:
        entity = ENTITIES[load.entity]
        fields_passed = True
        for stat in load.field_stats.itertuples(index=False):
            completeness = _ratio(stat.present, stat.rows)
            validity = _ratio(stat.present - stat.invalid, stat.present)
            duplicate_pct = (
                _ratio(stat.repeated_keys, stat.rows) if stat.repeated_keys is not None else None
            )
            column = entity.column(stat.field)
            completeness_passed = completeness >= thresholds.completeness_min or not column.required
            validity_passed = validity >= thresholds.validity_min
            fields_passed &= completeness_passed and validity_passed
            field_rows.append(
                {
                    "run_id": run_id,
                    "source": load.source,
                    "entity": load.entity,
                    "field": stat.field,
                    "required": column.required,
                    "rows": stat.rows,
                    "present": stat.present,
                    "invalid": stat.invalid,
                    "completeness": completeness,
                    "validity": validity,
                    "duplicate_pct": duplicate_pct,
                    "completeness_passed": completeness_passed,
                    "validity_passed": validity_passed,
                }
            )
        quarantine = engine.table(load.quarantine_table)
        rules = engine.to_pandas(quarantine.group_by("rule").aggregate(rows=quarantine.count()))
        by_rule = dict(zip(rules["rule"], rules["rows"], strict=True))
        newest = None
        conformed = engine.table(engine.run_table(run_id, load.entity))
        if entity.time_column:
            mine = conformed.filter(conformed.source == load.source)
            newest = engine.scalar(mine[entity.time_column].max())
        newest_ts = None if newest is None or pd.isna(newest) else pd.Timestamp(newest)
        # Records up to the future tolerance past as-of count as fresh, not "-0.1 h old".
        freshness_hours = (
            max(0.0, (pd.Timestamp(as_of) - newest_ts).total_seconds() / 3600)
            if newest_ts
            else None
        )
        freshness_passed = (
            freshness_hours is None or freshness_hours <= thresholds.freshness_max_hours
        )
        orphans = 0
        if entity.references_customers:
            orphans = int(
                engine.scalar(
                    conformed.filter(
                        (conformed.source == load.source) & ~conformed[HAS_CUSTOMER]
                    ).count()
                )
            )
        source_rows.append(
            {
                "run_id": run_id,
                "source": load.source,
                "entity": load.entity,
                "files": len(load.files),
                "rows_read": load.rows_read,
                "rows_loaded": load.rows_loaded,
                "rows_quarantined": load.rows_quarantined,
                "duplicate_rows": int(by_rule.get("duplicate_row", 0)),
                "key_conflicts": int(by_rule.get("key_conflict", 0)),
                "malformed_rows": int(by_rule.get("malformed_row", 0)),
                "orphans": orphans,
                "newest_record": newest_ts,
                "freshness_hours": freshness_hours,
                "freshness_passed": freshness_passed,
                "passed": bool(fields_passed and freshness_passed),
            }
        )
    return QualityResults(
        sources=pd.DataFrame.from_records(source_rows),
        fields=pd.DataFrame.from_records(field_rows),
    )


def quarantine_summary(engine: Engine, quarantine_table: str, top: int = 10) -> pd.DataFrame:
    """The most common quarantine reasons per source, each with one example row."""
    q = engine.table(quarantine_table)
    first = ibis.window(group_by=["source", "rule"], order_by=["file", "line"])
    ranked = q.mutate(
        _n=ibis.row_number().over(first),
        rows=q.count().over(ibis.window(group_by=["source", "rule"])),
    )
    examples = ranked.filter(ranked._n == 0).select(
        "source",
        "rule",
        "rows",
        "message",
        "file",
        example_line=ranked.line,
        example_raw=ranked.raw,
    )
    frame = engine.to_pandas(examples.order_by([ibis.desc("rows"), "source", "rule"]).limit(top))
    return frame
