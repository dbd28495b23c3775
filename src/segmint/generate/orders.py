"""Orders and order lines: how often, when, where, what and for how much.

Counts are Poisson around each person's rate (persona rate x gamma multiplier x active
years); times follow the persona's calendar density; baskets pick categories from the
person's taste and SKUs from their price tier. Amounts are built bottom-up, so order lines
always add up to the order total before discount.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segmint.generate.arrays import I64
from segmint.generate.catalog import Catalog
from segmint.generate.people import People, persona_param
from segmint.generate.seasons import DAY, YEAR, Calendar
from segmint.generate.stores import Stores

FUTURE_DAYS = 180
OFFLINE = 3  # index of "offline" in personas.CHANNELS


@dataclass(frozen=True)
class Baskets:
    """What each order contains; `item_order` points each line at its order row."""

    gross: I64  # cents, sum of the lines
    discount: I64  # cents
    item_order: I64
    item_line: I64  # 1-based line number within the order
    item_sku: I64
    item_qty: I64
    item_price: I64  # unit price, cents

    @property
    def amount(self) -> I64:
        """Amount paid after discount, cents."""
        return self.gross - self.discount

    def first_category(self, catalog: Catalog) -> I64:
        """The category of each order's first line."""
        return catalog.category[self.item_sku[self.item_line == 1]]


@dataclass(frozen=True)
class Orders:
    """Orders of a chunk of persons, sorted by time, with their baskets."""

    person: I64
    t: I64  # UTC seconds
    channel: I64  # index into personas.CHANNELS
    status: I64  # 0 paid, 1 refunded, 2 cancelled
    payment: I64  # index into the channel's payment vocabulary
    store: I64  # -1 online
    number: I64  # global sequence number (makes the order id unique)
    baskets: Baskets


def _categorical(probs: np.ndarray, rng: np.random.Generator) -> I64:
    """One draw per row from the row's probability vector (rows of `probs`)."""
    if len(probs) == 0:
        return np.zeros(0, np.int64)
    cdf = np.cumsum(probs, axis=1)
    cdf /= cdf[:, -1:]
    return (cdf < rng.random(len(probs))[:, None]).sum(axis=1).astype(np.int64)


def draw_baskets(
    person: I64,
    t: I64,
    people: People,
    catalog: Catalog,
    cal: Calendar,
    rng: np.random.Generator,
) -> Baskets:
    """Lines, gross and discount of each order."""
    n = len(person)
    persona = people.persona[person]
    extra = persona_param("extra_items", persona).astype(float)
    size = 1 + np.minimum(rng.poisson(extra), 9)
    item_order = np.repeat(np.arange(n), size)
    starts = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)
    item_line = np.arange(len(item_order)) - starts[item_order] + 1
    owner = person[item_order]
    cdf = people.cat_cdf[owner]
    category = (cdf < rng.random(len(owner))[:, None]).sum(axis=1)
    category = np.minimum(category, cdf.shape[1] - 1).astype(np.int64)
    tier = np.clip(people.tier[owner] + rng.normal(0.0, 0.12, len(owner)), 0.0, 1.0)
    sku = catalog.pick(category, tier)
    bulk = persona_param("bulk", people.persona[owner]).astype(bool)
    u = rng.random(len(owner))
    qty = np.where(bulk, 1 + rng.poisson(12, len(owner)), 1 + (u < 0.15) + (u < 0.04))
    price = catalog.price[sku]
    line = qty * price
    gross = np.add.reduceat(line, starts) if n else np.zeros(0, np.int64)
    promo = cal.is_promo(t)
    p_disc = np.minimum(persona_param("discount_prob", persona) * np.where(promo, 1.4, 1.0), 0.98)
    depth_mean = persona_param("discount_depth", persona).astype(float)
    depth = np.minimum(rng.beta(depth_mean * 12, (1 - depth_mean) * 12), 0.6)
    discounted = rng.random(n) < p_disc
    discount = np.where(discounted, (gross * depth / 100).astype(np.int64) * 100, 0)
    return Baskets(
        gross=gross.astype(np.int64),
        discount=discount.astype(np.int64),
        item_order=item_order.astype(np.int64),
        item_line=item_line.astype(np.int64),
        item_sku=sku,
        item_qty=qty.astype(np.int64),
        item_price=price,
    )


def _channels(person: I64, people: People, rng: np.random.Generator) -> I64:
    mix = persona_param("channels", people.persona[person]).astype(float)
    channel = _categorical(mix, rng)
    return np.where(people.walk_in[person], OFFLINE, channel)


def _counts(people: People, persons: I64, rng: np.random.Generator) -> I64:
    persona = people.persona[persons]
    years = (people.end[persons] - people.start[persons]) / YEAR
    rate = persona_param("orders_per_year", persona) * people.rate[persons] * years
    counts = rng.poisson(rate)
    is_new = persona_param("lifecycle", persona) == "new"
    return np.where(is_new, 1 + (rng.random(len(persons)) < 0.35), counts).astype(np.int64)


def draw_orders(
    people: People,
    persons: I64,
    cal: Calendar,
    catalog: Catalog,
    stores: Stores,
    rng: np.random.Generator,
    first_number: int,
) -> Orders:
    """The history window's orders of `persons`, sorted by time."""
    counts = _counts(people, persons, rng)
    person = np.repeat(persons, counts)
    t = cal.sample(people.persona[person], people.start[person], people.end[person], rng)
    order = np.argsort(t, kind="stable")
    person, t = person[order], t[order]
    n = len(person)
    channel = _channels(person, people, rng)
    status = _categorical(persona_param("status", people.persona[person]).astype(float), rng)
    b2b = persona_param("bulk", people.persona[person]).astype(bool)
    online_pay = np.where(
        b2b & (rng.random(n) < 0.7), 5, rng.choice(5, n, p=[0.45, 0.35, 0.05, 0.05, 0.1])
    )
    store_pay = rng.choice(5, n, p=[0.45, 0.3, 0.1, 0.1, 0.05])
    payment = np.where(channel == OFFLINE, store_pay, online_pay).astype(np.int64)
    away = rng.integers(0, len(stores.city), n)
    store = np.where(rng.random(n) < 0.85, people.store[person], away)
    store = np.where(channel == OFFLINE, store, -1).astype(np.int64)
    return Orders(
        person=person,
        t=t,
        channel=channel,
        status=status,
        payment=payment,
        store=store,
        number=first_number + np.arange(n, dtype=np.int64),
        baskets=draw_baskets(person, t, people, catalog, cal, rng),
    )


@dataclass(frozen=True)
class FutureOrders:
    """Purchases in the FUTURE_DAYS after as-of (ground truth only, never written as data)."""

    person: I64
    t: I64
    amount: I64  # cents
    channel: I64
    category: I64  # of the first line


def draw_future(
    people: People, persons: I64, cal: Calendar, catalog: Catalog, rng: np.random.Generator
) -> FutureOrders:
    """What each person buys after the as-of date: the persona's rate, if still active (a
    steady customer who dropped out does not come back)."""
    persona = people.persona[persons]
    active = rng.random(len(persons)) < persona_param("future_active", persona)
    active &= ~people.dropout[persons]
    steady = persona_param("lifecycle", persona) == "steady"
    multiplier = np.where(steady, people.rate[persons], 1.0)
    rate = persona_param("future_orders_per_year", persona) * multiplier * FUTURE_DAYS * DAY / YEAR
    counts = np.where(active, rng.poisson(rate), 0)
    person = np.repeat(persons, counts)
    start = np.full(len(person), cal.as_of, np.int64)
    t = cal.sample(people.persona[person], start, start + FUTURE_DAYS * DAY, rng)
    order = np.lexsort((t, person))
    person, t = person[order], t[order]
    baskets = draw_baskets(person, t, people, catalog, cal, rng)
    return FutureOrders(
        person=person,
        t=t,
        amount=baskets.amount,
        channel=_channels(person, people, rng),
        category=baskets.first_category(catalog),
    )
