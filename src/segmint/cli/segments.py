"""`segmint segments ...` and `segmint report`: rule segments with live counts, persona
cards, overlap, migration, validation, the persona-recovery check, and the HTML report of
the last build — all as the caller's role may see them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
import typer
from rich.table import Table

from segmint.cli.common import (
    AsOfOpt,
    JsonOpt,
    ProjectArg,
    RoleOpt,
    emit_json,
    guard,
    out,
    pct,
    records,
)
from segmint.pipeline.project import Project
from segmint.segments.cluster_build import SEGMENT_PERSONAS
from segmint.segments.membership import SEGMENT_MIGRATION
from segmint.segments.stage import SEGMENT_OVERLAP, SEGMENT_VALIDATION

segments_app = typer.Typer(
    help="Rule segments, personas, overlap, migration and validation.", no_args_is_help=True
)


def _show(title: str, frame: pd.DataFrame, columns: list[str], as_json: bool) -> None:
    if as_json:
        emit_json(records(frame))
        return
    table = Table(title=title)
    shown = [c for c in columns if c in frame.columns]
    for column in shown:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        table.add_column(column, justify="right" if numeric else "left")
    for row in frame[shown].itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    out.print(table)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:,.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


@segments_app.command("list")
def list_segments(project: ProjectArg, role: RoleOpt = None, as_json: JsonOpt = False) -> None:
    """The rule segments of the last run: rule, description and members."""

    def action() -> None:
        frame = Project.load(project).segments(role=role)
        _show(
            f"Rule segments ({len(frame)})",
            frame,
            ["segment", "count", "rule", "description"],
            as_json,
        )

    guard(action)


@segments_app.command()
def count(
    project: ProjectArg,
    rule: Annotated[
        str | None,
        typer.Argument(help="An ad-hoc rule; without it, every rule segment of the file."),
    ] = None,
    as_of: AsOfOpt = None,
    role: RoleOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Live counts on the last published profiles (edit a rule, count again: no run)."""

    def action() -> None:
        counts = Project.load(project).count_segment(rule, as_of=as_of, role=role)
        if as_json:
            emit_json(counts)
            return
        table = Table(title="Live counts")
        table.add_column("segment")
        table.add_column("customers", justify="right")
        for name, n in counts.items():
            table.add_row(name, f"{n:,}")
        out.print(table)

    guard(action)


@segments_app.command()
def personas(project: ProjectArg, role: RoleOpt = None, as_json: JsonOpt = False) -> None:
    """Persona cards of the last clustering: name, priority, size and value shares."""

    def action() -> None:
        frame = Project.load(project).table(SEGMENT_PERSONAS, role=role)
        if not as_json:
            frame = frame.assign(
                share=frame["share"].map(pct), revenue_share=frame["revenue_share"].map(pct)
            )
        _show(
            f"Personas ({len(frame)})",
            frame,
            [
                "cluster",
                "persona_en",
                "persona_zh",
                "priority",
                "customers",
                "share",
                "revenue_share",
            ],
            as_json,
        )

    guard(action)


@segments_app.command()
def overlap(project: ProjectArg, role: RoleOpt = None, as_json: JsonOpt = False) -> None:
    """Pairwise overlap of the rule segments: members in both, Jaccard, share of A in B."""

    def action() -> None:
        frame = Project.load(project).table(SEGMENT_OVERLAP, role=role)
        frame = frame[frame["segment_a"] != frame["segment_b"]]
        _show(
            "Segment overlap",
            frame,
            ["segment_a", "segment_b", "both", "jaccard", "share_a_in_b"],
            as_json,
        )

    guard(action)


@segments_app.command()
def migration(
    project: ProjectArg,
    family: Annotated[
        str, typer.Option("--family", help="Segment family: rfm, value_layer, persona …")
    ] = "rfm",
    role: RoleOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """How many customers moved between the segments of a family from run to run."""

    def action() -> None:
        frame = Project.load(project).table(SEGMENT_MIGRATION, role=role)
        frame = frame[frame["family"] == family]
        _show(
            f"Migration ({family})",
            frame,
            ["from_run", "to_run", "from_segment", "to_segment", "customers"],
            as_json,
        )

    guard(action)


@segments_app.command()
def validate(project: ProjectArg, role: RoleOpt = None, as_json: JsonOpt = False) -> None:
    """Per segment: size, revenue share, separation, stability, flags and recommendation."""

    def action() -> None:
        frame = Project.load(project).table(SEGMENT_VALIDATION, role=role)
        if as_json:
            emit_json(records(frame))
            return
        shown = frame.assign(
            share=frame["share"].map(pct),
            revenue_share=frame["revenue_share"].map(pct),
            flags=frame["flags"].map(lambda f: ", ".join(json.loads(f)) if f else ""),
        )
        _show(
            "Segment validation",
            shown,
            [
                "scheme",
                "segment",
                "size",
                "share",
                "revenue_share",
                "separation",
                "stability",
                "flags",
                "recommendation",
            ],
            False,
        )

    guard(action)


@segments_app.command()
def evaluate(
    project: ProjectArg,
    truth: Annotated[
        Path,
        typer.Option("--truth", help="Ground truth folder with records.csv (planted personas)."),
    ],
    as_json: JsonOpt = False,
) -> None:
    """ARI / NMI of the published clusters against planted personas (generated data)."""

    def action() -> None:
        frame = Project.load(project).evaluate_clusters(truth)
        _show(
            f"Clusters vs planted personas ({truth})",
            frame,
            ["k", "planted", "customers", "ari", "nmi"],
            as_json,
        )

    guard(action)


def report(
    project: ProjectArg,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="HTML file (default: the project's report.path).")
    ] = None,
    lang: Annotated[
        Literal["en", "zh"] | None, typer.Option("--lang", help="Report language.")
    ] = None,
    role: RoleOpt = None,
) -> None:
    """Write the HTML report of the last build (no pipeline run)."""

    def action() -> None:
        path = Project.load(project).report(out_path, lang=lang, role=role)
        out.print(f"report: {path}")

    guard(action)
