"""Fill the report's input from published tables: small aggregates computed in the engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.engine.engine import Engine
from segmint.identity.evaluate import IDENTITY_EVALUATION, OVERALL
from segmint.identity.resolve import (
    IDENTITY_HISTORY,
    IDENTITY_HUBS,
    IDENTITY_LINKS,
    IDENTITY_MAP,
    IDENTITY_REVIEW,
    IDENTITY_SPLITS,
)
from segmint.ingest.quality import quarantine_summary
from segmint.pipeline.manifest import RUN_SOURCES, RUN_STAGES, RUNS
from segmint.pipeline.run import QUALITY_FIELDS, QUALITY_SOURCES, QUARANTINE
from segmint.project.loader import LoadedProject
from segmint.report import ReportData
from segmint.report.data import SIZE_BUCKETS, TOP_HUBS

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


@dataclass
class _IdentityReport:
    summary: dict[str, Any]
    sources: pd.DataFrame
    overlap: pd.DataFrame
    sizes: pd.DataFrame
    spread: pd.DataFrame
    hubs: pd.DataFrame
    evaluation: pd.DataFrame


def _count_by(engine: Engine, table: ir.Table, column: str) -> dict[str, int]:
    counts = engine.to_pandas(table.group_by(column).aggregate(n=table.count()))
    return {str(k): int(n) for k, n in zip(counts[column], counts["n"], strict=True)}


def _built_by(engine: Engine, run_id: str, name: str) -> bool:
    """Whether run `run_id` built table `name` (a view left by an older run does not count)."""
    return bool(run_id) and engine.exists(name) and engine.exists(engine.run_table(run_id, name))


def _identity(engine: Engine, run_id: str) -> _IdentityReport:
    """The identity section: match rates, coverage, component sizes, hubs and accuracy."""
    records = engine.table(IDENTITY_MAP)
    resolved = records.filter(records.customer_id.notnull())
    presence = resolved.select("customer_id", "source").distinct()
    spread = presence.group_by("customer_id").aggregate(sources=presence.count())

    headline = engine.to_pandas(
        records.aggregate(
            records=records.count(),
            unresolved=records.customer_id.isnull().sum(),
            customers=records.customer_id.nunique(),
        )
    ).iloc[0]
    summary: dict[str, Any] = {
        "records": int(headline["records"] or 0),
        "unresolved": int(headline["unresolved"] or 0),
        "customers": int(headline["customers"] or 0),
    }

    tagged = records.left_join(spread, records.customer_id == spread.customer_id).select(
        source=records.source, customer_id=records.customer_id, sources=spread.sources
    )
    sources = engine.to_pandas(
        tagged.group_by("source")
        .aggregate(
            records=tagged.count(),
            resolved=tagged.customer_id.notnull().sum(),
            cross_source=(tagged.sources.fill_null(0) > 1).sum(),
            customers=tagged.customer_id.nunique(),
        )
        .order_by("source")
    )

    left = presence.select("customer_id", source_a=presence.source)
    right = presence.select("customer_id", source_b=presence.source)
    pairs = left.join(right, "customer_id")
    overlap = engine.to_pandas(
        pairs.group_by(["source_a", "source_b"])
        .aggregate(customers=pairs.count())
        .order_by(["source_a", "source_b"])
    )

    sizes = resolved.group_by("customer_id").aggregate(n=resolved.count())
    bucket = ibis.cases(
        *(
            (sizes.n <= high, index)
            for index, (_label, _low, high) in enumerate(SIZE_BUCKETS)
            if high is not None
        ),
        else_=len(SIZE_BUCKETS) - 1,
    )
    by_size = engine.to_pandas(
        sizes.mutate(bucket=bucket)
        .group_by("bucket")
        .aggregate(customers=lambda t: t.count(), records=lambda t: t.n.sum())
    )
    size_frame = pd.DataFrame({"bucket": range(len(SIZE_BUCKETS))}).merge(
        by_size, on="bucket", how="left"
    )
    size_frame = size_frame.fillna(0).astype("int64")
    size_frame["bucket"] = [label for label, _low, _high in SIZE_BUCKETS]

    by_spread = engine.to_pandas(spread.group_by("sources").aggregate(customers=spread.count()))
    most = max(len(sources), int(by_spread["sources"].max()) if len(by_spread) else 0)
    spread_frame = pd.DataFrame({"sources": range(1, most + 1)}).merge(
        by_spread, on="sources", how="left"
    )
    spread_frame = spread_frame.fillna(0).astype("int64")

    hubs = engine.table(IDENTITY_HUBS)
    summary["hub_reasons"] = _count_by(engine, hubs, "reason")
    summary["hubs_blocked"] = sum(summary["hub_reasons"].values())
    top_hubs = engine.to_pandas(
        hubs.order_by([hubs.records.desc(), hubs.id_type, hubs.id_value]).limit(TOP_HUBS)
    )

    if engine.exists(IDENTITY_SPLITS):  # absent from warehouses built before merge guards
        splits = engine.table(IDENTITY_SPLITS)
        # Each cut round adds rows; the first round (one identifier type cut) lists every
        # component that was over the member-id limit.
        cut = engine.to_pandas(
            splits.aggregate(
                components=splits.count(where=~splits.cut.contains(",")),
                cut=splits.cut.argmax(splits.cut.length()),
            )
        ).iloc[0]
        summary["components_split"] = int(cut["components"] or 0)
        summary["split_cut"] = "" if pd.isna(cut["cut"]) else str(cut["cut"])
    if engine.exists(IDENTITY_HISTORY):
        history = engine.table(IDENTITY_HISTORY)
        changes = _count_by(engine, history.filter(history.run_id == run_id), "reason")
        summary["merges"] = changes.get("merge", 0)
        summary["splits"] = changes.get("split", 0)
    if _built_by(engine, run_id, IDENTITY_LINKS):
        summary["probabilistic_links"] = int(engine.scalar(engine.table(IDENTITY_LINKS).count()))
    if _built_by(engine, run_id, IDENTITY_REVIEW):
        summary["review_pairs"] = int(engine.scalar(engine.table(IDENTITY_REVIEW).count()))

    return _IdentityReport(
        summary=summary,
        sources=sources,
        overlap=overlap,
        sizes=size_frame,
        spread=spread_frame,
        hubs=top_hubs,
        evaluation=_evaluation(engine, run_id),
    )


def _evaluation(engine: Engine, run_id: str) -> pd.DataFrame:
    """The latest evaluation of run `run_id` per scope, overall first (empty if none)."""
    if not run_id or not engine.exists(IDENTITY_EVALUATION):
        return pd.DataFrame()
    log = engine.table(IDENTITY_EVALUATION)
    log = log.filter(log.run_id == run_id)
    if "evaluated_at" in log.columns:
        newest = ibis.row_number().over(group_by=log.scope, order_by=log.evaluated_at.desc())
        log = (
            log.mutate(newest_rank=newest).filter(lambda t: t.newest_rank == 0).drop("newest_rank")
        )
    return engine.to_pandas(log.order_by([log.scope != OVERALL, log.scope]))


def build_report_data(
    engine: Engine, project: LoadedProject, lang: Literal["en", "zh"] = "en"
) -> ReportData:
    """Everything the HTML report shows, from the latest published build."""
    run = _run_manifest(engine)
    identity = _identity(engine, str(run.get("run_id") or ""))
    identity.summary["project_file"] = project.path.name

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
        run=run,
        quality_sources=engine.to_pandas(engine.table(QUALITY_SOURCES)),
        quality_fields=engine.to_pandas(engine.table(QUALITY_FIELDS)),
        quarantine_top=quarantine_summary(engine, QUARANTINE, top=15),
        thresholds={
            "completeness_min": quality.completeness_min,
            "validity_min": quality.validity_min,
            "freshness_max_hours": quality.freshness_max_hours,
        },
        identity=identity.summary,
        identity_sources=identity.sources,
        identity_overlap=identity.overlap,
        identity_sizes=identity.sizes,
        identity_spread=identity.spread,
        identity_hubs=identity.hubs,
        identity_evaluation=identity.evaluation,
        rfm_summary=rfm_summary,
        rfm_histograms=histograms,
        segments=segments,
        rfm_grid=grid,
        lang=lang,
    )
