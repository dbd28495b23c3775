"""Conform staged sources into one table per canonical entity, flagging orphan records."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from segmint.engine.engine import Engine
from segmint.ingest.stage import SourceLoad
from segmint.project.entities import ENTITIES

HAS_CUSTOMER = "has_customer_record"
_LINK_FIELDS = ("member_id", "phone", "email", "device_id", "wechat_openid")


def conform_entities(engine: Engine, run_id: str, loads: list[SourceLoad]) -> dict[str, str]:
    """Union the staged tables of each entity; returns entity name -> run table name.

    Rows of entities that reference customers get `has_customer_record`: true when one of
    their identifiers (member id, phone, e-mail, device, WeChat id) matches a customer
    record. Such orphans are kept.
    """
    built: dict[str, str] = {}
    customers: ir.Table | None = None
    for entity in ENTITIES.values():
        staged = [engine.table(load.staged_table) for load in loads if load.entity == entity.name]
        if not staged:
            continue
        union = staged[0] if len(staged) == 1 else ibis.union(*staged)
        name = engine.run_table(run_id, entity.name)
        if entity.references_customers:
            if customers is None:
                union = union.mutate(**{HAS_CUSTOMER: ibis.literal(False)})
            else:
                known = [
                    union[f].isin(customers.filter(customers[f].notnull())[f]).fill_null(False)
                    for f in _LINK_FIELDS
                ]
                flag = known[0]
                for other in known[1:]:
                    flag = flag | other
                union = union.mutate(**{HAS_CUSTOMER: flag})
        table = engine.materialize(name, union)
        if entity.name == "customers":
            customers = table
        built[entity.name] = name
    return built
