"""Marketing: consent records per channel, and campaign touches with their responses."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmint.generate import fmt
from segmint.generate.arrays import I64
from segmint.generate.crm import email_codes, member_text, phone_codes
from segmint.generate.people import People, persona_param
from segmint.generate.personas import PERSONA_NAMES, RESPONSES
from segmint.generate.seasons import DAY, YEAR, Calendar
from segmint.generate.sources import Frame
from segmint.generate.truth import write_attrition
from segmint.generate.vocab import CAMPAIGNS
from segmint.generate.writers import CsvSink

CONSENT_CHANNELS = ("sms", "email", "wechat", "app_push")
SMS, EMAIL, WECHAT, APP_PUSH = range(4)
DORMANT = PERSONA_NAMES.index("dormant")
BOUNCED = RESPONSES.index("bounced")
DELIVERED = RESPONSES.index("delivered")
ENGAGED = np.isin(RESPONSES, ("opened", "clicked", "converted"))
PARTING_UNSUBSCRIBE_SHARE = 0.3
"""Share of leaving members with an opt-in who opt out of a channel around leaving."""
FADING_DAYS = 90  # from this long before leaving, campaign messages are ...
FADING_ENGAGEMENT = 0.25  # ... opened, clicked or converted this much as often
PHONE_STYLE_MARKETING = (0.85, 0.0, 0.0, 0.0, 0.15, 0.0, 0.0)


def _parting_opt_outs(
    people: People, person: I64, channel: I64, cal: Calendar, rng: np.random.Generator
) -> tuple[I64, I64, I64]:
    """Leavers who unsubscribe: one opted-in channel each, 30 days either side of leaving
    (before as-of). Rows of (`person`, `channel`): the opt-ins. Returns their row indices,
    times and channels."""
    leaver = (people.churned[person] > 0) & (people.registered[person] > 0)
    first_row = np.ones(len(person), bool)
    first_row[1:] = person[1:] != person[:-1]  # opt-ins come grouped by person
    pick = np.flatnonzero(leaver & first_row)
    pick = pick[rng.random(len(pick)) < PARTING_UNSUBSCRIBE_SHARE]
    at = people.churned[person[pick]] + rng.integers(-30 * DAY, 30 * DAY, len(pick))
    at = np.maximum(at, people.registered[person[pick]] + DAY)
    keep = at < cal.as_of
    return pick[keep], at[keep], channel[pick[keep]]


def consent_frame(
    people: People,
    persons: I64,
    cal: Calendar,
    first: int,
    rng: np.random.Generator,
    truth: CsvSink | None = None,
) -> Frame:
    """Opt-ins given at registration, opt-outs later (dormant persons opt out more), and
    leavers who unsubscribe around the time they leave (recorded in `truth`)."""
    members = persons[people.in_crm[persons]]
    m = len(members)
    has_email = np.asarray(pc.is_valid(people.email.take(pa.array(members))))
    has_openid = np.asarray(pc.is_valid(people.openid.take(pa.array(members))))
    p_in = np.stack(
        [
            np.full(m, 0.6),
            np.where(has_email, 0.35, 0.0),
            np.where(has_openid, 0.5, 0.1),
            np.full(m, 0.45),
        ],
        axis=1,
    )
    opted = rng.random((m, 4)) < p_in
    who, channel = np.nonzero(opted)
    person = members[who]
    registered = people.registered[person]
    p_out = np.where(people.persona[person] == DORMANT, 0.3, 0.07)
    out = rng.random(len(person)) < p_out
    out_at = registered + (rng.random(len(person)) * (cal.as_of - registered)).astype(np.int64)
    everything = rng.random(m) < 0.005
    all_person = members[everything]
    all_reg = people.registered[all_person]
    all_at = all_reg + (rng.random(len(all_person)) * (cal.as_of - all_reg)).astype(np.int64)
    parting, parting_at, parting_channel = _parting_opt_outs(people, person, channel, cal, rng)
    if truth is not None:
        left = people.churned[person[parting]]
        write_attrition(truth, "unsubscribe", person[parting], parting_at, left)
    n_out = int(out.sum()) + len(all_person) + len(parting)
    person = np.concatenate([person, person[out], all_person, person[parting]])
    channel = np.concatenate([channel, channel[out], np.full(len(all_person), 4), parting_channel])
    status = np.concatenate([np.zeros(len(who), np.int64), np.ones(n_out, np.int64)])
    t = np.concatenate(
        [registered + rng.integers(0, 120, len(who)), out_at[out], all_at, parting_at]
    )
    by_link = np.zeros(len(t), bool)
    by_link[len(t) - len(parting) :] = True  # a leaver's opt-out comes from the unsubscribe link
    order = np.lexsort((channel, person, t))
    person, channel, status, t = person[order], channel[order], status[order], t[order]
    n = len(person)
    phone = people.phone_at(person, t)
    source = np.where(status == 0, 0, 1 + (rng.random(n) < 0.4))
    source = np.where(by_link[order], 2, source)
    return Frame(
        columns={
            "consent_id": fmt.padded(first + np.arange(n), 9, "CS"),
            "member_id": member_text(people.member[person]),
            "mobile": fmt.blank_where(
                fmt.phone_text(phone, phone_codes(n, rng, PHONE_STYLE_MARKETING)), channel != SMS
            ),
            "email": fmt.blank_where(
                fmt.email_text(people.email.take(pa.array(person)), email_codes(n, rng)),
                channel != EMAIL,
            ),
            "channel": fmt.take((*CONSENT_CHANNELS, "all"), channel),
            "status": fmt.take(("opt_in", "opt_out"), status),
            "recorded_at": fmt.ts_iso(t + fmt.LOCAL_OFFSET),
            "source": fmt.take(("注册", "偏好中心", "退订链接"), source),
        },
        person=person,
    )


@dataclass(frozen=True)
class Campaigns:
    """Campaigns sent during the history window, sorted by send time."""

    code: pa.Array
    name: pa.Array
    channel: I64  # index into CONSENT_CHANNELS
    sent: I64  # UTC seconds


def build_campaigns(cal: Calendar) -> Campaigns:
    """Festival campaigns (one per channel) and a monthly member day on WeChat."""
    first = dt.datetime.fromtimestamp(cal.window_start, dt.UTC).date()
    last = dt.datetime.fromtimestamp(cal.as_of, dt.UTC).date()
    rows: list[tuple[int, str, str, int]] = []
    for year in range(first.year, last.year + 1):
        for name, month, day, channels in CAMPAIGNS:
            for channel in channels:
                rows.append(
                    (_at(year, month, day, 10), name, channel, CONSENT_CHANNELS.index(channel))
                )
        for month in range(1, 13):
            rows.append((_at(year, month, 18, 12), "会员日", "wechat", WECHAT))
    rows = sorted(r for r in rows if cal.window_start <= r[0] < cal.as_of - DAY)
    codes = [
        "CMP"
        + dt.datetime.fromtimestamp(r[0] + fmt.LOCAL_OFFSET, dt.UTC).strftime("%y%m%d")
        + "-"
        + r[2].upper()
        for r in rows
    ]
    return Campaigns(
        code=pa.array(codes, pa.string()),
        name=pa.array([r[1] for r in rows], pa.string()),
        channel=np.array([r[3] for r in rows], np.int64),
        sent=np.array([r[0] for r in rows], np.int64),
    )


def _at(year: int, month: int, day: int, hour: int) -> int:
    moment = dt.datetime(year, month, day, hour, tzinfo=dt.UTC)
    return int(moment.timestamp()) - fmt.LOCAL_OFFSET


def campaign_frame(
    people: People,
    persons: I64,
    campaigns: Campaigns,
    cal: Calendar,
    first: int,
    rng: np.random.Generator,
    truth: CsvSink | None = None,
) -> Frame:
    """Who received which campaign, on which channel, and how far they got. Leavers open,
    click and convert less from a few months before they leave (recorded in `truth`)."""
    members = persons[people.in_crm[persons]]
    since = np.maximum(people.registered[members], cal.window_start)
    years = (cal.as_of - since) / YEAR
    rate = persona_param("touches_per_year", people.persona[members]) * years
    counts = rng.poisson(rate) if len(campaigns.sent) else np.zeros(len(members), np.int64)
    person = np.repeat(members, counts)
    eligible = np.searchsorted(campaigns.sent, np.repeat(since, counts))
    keep = eligible < len(campaigns.sent)
    person, eligible = person[keep], eligible[keep]
    span = len(campaigns.sent) - eligible
    pick = eligible + (rng.random(len(person)) * span).astype(np.int64)
    order = np.lexsort((person, pick))
    person, pick = person[order], pick[order]
    n = len(person)
    t = campaigns.sent[pick] + rng.integers(0, 7200, n)
    channel = campaigns.channel[pick]
    email = people.email.take(pa.array(person))
    no_email = ~np.asarray(pc.is_valid(email))
    no_openid = ~np.asarray(pc.is_valid(people.openid.take(pa.array(person))))
    channel = np.where((channel == EMAIL) & no_email, SMS, channel)
    channel = np.where((channel == WECHAT) & no_openid, SMS, channel)
    funnel = persona_param("funnel", people.persona[person]).astype(float)
    cdf = np.cumsum(funnel, axis=1)
    response = (cdf < rng.random(n)[:, None] * cdf[:, -1:]).sum(axis=1)
    fading = people.leaving_within(person, t, FADING_DAYS)
    ignored = fading & ENGAGED[response] & (rng.random(n) >= FADING_ENGAGEMENT)
    response = np.where(ignored, DELIVERED, response)
    if truth is not None:
        left = people.churned[person[ignored]]
        write_attrition(truth, "ignored_campaign", person[ignored], t[ignored], left)
    typo = (channel == EMAIL) & (rng.random(n) < 0.03)
    response = np.where(typo, BOUNCED, response)
    email = pc.if_else(pa.array(typo), people.email_typo.take(pa.array(person)), email)
    phone = people.phone_at(person, t)
    return Frame(
        columns={
            "touch_id": fmt.padded(first + np.arange(n), 10, "TC"),
            "campaign_id": campaigns.code.take(pa.array(pick)),
            "campaign_name": campaigns.name.take(pa.array(pick)),
            "member_id": member_text(people.member[person]),
            "mobile": fmt.blank_where(
                fmt.phone_text(phone, phone_codes(n, rng, PHONE_STYLE_MARKETING)), channel != SMS
            ),
            "email": fmt.blank_where(fmt.email_text(email, email_codes(n, rng)), channel != EMAIL),
            "openid": fmt.blank_where(people.openid.take(pa.array(person)), channel != WECHAT),
            "channel": fmt.take(CONSENT_CHANNELS, channel),
            "sent_time": fmt.ts_iso(t + fmt.LOCAL_OFFSET),
            "response": fmt.take(RESPONSES, response),
        },
        person=person,
    )
