"""From a feature frame (pandas) to the float matrix LightGBM reads, the same way every time.

Categoricals become their level's position in the level list learned on the training window
(saved with the model); a value the model never saw, like a missing one, becomes NaN, which
LightGBM sends down its missing-value branch. Booleans become 0/1, numbers stay numbers.

Numbers are rounded to `SIGNIFICANT_DIGITS` significant digits first: a warehouse sums
floating-point values in whatever order its threads finish, so the same data can give
features that differ in the last bit from run to run — enough to move a LightGBM bin edge and
change the model. Six digits are far finer than any split the model makes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from segmint.predict.ml.catalog import KEY, FeatureSpec
from segmint.predict.ml.errors import FeatureMismatchError

SIGNIFICANT_DIGITS = 6


def significant(values: np.ndarray, digits: int = SIGNIFICANT_DIGITS) -> np.ndarray:
    """`values` rounded to `digits` significant digits (NaN, ±inf and 0 unchanged)."""
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        magnitude = np.floor(np.log10(np.abs(values)))
        scale = 10.0 ** (digits - 1 - magnitude)
        rounded = np.round(values * scale) / scale
    return np.where(np.isfinite(rounded), rounded, values)


def _as_text(series: pd.Series) -> pd.Series:
    """Category labels as text: 2.0 and 2 are both "2"; missing stays missing."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype("string")
    if pd.api.types.is_numeric_dtype(series):
        numbers = pd.to_numeric(series).astype("Float64")
        whole = numbers.round() == numbers
        if bool(whole.fillna(True).all()):
            return numbers.astype("Int64").astype("string")
        return numbers.astype("string")
    return series.astype("string")


@dataclass(frozen=True)
class FeatureSchema:
    """The features a model reads, in order, with each categorical's levels."""

    specs: tuple[FeatureSpec, ...]

    @property
    def names(self) -> list[str]:
        """Feature names in model order."""
        return [s.name for s in self.specs]

    @property
    def categorical_indices(self) -> list[int]:
        """Positions of the categorical features."""
        return [i for i, s in enumerate(self.specs) if s.kind == "categorical"]

    @classmethod
    def learn(cls, specs: Sequence[FeatureSpec], frame: pd.DataFrame) -> FeatureSchema:
        """The catalogue with each categorical's levels as seen in `frame` (sorted)."""
        learned = []
        for spec in specs:
            if spec.kind == "categorical":
                values = _as_text(frame[spec.name]).dropna().unique()
                spec = FeatureSpec(
                    spec.name,
                    spec.source,
                    spec.kind,
                    spec.description,
                    spec.sensitivity,
                    tuple(sorted(str(v) for v in values)),
                )
            learned.append(spec)
        return cls(tuple(learned))

    def check(self, frame: pd.DataFrame) -> None:
        """FeatureMismatchError naming every required column that is missing or mistyped."""
        missing = [n for n in [KEY, *self.names] if n not in frame.columns]
        if missing:
            raise FeatureMismatchError(
                f"Required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                "missing from the feature frame; build it with point_in_time_features (with "
                "the same extra feature functions the model was trained with)"
            )
        wrong = [
            s.name
            for s in self.specs
            if s.kind != "categorical"
            and not (
                pd.api.types.is_numeric_dtype(frame[s.name])
                or pd.api.types.is_bool_dtype(frame[s.name])
                or frame[s.name].isna().all()
            )
        ]
        if wrong:
            raise FeatureMismatchError(
                f"Column{'s' if len(wrong) > 1 else ''} {', '.join(wrong)} must be numeric or "
                "boolean for this model; got text"
            )

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The (rows × features) float64 matrix of `frame`, in model order."""
        self.check(frame)
        out = np.empty((len(frame), len(self.specs)), dtype=np.float64)
        for j, spec in enumerate(self.specs):
            column = frame[spec.name]
            if spec.kind == "categorical":
                codes = pd.Categorical(_as_text(column), categories=list(spec.levels)).codes
                out[:, j] = np.where(codes < 0, np.nan, codes)
            else:
                out[:, j] = significant(
                    pd.to_numeric(column.astype("Float64")).to_numpy(
                        dtype=np.float64, na_value=np.nan
                    )
                )
        return out

    def display(self, j: int, value: float) -> str:
        """A matrix value of feature `j` as a person reads it (level, number, missing)."""
        if np.isnan(value):
            return "missing"
        spec = self.specs[j]
        if spec.kind == "categorical":
            return spec.levels[int(value)]
        if spec.kind == "boolean":
            return "true" if value else "false"
        if float(value).is_integer():
            return str(int(value))
        return f"{value:.4g}"

    def as_list(self) -> list[dict[str, object]]:
        """JSON-ready specs."""
        return [s.as_dict() for s in self.specs]

    @classmethod
    def from_list(cls, data: list[dict[str, object]]) -> FeatureSchema:
        """The inverse of `as_list`."""
        return cls(tuple(FeatureSpec.from_dict(d) for d in data))
