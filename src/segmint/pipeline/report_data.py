"""Fill the report's input from published tables: small aggregates computed in the engine.

Every table is read through the project's access policy as one role (action ``report``): a
table the role may not read leaves its section empty (the report says why), columns above
the role's level are left out, PII is masked or left out, and tag rows above the role's
level never reach the report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.access.policy import AccessPolicy
from segmint.engine.engine import Engine
from segmint.errors import AccessDeniedError
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
from segmint.predict.columns import (
    CUSTOMER_PREDICTIONS,
    MODEL_CALIBRATION,
    MODEL_CARDS,
    MODEL_IMPORTANCE,
    MODEL_METRICS,
)
from segmint.project.loader import LoadedProject
from segmint.project.spec_predict import PredictSettings
from segmint.project.spec_profile import LayerSpec
from segmint.report import ReportData
from segmint.report.data import (
    BAND_SCORES,
    LAYER_AVERAGES,
    LAYER_MIX_DIMENSIONS,
    NO_PURCHASE,
    REQUIRED_COLUMNS,
    SIZE_BUCKETS,
    TOP_FEATURES,
    TOP_HUBS,
    UNASSIGNED,
)
from segmint.report.segments import (
    load_clusters,
    load_migration,
    load_rule_segments,
    load_validation,
)
from segmint.segments.cluster_build import CLUSTER_MODEL, SEGMENT_PERSONAS
from segmint.segments.membership import SEGMENT_MIGRATION
from segmint.segments.queries import CLUSTER_EVALUATION
from segmint.segments.stage import (
    SEGMENT_DEFINITIONS,
    SEGMENT_OVERLAP,
    SEGMENT_VALIDATION,
    SEGMENT_VALIDATION_SUMMARY,
    validation_summary,
)
from segmint.tags.evaluate import CUSTOMER_TAGS, TAG_CATALOG
from segmint.traits.refresh import PROFILES

HISTOGRAM_BINS = 20
REPORT_ACTION = "report"
"""The action the report's reads are audited as."""
TAG_TYPE_ORDER = ("basic", "behaviour", "value", "need", "predictive")


class _Reader:
    """Published tables as one role may see them, each read (and audited) once.

    A table that does not exist, or that the role may not read, comes back as None; denied
    tables are listed in `hidden` so the report can say why a section is empty.
    """

    def __init__(self, policy: AccessPolicy, role: str) -> None:
        self.policy = policy
        self.engine = policy.engine
        self.role = role
        self.hidden: list[str] = []
        self._tables: dict[str, ir.Table | None] = {}

    def table(self, name: str) -> ir.Table | None:
        if name not in self._tables:
            self._tables[name] = None
            if self.engine.exists(name):
                # the profile's PII is never shown: leave it out, so it is not read or audited
                columns = [
                    c
                    for c in self.engine.table(name).columns
                    if name != PROFILES or self.policy.catalog.column(name, c).level != "pii"
                ]
                try:
                    self._tables[name] = self.policy.read(
                        name, self.role, action=REPORT_ACTION, columns=columns
                    )
                except AccessDeniedError:
                    self.hidden.append(name)
        return self._tables[name]

    def frame(self, name: str) -> pd.DataFrame:
        """A small table in full (empty when missing or denied)."""
        table = self.table(name)
        return pd.DataFrame() if table is None else self.engine.to_pandas(table)

    def summary(self, name: str, compute: Callable[[Engine], pd.DataFrame]) -> pd.DataFrame:
        """A frame computed from stored values of `name`, then masked for the role."""
        if not self.engine.exists(name):
            return pd.DataFrame()
        try:
            self.policy.authorize(name, self.role, action=REPORT_ACTION)
        except AccessDeniedError:
            self.hidden.append(name)
            return pd.DataFrame()
        frame = compute(self.engine)
        return self.policy.mask_frame(name, frame, self.role, action=REPORT_ACTION)


def _with_columns(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """`frame` with every missing column added as missing values (a column the role may
    not see, or a trait an older warehouse lacks); an empty frame stays as it is."""
    if frame.empty:
        return frame
    missing = [c for c in columns if c not in frame.columns]
    return frame.assign(**dict.fromkeys(missing, None)) if missing else frame


def _required(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    return _with_columns(frame, REQUIRED_COLUMNS[name])


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


def _run_manifest(reader: _Reader) -> dict[str, Any]:
    engine = reader.engine
    runs = reader.table(RUNS)
    if runs is None:
        return {}
    latest = engine.to_pandas(
        runs.filter(runs.status == "succeeded").order_by(runs.started_at.desc()).limit(1)
    )
    if latest.empty:
        return {}
    row = latest.iloc[0].to_dict()
    run_id = row["run_id"]
    for key, name in (("stages", RUN_STAGES), ("sources", RUN_SOURCES)):
        table = reader.table(name)
        row[key] = (
            []
            if table is None
            else engine.to_pandas(table.filter(table.run_id == run_id)).to_dict("records")
        )
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


def _identity(reader: _Reader, run_id: str) -> _IdentityReport:
    """The identity section: match rates, coverage, component sizes, hubs and accuracy."""
    engine = reader.engine
    records = reader.table(IDENTITY_MAP)
    if records is None:
        empty = pd.DataFrame()
        return _IdentityReport({}, empty, empty, empty, empty, empty, _evaluation(reader, run_id))
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

    top_hubs = pd.DataFrame()
    hubs = reader.table(IDENTITY_HUBS)
    if hubs is not None:  # id_value arrives masked (or not at all) as the role says
        summary["hub_reasons"] = _count_by(engine, hubs, "reason")
        summary["hubs_blocked"] = sum(summary["hub_reasons"].values())
        order = [hubs.records.desc(), hubs.id_type]
        if "id_value" in hubs.columns:
            order.append(hubs.id_value)
        top_hubs = _required(
            engine.to_pandas(hubs.order_by(order).limit(TOP_HUBS)), "identity_hubs"
        )

    splits = reader.table(IDENTITY_SPLITS)  # absent from warehouses built before merge guards
    if splits is not None:
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
    history = reader.table(IDENTITY_HISTORY)
    if history is not None:
        changes = _count_by(engine, history.filter(history.run_id == run_id), "reason")
        summary["merges"] = changes.get("merge", 0)
        summary["splits"] = changes.get("split", 0)
    for key, name in (("probabilistic_links", IDENTITY_LINKS), ("review_pairs", IDENTITY_REVIEW)):
        if _built_by(engine, run_id, name) and (table := reader.table(name)) is not None:
            summary[key] = int(engine.scalar(table.count()))

    return _IdentityReport(
        summary=summary,
        sources=sources,
        overlap=overlap,
        sizes=size_frame,
        spread=spread_frame,
        hubs=top_hubs,
        evaluation=_evaluation(reader, run_id),
    )


def _evaluation(reader: _Reader, run_id: str) -> pd.DataFrame:
    """The latest evaluation of run `run_id` per scope, overall first (empty if none)."""
    log = reader.table(IDENTITY_EVALUATION) if run_id else None
    if log is None:
        return pd.DataFrame()
    log = log.filter(log.run_id == run_id)
    if "evaluated_at" in log.columns:
        newest = ibis.row_number().over(group_by=log.scope, order_by=log.evaluated_at.desc())
        log = (
            log.mutate(newest_rank=newest).filter(lambda t: t.newest_rank == 0).drop("newest_rank")
        )
    return _required(
        reader.engine.to_pandas(log.order_by([log.scope != OVERALL, log.scope])),
        "identity_evaluation",
    )


# -- RFM ---------------------------------------------------------------------------------------


@dataclass
class _RfmReport:
    summary: dict[str, float]
    histograms: dict[str, pd.DataFrame]
    segments: pd.DataFrame
    grid: pd.DataFrame


def _rfm(reader: _Reader) -> _RfmReport:
    """Headline figures, distributions, segments and the R×F grid, from the `rfm` table."""
    report = _RfmReport({}, {}, pd.DataFrame(), pd.DataFrame())
    rfm = reader.table("rfm")
    if rfm is None:
        return report
    engine = reader.engine
    has = set(rfm.columns)
    totals: dict[str, ir.Scalar] = {"customers": rfm.count()}
    if "monetary" in has:
        totals["revenue"] = rfm.monetary.sum()
    for name in ("recency_days", "frequency", "monetary"):
        if name in has:
            totals[f"median_{name}"] = rfm[name].median()
    row = engine.to_pandas(rfm.aggregate(**totals)).iloc[0]
    report.summary = {k: float(v or 0) for k, v in row.items()}
    for name in ("recency_days", "frequency", "monetary"):
        if name in has:
            report.histograms[name] = histogram(engine, rfm[name], rfm)
    if "segment" in has:
        metrics: dict[str, ir.Scalar] = {"customers": rfm.count()}
        for key, column, how in (
            ("revenue", "monetary", "sum"),
            ("avg_recency_days", "recency_days", "mean"),
            ("avg_frequency", "frequency", "mean"),
            ("avg_monetary", "monetary", "mean"),
        ):
            if column in has:
                metrics[key] = getattr(rfm[column], how)()
        segments = engine.to_pandas(rfm.group_by("segment").aggregate(**metrics))
        segments = _required(segments, "segments")
        if not segments.empty:
            total_customers = max(report.summary["customers"], 1.0)
            total_revenue = report.summary.get("revenue") or 1.0
            segments["customer_share"] = segments["customers"] / total_customers
            segments["revenue_share"] = segments["revenue"].astype("float64") / total_revenue
            segments = segments.sort_values("revenue", ascending=False, na_position="last")
        report.segments = segments.reset_index(drop=True)
    if {"r_score", "f_score"} <= has:
        cell: dict[str, ir.Scalar] = {"customers": rfm.count()}
        if "monetary" in has:
            cell["avg_monetary"] = rfm.monetary.mean()
        grid = rfm.group_by(["r_score", "f_score"]).aggregate(**cell)
        report.grid = _required(engine.to_pandas(grid.order_by(["r_score", "f_score"])), "rfm_grid")
    return report


# -- Value layers and tags ---------------------------------------------------------------------


def _layer_key(profiles: ir.Table) -> ir.StringValue:
    """The customer's value layer, or NO_PURCHASE / UNASSIGNED when it has none."""
    layer: ir.StringValue = profiles.value_layer
    buyer = profiles.frequency.fill_null(0) > 0 if "frequency" in profiles.columns else None
    fallback = (
        ibis.literal(NO_PURCHASE) if buyer is None else ibis.ifelse(buyer, UNASSIGNED, NO_PURCHASE)
    )
    return layer.fill_null(fallback)


@dataclass
class _LayerReport:
    layers: pd.DataFrame
    mix: pd.DataFrame
    rfm: pd.DataFrame


def _layers(reader: _Reader, definitions: list[LayerSpec]) -> _LayerReport:
    """Per value layer: size, revenue and the mean of the traits that describe it."""
    report = _LayerReport(pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    profiles = reader.table(PROFILES)
    if profiles is None or "value_layer" not in profiles.columns:
        return report
    engine = reader.engine
    has = set(profiles.columns)
    keyed = profiles.mutate(_layer=_layer_key(profiles))
    metrics: dict[str, ir.Scalar] = {"customers": keyed.count()}
    if "monetary" in has:
        metrics["revenue"] = keyed.monetary.sum()
    for average in LAYER_AVERAGES:
        trait = average.removeprefix("avg_")
        if trait in has:
            metrics[average] = keyed[trait].mean()
    frame = engine.to_pandas(keyed.group_by("_layer").aggregate(**metrics))
    frame = frame.rename(columns={"_layer": "value_layer"})
    if frame.empty:
        return report
    frame = _with_columns(frame, ("revenue", *LAYER_AVERAGES))
    known = {d.name: d for d in definitions}
    order = [d.name for d in definitions]
    order += sorted(set(frame["value_layer"]) - set(order) - {UNASSIGNED, NO_PURCHASE})
    order += [UNASSIGNED, NO_PURCHASE]
    rows = frame.set_index("value_layer")
    present = [name for name in order if name in rows.index or name in known]
    frame = (
        rows.reindex(present)
        .reset_index()
        .assign(customers=lambda f: f["customers"].fillna(0).astype("int64"))
    )
    frame["label"] = [known[n].label if n in known else None for n in frame["value_layer"]]
    frame["label_zh"] = [known[n].label_zh if n in known else None for n in frame["value_layer"]]
    buying = frame["value_layer"] != NO_PURCHASE
    buyers = int(frame.loc[buying, "customers"].sum())
    frame["buyer_share"] = (frame["customers"] / buyers).where(buying) if buyers else None
    revenue = pd.to_numeric(frame["revenue"], errors="coerce")
    frame["revenue_share"] = revenue / revenue.sum() if revenue.sum() else None
    report.layers = _required(frame, "layers")

    mixes = []
    for dimension in LAYER_MIX_DIMENSIONS:
        if dimension in has:
            counts = keyed.group_by(["_layer", keyed[dimension].cast("string").name("value")])
            mixes.append(
                engine.to_pandas(counts.aggregate(customers=keyed.count())).assign(
                    dimension=dimension
                )
            )
    if mixes:
        mix = pd.concat(mixes, ignore_index=True).rename(columns={"_layer": "value_layer"})
        report.mix = mix[list(REQUIRED_COLUMNS["layer_mix"])]

    if "rfm_segment" in has:
        cross = keyed.filter(keyed.rfm_segment.notnull())
        report.rfm = engine.to_pandas(
            cross.group_by([cross.rfm_segment.name("segment"), cross._layer.name("value_layer")])
            .aggregate(customers=cross.count())
            .order_by(["segment", "value_layer"])
        )
    return report


@dataclass
class _TagReport:
    catalog: pd.DataFrame
    layers: pd.DataFrame
    summary: dict[str, float]


def _tags(reader: _Reader) -> _TagReport:
    """The tags the role may see, their members per value layer and headline counts."""
    report = _TagReport(pd.DataFrame(), pd.DataFrame(), {})
    catalog = reader.frame(TAG_CATALOG)
    if catalog.empty or "tag" not in catalog.columns:
        return report
    catalog = _required(catalog, "tag_catalog")
    rank = {name: i for i, name in enumerate(TAG_TYPE_ORDER)}
    catalog = catalog.assign(_rank=catalog["type"].map(rank).fillna(len(rank)))
    catalog = catalog.sort_values(["_rank", "tag"]).drop(columns="_rank").reset_index(drop=True)
    report.catalog = catalog
    visible = [str(tag) for tag in catalog["tag"]]

    engine = reader.engine
    profiles = reader.table(PROFILES)
    if profiles is not None:
        report.summary["profiles"] = float(engine.scalar(profiles.count()))
    members = reader.table(CUSTOMER_TAGS)
    if members is None or not visible:
        return report
    members = members.filter(members.tag.isin(visible))
    counts = engine.to_pandas(
        members.aggregate(
            memberships=members.count(), tagged_customers=members.customer_id.nunique()
        )
    ).iloc[0]
    report.summary.update({k: float(v or 0) for k, v in counts.items()})
    if profiles is not None and "value_layer" in profiles.columns:
        keyed = profiles.select("customer_id", value_layer=_layer_key(profiles))
        joined = members.join(keyed, "customer_id")
        report.layers = engine.to_pandas(
            joined.group_by(["tag", "value_layer"])
            .aggregate(customers=joined.count())
            .order_by(["tag", "value_layer"])
        )
    return report


# -- Predictions and model cards ---------------------------------------------------------------


@dataclass
class _PredictReport:
    summary: dict[str, Any]
    bands: pd.DataFrame
    cards: pd.DataFrame
    metrics: pd.DataFrame
    calibration: pd.DataFrame
    importance: pd.DataFrame


def prediction_settings(settings: PredictSettings) -> dict[str, Any]:
    """The ``predict`` settings the report's section needs, as plain data (see ReportData)."""
    out: dict[str, Any] = {
        "enabled": settings.enabled,
        "clv": {
            "horizon_days": settings.clv.horizon_days,
            "labels": list(settings.clv.tier_labels),
            "tiers": list(settings.clv.tiers),
        },
    }
    for target in ("repurchase", "churn"):
        target_settings = getattr(settings, target)
        out[target] = {
            "enabled": target_settings.enabled,
            "horizon_days": target_settings.horizon_days,
            "labels": list(target_settings.labels),
            "bands": list(target_settings.bands),
        }
    return out


def _predictions(reader: _Reader) -> _PredictReport:
    """Headline figures and band counts of the buyers' scores (aggregated in the engine), and
    the model cards with their metrics, calibration curves and top features."""
    empty = pd.DataFrame()
    report = _PredictReport({}, empty, empty, empty, empty, empty)
    engine = reader.engine
    scores = reader.table(CUSTOMER_PREDICTIONS)
    if scores is not None:
        has = set(scores.columns)
        totals: dict[str, ir.Scalar] = {"buyers": scores.count()}
        for key, column in (
            ("clv_scored", "predicted_clv"),
            ("repurchase_scored", "repurchase_probability"),
            ("churn_scored", "churn_probability"),
        ):
            if column in has:
                totals[key] = scores[column].count()
        if "predicted_clv" in has:
            totals["predicted_clv"] = scores.predicted_clv.sum()
        if "run_id" in has:
            totals["run_id"] = scores.run_id.max()
        row = engine.to_pandas(scores.aggregate(**totals)).iloc[0]
        report.summary = {
            key: (str(value) if key == "run_id" else float(value))
            for key, value in row.items()
            if not pd.isna(value)
        }
        parts = []
        for column in BAND_SCORES:
            if column not in has:
                continue
            banded = scores.filter(scores[column].notnull())
            metrics: dict[str, ir.Scalar] = {"customers": banded.count()}
            if "predicted_clv" in has:
                metrics["predicted_clv"] = banded.predicted_clv.sum()
            counts = engine.to_pandas(
                banded.group_by(banded[column].cast("string").name("band")).aggregate(**metrics)
            )
            parts.append(counts.assign(score=column))
        if parts:
            bands = pd.concat(parts, ignore_index=True)
            report.bands = _required(bands, "prediction_bands")[
                list(REQUIRED_COLUMNS["prediction_bands"])
            ]
    report.cards = _required(reader.frame(MODEL_CARDS), "model_cards")
    report.metrics = _required(reader.frame(MODEL_METRICS), "model_metrics")
    report.calibration = _required(reader.frame(MODEL_CALIBRATION), "model_calibration")
    importance = reader.table(MODEL_IMPORTANCE)
    if importance is not None and "mean_abs_shap" in importance.columns:
        top = ibis.row_number().over(
            group_by=[importance.target, importance.version],
            order_by=[importance.mean_abs_shap.desc(), importance.feature],
        )
        report.importance = _required(
            engine.to_pandas(
                importance.mutate(top_rank=top)
                .filter(lambda t: t.top_rank < TOP_FEATURES)
                .drop("top_rank")
                .order_by(["target", "version", ibis.desc("mean_abs_shap"), "feature"])
            ),
            "model_importance",
        )
    return report


def _segments(reader: _Reader, run_id: str) -> dict[str, Any]:
    """The segment sections' ReportData fields: clusters and persona cards, rule segments
    and their overlap, the RFM migration between the last two runs, and validation."""

    # reader.frame gives an empty frame for a table that was not built; the loaders treat
    # that as "not built"
    fields: dict[str, Any] = {}
    model = reader.frame(CLUSTER_MODEL)
    evaluation = reader.frame(CLUSTER_EVALUATION)
    if len(model) and len(evaluation):
        # `segmint segments evaluate --truth` scored this run's clusters on planted personas
        mine = evaluation[evaluation["run_id"] == run_id]
        if len(mine) and pd.isna(model.loc[0, "persona_ari"]):
            model = model.assign(
                persona_ari=float(mine["ari"].iloc[-1]), persona_nmi=float(mine["nmi"].iloc[-1])
            )
    fields |= load_clusters(model, reader.frame(SEGMENT_PERSONAS))
    fields |= load_rule_segments(reader.frame(SEGMENT_DEFINITIONS), reader.frame(SEGMENT_OVERLAP))
    migration = reader.frame(SEGMENT_MIGRATION)
    if "family" in migration.columns and len(migration):
        families = list(dict.fromkeys(migration["family"]))
        family = "rfm" if "rfm" in families else families[0]
        migration = migration[migration["family"] == family].reset_index(drop=True)
    fields |= load_migration(migration)
    validation = reader.frame(SEGMENT_VALIDATION)
    summaries = reader.frame(SEGMENT_VALIDATION_SUMMARY)
    scheme = "rules"
    if "scheme" in validation.columns:
        schemes = list(dict.fromkeys(validation["scheme"]))
        scheme = "rules" if "rules" in schemes else schemes[0] if schemes else scheme
        validation = validation[validation["scheme"] == scheme].reset_index(drop=True)
    fields |= load_validation(validation, validation_summary(summaries, scheme))
    return fields


def build_report_data(
    engine: Engine,
    project: LoadedProject,
    lang: Literal["en", "zh"] = "en",
    role: str | None = None,
    actor: str | None = None,
) -> ReportData:
    """Everything the HTML report shows, from the latest published build, as `role` sees it.

    Args:
        engine: The project's open warehouse.
        project: The loaded project (its access roles, layer definitions and file name).
        lang: Report language.
        role: The access role to read as; None is the project's ``access.default_role``.
        actor: Who the audit log names (default: the operating-system user).

    Raises:
        ConfigError: `role` is not one of the project's roles.
    """
    policy = AccessPolicy.for_project(project, engine, actor)
    name, _spec = policy.role(role)
    reader = _Reader(policy, name)
    run = _run_manifest(reader)
    identity = _identity(reader, str(run.get("run_id") or ""))
    identity.summary["project_file"] = project.path.name
    rfm = _rfm(reader)
    layers = _layers(reader, list(project.spec.layers.definitions))
    tags = _tags(reader)
    predict = _predictions(reader)
    segments = _segments(reader, str(run.get("run_id") or ""))

    quality = project.spec.quality
    return ReportData(
        project_name=project.spec.name,
        run=run,
        quality_sources=_required(reader.frame(QUALITY_SOURCES), "quality_sources"),
        quality_fields=_required(reader.frame(QUALITY_FIELDS), "quality_fields"),
        quarantine_top=_required(
            reader.summary(QUARANTINE, lambda e: quarantine_summary(e, QUARANTINE, top=15)),
            "quarantine_top",
        ),
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
        rfm_summary=rfm.summary,
        rfm_histograms=rfm.histograms,
        segments=rfm.segments,
        rfm_grid=rfm.grid,
        rfm_layers=layers.rfm,
        layers=layers.layers,
        layer_mix=layers.mix,
        tag_catalog=tags.catalog,
        tag_layers=tags.layers,
        tag_summary=tags.summary,
        predictions=predict.summary,
        prediction_bands=predict.bands,
        prediction_settings=prediction_settings(project.spec.predict),
        model_cards=predict.cards,
        model_metrics=predict.metrics,
        model_calibration=predict.calibration,
        model_importance=predict.importance,
        **segments,
        role=name,
        hidden_tables=tuple(reader.hidden),
        lang=lang,
    )
