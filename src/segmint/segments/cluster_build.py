"""The clustering step as a whole: sample → fit → assign everyone → persona cards → tables.

`build_clustering` builds expressions and calls `execute` only for the sample and the
small per-cluster summaries; `customer_clusters` stays an expression for the caller to
materialise (the pipeline, or a benchmark).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from segmint.project.spec_clustering import ClusteringSettings
from segmint.segments.cluster import ClusteringError, ClusterModel, fit_cluster_model
from segmint.segments.cluster_assign import assign_clusters, population_filter
from segmint.segments.cluster_features import feature_matrix, fit_features
from segmint.segments.personas import PersonaCard, cards_frame, persona_cards
from segmint.segments.stability import contingency, recovery_scores

Execute = Callable[[ir.Table], pd.DataFrame]
CUSTOMER_CLUSTERS = "customer_clusters"
SEGMENT_PERSONAS = "segment_personas"
CLUSTER_MODEL = "cluster_model"


@dataclass
class ClusteringResult:
    """What the clustering produced: the model, the assignment expression and the tables."""

    model: ClusterModel
    clusters: ir.Table  # customer_clusters: customer_id, cluster, persona_en, persona_zh, distance
    cards: list[PersonaCard]
    personas: pd.DataFrame  # segment_personas
    model_table: pd.DataFrame  # cluster_model (one row)
    persona_ari: float | None = None
    persona_nmi: float | None = None
    notes: list[str] = field(default_factory=list)


def clustering_input(profile: ir.Table, predictions: ir.Table | None) -> ir.Table:
    """The profile with the prediction columns it lacks (left join on customer_id)."""
    if predictions is None:
        return profile
    extra = [c for c in predictions.columns if c not in profile.columns and c != "run_id"]
    if not extra:
        return profile
    joined = profile.left_join(predictions.select("customer_id", *extra), "customer_id")
    return joined.drop("customer_id_right")


def sample_expr(table: ir.Table, columns: list[str], size: int, seed: int) -> ir.Table:
    """A deterministic sample: the `size` customers with the smallest hash of id and seed."""
    key = (table.customer_id.cast("string") + ibis.literal(f"#{seed}")).hash()
    return (
        table.select("customer_id", *columns)
        .mutate(_h=key)
        .order_by(["_h", "customer_id"])
        .limit(size)
        .drop("_h")
    )


def fit_sample(
    rows: ir.Table, columns: list[str], settings: ClusteringSettings, execute: Execute
) -> tuple[pd.DataFrame, str]:
    """The sample the model is fitted on, and what it was drawn from ("members" or
    "population").

    Customers known only from a store receipt or an app session have short, sparse
    histories; fitted among the members they form a "thin data" cluster of every persona
    instead of joining the behavioural ones. So by default the fit sees the members (the
    population's buyers with a CRM record) and every customer is then assigned to the
    nearest of their centroids. Too few members in the sample: the whole population.
    """
    if settings.fit_on == "members" and "customer_records" in rows.columns:
        members = population_filter(rows, "members")
        sample = execute(sample_expr(members, columns, settings.sample_size, settings.seed))
        if len(sample) >= settings.min_fit_customers:
            return sample.sort_values("customer_id").reset_index(drop=True), "members"
    sample = execute(sample_expr(rows, columns, settings.sample_size, settings.seed))
    return sample.sort_values("customer_id").reset_index(drop=True), "population"


def build_clustering(
    profile: ir.Table,
    predictions: ir.Table | None,
    settings: ClusteringSettings,
    *,
    execute: Execute,
    truth: ir.Table | None = None,
) -> ClusteringResult:
    """Cluster customers, assign every one in the engine, and write persona cards.

    `truth` (customer_id, persona), when given, scores how well the clusters recover it.
    """
    table = clustering_input(profile, predictions)
    specs = settings.features()
    missing = [s.column for s in specs if s.column not in table.columns]
    if missing:
        raise ClusteringError(
            f"clustering.feature_sets.{settings.feature_set}: columns not in profiles or "
            f"customer_predictions: {', '.join(missing)}"
        )
    rows = population_filter(table, settings.population)
    columns = sorted({s.column for s in specs})
    sample, fitted_on = fit_sample(rows, columns, settings, execute)
    features = fit_features(sample, specs)
    matrix = feature_matrix(sample, features, settings.clip)
    model, _ = fit_cluster_model(
        matrix,
        features,
        k_min=settings.k_min,
        k_max=settings.k_max,
        seed=settings.seed,
        clip=settings.clip,
        silhouette_rows=settings.silhouette_sample,
        population=settings.population,
        k_rule=settings.k_rule,
        scan_rounds=settings.scan_rounds,
        stability_tolerance=settings.stability_tolerance,
        strength_rounds=settings.strength_rounds,
        strength_threshold=settings.strength_threshold,
        bootstrap_rounds=settings.bootstrap_rounds,
    )
    model.fitted_on = fitted_on
    assigned = assign_clusters(table, model)
    cards = persona_cards(assigned, profile, model, execute, predictions)
    by_cluster = {c.cluster: c for c in cards}
    en = ibis.cases(
        *((assigned.cluster == c, by_cluster[c].persona_en) for c in by_cluster),
        else_=ibis.null("string"),
    )
    zh = ibis.cases(
        *((assigned.cluster == c, by_cluster[c].persona_zh) for c in by_cluster),
        else_=ibis.null("string"),
    )
    clusters = assigned.select(
        "customer_id", "cluster", persona_en=en, persona_zh=zh, distance=assigned.distance
    )
    result = ClusteringResult(
        model=model,
        clusters=clusters,
        cards=cards,
        personas=cards_frame(cards),
        model_table=pd.DataFrame(),
    )
    if truth is not None:
        ari, nmi, customers = recovery_scores(execute(contingency(assigned, truth)))
        result.persona_ari, result.persona_nmi = ari, nmi
        result.notes.append(
            f"clustering: planted personas recovered with ARI {ari:.3f}, NMI {nmi:.3f} "
            f"({customers:,} customers)"
        )
    result.model_table = model_row(result, settings)
    return result


def model_row(result: ClusteringResult, settings: ClusteringSettings) -> pd.DataFrame:
    """The `cluster_model` table: one row describing the fit."""
    model = result.model
    stability = np.asarray(model.stability_ari, dtype=float)
    frame = pd.DataFrame(
        [
            {
                "k": model.k,
                "chosen_by": model.chosen_by,
                "votes": json.dumps(model.votes),
                "k_scores": json.dumps([s.to_json() for s in model.scores]),
                "stability_ari_mean": float(stability.mean()) if stability.size else None,
                "stability_ari_std": float(stability.std()) if stability.size else None,
                "stability_rounds": int(stability.size),
                "persona_ari": result.persona_ari,
                "persona_nmi": result.persona_nmi,
                "population": model.population,
                "fitted_on": model.fitted_on,
                "sample_rows": model.sample_rows,
                "feature_set": settings.feature_set,
                "features": json.dumps([f.to_json() for f in model.features], ensure_ascii=False),
                "centroids": json.dumps(model.centroids.round(6).tolist()),
                "model_json": model.to_json(),
            }
        ]
    )
    for column in ("stability_ari_mean", "stability_ari_std", "persona_ari", "persona_nmi"):
        frame[column] = pd.to_numeric(frame[column]).astype("float64")  # typed when NULL
    return frame
