"""Customer lifetime value: discounted expected purchases × expected spend per purchase.

The horizon is cut into steps (monthly by default); each step's expected purchases are the
count model's conditional expectation at the step's end minus at its start, valued at the
Gamma-Gamma expected spend of the customer and discounted to T at the step's end:

    CLV = Σ_k  E[spend] · (E[X(T, T+t_k)] − E[X(T, T+t_(k−1))]) / (1 + rate)^(t_k days / 365.25)

This is lifetimes' `customer_lifetime_value`, vectorised over customers and with the
discount rate given per year.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.typing import ArrayLike

from segmint.predict.clv.base import CountModel, FitError, FloatArray, check_counts
from segmint.predict.clv.gamma_gamma import GammaGamma

#: Days in a year, for turning the annual discount rate into one per period.
DAYS_PER_YEAR = 365.25
#: Default cash-flow step: a month of days.
MONTH_DAYS = DAYS_PER_YEAR / 12


def customer_lifetime_value(
    count_model: CountModel,
    spend_model: GammaGamma,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    *,
    horizon_periods: float,
    period_days: float,
    annual_discount_rate: float,
    step_periods: float | None = None,
) -> FloatArray:
    """Discounted expected spend of each customer over the next `horizon_periods` periods.

    Periods are the count model's time unit (that of recency and T), `period_days` days
    each. `step_periods` is the cash-flow step (default: one month, 365.25/12 days); the
    last step ends at the horizon. `annual_discount_rate` 0.1 discounts a year away by 1.1.
    """
    _check_positive("horizon_periods", horizon_periods, allow_zero=True)
    _check_positive("period_days", period_days)
    if not (math.isfinite(annual_discount_rate) and annual_discount_rate > -1):
        raise FitError(
            f"annual_discount_rate must be a number > -1 (0.1 for 10 %), got "
            f"{annual_discount_rate!r}"
        )
    step = MONTH_DAYS / period_days if step_periods is None else step_periods
    _check_positive("step_periods", step)
    if not isinstance(count_model, CountModel):
        raise FitError(
            f"count_model must be a fitted count model, got {type(count_model).__name__}"
        )
    if not isinstance(spend_model, GammaGamma):
        raise FitError(f"spend_model must be a fitted GammaGamma, got {type(spend_model).__name__}")
    x, tx, age = check_counts(frequency, recency, T)
    spend = spend_model.conditional_expected_average_profit(x, monetary_value)
    if len(spend) != len(x):
        raise FitError(
            f"monetary_value must have one value per customer ({len(x):,}); got {len(spend):,}"
        )
    n_steps = math.ceil(horizon_periods / step - 1e-9) if horizon_periods > 0 else 0
    value = np.zeros(len(x))
    before = np.zeros(len(x))
    log_rate = math.log1p(annual_discount_rate)
    for k in range(1, n_steps + 1):
        end = min(k * step, horizon_periods)
        after = count_model.expected_purchases(end, x, tx, age)
        discount = math.exp(-log_rate * end * period_days / DAYS_PER_YEAR)
        value += (after - before) * discount
        before = after
    return np.asarray(value * spend)


def _check_positive(name: str, value: float, *, allow_zero: bool = False) -> None:
    ok = isinstance(value, numbers.Real) and math.isfinite(value)
    ok = ok and (value >= 0 if allow_zero else value > 0)
    if not ok:
        need = ">= 0" if allow_zero else "> 0"
        raise FitError(f"{name} must be a finite number {need}, got {value!r}")
