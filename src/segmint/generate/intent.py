"""Purchase intent: the research sessions that precede (and sometimes do not lead to) a purchase.

Real purchases are announced by browsing: customers view, search, add to the cart or the
wishlist in the days before they buy (Moe & Fader 2004; Van den Poel & Buckinx 2005), and
many research online before buying in a store (ROPO). Much of that browsing never converts
(most carts are abandoned). Here, per purchase (history and the truth's future purchases
alike, so nothing changes at the as-of date), with the persona's `intent_share` (x 0.8 for
store purchases) the person opens a research session `intent_lead_days` before it, plus
Poisson(`intent_sessions`) more between then and the purchase; and per purchase of the
history, Poisson(`false_starts`) research sessions fall at random times and lead nowhere.
Walk-ins (no account, offline only) do not research. Sessions are only ever added: the
person's ordinary sessions, logins and devices are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segmint.generate.arrays import F64, I64, Bool
from segmint.generate.orders import OFFLINE
from segmint.generate.people import People, persona_param
from segmint.generate.seasons import DAY, Calendar

WEB, APP, MINI = 0, 1, 2  # event platforms
OFFLINE_INTENT = 0.8
"""Share of `intent_share` for store purchases (research online, purchase offline)."""


@dataclass(frozen=True)
class Intent:
    """Research sessions of a batch of persons (one row per session, unsorted)."""

    person: I64
    start: I64  # UTC seconds
    platform: I64  # WEB, APP or MINI
    category: I64  # category the session is about (the purchase's first line, or taste)
    purchase_at: I64  # the purchase it precedes (UTC seconds); 0 for a false start
    lead_days: F64  # days from the session to the purchase; nan for a false start

    @property
    def converts(self) -> Bool:
        """Sessions that precede a purchase (the rest are false starts)."""
        return self.purchase_at > 0


def purchase_platform(channel: I64, otherwise: I64 | int) -> I64:
    """The event platform of an online sales channel (web shop, app, mini-program);
    `otherwise` for store purchases."""
    online = np.select([channel == 0, channel == 1, channel == 2], [WEB, APP, MINI], otherwise)
    return online.astype(np.int64)


def _platform(channel: I64, persona: I64, rng: np.random.Generator) -> I64:
    """Online purchases are researched where they are made; store ones on any platform."""
    mix = persona_param("platforms", persona).astype(float)
    cdf = np.cumsum(mix, axis=1)
    anywhere = (cdf < rng.random(len(channel))[:, None] * cdf[:, -1:]).sum(axis=1)
    return purchase_platform(channel, anywhere)


def draw_intent(
    people: People,
    person: I64,
    t: I64,
    channel: I64,
    category: I64,
    history: Bool,
    cal: Calendar,
    rng: np.random.Generator,
) -> Intent:
    """Research sessions before purchases and false starts.

    One row per purchase in `person`, `t` (UTC seconds, history or after as-of), `channel`
    (index into personas.CHANNELS) and `category` (of its first line); `history` marks the
    purchases of the history window, which set each person's number of false starts.
    Sessions are kept inside the person's active window and before as-of.
    """
    persona = people.persona[person]
    share = persona_param("intent_share", persona).astype(float)
    share = np.where(channel == OFFLINE, share * OFFLINE_INTENT, share)
    share = np.where(people.walk_in[person], 0.0, share)
    researched = rng.random(len(person)) < share
    extra = rng.poisson(persona_param("intent_sessions", persona).astype(float))
    lead_range = persona_param("intent_lead_days", persona).astype(float)
    open_lead = lead_range[:, 0] + rng.random(len(person)) * (lead_range[:, 1] - lead_range[:, 0])
    sessions = np.where(researched, 1 + extra, 0)
    row = np.repeat(np.arange(len(person)), sessions)
    first = np.concatenate([[0], np.cumsum(sessions)[:-1]]).astype(np.int64)
    is_first = np.arange(len(row)) == first[row]
    # the first session opens the research; later ones fall between it and the purchase
    lead = open_lead[row] * np.where(is_first, 1.0, 0.1 + 0.9 * rng.random(len(row)))
    start = t[row] - (lead * DAY).astype(np.int64)
    keep = (start >= people.start[person[row]]) & (start < cal.as_of)
    row, start, lead = row[keep], start[keep], lead[keep]
    platform = _platform(channel[row], persona[row], rng)

    # false starts: research at any time of the active window that leads nowhere
    who, count = np.unique(person[history], return_counts=True)
    rate = persona_param("false_starts", people.persona[who]).astype(float) * count
    rate = np.where(people.walk_in[who], 0.0, rate)
    f_person = np.repeat(who, rng.poisson(rate)).astype(np.int64)
    f_end = np.minimum(people.end[f_person], cal.as_of)
    f_start = cal.sample(people.persona[f_person], people.start[f_person], f_end, rng)
    f_platform = _platform(np.full(len(f_person), OFFLINE), people.persona[f_person], rng)
    taste = people.cat_cdf[f_person]
    f_category = (taste < rng.random(len(f_person))[:, None]).sum(axis=1)
    f_category = np.minimum(f_category, taste.shape[1] - 1).astype(np.int64)
    return Intent(
        person=np.concatenate([person[row], f_person]).astype(np.int64),
        start=np.concatenate([start, f_start]).astype(np.int64),
        platform=np.concatenate([platform, f_platform]).astype(np.int64),
        category=np.concatenate([category[row], f_category]).astype(np.int64),
        purchase_at=np.concatenate([t[row], np.zeros(len(f_person), np.int64)]),
        lead_days=np.concatenate([lead, np.full(len(f_person), np.nan)]),
    )
