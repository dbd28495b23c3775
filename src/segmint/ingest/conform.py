"""Conform staged sources into one table per canonical entity, flagging orphan records."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from segmint.engine.engine import Engine, table_name
from segmint.ingest.stage import SourceLoad
from segmint.project.entities import ENTITIES

HAS_CUSTOMER = "has_customer_record"
_LINK_FIELDS = ("member_id", "phone", "email", "device_id", "wechat_openid")


def conform_entities(engine: Engine, run_id: str, loads: list[SourceLoad]) -> dict[str, str]:
    """Union the loaded rows of each entity's sources; returns entity name -> run table name.

    Rows of entities that reference customers get `has_customer_record`: true when one of
    their identifiers (member id, phone, e-mail, device, WeChat id) matches a customer
    record. Such orphans are kept.
    """
    built: dict[str, str] = {}
    customers: ir.Table | None = None
    for entity in ENTITIES.values():
        staged = []
        for load in loads:
            if load.entity != entity.name:
                continue
            rows = load.staged
            if entity.references_customers:
                rows = rows.mutate(**{HAS_CUSTOMER: _known(rows, customers, load.mapped)})
            staged.append(rows)
        if not staged:
            continue
        # Sources agree on types but not always on precision (timestamp vs timestamp(6)).
        schema = staged[0].schema()
        union = (
            ibis.union(*(rows.cast(schema) for rows in staged)) if len(staged) > 1 else staged[0]
        )
        table = engine.materialize(engine.run_table(run_id, entity.name), union)
        if entity.name == "customers":
            customers = table
        built[entity.name] = table_name(table)
    return built


def _known(rows: ir.Table, customers: ir.Table | None, mapped: tuple[str, ...]) -> ir.BooleanValue:
    """Whether one of the identifiers the source fills matches a customer record."""
    fields = [f for f in _LINK_FIELDS if f in mapped]
    if customers is None or not fields:
        return ibis.literal(False)
    known = [
        rows[f].isin(customers.filter(customers[f].notnull())[f]).fill_null(False) for f in fields
    ]
    flag = known[0]
    for other in known[1:]:
        flag = flag | other
    return flag
