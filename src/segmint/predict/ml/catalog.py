"""The feature catalogue: which profile traits become model features, and how.

Rules, applied to every trait in `segmint.traits.catalog.TRAITS` (so a new trait becomes a
feature without a change here, and a new PII trait never does):
- PII traits are never features; neither are the traits in `DROPPED` (identifying,
  high-cardinality or redundant), nor customer_id, which is the key only;
- timestamps and dates become whole days before the cutoff (`days_since_<name>`);
- text traits and the int-coded traits in `CATEGORICAL_CODES` are LightGBM categoricals,
  whose levels are learned on the training window and saved with the model;
- booleans become 0/1; everything else is numeric.
The BG/NBD sufficient statistics and outputs at the cutoff are added (`bgnbd_*`), then any
extra feature functions' columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from segmint.traits.catalog import TRAITS, Level, Trait

FeatureKind = Literal["numeric", "categorical", "boolean"]
KEY = "customer_id"

#: Traits left out besides PII, and why (shown in the model card).
DROPPED: dict[str, str] = {
    "customer_id": "the key, not a feature",
    "company_name": "identifies the business customer",
    "city": "high-cardinality place name; city_tier carries it",
    "province": "high-cardinality place name; city_tier carries it",
    "top_brand": "high-cardinality; top_category and brands carry it",
    "age_band": "age carries it",
    "customer_type": "is_b2b carries it",
    "first_seen_at": "tenure_days carries it",
    "last_order_at": "recency_days carries it",
}
#: Integer traits that are codes, not quantities.
CATEGORICAL_CODES = frozenset({"city_tier"})
_TIME_TYPES = frozenset({"timestamp", "date"})


@dataclass(frozen=True)
class FeatureSpec:
    """One model feature: where it comes from and how it is encoded."""

    name: str
    source: str  # the profile trait, "bgnbd", or "extra:<function>"
    kind: FeatureKind
    description: str
    sensitivity: Level = "internal"
    levels: tuple[str, ...] = field(default=())  # categoricals, learned on the training window

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready description (levels included)."""
        return {
            "name": self.name,
            "source": self.source,
            "kind": self.kind,
            "description": self.description,
            "sensitivity": self.sensitivity,
            "levels": list(self.levels),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> FeatureSpec:
        """The inverse of `as_dict`."""
        levels = data.get("levels") or []
        assert isinstance(levels, list)
        return cls(
            name=str(data["name"]),
            source=str(data["source"]),
            kind=data["kind"],  # type: ignore[arg-type]
            description=str(data["description"]),
            sensitivity=data.get("sensitivity", "internal"),  # type: ignore[arg-type]
            levels=tuple(str(v) for v in levels),
        )


def days_since_name(trait: str) -> str:
    """The feature name of a timestamp trait: registered_at → days_since_registered."""
    return "days_since_" + trait.removesuffix("_at")


def _from_trait(trait: Trait) -> FeatureSpec | None:
    if trait.sensitivity == "pii" or trait.name in DROPPED:
        return None
    if trait.dtype in _TIME_TYPES:
        text = trait.description.rstrip(".")
        return FeatureSpec(
            days_since_name(trait.name),
            trait.name,
            "numeric",
            f"Days from {text[:1].lower() + text[1:]} to the cutoff.",
            trait.sensitivity,
        )
    if trait.dtype == "string" or trait.name in CATEGORICAL_CODES:
        kind: FeatureKind = "categorical"
    elif trait.dtype == "boolean":
        kind = "boolean"
    else:
        kind = "numeric"
    return FeatureSpec(trait.name, trait.name, kind, trait.description, trait.sensitivity)


def profile_features() -> list[FeatureSpec]:
    """The features taken from the profile, in profile order."""
    return [spec for t in TRAITS if (spec := _from_trait(t)) is not None]


def dropped_traits() -> dict[str, str]:
    """Trait → why it is not a feature (PII and `DROPPED`)."""
    out = {t.name: "personal data (pii)" for t in TRAITS if t.sensitivity == "pii"}
    out.update({k: v for k, v in DROPPED.items() if k != KEY})
    return out


def bgnbd_features(horizons: list[int]) -> list[FeatureSpec]:
    """The BG/NBD statistics and outputs at the cutoff, for each horizon (days)."""
    specs = [
        FeatureSpec(
            "bgnbd_frequency",
            "bgnbd",
            "numeric",
            "Repeat purchase days up to the cutoff (days with a paid order, minus one).",
        ),
        FeatureSpec(
            "bgnbd_recency",
            "bgnbd",
            "numeric",
            "Days from the first to the last purchase day up to the cutoff.",
        ),
        FeatureSpec(
            "bgnbd_t", "bgnbd", "numeric", "Days from the first purchase day to the cutoff."
        ),
        FeatureSpec(
            "bgnbd_p_alive",
            "bgnbd",
            "numeric",
            "P(alive) at the cutoff from a BG/NBD model fitted on data up to the cutoff.",
        ),
    ]
    for h in sorted(set(horizons)):
        specs += [
            FeatureSpec(
                f"bgnbd_expected_purchases_{h}d",
                "bgnbd",
                "numeric",
                f"Expected purchase days in the {h} days after the cutoff (BG/NBD).",
            ),
            FeatureSpec(
                f"bgnbd_p_purchase_{h}d",
                "bgnbd",
                "numeric",
                f"P(at least one purchase in the {h} days after the cutoff) (BG/NBD).",
            ),
        ]
    return specs
