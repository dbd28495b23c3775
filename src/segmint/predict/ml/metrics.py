"""Held-out metrics: ranking (ROC-AUC, PR-AUC, lift and capture) and probability quality
(Brier score, expected calibration error, the calibration curve).

Lift and capture at the top q of customers are tie-aware: customers tied at the boundary
count with their share, as if ties were broken at random, so a coarse score (days since the
last order) is neither flattered nor punished by an arbitrary order.
"""

from __future__ import annotations

import math

import numpy as np

TOP_SHARES = (0.10, 0.20)
CALIBRATION_BINS = 10
#: Metric → True when higher is better.
HIGHER_IS_BETTER: dict[str, bool] = {
    "roc_auc": True,
    "pr_auc": True,
    "lift_at_10": True,
    "capture_at_10": True,
    "lift_at_20": True,
    "capture_at_20": True,
    "brier": False,
    "ece": False,
}


def top_share(y: np.ndarray, score: np.ndarray, share: float) -> tuple[float, float]:
    """(lift, capture) of the top `share` of customers by `score` (ties shared fairly)."""
    n = len(y)
    k = max(1, round(share * n))
    positives = float(np.sum(y))
    if positives == 0:
        return math.nan, math.nan
    threshold = np.sort(score)[::-1][k - 1]
    above = score > threshold
    at = score == threshold
    expected = float(np.sum(y[above])) + (k - int(np.sum(above))) * float(np.sum(y[at])) / int(
        np.sum(at)
    )
    precision = expected / k
    return precision / (positives / n), expected / positives


def ranking_metrics(y: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """ROC-AUC, PR-AUC (average precision), lift and capture at 10 % and 20 %."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    out = {
        "roc_auc": float(roc_auc_score(y, score)),
        "pr_auc": float(average_precision_score(y, score)),
    }
    for share in TOP_SHARES:
        lift, capture = top_share(y, score, share)
        pct = round(share * 100)
        out[f"lift_at_{pct}"] = lift
        out[f"capture_at_{pct}"] = capture
    return out


def brier(y: np.ndarray, p: np.ndarray) -> float:
    """Mean squared error of the probabilities."""
    return float(np.mean((np.asarray(p, np.float64) - y) ** 2))


def calibration_curve(
    y: np.ndarray, p: np.ndarray, bins: int = CALIBRATION_BINS
) -> list[dict[str, float | int]]:
    """Equal-width probability bins: mean predicted vs observed rate and count (empty bins
    left out)."""
    p = np.asarray(p, np.float64)
    index = np.minimum((p * bins).astype(np.int64), bins - 1)
    rows: list[dict[str, float | int]] = []
    for b in range(bins):
        inside = index == b
        count = int(np.sum(inside))
        if count == 0:
            continue
        rows.append(
            {
                "bin": b,
                "lower": b / bins,
                "upper": (b + 1) / bins,
                "mean_predicted": float(np.mean(p[inside])),
                "observed_rate": float(np.mean(y[inside])),
                "count": count,
            }
        )
    return rows


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Count-weighted mean |mean predicted − observed rate| over the curve's bins."""
    curve = calibration_curve(y, p, bins)
    total = sum(int(r["count"]) for r in curve)
    return float(
        sum(int(r["count"]) * abs(r["mean_predicted"] - r["observed_rate"]) for r in curve) / total
    )


def probability_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Brier score and expected calibration error."""
    return {"brier": brier(y, p), "ece": expected_calibration_error(y, p)}


def winners(metrics: dict[str, dict[str, float | None]]) -> dict[str, str]:
    """Metric → the name of the best scorer (ties: the first listed)."""
    out: dict[str, str] = {}
    for metric, higher in HIGHER_IS_BETTER.items():
        scored: list[tuple[str, float]] = []
        for name, values in metrics.items():
            value = values.get(metric)
            if value is not None and math.isfinite(value):
                scored.append((name, value if higher else -value))
        if scored:
            out[metric] = max(scored, key=lambda kv: kv[1])[0]
    return out
