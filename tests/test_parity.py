"""The same pipeline on DuckDB and on Spark (local[2]) gives the same tables, row for row.

That Spark's tables outlive the process (`segmint run`, then `segmint export`) is tested in
test_parity_cli.py.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from conftest import requires_spark
from mini_project import write_mini_project
from segmint import Project

pytestmark = [pytest.mark.spark, pytest.mark.slow, requires_spark]

COMPARED = (
    "customers",
    "orders",
    "quarantine",
    "quality_sources",
    "quality_fields",
    "identity_map",
    "identity_hubs",
    "rfm",
    "profiles",
    "customer_tags",
    "tag_history",
    "tag_catalog",
    "customer_predictions",
    "segment_members",
    "segment_definitions",
    "segment_overlap",
    "segment_validation",
    "segment_membership_history",
)
# Empty on the mini project (nothing to split, no earlier run), compared all the same.
COMPARED_MAYBE_EMPTY = ("identity_splits", "identity_history")


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.drop(columns=[c for c in frame.columns if c == "run_id" or c.endswith("_run_id")])
    frame = frame.drop(columns=[c for c in frame.columns if c in ("file", "_file")])
    for column in frame.columns:
        if frame[column].dtype == object or str(frame[column].dtype).startswith("decimal"):
            frame[column] = frame[column].map(lambda v: None if v is None or v != v else str(v))
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.sort_values(list(frame.columns), key=lambda s: s.astype(str)).reset_index(
        drop=True
    )


def test_duckdb_and_spark_publish_identical_tables(tmp_path: Path) -> None:
    duck = Project.load(write_mini_project(tmp_path / "duck"))
    spark = Project.load(
        write_mini_project(
            tmp_path / "spark",
            engine={
                "engine": "spark",
                "master": "local[2]",
                "warehouse_dir": str(tmp_path / "spark-warehouse"),
                "database": "parity",
                "metastore_dir": None,  # in-process: the in-memory catalog is enough
            },
        )
    )
    duck_manifest = duck.run(report=False)
    spark_manifest = spark.run(report=False)
    assert spark_manifest.engine == "spark"
    assert [
        (s.source, s.rows_read, s.rows_loaded, s.rows_quarantined) for s in duck_manifest.sources
    ] == [
        (s.source, s.rows_read, s.rows_loaded, s.rows_quarantined) for s in spark_manifest.sources
    ]
    for table in COMPARED:
        left = _canonical(duck.table(table, role="admin"))
        right = _canonical(spark.table(table, role="admin"))
        assert list(left.columns) == list(right.columns), table
        assert len(left) == len(right) > 0, table
        pd.testing.assert_frame_equal(left, right, check_dtype=False, obj=table)
    for table in COMPARED_MAYBE_EMPTY:
        left, right = duck.table(table, role="admin"), spark.table(table, role="admin")
        assert list(left.columns) == list(right.columns), table
        assert len(left) == len(right), table
