"""Model cards in the warehouse: one card per model a run used, and its figures as tables.

`model_cards` holds the whole card as JSON (data windows, features, metrics, baselines,
calibration, limits); `model_metrics`, `model_calibration` and `model_importance` hold the
figures in long form so the report, the dashboard and SQL users can read them directly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from segmint.predict.columns import (
    MODEL_CALIBRATION,
    MODEL_CARDS,
    MODEL_IMPORTANCE,
    MODEL_METRICS,
)

CARD_COLUMNS = ("target", "version", "kind", "run_id", "trained_run_id", "card")
METRIC_COLUMNS = ("target", "version", "window", "scorer", "metric", "value")
CALIBRATION_COLUMNS = (
    "target",
    "version",
    "scorer",
    "bin",
    "mean_predicted",
    "observed_rate",
    "customers",
)
IMPORTANCE_COLUMNS = ("target", "version", "rank", "feature", "gain", "mean_abs_shap")


def card_row(
    target: str, version: str, kind: str, run_id: str, trained_run_id: str, card: Mapping[str, Any]
) -> dict[str, Any]:
    """One `model_cards` row (the card itself as JSON)."""
    return {
        "target": target,
        "version": version,
        "kind": kind,
        "run_id": run_id,
        "trained_run_id": trained_run_id,
        "card": json.dumps(card, default=str, ensure_ascii=False, sort_keys=True),
    }


def _metric_rows(target: str, version: str, card: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    """Long-form metrics: an ML card's held-out evaluation ({scorer: {metric: value}} under
    "evaluation"); the CLV card's holdout check."""
    evaluation = card.get("evaluation") or {}
    window = str(evaluation.get("window", "test"))
    for scorer, values in (evaluation.get("metrics") or {}).items():
        if not isinstance(values, Mapping):
            continue
        for metric, value in values.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                yield {
                    "target": target,
                    "version": version,
                    "window": window,
                    "scorer": str(scorer),
                    "metric": str(metric),
                    "value": float(value),
                }
    holdout = card.get("holdout") or {}
    for metric in ("predicted_total", "actual_total", "error_pct", "mae_per_customer"):
        value = holdout.get(metric)
        if isinstance(value, int | float):
            yield {
                "target": target,
                "version": version,
                "window": "holdout",
                "scorer": str(card.get("model", "clv")),
                "metric": metric,
                "value": float(value),
            }


def _calibration_rows(
    target: str, version: str, card: Mapping[str, Any]
) -> Iterable[dict[str, Any]]:
    calibration = card.get("calibration") or {}
    for point in calibration.get("curve") or []:
        yield {
            "target": target,
            "version": version,
            "scorer": str(point.get("scorer", "model")),
            "bin": int(point.get("bin", 0)),
            "mean_predicted": float(point["mean_predicted"]),
            "observed_rate": float(point["observed_rate"]),
            "customers": int(point.get("customers", point.get("count", 0))),
        }


def _importance_rows(
    target: str, version: str, card: Mapping[str, Any]
) -> Iterable[dict[str, Any]]:
    for rank, item in enumerate(card.get("importance") or [], start=1):
        yield {
            "target": target,
            "version": version,
            "rank": int(item.get("rank", rank)),
            "feature": str(item["feature"]),
            "gain": float(item.get("gain", 0.0)),
            "mean_abs_shap": float(item.get("mean_abs_shap", 0.0)),
        }


_FLOAT = frozenset({"value", "gain", "mean_abs_shap", "mean_predicted", "observed_rate"})
_INT = frozenset({"bin", "customers", "rank"})


def _frame(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> pd.DataFrame:
    """Rows as a frame typed by column name (so an empty table still has a schema)."""
    frame = pd.DataFrame(rows, columns=list(columns))
    types = {c: "float64" if c in _FLOAT else "int64" if c in _INT else "string" for c in columns}
    return frame.astype(types)


def card_tables(rows: list[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    """The four model-card tables from `card_row` rows."""
    metrics: list[dict[str, Any]] = []
    calibration: list[dict[str, Any]] = []
    importance: list[dict[str, Any]] = []
    for row in rows:
        card = json.loads(row["card"])
        metrics.extend(_metric_rows(row["target"], row["version"], card))
        calibration.extend(_calibration_rows(row["target"], row["version"], card))
        importance.extend(_importance_rows(row["target"], row["version"], card))
    return {
        MODEL_CARDS: _frame(rows, CARD_COLUMNS),
        MODEL_METRICS: _frame(metrics, METRIC_COLUMNS),
        MODEL_CALIBRATION: _frame(calibration, CALIBRATION_COLUMNS),
        MODEL_IMPORTANCE: _frame(importance, IMPORTANCE_COLUMNS),
    }
