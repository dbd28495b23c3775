"""Ground-truth tables: persons and hubs (written once at the end), planted purchase intent
and attrition precursors (written chunk by chunk)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmint.generate import fmt
from segmint.generate.crm import member_text
from segmint.generate.hubs import HubRegistry
from segmint.generate.intent import Intent
from segmint.generate.people import People
from segmint.generate.personas import PERSONA_NAMES
from segmint.generate.stores import Stores
from segmint.generate.vocab import CITIES, INCOME_BANDS, OCCUPATIONS
from segmint.generate.writers import CsvSink, person_ids

PERSON_COLUMNS = (
    "person_id",
    "persona",
    "name",
    "gender",
    "birth_date",
    "province",
    "city",
    "city_tier",
    "occupation",
    "income_band",
    "customer_type",
    "company_name",
    "in_crm",
    "walk_in",
    "member_ids",
    "phone",
    "old_phone",
    "phone_changed_at",
    "email",
    "device_ids",
    "shared_device",
    "wechat_openid",
    "home_store",
    "registered_at",
    "churned_at",
    "dropped_out",
)
FUTURE_COLUMNS = ("person_id", "ordered_at", "amount", "channel")
HUB_COLUMNS = ("id_type", "value", "kind", "persons", "records")
INTENT_COLUMNS = ("person_id", "session_start", "platform", "purpose", "purchase_at", "lead_days")
ATTRITION_COLUMNS = ("person_id", "kind", "at", "left_at")
PLATFORMS = ("web", "app", "miniprogram")


def _flag(values: np.ndarray) -> pa.Array:
    return fmt.take(("false", "true"), np.asarray(values, np.int64))


def _utc(t: np.ndarray, present: np.ndarray) -> pa.Array:
    return fmt.blank_where(fmt.ts_iso(np.asarray(t, np.int64)), ~present)


def _code(codes: list[str], index: np.ndarray) -> pa.Array:
    return fmt.blank_where(fmt.take(codes, np.maximum(index, 0)), index < 0)


def write_persons(path: Path, people: People, stores: Stores) -> None:
    """One row per person: persona, profile and every identifier they truly own.

    Occupation and income band are the canonical codes, known for every B2C person (the
    CRM export leaves many blank) and blank for B2B accounts.
    """
    idx = np.arange(people.n, dtype=np.int64)
    member = people.member >= 0
    second = people.member2 >= 0
    members = fmt.blank_where(member_text(np.maximum(people.member, 0)), ~member)
    members = pc.if_else(
        pa.array(second),
        fmt.join(members, member_text(np.maximum(people.member2, 0)), sep=";"),
        members,
    )
    walk_in = people.walk_in
    devices = pc.if_else(
        pa.array(walk_in),
        people.web_device,
        fmt.join(people.web_device, people.app_device, people.mini_device, sep=";"),
    )
    changed = people.old_phone > 0
    sink = CsvSink(path, PERSON_COLUMNS)
    try:
        sink.write_columns(
            person_ids(idx),
            fmt.take(PERSONA_NAMES, people.persona),
            people.name,
            fmt.take(("M", "F"), people.female.astype(np.int64)),
            fmt.date_iso(people.birth),
            fmt.take([c[0] for c in CITIES], people.city),
            fmt.take([c[2] for c in CITIES], people.city),
            fmt.ints(np.array([c[3] for c in CITIES])[people.city]),
            _code([code for code, _ in OCCUPATIONS], people.occupation),
            _code([code for code, *_ in INCOME_BANDS], people.income),
            fmt.take(("b2c", "b2b"), pc.is_valid(people.company).to_numpy(False).astype(np.int64)),
            people.company,
            _flag(people.in_crm),
            _flag(walk_in),
            members,
            fmt.e164(people.phone),
            fmt.blank_where(fmt.e164(np.where(changed, people.old_phone, people.phone)), ~changed),
            _utc(people.phone_changed, changed),
            people.email,
            devices,
            _flag(people.app_hub >= 0),
            people.openid,
            stores.code.take(pa.array(people.store)),
            _utc(people.registered, member),
            _utc(people.churned, people.churned > 0),
            _flag(people.dropout),
        )
    finally:
        sink.close()


def write_hubs(path: Path, hubs: HubRegistry) -> None:
    """Every planted shared identifier with the persons and records that carry it."""
    persons, records = hubs.counts()
    sink = CsvSink(path, HUB_COLUMNS)
    try:
        if hubs.hubs:
            sink.write_columns(
                pa.array([h.id_type for h in hubs.hubs], pa.string()),
                pa.array([h.value for h in hubs.hubs], pa.string()),
                pa.array([h.kind for h in hubs.hubs], pa.string()),
                fmt.ints(persons),
                fmt.ints(records),
            )
    finally:
        sink.close()


def write_intent(sink: CsvSink, intent: Intent) -> None:
    """One row per research session: when it started (UTC), where, and the purchase it
    precedes (`purpose` purchase) or none (`false_start`)."""
    converts = intent.converts
    lead = np.nan_to_num(intent.lead_days) * 100
    sink.write_columns(
        person_ids(intent.person),
        fmt.ts_iso(intent.start),
        fmt.take(PLATFORMS, intent.platform),
        fmt.take(("false_start", "purchase"), converts.astype(np.int64)),
        _utc(intent.purchase_at, converts),
        fmt.blank_where(fmt.money(np.round(lead).astype(np.int64)), ~converts),
    )


def write_attrition(
    sink: CsvSink, kind: str, person: np.ndarray, at: np.ndarray, left_at: np.ndarray
) -> None:
    """One row per planted attrition precursor: who, what (`kind`), when, and when they left."""
    sink.write_columns(
        person_ids(np.asarray(person, np.int64)),
        fmt.take((kind,), np.zeros(len(person), np.int64)),
        fmt.ts_iso(np.asarray(at, np.int64)),
        fmt.ts_iso(np.asarray(left_at, np.int64)),
    )
