"""`segmint.Project`: the Python API, mirroring the CLI."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow.parquet as pq

from segmint.engine.connect import connect
from segmint.engine.engine import Engine
from segmint.errors import ConfigError, TableNotFoundError
from segmint.identity.evaluate import PairwiseScores, record_evaluation
from segmint.identity.explain import CustomerExplanation, explain_customer
from segmint.ingest.quality import QualityResults, quarantine_summary
from segmint.pipeline.manifest import RUNS
from segmint.pipeline.run import (
    QUALITY_FIELDS,
    QUALITY_SOURCES,
    QUARANTINE,
    PipelineRun,
    ProgressSink,
    RunManifest,
)
from segmint.project.loader import LoadedProject, load_project


class Project:
    """A loaded project file bound to its warehouse.

    >>> manifest = Project.load("segmint.yml").run()          # doctest: +SKIP
    >>> Project.load("segmint.yml").table("rfm").head()      # doctest: +SKIP
    """

    def __init__(self, loaded: LoadedProject) -> None:
        self.loaded = loaded

    @classmethod
    def load(cls, path: str | Path) -> Project:
        """Read and validate a project file."""
        return cls(load_project(path))

    @property
    def name(self) -> str:
        """The project's name."""
        return self.loaded.spec.name

    def default_report_path(self) -> Path:
        """Where the HTML report goes unless told otherwise."""
        return self.loaded.resolve(self.loaded.spec.report.path)

    @contextmanager
    def engine(self) -> Iterator[Engine]:
        """The project's warehouse, opened for the duration of the block."""
        engine = connect(self.loaded)
        try:
            yield engine
        finally:
            engine.close()

    def run(
        self,
        as_of: dt.datetime | None = None,
        report: Path | bool = True,
        progress: ProgressSink | None = None,
    ) -> RunManifest:
        """Run the pipeline; write the HTML report (to the project's path, or `report`)."""
        report_path = self.default_report_path() if report is True else (report or None)
        with self.engine() as engine:
            run = PipelineRun(self.loaded, engine, as_of=as_of, progress=progress)
            return run.execute(report_path=report_path if report_path else None)

    def table(self, name: str, limit: int | None = None) -> pd.DataFrame:
        """A published table as pandas (use `limit` for big ones)."""
        with self.engine() as engine:
            expr = engine.table(name)
            return engine.to_pandas(expr.limit(limit) if limit else expr)

    def tables(self) -> list[str]:
        """The names of every published table."""
        with self.engine() as engine:
            return engine.published_tables()

    def quality(self, top: int = 10) -> tuple[QualityResults, pd.DataFrame]:
        """The latest quality results and the `top` most common quarantine reasons."""
        with self.engine() as engine:
            results = QualityResults(
                sources=engine.to_pandas(engine.table(QUALITY_SOURCES)),
                fields=engine.to_pandas(engine.table(QUALITY_FIELDS)),
            )
            return results, quarantine_summary(engine, QUARANTINE, top=top)

    def last_run(self) -> pd.DataFrame:
        """The run log, newest first."""
        with self.engine() as engine:
            runs = engine.table(RUNS)
            return engine.to_pandas(runs.order_by(runs.started_at.desc()))

    def export(self, name: str, fmt: Literal["csv", "parquet"], out: Path) -> int:
        """Write a published table to CSV or Parquet; returns the number of rows."""
        out.parent.mkdir(parents=True, exist_ok=True)
        with self.engine() as engine:
            expr = engine.table(name)
            arrow = engine.to_pyarrow(expr)
        if fmt == "parquet":
            pq.write_table(arrow, out)
        elif fmt == "csv":
            arrow.to_pandas().to_csv(out, index=False, encoding="utf-8")
        else:
            raise ConfigError(f"unknown export format {fmt!r}; use csv or parquet")
        return int(arrow.num_rows)

    def explain(self, customer_id: str, sample: int = 20) -> CustomerExplanation:
        """The records, identifiers and match evidence behind one customer."""
        with self.engine() as engine:
            return explain_customer(engine, customer_id, sample=sample)

    def evaluate_identity(self, truth: Path) -> tuple[PairwiseScores, dict[str, PairwiseScores]]:
        """Pairwise precision / recall of the published identity map against ground truth.

        The scores are also logged in `identity_evaluation` for the report.
        """
        with self.engine() as engine:
            runs = engine.table(RUNS)
            latest = engine.to_pandas(
                runs.filter(runs.status == "succeeded")
                .order_by(runs.started_at.desc())
                .select("run_id")
                .limit(1)
            )
            if latest.empty:
                raise TableNotFoundError("no successful run yet; run the pipeline first")
            return record_evaluation(engine, truth, str(latest["run_id"].iloc[0]))
