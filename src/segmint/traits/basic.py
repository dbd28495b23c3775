"""Basic attributes by survivorship: which customer record's value wins, per field.

Every rule orders a customer's records by one sort key that is unique per record, so the
winner is the same on every engine and every run: most_recent (updated_at, then source
priority), source_priority (priority, then recency), earliest (registered_at, then priority)
and most_frequent (count of the value, then recency). Records registered after the as-of
time are left out; a record updated after it still shows its latest values (sources export
only the current version).
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from segmint.project.spec_profile import SURVIVING_FIELDS, ProfileSettings

_FAR_FUTURE = dt.datetime(9999, 1, 1)


def epoch_key(ts: ir.TimestampValue) -> ir.StringValue:
    """A fixed-width text form of a timestamp that sorts like the timestamp."""
    seconds = ibis.greatest(ts.epoch_seconds().cast("int64"), ibis.literal(0))
    return seconds.cast("string").lpad(12, "0")


def _priority(source: ir.StringValue, order: list[str]) -> ir.IntegerValue:
    """0 for the most trusted source; unlisted sources after every listed one."""
    if not order:
        return ibis.literal(0)
    return ibis.cases(
        *((source == name, ibis.literal(i)) for i, name in enumerate(order)),
        else_=ibis.literal(len(order)),
    )


def customer_records(linked: ir.Table, as_of: dt.datetime) -> ir.Table:
    """Customer records (already carrying their customer_id) known at `as_of`."""
    return linked.filter(
        linked.registered_at.isnull() | (linked.registered_at <= ibis.literal(as_of))
    )


def surviving_attributes(records: ir.Table, settings: ProfileSettings) -> ir.Table:
    """One row per customer: each surviving field by its rule, registered_at, record count."""
    fields = [f for f in SURVIVING_FIELDS if f in records.columns]
    priority = _priority(records.source, settings.source_priority)
    updated = epoch_key(records.updated_at.fill_null(records.registered_at))
    registered = epoch_key(records.registered_at.fill_null(ibis.literal(_FAR_FUTURE)))
    tiebreak = records.source + "|" + records.record_key
    keyed = records.mutate(
        _recent=updated + (9 - priority).cast("string") + tiebreak,
        _priority=(9 - priority).cast("string") + updated + tiebreak,
        # argmin of this picks the earliest registration, then the most trusted source
        _earliest=registered + priority.cast("string") + tiebreak,
    )
    keys = {"most_recent": "_recent", "source_priority": "_priority", "earliest": "_earliest"}
    direct = {
        f: (
            keyed[f].argmin(keyed[keys["earliest"]], where=keyed[f].notnull())
            if settings.rule(f) == "earliest"
            else keyed[f].argmax(keyed[keys[settings.rule(f)]], where=keyed[f].notnull())
        )
        for f in fields
        if settings.rule(f) != "most_frequent"
    }
    base = keyed.group_by("customer_id").aggregate(
        registered_at=keyed.registered_at.min(),
        customer_records=keyed.count(),
        **direct,
    )
    for f in fields:
        if settings.rule(f) == "most_frequent":
            base = base.left_join(_most_frequent(keyed, f), "customer_id").drop("customer_id_right")
    return base


def _most_frequent(keyed: ir.Table, field: str) -> ir.Table:
    """The value seen on most records; ties go to the most recent record's value."""
    present = keyed.filter(keyed[field].notnull())
    counted = present.group_by(["customer_id", field]).aggregate(
        n=present.count(), latest=present._recent.max()
    )
    key = counted.n.cast("string").lpad(9, "0") + counted.latest
    return counted.group_by("customer_id").aggregate(**{field: counted[field].argmax(key)})
