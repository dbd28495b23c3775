"""Chunked, concurrent generation of everything persons do (orders, events, service ...).

Persons are processed in fixed-size chunks (bounded memory). Per chunk, the main thread
draws the orders and the purchases after as-of (research sessions precede both); three
groups of sources are then rendered and written on their own worker thread each (orders,
events, engagement). A group handles its chunks in order and owns its
id counters, and every task draws from its own random stream, so the bytes written do not
depend on thread timing. NumPy and Arrow release the GIL in their kernels, so the groups
really run in parallel.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from segmint.generate import fmt
from segmint.generate.arrays import I64
from segmint.generate.badrows import Planted
from segmint.generate.catalog import Catalog
from segmint.generate.events import events_frame
from segmint.generate.hubs import HubRegistry, Placeholders
from segmint.generate.intent import Intent, draw_intent
from segmint.generate.marketing import Campaigns, campaign_frame, consent_frame
from segmint.generate.order_frames import item_frame, online_frame, store_frame
from segmint.generate.orders import FutureOrders, Orders, draw_future, draw_orders
from segmint.generate.people import People
from segmint.generate.personas import CHANNELS
from segmint.generate.seasons import Calendar
from segmint.generate.service import survey_frame, tickets_frame
from segmint.generate.stores import Stores
from segmint.generate.truth import write_intent
from segmint.generate.writers import CsvSink, SourceWriter, person_ids

CHUNK_PERSONS = 5_000  # persons per chunk (bounds memory; fixed, so output is reproducible)
IN_FLIGHT = 2  # chunks generated ahead of the slowest writer

# First sequence number of each id (ids look like a live system's, not like row numbers).
FIRST_NUMBERS = {
    "order": 200_000_001,
    "ticket": 10_000_001,
    "survey": 500_000_001,
    "consent": 100_000_001,
    "touch": 1_000_000_001,
}

# Random streams: every task draws from its own generator.
STREAMS = {
    "stores": 1, "catalog": 2, "people": 3, "crm": 4, "orders": 5, "order_files": 6,
    "events": 7, "engagement": 8, "plant": 9, "plant_events": 10, "future": 11, "intent": 12,
}  # fmt: skip


def stream(seed: int, name: str, index: int = 0) -> np.random.Generator:
    """The random generator of one named stream (and chunk)."""
    return np.random.default_rng([seed, STREAMS[name], index])


@dataclass
class World:
    """Everything drawn once and shared (read-only) by all chunks, plus the open files."""

    people: People
    cal: Calendar
    catalog: Catalog
    stores: Stores
    hubs: HubRegistry
    placeholders: Placeholders
    campaigns: Campaigns
    seed: int
    writers: dict[str, SourceWriter]
    future: CsvSink
    intent: CsvSink  # truth: research sessions
    attrition: CsvSink  # truth: leavers' precursors
    counters: dict[str, int] = field(default_factory=lambda: dict(FIRST_NUMBERS))


def _plant(w: World, group: str, index: int) -> np.random.Generator:
    return stream(w.seed, "plant", index * 2 + 1 + ("orders", "engagement").index(group))


def _orders_group(w: World, index: int, orders: Orders, ahead: FutureOrders) -> None:
    rng = stream(w.seed, "order_files", index)
    plant = _plant(w, "orders", index)
    w.writers["online_orders"].write(online_frame(orders, w.people, rng), plant)
    w.writers["order_items"].write(item_frame(orders, w.catalog), plant)
    frame = store_frame(orders, w.people, w.stores, w.hubs, w.placeholders, rng)
    w.writers["store_orders"].write(frame, plant)
    w.future.write_columns(
        person_ids(ahead.person),
        fmt.ts_iso(ahead.t),
        fmt.money(ahead.amount),
        fmt.take(CHANNELS, ahead.channel),
    )


Rendered = tuple[I64, Planted, Intent]


def _render_events(
    w: World, block: int, persons: I64, orders: Orders, ahead: FutureOrders
) -> Rendered:
    """Events of half a chunk, planted and rendered (runs on the events render pool)."""
    rng = stream(w.seed, "events", block)
    intent_rng = stream(w.seed, "intent", block)
    mine = np.isin(orders.person, persons)
    later = np.isin(ahead.person, persons)
    intent = draw_intent(
        w.people,
        np.concatenate([orders.person[mine], ahead.person[later]]),
        np.concatenate([orders.t[mine], ahead.t[later]]),
        np.concatenate([orders.channel[mine], ahead.channel[later]]),
        np.concatenate([orders.baskets.first_category(w.catalog)[mine], ahead.category[later]]),
        np.concatenate([np.ones(int(mine.sum()), bool), np.zeros(int(later.sum()), bool)]),
        w.cal,
        intent_rng,
    )
    frame = events_frame(
        w.people, persons, orders, intent, w.cal, w.catalog, w.hubs, block, w.seed, rng, intent_rng
    )
    planted = w.writers["app_events"].prepare(frame, stream(w.seed, "plant_events", block))
    return frame.person, planted, intent


def _commit_events(w: World, halves: list[Future[Rendered]]) -> None:
    for half in halves:
        person, planted, intent = half.result()
        w.writers["app_events"].commit(person, planted)
        write_intent(w.intent, intent)


def _engagement_group(w: World, index: int, persons: I64) -> None:
    rng = stream(w.seed, "engagement", index)
    plant = _plant(w, "engagement", index)
    c = w.counters
    frame = tickets_frame(w.people, persons, w.cal, c["ticket"], rng, w.attrition)
    c["ticket"] += frame.n
    w.writers["service_tickets"].write(frame, plant)
    frame = survey_frame(
        w.people, persons, w.cal, w.hubs, w.placeholders, c["survey"], rng, w.attrition
    )
    c["survey"] += frame.n
    w.writers["nps_survey"].write(frame, plant)
    frame = consent_frame(w.people, persons, w.cal, c["consent"], rng, w.attrition)
    c["consent"] += frame.n
    w.writers["consent"].write(frame, plant)
    frame = campaign_frame(w.people, persons, w.campaigns, w.cal, c["touch"], rng, w.attrition)
    c["touch"] += frame.n
    w.writers["campaign_responses"].write(frame, plant)


def run_chunks(w: World, done: Callable[[int], None]) -> None:
    """Generate and write every chunk; `done(persons finished)` after each chunk."""
    n = w.people.n
    groups = {
        name: ThreadPoolExecutor(1, thread_name_prefix=f"segmint-{name}")
        for name in ("orders", "events", "engagement")
    }
    # the heaviest source: each chunk's events are rendered in two halves at once
    renderers = ThreadPoolExecutor(2, thread_name_prefix="segmint-render")
    pending: list[tuple[int, list[Future[None]]]] = []
    try:
        for index, low in enumerate(range(0, n, CHUNK_PERSONS)):
            persons = np.arange(low, min(low + CHUNK_PERSONS, n), dtype=np.int64)
            orders = draw_orders(
                w.people,
                persons,
                w.cal,
                w.catalog,
                w.stores,
                stream(w.seed, "orders", index),
                w.counters["order"],
            )
            w.counters["order"] += len(orders.t)
            future_rng = stream(w.seed, "future", index)
            ahead = draw_future(w.people, persons, w.cal, w.catalog, future_rng)
            tasks = [
                groups["orders"].submit(_orders_group, w, index, orders, ahead),
                groups["events"].submit(
                    _commit_events,
                    w,
                    [
                        renderers.submit(_render_events, w, 2 * index + k, half, orders, ahead)
                        for k, half in enumerate(np.array_split(persons, 2))
                    ],
                ),
                groups["engagement"].submit(_engagement_group, w, index, persons),
            ]
            pending.append((int(persons[-1]) + 1, tasks))
            while len(pending) >= IN_FLIGHT:
                finished, futures = pending.pop(0)
                for task in futures:
                    task.result()
                done(finished)
        for finished, futures in pending:
            for task in futures:
                task.result()
            done(finished)
    finally:
        for executor in (*groups.values(), renderers):
            executor.shutdown(wait=True, cancel_futures=True)
