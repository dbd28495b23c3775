"""The BG/NBD baseline as the model's starting point (LightGBM's init score).

The trees do not learn a churn or repurchase probability from nothing: they start from the
log-odds that BG/NBD, fitted at the same cutoff on data up to it, gives the outcome
(P(purchase within the horizon), or one minus it for churn) and learn corrections from what
BG/NBD cannot see (app use, service, NPS, channels, categories …). On generated data, where
purchases follow a process close to BG/NBD's own, this keeps the model's ranking of steady
buyers as fine as BG/NBD's; without it a few thousand customers were too few for the trees
to recover it. Where BG/NBD has no value (its fit failed) the start is the training base rate.

For explanations the start counts as one more contribution, `bgnbd_baseline`, measured from
its mean on the training rows; with the trees' SHAP values they add up to the raw score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logit

from segmint.predict.ml.encoding import FeatureSchema
from segmint.predict.ml.labels import Target

NAME = "bgnbd_baseline"
CLIP = 1e-4


def prior_column(horizon_days: int) -> str:
    """The feature holding BG/NBD's P(purchase within the horizon)."""
    return f"bgnbd_p_purchase_{horizon_days}d"


@dataclass(frozen=True)
class Prior:
    """Where the trees start: BG/NBD's log-odds of the outcome."""

    column: str  # the feature with BG/NBD's P(purchase within the horizon)
    flip: bool  # churn: the outcome is *no* purchase, 1 − P
    fallback: float  # log-odds where BG/NBD has no value (training base rate)
    centre: float  # mean start on the training rows (explanations measure from it)

    def probability(self, schema: FeatureSchema, x: np.ndarray) -> np.ndarray:
        """BG/NBD's probability of the outcome per row (NaN where it has none)."""
        p = x[:, schema.names.index(self.column)]
        return 1.0 - p if self.flip else p

    def offset(self, schema: FeatureSchema, x: np.ndarray) -> np.ndarray:
        """The log-odds each row starts from."""
        p = self.probability(schema, x)
        start = logit(np.clip(p, CLIP, 1 - CLIP))
        return np.asarray(np.where(np.isnan(p), self.fallback, start), dtype=np.float64)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready parameters."""
        return {
            "column": self.column,
            "flip": self.flip,
            "fallback": self.fallback,
            "centre": self.centre,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Prior:
        """The inverse of `as_dict`."""
        fallback, centre = data["fallback"], data["centre"]
        assert isinstance(fallback, int | float) and isinstance(centre, int | float)
        return cls(str(data["column"]), bool(data["flip"]), float(fallback), float(centre))


def fit_prior(
    target: Target, horizon_days: int, schema: FeatureSchema, x: np.ndarray, y: np.ndarray
) -> Prior:
    """The prior for `target`, with its fallback and centre taken from the training rows."""
    rate = float(np.clip(np.mean(y), CLIP, 1 - CLIP))
    partial = Prior(prior_column(horizon_days), target == "churn", float(logit(rate)), 0.0)
    centre = float(np.mean(partial.offset(schema, x)))
    return Prior(partial.column, partial.flip, partial.fallback, centre)
