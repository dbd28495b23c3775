"""The canonical entities every source is mapped onto.

Each entity is a list of typed columns. Sources map their own column names onto these in
`segmint.yml`; ingestion parses, validates and loads them into one published table per
entity. docs/data-model.md documents the same catalogue for humans (a test keeps the two in
step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ColumnType(StrEnum):
    """Logical column types; each has one parser and one set of validity rules."""

    STRING = "string"
    INT = "int"
    MONEY = "money"
    FLOAT = "float"
    DATE = "date"
    TIMESTAMP = "timestamp"
    BOOL = "bool"
    ENUM = "enum"
    PHONE = "phone"
    EMAIL = "email"
    DEVICE_ID = "device_id"
    MEMBER_ID = "member_id"


@dataclass(frozen=True)
class Column:
    """One canonical column: its type, whether a row needs it, and what it means."""

    name: str
    type: ColumnType
    description: str
    required: bool = False
    identifier: bool = False  # used by identity resolution
    enum_values: tuple[str, ...] = ()
    min_value: float | None = None
    max_value: float | None = None


@dataclass(frozen=True)
class Entity:
    """A canonical entity: its columns, its primary key and its event-time column."""

    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    time_column: str | None = None  # drives freshness and the future-timestamp rule
    version_column: str | None = None  # on key conflicts the latest version wins
    references_customers: bool = False  # rows are checked against the customers entity
    columns_by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns_by_name", {c.name: c for c in self.columns})

    def column(self, name: str) -> Column:
        """Return the column called `name` (KeyError if the entity has none)."""
        return self.columns_by_name[name]


T = ColumnType

# Identifier columns any entity may carry; identity resolution links records through them.
_IDENTIFIERS = (
    Column(
        "member_id",
        T.MEMBER_ID,
        "Loyalty / CRM member number; trimmed, letters upper-cased.",
        identifier=True,
    ),
    Column(
        "phone", T.PHONE, "Phone number; normalised to E.164 (+8613812345678).", identifier=True
    ),
    Column("email", T.EMAIL, "E-mail address; trimmed and lower-cased.", identifier=True),
    Column(
        "device_id",
        T.DEVICE_ID,
        "Device or anonymous id (IDFA, OAID, Android ID, cookie / anonymousId); UUIDs "
        "upper-cased 8-4-4-4-12, Android IDs lower-cased, placeholders such as the all-zero "
        "IDFA blanked.",
        identifier=True,
    ),
    Column("wechat_openid", T.STRING, "WeChat OpenID or UnionID.", identifier=True),
)

CHANNELS = ("online", "offline", "app", "miniprogram", "marketplace", "phone", "other")
OCCUPATIONS = (
    "white_collar",
    "blue_collar",
    "student",
    "self_employed",
    "civil_servant",
    "retired",
    "homemaker",
    "other",
)
# Personal monthly income in CNY: <5k, 5k-10k, 10k-20k, 20k-50k, >=50k.
INCOME_BANDS = ("low", "lower_middle", "middle", "upper_middle", "high")

CUSTOMERS = Entity(
    name="customers",
    description="CRM / member records, one per member (B2C) or account (B2B).",
    primary_key=("customer_key",),
    time_column="updated_at",
    version_column="updated_at",
    columns=(
        Column("customer_key", T.STRING, "The source's own key for the record.", required=True),
        *_IDENTIFIERS,
        Column("name", T.STRING, "Full name (Chinese or Latin script)."),
        Column("gender", T.ENUM, "F, M or U (unknown).", enum_values=("F", "M", "U")),
        Column("birth_date", T.DATE, "Date of birth; ages outside 0-120 are invalid."),
        Column("province", T.STRING, "Province or state."),
        Column("city", T.STRING, "City."),
        Column(
            "occupation",
            T.ENUM,
            "B2C: occupation; sources recode their labels (白领: white_collar, 退休: retired).",
            enum_values=OCCUPATIONS,
        ),
        Column(
            "income_band",
            T.ENUM,
            "B2C: personal monthly income in CNY: low < 5k, lower_middle 5k-10k, "
            "middle 10k-20k, upper_middle 20k-50k, high ≥ 50k.",
            enum_values=INCOME_BANDS,
        ),
        Column("registered_at", T.TIMESTAMP, "When the member joined."),
        Column("updated_at", T.TIMESTAMP, "When the record last changed."),
        Column("customer_type", T.ENUM, "b2c or b2b.", enum_values=("b2c", "b2b")),
        Column("company_name", T.STRING, "B2B: the company."),
        Column("industry", T.STRING, "B2B: industry."),
        Column("company_size", T.INT, "B2B: number of employees.", min_value=1),
    ),
)

ORDERS = Entity(
    name="orders",
    description="Online and offline orders (one row per order).",
    primary_key=("order_id",),
    time_column="ordered_at",
    references_customers=True,
    columns=(
        Column("order_id", T.STRING, "Order number, unique within the source.", required=True),
        *_IDENTIFIERS,
        Column("ordered_at", T.TIMESTAMP, "When the order was placed.", required=True),
        Column(
            "amount",
            T.MONEY,
            "Amount paid, after discounts.",
            required=True,
            min_value=0,
            max_value=1_000_000,
        ),
        Column("discount_amount", T.MONEY, "Discount given.", min_value=0, max_value=1_000_000),
        Column("channel", T.ENUM, "Sales channel.", enum_values=CHANNELS),
        Column("store_id", T.STRING, "Store or shop that took the order."),
        Column(
            "status",
            T.ENUM,
            "Order status; only paid orders count as purchases.",
            enum_values=("paid", "refunded", "cancelled"),
        ),
        Column("payment_method", T.STRING, "How the order was paid."),
    ),
)

ORDER_ITEMS = Entity(
    name="order_items",
    description="Order lines: what was bought.",
    primary_key=("order_id", "line_no"),
    columns=(
        Column("order_id", T.STRING, "The order this line belongs to.", required=True),
        Column("line_no", T.INT, "Line number within the order.", required=True, min_value=1),
        Column("sku", T.STRING, "Product code."),
        Column("product_name", T.STRING, "Product name."),
        Column("category", T.STRING, "Product category."),
        Column("brand", T.STRING, "Brand."),
        Column("quantity", T.INT, "Units bought.", min_value=1, max_value=10_000),
        Column("unit_price", T.MONEY, "Price per unit.", min_value=0, max_value=1_000_000),
        Column("amount", T.MONEY, "Line amount.", min_value=0, max_value=1_000_000),
    ),
)

EVENTS = Entity(
    name="events",
    description="App and web behaviour in the common tracking-spec shape "
    "(track / page / screen / identify).",
    primary_key=("event_id",),
    time_column="timestamp",
    references_customers=True,
    columns=(
        Column("event_id", T.STRING, "messageId: unique per event.", required=True),
        Column(
            "type",
            T.ENUM,
            "Tracking-spec call type.",
            required=True,
            enum_values=("track", "page", "screen", "identify"),
        ),
        Column("event", T.STRING, "Event name for track calls (Product Viewed, Order Completed)."),
        *_IDENTIFIERS,
        Column("timestamp", T.TIMESTAMP, "When the event happened.", required=True),
        Column(
            "platform",
            T.ENUM,
            "web, ios, android or miniprogram.",
            enum_values=("web", "ios", "android", "miniprogram"),
        ),
        Column("page_url", T.STRING, "Page URL or screen name."),
        Column("product_id", T.STRING, "Product involved, if any."),
        Column("category", T.STRING, "Product category involved, if any."),
        Column("search_query", T.STRING, "Search terms for search events."),
    ),
)

SERVICE_INTERACTIONS = Entity(
    name="service_interactions",
    description="Customer-service tickets and their satisfaction scores.",
    primary_key=("ticket_id",),
    time_column="opened_at",
    references_customers=True,
    columns=(
        Column("ticket_id", T.STRING, "Ticket number.", required=True),
        *_IDENTIFIERS,
        Column("opened_at", T.TIMESTAMP, "When the ticket was opened.", required=True),
        Column("closed_at", T.TIMESTAMP, "When it was closed."),
        Column(
            "channel",
            T.ENUM,
            "Contact channel.",
            enum_values=("phone", "chat", "email", "store", "wechat", "other"),
        ),
        Column("topic", T.STRING, "What the contact was about."),
        Column("satisfaction", T.INT, "Satisfaction score 1-5.", min_value=1, max_value=5),
    ),
)

SURVEY_ANSWERS = Entity(
    name="survey_answers",
    description="Survey answers: NPS and needs questions.",
    primary_key=("response_id",),
    time_column="answered_at",
    references_customers=True,
    columns=(
        Column("response_id", T.STRING, "Answer id.", required=True),
        *_IDENTIFIERS,
        Column("answered_at", T.TIMESTAMP, "When it was answered.", required=True),
        Column("survey", T.STRING, "Survey name."),
        Column("question", T.STRING, "Question code, e.g. nps."),
        Column("score", T.INT, "Numeric answer (NPS 0-10).", min_value=0, max_value=10),
        Column("answer_text", T.STRING, "Free-text answer."),
    ),
)

CAMPAIGN_RESPONSES = Entity(
    name="campaign_responses",
    description="Campaign touches and what the customer did with them.",
    primary_key=("touch_id",),
    time_column="sent_at",
    references_customers=True,
    columns=(
        Column("touch_id", T.STRING, "Touch (message) id.", required=True),
        *_IDENTIFIERS,
        Column("campaign_id", T.STRING, "Campaign.", required=True),
        Column(
            "channel",
            T.ENUM,
            "Channel used.",
            enum_values=("sms", "email", "wechat", "app_push", "short_video", "other"),
        ),
        Column("sent_at", T.TIMESTAMP, "When it was sent.", required=True),
        Column(
            "response",
            T.ENUM,
            "Furthest response reached.",
            enum_values=(
                "sent",
                "delivered",
                "opened",
                "clicked",
                "converted",
                "unsubscribed",
                "bounced",
            ),
        ),
    ),
)

CONSENT = Entity(
    name="consent",
    description="Marketing consent and opt-outs per channel.",
    primary_key=("consent_id",),
    time_column="recorded_at",
    references_customers=True,
    columns=(
        Column("consent_id", T.STRING, "Record id.", required=True),
        *_IDENTIFIERS,
        Column(
            "channel",
            T.ENUM,
            "Channel the consent covers.",
            enum_values=("sms", "email", "wechat", "app_push", "phone", "all"),
            required=True,
        ),
        Column(
            "status", T.ENUM, "opt_in or opt_out.", enum_values=("opt_in", "opt_out"), required=True
        ),
        Column("recorded_at", T.TIMESTAMP, "When it was given or withdrawn.", required=True),
    ),
)

ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        CUSTOMERS,
        ORDERS,
        ORDER_ITEMS,
        EVENTS,
        SERVICE_INTERACTIONS,
        SURVEY_ANSWERS,
        CAMPAIGN_RESPONSES,
        CONSENT,
    )
}
