"""Gamma-Gamma spend model (Fader and Hardie 2013, "The Gamma-Gamma model of monetary value").

A customer's spends per purchase are Gamma(p, ν) with their own ν ~ Gamma(q, γ), so the mean
m of x repeat purchases has the likelihood

    f(m | x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q · m^(px−1) · x^(px) / (γ + m x)^(px+q)

and the expected spend per purchase given (x, m) is (γ + m x)·p / (p x + q − 1): a weighted
mean of the customer's own mean and the population mean pγ/(q−1). It is fitted on the
customers with at least one repeat purchase (others carry no spend information beyond their
first purchase, which the model leaves out), and it needs q > 1 for the mean to exist.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln

from segmint.predict.clv.base import (
    BOUND,
    Estimator,
    FitError,
    FloatArray,
    Objective,
    as_vector,
    check_finite,
    check_frequency,
    check_weights,
    checked_params,
    columns_of,
    dot,
    factorize,
    fmt_count,
    optimise,
    standard_errors,
)


def check_spend(frequency: ArrayLike, monetary_value: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """(frequency, monetary_value) checked: whole frequencies >= 0, and a finite spend > 0
    wherever frequency > 0 (the spend of a customer without repeat purchases is ignored)."""
    x = as_vector("frequency", frequency)
    m = as_vector("monetary_value", monetary_value)
    if len(x) != len(m):
        raise FitError(
            f"frequency and monetary_value must have one length; got {len(x)} and {len(m)}"
        )
    check_frequency(x)
    repeat = x > 0
    check_finite("monetary_value", np.where(repeat, m, 1.0))
    bad = repeat & (m <= 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        detail = (
            f"{m[row]:g} <= 0 with frequency {x[row]:g}; Gamma-Gamma needs a positive mean "
            "spend for customers with repeat purchases"
        )
        more = f" ({int(bad.sum()) - 1:,} more like it)" if bad.sum() > 1 else ""
        raise FitError(
            f"monetary_value: row {row}: {detail}{more}",
            column="monetary_value",
            row=row,
            detail=detail,
            count=int(bad.sum()),
        )
    return x, np.where(repeat, m, 0.0)


class GammaGamma(Estimator):
    """Gamma-Gamma: `GammaGamma().fit(frequency, monetary_value)`; parameters p, q, gamma.

    Customers with frequency 0 are ignored by the fit (their monetary_value may be 0).
    Hyperparameters as for the count models.
    """

    name: ClassVar[str] = "gamma-gamma"
    param_names: ClassVar[tuple[str, ...]] = ("p", "q", "gamma")
    min_repeat_customers: ClassVar[int] = 10

    def fit(
        self,
        frequency: Any,
        monetary_value: ArrayLike | None = None,
        *,
        weights: ArrayLike | None = None,
    ) -> Self:
        """Fit by maximum likelihood on the customers with frequency > 0; `frequency` may be
        a DataFrame with columns frequency, monetary_value. Raises FitError when the data
        cannot support a fit (too few repeat customers, q <= 1, no convergence)."""
        self._check_hyperparameters()
        cols = columns_of(frequency, ("frequency", "monetary_value"), monetary_value, None)
        if cols is not None:
            frequency, monetary_value = cols
        elif monetary_value is None:
            raise FitError("fit needs frequency and monetary_value (or one DataFrame with them)")
        x, m = check_spend(frequency, monetary_value)
        w = check_weights(weights, len(x))
        keep = (x > 0) & (w > 0)
        x, m, w = x[keep], m[keep], w[keep]
        repeat = float(w.sum())
        cls = type(self).__name__
        if repeat < self.min_repeat_customers:
            raise FitError(
                f"only {fmt_count(repeat)} customers made a repeat purchase; {cls} needs at "
                f"least {self.min_repeat_customers} to estimate the spread of spend"
            )
        if np.ptp(m) <= 1e-12 * float(np.max(m)):
            raise FitError(
                f"{cls} fit is degenerate: every repeat customer has the same mean spend "
                f"({m[0]:g}); there is no variation in spend to model"
            )
        mean = float(dot(w, m) / repeat)
        scales = np.array([1.0, 1.0, mean])
        bounds = [(float(np.log(s / BOUND)), float(np.log(s * BOUND))) for s in scales]
        theta0 = np.log(np.array([1.0, 2.0, mean]))
        optimum = optimise(
            self._objective(x, m, w), theta0, bounds, max_iter=self.max_iter, tol=self.tol
        )
        params = checked_params(self, optimum, scales)
        if params["q"] <= 1:
            raise FitError(
                f"{cls} fit gives q = {params['q']:.3g} <= 1: spend per purchase has no finite "
                "mean under these data (spend is too skewed); Gamma-Gamma does not fit them"
            )
        self._set_fitted(
            params,
            log_likelihood=-optimum.value * repeat,
            n_customers=round(repeat),
            n_repeat_customers=round(repeat),
            converged=optimum.converged,
            n_iter=optimum.iterations,
            standard_errors=standard_errors(self.param_names, optimum, params, repeat),
        )
        return self

    @staticmethod
    def _objective(x: FloatArray, m: FloatArray, w: FloatArray) -> Objective:
        total = float(w.sum())
        xs, ix = factorize(x)
        wx = np.bincount(ix, weights=w, minlength=len(xs))
        xm = x * m
        log_xm = np.log(xm)
        const = float(dot(w, np.log(m)))  # the −log m of the density
        w_log_xm = float(dot(w * x, log_xm))
        wxs = wx * xs

        def objective(theta: FloatArray) -> tuple[float, FloatArray]:
            p, q, gamma = np.exp(theta)
            px = p * xs
            log_den = np.log(xm + gamma)
            pxq_row = p * x + q
            ll = float(
                dot(wx, gammaln(px + q) - gammaln(px))
                - total * (gammaln(q) - q * np.log(gamma))
                + p * w_log_xm
                - const
                - dot(w * pxq_row, log_den)
            )
            dig_pxq = digamma(px + q)
            g_p = float(dot(wxs, dig_pxq - digamma(px))) + w_log_xm
            g_p -= float(dot(w * x, log_den))
            g_q = float(dot(wx, dig_pxq)) - total * (digamma(q) - np.log(gamma))
            g_q -= float(dot(w, log_den))
            g_gamma = total * q / gamma - float(dot(w, pxq_row / (xm + gamma)))
            grad = np.array([g_p * p, g_q * q, g_gamma * gamma])
            return -ll / total, -grad / total

        return objective

    def _unpack(self) -> tuple[float, float, float]:
        params = self._require_fitted()
        return params["p"], params["q"], params["gamma"]

    def log_likelihood(self, frequency: ArrayLike, monetary_value: ArrayLike) -> FloatArray:
        """Each customer's log-likelihood of their mean spend (NaN where frequency is 0)."""
        x, m = check_spend(frequency, monetary_value)
        p, q, gamma = self._unpack()
        repeat = x > 0
        xs = np.where(repeat, x, 1.0)
        ms = np.where(repeat, m, 1.0)
        ll = (
            gammaln(p * xs + q)
            - gammaln(p * xs)
            - gammaln(q)
            + q * np.log(gamma)
            + (p * xs - 1) * np.log(ms)
            + p * xs * np.log(xs)
            - (p * xs + q) * np.log(xs * ms + gamma)
        )
        return np.where(repeat, ll, np.nan)

    def conditional_expected_average_profit(
        self, frequency: ArrayLike, monetary_value: ArrayLike
    ) -> FloatArray:
        """E[spend per purchase | x, m] = (γ + m x)·p / (p x + q − 1) (eq. 5 of the note);
        the population mean pγ/(q−1) for customers without a repeat purchase."""
        x, m = check_spend(frequency, monetary_value)
        p, q, gamma = self._unpack()
        return np.asarray((gamma + m * x) * p / (p * x + q - 1))

    def simulate(self, frequency: ArrayLike, *, seed: int | np.random.Generator = 0) -> FloatArray:
        """Draw each customer's mean spend over their `frequency` repeat purchases (0 where
        frequency is 0): ν ~ Gamma(q, γ), mean ~ Gamma(p·x, x·ν)."""
        x = as_vector("frequency", frequency)
        check_frequency(x)
        p, q, gamma = self._unpack()
        rng = np.random.default_rng(seed)
        nu = rng.gamma(q, 1.0 / gamma, len(x))
        shape = np.maximum(p * x, 1e-300)
        mean = rng.gamma(shape, 1.0 / (np.maximum(x, 1.0) * nu))
        return np.where(x > 0, mean, 0.0)

    def expected_spend_new(self) -> float:
        """Expected spend per purchase of a customer we know nothing about: pγ/(q−1)."""
        p, q, gamma = self._unpack()
        return p * gamma / (q - 1)
