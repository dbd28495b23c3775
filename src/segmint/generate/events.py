"""App and web behaviour in the tracking-spec shape (track / page / screen / identify).

Events come in sessions on one device. A session may log in: its identify call links the
device's anonymousId to the member's userId, and only events from the identify call on carry
the userId. Web-shop orders also produce an `Order Completed` event (most of them: tracking
loses some). Dormant persons' sessions thin out towards their churn date and stop soon after.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmint.generate import fmt
from segmint.generate.arrays import I64
from segmint.generate.catalog import Catalog
from segmint.generate.crm import member_text
from segmint.generate.hubs import HubRegistry
from segmint.generate.ids import KIND_EVENT, id_key, uuid_text
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

WEB, APP, MINI = 0, 1, 2
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
QUERIES = tuple(
    prefix + noun
    for prefix in (*SEARCH_PREFIXES_PLAIN, *SEARCH_PREFIXES_DEAL)
    for category in CATEGORIES
    for noun in category[3]
)


def _sessions(people: People, persons: I64, cal: Calendar, rng: np.random.Generator) -> I64:
    persona = people.persona[persons]
    walk_in = people.walk_in[persons]
    end = np.where(people.churned[persons] > 0, people.churned[persons] + 90 * DAY, cal.as_of)
    end = np.minimum(end, cal.as_of)
    years = (end - people.start[persons]) / YEAR
    rate = np.where(
        walk_in, 2.0, persona_param("sessions_per_year", persona) * people.rate[persons]
    )
    return rng.poisson(np.maximum(rate * years, 0.0)).astype(np.int64)


def events_frame(
    people: People,
    persons: I64,
    orders: Orders,
    cal: Calendar,
    catalog: Catalog,
    hubs: HubRegistry,
    id_block: int,
    seed: int,
    rng: np.random.Generator,
) -> Frame:
    """Every event of a batch of persons (sessions plus order completions), by time.

    `orders` may hold other persons' orders too; only the batch's own are used. `id_block`
    numbers the batch: messageIds are unique as long as no two batches share a block.
    """
    counts = _sessions(people, persons, cal, rng)
    s_person = np.repeat(persons, counts)
    s_persona = people.persona[s_person]
    churned = people.churned[s_person]
    s_end = np.where(churned > 0, np.minimum(churned + 90 * DAY, cal.as_of), cal.as_of)
    s_start = cal.sample(s_persona, people.start[s_person], s_end, rng, front_loaded=churned > 0)
    mix = persona_param("platforms", s_persona).astype(float)
    cdf = np.cumsum(mix, axis=1)
    platform = (cdf < rng.random(len(s_person))[:, None] * cdf[:, -1:]).sum(axis=1)
    platform = np.where(people.walk_in[s_person], WEB, platform).astype(np.int64)
    length = 1 + np.minimum(rng.poisson(persona_param("session_events", s_persona)), 30)
    member = ~people.walk_in[s_person]
    logged = member & (rng.random(len(s_person)) < np.where(platform == WEB, 0.4, 0.7))
    login_at = (rng.random(len(s_person)) * length).astype(np.int64)

    # expand sessions into events
    session = np.repeat(np.arange(len(s_person)), length)
    first = np.concatenate([[0], np.cumsum(length)[:-1]]).astype(np.int64)
    pos = np.arange(len(session)) - first[session]
    gaps = rng.exponential(45.0, len(session)).astype(np.int64) + 1
    run = np.cumsum(gaps)
    t = s_start[session] + run - run[first[session]]
    person = s_person[session]
    persona = s_persona[session]
    plat = platform[session]
    identified = logged[session] & (pos >= login_at[session])
    is_identify = logged[session] & (pos == login_at[session])
    n = len(session)
    track_w = persona_param("track_mix", persona).astype(float)
    track_cdf = np.cumsum(track_w, axis=1)
    track = (track_cdf < rng.random(n)[:, None] * track_cdf[:, -1:]).sum(axis=1)
    page = rng.random(n) < persona_param("page_share", persona)
    kind = np.where(is_identify, IDENTIFY, np.where(page, PAGE, track)).astype(np.int64)

    # order completions for web-shop orders (a tenth is lost by tracking)
    mine = np.isin(orders.person, persons)
    rows = np.flatnonzero(mine & (orders.channel != OFFLINE) & (rng.random(len(orders.t)) < 0.9))
    o_person = orders.person[rows]
    o_plat = np.select([orders.channel[rows] == 1, orders.channel[rows] == 2], [APP, MINI], WEB)
    person = np.concatenate([person, o_person])
    persona = people.persona[person]
    t = np.concatenate([t, orders.t[rows] + rng.integers(1, 30, len(rows))])
    plat = np.concatenate([plat, o_plat]).astype(np.int64)
    identified = np.concatenate([identified, np.ones(len(rows), bool)])
    kind = np.concatenate([kind, np.full(len(rows), ORDER_COMPLETED)])
    order_row = np.concatenate([np.full(n, -1), rows])
    by_time = np.argsort(t, kind="stable")
    person, persona, t, plat, identified, kind, order_row = (
        a[by_time] for a in (person, persona, t, plat, identified, kind, order_row)
    )
    total = len(t)

    # properties: categories and products from the person's taste
    cat_cdf = people.cat_cdf[person]
    category = np.minimum((cat_cdf < rng.random(total)[:, None]).sum(axis=1), len(CATEGORIES) - 1)
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
