"""The profile's traits: name, group, sensitivity and meaning of every column in `profiles`.

One place for what a trait is, read by the profile builder (column order), the access module
(sensitivity), the report (labels) and the docs (a test keeps docs/data-model.md in step).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TraitGroup = Literal["identity", "basic", "value", "behaviour", "engagement", "service", "rfm"]
Level = Literal["public", "internal", "sensitive", "pii"]


@dataclass(frozen=True)
class Trait:
    """One profile column."""

    name: str
    dtype: str  # Ibis type name
    group: TraitGroup
    sensitivity: Level
    description: str


def _t(name: str, dtype: str, group: TraitGroup, sensitivity: Level, description: str) -> Trait:
    return Trait(name, dtype, group, sensitivity, description)


TRAITS: tuple[Trait, ...] = (
    _t("customer_id", "string", "identity", "internal", "Unified customer id."),
    _t("member_id", "string", "basic", "pii", "Member id (earliest registered record)."),
    _t("name", "string", "basic", "pii", "Name (survivorship rule: most recent)."),
    _t("phone", "string", "basic", "pii", "Mobile phone, E.164."),
    _t("email", "string", "basic", "pii", "E-mail address."),
    _t("gender", "string", "basic", "sensitive", "F, M or U."),
    _t("birth_date", "date", "basic", "pii", "Date of birth."),
    _t("age", "int64", "basic", "sensitive", "Age in whole years at the as-of date."),
    _t("age_band", "string", "basic", "sensitive", "<18, 18-24, 25-29, 30-34, 35-39 … 60+."),
    _t("province", "string", "basic", "internal", "Province."),
    _t("city", "string", "basic", "internal", "City."),
    _t("city_tier", "int64", "basic", "internal", "1 = tier-1 … 5; null when unknown."),
    _t("occupation", "string", "basic", "sensitive", "Occupation code, where known."),
    _t("income_band", "string", "basic", "sensitive", "Income band, where known."),
    _t("customer_type", "string", "basic", "internal", "b2c or b2b."),
    _t("is_b2b", "boolean", "basic", "internal", "True for business customers."),
    _t("company_name", "string", "basic", "internal", "B2B: company."),
    _t("industry", "string", "basic", "internal", "B2B: industry."),
    _t("company_size", "int64", "basic", "internal", "B2B: employees."),
    _t("registered_at", "timestamp", "basic", "internal", "Earliest membership date."),
    _t("customer_records", "int64", "identity", "internal", "Customer (CRM) records merged."),
    _t("first_seen_at", "timestamp", "basic", "internal", "First record of any kind."),
    _t("tenure_days", "int64", "basic", "internal", "Days since first seen."),
    _t("first_order_at", "timestamp", "value", "internal", "First paid order."),
    _t("last_order_at", "timestamp", "value", "internal", "Latest paid order."),
    _t("recency_days", "int64", "value", "internal", "Days since the latest paid order."),
    _t("frequency", "int64", "value", "internal", "Paid orders."),
    _t("monetary", "float64", "value", "internal", "Total paid amount."),
    _t("aov", "float64", "value", "internal", "Average order value."),
    _t(
        "price_index",
        "float64",
        "value",
        "internal",
        "Mean within-category price percentile of paid order lines (0 cheapest, 1 dearest).",
    ),
    _t(
        "monetary_365d",
        "float64",
        "value",
        "internal",
        "Paid amount in the last 365 days (for B2B: annual procurement).",
    ),
    _t("orders_recent", "int64", "value", "internal", "Paid orders in the last window."),
    _t("orders_prior", "int64", "value", "internal", "Paid orders in the window before."),
    _t(
        "interpurchase_days_mean",
        "float64",
        "behaviour",
        "internal",
        "Mean days between consecutive orders.",
    ),
    _t(
        "interpurchase_days_std",
        "float64",
        "behaviour",
        "internal",
        "Sample standard deviation of days between orders.",
    ),
    _t("top_category", "string", "behaviour", "internal", "Category with the most spend."),
    _t(
        "top_category_share",
        "float64",
        "behaviour",
        "internal",
        "Share of item spend in the top category.",
    ),
    _t("categories", "int64", "behaviour", "internal", "Distinct categories bought."),
    _t("top_brand", "string", "behaviour", "internal", "Brand with the most spend."),
    _t("brands", "int64", "behaviour", "internal", "Distinct brands bought."),
    _t(
        "online_share",
        "float64",
        "behaviour",
        "internal",
        "Share of orders online (web, app, mini-program, marketplace).",
    ),
    _t("app_share", "float64", "behaviour", "internal", "Share of orders in the app."),
    _t(
        "miniprogram_share",
        "float64",
        "behaviour",
        "internal",
        "Share of orders in the mini-program.",
    ),
    _t("offline_share", "float64", "behaviour", "internal", "Share of orders offline (in store)."),
    _t("preferred_channel", "string", "behaviour", "internal", "Sales channel used most."),
    _t("discount_share", "float64", "behaviour", "internal", "Share of orders with a discount."),
    _t(
        "weekend_share",
        "float64",
        "behaviour",
        "internal",
        "Share of orders on Saturday or Sunday (local time).",
    ),
    _t(
        "active_hour",
        "int64",
        "behaviour",
        "internal",
        "Local hour with the most orders and events.",
    ),
    _t(
        "active_weekday",
        "int64",
        "behaviour",
        "internal",
        "Local weekday with the most orders and events (0 = Monday).",
    ),
    _t("events_total", "int64", "engagement", "internal", "Behaviour events up to as-of."),
    _t(
        "deal_event_share",
        "float64",
        "engagement",
        "internal",
        "Share of named events that are deal events (profile.deal_events); null without any.",
    ),
    _t(
        "research_share",
        "float64",
        "engagement",
        "internal",
        "Share of paid orders with a research event (profile.research_events) in the "
        "research_days to an hour before; null without any research event.",
    ),
    _t("last_event_at", "timestamp", "engagement", "internal", "Latest behaviour event."),
    _t("interactions_recent", "int64", "engagement", "internal", "Events in the last window."),
    _t("interactions_prior", "int64", "engagement", "internal", "Events in the window before."),
    _t(
        "interaction_trend",
        "float64",
        "engagement",
        "internal",
        "(recent - prior) / (recent + prior), -1 … 1; 0 when both are 0.",
    ),
    _t("campaign_touches", "int64", "engagement", "internal", "Campaign messages sent."),
    _t(
        "campaign_response_rate",
        "float64",
        "engagement",
        "internal",
        "Share of touches opened, clicked or converted.",
    ),
    _t(
        "preferred_contact_channel",
        "string",
        "engagement",
        "internal",
        "Campaign channel with the most responses.",
    ),
    _t("service_contacts", "int64", "service", "internal", "Service tickets up to as-of."),
    _t("service_contacts_90d", "int64", "service", "internal", "Service tickets, last 90 days."),
    _t("satisfaction_mean", "float64", "service", "internal", "Mean ticket satisfaction, 1-5."),
    _t("nps_latest", "int64", "service", "internal", "Latest NPS answer, 0-10."),
    _t("nps_category", "string", "service", "internal", "promoter, passive or detractor."),
    _t("r_score", "int64", "rfm", "internal", "Recency score."),
    _t("f_score", "int64", "rfm", "internal", "Frequency score."),
    _t("m_score", "int64", "rfm", "internal", "Monetary score."),
    _t("rfm_score", "int64", "rfm", "internal", "r + f + m."),
    _t("rfm_segment", "string", "rfm", "internal", "Named RFM segment."),
    _t(
        "value_layer",
        "string",
        "rfm",
        "internal",
        "high_value, churn_warning, potential, basic (project-configurable).",
    ),
)

TRAITS_BY_NAME: dict[str, Trait] = {t.name: t for t in TRAITS}
PROFILE_COLUMNS: tuple[str, ...] = tuple(t.name for t in TRAITS)


def trait_sensitivity() -> dict[str, Level]:
    """Column → sensitivity, for the access module."""
    return {t.name: t.sensitivity for t in TRAITS}
