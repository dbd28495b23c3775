"""The run manifest: what a run did, how long each stage took, and what each source gave."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from segmint.engine.engine import Engine

RUNS = "runs"
RUN_STAGES = "run_stages"
RUN_SOURCES = "run_sources"


def latest_run_id(engine: Engine) -> str | None:
    """The id of the last successful run (whose tables are the published ones), if any."""
    if not engine.exists(RUNS):
        return None
    runs = engine.table(RUNS)
    latest = engine.to_pandas(
        runs.filter(runs.status == "succeeded")
        .order_by(runs.started_at.desc())
        .select("run_id")
        .limit(1)
    )
    return None if latest.empty else str(latest["run_id"].iloc[0])


def new_run_id(now: dt.datetime) -> str:
    """Sortable and unique: UTC start time plus random hex (also safe inside table names)."""
    return now.strftime("%Y%m%dt%H%M%S") + secrets.token_hex(3)


@dataclass
class StageRecord:
    """Timing and output size of one stage."""

    stage: str
    seconds: float
    rows: int


@dataclass
class SourceRecord:
    """Row accounting for one source."""

    source: str
    entity: str
    files: list[str]
    rows_read: int
    rows_loaded: int
    rows_quarantined: int


@dataclass
class RunManifest:
    """Everything a run reports about itself."""

    run_id: str
    project: str
    engine: str
    config_hash: str
    as_of: dt.datetime
    started_at: dt.datetime
    status: str = "running"
    finished_at: dt.datetime | None = None
    error: str | None = None
    stages: list[StageRecord] = field(default_factory=list)
    sources: list[SourceRecord] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    report: str | None = None
    notes: list[str] = field(default_factory=list)  # what a stage wants the user to know

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (timestamps as ISO text)."""
        data = asdict(self)
        for key in ("as_of", "started_at", "finished_at"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        data["seconds"] = round(sum(s.seconds for s in self.stages), 3)
        return data

    def save(self, engine: Engine) -> None:
        """Append this run to the warehouse's run log tables."""
        seconds = sum(s.seconds for s in self.stages)
        engine.append(
            RUNS,
            pd.DataFrame(
                [
                    {
                        "run_id": self.run_id,
                        "project": self.project,
                        "status": self.status,
                        "engine": self.engine,
                        "config_hash": self.config_hash,
                        "as_of": pd.Timestamp(self.as_of),
                        "started_at": pd.Timestamp(self.started_at),
                        "finished_at": pd.Timestamp(self.finished_at or self.started_at),
                        "seconds": float(seconds),
                        "error": self.error or "",
                    }
                ]
            ),
        )
        if self.stages:
            engine.append(
                RUN_STAGES,
                pd.DataFrame([{"run_id": self.run_id, **asdict(s)} for s in self.stages]).astype(
                    {"seconds": "float64", "rows": "int64"}
                ),
            )
        if self.sources:
            rows = []
            for s in self.sources:
                record = asdict(s)
                record["files"] = ";".join(record["files"])
                rows.append({"run_id": self.run_id, **record})
            engine.append(RUN_SOURCES, pd.DataFrame(rows))
