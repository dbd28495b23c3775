"""`segmint predict ...`: retrain the churn and repurchase models, read their model cards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

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
    records,
    show_manifest,
)
from segmint.cli.progress import RichProgress
from segmint.pipeline.project import Project
from segmint.predict.columns import MODEL_CARDS, MODEL_METRICS

predict_app = typer.Typer(
    help="Predictive models: retrain, model cards (metrics against baselines).",
    no_args_is_help=True,
)

# Lower is better for these metrics; for every other one higher is better.
LOWER_IS_BETTER = frozenset({"brier", "brier_raw", "ece", "log_loss", "mae_per_customer"})


@predict_app.command()
def train(
    project: ProjectArg,
    as_of: AsOfOpt = None,
    report: ReportOpt = None,
    no_report: NoReportOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Run the pipeline and retrain the churn and repurchase models (one command).

    Later `segmint run`s score with the saved models until they are older than
    predict.max_age_days or the settings change.
    """

    def action() -> None:
        proj = Project.load(project)
        target: Path | bool = False if no_report else (report or True)
        with RichProgress(err, enabled=not as_json) as bars:
            manifest = proj.run(as_of=as_of, report=target, progress=bars, retrain="always")
        if as_json:
            emit_json(manifest.to_json())
            return
        show_manifest(proj, manifest)
        _show_cards(proj, None, None)

    guard(action)


@predict_app.command("cards")
def cards(
    project: ProjectArg,
    target: Annotated[
        str | None, typer.Option("--target", help="Only this model: churn, repurchase or clv.")
    ] = None,
    role: RoleOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The last run's model cards: data windows, metrics against the baselines, limits."""

    def action() -> None:
        proj = Project.load(project)
        if as_json:
            frame = proj.table(MODEL_CARDS, role=role)
            if target is not None:
                frame = frame[frame["target"] == target]
            docs = [
                {**{k: v for k, v in row.items() if k != "card"}, "card": json.loads(row["card"])}
                for row in records(frame)
            ]
            emit_json(docs)
            return
        _show_cards(proj, target, role)

    guard(action)


def winners(metrics: pd.DataFrame) -> pd.DataFrame:
    """Test-window metrics as metric x scorer, with the best scorer of each metric."""
    test = metrics[metrics["window"] == "test"]
    if test.empty:
        return pd.DataFrame()
    grid = test.pivot_table(index="metric", columns="scorer", values="value", aggfunc="first")
    best = [
        (grid.loc[m].idxmin() if m in LOWER_IS_BETTER else grid.loc[m].idxmax())
        if grid.loc[m].notna().any()
        else ""
        for m in grid.index
    ]
    return grid.assign(best=best)


def _show_cards(proj: Project, target: str | None, role: str | None) -> None:
    frame = proj.table(MODEL_CARDS, role=role)
    metrics = proj.table(MODEL_METRICS, role=role)
    if target is not None:
        frame = frame[frame["target"] == target]
    if frame.empty:
        out.print("no model cards: run the pipeline with predict.enabled (the default)")
        return
    for row in frame.itertuples():
        card: dict[str, Any] = json.loads(str(row.card))
        out.print(f"[bold]{row.target}[/] model {row.version} ({row.kind})")
        mine = metrics[(metrics["target"] == row.target) & (metrics["version"] == row.version)]
        grid = winners(mine)
        if not grid.empty:
            table = Table(title="held-out test window")
            table.add_column("metric")
            scorers = [c for c in grid.columns if c != "best"]
            for scorer in scorers:
                table.add_column(str(scorer), justify="right")
            table.add_column("best")
            for metric, values in grid.iterrows():
                table.add_row(
                    str(metric),
                    *("" if pd.isna(values[s]) else f"{float(values[s]):.4f}" for s in scorers),
                    str(values["best"]),
                )
            out.print(table)
        holdout = card.get("holdout") or {}
        if holdout:
            out.print(
                f"holdout {holdout.get('holdout_days')} days after "
                f"{holdout.get('calibration_end')}: predicted "
                f"{holdout.get('predicted_total', 0):,.0f} purchase days, actual "
                f"{holdout.get('actual_total', 0):,.0f}"
            )
        for limit in card.get("limits", []):
            out.print(f"[dim]limit:[/] {limit}")
