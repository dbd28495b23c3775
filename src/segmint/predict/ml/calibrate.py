"""Calibrators: from the model's raw score (log-odds) to a probability that means what it says.

- isotonic: a non-decreasing step function (sklearn's IsotonicRegression), saved as its
  thresholds and applied by linear interpolation between them, clipped at the ends (exactly
  what sklearn's `predict` does);
- platt: p = 1 / (1 + exp(−(a · raw + b))), fitted by log-loss with Platt's smoothed targets.
`auto` picks isotonic when the calibration window has at least `ISOTONIC_MIN_PER_CLASS`
customers of each class, else Platt (isotonic overfits small windows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from segmint.project.spec_predict import Calibration

ISOTONIC_MIN_PER_CLASS = 1_000
Method = Literal["isotonic", "platt"]


def choose_method(setting: Calibration, y: np.ndarray) -> Method:
    """The calibration method for `setting` and the calibration window's labels."""
    if setting != "auto":
        return setting
    positives = int(np.sum(y))
    negatives = len(y) - positives
    if min(positives, negatives) >= ISOTONIC_MIN_PER_CLASS:
        return "isotonic"
    return "platt"


@dataclass(frozen=True)
class Calibrator:
    """A fitted calibrator; everything needed to apply it is in its fields."""

    method: Method
    x: tuple[float, ...] = ()  # isotonic: raw-score thresholds
    y: tuple[float, ...] = ()  # isotonic: probabilities at the thresholds
    a: float = 1.0  # platt slope
    b: float = 0.0  # platt intercept

    def predict(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for raw scores."""
        raw = np.asarray(raw, dtype=np.float64)
        if self.method == "isotonic":
            return np.interp(raw, np.asarray(self.x), np.asarray(self.y))
        return np.asarray(expit(self.a * raw + self.b), dtype=np.float64)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready parameters."""
        if self.method == "isotonic":
            return {"method": "isotonic", "x": list(self.x), "y": list(self.y)}
        return {"method": "platt", "a": self.a, "b": self.b}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Calibrator:
        """The inverse of `as_dict`."""
        if data["method"] == "isotonic":
            xs, ys = data["x"], data["y"]
            assert isinstance(xs, list) and isinstance(ys, list)
            return cls("isotonic", x=tuple(map(float, xs)), y=tuple(map(float, ys)))
        a, b = data["a"], data["b"]
        assert isinstance(a, int | float) and isinstance(b, int | float)
        return cls("platt", a=float(a), b=float(b))


def _fit_isotonic(raw: np.ndarray, y: np.ndarray) -> Calibrator:
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
    return Calibrator(
        "isotonic",
        x=tuple(float(v) for v in iso.X_thresholds_),
        y=tuple(float(v) for v in iso.y_thresholds_),
    )


def _fit_platt(raw: np.ndarray, y: np.ndarray) -> Calibrator:
    positives = float(np.sum(y))
    negatives = len(y) - positives
    target = np.where(y > 0, (positives + 1) / (positives + 2), 1 / (negatives + 2))

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[0] * raw + theta[1]
        p = expit(z)
        # log-loss written with logaddexp so large |z| stays finite
        value = float(np.sum(np.logaddexp(0.0, z) - target * z))
        grad = p - target
        return value, np.array([float(np.sum(grad * raw)), float(np.sum(grad))])

    result = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    return Calibrator("platt", a=float(result.x[0]), b=float(result.x[1]))


def fit_calibrator(method: Method, raw: np.ndarray, y: np.ndarray) -> Calibrator:
    """Fit a calibrator of `method` on raw scores and 0/1 outcomes."""
    raw = np.asarray(raw, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return _fit_isotonic(raw, y) if method == "isotonic" else _fit_platt(raw, y)
