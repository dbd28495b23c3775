# ruff: noqa: E501
"""A small hand-written project with one planted instance of every validation rule.

M010 and M011 share the placeholder phone 13800000000, a hub that must not merge them.
Each bad row's expected rule is listed in EXPECTED_QUARANTINE, so tests can prove each
rule fires on exactly the row it should, with the file and line named.
"""

from __future__ import annotations

from pathlib import Path

import yaml

CRM = """member_no,name,mobile,mail,sex,birthday,city,joined,updated
M001,张伟,13812345678,zhang.wei@example.com,男,1990-05-01,上海,2024-01-02 10:00:00,2026-10-01 10:00:00
M002,Li Na,+86 139 0000 1111,Li.Na@Example.COM ,女,1985/3/7,北京,2024年2月3日 09:30,2026-10-02 09:00:00
M003,王芳,１３７１２３４５６７８,wf@example.com,F,1999-12-31,深圳,2025-06-01,2026-10-03 08:00:00
M004,赵敏,12345,zm@example.com,女,1992-01-01,杭州,2025-01-01,2026-10-04 08:00:00
M005,钱进,13512345678,not-an-email,男,1991-01-01,南京,2025-01-01,2026-10-05 08:00:00
M006,孙丽,13612345678,sl@example.com,X,1993-01-01,成都,2025-01-01,2026-10-06 08:00:00
M007,周杰,13312345678,zj@example.com,男,1800-01-01,重庆,2025-01-01,2026-10-07 08:00:00
,无名,13212345678,wm@example.com,男,1990-01-01,天津,2025-01-01,2026-10-08 08:00:00
M008,吴刚,13112345678,wg@example.com,男,1990-01-01,西安,2025-01-01,2026-10-09 08:00:00
M008,吴刚,13112345678,wg2@example.com,男,1990-01-01,西安,2025-01-01,2026-10-10 08:00:00
M009,郑爽,13012345678,zs@example.com,女,1990-01-01,武汉,2025-01-01,2026-10-11 08:00:00
M010,冯一,13800000000,fy@example.com,男,1990-01-01,武汉,2025-01-01,2026-10-11 08:00:00
M011,陈二,138-0000-0000,ce@example.com,女,1990-01-01,武汉,2025-01-01,2026-10-11 08:00:00
"""

ORDERS = """order_id,member_no,mobile,order_time,amount,status,channel
O1,M001,,2026-10-20 12:00:00,"￥1,234.50",paid,online
O2,M001,,2026-10-25T08:00:00+08:00,88,paid,app
O3,M002,,2026/10/1 09:00,￥300,paid,online
O4,M003,,2026-09-01 10:00:00,-5,paid,online
O5,M003,,2026-09-01 10:00:00,abc,paid,online
O6,M003,,not a date,10,paid,online
O7,M003,,2030-01-01 10:00:00,10,paid,online
O8,M003,,2026-09-02 10:00:00,99999999,paid,online
O9,M003,,2026-09-03 10:00:00,10,shipped,online
O10,M002,,2026-09-04 10:00:00,20,paid,online
O10,M002,,2026-09-04 10:00:00,20,paid,online
O11,M002,,2026-09-05 10:00:00,30,paid,online
O11,M002,,2026-09-05 10:00:00,31,paid,online
O12,M999,,2026-09-06 10:00:00,40,paid,online
O13,,13812345678,2026-08-06 10:00:00,50,paid,offline
O14,M001,,2026-10-30 10:00:00,5,cancelled,online
O15,M002,,2026-09-07 10:00:00,1,paid,online,extra
,M002,,2026-09-08 10:00:00,1,paid,online
"""

# source, line, rule
EXPECTED_QUARANTINE = {
    ("crm", 5, "malformed_phone"),
    ("crm", 6, "malformed_email"),
    ("crm", 7, "unknown_enum"),
    ("crm", 8, "age_out_of_range"),
    ("crm", 9, "missing_required"),
    ("crm", 10, "key_conflict"),  # the newer version (line 11, updated later) is kept
    ("orders", 5, "negative_amount"),
    ("orders", 6, "unparseable_amount"),
    ("orders", 7, "unparseable_timestamp"),
    ("orders", 8, "future_timestamp"),
    ("orders", 9, "absurd_amount"),
    ("orders", 10, "unknown_enum"),
    ("orders", 12, "duplicate_row"),
    ("orders", 13, "key_conflict"),  # same key, different amount: the last line wins
    ("orders", 18, "malformed_row"),
    ("orders", 19, "missing_required"),
}


def write_mini_project(root: Path, engine: dict[str, str] | None = None) -> Path:
    """Write the mini project into `root`; returns the project file."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "data" / "crm.csv").write_text(CRM, encoding="utf-8")
    # The order export comes from a Chinese POS: GB18030 (the GBK superset) encoded.
    (root / "data" / "orders.csv").write_bytes(ORDERS.encode("gb18030"))
    project = {
        "name": "mini",
        "as_of": "2026-10-31T00:00:00",
        "warehouse": engine or {"engine": "duckdb", "path": "warehouse.duckdb"},
        "sources": [
            {
                "name": "crm",
                "entity": "customers",
                "path": "data/crm.csv",
                "timezone": "Asia/Shanghai",
                "columns": {
                    "customer_key": "member_no",
                    "member_id": "member_no",
                    "name": "name",
                    "phone": "mobile",
                    "email": "mail",
                    "gender": {"from": "sex", "values": {"男": "M", "女": "F"}},
                    "birth_date": "birthday",
                    "city": "city",
                    "registered_at": "joined",
                    "updated_at": "updated",
                },
            },
            {
                "name": "orders",
                "entity": "orders",
                "path": "data/orders.csv",
                "timezone": "Asia/Shanghai",
                "columns": {
                    "order_id": "order_id",
                    "member_id": "member_no",
                    "phone": "mobile",
                    "ordered_at": "order_time",
                    "amount": "amount",
                    "status": "status",
                    "channel": "channel",
                },
            },
        ],
        # rule segments over traits, layers and tags: the parity test compares them on Spark
        "segments": {
            "rules": [
                {
                    "name": "big_spenders",
                    "rule": "monetary >= 500 or tag_layer_high_value",
                    "description": "Spent 500 or more, or in the high-value layer",
                    "description_zh": "消费500以上或高价值层",
                },
                {
                    "name": "recent_buyers",
                    "rule": "recency_days <= 90",
                    "description": "Bought in the last 90 days",
                },
            ]
        },
    }
    path = root / "segmint.yml"
    path.write_text(yaml.safe_dump(project, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
