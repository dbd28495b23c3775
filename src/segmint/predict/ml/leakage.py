"""Leak protection: features must not see anything after their cutoff.

Two checks:

1. **Point-in-time guard** (`check_point_in_time`): recompute features on inputs physically
   cut at the cutoff — every entity filtered by its own time column (the entity catalogue's:
   `updated_at` for customers, `ordered_at` for orders …; order lines follow their order;
   rows without a time are kept) — and compare with the same features from the full inputs,
   customer by customer. Any column that differs raises LeakError naming it. Training runs
   it for the *extra* feature functions only, at the training cutoff: that is where leaks
   come from in practice (a hand-written query that forgets a time filter), and it costs
   one more evaluation of those functions. The built-in profile is point-in-time by
   construction (every part filters by the as-of time) and has its own tests; re-running it
   on cut inputs would double the most expensive part of training, and would also flag its
   one documented exception — customer attributes are the CRM record as exported now — which
   the model card states instead.
2. **Suspiciously good features** (`suspect_features`): on the test window, any single
   feature whose ROC-AUC against the outcome (either direction; categoricals by their level's
   outcome rate) exceeds 0.98 is reported as a suspected leak; training stops with LeakError.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
import numpy as np

from segmint.engine.engine import Engine
from segmint.predict.ml.catalog import KEY
from segmint.predict.ml.encoding import FeatureSchema
from segmint.predict.ml.errors import LeakError
from segmint.predict.ml.features import ExtraFeature, function_name
from segmint.predict.ml.labels import population
from segmint.project.entities import ENTITIES
from segmint.traits.profile import ProfileInputs

SUSPECT_AUC = 0.98
_RELATIVE_TOLERANCE = 1e-9


def truncate_inputs(inputs: ProfileInputs, cutoff: dt.datetime) -> ProfileInputs:
    """The inputs as they would have been at `cutoff`: each entity's rows with their time
    column after it removed (order lines go with their order)."""
    moment = ibis.literal(cutoff)
    cut: dict[str, ir.Table] = {}
    for name, table in inputs.entities.items():
        entity = ENTITIES.get(name)
        column = entity.time_column if entity is not None else None
        if column is not None and column in table.columns:
            cut[name] = table.filter(table[column].isnull() | (table[column] <= moment))
    orders = cut.get("orders")
    for name, table in inputs.entities.items():
        if name in cut:
            continue
        if orders is not None and "order_id" in table.columns:
            cut[name] = table.join(orders.select("order_id").distinct(), "order_id", how="semi")
        else:
            cut[name] = table  # nothing to cut by
    return ProfileInputs(cut, inputs.identity)


def _differs(full: ir.Value, cut: ir.Value) -> ir.BooleanValue:
    both_null = full.isnull() & cut.isnull()
    if full.type().is_floating() or cut.type().is_floating():
        a, b = full.cast("float64"), cut.cast("float64")
        same = (a - b).abs() <= ibis.greatest(a.abs(), b.abs(), 1.0) * _RELATIVE_TOLERANCE
    else:
        same = full == cut
    return ~(both_null | same.fill_null(False))


def differing_columns(people: ir.Table, full: ir.Table, cut: ir.Table) -> ir.Table:
    """One row: per feature column, how many of `people` get a different value from `cut`
    than from `full` (both left-joined onto `people`; missing rows are nulls)."""
    columns = [c for c in full.columns if c != KEY]
    renamed = cut.select(KEY, **{f"_cut_{c}": cut[c] for c in columns if c in cut.columns})
    joined = people.left_join(full, KEY).drop(f"{KEY}_right")
    joined = joined.left_join(renamed, KEY).drop(f"{KEY}_right")
    counts = {}
    for c in columns:
        other = joined[f"_cut_{c}"] if f"_cut_{c}" in joined.columns else ibis.null()
        counts[c] = _differs(joined[c], other).cast("int64").sum()
    return joined.aggregate(**counts)


def check_point_in_time(
    engine: Engine,
    inputs: ProfileInputs,
    cutoff: dt.datetime,
    functions: Sequence[ExtraFeature],
) -> dict[str, list[str]]:
    """Raise LeakError if any function's columns change when the inputs are cut at
    `cutoff`; returns function → the columns checked."""
    if not functions:
        return {}
    cut_inputs = truncate_inputs(inputs, cutoff)
    people = population(inputs, cutoff)
    checked: dict[str, list[str]] = {}
    problems = []
    for function in functions:
        origin = function_name(function)
        full = function(inputs, cutoff)
        counts = engine.to_pandas(differing_columns(people, full, function(cut_inputs, cutoff)))
        row = counts.iloc[0]
        bad = {c: int(row[c]) for c in counts.columns if int(row[c] or 0) > 0}
        checked[origin] = [c for c in full.columns if c != KEY]
        if bad:
            detail = ", ".join(f"{c} ({n:,} customers)" for c, n in bad.items())
            problems.append(f"{origin}: {detail}")
    if problems:
        raise LeakError(
            f"features change when the data is cut at {cutoff:%Y-%m-%d %H:%M}, so they read "
            f"records from after the cutoff: {'; '.join(problems)}. Filter every table an "
            "extra feature reads by its time column <= the cutoff it is given"
        )
    return checked


def _single_auc(y: np.ndarray, values: np.ndarray, categorical: bool) -> float:
    from sklearn.metrics import roc_auc_score

    missing = np.isnan(values)
    if categorical:
        codes = np.where(missing, -1, values).astype(np.int64)
        _, inverse = np.unique(codes, return_inverse=True)
        rates = np.bincount(inverse, weights=y) / np.bincount(inverse)
        score = rates[inverse]
    else:
        low = np.nanmin(values) - 1.0 if not missing.all() else 0.0
        score = np.where(missing, low, values)
    if np.all(score == score[0]):
        return 0.5
    auc = float(roc_auc_score(y, score))
    return max(auc, 1.0 - auc)


def feature_aucs(schema: FeatureSchema, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Feature → ROC-AUC of that feature alone against `y` (direction-free, ≥ 0.5)."""
    return {
        spec.name: _single_auc(y, x[:, j], spec.kind == "categorical")
        for j, spec in enumerate(schema.specs)
    }


def suspect_features(
    schema: FeatureSchema, x: np.ndarray, y: np.ndarray, threshold: float = SUSPECT_AUC
) -> dict[str, float]:
    """Features whose AUC alone exceeds `threshold` (suspected leaks), highest first."""
    aucs = feature_aucs(schema, x, y)
    found = {name: auc for name, auc in aucs.items() if auc > threshold}
    return dict(sorted(found.items(), key=lambda kv: -kv[1]))
