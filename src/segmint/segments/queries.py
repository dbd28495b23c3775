"""Reads over the published segment tables: live counts of ad-hoc rules and the recovery
of planted personas (for `segmint segments ...` and `Project`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.access.policy import AccessPolicy
from segmint.engine.engine import Engine
from segmint.errors import AccessDeniedError, TableNotFoundError
from segmint.predict.columns import CUSTOMER_PREDICTIONS
from segmint.project.spec import ProjectSpec
from segmint.segments.cluster_build import CUSTOMER_CLUSTERS
from segmint.segments.rules import TAG_PREFIX, count_rule, live_counts, wide_table
from segmint.segments.stability import (
    contingency,
    customer_personas,
    read_record_personas,
    recovery_scores,
)
from segmint.segments.stage import layer_labels
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


def authorize_rule_columns(
    policy: AccessPolicy, spec: ProjectSpec, rules: list[str], role: str | None
) -> None:
    """Refuse a count whose rules read a column or tag the role may not see.

    A count over a column is information about it (``gender == 'F'`` counts women), so
    every column a rule reads must be visible to the role in clear, and every tag it tests
    must be at or below the role's sensitivity level.
    """
    from segmint.tags.dsl import rule_columns
    from segmint.tags.stage import catalogue

    columns = set().union(*(rule_columns(r, name="count") for r in rules)) if rules else set()
    levels = set(policy.allowed_levels(role))
    tag_levels = {tag.name: tag.sensitivity for tag in catalogue(spec)}
    engine = policy.engine
    profile_columns = set(engine.table(PROFILES).columns)
    denied: list[str] = []
    for column in sorted(columns):
        if column.startswith(TAG_PREFIX):
            level = tag_levels.get(column.removeprefix(TAG_PREFIX), "sensitive")
            if level not in levels:
                denied.append(f"{column} (a {level} tag)")
            continue
        table = PROFILES if column in profile_columns else CUSTOMER_PREDICTIONS
        decision = policy.decide(table, [column], role)
        if not decision.allowed or column not in decision.visible:
            denied.append(column)
    if denied:
        name, _ = policy.role(role)
        policy.record("count", PROFILES, name, "", "denied", ", ".join(denied))
        raise AccessDeniedError(
            f"role {name!r} may not count on {', '.join(denied)}: a count reveals what the "
            "role may not read (see 'segmint access roles'; choose another role with --role)"
        )


def count_segment_rule(engine: Engine, spec: ProjectSpec, rule: str, as_of: dt.datetime) -> int:
    """Customers an ad-hoc rule selects in the last published run (one aggregate query)."""
    return count_rule(published_wide(engine), rule, as_of=as_of, known_values=layer_labels(spec))


def count_project_segments(engine: Engine, spec: ProjectSpec, as_of: dt.datetime) -> dict[str, int]:
    """Live counts of the project's rule segments as written now (edited rules included)."""
    return live_counts(
        published_wide(engine), spec.segments.rules, as_of=as_of, known_values=layer_labels(spec)
    )


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
