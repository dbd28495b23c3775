"""Connected components in the engine, by iterative min-label propagation.

Each round is one query over the link table: every identifier takes the smallest label of
the nodes it touches, every node the smallest label of its identifiers. It stops when no
label changes, so it runs on DuckDB and Spark alike and never pulls edges into Python.

After the first round only the identifiers touching a node whose label just changed are
looked at again (the frontier) once fewer than a tenth of the nodes changed: an identifier
none of whose nodes changed has the same smallest label as before, and its nodes already
carry a label no larger. Late rounds, where a few long chains are still settling, then read
a sliver of the links instead of all.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir

from segmint.engine.engine import Engine, table_name
from segmint.errors import IdentityError


def connected_components(
    engine: Engine,
    name: Callable[[str], str],
    nodes: ir.Table,
    links: ir.Table,
    max_iterations: int,
    tag: str = "cc",
    progress: Callable[[int], None] | None = None,
) -> tuple[ir.Table, int]:
    """Label every node of `nodes` (column `node`) with the smallest node of its component.

    `links` has columns `node` and `idn` (a shared identifier): two nodes with the same
    `idn` are connected. Returns the materialised table (node, label, changed; named
    `<tag>_labels_<round>`, dropped by the caller) and the number of rounds.
    """
    labels = engine.materialize(
        name(f"{tag}_labels_0"),
        nodes.select("node", label=nodes.node, changed=ibis.literal(False)),
        temporary=True,
    )
    node_count = int(engine.scalar(labels.count()))
    changed = node_count
    for iteration in range(1, max_iterations + 1):
        if changed * 10 > node_count:  # a wide frontier costs more to find than to read
            frontier = links
        else:
            moved = links.semi_join(labels.filter(labels.changed), "node")
            frontier = links.semi_join(moved.select("idn").distinct(), "idn")
        id_label = (
            frontier.join(labels, "node").group_by("idn").aggregate(label=lambda t: t.label.min())
        )
        candidate = (
            frontier.join(id_label, "idn")
            .group_by("node")
            .aggregate(candidate=lambda t: t.label.min())
        )
        joined = labels.left_join(candidate, "node")
        lower = joined.candidate.notnull() & (joined.candidate < joined.label)
        updated = engine.materialize(
            name(f"{tag}_labels_{iteration}"),
            joined.select(
                node=joined.node,
                label=ibis.cases((lower, joined.candidate), else_=joined.label),
                changed=lower,
            ),
            temporary=True,
        )
        changed = int(engine.scalar(updated.changed.sum()) or 0)
        engine.drop(table_name(labels))
        labels = updated
        if progress is not None:
            progress(iteration)
        if not changed:
            return labels, iteration
    raise IdentityError(
        f"label propagation did not converge in {max_iterations} rounds; "
        "raise identity.max_iterations"
    )
