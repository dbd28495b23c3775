"""Stable customer ids: a person keeps their customer_id across runs as data grows.

Each component of this run inherits the previous id that most of its records carried,
provided that previous id's records mostly went to this component. When components that
were two customers become one, the larger keeps its id and the other is recorded as a
merge; when a customer falls apart, the part holding most of its records keeps the id and
the others get new ids, recorded as splits. New components get ids above every id issued
before, so an id is never reused for another person.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

HISTORY_SCHEMA = ibis.schema(
    {
        "run_id": "string",
        "old_customer_id": "string",
        "new_customer_id": "string",
        "reason": "string",
        "records": "int64",
    }
)
ID_PREFIX = "C"
ID_DIGITS = 9


def format_id(number: ir.IntegerValue) -> ir.StringValue:
    """C000000001-style text of a customer number."""
    return ibis.literal(ID_PREFIX) + number.cast("string").lpad(ID_DIGITS, "0")


def id_number(customer_id: ir.StringValue) -> ir.IntegerValue:
    """The number inside a C000000001-style id (null for ids of another shape)."""
    digits = customer_id.substr(len(ID_PREFIX))
    return ibis.cases((digits.re_search(r"^\d+$"), digits.cast("int64")), else_=ibis.null("int64"))


def assign_ids(
    record_labels: ir.Table,
    previous: ir.Table | None,
    run_id: str,
    labels: ir.Table | None = None,
) -> tuple[ir.Table, ir.Table]:
    """(label → customer_id, id history rows of this run).

    `record_labels` has one row per record: source, record_key, label (this run's
    component). `previous` is the last published identity map (source, record_key,
    customer_id) or None on the first run. `labels` (column `label`), when given, is the
    distinct labels of `record_labels` already at hand; on a first run it is then the only
    input read, so the record-level expression is never computed.
    """
    labels = (record_labels if labels is None else labels).select("label").distinct()
    if previous is None:
        first = labels.mutate(
            customer_id=format_id(ibis.row_number().over(order_by=labels.label) + 1)
        )
        return first.select("label", "customer_id"), _no_history()

    earlier = previous.filter(previous.customer_id.notnull())
    overlap = (
        record_labels.join(earlier, ["source", "record_key"])
        .group_by(["label", "customer_id"])
        .aggregate(n=lambda t: t.count())
    )
    # Where most of each old id's records went, and which old id each component keeps.
    old_rank = ibis.row_number().over(
        group_by=overlap.customer_id, order_by=[overlap.n.desc(), overlap.label]
    )
    overlap = overlap.mutate(old_rank=old_rank)
    home = overlap.filter(overlap.old_rank == 0)
    keep_rank = ibis.row_number().over(
        group_by=home.label, order_by=[home.n.desc(), home.customer_id]
    )
    home = home.mutate(keep_rank=keep_rank)
    kept = home.filter(home.keep_rank == 0).select("label", "customer_id")

    issued = earlier.aggregate(top=id_number(earlier.customer_id).max()).select(
        top=lambda t: t.top.fill_null(0)
    )
    fresh = labels.anti_join(kept, "label")
    fresh = fresh.cross_join(issued)
    fresh = fresh.select(
        "label",
        customer_id=format_id(fresh.top + ibis.row_number().over(order_by=fresh.label) + 1),
    )
    assigned = ibis.union(kept, fresh)

    merges = home.filter(home.keep_rank > 0).join(assigned, "label")
    merges = merges.select(
        run_id=ibis.literal(run_id),
        old_customer_id=merges.customer_id,
        new_customer_id=merges.customer_id_right,
        reason=ibis.literal("merge"),
        records=merges.n.cast("int64"),
    )
    splits = overlap.filter(overlap.old_rank > 0).join(assigned, "label")
    splits = splits.filter(splits.customer_id != splits.customer_id_right)
    splits = splits.select(
        run_id=ibis.literal(run_id),
        old_customer_id=splits.customer_id,
        new_customer_id=splits.customer_id_right,
        reason=ibis.literal("split"),
        records=splits.n.cast("int64"),
    )
    return assigned, ibis.union(merges, splits).cast(HISTORY_SCHEMA)


def _no_history() -> ir.Table:
    return ibis.memtable({name: [] for name in HISTORY_SCHEMA.names}, schema=HISTORY_SCHEMA)
