"""Point-in-time features at a cutoff: the profile as it was, BG/NBD, extra feature functions.

Everything is built from records up to the cutoff: the profile (`history_state`,
`current_windows` and `finalize` at as-of = cutoff), the BG/NBD statistics and a BG/NBD fit
on data up to the cutoff. Rows are the customers with at least one paid order up to the
cutoff (the population the scores are for); customer_id is the key, never a feature.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import ibis
import ibis.expr.datatypes as dtypes
import ibis.expr.types as ir
import pandas as pd

from segmint.engine.engine import Engine, table_name
from segmint.predict.ml.bgnbd import bgnbd_outputs, purchase_summary
from segmint.predict.ml.catalog import (
    KEY,
    FeatureKind,
    FeatureSpec,
    bgnbd_features,
    profile_features,
)
from segmint.predict.ml.errors import ModelError
from segmint.project.spec import ProjectSpec
from segmint.traits.profile import (
    ProfileInputs,
    current_windows,
    finalize,
    history_state,
    paid_orders,
)

ExtraFeature = Callable[[ProfileInputs, dt.datetime], ir.Table]


@dataclass(frozen=True)
class FeatureBuild:
    """A materialised feature table and what it holds."""

    table: ir.Table  # customer_id + features, one row per customer with a purchase
    specs: list[FeatureSpec]  # in column order (categorical levels not learned yet)
    notes: list[str] = field(default_factory=list)


def feature_horizons(spec: ProjectSpec) -> list[int]:
    """The horizons (days) BG/NBD outputs are computed for: every target's."""
    return sorted({spec.predict.churn.horizon_days, spec.predict.repurchase.horizon_days})


def function_name(function: ExtraFeature) -> str:
    """How an extra feature function is named in messages and in the catalogue."""
    return str(getattr(function, "__name__", None) or repr(function))


def stamp(cutoff: dt.datetime) -> str:
    """A cutoff as it appears in table names."""
    return cutoff.strftime("%Y%m%dt%H%M%S")


def profile_at(
    engine: Engine, run_id: str, inputs: ProfileInputs, spec: ProjectSpec, cutoff: dt.datetime
) -> tuple[ir.Table, list[str]]:
    """The profile as of `cutoff` (an expression over two temporary tables, which are
    returned for dropping once the profile is materialised)."""
    name = functools.partial(engine.run_table, run_id)
    state_name = name(f"_ml_{stamp(cutoff)}_state")
    state = engine.materialize(
        state_name, history_state(inputs, cutoff, spec.profile), temporary=True
    )
    temporaries = [state_name]
    windows = current_windows(inputs, cutoff, spec.profile)
    if windows is not None:  # finalize reads it twice
        windows_name = name(f"_ml_{stamp(cutoff)}_windows")
        windows = engine.materialize(windows_name, windows, temporary=True)
        temporaries.append(windows_name)
    profile = finalize(state, windows, cutoff, spec.profile, spec.layers, spec.rfm.bins)
    return profile, temporaries


def _profile_columns(profile: ir.Table, cutoff: dt.datetime) -> dict[str, ir.Value]:
    columns: dict[str, ir.Value] = {}
    day = ibis.literal(cutoff.date())
    for spec in profile_features():
        value = profile[spec.source]
        if spec.name != spec.source:  # a timestamp or date: whole days before the cutoff
            moment = value.date() if value.type().is_timestamp() else value
            value = day.delta(moment, unit="day").cast("int64")
        elif spec.kind == "boolean":
            value = value.cast("int64")
        columns[spec.name] = value
    return columns


def _kind(column: str, dtype: dtypes.DataType, origin: str) -> FeatureKind:
    if dtype.is_string():
        return "categorical"
    if dtype.is_boolean():
        return "boolean"
    if dtype.is_numeric():
        return "numeric"
    raise ModelError(
        f"extra feature {origin}: column {column} is {dtype}; features must be numbers, "
        "booleans or text (turn a time into days before the cutoff)"
    )


def _extra_parts(
    inputs: ProfileInputs,
    cutoff: dt.datetime,
    functions: Sequence[ExtraFeature],
    taken: set[str],
) -> list[tuple[ir.Table, list[FeatureSpec]]]:
    parts = []
    for function in functions:
        origin = function_name(function)
        table = function(inputs, cutoff)
        if KEY not in table.columns:
            raise ModelError(
                f"extra feature {origin}: Required column {KEY} missing from its table "
                f"(columns: {', '.join(table.columns)})"
            )
        specs = []
        for column, dtype in table.schema().items():
            if column == KEY:
                continue
            if column in taken:
                raise ModelError(
                    f"extra feature {origin}: column {column} is already a feature; rename it"
                )
            taken.add(column)
            specs.append(
                FeatureSpec(
                    column,
                    f"extra:{origin}",
                    _kind(column, dtype, origin),
                    f"Extra feature from {origin}.",
                )
            )
        if specs:
            value_columns = [s.name for s in specs]
            cast = {s.name: table[s.name].cast("int64") for s in specs if s.kind == "boolean"}
            parts.append((table.select(KEY, *value_columns).mutate(**cast), specs))
    return parts


def build_features(
    engine: Engine,
    run_id: str,
    inputs: ProfileInputs,
    spec: ProjectSpec,
    cutoff: dt.datetime,
    extra_features: Sequence[ExtraFeature] = (),
    profile: ir.Table | None = None,
) -> FeatureBuild:
    """Materialise the feature table at `cutoff` (a temporary run table) and describe it.

    `profile` is a profile already built as of `cutoff` (the run's own, at its as-of time);
    without it the profile is built here.
    """
    name = functools.partial(engine.run_table, run_id)
    bought = paid_orders(inputs, cutoff)
    if bought is None:
        raise ModelError(
            "churn and repurchase scores need an orders entity; the project maps no source "
            "onto orders"
        )
    summary = engine.to_pandas(purchase_summary(bought, cutoff).order_by(KEY))
    horizons = feature_horizons(spec)
    outputs = bgnbd_outputs(summary, horizons)
    bgnbd_name = name(f"_ml_{stamp(cutoff)}_bgnbd")
    bgnbd = engine.materialize(
        bgnbd_name, summary.merge(outputs.frame, on=KEY, how="left"), temporary=True
    )
    temporaries: list[str] = []
    if profile is None:
        profile, temporaries = profile_at(engine, run_id, inputs, spec, cutoff)
    profile_specs = profile_features()
    selected = profile.select(KEY, **_profile_columns(profile, cutoff))
    bgnbd_specs = bgnbd_features(horizons)
    table = bgnbd.left_join(selected, KEY).drop(f"{KEY}_right")
    taken = {s.name for s in (*profile_specs, *bgnbd_specs)}
    extra_specs: list[FeatureSpec] = []
    for part, specs in _extra_parts(inputs, cutoff, extra_features, taken):
        table = table.left_join(part, KEY).drop(f"{KEY}_right")
        extra_specs += specs
    specs = [*profile_specs, *bgnbd_specs, *extra_specs]
    table = table.select(KEY, *(s.name for s in specs))
    features_name = name(f"_ml_{stamp(cutoff)}_features")
    features = engine.materialize(features_name, table, temporary=True)
    for temporary in (*temporaries, bgnbd_name):
        engine.drop(temporary)
    rows = int(engine.scalar(features.count()))
    if rows != len(summary):
        raise ModelError(
            f"the feature table at {cutoff:%Y-%m-%d %H:%M} has {rows:,} rows for "
            f"{len(summary):,} customers: an extra feature function returns more than one "
            f"row per {KEY}"
        )
    notes = [outputs.note] if outputs.note else []
    return FeatureBuild(features, specs, notes)


def point_in_time_features(
    engine: Engine,
    run_id: str,
    inputs: ProfileInputs,
    spec: ProjectSpec,
    cutoff: dt.datetime,
    extra_features: Sequence[ExtraFeature] = (),
) -> ir.Table:
    """The materialised feature table at `cutoff`: customer_id + one column per feature,
    one row per customer with a paid order up to `cutoff`, from records up to it only."""
    return build_features(engine, run_id, inputs, spec, cutoff, extra_features).table


class FeatureFrames:
    """Feature frames (pandas, sorted by customer_id) per cutoff, built once and shared by
    every target trained or scored with them (the two targets' windows overlap)."""

    def __init__(
        self,
        engine: Engine,
        run_id: str,
        inputs: ProfileInputs,
        spec: ProjectSpec,
        extra_features: Sequence[ExtraFeature] = (),
        profiles: Mapping[dt.datetime, ir.Table] | None = None,
    ) -> None:
        self.engine = engine
        self.profiles = dict(profiles or {})  # profiles already built, by their as-of time
        self.run_id = run_id
        self.inputs = inputs
        self.spec = spec
        self.extra_features = tuple(extra_features)
        self._built: dict[dt.datetime, tuple[pd.DataFrame, list[FeatureSpec], list[str]]] = {}

    def get(self, cutoff: dt.datetime) -> tuple[pd.DataFrame, list[FeatureSpec], list[str]]:
        """(frame, feature specs, notes) at `cutoff`."""
        if cutoff not in self._built:
            build = build_features(
                self.engine,
                self.run_id,
                self.inputs,
                self.spec,
                cutoff,
                self.extra_features,
                self.profiles.get(cutoff),
            )
            frame = self.engine.to_pandas(build.table.order_by(KEY))
            self.engine.drop(table_name(build.table))
            self._built[cutoff] = (frame.reset_index(drop=True), build.specs, build.notes)
        return self._built[cutoff]
