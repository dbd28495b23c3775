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
from segmint.predict.ml.treeshap import contributions as fast_contributions

if TYPE_CHECKING:
    import lightgbm

    from segmint.predict.ml.treeshap import ShapTree

TOP_REASONS = 3


def contributions(
    booster: lightgbm.Booster,
    schema: FeatureSchema,
    x: np.ndarray,
    prior: Prior,
    trees: list[ShapTree] | None = None,
) -> np.ndarray:
    """(rows × features + 2) log-odds contributions: features, bgnbd_baseline, expected value.

    With `trees` (`TrainedModel.shap_trees`) the TreeSHAP values come from segmint's
    cell-grouped TreeSHAP (`treeshap.py`: the same values, ~1e-15 apart, many times faster on
    large blocks); without, from LightGBM's `pred_contrib`."""
    if trees is None:
        shap = np.asarray(booster.predict(x, pred_contrib=True), dtype=np.float64)
    else:
        shap = fast_contributions(trees, x)
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
    expected value is not a reason); ties go to the lower column index, so reasons are the
    same on every run. `np.argpartition` picks the k largest; rows with a tie at the k-th
    place (rare but real: unused features contribute exactly 0) are re-ranked by a stable
    full sort, so the result is the stable sort's for every row."""
    parts = contrib[:, :-1]
    k = min(k, parts.shape[1])
    if k == 0 or len(parts) == 0:
        empty = np.empty((len(parts), k), dtype=np.int64)
        return empty, np.empty((len(parts), k), dtype=np.float64)
    size = np.abs(parts)
    if k < parts.shape[1]:
        picked = np.sort(np.argpartition(-size, k - 1, axis=1)[:, :k], axis=1)
    else:
        picked = np.broadcast_to(np.arange(k), (len(parts), k)).copy()
    picked_size = np.take_along_axis(size, picked, axis=1)
    order = np.argsort(-picked_size, axis=1, kind="stable")  # ties: lower column first
    index = np.take_along_axis(picked, order, axis=1)
    kth = np.take_along_axis(picked_size, order[:, -1:], axis=1)
    tied = (size == kth).sum(axis=1) != (picked_size == kth).sum(axis=1)
    if tied.any():
        rows = np.flatnonzero(tied)
        index[rows] = np.argsort(-size[rows], axis=1, kind="stable")[:, :k]
    return index, np.take_along_axis(parts, index, axis=1)


def _values(schema: FeatureSchema, prior: Prior, x: np.ndarray, columns: np.ndarray) -> list[str]:
    """Human-readable values, one per (row, contribution column)."""
    return _value_array(schema, prior, x, columns).tolist()


def _value_array(
    schema: FeatureSchema, prior: Prior, x: np.ndarray, columns: np.ndarray
) -> np.ndarray:
    """`_values` as an object array; each distinct value of a column is formatted once."""
    out = np.empty(len(columns), dtype=object)
    baseline = len(schema.names)
    for j in np.unique(columns):
        rows = np.flatnonzero(columns == j)
        values = prior.probability(schema, x[rows]) if j == baseline else x[rows, j]
        distinct, where = _distinct_bits(values)
        if j == baseline:
            shown = ["missing" if np.isnan(v) else f"{v:.3f}" for v in distinct.tolist()]
        else:
            shown = [schema.display(int(j), float(v)) for v in distinct.tolist()]
        out[rows] = np.asarray(shown, dtype=object)[where]
    return out


def _distinct_bits(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values, each value's position among them), distinct by bit pattern (so -0.0
    and 0.0 stay apart, as their texts do)."""
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.int64)
    distinct, where = np.unique(bits, return_inverse=True)
    return distinct.view(np.float64), np.asarray(where).reshape(-1)


def _signed(values: np.ndarray) -> np.ndarray:
    """`f"{c:+.2f}"` of every value as an object array, each distinct value formatted once."""
    distinct, where = _distinct_bits(values)
    shown = np.asarray([f"{c:+.2f}" for c in distinct.tolist()], dtype=object)
    return shown[where]


def reason_texts(
    schema: FeatureSchema, prior: Prior, x: np.ndarray, contrib: np.ndarray, k: int = TOP_REASONS
) -> list[str]:
    """Per row: `feature=value (+0.42); …` for its top-k contributions."""
    index, values = top_contributions(contrib, k)
    if index.shape[1] == 0:
        return []
    names = np.asarray(contribution_names(schema), dtype=object)
    text: np.ndarray | None = None
    for r in range(index.shape[1]):
        columns = index[:, r]
        part = (
            names[columns]
            + "="
            + _value_array(schema, prior, x, columns)
            + " ("
            + _signed(values[:, r])
            + ")"
        )
        text = part if text is None else text + "; " + part
    assert text is not None
    return list(text.tolist())


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
