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

from mini_project import write_mini_project
from segmint import Project
from segmint.generate import generate_company
from segmint.ingest import parse as segmint_parse
from segmint.project import entities as segmint_entities
from segmint.project.spec import IdentitySettings, QualityThresholds, RFMSettings
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
    assert IdentitySettings().model_dump() == common.DEFAULT_IDENTITY
    assert QualityThresholds().model_dump() == common.DEFAULT_QUALITY
    assert RFMSettings().bins == common.DEFAULT_BINS
    assert common.SEGMENT_GRID == segmint_rfm.SEGMENT_GRID
    for code, text in common.RULES.items():
        assert segmint_parse.RULES[code] == text
    for pattern in ("COMPACT", "MONEY_STRIP", "NUMBER", "EMAIL"):
        assert getattr(common, pattern) == getattr(segmint_parse, f"_{pattern}"), pattern


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
    "email": ["Li.Na@Example.COM ", "a b@x.cn", "not-an-email", "a..b@x.com", "x@y.c", "ok@q.io"],
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
        .groupby("customer_id")
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


@pytest.mark.parametrize("dataset", ["mini", "generated"])
def test_three_implementations_agree(
    dataset: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if dataset == "mini":
        project = write_mini_project(tmp_path / "mini")
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

    quarantine = _quarantined(segmint.table("quarantine"), "line")
    assert quarantine, "the dataset should exercise the quarantine"
    assert _quarantined(panda.quarantine, "_line") == quarantine
    assert _quarantined(sql.con.execute("SELECT * FROM quarantine").df(), "_line") == quarantine

    identity = segmint.table("identity_map")
    customers = identity.customer_id.nunique()
    assert panda.summary.customers == customers
    assert sql.summary.customers == customers
    assert len(panda.hubs) == len(segmint.table("identity_hubs")) == sql.summary.hubs

    expected = _by_first_record(identity, segmint.table("rfm"))
    assert len(expected) > 0
    assert _by_first_record(panda.identity, panda.rfm) == expected
    assert (
        _by_first_record(
            sql.con.execute("SELECT * FROM identity_map").df(),
            sql.con.execute("SELECT * FROM rfm").df(),
        )
        == expected
    )
    quality = segmint.table("quality_sources")
    orphans = dict(zip(quality.source, quality.orphans.astype(int), strict=True))
    assert panda.summary.orphans == orphans
    assert sql.summary.orphans == orphans
    segments = segmint.table("rfm").segment.value_counts().to_dict()
    assert panda.summary.segments == segments
    assert sql.summary.segments == segments


def test_summaries_survive_json_and_mismatches_are_named() -> None:
    counts = common.SourceCounts(10, 8, 2, {"duplicate_row": 2})
    one = common.Summary("a", {"ingest": 1.0}, {"s": counts}, 5, 3, 0, 1, 2, {"New": 2}, 4, 9.5)
    assert common.Summary.from_json(one.to_json()) == one
    two = dataclasses.replace(one, impl="b", customers=4)
    failed = [what for what, same, _ in common.compare([one, two]) if not same]
    assert failed == ["identity: customers"]
