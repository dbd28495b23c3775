"""Behaviour over a customer's whole history up to the as-of time, one table per entity.

Each function takes an entity table already joined to customer ids and cut at the as-of
time, and returns one row per customer. Nothing here depends on where the as-of time sits
beyond that cut, so a customer whose records did not change keeps these values (the
incremental refresh relies on it); windowed counts live in `segmint.traits.windows`.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from segmint.traits.basic import epoch_key

ONLINE_CHANNELS = ("online", "app", "miniprogram", "marketplace")
# Trait → the channel whose share of orders it is.
CHANNEL_SHARES: dict[str, str] = {
    "app_share": "app",
    "miniprogram_share": "miniprogram",
    "offline_share": "offline",
}
RESPONDED = ("opened", "clicked", "converted")
# Research this close to an order is the purchase session itself, not research for it.
RESEARCH_LEAD_HOURS = 1


def local_time(ts: ir.TimestampValue, offset_hours: float) -> ir.TimestampValue:
    """A UTC timestamp moved to the project's local clock."""
    if offset_hours == 0:
        return ts
    return ts + ibis.interval(minutes=round(offset_hours * 60))


def order_channel(orders: ir.Table) -> ir.StringValue:
    """The sales channel; store orders without one count as offline."""
    return orders.channel.fill_null(
        ibis.ifelse(orders.store_id.notnull(), ibis.literal("offline"), ibis.literal("other"))
    )


def order_history(bought: ir.Table, offset_hours: float) -> ir.Table:
    """Per customer: value, order rhythm, channel mix, discounts, weekend share."""
    local = local_time(bought.ordered_at, offset_hours)
    channel = order_channel(bought)
    orders = bought.mutate(
        _channel=channel,
        _weekend=local.day_of_week.index() >= 5,
        _discounted=bought.discount_amount.fill_null(0) > 0,
        _epoch=bought.ordered_at.epoch_seconds().cast("float64"),
    )
    # gaps do not depend on how orders at the same second are ordered: no tie-break needed
    prev = orders._epoch.lag().over(group_by="customer_id", order_by="_epoch")
    orders = orders.mutate(_gap_days=(orders._epoch - prev) / 86400.0)
    per = orders.group_by("customer_id").aggregate(
        first_order_at=orders.ordered_at.min(),
        last_order_at=orders.ordered_at.max(),
        frequency=orders.order_id.nunique(),
        monetary=orders.amount.sum().round(2),
        _orders=orders.count(),
        _online=orders._channel.isin(ONLINE_CHANNELS).sum(),
        **{f"_{name}": (orders._channel == ch).sum() for name, ch in CHANNEL_SHARES.items()},
        _discounted=orders._discounted.sum(),
        _weekend=orders._weekend.sum(),
        interpurchase_days_std=orders._gap_days.std(how="sample"),
    )
    span_days = (
        per.last_order_at.epoch_seconds().cast("float64")
        - per.first_order_at.epoch_seconds().cast("float64")
    ) / 86400.0
    n = per._orders.cast("float64")
    per = per.mutate(
        aov=per.monetary / per.frequency,
        # consecutive gaps telescope: their mean is the span over (orders - 1)
        interpurchase_days_mean=ibis.ifelse(per._orders > 1, span_days / (n - 1), ibis.null()),
        online_share=per._online.cast("float64") / n,
        **{name: per[f"_{name}"].cast("float64") / n for name in CHANNEL_SHARES},
        discount_share=per._discounted.cast("float64") / n,
        weekend_share=per._weekend.cast("float64") / n,
    )
    channels = orders.group_by(["customer_id", "_channel"]).aggregate(n=orders.count())
    preferred = _top(channels, "_channel", channels.n).rename(preferred_channel="_channel")
    return per.left_join(preferred, "customer_id").drop(
        "customer_id_right",
        "_orders",
        "_online",
        "_discounted",
        "_weekend",
        *(f"_{name}" for name in CHANNEL_SHARES),
    )


def item_preferences(items: ir.Table, bought: ir.Table) -> ir.Table:
    """Per customer: top category and brand by spend, their share, and how many were bought."""
    lines = items.join(bought.select("customer_id", "order_id"), "order_id").select(
        "customer_id", "category", "brand", amount=items.amount.cast("float64")
    )
    out = lines.group_by("customer_id").aggregate(
        categories=lines.category.nunique(),
        brands=lines.brand.nunique(),
        _spend=lines.amount.sum(),
    )
    for column in ("category", "brand"):
        present = lines.filter(lines[column].notnull())
        spend = present.group_by(["customer_id", column]).aggregate(spend=present.amount.sum())
        top = _top(spend, column, spend.spend, keep=("spend",)).rename(**{f"top_{column}": column})
        out = out.left_join(top, "customer_id").drop("customer_id_right")
        if column == "category":
            out = out.mutate(
                top_category_share=ibis.ifelse(out._spend > 0, out.spend / out._spend, ibis.null())
            ).drop("spend")
        else:
            out = out.drop("spend")
    return out.drop("_spend")


def activity_clock(moments: ir.Table, offset_hours: float) -> ir.Table:
    """Per customer: the local hour and weekday with the most orders and events."""
    local = local_time(moments.at, offset_hours)
    stamped = moments.mutate(_hour=local.hour(), _weekday=local.day_of_week.index())
    out = None
    for column, name in (("_hour", "active_hour"), ("_weekday", "active_weekday")):
        counted = stamped.group_by(["customer_id", column]).aggregate(n=stamped.count())
        top = _top(counted, column, counted.n).select(
            "customer_id", **{name: counted[column].cast("int64")}
        )
        out = top if out is None else out.join(top, "customer_id")
    assert out is not None
    return out


def event_history(events: ir.Table, deal_events: Sequence[str]) -> ir.Table:
    """Per customer: events up to as-of, the latest one, and the share of named events
    (those with an `event` name) that are deal events."""
    named = events.event.notnull()
    per = events.group_by("customer_id").aggregate(
        events_total=events.count(),
        last_event_at=events.timestamp.max(),
        _first_event_at=events.timestamp.min(),
        _named=events.count(where=named),
        _deals=events.count(where=named & events.event.isin(list(deal_events))),
    )
    share = per._deals.cast("float64") / per._named.cast("float64")
    return per.mutate(
        deal_event_share=ibis.ifelse(per._named > 0, share, ibis.null("float64"))
    ).drop("_named", "_deals")


def research_history(
    bought: ir.Table, events: ir.Table, research_events: Sequence[str], days: int
) -> ir.Table:
    """Per customer with research events: the share of paid orders researched beforehand.

    An order counts as researched when one of `research_events` (product views, searches,
    cart and wishlist adds) came between `days` days and an hour before it; the hour
    leaves out the purchase session itself. One running maximum per customer over orders
    and research events in time order finds each order's latest earlier research, so no
    order is joined to every event. Customers without any research event get no row
    (their share stays NULL: nothing is known of how they shop online).
    """
    browse = events.filter(events.event.isin(list(research_events)))
    lead = ibis.interval(hours=RESEARCH_LEAD_HOURS)
    seen = (browse.timestamp.cast("timestamp") + lead).cast("timestamp")
    rows = ibis.union(
        bought.select(
            "customer_id",
            _at=bought.ordered_at.cast("timestamp"),
            _kind=ibis.literal(0),  # an order sorts before research shifted to its time
            _seen=ibis.null("timestamp"),
        ),
        browse.select("customer_id", _at=seen, _kind=ibis.literal(1), _seen=seen),
    )
    window = ibis.window(group_by="customer_id", order_by=[rows._at, rows._kind], rows=(None, 0))
    marked = rows.mutate(_latest=rows._seen.max().over(window))
    is_order = marked._kind == 0
    earliest = marked._at - ibis.interval(days=days) + lead
    # one pass over the marked rows: orders, researched orders and research events each
    per = marked.group_by("customer_id").aggregate(
        _orders=is_order.cast("int64").sum(),
        _researched=(is_order & (marked._latest >= earliest)).cast("int64").sum(),
        _research=(marked._kind == 1).cast("int64").sum(),
    )
    per = per.filter((per._orders > 0) & (per._research > 0))
    return per.select(
        "customer_id",
        research_share=per._researched.fill_null(0).cast("float64") / per._orders.cast("float64"),
    )


def service_history(tickets: ir.Table) -> ir.Table:
    """Per customer: service contacts and mean satisfaction."""
    return tickets.group_by("customer_id").aggregate(
        service_contacts=tickets.count(),
        satisfaction_mean=tickets.satisfaction.mean(),
        _first_ticket_at=tickets.opened_at.min(),
    )


def latest_nps(answers: ir.Table) -> ir.Table:
    """Per customer: the latest NPS answer and its category."""
    nps = answers.filter((answers.question == "nps") & answers.score.notnull())
    key = epoch_key(nps.answered_at) + nps.response_id
    latest = nps.group_by("customer_id").aggregate(
        nps_latest=nps.score.argmax(key).cast("int64"),
        _first_answer_at=nps.answered_at.min(),
    )
    return latest.mutate(
        nps_category=ibis.cases(
            (latest.nps_latest >= 9, ibis.literal("promoter")),
            (latest.nps_latest >= 7, ibis.literal("passive")),
            else_=ibis.literal("detractor"),
        )
    )


def campaign_history(touches: ir.Table) -> ir.Table:
    """Per customer: touches, response rate, the channel that draws most responses."""
    responded = touches.response.isin(RESPONDED)
    per = touches.group_by("customer_id").aggregate(
        campaign_touches=touches.count(),
        _responses=responded.sum(),
        _first_touch_at=touches.sent_at.min(),
    )
    per = per.mutate(
        campaign_response_rate=per._responses.cast("float64") / per.campaign_touches
    ).drop("_responses")
    hits = touches.filter(responded & touches.channel.notnull())
    counted = hits.group_by(["customer_id", "channel"]).aggregate(n=hits.count())
    top = _top(counted, "channel", counted.n).rename(preferred_contact_channel="channel")
    return per.left_join(top, "customer_id").drop("customer_id_right")


def _top(
    counted: ir.Table, column: str, weight: ir.NumericValue, keep: tuple[str, ...] = ()
) -> ir.Table:
    """Per customer, the value of `column` with the largest weight (ties: smallest value)."""
    rank = ibis.row_number().over(
        group_by="customer_id", order_by=[weight.desc(), counted[column].asc()]
    )
    ranked = counted.mutate(_rank=rank)
    return ranked.filter(ranked._rank == 0).select("customer_id", column, *keep)


def join_customers(parts: list[ir.Table]) -> ir.Table:
    """Per-customer tables side by side: full outer joins on customer_id, each read once."""
    out = parts[0]
    for part in parts[1:]:
        joined = out.outer_join(part, "customer_id")
        out = joined.mutate(
            customer_id=joined.customer_id.fill_null(joined.customer_id_right)
        ).drop("customer_id_right")
    return out
