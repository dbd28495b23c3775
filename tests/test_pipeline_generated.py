"""The whole pipeline on a generated company, checked against the generator's ground truth."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from segmint import Project
from segmint.generate import generate_company

pytestmark = pytest.mark.slow

# The generator's name for a planted fault -> the rule that must catch it.
RULE_FOR_KIND = {"ragged_row": "malformed_row"}


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, Path]:
    out = tmp_path_factory.mktemp("company")
    generated = generate_company(out, customers=400, seed=11)
    project = Project.load(generated.project_file)
    project.run(report=out / "report.html")
    return project, out


def test_every_planted_fault_is_quarantined_by_its_rule_and_nothing_else(
    company: tuple[Project, Path],
) -> None:
    project, out = company
    truth = pd.read_csv(out / "truth" / "bad_rows.csv")
    faults = truth[truth["kind"] != "orphan"]
    expected = {
        (r.source, int(r.line), RULE_FOR_KIND.get(r.kind, r.kind)) for r in faults.itertuples()
    }
    quarantine = project.table("quarantine")
    got = {(r.source, int(r.line), r.rule) for r in quarantine.itertuples()}
    assert len(expected) > 50
    assert got == expected


def test_orphans_are_loaded_and_flagged(company: tuple[Project, Path]) -> None:
    project, out = company
    truth = pd.read_csv(out / "truth" / "bad_rows.csv")
    orphans = truth[truth["kind"] == "orphan"]
    assert len(orphans) > 0
    orders = project.table("orders")
    flagged = orders.merge(orphans, left_on=["source", "_line"], right_on=["source", "line"])
    assert len(flagged) == len(orphans)
    assert not flagged["has_customer_record"].any()


def test_conservation_on_every_source(company: tuple[Project, Path]) -> None:
    project, _ = company
    sources = project.table("quality_sources")
    assert (sources["rows_read"] == sources["rows_loaded"] + sources["rows_quarantined"]).all()
    quarantine = project.table("quarantine").groupby("source").size()
    for row in sources.itertuples():
        assert quarantine.get(row.source, 0) == row.rows_quarantined
    assert set(sources["source"]) == {s.name for s in project.loaded.spec.sources}


def test_report_and_rfm_cover_the_buyers(company: tuple[Project, Path]) -> None:
    project, out = company
    rfm = project.table("rfm")
    assert rfm["customer_id"].is_unique
    assert rfm["r_score"].between(1, 5).all() and rfm["f_score"].between(1, 5).all()
    assert rfm["segment"].nunique() >= 5
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") >= 8 and "http://" not in html and "https://" not in html
