"""The report's input: small summary tables computed in the warehouse, plus the run manifest.

The pipeline fills a :class:`ReportData`; the renderer never touches an engine. Tables may be
empty (with or without columns) and the report then says "no data" in that place; a table
with rows must carry the columns listed in :data:`REQUIRED_COLUMNS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from segmint.errors import SegmintError
from segmint.report.i18n import LANGS

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "quality_sources": (
        "source",
        "entity",
        "rows_read",
        "rows_loaded",
        "rows_quarantined",
        "duplicate_rows",
        "key_conflicts",
        "orphans",
        "newest_record",
        "freshness_hours",
        "freshness_passed",
        "passed",
    ),
    "quality_fields": (
        "source",
        "entity",
        "field",
        "completeness",
        "validity",
        "duplicate_pct",
        "completeness_passed",
        "validity_passed",
    ),
    "quarantine_top": ("source", "rule", "rows", "message", "example_line", "example_raw"),
    "segments": (
        "segment",
        "customers",
        "revenue",
        "customer_share",
        "revenue_share",
        "avg_recency_days",
        "avg_frequency",
        "avg_monetary",
    ),
    "rfm_grid": ("r_score", "f_score", "customers", "avg_monetary"),
}
"""Columns each non-empty table must have."""

HISTOGRAM_KEYS: tuple[str, ...] = ("recency_days", "frequency", "monetary")
HISTOGRAM_COLUMNS: tuple[str, ...] = ("bin_start", "bin_end", "customers")


class ReportDataError(SegmintError, ValueError):
    """The report's input tables do not have the shape the report needs."""


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame()


@dataclass(frozen=True)
class ReportData:
    """Everything the HTML report shows, already aggregated.

    Attributes:
        project_name: Shown as the report's heading.
        run: Run manifest: ``run_id``, ``status``, ``as_of``, ``started_at``, ``finished_at``,
            ``config_hash``, ``engine``, ``stages`` (list of ``{stage, seconds, rows}``) and
            ``sources`` (list of ``{source, entity, rows_read, rows_loaded,
            rows_quarantined}``).
        quality_sources: One row per source/entity with row counts and freshness checks.
        quality_fields: One row per source/entity/field with completeness and validity (0–1).
        quarantine_top: The most frequent quarantine rules with one example row each.
        thresholds: ``completeness_min``, ``validity_min`` (0–1), ``freshness_max_hours``.
        identity: ``records``, ``customers``, ``linked_records``, ``hubs_blocked`` and
            ``by_source`` (list of ``{source, records, customers}``).
        rfm_summary: ``customers``, ``revenue``, ``median_recency_days``,
            ``median_frequency``, ``median_monetary``.
        rfm_histograms: ``recency_days``, ``frequency``, ``monetary`` → table of
            ``bin_start``, ``bin_end``, ``customers``.
        segments: One row per RFM segment with sizes, shares and averages.
        rfm_grid: One row per (``r_score``, ``f_score``) with ``customers`` and
            ``avg_monetary``.
        lang: ``"en"`` or ``"zh"``.
    """

    project_name: str
    run: dict[str, Any] = field(default_factory=dict)
    quality_sources: pd.DataFrame = field(default_factory=_empty_frame)
    quality_fields: pd.DataFrame = field(default_factory=_empty_frame)
    quarantine_top: pd.DataFrame = field(default_factory=_empty_frame)
    thresholds: dict[str, float] = field(default_factory=dict)
    identity: dict[str, Any] = field(default_factory=dict)
    rfm_summary: dict[str, float] = field(default_factory=dict)
    rfm_histograms: dict[str, pd.DataFrame] = field(default_factory=dict)
    segments: pd.DataFrame = field(default_factory=_empty_frame)
    rfm_grid: pd.DataFrame = field(default_factory=_empty_frame)
    lang: Literal["en", "zh"] = "en"

    def __post_init__(self) -> None:
        """Check every table's shape at once and raise one error naming each problem."""
        problems: list[str] = []
        if self.lang not in LANGS:
            problems.append(f"lang must be one of {', '.join(LANGS)}; got {self.lang!r}")
        for name, required in REQUIRED_COLUMNS.items():
            problems.extend(_missing_columns(name, getattr(self, name), required))
        for key, table in self.rfm_histograms.items():
            problems.extend(_missing_columns(f"rfm_histograms[{key!r}]", table, HISTOGRAM_COLUMNS))
        if problems:
            raise ReportDataError(
                "ReportData is not usable: "
                + "; ".join(problems)
                + ". Fill the tables as documented in segmint.report.data.ReportData."
            )


def _missing_columns(name: str, table: object, required: tuple[str, ...]) -> list[str]:
    if not isinstance(table, pd.DataFrame):
        return [f"{name} must be a pandas DataFrame, got {type(table).__name__}"]
    if len(table) == 0:  # an empty table is shown as "no data", whatever its columns
        return []
    missing = [column for column in required if column not in table.columns]
    if not missing:
        return []
    return [f"required column {column!r} missing from {name}" for column in missing]
