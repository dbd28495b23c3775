"""Project-file section for clustering customers into personas."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FeatureKind = Literal["numeric", "categorical"]
Transform = Literal["none", "log1p", "rank", "cos24"]
Fill = Literal["median", "zero"]
Population = Literal["buyers", "members", "all"]
FitOn = Literal["members", "population"]
KRule = Literal["prediction_strength", "stability", "bic"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ClusterFeature(_Strict):
    """One profile (or prediction) column the clustering reads."""

    column: str = Field(description="Column of `profiles` or `customer_predictions`.")
    kind: FeatureKind = Field("numeric", description="numeric or categorical (one-hot).")
    transform: Transform = Field(
        "none",
        description="numeric only: none, log1p (skewed counts and amounts), rank (empirical "
        "CDF from sample deciles, 0..1) or cos24 (an hour of the day on the clock face).",
    )
    fill: Fill = Field("median", description="numeric only: value for NULL (after transform).")
    weight: float = Field(
        1.0, gt=0, le=10, description="Relative weight in the distance (1 = one robust z unit)."
    )
    max_levels: int = Field(
        12, ge=2, le=50, description="categorical only: most frequent levels kept."
    )


def _num(column: str, transform: Transform = "none", weight: float = 1.0) -> ClusterFeature:
    return ClusterFeature(column=column, transform=transform, weight=weight)


def _cat(column: str, weight: float = 1.0) -> ClusterFeature:
    return ClusterFeature(column=column, kind="categorical", weight=weight)


def default_feature_sets() -> dict[str, list[ClusterFeature]]:
    """B2C: spending power + behaviour + needs; B2B: company size + industry + procurement."""
    return {
        "b2c": [
            # spending power
            _num("aov", "log1p"),
            _num("monetary_365d", "log1p"),
            _num("frequency", "log1p"),
            # premium or cheap within each category, whatever the lifecycle: weighted up, it
            # is what tells a lapsed buyer of one persona from another (docs/segments.md)
            _num("price_index", weight=1.5),
            # behaviour
            _num("recency_days", "log1p"),
            _num("tenure_days", "log1p"),
            _num("online_share"),
            _num("miniprogram_share"),
            _num("offline_share"),
            _num("active_hour", "cos24"),
            _num("brands", "log1p"),
            _num("interpurchase_days_mean", "log1p"),  # buying rhythm
            # needs
            _num("discount_share"),
            _num("campaign_response_rate"),
            _num("top_category_share"),
            _num("campaign_touches", "log1p"),
            _num("deal_event_share"),
            # researching before buying is how a person shops, so it outlasts their lapse
            _num("research_share"),
            _num("satisfaction_mean"),
            _num("nps_latest"),
            _cat("is_b2b"),
        ],
        "b2b": [
            _num("company_size", "log1p"),
            _cat("industry"),
            _num("monetary_365d", "log1p"),
            _num("aov", "log1p"),
            _num("frequency", "log1p"),
            _num("recency_days", "log1p"),
            _num("discount_share"),
            _num("interpurchase_days_mean", "log1p"),
        ],
    }


class ClusteringSettings(_Strict):
    """How customers are clustered and how the clusters become persona cards."""

    enabled: bool = Field(True, description="Cluster customers and write persona cards.")
    feature_set: str = Field("b2c", description="Name of the feature set in `feature_sets`.")
    feature_sets: dict[str, list[ClusterFeature]] = Field(
        default_factory=default_feature_sets,
        description="Named feature sets: columns with kind, transform, fill and weight.",
    )
    population: Population = Field(
        "buyers",
        description="buyers: customers with a paid order (others get no cluster); members: "
        "buyers with a customer (CRM) record; all: every profile row.",
    )
    fit_on: FitOn = Field(
        "members",
        description="Customers the model is fitted on: members (the population's customers "
        "with a CRM record, whose histories are fullest; the whole population when fewer "
        "than `min_fit_customers` of them are in the sample) or population. Either way "
        "every customer of the population is assigned.",
    )
    min_fit_customers: int = Field(
        500,
        ge=30,
        description="fit_on members: fewest members in the sample to fit on them alone.",
    )
    k_min: int = Field(3, ge=2, le=30, description="Smallest number of clusters tried.")
    k_max: int = Field(8, ge=2, le=30, description="Largest number of clusters tried.")
    k_rule: KRule = Field(
        "prediction_strength",
        description="How k is chosen: prediction_strength (the largest k whose clusters "
        "one half of the sample predicts in the other: median prediction strength at least "
        "`strength_threshold`), stability (the largest k that bootstrap refits reproduce "
        "about as well as the best) or bic (the lowest Gaussian-mixture BIC).",
    )
    strength_rounds: int = Field(
        6, ge=1, le=50, description="Random half splits per k for prediction strength."
    )
    strength_threshold: float = Field(
        0.78,
        gt=0,
        le=1,
        description="k_rule prediction_strength: the largest k whose median prediction "
        "strength over the splits reaches this is chosen (the strongest k when none does).",
    )
    scan_rounds: int = Field(
        10, ge=2, le=50, description="Bootstrap refits per k for the stability criterion."
    )
    stability_tolerance: float = Field(
        0.01,
        ge=0,
        le=0.5,
        description="k_rule stability: k whose median refit ARI is within this of the most "
        "stable k are near-ties; the largest of them is chosen.",
    )
    sample_size: int = Field(
        50_000, ge=100, description="Customers pulled from the engine to fit on."
    )
    silhouette_sample: int = Field(
        4_000, ge=100, description="Customers the silhouette score is computed on."
    )
    seed: int = Field(0, ge=0, description="Seed of the sample, the fits and the bootstrap.")
    bootstrap_rounds: int = Field(
        10, ge=0, le=200, description="Bootstrap refits for the stability ARI (0: skip)."
    )
    clip: float = Field(
        4.0, gt=0, description="Scaled numeric values are clipped to [-clip, clip]."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ClusteringSettings:
        if self.k_min > self.k_max:
            raise ValueError(f"clustering.k_min ({self.k_min}) is above k_max ({self.k_max})")
        if self.feature_set not in self.feature_sets:
            known = ", ".join(sorted(self.feature_sets)) or "none"
            raise ValueError(
                f"clustering.feature_set {self.feature_set!r} is not defined (known: {known})"
            )
        for name, features in self.feature_sets.items():
            if not features:
                raise ValueError(f"clustering.feature_sets.{name} has no features")
            columns = [f.column for f in features]
            if len(set(columns)) != len(columns):
                raise ValueError(f"clustering.feature_sets.{name} lists a column twice")
        return self

    def features(self) -> list[ClusterFeature]:
        """The chosen feature set."""
        return self.feature_sets[self.feature_set]
