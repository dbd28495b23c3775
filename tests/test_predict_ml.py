"""Churn and repurchase models (LightGBM): held-out quality against two baselines on a
generated company, calibration, the model card, save/load, determinism, explanations, clear
errors; and the pure parts (metrics, calibrators, encoding, cutoffs) on small arrays.

On generated data BG/NBD is close to the process that makes the purchases (Poisson buying
with drop-out), so it is a hard baseline. Churn (90 days) beats it clearly at every size
tried (3k-20k customers, seeds 1, 5, 7: ROC-AUC +0.011 to +0.012, PR-AUC +0.009 to +0.013).
Repurchase (30 days) only ties it: ROC-AUC is ahead in five of those six companies (up to
+0.004) but PR-AUC ranges from -0.013 to +0.002, and its calibrated Brier score is within
0.001 of the raw one either way. So for repurchase against BG/NBD the test asserts the
ROC-AUC win and a tie (within a stated tolerance) on PR-AUC and Brier, not a win.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from predict_company import build_company
from segmint import Project
from segmint.predict.ml import (
    FeatureFrames,
    FeatureMismatchError,
    ModelError,
    TrainedModel,
    TrainingWindowError,
    published_inputs,
    score_customers,
    train_target,
)
from segmint.predict.ml.calibrate import Calibrator, choose_method, fit_calibrator
from segmint.predict.ml.catalog import FeatureKind, FeatureSpec, profile_features
from segmint.predict.ml.encoding import FeatureSchema
from segmint.predict.ml.explain import contribution_names, contributions, top_contributions
from segmint.predict.ml.gbm import raw_scores
from segmint.predict.ml.labels import population
from segmint.predict.ml.metrics import (
    calibration_curve,
    expected_calibration_error,
    top_share,
    winners,
)
from segmint.predict.ml.prior import Prior
from segmint.predict.ml.windows import backtest_cutoffs

CUSTOMERS, SEED = 5_000, 7
RUN = "mltest"
TARGETS = ("repurchase", "churn")
PII = ("name", "phone", "email", "member_id", "birth_date", "company_name")


@dataclass
class Trained:
    """The company and the models trained on it (once per module)."""

    project: Project
    as_of: dt.datetime
    models: dict[str, TrainedModel]
    again: TrainedModel  # repurchase, trained a second time on the same data
    frames: FeatureFrames
    seconds: dict[str, float]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    project, as_of = build_company(
        tmp_path_factory.mktemp("predict_ml"), customers=CUSTOMERS, seed=SEED
    )
    spec = project.loaded.spec
    seconds: dict[str, float] = {}
    with project.engine() as engine:
        inputs = published_inputs(engine)
        frames = FeatureFrames(engine, RUN, inputs, spec)
        models = {}
        for target in TARGETS:
            start = time.perf_counter()
            models[target] = train_target(engine, RUN, inputs, spec, as_of, target, frames=frames)
            seconds[target] = time.perf_counter() - start
        again = train_target(engine, RUN, inputs, spec, as_of, "repurchase", frames=frames)
    return Trained(project, as_of, models, again, frames, seconds)


def _test_frame(trained: Trained, target: str) -> pd.DataFrame:
    """The feature frame of a model's test window (customers scored at that cutoff)."""
    return trained.frames.get(trained.models[target].cutoffs["test"])[0]


def _beats(metrics: dict[str, dict[str, float]], metric: str, baseline: str) -> None:
    model, other = metrics["model"][metric], metrics[baseline][metric]
    assert model > other, f"{metric}: model {model:.4f} <= {baseline} {other:.4f}\n{metrics}"


@pytest.mark.slow
def test_churn_beats_both_baselines_on_the_held_out_window(trained: Trained) -> None:
    metrics = trained.models["churn"].metrics
    for metric in ("roc_auc", "pr_auc"):
        for baseline in ("recency_rule", "bgnbd"):
            _beats(metrics, metric, baseline)  # type: ignore[arg-type]
    model = metrics["model"]
    assert model["brier"] <= model["brier_raw"], metrics  # calibration helps on unseen data
    assert model["brier"] < metrics["bgnbd"]["brier"] < metrics["recency_rule"]["brier"]
    assert model["ece"] is not None and 0 <= model["ece"] < 0.05, metrics
    assert model["lift_at_10"] > 1.5 and model["capture_at_20"] > 0.3, metrics
    assert trained.models["churn"].winners["pr_auc"] == "model"


@pytest.mark.slow
def test_repurchase_beats_the_recency_rule_and_ties_bgnbd(trained: Trained) -> None:
    metrics = trained.models["repurchase"].metrics
    for metric in ("roc_auc", "pr_auc"):
        _beats(metrics, metric, "recency_rule")  # type: ignore[arg-type]
    _beats(metrics, "roc_auc", "bgnbd")  # type: ignore[arg-type]
    model, bgnbd = metrics["model"], metrics["bgnbd"]
    assert model["pr_auc"] is not None and bgnbd["pr_auc"] is not None
    assert model["pr_auc"] >= bgnbd["pr_auc"] - 0.01, metrics  # a tie, see the docstring
    assert model["brier"] is not None and model["brier_raw"] is not None
    assert model["brier"] <= model["brier_raw"] + 0.001, metrics
    assert model["ece"] is not None and 0 <= model["ece"] < 0.05, metrics
    assert model["lift_at_10"] > 1.5 and model["capture_at_20"] > 0.3, metrics


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS)
def test_the_card_says_what_was_trained_tested_and_how_well(trained: Trained, target: str) -> None:
    model = trained.models[target]
    h = model.horizon_days
    assert h == (30 if target == "repurchase" else 90)
    assert re.fullmatch(rf"{target}-20261101-[0-9a-f]{{8}}", model.version)
    as_of = trained.as_of
    step = dt.timedelta(days=h)
    assert model.cutoffs == {
        "train": as_of - 3 * step,
        "validate": as_of - 2 * step,
        "test": as_of - step,
        "deploy_train": as_of - 2 * step,
        "deploy_calibrate": as_of - step,
    }
    card = model.card()
    json.dumps(card)  # JSON-ready
    assert set(card) >= {
        "model",
        "data",
        "features",
        "evaluation",
        "calibration",
        "importance",
        "leak_checks",
        "limits",
    }
    assert card["evaluation"]["held_out"] is True
    assert "no held-out window of its own" in card["evaluation"]["explanation"]
    assert set(card["evaluation"]["metrics"]) == {"model", "recency_rule", "bgnbd"}
    assert set(card["evaluation"]["winner"]) >= {"roc_auc", "pr_auc", "brier", "ece"}
    for name, window in card["data"]["windows"].items():
        assert window["customers"] >= 3_000 and 0 < window["base_rate"] < 1, name
    test = model.windows["test"]
    curve = card["calibration"]["curve"]
    assert sum(row["count"] for row in curve) == test["customers"]
    assert card["calibration"]["method"] in ("isotonic", "platt")
    names = [f["name"] for f in card["features"]]
    assert names == model.features and not set(PII) & set(names)
    assert {"bgnbd_p_alive", f"bgnbd_p_purchase_{h}d", "days_since_last_event"} <= set(names)
    assert any("identity graph" in limit for limit in card["limits"])
    top = [row["feature"] for row in model.importance[:10]]
    assert len(model.importance) == len(names) + 1 and top[0] in [*names, "bgnbd_baseline"]
    assert all(row["mean_abs_shap"] >= 0 and row["gain"] >= 0 for row in model.importance)


@pytest.mark.slow
def test_saving_and_loading_gives_identical_scores(trained: Trained) -> None:
    model = trained.models["churn"]
    frame = _test_frame(trained, "churn").head(3_000)
    scores = score_customers(model, frame)
    loaded = TrainedModel.from_json(model.to_json())
    assert loaded.version == model.version and loaded.card() == model.card()
    pd.testing.assert_frame_equal(score_customers(loaded, frame), scores)
    assert list(scores.columns) == ["customer_id", "probability", "raw_score", "reasons"]
    assert (scores["customer_id"].to_numpy() == frame["customer_id"].to_numpy()).all()
    assert scores["probability"].between(0, 1).all()

    tampered = json.loads(model.to_json())
    tampered["calibrator"] = Calibrator("platt", a=2.0, b=0.0).as_dict()
    with pytest.raises(ModelError, match="fingerprint"):
        TrainedModel.from_json(json.dumps(tampered))
    with pytest.raises(ModelError, match="not a saved segmint model"):
        TrainedModel.from_json('{"format": "something else"}')


@pytest.mark.slow
def test_training_is_deterministic(trained: Trained) -> None:
    first, second = trained.models["repurchase"], trained.again
    assert first.version == second.version
    assert first.booster_text == second.booster_text
    frame = _test_frame(trained, "repurchase")
    pd.testing.assert_frame_equal(
        score_customers(first, frame, reasons=False), score_customers(second, frame, reasons=False)
    )


@pytest.mark.slow
def test_reasons_add_up_to_the_raw_score(trained: Trained) -> None:
    model = trained.models["repurchase"]
    frame = _test_frame(trained, "repurchase").head(500)
    x = model.schema.matrix(frame)
    contrib = contributions(model.booster, model.schema, x, model.prior)
    raw = model.prior.offset(model.schema, x) + raw_scores(model.booster, x)
    assert np.allclose(contrib.sum(axis=1), raw, atol=1e-9)
    names = contribution_names(model.schema)
    assert names[-1] == "bgnbd_baseline" and len(names) == contrib.shape[1] - 1
    scores = score_customers(model, frame, reasons=True, chunk_rows=128)
    assert np.allclose(scores["raw_score"], raw, atol=1e-12)
    index, values = top_contributions(contrib)
    pattern = re.compile(r"^(?P<feature>[a-z0-9_]+)=(?P<value>.+) \((?P<c>[+-]\d+\.\d\d)\)$")
    for i, text in enumerate(scores["reasons"]):
        parts = text.split("; ")
        assert len(parts) == 3, text
        for r, part in enumerate(parts):
            match = pattern.match(part)
            assert match, part
            assert match["feature"] == names[index[i, r]]
            assert float(match["c"]) == pytest.approx(values[i, r], abs=0.0051)
        assert abs(values[i, 0]) >= abs(values[i, 1]) >= abs(values[i, 2])
    plain = score_customers(model, frame, reasons=False)
    assert plain["reasons"].isna().all()
    pd.testing.assert_series_equal(plain["probability"], scores["probability"])


@pytest.mark.slow
def test_too_few_customers_is_a_clear_error(trained: Trained) -> None:
    spec = trained.project.loaded.spec
    strict = spec.model_copy(
        update={"predict": spec.predict.model_copy(update={"min_customers": 1_000_000})}
    )
    with trained.project.engine() as engine:
        inputs = published_inputs(engine)
        with pytest.raises(TrainingWindowError) as caught:
            train_target(engine, RUN, inputs, strict, trained.as_of, "repurchase")
        train_cutoff = trained.models["repurchase"].cutoffs["train"]
        expected = int(engine.scalar(population(inputs, train_cutoff).count()))
    message = str(caught.value)
    assert message.startswith("the train window (cutoff 2026-08-03, outcomes to 2026-09-02) has ")
    found = re.search(r"has ([\d,]+) customers with a paid order up to its cutoff", message)
    assert found is not None, message
    assert int(found[1].replace(",", "")) == expected > 3_000
    assert expected == trained.models["repurchase"].windows["train"]["customers"]
    assert "predict.min_customers is 1,000,000" in message


@pytest.mark.slow
def test_scoring_names_the_missing_feature(trained: Trained) -> None:
    frame = _test_frame(trained, "churn").drop(columns=["recency_days"])
    with pytest.raises(FeatureMismatchError, match="Required column recency_days missing"):
        score_customers(trained.models["churn"], frame)


# ---------------------------------------------------------------------- pure parts


def test_backtest_cutoffs_follow_the_horizon() -> None:
    as_of = dt.datetime(2026, 11, 1)
    cutoffs = backtest_cutoffs(as_of, 30)
    assert cutoffs.train == dt.datetime(2026, 8, 3)
    assert cutoffs.validate == cutoffs.deploy_train == dt.datetime(2026, 9, 2)
    assert cutoffs.test == cutoffs.deploy_calibrate == dt.datetime(2026, 10, 2)
    assert cutoffs.outcome_end(cutoffs.test) == as_of
    assert cutoffs.earlier(cutoffs.train, 3) == [
        dt.datetime(2026, 8, 3),
        dt.datetime(2026, 7, 4),
        dt.datetime(2026, 6, 4),
    ]


def test_lift_and_capture_share_ties_fairly() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(1_000) < 0.3).astype(float)
    score = rng.integers(0, 7, 1_000).astype(float)  # a coarse score with many ties
    lift, capture = top_share(y, score, 0.10)
    # the same figure by brute force: the mean over many random tie-breaks
    k = 100
    draws = []
    for _ in range(2_000):
        order = np.lexsort((rng.random(1_000), -score))
        draws.append(y[order[:k]].sum())
    expected = float(np.mean(draws))
    assert capture == pytest.approx(expected / y.sum(), rel=0.01)
    assert lift == pytest.approx((expected / k) / y.mean(), rel=0.01)
    perfect_lift, perfect_capture = top_share(y, y, 0.10)
    assert perfect_lift == pytest.approx(1 / y.mean()) and perfect_capture < 1


def test_calibration_curve_and_error() -> None:
    p = np.array([0.05, 0.05, 0.15, 0.95, 0.95, 0.95, 0.95])
    y = np.array([0, 0, 1, 1, 1, 1, 0], dtype=float)
    curve = calibration_curve(y, p)
    assert [(r["bin"], r["count"]) for r in curve] == [(0, 2), (1, 1), (9, 4)]
    assert curve[2]["observed_rate"] == 0.75 and curve[2]["mean_predicted"] == 0.95
    expected = (2 * 0.05 + 1 * 0.85 + 4 * 0.20) / 7
    assert expected_calibration_error(y, p) == pytest.approx(expected)
    table = {"model": {"roc_auc": 0.8, "brier": 0.2}, "rule": {"roc_auc": 0.7, "brier": 0.1}}
    assert winners(table) == {"roc_auc": "model", "brier": "rule"}


def test_calibrators_match_their_references() -> None:
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(11)
    raw = rng.normal(size=3_000)
    y = (rng.random(3_000) < 1 / (1 + np.exp(-(2.0 * raw - 0.5)))).astype(float)
    iso = fit_calibrator("isotonic", raw, y)
    reference = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(raw, y)
    grid = np.linspace(-5, 5, 101)
    assert np.allclose(iso.predict(grid), reference.predict(grid))
    platt = fit_calibrator("platt", raw, y)
    assert platt.a == pytest.approx(2.0, abs=0.2) and platt.b == pytest.approx(-0.5, abs=0.15)
    again = Calibrator.from_dict(json.loads(json.dumps(platt.as_dict())))
    assert np.array_equal(again.predict(grid), platt.predict(grid))
    assert choose_method("auto", np.r_[np.ones(1_000), np.zeros(1_000)]) == "isotonic"
    assert choose_method("auto", np.r_[np.ones(999), np.zeros(5_000)]) == "platt"
    assert choose_method("isotonic", np.ones(3)) == "isotonic"


def test_categoricals_keep_their_training_levels() -> None:
    specs = [
        FeatureSpec("tier", "city_tier", "categorical", ""),
        FeatureSpec("segment", "rfm_segment", "categorical", ""),
        FeatureSpec("flag", "is_b2b", "boolean", ""),
        FeatureSpec("days", "recency_days", "numeric", ""),
    ]
    train = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "tier": [2.0, 1.0, np.nan],
            "segment": ["Loyal", "New", "Loyal"],
            "flag": [1, 0, None],
            "days": pd.array([3, None, 5], dtype="Int64"),
        }
    )
    schema = FeatureSchema.learn(specs, train)
    assert schema.specs[0].levels == ("1", "2") and schema.specs[1].levels == ("Loyal", "New")
    later = pd.DataFrame(
        {
            "customer_id": ["d", "e"],
            "tier": pd.array([1, 5], dtype="Int64"),  # 5 was never seen in training
            "segment": ["New", "Champions"],
            "flag": [True, False],
            "days": [1.5, 2.0],
        }
    )
    x = schema.matrix(later)
    assert x[0].tolist() == [0.0, 1.0, 1.0, 1.5]
    assert math.isnan(x[1, 0]) and math.isnan(x[1, 1]) and x[1, 2:].tolist() == [0.0, 2.0]
    assert schema.display(0, 0.0) == "1" and schema.display(3, 2.0) == "2"
    assert schema.display(1, float("nan")) == "missing"
    with pytest.raises(FeatureMismatchError, match="Column days must be numeric"):
        schema.matrix(later.assign(days=["x", "y"]))


def test_no_personal_data_is_a_feature() -> None:
    names = {spec.name for spec in profile_features()}
    assert not set(PII) & names
    assert "customer_id" not in names
    assert {"days_since_registered", "days_since_first_order", "days_since_last_event"} <= names
    assert not {"registered_at", "first_order_at", "last_event_at"} & names


def _reference_reasons(
    schema: FeatureSchema, prior: Prior, x: np.ndarray, c: np.ndarray
) -> list[str]:
    """The row-by-row reasons the vectorised code must reproduce: a stable sort of
    -|contribution| (ties: lower column), each value shown through the schema."""
    names = contribution_names(schema)
    out = []
    for i in range(len(x)):
        order = np.argsort(-np.abs(c[i, :-1]), kind="stable")[:3]
        parts = []
        for j in order.tolist():
            if j == len(schema.names):
                p = prior.probability(schema, x[i : i + 1])[0]
                shown = "missing" if np.isnan(p) else f"{p:.3f}"
            else:
                shown = schema.display(j, float(x[i, j]))
            parts.append(f"{names[j]}={shown} ({c[i, j]:+.2f})")
        out.append("; ".join(parts))
    return out


@pytest.mark.parametrize("zero_as_missing", [False, True])
def test_fast_treeshap_equals_lightgbm_and_reasons_are_unchanged(zero_as_missing: bool) -> None:
    import lightgbm as lgb

    from segmint.predict.ml import treeshap
    from segmint.predict.ml.explain import reason_texts

    rng = np.random.default_rng(5)
    n = 3_000
    x = np.column_stack(
        [
            rng.normal(size=n),
            rng.integers(0, 6, n).astype(float),  # counts with many zeros
            rng.uniform(0, 1, n),  # the BG/NBD probability (the prior's column)
            rng.integers(0, 5, n).astype(float),  # categorical codes
            rng.exponential(2.0, n),
        ]
    )
    x[rng.random(n) < 0.15, 0] = np.nan
    x[rng.random(n) < 0.1, 3] = np.nan
    y = ((np.nan_to_num(x[:, 0]) + x[:, 1] / 3 + (x[:, 3] == 2) + rng.normal(size=n)) > 1).astype(
        float
    )
    names = ["score", "orders", "bgnbd_p_purchase_30d", "channel", "spend"]
    kinds: list[FeatureKind] = ["numeric", "numeric", "numeric", "categorical", "numeric"]
    params = {
        "objective": "binary",
        "num_leaves": 15,
        "min_data_in_leaf": 5,
        "verbosity": -1,
        "num_threads": 1,
        "zero_as_missing": zero_as_missing,
        "seed": 1,
    }
    data = lgb.Dataset(x, label=y, feature_name=names, categorical_feature=[3])
    booster = lgb.train(params, data, num_boost_round=25)
    # rows the training never saw: an unseen and a negative category, exact thresholds, ~0
    probe = x[:1_000].copy()
    probe[:50, 3] = 9.0
    probe[50:60, 3] = -1.0
    probe[60:70, 1] = 0.0
    probe[70:80, 4] = 1e-40
    trees = treeshap.parse_booster(booster)
    fast = treeshap.contributions(trees, probe, booster=booster)  # also checks the routing
    exact = np.asarray(booster.predict(probe, pred_contrib=True))
    assert fast.shape == exact.shape
    assert np.abs(fast - exact).max() < 1e-9

    specs = tuple(
        FeatureSpec(name, "test", kind, name, "internal", tuple("abcdefghij") if i == 3 else ())
        for i, (name, kind) in enumerate(zip(names, kinds, strict=True))
    )
    schema = FeatureSchema(specs)
    prior = Prior("bgnbd_p_purchase_30d", False, -0.5, 0.1)
    contrib = contributions(booster, schema, probe, prior, trees)
    assert np.abs(contrib - contributions(booster, schema, probe, prior)).max() < 1e-9
    contrib[:20, :] = 0.0  # ties everywhere: reasons fall back to the lower columns
    contrib[20:40, 1] = contrib[20:40, 4] = 0.5  # a tie between two reasons
    contrib[40:45, 2] = -0.0  # shown as -0.00, not +0.00
    shown = probe.copy()
    shown[50:60, 3] = np.nan  # the encoder never gives a negative code
    assert reason_texts(schema, prior, shown, contrib) == _reference_reasons(
        schema, prior, shown, contrib
    )
