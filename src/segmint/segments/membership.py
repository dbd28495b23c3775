"""Segment membership over runs: who entered and left each segment, and migration views.

- ``segment_members`` (this run): (segment, customer_id), one row per membership.
- ``segment_membership_history``: (run_id, segment, customer_id, change) with change
  ``entered`` or ``left``, appended run after run. This run's rows come from diffing its
  members against the previous run's published ``segment_members`` (two anti-joins), the
  way the tags stage diffs ``customer_tags`` into ``tag_history``; the previous history is
  carried over unchanged.
- `migration`: for a family of mutually exclusive segments (RFM segments, value layers,
  clusters, or rule segments that never share a customer), how many customers went from
  each segment of the previous run to each segment of this run. ``none`` stands for "in no
  segment of the family" (new to the base, gone from it, or outside every segment).
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from segmint.project.spec_segments import NONE_SEGMENT, SegmentFamily
from segmint.segments.rules import layer_members

SEGMENT_MEMBERSHIP_HISTORY = "segment_membership_history"
SEGMENT_MIGRATION = "segment_migration"
HISTORY_SCHEMA = ibis.schema(
    {"run_id": "string", "segment": "string", "customer_id": "string", "change": "string"}
)
ENTERED = "entered"
LEFT = "left"


def _keys(members: ir.Table) -> ir.Table:
    return members.select(
        segment=members.segment.cast("string"), customer_id=members.customer_id.cast("string")
    )


def membership_changes(
    current: ir.Table,
    previous: ir.Table | None,
    run_id: str,
    segments: Sequence[str] | None = None,
) -> ir.Table:
    """This run's (run_id, segment, customer_id, change) rows: entered and left.

    With no previous run every member has entered. `segments` limits the diff to the
    segments still defined (a segment removed from the project does not make all its
    members "leave"); by default every segment of either run is diffed.
    """
    curr = _keys(current)
    run = ibis.literal(run_id, type="string")
    if previous is None:
        if segments is not None:
            curr = curr.filter(curr.segment.isin(list(segments)))
        return curr.select(
            run_id=run,
            segment=curr.segment,
            customer_id=curr.customer_id,
            change=ibis.literal(ENTERED),
        )
    prev = _keys(previous)
    if segments is not None:
        curr = curr.filter(curr.segment.isin(list(segments)))
        prev = prev.filter(prev.segment.isin(list(segments)))
    keys = ["segment", "customer_id"]
    entered = curr.join(prev, keys, how="anti")
    left = prev.join(curr, keys, how="anti")
    return ibis.union(
        entered.select(
            run_id=run,
            segment=entered.segment,
            customer_id=entered.customer_id,
            change=ibis.literal(ENTERED),
        ),
        left.select(
            run_id=run,
            segment=left.segment,
            customer_id=left.customer_id,
            change=ibis.literal(LEFT),
        ),
    )


def membership_history(
    current: ir.Table,
    previous: ir.Table | None,
    previous_history: ir.Table | None,
    run_id: str,
    segments: Sequence[str] | None = None,
) -> ir.Table:
    """The previous ``segment_membership_history`` with this run's changes appended."""
    changes = membership_changes(current, previous, run_id, segments)
    if previous_history is None:
        return changes
    prior = previous_history.select(*HISTORY_SCHEMA.names).cast(HISTORY_SCHEMA)
    return ibis.union(prior, changes)


def family_members(family: SegmentFamily, profile: ir.Table, members: ir.Table) -> ir.Table:
    """(segment, customer_id) of one family: from its profile column or its rule segments."""
    if family.column is not None:
        return layer_members(profile, family.column)
    assert family.segments is not None
    return _keys(members.filter(members.segment.isin(family.segments)))


def migration(
    previous: ir.Table,
    current: ir.Table,
    *,
    from_run: str | None = None,
    to_run: str | None = None,
) -> ir.Table:
    """(from_segment, to_segment, customers) between two runs of one exclusive family.

    With `from_run` and `to_run` the run ids lead the columns (the published
    ``segment_migration`` keeps several pairs of runs apart).

    Both inputs are (segment, customer_id) with at most one segment per customer. A
    customer only in `current` comes from ``none``; one only in `previous` goes to
    ``none``. Summing customers by from_segment gives the previous sizes (plus ``none``),
    by to_segment the current sizes: no customer is lost or counted twice.
    """
    prev = _keys(previous)
    prev = prev.select(customer_id=prev.customer_id, from_segment=prev.segment)
    curr = _keys(current)
    curr = curr.select(customer_id_c=curr.customer_id, to_segment=curr.segment)
    joined = prev.outer_join(curr, prev.customer_id == curr.customer_id_c)
    none = ibis.literal(NONE_SEGMENT)
    moved = joined.select(
        from_segment=joined.from_segment.fill_null(none),
        to_segment=joined.to_segment.fill_null(none),
    )
    flows = moved.group_by("from_segment", "to_segment").aggregate(customers=moved.count())
    if from_run is not None or to_run is not None:
        flows = flows.select(
            from_run=ibis.literal(from_run, type="string"),
            to_run=ibis.literal(to_run, type="string"),
            from_segment=flows.from_segment,
            to_segment=flows.to_segment,
            customers=flows.customers,
        )
    return flows.order_by("from_segment", "to_segment")


def shared_customers(members: ir.Table) -> ir.IntegerScalar:
    """How many customers hold more than one segment (0 for an exclusive family)."""
    per = members.group_by("customer_id").aggregate(n=members.count())
    return per.filter(per.n > 1).count()
