"""Shared fixtures: hand-written and generated projects, and a local Spark session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mini_project import write_mini_project

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
# The Spark tests are short-lived JVMs (each pytest worker's session, and the CLI processes
# the metastore test starts) doing many small queries: the time goes to warm-up, and
# HotSpot's optimising compiler spends CPU the other worker needs. The quick compiler alone
# runs the Spark tests about a fifth faster here; it changes speed, never results. Set only
# if the caller chose no JVM options of their own.
os.environ.setdefault("JAVA_TOOL_OPTIONS", "-XX:TieredStopAtLevel=1")


@pytest.fixture
def mini_project(tmp_path: Path) -> Path:
    """The hand-written messy project (one planted instance of every rule)."""
    return write_mini_project(tmp_path / "mini")


def java_available() -> bool:
    """Spark needs a JVM; `make test` installs one when the machine has none."""
    return shutil.which("java") is not None


requires_spark = pytest.mark.skipif(
    not java_available(), reason="Spark needs Java; run 'make java' (make test does)"
)
