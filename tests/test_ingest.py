"""Governed ingestion end to end on the hand-written messy project."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

import segmint.pipeline.run as run_module
from mini_project import EXPECTED_QUARANTINE
from segmint import Project, SourceReadError, StageError
from segmint.ingest.encoding import detect_encoding
from segmint.ingest.readers import read_files

pytestmark = pytest.mark.slow


def _quarantine(project: Project) -> set[tuple[str, int, str]]:
    frame = project.table("quarantine", role="admin")
    return {(r.source, int(r.line), r.rule) for r in frame.itertuples()}


def test_each_rule_quarantines_exactly_its_planted_row(mini_project: Path) -> None:
    project = Project.load(mini_project)
    manifest = project.run(report=False)
    assert manifest.status == "succeeded"
    assert _quarantine(project) == EXPECTED_QUARANTINE


def test_quarantine_keeps_the_raw_row_file_and_message(mini_project: Path) -> None:
    project = Project.load(mini_project)
    project.run(report=False)
    q = project.table("quarantine", role="admin").set_index(["source", "line"])
    negative = q.loc[("orders", 5)]
    assert negative["file"].endswith("orders.csv")
    assert negative["field"] == "amount"
    assert negative["message"] == "amount: amount below zero ('-5')"
    assert json.loads(negative["raw"])["order_id"] == "O4"
    ragged = q.loc[("orders", 18)]
    assert json.loads(ragged["raw"])["_text"] == "O15,M002,,2026-09-07 10:00:00,1,paid,online,extra"


def test_conservation_per_source(mini_project: Path) -> None:
    project = Project.load(mini_project)
    manifest = project.run(report=False)
    quarantine = project.table("quarantine", role="admin")
    for source in manifest.sources:
        in_quarantine = int((quarantine["source"] == source.source).sum())
        loaded = int((project.table(source.entity, role="admin")["source"] == source.source).sum())
        assert source.rows_read == source.rows_loaded + source.rows_quarantined
        assert (loaded, in_quarantine) == (source.rows_loaded, source.rows_quarantined)
    assert {s.source: s.rows_read for s in manifest.sources} == {"crm": 13, "orders": 18}


def test_gbk_file_is_detected_and_decoded(mini_project: Path) -> None:
    orders = mini_project.parent / "data" / "orders.csv"
    assert detect_encoding(orders) == "gb18030"
    read = read_files(orders, "csv", "auto", None, None)
    assert "￥1,234.50" in read.table.column("amount").to_pylist()


def test_orphans_are_kept_and_flagged(mini_project: Path) -> None:
    project = Project.load(mini_project)
    project.run(report=False)
    orders = project.table("orders", role="admin").set_index("order_id")
    assert not orders.loc["O12", "has_customer_record"]  # member M999 is not in the CRM
    assert orders.loc["O13", "has_customer_record"]  # phone-only order matches M001's phone
    quality = project.table("quality_sources", role="admin").set_index("source")
    assert quality.loc["orders", "orphans"] == 1


def test_placeholder_phone_is_a_hub_and_links_nothing(mini_project: Path) -> None:
    project = Project.load(mini_project)
    project.run(report=False)
    hubs = project.table("identity_hubs", role="admin")
    assert list(zip(hubs["id_value"], hubs["reason"], strict=True)) == [
        ("+8613800000000", "deny-list")
    ]
    ids = project.table("identity_map", role="admin").set_index("record_key")["customer_id"]
    assert ids["M010"] != ids["M011"]
    assert ids["O13"] == ids["M001"]  # a real shared phone does link


def test_values_are_normalised_on_load(mini_project: Path) -> None:
    project = Project.load(mini_project)
    project.run(report=False)
    crm = project.table("customers", role="admin").set_index("customer_key")
    assert crm.loc["M002", "phone"] == "+8613900001111"
    assert crm.loc["M002", "email"] == "li.na@example.com"
    assert crm.loc["M003", "phone"] == "+8613712345678"  # full-width digits
    assert crm.loc["M001", "gender"] == "M"  # 男 recoded
    assert crm.loc["M008", "email"] == "wg2@example.com"  # the newer version won the conflict
    orders = project.table("orders", role="admin").set_index("order_id")
    assert float(orders.loc["O3", "amount"]) == 300.0
    assert str(orders.loc["O2", "ordered_at"]) == "2026-10-25 00:00:00"


def test_rerun_is_idempotent(mini_project: Path) -> None:
    project = Project.load(mini_project)
    project.run(report=False)
    first = {
        t: project.table(t, role="admin")
        for t in ("customers", "orders", "quarantine", "identity_map", "rfm")
    }
    project.run(report=False)
    for name, before in first.items():
        after = project.table(name, role="admin")
        cols = [c for c in before.columns if c != "run_id"]
        a = before[cols].sort_values(cols[:3]).reset_index(drop=True)
        b = after[cols].sort_values(cols[:3]).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b)
    runs = project.last_run()
    assert list(runs["status"]) == ["succeeded", "succeeded"]


def test_failed_stage_leaves_last_good_tables(
    mini_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = Project.load(mini_project)
    good = project.run(report=False)
    rfm_before = project.table("rfm", role="admin")

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("planted failure")

    monkeypatch.setattr(run_module, "rfm_table", explode)
    with pytest.raises(StageError, match="stage rfm failed: RuntimeError: planted failure"):
        project.run(report=False)
    pd.testing.assert_frame_equal(project.table("rfm", role="admin"), rfm_before)
    runs = project.last_run()
    assert list(runs["status"]) == ["failed", "succeeded"]
    assert "planted failure" in runs.iloc[0]["error"]
    with project.engine() as engine:  # the failed run's tables are gone; the good run's remain
        assert engine.runs_with_tables() == [good.run_id]


def _rewrite_source(project_file: Path, **changes: object) -> None:
    spec = yaml.safe_load(project_file.read_text(encoding="utf-8"))
    spec["sources"][1].update(changes)
    project_file.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")


def test_missing_file_fails_the_run_and_names_it(mini_project: Path) -> None:
    project = Project.load(mini_project)
    project.run(report=False)
    _rewrite_source(mini_project, path="data/nope.csv")
    with pytest.raises(SourceReadError, match=r"data/nope.csv: file not found"):
        Project.load(mini_project).run(report=False)
    assert (
        len(Project.load(mini_project).table("orders", role="admin")) == 8
    )  # last good build still there


def test_wrong_declared_encoding_is_one_clear_error(mini_project: Path) -> None:
    _rewrite_source(mini_project, encoding="utf-8")
    with pytest.raises(SourceReadError, match=r"orders.csv: not valid utf-8 text"):
        Project.load(mini_project).run(report=False)


def test_binary_file_is_refused(mini_project: Path) -> None:
    (mini_project.parent / "data" / "orders.csv").write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(SourceReadError, match=r"orders.csv: not a text file"):
        Project.load(mini_project).run(report=False)


def test_mapped_column_missing_from_header_suggests_the_closest(mini_project: Path) -> None:
    data = mini_project.parent / "data" / "orders.csv"
    data.write_bytes(data.read_bytes().replace(b"order_time", b"order_tme"))
    with pytest.raises(SourceReadError, match=r"'order_time' \(did you mean 'order_tme'\?\)"):
        Project.load(mini_project).run(report=False)


def test_glob_sources_and_tsv(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    header = "order_id\tmember\twhen\tamount\n"
    (tmp_path / "d" / "a.tsv").write_text(header + "A1\tM1\t2026-01-01\t5\n", encoding="utf-8")
    (tmp_path / "d" / "b.tsv").write_text(header + "B1\tM2\t2026-01-02\tx\n", encoding="utf-8")
    spec = {
        "name": "g",
        "as_of": "2026-01-02T12:00:00",
        "sources": [
            {
                "name": "o",
                "entity": "orders",
                "path": "d/*.tsv",
                "columns": {
                    "order_id": "order_id",
                    "member_id": "member",
                    "ordered_at": "when",
                    "amount": "amount",
                },
            }
        ],
    }
    (tmp_path / "segmint.yml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    project = Project.load(tmp_path / "segmint.yml")
    manifest = project.run(report=False)
    assert manifest.sources[0].files == [
        str(tmp_path / "d" / "a.tsv"),
        str(tmp_path / "d" / "b.tsv"),
    ]
    assert (manifest.sources[0].rows_loaded, manifest.sources[0].rows_quarantined) == (1, 1)
    q = project.table("quarantine", role="admin")
    assert q.iloc[0]["file"].endswith("b.tsv") and q.iloc[0]["line"] == 2


def test_quality_thresholds_judge_fields_and_freshness(mini_project: Path) -> None:
    project = Project.load(mini_project)
    project.run(report=False)
    results, top = project.quality(top=50)
    sources = results.sources.set_index("source")
    assert not sources.loc["crm", "freshness_passed"]  # newest CRM update is 20 days old
    assert sources.loc["orders", "freshness_passed"]  # newest order is 22 h old (limit 24 h)
    fields = results.fields.set_index(["source", "field"])
    amount = fields.loc[("orders", "amount")]
    assert amount["invalid"] == 3 and not amount["validity_passed"]
    assert {(r.source, r.rule) for r in top.itertuples()} == {
        (source, rule) for source, _, rule in EXPECTED_QUARANTINE
    }


def test_a_warehouse_table_can_be_a_source(mini_project: Path) -> None:
    import duckdb

    spec = yaml.safe_load(mini_project.read_text(encoding="utf-8"))
    with duckdb.connect(str(mini_project.parent / "warehouse.duckdb")) as con:
        con.execute(
            "CREATE TABLE crm_extract AS SELECT * FROM (VALUES "
            "('M100', '13912345678', '2026-10-30 10:00:00'), "
            "('M101', 'bad-phone', '2026-10-30 11:00:00')) t(member_no, mobile, updated)"
        )
    spec["sources"].append(
        {
            "name": "crm_table",
            "entity": "customers",
            "table": "crm_extract",
            "columns": {
                "customer_key": "member_no",
                "member_id": "member_no",
                "phone": "mobile",
                "updated_at": "updated",
            },
        }
    )
    mini_project.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    project = Project.load(mini_project)
    manifest = project.run(report=False)
    table_source = next(s for s in manifest.sources if s.source == "crm_table")
    assert (table_source.rows_read, table_source.rows_loaded, table_source.rows_quarantined) == (
        2,
        1,
        1,
    )
    q = project.table("quarantine", role="admin")
    row = q[q["source"] == "crm_table"].iloc[0]
    assert (row["file"], row["line"], row["rule"]) == ("crm_extract", 2, "malformed_phone")
