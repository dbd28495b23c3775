"""App and web behaviour in the tracking-spec shape (track / page / screen / identify).

Events come in sessions on one device. A session may log in: its identify call links the
device's anonymousId to the member's userId, and only events from the identify call on carry
the userId. Web-shop orders also produce an `Order Completed` event (most of them: tracking
loses some). Dormant persons' sessions thin out towards their churn date and stop soon after;
steady customers who drop out keep their ordinary sessions (and logins) to the end.
Research sessions before purchases and false starts (intent.py) are added on top of the
ordinary sessions, drawn from their own random stream, so the ordinary sessions — who logs
in on which device when — are the same as without them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmint.generate import fmt
from segmint.generate.arrays import F64, I64, Bool
from segmint.generate.catalog import Catalog
from segmint.generate.crm import member_text
from segmint.generate.hubs import HubRegistry
from segmint.generate.ids import KIND_EVENT, id_key, uuid_text
from segmint.generate.intent import APP, MINI, WEB, Intent, purchase_platform
from segmint.generate.order_frames import order_ids
from segmint.generate.orders import OFFLINE, Orders
from segmint.generate.people import People, persona_param
from segmint.generate.personas import PERSONA_NAMES, TRACK_EVENTS
from segmint.generate.seasons import DAY, YEAR, Calendar
from segmint.generate.sources import Frame
from segmint.generate.vocab import (
    CATEGORIES,
    PAGE_NAMES,
    PAGE_PATHS,
    SEARCH_PREFIXES_DEAL,
    SEARCH_PREFIXES_PLAIN,
    SHOP_URL,
)

ID_BLOCK_BITS = 26  # messageIds: (block << 26) + row, one block per batch of persons
BARGAIN = PERSONA_NAMES.index("bargain_hunter")
PRODUCT_EVENTS = np.isin(
    np.arange(len(TRACK_EVENTS)),
    [
        TRACK_EVENTS.index(e)
        for e in ("Product Viewed", "Product Added", "Product Added to Wishlist")
    ],
)
LIST_EVENT = TRACK_EVENTS.index("Product List Viewed")
SEARCH_EVENT = TRACK_EVENTS.index("Products Searched")
# row types of the event table: a track event index, or one of these
IDENTIFY, PAGE = len(TRACK_EVENTS), len(TRACK_EVENTS) + 1
ORDER_COMPLETED = len(TRACK_EVENTS) + 2
EVENT_NAMES = (*TRACK_EVENTS, "", "", "Order Completed")
# research sessions lean towards product, search, cart and wishlist events
INTENT_BOOST = np.array([1.5, 0.8, 1.5, 2.5, 2.0, 1.5, 1.0, 1.0, 2.5])
INTENT_PAGE_SHARE = 0.15
INTENT_ON_TOPIC = 0.7  # share of a research session's product events about the purchase
INTENT_LOGIN = (0.6, 0.85)  # cart and wishlist need an account: research logs in more often
QUERIES = tuple(
    prefix + noun
    for prefix in (*SEARCH_PREFIXES_PLAIN, *SEARCH_PREFIXES_DEAL)
    for category in CATEGORIES
    for noun in category[3]
)


def _fading(people: People, persons: I64) -> Bool:
    """Dormant persons, whose sessions thin out after they stop buying (not dropouts)."""
    return (people.churned[persons] > 0) & ~people.dropout[persons]


def _session_end(people: People, persons: I64, cal: Calendar) -> I64:
    end = np.where(_fading(people, persons), people.churned[persons] + 90 * DAY, cal.as_of)
    return np.minimum(end, cal.as_of)


def _sessions(people: People, persons: I64, cal: Calendar, rng: np.random.Generator) -> I64:
    persona = people.persona[persons]
    walk_in = people.walk_in[persons]
    end = _session_end(people, persons, cal)
    years = (end - people.start[persons]) / YEAR
    rate = np.where(
        walk_in, 2.0, persona_param("sessions_per_year", persona) * people.rate[persons]
    )
    return rng.poisson(np.maximum(rate * years, 0.0)).astype(np.int64)


@dataclass(frozen=True)
class _Expanded:
    """Sessions expanded into events (one row per event)."""

    person: I64
    t: I64
    plat: I64
    identified: Bool
    kind: I64
    topic: I64  # the research session's category, -1 for ordinary sessions


def _expand(
    s_person: I64,
    s_start: I64,
    platform: I64,
    length: I64,
    member: Bool,
    track_w: F64,
    page_share: F64,
    rng: np.random.Generator,
    login: tuple[float, float] = (0.4, 0.7),
) -> tuple[_Expanded, I64]:
    """Events of sessions: gaps, the identify call of logged-in sessions (members log in
    with probability `login`: on the web, elsewhere), event kinds. Also returns each event's
    session."""
    logged = member & (rng.random(len(s_person)) < np.where(platform == WEB, *login))
    login_at = (rng.random(len(s_person)) * length).astype(np.int64)
    session = np.repeat(np.arange(len(s_person)), length)
    first = np.concatenate([[0], np.cumsum(length)[:-1]]).astype(np.int64)
    pos = np.arange(len(session)) - first[session]
    gaps = rng.exponential(45.0, len(session)).astype(np.int64) + 1
    run = np.cumsum(gaps)
    t = s_start[session] + run - run[first[session]]
    identified = logged[session] & (pos >= login_at[session])
    is_identify = logged[session] & (pos == login_at[session])
    n = len(session)
    track_cdf = np.cumsum(track_w[session], axis=1)
    track = (track_cdf < rng.random(n)[:, None] * track_cdf[:, -1:]).sum(axis=1)
    page = rng.random(n) < page_share[session]
    kind = np.where(is_identify, IDENTIFY, np.where(page, PAGE, track)).astype(np.int64)
    expanded = _Expanded(
        person=s_person[session],
        t=t,
        plat=platform[session],
        identified=identified,
        kind=kind,
        topic=np.full(n, -1, np.int64),
    )
    return expanded, session


def _ordinary(people: People, persons: I64, cal: Calendar, rng: np.random.Generator) -> _Expanded:
    counts = _sessions(people, persons, cal, rng)
    s_person = np.repeat(persons, counts)
    s_persona = people.persona[s_person]
    s_end = _session_end(people, s_person, cal)
    s_start = cal.sample(
        s_persona, people.start[s_person], s_end, rng, front_loaded=_fading(people, s_person)
    )
    mix = persona_param("platforms", s_persona).astype(float)
    cdf = np.cumsum(mix, axis=1)
    platform = (cdf < rng.random(len(s_person))[:, None] * cdf[:, -1:]).sum(axis=1)
    platform = np.where(people.walk_in[s_person], WEB, platform).astype(np.int64)
    length = 1 + np.minimum(rng.poisson(persona_param("session_events", s_persona)), 30)
    member = ~people.walk_in[s_person]
    track_w = persona_param("track_mix", s_persona).astype(float)
    page_share = persona_param("page_share", s_persona).astype(float)
    expanded, _ = _expand(s_person, s_start, platform, length, member, track_w, page_share, rng)
    return expanded


def intent_events(people: People, intent: Intent, rng: np.random.Generator) -> _Expanded:
    """The events of research sessions: product-, search- and cart-heavy, mostly about the
    category later bought; they log in more often than ordinary sessions (a cart or a
    wishlist needs an account)."""
    persona = people.persona[intent.person]
    length = 1 + np.minimum(rng.poisson(persona_param("session_events", persona)), 30)
    member = ~people.walk_in[intent.person]
    track_w = persona_param("track_mix", persona).astype(float) * INTENT_BOOST
    page_share = np.full(len(persona), INTENT_PAGE_SHARE)
    expanded, session = _expand(
        intent.person,
        intent.start,
        intent.platform,
        length,
        member,
        track_w,
        page_share,
        rng,
        INTENT_LOGIN,
    )
    on_topic = rng.random(len(session)) < INTENT_ON_TOPIC
    topic = np.where(on_topic, intent.category[session], -1).astype(np.int64)
    return _Expanded(
        expanded.person, expanded.t, expanded.plat, expanded.identified, expanded.kind, topic
    )


def events_frame(
    people: People,
    persons: I64,
    orders: Orders,
    intent: Intent,
    cal: Calendar,
    catalog: Catalog,
    hubs: HubRegistry,
    id_block: int,
    seed: int,
    rng: np.random.Generator,
    intent_rng: np.random.Generator,
) -> Frame:
    """Every event of a batch of persons (sessions, research sessions, order completions),
    by time.

    `orders` may hold other persons' orders too; only the batch's own are used. `intent`
    holds the batch's research sessions (drawn with `intent.draw_intent`), expanded with
    `intent_rng`. `id_block` numbers the batch: messageIds are unique as long as no two
    batches share a block.
    """
    ordinary = _ordinary(people, persons, cal, rng)
    research = intent_events(people, intent, intent_rng)

    # order completions for web-shop orders (a tenth is lost by tracking)
    mine = np.isin(orders.person, persons)
    rows = np.flatnonzero(mine & (orders.channel != OFFLINE) & (rng.random(len(orders.t)) < 0.9))
    o_plat = purchase_platform(orders.channel[rows], WEB)
    completions = _Expanded(
        person=orders.person[rows],
        t=orders.t[rows] + rng.integers(1, 30, len(rows)),
        plat=o_plat,
        identified=np.ones(len(rows), bool),
        kind=np.full(len(rows), ORDER_COMPLETED),
        topic=np.full(len(rows), -1, np.int64),
    )
    parts = (ordinary, research, completions)
    person, t, plat, identified, kind, topic = (
        np.concatenate([getattr(part, name) for part in parts])
        for name in ("person", "t", "plat", "identified", "kind", "topic")
    )
    persona = people.persona[person]
    order_row = np.concatenate([np.full(len(ordinary.t) + len(research.t), -1), rows])
    by_time = np.argsort(t, kind="stable")
    person, persona, t, plat, identified, kind, order_row, topic = (
        a[by_time] for a in (person, persona, t, plat, identified, kind, order_row, topic)
    )
    total = len(t)

    # properties: categories and products from the person's taste
    cat_cdf = people.cat_cdf[person]
    category = np.minimum((cat_cdf < rng.random(total)[:, None]).sum(axis=1), len(CATEGORIES) - 1)
    category = np.where(topic >= 0, topic, category)
    tier = np.clip(people.tier[person] + rng.normal(0.0, 0.15, total), 0.0, 1.0)
    sku = catalog.pick(category.astype(np.int64), tier)
    is_track = kind < len(TRACK_EVENTS)
    has_product = is_track & PRODUCT_EVENTS[np.minimum(kind, len(TRACK_EVENTS) - 1)]
    has_category = has_product | (kind == LIST_EVENT)
    deal = (persona == BARGAIN) & (rng.random(total) < 0.5)
    prefix = np.where(
        deal,
        len(SEARCH_PREFIXES_PLAIN) + rng.integers(0, len(SEARCH_PREFIXES_DEAL), total),
        rng.integers(0, len(SEARCH_PREFIXES_PLAIN), total),
    )
    query = (prefix * len(CATEGORIES) + category) * 10 + rng.integers(0, 10, total)
    page_pick = rng.integers(0, len(PAGE_NAMES), total)
    is_page = kind == PAGE

    # identifiers
    app_hub = people.app_hub[person]
    hubs.hit(np.where(plat == APP, app_hub, -1), person)
    device = people.devices.take(pa.array(plat * people.n + person))
    device_type = np.where(plat == APP, np.where(people.app_ios[person], 1, 2), 0)
    device_type = np.where(plat == MINI, 3, device_type)
    null = pa.scalar(None, pa.string())
    call = np.select([kind == IDENTIFY, is_page & (plat == WEB), is_page], [1, 2, 3], 0)
    order_text = pa.nulls(total, pa.string())
    revenue = pa.nulls(total, pa.string())
    completed = np.flatnonzero(order_row >= 0)
    if len(completed):
        mask = pa.array(order_row >= 0)
        ids = order_ids(orders, order_row[completed], "SO")
        order_text = pc.replace_with_mask(order_text, mask, ids)
        amount = fmt.money_short(orders.baskets.amount[order_row[completed]])
        revenue = pc.replace_with_mask(revenue, mask, amount)
    millis = rng.integers(0, 1000, total)
    return Frame(
        columns={
            "messageId": uuid_text(
                (id_block << ID_BLOCK_BITS) + np.arange(total), id_key(KIND_EVENT, seed)
            ),
            "type": fmt.take(("track", "identify", "page", "screen"), call),
            "event": fmt.blank_where(
                fmt.take(EVENT_NAMES, kind), ~(is_track | (kind == ORDER_COMPLETED))
            ),
            "name": fmt.blank_where(fmt.take(PAGE_NAMES, page_pick), ~is_page),
            "userId": fmt.blank_where(
                member_text(np.maximum(people.member[person], 0)), ~identified
            ),
            "anonymousId": device,
            "timestamp": fmt.ts_utc_ms(t, millis),
            "context.device.type": fmt.take(
                ("web", "ios", "android", "wechat_miniprogram"), device_type
            ),
            "properties.product_id": fmt.blank_where(catalog.sku.take(pa.array(sku)), ~has_product),
            "properties.category": fmt.blank_where(
                fmt.take([c[0] for c in CATEGORIES], category), ~has_category
            ),
            "properties.query": fmt.blank_where(fmt.take(QUERIES, query), kind != SEARCH_EVENT),
            "properties.url": pc.if_else(
                pa.array(is_page & (plat == WEB)),
                fmt.join(SHOP_URL, fmt.take(PAGE_PATHS, page_pick)),
                null,
            ),
            "properties.order_id": order_text,
            "properties.revenue": revenue,
        },
        person=person,
    )
