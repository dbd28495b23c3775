"""A brute-force reference for the profile: plain Python over each customer's rows.

Written independently of segmint.traits (no shared helpers beyond the city-tier list and
the RFM grid, which are data, not logic), one customer at a time, so a mistake in the engine
expressions shows up as a difference.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import statistics
from collections import Counter, defaultdict
from typing import Any

import pandas as pd

from segmint.traits.city_tiers import city_tier_table
from segmint.traits.rfm import SEGMENT_GRID

ONLINE = {"online", "app", "miniprogram", "marketplace"}
RESPONDED = {"opened", "clicked", "converted"}
# profile.deal_events by default: Segment's e-commerce coupon and promotion events
DEAL_EVENTS = (
    "Coupon Entered",
    "Coupon Applied",
    "Coupon Denied",
    "Promotion Viewed",
    "Promotion Clicked",
)
# profile.research_events by default: Segment's product, search, cart and wishlist events
RESEARCH_EVENTS = (
    "Product Viewed",
    "Product List Viewed",
    "Products Searched",
    "Product Added",
    "Product Added to Wishlist",
    "Cart Viewed",
)
FAR = dt.datetime(9999, 1, 1)


def _ts(value: Any) -> dt.datetime | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if pd.isna(value):
        return None
    return pd.Timestamp(value).to_pydatetime()


def _present(value: Any) -> bool:
    return (
        value is not None
        and not (isinstance(value, float) and math.isnan(value))
        and value is not pd.NaT
    )


def _epoch(ts: dt.datetime | None) -> int:
    if ts is None:
        return 0
    return max(int((ts - dt.datetime(1970, 1, 1)).total_seconds() // 1), 0)


def _group(frame: pd.DataFrame | None) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if frame is None:
        return out
    for row in frame.to_dict("records"):
        out[row["customer_id"]].append(row)
    return out


def _mode(values: list[Any]) -> Any:
    counts = Counter(values)
    best = max(counts.values())
    return min(v for v, n in counts.items() if n == best)


def reference_profiles(
    tables: dict[str, pd.DataFrame],
    identity: pd.DataFrame,
    as_of: dt.datetime,
    offset_hours: float,
    source_priority: list[str],
    window_days: int = 30,
    deal_events: tuple[str, ...] = DEAL_EVENTS,
    research_days: int = 14,
) -> pd.DataFrame:
    """Every trait except the layer, one dict per customer, computed row by row."""
    ids = identity[identity["customer_id"].notna()][["source", "record_key", "customer_id"]]

    def attach(name: str) -> pd.DataFrame | None:
        if name not in tables:
            return None
        return tables[name].merge(ids, on=["source", "record_key"])

    local = dt.timedelta(hours=offset_hours)
    customers = _group(attach("customers"))
    orders_all = attach("orders")
    assert orders_all is not None
    paid = orders_all[
        (orders_all["status"].isna() | (orders_all["status"] == "paid"))
        & (orders_all["ordered_at"] <= as_of)
    ]
    orders = _group(paid)
    owner = dict(zip(paid["order_id"], paid["customer_id"], strict=False))
    items: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in tables["order_items"].to_dict("records"):
        if row["order_id"] in owner:
            items[owner[row["order_id"]]].append(row)
    # every priced line's within-category percent rank: strictly cheaper lines / (lines - 1)
    prices: dict[str, list[float]] = defaultdict(list)
    for lines in items.values():
        for x in lines:
            if _present(x["category"]) and _present(x["unit_price"]):
                prices[x["category"]].append(float(x["unit_price"]))
    for values in prices.values():
        values.sort()

    def percentile(category: str, price: float) -> float:
        values = prices[category]
        cheaper = bisect.bisect_left(values, price)
        return cheaper / (len(values) - 1) if len(values) > 1 else 0.0

    events = _group(_until(attach("events"), "timestamp", as_of))
    tickets = _group(_until(attach("service_interactions"), "opened_at", as_of))
    answers = _group(_until(attach("survey_answers"), "answered_at", as_of))
    touches = _group(_until(attach("campaign_responses"), "sent_at", as_of))

    def priority(source: str) -> int:
        return source_priority.index(source) if source in source_priority else len(source_priority)

    tiers = city_tier_table({})
    everyone = set(orders) | set(events) | set(tickets) | set(answers) | set(touches)
    known_customers = {
        c: [r for r in rs if _ts(r["registered_at"]) is None or _ts(r["registered_at"]) <= as_of]
        for c, rs in customers.items()
    }
    everyone |= {c for c, rs in known_customers.items() if rs}
    rows = []
    window = dt.timedelta(days=window_days)
    for cid in sorted(everyone):
        p: dict[str, Any] = {"customer_id": cid}
        recs = known_customers.get(cid, [])
        tie = {id(r): f"{r['source']}|{r['record_key']}" for r in recs}

        def recent_key(r: dict[str, Any], tie: dict[int, str] = tie) -> tuple[int, int, str]:
            updated = _ts(r["updated_at"]) or _ts(r["registered_at"])
            return (_epoch(updated), 9 - priority(r["source"]), tie[id(r)])

        for field in (
            "name",
            "phone",
            "email",
            "province",
            "city",
            "company_name",
            "industry",
            "company_size",
            "occupation",
            "income_band",
        ):
            have = [r for r in recs if field in r and _present(r[field])]
            p[field] = max(have, key=recent_key)[field] if have else None
        have = [r for r in recs if _present(r["member_id"])]
        p["member_id"] = (
            min(
                have,
                key=lambda r: (
                    _epoch(_ts(r["registered_at"]) or FAR),
                    priority(r["source"]),
                    tie[id(r)],
                ),
            )["member_id"]
            if have
            else None
        )
        for field in ("gender", "birth_date", "customer_type"):
            have = [r for r in recs if _present(r[field])]
            if not have:
                p[field] = None
                continue
            counts = Counter(r[field] for r in have)
            p[field] = max(
                counts,
                key=lambda v: (counts[v], max(recent_key(r) for r in have if r[field] == v)),
            )
        regs = [_ts(r["registered_at"]) for r in recs if _ts(r["registered_at"]) is not None]
        p["registered_at"] = min(regs) if regs else None
        p["customer_records"] = len(recs) if recs else None

        os_ = orders.get(cid, [])
        firsts = [p["registered_at"]]
        if os_:
            times = sorted((_ts(o["ordered_at"]), o["order_id"]) for o in os_)
            p["first_order_at"], p["last_order_at"] = times[0][0], times[-1][0]
            p["frequency"] = len({o["order_id"] for o in os_})
            p["monetary"] = round(sum(float(o["amount"]) for o in os_), 2)
            p["aov"] = p["monetary"] / p["frequency"]
            gaps = [(b[0] - a[0]).total_seconds() / 86400 for a, b in itertools.pairwise(times)]
            p["interpurchase_days_mean"] = statistics.mean(gaps) if gaps else None
            p["interpurchase_days_std"] = statistics.stdev(gaps) if len(gaps) > 1 else None
            channels = [
                o["channel"]
                if _present(o["channel"])
                else ("offline" if _present(o["store_id"]) else "other")
                for o in os_
            ]
            n = len(os_)
            p["online_share"] = sum(c in ONLINE for c in channels) / n
            p["app_share"] = sum(c == "app" for c in channels) / n
            p["miniprogram_share"] = sum(c == "miniprogram" for c in channels) / n
            p["offline_share"] = sum(c == "offline" for c in channels) / n
            p["preferred_channel"] = _mode(channels)
            p["discount_share"] = (
                sum(_present(o["discount_amount"]) and float(o["discount_amount"]) > 0 for o in os_)
                / n
            )
            p["weekend_share"] = sum((_ts(o["ordered_at"]) + local).weekday() >= 5 for o in os_) / n
            firsts.append(p["first_order_at"])
            year = [o for o in os_ if _ts(o["ordered_at"]) > as_of - dt.timedelta(days=365)]
            p["monetary_365d"] = round(sum(float(o["amount"]) for o in year), 2)
            p["orders_recent"] = sum(_ts(o["ordered_at"]) > as_of - window for o in os_)
            p["orders_prior"] = sum(
                as_of - 2 * window < _ts(o["ordered_at"]) <= as_of - window for o in os_
            )
        else:
            p.update(frequency=0, monetary=0.0, monetary_365d=0.0, orders_recent=0, orders_prior=0)
        lines = items.get(cid, [])
        if lines:
            p["categories"] = len({x["category"] for x in lines if _present(x["category"])})
            p["brands"] = len({x["brand"] for x in lines if _present(x["brand"])})
            for col in ("category", "brand"):
                spend: dict[str, float] = defaultdict(float)
                for x in lines:
                    if _present(x[col]):
                        spend[x[col]] += float(x["amount"])
                if spend:
                    best = max(spend.values())
                    p[f"top_{col}"] = min(k for k, v in spend.items() if v == best)
                    if col == "category":
                        total = sum(float(x["amount"]) for x in lines)
                        p["top_category_share"] = best / total if total > 0 else None
            priced = [
                percentile(x["category"], float(x["unit_price"]))
                for x in lines
                if _present(x["category"]) and _present(x["unit_price"])
            ]
            p["price_index"] = statistics.mean(priced) if priced else None
        else:
            p.update(categories=0, brands=0)
        evs = events.get(cid, [])
        p["events_total"] = len(evs)
        named = [e["event"] for e in evs if _present(e["event"])]
        p["deal_event_share"] = (
            sum(name in deal_events for name in named) / len(named) if named else None
        )
        # an order is researched when a research event came between research_days and an
        # hour before it; customers without research events have no share
        looked = [_ts(e["timestamp"]) or FAR for e in evs if e["event"] in RESEARCH_EVENTS]
        bought_at = [_ts(o["ordered_at"]) or FAR for o in orders.get(cid, [])]
        p["research_share"] = (
            sum(
                any(
                    at - dt.timedelta(days=research_days) <= t < at - dt.timedelta(hours=1)
                    for t in looked
                )
                for at in bought_at
            )
            / len(bought_at)
            if looked and bought_at
            else None
        )
        if evs:
            stamps = [_ts(e["timestamp"]) for e in evs]
            p["last_event_at"] = max(stamps)
            firsts.append(min(stamps))
        p["interactions_recent"] = sum(_ts(e["timestamp"]) > as_of - window for e in evs)
        p["interactions_prior"] = sum(
            as_of - 2 * window < _ts(e["timestamp"]) <= as_of - window for e in evs
        )
        moments = [_ts(o["ordered_at"]) + local for o in os_] + [
            _ts(e["timestamp"]) + local for e in evs
        ]
        if moments:
            p["active_hour"] = _mode([m.hour for m in moments])
            p["active_weekday"] = _mode([m.weekday() for m in moments])
        tks = tickets.get(cid, [])
        p["service_contacts"] = len(tks)
        p["service_contacts_90d"] = sum(
            _ts(t["opened_at"]) > as_of - dt.timedelta(days=90) for t in tks
        )
        sats = [t["satisfaction"] for t in tks if _present(t["satisfaction"])]
        p["satisfaction_mean"] = statistics.mean(sats) if sats else None
        if tks:
            firsts.append(min(_ts(t["opened_at"]) for t in tks))
        nps = [a for a in answers.get(cid, []) if a["question"] == "nps" and _present(a["score"])]
        if nps:
            latest = max(nps, key=lambda a: (_epoch(_ts(a["answered_at"])), a["response_id"]))
            score = int(latest["score"])
            p["nps_latest"] = score
            p["nps_category"] = (
                "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
            )
            firsts.append(min(_ts(a["answered_at"]) for a in nps))
        tch = touches.get(cid, [])
        p["campaign_touches"] = len(tch)
        if tch:
            hits = [t for t in tch if t["response"] in RESPONDED]
            p["campaign_response_rate"] = len(hits) / len(tch)
            with_channel = [t["channel"] for t in hits if _present(t["channel"])]
            p["preferred_contact_channel"] = _mode(with_channel) if with_channel else None
            firsts.append(min(_ts(t["sent_at"]) for t in tch))
        firsts = [f for f in firsts if f is not None]
        p["first_seen_at"] = min(firsts)
        day = as_of.date()
        birth = p["birth_date"]
        if birth is not None:
            b = pd.Timestamp(birth).date()
            p["age"] = day.year - b.year - ((b.month, b.day) > (day.month, day.day))
        p["tenure_days"] = (day - p["first_seen_at"].date()).days
        p["recency_days"] = (day - p["last_order_at"].date()).days if os_ else None
        total = p["interactions_recent"] + p["interactions_prior"]
        p["interaction_trend"] = (
            (p["interactions_recent"] - p["interactions_prior"]) / total if total else 0.0
        )
        p["city_tier"] = tiers.get(p["city"]) if p["city"] is not None else None
        p["is_b2b"] = None if p["customer_type"] is None else p["customer_type"] == "b2b"
        rows.append(p)
    frame = pd.DataFrame(rows)
    return _rfm(frame)


def _until(frame: pd.DataFrame | None, column: str, as_of: dt.datetime) -> pd.DataFrame | None:
    return None if frame is None else frame[frame[column] <= as_of]


def _rfm(frame: pd.DataFrame, bins: int = 5) -> pd.DataFrame:
    """Scores by rank among buyers: floor(rank * bins / n) + 1, rank counted from 0, ties min."""
    buyers = frame["frequency"] > 0
    n = int(buyers.sum())
    b = frame[buyers]

    def score(values: pd.Series, ascending: bool = True) -> pd.Series:
        rank0 = values.rank(method="min", ascending=ascending) - 1
        return (rank0 * bins / n).apply(math.floor) + 1

    r = score(b["recency_days"], ascending=False)
    f = score(b["frequency"])
    m = score(b["monetary"])
    frame.loc[buyers, "r_score"] = r
    frame.loc[buyers, "f_score"] = f
    frame.loc[buyers, "m_score"] = m
    frame["rfm_score"] = frame["r_score"] + frame["f_score"] + frame["m_score"]

    def segment(row: pd.Series) -> Any:
        if pd.isna(row["r_score"]):
            return None
        r5 = math.floor((row["r_score"] - 1) * 5 / bins) + 1
        f5 = math.floor((row["f_score"] - 1) * 5 / bins) + 1
        for name, rs, fs in SEGMENT_GRID:
            if r5 in rs and f5 in fs:
                return name
        return "Need Attention"

    frame["rfm_segment"] = frame.apply(segment, axis=1)
    return frame
