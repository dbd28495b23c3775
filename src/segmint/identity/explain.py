"""Why a customer is one customer: its records, identifiers and the evidence that joined them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import ibis
import pandas as pd

from segmint.engine.engine import Engine
from segmint.errors import TableNotFoundError
from segmint.identity.resolve import (
    IDENTITY_HISTORY,
    IDENTITY_HUBS,
    IDENTITY_LINKS,
    IDENTITY_MAP,
)
from segmint.ingest.stage import RECORD_KEY, SOURCE
from segmint.project.entities import ENTITIES

if TYPE_CHECKING:
    from segmint.access.policy import AccessPolicy


@dataclass(frozen=True)
class CustomerExplanation:
    """Everything behind one customer_id, as small frames."""

    customer_id: str
    sources: pd.DataFrame  # source, entity, records
    identifiers: pd.DataFrame  # id_type, id_value, records, sources, hub_reason
    records: pd.DataFrame  # a sample: source, entity, record_key, identifiers
    links: pd.DataFrame  # probabilistic evidence touching this customer's records
    history: pd.DataFrame  # merges and splits this id took part in


def _identifier_rows(engine: Engine, mine: ibis.Table) -> ibis.Table | None:
    """(source, entity, record_key, id_type, id_value) of the customer's records."""
    parts = []
    for entity in ENTITIES.values():
        kinds = [c.name for c in entity.columns if c.identifier]
        if not kinds or not engine.exists(entity.name):
            continue
        table = engine.table(entity.name)
        joined = table.semi_join(mine, [SOURCE, RECORD_KEY])
        for kind in kinds:
            rows = joined.filter(joined[kind].notnull())
            parts.append(
                rows.select(
                    SOURCE,
                    RECORD_KEY,
                    entity=ibis.literal(entity.name),
                    id_type=ibis.literal(kind),
                    id_value=rows[kind].cast("string"),
                )
            )
    return ibis.union(*parts) if parts else None


def explain_customer(engine: Engine, customer_id: str, sample: int = 20) -> CustomerExplanation:
    """Records, identifiers, probabilistic evidence and id history of one customer."""
    identity = engine.table(IDENTITY_MAP)
    mine = identity.filter(identity.customer_id == customer_id)
    sources = engine.to_pandas(
        mine.group_by([SOURCE, "entity"]).aggregate(records=mine.count()).order_by(SOURCE)
    )
    if sources.empty:
        raise TableNotFoundError(f"no customer {customer_id!r} in {IDENTITY_MAP}")

    rows = _identifier_rows(engine, mine)
    if rows is None:
        identifiers = pd.DataFrame(columns=["id_type", "id_value", "records", "sources"])
        records = pd.DataFrame(columns=[SOURCE, "entity", RECORD_KEY])
    else:
        grouped = rows.group_by(["id_type", "id_value"]).aggregate(
            records=rows.count(), sources=rows[SOURCE].nunique()
        )
        if engine.exists(IDENTITY_HUBS):
            hubs = engine.table(IDENTITY_HUBS)
            grouped = grouped.left_join(
                hubs.select("id_type", "id_value", "reason"), ["id_type", "id_value"]
            )
            grouped = grouped.select(
                "id_type", "id_value", "records", "sources", hub_reason=grouped.reason
            )
        identifiers = engine.to_pandas(grouped.order_by(["id_type", ibis.desc("records")]))
        keys = mine.order_by([SOURCE, RECORD_KEY]).limit(sample)
        wide = rows.semi_join(keys, [SOURCE, RECORD_KEY])
        records = engine.to_pandas(wide.order_by([SOURCE, RECORD_KEY, "id_type"]))
        if not records.empty:
            records = (
                records.pivot_table(
                    index=[SOURCE, "entity", RECORD_KEY],
                    columns="id_type",
                    values="id_value",
                    aggfunc="first",
                )
                .reset_index()
                .rename_axis(columns=None)
            )

    links = pd.DataFrame()
    if engine.exists(IDENTITY_LINKS):
        table = engine.table(IDENTITY_LINKS)
        if {"source_l", "record_key_l", "source_r", "record_key_r"} <= set(table.columns):
            keys = mine.select(SOURCE, RECORD_KEY)
            left = table.semi_join(
                keys, [table.source_l == keys[SOURCE], table.record_key_l == keys[RECORD_KEY]]
            )
            right = table.semi_join(
                keys, [table.source_r == keys[SOURCE], table.record_key_r == keys[RECORD_KEY]]
            )
            links = engine.to_pandas(
                ibis.union(left, right).order_by(ibis.desc("match_probability"))
            )

    history = pd.DataFrame()
    if engine.exists(IDENTITY_HISTORY):
        table = engine.table(IDENTITY_HISTORY)
        history = engine.to_pandas(
            table.filter(
                (table.old_customer_id == customer_id) | (table.new_customer_id == customer_id)
            ).order_by("run_id")
        )
    return CustomerExplanation(
        customer_id=customer_id,
        sources=sources,
        identifiers=identifiers,
        records=records,
        links=links,
        history=history,
    )


def explain_for_role(
    policy: AccessPolicy, customer_id: str, role: str | None, sample: int = 20
) -> CustomerExplanation:
    """`explain_customer` as `role` may see it, audited as one read.

    The explanation is computed on the stored values (masked values would join and group
    wrongly: two phones can share a mask) and then masked with each frame's table rules.
    The role must be allowed to read every table the explanation draws on.
    """
    engine = policy.engine
    drawn = [IDENTITY_MAP, IDENTITY_HUBS, IDENTITY_LINKS, IDENTITY_HISTORY] + [
        e.name for e in ENTITIES.values() if any(c.identifier for c in e.columns)
    ]
    obj = f"customer:{customer_id}"
    for table in drawn:
        if engine.exists(table):
            policy.authorize(table, role, action="explain")
    found = explain_customer(engine, customer_id, sample=sample)
    # The records frame holds identifier columns named as in every entity table.
    shapes = {
        "sources": IDENTITY_MAP,
        "identifiers": IDENTITY_HUBS,
        "records": "customers",
        "links": IDENTITY_LINKS,
        "history": IDENTITY_HISTORY,
    }
    frames: dict[str, pd.DataFrame] = {}
    decisions = []
    for field, table in shapes.items():
        frame: pd.DataFrame = getattr(found, field)
        decisions.append(policy.decide(table, [str(c) for c in frame.columns], role))
        frames[field] = policy.mask_frame(table, frame, role, action="explain", audit=False)
    policy.audit("explain", obj, decisions)
    return CustomerExplanation(
        customer_id=found.customer_id,
        sources=frames["sources"],
        identifiers=frames["identifiers"],
        records=frames["records"],
        links=frames["links"],
        history=frames["history"],
    )
