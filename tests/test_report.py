"""Tests of the HTML report: structure, charts, escaping, offline-ness, i18n and edge cases.

Run this file directly (``python tests/test_report.py [out_dir]``) to write English and
Chinese previews of the fixture report for a visual check.
"""

from __future__ import annotations

import math
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmint.report import ReportData, ReportDataError, charts, render_report, write_report
from segmint.report.fmt import fmt_compact, fmt_int, fmt_money, fmt_pct, fmt_seconds, truncate
from segmint.report.i18n import SEGMENT_NAMES_ZH, STRINGS, segment_label, t

TEMPLATE = Path(__file__).parents[1] / "src/segmint/report/templates/report.html.j2"
RENDER_PY = Path(__file__).parents[1] / "src/segmint/report/render.py"
XSS = "<script>alert(1)</script>"
LONG_RULE = "value_must_match_the_declared_pattern_for_international_phone_numbers_e164"

SEGMENTS = [
    # name, customers, revenue, avg recency, avg frequency
    ("Champions", 2140, 1_402_330.50, 9.0, 11.4),
    ("Loyal", 2820, 980_410.20, 24.0, 7.2),
    ("Potential Loyalist", 2460, 402_120.00, 18.0, 3.1),
    ("New", 1210, 61_220.75, 6.0, 1.0),
    ("Promising", 1480, 88_410.00, 21.0, 1.4),
    ("Need Attention", 1750, 210_880.10, 52.0, 2.9),
    ("About to Sleep", 1930, 120_300.00, 88.0, 1.6),
    ("At Risk", 2210, 512_040.90, 140.0, 5.8),
    ("Can't Lose Them", 620, 301_200.00, 190.0, 9.9),
    ("Hibernating", 2950, 140_200.40, 240.0, 1.7),
    ("Lost", 1880, 40_110.00, 410.0, 1.1),
]


def make_report_data(lang: str = "en") -> ReportData:
    """A realistic report input: four sources, eleven segments, a full 5×5 R×F grid."""
    rng = np.random.default_rng(7)
    sources = [
        ("crm", "customer", 24_310, 112),
        ("webshop", "order", 88_904, 1_288),
        ("pos", "order", 51_220, 304),
        ("newsletter", "contact", 9_875, 0),
    ]
    run = {
        "run_id": "20240701T031500-7f3a9c",
        "status": "success",
        "as_of": "2024-06-30T23:59:59+00:00",
        "started_at": "2024-07-01T03:15:00+00:00",
        "finished_at": "2024-07-01T03:17:41+00:00",
        "config_hash": "9c1f4e2ab77d0c3e5f1a2b3c4d5e6f708192a3b4",
        "engine": "duckdb 1.1.3",
        "stages": [
            {"stage": "ingest", "seconds": 41.8, "rows": 174_309},
            {"stage": "quality", "seconds": 12.2, "rows": 174_309},
            {"stage": "standardize", "seconds": 8.4, "rows": 172_605},
            {"stage": "identity", "seconds": 63.1, "rows": 34_185},
            {"stage": "features", "seconds": 9.9, "rows": 21_450},
            {"stage": "rfm", "seconds": 3.2, "rows": 21_450},
            {"stage": "segments", "seconds": 1.1, "rows": 21_450},
            {"stage": "publish", "seconds": 21.3, "rows": 21_450},
        ],
        "sources": [
            {
                "source": name,
                "entity": entity,
                "rows_read": read,
                "rows_loaded": read - bad,
                "rows_quarantined": bad,
            }
            for name, entity, read, bad in sources
        ],
    }
    quality_sources = pd.DataFrame(
        {
            "source": [s[0] for s in sources],
            "entity": [s[1] for s in sources],
            "rows_read": [s[2] for s in sources],
            "rows_loaded": [s[2] - s[3] for s in sources],
            "rows_quarantined": [s[3] for s in sources],
            "duplicate_rows": [12, 0, 41, 3],
            "key_conflicts": [0, 2, 0, 0],
            "orphans": [0, 17, 5, 0],
            "newest_record": pd.to_datetime(
                ["2024-06-30 22:10", "2024-06-30 23:58", "2024-06-30 21:00", "2024-06-24 08:00"]
            ),
            "freshness_hours": [1.8, 0.1, 3.0, 159.9],
            "freshness_passed": [True, True, True, False],
            "passed": [True, True, True, False],
        }
    )
    field_rows = [
        ("crm", "customer", "customer_id", 1.0, 1.0, 0.0),
        ("crm", "customer", "email", 0.962, 0.981, math.nan),
        ("crm", "customer", "phone", 0.874, 0.902, math.nan),
        ("crm", "customer", "birth_date", 0.611, 0.995, math.nan),
        ("webshop", "order", "order_id", 1.0, 1.0, 0.0004),
        ("webshop", "order", "order_total", 0.999, 0.997, math.nan),
        ("webshop", "order", "ordered_at", 1.0, 0.999, math.nan),
        ("pos", "order", "receipt_id", 1.0, 1.0, 0.0008),
        ("pos", "order", "amount", 0.998, 0.996, math.nan),
        ("newsletter", "contact", "email", 0.993, 0.958, math.nan),
    ]
    quality_fields = pd.DataFrame(
        field_rows,
        columns=["source", "entity", "field", "completeness", "validity", "duplicate_pct"],
    )
    quality_fields["completeness_passed"] = quality_fields["completeness"] >= 0.8
    quality_fields["validity_passed"] = quality_fields["validity"] >= 0.95
    quality_fields.loc[quality_fields["field"] == "phone", "validity_passed"] = False
    quarantine_top = pd.DataFrame(
        {
            "source": ["webshop", "webshop", "pos", "crm", "webshop"],
            "rule": [
                "order_total_not_numeric",
                "missing_order_id",
                "negative_amount",
                "bad_email",
                LONG_RULE,
            ],
            "rows": [702, 411, 304, 112, 175],
            "message": [
                "order_total 'n/a' is not a number",
                "order_id is empty",
                "amount -12.50 is below 0",
                "email 'ann@@example' is not an e-mail address",
                "phone '+44 (0) 20' does not match E.164",
            ],
            "example_line": [1842, 77, 2310, 5, 918],
            "example_raw": [
                '{"order_id": "W-1842", "order_total": "n/a"}',
                '{"order_id": "", "note": "' + XSS + '"}',
                '{"receipt_id": "P-2310", "amount": -12.5}',
                '{"email": "ann@@example", "site": "https://example.com/?a=1&b=2"}',
                '{"phone": "+44 (0) 20", "name": "王小明"}',
            ],
        }
    )
    identity = {
        "records": 34_185,
        "customers": 21_450,
        "linked_records": 19_870,
        "hubs_blocked": 3,
        "by_source": [
            {"source": "crm", "records": 24_198, "customers": 20_102},
            {"source": "webshop", "records": 6_204, "customers": 5_877},
            {"source": "pos", "records": 2_918, "customers": 2_406},
            {"source": "newsletter", "records": 865, "customers": 861},
        ],
    }
    total_customers = sum(s[1] for s in SEGMENTS)
    total_revenue = sum(s[2] for s in SEGMENTS)
    segments = pd.DataFrame(
        {
            "segment": [s[0] for s in SEGMENTS],
            "customers": [s[1] for s in SEGMENTS],
            "revenue": [s[2] for s in SEGMENTS],
            "customer_share": [s[1] / total_customers for s in SEGMENTS],
            "revenue_share": [s[2] / total_revenue for s in SEGMENTS],
            "avg_recency_days": [s[3] for s in SEGMENTS],
            "avg_frequency": [s[4] for s in SEGMENTS],
            "avg_monetary": [s[2] / s[1] for s in SEGMENTS],
        }
    )
    grid = [(r, f) for r in range(1, 6) for f in range(1, 6)]
    rfm_grid = pd.DataFrame(
        {
            "r_score": [r for r, _ in grid],
            "f_score": [f for _, f in grid],
            "customers": [int(200 + 90 * r * f + rng.integers(0, 300)) for r, f in grid],
            "avg_monetary": [float(40 + 35 * f + 8 * r + rng.normal(0, 5)) for r, f in grid],
        }
    )

    def hist(edges: list[float], counts: list[int]) -> pd.DataFrame:
        return pd.DataFrame({"bin_start": edges[:-1], "bin_end": edges[1:], "customers": counts})

    recency_edges = [float(30 * i) for i in range(13)]
    frequency_edges = [float(i) for i in range(1, 12)]
    monetary_edges = [float(100 * i) for i in range(16)]
    histograms = {
        "recency_days": hist(
            recency_edges, [4210, 3120, 2480, 1990, 1620, 1400, 1210, 1090, 1010, 930, 1120, 1270]
        ),
        "frequency": hist(frequency_edges, [7810, 4420, 2790, 1840, 1290, 930, 690, 520, 410, 750]),
        "monetary": hist(
            monetary_edges,
            [1200, 3900, 4100, 3300, 2500, 1800, 1300, 1000, 700, 500, 380, 260, 120, 60, 30],
        ),
    }
    return ReportData(
        project_name="Acme Retail — spring review",
        run=run,
        quality_sources=quality_sources,
        quality_fields=quality_fields,
        quarantine_top=quarantine_top,
        thresholds={"completeness_min": 0.8, "validity_min": 0.95, "freshness_max_hours": 48.0},
        identity=identity,
        rfm_summary={
            "customers": float(total_customers),
            "revenue": total_revenue,
            "median_recency_days": 63.0,
            "median_frequency": 2.0,
            "median_monetary": 148.25,
        },
        rfm_histograms=histograms,
        segments=segments,
        rfm_grid=rfm_grid,
        lang=lang,  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------------------------------------
# HTML helpers
# ---------------------------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class TagChecker(HTMLParser):
    """Checks that every non-void tag is closed in order; counts marks per chart."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.charts: list[dict[str, Any]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._mark(tag, dict(attrs))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._mark(tag, dict(attrs))

    def _mark(self, tag: str, attrs: dict[str, str | None]) -> None:
        if tag == "svg" and "data-chart" in attrs:
            self.charts.append({"attrs": attrs, "marks": [], "depth": len(self.stack)})
        elif "data-value" in attrs and self.charts:
            self.charts[-1]["marks"].append(attrs["data-value"])

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}>, open: {self.stack[-3:]}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(markup: str) -> TagChecker:
    checker = TagChecker()
    checker.feed(markup)
    checker.close()
    return checker


def charts_by_id(markup: str) -> dict[str, dict[str, Any]]:
    return {c["attrs"].get("id"): c for c in parse(markup).charts}


@pytest.fixture(scope="module")
def report_html() -> str:
    return render_report(make_report_data())


# ---------------------------------------------------------------------------------------------
# The full report
# ---------------------------------------------------------------------------------------------


def test_report_is_balanced_html(report_html: str) -> None:
    checker = parse(report_html)
    assert checker.errors == []
    assert checker.stack == []
    assert report_html.startswith("<!DOCTYPE html>")


EXPECTED_CHARTS = {
    "chart-run-stages": ("bar", 8),
    "chart-run-sources": ("stacked-bar", 4 * 2),
    "chart-quarantine": ("bar", 5),
    "chart-identity-sources": ("grouped-bar", 4 * 2),
    "chart-hist-recency-days": ("histogram", 12),
    "chart-hist-frequency": ("histogram", 10),
    "chart-hist-monetary": ("histogram", 15),
    "chart-rf-grid": ("heatmap", 25),
    "chart-segments": ("grouped-bar", 11 * 2),
}


def test_report_has_every_chart_with_one_mark_per_datum(report_html: str) -> None:
    found = charts_by_id(report_html)
    assert set(found) == set(EXPECTED_CHARTS)
    for chart_id, (kind, marks) in EXPECTED_CHARTS.items():
        chart = found[chart_id]
        assert chart["attrs"]["data-chart"] == kind, chart_id
        assert len(chart["marks"]) == marks, chart_id
        assert "data-empty" not in chart["attrs"], chart_id
    assert report_html.count("<svg ") == len(EXPECTED_CHARTS)


def test_report_shows_header_summary_and_sections(report_html: str) -> None:
    for text in (
        "Acme Retail — spring review",
        "20240701T031500-7f3a9c",
        "2024-06-30 23:59 UTC",
        "duckdb 1.1.3",
        "Success",
        "2 min 41 s",  # duration from started/finished
        "Executive summary",
        "21,450",  # customers
        "4,259,222.85",  # revenue, money with two decimals
        "172,605",  # rows loaded
        "1,704",  # rows quarantined
        "21 of 24 passed",  # 4 source checks + 10 fields × 2 checks
        "Champions",
        "Stage timings",
        "Data quality",
        "Top quarantine reasons",
        "Identity resolution",
        "RFM analysis",
        "Recency × frequency grid",
        "32.9% of revenue from 10.0% of customers",  # top segment, one-decimal shares
    ):
        assert text in report_html, text
    assert "newsletter / contact: data is 159.9 h old (limit 48.0 h)" in report_html
    assert "crm.birth_date: completeness 61.1% (minimum 80.0%)" in report_html


def test_report_is_offline(report_html: str) -> None:
    # URLs may only appear inside escaped data (the raw quarantined rows).
    without_data = re.sub(r'<pre class="raw">.*?</pre>', "", report_html, flags=re.S)
    assert "http://" not in without_data
    assert "https://" not in without_data
    assert "//" not in re.sub(r"<script>.*?</script>", "", without_data, flags=re.S)
    assert not re.search(r"\b(src|href)=\"(?!#)", report_html)
    assert "url(" not in report_html
    assert "@import" not in report_html
    assert "https://example.com/?a=1&amp;b=2" in report_html  # the data is still shown


def test_raw_quarantine_text_is_escaped(report_html: str) -> None:
    assert XSS not in report_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report_html
    assert report_html.count("<script>") == 1  # only the report's own sorter
    assert "王小明" in report_html


def test_long_labels_are_truncated_with_full_text_in_title(report_html: str) -> None:
    chart = re.search(r'<svg [^>]*id="chart-quarantine".*?</svg>', report_html, re.S)
    assert chart is not None
    svg = chart.group(0)
    assert f"<title>webshop · {LONG_RULE}</title>" in svg
    assert re.search(r"webshop · value_must_match[^<]*…</text>", svg)


def test_report_in_chinese() -> None:
    html_zh = render_report(make_report_data("zh"))
    assert '<html lang="zh-CN">' in html_zh
    for text in (
        "客户分群报告",
        "执行摘要",
        "运行概况",
        "数据质量",
        "身份识别",
        "RFM 分析",
        "完整率",
        "有效率",
        "主要隔离原因",
        "客户数",
        "收入占比",
        "最近购买天数",
        "购买频次",
        "消费金额",
        "冠军客户",
        "不能失去的客户",
        "已流失客户",
        "成功",
    ):
        assert text in html_zh, text
    for english in ("Executive summary", "Data quality", "Completeness", ">Champions<"):
        assert english not in html_zh, english
    assert parse(html_zh).errors == []
    assert set(charts_by_id(html_zh)) == set(EXPECTED_CHARTS)


def test_empty_report_renders_no_data() -> None:
    data = ReportData(
        project_name="empty",
        run={},
        quality_sources=pd.DataFrame(),
        quality_fields=pd.DataFrame(columns=["source", "entity", "field"]),
        quarantine_top=pd.DataFrame(),
        thresholds={},
        identity={},
        rfm_summary={},
        rfm_histograms={
            "recency_days": pd.DataFrame(columns=["bin_start", "bin_end", "customers"])
        },
        segments=pd.DataFrame(),
        rfm_grid=pd.DataFrame(),
    )
    page = render_report(data)
    checker = parse(page)
    assert checker.errors == [] and checker.stack == []
    assert "No data" in page
    assert checker.charts, "empty charts still render as SVG placeholders"
    for chart in checker.charts:
        assert chart["attrs"].get("data-empty") == "true"
        assert chart["marks"] == []
    assert not re.search(r"\bnan\b", re.sub(r"<script>.*?</script>", "", page, flags=re.S))
    assert "—" in page


def test_missing_and_odd_values_render(tmp_path: Path) -> None:
    data = make_report_data()
    sources = data.quality_sources.copy()
    sources.loc[0, "freshness_hours"] = math.nan
    sources.loc[1, "newest_record"] = pd.NaT
    fields = data.quality_fields.copy()
    fields.loc[0, "completeness"] = math.nan
    grid = data.rfm_grid.iloc[:-3].copy()  # three cells missing
    segments = data.segments.iloc[:1].copy()  # one bar
    segments.loc[:, "revenue"] = 0.0
    odd = ReportData(
        **{
            **data.__dict__,
            "quality_sources": sources,
            "quality_fields": fields,
            "rfm_grid": grid,
            "segments": segments,
            "run": {**data.run, "status": "failed", "stages": [{"stage": "ingest", "seconds": 0}]},
        }
    )
    out = write_report(odd, tmp_path / "nested" / "report.html")
    page = out.read_text(encoding="utf-8")
    assert parse(page).errors == []
    visible = re.sub(r"<script>.*?</script>", "", page, flags=re.S)
    assert not re.search(r"\bnan\b|\binf\b", visible, flags=re.I)
    found = charts_by_id(page)
    assert len(found["chart-segments"]["marks"]) == 2
    assert len(found["chart-run-stages"]["marks"]) == 1
    heat = found["chart-rf-grid"]["marks"]
    assert len(heat) == 25 and heat.count("") == 3
    assert "status-fail" in page


def test_report_data_names_every_missing_column() -> None:
    with pytest.raises(ReportDataError) as error:
        ReportData(
            project_name="x",
            segments=pd.DataFrame({"segment": ["Lost"], "customers": [1]}),
            rfm_grid=pd.DataFrame({"r_score": [1]}),
        )
    message = str(error.value)
    assert "required column 'revenue' missing from segments" in message
    assert "required column 'f_score' missing from rfm_grid" in message
    with pytest.raises(ReportDataError, match="lang must be one of en, zh"):
        ReportData(project_name="x", lang="fr")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# i18n and formatting
# ---------------------------------------------------------------------------------------------


def test_every_string_has_both_languages() -> None:
    for key, entry in STRINGS.items():
        assert entry.get("en") and entry.get("zh"), key


def test_every_key_used_is_translated() -> None:
    used = set(re.findall(r"tr\(['\"]([a-z_.]+)['\"]", TEMPLATE.read_text(encoding="utf-8")))
    used |= set(re.findall(r"tr\(\s*['\"]([a-z_.]+)['\"]", RENDER_PY.read_text(encoding="utf-8")))
    assert used, "no keys found: did the lookup helper get renamed?"
    assert sorted(used - set(STRINGS)) == []


def test_translation_fallbacks() -> None:
    assert t("section_quality", "zh") == "数据质量"
    assert t("no.such.key", "zh") == "no.such.key"
    assert t("no.such.key", "zh", default="x") == "x"
    assert t("kpi_quality_value", "en", passed="3", total="4") == "3 of 4 passed"
    assert segment_label("Champions", "zh") == "冠军客户"
    assert segment_label("Champions", "en") == "Champions"
    assert segment_label("Custom segment", "zh") == "Custom segment"
    assert len(set(SEGMENT_NAMES_ZH.values())) == 11


def test_number_formatting() -> None:
    assert fmt_int(1234567) == "1,234,567"
    assert fmt_int(math.nan) == "—"
    assert fmt_pct(0.12345) == "12.3%"
    assert fmt_money(1234.5) == "1,234.50"
    assert fmt_compact(1500) == "1.5K"
    assert fmt_compact(2_000_000) == "2M"
    assert fmt_seconds(125) == "2 min 5 s"
    assert truncate("abcdefghij", 5) == "abcd…"
    assert truncate("客户分群报告", 5) == "客户…"


# ---------------------------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------------------------

NUMERIC_ATTRS = re.compile(
    r'\s(x|y|x1|x2|y1|y2|width|height|font-size|stroke-width|viewBox|transform)="([^"]*)"'
)
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?")


def assert_sound_svg(svg: str, kind: str, marks: int) -> None:
    checker = parse(svg)
    assert checker.errors == [] and checker.stack == []
    assert len(checker.charts) == 1
    chart = checker.charts[0]
    assert chart["attrs"]["data-chart"] == kind
    assert len(chart["marks"]) == marks
    for value in chart["marks"]:
        assert value == "" or math.isfinite(float(value))
    assert re.search(r"<svg [^>]*><title>", svg)
    for name, value in NUMERIC_ATTRS.findall(svg):
        lowered = value.lower()
        assert "nan" not in lowered and "inf" not in lowered, (name, value)
        for number in NUMBER.findall(value):
            assert math.isfinite(float(number)), (name, value)


numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e6, max_value=1e6),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.just(0),
    st.none(),
)
labels = st.one_of(st.text(max_size=80), st.sampled_from(["冠军客户", "", "<b>&amp;", "x" * 200]))
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.lists(st.tuples(labels, numbers), max_size=25))
def test_bar_chart_coordinates_are_finite(rows: list[tuple[str, Any]]) -> None:
    svg = charts.bar_chart([r[0] for r in rows], [r[1] for r in rows], title="t")
    assert_sound_svg(svg, "bar", len(rows))


@FAST
@given(st.lists(st.tuples(labels, numbers, numbers, numbers), max_size=15))
def test_stacked_and_grouped_coordinates_are_finite(rows: list[tuple[Any, ...]]) -> None:
    names = [r[0] for r in rows]
    series = {"a": [r[1] for r in rows], "b": [r[2] for r in rows], "c": [r[3] for r in rows]}
    stacked = charts.stacked_bar_chart(names, series, title="t", totals=[r[1] for r in rows])
    assert_sound_svg(stacked, "stacked-bar", 3 * len(rows))
    grouped = charts.grouped_bar_chart(names, series, title="t")
    assert_sound_svg(grouped, "grouped-bar", 3 * len(rows))


@FAST
@given(st.lists(st.tuples(numbers, numbers, numbers), max_size=40))
def test_histogram_coordinates_are_finite(rows: list[tuple[Any, Any, Any]]) -> None:
    svg = charts.histogram(
        [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], title="h"
    )
    assert_sound_svg(svg, "histogram", len(rows))


@FAST
@given(
    st.integers(min_value=0, max_value=7),
    st.integers(min_value=0, max_value=7),
    st.lists(numbers, min_size=49, max_size=49),
    st.lists(labels, min_size=7, max_size=7),
)
def test_heatmap_coordinates_are_finite(
    n_rows: int, n_cols: int, values: list[Any], names: list[str]
) -> None:
    grid = [values[r * 7 : r * 7 + n_cols] for r in range(n_rows)]
    svg = charts.heatmap(names[:n_rows], names[:n_cols], grid, title="h")
    assert_sound_svg(svg, "heatmap", n_rows * n_cols)


def test_chart_edge_cases() -> None:
    empty = charts.bar_chart([], [], title="Nothing", empty_text="暂无数据")
    assert 'data-empty="true"' in empty and "暂无数据" in empty
    assert_sound_svg(empty, "bar", 0)
    zeros = charts.histogram([0, 1], [1, 2], [0, 0], title="zeros")
    assert_sound_svg(zeros, "histogram", 2)
    one = charts.bar_chart(["only"], [42], title="one", value_format=fmt_int)
    assert_sound_svg(one, "bar", 1)
    assert ">42</text>" in one
    missing = charts.bar_chart(["a", "b"], [math.nan, 1.0], title="gap")
    assert 'data-missing="true"' in missing and ">—</text>" in missing
    escaped = charts.bar_chart(["<i>x</i>"], [1], title="<b>")
    assert "<i>" not in escaped and "<b>" not in escaped
    with pytest.raises(ValueError, match="one value per label"):
        charts.bar_chart(["a"], [], title="bad")


if __name__ == "__main__":
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp")
    for language, name in (
        ("en", "segmint_report_preview.html"),
        ("zh", "segmint_report_preview_zh.html"),
    ):
        written = write_report(make_report_data(language), out_dir / name)
        print(written)
