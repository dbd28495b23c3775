"""Traits that place a customer relative to the whole base.

They change when anyone's records change, not only the customer's own, so they cannot live in
the whole-history state the incremental refresh keeps: `profile.current_windows` computes
them for every customer on every run.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir


def price_index(items: ir.Table, bought: ir.Table) -> ir.Table:
    """Per customer with priced lines: the mean within-category percentile of unit price.

    Each paid order line with a category and a unit price gets its percent rank among all
    such lines of its category (lines strictly cheaper / (lines in category - 1); 0 when the
    category has one line), so 0 means always the cheapest lines and 1 the dearest.
    """
    lines = items.join(bought.select("customer_id", "order_id"), "order_id")
    lines = lines.filter(lines.category.notnull() & lines.unit_price.notnull()).select(
        "customer_id", "category", _price=lines.unit_price.cast("float64")
    )
    position = ibis.percent_rank().over(group_by="category", order_by="_price")
    ranked = lines.mutate(_position=position)
    return ranked.group_by("customer_id").aggregate(price_index=ranked._position.mean())
