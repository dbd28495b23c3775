"""Why the model scores a customer as it does: LightGBM's built-in TreeSHAP.

`booster.predict(x, pred_contrib=True)` gives, per customer, one contribution per feature
plus the trees' expected value, in log-odds. The model's raw score also holds the BG/NBD
start the trees were boosted from (`prior`): it is one more contribution, `bgnbd_baseline`,
measured from its mean on the training rows (the mean goes into the expected value). So a
row of `contributions` is [features…, bgnbd_baseline, expected value] and adds up to the raw
score. Global importance is split gain and mean |contribution|; a customer's reasons are the
three largest |contributions|, as `feature=value (+0.42)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from segmint.predict.ml.encoding import FeatureSchema
from segmint.predict.ml.prior import NAME as BASELINE
from segmint.predict.ml.prior import Prior

if TYPE_CHECKING:
    import lightgbm

TOP_REASONS = 3


def contributions(
    booster: lightgbm.Booster, schema: FeatureSchema, x: np.ndarray, prior: Prior
) -> np.ndarray:
    """(rows × features + 2) log-odds contributions: features, bgnbd_baseline, expected value."""
    shap = np.asarray(booster.predict(x, pred_contrib=True), dtype=np.float64)
    start = prior.offset(schema, x) - prior.centre
    return np.column_stack([shap[:, :-1], start, shap[:, -1] + prior.centre])


def contribution_names(schema: FeatureSchema) -> list[str]:
    """The names of the contribution columns before the expected value."""
    return [*schema.names, BASELINE]


def importance(
    booster: lightgbm.Booster, schema: FeatureSchema, x: np.ndarray, prior: Prior
) -> list[dict[str, Any]]:
    """Per feature (and the BG/NBD start): split gain, its share, splits and mean |SHAP| on
    `x`, most important first."""
    gain = np.asarray(booster.feature_importance(importance_type="gain"), np.float64)
    splits = np.asarray(booster.feature_importance(importance_type="split"), np.int64)
    shap = np.mean(np.abs(contributions(booster, schema, x, prior)[:, :-1]), axis=0)
    total = float(gain.sum()) or 1.0
    rows: list[dict[str, Any]] = [
        {
            "feature": name,
            "gain": float(gain[j]),
            "gain_share": float(gain[j] / total),
            "splits": int(splits[j]),
            "mean_abs_shap": float(shap[j]),
        }
        for j, name in enumerate(schema.names)
    ]
    rows.append(
        {
            "feature": BASELINE,
            "gain": 0.0,
            "gain_share": 0.0,
            "splits": 0,
            "mean_abs_shap": float(shap[-1]),
        }
    )
    rows.sort(key=lambda r: (-r["mean_abs_shap"], -r["gain"], r["feature"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return rows


def top_contributions(contrib: np.ndarray, k: int = TOP_REASONS) -> tuple[np.ndarray, np.ndarray]:
    """(column index, contribution), each rows × k, largest |contribution| first (the
    expected value is not a reason)."""
    parts = contrib[:, :-1]
    k = min(k, parts.shape[1])
    # ties go to the lower column index, so reasons are the same on every run
    order = np.argsort(-np.abs(parts), axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(parts, order, axis=1)


def _values(schema: FeatureSchema, prior: Prior, x: np.ndarray, columns: np.ndarray) -> list[str]:
    """Human-readable values, one per (row, contribution column)."""
    out = np.empty(len(columns), dtype=object)
    baseline = len(schema.names)
    for j in np.unique(columns):
        rows = np.flatnonzero(columns == j)
        if j == baseline:
            p = prior.probability(schema, x[rows])
            out[rows] = ["missing" if np.isnan(v) else f"{v:.3f}" for v in p]
        else:
            out[rows] = [schema.display(int(j), float(v)) for v in x[rows, j]]
    return out.tolist()


def reason_texts(
    schema: FeatureSchema, prior: Prior, x: np.ndarray, contrib: np.ndarray, k: int = TOP_REASONS
) -> list[str]:
    """Per row: `feature=value (+0.42); …` for its top-k contributions."""
    index, values = top_contributions(contrib, k)
    names = contribution_names(schema)
    parts: list[list[str]] = []
    for r in range(index.shape[1]):
        columns = index[:, r]
        shown = _values(schema, prior, x, columns)
        parts.append(
            [
                f"{names[j]}={v} ({c:+.2f})"
                for j, v, c in zip(columns.tolist(), shown, values[:, r].tolist(), strict=True)
            ]
        )
    return ["; ".join(items) for items in zip(*parts, strict=True)] if parts else []


def reason_records(
    schema: FeatureSchema, prior: Prior, x: np.ndarray, contrib: np.ndarray, k: int = TOP_REASONS
) -> list[list[dict[str, Any]]]:
    """Per row: its top-k reasons as {feature, value, contribution} (for JSON)."""
    index, values = top_contributions(contrib, k)
    names = contribution_names(schema)
    shown = [_values(schema, prior, x, index[:, r]) for r in range(index.shape[1])]
    return [
        [
            {"feature": names[int(index[i, r])], "value": shown[r][i], "contribution": float(c)}
            for r, c in enumerate(values[i])
        ]
        for i in range(len(x))
    ]
