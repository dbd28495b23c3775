"""Recency, frequency, monetary value per customer, their scores and the named RFM segments."""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

# (segment, R scores, F scores) on the 5-point grid; the first match wins. The classic
# R×F map used by most RFM tools, with Lost split out of Hibernating (R=1, F=1).
SEGMENT_GRID: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = (
    ("Champions", (5,), (4, 5)),
    ("Loyal", (3, 4), (4, 5)),
    ("Potential Loyalist", (4, 5), (2, 3)),
    ("New", (5,), (1,)),
    ("Promising", (4,), (1,)),
    ("Need Attention", (3,), (3,)),
    ("About to Sleep", (3,), (1, 2)),
    ("Can't Lose Them", (1, 2), (5,)),
    ("At Risk", (1, 2), (3, 4)),
    ("Lost", (1,), (1,)),
    ("Hibernating", (1, 2), (1, 2)),
)
SEGMENTS = tuple(name for name, _, _ in SEGMENT_GRID)


def purchases(orders: ir.Table, identity: ir.Table, as_of: dt.datetime) -> ir.Table:
    """Paid orders up to the as-of time, each with its customer_id (unresolved left out)."""
    identity = identity.filter(identity.customer_id.notnull())
    paid = orders.filter(is_paid(orders, as_of))
    return paid.join(identity, ["source", "record_key"]).select(
        "customer_id", "order_id", "ordered_at", amount=paid.amount.cast("float64")
    )


def is_paid(orders: ir.Table, as_of: dt.datetime) -> ir.BooleanValue:
    """A paid order (no status means paid) placed by the as-of time."""
    return (orders.status.isnull() | (orders.status == "paid")) & (
        orders.ordered_at <= ibis.literal(as_of)
    )


def _score(value: ir.NumericValue, bins: int, higher_is_better: bool) -> ir.IntegerValue:
    """1..bins by rank; ties share a score, so results are the same on every engine."""
    order = value if higher_is_better else value.desc()
    rank = ibis.rank().over(order_by=order)
    total = value.count().over()
    return (rank * bins / total).floor().cast("int64") + 1


def rfm_table(bought: ir.Table, as_of: dt.datetime, bins: int) -> ir.Table:
    """One row per buying customer: recency_days, frequency, monetary, scores, segment."""
    per_customer = bought.group_by("customer_id").aggregate(
        first_order_at=bought.ordered_at.min(),
        last_order_at=bought.ordered_at.max(),
        frequency=bought.order_id.nunique(),
        monetary=bought.amount.sum().round(2),
    )
    return score_rfm(per_customer, as_of, bins).select(
        "customer_id",
        "recency_days",
        "frequency",
        "monetary",
        "first_order_at",
        "last_order_at",
        "r_score",
        "f_score",
        "m_score",
        "rfm_cell",
        "segment",
    )


def recency_days(last_order_at: ir.TimestampValue, as_of: dt.datetime) -> ir.IntegerValue:
    """Whole days from the last order's date to the as-of date."""
    return ibis.literal(as_of.date()).delta(last_order_at.date(), unit="day").cast("int64")


def score_rfm(per_customer: ir.Table, as_of: dt.datetime, bins: int) -> ir.Table:
    """Add recency_days, r/f/m scores, rfm_cell and segment to buyers' last_order_at,
    frequency and monetary (every row must be a buyer: scores rank the rows given)."""
    scored = per_customer.mutate(recency_days=recency_days(per_customer.last_order_at, as_of))
    scored = scored.mutate(
        r_score=_score(scored.recency_days, bins, higher_is_better=False),
        f_score=_score(scored.frequency, bins, higher_is_better=True),
        m_score=_score(scored.monetary, bins, higher_is_better=True),
    )
    # The grid is defined on 5 points; other bin counts are rescaled onto it.
    r5 = ((scored.r_score - 1) * 5 / bins).floor().cast("int64") + 1
    f5 = ((scored.f_score - 1) * 5 / bins).floor().cast("int64") + 1
    segment = ibis.cases(
        *(
            (r5.isin(list(rs)) & f5.isin(list(fs)), ibis.literal(name))
            for name, rs, fs in SEGMENT_GRID
        ),
        else_=ibis.literal("Need Attention"),
    )
    return scored.mutate(
        rfm_cell=scored.r_score.cast("string")
        + scored.f_score.cast("string")
        + scored.m_score.cast("string"),
        segment=segment,
    )
