"""The CRM member export: one row per member record, in member-number order.

Some persons have two records (registered again in a store, often with a typo or the
phone number they had then); a few records carry a placeholder phone or e-mail, or the
in-store tablet's device id. Members not yet synced (orphans) and walk-ins have no row.
Occupation and monthly income are optional profile fields: often left blank, more often
on store re-registrations, never filled for company accounts.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmint.generate import fmt
from segmint.generate.arrays import I64
from segmint.generate.hubs import PLACEHOLDER_EMAIL, PLACEHOLDER_PHONES, HubRegistry, Placeholders
from segmint.generate.ids import swap_digits
from segmint.generate.people import People, persona_param
from segmint.generate.personas import B2B
from segmint.generate.seasons import Calendar
from segmint.generate.sources import Frame
from segmint.generate.stores import Stores
from segmint.generate.vocab import (
    CITIES,
    INCOME_BANDS,
    MEMBER_LEVELS,
    OCCUPATIONS,
    REGISTER_CHANNELS,
)

PHONE_STYLE_CRM = (0.7, 0.08, 0.04, 0.05, 0.08, 0.03, 0.02)
STORE_CHANNEL = REGISTER_CHANNELS.index("门店")
APP_CHANNEL = REGISTER_CHANNELS.index("APP")


def member_text(numbers: I64) -> pa.Array:
    """Member numbers as written everywhere: M00123456."""
    return fmt.padded(numbers, 8, "M")


def phone_codes(n: int, rng: np.random.Generator, style: tuple[float, ...]) -> I64:
    """How each row writes its phone number (see fmt.phone_text)."""
    return rng.choice(len(style), n, p=np.asarray(style) / np.sum(style)).astype(np.int64)


def email_codes(n: int, rng: np.random.Generator) -> I64:
    """How each row writes its e-mail address (see fmt.email_text)."""
    return rng.choice(5, n, p=[0.8, 0.04, 0.06, 0.06, 0.04]).astype(np.int64)


def _profile(
    people: People, person: I64, is_dup: np.ndarray, rng: np.random.Generator
) -> tuple[pa.Array, pa.Array]:
    """Occupation and monthly income labels; ~30 % / ~40 % blank (60 % / 70 % on duplicates)."""
    n = len(person)
    occupation = people.occupation[person]
    income = people.income[person]
    no_occupation = (occupation < 0) | (rng.random(n) < np.where(is_dup, 0.6, 0.3))
    no_income = no_occupation | (income < 0) | (rng.random(n) < np.where(is_dup, 0.25, 0.15))
    labels = fmt.take([label for _, label in OCCUPATIONS], np.maximum(occupation, 0))
    bands = fmt.take([label for _, label, _ in INCOME_BANDS], np.maximum(income, 0))
    return fmt.blank_where(labels, no_occupation), fmt.blank_where(bands, no_income)


def crm_frame(
    people: People,
    stores: Stores,
    cal: Calendar,
    hubs: HubRegistry,
    placeholders: Placeholders,
    rng: np.random.Generator,
) -> Frame:
    """All CRM records (primary and duplicate), sorted by member number."""
    primary = np.flatnonzero(people.in_crm)
    second = np.flatnonzero(people.in_crm & (people.member2 >= 0))
    person = np.concatenate([primary, second])
    is_dup = np.concatenate([np.zeros(len(primary), bool), np.ones(len(second), bool)])
    number = np.where(is_dup, people.member2[person], people.member[person])
    order = np.argsort(number, kind="stable")
    person, is_dup, number = person[order], is_dup[order], number[order]
    n = len(person)
    # a child stream, so the profile fields leave every other value of a seed unchanged
    occupation, income = _profile(people, person, is_dup, rng.spawn(1)[0])
    persona = people.persona[person]
    b2b = persona == B2B
    registered = np.where(is_dup, people.registered2[person], people.registered[person])
    changed = people.phone_changed[person]
    touched = np.maximum(registered, changed)
    updated = touched + (rng.random(n) * (cal.as_of - 3600 - touched)).astype(np.int64)
    updated = np.maximum(updated, registered)

    # name, gender, birthday
    name = pc.if_else(
        pa.array(rng.random(n) < np.where(is_dup, 0.5, 0.02)),
        people.name_typo.take(pa.array(person)),
        people.name.take(pa.array(person)),
    )
    female = people.female[person]
    style = rng.choice(4, n, p=[0.6, 0.3, 0.05, 0.05])
    style = np.where(b2b & (rng.random(n) < 0.6), 3, style)
    gender_table = ["男", "女", "M", "F", "未知", "未知", "", ""]
    gender = fmt.take(gender_table, style * 2 + female)
    gender = fmt.blank_where(gender, style == 3)
    birth_days = people.birth[person]
    birthday = fmt.mixed(
        (rng.random(n) < 0.15).astype(np.int8),
        [lambda i: fmt.date_iso(birth_days[i]), lambda i: fmt.date_slash(birth_days[i])],
    )
    birthday = fmt.blank_where(birthday, (rng.random(n) < np.where(b2b, 0.7, 0.05)))

    # phone: current number, the old one on stale duplicate records, or a placeholder
    phone = people.phone_at(person, np.where(is_dup, registered, cal.as_of))
    phone = np.where(rng.random(n) < 0.01, swap_digits(phone, rng), phone)
    placeholder = rng.random(n) < 0.006
    which = rng.integers(0, len(PLACEHOLDER_PHONES), n)
    phone = np.where(placeholder, np.asarray(PLACEHOLDER_PHONES)[which], phone)
    hubs.hit(np.where(placeholder, placeholders.phones[which], -1), person)
    mobile = fmt.phone_text(phone, phone_codes(n, rng, PHONE_STYLE_CRM))

    # e-mail: primary records mostly right, some typos; duplicates rarely have one
    keep = np.where(is_dup, rng.random(n) < 0.3, True)
    typo = rng.random(n) < np.where(is_dup, 0.1, 0.02)
    email = pc.if_else(
        pa.array(typo),
        people.email_typo.take(pa.array(person)),
        people.email.take(pa.array(person)),
    )
    email = fmt.blank_where(email, ~keep)
    fake = rng.random(n) < 0.004
    email = pc.if_else(pa.array(fake), pa.scalar(PLACEHOLDER_EMAIL), email)
    hubs.hit(np.where(fake, placeholders.email, -1), person)
    email = fmt.email_text(email, email_codes(n, rng))

    # where: province (full or short name), city (with or without 市)
    city = people.city[person]
    province = pc.if_else(
        pa.array(rng.random(n) < 0.7),
        fmt.take([c[0] for c in CITIES], city),
        fmt.take([c[1] for c in CITIES], city),
    )
    city_text = pc.if_else(
        pa.array(rng.random(n) < 0.5),
        fmt.take([c[2] + "市" for c in CITIES], city),
        fmt.take([c[2] for c in CITIES], city),
    )

    # how they joined; the in-store tablet's id for many store registrations
    channel = np.where(is_dup, STORE_CHANNEL, people.reg_channel[person])
    u = rng.random(n)
    app_dev = (channel == APP_CHANNEL) & (u < 0.7)
    tablet = (channel == STORE_CHANNEL) & (u < 0.6)
    store = people.store[person]
    device = pc.if_else(
        pa.array(app_dev),
        people.app_device.take(pa.array(person)),
        pc.if_else(
            pa.array(tablet), stores.tablet.take(pa.array(store)), pa.scalar(None, pa.string())
        ),
    )
    hubs.hit(np.where(tablet, stores.tablet_hub[store], -1), person)
    hubs.hit(np.where(app_dev, people.app_hub[person], -1), person)
    openid = fmt.blank_where(people.openid.take(pa.array(person)), is_dup)

    levels = persona_param("level", persona).astype(float)
    level_cdf = np.cumsum(levels, axis=1)
    level = np.minimum((level_cdf < rng.random(n)[:, None]).sum(axis=1), len(MEMBER_LEVELS) - 1)
    points = (rng.gamma(2.0, 1.0, n) * np.array([300, 1500, 5000, 15000])[level]).astype(np.int64)
    company_size = people.company_size[person]
    return Frame(
        columns={
            "MemberID": member_text(number),
            "Name": name,
            "Gender": gender,
            "Birthday": birthday,
            "Occupation": occupation,
            "Mobile": mobile,
            "Email": email,
            "Province": province,
            "City": city_text,
            "RegisterChannel": fmt.take(REGISTER_CHANNELS, channel),
            "RegisterTime": fmt.mixed(
                (rng.random(n) < 0.15).astype(np.int8),
                [
                    lambda i: fmt.ts_iso(registered[i] + fmt.LOCAL_OFFSET),
                    lambda i: fmt.ts_slash(registered[i] + fmt.LOCAL_OFFSET),
                ],
            ),
            "UpdateTime": fmt.ts_iso(updated + fmt.LOCAL_OFFSET),
            "MemberLevel": fmt.take(MEMBER_LEVELS, level),
            "Points": fmt.ints(points),
            "MonthlyIncome": income,
            "DeviceID": device,
            "WechatOpenID": openid,
            "AccountType": fmt.take(["个人", "企业"], b2b.astype(np.int64)),
            "CompanyName": people.company.take(pa.array(person)),
            "Industry": people.industry.take(pa.array(person)),
            "CompanySize": fmt.blank_where(fmt.ints(company_size), company_size <= 0),
        },
        person=person,
    )
