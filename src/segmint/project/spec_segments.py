"""Project-file section for rule segments, segment families and segment validation.

The lead hooks it into `ProjectSpec` as ``segments: SegmentSettings``; the loader then
reports every problem with the file, the YAML path (``segments.rules[2].name``) and line.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Reserved: the migration view uses it for "not in any segment of the family".
NONE_SEGMENT = "none"
_ID = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SegmentRuleSpec(_Strict):
    """One rule segment: a named boolean rule over traits, scores, tags and layers."""

    name: str = Field(pattern=_ID, description="Lower-case segment id (a-z, 0-9, _).")
    rule: str = Field(
        description="Rule in the tag expression language over the wide customer table: profile "
        "traits, predictive scores, layers (value_layer, rfm_segment) and tag_<name> booleans, "
        "e.g. \"tag_vip and churn_risk == 'high'\"."
    )
    description: str = Field(description="What the segment is for, for the report and API.")
    description_zh: str | None = Field(None, description="Chinese description.")

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value == NONE_SEGMENT:
            raise ValueError(f"'{NONE_SEGMENT}' is reserved (migration uses it for no segment)")
        return value


class SegmentFamily(_Strict):
    """Mutually exclusive segments whose migration between runs is shown (a Sankey chart).

    Either a profile column holding one label per customer (``rfm_segment``, ``value_layer``,
    a cluster column) or a list of rule segments that never share a customer.
    """

    name: str = Field(pattern=_ID, description="Family id, e.g. rfm or value_layer.")
    column: str | None = Field(
        None, description="Profile column with one segment label per customer."
    )
    segments: list[str] | None = Field(
        None, description="Rule segments of the family (they must not overlap)."
    )

    @model_validator(mode="after")
    def _one_source(self) -> SegmentFamily:
        if (self.column is None) == (self.segments is None):
            raise ValueError(f"family {self.name}: give exactly one of column or segments")
        if self.segments is not None and len(self.segments) < 2:
            raise ValueError(f"family {self.name}: list at least two segments")
        return self


def _default_families() -> list[SegmentFamily]:
    return [
        SegmentFamily(name="rfm", column="rfm_segment"),
        SegmentFamily(name="value_layer", column="value_layer"),
    ]


def _default_separation_traits() -> list[str]:
    return ["recency_days", "frequency", "monetary", "aov", "tenure_days"]


class SegmentValidationSettings(_Strict):
    """Thresholds of the per-segment checks (see docs/segments.md)."""

    min_size: int = Field(50, ge=0, description="Fewest members a segment may have.")
    min_share: float = Field(
        0.01, ge=0, le=1, description="Smallest share of the customer base a segment may hold."
    )
    min_separation: float = Field(
        0.2,
        ge=0,
        description="Smallest distance (RMS of standardised mean differences on the "
        "separation traits) to the nearest other segment.",
    )
    min_stability: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Smallest Jaccard similarity of a segment's members with the previous run.",
    )
    max_overlap: float = Field(
        0.6,
        gt=0,
        le=1,
        description="Jaccard similarity of two segments above which a merge is recommended.",
    )
    min_value_index: float = Field(
        0.5,
        ge=0,
        description="Revenue share over member share below which a segment is low value "
        "(0.5 = its members spend half the base average).",
    )
    revenue_coverage: float = Field(
        0.80,
        ge=0,
        le=1,
        description="Share of total revenue the kept segments must carry together.",
    )
    separation_traits: list[str] = Field(
        default_factory=_default_separation_traits,
        min_length=1,
        description="Non-negative numeric traits compared (log1p, then standardised).",
    )


class SegmentSettings(_Strict):
    """Rule segments, migration families and segment validation."""

    rules: list[SegmentRuleSpec] = Field(
        default_factory=list, description="The project's rule segments."
    )
    families: list[SegmentFamily] = Field(
        default_factory=_default_families,
        description="Mutually exclusive segment families whose migration between runs is shown.",
    )
    validation: SegmentValidationSettings = Field(default_factory=SegmentValidationSettings)

    @model_validator(mode="after")
    def _consistent(self) -> SegmentSettings:
        names = [r.name for r in self.rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"segment(s) defined twice: {', '.join(dupes)}")
        families = [f.name for f in self.families]
        dupes = sorted({n for n in families if families.count(n) > 1})
        if dupes:
            raise ValueError(f"segment family(ies) defined twice: {', '.join(dupes)}")
        known = set(names)
        for family in self.families:
            unknown = [s for s in family.segments or [] if s not in known]
            if unknown:
                raise ValueError(
                    f"family {family.name}: unknown segment(s) {', '.join(unknown)}; "
                    f"defined: {', '.join(names) or 'none'}"
                )
        return self
