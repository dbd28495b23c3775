"""Assign every customer to its nearest centroid inside the engine.

The fitted scaling and the centroids become one expression per cluster (the squared
distance), their minimum, and a CASE that names the first cluster reaching it: the same
tie rule as numpy's argmin. Nothing is pulled into pandas, so the table may be any size.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from segmint.segments.cluster import ClusterModel
from segmint.segments.cluster_features import feature_exprs


def population_filter(table: ir.Table, population: str) -> ir.Table:
    """Rows of the clustered population: buyers (frequency > 0), members (buyers with a
    customer record) or everyone."""
    if population == "buyers":
        return table.filter(table.frequency.fill_null(0) > 0)
    if population == "members":
        return table.filter(
            (table.frequency.fill_null(0) > 0) & (table.customer_records.fill_null(0) > 0)
        )
    return table


def assign_clusters(profile: ir.Table, model: ClusterModel) -> ir.Table:
    """customer_id, cluster (int64, 0 = largest on the sample) and distance (Euclidean, in
    scaled units) for every customer of the model's population in `profile`."""
    rows = population_filter(profile, model.population)
    exprs = feature_exprs(rows, model.features, model.clip)
    names = model.column_names()
    scaled = rows.select("customer_id", **{f"_x{i}": exprs[n] for i, n in enumerate(names)})
    distances = {
        f"_d{c}": _sum_sq(scaled, centroid.tolist()) for c, centroid in enumerate(model.centroids)
    }
    with_d = scaled.select("customer_id", **distances)
    columns = [with_d[f"_d{c}"] for c in range(model.k)]
    nearest = ibis.least(*columns) if len(columns) > 1 else columns[0]
    with_min = with_d.mutate(_dmin=nearest)
    cluster = ibis.cases(
        *((with_min[f"_d{c}"] <= with_min._dmin, c) for c in range(model.k - 1)),
        else_=model.k - 1,
    )
    return with_min.select(
        "customer_id",
        cluster=cluster.cast("int64"),
        distance=with_min._dmin.clip(lower=0.0).sqrt(),
    )


def _sum_sq(table: ir.Table, centroid: list[float]) -> ir.FloatingValue:
    total: ir.FloatingValue | None = None
    for i, mu in enumerate(centroid):
        term = (table[f"_x{i}"] - mu) ** 2
        total = term if total is None else total + term
    assert total is not None
    return total
