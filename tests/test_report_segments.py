"""The report's segment sections (clusters and persona cards, rule segments and overlap,
migration Sankey, validation), the executive summary's findings, the new charts, and the
whole report checked in headless Chromium.

Every segment table is hand-made here in the published shape (JSON text for nested fields);
the rest of the report is the fixture of ``test_report``. Run this file directly
(``python tests/test_report_segments.py OUT_DIR``) to write English and Chinese previews.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from segmint.report import ReportData, ReportDataError, charts, render_report
from segmint.report.fmt import fmt_int, fmt_pct
from segmint.report.i18n import STRINGS, t
from segmint.report.segments import (
    load_clusters,
    load_migration,
    load_rule_segments,
    load_validation,
    parsed,
)
from test_report import (
    CHROMIUM,
    EXPECTED_CHARTS,
    assert_sound_svg,
    charts_by_id,
    make_report_data,
    parse,
    read_tables,
    requires_chromium,
)

TRAITS = [
    # trait, English, Chinese, effect sizes of the four clusters
    ("monetary", "spend", "消费金额", (1.9, -0.4, 0.3, -1.1)),
    ("frequency", "orders", "订单数", (1.4, -0.2, 0.9, -1.3)),
    ("online_share", "online share", "线上占比", (0.8, 1.2, -1.5, 0.1)),
    ("discount_share", "discount share", "折扣占比", (-0.9, 1.6, 0.2, 0.4)),
    ("recency_days", "days since last order", "距上次购买天数", (-1.2, 0.1, -0.3, 1.8)),
    ("categories", "categories bought", "购买品类数", (1.1, 0.3, 0.6, -0.8)),
    ("age_25_34", "aged 25–34", "25-34岁", (0.2, 1.3, -0.6, -0.2)),
    ("tier1_city", "tier-1 city", "一线城市", (0.7, 0.5, -1.0, 0.0)),
]
PERSONAS = [
    # cluster, English name, Chinese name, priority, size, revenue share, CLV share, price
    (
        0,
        "tier-1 city big spenders, online beauty lovers with a very long descriptive name",
        "一线城市线上美妆高消费人群",
        "high_value",
        1_180,
        0.46,
        0.51,
        0.22,
    ),
    (1, "young deal hunters", "年轻优惠敏感人群", "high_potential", 2_310, 0.21, 0.24, 0.81),
    (2, "store regulars", "门店常客", "maintain", 1_940, 0.25, 0.19, 0.45),
    (3, "lapsed occasional buyers", "流失的偶尔购买者", "win_back", 1_570, 0.08, math.nan, 0.52),
]
CUSTOMERS = sum(p[4] for p in PERSONAS)
K_SCORES = [
    {"k": k, "silhouette": s, "calinski_harabasz": ch, "bic": bic}
    for k, s, ch, bic in (
        (3, 0.31, 2410.5, 91_200.0),
        (4, 0.42, 2902.1, 88_450.0),
        (5, 0.36, 2650.0, 88_910.0),
        (6, 0.29, 2301.7, 89_600.0),
        (7, 0.27, 2102.2, 90_150.0),
        (8, 0.24, 1990.9, 90_800.0),
    )
]
RULES = [
    # segment, rule, description, description_zh, count
    ("Champions", "rfm_segment = 'Champions'", "best customers", "最佳客户", 820),
    ("VIP beauty", "tag('beauty_lover') and clv_tier = 'top'", "top CLV beauty", "高价值美妆", 640),
    ("Churn watch", "churn_risk in ('high', 'top')", "likely to lapse", "可能流失", 1_310),
    ("Deal hunters", "discount_share >= 0.5", "buy on discount", "折扣购买", 2_050),
    ("New app users", "tenure_days < 60 and app_share > 0.5", "", "", 430),
]
# Pairs (no diagonal: the report fills it from the counts); VIP beauty ⊂ Champions mostly.
OVERLAP = [
    ("Champions", "VIP beauty", 560),
    ("Champions", "Churn watch", 40),
    ("Churn watch", "Deal hunters", 520),
    ("Deal hunters", "New app users", 90),
    ("VIP beauty", "Deal hunters", 0),
]
MIGRATION = [
    # from, to, customers
    ("Champions", "Champions", 610),
    ("Champions", "Churn watch", 130),
    ("Champions", "none", 40),
    ("VIP beauty", "VIP beauty", 590),
    ("Churn watch", "Churn watch", 800),
    ("Churn watch", "none", 310),
    ("Deal hunters", "Deal hunters", 1_700),
    ("Deal hunters", "Churn watch", 210),
    ("none", "New app users", 430),
    ("none", "Champions", 70),
    ("none", "Deal hunters", 0),  # a zero flow draws no link
]
OLD_RUN, NEW_RUN = "20240601T031500-1a2b3c", "20240701T031500-7f3a9c"
VALIDATION = [
    # segment, size, share, revenue share, separation, stability, flags, recommendation, kept
    ("Champions", 820, 0.11, 0.52, 1.82, 0.93, [], "keep", True),
    ("VIP beauty", 640, 0.09, 0.14, 0.44, 0.88, ["overlapping"], "merge", False),
    ("Churn watch", 1_310, 0.19, 0.16, 1.10, None, [], "keep", True),
    ("Deal hunters", 2_050, 0.29, 0.15, 0.95, 0.71, [], "keep", True),
    ("New app users", 430, 0.06, 0.03, 0.60, 0.52, ["small", "low_value"], "drop", False),
]


def segment_tables(*, threshold: float = 0.8) -> dict[str, Any]:
    """Every segment table in its published shape, through the section loaders."""
    model = pd.DataFrame(
        [
            {
                "k": 4,
                "chosen_by": "silhouette",
                "k_scores": json.dumps(K_SCORES),
                "stability_ari_mean": 0.912,
                "stability_ari_std": 0.031,
                "persona_ari": 0.83,
                "persona_nmi": 0.79,
                "features": json.dumps(["monetary", "frequency", "online_share", "age_band"]),
                "feature_set": "b2c",
            }
        ]
    )
    personas = pd.DataFrame(
        [
            {
                "cluster": cluster,
                "name_en": name_en,
                "name_zh": name_zh,
                "priority": priority,
                "size": size,
                "share": size / CUSTOMERS,
                "revenue_share": revenue,
                "clv_share": clv,
                "traits": json.dumps(
                    [
                        {
                            "trait": trait,
                            "label_en": en,
                            "label_zh": zh,
                            "effect_size": effects[cluster],
                            "segment_value": 100 + 40 * effects[cluster],
                            "base_value": 100,
                        }
                        for trait, en, zh, effects in TRAITS
                    ],
                    ensure_ascii=False,
                ),
                "channels": json.dumps(
                    [
                        {"channel": "online", "share": 0.5 + 0.1 * (cluster % 2)},
                        {"channel": "wechat", "share": 0.3},
                        {"channel": "store", "share": 0.2 - 0.1 * (cluster % 2)},
                    ]
                ),
                "active_hours": json.dumps(
                    [
                        round(0.0 if h < 6 else (1 + math.sin((h + 3 * cluster) / 3.8)) / 30, 4)
                        for h in range(24)
                    ]
                ),
                "needs": json.dumps(
                    [{"need": "beauty", "share": 0.6}, {"need": "value for money", "share": 0.3}]
                ),
                "price_sensitivity": price,
                "representative": json.dumps(
                    {
                        "customer_id": f"C{cluster}****{cluster}9",
                        "city_tier": "tier-1",
                        "age_band": "25-34",
                        "frequency": 12 - 3 * cluster,
                    }
                ),
            }
            for cluster, name_en, name_zh, priority, size, revenue, clv, price in PERSONAS
        ]
    )
    definitions = pd.DataFrame(
        RULES, columns=["segment", "rule", "description", "description_zh", "count"]
    )
    counts = {r[0]: r[4] for r in RULES}
    overlap = pd.DataFrame(
        [(a, b, both, both / (counts[a] + counts[b] - both)) for a, b, both in OVERLAP],
        columns=["segment_a", "segment_b", "both", "jaccard"],
    )
    migration = pd.DataFrame(
        [(OLD_RUN, NEW_RUN, a, b, n) for a, b, n in MIGRATION]
        + [("20240501T000000-000000", OLD_RUN, "Champions", "Lost", 999)],  # an older pair
        columns=["from_run", "to_run", "from_segment", "to_segment", "customers"],
    )
    validation = pd.DataFrame(
        [
            (s, n, sh, rev, sep, stab, json.dumps(flags), rec, kept)
            for s, n, sh, rev, sep, stab, flags, rec, kept in VALIDATION
        ],
        columns=[
            "segment",
            "size",
            "share",
            "revenue_share",
            "separation",
            "stability",
            "flags",
            "recommendation",
            "kept",
        ],
    )
    kept = sum(v[3] for v in VALIDATION if v[8])
    return {
        **load_clusters(model, personas),
        **load_rule_segments(definitions, overlap),
        **load_migration(migration),
        **load_validation(
            validation,
            {"kept_revenue_share": kept, "threshold": threshold, "passed": kept >= threshold},
        ),
    }


def full_report_data(lang: str = "en") -> ReportData:
    """The ``test_report`` fixture plus every segment section."""
    return replace(make_report_data(lang), **segment_tables())


SLUGS = [str(p[0]) for p in PERSONAS]
LINKS = sum(1 for _, _, n in MIGRATION if n > 0)
NEW_CHARTS: dict[str, tuple[str, int]] = {
    "chart-cluster-shares": ("grouped-bar", len(PERSONAS) * 3),
    **{f"chart-radar-{s}": ("radar", len(TRAITS) * 2) for s in SLUGS},
    **{f"chart-effects-{s}": ("bar", len(TRAITS)) for s in SLUGS},
    **{f"chart-hours-{s}": ("histogram", 24) for s in SLUGS},
    "chart-rule-counts": ("bar", len(RULES)),
    "chart-rule-overlap": ("heatmap", len(RULES) ** 2),
    "chart-migration": ("sankey", LINKS),
    "chart-validation": ("bar", len(VALIDATION)),
}
ALL_CHARTS = {**EXPECTED_CHARTS, **NEW_CHARTS}
SECTION_ORDER = (
    "summary",
    "run",
    "quality",
    "identity",
    "tags",
    "layers",
    "rfm",
    "clusters",
    "rule-segments",
    "migration",
    "validation",
    "predict",
)


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return {lang: render_report(full_report_data(lang)) for lang in ("en", "zh")}


def section(page: str, name: str) -> str:
    found = re.search(rf'<section class="card" id="{name}">(.*?)</section>', page, re.S)
    assert found is not None, name
    return found.group(1)


def svg_of(page: str, chart_id: str) -> str:
    found = re.search(rf'<svg [^>]*id="{chart_id}".*?</svg>', page, re.S)
    assert found is not None, chart_id
    return found.group(0)


# ---------------------------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------------------------


def polygon_points(svg: str, css_class: str) -> list[list[tuple[float, float]]]:
    found = re.findall(rf'<polygon points="([^"]+)"[^>]*class="{css_class}"', svg)
    return [[tuple(map(float, p.split(","))) for p in points.split()] for points in found]  # type: ignore[misc]


def test_radar_chart_draws_a_polygon_per_series_around_a_symmetric_scale() -> None:
    axes = ["a", "b", "c", "d", "e"]
    svg = charts.radar_chart(
        axes,
        [("segment", [2.0, -2.0, 0.0, None, 1.0]), ("base", [0.0] * 5)],
        title="profile",
        chart_id="r",
    )
    assert_sound_svg(svg, "radar", 10)
    segment, base = polygon_points(svg, "radar-area")
    centre = (sum(x for x, _ in base) / 5, sum(y for _, y in base) / 5)

    def dist(point: tuple[float, float]) -> float:
        return math.hypot(point[0] - centre[0], point[1] - centre[1])

    rim, zero = dist(segment[0]), dist(base[0])
    assert all(dist(p) == pytest.approx(zero, abs=0.05) for p in base)  # the base is a ring
    assert zero == pytest.approx(rim / 2, abs=0.05)  # 0 sits halfway: the scale is ±2
    assert dist(segment[1]) == pytest.approx(0, abs=0.05)  # -2 at the centre
    assert dist(segment[2]) == pytest.approx(zero, abs=0.05)
    assert dist(segment[3]) == pytest.approx(0, abs=0.05)  # missing: centre, marked
    assert dist(segment[4]) == pytest.approx(rim * 3 / 4, abs=0.05)
    assert svg.count('data-missing="true"') == 1
    assert segment[0][1] < centre[1] and segment[0][0] == pytest.approx(centre[0], abs=0.05)
    empty = charts.radar_chart([], [], title="none", empty_text="nothing")
    assert 'data-empty="true"' in empty and "nothing" in empty
    with pytest.raises(ValueError, match="radar_chart series"):
        charts.radar_chart(["a", "b"], [("s", [1.0])], title="x")


def link_thickness(path: str) -> float:
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", path)]
    # M x0,y0 C … x1,y1 L x1,y1+t …: the L point is numbers[8:10]
    return numbers[9] - numbers[7]


def test_sankey_chart_draws_links_proportional_to_flow() -> None:
    links = [("A", "A", 300), ("A", "B", 100), ("B", "B", 50), ("none", "A", 25), ("B", "A", 0)]
    svg = charts.sankey_chart(
        links,
        title="flow",
        left_title="run 1",
        right_title="run 2",
        muted=["none"],
        value_format=fmt_int,
    )
    assert_sound_svg(svg, "sankey", 4)
    paths = re.findall(r'<path d="([^"]+)"[^>]*data-value="(\d+)"', svg)
    assert sorted(int(v) for _, v in paths) == [25, 50, 100, 300]
    widths = {int(v): link_thickness(d) for d, v in paths}
    assert widths[300] / widths[100] == pytest.approx(3, rel=0.02)
    assert widths[100] / widths[50] == pytest.approx(2, rel=0.02)
    assert svg.count('data-node="left"') == 3 and svg.count('data-node="right"') == 2
    assert ">A · 400<" in svg and ">A · 325<" in svg  # node labels carry their totals
    assert ">300<" in svg  # a thick link is labelled with its count
    assert 'fill="#a0aec0" data-node="left"' in svg  # "none" is grey
    assert "run 1" in svg and "run 2" in svg
    empty = charts.sankey_chart([("A", "B", 0), ("A", "B", None)], title="flow")
    assert 'data-empty="true"' in empty


# ---------------------------------------------------------------------------------------------
# Loaders and ReportData
# ---------------------------------------------------------------------------------------------


def test_loaders_tell_a_missing_table_from_an_empty_one() -> None:
    assert load_clusters(pd.DataFrame(), None) == {
        "cluster_model": None,
        "segment_personas": None,
    }
    empty = pd.DataFrame(columns=["segment", "rule", "count"])
    assert (
        load_rule_segments(empty, None)["segment_definitions"] is empty
        or len(load_rule_segments(empty, None)["segment_definitions"]) == 0
    )
    fields = load_validation(
        pd.DataFrame(
            {"segment": ["a", "b"], "size": [1, 2], "share": [0.3, 0.7]}
            | {"revenue_share": [0.25, 0.75], "kept": [True, False]}
        )
    )
    assert fields["segment_validation_summary"] == {"kept_revenue_share": 0.25}
    assert load_validation(None) == {
        "segment_validation": None,
        "segment_validation_summary": None,
    }
    assert parsed('[{"k": 3}]', []) == [{"k": 3}]
    assert parsed("not json", []) == [] and parsed(None, {}) == {}


def test_report_data_names_missing_segment_columns() -> None:
    with pytest.raises(ReportDataError) as error:
        ReportData(
            project_name="x",
            segment_personas=pd.DataFrame({"cluster": [0], "size": [3]}),
            segment_migration=pd.DataFrame({"from_run": ["a"]}),
        )
    message = str(error.value)
    for column in ("name_en", "traits", "revenue_share"):
        assert f"required column {column!r} missing from segment_personas" in message
    assert "required column 'to_segment' missing from segment_migration" in message


def test_report_without_segment_tables_says_so() -> None:
    page = render_report(make_report_data())
    for name, key in (
        ("clusters", "clusters_missing"),
        ("rule-segments", "rule_segments_missing"),
        ("migration", "migration_missing"),
        ("validation", "validation_missing"),
    ):
        assert t(key) in section(page, name)
    assert set(charts_by_id(page)) == set(EXPECTED_CHARTS)


def test_first_run_migration_says_it_needs_a_second_run() -> None:
    """The pipeline publishes an empty segment_migration on a project's first run."""
    data = full_report_data()
    first = replace(data, segment_migration=data.segment_migration.iloc[0:0])
    for lang in ("en", "zh"):
        part = section(render_report(replace(first, lang=lang)), "migration")
        assert t("migration_first_run", lang) in part
        assert t("migration_note", lang, a="—", b="—") not in part


# ---------------------------------------------------------------------------------------------
# The rendered sections
# ---------------------------------------------------------------------------------------------


def test_full_report_has_every_section_in_order_and_every_chart(pages: dict[str, str]) -> None:
    for lang, page in pages.items():
        checker = parse(page)
        assert checker.errors == [] and checker.stack == [], lang
        positions = [page.index(f'<section class="card" id="{name}">') for name in SECTION_ORDER]
        assert positions == sorted(positions), lang
        toc = re.findall(r'<a href="#([a-z-]+)">', page)
        assert toc == list(SECTION_ORDER), lang
        found = charts_by_id(page)
        assert set(found) == set(ALL_CHARTS), lang
        for chart_id, (kind, marks) in ALL_CHARTS.items():
            assert found[chart_id]["attrs"]["data-chart"] == kind, chart_id
            assert len(found[chart_id]["marks"]) == marks, chart_id
            assert "data-empty" not in found[chart_id]["attrs"], chart_id
        assert not re.search(r"\bnan\b", re.sub(r"<script>.*?</script>", "", page, flags=re.S))


def test_persona_cards(pages: dict[str, str]) -> None:
    page = pages["en"]
    cards = re.findall(r'<article class="persona" id="persona-(\d)">(.*?)</article>', page, re.S)
    # highest revenue share first
    assert [c for c, _ in cards] == [str(p[0]) for p in sorted(PERSONAS, key=lambda p: -p[5])]
    by_cluster = dict(cards)
    first = by_cluster["0"]
    assert PERSONAS[0][1] in first and PERSONAS[0][2] in first  # both names, report's first
    assert '<span class="badge badge-pass">High value</span>' in first
    assert f"{fmt_int(1_180)} customers ({fmt_pct(1_180 / CUSTOMERS)})" in first
    assert "46.0%" in first and "51.0%" in first  # revenue and CLV share
    assert f"{0.46 / (1_180 / CUSTOMERS):.2f}×" in first  # revenue index
    assert '<code class="id">C0****09</code>' in first  # the masked member
    assert "WeChat" in first and "0.22 · low" in first
    assert "—" in by_cluster["3"]  # no CLV share for that cluster
    # The radar shows the 8 traits with the largest |effect| and the bars sort the same way.
    radar = svg_of(page, "chart-radar-0")
    values = [float(v) for v in re.findall(r'<circle [^>]*data-value="([^"]*)"', radar)[:8]]
    assert values == sorted((e[0] for *_, e in TRAITS), key=lambda v: -abs(v))
    bars = svg_of(page, "chart-effects-3")
    assert re.findall(r'data-value="([^"]+)"', bars)[0] == "1.8"  # days since last order
    assert "+1.80" in bars and "-1.30" in bars


def test_rule_segments_and_overlap(pages: dict[str, str]) -> None:
    page = pages["en"]
    rules = section(page, "rule-segments")
    table = read_tables(rules)[t("section_rule_segments")][1:]
    assert [row[0] for row in table] == [r[0] for r in RULES]
    assert [row[3] for row in table] == [fmt_int(r[4]) for r in RULES]
    heat = svg_of(page, "chart-rule-overlap")
    cells = [float(v) for v in re.findall(r'data-value="([^"]+)"', heat) if v]
    # the diagonal is filled (Jaccard 1) and each pair is symmetric
    assert cells.count(1.0) == len(RULES)
    jaccard = 560 / (820 + 640 - 560)
    assert cells.count(jaccard) == 2
    assert "Champions ∩ VIP beauty: 560 customers · Jaccard 0.62" in heat
    assert "Champions and VIP beauty share 560 members (Jaccard 0.62)" in rules
    assert "Churn watch and Deal hunters" not in rules  # 0.19 is not a heavy overlap


def test_migration_sankey(pages: dict[str, str]) -> None:
    page = pages["en"]
    part = section(page, "migration")
    assert OLD_RUN in part and NEW_RUN in part and "999" not in part  # the latest pair only
    kpis = dict(re.findall(r'<div class="label">([^<]+)</div>\s*<div class="value">([^<]+)', part))
    assert kpis == {
        "Stayed": fmt_int(610 + 590 + 800 + 1_700),
        "Moved": fmt_int(130 + 210),
        "Entered": fmt_int(430 + 70),
        "Left": fmt_int(40 + 310),
    }
    sankey = svg_of(page, "chart-migration")
    assert "Not in a segment · 500" in sankey and "Not in a segment · 350" in sankey
    moves = read_tables(part)[t("migration_moves")][1:]
    assert moves[0] == ["Not in a segment", "New app users", "430", "86.0%"]
    assert moves[1] == ["Churn watch", "Not in a segment", "310", fmt_pct(310 / 1_110)]
    assert moves[2] == ["Deal hunters", "Churn watch", "210", fmt_pct(210 / 1_910)]
    assert len(moves) == 6  # the zero flow is not a move


def test_validation_section(pages: dict[str, str]) -> None:
    part = section(pages["en"], "validation")
    kept = sum(v[3] for v in VALIDATION if v[8])
    assert f"Kept segments carry {fmt_pct(kept)} of revenue" in part
    assert "verdict tone-pass" in part
    rows = read_tables(part)[t("section_validation")][1:]
    assert rows[4][6] == "below size floor, low value" and rows[4][7] == "drop"
    assert rows[1][8] == "Dropped" and rows[2][5] == "—"
    failing = render_report(replace(make_report_data(), **segment_tables(threshold=0.9)))
    assert "verdict tone-fail" in section(failing, "validation")
    assert 'class="tone-fail">Segment validation' in section(failing, "summary")


def test_executive_summary_findings(pages: dict[str, str]) -> None:
    summary = section(pages["en"], "summary")
    findings = re.findall(r"<li(?: class=\"tone-\w+\")?>([^<]+)</li>", summary)
    joined = "\n".join(findings)
    for text in (
        "Run status: Success, 2 min 41 s over 8 stages.",
        "Data quality: 3 of 24 checks failed",
        "precision 99.0%, recall 97.8% against ground truth",
        "Clusters: 4 groups (k chosen by silhouette); stability ARI 0.91.",
        "Planted personas recovered with ARI 0.83.",
        f"Top persona: {PERSONAS[0][1]} brings 46.0% of revenue",
        f"Largest move since run {OLD_RUN}: 210 customers went from Deal hunters to Churn watch",
    ):
        assert text in joined, text
    zh = section(pages["zh"], "summary")
    assert "主要发现" in zh and "一线城市线上美妆高消费人群" in zh and "稳定性 ARI 0.91" in zh
    assert "k 由 轮廓系数 选定" in zh


def test_chinese_sections(pages: dict[str, str]) -> None:
    page = pages["zh"]
    for text in (
        "聚类与客户画像",
        "画像卡片",
        "高价值",
        "规则分群与重叠",
        "分群迁移",
        "不在任何分群",
        "分群校验",
        "特征画像（对比全体客户）",
        "最佳客户",  # description_zh
        "消费金额",  # trait label_zh on the radar
    ):
        assert text in page, text
    for english in ("Persona cards", "Segment migration", "Not in a segment", "High value"):
        assert english not in page, english
    for key in STRINGS:
        assert STRINGS[key].get("zh"), key


# ---------------------------------------------------------------------------------------------
# In a real browser: every section, both languages, wide and narrow, one Chromium start
# ---------------------------------------------------------------------------------------------

BROWSER_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
)
FRAMES = (("en", 1280), ("en", 760), ("zh", 1280), ("zh", 760))

# Runs in each framed report after load; posts what it measured to the parent page.
PROBE = """
<script>
window.addEventListener("load", function () {
  function inside(box, outer) { return box.left >= outer.left - 1 && box.right <= outer.right + 1; }
  function overlaps(a, b) {
    var w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    var h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    return w > 1 && h > 1;
  }
  function clashes(elements) {
    var found = [];
    var boxes = elements.filter(function (e) { return e.textContent.trim(); })
      .map(function (e) { return [e, e.getBoundingClientRect()]; })
      .filter(function (p) { return p[1].width > 0 && p[1].height > 0; });
    for (var i = 0; i < boxes.length; i++) {
      for (var j = i + 1; j < boxes.length; j++) {
        var a = boxes[i][0], b = boxes[j][0];
        if (a.contains(b) || b.contains(a)) { continue; }
        if (overlaps(boxes[i][1], boxes[j][1])) {
          found.push(a.textContent.trim() + " | " + b.textContent.trim());
        }
      }
    }
    return found;
  }
  var out = {overflow: document.documentElement.scrollWidth - window.innerWidth,
             charts: [], tables: [], cards: [], sankey: {}, clashes: []};
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
    svg.querySelectorAll("text").forEach(function (text) {
      var r = text.getBoundingClientRect();
      if (!inside(r, card) || r.top < box.top - 6 || r.bottom > box.bottom + 6) { outside += 1; }
    });
    var kind = svg.dataset.chart;
    if (kind === "radar" || kind === "sankey") {
      clashes(Array.prototype.slice.call(svg.querySelectorAll("text"))).forEach(function (c) {
        out.clashes.push(svg.id + ": " + c);
      });
    }
    out.charts.push({id: svg.id, width: box.width, height: box.height, in_card: inside(box, card),
                     marks: marks.length, hidden: hidden, outside: outside,
                     polygons: svg.querySelectorAll("polygon.radar-area").length});
  });
  document.querySelectorAll("article.persona").forEach(function (card) {
    var box = card.getBoundingClientRect();
    var parts = card.querySelectorAll("h3, .badge, .alt, dt, dd, h4, .lbl, .pct, .price span");
    var stray = 0;
    parts.forEach(function (p) { if (!inside(p.getBoundingClientRect(), box)) { stray += 1; } });
    clashes(Array.prototype.slice.call(parts)).forEach(function (c) {
      out.clashes.push(card.id + ": " + c);
    });
    out.cards.push({id: card.id, width: box.width, stray: stray,
                    radars: card.querySelectorAll("svg[data-chart=radar]").length,
                    polygons: card.querySelectorAll("polygon.radar-area").length});
  });
  var sankey = document.querySelector("svg[data-chart=sankey]");
  if (sankey) {
    out.sankey = {links: sankey.querySelectorAll("path.link").length,
                  nodes: sankey.querySelectorAll("rect[data-node]").length};
  }
  document.querySelectorAll("table.data").forEach(function (table) {
    out.tables.push({label: table.getAttribute("aria-label"), section: table.closest("section").id,
                     overflow: table.scrollWidth - table.closest(".table-scroll").clientWidth});
  });
  parent.postMessage({frame: window.name, layout: out}, "*");
});
</script>
"""
HOST = """<!DOCTYPE html><html><body style="margin:0">
<pre id="measured"></pre>
{frames}
<script>
var got = {{}};
window.addEventListener("message", function (event) {{
  got[event.data.frame] = event.data.layout;
  document.getElementById("measured").textContent = JSON.stringify(got);
}});
</script></body></html>"""


def chromium(*args: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """One headless Chromium run with a fresh profile in ``folder``."""
    assert CHROMIUM is not None, (
        "no Chromium on PATH: `make chromium` (scripts/ensure_chromium.sh) installs it; "
        "set SEGMINT_SKIP_BROWSER=1 to skip the browser checks on purpose"
    )
    return subprocess.run(
        [CHROMIUM, *BROWSER_FLAGS, f"--user-data-dir={folder / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def measure_frames(pages: dict[str, str], folder: Path) -> dict[str, Any]:
    """Load each report in an iframe of its width (one Chromium start for all) and return
    what :data:`PROBE` measured in each, keyed ``"<lang>-<width>"``."""
    frames = []
    for lang, width in FRAMES:
        target = folder / f"report-{lang}.html"
        if not target.exists():
            target.write_text(pages[lang].replace("</body>", PROBE + "</body>"), encoding="utf-8")
        frames.append(
            f'<iframe name="{lang}-{width}" src="{target.name}" loading="eager" '
            f'style="width:{width}px;height:900px;border:0;display:block"></iframe>'
        )
    host = folder / "host.html"
    host.write_text(HOST.format(frames="\n".join(frames)), encoding="utf-8")
    done = chromium(
        "--window-size=1300,900",
        "--virtual-time-budget=15000",
        "--dump-dom",
        host.as_uri(),
        folder=folder,
    )
    found = re.search(r'<pre id="measured">(.*?)</pre>', done.stdout, re.S)
    assert found is not None, (
        f"Chromium gave no page (exit {done.returncode}): {done.stderr[-800:]}"
    )
    measured: dict[str, Any] = json.loads(
        found.group(1)
        .replace("&quot;", '"')
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
    )
    return measured


@requires_chromium
def test_every_section_in_chromium(pages: dict[str, str], tmp_path: Path) -> None:
    measured = measure_frames(pages, tmp_path)
    assert sorted(measured) == sorted(f"{lang}-{width}" for lang, width in FRAMES)
    for name, layout in measured.items():
        assert layout["overflow"] <= 0, f"{name}: the page scrolls sideways"
        drawn = {c["id"]: c for c in layout["charts"]}
        assert set(drawn) == set(ALL_CHARTS), name
        for chart_id, (_kind, marks) in ALL_CHARTS.items():
            chart = drawn[chart_id]
            assert chart["width"] > 150 and chart["height"] > 60, (name, chart)
            assert chart["marks"] == marks, (name, chart)
            assert chart["hidden"] == 0 and chart["outside"] == 0, (name, chart)
            assert chart["in_card"], (name, chart)
        assert [c["polygons"] for c in layout["cards"]] == [2] * len(PERSONAS), name
        assert all(c["radars"] == 1 and c["stray"] == 0 for c in layout["cards"]), name
        assert layout["sankey"] == {"links": LINKS, "nodes": 5 + 6}, name
        assert layout["clashes"] == [], (name, layout["clashes"])
        identity = [table["label"] for table in layout["tables"] if table["section"] == "identity"]
        lang = name.split("-")[0]
        assert identity == [t(key, lang) for key in ("match_rate", "blocked_hubs", "accuracy")]
        if name.endswith("1280"):
            for table in layout["tables"]:
                if table["section"] in ("identity", "clusters", "rule-segments", "migration"):
                    assert table["overflow"] <= 0, (name, table)
    # One picture of the persona cards for a look by eye: the sections above are hidden so
    # the cards are in the first screen (a #fragment does not scroll a headless screenshot).
    shot, page = tmp_path / "clusters.png", tmp_path / "shot-en.html"
    hide = "<style>" + ",".join(f"#{name}" for name in SECTION_ORDER[:7]) + "{display:none}</style>"
    page.write_text(pages["en"].replace("</head>", hide + "</head>"), encoding="utf-8")
    done = chromium(
        "--window-size=1280,2400",
        "--virtual-time-budget=5000",
        f"--screenshot={shot}",
        page.as_uri(),
        folder=tmp_path,
    )
    assert shot.exists() and shot.stat().st_size > 50_000, done.stderr[-800:]


def write_previews(folder: Path) -> list[Path]:
    """Write the English and Chinese reports with every section (for a look by eye)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for lang in ("en", "zh"):
        target = folder / f"report-segments-{lang}.html"
        target.write_text(render_report(full_report_data(lang)), encoding="utf-8")
        written.append(target)
    return written


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    for path in write_previews(out):
        sys.stdout.write(f"{path}\n")
