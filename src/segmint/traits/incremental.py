"""Which customers need their history traits recomputed since the last run.

A customer is dirty when its fingerprint changed (a record added, removed, edited, or moved
to or from it by identity resolution) or when one of its records became visible because the
as-of time moved past it. Everyone else keeps last run's history state; the as-of-relative
traits are recomputed for all in `finalize`, so the result equals a full rebuild.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from segmint.digest import json_digest
from segmint.project.spec_profile import ProfileSettings
from segmint.traits.profile import ACTIVITY_TIME, ProfileInputs

_META_COLUMNS = frozenset({"_file", "_line", "has_customer_record"})
_MODULUS = 2_147_483_647


def _row_hash(table: ir.Table) -> ir.IntegerValue:
    """A hash of a row's content (engine-specific, stable within one engine)."""
    parts = [
        table[c].cast("string").fill_null("~null~")
        for c in table.columns
        if c not in _META_COLUMNS and c != "customer_id"
    ]
    text = ibis.literal("|").join(parts)
    return text.hash() % _MODULUS


def fingerprints(inputs: ProfileInputs) -> ir.Table:
    """Per customer: the sum of its records' content hashes and how many records it has."""
    parts = []
    for entity in ACTIVITY_TIME:
        table = inputs.with_ids(entity)
        if table is None:
            continue
        parts.append(table.select("customer_id", _h=_row_hash(table)))
        if entity == "orders" and "order_items" in inputs.entities:
            items = inputs.entities["order_items"]
            owners = table.select("order_id", "customer_id").distinct()
            lines = items.join(owners, "order_id")
            parts.append(lines.select("customer_id", _h=_row_hash(lines)))
    if not parts:
        return ibis.memtable({"customer_id": [], "fingerprint": [], "records": []}).cast(
            {"customer_id": "string", "fingerprint": "int64", "records": "int64"}
        )
    rows = ibis.union(*parts)
    return rows.group_by("customer_id").aggregate(
        fingerprint=rows._h.cast("int64").sum(), records=rows.count()
    )


def dirty_customers(
    now: ir.Table,
    before: ir.Table,
    inputs: ProfileInputs,
    previous_as_of: dt.datetime,
    as_of: dt.datetime,
) -> ir.Table:
    """Customer ids whose history state must be recomputed."""
    joined = now.outer_join(before, "customer_id")
    changed = joined.filter(
        joined.customer_id.isnull()
        | joined.customer_id_right.isnull()
        | (joined.fingerprint != joined.fingerprint_right)
        | (joined.records != joined.records_right)
    ).select(customer_id=joined.customer_id.fill_null(joined.customer_id_right))
    dirty = [changed]
    if as_of > previous_as_of:
        for entity, column in ACTIVITY_TIME.items():
            table = inputs.with_ids(entity)
            if table is None:
                continue
            moved = table.filter(
                (table[column] > ibis.literal(previous_as_of))
                & (table[column] <= ibis.literal(as_of))
            )
            dirty.append(moved.select("customer_id"))
    return ibis.union(*dirty, distinct=True)


def settings_hash(settings: ProfileSettings, inputs: ProfileInputs, rfm_bins: int) -> str:
    """What a history state depends on besides the data: settings and input schemas."""
    schemas = {name: dict(table.schema().items()) for name, table in inputs.entities.items()}
    document = {
        "profile": settings.model_dump(mode="json", exclude={"incremental"}),
        "schemas": {n: {c: str(t) for c, t in s.items()} for n, s in sorted(schemas.items())},
        "rfm_bins": rfm_bins,
        "version": 3,  # bump when the state's columns or meaning change
    }
    return json_digest(document)
