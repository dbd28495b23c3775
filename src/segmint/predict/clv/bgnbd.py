"""BG/NBD (Fader, Hardie and Lee 2005, "Counting your customers the easy way").

While active, a customer buys at Poisson rate λ ~ Gamma(r, α); after each purchase they drop
out for good with probability p ~ Beta(a, b). The likelihood of (x, t_x, T) is

    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
      + [x > 0] B(a+1, b+x-1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))

evaluated in log space as log(first term) + softplus(d) with
d = log(a/(b+x-1)) + (r+x)·(log(α+T) − log(α+t_x)); P(alive) = 1/(1 + e^d).

`BetaGeoFamily` also serves MBG/NBD (Batislam et al. 2007), where a customer can drop out
right after the first purchase too: every formula above with b+x → b+x+1 in the Beta terms
and the second term present for x = 0 as well (`offset` = 1).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from segmint.predict.clv.base import (
    CountModel,
    Counts,
    FitError,
    FloatArray,
    Objective,
    broadcast,
    check_counts,
    check_horizon,
    dot,
)


class BetaGeoFamily(CountModel):
    """BG/NBD-type models: Gamma purchase rates, Beta drop-out after purchases."""

    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    time_params: ClassVar[frozenset[str]] = frozenset({"alpha"})
    #: 0 for BG/NBD; 1 for MBG/NBD (a drop-out chance right after the first purchase too).
    offset: ClassVar[int] = 0

    # ------------------------------------------------------------------------ fitting

    def _start(self, counts: Counts) -> FloatArray:
        rate = float(dot(counts.w, counts.x)) / max(float(dot(counts.w, counts.T)), 1e-300)
        rate = max(rate, 1e-12 / counts.scale)
        return np.log(np.array([1.0, 1.0 / rate, 1.0, 1.0]))

    def _objective(self, counts: Counts) -> Objective:
        o = float(self.offset)
        xs, Ts, ts = counts.xs, counts.Ts, counts.ts
        total = counts.total
        wx = np.bincount(counts.ix, weights=counts.w, minlength=len(xs))  # weight per x
        wT = np.bincount(counts.iT, weights=counts.w, minlength=len(Ts))  # weight per T
        wxT = np.bincount(counts.iT, weights=counts.w * counts.x, minlength=len(Ts))
        # Rows with a second likelihood term (x + offset > 0) carry per-row work.
        act = counts.x + o > 0
        ax = counts.x[act]
        aw = counts.w[act]
        aix, ait, aiT = counts.ix[act], counts.it[act], counts.iT[act]
        has_second = xs + o > 0
        unit = bool(np.all(aw == 1.0))

        def objective(theta: FloatArray) -> tuple[float, FloatArray]:
            r, alpha, a, b = np.exp(theta)
            rx = r + xs
            bxo = b + xs + o
            # Per distinct x: log Γ(r+x) − log Γ(r) + r log α and the Beta ratio.
            a1 = gammaln(rx) - gammaln(r) + r * np.log(alpha)
            b1 = betaln(a, bxo) - betaln(a, b)
            with np.errstate(divide="ignore"):
                dx = np.where(has_second, np.log(a) - np.log(np.where(has_second, bxo - 1, 1)), 0)
            log_aT = np.log(alpha + Ts)
            inv_aT = 1.0 / (alpha + Ts)
            ll = float(dot(wx, a1 + b1) - r * dot(wT, log_aT) - dot(wxT, log_aT))
            g_r = float(dot(wx, digamma(rx)) - total * digamma(r) + total * np.log(alpha))
            g_r -= float(dot(wT, log_aT))
            g_alpha = total * r / alpha - float(dot(r * wT + wxT, inv_aT))
            dig_ab = digamma(a + b)
            dig_abx = digamma(a + bxo)
            g_a = float(dot(wx, dig_ab - dig_abx))
            g_b = float(dot(wx, digamma(bxo) - dig_abx - digamma(b) + dig_ab))
            if len(ax):
                log_at = np.log(alpha + ts)
                inv_at = 1.0 / (alpha + ts)
                diff = log_aT[aiT] - log_at[ait]
                arx = r + ax
                d = dx[aix] + arx * diff
                # softplus(d) and sigmoid(d) from one exponential.
                e = np.exp(-np.abs(d))
                one_e = 1.0 + e
                ll += float(dot(aw, np.maximum(d, 0.0))) + float(dot(aw, np.log1p(e)))
                ws = np.where(d > 0, 1.0, e) / one_e
                if not unit:
                    ws *= aw
                g_r += float(dot(ws, diff))
                g_alpha += float(dot(ws * arx, inv_aT[aiT] - inv_at[ait]))
                per_x = np.bincount(aix, weights=ws, minlength=len(xs))
                g_a += float(per_x.sum()) / a
                g_b -= float(dot(per_x[has_second], 1.0 / (bxo[has_second] - 1)))
            grad = np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b])
            return -ll / total, -grad / total

        return objective

    def _draw(self, rng: np.random.Generator, T: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Rates and drop-out chances per customer; the purchases are the first min(J, N)
        events of the Poisson process on (0, T], J the purchases until drop-out."""
        r, alpha, a, b = self._unpack()
        n = len(T)
        rate = rng.gamma(r, 1.0 / alpha, n)
        p = rng.beta(a, b, n)
        events = rng.poisson(rate * T)
        until_dropout = rng.geometric(np.maximum(p, 1e-300)) - self.offset
        x = np.minimum(events, until_dropout)
        # The x-th of N uniform event times on (0, T] is T·Beta(x, N − x + 1).
        last = rng.beta(np.maximum(x, 1), np.maximum(events - x, 0) + 1)
        return x.astype(np.float64), np.where(x > 0, T * last, 0.0)

    # -------------------------------------------------------------------- likelihood

    def _loglik(
        self, params: tuple[float, ...], x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        r, alpha, a, b = params
        o = self.offset
        first = (
            gammaln(r + x)
            - gammaln(r)
            + r * np.log(alpha)
            + betaln(a, b + x + o)
            - betaln(a, b)
            - (r + x) * np.log(alpha + T)
        )
        return first + np.logaddexp(0.0, self._log_odds_dead(params, x, tx, T))

    def _log_odds_dead(
        self, params: tuple[float, ...], x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        """d = log(second term / first term); −inf where there is no second term."""
        r, alpha, a, b = params
        o = self.offset
        second = x + o > 0
        safe = np.where(second, b + x + o - 1, 1.0)
        d = np.log(a) - np.log(safe) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
        return np.where(second, d, -np.inf)

    # ------------------------------------------------------------------- predictions

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """P(still active at T | x, t_x, T) = 1 / (1 + e^d) (1 for BG/NBD when x = 0)."""
        x, tx, age = check_counts(frequency, recency, T)
        return np.asarray(expit(-self._log_odds_dead(self._unpack(), x, tx, age)))

    def _expected_if_alive(
        self, t: FloatArray, r: FloatArray, alpha: FloatArray, a: float, b: FloatArray
    ) -> FloatArray:
        """Expected purchases in the next t periods of a customer known to be active now,
        whose rate is Gamma(r, alpha) and drop-out probability Beta(a, b) (a posterior).

        BG/NBD eq. (9)/(10) after Euler's transformation, which keeps every factor bounded:
        (a+b+o−1)/(a−1) · [1 − (1−z)^(a−1) · 2F1(a+b+o−1−r, a−1; a+b+o−1; z)],
        z = t/(alpha+t); the removable singularity at a = 1 is bridged by averaging a ± 1e-5.
        """
        if abs(a - 1.0) < 1e-6:
            lo = self._expected_if_alive(t, r, alpha, 1.0 - 1e-5, b)
            hi = self._expected_if_alive(t, r, alpha, 1.0 + 1e-5, b)
            return np.asarray((lo + hi) / 2)
        o = self.offset
        c = a + b + o - 1
        z = t / (alpha + t)
        log1mz = -np.log1p(t / alpha)
        hyp = hyp2f1(c - r, a - 1.0, c, z)
        inner = -np.expm1((a - 1.0) * log1mz + np.log(hyp))
        out = c / (a - 1.0) * inner
        return np.asarray(np.where(t > 0, out, 0.0))

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[purchases in (T, T+t] | x, t_x, T] = P(alive) × E[purchases | alive, posterior]
        (BG/NBD eq. 10; MBG/NBD: Wagner and Hoppe 2008)."""
        horizon, x, tx, age = broadcast(t, frequency, recency, T)
        params = self._unpack()
        r, alpha, a, b = params
        alive = expit(-self._log_odds_dead(params, x, tx, age))
        # Given active at T: rate ~ Gamma(r+x, alpha+T), p ~ Beta(a, b+x) (MBG: b+x+1 − 1 in c).
        inner = self._expected_if_alive(horizon, r + x, alpha + age, a, b + x)
        return self._finite(alive * inner, "expected_purchases")

    def probability_of_purchase(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """P(at least one purchase in (T, T+t] | history) = P(alive) · (1 − ((α+T)/(α+T+t))^(r+x)).

        An active customer drops out only right after a purchase, so their next purchase
        comes at their Poisson rate, whose posterior is Gamma(r+x, α+T).
        """
        horizon, x, tx, age = broadcast(t, frequency, recency, T)
        params = self._unpack()
        r, alpha, _, _ = params
        alive = expit(-self._log_odds_dead(params, x, tx, age))
        buys = -np.expm1(-(r + x) * np.log1p(horizon / (alpha + age)))
        return np.asarray(alive * buys)

    def expected_purchases_new(self, t: ArrayLike) -> FloatArray:
        """E[X(t)] for a new customer (BG/NBD eq. 9; MBG/NBD: Batislam et al. eq. 8)."""
        horizon = check_horizon(t)
        r, alpha, a, b = self._unpack()
        ones = np.ones_like(horizon)
        inner = self._expected_if_alive(horizon, r * ones, alpha * ones, a, b * ones)
        if self.offset:  # alive after the first purchase with probability b/(a+b)
            inner = inner * b / (a + b)
        return self._finite(inner, "expected_purchases_new")

    def expected_next_purchase(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Periods from T until P(a purchase by then) reaches 1/2; inf if P(alive) <= 1/2.

        Solves P(alive) · (1 − ((α+T)/(α+T+w))^(r+x)) = 1/2 in closed form. An active
        customer always buys again, so the chance of any further purchase is P(alive).
        See `CountModel.expected_next_purchase` for why the median and not the mean.
        """
        x, tx, age = check_counts(frequency, recency, T)
        params = self._unpack()
        r, alpha, _, _ = params
        alive = expit(-self._log_odds_dead(params, x, tx, age))
        out = np.full(len(x), np.inf)
        ok = alive > 0.5
        with np.errstate(divide="ignore"):
            log_keep = np.log1p(-0.5 / alive[ok])
        out[ok] = (alpha + age[ok]) * np.expm1(-log_keep / (r + x[ok]))
        return out

    def _finite(self, values: Any, what: str) -> FloatArray:
        array = np.asarray(values, dtype=np.float64)
        if not np.all(np.isfinite(array)):
            raise FitError(
                f"{type(self).__name__}.{what} is not finite for some customers with "
                f"parameters {self.params_}; please report this with the data"
            )
        return array


class BetaGeoNBD(BetaGeoFamily):
    """BG/NBD: `BetaGeoNBD().fit(frequency, recency, T)`; parameters r, alpha, a, b.

    Hyperparameters (keyword only): `max_iter`, `tol` (largest gradient of the mean
    log-likelihood accepted), `subsample` (distinct rows used for the warm start), `seed`.
    """

    name: ClassVar[str] = "bgnbd"
    offset: ClassVar[int] = 0
