"""Spark through the CLI: `segmint run` and `segmint export` are separate processes, and the
Hive metastore keeps the run's tables between them.

Kept apart from test_parity.py (the in-process DuckDB/Spark comparison) because it starts its
own Spark processes: with --dist loadfile the two files can run on different workers.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import requires_spark
from mini_project import write_mini_project

pytestmark = [pytest.mark.spark, pytest.mark.slow, requires_spark]


def test_spark_tables_outlive_the_process(tmp_path: Path) -> None:
    """`segmint run` and `segmint export` are separate processes: the metastore keeps tables."""
    project = write_mini_project(
        tmp_path / "p", engine={"engine": "spark", "master": "local[1]", "database": "cli"}
    )
    cli = [sys.executable, "-m", "segmint.cli", "--debug"]
    run = subprocess.run(
        [*cli, "run", str(project), "--no-report", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    out = tmp_path / "rfm.csv"
    export = subprocess.run(
        [*cli, "export", str(project), "rfm", "--format", "csv", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert export.returncode == 0, export.stderr[-2000:]
    assert len(pd.read_csv(out)) == 3
    assert (tmp_path / "p" / "spark-metastore" / "metastore_db").is_dir()
