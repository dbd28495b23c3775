"""The generated company's `segmint.yml`: every source mapped onto its canonical entity."""

from __future__ import annotations

import datetime as dt
from typing import Any

import yaml

from segmint.generate.sources import SOURCES, SourceSpec
from segmint.generate.vocab import INCOME_BANDS, OCCUPATIONS

PROJECT_NAME = "linhai-retail"
LOCAL_ZONE = "Asia/Shanghai"

# canonical column -> source column, or a mapping object ({from, values, on_invalid})
MAPPINGS: dict[str, dict[str, Any]] = {
    "crm_members": {
        "customer_key": "MemberID",
        "member_id": "MemberID",
        "name": "Name",
        "gender": {
            "from": "Gender",
            "values": {"男": "M", "女": "F", "M": "M", "F": "F", "未知": "U"},
            "on_invalid": "null",
        },
        "birth_date": "Birthday",
        "occupation": {
            "from": "Occupation",
            "values": {label: code for code, label in OCCUPATIONS},
            "on_invalid": "null",
        },
        "income_band": {
            "from": "MonthlyIncome",
            "values": {label: code for code, label, _ in INCOME_BANDS},
            "on_invalid": "null",
        },
        "phone": "Mobile",
        "email": "Email",
        "device_id": "DeviceID",
        "wechat_openid": "WechatOpenID",
        "province": "Province",
        "city": "City",
        "registered_at": "RegisterTime",
        "updated_at": "UpdateTime",
        "customer_type": {"from": "AccountType", "values": {"个人": "b2c", "企业": "b2b"}},
        "company_name": "CompanyName",
        "industry": "Industry",
        "company_size": "CompanySize",
    },
    "online_orders": {
        "order_id": "order_no",
        "member_id": "member_id",
        "ordered_at": "order_time",
        "amount": "pay_amount",
        "discount_amount": "discount_amount",
        "channel": "channel",
        "status": "status",
        "payment_method": "payment_method",
    },
    "order_items": {
        "order_id": "order_no",
        "line_no": "line_no",
        "sku": "sku",
        "product_name": "product_name",
        "category": "category",
        "brand": "brand",
        "quantity": "qty",
        "unit_price": "unit_price",
        "amount": "line_amount",
    },
    "store_orders": {
        "order_id": "小票号",
        "store_id": "门店编号",
        "member_id": "会员卡号",
        "phone": "手机号",
        "ordered_at": "下单时间",
        "amount": "实付金额",
        "discount_amount": "优惠金额",
        "payment_method": "支付方式",
        "status": {
            "from": "单据状态",
            "values": {"正常": "paid", "退货": "refunded", "作废": "cancelled"},
        },
    },
    "app_events": {
        "event_id": "messageId",
        "type": "type",
        "event": "event",
        "member_id": "userId",
        "device_id": "anonymousId",
        "timestamp": "timestamp",
        "platform": {
            "from": "context.device.type",
            "values": {
                "web": "web",
                "ios": "ios",
                "android": "android",
                "wechat_miniprogram": "miniprogram",
            },
        },
        "page_url": "properties.url",
        "product_id": "properties.product_id",
        "category": "properties.category",
        "search_query": "properties.query",
    },
    "service_tickets": {
        "ticket_id": "ticket_no",
        "member_id": "member_id",
        "phone": "contact_phone",
        "opened_at": "created_time",
        "closed_at": "closed_time",
        "channel": {
            "from": "contact_channel",
            "values": {
                "电话": "phone",
                "在线客服": "chat",
                "邮件": "email",
                "门店": "store",
                "微信": "wechat",
            },
        },
        "topic": "topic",
        "satisfaction": "satisfaction",
    },
    "nps_survey": {
        "response_id": "response_id",
        "member_id": "member_id",
        "email": "email",
        "answered_at": "submitted_at",
        "survey": "survey_name",
        "question": "question",
        "score": "score",
        "answer_text": "comment",
    },
    "consent": {
        "consent_id": "consent_id",
        "member_id": "member_id",
        "phone": "mobile",
        "email": "email",
        "channel": "channel",
        "status": "status",
        "recorded_at": "recorded_at",
    },
    "campaign_responses": {
        "touch_id": "touch_id",
        "campaign_id": "campaign_id",
        "member_id": "member_id",
        "phone": "mobile",
        "email": "email",
        "wechat_openid": "openid",
        "channel": "channel",
        "sent_at": "sent_time",
        "response": "response",
    },
}


def _source(spec: SourceSpec) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": spec.name, "entity": spec.entity, "path": spec.path}
    if spec.encoding == "gbk":
        entry["encoding"] = "gbk"
    entry["timezone"] = "UTC" if spec.time_style == "utc_ms" else LOCAL_ZONE
    entry["columns"] = MAPPINGS[spec.name]
    return entry


def project_dict(as_of: dt.datetime) -> dict[str, Any]:
    """The project as plain data (what `segmint.yml` holds)."""
    return {
        "name": PROJECT_NAME,
        "as_of": as_of,
        "warehouse": {"engine": "duckdb", "path": "warehouse.duckdb"},
        # app events reach a member only through the device (anonymousId) they identified on
        "identity": {"identifiers": ["member_id", "phone", "email", "wechat_openid", "device_id"]},
        # the company trades in China: active hours and weekends are read on Beijing time
        "profile": {"timezone": "Asia/Shanghai", "source_priority": ["crm_members"]},
        "segments": {"rules": SEGMENT_RULES},
        "sources": [_source(spec) for spec in SOURCES],
    }


# Rule segments a retail CRM team keeps: over traits, layers and tags only, so the project
# still runs when predictions are switched off (scores are usable in rules when they are on).
SEGMENT_RULES: list[dict[str, str]] = [
    {
        "name": "vip_slipping",
        "rule": "tag_layer_high_value and recency_days > 60",
        "description": "High-value customers with no purchase for two months",
        "description_zh": "两个月未购买的高价值客户",
    },
    {
        "name": "win_back",
        "rule": "rfm_segment in ['At Risk', \"Can't Lose Them\", 'Hibernating'] "
        "and monetary >= 1000",
        "description": "Lapsing customers who used to spend 1,000 or more",
        "description_zh": "曾消费千元以上的流失风险客户",
    },
    {
        "name": "deal_seekers",
        "rule": "discount_share >= 0.5 and frequency >= 2",
        "description": "Repeat buyers who mostly buy on discount",
        "description_zh": "多以折扣价购买的复购客户",
    },
    {
        "name": "loyal_core",
        "rule": "rfm_segment in ['Champions', 'Loyal']",
        "description": "Champions and loyal customers",
        "description_zh": "冠军与忠诚客户",
    },
]


def project_yaml(as_of: dt.datetime, customers: int, seed: int) -> str:
    """`segmint.yml` text with a short header saying where it came from."""
    header = (
        "# segmint project for a generated retail company (Linhai Retail, synthetic data).\n"
        f"# Written by `segmint generate --customers {customers} --seed {seed}`; the same seed\n"
        "# always writes the same files. Paths are relative to this file; truth/ holds the\n"
        "# ground truth and is not a source.\n"
    )
    body = yaml.safe_dump(
        project_dict(as_of), sort_keys=False, allow_unicode=True, default_flow_style=False
    )
    return header + body
