"""The columns of `customer_predictions`: one row per customer with a purchase, every score.

One place for what a predictive column is, read by the predict stage (column order), the tag
rules (they may use these columns), the access module (sensitivity) and the docs.
"""

from __future__ import annotations

from segmint.traits.catalog import Level, Trait, TraitGroup

CUSTOMER_PREDICTIONS = "customer_predictions"
MODEL_REGISTRY = "model_registry"
MODEL_CARDS = "model_cards"
MODEL_METRICS = "model_metrics"
MODEL_CALIBRATION = "model_calibration"
MODEL_IMPORTANCE = "model_importance"
MODEL_TABLES = (MODEL_REGISTRY, MODEL_CARDS, MODEL_METRICS, MODEL_CALIBRATION, MODEL_IMPORTANCE)

_GROUP: TraitGroup = "value"


def _p(name: str, dtype: str, description: str, sensitivity: Level = "internal") -> Trait:
    return Trait(name, dtype, _GROUP, sensitivity, description)


PREDICTION_COLUMNS: tuple[Trait, ...] = (
    _p("customer_id", "string", "Unified customer id."),
    _p("purchase_days", "int64", "Days with a paid purchase up to the as-of time."),
    _p("p_alive", "float64", "Probability the customer is still active (CLV model)."),
    _p(
        "expected_purchases_30d",
        "float64",
        "Expected purchases in the next 30 days (CLV model, conditional on history).",
    ),
    _p(
        "p_purchase_30d_clv",
        "float64",
        "Probability of at least one purchase in the next 30 days from the CLV model "
        "(the baseline the machine-learned repurchase score is compared with).",
    ),
    _p(
        "next_purchase_at",
        "timestamp",
        "Expected date of the next purchase (CLV model; NULL when unlikely within 2 years).",
    ),
    _p("expected_order_value", "float64", "Expected spend per order (Gamma-Gamma)."),
    _p(
        "predicted_clv",
        "float64",
        "Discounted expected spend over clv.horizon_days (count model x Gamma-Gamma).",
    ),
    _p("clv_tier", "string", "Tier of predicted CLV by quantile (clv.tiers, clv.tier_labels)."),
    _p(
        "repurchase_probability",
        "float64",
        "Calibrated probability of a purchase within repurchase.horizon_days (LightGBM).",
    ),
    _p("repurchase_band", "string", "Band of repurchase_probability (repurchase.labels)."),
    _p(
        "repurchase_reasons",
        "string",
        "Top reasons for the repurchase score: feature=value (SHAP contribution).",
    ),
    _p(
        "churn_probability",
        "float64",
        "Calibrated probability of no purchase within churn.horizon_days (LightGBM).",
    ),
    _p("churn_risk", "string", "Band of churn_probability (churn.labels: low, medium, high)."),
    _p("churn_reasons", "string", "Top reasons for the churn score (SHAP contributions)."),
    _p("clv_model_version", "string", "Version of the CLV models that made the values."),
    _p("repurchase_model_version", "string", "Version of the repurchase model."),
    _p("churn_model_version", "string", "Version of the churn model."),
    _p("run_id", "string", "Run that scored the customer."),
)

PREDICTION_NAMES: tuple[str, ...] = tuple(c.name for c in PREDICTION_COLUMNS)


def prediction_sensitivity() -> dict[str, Level]:
    """Column → sensitivity level of `customer_predictions`."""
    return {c.name: c.sensitivity for c in PREDICTION_COLUMNS}


def rule_columns() -> dict[str, str]:
    """The predictive columns tag and segment rules may use (name → Ibis type)."""
    return {c.name: c.dtype for c in PREDICTION_COLUMNS if c.name not in ("customer_id", "run_id")}
