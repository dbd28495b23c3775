"""What every customer-base model shares: input checks, compression, the optimiser, saving.

The count models (BG/NBD, Pareto/NBD, MBG/NBD) are fitted by maximum likelihood on each
customer's sufficient statistics: `frequency` x (repeat purchases), `recency` t_x (time of
the last purchase since the first) and `T` (time since the first purchase), all in one time
unit of the caller's choosing (days, weeks). Fitting works on the distinct (x, t_x, T) rows
with a weight each, in log-parameter space, with analytic gradients:

1. a warm start on a random subset of at most `subsample` distinct rows (cheap at any size);
2. L-BFGS-B on all rows from there;
3. Newton steps with a Hessian from central differences of the analytic gradient, until the
   gradient of the mean log-likelihood is below `tol` (the Hessian also gives the standard
   errors).

A fit that does not converge, whose Hessian is not positive definite (the data do not pin the
parameters down) or whose parameters run off towards the bounds raises `FitError`; no fitted
model ever carries parameters the data cannot support.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize

from segmint.errors import ModelError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
Objective = Callable[[FloatArray], tuple[float, FloatArray]]

#: Version of the dictionary written by `to_dict`.
FORMAT_VERSION = 1
#: A parameter further than this factor from its natural scale has "run off" (degenerate fit).
RUNOFF = 1e5
#: L-BFGS-B bounds, as a factor either side of each parameter's natural scale.
BOUND = 1e8


class FitError(ModelError):
    """A CLV model cannot be fitted on, loaded for or applied to the data; the message says why.

    When values are to blame, `column`, `row` (0-based position of the first bad value),
    `detail` (what is wrong with that value) and `count` (how many values share the
    problem) let a caller reading a file point at the line.
    """

    def __init__(
        self,
        message: str,
        *,
        column: str | None = None,
        row: int | None = None,
        detail: str | None = None,
        count: int = 0,
    ) -> None:
        super().__init__(message)
        self.column = column
        self.row = row
        self.detail = detail
        self.count = count


def dot(u: ArrayLike, v: ArrayLike) -> float:
    """Σ u·v of two vectors without BLAS.

    numpy hands vector dot products to a multi-threaded BLAS whose idle threads spin; on a
    busy machine they compete with the main thread and make a fit ~20x slower. einsum's own
    loop is as fast as single-threaded BLAS here.
    """
    return float(
        np.einsum("i,i->", np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64))
    )


# ------------------------------------------------------------------------- input checks


def as_vector(name: str, values: ArrayLike) -> FloatArray:
    """`values` as a 1-D float64 array (a scalar becomes a one-element array)."""
    if isinstance(values, pd.Series | pd.Index):
        values = values.to_numpy()
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise FitError(f"{name} must be numbers; {exc}", column=name) from None
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise FitError(f"{name} must be one-dimensional, got shape {array.shape}", column=name)
    return array


def _first(mask: NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(mask)[0])


def _fail(name: str, mask: NDArray[np.bool_], detail: str) -> FitError:
    """One error naming the column, how many values are bad and the first one."""
    bad = int(mask.sum())
    row = _first(mask)
    more = f" ({bad - 1:,} more like it)" if bad > 1 else ""
    return FitError(
        f"{name}: row {row}: {detail}{more}", column=name, row=row, detail=detail, count=bad
    )


def check_finite(name: str, values: FloatArray) -> None:
    """NaN or infinite values are errors."""
    bad = ~np.isfinite(values)
    if bad.any():
        value = float(values[_first(bad)])
        what = "missing value" if math.isnan(value) else f"{value:g} is not a finite number"
        raise _fail(name, bad, what)


def check_nonnegative(name: str, values: FloatArray) -> None:
    """Negative values are errors."""
    bad = values < 0
    if bad.any():
        raise _fail(name, bad, f"{values[_first(bad)]:g} is negative; it must be >= 0")


def check_frequency(frequency: FloatArray) -> None:
    """Frequencies are finite whole numbers >= 0."""
    check_finite("frequency", frequency)
    check_nonnegative("frequency", frequency)
    bad = frequency != np.floor(frequency)
    if bad.any():
        value = frequency[_first(bad)]
        raise _fail(
            "frequency",
            bad,
            f"{value:g} is not a whole number; frequency counts repeat purchases",
        )


def check_counts(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validated (frequency, recency, T) float arrays of one length.

    Rules: every value finite; frequency a whole number >= 0; 0 <= recency <= T; recency 0
    when frequency is 0 (a customer without a repeat purchase has no time of last repeat).
    """
    x = as_vector("frequency", frequency)
    tx = as_vector("recency", recency)
    age = as_vector("T", T)
    if not (len(x) == len(tx) == len(age)):
        raise FitError(
            f"frequency, recency and T must have one length; got {len(x)}, {len(tx)}, {len(age)}"
        )
    check_frequency(x)
    for name, values in (("recency", tx), ("T", age)):
        check_finite(name, values)
        check_nonnegative(name, values)
    late = tx > age
    if late.any():
        row = _first(late)
        raise _fail(
            "recency",
            late,
            f"recency {tx[row]:g} > T {age[row]:g}; the last purchase cannot come after the "
            "end of the observation",
        )
    stray = (x == 0) & (tx != 0)
    if stray.any():
        raise _fail(
            "recency",
            stray,
            f"recency {tx[_first(stray)]:g} with frequency 0; without a repeat purchase "
            "recency must be 0",
        )
    return x, tx, age


def check_weights(weights: ArrayLike | None, n: int) -> FloatArray:
    """Weights (counts of identical rows): finite, >= 0, one per row; default all ones."""
    if weights is None:
        return np.ones(n)
    w = as_vector("weights", weights)
    if len(w) != n:
        raise FitError(f"weights must have one value per customer ({n:,}); got {len(w):,}")
    check_finite("weights", w)
    check_nonnegative("weights", w)
    return w


def check_horizon(t: ArrayLike) -> FloatArray:
    """Prediction horizons: finite and >= 0."""
    horizon = as_vector("t", t)
    check_finite("t", horizon)
    check_nonnegative("t", horizon)
    return horizon


def columns_of(data: Any, names: Sequence[str], recency: Any, T: Any) -> tuple[Any, ...] | None:
    """The named columns when `data` is a DataFrame given alone (else None)."""
    if not isinstance(data, pd.DataFrame):
        return None
    if recency is not None or T is not None:
        raise FitError("pass either one DataFrame or separate arrays, not both")
    missing = [c for c in names if c not in data.columns]
    if missing:
        have = ", ".join(map(str, data.columns)) or "none"
        raise FitError(f"Required column {missing[0]!r} missing (columns: {have})")
    return tuple(data[c] for c in names)


# -------------------------------------------------------------------- sufficient statistics


def factorize(values: FloatArray) -> tuple[FloatArray, IntArray]:
    """(distinct values, code of each value) by hashing (no sort)."""
    codes, uniques = pd.factorize(values, sort=False)
    return np.asarray(uniques, dtype=np.float64), codes.astype(np.intp, copy=False)


@dataclass(frozen=True)
class Counts:
    """Distinct (x, t_x, T) rows with weights, and each column's distinct values.

    `ix`, `it`, `iT` index `xs`, `ts`, `Ts`, so a function of one column is computed once per
    distinct value and gathered.
    """

    x: FloatArray
    tx: FloatArray
    T: FloatArray
    w: FloatArray
    xs: FloatArray
    ix: IntArray
    ts: FloatArray
    it: IntArray
    Ts: FloatArray
    iT: IntArray

    @property
    def total(self) -> float:
        """Number of customers (sum of the weights)."""
        return float(self.w.sum())

    @property
    def scale(self) -> float:
        """The data's natural time scale: the weighted mean age (at least a tiny positive)."""
        return max(float(dot(self.w, self.T)) / max(self.total, 1e-300), 1e-12)

    def subset(self, rows: IntArray) -> Counts:
        """The given distinct rows (their distinct-value tables are rebuilt)."""
        return compress(self.x[rows], self.tx[rows], self.T[rows], self.w[rows], merge=False)


def compress(
    x: FloatArray, tx: FloatArray, T: FloatArray, w: FloatArray, *, merge: bool = True
) -> Counts:
    """Merge identical (x, t_x, T) rows into one row with the summed weight."""
    keep = w > 0
    if not keep.all():
        x, tx, T, w = x[keep], tx[keep], T[keep], w[keep]
    xs, ix = factorize(x)
    ts, it = factorize(tx)
    Ts, iT = factorize(T)
    if merge and len(x) > 1:
        sizes = (len(xs), len(ts), len(Ts))
        if math.prod(sizes) < 2**62:
            key = (ix.astype(np.int64) * sizes[1] + it) * sizes[2] + iT
            codes, first = _first_of_each(key)
        else:  # pragma: no cover - needs > 2**62 combinations
            _, first, codes = np.unique(
                np.stack([ix, it, iT], axis=1), axis=0, return_index=True, return_inverse=True
            )
        if len(first) < len(x):
            w = np.bincount(codes, weights=w, minlength=len(first)).astype(np.float64)
            ix, it, iT = ix[first], it[first], iT[first]
            x, tx, T = xs[ix], ts[it], Ts[iT]
    return Counts(
        x=np.ascontiguousarray(x, dtype=np.float64),
        tx=np.ascontiguousarray(tx, dtype=np.float64),
        T=np.ascontiguousarray(T, dtype=np.float64),
        w=np.ascontiguousarray(w, dtype=np.float64),
        xs=xs,
        ix=ix,
        ts=ts,
        it=it,
        Ts=Ts,
        iT=iT,
    )


def _first_of_each(key: NDArray[np.int64]) -> tuple[IntArray, IntArray]:
    """(code of each key, position of each distinct key's first occurrence)."""
    codes, uniques = pd.factorize(key, sort=False)
    codes = codes.astype(np.intp, copy=False)
    first = np.full(len(uniques), len(key), dtype=np.intp)
    np.minimum.at(first, codes, np.arange(len(key), dtype=np.intp))
    return codes, first


# ------------------------------------------------------------------------------ optimiser


@dataclass
class Optimum:
    """Where the optimiser stopped."""

    theta: FloatArray  # log-parameters
    value: float  # mean negative log-likelihood
    gradient: FloatArray
    hessian: FloatArray | None
    iterations: int
    evaluations: int
    converged: bool
    message: str


def hessian_fd(objective: Objective, theta: FloatArray, step: float = 1e-4) -> FloatArray:
    """Hessian by central differences of the analytic gradient (symmetrised)."""
    k = len(theta)
    hess = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = step
        hess[i] = (objective(theta + e)[1] - objective(theta - e)[1]) / (2 * step)
    return (hess + hess.T) / 2


def optimise(
    objective: Objective,
    theta0: FloatArray,
    bounds: Sequence[tuple[float, float]],
    *,
    max_iter: int,
    tol: float,
    newton: bool = True,
) -> Optimum:
    """BFGS then Newton steps; `objective` returns the mean negative LL and its gradient.

    BFGS (scipy's, in numpy) rather than L-BFGS-B: scipy's L-BFGS-B core calls a
    multi-threaded BLAS on tiny vectors, which costs ~3 ms per iteration on a busy 2-core
    machine (a 4 ms fit took 120 ms). Outside `bounds` the objective is the value at the
    nearest bound plus a quadratic penalty, so no exp() overflows and the search comes back.
    L-BFGS-B remains the fallback when BFGS stops short.
    """
    lower = np.array([b[0] for b in bounds])
    upper = np.array([b[1] for b in bounds])
    calls = [0]

    def counted(theta: FloatArray) -> tuple[float, FloatArray]:
        calls[0] += 1
        inside = np.clip(theta, lower, upper)
        with np.errstate(all="ignore"):  # a non-finite value is handled below
            value, grad = objective(inside)
        if not np.isfinite(value) or not np.all(np.isfinite(grad)):
            return np.inf, np.zeros_like(theta)
        outside = theta - inside
        if outside.any():
            value += 0.5 * float(dot(outside, outside))
            grad = np.where(outside != 0, outside, grad)
        return value, grad

    result = minimize(
        counted,
        np.clip(theta0, lower, upper),
        jac=True,
        method="BFGS",
        options={"maxiter": max_iter, "gtol": tol / 10},
    )
    theta = np.clip(np.asarray(result.x, dtype=np.float64), lower, upper)
    value, grad = counted(theta)
    iterations = int(result.nit)
    message = str(result.message)
    if not (np.isfinite(value) and float(np.max(np.abs(grad))) <= tol):
        fallback = minimize(
            counted,
            theta,
            jac=True,
            method="L-BFGS-B",
            bounds=list(bounds),
            options={"maxiter": max_iter, "ftol": 1e-15, "gtol": tol / 10, "maxcor": 20},
        )
        theta = np.asarray(fallback.x, dtype=np.float64)
        value, grad = counted(theta)
        iterations += int(fallback.nit)
        message = str(fallback.message)
    hess: FloatArray | None = None
    if newton and np.isfinite(value):
        theta, value, grad, hess = _newton(counted, theta, value, grad, bounds, tol)
    gnorm = float(np.max(np.abs(grad))) if len(grad) else 0.0
    converged = bool(np.isfinite(value) and (gnorm <= tol or _at_precision(value, grad, hess)))
    return Optimum(
        theta=theta,
        value=float(value),
        gradient=grad,
        hessian=hess,
        iterations=iterations,
        evaluations=calls[0],
        converged=converged,
        message=message,
    )


def _at_precision(value: float, grad: FloatArray, hess: FloatArray | None) -> bool:
    """True at a minimum that double precision cannot improve on: the Hessian is positive
    definite and the Newton step would lower the objective by less than its rounding error.

    The gradient test alone (`tol`) sits at the rounding floor for some data: a fit that
    passed it on one machine stopped at a max gradient of 2.5e-7 (tol 1e-7) on another,
    where no Newton step could lower the value any more (tests/test_clv_models.py,
    weights against repeated rows).
    """
    if hess is None or not np.isfinite(value) or not np.all(np.isfinite(hess)):
        return False
    try:
        np.linalg.cholesky(hess)
        decrement = float(dot(grad, np.linalg.solve(hess, grad))) / 2
    except np.linalg.LinAlgError:
        return False
    return 0 <= decrement <= PRECISION_DECREMENT * max(1.0, abs(value))


# A Newton decrement this small (relative to the objective) is rounding noise: ~1e4 ulps.
PRECISION_DECREMENT = 1e-12


def _newton(
    objective: Objective,
    theta: FloatArray,
    value: float,
    grad: FloatArray,
    bounds: Sequence[tuple[float, float]],
    tol: float,
    steps: int = 6,
) -> tuple[FloatArray, float, FloatArray, FloatArray | None]:
    """Polish with Newton steps (Hessian refreshed when a step does not halve the gradient)."""
    lower = np.array([b[0] for b in bounds])
    upper = np.array([b[1] for b in bounds])
    hess = hessian_fd(objective, theta)
    for _ in range(steps):
        gnorm = float(np.max(np.abs(grad)))
        if gnorm <= tol * 1e-3:
            break
        try:
            step = -np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)) or float(dot(step, grad)) >= 0:
            break
        moved = False
        for shrink in (1.0, 0.5, 0.25, 0.1):
            trial = np.clip(theta + shrink * step, lower, upper)
            t_value, t_grad = objective(trial)
            if np.isfinite(t_value) and (
                t_value < value - 1e-15 * abs(value)
                or (t_value <= value + 1e-14 * abs(value) and np.max(np.abs(t_grad)) < gnorm)
            ):
                theta, value, grad, moved = trial, t_value, t_grad, True
                break
        if not moved:
            break
        if float(np.max(np.abs(grad))) > gnorm / 2:
            hess = hessian_fd(objective, theta)
    hess = hessian_fd(objective, theta)
    return theta, value, grad, hess


def refine(
    objective: Objective,
    theta: FloatArray,
    hessian: FloatArray,
    bounds: Sequence[tuple[float, float]],
    *,
    tol: float,
    steps: int = 12,
) -> Optimum | None:
    """Newton steps with a fixed, approximate Hessian (e.g. a subsample's); None when a step
    fails to improve, so the caller can fall back to a full optimisation."""
    lower = np.array([b[0] for b in bounds])
    upper = np.array([b[1] for b in bounds])
    value, grad = objective(theta)
    evaluations = 1
    if not np.isfinite(value):
        return None
    done = 0
    for done in range(steps):  # noqa: B007 - the count is reported
        if float(np.max(np.abs(grad))) <= tol * 1e-2:
            break
        try:
            step = -np.linalg.solve(hessian, grad)
        except np.linalg.LinAlgError:
            return None
        trial = np.clip(theta + step, lower, upper)
        t_value, t_grad = objective(trial)
        evaluations += 1
        if not (np.isfinite(t_value) and t_value <= value + 1e-14 * abs(value)):
            return None
        theta, value, grad = trial, t_value, t_grad
    gnorm = float(np.max(np.abs(grad)))
    if gnorm > tol:
        return None
    return Optimum(
        theta=theta,
        value=float(value),
        gradient=grad,
        hessian=hessian,
        iterations=done,
        evaluations=evaluations,
        converged=True,
        message="Newton steps from a subsample fit",
    )


# --------------------------------------------------------------------------- the models


def fingerprint(model: str, params: Mapping[str, float]) -> str:
    """A short hash of the model name and parameters (checked when a saved model is loaded)."""
    canonical = json.dumps(
        {"model": model, "params": {k: repr(float(v)) for k, v in sorted(params.items())}},
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


class Estimator:
    """The scikit-learn style contract every CLV model follows.

    `__init__` stores keyword hyperparameters only; `fit` returns self; learned attributes
    end in `_`. `to_dict` / `from_dict` save and restore a fitted model as JSON-ready data.
    """

    #: Key in `MODELS` and in saved dictionaries.
    name: ClassVar[str]
    #: Parameter names, in the order of the optimiser's vector.
    param_names: ClassVar[tuple[str, ...]]
    #: Parameters measured in time units (their scale follows the data's time unit).
    time_params: ClassVar[frozenset[str]] = frozenset()
    #: The fewest customers (with a repeat purchase) a fit accepts.
    min_customers: ClassVar[int] = 20
    min_repeat_customers: ClassVar[int] = 10

    params_: dict[str, float]
    standard_errors_: dict[str, float]
    log_likelihood_: float
    n_customers_: int
    n_repeat_customers_: int
    converged_: bool
    n_iter_: int

    def __init__(
        self, *, max_iter: int = 2000, tol: float = 1e-7, subsample: int = 50_000, seed: int = 0
    ) -> None:
        self.max_iter = max_iter
        self.tol = tol
        self.subsample = subsample
        self.seed = seed

    def fit(self, *args: Any, **kwargs: Any) -> Self:
        """Fit the model on the data; returns self (each model documents its inputs)."""
        raise NotImplementedError

    def get_params(self) -> dict[str, Any]:
        """The hyperparameters given to `__init__`."""
        return {
            "max_iter": self.max_iter,
            "tol": self.tol,
            "subsample": self.subsample,
            "seed": self.seed,
        }

    def __repr__(self) -> str:
        fitted = getattr(self, "params_", None)
        inner = ", ".join(f"{k}={v:.4g}" for k, v in fitted.items()) if fitted else "unfitted"
        return f"{type(self).__name__}({inner})"

    @classmethod
    def from_params(cls, **params: float) -> Self:
        """A model with the given parameters, as if fitted (for simulation and what-ifs)."""
        if set(params) != set(cls.param_names):
            raise FitError(
                f"{cls.__name__} parameters are {list(cls.param_names)}; got {sorted(params)}"
            )
        bad = {k: v for k, v in params.items() if not (math.isfinite(v) and v > 0)}
        if bad:
            raise FitError(f"{cls.__name__} parameters must be finite and > 0; got {bad}")
        model = cls()
        model._set_fitted(
            params, log_likelihood=math.nan, n_customers=0, n_repeat_customers=0, converged=True
        )
        return model

    def _check_hyperparameters(self) -> None:
        cls = type(self).__name__
        rules: list[tuple[str, Any, bool, str]] = [
            (
                "max_iter",
                self.max_iter,
                _is_int(self.max_iter) and self.max_iter >= 1,
                "an int >= 1",
            ),
            ("tol", self.tol, _is_real(self.tol) and 0 < self.tol < 1, "a float in (0, 1)"),
            (
                "subsample",
                self.subsample,
                _is_int(self.subsample) and self.subsample >= 1000,
                "an int >= 1000",
            ),
            ("seed", self.seed, _is_int(self.seed), "an int"),
        ]
        for name, value, ok, allowed in rules:
            if not ok:
                raise FitError(
                    f"The {name!r} parameter of {cls} must be {allowed}. Got {value!r} instead."
                )

    def _require_fitted(self) -> dict[str, float]:
        params = getattr(self, "params_", None)
        if not params:
            cls = type(self).__name__
            raise FitError(f"{cls} is not fitted yet: call fit() or {cls}.from_dict() first")
        return params

    def _set_fitted(
        self,
        params: Mapping[str, float],
        *,
        log_likelihood: float,
        n_customers: int,
        n_repeat_customers: int,
        converged: bool,
        n_iter: int = 0,
        standard_errors: Mapping[str, float] | None = None,
    ) -> None:
        self.params_ = {k: float(params[k]) for k in self.param_names}
        self.standard_errors_ = {k: float(v) for k, v in (standard_errors or {}).items()}
        self.log_likelihood_ = float(log_likelihood)
        self.n_customers_ = int(n_customers)
        self.n_repeat_customers_ = int(n_repeat_customers)
        self.converged_ = bool(converged)
        self.n_iter_ = int(n_iter)

    def to_dict(self) -> dict[str, Any]:
        """The fitted model as JSON-ready data (`from_dict` restores it)."""
        params = self._require_fitted()
        return {
            "format": FORMAT_VERSION,
            "model": self.name,
            "params": dict(params),
            "standard_errors": dict(self.standard_errors_),
            "log_likelihood": self.log_likelihood_,
            "n_customers": self.n_customers_,
            "n_repeat_customers": self.n_repeat_customers_,
            "converged": self.converged_,
            "hyperparameters": self.get_params(),
            "fingerprint": fingerprint(self.name, params),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """A fitted model from `to_dict` output; the model name and fingerprint are checked."""
        if not isinstance(data, Mapping):
            raise FitError(f"a saved {cls.__name__} must be a mapping, got {type(data).__name__}")
        model = data.get("model")
        if model != cls.name:
            raise FitError(
                f"saved model is {model!r}, not {cls.name!r}; load it with its own class"
            )
        if data.get("format") != FORMAT_VERSION:
            raise FitError(
                f"saved {cls.name} model has format {data.get('format')!r}; "
                f"this version reads format {FORMAT_VERSION}"
            )
        raw = data.get("params")
        if not isinstance(raw, Mapping) or set(raw) != set(cls.param_names):
            got = sorted(raw) if isinstance(raw, Mapping) else raw
            raise FitError(
                f"saved {cls.name} model must have params {list(cls.param_names)}, got {got!r}"
            )
        params = {k: float(raw[k]) for k in cls.param_names}
        bad = [k for k, v in params.items() if not (math.isfinite(v) and v > 0)]
        if bad:
            raise FitError(f"saved {cls.name} model has invalid params {bad}: {params}")
        if data.get("fingerprint") != fingerprint(cls.name, params):
            raise FitError(
                f"saved {cls.name} model's fingerprint does not match its parameters; "
                "the file was edited or damaged — refit the model"
            )
        hyper = data.get("hyperparameters") or {}
        model_obj = cls(**{k: v for k, v in hyper.items() if k in cls().get_params()})
        model_obj._set_fitted(
            params,
            log_likelihood=float(data.get("log_likelihood", math.nan)),
            n_customers=int(data.get("n_customers", 0)),
            n_repeat_customers=int(data.get("n_repeat_customers", 0)),
            converged=bool(data.get("converged", True)),
            standard_errors=data.get("standard_errors") or {},
        )
        return model_obj


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, int | float | np.floating) and not isinstance(value, bool)


class CountModel(Estimator):
    """Shared fitting of the purchase-count models on (frequency, recency, T)."""

    def fit(
        self,
        frequency: Any,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,
        *,
        weights: ArrayLike | None = None,
    ) -> Self:
        """Fit by maximum likelihood; `frequency` may be a DataFrame with columns
        frequency, recency, T. `weights` counts identical rows. Raises FitError when the data
        cannot support a fit."""
        self._check_hyperparameters()
        cols = columns_of(frequency, ("frequency", "recency", "T"), recency, T)
        if cols is not None:
            frequency, recency, T = cols
        elif recency is None or T is None:
            raise FitError("fit needs frequency, recency and T (or one DataFrame with them)")
        x, tx, age = check_counts(frequency, recency, T)
        w = check_weights(weights, len(x))
        counts = compress(x, tx, age, w)
        total = counts.total
        repeat = float(counts.w[counts.x > 0].sum())
        cls = type(self).__name__
        if total < self.min_customers:
            raise FitError(
                f"{cls} needs at least {self.min_customers} customers; got {fmt_count(total)}"
            )
        if repeat < self.min_repeat_customers:
            raise FitError(
                f"only {fmt_count(repeat)} of {fmt_count(total)} customers made a repeat "
                f"purchase; {cls} needs at least {self.min_repeat_customers} to estimate purchase "
                "and drop-out rates"
            )
        if len(counts.w) == 1:
            raise FitError(
                f"{cls} fit is degenerate: all {fmt_count(total)} customers have the same "
                f"frequency, recency and T ({counts.x[0]:g}, {counts.tx[0]:g}, {counts.T[0]:g}); "
                "there is no variation to fit"
            )
        if float(dot(counts.w, counts.T)) <= 0:
            raise FitError(f"every customer has T = 0; {cls} needs some time of observation")
        optimum = self._optimise(counts)
        params = self._check_optimum(optimum, counts)
        ll_total = -optimum.value * total
        errors = self._standard_errors(optimum, params, total)
        self._set_fitted(
            params,
            log_likelihood=ll_total,
            n_customers=round(total),
            n_repeat_customers=round(repeat),
            converged=optimum.converged,
            n_iter=optimum.iterations,
            standard_errors=errors,
        )
        return self

    # -- the parts each model supplies

    def _objective(self, counts: Counts) -> Objective:
        """Mean negative log-likelihood and its gradient in log-parameters."""
        raise NotImplementedError

    def _start(self, counts: Counts) -> FloatArray:
        """Starting log-parameters."""
        raise NotImplementedError

    def _scales(self, counts: Counts) -> FloatArray:
        """Each parameter's natural scale: the data's time scale for time parameters, else 1."""
        return np.array([counts.scale if p in self.time_params else 1.0 for p in self.param_names])

    # -- the shared machinery

    def _optimise(self, counts: Counts) -> Optimum:
        log_scale = np.log(self._scales(counts))
        bounds = [(s - math.log(BOUND), s + math.log(BOUND)) for s in log_scale]
        theta = self._start(counts)
        objective = self._objective(counts)
        if len(counts.w) <= self.subsample:
            return optimise(objective, theta, bounds, max_iter=self.max_iter, tol=self.tol)
        # Many distinct rows: fit a random subset of them (unbiased for the mean
        # log-likelihood), then Newton steps on all rows with the subset's Hessian.
        rng = np.random.default_rng(self.seed)
        rows = np.sort(rng.choice(len(counts.w), size=self.subsample, replace=False))
        sample = self._objective(counts.subset(rows.astype(np.intp)))
        warm = optimise(sample, theta, bounds, max_iter=self.max_iter, tol=self.tol)
        if warm.hessian is not None and np.isfinite(warm.value):
            refined = refine(objective, warm.theta, warm.hessian, bounds, tol=self.tol)
            if refined is not None:
                refined.iterations += warm.iterations
                refined.evaluations += warm.evaluations
                return refined
            theta = warm.theta
        return optimise(objective, theta, bounds, max_iter=self.max_iter, tol=self.tol)

    def _check_optimum(self, optimum: Optimum, counts: Counts) -> dict[str, float]:
        return checked_params(self, optimum, self._scales(counts))

    def _standard_errors(
        self, optimum: Optimum, params: Mapping[str, float], total: float
    ) -> dict[str, float]:
        return standard_errors(self.param_names, optimum, params, total)

    def _unpack(self) -> tuple[float, ...]:
        params = self._require_fitted()
        return tuple(params[k] for k in self.param_names)

    def simulate(self, T: ArrayLike, *, seed: int | np.random.Generator = 0) -> pd.DataFrame:
        """Draw one customer per age in `T` from the model: frequency, recency, T."""
        age = as_vector("T", T)
        check_finite("T", age)
        check_nonnegative("T", age)
        rng = np.random.default_rng(seed)
        x, tx = self._draw(rng, age)
        return pd.DataFrame({"frequency": x.astype(np.float64), "recency": tx, "T": age})

    def _draw(self, rng: np.random.Generator, T: FloatArray) -> tuple[FloatArray, FloatArray]:
        raise NotImplementedError

    # -- the predictions every count model offers

    def log_likelihood(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """Each customer's log-likelihood under the fitted parameters."""
        x, tx, age = check_counts(frequency, recency, T)
        return self._loglik(self._unpack(), x, tx, age)

    def _loglik(
        self, params: tuple[float, ...], x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        raise NotImplementedError

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """P(the customer is still active at T | frequency, recency, T)."""
        raise NotImplementedError

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Expected number of purchases in (T, T + t] given the customer's history."""
        raise NotImplementedError

    def probability_of_purchase(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """P(at least one purchase in (T, T + t] | history)."""
        raise NotImplementedError

    def expected_purchases_new(self, t: ArrayLike) -> FloatArray:
        """E[X(t)]: expected repeat purchases in a new customer's first t periods."""
        raise NotImplementedError

    def expected_next_purchase(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Periods from T until the next purchase is as likely as not to have happened.

        This is the median of the time to the next purchase, counting the chance that there
        is none (the customer has dropped out, or drops out first): the smallest w with
        `probability_of_purchase(w) >= 1/2`. It is `inf` when the customer is more likely
        never to buy again than to buy. (The mean waiting time is infinite for every customer
        in these models, since each has a positive chance of never buying again, so it
        cannot rank anyone.)
        """
        raise NotImplementedError


def checked_params(model: Estimator, optimum: Optimum, scales: FloatArray) -> dict[str, float]:
    """The fitted parameters, or FitError when the optimum is not a usable fit."""
    cls = type(model).__name__
    names = model.param_names
    params = dict(zip(names, np.exp(optimum.theta).tolist(), strict=True))
    shown = ", ".join(f"{k}={v:.4g}" for k, v in params.items())
    if not np.isfinite(optimum.value):
        raise FitError(f"{cls} fit failed: the likelihood is not finite at {shown}")
    offset = np.abs(optimum.theta - np.log(scales))
    runaway = [p for p, o in zip(names, offset, strict=True) if o > math.log(RUNOFF)]
    if runaway:
        raise FitError(
            f"{cls} fit is degenerate: {', '.join(runaway)} ran off towards the bounds "
            f"({shown}); the data do not identify the model (e.g. customers too alike, or "
            "no sign of drop-out)"
        )
    if not optimum.converged:
        gnorm = float(np.max(np.abs(optimum.gradient)))
        raise FitError(
            f"{cls} fit did not converge after {optimum.iterations} iterations (gradient "
            f"{gnorm:.2g} > tol {model.tol:g}; {optimum.message}); parameters so far: {shown}"
        )
    if optimum.hessian is not None:
        eig = np.linalg.eigvalsh(optimum.hessian)
        if not np.all(np.isfinite(eig)) or eig[0] <= 1e-9 * max(1.0, float(eig[-1])):
            raise FitError(
                f"{cls} fit is degenerate: the likelihood is flat in some direction at "
                f"{shown}; the data do not identify the parameters (e.g. customers too alike)"
            )
    return params


def standard_errors(
    names: Sequence[str], optimum: Optimum, params: Mapping[str, float], total: float
) -> dict[str, float]:
    """Standard errors from the inverse Hessian (delta method from log-parameters)."""
    if optimum.hessian is None:
        return {}
    try:
        cov = np.linalg.inv(optimum.hessian * total)
    except np.linalg.LinAlgError:  # pragma: no cover - positive definite checked before
        return {}
    sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    return {p: float(params[p] * s) for p, s in zip(names, sd, strict=True)}


def fmt_count(value: float) -> str:
    """A count of customers: whole numbers without decimals."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def broadcast(
    t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Checked (t, x, t_x, T) broadcast to one length (t may be a scalar)."""
    horizon = check_horizon(t)
    x, tx, age = check_counts(frequency, recency, T)
    if len(horizon) == 1:
        horizon = np.full(len(x), horizon[0])
    elif len(x) == 1:
        x, tx, age = (np.full(len(horizon), v[0]) for v in (x, tx, age))
    elif len(horizon) != len(x):
        raise FitError(
            f"t must be one value or one per customer ({len(x):,}); got {len(horizon):,}"
        )
    return horizon, x, tx, age
