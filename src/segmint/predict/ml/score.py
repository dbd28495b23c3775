"""Score customers with a trained model: calibrated probability, raw score, top reasons.

Rows are scored in chunks so that SHAP contributions (rows × features + 2 doubles) never
exist for more than `CHUNK_ROWS` customers at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segmint.predict.ml.catalog import KEY
from segmint.predict.ml.explain import contributions, reason_texts
from segmint.predict.ml.gbm import raw_scores
from segmint.predict.ml.model import TrainedModel

CHUNK_ROWS = 200_000


def score_customers(
    model: TrainedModel,
    features_frame: pd.DataFrame,
    reasons: bool = True,
    chunk_rows: int = CHUNK_ROWS,
) -> pd.DataFrame:
    """customer_id, probability (calibrated), raw_score (log-odds: the BG/NBD start plus the
    trees) and reasons (the top three `feature=value (+contribution)`, None when `reasons` is
    False), in the frame's row order. The frame needs customer_id and every model feature."""
    schema, prior = model.schema, model.prior
    schema.check(features_frame)
    booster = model.booster
    n = len(features_frame)
    raw = np.empty(n, dtype=np.float64)
    texts: list[str | None] = []
    for start in range(0, n, max(1, chunk_rows)):
        chunk = features_frame.iloc[start : start + chunk_rows]
        x = schema.matrix(chunk)
        raw[start : start + len(chunk)] = prior.offset(schema, x) + raw_scores(booster, x)
        if reasons:
            texts += reason_texts(schema, prior, x, contributions(booster, schema, x, prior))
    return pd.DataFrame(
        {
            KEY: features_frame[KEY].to_numpy(),
            "probability": model.calibrator.predict(raw),
            "raw_score": raw,
            "reasons": texts if reasons else [None] * n,
        }
    )
