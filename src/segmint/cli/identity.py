"""`segmint identity ...`: explain one customer, score the identity map against truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from segmint.cli.common import JsonOpt, ProjectArg, RoleOpt, emit_json, guard, out, records
from segmint.pipeline.project import Project

identity_app = typer.Typer(help="Inspect and evaluate customer identity.", no_args_is_help=True)


def _frame_table(title: str, frame: pd.DataFrame, limit: int = 50) -> Table:
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column))
    for row in frame.head(limit).itertuples(index=False):
        table.add_row(*("" if pd.isna(v) else str(v) for v in row))
    return table


@identity_app.command()
def explain(
    project: ProjectArg,
    customer_id: Annotated[str, typer.Argument(help="A customer_id, e.g. C000000042.")],
    sample: Annotated[int, typer.Option(help="How many of its records to list.")] = 20,
    role: RoleOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the records, identifiers and match evidence behind one customer (masked per role)."""

    def action() -> None:
        found = Project.load(project).explain(customer_id, sample=sample, role=role)
        if as_json:
            emit_json(
                {
                    "customer_id": found.customer_id,
                    "sources": records(found.sources),
                    "identifiers": records(found.identifiers),
                    "records": records(found.records),
                    "probabilistic_links": records(found.links),
                    "history": records(found.history),
                }
            )
            return
        total = int(found.sources["records"].sum())
        out.print(
            f"[bold]{found.customer_id}[/bold]: {total:,} records from "
            f"{found.sources['source'].nunique()} sources"
        )
        out.print(_frame_table("Records per source", found.sources))
        out.print(
            _frame_table("Identifiers (a hub reason means it linked nothing)", found.identifiers)
        )
        out.print(_frame_table(f"First {sample} records", found.records))
        if not found.links.empty:
            out.print(_frame_table("Probabilistic match evidence", found.links))
        if not found.history.empty:
            out.print(_frame_table("Id history", found.history))

    guard(action)


@identity_app.command()
def evaluate(
    project: ProjectArg,
    truth: Annotated[
        Path,
        typer.Option("--truth", help="Ground truth: records.csv (source, record_key, person_id)."),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Pairwise precision / recall / F1 of the identity map against ground truth."""

    def action() -> None:
        overall, per_source = Project.load(project).evaluate_identity(truth)
        if as_json:
            emit_json(
                {
                    "overall": overall.to_json(),
                    "sources": {name: s.to_json() for name, s in per_source.items()},
                }
            )
            return
        table = Table(title=f"Identity vs {truth}")
        for column in ("scope", "records", "customers", "persons", "precision", "recall", "F1"):
            table.add_column(column, justify="left" if column == "scope" else "right")
        for scope, s in [("overall", overall), *per_source.items()]:
            table.add_row(
                scope,
                f"{s.records:,}",
                f"{s.customers:,}",
                f"{s.persons:,}",
                f"{s.precision:.4f}",
                f"{s.recall:.4f}",
                f"{s.f1:.4f}",
            )
        out.print(table)

    guard(action)
