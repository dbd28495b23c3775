"""Merge protection: identifier values that must not link records.

Real data has hubs that would glue thousands of people together: the shop's phone typed
for walk-in customers, 13800000000, test@test.com, a family iPad, the store's tablet. A
value is a hub when it is on the deny-list, is an obvious placeholder, or is seen with
more distinct strong identifiers (member ids, phones, e-mails, WeChat ids) of one other
type than its rule allows, or with more member ids than its rule allows.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from segmint.identity.normalize import (
    ASCENDING_DIGITS,
    DESCENDING_DIGITS,
    PLACEHOLDER_CN_NUMBERS,
    PLACEHOLDER_EMAIL_DOMAINS,
    PLACEHOLDER_EMAIL_LOCALS,
)
from segmint.project.spec import STRONG_IDENTIFIERS, IdentitySettings

HUB_SCHEMA = ibis.schema(
    {
        "id_type": "string",
        "id_value": "string",
        "reason": "string",
        "partners": "int64",
        "member_ids": "int64",
        "records": "int64",
    }
)

_SAME = "|".join(f"{d}+" for d in range(10))
_SAME_NINE = "|".join(f"{d}{{9}}" for d in range(10))
# Mainland numbers (national digits after +86), the same rules as
# segmint.identity.normalize.is_placeholder_phone: one repeated digit after at most one
# leading digit (or after a mobile's two-digit prefix), a mobile prefix and eight zeros.
_PLACEHOLDER_CN = rf"^(\d?({_SAME})|\d\d({_SAME_NINE})|\d{{3}}0{{8}})$"
_PLACEHOLDER_PHONES = sorted(f"+86{n}" for n in PLACEHOLDER_CN_NUMBERS)
# example.com is reserved for examples, but it is also what demos and fixtures give their
# (distinct) sample people; a shared example.com address is still caught by the limits.
_HUB_EMAIL_DOMAINS = sorted(d for d in PLACEHOLDER_EMAIL_DOMAINS if not d.startswith("example."))
_PLACEHOLDER_ID = r"^(0+|[0-]+|unknown|null|none|undefined|n/?a|-+)$"


def is_placeholder(id_type: ir.StringValue, value: ir.StringValue) -> ir.BooleanValue:
    """Whether a normalised identifier value is an obvious placeholder (SQL expression)."""
    lowered = value.lower()
    national = value.substr(3)
    return ibis.cases(
        (
            id_type == "phone",
            value.isin(_PLACEHOLDER_PHONES)
            | (
                value.startswith("+86")
                & (
                    national.re_search(_PLACEHOLDER_CN)
                    | ibis.literal(ASCENDING_DIGITS).contains(national)
                    | ibis.literal(ASCENDING_DIGITS).contains(national.substr(1))
                    | ibis.literal(DESCENDING_DIGITS).contains(national)
                    | ibis.literal(DESCENDING_DIGITS).contains(national.substr(1))
                )
            ),
        ),
        (
            id_type == "email",
            lowered.re_extract(r"^([^@]*)@", 1).isin(sorted(PLACEHOLDER_EMAIL_LOCALS))
            | lowered.re_extract(r"@(.*)$", 1).isin(_HUB_EMAIL_DOMAINS)
            | lowered.re_search(r"\.(test|example|invalid|localhost)$"),
        ),
        else_=lowered.re_search(_PLACEHOLDER_ID),
    )


def find_hubs(edges: ir.Table, settings: IdentitySettings) -> ir.Table:
    """The hub table (HUB_SCHEMA) of an edge table (node, id_type, id_value, records).

    Each value gets one reason, the first that applies: deny-list, placeholder, too many
    member ids, too many partners.
    """
    values = edges.group_by(["id_type", "id_value"]).aggregate(
        records=edges.records.sum(), nodes=edges.count()
    )
    # A value on one node has at most one partner of each type, and every limit is at
    # least 1, so only values shared by several nodes are paired (at 1M, 1.6M of 3.5M).
    shared = edges.semi_join(values.filter(values.nodes > 1), ["id_type", "id_value"])
    strong = edges.filter(edges.id_type.isin(list(STRONG_IDENTIFIERS)))
    strong = strong.select(
        node=strong.node, partner_type=strong.id_type, partner_value=strong.id_value
    )
    pairs = shared.join(strong, "node").filter(lambda t: t.partner_type != t.id_type)
    per_type = pairs.group_by(["id_type", "id_value", "partner_type"]).aggregate(
        n=lambda t: t.partner_value.nunique()
    )
    partners = per_type.group_by(["id_type", "id_value"]).aggregate(
        partners=per_type.n.max(),
        member_ids=per_type.n.max(where=per_type.partner_type == "member_id"),
    )
    values = values.left_join(partners, ["id_type", "id_value"]).select(
        "id_type",
        "id_value",
        "records",
        partners=lambda t: t.partners.fill_null(0),
        member_ids=lambda t: t.member_ids.fill_null(0),
    )

    too_many_partners = ibis.cases(
        *(
            (values.id_type == kind, values.partners > settings.rule(kind).max_partners)
            for kind in settings.identifiers
        ),
        else_=ibis.literal(False),
    )
    member_limits = [
        (kind, limit)
        for kind in settings.identifiers
        if (limit := settings.rule(kind).max_member_ids) is not None
    ]
    too_many_members = (
        ibis.cases(
            *((values.id_type == kind, values.member_ids > limit) for kind, limit in member_limits),
            else_=ibis.literal(False),
        )
        if member_limits
        else ibis.literal(False)
    )
    placeholder = (
        is_placeholder(values.id_type, values.id_value)
        if settings.placeholders
        else ibis.literal(False)
    )
    reason = ibis.cases(
        (values.id_value.isin(settings.deny), "deny-list"),
        (placeholder, "placeholder"),
        (too_many_members, "too many member ids"),
        (too_many_partners, "too many partners"),
        else_=ibis.null("string"),
    )
    flagged = values.mutate(reason=reason)
    return flagged.filter(flagged.reason.notnull()).select(*HUB_SCHEMA.names).cast(HUB_SCHEMA)
