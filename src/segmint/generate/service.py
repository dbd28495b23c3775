"""Customer service tickets and NPS survey answers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmint.generate import fmt
from segmint.generate.arrays import I64, Bool
from segmint.generate.crm import email_codes, member_text, phone_codes
from segmint.generate.hubs import PLACEHOLDER_EMAIL, HubRegistry, Placeholders
from segmint.generate.ids import swap_digits
from segmint.generate.people import People, persona_param
from segmint.generate.personas import B2B, PERSONA_NAMES
from segmint.generate.seasons import DAY, YEAR, Calendar
from segmint.generate.sources import Frame
from segmint.generate.truth import write_attrition
from segmint.generate.vocab import (
    COMMENTS_HIGH,
    COMMENTS_LOW,
    COMMENTS_MID,
    SURVEY_NAMES,
    TICKET_CHANNELS,
    TICKET_TOPICS,
)
from segmint.generate.writers import CsvSink

DORMANT = PERSONA_NAMES.index("dormant")
COMPLAINT = TICKET_TOPICS.index("投诉建议")
QUALITY = TICKET_TOPICS.index("商品质量")
PARTING_COMPLAINT_SHARE = 0.5
"""Share of leaving CRM members who complain 3-44 days before they leave."""
REPEAT_CONTACTS = 0.6  # Poisson mean of follow-up contacts about an unresolved complaint
PARTING_SATISFACTION = 1.4  # mean satisfaction score of a parting complaint
SOURED_SATISFACTION = 2.5  # leavers' other tickets in the souring months score at most this
SOURING_DAYS = 120  # NPS answers this close to leaving sour ...
SOURED_NPS = 4.0  # ... to at most this mean
PHONE_STYLE_SERVICE = (0.6, 0.1, 0.05, 0.05, 0.1, 0.08, 0.02)


def _events(
    people: People, persons: I64, field: str, cal: Calendar, rng: np.random.Generator
) -> tuple[I64, I64]:
    """Persons and times of a Poisson process with the persona's yearly rate `field`."""
    persona = people.persona[persons]
    years = (people.end[persons] - people.start[persons]) / YEAR
    counts = rng.poisson(persona_param(field, persona) * years)
    counts = np.where(people.in_crm[persons], counts, 0)
    person = np.repeat(persons, counts)
    t = cal.sample(people.persona[person], people.start[person], people.end[person], rng)
    order = np.argsort(t, kind="stable")
    return person[order], t[order]


def _parting_complaints(
    people: People, persons: I64, person: I64, t: I64, rng: np.random.Generator
) -> tuple[I64, I64, Bool]:
    """Add the complaint many leavers file shortly before they leave (a service failure
    precedes the switch), with follow-up contacts until they leave. Returns persons, times
    (sorted) and which tickets are such."""
    leaving = persons[(people.churned[persons] > 0) & people.in_crm[persons]]
    leaving = leaving[rng.random(len(leaving)) < PARTING_COMPLAINT_SHARE]
    lead = rng.integers(3, 45, len(leaving)) * DAY
    at = np.maximum(people.churned[leaving] - lead, people.start[leaving])
    # an unresolved complaint brings follow-up contacts before the customer gives up
    repeats = rng.poisson(REPEAT_CONTACTS, len(leaving))
    again = np.repeat(np.arange(len(leaving)), repeats)
    later = at[again] + (rng.random(len(again)) * (people.churned[leaving[again]] - at[again]))
    leaving = np.concatenate([leaving, leaving[again]])
    at = np.concatenate([at, later.astype(np.int64)])
    all_person = np.concatenate([person, leaving])
    all_t = np.concatenate([t, at])
    parting = np.concatenate([np.zeros(len(person), bool), np.ones(len(leaving), bool)])
    order = np.argsort(all_t, kind="stable")
    return all_person[order], all_t[order], parting[order]


def tickets_frame(
    people: People,
    persons: I64,
    cal: Calendar,
    first: int,
    rng: np.random.Generator,
    truth: CsvSink | None = None,
) -> Frame:
    """Service tickets: phone calls carry a phone, chats a member id; dormant persons complain,
    half of all leavers complain shortly before they leave (recorded in `truth`), and
    leavers' other tickets in their last months score low."""
    person, t = _events(people, persons, "tickets_per_year", cal, rng)
    person, t, parting = _parting_complaints(people, persons, person, t, rng)
    n = len(person)
    persona = people.persona[person]
    channel = rng.choice(len(TICKET_CHANNELS), n, p=[0.4, 0.3, 0.05, 0.1, 0.15])
    with_member = rng.random(n) < np.array([0.2, 0.9, 0.3, 0.5, 0.9])[channel]
    with_phone = rng.random(n) < np.where(channel == 0, 0.95, 0.3)
    with_member |= ~with_phone
    topic_w = np.tile(
        np.array([0.2, 0.2, 0.12, 0.06, 0.08, 0.08, 0.06, 0.05, 0.08, 0.07, 0.0]), (n, 1)
    )
    topic_w[persona == DORMANT, 2] *= 3
    topic_w[persona == DORMANT, 8] *= 4
    topic_w[persona == B2B, 10] = 0.5
    topic_cdf = np.cumsum(topic_w, axis=1)
    topic = (topic_cdf < rng.random(n)[:, None] * topic_cdf[:, -1:]).sum(axis=1)
    topic = np.where(parting, np.where(rng.random(n) < 0.5, COMPLAINT, QUALITY), topic)
    if truth is not None:
        left = people.churned[person[parting]]
        write_attrition(truth, "parting_complaint", person[parting], t[parting], left)
    own = people.phone_at(person, t)
    phone = np.where(rng.random(n) < 0.03, swap_digits(own, rng), own)
    local = t + fmt.LOCAL_OFFSET
    closed = t + (rng.lognormal(np.log(6 * 3600), 1.2, n)).astype(np.int64)
    still_open = (rng.random(n) < 0.05) | (closed >= cal.as_of)
    mean = persona_param("satisfaction", persona).astype(float)
    souring = people.leaving_within(person, t, SOURING_DAYS)
    mean = np.where(souring, np.minimum(mean, SOURED_SATISFACTION), mean)
    mean = np.where(parting, PARTING_SATISFACTION, mean)
    score = np.clip(np.round(rng.normal(mean, 0.8)), 1, 5).astype(np.int64)
    return Frame(
        columns={
            "ticket_no": fmt.concat_fixed(
                "TK", fmt.ymd_digits(local)[:, 2:], fmt.digits(first + np.arange(n), 8), rows=n
            ),
            "member_id": fmt.blank_where(member_text(people.member[person]), ~with_member),
            "contact_phone": fmt.blank_where(
                fmt.phone_text(phone, phone_codes(n, rng, PHONE_STYLE_SERVICE)), ~with_phone
            ),
            "created_time": fmt.ts_iso(local),
            "closed_time": fmt.blank_where(fmt.ts_iso(closed + fmt.LOCAL_OFFSET), still_open),
            "contact_channel": fmt.take(TICKET_CHANNELS, channel),
            "topic": fmt.take(TICKET_TOPICS, topic),
            "satisfaction": fmt.blank_where(fmt.ints(score), rng.random(n) < 0.3),
        },
        person=person,
    )


def survey_frame(
    people: People,
    persons: I64,
    cal: Calendar,
    hubs: HubRegistry,
    placeholders: Placeholders,
    first: int,
    rng: np.random.Generator,
    truth: CsvSink | None = None,
) -> Frame:
    """NPS answers, in the app (member id) or by e-mail (address only); answers in the months
    before a customer leaves sour (recorded in `truth`)."""
    person, t = _events(people, persons, "surveys_per_year", cal, rng)
    n = len(person)
    persona = people.persona[person]
    email = people.email.take(pa.array(person))
    has_email = np.asarray(pc.is_valid(email))
    by_email = has_email & (rng.random(n) < 0.5)
    typo = rng.random(n) < 0.03
    email = pc.if_else(pa.array(typo), people.email_typo.take(pa.array(person)), email)
    fake = by_email & (rng.random(n) < 0.01)
    email = pc.if_else(pa.array(fake), pa.scalar(PLACEHOLDER_EMAIL), email)
    hubs.hit(np.where(fake, placeholders.email, -1), person)
    mean = persona_param("nps", persona).astype(float)
    souring = people.leaving_within(person, t, SOURING_DAYS)
    mean = np.where(souring, np.minimum(mean, SOURED_NPS), mean)
    if truth is not None:
        left = people.churned[person[souring]]
        write_attrition(truth, "soured_nps", person[souring], t[souring], left)
    spread = np.where(persona == DORMANT, 2.0, 1.2)
    score = np.clip(np.round(rng.normal(mean, spread)), 0, 10).astype(np.int64)
    band = np.where(score <= 6, 0, np.where(score <= 8, 1, 2))
    comments = (*COMMENTS_LOW, *COMMENTS_MID, *COMMENTS_HIGH)
    offset = np.array([0, len(COMMENTS_LOW), len(COMMENTS_LOW) + len(COMMENTS_MID)])[band]
    size = np.array([len(COMMENTS_LOW), len(COMMENTS_MID), len(COMMENTS_HIGH)])[band]
    comment = offset + (rng.random(n) * size).astype(np.int64)
    return Frame(
        columns={
            "response_id": fmt.padded(first + np.arange(n), 9, "R"),
            "member_id": fmt.blank_where(member_text(people.member[person]), by_email),
            "email": fmt.blank_where(fmt.email_text(email, email_codes(n, rng)), ~by_email),
            "submitted_at": fmt.ts_iso(t + fmt.LOCAL_OFFSET, "T", "+08:00"),
            "survey_name": fmt.take(SURVEY_NAMES, rng.integers(0, len(SURVEY_NAMES), n)),
            "question": fmt.take(("nps",), np.zeros(n, np.int64)),
            "score": fmt.ints(score),
            "comment": fmt.blank_where(fmt.take(comments, comment), rng.random(n) < 0.4),
        },
        person=person,
    )
