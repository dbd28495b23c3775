"""The trained model: everything needed to score later without retraining, and its card.

A model is saved as JSON: the LightGBM booster as `model_to_string` text, the calibrator's
parameters, the feature schema (with categorical levels), the backtest's metrics and the
card's facts. Its version is `<target>-<data as-of yyyymmdd>-<8 hex>` where the hex is a
hash of what decides the scores (booster, BG/NBD start, calibrator, schema, horizon,
cutoffs); loading
checks that hash, so a damaged or edited file is refused instead of scoring wrongly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from segmint.predict.ml.calibrate import Calibrator
from segmint.predict.ml.encoding import FeatureSchema
from segmint.predict.ml.errors import ModelError
from segmint.predict.ml.labels import DEFINITIONS, Target, check_target
from segmint.predict.ml.prior import Prior

if TYPE_CHECKING:
    import lightgbm

    from segmint.predict.ml.treeshap import ShapTree

FORMAT = "segmint-gbm-score/1"
ALGORITHM = (
    "LightGBM gradient-boosted trees (binary log-loss) boosted from the BG/NBD baseline's "
    "log-odds, then calibrated"
)


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(sep=" ")


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null, datetimes ISO text, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        return _iso(value)
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def content_hash(
    target: str,
    horizon_days: int,
    booster_text: str,
    prior: Prior,
    calibrator: Calibrator,
    schema: FeatureSchema,
    cutoffs: dict[str, dt.datetime],
) -> str:
    """SHA-256 of what decides the scores."""
    payload = json.dumps(
        {
            "format": FORMAT,
            "target": target,
            "horizon_days": horizon_days,
            "booster": booster_text,
            "prior": prior.as_dict(),
            "calibrator": calibrator.as_dict(),
            "schema": schema.as_list(),
            "cutoffs": {k: _iso(v) for k, v in sorted(cutoffs.items())},
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass
class TrainedModel:
    """A churn or repurchase model: deployed booster + calibrator, and its held-out record."""

    target: Target
    horizon_days: int
    version: str
    trained_at: dt.datetime
    data_as_of: dt.datetime
    cutoffs: dict[str, dt.datetime]
    schema: FeatureSchema
    booster_text: str
    prior: Prior
    calibrator: Calibrator
    rounds: int
    params: dict[str, Any]
    metrics: dict[str, dict[str, float | None]]
    winners: dict[str, str]
    calibration_curve: list[dict[str, Any]]
    importance: list[dict[str, Any]]
    windows: dict[str, dict[str, Any]]
    leak_checks: dict[str, Any]
    dropped: dict[str, str]
    notes: list[str] = field(default_factory=list)
    _booster: lightgbm.Booster | None = field(default=None, repr=False, compare=False)
    _shap_trees: list[ShapTree] | None = field(default=None, repr=False, compare=False)

    @property
    def features(self) -> list[str]:
        """Feature names, in the order the booster reads them."""
        return self.schema.names

    @property
    def booster(self) -> lightgbm.Booster:
        """The deployed LightGBM booster (loaded once from its text)."""
        if self._booster is None:
            from segmint.predict.ml.gbm import load_booster

            self._booster = load_booster(self.booster_text)
        return self._booster

    @property
    def shap_trees(self) -> list[ShapTree]:
        """The booster's trees as the fast TreeSHAP reads them (parsed once)."""
        if self._shap_trees is None:
            from segmint.predict.ml.treeshap import parse_booster

            self._shap_trees = parse_booster(self.booster)
        return self._shap_trees

    @property
    def calibration_method(self) -> str:
        """isotonic or platt."""
        return self.calibrator.method

    def fingerprint(self) -> str:
        """The content hash the version ends with (full length)."""
        return content_hash(
            self.target,
            self.horizon_days,
            self.booster_text,
            self.prior,
            self.calibrator,
            self.schema,
            self.cutoffs,
        )

    # -- the card ------------------------------------------------------------------------
    def card(self) -> dict[str, Any]:
        """What the model is, what it was trained and tested on, how well it did, and its
        limits, as plain data (JSON-ready)."""
        model_metrics = self.metrics.get("model", {})
        baselines = sorted(name for name in self.metrics if name != "model")
        beats = {metric: winner == "model" for metric, winner in self.winners.items()}
        test = self.windows.get("test", {})
        card = {
            "model": {
                "target": self.target,
                "definition": DEFINITIONS[self.target].format(h=self.horizon_days),
                "horizon_days": self.horizon_days,
                "version": self.version,
                "trained_at": self.trained_at,
                "algorithm": ALGORITHM,
                "parameters": self.params,
                "rounds": self.rounds,
                "starts_from": f"BG/NBD's log-odds of the outcome ({self.prior.column}"
                + (", as 1 − P" if self.prior.flip else "")
                + ")",
                "population": "customers with at least one paid order up to the cutoff",
            },
            "data": {
                "as_of": self.data_as_of,
                "cutoffs": self.cutoffs,
                "windows": self.windows,
            },
            "features": [
                {k: v for k, v in spec.as_dict().items() if k != "levels"}
                | {"levels": len(spec.levels)}
                for spec in self.schema.specs
            ],
            "dropped_traits": self.dropped,
            "evaluation": {
                "held_out": True,
                "window": "test",
                "explanation": (
                    "Backtest: a model trained on customers at the train cutoff (and, when "
                    "one window is small, earlier cutoffs stacked; outcomes up to the "
                    "validate cutoff), early-stopped and calibrated on the validate window, "
                    "scored on the test window (customers at "
                    f"{test.get('cutoff', '?')}, outcomes up to {test.get('outcome_until', '?')})"
                    ", which it never saw. The deployed model is refit with the same "
                    "settings and number of rounds one horizon later (ending with the "
                    "validate window) and calibrated on the test window, so it has no "
                    "held-out window of its own: these metrics estimate its quality. Ranking "
                    "metrics use the raw score (calibration is monotone); Brier and ECE use "
                    "probabilities. Baselines are scored on the same customers."
                ),
                "metrics": self.metrics,
                "winner": self.winners,
                "model_wins": beats,
                "baselines": baselines,
            },
            "calibration": {
                "method": self.calibrator.method,
                "fitted_on": "validate window (backtest); test window (deployed model)",
                "ece": model_metrics.get("ece"),
                "ece_raw": model_metrics.get("ece_raw"),
                "brier": model_metrics.get("brier"),
                "brier_raw": model_metrics.get("brier_raw"),
                "curve": self.calibration_curve,
            },
            "importance": self.importance,
            "leak_checks": self.leak_checks,
            "limits": self.limits(),
            "notes": self.notes,
        }
        return _clean(card)

    def limits(self) -> list[str]:
        """Plain-language caveats for whoever reads the scores."""
        test = self.windows.get("test", {})
        return [
            "Identity is resolved with today's identity graph: records merged into one "
            "customer after a cutoff are already merged in the backtest, which can make the "
            "backtest slightly optimistic for merged customers.",
            "Customer attributes (gender, age, city tier, occupation, income, B2B details) "
            "are the CRM records as exported now, not as they were at each cutoff.",
            "Campaign responses are the furthest response reached as exported now; a touch "
            "sent shortly before a cutoff may carry a response recorded after it.",
            "The metrics come from one held-out window "
            f"({test.get('cutoff', '?')} to {test.get('outcome_until', '?')}); a different "
            "season (11.11, 618, Spring Festival) can rank customers differently.",
            "The deployed model is refit on fresher data and has no held-out window of its "
            "own; its quality is estimated by the backtest, not measured.",
            "Scores exist only for customers with at least one paid order; prospects get none.",
            "Probabilities assume the next "
            f"{self.horizon_days} days behave like the recent past; retrain when they do not "
            "(predict.retrain, predict.max_age_days).",
        ]

    # -- saving and loading ----------------------------------------------------------------
    def to_json(self) -> str:
        """Everything needed to score later (and show the card) as one JSON document."""
        data = {
            "format": FORMAT,
            "target": self.target,
            "horizon_days": self.horizon_days,
            "version": self.version,
            "fingerprint": self.fingerprint(),
            "trained_at": self.trained_at,
            "data_as_of": self.data_as_of,
            "cutoffs": self.cutoffs,
            "schema": self.schema.as_list(),
            "booster": self.booster_text,
            "prior": self.prior.as_dict(),
            "calibrator": self.calibrator.as_dict(),
            "rounds": self.rounds,
            "params": self.params,
            "metrics": self.metrics,
            "winners": self.winners,
            "calibration_curve": self.calibration_curve,
            "importance": self.importance,
            "windows": self.windows,
            "leak_checks": self.leak_checks,
            "dropped": self.dropped,
            "notes": self.notes,
        }
        return json.dumps(_clean(data), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TrainedModel:
        """A model saved by `to_json`; ModelError if it is not one or was altered."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelError(f"not a saved segmint model (invalid JSON: {exc})") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ModelError(f"not a saved segmint model: format {found!r}, expected {FORMAT!r}")
        model = cls(
            target=check_target(data["target"]),
            horizon_days=int(data["horizon_days"]),
            version=str(data["version"]),
            trained_at=_parse(data["trained_at"]),
            data_as_of=_parse(data["data_as_of"]),
            cutoffs={k: _parse(v) for k, v in data["cutoffs"].items()},
            schema=FeatureSchema.from_list(data["schema"]),
            booster_text=str(data["booster"]),
            prior=Prior.from_dict(data["prior"]),
            calibrator=Calibrator.from_dict(data["calibrator"]),
            rounds=int(data["rounds"]),
            params=dict(data["params"]),
            metrics=data["metrics"],
            winners=data["winners"],
            calibration_curve=data["calibration_curve"],
            importance=data["importance"],
            windows=data["windows"],
            leak_checks=data["leak_checks"],
            dropped=data["dropped"],
            notes=list(data.get("notes", [])),
        )
        if model.fingerprint() != data.get("fingerprint"):
            raise ModelError(
                f"saved model {model.version} fails its fingerprint check (the booster, "
                "calibrator or features were changed after saving); retrain it"
            )
        return model
