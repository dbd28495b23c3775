"""Score customers with a trained model: calibrated probability, raw score, top reasons.

Rows are scored in chunks so that SHAP contributions (rows × features + 2 doubles) never
exist for more than `chunk_rows` customers at once. Reasons come from segmint's cell-grouped
TreeSHAP (`treeshap.py`), which gives LightGBM's `pred_contrib` values (to ~1e-15) many
times faster; `reasons_for="top"` explains only the highest-scored customers.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from segmint.predict.ml.catalog import KEY
from segmint.predict.ml.explain import contributions, reason_texts
from segmint.predict.ml.gbm import raw_scores
from segmint.predict.ml.model import TrainedModel

CHUNK_ROWS = 200_000
TOP_SHARE = 0.1  # reasons_for="top" without top_n: the highest-scored 10 %

ReasonsFor = Literal["all", "top"]


def score_customers(
    model: TrainedModel,
    features_frame: pd.DataFrame,
    reasons: bool = True,
    chunk_rows: int = CHUNK_ROWS,
    reasons_for: ReasonsFor = "all",
    top_n: int | None = None,
) -> pd.DataFrame:
    """customer_id, probability (calibrated), raw_score (log-odds: the BG/NBD start plus the
    trees) and reasons (the top three `feature=value (+contribution)`), in the frame's row
    order. The frame needs customer_id and every model feature.

    `reasons=False`: no reasons (None everywhere). `reasons_for="all"` (the default): every
    customer's. `reasons_for="top"`: only the `top_n` customers with the highest probability
    (default: the highest 10 %, at least one; ties by row order), None for the others — for
    an activation list, where only the customers acted on need a reason."""
    if reasons_for not in ("all", "top"):
        raise ValueError(f"reasons_for must be 'all' or 'top'; got {reasons_for!r}")
    if top_n is not None and top_n < 0:
        raise ValueError(f"top_n must be 0 or more; got {top_n}")
    schema, prior = model.schema, model.prior
    schema.check(features_frame)
    booster = model.booster
    n = len(features_frame)
    step = max(1, chunk_rows)
    raw = np.empty(n, dtype=np.float64)
    texts = np.full(n, None, dtype=object)
    explain_all = reasons and reasons_for == "all"
    for start in range(0, n, step):
        chunk = features_frame.iloc[start : start + step]
        x = schema.matrix(chunk)
        raw[start : start + len(chunk)] = prior.offset(schema, x) + raw_scores(booster, x)
        if explain_all:
            texts[start : start + len(chunk)] = _reasons(model, x)
    probability = model.calibrator.predict(raw)
    if reasons and reasons_for == "top":
        count = max(1, round(TOP_SHARE * n)) if top_n is None else top_n
        chosen = np.sort(top_rows(probability, min(count, n)))
        for start in range(0, len(chosen), step):
            rows = chosen[start : start + step]
            texts[rows] = _reasons(model, schema.matrix(features_frame.iloc[rows]))
    return pd.DataFrame(
        {
            KEY: features_frame[KEY].to_numpy(),
            "probability": probability,
            "raw_score": raw,
            "reasons": texts.tolist(),
        }
    )


def _reasons(model: TrainedModel, x: np.ndarray) -> list[str]:
    contrib = contributions(model.booster, model.schema, x, model.prior, model.shap_trees)
    return reason_texts(model.schema, model.prior, x, contrib)


def top_rows(score: np.ndarray, count: int) -> np.ndarray:
    """Positions of the `count` highest scores (ties: the earlier row first), unordered."""
    if count <= 0:
        return np.empty(0, dtype=np.int64)
    if count >= len(score):
        return np.arange(len(score))
    order = np.argsort(-score, kind="stable")
    return order[:count]
