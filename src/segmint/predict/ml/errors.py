"""The errors the machine-learned scores raise on purpose (all are SegmintErrors)."""

from __future__ import annotations

from segmint.errors import ModelError

__all__ = ["FeatureMismatchError", "LeakError", "ModelError", "TrainingWindowError"]


class TrainingWindowError(ModelError):
    """A backtest window has too few customers, or only one class of outcome."""


class LeakError(ModelError):
    """A feature uses information from after its cutoff (or looks as if it does)."""


class FeatureMismatchError(ModelError):
    """A feature frame does not have the columns or types a saved model needs."""
