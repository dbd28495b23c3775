"""The clustering feature matrix, twice: in numpy (the sample) and as Ibis expressions (all).

Each numeric feature is transformed (log1p, decile rank, clock-face hour), NULL filled, then
scaled with a robust z on the sample — (x − median) / (IQR / 1.349), the standard deviation
when the IQR is 0 — clipped to ±clip and multiplied by its weight. A categorical feature
becomes one indicator per kept level, each scaled by sqrt(1 / (1 − Σ p²)) · weight, so the
whole categorical adds as much variance to the squared distance as one numeric feature
(Σ p(1 − p) = 1 − Σ p²). One-hot with that weight was chosen over k-prototypes: the distance
stays a plain squared Euclidean one, so scikit-learn's k-means fits it and the nearest
centroid is a short expression in any engine. Both versions follow the same arithmetic; a
test keeps the engine's assignment equal to scikit-learn's.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from segmint.errors import ConfigError
from segmint.project.spec_clustering import ClusterFeature

MISSING = "(missing)"
_IQR_TO_SD = 1.349
_RANK_KNOTS = 11


@dataclass(frozen=True)
class FittedFeature:
    """A feature with everything learned on the sample."""

    column: str
    kind: str
    transform: str
    weight: float
    fill: float = 0.0
    center: float = 0.0
    scale: float = 1.0
    knots: list[float] = field(default_factory=list)  # rank: x of the piecewise-linear CDF
    cdf: list[float] = field(default_factory=list)  # rank: its y
    levels: list[str] = field(default_factory=list)  # categorical: kept levels
    level_weight: float = 1.0

    def names(self) -> list[str]:
        """Matrix column names this feature makes."""
        if self.kind == "categorical":
            return [f"{self.column}={level}" for level in self.levels]
        return [self.column]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


def _transform_np(values: pd.Series, transform: str) -> np.ndarray:
    x = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
    if transform == "log1p":
        return np.log1p(np.clip(x, 0.0, None))
    if transform == "cos24":
        return np.cos(x * (2 * math.pi / 24))
    return x


def _levels_np(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(values.dtype):
        text = values.map({True: "true", False: "false"})
    else:
        text = values.astype("string")
    return text.astype(object).where(text.notna(), MISSING).to_numpy(dtype=object)


def fit_features(sample: pd.DataFrame, specs: list[ClusterFeature]) -> list[FittedFeature]:
    """Learn each feature's fill, centre, scale, rank knots or levels on the sample."""
    missing = [s.column for s in specs if s.column not in sample.columns]
    if missing:
        raise ConfigError(
            f"clustering feature columns not found: {', '.join(missing)}; use columns of "
            "profiles (or customer_predictions)"
        )
    fitted: list[FittedFeature] = []
    for spec in specs:
        if spec.kind == "categorical":
            levels = pd.Series(_levels_np(sample[spec.column])).value_counts()
            levels = levels.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
            kept = [str(v) for v in levels.index[: spec.max_levels]]
            share = levels[kept].to_numpy(float) / max(len(sample), 1)
            spread = 1.0 - float(np.sum(share**2))
            weight = spec.weight * math.sqrt(1.0 / spread) if spread > 1e-9 else 0.0
            fitted.append(
                FittedFeature(
                    spec.column,
                    "categorical",
                    "none",
                    spec.weight,
                    levels=kept,
                    level_weight=weight,
                )
            )
            continue
        x = _transform_np(sample[spec.column], spec.transform)
        present = x[~np.isnan(x)]
        fill = 0.0 if spec.fill == "zero" or present.size == 0 else float(np.median(present))
        knots: list[float] = []
        cdf: list[float] = []
        if spec.transform == "rank" and present.size:
            knots = sorted({float(v) for v in np.quantile(present, np.linspace(0, 1, _RANK_KNOTS))})
            cdf = [float(np.mean(present <= k)) for k in knots]
        values = np.where(np.isnan(x), fill, x)
        values = _rank_np(values, knots, cdf) if knots else values
        center = float(np.median(values)) if values.size else 0.0
        q1, q3 = np.quantile(values, [0.25, 0.75]) if values.size else (0.0, 0.0)
        scale = float(q3 - q1) / _IQR_TO_SD
        if not scale > 1e-12:
            scale = float(np.std(values)) if values.size else 0.0
        if not scale > 1e-12:
            scale = 1.0
        fitted.append(
            FittedFeature(
                spec.column,
                "numeric",
                spec.transform,
                spec.weight,
                fill=fill,
                center=center,
                scale=scale,
                knots=knots,
                cdf=cdf,
            )
        )
    return fitted


def _rank_np(x: np.ndarray, knots: list[float], cdf: list[float]) -> np.ndarray:
    if not knots:
        return x
    if len(knots) == 1:
        return np.where(x < knots[0], 0.0, 1.0)
    return np.interp(x, knots, cdf, left=0.0, right=1.0)


def feature_matrix(frame: pd.DataFrame, features: list[FittedFeature], clip: float) -> np.ndarray:
    """The scaled, weighted matrix of `frame` (rows in order), in numpy."""
    columns: list[np.ndarray] = []
    for f in features:
        if f.kind == "categorical":
            levels = _levels_np(frame[f.column])
            columns.extend((levels == level).astype(float) * f.level_weight for level in f.levels)
            continue
        x = _transform_np(frame[f.column], f.transform)
        x = np.where(np.isnan(x), f.fill, x)
        x = _rank_np(x, f.knots, f.cdf) if f.transform == "rank" else x
        columns.append(np.clip((x - f.center) / f.scale, -clip, clip) * f.weight)
    if not columns:
        return np.zeros((len(frame), 0))
    return np.column_stack(columns)


# -- Ibis ---------------------------------------------------------------------------------


def _transform_expr(value: ir.Value, transform: str) -> ir.FloatingValue:
    x = value.cast("float64")
    if transform == "log1p":
        return (x.clip(lower=0.0) + 1.0).ln()
    if transform == "cos24":
        return (x * (2 * math.pi / 24)).cos()
    return x


def _rank_expr(x: ir.FloatingValue, knots: list[float], cdf: list[float]) -> ir.FloatingValue:
    if len(knots) == 1:
        return ibis.ifelse(x < knots[0], 0.0, 1.0)
    branches: list[tuple[ir.BooleanValue, ir.FloatingValue]] = [(x < knots[0], ibis.literal(0.0))]
    for (x0, y0), (x1, y1) in zip(
        zip(knots[:-1], cdf[:-1], strict=True), zip(knots[1:], cdf[1:], strict=True), strict=True
    ):
        branches.append((x <= x1, y0 + (x - x0) * ((y1 - y0) / (x1 - x0))))
    return ibis.cases(*branches, else_=1.0)


def _level_expr(value: ir.Value) -> ir.StringValue:
    if value.type().is_boolean():
        return ibis.cases((value.isnull(), MISSING), (value, "true"), else_="false")
    return value.cast("string").fill_null(MISSING)


def feature_exprs(
    table: ir.Table, features: list[FittedFeature], clip: float
) -> dict[str, ir.FloatingValue]:
    """The same matrix as Ibis expressions over `table`, by matrix column name."""
    out: dict[str, ir.FloatingValue] = {}
    for f in features:
        if f.kind == "categorical":
            text = _level_expr(table[f.column])
            for name, level in zip(f.names(), f.levels, strict=True):
                out[name] = ibis.ifelse(text == level, f.level_weight, 0.0)
            continue
        x = _transform_expr(table[f.column], f.transform).fill_null(f.fill)
        if f.transform == "rank" and f.knots:
            x = _rank_expr(x, f.knots, f.cdf)
        z = ((x - f.center) / f.scale).clip(lower=-clip, upper=clip)
        out[f.column] = z * f.weight
    return out


def transformed_expr(table: ir.Table, feature: FittedFeature) -> ir.FloatingValue:
    """A numeric feature after its transform, before fill and scaling (NULL stays NULL)."""
    return _transform_expr(table[feature.column], feature.transform)
