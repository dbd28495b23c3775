"""A straightforward pandas version of segmint's unified profile and tags, for the bench.

What a competent analyst would write to get the same traits and tags from the warehouse's
`customers`, `orders` and `identity_map` tables: load them into pandas (through Arrow), then
`merge`, `groupby().agg`, sort + `drop_duplicates` for the modes, `rank` for RFM, and each
tag's rule as a boolean mask with `DataFrame.eval` (the two rule-language words pandas
does not know, `within` and `between`, are rewritten first).

It covers the traits the bench's sources (CRM members, online and store orders) can
produce; the others need events, order items, service tickets, surveys or campaign data,
which the bench leaves out, so segmint has them empty or zero. The tags and value layers
that read only covered traits are evaluated; the rest are left out on both sides
(`SKIPPED_TAGS`). Only segmint's defaults are implemented: a project that changes the
survivorship rules, the city tiers, the value layers or adds its own tags is refused.

Like `pandas_impl.py` this restates what it must agree on with segmint (survivorship
defaults, online channels, age bands, layers, tag rules) as plain data;
`tests/test_bench_profiles.py` checks it against segmint's definitions. The city-tier list
is reference data and is read from segmint, as an analyst would read a lookup table.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import yaml

from common import DEFAULT_SEGMENT, SEGMENT_GRID, cpu_seconds_self, utc_offset_minutes

#: Survivorship: which customer record's value wins, per field (segmint's defaults).
SURVIVING_FIELDS: dict[str, str] = {
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
ONLINE_CHANNELS = ("online", "app", "miniprogram", "marketplace")
#: Trait -> the channel whose share of orders it is.
CHANNEL_SHARES: dict[str, str] = {
    "app_share": "app",
    "miniprogram_share": "miniprogram",
    "offline_share": "offline",
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
OLDEST_BAND = "60+"
YEAR_DAYS = 365
#: The order columns the traits read.
ORDER_COLUMNS = [
    "source",
    "record_key",
    "order_id",
    "ordered_at",
    "amount",
    "discount_amount",
    "channel",
    "store_id",
]
#: A record with no registration time sorts after every other in "earliest".
FAR_FUTURE = pd.Timestamp("9999-01-01")

#: Traits with no source in the bench project: segmint leaves them NULL ...
NULL_WITHOUT_SOURCE = (
    "occupation",
    "income_band",
    "price_index",
    "top_category",
    "top_category_share",
    "top_brand",
    "deal_event_share",
    "research_share",
    "last_event_at",
    "campaign_response_rate",
    "preferred_contact_channel",
    "satisfaction_mean",
    "nps_latest",
    "nps_category",
)
#: ... or fills them with zero (the value layers read two of them).
ZERO_WITHOUT_SOURCE = (
    "categories",
    "brands",
    "events_total",
    "interactions_recent",
    "interactions_prior",
    "interaction_trend",
    "campaign_touches",
    "service_contacts",
    "service_contacts_90d",
)

#: segmint's value layers (name, top share of buyers by rfm_score, rule); the first that
#: holds wins.
LAYERS: tuple[tuple[str, float | None, str | None], ...] = (
    ("high_value", 0.2, "frequency >= 2"),
    (
        "churn_warning",
        None,
        "frequency >= 2 and recency_days between 31 and 180 and interaction_trend < 0",
    ),
    ("potential", 0.55, "frequency >= 2 or categories >= 2"),
    ("basic", None, None),
)
#: segmint's default tags whose rules read only traits the bench's sources produce.
DEFAULT_TAG_RULES: dict[str, str] = {
    "tier1_city": "city_tier == 1",
    "b2b_account": "is_b2b",
    "new_member": "registered_at within 90d",
    "high_frequency_online_shopper": "frequency >= 8 and online_share >= 0.7",
    "offline_loyalist": "frequency >= 4 and online_share <= 0.3",
    "weekend_shopper": "frequency >= 3 and weekend_share >= 0.5",
    "night_owl": "active_hour >= 22 or active_hour < 2",
    "recent_buyer": "last_order_at within 30d",
    "price_sensitive": "frequency >= 3 and discount_share >= 0.5",
    "premium_buyer": "aov >= 600",
    "big_spender": "m_score == 5",
    "lapsing_regular": "frequency >= 4 and recency_days > 90",
}
#: The default tags left out on both sides, and the trait the bench's sources lack.
SKIPPED_TAGS: dict[str, str] = {
    "young_white_collar_tier1": "occupation",
    "high_income": "income_band",
    "rising_engagement": "interactions_recent (events)",
    "campaign_responsive": "campaign_touches (campaign responses)",
    "beauty_preference": "top_category (order items)",
    "mother_and_baby_need": "top_category (order items)",
    "digital_enthusiast": "top_category (order items)",
    "service_attention": "service_contacts_90d (service tickets)",
    "promoter": "nps_category (surveys)",
    "detractor": "nps_category (surveys)",
}


def slug(text: str) -> str:
    """A segment name as a tag name: "Can't Lose Them" -> cant_lose_them."""
    kept = "".join(ch.lower() if ch.isalnum() else " " for ch in text.replace("'", ""))
    return "_".join(kept.split())


def tag_rules() -> dict[str, str]:
    """Every tag evaluated: the covered defaults, one per RFM segment, one per value layer."""
    rfm = {f"rfm_{slug(name)}": f'rfm_segment == "{name}"' for name, _, _ in SEGMENT_GRID}
    layers = {f"layer_{name}": f"value_layer == '{name}'" for name, _, _ in LAYERS}
    return {**DEFAULT_TAG_RULES, **rfm, **layers}


# ------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class ProfileConfig:
    """The parts of the project file the pandas version reads."""

    as_of: dt.datetime  # naive UTC
    offset_minutes: int  # the profile's local clock (active hour, weekday, weekend)
    source_priority: tuple[str, ...]
    window_days: int
    bins: int
    warehouse: Path
    disabled_tags: tuple[str, ...] = field(default_factory=tuple)


def load_config(project: Path) -> ProfileConfig:
    """Read a bench project file; refuse settings this version does not implement."""
    doc = yaml.safe_load(project.read_text(encoding="utf-8"))
    profile = doc.get("profile") or {}
    tags = doc.get("tags") or {}
    unsupported = [f"profile.{k}" for k in ("survivorship", "city_tiers") if profile.get(k)]
    unsupported += ["layers"] if doc.get("layers") else []
    unsupported += ["tags.definitions"] if tags.get("definitions") else []
    unsupported += ["tags.defaults: false"] if tags.get("defaults") is False else []
    if unsupported:
        raise ValueError(
            f"{project}: the pandas profile implements segmint's defaults only; remove "
            + ", ".join(unsupported)
        )
    stamp = doc["as_of"]
    as_of = stamp if isinstance(stamp, dt.datetime) else dt.datetime.fromisoformat(str(stamp))
    if as_of.tzinfo is not None:
        as_of = as_of.astimezone(dt.UTC).replace(tzinfo=None)
    warehouse = doc.get("warehouse") or {}
    return ProfileConfig(
        as_of=as_of,
        offset_minutes=utc_offset_minutes(str(profile.get("timezone", "UTC")), as_of),
        source_priority=tuple(profile.get("source_priority") or ()),
        window_days=int(profile.get("window_days", 30)),
        bins=int((doc.get("rfm") or {}).get("bins", 5)),
        warehouse=project.parent / str(warehouse.get("path", "warehouse.duckdb")),
        disabled_tags=tuple(tags.get("disable") or ()),
    )


# -------------------------------------------------------------------------- loading


@dataclass
class Inputs:
    """The three warehouse tables as pandas frames."""

    customers: pd.DataFrame
    orders: pd.DataFrame
    identity: pd.DataFrame

    def release(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """The frames, dropped from here so that the caller can free each once used."""
        frames = self.customers, self.orders, self.identity
        empty = pd.DataFrame()
        self.customers, self.orders, self.identity = empty, empty, empty
        return frames


def load(warehouse: Path) -> Inputs:
    """The columns the profile needs, DuckDB -> Arrow -> pandas (amounts as floats)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        present = {r[0] for r in con.execute("DESCRIBE customers").fetchall()}
        fields = [f for f in SURVIVING_FIELDS if f in present]
        customers = _frame(
            con,
            "SELECT source, record_key, registered_at, updated_at, "
            + ", ".join(fields)
            + " FROM customers",
        )
        orders = _frame(
            con,
            "SELECT source, record_key, order_id, ordered_at, CAST(amount AS DOUBLE) AS amount, "
            "CAST(discount_amount AS DOUBLE) AS discount_amount, channel, store_id, status "
            "FROM orders",
        )
        identity = _frame(con, "SELECT entity, source, record_key, customer_id FROM identity_map")
    finally:
        con.close()
    return Inputs(customers, orders, identity)


def _frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return con.execute(sql).to_arrow_table().to_pandas(date_as_object=False)


# -------------------------------------------------------------------------- profile


def _epoch_seconds(ts: pd.Series) -> pd.Series:
    """Whole seconds since 1970 (rounded half to even, as DuckDB casts), at least 0."""
    micros = ts.astype("datetime64[us]").astype("int64").astype("float64")
    seconds = np.rint(micros / 1e6).clip(lower=0)
    return seconds.where(ts.notna())


def _ids(identity: pd.DataFrame, entity: str) -> pd.DataFrame:
    known = identity[(identity.entity == entity) & identity.customer_id.notna()]
    return known[["source", "record_key", "customer_id"]]


def survivorship(customers: pd.DataFrame, ids: pd.DataFrame, config: ProfileConfig) -> pd.DataFrame:
    """One row per customer: each field from the record its rule picks."""
    as_of = pd.Timestamp(config.as_of)
    known = customers[customers.registered_at.isna() | (customers.registered_at <= as_of)]
    records = known.merge(ids, on=["source", "record_key"])
    order = {name: i for i, name in enumerate(config.source_priority)}
    priority = records.source.map(order).fillna(len(order)).astype("int64") if order else 0
    records = records.assign(
        _updated=_epoch_seconds(records.updated_at.fillna(records.registered_at)),
        _registered=_epoch_seconds(records.registered_at.fillna(FAR_FUTURE)),
        _priority=priority,
        _tiebreak=records.source + "|" + records.record_key,
    )
    fields = [f for f in SURVIVING_FIELDS if f in records.columns]
    recent = records.sort_values(
        ["_updated", "_priority", "_tiebreak"], ascending=[True, False, True], na_position="first"
    )
    recent = recent.reset_index(drop=True)
    by_customer = recent.groupby("customer_id", sort=False)
    # groupby().last() takes each column's last non-null value: the most recent record's
    out = by_customer[[f for f in fields if SURVIVING_FIELDS[f] == "most_recent"]].last()
    out["registered_at"] = by_customer.registered_at.min()
    out["customer_records"] = by_customer.size()
    earliest = records.sort_values(["_registered", "_priority", "_tiebreak"])
    for f in fields:
        if SURVIVING_FIELDS[f] == "earliest":
            out[f] = earliest.groupby("customer_id", sort=False)[f].first()
        elif SURVIVING_FIELDS[f] == "most_frequent":
            # the value on most records; ties go to the value of the most recent record
            present = recent[recent[f].notna()]
            counted = (
                present.assign(_position=present.index)
                .groupby(["customer_id", f], sort=False)
                ._position.agg(["size", "max"])
                .reset_index()
                .sort_values(["size", "max"], ascending=False)
                .drop_duplicates("customer_id")
            )
            out[f] = counted.set_index("customer_id")[f]
    return out


def _mode(frame: pd.DataFrame, column: str) -> pd.Series:
    """Per customer, the most common value of `column` (ties: the smallest value)."""
    counted = frame.groupby(["customer_id", column], sort=False).size().reset_index(name="n")
    top = counted.sort_values(["n", column], ascending=[False, True])
    return top.drop_duplicates("customer_id").set_index("customer_id")[column]


def order_traits(bought: pd.DataFrame, config: ProfileConfig) -> pd.DataFrame:
    """Per buying customer: value, rhythm, channels, discounts, weekends, active hour."""
    local = bought.ordered_at + pd.Timedelta(minutes=config.offset_minutes)
    fallback = pd.Series(np.where(bought.store_id.notna(), "offline", "other"), bought.index)
    channel = bought.channel.fillna(fallback)
    orders = pd.DataFrame(
        {
            "customer_id": bought.customer_id,
            "order_id": bought.order_id,
            "ordered_at": bought.ordered_at,
            "amount": bought.amount,
            "channel": channel,
            "hour": local.dt.hour,
            "weekday": local.dt.dayofweek,
            "online": channel.isin(ONLINE_CHANNELS),
            **{name: channel == value for name, value in CHANNEL_SHARES.items()},
            "weekend": local.dt.dayofweek >= 5,
            "discounted": bought.discount_amount.fillna(0) > 0,
        }
    )
    del local, fallback, channel
    per = orders.groupby("customer_id").agg(
        first_order_at=("ordered_at", "min"),
        last_order_at=("ordered_at", "max"),
        frequency=("order_id", "nunique"),
        monetary=("amount", "sum"),
        orders=("order_id", "size"),
        online=("online", "sum"),
        discounted=("discounted", "sum"),
        weekend=("weekend", "sum"),
        **{name: (name, "sum") for name in CHANNEL_SHARES},
    )
    per["monetary"] = per.monetary.round(2)
    per["aov"] = per.monetary / per.frequency
    span_days = (per.last_order_at - per.first_order_at).dt.total_seconds() / 86400
    per["interpurchase_days_mean"] = (span_days / (per.orders - 1)).where(per.orders > 1)
    timeline = orders[["customer_id", "ordered_at"]].sort_values("ordered_at")
    gaps = timeline.groupby("customer_id").ordered_at.diff().dt.total_seconds() / 86400
    per["interpurchase_days_std"] = gaps.groupby(timeline.customer_id).std()
    per["online_share"] = per.online / per.orders
    per["discount_share"] = per.discounted / per.orders
    per["weekend_share"] = per.weekend / per.orders
    per[list(CHANNEL_SHARES)] = per[list(CHANNEL_SHARES)].div(per.orders, axis=0)
    per["preferred_channel"] = _mode(orders, "channel")
    per["active_hour"] = _mode(orders, "hour")
    per["active_weekday"] = _mode(orders, "weekday")
    return per.drop(columns=["orders", "online", "discounted", "weekend"])


def window_traits(bought: pd.DataFrame, config: ProfileConfig) -> pd.DataFrame:
    """Per customer who bought in the last year: orders this window and the one before,
    and the last year's spend."""
    as_of = pd.Timestamp(config.as_of)
    window = pd.Timedelta(days=config.window_days)
    recent = bought[bought.ordered_at > as_of - pd.Timedelta(days=YEAR_DAYS)]
    at = recent.ordered_at
    recent = recent.assign(
        this_window=(at > as_of - window) & (at <= as_of),
        window_before=(at > as_of - 2 * window) & (at <= as_of - window),
    )
    per = recent.groupby("customer_id").agg(
        orders_recent=("this_window", "sum"),
        orders_prior=("window_before", "sum"),
        monetary_365d=("amount", "sum"),
    )
    per["monetary_365d"] = per.monetary_365d.round(2)
    return per


def _score(value: pd.Series, bins: int, higher_is_better: bool) -> pd.Series:
    rank = value.rank(method="min", ascending=higher_is_better) - 1
    return (rank * bins // value.count() + 1).astype("int64")


def rfm_scores(buyers: pd.DataFrame, bins: int) -> pd.DataFrame:
    """r, f, m scores (1..bins by rank, ties share a score), their sum and the segment."""
    out = pd.DataFrame(index=buyers.index)
    out["r_score"] = _score(buyers.recency_days, bins, higher_is_better=False)
    out["f_score"] = _score(buyers.frequency, bins, higher_is_better=True)
    out["m_score"] = _score(buyers.monetary, bins, higher_is_better=True)
    out["rfm_score"] = out.r_score + out.f_score + out.m_score
    r5 = (out.r_score - 1) * 5 // bins + 1
    f5 = (out.f_score - 1) * 5 // bins + 1
    grid = [r5.isin(rs) & f5.isin(fs) for _, rs, fs in SEGMENT_GRID]
    out["rfm_segment"] = np.select(grid, [n for n, _, _ in SEGMENT_GRID], DEFAULT_SEGMENT)
    return out


def value_layers(profile: pd.DataFrame, config: ProfileConfig) -> pd.Series:
    """The first layer whose top share (of buyers, by rfm_score) and rule hold."""
    buyers = profile[profile.frequency > 0].sort_values(
        ["rfm_score", "monetary", "customer_id"], ascending=[False, False, True]
    )
    position = pd.Series(np.arange(len(buyers)), index=buyers.index)
    conditions = []
    for _, share, rule in LAYERS:
        holds = pd.Series(True, index=buyers.index)
        if share is not None:
            holds &= position + 1 <= len(buyers) * share  # the first floor(n × share)
        if rule is not None:
            holds &= evaluate(buyers, rule, config)
        conditions.append(holds)
    names = [name for name, _, _ in LAYERS]
    layer = pd.Series(np.select(conditions, names, ""), index=buyers.index)
    return layer.where(layer != "").reindex(profile.index)


def build_profile(inputs: Inputs, config: ProfileConfig) -> pd.DataFrame:
    """One row per customer with every covered trait (and the zero-filled ones)."""
    as_of = pd.Timestamp(config.as_of)
    today = as_of.normalize()
    customers, orders, identity = inputs.release()  # each is freed once used
    customer_ids, order_ids = _ids(identity, "customers"), _ids(identity, "orders")
    del identity
    basic = survivorship(customers, customer_ids, config)
    del customers, customer_ids
    paid = orders.loc[
        (orders.status.isna() | (orders.status == "paid")) & (orders.ordered_at <= as_of),
        ORDER_COLUMNS,
    ]
    del orders
    bought = paid.merge(order_ids, on=["source", "record_key"]).drop(
        columns=["source", "record_key"]
    )
    del paid, order_ids
    windows = window_traits(bought, config)
    profile = basic.join(order_traits(bought, config), how="outer")
    del bought
    profile = profile.join(windows, how="left")
    for column in ("frequency", "monetary", "orders_recent", "orders_prior", "monetary_365d"):
        profile[column] = profile[column].fillna(0)
    for column in ZERO_WITHOUT_SOURCE:
        profile[column] = 0
    profile.index.name = "customer_id"
    profile = profile.reset_index()

    birth = profile.birth_date
    before_birthday = (birth.dt.month > today.month) | (
        (birth.dt.month == today.month) & (birth.dt.day > today.day)
    )
    profile["age"] = today.year - birth.dt.year - before_birthday
    bands = [profile.age < bound for bound, _ in AGE_BANDS]
    age_band = pd.Series(np.select(bands, [label for _, label in AGE_BANDS], OLDEST_BAND))
    profile["age_band"] = age_band.where(profile.age.notna())
    profile["is_b2b"] = (profile.customer_type == "b2b").where(profile.customer_type.notna())
    profile["first_seen_at"] = profile[["registered_at", "first_order_at"]].min(axis=1)
    profile["tenure_days"] = (today - profile.first_seen_at.dt.normalize()).dt.days
    profile["recency_days"] = (today - profile.last_order_at.dt.normalize()).dt.days
    profile["city_tier"] = profile.city.map(city_tiers())
    buyers = profile.frequency > 0
    profile = profile.join(rfm_scores(profile[buyers], config.bins))
    profile["value_layer"] = value_layers(profile, config)
    return profile


def city_tiers() -> dict[str, int]:
    """City -> tier, with and without the 市 suffix (segmint's built-in list)."""
    from segmint.traits.city_tiers import CITY_TIERS

    return {**CITY_TIERS, **{f"{city}市": tier for city, tier in CITY_TIERS.items()}}


# ----------------------------------------------------------------------------- tags


def pandas_rule(rule: str) -> str:
    """A tag rule as a `DataFrame.eval` expression: `within` and `between` rewritten."""
    rule = re.sub(
        r"(\w+) within (\d+)([hdw])",
        lambda m: f"({m[1]} >= @since_{m[2]}{m[3]} and {m[1]} <= @as_of)",
        rule,
    )
    return re.sub(r"(\w+) between (\S+) and (\S+)", r"(\1 >= \2 and \1 <= \3)", rule)


def evaluate(frame: pd.DataFrame, rule: str, config: ProfileConfig) -> pd.Series:
    """A rule as a boolean mask over `frame` (a missing value never matches)."""
    as_of = pd.Timestamp(config.as_of)
    local: dict[str, Any] = {"as_of": as_of}
    for amount, unit in re.findall(r" within (\d+)([hdw])", rule):
        hours = int(amount) * {"h": 1, "d": 24, "w": 168}[unit]
        local[f"since_{amount}{unit}"] = as_of - pd.Timedelta(hours=hours)
    mask = frame.eval(pandas_rule(rule), engine="python", local_dict=local)
    return pd.Series(mask, index=frame.index).astype("boolean").fillna(False).astype(bool)


def build_tags(profile: pd.DataFrame, config: ProfileConfig) -> pd.DataFrame:
    """(customer_id, tag) for every tag a customer holds."""
    parts = []
    for name, rule in tag_rules().items():
        if name in config.disabled_tags:
            continue
        members = profile.customer_id[evaluate(profile, rule, config)]
        parts.append(pd.DataFrame({"customer_id": members.to_numpy(), "tag": name}))
    held = [part for part in parts if len(part)]
    return (
        pd.concat(held, ignore_index=True) if held else pd.DataFrame(columns=["customer_id", "tag"])
    )


# ------------------------------------------------------------------------------ run


@dataclass
class Result:
    """The profile, the tag memberships and the seconds each step took."""

    profile: pd.DataFrame
    tags: pd.DataFrame
    seconds: dict[str, float]
    cpu: dict[str, float]


def run(project: Path) -> Result:
    """Load, build the profile, evaluate the tags; timed apart.

    With pandas' Arrow-backed `str` dtype, as `pandas_impl.py` (pandas 3's default).
    """
    with pd.option_context("future.infer_string", True):
        config = load_config(project)
        seconds: dict[str, float] = {}
        cpu: dict[str, float] = {}

        def timed(step: str, start: float, start_cpu: float) -> None:
            seconds[step] = time.perf_counter() - start
            cpu[step] = cpu_seconds_self() - start_cpu

        start, start_cpu = time.perf_counter(), cpu_seconds_self()
        inputs = load(config.warehouse)
        timed("load", start, start_cpu)
        start, start_cpu = time.perf_counter(), cpu_seconds_self()
        profile = build_profile(inputs, config)
        timed("profile", start, start_cpu)
        del inputs
        start, start_cpu = time.perf_counter(), cpu_seconds_self()
        tags = build_tags(profile, config)
        timed("tags", start, start_cpu)
    return Result(profile, tags, seconds, cpu)
