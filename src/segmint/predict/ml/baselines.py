"""The two baselines a model must beat on the same held-out customers.

- recency rule: rank customers by days since their last order (most recent first for
  repurchase, most lapsed first for churn); its probabilities are the outcome rate of the
  customer's recency bucket (deciles) on the *training* window, so its Brier score and
  calibration error are comparable with the model's;
- BG/NBD: P(at least one purchase within the horizon) from the BG/NBD model fitted at the
  test cutoff on data up to it (1 − that for churn).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from segmint.predict.ml.labels import Target

RECENCY = "recency_days"
RECENCY_BUCKETS = 10


@dataclass(frozen=True)
class RecencyRule:
    """Days since the last order, as a score and as a bucketed probability."""

    target: Target
    edges: tuple[float, ...]  # left edges of buckets 1…k (bucket 0 is everything below)
    rates: tuple[float, ...]  # outcome rate per bucket on the training window

    def score(self, recency: np.ndarray) -> np.ndarray:
        """Higher = more likely to have the outcome."""
        recency = np.asarray(recency, np.float64)
        return recency if self.target == "churn" else -recency

    def probability(self, recency: np.ndarray) -> np.ndarray:
        """The training window's outcome rate of each customer's recency bucket."""
        bucket = np.searchsorted(np.asarray(self.edges), np.asarray(recency, np.float64), "right")
        return np.asarray(self.rates)[bucket]


def fit_recency_rule(recency: np.ndarray, y: np.ndarray, target: Target) -> RecencyRule:
    """Bucket edges (deciles of recency) and outcome rates from the training window."""
    recency = np.asarray(recency, np.float64)
    y = np.asarray(y, np.float64)
    quantiles = np.linspace(0, 1, RECENCY_BUCKETS + 1)[1:-1]
    edges = np.unique(np.quantile(recency, quantiles, method="lower"))
    bucket = np.searchsorted(edges, recency, "right")
    overall = float(np.mean(y))
    rates = []
    for b in range(len(edges) + 1):
        inside = bucket == b
        rates.append(float(np.mean(y[inside])) if np.any(inside) else overall)
    return RecencyRule(target, tuple(float(e) for e in edges), tuple(rates))


def bgnbd_probability(frame: pd.DataFrame, target: Target, horizon_days: int) -> np.ndarray:
    """BG/NBD's probability of the target's outcome (NaN where the fit failed)."""
    column = f"bgnbd_p_purchase_{horizon_days}d"
    p = pd.to_numeric(frame[column]).to_numpy(dtype=np.float64, na_value=np.nan)
    return p if target == "repurchase" else 1.0 - p
