"""Orders as their systems export them: the web shop, its order lines, and the store POS."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from segmint.generate import fmt
from segmint.generate.arrays import I64
from segmint.generate.catalog import Catalog
from segmint.generate.crm import member_text, phone_codes
from segmint.generate.hubs import PLACEHOLDER_PHONES, HubRegistry, Placeholders
from segmint.generate.ids import swap_digits
from segmint.generate.orders import OFFLINE, Orders
from segmint.generate.people import People
from segmint.generate.personas import CHANNELS
from segmint.generate.sources import Frame
from segmint.generate.stores import Stores
from segmint.generate.vocab import CATEGORIES, PAYMENT_B2B, PAYMENTS_ONLINE, PAYMENTS_STORE

PHONE_STYLE_POS = (0.55, 0.1, 0.05, 0.08, 0.1, 0.08, 0.04)
STATUS_ONLINE = ("paid", "refunded", "cancelled")
STATUS_STORE = ("正常", "退货", "作废")


def _amount_text(cents: I64, rng: np.random.Generator) -> pa.Array:
    """Web-shop amounts: `1234.50`, `1234.5`, `¥1,234.50` or `￥88`."""
    code = rng.choice(4, len(cents), p=[0.7, 0.12, 0.1, 0.08])
    return fmt.mixed(
        code,
        [
            lambda i: fmt.money(cents[i]),
            lambda i: fmt.money_short(cents[i]),
            lambda i: fmt.money_symbol(cents[i], "¥"),
            lambda i: fmt.join("￥", fmt.money_short(cents[i])),
        ],
    )


def order_ids(orders: Orders, rows: I64, prefix: str) -> pa.Array:
    """`SO` + yymmdd + 9-digit sequence (unique: the sequence is global)."""
    local = orders.t[rows] + fmt.LOCAL_OFFSET
    return fmt.concat_fixed(
        prefix, fmt.ymd_digits(local)[:, 2:], fmt.digits(orders.number[rows], 9), rows=len(rows)
    )


def online_frame(orders: Orders, people: People, rng: np.random.Generator) -> Frame:
    """Web, app and mini-program orders; every one is placed by a logged-in member."""
    rows = np.flatnonzero(orders.channel != OFFLINE)
    n = len(rows)
    person = orders.person[rows]
    local = orders.t[rows] + fmt.LOCAL_OFFSET
    baskets = orders.baskets
    style = rng.choice(3, n, p=[0.6, 0.25, 0.15])
    payments = (*PAYMENTS_ONLINE, PAYMENT_B2B)
    return Frame(
        columns={
            "order_no": order_ids(orders, rows, "SO"),
            "member_id": member_text(people.member[person]),
            "order_time": fmt.mixed(
                style,
                [
                    lambda i: fmt.ts_iso(local[i]),
                    lambda i: fmt.ts_iso(local[i], "T", "+08:00"),
                    lambda i: fmt.ts_slash(local[i]),
                ],
            ),
            "channel": fmt.take(CHANNELS, orders.channel[rows]),
            "status": fmt.take(STATUS_ONLINE, orders.status[rows]),
            "pay_amount": _amount_text(baskets.amount[rows], rng),
            "discount_amount": fmt.money_short(baskets.discount[rows]),
            "payment_method": fmt.take(payments, orders.payment[rows]),
        },
        person=person,
        orphan=people.orphan[person],
    )


def item_frame(orders: Orders, catalog: Catalog) -> Frame:
    """Order lines of the web-shop orders."""
    b = orders.baskets
    online = orders.channel != OFFLINE
    lines = np.flatnonzero(online[b.item_order])
    order_row = b.item_order[lines]
    sku = b.item_sku[lines]
    qty = b.item_qty[lines]
    price = b.item_price[lines]
    return Frame(
        columns={
            "order_no": order_ids(orders, order_row, "SO"),
            "line_no": fmt.ints(b.item_line[lines]),
            "sku": catalog.sku.take(pa.array(sku)),
            "product_name": catalog.name.take(pa.array(sku)),
            "category": fmt.take([c[0] for c in CATEGORIES], catalog.category[sku]),
            "brand": catalog.brand.take(pa.array(sku)),
            "qty": fmt.ints(qty),
            "unit_price": fmt.money(price),
            "line_amount": fmt.money(qty * price),
        },
        person=orders.person[order_row],
    )


def store_frame(
    orders: Orders,
    people: People,
    stores: Stores,
    hubs: HubRegistry,
    placeholders: Placeholders,
    rng: np.random.Generator,
) -> Frame:
    """The POS export: receipt, store, phone (not member id) for most, Chinese formats."""
    rows = np.flatnonzero(orders.channel == OFFLINE)
    n = len(rows)
    person = orders.person[rows]
    t = orders.t[rows]
    store = orders.store[rows]
    walk_in = people.walk_in[person]
    # what the cashier typed: 0 own number, 1 typo, 2 store phone, 3 placeholder, 4 nothing
    member_mix = np.array([0.78, 0.02, 0.04, 0.01, 0.15])
    walk_mix = np.array([0.0, 0.0, 0.45, 0.05, 0.5])
    u = rng.random(n)
    typed = np.where(
        walk_in,
        np.searchsorted(np.cumsum(walk_mix), u, side="right"),
        np.searchsorted(np.cumsum(member_mix), u, side="right"),
    )
    typed = np.minimum(typed, 4)
    own = people.phone_at(person, t)
    which = rng.integers(0, len(PLACEHOLDER_PHONES), n)
    phone = np.select(
        [typed == 0, typed == 1, typed == 2, typed == 3],
        [own, swap_digits(own, rng), stores.phone[store], np.asarray(PLACEHOLDER_PHONES)[which]],
        0,
    )
    hubs.hit(np.where(typed == 2, stores.phone_hub[store], -1), person)
    hubs.hit(np.where(typed == 3, placeholders.phones[which], -1), person)
    phone_text = fmt.blank_where(
        fmt.phone_text(phone, phone_codes(n, rng, PHONE_STYLE_POS)), typed == 4
    )
    # member card shown at the till for some; the person's second card when they have one
    card = ~walk_in & (rng.random(n) < 0.25)
    second = people.member2[person]
    number = np.where((second >= 0) & (rng.random(n) < 0.5), second, people.member[person])
    card_text = fmt.blank_where(member_text(np.maximum(number, 0)), ~card)
    b = orders.baskets
    amount = b.amount[rows]
    local = t + fmt.LOCAL_OFFSET
    cashier = rng.integers(1, 40, n) + store * 40
    return Frame(
        columns={
            "小票号": fmt.concat_fixed(
                "T",
                fmt.ymd_digits(local)[:, 2:],
                fmt.digits(store + 1, 4),
                fmt.digits(orders.number[rows], 9),
                rows=n,
            ),
            "门店编号": stores.code.take(pa.array(store)),
            "门店名称": stores.name.take(pa.array(store)),
            "收银员": fmt.padded(cashier, 5, "C"),
            "会员卡号": card_text,
            "手机号": phone_text,
            "下单时间": fmt.mixed(
                (rng.random(n) < 0.1).astype(np.int8),
                [lambda i: fmt.ts_chinese(local[i]), lambda i: fmt.ts_iso(local[i])],
            ),
            "应收金额": fmt.money(b.gross[rows]),
            "优惠金额": fmt.money(b.discount[rows]),
            "实付金额": fmt.mixed(
                (rng.random(n) < 0.15).astype(np.int8),
                [lambda i: fmt.money(amount[i]), lambda i: fmt.join("￥", fmt.money(amount[i]))],
            ),
            "支付方式": fmt.take(PAYMENTS_STORE, orders.payment[rows]),
            "单据状态": fmt.take(STATUS_STORE, orders.status[rows]),
        },
        person=person,
    )
