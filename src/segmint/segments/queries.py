"""Reads over the published segment tables: live counts of ad-hoc rules and the recovery
of planted personas (for `segmint segments ...` and `Project`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.engine.engine import Engine
from segmint.errors import TableNotFoundError
from segmint.predict.columns import CUSTOMER_PREDICTIONS
from segmint.project.spec import ProjectSpec
from segmint.segments.cluster_build import CUSTOMER_CLUSTERS
from segmint.segments.rules import count_rule, live_counts, wide_table
from segmint.segments.stability import (
    contingency,
    customer_personas,
    read_record_personas,
    recovery_scores,
)
from segmint.tags.evaluate import CUSTOMER_TAGS, TAG_CATALOG
from segmint.traits.refresh import PROFILES

CLUSTER_EVALUATION = "cluster_evaluation"


def published_wide(engine: Engine) -> ir.Table:
    """The wide customer table of the last published run (traits, scores, tag flags)."""
    if not engine.exists(PROFILES):
        raise TableNotFoundError("no published profiles yet; run the pipeline first")
    predictions = (
        engine.table(CUSTOMER_PREDICTIONS) if engine.exists(CUSTOMER_PREDICTIONS) else None
    )
    tags = engine.table(CUSTOMER_TAGS) if engine.exists(CUSTOMER_TAGS) else None
    names: list[str] = []
    if engine.exists(TAG_CATALOG):
        names = [str(t) for t in engine.to_pandas(engine.table(TAG_CATALOG).select("tag"))["tag"]]
    return wide_table(engine.table(PROFILES), predictions, tags, names)


def count_segment_rule(engine: Engine, spec: ProjectSpec, rule: str, as_of: dt.datetime) -> int:
    """Customers an ad-hoc rule selects in the last published run (one aggregate query)."""
    known = {"value_layer": [layer.name for layer in spec.layers.definitions]}
    return count_rule(published_wide(engine), rule, as_of=as_of, known_values=known)


def count_project_segments(engine: Engine, spec: ProjectSpec, as_of: dt.datetime) -> dict[str, int]:
    """Live counts of the project's rule segments as written now (edited rules included)."""
    known = {"value_layer": [layer.name for layer in spec.layers.definitions]}
    return live_counts(published_wide(engine), spec.segments.rules, as_of=as_of, known_values=known)


def evaluate_clusters(engine: Engine, truth: Path, run_id: str) -> pd.DataFrame:
    """ARI / NMI of the published clusters against the generator's planted personas.

    Appends the row (run_id, k, planted, customers, ari, nmi) to `cluster_evaluation`.
    """
    if not engine.exists(CUSTOMER_CLUSTERS):
        raise TableNotFoundError("no published customer_clusters; run with clustering enabled")
    records = ibis.memtable(read_record_personas(truth))
    personas = customer_personas(engine.table("identity_map"), records)
    clusters = engine.table(CUSTOMER_CLUSTERS)
    counts = engine.to_pandas(contingency(clusters, personas))
    ari, nmi, customers = recovery_scores(counts)
    row = pd.DataFrame(
        [
            {
                "run_id": run_id,
                "k": int(counts["cluster"].nunique()),
                "planted": int(counts["persona"].nunique()),
                "customers": int(customers),
                "ari": float(ari),
                "nmi": float(nmi),
                "evaluated_at": dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0),
            }
        ]
    )
    engine.append(CLUSTER_EVALUATION, row)
    return row
