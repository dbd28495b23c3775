"""Per-customer purchase summaries (frequency, recency, T, spend) in the engine, in days.

These are the sufficient statistics of the customer-base models, defined as the `lifetimes`
package defines them with a period of one day: purchases on the same (UTC) day count once;
frequency is the number of purchase days after the first; recency is days from the first to
the last purchase day; T is days from the first purchase day to the as-of date; monetary_value
is the mean spend per purchase day after the first (0 without repeat purchases); first_amount
is the spend of the first purchase day.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

SUMMARY_COLUMNS = (
    "customer_id",
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "purchase_days",
    "first_amount",
)


def purchase_summary(paid: ir.Table, as_of: dt.datetime) -> ir.Table:
    """Frequency, recency, T and monetary value per customer from paid orders up to as_of.

    `paid` has customer_id, ordered_at and amount; orders after `as_of` are ignored.
    """
    until = paid.filter(paid.ordered_at <= ibis.literal(as_of))
    per_day = until.group_by("customer_id", day=until.ordered_at.date()).aggregate(
        amount=until.amount.cast("float64").sum()
    )
    summary = per_day.group_by("customer_id").aggregate(
        first_day=per_day.day.min(),
        last_day=per_day.day.max(),
        purchase_days=per_day.count(),
        total=per_day.amount.sum(),
        first_amount=per_day.amount.argmin(per_day.day),
    )
    frequency = (summary.purchase_days - 1).cast("int64")
    return summary.select(
        "customer_id",
        frequency=frequency,
        recency=summary.last_day.delta(summary.first_day, unit="day").cast("float64"),
        T=ibis.literal(as_of.date()).delta(summary.first_day, unit="day").cast("float64"),
        monetary_value=ibis.ifelse(
            frequency > 0,
            (summary.total - summary.first_amount) / frequency.cast("float64"),
            0.0,
        ),
        purchase_days=summary.purchase_days.cast("int64"),
        first_amount=summary.first_amount,
    )


def purchases_between(paid: ir.Table, start: dt.datetime, end: dt.datetime) -> ir.Table:
    """Paid purchase days per customer in (start, end] (for holdout checks and labels)."""
    window = paid.filter(
        (paid.ordered_at > ibis.literal(start)) & (paid.ordered_at <= ibis.literal(end))
    )
    per_day = window.group_by("customer_id", day=window.ordered_at.date()).aggregate(
        amount=window.amount.cast("float64").sum()
    )
    return per_day.group_by("customer_id").aggregate(
        holdout_days=per_day.count().cast("int64"), holdout_amount=per_day.amount.sum()
    )
