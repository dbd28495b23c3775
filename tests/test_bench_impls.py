"""The benchmark's pandas and DuckDB-SQL implementations do segmint's work and get its answers.

bench/ times segmint against two independent implementations; the ratios only mean something
if all three do the same work. On the hand-written mini project (one planted instance of every
rule) and on a tiny generated company this checks the row accounting per source, which rule
quarantined which line, the number of customers, and RFM frequency and monetary per customer
(customers matched by their first record: customer ids are labels). It also checks that the
rules bench/common.py restates are still segmint's, value by value on awkward inputs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pandas as pd
import pytest
import yaml

from mini_project import write_mini_project
from segmint import Project
from segmint.generate import generate_company
from segmint.identity import hubs as segmint_hubs
from segmint.identity import normalize
from segmint.ingest import parse as segmint_parse
from segmint.project import entities as segmint_entities
from segmint.project.spec import (
    STRONG_IDENTIFIERS,
    IdentitySettings,
    QualityThresholds,
    RFMSettings,
)
from segmint.traits import rfm as segmint_rfm

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import common
import pandas_impl
import sql_impl
from run import write_bench_project

AS_OF = dt.datetime(2026, 10, 31)


# ------------------------------------------------------------------ the restated rules


def test_bench_restates_segmints_entities_and_settings() -> None:
    for name in common.BENCH_ENTITIES:
        theirs = segmint_entities.ENTITIES[name]
        ours = common.ENTITIES[name]
        assert [
            (c.name, str(c.type), c.required, c.enum_values, c.min_value, c.max_value)
            for c in theirs.columns
        ] == [(c.name, c.type, c.required, c.enum, c.min, c.max) for c in ours.columns], name
        assert ours.key == theirs.primary_key
        assert ours.time_column == theirs.time_column
        assert ours.version_column == theirs.version_column
        assert ours.references_customers == theirs.references_customers
    identity = IdentitySettings().model_dump()
    assert identity.pop("probabilistic")["enabled"] == common.DEFAULT_PROBABILISTIC
    assert identity == common.DEFAULT_IDENTITY
    assert common.STRONG_IDENTIFIERS == STRONG_IDENTIFIERS
    assert tuple(segmint_hubs._PLACEHOLDER_PHONES) == common.PLACEHOLDER_PHONES
    assert common.PLACEHOLDER_CN == segmint_hubs._PLACEHOLDER_CN
    assert common.PLACEHOLDER_ID == segmint_hubs._PLACEHOLDER_ID
    assert tuple(segmint_hubs._HUB_EMAIL_DOMAINS) == common.PLACEHOLDER_EMAIL_DOMAINS
    assert tuple(sorted(normalize.PLACEHOLDER_EMAIL_LOCALS)) == common.PLACEHOLDER_EMAIL_LOCALS
    assert common.ASCENDING_DIGITS == normalize.ASCENDING_DIGITS
    assert common.DESCENDING_DIGITS == normalize.DESCENDING_DIGITS
    for pattern in ("EMAIL", "EMAIL_WHITESPACE", "UUID_DASHED", "UUID_PLAIN", "HEX16"):
        assert getattr(common, pattern) == getattr(normalize, pattern), pattern
    assert common.PLACEHOLDER_DEVICE_IDS == normalize.PLACEHOLDER_DEVICE_IDS
    assert common.NON_ASCII == segmint_parse._NON_ASCII
    assert QualityThresholds().model_dump() == common.DEFAULT_QUALITY
    assert RFMSettings().bins == common.DEFAULT_BINS
    assert common.SEGMENT_GRID == segmint_rfm.SEGMENT_GRID
    for code, text in common.RULES.items():
        assert segmint_parse.RULES[code] == text
    for pattern in ("COMPACT", "MONEY_STRIP", "NUMBER"):
        assert getattr(common, pattern) == getattr(segmint_parse, f"_{pattern}"), pattern


PLACEHOLDER_CASES = [
    ("phone", "+8613800138000"),
    ("phone", "+8613800000000"),
    ("phone", "+8613911111111"),
    ("phone", "+8611111111111"),
    ("phone", "+8612345678901"),
    ("phone", "+8619876543210"),
    ("phone", "+8613912345678"),
    ("phone", "+862112345678"),
    ("phone", "+441234567890"),
    ("phone", "+8613800138001"),
    ("email", "test@qq.com"),
    ("email", "li.na@test.com"),
    ("email", "a@b.invalid"),
    ("email", "a@example.com"),
    ("email", "zhang@163.com"),
    ("email", "noreply@shop.cn"),
    ("member_id", "0000"),
    ("member_id", "M001"),
    ("member_id", "N/A"),
    ("device_id", "00000000-0000-0000-0000-000000000000"),
    ("device_id", "BB421E3F-B23D-21BF-280F-48573733474B"),
    ("wechat_openid", "unknown"),
    ("wechat_openid", "oKOy2FI2PuYEYgSt"),
]


def test_every_implementation_finds_the_same_placeholders() -> None:
    frame = pd.DataFrame(PLACEHOLDER_CASES, columns=["id_type", "id_value"])
    table = ibis.memtable(frame)
    flagged = table.mutate(hit=segmint_hubs.is_placeholder(table.id_type, table.id_value))
    expected = ibis.duckdb.connect().to_pandas(flagged).hit.astype(bool).tolist()
    assert any(expected) and not all(expected)
    assert pandas_impl.is_placeholder(frame.id_type, frame.id_value).tolist() == expected
    con = duckdb.connect()
    con.register("cases", frame)
    sql = sql_impl.placeholder_sql("id_type", "id_value")
    assert [bool(r[0]) for r in con.execute(f"SELECT {sql} FROM cases").fetchall()] == expected


CASES: dict[str, list[str | None]] = {
    "ordered_at": [
        "2026-10-20 12:00:00",
        "2026/10/1 09:00",
        "2026年2月3日 09:30",
        "2026年2月3日",
        "2026.3.5 7:05:09.123",
        "20261020",
        "20261020123000",
        "2026-10-25T08:00:00+08:00",
        "2026-10-25T08:00:00.250Z",
        "2026-10-25 08:00 -0530",
        "2026-3-5 14:03:",
        "2026年3月5日14时03分",
        "2026-03-05 14:03:00.5+0800",
        "2026-03-05 14:03:00.1234567",
        "  ２０２６-１０-２０　１２:００  ",
        "2026-02-30 00:00:00",
        "2030-01-01 00:00:00",
        "1969-12-31 00:00:00",
        "not a date",
        "",
        None,
    ],
    "birth_date": ["1990-05-01", "1985/3/7", "2024年2月3日", "1800-01-01", "2027-01-01", "x"],
    "amount": [
        "￥1,234.50",
        "¥88",
        "300元",
        "RMB 12.5",
        "1,234,567",
        "-5",
        "+7",
        "abc",
        "1.2.3",
        "99999999",
        "1000000",
        "",
    ],
    "phone": [
        "13812345678",
        "+86 138 1234 5678",
        "0086-138-1234-5678",
        "86 13812345678",
        "138-1234-5678",
        "１３８１２３４５６７８",
        "(021) 6123 4567",
        "010-12345678",
        "+44 20 7123 4567",
        "0044 20 7123 4567",
        "12345",
        "phone",
    ],
    "email": [
        "Li.Na@Example.COM ",
        "a b@x.cn",
        "not-an-email",
        "a..b@x.com",
        "x@y.c",
        "ok@q.io",
        "lí@x.cn",
        "a\u00a0b@x.cn",
    ],
    "member_id": ["m001", "M001", " vip-7a ", "会员ab12", "ß1", None],
    "device_id": [
        "bb421e3f-b23d-21bf-280f-48573733474b",
        "BB421E3FB23D21BF280F48573733474B",
        "C934EDB703E8C90F",
        "c934edb703e8c90f",
        "00000000-0000-0000-0000-000000000000",
        "---",
        "aaaa",
        "Unknown",
        "9774d56d682e549c",
        "cookie-123",
        "设备1",
    ],
    "status": ["paid", "PAID", " Refunded ", "shipped", "待发货", ""],
    "order_id": [" O1 ", "\u3000O2\u3000", "\tO3\n", "", None],
}


def _shown(value: Any, kind: str) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if kind == "timestamp":
        return pd.Timestamp(value).isoformat()
    if kind == "date":
        return pd.Timestamp(value).date().isoformat()
    if kind == "money":
        return f"{float(value):.2f}"
    return str(value)


def _spec(source: common.SourceDef) -> common.BenchSpec:
    return common.BenchSpec(
        path=Path("segmint.yml"),
        as_of=AS_OF,
        sources=(source,),
        identifiers=tuple(common.DEFAULT_IDENTITY["identifiers"]),
        max_partners=20,
        deny=common.DEFAULT_DENY,
        max_iterations=50,
        bins=5,
        future_tolerance_hours=24,
        max_age_years=120,
        completeness_min=0.95,
        validity_min=0.98,
        freshness_max_hours=24,
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_implementation_parses_awkward_values_alike(name: str, tmp_path: Path) -> None:
    entity = "customers" if name == "birth_date" else "orders"
    texts = CASES[name]
    column = segmint_entities.ENTITIES[entity].column(name)
    kind = common.ENTITIES[entity].column(name).type

    table = ibis.memtable(pd.DataFrame({"raw": pd.Series(texts, dtype=object)}))
    step = table.mutate(text=segmint_parse.normalise_text(table.raw))
    parsed = segmint_parse.parse_column(
        step.text,
        column,
        utc_offset_hours=8,
        as_of=AS_OF,
        tolerance_hours=24,
        max_age_years=120,
    )
    step = step.mutate(value=parsed.value.cast(segmint_parse.sql_type(column)))
    step = step.mutate(rule=parsed.rule(step.text, step.value))
    theirs = ibis.duckdb.connect().to_pandas(step)
    expected = [
        (_shown(v, kind), r if isinstance(r, str) else None)
        for v, r in zip(theirs.value, theirs.rule, strict=True)
    ]

    source = common.SourceDef(
        name="s",
        entity=entity,
        files=(),
        encoding="utf-8",
        delimiter=",",
        utc_offset_minutes=480,
        columns={name: common.Mapping("raw", {}, "quarantine")},
    )
    spec = _spec(source)
    raw = pd.DataFrame({"raw": pd.Series(texts, dtype="str")})
    values, rules = pandas_impl.parse_source(raw, source, spec)
    got_pandas = [
        (_shown(v, kind), r if isinstance(r, str) else None)
        for v, r in zip(values[name], rules[name], strict=True)
    ]
    assert got_pandas == expected

    con = duckdb.connect()
    con.execute("CREATE TABLE raw (raw VARCHAR, _file VARCHAR, _line BIGINT)")
    con.executemany("INSERT INTO raw VALUES (?, 'f', ?)", [[t, i] for i, t in enumerate(texts)])
    select = sql_impl.parsed_select(source, spec, "raw", ["raw"])
    rows = con.execute(f"SELECT v_{name}, r_{name} FROM ({select}) ORDER BY _line").fetchall()
    assert [(_shown(v, kind), r) for v, r in rows] == expected


# -------------------------------------------------------------------- whole pipelines


def _by_first_record(identity: pd.DataFrame, rfm: pd.DataFrame) -> dict[str, tuple[int, float]]:
    first = (
        identity.assign(anchor=identity.source + "\x1f" + identity.record_key)
        .groupby("customer_id", observed=True)
        .anchor.min()
    )
    return {
        first[c]: (int(f), round(float(m), 2))
        for c, f, m in zip(rfm.customer_id, rfm.frequency, rfm.monetary, strict=True)
    }


def _quarantined(frame: pd.DataFrame, line: str) -> list[tuple[str, int, str]]:
    return sorted(zip(frame.source, frame[line].astype(int), frame.rule, strict=True))


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny generated company, restricted to the bench's sources."""
    out = tmp_path_factory.mktemp("generated")
    generate_company(out, customers=200, seed=3)
    return write_bench_project(out)


# Four members share one e-mail address (a component with too many member ids, split after
# three rounds of cuts: device, WeChat, e-mail); two members share a tablet (a device hub);
# two share a phone (one customer); an order with only the deny-listed phone is unresolved.
IDENTITY_CRM = """member_no,name,mobile,mail,device,wechat,updated
M1,A,13911112222,shared@qq.com,,,2026-10-01 10:00:00
M2,B,13911113333,shared@qq.com,,,2026-10-01 10:00:00
M3,C,13911114444,shared@qq.com,,wx_c,2026-10-01 10:00:00
M4,D,13911115555,shared@qq.com,,wx_c,2026-10-01 10:00:00
M5,E,13922221111,e5@qq.com,AAAA1111-2222-3333-4444-555566667777,,2026-10-01 10:00:00
M6,F,13922223333,e6@qq.com,aaaa1111222233334444555566667777,,2026-10-01 10:00:00
M7,G,13933331111,e7@qq.com,,,2026-10-01 10:00:00
M8,H,13933331111,e8@qq.com,,,2026-10-01 10:00:00
M9,I,13800138000,,,,2026-10-01 10:00:00
M10,J,12345,j@qq.com,,,2026-10-01 10:00:00
"""
IDENTITY_ORDERS = """order_id,member_no,mobile,order_time,amount,status
O1,M1,,2026-10-20 12:00:00,10,paid
O2,,13800138000,2026-10-21 12:00:00,20,paid
O3,M5,,2026-10-22 12:00:00,30,paid
O4,,13933331111,2026-10-23 12:00:00,40,paid
O5,m9,,2026-10-24 12:00:00,50,paid
O6,M4,,2026-10-25 12:00:00,60,paid
O7,,,2026-10-26 12:00:00,70,paid
"""


def write_identity_project(root: Path) -> Path:
    """A project whose identity exercises hubs, splits and unresolved records."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "data" / "crm.csv").write_text(IDENTITY_CRM, encoding="utf-8")
    (root / "data" / "orders.csv").write_text(IDENTITY_ORDERS, encoding="utf-8")
    crm = {
        "customer_key": "member_no",
        "member_id": "member_no",
        "name": "name",
        "phone": "mobile",
        "email": "mail",
        "device_id": "device",
        "wechat_openid": "wechat",
        "updated_at": "updated",
    }
    orders = {
        "order_id": "order_id",
        "member_id": "member_no",
        "phone": "mobile",
        "ordered_at": "order_time",
        "amount": "amount",
        "status": "status",
    }
    project = {
        "name": "identity",
        "as_of": "2026-10-31T00:00:00",
        "identity": {"identifiers": ["member_id", "phone", "email", "wechat_openid", "device_id"]},
        "sources": [
            {"name": "crm", "entity": "customers", "path": "data/crm.csv", "columns": crm},
            {"name": "orders", "entity": "orders", "path": "data/orders.csv", "columns": orders},
        ],
    }
    (root / "segmint.yml").write_text(yaml.safe_dump(project), encoding="utf-8")
    return write_bench_project(root)


@pytest.mark.parametrize("dataset", ["mini", "identity", "generated"])
def test_three_implementations_agree(
    dataset: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if dataset == "mini":
        # As the bench runs it: deterministic identity (the others have no Splink step).
        project = write_bench_project(write_mini_project(tmp_path / "mini").parent)
    elif dataset == "identity":
        project = write_identity_project(tmp_path / "identity")
    else:
        project = request.getfixturevalue("generated")
    spec = common.load_spec(project)

    segmint = Project.load(project)
    manifest = segmint.run(report=False)
    panda = pandas_impl.run(spec)
    sql = sql_impl.run(spec, tmp_path / "sql.duckdb", tmp_path / "work")

    counts = {s.source: (s.rows_read, s.rows_loaded, s.rows_quarantined) for s in manifest.sources}
    for summary in (panda.summary, sql.summary):
        assert {
            n: (c.rows_read, c.rows_loaded, c.rows_quarantined) for n, c in summary.sources.items()
        } == counts, summary.impl

    quarantine = _quarantined(segmint.table("quarantine", role="admin"), "line")
    assert quarantine, "the dataset should exercise the quarantine"
    assert _quarantined(panda.quarantine, "_line") == quarantine
    assert _quarantined(sql.con.execute("SELECT * FROM quarantine").df(), "_line") == quarantine

    identity = segmint.table("identity_map", role="admin")
    customers = identity.customer_id.nunique()
    assert panda.summary.customers == customers
    assert sql.summary.customers == customers
    unresolved = int(identity.customer_id.isna().sum())
    assert panda.summary.unresolved == sql.summary.unresolved == unresolved
    hubs = segmint.table("identity_hubs", role="admin")
    reasons = hubs.reason.value_counts().to_dict()
    assert panda.summary.hub_reasons == sql.summary.hub_reasons == reasons
    hub_values = sorted(zip(hubs.id_type, hubs.id_value, strict=True))
    assert sorted(zip(panda.hubs.id_type, panda.hubs.id_value, strict=True)) == hub_values
    sql_hubs = sql.con.execute("SELECT id_type, id_value FROM identity_hubs").fetchall()
    assert sorted(sql_hubs) == hub_values
    splits = segmint.table("identity_splits", role="admin")
    first_cut = spec.identifiers[-1]
    split = int((splits.cut == first_cut).sum())
    assert panda.summary.components_split == sql.summary.components_split == split
    if dataset == "identity":
        assert split == 1
        assert unresolved == 2  # O2 (deny-listed phone only) and O7 (no identifier)
        assert reasons == {"deny-list": 1, "too many member ids": 1}
        assert customers == 8  # M1-M4 apart, M5, M6, M7+M8+O4, M9+O5 (m9), M10

    expected = _by_first_record(identity, segmint.table("rfm", role="admin"))
    assert len(expected) > 0
    assert _by_first_record(panda.identity, panda.rfm) == expected
    assert (
        _by_first_record(
            sql.con.execute("SELECT * FROM identity_map").df(),
            sql.con.execute("SELECT * FROM rfm").df(),
        )
        == expected
    )
    quality = segmint.table("quality_sources", role="admin")
    orphans = dict(zip(quality.source, quality.orphans.astype(int), strict=True))
    assert panda.summary.orphans == orphans
    assert sql.summary.orphans == orphans
    segments = segmint.table("rfm", role="admin").segment.value_counts().to_dict()
    assert panda.summary.segments == segments
    assert sql.summary.segments == segments


def test_summaries_survive_json_and_mismatches_are_named() -> None:
    counts = common.SourceCounts(10, 8, 2, {"duplicate_row": 2})
    one = common.Summary("a", {"ingest": 1.0}, {"s": counts}, 5, 3, 0, 1, 2, {"New": 2}, 4, 9.5)
    assert common.Summary.from_json(one.to_json()) == one
    two = dataclasses.replace(one, impl="b", customers=4)
    failed = [what for what, same, _ in common.compare([one, two]) if not same]
    assert failed == ["identity: customers"]
