"""CLV models: gradients, likelihood against the papers' formulas, parameter recovery,
weights, degenerate data, numerical stability, predictions' identities, saving."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from segmint.errors import SegmintError
from segmint.predict.clv import (
    MODELS,
    BetaGeoNBD,
    CountModel,
    FitError,
    GammaGamma,
    ModifiedBetaGeoNBD,
    ParetoNBD,
    customer_lifetime_value,
    rfm_summary,
)
from segmint.predict.clv.base import compress
from segmint.predict.clv.pnbd import log_tail

COUNT = [BetaGeoNBD, ModifiedBetaGeoNBD, ParetoNBD]
TRUTH: dict[type[CountModel], dict[str, float]] = {
    BetaGeoNBD: {"r": 0.8, "alpha": 10.0, "a": 1.2, "b": 4.0},
    ModifiedBetaGeoNBD: {"r": 0.8, "alpha": 10.0, "a": 1.2, "b": 4.0},
    ParetoNBD: {"r": 0.8, "alpha": 10.0, "s": 1.0, "beta": 20.0},
}


def simulated(cls: type[CountModel], n: int, seed: int = 1, lo: float = 30, hi: float = 60):
    ages = np.random.default_rng(seed).uniform(lo, hi, n)
    return cls.from_params(**TRUTH[cls]).simulate(ages, seed=seed + 1)


# ------------------------------------------------------------------- gradients


def _fd(objective: Any, theta: np.ndarray, h: float = 1e-6) -> np.ndarray:
    return np.array(
        [
            (objective(theta + h * e)[0] - objective(theta - h * e)[0]) / (2 * h)
            for e in np.eye(len(theta))
        ]
    )


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (BetaGeoNBD, [0.3, 5.0, 0.7, 2.5]),
        (BetaGeoNBD, [2.0, 40.0, 3.0, 0.5]),
        (ModifiedBetaGeoNBD, [0.5, 6.0, 0.9, 1.6]),
        (ParetoNBD, [0.5, 10.0, 0.6, 12.0]),  # alpha < beta
        (ParetoNBD, [1.5, 30.0, 2.0, 4.0]),  # alpha > beta
        (ParetoNBD, [0.7, 9.0, 1.3, 9.0]),  # alpha = beta
    ],
)
def test_analytic_gradient_matches_finite_differences(
    cls: type[CountModel], params: list[float]
) -> None:
    data = simulated(cls, 400)
    counts = compress(
        *(data[c].to_numpy() for c in ("frequency", "recency", "T")), np.ones(len(data))
    )
    objective = cls()._objective(counts)
    theta = np.log(params)
    _, grad = objective(theta)
    np.testing.assert_allclose(grad, _fd(objective, theta), rtol=1e-5, atol=1e-8)


def test_gamma_gamma_gradient_matches_finite_differences() -> None:
    x = np.random.default_rng(0).poisson(3, 500).astype(float) + 1
    m = GammaGamma.from_params(p=6.0, q=4.0, gamma=15.0).simulate(x, seed=1)
    objective = GammaGamma._objective(x, m, np.ones(len(x)))
    for params in ([6.0, 4.0, 15.0], [1.0, 1.5, 100.0]):
        theta = np.log(params)
        np.testing.assert_allclose(objective(theta)[1], _fd(objective, theta), rtol=1e-5, atol=1e-8)


# ------------------------------------------------- likelihood against the papers


FEW = pd.DataFrame(
    {
        "frequency": [0, 1, 2, 5, 7, 0, 3],
        "recency": [0.0, 1.7, 30.4, 20.0, 38.0, 0.0, 38.86],
        "T": [38.86, 38.86, 38.86, 33.0, 38.0, 1.5, 38.86],
    }
)


def _rows() -> list[tuple[int, float, float]]:
    return [(int(x), float(t), float(T)) for x, t, T in FEW.itertuples(index=False)]


def bgnbd_by_hand(r: float, alpha: float, a: float, b: float, *, modified: bool) -> list[float]:
    """Fader, Hardie and Lee (2005) eq. (6); Batislam et al. (2007) for MBG/NBD."""
    out = []
    for x, tx, T in _rows():
        nbd_T = math.gamma(r + x) * alpha**r / (math.gamma(r) * (alpha + T) ** (r + x))
        nbd_t = math.gamma(r + x) * alpha**r / (math.gamma(r) * (alpha + tx) ** (r + x))
        if modified:
            like = special.beta(a, b + x + 1) / special.beta(a, b) * nbd_T
            like += special.beta(a + 1, b + x) / special.beta(a, b) * nbd_t
        else:
            like = special.beta(a, b + x) / special.beta(a, b) * nbd_T
            if x > 0:
                like += special.beta(a + 1, b + x - 1) / special.beta(a, b) * nbd_t
        out.append(math.log(like))
    return out


def pnbd_by_hand(r: float, alpha: float, s: float, beta: float) -> list[float]:
    """Fader and Hardie (2005), "A note on deriving the Pareto/NBD model", eq. (18)-(20),
    with scipy's hyp2f1 in the paper's own form."""
    out = []
    for x, tx, T in _rows():
        k = r + s + x
        if alpha >= beta:
            big, second = alpha, s + 1

        else:
            big, second = beta, r + x

        def f(y: float, k: float = k, big: float = big, second: float = second) -> float:
            z = abs(alpha - beta) / (big + y)
            return float(special.hyp2f1(k, second, k + 1, z) / (big + y) ** k)

        a0 = f(tx) - f(T)
        front = math.gamma(r + x) * alpha**r * beta**s / math.gamma(r)
        like = front * (1 / ((alpha + T) ** (r + x) * (beta + T) ** s) + s / k * a0)
        out.append(math.log(like))
    return out


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (BetaGeoNBD, (0.243, 4.414, 0.793, 2.426)),
        (ModifiedBetaGeoNBD, (0.525, 6.183, 0.891, 1.614)),
        (ParetoNBD, (0.553, 10.578, 0.606, 11.669)),
        (ParetoNBD, (0.9, 30.0, 1.4, 6.0)),
        (ParetoNBD, (0.8, 5.0, 0.5, 5.0)),
    ],
)
def test_log_likelihood_equals_the_papers_formula(
    cls: type[CountModel], params: tuple[float, ...]
) -> None:
    model = cls.from_params(**dict(zip(cls.param_names, params, strict=True)))
    ours = model.log_likelihood(FEW["frequency"], FEW["recency"], FEW["T"])
    if cls is ParetoNBD:
        expected = pnbd_by_hand(*params)
    else:
        expected = bgnbd_by_hand(*params, modified=cls is ModifiedBetaGeoNBD)
    np.testing.assert_allclose(ours, expected, rtol=1e-10)


def test_gamma_gamma_log_likelihood_equals_the_notes_formula() -> None:
    p, q, gamma = 6.25, 3.74, 15.44
    x = np.array([1.0, 2, 5, 12])
    m = np.array([10.0, 35.5, 22.1, 80.0])
    by_hand = [
        math.lgamma(p * xi + q)
        - math.lgamma(p * xi)
        - math.lgamma(q)
        + q * math.log(gamma)
        + (p * xi - 1) * math.log(mi)
        + p * xi * math.log(xi)
        - (p * xi + q) * math.log(gamma + mi * xi)
        for xi, mi in zip(x, m, strict=True)
    ]
    ours = GammaGamma.from_params(p=p, q=q, gamma=gamma).log_likelihood(x, m)
    np.testing.assert_allclose(ours, by_hand, rtol=1e-12)


def test_fitted_log_likelihood_is_the_sum_of_the_per_customer_values() -> None:
    data = simulated(BetaGeoNBD, 3000)
    model = BetaGeoNBD().fit(data)
    total = model.log_likelihood(data["frequency"], data["recency"], data["T"]).sum()
    assert model.log_likelihood_ == pytest.approx(total, rel=1e-12)


# ---------------------------------------------------------------- recovery


@pytest.mark.parametrize("cls", COUNT)
def test_parameters_are_recovered_from_simulated_data(cls: type[CountModel]) -> None:
    data = simulated(cls, 40_000, lo=150, hi=300)
    model = cls().fit(data)
    assert model.converged_
    for name, true in TRUTH[cls].items():
        error = model.params_[name] / true - 1
        assert abs(error) < 0.05, (name, model.params_)
        assert abs(model.params_[name] - true) < 3 * model.standard_errors_[name], name


def test_gamma_gamma_parameters_are_recovered() -> None:
    truth = {"p": 6.0, "q": 4.0, "gamma": 15.0}
    x = np.random.default_rng(3).poisson(3, 40_000).astype(float)
    m = GammaGamma.from_params(**truth).simulate(x, seed=4)
    model = GammaGamma().fit(x, m)
    assert model.n_customers_ == int((x > 0).sum())
    for name, true in truth.items():
        assert abs(model.params_[name] / true - 1) < 0.05, model.params_


def test_subsample_warm_start_reaches_the_same_optimum() -> None:
    data = simulated(BetaGeoNBD, 20_000)
    full = BetaGeoNBD().fit(data)
    quick = BetaGeoNBD(subsample=1000).fit(data)
    for name in full.params_:
        assert quick.params_[name] == pytest.approx(full.params_[name], rel=1e-6)
    assert quick.log_likelihood_ == pytest.approx(full.log_likelihood_, rel=1e-12)


# ------------------------------------------------------------------ weights


@pytest.mark.parametrize("cls", COUNT)
def test_weights_equal_repeated_rows(cls: type[CountModel]) -> None:
    data = simulated(cls, 800).round(1)
    weights = np.random.default_rng(5).integers(1, 4, len(data))
    repeated = data.loc[data.index.repeat(weights)].reset_index(drop=True)
    weighted = cls().fit(data, weights=weights)
    plain = cls().fit(repeated)
    assert weighted.n_customers_ == plain.n_customers_ == int(weights.sum())
    for name in plain.params_:
        assert weighted.params_[name] == pytest.approx(plain.params_[name], rel=1e-6)
    assert weighted.log_likelihood_ == pytest.approx(plain.log_likelihood_, rel=1e-10)


def test_gamma_gamma_weights_equal_repeated_rows() -> None:
    x = np.random.default_rng(6).poisson(2, 600).astype(float) + 1
    m = np.round(GammaGamma.from_params(p=6.0, q=4.0, gamma=15.0).simulate(x, seed=7), 1)
    w = np.random.default_rng(8).integers(1, 4, len(x))
    weighted = GammaGamma().fit(x, m, weights=w)
    plain = GammaGamma().fit(np.repeat(x, w), np.repeat(m, w))
    for name in plain.params_:
        assert weighted.params_[name] == pytest.approx(plain.params_[name], rel=1e-6)


# ---------------------------------------------------------- errors and degenerate data


GOOD = {"frequency": [1, 0, 2], "recency": [2.0, 0.0, 5.0], "T": [6.0, 6.0, 6.0]}


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("frequency", [1, -1, 2], "frequency: row 1: -1 is negative; it must be >= 0"),
        ("frequency", [1, 0.5, 2], "frequency: row 1: 0.5 is not a whole number"),
        ("frequency", [1, np.nan, 2], "frequency: row 1: missing value"),
        ("recency", [2.0, 0.0, 7.0], "recency: row 2: recency 7 > T 6; the last purchase cannot"),
        ("recency", [2.0, 1.0, 5.0], "recency: row 1: recency 1 with frequency 0"),
        ("recency", [-2.0, 0.0, 5.0], "recency: row 0: -2 is negative"),
        ("T", [6.0, np.inf, 6.0], "T: row 1: inf is not a finite number"),
    ],
)
@pytest.mark.parametrize("cls", COUNT)
def test_bad_values_name_the_column_and_row(
    cls: type[CountModel], column: str, values: list[float], message: str
) -> None:
    data = {**GOOD, column: values}
    with pytest.raises(FitError, match=message.replace("(", r"\(")) as info:
        cls().fit(data["frequency"], data["recency"], data["T"])
    assert info.value.column == column
    assert isinstance(info.value, SegmintError)


def test_too_few_customers_and_repeat_customers_say_how_many() -> None:
    with pytest.raises(FitError, match="BetaGeoNBD needs at least 20 customers; got 3"):
        BetaGeoNBD().fit(GOOD["frequency"], GOOD["recency"], GOOD["T"])
    x = [0] * 40 + [1] * 4
    r = [0.0] * 40 + [1.0] * 4
    with pytest.raises(
        FitError,
        match=r"only 4 of 44 customers made a repeat purchase; ParetoNBD needs at least 10",
    ):
        ParetoNBD().fit(x, r, [5.0] * 44)


@pytest.mark.parametrize("cls", COUNT)
def test_degenerate_data_are_refused(cls: type[CountModel]) -> None:
    with pytest.raises(FitError, match="all 50 customers have the same frequency, recency and T"):
        cls().fit([2] * 50, [3.0] * 50, [8.0] * 50)
    with pytest.raises(FitError, match=r"degenerate: .* ran off towards the bounds"):
        cls().fit([2] * 30 + [1] * 30, [3.0] * 30 + [1.0] * 30, [8.0] * 60)


@pytest.mark.parametrize("cls", COUNT)
def test_no_sign_of_drop_out_is_refused(cls: type[CountModel]) -> None:
    ages = np.random.default_rng(0).uniform(30, 60, 2000)
    x = np.random.default_rng(1).poisson(0.3 * ages).astype(float)
    with pytest.raises(FitError, match=r"(degenerate|did not converge)"):
        cls().fit(x, np.where(x > 0, ages, 0.0), ages)


def test_gamma_gamma_errors() -> None:
    with pytest.raises(FitError, match=r"monetary_value: row 1: -5 <= 0 with frequency 2"):
        GammaGamma().fit([1, 2, 0], [3.0, -5.0, 0.0])
    with pytest.raises(FitError, match="only 2 customers made a repeat purchase"):
        GammaGamma().fit([1, 2, 0], [3.0, 5.0, 0.0])
    with pytest.raises(FitError, match="every repeat customer has the same mean spend"):
        GammaGamma().fit([1, 2, 3] * 10, [5.0] * 30)


def test_gamma_gamma_with_q_below_one_is_refused() -> None:
    x = np.random.default_rng(9).poisson(3, 5000).astype(float) + 1
    m = GammaGamma.from_params(p=2.0, q=0.6, gamma=5.0).simulate(x, seed=10)
    with pytest.raises(FitError, match=r"q = 0\.\d+ <= 1: spend per purchase has no finite mean"):
        GammaGamma().fit(x, m)


def test_dataframe_input_and_missing_column() -> None:
    data = simulated(BetaGeoNBD, 500)
    assert (
        BetaGeoNBD().fit(data).params_
        == BetaGeoNBD().fit(data["frequency"], data["recency"], data["T"]).params_
    )
    with pytest.raises(
        FitError, match=r"Required column 'T' missing \(columns: frequency, recency\)"
    ):
        BetaGeoNBD().fit(data[["frequency", "recency"]])


def test_hyperparameters_are_checked_with_one_message_shape() -> None:
    with pytest.raises(
        FitError,
        match=r"The 'max_iter' parameter of BetaGeoNBD must be an int >= 1\. Got 0 instead\.",
    ):
        BetaGeoNBD(max_iter=0).fit(GOOD["frequency"], GOOD["recency"], GOOD["T"])


def test_unfitted_model_says_so() -> None:
    with pytest.raises(
        FitError, match=r"ParetoNBD is not fitted yet: call fit\(\) or ParetoNBD\.from_dict\(\)"
    ):
        ParetoNBD().probability_alive([1], [1.0], [2.0])


# ----------------------------------------------------------------- Pareto/NBD stability


@pytest.mark.parametrize(
    ("y", "A", "p", "B", "q"),
    [
        (0.0, 10.0, 0.5, 11.0, 1.6),
        (5.0, 11.0, 2.5, 10.0, 1.6),
        (30.0, 1.0, 3.0, 100.0, 1.2),  # alpha << beta
        (0.0, 100.0, 0.3, 1.0, 1.7),  # alpha >> beta
        (2.0, 7.0, 1.5, 7.0, 2.0),  # alpha = beta
        (5000.0, 3.0, 40.0, 900.0, 1.1),  # long history, many purchases
        (0.0, 0.01, 0.4, 50.0, 1.3),  # z close to 1
    ],
)
def test_pareto_tail_integral_matches_quadrature(
    y: float, A: float, p: float, B: float, q: float
) -> None:
    value, *grads = log_tail(np.array([y]), A, p, B, q)

    def integral(a: float, pp: float, b: float, qq: float) -> float:
        scale = (a + y) ** -pp * (b + y) ** -qq  # keep quad's numbers near 1
        f = lambda t: (a + t) ** -pp * (b + t) ** -qq / scale  # noqa: E731
        return math.log(
            integrate.quad(f, y, np.inf, epsabs=0, epsrel=1e-13, limit=500)[0]
        ) + math.log(scale)

    assert value[0] == pytest.approx(integral(A, p, B, q), rel=1e-9)
    args = [A, p, B, q]
    for i, grad in enumerate(grads):
        up, down = list(args), list(args)
        h = 1e-5 * args[i]
        up[i] += h
        down[i] -= h
        assert grad[0] == pytest.approx(
            (integral(*up) - integral(*down)) / (2 * h), rel=1e-5, abs=1e-9
        )


@pytest.mark.parametrize(
    "params", [(0.5, 2.0, 0.6, 200.0), (0.5, 200.0, 0.6, 2.0), (3.0, 50.0, 2.0, 50.0)]
)
def test_pareto_is_finite_for_long_histories_and_both_orderings(params: tuple[float, ...]) -> None:
    model = ParetoNBD.from_params(**dict(zip(ParetoNBD.param_names, params, strict=True)))
    x = np.array([0.0, 1, 10, 200, 2000, 5])
    tx = np.array([0.0, 0.5, 900, 4000, 9999, 1e-9])
    T = np.array([1e-6, 1.0, 1000, 5000, 10000, 1e5])
    for values in (
        model.log_likelihood(x, tx, T),
        model.probability_alive(x, tx, T),
        model.expected_purchases(30, x, tx, T),
        model.probability_of_purchase(30, x, tx, T),
    ):
        assert np.all(np.isfinite(values)), values
    counts = compress(x, tx, T, np.ones(len(x)))
    value, grad = model._objective(counts)(np.log(params))
    assert np.isfinite(value) and np.all(np.isfinite(grad))


# -------------------------------------------------------------- predictions


def _bg_expected_if_alive(t: float, r: float, alpha: float, a: float, b: float) -> float:
    """E[purchases in t | active now] = ∫ Beta(p; a, b) (1/p)(1 − (α/(α+pt))^r) dp."""

    def f(p: float) -> float:
        density = p ** (a - 1) * (1 - p) ** (b - 1) / special.beta(a, b)
        return float(density * (1 - (alpha / (alpha + p * t)) ** r) / p)

    return integrate.quad(f, 0, 1, epsrel=1e-12, limit=200)[0]


@pytest.mark.parametrize("cls", [BetaGeoNBD, ModifiedBetaGeoNBD])
@pytest.mark.parametrize("a", [0.6, 1.0, 2.5])
def test_bg_expected_purchases_match_numerical_integration(cls: type[CountModel], a: float) -> None:
    r, alpha, b = 0.4, 5.0, 2.0
    model = cls.from_params(r=r, alpha=alpha, a=a, b=b)
    x, tx, T, t = (
        np.array([0.0, 3.0, 12.0]),
        np.array([0.0, 10.0, 38.0]),
        np.array([39.0, 39.0, 40.0]),
        26.0,
    )
    ours = model.expected_purchases(t, x, tx, T)
    alive = model.probability_alive(x, tx, T)
    offset = 1 if cls is ModifiedBetaGeoNBD else 0
    expected = [
        alive[i] * _bg_expected_if_alive(t, r + x[i], alpha + T[i], a, b + x[i] + offset)
        for i in range(3)
    ]
    np.testing.assert_allclose(ours, expected, rtol=1e-7)
    new = model.expected_purchases_new([t])[0]
    first = b / (a + b) if offset else 1.0
    assert new == pytest.approx(first * _bg_expected_if_alive(t, r, alpha, a, b + offset), rel=1e-7)


@pytest.mark.parametrize("cls", COUNT)
def test_prediction_identities(cls: type[CountModel]) -> None:
    data = simulated(cls, 3000)
    model = cls().fit(data)
    x, tx, T = (data[c].to_numpy() for c in ("frequency", "recency", "T"))
    alive = model.probability_alive(x, tx, T)
    assert np.all((alive >= 0) & (alive <= 1))
    p_small = model.probability_of_purchase(1e-6, x, tx, T)
    e_small = model.expected_purchases(1e-6, x, tx, T)
    # Over a tiny horizon the chance of a purchase is the expected number of purchases.
    np.testing.assert_allclose(p_small, e_small, rtol=1e-4)
    p10, p50 = (model.probability_of_purchase(h, x, tx, T) for h in (10.0, 50.0))
    assert np.all(p10 <= p50 + 1e-12) and np.all(p50 <= alive + 1e-12)
    assert np.all(model.expected_purchases(50.0, x, tx, T) >= p50 - 1e-12)
    assert np.all(model.probability_of_purchase(0.0, x, tx, T) == 0)
    nxt = model.expected_next_purchase(x, tx, T)
    finite = np.isfinite(nxt)
    assert finite.any() and (~finite).any()
    at_median = model.probability_of_purchase(nxt[finite], x[finite], tx[finite], T[finite])
    np.testing.assert_allclose(at_median, 0.5, atol=1e-9)
    never = model.probability_of_purchase(1e12, x[~finite], tx[~finite], T[~finite])
    assert np.all(never <= 0.5 + 1e-9)
    new = model.expected_purchases_new(np.array([0.0, 10.0, 100.0]))
    assert new[0] == 0 and 0 < new[1] < new[2]


def test_pareto_probability_of_purchase_matches_quadrature() -> None:
    r, alpha, s, beta = 0.55, 10.6, 0.61, 11.7
    model = ParetoNBD.from_params(r=r, alpha=alpha, s=s, beta=beta)
    x, tx, T, t = 3.0, 20.0, 39.0, 30.0
    alive = model.probability_alive([x], [tx], [T])[0]
    a1, A, B = r + x, alpha + T, beta + T
    density = lambda u: a1 * A**a1 * B**s * (A + u) ** -(a1 + 1) * (B + u) ** -s  # noqa: E731
    expected = alive * integrate.quad(density, 0, t, epsrel=1e-12)[0]
    assert model.probability_of_purchase(t, [x], [tx], [T])[0] == pytest.approx(expected, rel=1e-9)


def test_clv_is_discounted_sum_and_grows_with_horizon() -> None:
    data = simulated(BetaGeoNBD, 3000)
    model = BetaGeoNBD().fit(data)
    x = data["frequency"].to_numpy()
    m = np.where(x > 0, GammaGamma.from_params(p=6.0, q=4.0, gamma=15.0).simulate(x, seed=2), 0)
    spend = GammaGamma().fit(x, m)
    args = (model, spend, x, data["recency"], data["T"], m)
    no_discount = customer_lifetime_value(
        *args, horizon_periods=60, period_days=7, annual_discount_rate=0
    )
    expected = model.expected_purchases(
        60, x, data["recency"], data["T"]
    ) * spend.conditional_expected_average_profit(x, m)
    np.testing.assert_allclose(no_discount, expected, rtol=1e-10)
    short = customer_lifetime_value(
        *args, horizon_periods=30, period_days=7, annual_discount_rate=0.1
    )
    long = customer_lifetime_value(
        *args, horizon_periods=60, period_days=7, annual_discount_rate=0.1
    )
    assert np.all(short <= long) and np.all(long <= no_discount)
    with pytest.raises(FitError, match="annual_discount_rate must be a number > -1"):
        customer_lifetime_value(*args, horizon_periods=60, period_days=7, annual_discount_rate=-2)


# ------------------------------------------------------------------ saving


@pytest.mark.parametrize("name", list(MODELS))
def test_to_dict_round_trips_through_json(name: str) -> None:
    cls = MODELS[name]
    if cls is GammaGamma:
        x = np.random.default_rng(0).poisson(3, 2000).astype(float) + 1
        model: Any = GammaGamma().fit(
            x, GammaGamma.from_params(p=6.0, q=4.0, gamma=15.0).simulate(x, seed=1)
        )
    else:
        model = cls().fit(simulated(cls, 2000))
    saved = json.loads(json.dumps(model.to_dict()))
    assert saved["model"] == name
    loaded = cls.from_dict(saved)
    assert loaded.params_ == model.params_
    assert loaded.log_likelihood_ == model.log_likelihood_
    tampered = {**saved, "params": {**saved["params"], next(iter(saved["params"])): 1.0}}
    with pytest.raises(FitError, match="fingerprint does not match"):
        cls.from_dict(tampered)
    other = next(c for c in MODELS.values() if c is not cls)
    with pytest.raises(FitError, match=f"saved model is '{name}'"):
        other.from_dict(saved)


def test_rfm_summary_collapses_same_day_purchases_and_stops_at_as_of() -> None:
    tx = pd.DataFrame(
        {
            "id": ["a", "a", "a", "a", "b", "b"],
            "at": [
                "2024-01-01 09:00",
                "2024-01-01 18:00",
                "2024-01-08",
                "2024-03-01",
                "2024-01-05",
                "2024-01-05",
            ],
            "amount": [10.0, 5.0, 20.0, 99.0, 7.0, 3.0],
        }
    )
    out = rfm_summary(tx, "id", "at", "amount", as_of="2024-01-29 15:00", period_days=7)
    assert out.loc["a"].to_dict() == {
        "frequency": 1.0,
        "recency": 1.0,
        "T": 4.0,
        "monetary_value": 20.0,
    }
    assert out.loc["b"].to_dict() == {
        "frequency": 0.0,
        "recency": 0.0,
        "T": 24 / 7,
        "monetary_value": 0.0,
    }
    with pytest.raises(FitError, match="Required column 'when' missing"):
        rfm_summary(tx, "id", "when", as_of="2024-02-01")


def test_a_minimum_at_rounding_precision_counts_as_converged() -> None:
    """The Newton decrement, not the raw gradient, decides at the rounding floor."""
    from segmint.predict.clv.base import _at_precision

    hess = np.diag([2.0, 50.0])
    assert _at_precision(4.0, np.array([2.5e-7, 1e-8]), hess)  # decrement ~1.6e-14
    assert not _at_precision(4.0, np.array([1e-3, 0.0]), hess)  # 2.5e-7: still descending
    assert not _at_precision(4.0, np.array([1e-9, 0.0]), np.diag([1.0, -1.0]))  # saddle
    assert not _at_precision(4.0, np.array([1e-9, 0.0]), None)
    assert not _at_precision(float("inf"), np.array([1e-9, 0.0]), hess)
