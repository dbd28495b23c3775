"""Fill the report's input from published tables: small aggregates computed in the engine."""

from __future__ import annotations

from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.engine.engine import Engine
from segmint.ingest.quality import quarantine_summary
from segmint.pipeline.manifest import RUN_SOURCES, RUN_STAGES, RUNS
from segmint.pipeline.run import QUALITY_FIELDS, QUALITY_SOURCES, QUARANTINE
from segmint.project.loader import LoadedProject
from segmint.report import ReportData

HISTOGRAM_BINS = 20


def histogram(engine: Engine, column: ir.NumericValue, table: ir.Table) -> pd.DataFrame:
    """Equal-width bins from the minimum to the 99th percentile (the tail joins the last bin)."""
    stats = engine.to_pandas(
        table.aggregate(low=column.min(), high=column.quantile(0.99), top=column.max())
    ).iloc[0]
    if pd.isna(stats["low"]):
        return pd.DataFrame(columns=["bin_start", "bin_end", "customers"])
    low, high = float(stats["low"]), float(stats["high"])
    if high <= low:
        high = max(float(stats["top"]), low + 1.0)
    width = (high - low) / HISTOGRAM_BINS
    index = ((column.cast("float64") - low) / width).floor().cast("int64")
    index = ibis.least(ibis.greatest(index, 0), HISTOGRAM_BINS - 1)
    counts = engine.to_pandas(
        table.mutate(_bin=index).group_by("_bin").aggregate(customers=lambda t: t.count())
    )
    frame = pd.DataFrame({"_bin": range(HISTOGRAM_BINS)}).merge(counts, on="_bin", how="left")
    frame["customers"] = frame["customers"].fillna(0).astype("int64")
    frame["bin_start"] = low + frame["_bin"] * width
    frame["bin_end"] = frame["bin_start"] + width
    return frame[["bin_start", "bin_end", "customers"]]


def _run_manifest(engine: Engine) -> dict[str, Any]:
    runs = engine.table(RUNS)
    latest = engine.to_pandas(
        runs.filter(runs.status == "succeeded").order_by(runs.started_at.desc()).limit(1)
    )
    if latest.empty:
        return {}
    row = latest.iloc[0].to_dict()
    run_id = row["run_id"]
    stages = engine.table(RUN_STAGES)
    sources = engine.table(RUN_SOURCES)
    row["stages"] = engine.to_pandas(stages.filter(stages.run_id == run_id)).to_dict("records")
    row["sources"] = engine.to_pandas(sources.filter(sources.run_id == run_id)).to_dict("records")
    for key in ("as_of", "started_at", "finished_at"):
        row[key] = str(row[key])
    return row


def build_report_data(
    engine: Engine, project: LoadedProject, lang: Literal["en", "zh"] = "en"
) -> ReportData:
    """Everything the HTML report shows, from the latest published build."""
    identity = engine.table("identity_map")
    by_source = engine.to_pandas(
        identity.group_by("source")
        .aggregate(records=identity.count(), customers=identity.customer_id.nunique())
        .order_by("source")
    )
    sizes = identity.group_by("customer_id").aggregate(n=identity.count())
    headline = engine.to_pandas(
        sizes.aggregate(
            records=sizes.n.sum(),
            customers=sizes.count(),
            linked=(sizes.n > 1).ifelse(sizes.n, 0).sum(),
        )
    ).iloc[0]
    identity_summary = {
        "records": int(headline["records"] or 0),
        "customers": int(headline["customers"] or 0),
        "linked_records": int(headline["linked"] or 0),
        "hubs_blocked": int(engine.scalar(engine.table("identity_hubs").count())),
        "by_source": by_source.to_dict("records"),
    }

    rfm_summary: dict[str, float] = {}
    histograms: dict[str, pd.DataFrame] = {}
    segments = pd.DataFrame()
    grid = pd.DataFrame()
    if engine.exists("rfm"):
        rfm = engine.table("rfm")
        totals = engine.to_pandas(
            rfm.aggregate(
                customers=rfm.count(),
                revenue=rfm.monetary.sum(),
                median_recency_days=rfm.recency_days.median(),
                median_frequency=rfm.frequency.median(),
                median_monetary=rfm.monetary.median(),
            )
        ).iloc[0]
        rfm_summary = {k: float(v or 0) for k, v in totals.items()}
        for name in ("recency_days", "frequency", "monetary"):
            histograms[name] = histogram(engine, rfm[name], rfm)
        segments = engine.to_pandas(
            rfm.group_by("segment")
            .aggregate(
                customers=rfm.count(),
                revenue=rfm.monetary.sum(),
                avg_recency_days=rfm.recency_days.mean(),
                avg_frequency=rfm.frequency.mean(),
                avg_monetary=rfm.monetary.mean(),
            )
            .order_by(ibis.desc("revenue"))
        )
        total_customers = max(rfm_summary["customers"], 1.0)
        total_revenue = rfm_summary["revenue"] or 1.0
        segments["customer_share"] = segments["customers"] / total_customers
        segments["revenue_share"] = segments["revenue"] / total_revenue
        grid = engine.to_pandas(
            rfm.group_by(["r_score", "f_score"])
            .aggregate(customers=rfm.count(), avg_monetary=rfm.monetary.mean())
            .order_by(["r_score", "f_score"])
        )

    quality = project.spec.quality
    return ReportData(
        project_name=project.spec.name,
        run=_run_manifest(engine),
        quality_sources=engine.to_pandas(engine.table(QUALITY_SOURCES)),
        quality_fields=engine.to_pandas(engine.table(QUALITY_FIELDS)),
        quarantine_top=quarantine_summary(engine, QUARANTINE, top=15),
        thresholds={
            "completeness_min": quality.completeness_min,
            "validity_min": quality.validity_min,
            "freshness_max_hours": quality.freshness_max_hours,
        },
        identity=identity_summary,
        rfm_summary=rfm_summary,
        rfm_histograms=histograms,
        segments=segments,
        rfm_grid=grid,
        lang=lang,
    )
