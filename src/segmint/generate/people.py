"""Persons: who they are, which identifiers they own and when they are active.

A person is the ground-truth individual behind many records. Most are CRM members; some are
offline-only walk-ins who never identify themselves; a few members are not yet synced to the
CRM export (their orders are orphans). Identifiers are unique by construction; shared
values are planted deliberately (family devices here, store phones and placeholders in the
sources) and registered as hubs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmint.generate.arrays import F64, I64, Bool
from segmint.generate.fmt import ints, join, mixed, take
from segmint.generate.hubs import HubRegistry
from segmint.generate.ids import (
    KIND_APP,
    KIND_MINI,
    KIND_OPENID,
    KIND_WEB,
    hex16,
    id_key,
    mobile_numbers,
    openid_text,
    uuid_text,
)
from segmint.generate.personas import B2B, PERSONAS
from segmint.generate.seasons import DAY, YEAR, Calendar
from segmint.generate.stores import Stores
from segmint.generate.vocab import (
    CATEGORIES,
    CITIES,
    COMPANY_WORDS,
    EMAIL_DOMAIN_TYPOS,
    EMAIL_DOMAINS,
    ENGLISH_FEMALE,
    ENGLISH_MALE,
    ENGLISH_SURNAMES,
    GIVEN_FEMALE,
    GIVEN_MALE,
    INCOME_BANDS,
    INDUSTRIES,
    OCCUPATIONS,
    REGISTER_CHANNELS,
    SURNAMES,
)

MEMBER_FIRST = 100_001
MAX_CUSTOMERS = 9_999_999  # ids (P0000001, bijections mod 10**7) are defined up to here


def persona_param(name: str, persona: np.ndarray) -> np.ndarray:
    """The persona attribute `name` for every row, as an array."""
    values: Any = [getattr(p, name) for p in PERSONAS]
    return np.asarray(values)[persona]


@dataclass(frozen=True)
class People:
    """Every person as columns (row i = person i)."""

    n: int
    persona: I64
    female: Bool
    birth: I64  # days since 1970-01-01
    city: I64  # index into vocab.CITIES
    name: pa.Array
    name_typo: pa.Array
    walk_in: Bool
    orphan: Bool  # has a member number the CRM export does not contain yet
    member: I64  # member number, -1 for walk-ins
    member2: I64  # a second CRM record of the same person, -1 if none
    registered: I64  # UTC seconds, 0 for walk-ins
    registered2: I64
    reg_channel: I64  # index into vocab.REGISTER_CHANNELS
    store: I64  # home store
    phone: I64  # current mobile number
    old_phone: I64  # previous number, 0 if unchanged
    phone_changed: I64  # when the number changed (UTC seconds), 0 if unchanged
    email: pa.Array  # nullable
    email_typo: pa.Array  # the same address with a mistyped domain
    app_ios: Bool
    web_device: pa.Array
    app_device: pa.Array
    mini_device: pa.Array
    app_hub: I64  # hub id of a shared family device, -1 if not shared
    openid: pa.Array  # nullable
    start: I64  # active window (UTC seconds), inclusive
    end: I64  # exclusive; before as-of for churned persons
    churned: I64  # 0 if not churned (the dormant persona's exits and steady dropouts)
    dropout: Bool  # a steady customer who left for good (churned > 0, not the dormant persona)
    rate: F64  # person-level rate multiplier
    tier: F64  # price tier preference 0..1
    cat_cdf: F64  # (n, categories) cumulative category preference
    company: pa.Array  # nullable, B2B only
    industry: pa.Array
    company_size: I64
    occupation: I64  # index into vocab.OCCUPATIONS, -1 for B2B accounts
    income: I64  # monthly income band, index into vocab.INCOME_BANDS, -1 for B2B accounts

    @cached_property
    def devices(self) -> pa.Array:
        """Web, app and mini-program device ids of everyone: row k*n + i is kind k of i."""
        return pa.concat_arrays([self.web_device, self.app_device, self.mini_device])

    @property
    def in_crm(self) -> Bool:
        """Persons with a record in the CRM export."""
        return ~self.walk_in & ~self.orphan

    def leaving_within(self, person: I64, t: I64, days: int) -> Bool:
        """Rows (person, t) that fall within `days` before the person leaves (or after)."""
        left = self.churned[person]
        return (left > 0) & (t >= left - days * DAY)

    def phone_at(self, person: I64, t: I64) -> I64:
        """The number a person used at time t (the old one before a change)."""
        old = self.old_phone[person]
        use_old = (old > 0) & (t < self.phone_changed[person])
        return np.where(use_old, old, self.phone[person])


# Occupation columns (vocab.OCCUPATIONS order) and how they bend personal income.
_OCC = {code: k for k, (code, _) in enumerate(OCCUPATIONS)}
_OCC_INCOME = np.array([1.25, 0.7, 0.25, 1.1, 1.0, 0.5, 0.35, 0.6])  # x the persona median
_TIER_INCOME = np.array([0.0, 1.35, 1.1, 1.0, 0.85, 0.75])  # by city tier 1-5
_INCOME_FLOORS = np.array([floor for *_, floor in INCOME_BANDS[1:]], np.float64)


def _occupations(
    persona: I64, age: F64, female: Bool, city: I64, rng: np.random.Generator
) -> tuple[I64, I64]:
    """Occupation and monthly income band of every person (-1 for B2B accounts).

    The persona's occupation weights are bent by age and sex: students are under 30 (most
    under 23), people retire from 50 (women) / 55 (men) and nearly all have by 55 / 60,
    few under-23s or retirees still hold a job, few men keep house and more men than women
    do manual work. Income is log-normal around the persona's median, scaled by occupation,
    city tier and youth (wider for the self-employed), then cut into bands.
    """
    n = len(persona)
    b2b = persona == B2B
    weights = persona_param("occupations", persona).astype(float)
    retire = np.where(female, 55.0, 60.0)
    old = age >= retire
    young = age < 23
    working = np.where(young, 0.4, np.where(old, 0.3, 1.0))
    sex = np.where(female, 0.7, 1.4)
    factor = np.ones_like(weights)
    for code in ("white_collar", "civil_servant", "self_employed"):
        factor[:, _OCC[code]] = working
    factor[:, _OCC["blue_collar"]] = working * sex
    factor[:, _OCC["student"]] = np.where(young, 5.0, np.clip((30.0 - age) / 7.0, 0.0, 1.0))
    factor[:, _OCC["retired"]] = np.where(old, 6.0, np.clip((age - retire + 5.0) / 5.0, 0.0, 1.0))
    factor[:, _OCC["homemaker"]] = np.where(female, 1.0, 0.08)
    weights *= factor
    weights[b2b, _OCC["other"]] = 1.0  # drawn like everyone's (fixed stream), then dropped
    cdf = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    occupation = np.minimum((cdf < rng.random(n)[:, None]).sum(axis=1), len(OCCUPATIONS) - 1)

    tier = np.array([c[3] for c in CITIES])[city]
    median = (
        persona_param("income", persona).astype(float)
        * _OCC_INCOME[occupation]
        * _TIER_INCOME[tier]
        * np.where(age < 25, 0.75, 1.0)
    )
    sigma = np.where(occupation == _OCC["self_employed"], 0.7, 0.45)
    monthly = median * np.exp(sigma * rng.standard_normal(n))
    band = np.searchsorted(_INCOME_FLOORS, monthly, side="right")
    return (
        np.where(b2b, -1, occupation).astype(np.int64),
        np.where(b2b, -1, band).astype(np.int64),
    )


def _shares(n: int) -> I64:
    """Persona of each person: exact shares (largest remainder), randomly ordered later."""
    shares = np.array([p.share for p in PERSONAS])
    base = np.floor(shares * n).astype(np.int64)
    rest = np.argsort(-(shares * n - base), kind="stable")[: n - int(base.sum())]
    base[rest] += 1
    return np.repeat(np.arange(len(PERSONAS)), base)


def _names(female: Bool, rng: np.random.Generator) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Display name, a mistyped variant, and a pinyin/latin handle for e-mail addresses."""
    n = len(female)
    weights = np.array([w for _, _, w in SURNAMES])
    sur = rng.choice(len(SURNAMES), n, p=weights / weights.sum())
    pool = len(GIVEN_FEMALE)
    hanzi = [c for c, _ in GIVEN_FEMALE] + [c for c, _ in GIVEN_MALE] + [""]
    pinyin = [p for _, p in GIVEN_FEMALE] + [p for _, p in GIVEN_MALE] + [""]
    off = np.where(female, 0, pool)
    two = rng.random(n) < 0.7
    g1 = rng.integers(0, pool, n) + off
    g2 = np.where(two, rng.integers(0, pool, n) + off, 2 * pool)
    shift = rng.integers(1, pool, n)
    g1t = np.where(two, g1, (g1 - off + shift) % pool + off)
    g2t = np.where(two, (g2 - off + shift) % pool + off, g2)
    sur_hz = take([s for s, _, _ in SURNAMES], sur)
    sur_py = take([p for _, p, _ in SURNAMES], sur)
    zh = join(sur_hz, take(hanzi, g1), take(hanzi, g2))
    zh_typo = join(sur_hz, take(hanzi, g1t), take(hanzi, g2t))
    zh_handle = join(sur_py, take(pinyin, g1), take(pinyin, g2))

    firsts = [f for f, _ in ENGLISH_FEMALE] + [f for f, _ in ENGLISH_MALE]
    typos = [t for _, t in ENGLISH_FEMALE] + [t for _, t in ENGLISH_MALE]
    fi = rng.integers(0, len(ENGLISH_FEMALE), n) + np.where(female, 0, len(ENGLISH_FEMALE))
    western = rng.random(n) < 0.4
    last = pc.if_else(
        pa.array(western),
        take(ENGLISH_SURNAMES, rng.integers(0, len(ENGLISH_SURNAMES), n)),
        pc.utf8_capitalize(sur_py),
    )
    en = join(take(firsts, fi), last, sep=" ")
    en_typo = join(take(typos, fi), last, sep=" ")
    en_handle = pc.utf8_lower(join(take(firsts, fi), last, sep="."))
    english = pa.array(rng.random(n) < 0.08)
    return (
        pc.if_else(english, en, zh),
        pc.if_else(english, en_typo, zh_typo),
        pc.if_else(english, en_handle, zh_handle),
    )


def _emails(handle: pa.Array, seed: int, rng: np.random.Generator) -> tuple[pa.Array, pa.Array]:
    """Unique addresses: handle+number, handle_number or a QQ number; plus a typo variant."""
    n = len(handle)
    idx = np.arange(n, dtype=np.int64)
    number = ints((idx * 7_654_321 + seed % 10_000_000) % 10_000_000)  # a bijection mod 10**7
    qq = ints(10_000 + (idx * 7_777_777 + seed % 900_000_000) % 900_000_000)  # mod 9*10**8
    style = rng.choice(3, n, p=[0.45, 0.25, 0.30])
    weights = np.array([w for _, w in EMAIL_DOMAINS])
    domain = np.where(style == 2, 0, rng.choice(len(EMAIL_DOMAINS), n, p=weights / weights.sum()))
    local = mixed(
        style,
        [
            lambda i: join(handle.take(pa.array(i)), number.take(pa.array(i))),
            lambda i: join(handle.take(pa.array(i)), number.take(pa.array(i)), sep="_"),
            lambda i: qq.take(pa.array(i)),
        ],
    )
    good = join(local, take([d for d, _ in EMAIL_DOMAINS], domain), sep="@")
    typo = join(local, take(EMAIL_DOMAIN_TYPOS, domain), sep="@")
    return good, typo


def build_people(
    n: int,
    seed: int,
    cal: Calendar,
    stores: Stores,
    hubs: HubRegistry,
    rng: np.random.Generator,
    phone_key: int,
) -> People:
    """Draw every person: persona, profile, identifiers, membership and activity window."""
    idx = np.arange(n, dtype=np.int64)
    # Occupation and income draw from a child stream: adding them left every other value
    # of a seed unchanged (spawning does not advance `rng`).
    profile_rng = rng.spawn(1)[0]
    persona = rng.permutation(_shares(n)).astype(np.int64)
    as_of = cal.as_of
    walk_in = rng.random(n) < persona_param("walk_in", persona)
    female = rng.random(n) < persona_param("female", persona)
    ages = persona_param("age", persona)
    age_years = ages[:, 0] + rng.random(n) * (ages[:, 1] - ages[:, 0])
    birth = (as_of // DAY - (age_years * 365.25).astype(np.int64)).astype(np.int64)
    city_w = np.array([w for *_, w in CITIES])
    city = rng.choice(len(CITIES), n, p=city_w / city_w.sum()).astype(np.int64)
    name, name_typo, handle = _names(female, rng)
    occupation, income = _occupations(persona, age_years, female, city, profile_rng)

    # membership and activity windows
    tenure = persona_param("tenure_years", persona)
    years = tenure[:, 0] + rng.random(n) * (tenure[:, 1] - tenure[:, 0])
    registered = as_of - (years * YEAR).astype(np.int64)
    lifecycle = persona_param("lifecycle", persona)
    is_new = lifecycle == "new"
    orphan = is_new & (rng.random(n) < 0.12)
    registered = np.where(orphan, as_of - rng.integers(DAY, 20 * DAY, n), registered)
    registered = np.where(walk_in, 0, registered)
    start = np.maximum(cal.window_start, registered)
    end = np.full(n, as_of, np.int64)
    churn = lifecycle == "churned"
    lo = start + 60 * DAY
    hi = np.maximum(lo + DAY, as_of - 240 * DAY)
    churned = np.where(churn, lo + (rng.random(n) * (hi - lo)).astype(np.int64), 0)
    # steady customers drop out at their persona's hazard, in any window (own stream: every
    # other value of a seed is drawn as before)
    drop_rng = rng.spawn(1)[0]
    hazard = persona_param("dropout_per_year", persona).astype(float)
    wait = drop_rng.exponential(1.0, n) / np.maximum(hazard, 1e-12) * YEAR
    left_at = start + np.minimum(wait, 100 * YEAR).astype(np.int64)
    dropout = (lifecycle == "steady") & (hazard > 0) & ~walk_in
    dropout &= (left_at < as_of) & (left_at > start + 60 * DAY)
    churned = np.where(dropout, left_at, churned)
    end = np.where(churn | dropout, churned, end)

    member_mask = ~walk_in
    dup = member_mask & ~orphan & (persona != B2B) & (rng.random(n) < 0.03)
    dup &= as_of - registered > 30 * DAY
    registered2 = np.where(
        dup, registered + (rng.uniform(0.05, 0.95, n) * (as_of - registered)).astype(np.int64), 0
    )
    times = np.concatenate([registered[member_mask], registered2[dup]])
    owners = np.concatenate([idx[member_mask], idx[dup]])
    which = np.concatenate([np.zeros(member_mask.sum(), bool), np.ones(dup.sum(), bool)])
    order = np.lexsort((owners, times))
    numbers = MEMBER_FIRST + np.cumsum(rng.geometric(0.6, len(order)) - 1) + np.arange(len(order))
    member = np.full(n, -1, np.int64)
    member2 = np.full(n, -1, np.int64)
    first_rec = ~which[order]
    member[owners[order][first_rec]] = numbers[first_rec]
    member2[owners[order][~first_rec]] = numbers[~first_rec]
    reg_channel = rng.choice(len(REGISTER_CHANNELS), n, p=[0.35, 0.25, 0.15, 0.25])
    reg_channel = np.where(persona == B2B, 2, reg_channel).astype(np.int64)

    # phones: unique by construction (counters 0..n-1 current, n..2n-1 old numbers)
    phone = mobile_numbers(idx, phone_key, rng.integers(0, 1000, n))
    changed = member_mask & (rng.random(n) < 0.06) & (end - start > 90 * DAY)
    lo = start + 30 * DAY
    phone_changed = np.where(
        changed, lo + (rng.random(n) * np.maximum(end - 30 * DAY - lo, DAY)).astype(np.int64), 0
    )
    old_phone = np.where(changed, mobile_numbers(idx + n, phone_key, rng.integers(0, 1000, n)), 0)

    email, email_typo = _emails(handle, seed, rng)
    has_email = member_mask & (rng.random(n) < np.where(persona == B2B, 0.95, 0.7))
    email = pc.if_else(pa.array(has_email), email, pa.scalar(None, pa.string()))
    email_typo = pc.if_else(pa.array(has_email), email_typo, pa.scalar(None, pa.string()))

    # devices; a few families share one phone/tablet for the app
    app_idx = idx.copy()
    candidates = rng.permutation(np.flatnonzero(member_mask & (rng.random(n) < 0.035)))
    n_lead = int(len(candidates) * 0.45)
    leaders, followers = candidates[:n_lead], candidates[n_lead:]
    if n_lead:
        app_idx[followers] = leaders[rng.integers(0, n_lead, len(followers))]
    app_ios_own = rng.random(n) < 0.45
    app_ios = app_ios_own[app_idx]
    app_device = mixed(
        app_ios.astype(np.int8),
        [
            lambda i: hex16(app_idx[i], id_key(KIND_APP, seed)),
            lambda i: uuid_text(app_idx[i], id_key(KIND_APP, seed), upper=True),
        ],
    )
    shared = np.unique(app_idx[followers]) if n_lead else np.zeros(0, np.int64)
    hub_ids = hubs.add("device_id", app_device.take(pa.array(shared)).to_pylist(), "family_device")
    app_hub = np.full(n, -1, np.int64)
    in_shared = np.isin(app_idx, shared)
    app_hub[in_shared] = hub_ids[np.searchsorted(shared, app_idx[in_shared])]
    web_device = uuid_text(idx, id_key(KIND_WEB, seed))
    mini_device = uuid_text(idx, id_key(KIND_MINI, seed))
    has_openid = member_mask & (rng.random(n) < np.where(reg_channel == 1, 0.95, 0.5))
    openid = pc.if_else(
        pa.array(has_openid),
        openid_text(idx, id_key(KIND_OPENID, seed)),
        pa.scalar(None, pa.string()),
    )

    # taste: spend multiplier, price tier, category preferences
    shape = persona_param("rate_shape", persona).astype(float)
    rate = rng.gamma(shape, 1.0 / shape)
    tiers = persona_param("tier", persona).astype(float)
    tier = rng.beta(tiers[:, 0], tiers[:, 1])
    profile = persona_param("categories", persona).astype(float)
    focus = persona_param("focus", persona).astype(float)
    alpha = profile / profile.sum(axis=1, keepdims=True) * focus[:, None]
    taste = rng.gamma(alpha) + 1e-12
    cat_cdf = np.cumsum(taste / taste.sum(axis=1, keepdims=True), axis=1)
    cat_cdf[:, -1] = 1.0
    assert cat_cdf.shape[1] == len(CATEGORIES)

    # B2B accounts
    b2b = persona == B2B
    ind = rng.integers(0, len(INDUSTRIES), n)
    company = join(
        take([c[1] for c in CITIES], city),
        take(COMPANY_WORDS, rng.integers(0, len(COMPANY_WORDS), n)),
        take([s for _, s in INDUSTRIES], ind),
    )
    null = pa.scalar(None, pa.string())
    company = pc.if_else(pa.array(b2b), company, null)
    industry = pc.if_else(pa.array(b2b), take([i for i, _ in INDUSTRIES], ind), null)
    size = np.clip(rng.lognormal(np.log(80), 1.2, n), 3, 20_000).astype(np.int64)

    return People(
        n=n,
        persona=persona,
        female=female,
        birth=birth,
        city=city,
        name=name,
        name_typo=name_typo,
        walk_in=walk_in,
        orphan=orphan,
        member=member,
        member2=member2,
        registered=registered,
        registered2=registered2,
        reg_channel=reg_channel,
        store=stores.home_store(city, rng),
        phone=phone,
        old_phone=old_phone,
        phone_changed=phone_changed,
        email=email,
        email_typo=email_typo,
        app_ios=app_ios,
        web_device=web_device,
        app_device=app_device,
        mini_device=mini_device,
        app_hub=app_hub,
        openid=openid,
        start=start,
        end=end,
        churned=churned,
        dropout=dropout,
        rate=rate,
        tier=tier,
        cat_cdf=cat_cdf,
        company=company,
        industry=industry,
        company_size=np.where(b2b, size, 0),
        occupation=occupation,
        income=income,
    )
