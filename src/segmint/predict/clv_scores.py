"""CLV, P(alive) and next purchase for every buyer, with a holdout check on the company's own
data.

The count model (BG/NBD, Pareto/NBD or MBG/NBD) and Gamma-Gamma are fitted on each run's
purchase summaries (a fit takes seconds even at millions of customers, so they always describe
the current data). The holdout check refits them as of `HOLDOUT_DAYS` earlier and compares the
purchases they predicted for those days with what happened: the model card shows it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from segmint.digest import json_digest
from segmint.predict.clv import MODELS, FitError, GammaGamma, customer_lifetime_value
from segmint.project.spec_predict import ClvSettings

HOLDOUT_DAYS = 90
_NEXT_PURCHASE_CAP_DAYS = 730.0


@dataclass
class ClvFit:
    """A fitted count model and spend model, with what the card needs."""

    settings: ClvSettings
    data_as_of: dt.datetime
    count_model: Any
    spend_model: GammaGamma | None
    customers: int
    repeat_customers: int
    holdout: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        """clv-<model>-<as-of date>-<hash of the parameters>."""
        digest = json_digest(self.parameters(), 8)
        return f"clv-{self.settings.model}-{self.data_as_of:%Y%m%d}-{digest}"

    def parameters(self) -> dict[str, Any]:
        """Both models' parameters (JSON-ready)."""
        return {
            "count_model": self.settings.model,
            "count": {k: float(v) for k, v in self.count_model.params_.items()},
            "spend": (
                {k: float(v) for k, v in self.spend_model.params_.items()}
                if self.spend_model is not None
                else None
            ),
        }

    def card(self) -> dict[str, Any]:
        """The model card: data, parameters, fit, holdout check, limits."""
        return {
            "target": "clv",
            "kind": "clv",
            "version": self.version,
            "model": self.settings.model,
            "data_as_of": self.data_as_of.isoformat(),
            "customers": self.customers,
            "repeat_customers": self.repeat_customers,
            "parameters": self.parameters(),
            "log_likelihood": float(self.count_model.log_likelihood_),
            "spend_log_likelihood": (
                float(self.spend_model.log_likelihood_) if self.spend_model is not None else None
            ),
            "horizon_days": self.settings.horizon_days,
            "annual_discount_rate": self.settings.annual_discount_rate,
            "holdout": self.holdout,
            "limits": [
                "Counts purchase days, not orders: several orders on one day are one purchase.",
                "Assumes a customer buys at a steady (Poisson) rate until they drop out for good; "
                "seasonal peaks and campaigns are not modelled.",
                "Gamma-Gamma assumes spend per purchase does not depend on how often a "
                "customer buys.",
                "Customers are resolved with the current identity graph.",
            ],
        }


def fit_clv(summary: pd.DataFrame, settings: ClvSettings, data_as_of: dt.datetime) -> ClvFit:
    """Fit the configured count model and Gamma-Gamma on a purchase summary (days).

    Raises FitError when the data cannot support the count model; Gamma-Gamma is left out
    (spend = each customer's own mean) when it cannot be fitted.
    """
    count_model = MODELS[settings.model]()
    count_model.fit(summary["frequency"], summary["recency"], summary["T"])
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    spend_model: GammaGamma | None
    try:
        spend_model = GammaGamma().fit(repeat["frequency"], repeat["monetary_value"])
    except FitError:
        spend_model = None
    return ClvFit(
        settings=settings,
        data_as_of=data_as_of,
        count_model=count_model,
        spend_model=spend_model,
        customers=len(summary),
        repeat_customers=int((summary["frequency"] > 0).sum()),
    )


def clv_frame(fit: ClvFit, summary: pd.DataFrame) -> pd.DataFrame:
    """Per customer: P(alive), expected purchases and P(purchase) in 30 days, next purchase
    date, expected order value and predicted CLV.

    Without a Gamma-Gamma fit, a one-time buyer's expected order value is their first spend.
    """
    s = fit.settings
    f = summary["frequency"].to_numpy(dtype=float)
    r = summary["recency"].to_numpy(dtype=float)
    t = summary["T"].to_numpy(dtype=float)
    m = summary["monetary_value"].to_numpy(dtype=float)
    model = fit.count_model
    if fit.spend_model is not None:
        value = fit.spend_model.conditional_expected_average_profit(f, m)
        clv = customer_lifetime_value(
            model,
            fit.spend_model,
            f,
            r,
            t,
            m,
            horizon_periods=s.horizon_days,
            period_days=1.0,
            annual_discount_rate=s.annual_discount_rate,
        )
    else:
        value = np.where(f > 0, m, summary["first_amount"].to_numpy(dtype=float))
        clv = model.expected_purchases(float(s.horizon_days), f, r, t) * value
    wait = np.asarray(model.expected_next_purchase(f, r, t), dtype=float)
    wait = np.where(np.isfinite(wait) & (wait <= _NEXT_PURCHASE_CAP_DAYS), wait, np.nan)
    as_of = pd.Timestamp(fit.data_as_of)
    next_at = as_of + pd.to_timedelta(wait, unit="D")
    return pd.DataFrame(
        {
            "customer_id": summary["customer_id"].to_numpy(),
            "purchase_days": summary["purchase_days"].to_numpy(dtype="int64"),
            "p_alive": model.probability_alive(f, r, t),
            "expected_purchases_30d": model.expected_purchases(30.0, f, r, t),
            "p_purchase_30d_clv": model.probability_of_purchase(30.0, f, r, t),
            "next_purchase_at": pd.Series(next_at).dt.floor("s").astype("datetime64[us]"),
            "expected_order_value": value,
            "predicted_clv": clv,
        }
    )


def tiers(values: pd.Series, settings: ClvSettings) -> pd.Series:
    """Tier of each value by quantile cut points (ties fall in the lower tier)."""
    if values.empty:
        return pd.Series([], dtype="string")
    cuts = np.quantile(values.to_numpy(dtype=float), settings.tiers)
    index = np.searchsorted(cuts, values.to_numpy(dtype=float), side="left")
    labels = np.asarray(settings.tier_labels, dtype=object)
    return pd.Series(labels[index], index=values.index, dtype="string")


def holdout_check(
    calibration: pd.DataFrame,
    actual_days: pd.Series,
    settings: ClvSettings,
    calibration_end: dt.datetime,
    days: int = HOLDOUT_DAYS,
) -> dict[str, Any]:
    """Fit on data up to `calibration_end`; compare predicted with actual purchase days in the
    `days` after it, in total and by number of repeat purchases in the calibration period.

    `actual_days` holds each calibration customer's purchase days in the holdout (0 if none),
    aligned with `calibration`.
    """
    fit = fit_clv(calibration, settings, calibration_end)
    f = calibration["frequency"].to_numpy(dtype=float)
    predicted = fit.count_model.expected_purchases(
        float(days), f, calibration["recency"].to_numpy(float), calibration["T"].to_numpy(float)
    )
    actual = actual_days.to_numpy(dtype=float)
    bucket = np.minimum(f, 7).astype(int)
    rows = []
    for b in range(8):
        mask = bucket == b
        if mask.any():
            rows.append(
                {
                    "frequency": f"{b}+" if b == 7 else str(b),
                    "customers": int(mask.sum()),
                    "predicted": float(predicted[mask].mean()),
                    "actual": float(actual[mask].mean()),
                }
            )
    total_pred, total_actual = float(predicted.sum()), float(actual.sum())
    return {
        "calibration_end": calibration_end.isoformat(),
        "holdout_days": days,
        "customers": len(calibration),
        "predicted_total": total_pred,
        "actual_total": total_actual,
        "error_pct": (total_pred - total_actual) / total_actual * 100 if total_actual else None,
        "mae_per_customer": float(np.abs(predicted - actual).mean()) if len(actual) else None,
        "correlation": (
            float(np.corrcoef(predicted, actual)[0, 1])
            if len(actual) > 2 and actual.std() > 0 and predicted.std() > 0
            else None
        ),
        "by_frequency": rows,
    }
