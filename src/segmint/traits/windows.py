"""Counts over windows that end at the as-of time: they move with it, so they are computed
for every customer on every run, but only from the recent records (a cheap, filtered scan).
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from segmint.traits.behaviour import join_customers

SERVICE_WINDOW_DAYS = 90
YEAR_DAYS = 365


def longest_window(window_days: int) -> int:
    """How far back any windowed trait looks, in days."""
    return max(2 * window_days, SERVICE_WINDOW_DAYS, YEAR_DAYS)


def _between(ts: ir.TimestampValue, start: dt.datetime, end: dt.datetime) -> ir.BooleanValue:
    return (ts > ibis.literal(start)) & (ts <= ibis.literal(end))


def window_counts(
    bought: ir.Table,
    events: ir.Table | None,
    tickets: ir.Table | None,
    as_of: dt.datetime,
    window_days: int,
) -> ir.Table:
    """Per customer with recent activity: orders and events this window and the one before,
    spend over the last year, service tickets over the last 90 days."""
    window = dt.timedelta(days=window_days)
    year_ago = as_of - dt.timedelta(days=YEAR_DAYS)
    recent = bought.filter(bought.ordered_at > ibis.literal(year_ago))
    parts = [
        recent.group_by("customer_id").aggregate(
            orders_recent=_between(recent.ordered_at, as_of - window, as_of).sum(),
            orders_prior=_between(recent.ordered_at, as_of - 2 * window, as_of - window).sum(),
            monetary_365d=recent.amount.sum().round(2),
        )
    ]
    if events is not None:
        ev = events.filter(events.timestamp > ibis.literal(as_of - 2 * window))
        parts.append(
            ev.group_by("customer_id").aggregate(
                interactions_recent=_between(ev.timestamp, as_of - window, as_of).sum(),
                interactions_prior=_between(ev.timestamp, as_of - 2 * window, as_of - window).sum(),
            )
        )
    if tickets is not None:
        since = as_of - dt.timedelta(days=SERVICE_WINDOW_DAYS)
        tk = tickets.filter(tickets.opened_at > ibis.literal(since))
        parts.append(tk.group_by("customer_id").aggregate(service_contacts_90d=tk.count()))
    return join_customers(parts)
