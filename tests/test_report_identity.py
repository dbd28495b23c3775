"""The report's identity section on a generated company, checked against the published tables.

One pipeline run on 1,500 generated customers (probabilistic matching off, so the run is
quick and independent of Splink), one pairwise evaluation against the generator's truth,
then every number the section shows is recomputed here in pandas from `identity_map`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pytest
import yaml

from segmint import Project
from segmint.generate import generate_company
from segmint.identity.evaluate import IDENTITY_EVALUATION, evaluate_identity_map, read_truth
from segmint.pipeline.report_data import build_report_data
from segmint.report import ReportData, render_report
from segmint.report.fmt import fmt_int, fmt_pct, mask_identifier
from test_report import (
    CHROMIUM,
    assert_layout,
    browser_layout,
    charts_by_id,
    identity_section,
    read_tables,
    requires_chromium,
)

pytestmark = pytest.mark.slow

STALE_PRECISION = 0.123456  # logged for an older run; must not be shown


@dataclass
class Built:
    project: Project
    folder: Path
    run_id: str
    identity_map: pd.DataFrame
    hubs: pd.DataFrame  # as the report's (default) role reads them: id_value masked
    raw_hubs: pd.DataFrame  # as stored
    scores: pd.DataFrame
    data: ReportData
    html: str
    html_zh: str


def _evaluation_rows(project: Project, truth: Path, run_id: str) -> pd.DataFrame:
    with project.engine() as engine:
        overall, per_source = evaluate_identity_map(
            engine, engine.table("identity_map"), ibis.memtable(read_truth(truth))
        )
    rows: list[dict[str, Any]] = []
    for scope, scores in [("overall", overall), *per_source.items()]:
        rows.append(
            {
                "run_id": run_id,
                "scope": scope,
                "records": scores.records,
                "true_pairs": scores.true_pairs,
                "predicted_pairs": scores.predicted_pairs,
                "correct_pairs": scores.correct_pairs,
                "precision": scores.precision,
                "recall": scores.recall,
                "f1": scores.f1,
                "truth_file": "truth/records.csv",
                "evaluated_at": pd.Timestamp("2026-11-02 08:30"),
            }
        )
    stale = {**rows[0], "run_id": "19990101t000000000000", "precision": STALE_PRECISION}
    return pd.DataFrame([*rows, stale])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    folder = tmp_path_factory.mktemp("company")
    generated = generate_company(folder, customers=1500, seed=5)
    spec = yaml.safe_load(generated.project_file.read_text(encoding="utf-8"))
    spec["identity"]["probabilistic"] = {"enabled": False}
    spec["predict"] = {"enabled": False}  # the identity section is under test, not models
    spec["clustering"] = {"enabled": False}
    generated.project_file.write_text(
        yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    project = Project.load(generated.project_file)
    run_id = project.run(report=folder / "report.html").run_id
    scores = _evaluation_rows(project, folder / "truth" / "records.csv", run_id)
    with project.engine() as engine:
        engine.append(IDENTITY_EVALUATION, scores)
        data = build_report_data(engine, project.loaded, "en")
    return Built(
        project=project,
        folder=folder,
        run_id=run_id,
        identity_map=project.table("identity_map"),
        hubs=project.table("identity_hubs"),
        raw_hubs=project.table("identity_hubs", role="admin"),
        scores=scores[scores["run_id"] == run_id],
        data=data,
        html=render_report(data),
        html_zh=render_report(ReportData(**{**data.__dict__, "lang": "zh"})),
    )


def test_match_rate_by_source_equals_the_identity_map(built: Built) -> None:
    records = built.identity_map
    resolved = records[records["customer_id"].notna()]
    spread = resolved.groupby("customer_id")["source"].nunique()
    records = records.assign(
        cross=records["customer_id"].map(spread).fillna(0) > 1,
        resolved=records["customer_id"].notna(),
    )
    expected = (
        records.groupby("source")
        .agg(
            records=("source", "size"),
            resolved=("resolved", "sum"),
            cross_source=("cross", "sum"),
            customers=("customer_id", "nunique"),
        )
        .reset_index()
    )
    got = built.data.identity_sources[list(expected.columns)]
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert len(expected) == 8 and 0 < expected["cross_source"].sum() < len(records)

    table = read_tables(identity_section(built.html))["Match rate by source"]
    shown = table[1:-1]
    assert [row[0] for row in shown] == list(expected["source"])
    for row, want in zip(shown, expected.itertuples(), strict=True):
        assert row == [
            want.source,
            fmt_int(want.records),
            fmt_pct(want.resolved / want.records),
            fmt_int(want.records - want.resolved),
            fmt_pct(want.cross_source / want.records),
            fmt_int(want.customers),
        ]
    total = table[-1]
    assert total[:4] == [
        "Total",
        fmt_int(len(records)),
        fmt_pct(records["resolved"].mean()),
        fmt_int((~records["resolved"]).sum()),
    ]
    chart = charts_by_id(built.html)["chart-identity-sources"]
    assert len(chart["marks"]) == 2 * len(expected)


def test_headline_cards(built: Built) -> None:
    records = built.identity_map
    unresolved = int(records["customer_id"].isna().sum())
    summary = built.data.identity
    assert summary["records"] == len(records)
    assert summary["customers"] == records["customer_id"].nunique()
    assert summary["unresolved"] == unresolved > 0  # e.g. store orders with the shop's phone
    assert summary["hubs_blocked"] == len(built.hubs)
    assert summary["merges"] == summary["splits"] == 0  # first run: no earlier ids
    assert "probabilistic_links" not in summary  # matching was off
    section = identity_section(built.html)
    for text in (
        fmt_int(len(records)),
        fmt_int(records["customer_id"].nunique()),
        fmt_int(unresolved),
        f"{fmt_pct(unresolved / len(records))} of records",
        "0 / 0",
    ):
        assert text in section, text


def test_coverage_and_component_sizes(built: Built) -> None:
    resolved = built.identity_map.dropna(subset=["customer_id"])
    by_source = resolved.groupby("source")["customer_id"].apply(set)
    sources = sorted(by_source.index)
    chart = charts_by_id(built.html)["chart-identity-coverage"]
    values = [float(v) for v in chart["marks"]]
    assert len(values) == len(sources) ** 2
    for i, a in enumerate(sources):
        for j, b in enumerate(sources):
            share = len(by_source[a] & by_source[b]) / len(by_source[a])
            assert values[i * len(sources) + j] == pytest.approx(share, abs=1e-4), (a, b)

    customers = resolved["customer_id"].nunique()
    sizes = resolved.groupby("customer_id").size()
    bins = pd.cut(sizes, [0, 1, 5, 20, 100, 1000, float("inf")]).value_counts(sort=False)
    size_marks = charts_by_id(built.html)["chart-identity-sizes"]["marks"]
    assert [int(float(v)) for v in size_marks] == list(bins)
    assert sum(bins) == customers
    spread = resolved.groupby("customer_id")["source"].nunique().value_counts()
    spread_marks = charts_by_id(built.html)["chart-identity-spread"]["marks"]
    assert len(spread_marks) == len(sources)
    assert [int(float(v)) for v in spread_marks] == [
        int(spread.get(n, 0)) for n in range(1, len(sources) + 1)
    ]


def test_blocked_hubs_are_the_largest_and_masked(built: Built) -> None:
    hubs = built.hubs.sort_values(["records", "id_type", "id_value"], ascending=[False, True, True])
    top = hubs.head(20)
    section = identity_section(built.html)
    table = read_tables(section)["Blocked hubs"][1:]
    assert len(table) == len(top) > 0
    assert [int(row[-1].replace(",", "")) for row in table] == list(top["records"])
    for row, hub in zip(table, top.itertuples(), strict=True):
        assert row[1] == mask_identifier(hub.id_type, hub.id_value)
    for value in built.raw_hubs["id_value"]:
        assert str(value) not in built.html and str(value) not in built.html_zh
    phones = top[top["id_type"] == "phone"]
    assert len(phones) > 0  # the planted deny-listed phones
    assert re.search(r"\b1\d{2}\*{4}\d{4}\b", section)  # masked by the policy, then the report
    assert f"The {len(top)} largest of {len(hubs)} hubs" in section


def test_hub_values_for_a_role_with_pii_in_clear_are_masked_by_the_report(built: Built) -> None:
    with built.project.engine() as engine:
        data = build_report_data(engine, built.project.loaded, "en", role="admin")
    assert set(data.identity_hubs["id_value"]) <= set(built.raw_hubs["id_value"])
    html = render_report(data)
    for value in built.raw_hubs["id_value"]:
        assert str(value) not in html
    assert re.search(r"\+86\d{3}\*{4}\d{4}", identity_section(html))


def test_accuracy_shows_this_runs_evaluation(built: Built) -> None:
    table = read_tables(identity_section(built.html))["Accuracy against ground truth"]
    rows = table[1:]
    assert len(rows) == len(built.scores)
    overall = built.scores.iloc[0]
    assert rows[0][0] == "Overall"
    assert rows[0][1] == fmt_int(overall["records"])
    assert rows[0][5:] == [
        fmt_pct(overall["precision"], 2),
        fmt_pct(overall["recall"], 2),
        fmt_pct(overall["f1"], 2),
    ]
    assert [row[0] for row in rows[1:]] == sorted(built.scores["scope"][1:])
    assert fmt_pct(STALE_PRECISION, 2) not in built.html
    marks = charts_by_id(built.html)["chart-identity-accuracy"]["marks"]
    assert len(marks) == 3 * len(rows)


def test_chinese_identity_section(built: Built) -> None:
    section = identity_section(built.html_zh)
    for text in (
        "身份识别",
        "各数据源匹配率",
        "跨数据源覆盖",
        "客户簇规模分布",
        "已阻断的枢纽标识",
        "对照真实标注的准确率",
        "总体",
        "会员号过多",
    ):
        assert text in section, text


def test_without_evaluation_the_report_says_how_to_evaluate(built: Built) -> None:
    # The pipeline's own report was written before anyone evaluated the run.
    written = identity_section((built.folder / "report.html").read_text(encoding="utf-8"))
    assert "segmint identity evaluate segmint.yml --truth DIR/truth/records.csv" in written
    assert "chart-identity-coverage" in written and "chart-identity-accuracy" not in written
    data = ReportData(**{**built.data.__dict__, "identity_evaluation": pd.DataFrame()})
    section = identity_section(render_report(data))
    assert "segmint identity evaluate segmint.yml --truth DIR/truth/records.csv" in section
    assert "chart-identity-accuracy" not in section


def test_probabilistic_cards_only_for_tables_this_run_built(built: Built) -> None:
    links = pd.DataFrame(
        {
            "unique_id_l": [1, 2, 3],
            "unique_id_r": [4, 5, 6],
            "component_l": [1, 2, 3],
            "component_r": [4, 5, 6],
            "match_probability": [0.99, 0.98, 0.97],
            "match_weight": [9.1, 8.0, 7.5],
        }
    )
    names = ("identity_links", "identity_review")
    with built.project.engine() as engine:
        try:
            engine.materialize(engine.run_table(built.run_id, "identity_links"), links)
            engine.materialize(engine.run_table(built.run_id, "identity_review"), links.head(2))
            engine.publish(built.run_id, names)
            summary = build_report_data(engine, built.project.loaded).identity
            assert (summary["probabilistic_links"], summary["review_pairs"]) == (3, 2)
            # A view left behind by an older run (its tables are gone) is not this run's.
            for name in names:
                engine.drop(engine.run_table(built.run_id, name))
            stale = build_report_data(engine, built.project.loaded)
            assert "probabilistic_links" not in stale.identity
        finally:
            for name in names:
                engine.drop(engine.run_table(built.run_id, name))
                engine.con.drop_view(name, force=True)
    section = identity_section(render_report(stale))
    assert "Probabilistic links" not in section


@requires_chromium
def test_identity_charts_in_chromium(built: Built, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    sources = len(built.data.identity_sources)
    expected = {
        "chart-identity-sources": ("grouped-bar", 2 * sources),
        "chart-identity-coverage": ("heatmap", sources * sources),
        "chart-identity-sizes": ("bar", 6),
        "chart-identity-spread": ("bar", len(built.data.identity_spread)),
        "chart-identity-accuracy": ("grouped-bar", 3 * len(built.scores)),
    }
    for page in (built.html, built.html_zh):
        measured = browser_layout(page, tmp_path)
        measured["charts"] = [c for c in measured["charts"] if c["id"] in expected]
        assert_layout(measured, expected)
        tables = [t for t in measured["tables"] if t["section"] == "identity"]
        assert len(tables) == 3 and all(t["overflow"] <= 0 for t in tables)
