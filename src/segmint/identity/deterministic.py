"""Deterministic identity: records sharing a normalised identifier are one customer.

The record-identifier graph is solved inside the engine by iterative min-label propagation
(each round is one SQL query over the edge table), so it runs on DuckDB and Spark alike and
never pulls edges into Python. Hubs — identifier values seen with too many other
identifiers, or on the deny-list — link nothing and are reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from segmint.engine.engine import Engine, table_name
from segmint.errors import IdentityError
from segmint.ingest.readers import FILE_COLUMN, LINE_COLUMN
from segmint.ingest.stage import RECORD_KEY, SOURCE
from segmint.project.entities import ENTITIES
from segmint.project.spec import IdentitySettings


@dataclass(frozen=True)
class IdentityResult:
    """Run tables identity built and its headline numbers."""

    identity_map: str
    hubs: str
    records: int
    customers: int
    hubs_blocked: int
    iterations: int


def _records(engine: Engine, entity_tables: dict[str, str], settings: IdentitySettings) -> ir.Table:
    """Every record that can carry a person, with its identifiers (null where unmapped)."""
    parts = []
    for entity_name, physical in entity_tables.items():
        entity = ENTITIES[entity_name]
        if not any(c.identifier for c in entity.columns):
            continue
        table = engine.table(physical)
        parts.append(
            table.select(
                entity=ibis.literal(entity_name),
                source=table[SOURCE],
                record_key=table[RECORD_KEY],
                **{FILE_COLUMN: table[FILE_COLUMN], LINE_COLUMN: table[LINE_COLUMN]},
                **{
                    kind: table[kind].cast("string")
                    if kind in entity.columns_by_name
                    else ibis.null("string")
                    for kind in settings.identifiers
                },
            )
        )
    if not parts:
        raise IdentityError("no source maps an identifier column; nothing to unify")
    return ibis.union(*parts)


def _edges(records: ir.Table, settings: IdentitySettings) -> ir.Table:
    """One row per (record node, identifier type, normalised value)."""
    parts = [
        records.filter(records[kind].notnull()).select(
            node=records.node, id_type=ibis.literal(kind), id_value=records[kind]
        )
        for kind in settings.identifiers
    ]
    return ibis.union(*parts, distinct=True)


def _node_id(records: ir.Table, source_files: dict[str, list[str]]) -> ir.IntegerValue:
    """A unique, deterministic int64 per record from (source, file, line), without a sort."""
    later_files = [
        ((records.source == source) & (records[FILE_COLUMN] == file), ibis.literal(f, "int64"))
        for source, files in source_files.items()
        for f, file in enumerate(files)
        if f
    ]
    file_index = (
        ibis.cases(*later_files, else_=ibis.literal(0, "int64"))
        if later_files
        else ibis.literal(0, "int64")
    )
    source_index = ibis.cases(
        *(
            (records.source == source, ibis.literal(i, "int64"))
            for i, source in enumerate(source_files)
        ),
        else_=ibis.literal(len(source_files), "int64"),
    )
    return (source_index * 2**42 + file_index * 2**32 + records[LINE_COLUMN]).cast("int64")


def resolve_identity(
    engine: Engine,
    run_id: str,
    entity_tables: dict[str, str],
    settings: IdentitySettings,
    source_files: dict[str, list[str]],
    progress: Callable[[int], None] | None = None,
) -> IdentityResult:
    """Build `identity_map` (source, entity, record_key, customer_id) and `identity_hubs`."""

    def name(base: str) -> str:
        return engine.run_table(run_id, base)

    unioned = _records(engine, entity_tables, settings)
    records = engine.materialize(
        name("id_records"),
        unioned.mutate(node=_node_id(unioned, source_files)),
        temporary=True,
    )
    edges = engine.materialize(name("id_edges"), _edges(records, settings), temporary=True)

    # Hubs: values on the deny-list, or seen with too many distinct other identifiers.
    partners = (
        edges.join(edges.view(), "node")
        .filter(lambda t: (t.id_type != t.id_type_right) | (t.id_value != t.id_value_right))
        .group_by(["id_type", "id_value"])
        .aggregate(partners=lambda t: (t.id_type_right + ":" + t.id_value_right).nunique())
    )
    denied = edges.filter(edges.id_value.isin(settings.deny)).select("id_type", "id_value")
    denied = denied.distinct().mutate(partners=ibis.null("int64"), reason=ibis.literal("deny-list"))
    too_many = partners.filter(partners.partners > settings.max_partners_per_identifier).mutate(
        reason=ibis.literal("too many partners")
    )
    too_many = too_many.anti_join(denied, ["id_type", "id_value"])
    hubs = engine.materialize(
        name("identity_hubs"), ibis.union(denied, too_many.cast(denied.schema()))
    )

    links = edges.anti_join(hubs, ["id_type", "id_value"])
    ids = links.select("id_type", "id_value").distinct()
    ids = ids.mutate(idn=ibis.row_number().over(order_by=["id_type", "id_value"]))
    links = engine.materialize(
        name("id_links"),
        links.join(ids, ["id_type", "id_value"]).select("node", "idn"),
        temporary=True,
    )

    labels = engine.materialize(
        name("id_labels_0"),
        records.select("node", label=records.node, changed=ibis.literal(False)),
        temporary=True,
    )
    iterations = 0
    for iteration in range(1, settings.max_iterations + 1):
        iterations = iteration
        id_label = (
            links.join(labels, "node").group_by("idn").aggregate(label=lambda t: t.label.min())
        )
        candidate = (
            links.join(id_label, "idn")
            .group_by("node")
            .aggregate(candidate=lambda t: t.label.min())
        )
        joined = labels.left_join(candidate, "node")
        lower = joined.candidate.notnull() & (joined.candidate < joined.label)
        new_labels = joined.select(
            node=joined.node,
            label=ibis.cases((lower, joined.candidate), else_=joined.label),
            changed=lower,
        )
        updated = engine.materialize(name(f"id_labels_{iteration}"), new_labels, temporary=True)
        changed = engine.scalar(updated.changed.sum())
        engine.drop(table_name(labels))
        labels = updated
        if progress is not None:
            progress(iteration)
        if not changed:
            break
    else:
        raise IdentityError(
            f"label propagation did not converge in {settings.max_iterations} rounds; "
            "raise identity.max_iterations"
        )

    # Customer ids number the components in order of their smallest record.
    components = labels.select("label").distinct()
    components = components.mutate(
        customer_id=ibis.literal("C")
        + (ibis.row_number().over(order_by=components.label) + 1).cast("string").lpad(9, "0")
    )
    component = labels.join(components, "label").select("node", "customer_id")
    identity = engine.materialize(
        name("identity_map"),
        records.join(component, "node").select("source", "entity", "record_key", "customer_id"),
    )
    for temp in ("id_records", "id_edges", "id_links"):
        engine.drop(name(temp))
    engine.drop(table_name(labels))
    return IdentityResult(
        identity_map=table_name(identity),
        hubs=table_name(hubs),
        records=int(engine.scalar(identity.count())),
        customers=int(engine.scalar(identity.customer_id.nunique())),
        hubs_blocked=int(engine.scalar(hubs.count())),
        iterations=iterations,
    )
