"""The generated company's sources: files, headers, keys and the bad rows each may carry.

A `SourceSpec` describes one file as a real system would export it. Generators produce
`Frame`s (text columns in file order plus the true person of each row); the writer plants bad
rows according to the spec and appends the frame to the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pyarrow as pa

from segmint.generate import fmt
from segmint.generate.arrays import I64, Bool

TimeStyle = Literal["iso_local", "iso_t_local", "chinese_local", "utc_ms"]


def format_time(style: TimeStyle, t: I64) -> pa.Array:
    """UTC epoch seconds written in one of the sources' timestamp styles."""
    local = t + fmt.LOCAL_OFFSET
    if style == "iso_local":
        return fmt.ts_iso(local)
    if style == "iso_t_local":
        return fmt.ts_iso(local, "T", "+08:00")
    if style == "chinese_local":
        return fmt.ts_chinese(local)
    return fmt.ts_utc_ms(t, (t % 997) % 1000)


@dataclass
class Frame:
    """Rows of one source, before bad rows are planted.

    columns: header name -> nullable text column, in file order (a null is written as an
    empty field, or JSON null). person: the true person behind each row (-1: none).
    orphan: rows that reference a member the CRM export does not contain.
    """

    columns: dict[str, pa.Array]
    person: I64
    orphan: Bool | None = None

    @property
    def n(self) -> int:
        """Number of rows."""
        return len(self.person)


@dataclass(frozen=True)
class BadKind:
    """One kind of planted bad row: which column it breaks and on what share of rows."""

    kind: str
    column: str  # "" for row-level kinds (duplicate_row, ragged_row)
    share: float
    values: tuple[str, ...] = ()  # replacement values for enum / range kinds


ROW_KINDS = ("duplicate_row", "key_conflict", "ragged_row")


@dataclass(frozen=True)
class SourceSpec:
    """One source file as exported by its system."""

    name: str
    entity: str
    path: str
    columns: tuple[str, ...]
    key: str
    time_style: TimeStyle
    bad: tuple[BadKind, ...]
    format: Literal["csv", "jsonl"] = "csv"
    encoding: str = "utf-8"  # Python codec name
    newline: str = "\n"
    carries_person: bool = True
    json_numbers: tuple[str, ...] = field(default_factory=tuple)
    json_optional: tuple[str, ...] = field(default_factory=tuple)  # keys left out when null

    def bad_share(self) -> float:
        """Expected share of planted bad rows."""
        return float(np.sum([b.share for b in self.bad]))


def _b(kind: str, column: str, share: float, *values: str) -> BadKind:
    return BadKind(kind, column, share, tuple(values))


CRM = SourceSpec(
    name="crm_members",
    entity="customers",
    path="crm/members.csv",
    encoding="utf-8-sig",
    columns=(
        "MemberID",
        "Name",
        "Gender",
        "Birthday",
        # Occupation and MonthlyIncome sit either side of RegisterTime, keeping it the middle
        # column (the one ragged rows lose) as it was before they were added
        "Occupation",
        "Mobile",
        "Email",
        "Province",
        "City",
        "RegisterChannel",
        "RegisterTime",
        "UpdateTime",
        "MemberLevel",
        "Points",
        "MonthlyIncome",
        "DeviceID",
        "WechatOpenID",
        "AccountType",
        "CompanyName",
        "Industry",
        "CompanySize",
    ),
    key="MemberID",
    time_style="iso_local",
    bad=(
        _b("missing_required", "MemberID", 0.0018),
        _b("malformed_phone", "Mobile", 0.0024),
        _b("malformed_email", "Email", 0.0024),
        _b("age_out_of_range", "Birthday", 0.0018),
        _b("unparseable_timestamp", "RegisterTime", 0.0018),
        _b("future_timestamp", "UpdateTime", 0.0012),
        _b("unknown_enum", "AccountType", 0.0012, "个体户", "VIP", "企业用户"),
        _b("duplicate_row", "", 0.0024),
        _b("key_conflict", "Name", 0.0018),
        _b("ragged_row", "", 0.0012),
    ),
)

ONLINE_ORDERS = SourceSpec(
    name="online_orders",
    entity="orders",
    path="online/orders.csv",
    columns=(
        "order_no",
        "member_id",
        "order_time",
        "channel",
        "status",
        "pay_amount",
        "discount_amount",
        "payment_method",
    ),
    key="order_no",
    time_style="iso_local",
    bad=(
        _b("missing_required", "order_time", 0.00186),
        _b("unparseable_timestamp", "order_time", 0.00186),
        _b("unparseable_amount", "pay_amount", 0.00186),
        _b("negative_amount", "pay_amount", 0.00124),
        _b("absurd_amount", "pay_amount", 0.00074),
        _b("future_timestamp", "order_time", 0.00124),
        _b("unknown_enum", "status", 0.00124, "shipped", "待发货", "PENDING"),
        _b("duplicate_row", "", 0.00248),
        _b("key_conflict", "pay_amount", 0.00124),
        _b("ragged_row", "", 0.00124),
    ),
)

ORDER_ITEMS = SourceSpec(
    name="order_items",
    entity="order_items",
    path="online/order_items.csv",
    columns=(
        "order_no",
        "line_no",
        "sku",
        "product_name",
        "category",
        "brand",
        "qty",
        "unit_price",
        "line_amount",
    ),
    key="order_no",
    time_style="iso_local",
    carries_person=False,
    bad=(
        _b("missing_required", "order_no", 0.002),
        _b("unparseable_amount", "line_amount", 0.002),
        _b("negative_amount", "line_amount", 0.001),
        _b("duplicate_row", "", 0.004),
        _b("ragged_row", "", 0.002),
    ),
)

STORE_ORDERS = SourceSpec(
    name="store_orders",
    entity="orders",
    path="stores/offline_orders.csv",
    encoding="gbk",
    newline="\r\n",
    columns=(
        "小票号",
        "门店编号",
        "门店名称",
        "收银员",
        "会员卡号",
        "手机号",
        "下单时间",
        "应收金额",
        "优惠金额",
        "实付金额",
        "支付方式",
        "单据状态",
    ),
    key="小票号",
    time_style="chinese_local",
    bad=(
        _b("missing_required", "小票号", 0.00116),
        _b("unparseable_timestamp", "下单时间", 0.00174),
        _b("unparseable_amount", "实付金额", 0.00174),
        _b("negative_amount", "实付金额", 0.00174),
        _b("malformed_phone", "手机号", 0.00232),
        _b("unknown_enum", "单据状态", 0.00116, "挂单", "待结算"),
        _b("future_timestamp", "下单时间", 0.00093),
        _b("duplicate_row", "", 0.00232),
        _b("key_conflict", "实付金额", 0.00116),
        _b("ragged_row", "", 0.00174),
    ),
)

EVENTS = SourceSpec(
    name="app_events",
    entity="events",
    path="events/events.jsonl",
    format="jsonl",
    columns=(
        "messageId",
        "type",
        "event",
        "name",
        "userId",
        "anonymousId",
        "timestamp",
        "context.device.type",
        "properties.product_id",
        "properties.category",
        "properties.query",
        "properties.url",
        "properties.order_id",
        "properties.revenue",
    ),
    json_numbers=("properties.revenue",),
    json_optional=("name", "properties.order_id", "properties.revenue"),
    key="messageId",
    time_style="utc_ms",
    bad=(
        _b("missing_required", "timestamp", 0.00153),
        _b("unparseable_timestamp", "timestamp", 0.00153),
        _b("future_timestamp", "timestamp", 0.00153),
        _b("unknown_enum", "type", 0.00153, "alias", "group"),
        _b("unknown_enum", "context.device.type", 0.00076, "harmonyos", "tv"),
        _b("duplicate_row", "", 0.00612),
    ),
)

TICKETS = SourceSpec(
    name="service_tickets",
    entity="service_interactions",
    path="service/tickets.csv",
    columns=(
        "ticket_no",
        "member_id",
        "contact_phone",
        "created_time",
        "closed_time",
        "contact_channel",
        "topic",
        "satisfaction",
    ),
    key="ticket_no",
    time_style="iso_local",
    bad=(
        _b("missing_required", "created_time", 0.00191),
        _b("unparseable_timestamp", "created_time", 0.00191),
        _b("malformed_phone", "contact_phone", 0.00255),
        _b("unknown_enum", "contact_channel", 0.00191, "传真", "信件"),
        _b("out_of_range", "satisfaction", 0.00191, "0", "6", "10"),
        _b("duplicate_row", "", 0.00255),
        _b("ragged_row", "", 0.00127),
    ),
)

SURVEY = SourceSpec(
    name="nps_survey",
    entity="survey_answers",
    path="survey/nps.csv",
    columns=(
        "response_id",
        "member_id",
        "email",
        "submitted_at",
        "survey_name",
        "question",
        "score",
        "comment",
    ),
    key="response_id",
    time_style="iso_t_local",
    bad=(
        _b("missing_required", "submitted_at", 0.0026),
        _b("malformed_email", "email", 0.0039),
        _b("out_of_range", "score", 0.0026, "11", "-1", "99"),
        _b("duplicate_row", "", 0.0039),
    ),
)

CONSENT = SourceSpec(
    name="consent",
    entity="consent",
    path="consent/consent.csv",
    columns=(
        "consent_id",
        "member_id",
        "mobile",
        "email",
        "channel",
        "status",
        "recorded_at",
        "source",
    ),
    key="consent_id",
    time_style="iso_local",
    bad=(
        _b("missing_required", "channel", 0.0024),
        _b("unknown_enum", "status", 0.0024, "pending", "unsure"),
        _b("unparseable_timestamp", "recorded_at", 0.0024),
        _b("duplicate_row", "", 0.0048),
    ),
)

CAMPAIGN = SourceSpec(
    name="campaign_responses",
    entity="campaign_responses",
    path="campaign/responses.csv",
    columns=(
        "touch_id",
        "campaign_id",
        "campaign_name",
        "member_id",
        "mobile",
        "email",
        "openid",
        "channel",
        "sent_time",
        "response",
    ),
    key="touch_id",
    time_style="iso_local",
    bad=(
        _b("missing_required", "campaign_id", 0.00257),
        _b("unknown_enum", "response", 0.00257, "read", "forwarded"),
        _b("future_timestamp", "sent_time", 0.00171),
        _b("duplicate_row", "", 0.00514),
    ),
)

SOURCES: tuple[SourceSpec, ...] = (
    CRM,
    ONLINE_ORDERS,
    ORDER_ITEMS,
    STORE_ORDERS,
    EVENTS,
    TICKETS,
    SURVEY,
    CONSENT,
    CAMPAIGN,
)
