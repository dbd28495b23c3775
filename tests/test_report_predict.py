"""The report's predictive-models section, from hand-built published tables.

No pipeline run: a small DuckDB warehouse gets the five published prediction tables
(`customer_predictions` for 400 buyers, and the model cards made by `segmint.predict.cards`
from three realistic cards), the section's engine part reads them through the access policy,
and the report is rendered in English and Chinese. Every figure the section shows is
recomputed here from the frames that were written.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from segmint import Project
from segmint.access.policy import AccessPolicy
from segmint.access.sensitivity import SensitivityCatalog
from segmint.access.settings import AccessSettings
from segmint.engine.connect import connect_duckdb
from segmint.engine.engine import Engine
from segmint.pipeline.report_data import (
    _predictions,
    _Reader,
    build_report_data,
    prediction_settings,
)
from segmint.predict.cards import card_row, card_tables
from segmint.predict.columns import (
    CUSTOMER_PREDICTIONS,
    MODEL_CARDS,
    MODEL_TABLES,
    PREDICTION_COLUMNS,
    prediction_sensitivity,
)
from segmint.project.spec_predict import PredictSettings
from segmint.report import ReportData, charts, render_report
from segmint.report.fmt import fmt_int, fmt_money, fmt_num, fmt_pct
from segmint.report.predict import verdict
from test_report import (
    EXPECTED_CHARTS,
    assert_layout,
    assert_sound_svg,
    browser_layout,
    charts_by_id,
    make_report_data,
    parse,
    read_tables,
    requires_chromium,
)

RUN_ID = "20240701T031500-7f3a9c"
BUYERS = 400
AS_OF = pd.Timestamp("2024-06-30")
FEATURES = [
    "recency_days",
    "frequency",
    "monetary",
    "aov",
    "tenure_days",
    "orders_90d",
    "spend_90d",
    "online_share",
    "discount_share",
    "categories",
    "interaction_trend",
    "bgnbd_p_alive",
    "bgnbd_expected_purchases_30d",
    "age_band",
]


# -- The published tables ----------------------------------------------------------------------


def _curve(scorer: str, shift: float, rng: np.random.Generator) -> list[dict[str, Any]]:
    return [
        {
            "scorer": scorer,
            "bin": b,
            "mean_predicted": (b + 0.5) / 10,
            "observed_rate": float(np.clip((b + 0.5) / 10 + shift * rng.uniform(-1, 1), 0, 1)),
            "count": int(rng.integers(20, 400)),
        }
        for b in range(10)
    ]


def repurchase_card(rng: np.random.Generator) -> dict[str, Any]:
    """A card in the shape of `segmint.predict.ml.model.TrainedModel.card()`."""
    horizon = 30
    cutoffs = {
        name: AS_OF - pd.Timedelta(days=back * horizon)
        for name, back in (
            ("train", 3),
            ("validate", 2),
            ("test", 1),
            ("deploy_train", 2),
            ("deploy_calibrate", 1),
        )
    }
    sizes = {"train": (9_412, 0.214), "validate": (9_870, 0.221), "test": (10_233, 0.232)}
    sizes |= {"deploy_train": sizes["validate"], "deploy_calibrate": sizes["test"]}
    windows = {
        name: {
            "cutoff": str(cutoff),
            "outcome_until": str(cutoff + pd.Timedelta(days=horizon)),
            "customers": sizes[name][0],
            "positives": round(sizes[name][0] * sizes[name][1]),
            "base_rate": sizes[name][1],
            "used_for": name,
        }
        for name, cutoff in cutoffs.items()
    }
    metrics = {
        "model": {
            "roc_auc": 0.781,
            "pr_auc": 0.512,
            "lift_at_10": 2.91,
            "capture_at_10": 0.291,
            "lift_at_20": 2.33,
            "capture_at_20": 0.466,
            "brier": 0.141,
            "ece": 0.011,
            "brier_raw": 0.152,
            "ece_raw": 0.038,
        },
        "recency_rule": {
            "roc_auc": 0.702,
            "pr_auc": 0.401,
            "lift_at_10": 2.41,
            "capture_at_10": 0.241,
            "lift_at_20": 2.02,
            "capture_at_20": 0.404,
            "brier": 0.158,
            "ece": 0.024,
        },
        "bgnbd": {
            "roc_auc": 0.744,
            "pr_auc": 0.455,
            "lift_at_10": 2.62,
            "capture_at_10": 0.262,
            "lift_at_20": 2.18,
            "capture_at_20": 0.436,
            "brier": 0.150,
            "ece": 0.043,
        },
    }
    return {
        "model": {
            "target": "repurchase",
            "definition": "Repurchase: at least one paid order in the 30 days after the cutoff.",
            "horizon_days": horizon,
            "version": "repurchase-20240630-abcd1234",
            "trained_at": "2024-07-01 03:16:02",
            "algorithm": "LightGBM gradient-boosted trees (binary log-loss), calibrated",
            "parameters": {"num_leaves": 31, "learning_rate": 0.05},
            "rounds": 143,
            "population": "customers with at least one paid order up to the cutoff",
        },
        "data": {
            "as_of": str(AS_OF),
            "cutoffs": {k: str(v) for k, v in cutoffs.items()},
            "windows": windows,
        },
        "features": [
            {
                "name": f,
                "source": "profile",
                "kind": "numeric",
                "description": f"The {f}.",
                "sensitivity": "internal",
                "levels": 0,
            }
            for f in FEATURES
        ],
        "dropped_traits": {},
        "evaluation": {
            "held_out": True,
            "window": "test",
            "explanation": "Backtest …",
            "metrics": metrics,
            "winner": {"roc_auc": "model", "pr_auc": "model"},
            "model_wins": {"roc_auc": True, "pr_auc": True},
            "baselines": ["recency_rule", "bgnbd"],
        },
        "calibration": {
            "method": "platt",
            "fitted_on": "validate window (backtest); test window (deployed model)",
            "ece": 0.011,
            "ece_raw": 0.038,
            "brier": 0.141,
            "brier_raw": 0.152,
            "curve": _curve("model", 0.02, rng)
            + _curve("recency_rule", 0.05, rng)
            + _curve("bgnbd", 0.08, rng),
        },
        "importance": [
            {"feature": f, "gain": 1000.0 / (i + 1), "mean_abs_shap": 0.5 / (i + 1)}
            for i, f in enumerate(FEATURES)
        ],
        "leak_checks": {"suspect_auc": 0.97},
        "limits": [
            "The metrics come from one held-out window; a different season can rank "
            "customers differently.",
            "Customers are resolved with the current identity graph.",
        ],
        "notes": ["the deployed model's calibration window chose differently"],
    }


def churn_card(rng: np.random.Generator) -> dict[str, Any]:
    """An older, flatter shape: metrics per window at the top (so `card_tables` finds no
    long-form rows and the report reads the card), plain cutoffs with populations and base
    rates as separate maps, and a baseline that wins PR-AUC."""
    return {
        "target": "churn",
        "horizon_days": 90,
        "cutoffs": {
            "train": "2023-10-04T00:00:00",
            "validate": "2024-01-02T00:00:00",
            "test": "2024-04-01T00:00:00",
        },
        "population": {"train": 8_100, "validate": 8_900, "test": 9_650},
        "base_rates": {"train": 0.61, "validate": 0.6, "test": 0.58},
        "features": FEATURES[:8],
        "metrics": {
            "test": {
                "model": {"roc_auc": 0.731, "pr_auc": 0.398, "lift_10": 1.42, "ece": 0.019},
                "recency_rule": {
                    "roc_auc": 0.702,
                    "pr_auc": 0.412,
                    "lift_10": 1.40,
                    "ece": 0.031,
                },
            }
        },
        "calibration_method": "isotonic",
        "calibration_curve": _curve("model", 0.03, rng) + _curve("recency_rule", 0.06, rng)[:7],
        "importance": [
            {"feature": f, "gain": 50.0 - i, "mean_abs_shap": 0.3 - i * 0.02}
            for i, f in enumerate(FEATURES[:8])
        ],
        "limits": ["Churn means no purchase in 90 days; a customer may come back later."],
    }


HOLDOUT_BUCKETS = [
    # frequency, customers, predicted per customer, actual per customer
    ("0", 210, 0.11, 0.09),
    ("1", 80, 0.38, 0.41),
    ("2", 41, 0.62, 0.55),
    ("3", 22, 0.91, 1.02),
    ("4", 14, 1.18, 1.07),
    ("5", 9, 1.44, 1.56),
    ("6", 6, 1.71, 1.5),
    ("7+", 18, 2.6, 2.41),
]


def clv_card() -> dict[str, Any]:
    """In the shape of `ClvFit.card()`."""
    predicted = sum(n * p for _, n, p, _ in HOLDOUT_BUCKETS)
    actual = sum(n * a for _, n, _, a in HOLDOUT_BUCKETS)
    return {
        "target": "clv",
        "kind": "clv",
        "version": "clv-bgnbd-20240630-1a2b3c4d",
        "model": "bgnbd",
        "data_as_of": AS_OF.isoformat(),
        "customers": BUYERS,
        "repeat_customers": 190,
        "parameters": {
            "count_model": "bgnbd",
            "count": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
            "spend": {"p": 6.25, "q": 3.74, "v": 15.45},
        },
        "log_likelihood": -9582.43,
        "horizon_days": 365,
        "annual_discount_rate": 0.1,
        "holdout": {
            "calibration_end": "2024-04-01T00:00:00",
            "holdout_days": 90,
            "customers": sum(n for _, n, _, _ in HOLDOUT_BUCKETS),
            "predicted_total": predicted,
            "actual_total": actual,
            "error_pct": (predicted - actual) / actual * 100,
            "mae_per_customer": 0.41,
            "correlation": 0.62,
            "by_frequency": [
                {"frequency": f, "customers": n, "predicted": p, "actual": a}
                for f, n, p, a in HOLDOUT_BUCKETS
            ],
        },
        "limits": ["Counts purchase days, not orders."],
    }


def predictions_frame(rng: np.random.Generator, scored: bool = True) -> pd.DataFrame:
    """`customer_predictions` for BUYERS buyers, banded as the default settings band them."""
    settings = PredictSettings()
    n = BUYERS
    clv = rng.gamma(1.2, 300.0, n)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "purchase_days": rng.integers(1, 12, n),
            "p_alive": rng.uniform(0.2, 1, n),
            "expected_purchases_30d": rng.uniform(0, 1.5, n),
            "p_purchase_30d_clv": rng.uniform(0, 1, n),
            "next_purchase_at": AS_OF + pd.to_timedelta(rng.integers(1, 300, n), unit="D"),
            "expected_order_value": rng.uniform(50, 500, n),
            "predicted_clv": clv,
        }
    )
    cuts = np.quantile(clv, settings.clv.tiers)
    frame["clv_tier"] = np.asarray(settings.clv.tier_labels)[np.searchsorted(cuts, clv, "left")]
    for target, probability, band, reasons in (
        ("repurchase", "repurchase_probability", "repurchase_band", "repurchase_reasons"),
        ("churn", "churn_probability", "churn_risk", "churn_reasons"),
    ):
        target_settings = getattr(settings, target)
        p = rng.beta(2, 3, n)
        labels = np.asarray(target_settings.labels)
        frame[probability] = p if scored else None
        frame[band] = (
            labels[np.searchsorted(np.asarray(target_settings.bands), p, "right")]
            if scored
            else None
        )
        frame[reasons] = "recency_days=12 (+0.84); frequency=5 (+0.31)" if scored else None
        frame[f"{target}_model_version"] = f"{target}-lgbm-20240630-abcd" if scored else None
    if scored:  # a few buyers the churn model could not score
        frame.loc[:4, ["churn_probability", "churn_risk"]] = None
    frame["clv_model_version"] = "clv-bgnbd-20240630-1a2b3c4d"
    frame["run_id"] = RUN_ID
    return typed(frame)


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Every prediction column in catalogue order and type (as the predict stage writes)."""
    out = pd.DataFrame(index=frame.index)
    for column in PREDICTION_COLUMNS:
        values = frame[column.name]
        if column.dtype == "float64":
            out[column.name] = pd.to_numeric(values, errors="coerce").astype("float64")
        elif column.dtype == "int64":
            out[column.name] = values.astype("int64")
        elif column.dtype == "timestamp":
            out[column.name] = pd.to_datetime(values).astype("datetime64[us]")
        else:
            out[column.name] = values.astype("string")
    return out


def card_rows(rng: np.random.Generator, ml: bool = True) -> list[dict[str, Any]]:
    rows = [card_row("clv", clv_card()["version"], "clv", RUN_ID, RUN_ID, clv_card())]
    if ml:
        rows += [
            card_row(
                "repurchase",
                "repurchase-20240630-abcd1234",
                "lightgbm",
                RUN_ID,
                RUN_ID,
                repurchase_card(rng),
            ),
            card_row(
                "churn",
                "churn-lgbm-20240601-ef01",
                "lightgbm",
                RUN_ID,
                "20240601T031500-1b2c3d",
                churn_card(rng),
            ),
        ]
    return rows


def publish(engine: Engine, predictions: pd.DataFrame, cards: list[dict[str, Any]]) -> Engine:
    """Publish the five prediction tables as run RUN_ID built them."""
    tables = {CUSTOMER_PREDICTIONS: predictions, **card_tables(cards)}
    for name, frame in tables.items():
        engine.materialize(engine.run_table(RUN_ID, name), frame)
    engine.publish(RUN_ID, tables)
    return engine


def write_warehouse(path: Path, predictions: pd.DataFrame, cards: list[dict[str, Any]]) -> Engine:
    """A new warehouse with the five prediction tables published by run RUN_ID."""
    return publish(connect_duckdb(path), predictions, cards)


def policy_for(engine: Engine) -> AccessPolicy:
    """The default roles, with the prediction tables described as the project describes them."""
    catalog = SensitivityCatalog.builtin()
    catalog.register_table(
        CUSTOMER_PREDICTIONS, prediction_sensitivity(), level="internal", default="internal"
    )
    for table in MODEL_TABLES:
        catalog.register_table(table, level="internal", default="internal")
    return AccessPolicy(AccessSettings(), catalog, engine, actor="report-test")


def report_for(engine: Engine, role: str, lang: str = "en", **settings: Any) -> ReportData:
    """The fixture report (sections 1–6) plus section 7 read from `engine` as `role`."""
    reader = _Reader(policy_for(engine), role)
    predict = _predictions(reader)
    base = make_report_data(lang)
    return replace(
        base,
        predictions=predict.summary,
        prediction_bands=predict.bands,
        prediction_settings=prediction_settings(PredictSettings(**settings)),
        model_cards=predict.cards,
        model_metrics=predict.metrics,
        model_calibration=predict.calibration,
        model_importance=predict.importance,
        role=role,
        hidden_tables=tuple(reader.hidden),
    )


@dataclass
class Built:
    predictions: pd.DataFrame
    cards: dict[str, dict[str, Any]]
    data: ReportData
    html: str
    html_zh: str


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    rng = np.random.default_rng(11)
    predictions = predictions_frame(rng)
    rows = card_rows(rng)
    engine = write_warehouse(tmp_path_factory.mktemp("predict") / "w.duckdb", predictions, rows)
    try:
        data = report_for(engine, "analyst")
        zh = report_for(engine, "analyst", "zh")
    finally:
        engine.close()
    return Built(
        predictions=predictions,
        cards={r["target"]: json.loads(r["card"]) for r in rows},
        data=data,
        html=render_report(data),
        html_zh=render_report(zh),
    )


def section(markup: str) -> str:
    found = re.search(r'<section class="card" id="predict">.*?</section>', markup, re.S)
    assert found is not None
    return found.group(0)


def model_block(markup: str, target: str) -> str:
    found = re.search(
        rf'<div class="model" id="model-{target}">.*?(?=<div class="model"|</section>)',
        markup,
        re.S,
    )
    assert found is not None, target
    return found.group(0)


def visible_text(markup: str) -> str:
    return " ".join(parse(markup).text)


# -- What the engine computes ------------------------------------------------------------------


def test_engine_aggregates_equal_the_published_table(built: Built) -> None:
    frame, data = built.predictions, built.data
    assert data.hidden_tables == ()
    assert data.predictions == pytest.approx(
        {
            "buyers": float(BUYERS),
            "clv_scored": float(BUYERS),
            "repurchase_scored": float(BUYERS),
            "churn_scored": float(BUYERS - 5),
            "predicted_clv": float(frame["predicted_clv"].sum()),
            "run_id": RUN_ID,
        }
    )
    got = data.prediction_bands.set_index(["score", "band"]).sort_index()
    for score in ("clv_tier", "repurchase_band", "churn_risk"):
        want = frame.dropna(subset=[score]).groupby(score)
        assert dict(got.loc[score, "customers"]) == dict(want.size()), score
        assert np.allclose(
            got.loc[score, "predicted_clv"], want["predicted_clv"].sum().loc[got.loc[score].index]
        )
    importance = data.model_importance
    assert importance.groupby("target").size().to_dict() == {"churn": 8, "repurchase": 10}
    top = importance[importance["target"] == "repurchase"]["feature"].tolist()
    assert top == FEATURES[:10]  # the ten largest mean |SHAP|, largest first
    assert set(data.model_cards["target"]) == {"clv", "repurchase", "churn"}
    # the churn card's flat shape gives no long-form rows: the section reads that card itself
    assert set(data.model_metrics["target"]) == {"clv", "repurchase"}
    assert set(data.model_metrics["window"]) == {"test", "holdout"}
    assert set(data.model_calibration["target"]) == {"repurchase"}


def test_build_report_data_fills_the_section_from_a_project(mini_project: Path) -> None:
    """The pipeline's entry point, on a project whose warehouse holds only these tables."""
    rng = np.random.default_rng(17)
    predictions = predictions_frame(rng)
    project = Project.load(mini_project, actor="report-test")
    with project.engine() as engine:
        publish(engine, predictions, card_rows(rng))
        data = build_report_data(engine, project.loaded, "en")
        hidden = build_report_data(engine, project.loaded, "en", role="agency")
    assert data.role == "analyst" and data.hidden_tables == ()
    assert data.prediction_settings == prediction_settings(project.loaded.spec.predict)
    assert data.predictions["buyers"] == BUYERS
    assert data.predictions["predicted_clv"] == pytest.approx(predictions["predicted_clv"].sum())
    assert set(data.model_cards["target"]) == {"clv", "repurchase", "churn"}
    found = charts_by_id(section(render_report(data)))
    assert {k: len(v["marks"]) for k, v in found.items()} == {
        k: marks for k, (_kind, marks) in EXPECTED.items()
    }
    assert {CUSTOMER_PREDICTIONS, MODEL_CARDS} <= set(hidden.hidden_tables)
    assert "Role agency may not read customer_predictions" in section(render_report(hidden))


# -- The section -------------------------------------------------------------------------------

EXPECTED = {
    "chart-predict-repurchase-bands": ("bar", 4),
    "chart-predict-churn-bands": ("bar", 3),
    "chart-predict-repurchase-calibration": ("calibration", 30),
    "chart-predict-repurchase-importance": ("bar", 10),
    "chart-predict-churn-calibration": ("calibration", 17),
    "chart-predict-churn-importance": ("bar", 8),
    "chart-predict-clv-holdout": ("grouped-bar", 8 * 2),
    "chart-predict-clv-tiers": ("grouped-bar", 4 * 2),
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_section_draws_every_chart_with_one_mark_per_datum(built: Built, lang: str) -> None:
    page = built.html if lang == "en" else built.html_zh
    checker = parse(page)
    assert checker.errors == [] and checker.stack == []
    found = {k: v for k, v in charts_by_id(section(page)).items()}
    assert set(found) == set(EXPECTED)
    for chart_id, (kind, marks) in EXPECTED.items():
        chart = found[chart_id]
        assert chart["attrs"]["data-chart"] == kind, chart_id
        assert len(chart["marks"]) == marks, chart_id
        assert "data-empty" not in chart["attrs"], chart_id
    assert 'href="#predict">11.' in page
    assert section(page).count('class="diagonal"') == 2


def test_band_charts_and_kpis_show_the_table(built: Built) -> None:
    frame = built.predictions
    marks = charts_by_id(built.html)
    counts = frame["repurchase_band"].value_counts()
    bands = ["unlikely", "possible", "likely", "very_likely"]
    assert [int(v) for v in marks["chart-predict-repurchase-bands"]["marks"]] == [
        int(counts.get(b, 0)) for b in bands
    ]
    churn = frame["churn_risk"].value_counts()
    assert [int(v) for v in marks["chart-predict-churn-bands"]["marks"]] == [
        int(churn.get(b, 0)) for b in ("low", "medium", "high")
    ]
    text = visible_text(section(built.html))
    high = int(churn.get("high", 0))
    likely = int(counts.get("likely", 0) + counts.get("very_likely", 0))
    top = frame[frame["clv_tier"] == "top"]["predicted_clv"]
    for expected in (
        "Buyers scored",
        fmt_int(BUYERS),
        "Churn risk: high",
        fmt_pct(high / (BUYERS - 5)),
        "Likely to buy within 30 days",
        fmt_pct(likely / BUYERS),
        f"{fmt_int(likely)} buyers: likely / very likely",
        fmt_num(frame["predicted_clv"].sum(), 0),  # the KPI, in whole units
        fmt_money(frame["predicted_clv"].sum()),  # the tier table's total
        "Mean CLV: top tier",
        fmt_money(top.mean()),
    ):
        assert expected in text, expected


def test_verdict_is_computed_from_the_metrics(built: Built) -> None:
    repurchase = visible_text(model_block(section(built.html), "repurchase"))
    assert (
        "Model (LightGBM) beats both baselines (Recency rule, BG/NBD) on ROC-AUC and PR-AUC."
        in repurchase
    )
    churn_block = model_block(section(built.html), "churn")
    assert 'class="verdict tone-warn"' in churn_block
    assert (
        "Model (LightGBM) does not beat every baseline: Recency rule wins on PR-AUC "
        "(0.412 vs 0.398)." in visible_text(churn_block)
    )
    zh = visible_text(model_block(section(built.html_zh), "churn"))
    assert "未能胜过所有基线" in zh and "最近购买规则在 PR-AUC 上更好（0.412 对 0.398）" in zh

    # The same grid with the recency rule's ROC-AUC raised above the model's flips the verdict.
    grid = built.cards["repurchase"]["evaluation"]["metrics"]
    assert verdict(grid, "en", "lightgbm")[1] == "pass"
    worse = {**grid, "recency_rule": {**grid["recency_rule"], "roc_auc": 0.8}}
    text, tone = verdict(worse, "en", "lightgbm")
    assert tone == "warn" and "Recency rule wins on ROC-AUC (0.800 vs 0.781)" in text
    tied = {**grid, "bgnbd": {**grid["bgnbd"], "pr_auc": 0.512}}
    assert "BG/NBD matches it on PR-AUC (0.512)" in verdict(tied, "en")[0]
    assert verdict({"model": grid["model"]}, "en")[1] == "warn"  # no baseline to beat
    assert verdict({"recency_rule": grid["recency_rule"]}, "en")[1] is None


def test_metric_table_marks_the_best_scorer_per_metric(built: Built) -> None:
    block = model_block(section(built.html), "repurchase")
    rows = read_tables(block)["Held-out metrics · Repurchase model"]
    assert rows[0][:4] == ["Scorer", "ROC-AUC", "PR-AUC", "Lift @ top 10%"]
    assert [r[0] for r in rows[1:]] == ["Model (LightGBM)", "Recency rule", "BG/NBD"]
    assert rows[1][1:3] == ["0.781", "0.512"] and rows[2][3] == "2.41×"
    header = rows[0]
    best = re.findall(r'<td class="num tone-pass"[^>]*>([^<]*)</td>', block)
    # the model wins every metric but ECE is its own too; brier_raw has only the model: no mark
    assert "Brier (uncalibrated)" in header
    assert best == ["0.781", "0.512", "2.91×", "2.33×", "29.1%", "46.6%", "0.141", "0.011"]
    churn = read_tables(model_block(section(built.html), "churn"))["Held-out metrics · Churn model"]
    assert churn[0] == ["Scorer", "ROC-AUC", "PR-AUC", "Lift @ top 10%", "ECE"]


def test_model_cards_show_windows_facts_and_limits(built: Built) -> None:
    block = model_block(section(built.html), "repurchase")
    windows = read_tables(block)["Backtest windows · Repurchase model"]
    assert windows[1:] == [
        ["Train", "2024-04-01", "2024-05-01", "9,412", "21.4%"],
        ["Validate", "2024-05-01", "2024-05-31", "9,870", "22.1%"],
        ["Test (held out)", "2024-05-31", "2024-06-30", "10,233", "23.2%"],
        ["Deployed: train", "2024-05-01", "2024-05-31", "9,870", "22.1%"],
        ["Deployed: calibrate", "2024-05-31", "2024-06-30", "10,233", "23.2%"],
    ]
    text = visible_text(block)
    for expected in (
        "Repurchase: at least one paid order in the 30 days after the cutoff.",
        "repurchase-20240630-abcd1234",
        "LightGBM · 143 rounds · Platt calibration",
        "in this run",
        "30 days",
        "2024-06-30",
        "10,233 buyers · base rate 23.2%",
        "ECE: Model (LightGBM) 0.011 · Recency rule 0.024 · BG/NBD 0.043",
        "Customers are resolved with the current identity graph.",
        "Notes from training",
        "the deployed model's calibration window chose differently",
    ):
        assert expected in text, expected
    assert 'title="recency_days, frequency, monetary' in block  # the feature names
    churn = model_block(section(built.html), "churn")
    windows = read_tables(churn)["Backtest windows · Churn model"]
    assert windows[3] == ["Test (held out)", "2024-04-01", "2024-06-30", "9,650", "58.0%"]
    assert "in run 20240601T031500-1b2c3d (saved model reused)" in visible_text(churn)
    assert "LightGBM · Isotonic calibration" in visible_text(churn)


def test_clv_card_holdout_and_tiers(built: Built) -> None:
    block = model_block(section(built.html), "clv")
    text = visible_text(block)
    holdout = built.cards["clv"]["holdout"]
    for expected in (
        "BG/NBD + Gamma-Gamma",
        "r 0.243 · alpha 4.41 · a 0.793 · b 2.43",
        "p 6.25 · q 3.74 · v 15.4",
        f"{fmt_int(BUYERS)} buyers, 190 repeat (47.5%)",
        "365 days, 10% a year discount",
        f"predicted {holdout['predicted_total']:,.0f} purchase days",
        f"{holdout['actual_total']:,.0f} happened ({holdout['error_pct']:+.1f}%)",
    ):
        assert expected in text, expected
    tables = read_tables(block)
    rows = tables["Holdout check"]
    assert [r[0] for r in rows[1:-1]] == [b[0] for b in HOLDOUT_BUCKETS]
    assert rows[-1][-2:] == [
        f"{holdout['predicted_total']:,.0f}",
        f"{holdout['actual_total']:,.0f}",
    ]
    marks = charts_by_id(block)["chart-predict-clv-holdout"]["marks"]
    assert [float(v) for v in marks[::2]] == [b[2] for b in HOLDOUT_BUCKETS]
    assert [float(v) for v in marks[1::2]] == [b[3] for b in HOLDOUT_BUCKETS]
    tiers = tables["CLV tiers"]
    frame = built.predictions
    sizes = frame["clv_tier"].value_counts()
    assert [r[0] for r in tiers[1:-1]] == ["low", "medium", "high", "top"]
    assert [r[1] for r in tiers[1:-1]] == [
        fmt_int(sizes[t]) for t in ("low", "medium", "high", "top")
    ]
    assert tiers[-1][1] == fmt_int(BUYERS)


def test_section_in_chinese(built: Built) -> None:
    page = section(built.html_zh)
    for text in (
        "预测模型",
        "复购模型",
        "流失模型",
        "客户终身价值模型",
        "校准曲线",
        "主要特征",
        "极有可能",
        "留出期检验",
    ):
        assert text in page, text
    for english in ("Predictive models", "Repurchase model", "Backtest windows", ">very likely<"):
        assert english not in page, english


@requires_chromium
def test_section_layout_in_chromium(built: Built, tmp_path: Path) -> None:
    """Every chart drawn with all its marks visible, nothing scrolling the page sideways; on
    a desktop screen the section's tables fit without scrolling either."""
    wide = browser_layout(built.html, tmp_path, width=1280)
    assert_layout(wide, {**EXPECTED_CHARTS, **EXPECTED})
    tables = [t for t in wide["tables"] if t["section"] == "predict"]
    assert len(tables) == 6 and all(t["overflow"] <= 0 for t in tables), tables
    assert_layout(
        browser_layout(built.html_zh, tmp_path, width=760), {**EXPECTED_CHARTS, **EXPECTED}
    )


# -- When there is nothing (or not everything) to show ----------------------------------------


def test_missing_tables_say_so() -> None:
    page = section(render_report(make_report_data()))
    assert "This warehouse has no predictions" in page
    assert "<svg" not in page
    disabled = replace(make_report_data(), prediction_settings={"enabled": False})
    assert "The predict stage is turned off" in section(render_report(disabled))
    zh = section(render_report(make_report_data("zh")))
    assert "该数据仓库中没有预测结果" in zh


def test_a_role_that_may_not_read_the_tables_is_told(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    engine = write_warehouse(tmp_path / "w.duckdb", predictions_frame(rng), card_rows(rng))
    try:
        data = report_for(engine, "agency")
    finally:
        engine.close()
    assert CUSTOMER_PREDICTIONS in data.hidden_tables and MODEL_CARDS in data.hidden_tables
    assert data.predictions == {} and data.model_cards.empty
    page = section(render_report(data))
    assert "Role agency may not read customer_predictions" in page
    assert "Role agency may not read model_cards" in page
    assert "<svg" not in page


def test_null_scores_and_no_ml_models_do_not_crash(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    frame = predictions_frame(rng, scored=False)
    frame["predicted_clv"] = np.nan  # nor a CLV fit
    frame["clv_tier"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    engine = write_warehouse(tmp_path / "w.duckdb", frame, [])
    try:
        data = report_for(engine, "analyst")
    finally:
        engine.close()
    assert data.predictions == {
        "buyers": float(BUYERS),
        "clv_scored": 0.0,
        "repurchase_scored": 0.0,
        "churn_scored": 0.0,
        "run_id": RUN_ID,
    }
    assert data.prediction_bands.empty and data.model_cards.empty
    page = render_report(data)
    assert parse(page).errors == []
    part = section(page)
    text = visible_text(part)
    assert not re.search(r"\bnan\b|\binf\b|None", text)
    assert fmt_int(BUYERS) in text
    assert text.count("no model this run") >= 4
    assert "No model cards were published with these scores." in text
    assert "No model this run: too little history" in text  # repurchase and churn stubs
    assert "No CLV model this run" in text
    for chart in charts_by_id(part).values():
        assert chart["attrs"].get("data-empty") == "true" and chart["marks"] == []


def test_calibration_chart_edge_cases() -> None:
    odd = [
        ("model", [(0.1, 0.12, 50), (float("nan"), 0.3, 10), (0.5, None, 5), (0.9, 1.4, None)]),
        ("only gaps", [(None, None, None)]),
        ("<b>x</b>", [(-0.2, 0.0, 0), (float("inf"), 0.5, 1), (0.3, 0.31, 7)]),
    ]
    svg = charts.calibration_chart(odd, title="c", diagonal_label="diagonal")
    assert_sound_svg(svg, "calibration", 4)  # points missing a coordinate are left out
    for name, value in re.findall(r'\s(cx|cy|r)="([^"]*)"', svg):
        assert math.isfinite(float(value)), (name, value)
    assert "&lt;b&gt;x&lt;/b&gt;" in svg and "<b>" not in svg
    empty = charts.calibration_chart([("model", [])], title="c", empty_text="暂无数据")
    assert 'data-empty="true"' in empty and "暂无数据" in empty
    assert_sound_svg(empty, "calibration", 0)
