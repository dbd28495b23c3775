"""The report's value-layer and tag-catalogue sections, checked against the published tables.

One pipeline run on 300 generated customers, with two project tags added (a PII-level tag
and one whose rule holds markup characters), then the report built as several roles. Every
number the new sections show is recomputed here in pandas from the tables read as admin;
roles that may not see sensitive or PII tags must not find them anywhere in their report.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from markupsafe import escape

from segmint import Project
from segmint.generate import generate_company
from segmint.pipeline.report_data import build_report_data
from segmint.report import ReportData, render_report
from segmint.report.data import NO_PURCHASE, UNASSIGNED
from segmint.report.fmt import fmt_int, fmt_money, fmt_num, fmt_pct, truncate
from segmint.report.tags import RULE_UNITS
from test_report import (
    CHROMIUM,
    assert_layout,
    browser_layout,
    charts_by_id,
    make_report_data,
    read_tables,
    requires_chromium,
)

pytestmark = pytest.mark.slow

PII_TAG = "lookalike_vip"
MARKUP_TAG = "small_basket"
MARKUP_RULE = "aov < 120 and frequency >= 1"
PROJECT_TAGS = [
    {
        "name": PII_TAG,
        "type": "predictive",
        "description": "Looks like a high-value customer.",
        "label_zh": "相似高价值",
        "owner": "data science",
        "sensitivity": "pii",
        "rule": "aov >= 500 and frequency >= 2",
    },
    {
        "name": MARKUP_TAG,
        "type": "need",
        "description": "Small baskets.",
        "label_zh": "小额购物",
        "rule": MARKUP_RULE,
    },
]
AVERAGES = {
    "avg_frequency": "frequency",
    "avg_aov": "aov",
    "avg_recency_days": "recency_days",
    "avg_online_share": "online_share",
    "avg_discount_share": "discount_share",
    "avg_categories": "categories",
    "avg_interaction_trend": "interaction_trend",
}


@dataclass
class Built:
    project: Project
    folder: Path
    catalog: pd.DataFrame  # tag_catalog as admin
    profiles: pd.DataFrame  # profiles as admin
    members: pd.DataFrame  # customer_tags as admin
    data: dict[str, ReportData]  # by role
    html: dict[str, str]  # by role; "analyst" is the pipeline's own report


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    folder = tmp_path_factory.mktemp("tags_company")
    generated = generate_company(folder, customers=300, seed=31)
    spec = yaml.safe_load(generated.project_file.read_text(encoding="utf-8"))
    spec["identity"]["probabilistic"] = {"enabled": False}
    spec["tags"] = {"definitions": PROJECT_TAGS}
    generated.project_file.write_text(
        yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    project = Project.load(generated.project_file, actor="report-test")
    project.run(report=folder / "report.html")
    data: dict[str, ReportData] = {}
    with project.engine() as engine:
        for role in ("admin", "marketer", "agency"):
            data[role] = build_report_data(engine, project.loaded, "en", role=role)
        data["analyst"] = build_report_data(engine, project.loaded, "en")
    html = {role: render_report(report) for role, report in data.items()}
    html["analyst"] = (folder / "report.html").read_text(encoding="utf-8")
    return Built(
        project=project,
        folder=folder,
        catalog=project.table("tag_catalog", role="admin"),
        profiles=project.table("profiles", role="admin"),
        members=project.table("customer_tags", role="admin"),
        data=data,
        html=html,
    )


def section(markup: str, name: str) -> str:
    found = re.search(rf'<section class="card" id="{name}">.*?</section>', markup, re.S)
    assert found is not None, name
    return found.group(0)


def layer_keys(profiles: pd.DataFrame) -> pd.Series:
    buyer = profiles["frequency"].fillna(0) > 0
    fallback = pd.Series(np.where(buyer, UNASSIGNED, NO_PURCHASE), index=profiles.index)
    return profiles["value_layer"].fillna(fallback)


# -- Tag catalogue -----------------------------------------------------------------------------


def test_catalogue_rows_equal_tag_catalog(built: Built) -> None:
    catalog = built.catalog.set_index("tag")
    got = built.data["admin"].tag_catalog.set_index("tag")
    assert set(got.index) == set(catalog.index) and PII_TAG in got.index
    columns = ["type", "owner", "sensitivity", "refresh", "rule", "customers", "gained", "lost"]
    pd.testing.assert_frame_equal(
        got.loc[catalog.index, columns], catalog[columns], check_dtype=False
    )
    assert np.allclose(got.loc[catalog.index, "coverage"], catalog["coverage"])

    rows = read_tables(section(built.html["admin"], "tags"))["Catalogue"]
    assert rows[0] == [
        "Tag",
        "Type",
        "Owner",
        "Sensitivity",
        "Refresh",
        "Rule",
        "Customers",
        "Coverage",
        "Gained",
        "Lost",
    ]
    shown = {row[0]: row for row in rows[1:]}
    assert set(shown) == set(catalog.index)
    for tag, want in catalog.iterrows():
        row = shown[tag]
        assert row[2] == want["owner"]
        assert row[5] == truncate(want["rule"], RULE_UNITS)
        assert row[6:] == [
            fmt_int(want["customers"]),
            fmt_pct(want["coverage"]),
            fmt_int(want["gained"]),
            fmt_int(want["lost"]),
        ], tag
    assert shown[PII_TAG][1:5] == ["Predictive", "data science", "PII", "Each run"]
    assert shown["high_income"][3] == "Sensitive"

    # The coverage chart draws the table's coverage, one bar per tag in table order.
    marks = charts_by_id(built.html["admin"])["chart-tag-coverage"]["marks"]
    order = [row[0] for row in rows[1:]]
    assert [float(v) for v in marks] == pytest.approx(list(catalog.loc[order, "coverage"]))


def test_rules_are_escaped_and_long_ones_cut_with_the_full_rule_in_the_title(
    built: Built,
) -> None:
    tags = section(built.html["admin"], "tags")
    assert MARKUP_RULE not in tags
    assert str(escape(MARKUP_RULE)) in tags
    long_rules = built.catalog[built.catalog["rule"].str.len() > RULE_UNITS]["rule"]
    assert len(long_rules) > 0
    for rule in long_rules:
        assert f'title="{escape(rule)}"' in tags, rule
        assert str(escape(truncate(rule, RULE_UNITS))) in tags, rule


def test_tag_distribution_equals_customer_tags_joined_to_profiles(built: Built) -> None:
    profiles = built.profiles.assign(layer=layer_keys(built.profiles))
    joined = built.members.merge(profiles[["customer_id", "layer"]], on="customer_id")
    counts = pd.crosstab(joined["tag"], joined["layer"])
    data = built.data["admin"]
    got = data.tag_layers.pivot_table(
        index="tag", columns="value_layer", values="customers", fill_value=0
    )
    pd.testing.assert_frame_equal(
        got.loc[counts.index, counts.columns], counts, check_dtype=False, check_names=False
    )
    layers = list(data.layers["value_layer"])
    order = list(data.tag_catalog["tag"])
    shares = counts.div(counts.sum(axis=1), axis=0).reindex(columns=layers, fill_value=0)
    marks = charts_by_id(built.html["admin"])["chart-tag-layers"]["marks"]
    assert len(marks) == len(order) * len(layers)
    for index, tag in enumerate(order):
        row = marks[index * len(layers) : (index + 1) * len(layers)]
        if tag not in shares.index:  # no members: no shares to show
            assert row == [""] * len(layers), tag
        else:
            assert [float(v) for v in row] == pytest.approx(list(shares.loc[tag])), tag
    tagged = built.members["customer_id"].nunique()
    assert data.tag_summary["tagged_customers"] == tagged
    assert data.tag_summary["memberships"] == len(built.members)
    assert f"{fmt_pct(tagged / len(built.profiles))} of profiled customers" in built.html["admin"]


# -- Value layers ------------------------------------------------------------------------------


def test_layer_tables_equal_a_pandas_groupby_over_profiles(built: Built) -> None:
    profiles = built.profiles.assign(layer=layer_keys(built.profiles))
    expected = profiles.groupby("layer").agg(
        customers=("customer_id", "size"),
        revenue=("monetary", "sum"),
        **{name: (trait, "mean") for name, trait in AVERAGES.items()},
    )
    buyers = int((profiles["layer"] != NO_PURCHASE).sum())
    expected["buyer_share"] = (expected["customers"] / buyers).where(expected.index != NO_PURCHASE)
    expected["revenue_share"] = expected["revenue"] / profiles["monetary"].sum()

    got = built.data["admin"].layers.set_index("value_layer")
    definitions = [d.name for d in built.project.loaded.spec.layers.definitions]
    assert list(got.index) == [*definitions, NO_PURCHASE]  # definition order; no unassigned
    assert got.loc[definitions, "label"].tolist() == [
        "High value",
        "Churn warning",
        "Potential",
        "Basic",
    ]
    pd.testing.assert_frame_equal(
        got.loc[expected.index, expected.columns], expected, check_dtype=False, check_names=False
    )

    tables = read_tables(section(built.html["admin"], "layers"))
    size = tables["Size and revenue"]
    names = {
        "high_value": "High value",
        "churn_warning": "Churn warning",
        NO_PURCHASE: "No purchase yet",
    }
    rows = {row[0]: row for row in size[1:-1]}
    for key, name in names.items():
        want = expected.loc[key]
        assert rows[name][:5] == [
            name,
            fmt_int(want["customers"]),
            fmt_pct(want["buyer_share"]),
            fmt_money(want["revenue"]),
            fmt_pct(want["revenue_share"]),
        ]
    assert size[-1][:2] == ["Total", fmt_int(len(profiles))]
    profile_rows = {row[0]: row for row in tables["Layer profile"][1:]}
    want = expected.loc["high_value"]
    assert profile_rows["High value"][1:4] == [
        fmt_num(want["avg_frequency"], 1),
        fmt_money(want["avg_aov"]),
        fmt_num(want["avg_recency_days"], 0),
    ]
    assert profile_rows["High value"][4:6] == [
        fmt_pct(want["avg_online_share"]),
        fmt_pct(want["avg_discount_share"]),
    ]

    tiers = profiles[profiles["layer"] == "high_value"]["city_tier"].dropna().astype(int)
    top = tiers.value_counts().sort_index().sort_values(ascending=False, kind="stable").index[0]
    mix = {row[0]: row for row in tables["City tiers and age bands"][1:]}
    assert mix["High value"][1].startswith(f"Tier {top} ")

    marks = charts_by_id(built.html["admin"])["chart-layer-shares"]["marks"]
    assert len(marks) == 2 * len(definitions)


def test_rfm_segment_by_layer_cross_tab(built: Built) -> None:
    profiles = built.profiles.assign(layer=layer_keys(built.profiles))
    expected = pd.crosstab(profiles["rfm_segment"], profiles["layer"])
    got = built.data["admin"].rfm_layers.pivot_table(
        index="segment", columns="value_layer", values="customers", fill_value=0
    )
    pd.testing.assert_frame_equal(
        got.loc[expected.index, expected.columns], expected, check_dtype=False, check_names=False
    )
    marks = charts_by_id(built.html["admin"])["chart-rfm-layers"]["marks"]
    assert len(marks) == expected.shape[0] * expected.shape[1]


# -- Access ------------------------------------------------------------------------------------


def _names(catalog: pd.DataFrame, levels: set[str]) -> list[str]:
    return list(catalog.loc[catalog["sensitivity"].isin(levels), "tag"])


def _mentions(markup: str, tag: str) -> bool:
    return re.search(rf"\b{re.escape(tag)}\b", markup) is not None


def test_roles_see_only_the_tags_their_level_allows(built: Built) -> None:
    catalog = built.catalog
    sensitive = _names(catalog, {"sensitive"})
    assert sensitive and PII_TAG in _names(catalog, {"pii"})
    for role, hidden in (
        ("analyst", [PII_TAG]),
        ("marketer", [PII_TAG, *sensitive]),
        ("agency", list(catalog["tag"])),
    ):
        data, html = built.data[role], built.html[role]
        shown = set(data.tag_catalog["tag"]) if len(data.tag_catalog) else set()
        assert shown == set(catalog["tag"]) - set(hidden), role
        assert not set(data.tag_layers.get("tag", [])) & set(hidden), role
        for tag in hidden:
            assert not _mentions(html, tag), (role, tag)
        marks = charts_by_id(html)["chart-tag-coverage"]["marks"]
        assert len(marks) == len(shown), role
    assert _mentions(built.html["analyst"], sensitive[0])
    assert _mentions(built.html["marketer"], "tier1_city")
    assert "data-empty" in charts_by_id(built.html["agency"])["chart-tag-coverage"]["attrs"]


def test_pii_never_enters_the_report(built: Built) -> None:
    profiles = built.profiles
    values = [
        str(v) for column in ("phone", "email", "name") for v in profiles[column].dropna() if v
    ]
    assert len(values) > 100
    for role in ("analyst", "marketer", "agency"):  # admin sees raw quarantined rows
        html = built.html[role]
        leaked = [v for v in values if v in html]
        assert leaked == [], (role, leaked[:3])


def test_a_role_that_may_not_read_profiles_gets_a_note(built: Built) -> None:
    data = built.data["agency"]
    assert "profiles" in data.hidden_tables and data.layers.empty
    html = built.html["agency"]
    assert "Role agency may not read profiles" in section(html, "layers")
    assert "Built for role agency, which may not read:" in html
    audit = built.project.audit_log(limit=None, role="admin")
    report_reads = audit[(audit["action"] == "report") & (audit["role"] == "agency")]
    assert "denied" in set(report_reads["decision"])


def test_missing_tables_render_no_data(built: Built, tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(built.folder, old, ignore=shutil.ignore_patterns("*.html"))
    project = Project.load(old / "segmint.yml")
    with project.engine() as engine:
        for name in ("profiles", "customer_tags", "tag_catalog", "tag_history"):
            engine.con.drop_view(name, force=True)
        data = build_report_data(engine, project.loaded, "zh", role="admin")
    assert data.layers.empty and data.tag_catalog.empty and data.hidden_tables == ()
    html = render_report(data)
    for chart in ("chart-layer-shares", "chart-tag-coverage", "chart-tag-layers"):
        assert charts_by_id(html)[chart]["attrs"].get("data-empty") == "true", chart
    assert "暂无数据" in section(html, "tags") and "暂无数据" in section(html, "layers")
    assert len(data.segments) > 0  # the RFM section does not need the new tables


# -- Rendering: synthetic data, Chinese, the browser ------------------------------------------


def test_chinese_sections_use_zh_labels(built: Built) -> None:
    data = built.data["admin"]
    html = render_report(ReportData(**{**data.__dict__, "lang": "zh"}))
    tags, layers = section(html, "tags"), section(html, "layers")
    for text in ("标签目录", "相似高价值", "小额购物", "个人信息", "每次运行", "覆盖率", "预测"):
        assert text in tags, text
    for text in ("价值分层", "高价值", "流失预警", "尚未购买", "占购买客户比例", "客单价"):
        assert text in layers, text
    for english in ("Tag catalogue", "Coverage", "Share of buyers", "No purchase yet"):
        assert english not in tags + layers, english


def test_synthetic_sections_escape_and_label() -> None:
    html = render_report(make_report_data())
    tags = section(html, "tags")
    assert "<b>x</b>" not in tags and "aov &gt; 900 and &lt;b&gt;x&lt;/b&gt;" in tags
    assert "Role</dt><dd>analyst" in html
    rows = read_tables(section(html, "layers"))["Size and revenue"]
    assert rows[-1][:2] == ["Total", "22,450"]


@requires_chromium
def test_new_sections_in_chromium(built: Built, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    data = built.data["admin"]
    tags, layers = len(data.tag_catalog), len(data.layers)
    segments = data.rfm_layers["segment"].nunique()
    columns = data.rfm_layers["value_layer"].nunique()
    expected = {
        "chart-tag-coverage": ("bar", tags),
        "chart-tag-layers": ("heatmap", tags * layers),
        "chart-layer-shares": ("stacked-bar", 2 * (layers - 1)),
        "chart-rfm-layers": ("heatmap", segments * columns),
    }
    for page in (built.html["admin"], render_report(ReportData(**{**data.__dict__, "lang": "zh"}))):
        measured = browser_layout(page, tmp_path)
        measured["charts"] = [c for c in measured["charts"] if c["id"] in expected]
        assert_layout(measured, expected)
        tables = [t for t in measured["tables"] if t["section"] in ("tags", "layers")]
        assert len(tables) == 4 and all(t["overflow"] <= 0 for t in tables), tables
