"""Overlap matrix between segments: intersections, Jaccard and the share of A inside B.

Computed in the engine with one self-join of the members table on customer_id, grouped by
the pair of segments; the diagonal of that grouping is each segment's size.
"""

from __future__ import annotations

import ibis.expr.types as ir

SEGMENT_OVERLAP = "segment_overlap"


def overlap(members: ir.Table) -> ir.Table:
    """Every ordered pair of segments (diagonal included) with their shared customers.

    `members` is (segment, customer_id), one row per membership (no duplicates). Columns:
    segment_a, segment_b, size_a, size_b, both (customers in A and in B), jaccard
    (both / |A ∪ B|) and share_a_in_b (both / size_a: how much of A is also in B). Pairs
    that share nobody are present with zeros, so the result is a full matrix.
    """
    left = members.select(segment_a=members.segment, customer_id=members.customer_id)
    right = members.select(segment_b=members.segment, customer_id_b=members.customer_id)
    joined = left.join(right, left.customer_id == right.customer_id_b)
    pairs = joined.group_by("segment_a", "segment_b").aggregate(both=joined.count())
    diagonal = pairs.filter(pairs.segment_a == pairs.segment_b)
    sizes_a = diagonal.select(segment_a=diagonal.segment_a, size_a=diagonal.both)
    sizes_b = diagonal.select(segment_b=diagonal.segment_a, size_b=diagonal.both)
    grid = sizes_a.cross_join(sizes_b)
    found = pairs.select(pair_a=pairs.segment_a, pair_b=pairs.segment_b, both=pairs.both)
    full = grid.left_join(found, [grid.segment_a == found.pair_a, grid.segment_b == found.pair_b])
    both = full.both.fill_null(0)
    union = full.size_a + full.size_b - both
    return full.select(
        segment_a=full.segment_a,
        segment_b=full.segment_b,
        size_a=full.size_a,
        size_b=full.size_b,
        both=both,
        jaccard=both.cast("float64") / union.nullif(0).cast("float64"),
        share_a_in_b=both.cast("float64") / full.size_a.nullif(0).cast("float64"),
    ).order_by("segment_a", "segment_b")
