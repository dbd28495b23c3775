"""The `segmint` command line: a thin layer over `segmint.Project`."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import typer
from rich.table import Table

from segmint.cli.access import access_app
from segmint.cli.clv import clv_app
from segmint.cli.common import (
    AsOfOpt,
    JsonOpt,
    NoReportOpt,
    ProjectArg,
    ReportOpt,
    RoleOpt,
    emit_json,
    err,
    guard,
    out,
    pct,
    records,
    show_manifest,
    state,
)
from segmint.cli.identity import identity_app
from segmint.cli.predict import predict_app
from segmint.cli.progress import RichProgress
from segmint.cli.segments import report, segments_app
from segmint.cli.tags import show_profile, tags_app
from segmint.errors import ConfigError
from segmint.pipeline.project import Project
from segmint.project.loader import project_json_schema
from segmint.project.starter import STARTER_PROJECT

app = typer.Typer(
    name="segmint",
    help="Warehouse-native customer segmentation: govern, unify, score and segment customers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(identity_app, name="identity")
app.add_typer(access_app, name="access")
app.add_typer(tags_app, name="tags")
app.add_typer(clv_app, name="clv")
app.add_typer(predict_app, name="predict")
app.add_typer(segments_app, name="segments")
app.command("report")(report)
app.command("profile")(show_profile)


def _ok(flag: Any) -> str:
    return "[green]pass[/]" if bool(flag) else "[red]FAIL[/]"


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """segmint: collect → govern → unify → tag → predict → segment → activate → measure."""
    state["debug"] = debug


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the starter project.")] = Path(
        "segmint.yml"
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter project file."""

    def action() -> None:
        if path.exists() and not force:
            raise ConfigError(f"{path} already exists; use --force to overwrite it")
        path.write_text(STARTER_PROJECT, encoding="utf-8")
        err.print(f"wrote {path}")

    guard(action)


@app.command()
def schema(
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write to a file instead of stdout.")
    ] = None,
) -> None:
    """Write the JSON Schema of segmint.yml (for editors and CI validation)."""
    text = json.dumps(project_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if out_file is None:
        sys.stdout.write(text)
    else:
        out_file.write_text(text, encoding="utf-8")
        err.print(f"wrote {out_file}")


@app.command()
def generate(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the company into.")],
    customers: Annotated[int, typer.Option(help="Number of customers.", min=10)] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed → same bytes).")] = 7,
    as_of: Annotated[dt.datetime | None, typer.Option(help="End of the history (UTC).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Generate a realistic multi-source retail company with ground truth."""

    def action() -> None:
        from segmint.generate import generate_company

        with RichProgress(err, enabled=not as_json) as bars:
            company = generate_company(
                out_dir, customers=customers, seed=seed, as_of=as_of, progress=bars.fraction
            )
        summary = {
            "out_dir": str(company.out_dir),
            "project_file": str(company.project_file),
            "as_of": company.as_of.isoformat(),
            "row_counts": company.row_counts,
            "bad_rows": company.bad_rows,
        }
        if as_json:
            emit_json(summary)
            return
        table = Table(title=f"Generated company ({customers:,} customers, seed {seed})")
        table.add_column("source")
        table.add_column("rows", justify="right")
        for name, rows in company.row_counts.items():
            table.add_row(name, f"{rows:,}")
        out.print(table)
        out.print(f"project file: [bold]{company.project_file}[/]")

    guard(action)


@app.command()
def run(
    project: ProjectArg,
    as_of: AsOfOpt = None,
    report: ReportOpt = None,
    no_report: NoReportOpt = False,
    role: Annotated[
        str | None,
        typer.Option("--role", help="Write the report as this role sees the data."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the pipeline and publish its tables atomically."""

    def action() -> None:
        proj = Project.load(project)
        target: Path | bool = False if no_report else (report or True)
        with RichProgress(err, enabled=not as_json) as bars:
            manifest = proj.run(as_of=as_of, report=target, progress=bars, role=role)
        if as_json:
            emit_json(manifest.to_json())
            return
        show_manifest(proj, manifest)

    guard(action)


@app.command()
def quality(project: ProjectArg, role: RoleOpt = None, as_json: JsonOpt = False) -> None:
    """Show the latest data-quality results."""

    def action() -> None:
        results, top = Project.load(project).quality(role=role)
        if as_json:
            emit_json(
                {
                    "sources": records(results.sources),
                    "fields": records(results.fields),
                    "quarantine_top": records(top),
                }
            )
            return
        src = Table(title="Sources")
        for column in (
            "source",
            "read",
            "loaded",
            "quarantined",
            "dups",
            "conflicts",
            "orphans",
            "fresh (h)",
            "status",
        ):
            src.add_column(column, justify="left" if column == "source" else "right")
        for r in results.sources.itertuples(index=False):
            fresh = "" if pd.isna(r.freshness_hours) else f"{r.freshness_hours:.1f}"
            src.add_row(
                r.source,
                f"{r.rows_read:,}",
                f"{r.rows_loaded:,}",
                f"{r.rows_quarantined:,}",
                f"{r.duplicate_rows:,}",
                f"{r.key_conflicts:,}",
                f"{r.orphans:,}",
                fresh,
                _ok(r.passed),
            )
        out.print(src)
        fields = Table(title="Fields")
        for column in ("source", "field", "complete", "valid", "dup", "status"):
            fields.add_column(column, justify="left" if column in ("source", "field") else "right")
        for f in results.fields.itertuples(index=False):
            fields.add_row(
                f.source,
                f.field,
                pct(f.completeness),
                pct(f.validity),
                pct(f.duplicate_pct),
                _ok(f.completeness_passed and f.validity_passed),
            )
        out.print(fields)
        reasons = Table(title="Top quarantine reasons")
        for column in ("source", "rule", "rows", "example"):
            reasons.add_column(column, justify="right" if column == "rows" else "left")
        for q in top.itertuples(index=False):
            reasons.add_row(q.source, q.rule, f"{q.rows:,}", f"line {q.example_line}: {q.message}")
        out.print(reasons)

    guard(action)


@app.command()
def export(
    project: ProjectArg,
    table: Annotated[str, typer.Argument(help="A published table (see 'segmint tables').")],
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    out_file: Annotated[Path, typer.Option("--out", help="File to write.")] = Path("export.csv"),
    role: RoleOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export a published table to CSV or Parquet, as the role may see it."""

    def action() -> None:
        if fmt not in ("csv", "parquet"):
            raise ConfigError(f"--format must be csv or parquet, not {fmt!r}")
        chosen: Literal["csv", "parquet"] = "csv" if fmt == "csv" else "parquet"
        rows = Project.load(project).export(table, chosen, out_file, role=role)
        if as_json:
            emit_json({"table": table, "format": fmt, "out": str(out_file), "rows": rows})
        else:
            out.print(f"wrote {rows:,} rows of {table} to {out_file}")

    guard(action)


@app.command()
def tables(project: ProjectArg, role: RoleOpt = None, as_json: JsonOpt = False) -> None:
    """List the published tables the role may read."""

    def action() -> None:
        names = Project.load(project).tables(role=role)
        if as_json:
            emit_json({"tables": names})
        else:
            for name in names:
                out.print(name)

    guard(action)


def main() -> None:
    """Entry point of the `segmint` script."""
    app()
