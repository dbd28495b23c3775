"""The CLI, run in-process on a project written to a temp folder (dbt-style project tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from segmint.cli.app import app

pytestmark = pytest.mark.slow
runner = CliRunner()


def test_run_json_prints_the_manifest(mini_project: Path) -> None:
    result = runner.invoke(app, ["run", str(mini_project), "--json"])
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    assert manifest["status"] == "succeeded"
    assert [s["stage"] for s in manifest["stages"]] == [
        "ingest",
        "conform",
        "quality",
        "identity",
        "rfm",
        "profile",
        "predict",
        "tags",
        "segments",
        "publish",
        "report",
    ]
    crm = next(s for s in manifest["sources"] if s["source"] == "crm")
    assert crm["rows_read"] == crm["rows_loaded"] + crm["rows_quarantined"] == 13
    assert Path(manifest["report"]).is_file()


def test_run_as_of_option_overrides_the_project(mini_project: Path) -> None:
    result = runner.invoke(
        app, ["run", str(mini_project), "--as-of", "2026-10-15", "--no-report", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["as_of"] == "2026-10-15T00:00:00"


def test_quality_and_export(mini_project: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["run", str(mini_project), "--no-report"]).exit_code == 0
    result = runner.invoke(app, ["quality", str(mini_project), "--json"])
    assert result.exit_code == 0, result.output
    quality = json.loads(result.stdout)
    assert {s["source"] for s in quality["sources"]} == {"crm", "orders"}
    assert any(f["field"] == "amount" and not f["validity_passed"] for f in quality["fields"])
    csv_out = tmp_path / "q.csv"
    result = runner.invoke(
        app, ["export", str(mini_project), "quarantine", "--format", "csv", "--out", str(csv_out)]
    )
    assert result.exit_code == 0, result.output
    assert csv_out.read_text(encoding="utf-8").startswith("run_id,source,entity,file,line,rule")
    pq_out = tmp_path / "runs.parquet"
    result = runner.invoke(
        app,
        [
            "export",
            str(mini_project),
            "runs",
            "--format",
            "parquet",
            "--out",
            str(pq_out),
            "--json",
        ],
    )
    assert json.loads(result.stdout)["rows"] == 1
    assert pq.read_table(pq_out).column("status").to_pylist() == ["succeeded"]


def test_unknown_table_is_one_red_line_and_exit_1(mini_project: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["run", str(mini_project), "--no-report"]).exit_code == 0
    result = runner.invoke(app, ["export", str(mini_project), "rfmm", "--out", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert "error: no table 'rfmm' in the warehouse; published tables:" in result.output
    assert "Traceback" not in result.output


def test_invalid_project_exits_2_with_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "segmint.yml"
    bad.write_text("name: x\nsourcs: []\n", encoding="utf-8")
    result = runner.invoke(app, ["run", str(bad)])
    assert result.exit_code == 2
    assert "segmint.yml:2: sourcs: unknown key 'sourcs'; did you mean 'sources'?" in result.output


def test_init_writes_a_valid_starter_and_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "segmint.yml"
    assert runner.invoke(app, ["init", str(target)]).exit_code == 0
    assert "sources:" in target.read_text(encoding="utf-8")
    again = runner.invoke(app, ["init", str(target)])
    assert again.exit_code == 2 and "already exists" in again.output


def test_schema_is_json(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["title"].startswith("segmint project file")
