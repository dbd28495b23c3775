"""Project-file section for predictive models: CLV, churn risk and 30-day repurchase."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ClvModelName = Literal["bgnbd", "pnbd", "mbgnbd"]
Calibration = Literal["isotonic", "platt", "auto"]
Retrain = Literal["auto", "always", "never"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ClvSettings(_Strict):
    """The probabilistic customer-base model behind CLV, P(alive) and next purchase."""

    model: ClvModelName = Field("bgnbd", description="Purchase-count model: bgnbd, pnbd, mbgnbd.")
    horizon_days: int = Field(365, ge=1, description="CLV horizon in days.")
    annual_discount_rate: float = Field(
        0.10, ge=0, lt=1, description="Yearly discount rate applied to future spend."
    )
    tiers: list[float] = Field(
        default_factory=lambda: [0.5, 0.8, 0.95],
        description="Quantile cut points of predicted CLV between the tiers (ascending, "
        "strictly between 0 and 1).",
    )
    tier_labels: list[str] = Field(
        default_factory=lambda: ["low", "medium", "high", "top"],
        description="Tier names, lowest first: one more than the cut points; each becomes a "
        "predictive tag clv_<label>.",
    )

    @model_validator(mode="after")
    def _ascending(self) -> ClvSettings:
        cuts = self.tiers
        if any(not 0 < c < 1 for c in cuts) or sorted(set(cuts)) != cuts:
            raise ValueError("clv.tiers must be ascending quantiles strictly between 0 and 1")
        if len(self.tier_labels) != len(cuts) + 1:
            raise ValueError("clv.tier_labels needs one more name than clv.tiers has cut points")
        return self


class TargetSettings(_Strict):
    """One machine-learned score: what it predicts and how it becomes a tag."""

    enabled: bool = True
    horizon_days: int = Field(description="Prediction horizon h in days.", ge=7, le=365)
    bands: list[float] = Field(
        description="Probability cut points between the bands (ascending, in (0, 1))."
    )
    labels: list[str] = Field(
        description="Band names, lowest probability first: one more than the cut points. "
        "Each becomes a predictive tag <target>_<label>."
    )

    @model_validator(mode="after")
    def _ascending(self) -> TargetSettings:
        cuts = self.bands
        if any(not 0 < c < 1 for c in cuts) or sorted(set(cuts)) != cuts:
            raise ValueError("bands must be ascending probabilities strictly between 0 and 1")
        if len(self.labels) != len(cuts) + 1:
            raise ValueError(
                f"{len(cuts)} band cut points need {len(cuts) + 1} labels, got {len(self.labels)}"
            )
        if any(not label.isidentifier() for label in self.labels):
            raise ValueError("band labels must be lower-case words joined by _ (e.g. very_likely)")
        return self


class GbmSettings(_Strict):
    """LightGBM parameters (the defaults suit 1k-10M customers)."""

    num_leaves: int = Field(31, ge=2)
    learning_rate: float = Field(0.05, gt=0, le=1)
    max_rounds: int = Field(500, ge=1, description="Upper bound; early stopping picks fewer.")
    min_child_samples: int = Field(50, ge=1)
    seed: int = 7


class PredictSettings(_Strict):
    """Predictive models and the predictive tags made from their scores."""

    enabled: bool = True
    clv: ClvSettings = Field(default_factory=ClvSettings)
    churn: TargetSettings = Field(
        default_factory=lambda: TargetSettings(
            horizon_days=90, bands=[0.3, 0.6], labels=["low", "medium", "high"]
        ),
        description="Churn: no purchase in the next horizon_days. Bands: low, medium, high.",
    )
    repurchase: TargetSettings = Field(
        default_factory=lambda: TargetSettings(
            horizon_days=30,
            bands=[0.2, 0.5, 0.8],
            labels=["unlikely", "possible", "likely", "very_likely"],
        ),
        description="Repurchase: at least one purchase in the next horizon_days. Bands: "
        "unlikely, possible, likely, very likely.",
    )
    gbm: GbmSettings = Field(default_factory=GbmSettings)
    calibration: Calibration = Field(
        "auto",
        description="isotonic, platt, or auto (isotonic when the calibration window has at "
        "least 1,000 customers of each class, else Platt).",
    )
    retrain: Retrain = Field(
        "auto",
        description="auto: train when no saved model fits the features or it is older than "
        "max_age_days; always; never (score with the saved model, fail if there is none).",
    )
    max_age_days: int = Field(30, ge=1)
    min_customers: int = Field(
        200, ge=10, description="Fewer customers with a purchase before a cutoff: no model."
    )
