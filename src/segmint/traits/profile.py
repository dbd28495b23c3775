"""The unified profile: one row per customer_id, every trait in `segmint.traits.catalog`.

Built in two steps so a refresh can be incremental:
- `history_state` aggregates each customer's whole history up to the as-of time (survivorship,
  value, rhythm, preferences, service, NPS). For a customer whose records did not change and
  gained none up to the new as-of time these values stay the same.
- `finalize` adds what moves with the as-of time or depends on the whole base, for everyone:
  ages, recency, windowed counts (from recent records only) and the price index (from
  `current_windows`), RFM scores and value layers (ranks over the whole base).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.datatypes as dtypes
import ibis.expr.types as ir
import pandas as pd

from segmint.project.spec import utc_offset_hours
from segmint.project.spec_profile import LayerSettings, ProfileSettings
from segmint.traits import behaviour
from segmint.traits.basic import customer_records, surviving_attributes
from segmint.traits.catalog import PROFILE_COLUMNS, TRAITS
from segmint.traits.city_tiers import city_tier_table
from segmint.traits.layers import assign_layers
from segmint.traits.relative import price_index
from segmint.traits.rfm import is_paid, recency_days, score_rfm
from segmint.traits.windows import window_counts

# The time column of each entity that carries customer activity.
ACTIVITY_TIME: dict[str, str] = {
    "customers": "registered_at",
    "orders": "ordered_at",
    "events": "timestamp",
    "service_interactions": "opened_at",
    "survey_answers": "answered_at",
    "campaign_responses": "sent_at",
}
AGE_BANDS: tuple[tuple[int, str], ...] = (
    (18, "<18"),
    (25, "18-24"),
    (30, "25-29"),
    (35, "30-34"),
    (40, "35-39"),
    (50, "40-49"),
    (60, "50-59"),
)
_FILL_ZERO = (
    "frequency",
    "monetary",
    "orders_recent",
    "orders_prior",
    "monetary_365d",
    "events_total",
    "interactions_recent",
    "interactions_prior",
    "campaign_touches",
    "service_contacts",
    "service_contacts_90d",
    "categories",
    "brands",
)


@dataclass(frozen=True)
class ProfileInputs:
    """The staged entity tables (by entity name) and the identity map of one run."""

    entities: dict[str, ir.Table]
    identity: ir.Table

    def with_ids(self, entity: str, only: ir.Table | None = None) -> ir.Table | None:
        """An entity's rows with their customer_id (unresolved rows left out)."""
        table = self.entities.get(entity)
        if table is None:
            return None
        ids = self.identity.filter(self.identity.customer_id.notnull()).select(
            "source", "record_key", "customer_id"
        )
        if only is not None:
            ids = ids.join(only.select("customer_id"), "customer_id", how="semi")
        return table.join(ids, ["source", "record_key"])


def _until(table: ir.Table | None, column: str, as_of: dt.datetime) -> ir.Table | None:
    if table is None:
        return None
    return table.filter(table[column] <= ibis.literal(as_of))


def paid_orders(
    inputs: ProfileInputs, as_of: dt.datetime, only: ir.Table | None = None
) -> ir.Table | None:
    """Paid orders up to as-of with customer ids (None without an orders entity)."""
    orders = inputs.with_ids("orders", only)
    if orders is None:
        return None
    return orders.filter(is_paid(orders, as_of)).mutate(amount=orders.amount.cast("float64"))


def history_state(
    inputs: ProfileInputs,
    as_of: dt.datetime,
    settings: ProfileSettings,
    only: ir.Table | None = None,
) -> ir.Table:
    """Whole-history traits per customer (all customers, or only those in `only`)."""
    offset = utc_offset_hours(settings.timezone)
    parts: list[tuple[ir.Table, str | None]] = []  # (part, its first-activity column)
    moments: list[ir.Table] = []
    customers = inputs.with_ids("customers", only)
    if customers is not None:
        records = customer_records(customers, as_of)
        parts.append((surviving_attributes(records, settings), "registered_at"))
    bought = paid_orders(inputs, as_of, only)
    if bought is not None:
        parts.append((behaviour.order_history(bought, offset), "first_order_at"))
        moments.append(bought.select("customer_id", at=bought.ordered_at))
        items = inputs.entities.get("order_items")
        if items is not None:
            parts.append((behaviour.item_preferences(items, bought), None))
    events = _until(inputs.with_ids("events", only), "timestamp", as_of)
    if events is not None:
        parts.append((behaviour.event_history(events, settings.deal_events), "_first_event_at"))
        if bought is not None:
            research = behaviour.research_history(
                bought, events, settings.research_events, settings.research_days
            )
            parts.append((research, None))
        moments.append(events.select("customer_id", at=events.timestamp))
    tickets = _until(inputs.with_ids("service_interactions", only), "opened_at", as_of)
    if tickets is not None:
        parts.append((behaviour.service_history(tickets), "_first_ticket_at"))
    answers = _until(inputs.with_ids("survey_answers", only), "answered_at", as_of)
    if answers is not None:
        parts.append((behaviour.latest_nps(answers), "_first_answer_at"))
    touches = _until(inputs.with_ids("campaign_responses", only), "sent_at", as_of)
    if touches is not None:
        parts.append((behaviour.campaign_history(touches), "_first_touch_at"))
    if moments:
        parts.append((behaviour.activity_clock(ibis.union(*moments), offset), None))
    if not parts:
        return _empty_state()

    state = behaviour.join_customers([part for part, _ in parts])
    firsts = [state[col] for _, col in parts if col is not None]
    state = state.mutate(first_seen_at=ibis.least(*firsts) if len(firsts) > 1 else firsts[0])
    return state.drop(*(c for c in state.columns if c.startswith("_")))


def _empty_state() -> ir.Table:
    return ibis.memtable(pd.DataFrame({"customer_id": pd.Series([], dtype=object)}))


def current_windows(
    inputs: ProfileInputs, as_of: dt.datetime, settings: ProfileSettings
) -> ir.Table | None:
    """What every run computes for everyone before `finalize`: windowed counts (customers
    with recent activity) and the traits relative to the whole base (buyers of priced items).
    """
    bought = paid_orders(inputs, as_of)
    if bought is None:
        return None
    events = _until(inputs.with_ids("events"), "timestamp", as_of)
    tickets = _until(inputs.with_ids("service_interactions"), "opened_at", as_of)
    windows = window_counts(bought, events, tickets, as_of, settings.window_days)
    items = inputs.entities.get("order_items")
    if items is None:
        return windows
    return behaviour.join_customers([windows, price_index(items, bought)])


def finalize(
    state: ir.Table,
    windows: ir.Table | None,
    as_of: dt.datetime,
    settings: ProfileSettings,
    layers: LayerSettings,
    rfm_bins: int,
) -> ir.Table:
    """The published profile: state + as-of-relative traits + RFM + value layer."""
    profile = state
    if windows is not None:
        profile = profile.left_join(windows, "customer_id").drop("customer_id_right")
    profile = _add_missing(profile, exclude={"value_layer"})
    profile = profile.mutate(
        **{c: profile[c].fill_null(0) for c in _FILL_ZERO},
    )
    age = _age(profile.birth_date, as_of)
    trend_total = profile.interactions_recent + profile.interactions_prior
    profile = profile.mutate(
        age=age,
        age_band=_age_band(age),
        is_b2b=profile.customer_type == "b2b",
        tenure_days=recency_days(profile.first_seen_at, as_of),
        interaction_trend=ibis.ifelse(
            trend_total > 0,
            (profile.interactions_recent - profile.interactions_prior).cast("float64")
            / trend_total.cast("float64"),
            0.0,
        ),
    )
    tiers = city_tier_table(settings.city_tiers)
    tier_table = ibis.memtable(
        pd.DataFrame({"city": list(tiers), "_tier": list(tiers.values())}).astype(
            {"_tier": "int64"}
        )
    )
    profile = profile.drop("city_tier").left_join(tier_table, "city").drop("city_right")
    profile = profile.rename(city_tier="_tier")
    buyers = profile.filter(profile.frequency > 0).select(
        "customer_id", "last_order_at", "frequency", "monetary"
    )
    scored = score_rfm(buyers, as_of, rfm_bins)
    scored = scored.select(
        "customer_id",
        "r_score",
        "f_score",
        "m_score",
        rfm_score=scored.r_score + scored.f_score + scored.m_score,
        rfm_segment=scored.segment,
    )
    profile = (
        profile.drop("r_score", "f_score", "m_score", "rfm_score", "rfm_segment")
        .left_join(scored, "customer_id")
        .drop("customer_id_right")
    )
    profile = profile.mutate(recency_days=recency_days(profile.last_order_at, as_of))
    profile = assign_layers(profile, layers, as_of)
    return profile.select(*PROFILE_COLUMNS)


def _add_missing(profile: ir.Table, exclude: set[str]) -> ir.Table:
    """Typed NULL columns for traits the sources cannot provide (no events source …)."""
    missing = {
        t.name: ibis.null(dtypes.dtype(t.dtype))
        for t in TRAITS
        if t.name not in profile.columns and t.name not in exclude
    }
    return profile.mutate(**missing) if missing else profile


def _age(birth: ir.DateValue, as_of: dt.datetime) -> ir.IntegerValue:
    """Whole years from birth to the as-of date (the birthday itself counts)."""
    day = as_of.date()
    before_birthday = (birth.month() > day.month) | (
        (birth.month() == day.month) & (birth.day() > day.day)
    )
    return (ibis.literal(day.year) - birth.year() - before_birthday.cast("int64")).cast("int64")


def _age_band(age: ir.IntegerValue) -> ir.StringValue:
    return ibis.cases(
        (age.isnull(), ibis.null("string")),
        *((age < bound, ibis.literal(label)) for bound, label in AGE_BANDS),
        else_=ibis.literal("60+"),
    )
