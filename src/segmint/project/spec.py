"""The typed model of `segmint.yml`.

Every model forbids unknown keys so a typo is an error, not a silently ignored setting.
Loading (YAML with line numbers, friendly messages) lives in `segmint.project.loader`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import zoneinfo
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from segmint.access.settings import AccessSettings
from segmint.project.entities import ENTITIES, ColumnType
from segmint.project.spec_clustering import ClusteringSettings
from segmint.project.spec_predict import PredictSettings
from segmint.project.spec_profile import LayerSettings, ProfileSettings, TagSettings
from segmint.project.spec_segments import SegmentSettings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DuckDBWarehouse(_Strict):
    """The embedded default: one DuckDB file."""

    engine: Literal["duckdb"] = "duckdb"
    path: str = Field("warehouse.duckdb", description="DuckDB file, relative to the project.")
    threads: int | None = Field(None, ge=1, description="DuckDB threads (default: all cores).")
    memory_limit: str | None = Field(None, description="DuckDB memory limit, e.g. '8GB'.")


class SparkWarehouse(_Strict):
    """Apache Spark: local mode or a cluster master URL."""

    engine: Literal["spark"]
    master: str = Field("local[2]", description="Spark master URL, e.g. local[2], spark://h:7077.")
    warehouse_dir: str = Field("spark-warehouse", description="spark.sql.warehouse.dir.")
    database: str = Field("segmint", description="Spark database that holds segmint's tables.")
    metastore_dir: str | None = Field(
        "spark-metastore",
        description="Folder of an embedded (Derby) Hive metastore so tables outlive the "
        "process; null keeps the catalog in memory (use conf for a shared metastore).",
    )
    conf: dict[str, str] = Field(default_factory=dict, description="Extra Spark settings.")


class IbisWarehouse(_Strict):
    """Any other Ibis backend, by connection URL (postgres://, snowflake://, bigquery://...)."""

    engine: Literal["ibis"]
    url: str = Field(description="An Ibis connection URL.")


Warehouse = Annotated[
    DuckDBWarehouse | SparkWarehouse | IbisWarehouse, Field(discriminator="engine")
]


class QualityThresholds(_Strict):
    """Pass/fail thresholds for the data-quality report."""

    completeness_min: float = Field(0.95, ge=0, le=1, description="Share of non-empty values.")
    validity_min: float = Field(0.98, ge=0, le=1, description="Share of values passing rules.")
    freshness_max_hours: float = Field(
        24, gt=0, description="Newest record may be at most this old at the run's as-of time."
    )
    future_tolerance_hours: float = Field(
        24, ge=0, description="Timestamps this far past the as-of time are rejected."
    )
    max_age_years: int = Field(120, ge=1, description="Birth dates older than this are invalid.")


class ColumnMapping(_Strict):
    """How one source column becomes one canonical column."""

    source: str = Field(alias="from", description="The column's name in the source.")
    values: dict[str, str] = Field(
        default_factory=dict, description="Recode source values (e.g. 男: M) before validation."
    )
    on_invalid: Literal["quarantine", "null"] = Field(
        "quarantine",
        description="quarantine: reject the row; null: keep the row, blank the field.",
    )
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


SourceFormat = Literal["csv", "tsv", "parquet", "jsonl", "excel"]
Encoding = Literal["auto", "utf-8", "utf-8-sig", "gbk", "gb18030"]

_FORMAT_BY_SUFFIX: dict[str, SourceFormat] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".xlsx": "excel",
    ".xls": "excel",
}


class Source(_Strict):
    """One input: files (a path or glob) or a warehouse table, mapped onto an entity."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Lower-case id of the source.")
    entity: str = Field(description="Canonical entity: " + ", ".join(ENTITIES))
    path: str | None = Field(None, description="File path or glob, relative to the project.")
    table: str | None = Field(None, description="Warehouse table to read instead of files.")
    format: SourceFormat | None = Field(None, description="Default: from the file extension.")
    encoding: Encoding = Field("auto", description="Text encoding; auto detects BOM/UTF-8/GBK.")
    delimiter: str | None = Field(None, description="Field delimiter (csv: ',', tsv: tab).")
    sheet: str | None = Field(None, description="Excel sheet name (default: the first).")
    timezone: str = Field("UTC", description="Zone of timestamps without an explicit offset.")
    columns: dict[str, str | ColumnMapping] = Field(
        description="Canonical column -> source column (or a mapping object)."
    )

    @field_validator("entity")
    @classmethod
    def _known_entity(cls, value: str) -> str:
        if value not in ENTITIES:
            raise ValueError(f"unknown entity {value!r}; allowed: {', '.join(ENTITIES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _fixed_offset_zone(cls, value: str) -> str:
        utc_offset_hours(value)  # raises ValueError with the reason
        return value

    @model_validator(mode="after")
    def _check(self) -> Source:
        if (self.path is None) == (self.table is None):
            raise ValueError("give exactly one of 'path' or 'table'")
        entity = ENTITIES[self.entity]
        unknown = [c for c in self.columns if c not in entity.columns_by_name]
        if unknown:
            hints = [
                f"{name!r} (did you mean {guess[0]!r}?)"
                if (guess := difflib.get_close_matches(name, list(entity.columns_by_name), n=1))
                else repr(name)
                for name in unknown
            ]
            raise ValueError(
                f"unknown column(s) {', '.join(hints)} for entity {self.entity}; "
                f"allowed: {', '.join(entity.columns_by_name)}"
            )
        missing = [c.name for c in entity.columns if c.required and c.name not in self.columns]
        if missing:
            raise ValueError(
                f"entity {self.entity} needs column(s) {', '.join(missing)}; map them in 'columns'"
            )
        if self.entity != "customers" and self.entity != "order_items":
            ids = [c for c in self.columns if entity.columns_by_name[c].identifier]
            if not ids:
                raise ValueError(
                    f"a {self.entity} source must map at least one identifier column "
                    "(member_id, phone, email, device_id, wechat_openid)"
                )
        for canonical, mapping in self.columns.items():
            col = entity.columns_by_name[canonical]
            if isinstance(mapping, ColumnMapping) and mapping.values and col.enum_values:
                bad = sorted(set(mapping.values.values()) - set(col.enum_values))
                if bad:
                    raise ValueError(
                        f"column {canonical}: recoded value(s) {', '.join(bad)} are not in "
                        f"{', '.join(col.enum_values)}"
                    )
            if col.type is ColumnType.ENUM and not col.enum_values:  # pragma: no cover
                raise ValueError(f"column {canonical} has no allowed values")
        return self

    def mapping(self, canonical: str) -> ColumnMapping:
        """The mapping of one canonical column, with shorthand strings expanded."""
        value = self.columns[canonical]
        if isinstance(value, str):
            return ColumnMapping.model_validate({"from": value})
        return value

    def resolved_format(self) -> SourceFormat:
        """The declared format, or the one the path's extension implies."""
        if self.format is not None:
            return self.format
        if self.path is None:
            return "parquet"
        suffix = Path(self.path.replace("*", "x")).suffix.lower()
        if suffix not in _FORMAT_BY_SUFFIX:
            raise ValueError(f"cannot tell the format of {self.path!r}; set 'format'")
        return _FORMAT_BY_SUFFIX[suffix]


IdentifierKind = Literal["member_id", "phone", "email", "device_id", "wechat_openid"]
DEFAULT_IDENTIFIERS: tuple[IdentifierKind, ...] = ("member_id", "phone", "email")


STRONG_IDENTIFIERS: tuple[IdentifierKind, ...] = ("member_id", "phone", "email", "wechat_openid")


class IdentifierRule(_Strict):
    """How far one identifier type is trusted to link records."""

    max_partners: int | None = Field(
        None,
        ge=1,
        description="A value seen with more distinct strong identifiers (member id, phone, "
        "e-mail, WeChat id) of any one other type than this is a hub and links nothing. "
        "Default: identity.max_partners_per_identifier.",
    )
    max_member_ids: int | None = Field(
        None,
        ge=1,
        description="A value seen with more distinct member ids than this is a hub (a family "
        "iPad, a phone a couple shares). Default: no limit of its own.",
    )


def _default_rules() -> dict[IdentifierKind, IdentifierRule]:
    # Devices are weak: one person's phone or tablet logs in as one member. A device seen
    # with two members is a family or store device and must not glue them together.
    return {"device_id": IdentifierRule(max_partners=4, max_member_ids=1)}


class ProbabilisticMatching(_Strict):
    """Splink matching of customer records that share no identifier (typos, old phones)."""

    enabled: bool = Field(True, description="Run probabilistic matching after stitching.")
    threshold: float = Field(
        0.8, gt=0, lt=1, description="Match probability at or above which records link."
    )
    review_low: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="Pairs between this and the threshold go to the clerical-review table.",
    )
    seed: int = Field(42, description="Seed for Splink's random pair sampling.")
    max_pairs: int = Field(
        2_000_000, ge=1000, description="Record pairs sampled to estimate u probabilities."
    )
    max_training_pairs: int = Field(
        2_000_000,
        ge=1000,
        description="A training rule generating more pairs than this is thinned to about this "
        "many for expectation maximisation (matches and non-matches alike).",
    )
    min_records: int = Field(
        500,
        ge=2,
        description="Fewer customer records than this are too few to train a model on: the "
        "step is skipped (and says so in the run) instead of guessing.",
    )

    @model_validator(mode="after")
    def _review_below_threshold(self) -> ProbabilisticMatching:
        if self.review_low >= self.threshold:
            raise ValueError("review_low must be below threshold")
        return self


class IdentitySettings(_Strict):
    """Identity: which identifiers link records, their rules, and the merge guards."""

    identifiers: list[IdentifierKind] = Field(
        default_factory=lambda: list(DEFAULT_IDENTIFIERS),
        description="Identifier types that link records, strongest first. When a customer "
        "holds too many member ids, links of the weakest type are cut first.",
    )
    rules: dict[IdentifierKind, IdentifierRule] = Field(
        default_factory=_default_rules,
        description="Per identifier type: hub limits (see identifier rules).",
    )
    max_partners_per_identifier: int = Field(
        20,
        ge=1,
        description="An identifier value seen with more distinct other identifiers than this "
        "is a hub (a store phone, a placeholder, a shared device) and links nothing.",
    )
    max_member_ids_per_customer: int = Field(
        3,
        ge=1,
        description="A customer may hold at most this many member ids; larger components "
        "are split on their weakest links and reported.",
    )
    placeholders: bool = Field(
        True,
        description="Treat obvious placeholders (13800000000, 1 and ten equal digits, "
        "test@…, all-zero device ids) as hubs; they are listed with the others.",
    )
    deny: list[str] = Field(
        default_factory=lambda: [
            "+8613800000000",
            "+8613800138000",
            "+8618888888888",
            "+8613888888888",
            "+8600000000000",
            "test@test.com",
            "test@example.com",
            "none@none.com",
            "0",
            "000000",
            "unknown",
        ],
        description="Normalised identifier values that never link records.",
    )
    probabilistic: ProbabilisticMatching = Field(
        default_factory=lambda: ProbabilisticMatching(),
        description="Probabilistic (Splink) matching of records with no shared identifier.",
    )
    max_iterations: int = Field(50, ge=1, description="Label-propagation round limit.")

    def rule(self, kind: str) -> IdentifierRule:
        """The rule for one identifier type, with the project-wide defaults filled in."""
        rule = self.rules.get(kind)  # type: ignore[call-overload]
        return IdentifierRule(
            max_partners=(rule.max_partners if rule and rule.max_partners else None)
            or self.max_partners_per_identifier,
            max_member_ids=rule.max_member_ids if rule else None,
        )


class RFMSettings(_Strict):
    """RFM scoring."""

    bins: int = Field(5, ge=2, le=10, description="Score bins (quintiles by default).")


class ReportSettings(_Strict):
    """The HTML report."""

    path: str = Field("report.html", description="Output file, relative to the project.")
    lang: Literal["en", "zh"] = Field("en", description="Report language.")


class ProjectSpec(_Strict):
    """The whole project file."""

    name: str = Field(description="Project name.")
    as_of: dt.datetime | None = Field(
        None, description="Analysis time (UTC). Default: the run's start time."
    )
    warehouse: Warehouse = Field(default_factory=DuckDBWarehouse)
    quality: QualityThresholds = Field(default_factory=QualityThresholds)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    rfm: RFMSettings = Field(default_factory=RFMSettings)
    profile: ProfileSettings = Field(default_factory=ProfileSettings)
    tags: TagSettings = Field(default_factory=TagSettings)
    layers: LayerSettings = Field(default_factory=LayerSettings)
    predict: PredictSettings = Field(default_factory=PredictSettings)
    clustering: ClusteringSettings = Field(default_factory=ClusteringSettings)
    segments: SegmentSettings = Field(default_factory=SegmentSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    sources: list[Source] = Field(min_length=1, description="Inputs, mapped onto entities.")

    @model_validator(mode="after")
    def _unique_sources(self) -> ProjectSpec:
        seen: set[str] = set()
        for source in self.sources:
            if source.name in seen:
                raise ValueError(f"source name {source.name!r} is used twice")
            seen.add(source.name)
        return self


def utc_offset_hours(zone: str) -> float:
    """The fixed UTC offset of `zone` in hours.

    Timestamps are stored in UTC. Zones with daylight-saving time would need a per-row offset
    that not every engine computes the same way, so only fixed-offset zones (UTC+08:00,
    Asia/Shanghai, Asia/Tokyo ...) are accepted for now.
    """
    text = zone.strip()
    upper = text.upper()
    if upper in ("UTC", "Z", "GMT"):
        return 0.0
    for prefix in ("UTC", "GMT", ""):
        rest = upper.removeprefix(prefix)
        if rest[:1] in "+-" and rest[1:2].isdigit():
            sign = -1 if rest[0] == "-" else 1
            hh, _, mm = rest[1:].partition(":")
            try:
                return sign * (int(hh) + int(mm or 0) / 60)
            except ValueError:
                break
    try:
        tz = zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {zone!r}; use an IANA name or UTC+08:00") from exc
    offsets = {
        tz.utcoffset(dt.datetime(year, month, 1))
        for year in (2000, 2020, 2025)
        for month in (1, 4, 7, 10)
    }
    if len(offsets) != 1:
        raise ValueError(
            f"time zone {zone!r} observes daylight-saving time; give a fixed offset such as "
            "UTC-05:00 (DST zones are not supported yet)"
        )
    offset = offsets.pop()
    assert offset is not None
    return offset.total_seconds() / 3600
