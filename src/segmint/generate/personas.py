"""Hidden personas: the behaviour every generated person is drawn from.

A persona fixes rates and mixes (orders, basket, discounts, channels, categories, hours,
app usage, service, surveys, campaigns, what happens after the as-of date). Persons vary
around their persona (gamma-distributed rate multipliers, Dirichlet category tastes), so the
personas are recoverable by clustering but no two persons are identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from segmint.generate.vocab import CATEGORIES, OCCUPATIONS

Lifecycle = Literal["steady", "churned", "new"]

TRACK_EVENTS: tuple[str, ...] = (
    "Product Viewed",
    "Product List Viewed",
    "Products Searched",
    "Product Added",
    "Cart Viewed",
    "Checkout Started",
    "Coupon Applied",
    "Promotion Viewed",
    "Product Added to Wishlist",
)
RESPONSES: tuple[str, ...] = (
    "sent",
    "delivered",
    "opened",
    "clicked",
    "converted",
    "unsubscribed",
    "bounced",
)
CHANNELS: tuple[str, ...] = ("online", "app", "miniprogram", "offline")


def _hours(base: float, peaks: dict[int, float]) -> tuple[float, ...]:
    weights = [base] * 24
    for hour, weight in peaks.items():
        weights[hour] = weight
    return tuple(weights)


_NIGHT = {0: 0.3, 1: 0.15, 2: 0.05, 3: 0.03, 4: 0.03, 5: 0.05, 6: 0.15}
EVENING = _hours(1.0, {**_NIGHT, 7: 0.4, 8: 0.7, 19: 2.2, 20: 3.0, 21: 3.0, 22: 2.4, 23: 1.2})
NIGHT_OWL = _hours(
    1.0,
    {
        0: 2.5,
        1: 1.2,
        2: 0.4,
        3: 0.1,
        4: 0.05,
        5: 0.05,
        6: 0.1,
        7: 0.3,
        12: 2.2,
        13: 1.8,
        20: 2.2,
        21: 2.6,
        22: 3.0,
        23: 3.0,
    },
)
DAYTIME = _hours(1.0, {**_NIGHT, 7: 0.4, 10: 1.4, 11: 1.5, 14: 1.4, 15: 1.4, 16: 1.3, 20: 1.4})
OFFICE = _hours(
    0.05,
    {
        8: 0.6,
        9: 2.5,
        10: 3.0,
        11: 3.0,
        12: 1.0,
        13: 2.0,
        14: 3.0,
        15: 3.0,
        16: 2.5,
        17: 1.5,
        18: 0.4,
        19: 0.2,
        20: 0.15,
        21: 0.1,
    },
)


@dataclass(frozen=True)
class Persona:
    """The behaviour of one hidden customer type."""

    name: str
    share: float  # share of persons
    lifecycle: Lifecycle
    tenure_years: tuple[float, float]  # member since (years before as-of)
    orders_per_year: float
    rate_shape: float  # gamma shape of the person-level rate multiplier (higher = tighter)
    tier: tuple[float, float]  # Beta(a, b) of the price tier a person buys at (0 cheap, 1 premium)
    extra_items: float  # Poisson mean of items beyond the first
    bulk: bool  # large quantities per line (B2B)
    discount_prob: float
    discount_depth: float  # mean discount share of a discounted order
    status: tuple[float, float, float]  # paid, refunded, cancelled
    weekend: float  # relative uplift on Saturdays and Sundays (negative: weekday buyer)
    promo: float  # uplift on promotion peaks (11.11, 618, 12.12, ...)
    hours: tuple[float, ...]  # 24 weights, local time
    channels: tuple[float, float, float, float]  # online, app, miniprogram, offline
    categories: tuple[float, ...]  # one weight per vocab.CATEGORIES entry
    focus: float  # Dirichlet concentration: high = everyone close to the profile
    sessions_per_year: float
    session_events: float  # Poisson mean of events beyond the first, per session
    platforms: tuple[float, float, float]  # web, app, miniprogram
    page_share: float  # share of page/screen calls among non-identify events
    track_mix: tuple[float, ...]  # one weight per TRACK_EVENTS entry
    tickets_per_year: float
    satisfaction: float  # mean score 1-5
    surveys_per_year: float
    nps: float  # mean NPS answer 0-10
    touches_per_year: float  # campaign messages received
    funnel: tuple[float, ...]  # one weight per RESPONSES entry
    future_active: float  # share of persons still buying after the as-of date
    future_orders_per_year: float
    walk_in: float  # share of persons who only ever shop offline without identifying
    age: tuple[int, int]
    female: float
    level: tuple[float, float, float, float]  # member level mix (普通, 银卡, 金卡, 钻石)
    # one weight per vocab.OCCUPATIONS entry, before the age and sex adjustments (people.py);
    # all zero for B2B accounts, which have neither occupation nor income
    occupations: tuple[float, ...]
    income: float  # median personal monthly income in CNY, before occupation / city / age
    # Attrition: the yearly hazard of a steady customer leaving for good during the history
    # (attrition happens in every window, not only in the dormant persona's early exits).
    # Leavers' precursors (complaints, souring NPS, fewer opens, unsubscribes) are planted in
    # service.py and marketing.py.
    dropout_per_year: float = 0.0
    # Purchase intent (intent.py): the share of purchases preceded by research sessions
    # (viewing, searching, cart and wishlist adds) starting `intent_lead_days` (uniform range)
    # before it, in 1 + Poisson(`intent_sessions`) sessions; `false_starts` research sessions
    # per purchase lead to no purchase (abandoned carts, browsing that does not convert).
    intent_share: float = 0.0
    intent_lead_days: tuple[float, float] = (1.0, 14.0)
    intent_sessions: float = 0.0
    false_starts: float = 0.0


PERSONAS: tuple[Persona, ...] = (
    Persona(
        name="vip_loyal",
        share=0.08,
        lifecycle="steady",
        tenure_years=(1.0, 8.0),
        orders_per_year=32.0,
        rate_shape=6.0,
        tier=(6.0, 2.0),
        extra_items=1.3,
        bulk=False,
        discount_prob=0.12,
        discount_depth=0.08,
        status=(0.95, 0.04, 0.01),
        weekend=0.3,
        promo=1.5,
        hours=EVENING,
        channels=(0.3, 0.3, 0.1, 0.3),
        categories=(3, 3, 2, 1.5, 2, 1, 1.5, 1, 1, 1, 0.3),
        focus=30.0,
        sessions_per_year=20.0,
        session_events=1.8,
        platforms=(0.25, 0.6, 0.15),
        page_share=0.3,
        track_mix=(5, 2, 1.5, 2, 1, 1, 0.3, 0.5, 1.5),
        tickets_per_year=0.8,
        satisfaction=4.5,
        surveys_per_year=0.3,
        nps=9.2,
        touches_per_year=3.0,
        funnel=(0.02, 0.43, 0.30, 0.12, 0.10, 0.01, 0.02),
        future_active=1.0,
        future_orders_per_year=32.0,
        walk_in=0.0,
        age=(28, 52),
        female=0.65,
        level=(0.0, 0.05, 0.45, 0.5),
        occupations=(0.45, 0.03, 0.0, 0.22, 0.15, 0.02, 0.10, 0.03),
        income=18_000.0,
        dropout_per_year=0.025,
        intent_share=0.4,
        intent_lead_days=(1.0, 7.0),
        intent_sessions=0.3,
        false_starts=0.05,
    ),
    Persona(
        name="bargain_hunter",
        share=0.20,
        lifecycle="steady",
        tenure_years=(0.3, 6.0),
        orders_per_year=24.0,
        rate_shape=6.0,
        tier=(1.3, 7.0),
        extra_items=0.9,
        bulk=False,
        discount_prob=0.85,
        discount_depth=0.28,
        status=(0.89, 0.07, 0.04),
        weekend=1.2,
        promo=6.0,
        hours=NIGHT_OWL,
        channels=(0.15, 0.35, 0.4, 0.1),
        categories=(1, 1, 2, 5, 0.5, 2, 0.5, 4, 1, 1.5, 0.2),
        focus=8.0,
        sessions_per_year=14.0,
        session_events=2.2,
        platforms=(0.15, 0.35, 0.5),
        page_share=0.2,
        track_mix=(3, 2, 3, 1.5, 1, 0.8, 2.5, 3, 0.5),
        tickets_per_year=0.6,
        satisfaction=3.8,
        surveys_per_year=0.2,
        nps=7.3,
        touches_per_year=4.0,
        funnel=(0.02, 0.28, 0.30, 0.20, 0.17, 0.01, 0.02),
        future_active=1.0,
        future_orders_per_year=24.0,
        walk_in=0.0,
        age=(24, 62),
        female=0.6,
        level=(0.5, 0.4, 0.1, 0.0),
        occupations=(0.30, 0.25, 0.04, 0.12, 0.06, 0.10, 0.10, 0.03),
        income=6_000.0,
        dropout_per_year=0.22,
        intent_share=0.7,
        intent_lead_days=(3.0, 14.0),
        intent_sessions=0.6,
        false_starts=0.1,
    ),
    Persona(
        name="occasional",
        share=0.32,
        lifecycle="steady",
        tenure_years=(0.3, 7.0),
        orders_per_year=7.0,
        rate_shape=6.0,
        tier=(5.0, 5.0),
        extra_items=0.6,
        bulk=False,
        discount_prob=0.2,
        discount_depth=0.10,
        status=(0.93, 0.05, 0.02),
        weekend=0.6,
        promo=1.5,
        hours=DAYTIME,
        channels=(0.35, 0.15, 0.1, 0.4),
        categories=(2, 3, 2, 1.5, 1.5, 1, 1.5, 1.5, 1, 1, 0.3),
        focus=8.0,
        sessions_per_year=5.0,
        session_events=1.6,
        platforms=(0.45, 0.35, 0.2),
        page_share=0.35,
        track_mix=(4, 2, 2, 1.5, 1, 1, 0.5, 0.8, 0.7),
        tickets_per_year=0.2,
        satisfaction=3.9,
        surveys_per_year=0.12,
        nps=7.0,
        touches_per_year=2.0,
        funnel=(0.03, 0.55, 0.25, 0.09, 0.04, 0.02, 0.02),
        future_active=1.0,
        future_orders_per_year=6.0,
        walk_in=0.08,
        age=(22, 70),
        female=0.55,
        level=(0.6, 0.3, 0.1, 0.0),
        occupations=(0.35, 0.18, 0.05, 0.12, 0.10, 0.10, 0.06, 0.04),
        income=9_000.0,
        dropout_per_year=0.18,
        intent_share=0.9,
        intent_lead_days=(3.0, 14.0),
        intent_sessions=1.0,
        false_starts=0.15,
    ),
    Persona(
        name="dormant",
        share=0.22,
        lifecycle="churned",
        tenure_years=(0.9, 7.0),
        orders_per_year=8.0,
        rate_shape=5.0,
        tier=(2.0, 5.0),
        extra_items=0.5,
        bulk=False,
        discount_prob=0.45,
        discount_depth=0.15,
        status=(0.90, 0.07, 0.03),
        weekend=0.5,
        promo=1.5,
        hours=EVENING,
        channels=(0.3, 0.15, 0.1, 0.45),
        categories=(2, 3, 2, 2, 1, 1.5, 1, 2, 1, 1, 0.2),
        focus=6.0,
        sessions_per_year=8.0,
        session_events=1.4,
        platforms=(0.4, 0.4, 0.2),
        page_share=0.35,
        track_mix=(4, 2, 1.5, 1, 0.8, 0.5, 0.5, 0.8, 0.5),
        tickets_per_year=0.5,
        satisfaction=2.3,
        surveys_per_year=0.15,
        nps=4.0,
        touches_per_year=3.0,
        funnel=(0.05, 0.77, 0.08, 0.02, 0.005, 0.045, 0.03),
        future_active=0.06,
        future_orders_per_year=3.0,
        walk_in=0.05,
        age=(22, 70),
        female=0.55,
        level=(0.6, 0.3, 0.1, 0.0),
        occupations=(0.32, 0.20, 0.05, 0.12, 0.08, 0.10, 0.07, 0.06),
        income=7_500.0,
        intent_share=0.4,
        intent_lead_days=(1.0, 10.0),
        intent_sessions=0.3,
        false_starts=0.15,
    ),
    Persona(
        name="new_customer",
        share=0.15,
        lifecycle="new",
        tenure_years=(1 / 365, 60 / 365),
        orders_per_year=0.0,
        rate_shape=6.0,
        tier=(2.0, 3.0),
        extra_items=0.4,
        bulk=False,
        discount_prob=0.7,
        discount_depth=0.15,
        status=(0.94, 0.04, 0.02),
        weekend=0.6,
        promo=1.0,
        hours=EVENING,
        channels=(0.3, 0.3, 0.25, 0.15),
        categories=(2.5, 2.5, 1.5, 2, 1, 1.5, 1, 1.5, 1, 1, 0.2),
        focus=3.0,
        sessions_per_year=45.0,
        session_events=2.0,
        platforms=(0.3, 0.4, 0.3),
        page_share=0.3,
        track_mix=(4, 3, 2.5, 1.5, 1, 0.8, 1, 1, 0.8),
        tickets_per_year=0.5,
        satisfaction=4.0,
        surveys_per_year=0.5,
        nps=8.0,
        touches_per_year=4.0,
        funnel=(0.02, 0.45, 0.30, 0.13, 0.07, 0.01, 0.02),
        future_active=0.45,
        future_orders_per_year=6.0,
        walk_in=0.0,
        age=(19, 38),
        female=0.6,
        level=(1.0, 0.0, 0.0, 0.0),
        occupations=(0.40, 0.15, 0.22, 0.10, 0.06, 0.0, 0.04, 0.03),
        income=7_000.0,
        intent_share=0.9,
        intent_lead_days=(1.0, 14.0),
        intent_sessions=1.0,
        false_starts=0.15,
    ),
    Persona(
        name="b2b_buyer",
        share=0.03,
        lifecycle="steady",
        tenure_years=(0.5, 8.0),
        orders_per_year=14.0,
        rate_shape=6.0,
        tier=(5.0, 2.0),
        extra_items=2.2,
        bulk=True,
        discount_prob=0.5,
        discount_depth=0.10,
        status=(0.96, 0.02, 0.02),
        weekend=-0.85,
        promo=0.1,
        hours=OFFICE,
        channels=(0.92, 0.08, 0.0, 0.0),
        categories=(0.2, 0.3, 1.5, 1.5, 4, 0.1, 0.3, 1.5, 2, 0.1, 6),
        focus=8.0,
        sessions_per_year=5.0,
        session_events=1.5,
        platforms=(0.9, 0.1, 0.0),
        page_share=0.4,
        track_mix=(4, 2, 2, 2, 1, 1, 0.2, 0.2, 0.2),
        tickets_per_year=1.2,
        satisfaction=4.0,
        surveys_per_year=0.3,
        nps=7.8,
        touches_per_year=2.0,
        funnel=(0.03, 0.60, 0.25, 0.07, 0.02, 0.01, 0.02),
        future_active=1.0,
        future_orders_per_year=14.0,
        walk_in=0.0,
        age=(28, 58),
        female=0.45,
        level=(0.2, 0.3, 0.4, 0.1),
        occupations=(0.0,) * len(OCCUPATIONS),
        income=0.0,
        dropout_per_year=0.08,
        intent_share=0.8,
        intent_lead_days=(5.0, 14.0),
        intent_sessions=1.0,
        false_starts=0.1,
    ),
)

PERSONA_NAMES: tuple[str, ...] = tuple(p.name for p in PERSONAS)

# B2B persona index (accounts get company fields) and the new-customer lifecycle
B2B = PERSONA_NAMES.index("b2b_buyer")


def _check() -> None:
    total = sum(p.share for p in PERSONAS)
    if abs(total - 1.0) > 1e-9:  # pragma: no cover - guards edits to the table above
        raise ValueError(f"persona shares sum to {total}, not 1")
    for p in PERSONAS:
        if len(p.categories) != len(CATEGORIES) or len(p.track_mix) != len(TRACK_EVENTS):
            raise ValueError(f"persona {p.name}: a mix has the wrong length")  # pragma: no cover
        if len(p.occupations) != len(OCCUPATIONS):
            raise ValueError(f"persona {p.name}: a mix has the wrong length")  # pragma: no cover
        if len(p.hours) != 24 or len(p.funnel) != len(RESPONSES):
            raise ValueError(f"persona {p.name}: a mix has the wrong length")  # pragma: no cover


_check()
