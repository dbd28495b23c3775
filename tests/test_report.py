"""Tests of the HTML report: structure, charts, escaping, offline-ness, i18n and edge cases.

Run this file directly (``python tests/test_report.py [out_dir]``) to write English and
Chinese previews of the fixture report for a visual check.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
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
from segmint.report.fmt import (
    fmt_compact,
    fmt_int,
    fmt_money,
    fmt_pct,
    fmt_seconds,
    mask_identifier,
    truncate,
)
from segmint.report.i18n import SEGMENT_NAMES_ZH, STRINGS, segment_label, t

TEMPLATE = Path(__file__).parents[1] / "src/segmint/report/templates/report.html.j2"
REPORT_PY = sorted((Path(__file__).parents[1] / "src/segmint/report").glob("*.py"))
XSS = "<script>alert(1)</script>"
LONG_RULE = "value_must_match_the_declared_pattern_for_international_phone_numbers_e164"
LONG_TAG_RULE = "frequency >= 3 and weekend_share >= 0.5 and active_hour between 9 and 21"
HUB_VALUES = ("+8613912345678", "zhang.wei@example.com", "E2F01B38-3AB2-3F5D-5BF6-7CC1DB7A929D")
HUB_MASKED = ("+86139****5678", "z***@example.com", "E2***9D")

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
        "unresolved": 412,
        "hubs_blocked": 3,
        "hub_reasons": {"deny-list": 1, "too many partners": 2},
        "components_split": 2,
        "split_cut": "device_id,wechat_openid",
        "merges": 14,
        "splits": 3,
        "probabilistic_links": 1_208,
        "review_pairs": 96,
        "project_file": "acme.yml",
    }
    identity_sources = pd.DataFrame(
        {
            "source": ["crm", "newsletter", "pos", "webshop"],
            "records": [24_198, 865, 2_918, 6_204],
            "resolved": [24_198, 861, 2_510, 6_204],
            "cross_source": [9_102, 700, 1_980, 5_300],
            "customers": [20_102, 861, 2_406, 5_877],
        }
    )
    names = list(identity_sources["source"])
    both = {
        ("crm", "newsletter"): 690,
        ("crm", "pos"): 1_870,
        ("crm", "webshop"): 5_120,
        ("newsletter", "pos"): 120,
        ("newsletter", "webshop"): 430,
        ("pos", "webshop"): 980,
    }
    customers_of = dict(zip(names, identity_sources["customers"], strict=True))
    identity_overlap = pd.DataFrame(
        [
            (a, b, customers_of[a] if a == b else both.get((a, b), both.get((b, a), 0)))
            for a in names
            for b in names
        ],
        columns=["source_a", "source_b", "customers"],
    )
    identity_sizes = pd.DataFrame(
        {
            "bucket": ["1", "2–5", "6–20", "21–100", "101–1,000", ">1,000"],
            "customers": [14_010, 6_220, 1_150, 68, 2, 0],
            "records": [14_010, 15_100, 4_700, 361, 14, 0],
        }
    )
    identity_spread = pd.DataFrame(
        {"sources": [1, 2, 3, 4], "customers": [15_020, 4_870, 1_380, 180]}
    )
    identity_hubs = pd.DataFrame(
        {
            "id_type": ["phone", "email", "device_id"],
            "id_value": list(HUB_VALUES),
            "reason": ["too many partners", "deny-list", "too many partners"],
            "partners": [212, 31, 45],
            "member_ids": [180, 29, 40],
            "records": [3_410, 402, 77],
        }
    )
    identity_evaluation = pd.DataFrame(
        {
            "scope": ["overall", "crm", "newsletter", "pos", "webshop"],
            "records": [34_001, 24_100, 860, 2_900, 6_141],
            "true_pairs": [120_400, 8_100, 12, 3_100, 40_210],
            "predicted_pairs": [118_950, 8_050, 12, 2_990, 39_870],
            "correct_pairs": [117_730, 8_000, 12, 2_950, 39_800],
            "precision": [0.98974, 0.99379, 1.0, 0.98662, 0.99824],
            "recall": [0.97782, 0.98765, 1.0, 0.95161, 0.98980],
            "f1": [0.98374, 0.99071, 1.0, 0.96880, 0.99400],
            "truth_file": ["truth/records.csv"] * 5,
            "evaluated_at": pd.to_datetime(["2024-07-01 04:02"] * 5),
        }
    )
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
        identity_sources=identity_sources,
        identity_overlap=identity_overlap,
        identity_sizes=identity_sizes,
        identity_spread=identity_spread,
        identity_hubs=identity_hubs,
        identity_evaluation=identity_evaluation,
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
        **layer_and_tag_tables(total_customers),
        role="analyst",
        lang=lang,  # type: ignore[arg-type]
    )


LAYERS = [
    # key, label, label_zh, customers, revenue
    ("high_value", "High value", "高价值", 3_900, 2_310_400.0),
    ("churn_warning", "Churn warning", "流失预警", 1_400, 310_200.0),
    ("potential", "Potential", "潜力", 6_100, 1_220_100.0),
    ("basic", "Basic", "基础", 10_050, 418_522.85),  # buyers: the RFM customers
    ("_no_purchase", None, None, 1_000, 0.0),
]
TAGS = [
    # tag, type, label_zh, sensitivity, refresh, rule, customers, gained, lost
    ("tier1_city", "basic", "一线城市", "internal", "each_run", "city_tier == 1", 5_100, 40, 12),
    (
        "high_income",
        "basic",
        "高收入",
        "sensitive",
        "monthly",
        "income_band in ['high']",
        2_010,
        0,
        0,
    ),
    (
        "weekend_shopper",
        "behaviour",
        "周末购物者",
        "internal",
        "weekly",
        LONG_TAG_RULE,
        3_820,
        210,
        95,
    ),
    (
        "price_sensitive",
        "need",
        "价格敏感",
        "internal",
        "daily",
        "discount_share >= 0.5",
        4_400,
        60,
        71,
    ),
    ("big_spender", "value", "高消费", "public", "each_run", "m_score == 5", 4_290, 130, 88),
    ("vip_guess", "predictive", None, "pii", "each_run", "aov > 900 and <b>x</b>", 610, 3, 0),
]
SEGMENT_LAYER_WEIGHTS = (0.5, 0.1, 0.3, 0.1)


def layer_and_tag_tables(customers: int) -> dict[str, Any]:
    """Value layers, their mix, the tag catalogue and its spread over layers."""
    buyers = sum(row[3] for row in LAYERS if row[0] != "_no_purchase")
    revenue = sum(row[4] for row in LAYERS)
    layers = pd.DataFrame(
        {
            "value_layer": [r[0] for r in LAYERS],
            "label": [r[1] for r in LAYERS],
            "label_zh": [r[2] for r in LAYERS],
            "customers": [r[3] for r in LAYERS],
            "buyer_share": [r[3] / buyers if r[0] != "_no_purchase" else None for r in LAYERS],
            "revenue": [r[4] for r in LAYERS],
            "revenue_share": [r[4] / revenue for r in LAYERS],
            "avg_frequency": [11.2, 5.1, 3.3, 1.4, 0.0],
            "avg_aov": [412.5, 220.0, 190.2, 88.7, math.nan],
            "avg_recency_days": [12.0, 96.0, 40.0, 210.0, math.nan],
            "avg_online_share": [0.71, 0.55, 0.62, 0.4, math.nan],
            "avg_discount_share": [0.3, 0.51, 0.42, 0.47, math.nan],
            "avg_categories": [6.1, 3.2, 2.9, 1.2, 0.0],
            "avg_interaction_trend": [0.12, -0.64, 0.2, 0.01, 0.0],
        }
    )
    layer_mix = pd.DataFrame(
        [
            (key, "city_tier", str(tier), round(n * share))
            for key, _, _, n, _ in LAYERS
            for tier, share in ((1, 0.3), (2, 0.25), (3, 0.2), (4, 0.1))
        ]
        + [
            (key, "age_band", band, round(n * share))
            for key, _, _, n, _ in LAYERS
            for band, share in (("25-29", 0.22), ("30-34", 0.3), ("35-39", 0.18))
        ],
        columns=["value_layer", "dimension", "value", "customers"],
    )
    tag_catalog = pd.DataFrame(
        {
            "tag": [r[0] for r in TAGS],
            "type": [r[1] for r in TAGS],
            "description": [f"Description of {r[0]}." for r in TAGS],
            "label_zh": [r[2] for r in TAGS],
            "owner": ["segmint"] * 5 + ["data science"],
            "sensitivity": [r[3] for r in TAGS],
            "refresh": [r[4] for r in TAGS],
            "rule": [r[5] for r in TAGS],
            "customers": [r[6] for r in TAGS],
            "coverage": [r[6] / customers for r in TAGS],
            "gained": [r[7] for r in TAGS],
            "lost": [r[8] for r in TAGS],
        }
    )
    keys = [r[0] for r in LAYERS]
    tag_layers = pd.DataFrame(
        [
            (tag, key, round(members * weight))
            for tag, *_, members, _gained, _lost in TAGS
            for key, weight in zip(keys, (0.4, 0.1, 0.3, 0.15, 0.05), strict=True)
        ],
        columns=["tag", "value_layer", "customers"],
    )
    rfm_layers = pd.DataFrame(
        [
            (segment, key, round(n * weight))
            for segment, n, *_ in SEGMENTS
            for key, weight in zip(keys, SEGMENT_LAYER_WEIGHTS, strict=False)
        ],
        columns=["segment", "value_layer", "customers"],
    )
    return {
        "layers": layers,
        "layer_mix": layer_mix,
        "tag_catalog": tag_catalog,
        "tag_layers": tag_layers,
        "tag_summary": {
            "profiles": float(customers),
            "tagged_customers": 14_320.0,
            "memberships": 20_230.0,
        },
        "rfm_layers": rfm_layers,
    }


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


def test_summary_counts_everyone_profiled_and_revenue_per_buyer(report_html: str) -> None:
    """Customers are all profiled (the value layers, no purchase yet included); RFM revenue
    is over the buyers, so the per-head figure is per buyer."""
    part = report_html[report_html.index('id="summary"') : report_html.index('id="run"')]
    kpis = re.findall(
        r'<div class="label">([^<]+)</div>\s*<div class="value">([^<]+)</div>\s*'
        r'(?:<div class="sub">([^<]*)</div>)?',
        part,
    )
    cards = {label: (value, note) for label, value, note in kpis}
    everyone = sum(row[3] for row in LAYERS)
    buyers = sum(s[1] for s in SEGMENTS)  # the RFM customers
    revenue = sum(s[2] for s in SEGMENTS)
    assert cards["Customers"][0] == fmt_int(everyone)
    assert cards["Customers"][1].startswith(f"{fmt_int(buyers)} with a paid order · from ")
    assert cards["Revenue"][1] == f"{fmt_money(revenue / buyers)} per buyer"


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
    "chart-identity-coverage": ("heatmap", 4 * 4),
    "chart-identity-sizes": ("bar", 6),
    "chart-identity-spread": ("bar", 4),
    "chart-identity-accuracy": ("grouped-bar", 5 * 3),
    "chart-hist-recency-days": ("histogram", 12),
    "chart-hist-frequency": ("histogram", 10),
    "chart-hist-monetary": ("histogram", 15),
    "chart-rf-grid": ("heatmap", 25),
    "chart-segments": ("grouped-bar", 11 * 2),
    "chart-rfm-layers": ("heatmap", 11 * 4),  # buyers only: no "no purchase yet" column
    "chart-layer-shares": ("stacked-bar", 2 * 4),
    "chart-tag-coverage": ("bar", 6),
    "chart-tag-layers": ("heatmap", 6 * 5),
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
# Identity section
# ---------------------------------------------------------------------------------------------


class TableReader(HTMLParser):
    """The text of every cell of every ``table.data``, keyed by the table's aria-label."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self._label: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._label = dict(attrs).get("aria-label") or ""
            self.tables[self._label] = []
        elif tag == "tr" and self._label is not None:
            self.tables[self._label].append([])
        elif tag in ("td", "th") and self._label is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._label is not None:
            self.tables[self._label][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._label = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def read_tables(markup: str) -> dict[str, list[list[str]]]:
    """``{aria-label: rows}``; the first row is the header, the last may be a footer."""
    reader = TableReader()
    reader.feed(markup)
    return reader.tables


def identity_section(markup: str) -> str:
    found = re.search(r'<section class="card" id="identity">.*?</section>', markup, re.S)
    assert found is not None
    return found.group(0)


def test_identity_section_shows_every_part(report_html: str) -> None:
    section = identity_section(report_html)
    for text in (
        "Match rate by source",
        "Cross-source coverage",
        "Component size distribution",
        "Blocked hubs",
        "Accuracy against ground truth",
        "412",  # unresolved records
        "1.2% of records",  # 412 / 34,185
        "2 too many partners · 1 deny-list",
        "cut: device_id, wechat_openid",
        "1,208",  # probabilistic links
        "96",  # pairs to review
        "14 / 3",  # id merges / splits
        "The 3 largest of 3 hubs by records",
    ):
        assert text in section, text
    tables = read_tables(section)
    rates = tables["Match rate by source"]
    assert rates[0] == [
        "Source",
        "Records",
        "Resolved",
        "Unresolved",
        "Cross-source matched",
        "Customers",
    ]
    assert rates[3] == ["pos", "2,918", "86.0%", "408", "67.9%", "2,406"]
    assert rates[-1][:4] == ["Total", "34,185", "98.8%", "412"]
    accuracy = tables["Accuracy against ground truth"]
    assert accuracy[1] == [
        "Overall",
        "34,001",
        "120,400",
        "118,950",
        "117,730",
        "98.97%",
        "97.78%",
        "98.37%",
    ]
    assert "Ground truth truth/records.csv, evaluated 2024-07-01 04:02." in section


def test_identity_coverage_is_row_normalised(report_html: str) -> None:
    chart = charts_by_id(report_html)["chart-identity-coverage"]
    values = [float(v) for v in chart["marks"]]
    grid = [values[i * 4 : i * 4 + 4] for i in range(4)]  # crm, newsletter, pos, webshop
    assert [grid[i][i] for i in range(4)] == [1.0, 1.0, 1.0, 1.0]
    assert grid[0][3] == pytest.approx(5_120 / 20_102)  # crm customers also in webshop
    assert grid[3][0] == pytest.approx(5_120 / 5_877)  # webshop customers also in crm
    assert "crm → webshop: 5,120 customers in both, 25.5% of crm&#x27;s 20,102" in report_html


def test_hub_values_are_masked(report_html: str) -> None:
    html_zh = render_report(make_report_data("zh"))
    for page in (report_html, html_zh):
        for raw, masked in zip(HUB_VALUES, HUB_MASKED, strict=True):
            assert raw not in page
            assert masked in page
    hubs = read_tables(identity_section(html_zh))["已阻断的枢纽标识"]
    assert hubs[1][:3] == ["手机号", "+86139****5678", "关联标识过多"]
    assert hubs[2][:3] == ["邮箱", "z***@example.com", "禁用名单"]


def test_identity_section_in_chinese() -> None:
    section = identity_section(render_report(make_report_data("zh")))
    for text in (
        "身份识别",
        "各数据源匹配率",
        "跨数据源覆盖",
        "客户簇规模分布",
        "按记录数划分的客户",
        "按数据源数划分的客户",
        "已阻断的枢纽标识",
        "对照真实标注的准确率",
        "未识别记录",
        "精确率",
        "召回率",
        "总体",
    ):
        assert text in section, text
    for english in ("Match rate", "Blocked hubs", "Precision", "Overall"):
        assert english not in section, english


def test_identity_without_evaluation_or_matching_says_how_to_evaluate() -> None:
    data = make_report_data()
    identity = {
        k: v for k, v in data.identity.items() if k not in ("probabilistic_links", "review_pairs")
    }
    bare = ReportData(
        **{**data.__dict__, "identity": identity, "identity_evaluation": pd.DataFrame()}
    )
    section = identity_section(render_report(bare))
    assert "segmint identity evaluate acme.yml --truth DIR/truth/records.csv" in section
    assert "has not been checked against ground truth" in section
    assert "chart-identity-accuracy" not in section
    assert "Probabilistic links" not in section and "Pairs to review" not in section


def test_mask_identifier_examples() -> None:
    assert mask_identifier("phone", "+8613812345678") == "+86138****5678"
    assert mask_identifier("email", "zhang@example.com") == "z***@example.com"
    assert mask_identifier("member_id", "M00100001") == "M0***01"
    assert mask_identifier("wechat_openid", "oXy1abcdefgh9Z") == "oX***9Z"
    assert mask_identifier("member_id", "0") == "***"
    assert mask_identifier("phone", "1234567") == "***"
    assert mask_identifier("email", "@") == "***"
    assert mask_identifier("device_id", None) == "—"


# ---------------------------------------------------------------------------------------------
# In a real browser
# ---------------------------------------------------------------------------------------------

CHROMIUM = next(
    (
        found
        for name in ("chromium", "chromium-browser", "google-chrome")
        if (found := shutil.which(name))
    ),
    None,
)
SKIP_BROWSER = os.environ.get("SEGMINT_SKIP_BROWSER") == "1"
# `make test` installs Chromium (scripts/ensure_chromium.sh), so a missing browser fails the
# browser checks instead of skipping them; only an explicit SEGMINT_SKIP_BROWSER=1 skips.
requires_chromium = pytest.mark.skipif(
    SKIP_BROWSER, reason="SEGMINT_SKIP_BROWSER=1: the browser checks were skipped on purpose"
)
NO_CHROMIUM = (
    "no Chromium on PATH: `make chromium` (scripts/ensure_chromium.sh) installs it; "
    "set SEGMINT_SKIP_BROWSER=1 to skip the browser checks on purpose"
)

# Runs after load; measures every chart and table, and writes the result into the page.
LAYOUT_PROBE = """
<script>
window.addEventListener("load", function () {
  function inside(box, outer) {
    return box.left >= outer.left - 1 && box.right <= outer.right + 1;
  }
  var out = {
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    charts: [],
    tables: []
  };
  document.querySelectorAll("svg[data-chart]").forEach(function (svg) {
    var box = svg.getBoundingClientRect();
    var card = svg.closest("section").getBoundingClientRect();
    var view = svg.viewBox.baseVal;
    var hidden = 0, outside = 0, marks = svg.querySelectorAll(".mark");
    marks.forEach(function (mark) {
      var b = mark.getBBox(), value = parseFloat(mark.getAttribute("data-value"));
      var empty = isNaN(value) || (value === 0 && svg.dataset.chart !== "heatmap");
      if (!empty && (b.width <= 0 || b.height <= 0)) { hidden += 1; }
      if (b.x < -1 || b.y < -1 || b.x + b.width > view.width + 1 ||
          b.y + b.height > view.height + 1) { outside += 1; }
    });
    // Text may overhang the viewBox a little (the SVG overflows visibly) but must stay
    // inside its card and near its chart.
    svg.querySelectorAll("text").forEach(function (text) {
      var r = text.getBoundingClientRect();
      if (!inside(r, card) || r.top < box.top - 6 || r.bottom > box.bottom + 6) {
        outside += 1;
        out.stray = (out.stray || []).concat([svg.id + ": " + text.textContent]);
      }
    });
    out.charts.push({
      id: svg.id, width: box.width, height: box.height, in_card: inside(box, card),
      marks: marks.length, hidden: hidden, outside: outside
    });
  });
  document.querySelectorAll("table.data").forEach(function (table) {
    var scroller = table.closest(".table-scroll");
    out.tables.push({
      label: table.getAttribute("aria-label"),
      section: table.closest("section").id,
      overflow: table.scrollWidth - scroller.clientWidth
    });
  });
  var pre = document.createElement("pre");
  pre.id = "layout-probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


def browser_layout(page: str, folder: Path, width: int = 1280) -> dict[str, Any]:
    """Render ``page`` in headless Chromium and return what :data:`LAYOUT_PROBE` measured."""
    assert CHROMIUM is not None, NO_CHROMIUM
    target = folder / f"probe-{width}.html"
    target.write_text(page.replace("</body>", LAYOUT_PROBE + "</body>"), encoding="utf-8")
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={folder / f'profile-{width}'}",
            "--hide-scrollbars",
            f"--window-size={width},900",
            "--virtual-time-budget=5000",
            "--dump-dom",
            target.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    found = re.search(r'<pre id="layout-probe">(.*?)</pre>', done.stdout, re.S)
    assert found is not None, (
        f"Chromium gave no layout (exit {done.returncode}): {done.stderr[-800:]}"
    )
    measured: dict[str, Any] = json.loads(
        found.group(1).replace("&quot;", '"').replace("&amp;", "&")
    )
    return measured


def assert_layout(measured: dict[str, Any], expected: dict[str, tuple[str, int]]) -> None:
    """Every expected chart is drawn, all its marks visible and inside it, nothing overflows."""
    assert measured["overflow"] <= 0, "the page scrolls sideways"
    drawn = {c["id"]: c for c in measured["charts"]}
    assert set(drawn) == set(expected)
    for chart_id, (_kind, marks) in expected.items():
        chart = drawn[chart_id]
        assert chart["width"] > 200 and chart["height"] > 60, chart
        assert chart["marks"] == marks, chart
        assert chart["hidden"] == 0, chart
        assert chart["outside"] == 0, (chart, measured.get("stray"))
        assert chart["in_card"], chart


# The whole report (every section, both languages, wide and narrow) is checked in Chromium
# by tests/test_report_segments.py::test_every_section_in_chromium, in one browser start.


# ---------------------------------------------------------------------------------------------
# i18n and formatting
# ---------------------------------------------------------------------------------------------


def test_every_string_has_both_languages() -> None:
    for key, entry in STRINGS.items():
        assert entry.get("en") and entry.get("zh"), key


def test_every_key_used_is_translated() -> None:
    used = set(re.findall(r"tr\(['\"]([a-z_.]+)['\"]", TEMPLATE.read_text(encoding="utf-8")))
    for module in REPORT_PY:
        used |= set(re.findall(r"tr\(\s*['\"]([a-z_.]+)['\"]", module.read_text(encoding="utf-8")))
    assert used, "no keys found: did the lookup helper get renamed?"
    assert sorted(used - set(STRINGS)) == []
    # stage names come from the pipeline's runs table, not from a tr() call
    import segmint.pipeline.run as pipeline_run

    source = Path(pipeline_run.__file__).read_text(encoding="utf-8")
    stages = set(re.findall(r"_stage\(\s*['\"]([a-z_]+)['\"]", source))
    assert "predict" in stages and "segments" in stages
    assert sorted(f"stage.{s}" for s in stages if f"stage.{s}" not in STRINGS) == []


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


@FAST
@given(
    st.sampled_from(["phone", "email", "member_id", "wechat_openid", "device_id", "other"]),
    st.text(min_size=1, max_size=60),
)
def test_mask_identifier_never_shows_a_whole_value(id_type: str, value: str) -> None:
    masked = mask_identifier(id_type, value)
    assert masked != value.strip() or masked in ("—", "***")
    if len(value.strip()) >= 4 and "*" not in value:
        assert value.strip() not in masked


def test_chart_edge_cases() -> None:
    empty = charts.bar_chart([], [], title="Nothing", empty_text="暂无数据")
    assert 'data-empty="true"' in empty and "暂无数据" in empty
    assert_sound_svg(empty, "bar", 0)
    zeros = charts.histogram([0, 1], [1, 2], [0, 0], title="zeros")
    assert_sound_svg(zeros, "histogram", 2)
    hours = charts.histogram(
        list(range(24)),
        list(range(1, 25)),
        [0.0] * 20 + [0.1, 0.3, 0.4, 0.2],
        title="hours",
        value_format=lambda v: f"{v:.0%}",
        label_top=3,
    )
    assert_sound_svg(hours, "histogram", 24)
    printed = re.findall(r'class="value-label"[^>]*>([^<]*)<', hours)
    assert sorted(printed) == ["20%", "30%", "40%"]  # not twenty "0%"
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
