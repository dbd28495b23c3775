"""Train a churn or repurchase model with a time-based backtest, then the deployed model.

1. Outcomes at the train, validate and test cutoffs (see `windows`): each window must have
   `predict.min_customers` customers and both outcomes, checked before any feature is built;
   earlier training windows are stacked while the training rows are few.
2. Extra feature functions pass the point-in-time guard at the train cutoff; then the
   point-in-time features at every cutoff.
3. Backtest: LightGBM boosted from the BG/NBD start (`prior`) on the training window(s),
   early-stopped on the validate window and calibrated on it; metrics, baselines and the
   suspected-leak check on the test window, which it never saw.
4. Deployed model: the same parameters and rounds refit one horizon later (ending with the
   validate window), calibrated on the test window, so scoring at the as-of time uses the
   freshest complete outcomes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from segmint.engine.engine import Engine
from segmint.predict.ml import gbm
from segmint.predict.ml.baselines import RECENCY, bgnbd_probability, fit_recency_rule
from segmint.predict.ml.calibrate import choose_method, fit_calibrator
from segmint.predict.ml.catalog import KEY, FeatureSpec, dropped_traits
from segmint.predict.ml.encoding import FeatureSchema
from segmint.predict.ml.errors import LeakError, ModelError, TrainingWindowError
from segmint.predict.ml.explain import importance
from segmint.predict.ml.features import ExtraFeature, FeatureFrames, function_name
from segmint.predict.ml.labels import Target, check_target, labels
from segmint.predict.ml.leakage import (
    SUSPECT_AUC,
    check_point_in_time,
    feature_aucs,
    suspect_features,
)
from segmint.predict.ml.metrics import (
    calibration_curve,
    expected_calibration_error,
    probability_metrics,
    ranking_metrics,
    winners,
)
from segmint.predict.ml.model import TrainedModel, content_hash
from segmint.predict.ml.prior import fit_prior
from segmint.predict.ml.windows import (
    MAX_TRAIN_WINDOWS,
    STACK_UNTIL_ROWS,
    Cutoffs,
    backtest_cutoffs,
)
from segmint.project.spec import ProjectSpec
from segmint.traits.profile import ProfileInputs

Progress = Callable[[str], None]
BACKTEST_WINDOWS = ("train", "validate", "test")
USED_FOR = {
    "train": "fits the backtest model",
    "validate": "early stopping and the backtest calibrator",
    "test": "held-out metrics and baselines",
    "deploy_train": "refits the deployed model (same parameters and rounds)",
    "deploy_calibrate": "calibrates the deployed model",
}
#: Target → how to say that every customer had the outcome (label 1), or none did.
_OUTCOME = {
    "churn": ("churned", "bought again"),
    "repurchase": ("bought again", "did not buy again"),
}


@dataclass(frozen=True)
class Window:
    """One window of the backtest: features and outcomes, one row per customer and cutoff
    (a stacked training window holds several cutoffs)."""

    name: str
    cutoffs: tuple[dt.datetime, ...]  # newest first
    frame: pd.DataFrame  # customer_id, label, features
    sizes: tuple[int, ...]  # customers per cutoff

    @property
    def cutoff(self) -> dt.datetime:
        """The newest cutoff."""
        return self.cutoffs[0]

    @property
    def y(self) -> np.ndarray:
        """The 0/1 outcomes."""
        return self.frame["label"].to_numpy(dtype=np.float64)

    def facts(self, cutoffs: Cutoffs, used_for: str) -> dict[str, Any]:
        """Cutoff, outcome end, size and base rate (for the card)."""
        positives = int(self.frame["label"].sum())
        facts: dict[str, Any] = {
            "cutoff": self.cutoff,
            "outcome_until": cutoffs.outcome_end(self.cutoff),
            "customers": self.sizes[0],
            "positives": positives,
            "base_rate": positives / len(self.frame),
            "used_for": used_for,
        }
        if len(self.cutoffs) > 1:  # positives and base rate are over every stacked row
            facts["stacked_cutoffs"] = list(self.cutoffs)
            facts["customers_per_cutoff"] = list(self.sizes)
            facts["rows"] = len(self.frame)
        return facts


def _window_problem(
    name: str, cutoff: dt.datetime, end: dt.datetime, frame: pd.DataFrame, minimum: int, target: str
) -> str | None:
    """Why a window cannot be used (too few customers, one outcome), or None."""
    n = len(frame)
    where = f"the {name} window (cutoff {cutoff:%Y-%m-%d}, outcomes to {end:%Y-%m-%d})"
    if n < minimum:
        return (
            f"{where} has {n:,} customers with a paid order up to its cutoff; "
            f"predict.min_customers is {minimum:,}. A {target} model needs more history "
            "(or lower predict.min_customers, or a shorter horizon)"
        )
    positives = int(frame["label"].sum())
    if positives in (0, n):
        yes, no = _OUTCOME[target]
        outcome = yes if positives == n else no
        return (
            f"{where} has a single outcome: all {n:,} customers {outcome}; a {target} model "
            "needs customers of both outcomes"
        )
    return None


def _outcomes(
    engine: Engine, inputs: ProfileInputs, cutoffs: Cutoffs, target: Target, minimum: int
) -> tuple[dict[str, tuple[dt.datetime, ...]], dict[dt.datetime, pd.DataFrame]]:
    """Outcomes per cutoff and the cutoffs of each window (training stacked), checked."""
    h = cutoffs.horizon_days
    outcomes: dict[dt.datetime, pd.DataFrame] = {}

    def outcome(cutoff: dt.datetime) -> pd.DataFrame:
        if cutoff not in outcomes:
            expr = labels(inputs, cutoff, h, target).order_by(KEY)
            outcomes[cutoff] = engine.to_pandas(expr)
        return outcomes[cutoff]

    for name in BACKTEST_WINDOWS:
        cutoff = getattr(cutoffs, name)
        problem = _window_problem(
            name, cutoff, cutoffs.outcome_end(cutoff), outcome(cutoff), minimum, target
        )
        if problem:
            raise TrainingWindowError(problem)
    stacked = [cutoffs.train]
    rows = len(outcome(cutoffs.train))
    while rows < STACK_UNTIL_ROWS and len(stacked) < MAX_TRAIN_WINDOWS:
        earlier = cutoffs.earlier(cutoffs.train, len(stacked) + 1)[-1]
        frame = outcome(earlier)
        if _window_problem("train", earlier, earlier, frame, minimum, target) is not None:
            break
        stacked.append(earlier)
        rows += len(frame)
    windows = {
        "train": tuple(stacked),
        "validate": (cutoffs.validate,),
        "test": (cutoffs.test,),
        "deploy_train": tuple(cutoffs.earlier(cutoffs.deploy_train, len(stacked))),
        "deploy_calibrate": (cutoffs.deploy_calibrate,),
    }
    return windows, outcomes


def _windows(
    windows: dict[str, tuple[dt.datetime, ...]],
    outcomes: dict[dt.datetime, pd.DataFrame],
    target: Target,
    frames: FeatureFrames,
    say: Progress,
) -> tuple[dict[str, Window], list[FeatureSpec], list[str]]:
    """Every window's features joined to its outcomes."""
    merged: dict[dt.datetime, pd.DataFrame] = {}
    specs: list[FeatureSpec] = []
    notes: list[str] = []
    for cutoff in sorted({c for cs in windows.values() for c in cs}, reverse=True):
        roles = ", ".join(n for n, cs in windows.items() if cutoff in cs)
        say(f"{target}: features at {cutoff:%Y-%m-%d} ({roles})")
        features, specs, built_notes = frames.get(cutoff)
        notes += [f"features at {cutoff:%Y-%m-%d}: {note}" for note in built_notes]
        frame = outcomes[cutoff].merge(features, on=KEY, how="left", validate="one_to_one")
        if len(features) != len(frame):
            raise ModelError(
                f"the features at {cutoff:%Y-%m-%d} cover {len(features):,} customers but "
                f"the outcomes {len(frame):,}: the population definitions disagree"
            )
        merged[cutoff] = frame
    built = {
        name: Window(
            name,
            cutoffs,
            pd.concat([merged[c] for c in cutoffs], ignore_index=True)
            if len(cutoffs) > 1
            else merged[cutoffs[0]],
            tuple(len(merged[c]) for c in cutoffs),
        )
        for name, cutoffs in windows.items()
    }
    return built, specs, notes


def _model_metrics(y: np.ndarray, raw: np.ndarray, p: np.ndarray) -> dict[str, float | None]:
    """Ranking metrics on the raw score, Brier and ECE calibrated and raw."""
    out: dict[str, float | None] = {**ranking_metrics(y, raw), **probability_metrics(y, p)}
    raw_p = np.asarray(expit(raw), np.float64)
    out["brier_raw"] = float(np.mean((raw_p - y) ** 2))
    out["ece_raw"] = expected_calibration_error(y, raw_p)
    return out


def _baselines(
    target: Target, horizon_days: int, train: Window, test: Window
) -> tuple[dict[str, dict[str, float | None]], list[str]]:
    y = test.y
    rule = fit_recency_rule(train.frame[RECENCY].to_numpy(np.float64), train.y, target)
    recency = test.frame[RECENCY].to_numpy(np.float64)
    out: dict[str, dict[str, float | None]] = {
        "recency_rule": {
            **ranking_metrics(y, rule.score(recency)),
            **probability_metrics(y, rule.probability(recency)),
        }
    }
    p = bgnbd_probability(test.frame, target, horizon_days)
    if np.isfinite(p).all():
        out["bgnbd"] = {**ranking_metrics(y, p), **probability_metrics(y, p)}
        return out, []
    return out, ["BG/NBD baseline unavailable: its fit failed at the test cutoff"]


def train_target(
    engine: Engine,
    run_id: str,
    inputs: ProfileInputs,
    spec: ProjectSpec,
    as_of: dt.datetime,
    target: str,
    *,
    progress: Progress | None = None,
    extra_features: Sequence[ExtraFeature] = (),
    frames: FeatureFrames | None = None,
    suspect_auc: float = SUSPECT_AUC,
) -> TrainedModel:
    """Backtest and train the `target` ("churn" or "repurchase") model on data up to `as_of`.

    `extra_features` are functions (inputs, cutoff) → table of customer_id + columns, joined
    onto the built-in features; they must pass the point-in-time guard. Pass `frames` (a
    FeatureFrames) to share feature tables between targets; it then carries the extra
    feature functions. Features alone predicting the outcome with ROC-AUC above
    `suspect_auc` stop training as a suspected leak (1.0 turns the check off).
    """
    checked = check_target(target)
    say: Progress = progress or (lambda _message: None)
    settings = spec.predict
    horizon = int(getattr(settings, checked).horizon_days)
    if frames is None:
        frames = FeatureFrames(engine, run_id, inputs, spec, extra_features)
    elif extra_features and tuple(extra_features) != frames.extra_features:
        raise ModelError("pass extra_features either to train_target or to its frames, not both")
    extras = frames.extra_features
    cutoffs = backtest_cutoffs(as_of, horizon)
    say(f"{checked}: outcomes at the backtest cutoffs")
    plan, outcomes = _outcomes(engine, inputs, cutoffs, checked, settings.min_customers)

    leak_checks: dict[str, Any] = {"suspect_auc": suspect_auc}
    if extras:
        say(f"{checked}: point-in-time guard for {len(extras)} extra feature function(s)")
        leak_checks["point_in_time"] = {
            "cutoff": cutoffs.train,
            "checked": check_point_in_time(engine, inputs, cutoffs.train, extras),
            "result": "passed",
        }
    else:
        leak_checks["point_in_time"] = {
            "result": "not needed: no extra feature functions (the built-in profile is "
            "point-in-time by construction and tested)"
        }

    windows, specs, notes = _windows(plan, outcomes, checked, frames, say)
    train, validate, test = (windows[name] for name in BACKTEST_WINDOWS)
    if len(train.cutoffs) > 1:
        notes.append(
            f"training stacks {len(train.cutoffs)} windows one horizon apart "
            f"({len(train.frame):,} rows) because one window has fewer than "
            f"{STACK_UNTIL_ROWS:,} customers"
        )

    say(f"{checked}: backtest model")
    schema = FeatureSchema.learn(specs, train.frame)
    x_train, x_valid, x_test = (schema.matrix(w.frame) for w in (train, validate, test))
    prior = fit_prior(checked, horizon, schema, x_train, train.y)
    booster, rounds = gbm.fit_early_stopping(
        schema,
        x_train,
        train.y,
        x_valid,
        validate.y,
        settings.gbm,
        prior.offset(schema, x_train),
        prior.offset(schema, x_valid),
    )
    suspects = suspect_features(schema, x_test, test.y, suspect_auc)
    aucs = feature_aucs(schema, x_test, test.y)
    leak_checks["top_single_feature_auc"] = dict(sorted(aucs.items(), key=lambda kv: -kv[1])[:5])
    if suspects:
        listed = ", ".join(f"{name} (AUC {auc:.3f})" for name, auc in suspects.items())
        raise LeakError(
            f"suspected leak in the {checked} model: on the test window (cutoff "
            f"{cutoffs.test:%Y-%m-%d}) these features alone predict the outcome almost "
            f"perfectly: {listed}. Check that they use nothing after the cutoff (or pass "
            "suspect_auc=1.0 if they truly are that predictive)"
        )
    backtest_method = choose_method(settings.calibration, validate.y)
    raw_valid = prior.offset(schema, x_valid) + gbm.raw_scores(booster, x_valid)
    backtest_calibrator = fit_calibrator(backtest_method, raw_valid, validate.y)
    raw_test = prior.offset(schema, x_test) + gbm.raw_scores(booster, x_test)
    p_test = backtest_calibrator.predict(raw_test)
    metrics: dict[str, dict[str, float | None]] = {
        "model": _model_metrics(test.y, raw_test, p_test)
    }
    baseline_metrics, baseline_notes = _baselines(checked, horizon, train, test)
    metrics.update(baseline_metrics)
    notes += baseline_notes
    if backtest_method != choose_method(settings.calibration, windows["deploy_calibrate"].y):
        notes.append(
            f"the backtest was calibrated with {backtest_method}; the deployed model's "
            "calibration window chose differently"
        )

    say(f"{checked}: deployed model ({rounds} rounds)")
    deploy, calibration = windows["deploy_train"], windows["deploy_calibrate"]
    deploy_schema = FeatureSchema.learn(specs, deploy.frame)
    x_deploy = deploy_schema.matrix(deploy.frame)
    deploy_prior = fit_prior(checked, horizon, deploy_schema, x_deploy, deploy.y)
    deployed = gbm.fit_rounds(
        deploy_schema,
        x_deploy,
        deploy.y,
        settings.gbm,
        rounds,
        deploy_prior.offset(deploy_schema, x_deploy),
    )
    x_calibrate = deploy_schema.matrix(calibration.frame)
    raw_calibrate = deploy_prior.offset(deploy_schema, x_calibrate) + gbm.raw_scores(
        deployed, x_calibrate
    )
    calibrator = fit_calibrator(
        choose_method(settings.calibration, calibration.y), raw_calibrate, calibration.y
    )
    booster_text = deployed.model_to_string()
    facts = {name: w.facts(cutoffs, USED_FOR[name]) for name, w in windows.items()}
    digest = content_hash(
        checked, horizon, booster_text, deploy_prior, calibrator, deploy_schema, cutoffs.as_dict()
    )
    model = TrainedModel(
        target=checked,
        horizon_days=horizon,
        version=f"{checked}-{as_of:%Y%m%d}-{digest[:8]}",
        trained_at=dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0),
        data_as_of=as_of,
        cutoffs=cutoffs.as_dict(),
        schema=deploy_schema,
        booster_text=booster_text,
        prior=deploy_prior,
        calibrator=calibrator,
        rounds=rounds,
        params=gbm.params(settings.gbm, len(deploy.frame)),
        metrics=metrics,
        winners=winners(metrics),
        calibration_curve=calibration_curve(test.y, p_test),
        importance=importance(deployed, deploy_schema, x_calibrate, deploy_prior),
        windows=facts,
        leak_checks=leak_checks,
        dropped=dropped_traits(),
        notes=notes
        + ([f"extra features: {', '.join(function_name(f) for f in extras)}"] if extras else []),
    )
    say(f"{checked}: trained {model.version}")
    return model
