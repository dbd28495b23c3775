"""Pareto/NBD (Schmittlein, Morrison and Colombo 1987; Fader and Hardie 2005 notes).

While active, a customer buys at Poisson rate λ ~ Gamma(r, α) and drops out at an
exponential time of rate μ ~ Gamma(s, β). Following Fader and Hardie, "A note on deriving
the Pareto/NBD model and related expressions" (2005), the likelihood is

    L = Γ(r+x) α^r β^s / Γ(r) · [ 1 / ((α+T)^(r+x) (β+T)^s) + s/(r+s+x) · A0 ]

where A0 / (r+s+x) = I(t_x) − I(T) with the tail integral

    I(y) = ∫_y^∞ (α+τ)^−(r+x) (β+τ)^−(s+1) dτ
         = 2F1(r+s+x, s+1; r+s+x+1; (α−β)/(α+y)) / ((r+s+x) (α+y)^(r+s+x))     if α >= β
         = 2F1(r+s+x, r+x; r+s+x+1; (β−α)/(β+y)) / ((r+s+x) (β+y)^(r+s+x))     if α < β.

`log_tail` evaluates log I for any (A, p, B, q) after Euler's transformation
2F1(k, b; k+1; z) = (1−z)^(1−b) · 2F1(1, k+1−b; k+1; z), whose series has positive terms
falling at least geometrically at rate z < 1 and never overflows; it is summed in a
vectorised loop together with its derivatives in the parameters, so the log-likelihood
has an exact analytic gradient. log(I(t_x) − I(T)) is taken as log I(t_x) + log1mexp(·).
The same integral gives P(a purchase in the next t periods) and the median time to the
next purchase.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.special import digamma, expit, gammaln, hyp2f1

from segmint.predict.clv.base import (
    CountModel,
    Counts,
    FitError,
    FloatArray,
    IntArray,
    Objective,
    broadcast,
    check_counts,
    check_horizon,
    dot,
)

#: Relative precision at which the series stops.
SERIES_EPS = 1e-16
#: Most terms summed; enough for z < 0.98. Rows with z closer to 1 (α and β more than ~50x
#: apart) are finished by `_near_one`.
SERIES_MAX_TERMS = 2_000


def log1mexp(d: FloatArray) -> FloatArray:
    """log(1 − e^d) for d <= 0, accurate everywhere (−inf at d = 0)."""
    d = np.asarray(d, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(d > -0.6931471805599453, np.log(-np.expm1(d)), np.log1p(-np.exp(d)))


def _series(
    u: FloatArray, c: FloatArray, z: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """S = 2F1(1, u; c; z) = Σ (u)_n/(c)_n z^n for 0 <= z < 1, 0 < u < c, and the
    derivatives of log S in u, c and z.

    Terms are positive and each is the previous times z·(u+n)/(c+n) < z. A row leaves the
    loop once what is left of it, bounded geometrically, is below `SERIES_EPS` of its sum.
    (Summing blocks of terms as 2-D cumulative products was tried: 3x slower.)
    """
    n_rows = len(z)
    total, d_u, d_c, d_z = np.ones(n_rows), np.zeros(n_rows), np.zeros(n_rows), np.zeros(n_rows)
    rows = np.arange(n_rows)
    ua, ca, za = u.copy(), c.copy(), z.copy()
    term, hu, hc = np.ones(n_rows), np.zeros(n_rows), np.zeros(n_rows)
    # Running sums of the active rows (written back when a row leaves the loop).
    s_a, du_a, dc_a, dz_a = total.copy(), d_u.copy(), d_c.copy(), d_z.copy()
    n = 0
    while len(rows) and n < SERIES_MAX_TERMS:
        un = ua + n
        cn = ca + n
        slope = term * (un / cn)  # d(term n+1)/dz = (n+1)·slope
        hu += 1.0 / un
        hc += 1.0 / cn
        term = slope * za
        s_a += term
        du_a += term * hu
        dc_a -= term * hc
        dz_a += (n + 1) * slope
        n += 1
        if n % 8 == 0:
            gap = 1.0 - za
            tail = np.maximum(term, slope) * (n + 1 + 1.0 / gap) * (1.0 + hu + hc) / gap
            done = tail <= SERIES_EPS * s_a
            if done.any():
                idx = rows[done]
                total[idx], d_u[idx], d_c[idx], d_z[idx] = (
                    s_a[done],
                    du_a[done],
                    dc_a[done],
                    dz_a[done],
                )
                keep = ~done
                rows, ua, ca, za = rows[keep], ua[keep], ca[keep], za[keep]
                term, hu, hc = term[keep], hu[keep], hc[keep]
                s_a, du_a, dc_a, dz_a = s_a[keep], du_a[keep], dc_a[keep], dz_a[keep]
    if len(rows):
        total[rows], d_u[rows], d_c[rows], d_z[rows] = _near_one(ua, ca, za)
    return np.log(total), d_u / total, d_c / total, d_z / total


def _near_one(
    u: FloatArray, c: FloatArray, z: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """S and S·(d log S) in u, c, z for z close to 1, from scipy's hyp2f1 (which uses the
    z -> 1 - z connection formulas there): d/dz exactly, d/du and d/dc by central
    differences. Accurate to ~1e-14, ~1e-6 when c - u - 1 is within 1e-9 of an integer."""
    value = hyp2f1(1.0, u, c, z)
    d_z = u / c * hyp2f1(2.0, u + 1.0, c + 1.0, z)
    h_u = 1e-6 * u
    h_c = 1e-6 * c
    d_u = (np.log(hyp2f1(1.0, u + h_u, c, z)) - np.log(hyp2f1(1.0, u - h_u, c, z))) / (2 * h_u)
    d_c = (np.log(hyp2f1(1.0, u, c + h_c, z)) - np.log(hyp2f1(1.0, u, c - h_c, z))) / (2 * h_c)
    return value, d_u * value, d_c * value, d_z


def log_tail(
    y: ArrayLike, A: ArrayLike, p: ArrayLike, B: ArrayLike, q: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """log I(y) = log ∫_y^∞ (A+τ)^−p (B+τ)^−q dτ (A, B > 0, y >= 0, p, q > 0, p+q > 1), and
    its derivatives in A, p, B, q.

    With A >= B: I = (A+y)^−p (B+y)^−(q−1) / (p+q−1) · 2F1(1, p; p+q; (A−B)/(A+y));
    with A < B the roles of (A, p) and (B, q) swap.
    """
    y, A, p, B, q = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (y, A, p, B, q)))
    swap = A < B
    a1 = np.where(swap, B, A)
    b1 = np.where(swap, A, B)
    p1 = np.where(swap, q, p)
    q1 = np.where(swap, p, q)
    k = p1 + q1 - 1.0
    ay = a1 + y
    by = b1 + y
    la = np.log(ay)
    lb = np.log(by)
    z = (a1 - b1) / ay
    log_s, ds_u, ds_c, ds_z = _series(p1, p1 + q1, z)
    value = -np.log(k) - p1 * la - (q1 - 1.0) * lb + log_s
    d_p1 = -1.0 / k - la + ds_u + ds_c
    d_q1 = -1.0 / k - lb + ds_c
    d_a1 = -p1 / ay + ds_z * by / (ay * ay)
    d_b1 = -(q1 - 1.0) / by - ds_z / ay
    return (
        value,
        np.where(swap, d_b1, d_a1),
        np.where(swap, d_q1, d_p1),
        np.where(swap, d_a1, d_b1),
        np.where(swap, d_p1, d_q1),
    )


def _pairs(ix: IntArray, iy: IntArray, n_y: int) -> tuple[IntArray, IntArray]:
    """(first row of each distinct (x, y) pair, pair code of each row)."""
    codes, uniques = pd.factorize(ix.astype(np.int64) * n_y + iy, sort=False)
    first = np.full(len(uniques), len(ix), dtype=np.intp)
    np.minimum.at(first, codes, np.arange(len(ix), dtype=np.intp))
    return first, codes.astype(np.intp, copy=False)


class ParetoNBD(CountModel):
    """Pareto/NBD: `ParetoNBD().fit(frequency, recency, T)`; parameters r, alpha, s, beta."""

    name: ClassVar[str] = "pnbd"
    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")
    time_params: ClassVar[frozenset[str]] = frozenset({"alpha", "beta"})

    # ------------------------------------------------------------------------ fitting

    def _start(self, counts: Counts) -> FloatArray:
        rate = float(dot(counts.w, counts.x)) / max(float(dot(counts.w, counts.T)), 1e-300)
        rate = max(rate, 1e-12 / counts.scale)
        return np.log(np.array([1.0, 1.0 / rate, 1.0, counts.scale]))

    def _objective(self, counts: Counts) -> Objective:
        x, tx, T, w = counts.x, counts.tx, counts.T, counts.w
        total = counts.total
        xs = counts.xs
        wx = np.bincount(counts.ix, weights=w, minlength=len(xs))
        first_t, code_t = _pairs(counts.ix, counts.it, len(counts.ts))
        first_T, code_T = _pairs(counts.ix, counts.iT, len(counts.Ts))
        x_t, y_t = x[first_t], tx[first_t]
        x_T, y_T = x[first_T], T[first_T]
        same = tx == T

        def objective(theta: FloatArray) -> tuple[float, FloatArray]:
            r, alpha, s, beta = np.exp(theta)
            a1 = gammaln(r + xs) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
            l_at = np.log(alpha + T)
            l_bt = np.log(beta + T)
            c1 = -(r + x) * l_at - s * l_bt
            it, dA_t, dp_t, dB_t, dq_t = log_tail(y_t, alpha, r + x_t, beta, s + 1.0)
            iT, dA_T, dp_T, dB_T, dq_T = log_tail(y_T, alpha, r + x_T, beta, s + 1.0)
            lt, lT = it[code_t], iT[code_T]
            delta = np.where(same, 0.0, np.minimum(lT - lt, 0.0))
            c2 = np.log(s) + lt + log1mexp(delta)
            ll_rows = np.logaddexp(c1, c2)
            ll = float(dot(wx, a1) + dot(w, ll_rows))
            pi = np.exp(c2 - ll_rows)  # weight of the drop-out term
            rho = np.exp(delta)
            scale = np.where(same, 0.0, pi / np.where(same, 1.0, -np.expm1(delta)))
            wpi = w * scale  # d c2 = (dI_t − ρ dI_T)/(1 − ρ)
            wrho = wpi * rho
            w1 = w * (1.0 - pi)

            def through_c2(dt: FloatArray, dT: FloatArray) -> float:
                return float(dot(wpi, dt[code_t]) - dot(wrho, dT[code_T]))

            g_r = float(dot(wx, digamma(r + xs))) - total * (digamma(r) - np.log(alpha))
            g_r += -float(dot(w1, l_at)) + through_c2(dp_t, dp_T)
            g_alpha = total * r / alpha - float(dot(w1 * (r + x), 1.0 / (alpha + T)))
            g_alpha += through_c2(dA_t, dA_T)
            g_s = total * np.log(beta) - float(dot(w1, l_bt)) + float(dot(w, pi)) / s
            g_s += through_c2(dq_t, dq_T)
            g_beta = total * s / beta - float(dot(w1, s / (beta + T)))
            g_beta += through_c2(dB_t, dB_T)
            grad = np.array([g_r * r, g_alpha * alpha, g_s * s, g_beta * beta])
            return -ll / total, -grad / total

        return objective

    def _draw(self, rng: np.random.Generator, T: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Rates and lifetimes per customer; x ~ Poisson over the observed active time, the
        last purchase the largest of x uniform times in it."""
        r, alpha, s, beta = self._unpack()
        n = len(T)
        rate = rng.gamma(r, 1.0 / alpha, n)
        dropout = rng.gamma(s, 1.0 / beta, n)
        active = np.minimum(rng.exponential(1.0 / np.maximum(dropout, 1e-300)), T)
        x = rng.poisson(rate * active)
        last = rng.beta(np.maximum(x, 1), 1.0)
        return x.astype(np.float64), np.where(x > 0, active * last, 0.0)

    # -------------------------------------------------------------------- likelihood

    def _terms(
        self, params: tuple[float, ...], x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(log Γ-part, c1 = log of the "alive at T" term, c2 = log of the drop-out term)."""
        r, alpha, s, beta = params
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        c1 = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        lt = log_tail(tx, alpha, r + x, beta, s + 1.0)[0]
        lT = log_tail(T, alpha, r + x, beta, s + 1.0)[0]
        delta = np.where(tx == T, 0.0, np.minimum(lT - lt, 0.0))
        c2 = np.log(s) + lt + log1mexp(delta)
        return a1, c1, c2

    def _loglik(
        self, params: tuple[float, ...], x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        a1, c1, c2 = self._terms(params, x, tx, T)
        return np.asarray(a1 + np.logaddexp(c1, c2))

    # ------------------------------------------------------------------- predictions

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """P(still active at T | x, t_x, T) = 1 / (1 + e^(c2 − c1)) (note eq. 36)."""
        x, tx, age = check_counts(frequency, recency, T)
        _, c1, c2 = self._terms(self._unpack(), x, tx, age)
        return np.asarray(expit(c1 - c2))

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[purchases in (T, T+t] | history] = P(alive) · (r+x)/(α+T) · E[active time in
        the next t periods] (note eq. 41)."""
        horizon, x, tx, age = broadcast(t, frequency, recency, T)
        r, alpha, s, beta = params = self._unpack()
        _, c1, c2 = self._terms(params, x, tx, age)
        alive = expit(c1 - c2)
        active = (beta + age) * _power_integral(s - 1.0, np.log1p(horizon / (beta + age)))
        return np.asarray(alive * (r + x) / (alpha + age) * active)

    def _purchase_within(
        self, horizon: FloatArray, x: FloatArray, age: FloatArray, alive: FloatArray
    ) -> FloatArray:
        """P(a purchase in (T, T+horizon]) = P(alive) · (r+x) A^(r+x) B^s ∫_0^h
        (A+τ)^−(r+x+1) (B+τ)^−s dτ with A = α+T, B = β+T: the first purchase of an active
        customer comes at density E[λ e^−(λ+μ)τ] under the posterior of (λ, μ)."""
        r, alpha, s, beta = self._unpack()
        big_a, big_b, shape = alpha + age, beta + age, r + x
        i0 = log_tail(np.zeros_like(age), big_a, shape + 1.0, big_b, s)[0]
        bounded = np.isfinite(horizon)
        ih = log_tail(np.where(bounded, horizon, 0.0), big_a, shape + 1.0, big_b, s)[0]
        log_front = np.log(shape) + shape * np.log(big_a) + s * np.log(big_b)
        inside = np.where(bounded, log1mexp(np.minimum(ih - i0, 0.0)), 0.0)
        inside = np.where(horizon > 0, inside, -np.inf)
        return np.asarray(alive * np.exp(log_front + i0 + inside))

    def probability_of_purchase(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """P(at least one purchase in (T, T+t] | history): P(alive) times the chance that an
        active customer buys before dropping out, within t (see `_purchase_within`)."""
        horizon, x, tx, age = broadcast(t, frequency, recency, T)
        alive = self.probability_alive(x, tx, age)
        return self._purchase_within(horizon, x, age, alive)

    def expected_purchases_new(self, t: ArrayLike) -> FloatArray:
        """E[X(t)] = r β / (α (s−1)) · [1 − (β/(β+t))^(s−1)] (note eq. 27)."""
        horizon = check_horizon(t)
        r, alpha, s, beta = self._unpack()
        return np.asarray(r / alpha * beta * _power_integral(s - 1.0, np.log1p(horizon / beta)))

    def expected_next_purchase(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Periods from T until P(a purchase by then) reaches 1/2; inf when the chance of any
        further purchase (alive, and buying before dropping out) is <= 1/2.

        Solved by bisection on w/(w + α + T), 60 halvings. See
        `CountModel.expected_next_purchase` for why the median and not the mean.
        """
        x, tx, age = check_counts(frequency, recency, T)
        alive = self.probability_alive(x, tx, age)
        alpha = self._unpack()[1]
        ever = self._purchase_within(np.full(len(x), np.inf), x, age, alive)
        out = np.full(len(x), np.inf)
        ok = np.flatnonzero(ever > 0.5)
        if len(ok) == 0:
            return out
        lo = np.zeros(len(ok))
        hi = np.ones(len(ok))
        span = alpha + age[ok]
        for _ in range(60):
            mid = (lo + hi) / 2
            w = span * mid / (1.0 - mid)
            reached = self._purchase_within(w, x[ok], age[ok], alive[ok]) >= 0.5
            hi = np.where(reached, mid, hi)
            lo = np.where(reached, lo, mid)
        mid = (lo + hi) / 2
        out[ok] = span * mid / (1.0 - mid)
        if not np.all(np.isfinite(out[ok])):  # pragma: no cover - bisection stays in (0, 1)
            raise FitError("ParetoNBD.expected_next_purchase did not converge; please report")
        return out


def _power_integral(k: float, log_ratio: FloatArray) -> FloatArray:
    """(1 − e^(−k L)) / k with L = log_ratio >= 0, and its limit L at k = 0."""
    log_ratio = np.asarray(log_ratio, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        small = np.abs(k * log_ratio) < 1e-8
        safe_k = k if k != 0 else 1.0
        general = -np.expm1(-k * log_ratio) / safe_k
        out = np.where(small, log_ratio * (1.0 - k * log_ratio / 2), general)
    if k <= 0:  # the integral grows without bound; inf horizon gives inf
        out = np.where(np.isinf(log_ratio), np.inf, out)
    return np.asarray(out)
