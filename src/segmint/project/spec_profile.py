"""Project-file sections for profiles, tags and value layers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Sensitivity = Literal["public", "internal", "sensitive", "pii"]
TagType = Literal["basic", "behaviour", "value", "need", "predictive"]
Refresh = Literal["each_run", "daily", "weekly", "monthly"]
SurvivorshipRuleName = Literal["most_recent", "source_priority", "most_frequent", "earliest"]

# Fields of the unified profile that come from customer records, and their default rule.
SURVIVING_FIELDS: dict[str, SurvivorshipRuleName] = {
    "name": "most_recent",
    "gender": "most_frequent",
    "birth_date": "most_frequent",
    "phone": "most_recent",
    "email": "most_recent",
    "member_id": "earliest",
    "province": "most_recent",
    "city": "most_recent",
    "customer_type": "most_frequent",
    "company_name": "most_recent",
    "industry": "most_recent",
    "company_size": "most_recent",
    "occupation": "most_recent",
    "income_band": "most_recent",
}
# Segment's e-commerce spec names for coupon and promotion events.
DEAL_EVENTS: tuple[str, ...] = (
    "Coupon Entered",
    "Coupon Applied",
    "Coupon Denied",
    "Promotion Viewed",
    "Promotion Clicked",
)
# Segment's e-commerce spec names for browsing: looking at, searching for and shortlisting
# products. Checkout events are left out: they belong to the purchase itself.
RESEARCH_EVENTS: tuple[str, ...] = (
    "Product Viewed",
    "Product List Viewed",
    "Products Searched",
    "Product Added",
    "Product Added to Wishlist",
    "Cart Viewed",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ProfileSettings(_Strict):
    """How the unified profile is built."""

    timezone: str = Field(
        "UTC",
        description="Zone for local-time traits (active hour, weekday, weekend share), e.g. "
        "Asia/Shanghai or UTC+8. Timestamps are stored in UTC.",
    )
    source_priority: list[str] = Field(
        default_factory=list,
        description="Customer sources, most trusted first; breaks ties and drives the "
        "source_priority rule. Sources not listed come after, by name.",
    )
    survivorship: dict[str, SurvivorshipRuleName] = Field(
        default_factory=dict,
        description="Per field, which record's value survives: most_recent (by updated_at), "
        "source_priority, most_frequent or earliest (by registered_at). Fields: "
        + ", ".join(SURVIVING_FIELDS),
    )
    city_tiers: dict[str, int] = Field(
        default_factory=dict,
        description="Extra or corrected city → tier (1-5) entries on top of the built-in list.",
    )
    window_days: int = Field(
        30, ge=1, le=365, description="Window for recent counts and their trend (this vs prior)."
    )
    deal_events: list[str] = Field(
        default_factory=lambda: list(DEAL_EVENTS),
        description="Event names (the events' `event` column) that show interest in deals; "
        "deal_event_share is their share of a customer's named events. Default: Segment's "
        "coupon and promotion events.",
    )
    research_events: list[str] = Field(
        default_factory=lambda: list(RESEARCH_EVENTS),
        description="Event names that count as researching a purchase; research_share is the "
        "share of a customer's paid orders with one of them in the `research_days` before "
        "(at least an hour before, so the purchase session itself does not count). Default: "
        "Segment's product, search, cart and wishlist events.",
    )
    research_days: int = Field(
        14, ge=1, le=90, description="How far before an order research counts (days)."
    )
    incremental: bool = Field(
        True,
        description="Recompute only customers with new or changed data since the last run "
        "(results equal a full rebuild).",
    )

    @model_validator(mode="after")
    def _known_fields(self) -> ProfileSettings:
        unknown = sorted(set(self.survivorship) - set(SURVIVING_FIELDS))
        if unknown:
            raise ValueError(
                f"survivorship: unknown field(s) {', '.join(unknown)}; allowed: "
                + ", ".join(SURVIVING_FIELDS)
            )
        bad = sorted(city for city, tier in self.city_tiers.items() if not 1 <= tier <= 5)
        if bad:
            raise ValueError(f"city_tiers: tiers must be 1-5 (bad: {', '.join(bad)})")
        return self

    def rule(self, field: str) -> SurvivorshipRuleName:
        """The survivorship rule of one profile field."""
        return self.survivorship.get(field, SURVIVING_FIELDS[field])


class TagSpec(_Strict):
    """One tag: a named, owned, classified rule over profile traits."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Lower-case tag id.")
    type: TagType = Field(description="basic, behaviour, value, need or predictive.")
    description: str = Field(description="What the tag means, for the catalogue.")
    label_zh: str | None = Field(None, description="Chinese display name.")
    owner: str = Field("marketing", description="Team or person answerable for the tag.")
    sensitivity: Sensitivity = Field("internal", description="public, internal, sensitive, pii.")
    refresh: Refresh = Field("each_run", description="each_run, daily, weekly or monthly.")
    rule: str | None = Field(None, description="Rule in the tag expression language.")
    plugin: str | None = Field(
        None,
        description="module:function returning an Ibis boolean for (profile, as_of); for the "
        "rare tag a rule cannot express. The module is looked up next to segmint.yml first.",
    )

    @model_validator(mode="after")
    def _rule_or_plugin(self) -> TagSpec:
        if (self.rule is None) == (self.plugin is None):
            raise ValueError(f"tag {self.name}: give exactly one of rule or plugin")
        if self.plugin is not None and ":" not in self.plugin:
            raise ValueError(f"tag {self.name}: plugin must look like module:function")
        return self


class TagSettings(_Strict):
    """The tag catalogue: built-in defaults plus the project's own tags."""

    defaults: bool = Field(True, description="Include segmint's default catalogue.")
    disable: list[str] = Field(default_factory=list, description="Default tags to leave out.")
    definitions: list[TagSpec] = Field(
        default_factory=list, description="The project's tags (a name here replaces a default)."
    )

    @model_validator(mode="after")
    def _unique(self) -> TagSettings:
        names = [t.name for t in self.definitions]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"tag(s) defined twice: {', '.join(dupes)}")
        return self


class LayerSpec(_Strict):
    """One value layer; customers take the first layer whose conditions they meet."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Layer id.")
    label: str | None = Field(None, description="English display name.")
    label_zh: str | None = Field(None, description="Chinese display name.")
    top_share: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Only customers within this top share of buyers by the layer score "
        "(cumulative over the whole base, e.g. 0.2 = top 20 %).",
    )
    rule: str | None = Field(None, description="Extra condition (tag expression language).")


def _default_layers() -> list[LayerSpec]:
    return [
        LayerSpec(
            name="high_value",
            label="High value",
            label_zh="高价值",
            top_share=0.2,
            rule="frequency >= 2",
        ),
        LayerSpec(
            name="churn_warning",
            label="Churn warning",
            label_zh="流失预警",
            # bought before, not in the last 30 days (nor so long ago it is lost), and
            # engaging less this window than the one before
            rule="frequency >= 2 and recency_days between 31 and 180 and interaction_trend < 0",
        ),
        LayerSpec(
            name="potential",
            label="Potential",
            label_zh="潜力",
            top_share=0.55,
            rule="frequency >= 2 or categories >= 2",
        ),
        LayerSpec(name="basic", label="Basic", label_zh="基础", rule=None),
    ]


class LayerSettings(_Strict):
    """Value layering of buying customers."""

    score: Literal["rfm_score", "monetary", "frequency"] = Field(
        "rfm_score", description="Trait that ranks customers for top_share."
    )
    definitions: list[LayerSpec] = Field(
        default_factory=_default_layers,
        description="Layers in priority order; the last should catch everyone left.",
    )
