"""The predict stage of a run: CLV models, churn and repurchase scores, model cards.

Order of work: purchase summaries at the as-of time → CLV fit and holdout check → for each
machine-learned target, the saved model (or a new one, per `predict.retrain`) scores every
buyer → `customer_predictions`, the model registry and the model-card tables.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from segmint.digest import json_digest
from segmint.engine.engine import Engine, table_name
from segmint.errors import ConfigError, SegmintError
from segmint.predict import cards
from segmint.predict.clv import FitError
from segmint.predict.clv_scores import HOLDOUT_DAYS, ClvFit, clv_frame, fit_clv, holdout_check
from segmint.predict.clv_scores import tiers as clv_tiers
from segmint.predict.columns import (
    CUSTOMER_PREDICTIONS,
    MODEL_REGISTRY,
    PREDICTION_COLUMNS,
    PREDICTION_NAMES,
)
from segmint.predict.ml import FeatureFrames, TrainedModel, score_customers, train_target
from segmint.predict.store import SavedModel, latest, with_models
from segmint.predict.summary import purchase_summary, purchases_between
from segmint.project.spec import ProjectSpec
from segmint.project.spec_predict import Retrain, TargetSettings
from segmint.traits.profile import ProfileInputs, paid_orders

TARGETS = ("repurchase", "churn")
_PROBABILITY = {"repurchase": "repurchase_probability", "churn": "churn_probability"}
_BAND = {"repurchase": "repurchase_band", "churn": "churn_risk"}
_REASONS = {"repurchase": "repurchase_reasons", "churn": "churn_reasons"}
_VERSION = {"repurchase": "repurchase_model_version", "churn": "churn_model_version"}


@dataclass
class PredictBuild:
    """What the predict stage wrote."""

    tables: dict[str, str]
    versions: dict[str, str] = field(default_factory=dict)  # predictive column -> version
    trained: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scored: int = 0


def settings_hash(spec: ProjectSpec, target: str) -> str:
    """What a saved model must match to be reused: its target's settings, the model
    parameters, the calibration method and the profile settings its features come from."""
    predict = spec.predict
    target_settings: TargetSettings = getattr(predict, target)
    doc = {
        "horizon_days": target_settings.horizon_days,
        "gbm": predict.gbm.model_dump(),
        "calibration": predict.calibration,
        "profile": spec.profile.model_dump(mode="json"),
    }
    return json_digest(doc)


def retrain_reason(
    saved: SavedModel | None, digest: str, as_of: dt.datetime, policy: Retrain, max_age: int
) -> str | None:
    """Why a new model is needed, or None to reuse the saved one."""
    if policy == "always":
        return "retrain requested"
    if saved is None:
        return None if policy == "never" else "no saved model"
    if policy == "never":
        return None
    if saved.settings_hash != digest:
        return "settings changed since the saved model was trained"
    if as_of < saved.data_as_of:
        return "the as-of time is before the saved model's data (it would see the future)"
    if saved.age_days(as_of) > max_age:
        return f"saved model is {saved.age_days(as_of):.0f} days old (max_age_days {max_age})"
    return None


def bands(probability: pd.Series, settings: TargetSettings) -> pd.Series:
    """Band label of each probability (a cut point belongs to the band above it)."""
    index = np.searchsorted(np.asarray(settings.bands), probability.to_numpy(float), "right")
    labels = np.asarray(settings.labels, dtype=object)
    out = pd.Series(labels[np.clip(index, 0, len(labels) - 1)], index=probability.index)
    return out.where(probability.notna()).astype("string")


def build_predictions(
    engine: Engine,
    run_id: str,
    inputs: ProfileInputs,
    spec: ProjectSpec,
    as_of: dt.datetime,
    previous_registry: pd.DataFrame | None,
    *,
    profile: ir.Table | None = None,
    retrain: Retrain | None = None,
    progress: Callable[[str], None] | None = None,
) -> PredictBuild:
    """Score every buyer with the CLV models and the churn and repurchase models.

    `profile` is the run's profile at `as_of`; scoring reuses it instead of building it again.
    """
    say = progress or (lambda _detail: None)
    build = PredictBuild(tables={})
    predict = spec.predict
    policy = retrain or predict.retrain
    paid = paid_orders(inputs, as_of)
    summary = (
        engine.to_pandas(purchase_summary(paid, as_of)).sort_values("customer_id")
        if paid is not None
        else pd.DataFrame({c: [] for c in ("customer_id", "purchase_days")})
    )
    summary = summary.reset_index(drop=True)
    frame = pd.DataFrame({"customer_id": summary["customer_id"]})
    frame["purchase_days"] = summary["purchase_days"].astype("int64")
    saved: list[SavedModel] = []
    card_rows: list[dict[str, Any]] = []

    say("CLV models")
    clv = _clv(engine, paid, summary, spec, as_of, build)
    if clv is not None:
        values = clv_frame(clv, summary)
        frame = frame.merge(values.drop(columns="purchase_days"), on="customer_id", how="left")
        frame["clv_tier"] = clv_tiers(frame["predicted_clv"], predict.clv)
        frame["clv_model_version"] = clv.version
        build.versions.update(
            {c: clv.version for c in ("clv_tier", "predicted_clv", "p_alive", "next_purchase_at")}
        )
        card = clv.card()
        saved.append(
            SavedModel(
                target="clv",
                version=clv.version,
                kind="clv",
                trained_run_id=run_id,
                trained_at=_now(),
                data_as_of=as_of,
                settings_hash=json_digest(predict.clv.model_dump()),
                payload=json.dumps({"parameters": clv.parameters(), "card": card}),
            )
        )
        card_rows.append(cards.card_row("clv", clv.version, "clv", run_id, run_id, card))

    # shared: the targets' cutoffs overlap, and scoring reads the run's own profile
    frames = FeatureFrames(
        engine, run_id, inputs, spec, profiles=None if profile is None else {as_of: profile}
    )
    for target in TARGETS:
        settings: TargetSettings = getattr(predict, target)
        if not settings.enabled or frame.empty:
            continue
        digest = settings_hash(spec, target)
        current = latest(previous_registry, target)
        reason = retrain_reason(current, digest, as_of, policy, predict.max_age_days)
        model: TrainedModel | None
        if reason is None and current is None:
            raise ConfigError(
                f"predict.retrain is 'never' but no {target} model is saved; run "
                "'segmint predict train' first"
            )
        try:
            if reason is None:
                assert current is not None
                model = TrainedModel.from_json(current.payload)
                trained_run = current.trained_run_id
                build.notes.append(f"predict: {target} scored with saved model {model.version}")
            else:
                say(f"training {target} model ({reason})")
                model = train_target(
                    engine, run_id, inputs, spec, as_of, target, progress=say, frames=frames
                )
                trained_run = run_id
                build.trained.append(target)
                build.notes.append(f"predict: {target} model {model.version} trained ({reason})")
                saved.append(
                    SavedModel(
                        target=target,
                        version=model.version,
                        kind="lightgbm",
                        trained_run_id=run_id,
                        trained_at=_now(),
                        data_as_of=as_of,
                        settings_hash=digest,
                        payload=model.to_json(),
                    )
                )
        except SegmintError as exc:
            if isinstance(exc, ConfigError):
                raise
            build.notes.append(f"predict: no {target} model: {exc}")
            continue
        say(f"scoring {target}")
        features, _specs, _notes = frames.get(as_of)
        scores = score_customers(model, features, reasons=True)
        scored = scores[["customer_id", "probability", "reasons"]].rename(
            columns={"probability": _PROBABILITY[target], "reasons": _REASONS[target]}
        )
        frame = frame.merge(scored, on="customer_id", how="left")
        frame[_BAND[target]] = bands(frame[_PROBABILITY[target]], settings)
        frame[_VERSION[target]] = model.version
        for column in (_PROBABILITY[target], _BAND[target]):
            build.versions[column] = model.version
        card_rows.append(
            cards.card_row(target, model.version, "lightgbm", run_id, trained_run, model.card())
        )

    frame["run_id"] = run_id
    predictions = engine.materialize(
        engine.run_table(run_id, CUSTOMER_PREDICTIONS), typed_predictions(frame)
    )
    build.tables[CUSTOMER_PREDICTIONS] = table_name(predictions)
    build.scored = len(frame)
    registry = engine.materialize(
        engine.run_table(run_id, MODEL_REGISTRY), with_models(previous_registry, saved)
    )
    build.tables[MODEL_REGISTRY] = table_name(registry)
    for name, table in cards.card_tables(card_rows).items():
        build.tables[name] = table_name(engine.materialize(engine.run_table(run_id, name), table))
    return build


def _clv(
    engine: Engine,
    paid: ir.Table | None,
    summary: pd.DataFrame,
    spec: ProjectSpec,
    as_of: dt.datetime,
    build: PredictBuild,
) -> ClvFit | None:
    """Fit the CLV models and run the holdout check; None (with a note) when they cannot."""
    if paid is None or summary.empty:
        build.notes.append("predict: no paid orders, no CLV model")
        return None
    try:
        fit = fit_clv(summary, spec.predict.clv, as_of)
    except FitError as exc:
        build.notes.append(f"predict: no CLV model: {exc}")
        return None
    start = as_of - dt.timedelta(days=HOLDOUT_DAYS)
    calibration = engine.to_pandas(purchase_summary(paid, start))
    if not calibration.empty:
        actual = engine.to_pandas(purchases_between(paid, start, as_of))
        days = (
            calibration[["customer_id"]]
            .merge(actual, on="customer_id", how="left")["holdout_days"]
            .fillna(0)
        )
        try:
            fit.holdout = holdout_check(calibration, days, spec.predict.clv, start)
        except FitError as exc:
            build.notes.append(f"predict: CLV holdout check skipped: {exc}")
    return fit


def typed_predictions(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with every prediction column, in catalogue order and type (missing → NULL)."""
    out = pd.DataFrame(index=frame.index)
    for column in PREDICTION_COLUMNS:
        values = frame[column.name] if column.name in frame else pd.Series(None, index=frame.index)
        if column.dtype == "float64":
            out[column.name] = pd.to_numeric(values, errors="coerce").astype("float64")
        elif column.dtype == "int64":
            out[column.name] = values.astype("int64")
        elif column.dtype == "timestamp":
            out[column.name] = pd.to_datetime(values).astype("datetime64[us]")
        else:
            out[column.name] = values.astype("string")
    return out[list(PREDICTION_NAMES)]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
