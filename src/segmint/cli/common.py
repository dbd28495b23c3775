"""Pieces every CLI command shares: consoles, argument types, JSON output, error guard."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from segmint.errors import SegmintError

if TYPE_CHECKING:
    from segmint.pipeline.manifest import RunManifest
    from segmint.pipeline.project import Project

out = Console()
err = Console(stderr=True)
state = {"debug": False}

ProjectArg = Annotated[Path, typer.Argument(help="The project file (segmint.yml).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead.")]
AsOfOpt = Annotated[dt.datetime | None, typer.Option("--as-of", help="Analysis time (UTC).")]
ReportOpt = Annotated[
    Path | None, typer.Option("--report", help="HTML report path (default: the project's).")
]
NoReportOpt = Annotated[bool, typer.Option("--no-report", help="Skip the HTML report.")]
RoleOpt = Annotated[
    str | None,
    typer.Option("--role", help="Read as this role (default: the project's access.default_role)."),
]


def emit_json(document: Any) -> None:
    """Print one JSON document on stdout."""
    sys.stdout.write(json.dumps(document, ensure_ascii=False, default=str, indent=2) + "\n")


def guard(action: Callable[[], None]) -> None:
    """Run a command; known errors become one red line and a non-zero exit."""
    try:
        action()
    except SegmintError as exc:
        if state["debug"]:
            raise
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as JSON-ready records (missing values as null)."""
    clean = frame.astype(object).where(frame.notna(), None)
    return list(clean.to_dict("records"))


def pct(value: Any) -> str:
    """A share as a percentage with one decimal (empty when missing)."""
    return "" if value is None or pd.isna(value) else f"{100 * float(value):.1f}%"


def show_manifest(project: Project, manifest: RunManifest) -> None:
    """Print a run's sources, stages, notes and where the warehouse and report are."""
    sources = Table(title=f"Run {manifest.run_id} — {manifest.status}")
    for column in ("source", "entity", "read", "loaded", "quarantined"):
        sources.add_column(column, justify="left" if column in ("source", "entity") else "right")
    for s in manifest.sources:
        sources.add_row(
            s.source,
            s.entity,
            f"{s.rows_read:,}",
            f"{s.rows_loaded:,}",
            f"{s.rows_quarantined:,}",
        )
    out.print(sources)
    stages = Table(title="Stages")
    stages.add_column("stage")
    stages.add_column("seconds", justify="right")
    stages.add_column("rows", justify="right")
    for st in manifest.stages:
        stages.add_row(st.stage, f"{st.seconds:.2f}", f"{st.rows:,}")
    out.print(stages)
    for note in manifest.notes:
        out.print(f"[dim]note:[/] {note}")
    warehouse = project.loaded.spec.warehouse
    where = getattr(warehouse, "path", None)
    if where is not None:
        out.print(f"warehouse: [bold]{project.loaded.resolve(where)}[/]")
    if manifest.report:
        out.print(f"report:    [bold]{manifest.report}[/]")
