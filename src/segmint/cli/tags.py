"""`segmint tags ...` and `segmint profile`: the tag catalogue, who gained or lost a tag,
one customer's profile — all as the caller's role may see them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import pandas as pd
import typer
from rich.table import Table

from segmint.cli.common import (
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

tags_app = typer.Typer(help="The tag catalogue and tag changes.", no_args_is_help=True)


@tags_app.command("list")
def list_tags(project: ProjectArg, role: RoleOpt = None, as_json: JsonOpt = False) -> None:
    """The tags your role may see: type, owner, sensitivity, coverage, gains and losses."""

    def action() -> None:
        catalog = Project.load(project).tag_catalog(role=role)
        if as_json:
            emit_json(records(catalog))
            return
        table = Table(title=f"Tag catalogue ({len(catalog)} tags)")
        for column in ("tag", "type", "sensitivity", "refresh", "customers", "coverage", "+/-"):
            table.add_column(
                column, justify="right" if column in ("customers", "coverage") else "left"
            )
        for row in catalog.itertuples():
            table.add_row(
                str(row.tag),
                str(row.type),
                str(row.sensitivity),
                str(row.refresh),
                f"{int(row.customers):,}",
                pct(row.coverage),
                f"+{int(row.gained)} / -{int(row.lost)}",
            )
        out.print(table)

    guard(action)


@tags_app.command()
def changes(
    project: ProjectArg,
    tag: Annotated[str, typer.Argument(help="Tag name (see `segmint tags list`).")],
    since: Annotated[
        dt.datetime | None,
        typer.Option("--since", help="Changes at or after this time (default: 7 days ago)."),
    ] = None,
    lost: Annotated[bool, typer.Option("--lost", help="Who lost the tag instead.")] = False,
    role: RoleOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Customers who gained (or lost) a tag since a date: "who newly became X this week"."""

    def action() -> None:
        start = since or (dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=7))
        change: Literal["gained", "lost"] = "lost" if lost else "gained"
        rows = Project.load(project).tag_changes(tag, start, change, role=role)
        if as_json:
            emit_json({"tag": tag, "change": change, "since": start, "customers": records(rows)})
            return
        table = Table(title=f"{tag}: {len(rows):,} customers {change} since {start:%Y-%m-%d}")
        for column in ("customer_id", "valid_from", "valid_to"):
            table.add_column(column)
        for row in rows.head(50).itertuples():
            table.add_row(str(row.customer_id), _when(row.valid_from), _when(row.valid_to))
        out.print(table)
        if len(rows) > 50:
            out.print(f"… and {len(rows) - 50:,} more (use --json or `segmint export`)")

    guard(action)


def _when(value: object) -> str:
    return "" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d %H:%M}"


def show_profile(
    project: ProjectArg,
    customer_id: Annotated[str, typer.Argument(help="A customer_id.")],
    role: RoleOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One customer's profile and tags, masked for your role."""

    def action() -> None:
        profile, tags = Project.load(project).customer(customer_id, role=role)
        if as_json:
            emit_json({"profile": records(profile.to_frame().T)[0], "tags": tags})
            return
        table = Table(title=f"Customer {customer_id}", show_header=False)
        table.add_column("trait")
        table.add_column("value", overflow="fold")
        for name, value in profile.items():
            table.add_row(str(name), "" if value is None or pd.isna(value) else str(value))
        table.add_row("tags", ", ".join(tags) or "-")
        out.print(table)

    guard(action)
