"""The model registry: every trained model, kept in the warehouse across runs.

A run reads last run's registry, adds what it trained, and publishes the result with its other
tables, so a failed run leaves the saved models as they were and a later run (or another
machine with the same warehouse) scores with them without retraining.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

KEEP_VERSIONS = 5  # per target; older versions are dropped from the registry

REGISTRY_COLUMNS = (
    "target",
    "version",
    "kind",
    "trained_run_id",
    "trained_at",
    "data_as_of",
    "settings_hash",
    "payload",
)


@dataclass(frozen=True)
class SavedModel:
    """One registry row."""

    target: str
    version: str
    kind: str  # "lightgbm" or "clv"
    trained_run_id: str
    trained_at: dt.datetime
    data_as_of: dt.datetime
    settings_hash: str
    payload: str  # the model's own JSON

    def age_days(self, as_of: dt.datetime) -> float:
        """Days between the data the model was trained on and `as_of`."""
        return (as_of - self.data_as_of).total_seconds() / 86400


def empty_registry() -> pd.DataFrame:
    """A registry with no models (typed, so the warehouse table has a schema)."""
    frame = pd.DataFrame({c: pd.Series([], dtype="string") for c in REGISTRY_COLUMNS})
    for column in ("trained_at", "data_as_of"):
        frame[column] = pd.Series([], dtype="datetime64[us]")
    return frame


def latest(registry: pd.DataFrame | None, target: str) -> SavedModel | None:
    """The newest saved model for `target`, if any."""
    if registry is None or registry.empty:
        return None
    rows = registry[registry["target"] == target]
    if rows.empty:
        return None
    row = rows.sort_values(["trained_at", "version"]).iloc[-1]
    return SavedModel(
        target=str(row["target"]),
        version=str(row["version"]),
        kind=str(row["kind"]),
        trained_run_id=str(row["trained_run_id"]),
        trained_at=pd.Timestamp(row["trained_at"]).to_pydatetime(),
        data_as_of=pd.Timestamp(row["data_as_of"]).to_pydatetime(),
        settings_hash=str(row["settings_hash"]),
        payload=str(row["payload"]),
    )


def with_models(registry: pd.DataFrame | None, models: list[SavedModel]) -> pd.DataFrame:
    """Last registry plus `models` (a version saved twice is kept once), newest five per
    target."""
    base = empty_registry() if registry is None else registry[list(REGISTRY_COLUMNS)]
    added = pd.DataFrame(
        [{c: getattr(m, c) for c in REGISTRY_COLUMNS} for m in models],
        columns=list(REGISTRY_COLUMNS),
    )
    frames = [f for f in (base, added) if not f.empty]
    if not frames:
        return empty_registry()
    merged = pd.concat(frames, ignore_index=True)
    merged["trained_at"] = pd.to_datetime(merged["trained_at"]).astype("datetime64[us]")
    merged["data_as_of"] = pd.to_datetime(merged["data_as_of"]).astype("datetime64[us]")
    merged = merged.drop_duplicates(["target", "version"], keep="last")
    merged = merged.sort_values(["target", "trained_at", "version"])
    return merged.groupby("target", sort=True).tail(KEEP_VERSIONS).reset_index(drop=True)
