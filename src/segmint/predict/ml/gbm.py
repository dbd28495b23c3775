"""LightGBM: fit with early stopping on a later window, refit for a fixed number of rounds.

Parameters come from `predict.gbm`; training is deterministic (`deterministic`,
`force_col_wise`, a fixed seed, no bagging or feature sampling), so the same data and seed
give the same trees and the same model version.

Training sets under `PARALLEL_FROM_ROWS` rows use one thread: LightGBM synchronises its
OpenMP threads every round, and on a machine busy with other work (a warehouse query, another
test) that made 6,000 rows train 16 times slower on two threads than on one. Larger sets use
every core. Scoring always does (its threads split rows, with little synchronisation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from segmint.predict.ml.encoding import FeatureSchema
from segmint.project.spec_predict import GbmSettings

if TYPE_CHECKING:
    import lightgbm

STOPPING_ROUNDS = 50
PARALLEL_FROM_ROWS = 200_000


def _lightgbm() -> Any:
    try:
        import lightgbm
    except ImportError as exc:  # pragma: no cover - a dependency of segmint
        from segmint.predict.ml.errors import ModelError

        raise ModelError(
            "churn and repurchase scores need LightGBM: pip install 'lightgbm>=4.5,<5'"
        ) from exc
    return lightgbm


def params(settings: GbmSettings, rows: int = 0) -> dict[str, Any]:
    """The LightGBM parameters for `settings` (binary log-loss) and `rows` training rows."""
    return {
        "objective": "binary",
        "metric": "binary_logloss",
        "learning_rate": settings.learning_rate,
        "num_leaves": settings.num_leaves,
        "min_data_in_leaf": settings.min_child_samples,
        "seed": settings.seed,
        "deterministic": True,
        "force_col_wise": True,
        "feature_pre_filter": False,
        "verbosity": -1,
        "num_threads": 1 if rows < PARALLEL_FROM_ROWS else 0,
    }


def _dataset(schema: FeatureSchema, x: np.ndarray, y: np.ndarray, **kwargs: Any) -> Any:
    lgb = _lightgbm()
    return lgb.Dataset(
        x,
        label=y,
        feature_name=schema.names,
        categorical_feature=schema.categorical_indices,
        free_raw_data=True,
        **kwargs,
    )


def fit_early_stopping(
    schema: FeatureSchema,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    settings: GbmSettings,
    start_train: np.ndarray,
    start_valid: np.ndarray,
) -> tuple[lightgbm.Booster, int]:
    """Train on one window from the log-odds `start_train`, stop when log-loss on the next
    (from `start_valid`) has not improved for `STOPPING_ROUNDS` rounds; returns the booster
    (cut at its best round) and that round."""
    lgb = _lightgbm()
    train = _dataset(schema, x_train, y_train, init_score=start_train)
    valid = _dataset(schema, x_valid, y_valid, reference=train, init_score=start_valid)
    booster = lgb.train(
        params(settings, len(x_train)),
        train,
        num_boost_round=settings.max_rounds,
        valid_sets=[valid],
        valid_names=["validate"],
        callbacks=[lgb.early_stopping(STOPPING_ROUNDS, first_metric_only=True, verbose=False)],
    )
    rounds = int(booster.best_iteration) or int(booster.current_iteration())
    best = lgb.Booster(model_str=booster.model_to_string(num_iteration=rounds))
    return best, rounds


def fit_rounds(
    schema: FeatureSchema,
    x: np.ndarray,
    y: np.ndarray,
    settings: GbmSettings,
    rounds: int,
    start: np.ndarray,
) -> lightgbm.Booster:
    """Train for exactly `rounds` rounds from the log-odds `start` (the deployed model)."""
    lgb = _lightgbm()
    dataset = _dataset(schema, x, y, init_score=start)
    booster = lgb.train(params(settings, len(x)), dataset, num_boost_round=rounds)
    return lgb.Booster(model_str=booster.model_to_string())


def load_booster(text: str) -> lightgbm.Booster:
    """A booster from `Booster.model_to_string()` text."""
    return _lightgbm().Booster(model_str=text)


def raw_scores(booster: lightgbm.Booster, x: np.ndarray) -> np.ndarray:
    """The trees' log-odds (without the start they were boosted from)."""
    return np.asarray(booster.predict(x, raw_score=True), dtype=np.float64)
