"""Machine-learned churn and repurchase scores (LightGBM) with a time-based backtest.

    from segmint.predict.ml import train_target, point_in_time_features, score_customers
    model = train_target(engine, run_id, inputs, spec, as_of, "repurchase")
    features = point_in_time_features(engine, run_id, inputs, spec, as_of)
    scores = score_customers(model, engine.to_pandas(features))

The public names are re-exported here; the work is done in the modules below.
"""

from segmint.predict.ml.errors import (
    FeatureMismatchError,
    LeakError,
    ModelError,
    TrainingWindowError,
)
from segmint.predict.ml.features import ExtraFeature, FeatureFrames, point_in_time_features
from segmint.predict.ml.inputs import published_inputs
from segmint.predict.ml.model import TrainedModel
from segmint.predict.ml.score import score_customers
from segmint.predict.ml.train import train_target

__all__ = [
    "ExtraFeature",
    "FeatureFrames",
    "FeatureMismatchError",
    "LeakError",
    "ModelError",
    "TrainedModel",
    "TrainingWindowError",
    "point_in_time_features",
    "published_inputs",
    "score_customers",
    "train_target",
]
