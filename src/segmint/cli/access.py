"""`segmint access ...`: the project's roles and the access audit log."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from segmint.cli.common import JsonOpt, ProjectArg, RoleOpt, emit_json, guard, out, records
from segmint.pipeline.project import Project

access_app = typer.Typer(help="Roles, what each may read, and the audit log.", no_args_is_help=True)


@access_app.command()
def roles(project: ProjectArg, as_json: JsonOpt = False) -> None:
    """List the roles and what each sees of every table."""

    def action() -> None:
        proj = Project.load(project)
        settings = proj.loaded.spec.access
        overview = proj.access_overview()
        if as_json:
            emit_json(
                {
                    "default_role": settings.default_role,
                    "roles": {
                        name: {
                            **settings.roles[name].model_dump(),
                            "tables": {
                                d.table: {
                                    "read": d.allowed,
                                    "reason": d.reason,
                                    "masked": list(d.masked),
                                    "clear_pii": list(d.clear),
                                    "dropped": list(d.dropped),
                                }
                                for d in decisions
                            },
                        }
                        for name, decisions in overview.items()
                    },
                }
            )
            return
        table = Table(title=f"Roles (default: {settings.default_role})")
        for column in ("role", "max sensitivity", "pii", "reads", "denied", "description"):
            table.add_column(column, overflow="fold")
        for name, decisions in overview.items():
            role = settings.roles[name]
            allowed = [d for d in decisions if d.allowed]
            table.add_row(
                name,
                role.max_sensitivity,
                role.pii,
                f"{len(allowed)} of {len(decisions)} tables",
                ", ".join(d.table for d in decisions if not d.allowed) or "-",
                role.description,
            )
        out.print(table)
        out.print("[dim]--json lists every table with its masked and dropped columns[/]")

    guard(action)


@access_app.command()
def audit(
    project: ProjectArg,
    limit: Annotated[int, typer.Option("--limit", help="Newest rows to show.", min=1)] = 50,
    role: RoleOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the access audit log, newest first (needs a role that sees pii, e.g. admin)."""

    def action() -> None:
        log = Project.load(project).audit_log(limit=limit, role=role)
        if as_json:
            emit_json({"audit": records(log)})
            return
        table = Table(title="Access audit (newest first)")
        for column in log.columns:
            table.add_column(str(column), overflow="fold")
        for row in log.itertuples(index=False):
            table.add_row(*("" if pd.isna(v) else str(v) for v in row))
        out.print(table)

    guard(action)
