"""Persona cards: one row per cluster, from per-cluster summaries computed in the engine.

Three small queries: numeric sums per cluster (n, Σx, Σx² of every numeric trait), counts
per (cluster, trait, level) for categorical traits and hours, and each cluster's member
nearest its centroid. Effect sizes, lifts, shares, names and priorities are plain Python on
those summaries; no customer list leaves the engine except the k representatives (masked).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.access.masking import mask_expr
from segmint.segments.cluster import ClusterModel
from segmint.segments.cluster_features import _level_expr, transformed_expr
from segmint.segments.persona_names import Trait, persona_name, priority, unique_names

Execute = Callable[[ir.Table], pd.DataFrame]
# traits shown on every card when the profile has them (categorical ones get lifts)
CARD_CATEGORICAL = (
    "preferred_channel",
    "city_tier",
    "age_band",
    "gender",
    "top_category",
    "is_b2b",
    "industry",
    "nps_category",
)
CARD_NUMERIC = (
    "monetary_365d",
    "aov",
    "frequency",
    "recency_days",
    "tenure_days",
    "discount_share",
    "price_index",
    "online_share",
    "offline_share",
    "deal_event_share",
    "research_share",
    "campaign_response_rate",
    "service_contacts",
    "satisfaction_mean",
    "nps_latest",
    "age",
)
NEEDS = (
    "discount_share",
    "deal_event_share",
    "research_share",
    "price_index",
    "campaign_response_rate",
    "service_contacts",
    "satisfaction_mean",
    "nps_latest",
)


@dataclass
class PersonaCard:
    """One cluster's card; nested details are JSON strings when published."""

    cluster: int
    persona_en: str
    persona_zh: str
    priority: str
    customers: int
    share: float
    revenue_share: float
    clv_share: float | None
    effects: list[dict[str, Any]] = field(default_factory=list)
    lifts: list[dict[str, Any]] = field(default_factory=list)
    means: dict[str, float | None] = field(default_factory=dict)
    channels: list[dict[str, Any]] = field(default_factory=list)
    active_hours: list[dict[str, Any]] = field(default_factory=list)
    needs: dict[str, float | None] = field(default_factory=dict)
    representative: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        """A flat row: scalars as they are, nested details as JSON text."""
        out = asdict(self)
        for key in (
            "effects",
            "lifts",
            "means",
            "channels",
            "active_hours",
            "needs",
            "representative",
        ):
            out[key] = json.dumps(out[key], ensure_ascii=False, default=str)
        return out


def _numeric_columns(table: ir.Table, model: ClusterModel) -> dict[str, ir.FloatingValue]:
    """Numeric traits for effect sizes: the model's (on their transformed scale) then the
    card's display traits (raw), each once."""
    out: dict[str, ir.FloatingValue] = {}
    for f in model.features:
        if f.kind == "numeric":
            out[f.column] = transformed_expr(table, f)
    for column in CARD_NUMERIC:
        if column in table.columns and column not in out and table[column].type().is_numeric():
            out[column] = table[column].cast("float64")
    return out


def _categorical_columns(table: ir.Table, model: ClusterModel) -> list[str]:
    names = [f.column for f in model.features if f.kind == "categorical"]
    names += [c for c in CARD_CATEGORICAL if c in table.columns and c not in names]
    return names


def numeric_summary(table: ir.Table, values: dict[str, ir.FloatingValue]) -> ir.Table:
    """Per cluster: n and, per trait, count / Σx / Σx² (and raw means for display)."""
    metrics: dict[str, ir.Value] = {"n": table.count()}
    for i, (_name, value) in enumerate(values.items()):
        metrics[f"c{i}"] = value.count()
        metrics[f"s{i}"] = value.sum()
        metrics[f"q{i}"] = (value * value).sum()
    for column in ("monetary", "monetary_365d", "predicted_clv", "churn_probability"):
        if column in table.columns:
            metrics[f"sum_{column}"] = table[column].cast("float64").sum()
            metrics[f"cnt_{column}"] = table[column].count()
    for column in ("recency_days", "tenure_days"):
        if column in table.columns:
            metrics[f"sum_{column}"] = table[column].cast("float64").sum()
            metrics[f"cnt_{column}"] = table[column].count()
    return table.group_by("cluster").aggregate(**metrics)


def level_counts(table: ir.Table, columns: list[str]) -> ir.Table | None:
    """Customers per (cluster, trait, level) for the categorical traits and active hour."""
    parts = []
    for column in [*columns, "active_hour"]:
        if column not in table.columns:
            continue
        part = table.select("cluster", trait=ibis.literal(column), level=_level_expr(table[column]))
        parts.append(part.group_by(["cluster", "trait", "level"]).aggregate(n=part.count()))
    return ibis.union(*parts) if parts else None


def representatives(table: ir.Table) -> ir.Table:
    """Each cluster's member nearest its centroid, PII masked."""
    ranked = table.mutate(
        _rank=ibis.row_number().over(
            group_by=table.cluster, order_by=[table.distance, table.customer_id]
        )
    )
    chosen = ranked.filter(ranked._rank == 0)
    columns: dict[str, ir.Value] = {
        "cluster": chosen.cluster,
        "customer_id": chosen.customer_id,
        "distance": chosen.distance,
    }
    masks = {"name": "name", "phone": "phone", "email": "email", "member_id": "id"}
    for column, kind in masks.items():
        if column in chosen.columns:
            columns[column] = mask_expr(kind, chosen[column])  # type: ignore[arg-type]
    for column in (
        "city",
        "age_band",
        "gender",
        "preferred_channel",
        "top_category",
        "monetary_365d",
        "frequency",
        "recency_days",
    ):
        if column in chosen.columns:
            columns[column] = chosen[column]
    return chosen.select(**columns)


def _mean(s: float, c: float) -> float | None:
    return s / c if c else None


def _sd(s: float, q: float, c: float) -> float | None:
    if c < 2:
        return None
    var = (q - s * s / c) / (c - 1)
    return math.sqrt(var) if var > 0 else 0.0


def cohens_d(c1: float, s1: float, q1: float, c2: float, s2: float, q2: float) -> float:
    """Standardised mean difference of group 1 vs group 2 from counts, sums and sums of
    squares (pooled standard deviation); 0 when undefined."""
    if c1 < 2 or c2 < 2:
        return 0.0
    v1 = (q1 - s1 * s1 / c1) / (c1 - 1)
    v2 = (q2 - s2 * s2 / c2) / (c2 - 1)
    pooled = ((c1 - 1) * v1 + (c2 - 1) * v2) / (c1 + c2 - 2)
    if pooled <= 1e-12:
        return 0.0
    return (s1 / c1 - s2 / c2) / math.sqrt(pooled)


def persona_cards(
    assigned: ir.Table,
    profile: ir.Table,
    model: ClusterModel,
    execute: Execute,
    predictions: ir.Table | None = None,
) -> list[PersonaCard]:
    """A card per cluster from `assigned` (customer_id, cluster, distance) and the profile."""
    table = assigned.join(profile, "customer_id")
    if predictions is not None:
        keep = [c for c in ("predicted_clv", "churn_probability") if c in predictions.columns]
        if keep:
            table = table.left_join(predictions.select("customer_id", *keep), "customer_id")
            table = table.drop("customer_id_right")
    values = _numeric_columns(table, model)
    names = list(values)
    sums = execute(numeric_summary(table, values)).sort_values("cluster").reset_index(drop=True)
    categorical = _categorical_columns(table, model)
    counts_expr = level_counts(table, categorical)
    counts = (
        execute(counts_expr)
        if counts_expr is not None
        else pd.DataFrame({"cluster": [], "trait": [], "level": [], "n": []})
    )
    reps = execute(representatives(table))
    total = sums.sum(numeric_only=True)
    n_all = float(total["n"])

    def share_of(column: str, row: pd.Series) -> float | None:
        key = f"sum_{column}"
        if key not in sums.columns or not total[key]:
            return None
        return float(row[key]) / float(total[key])

    def mean_of(column: str, row: pd.Series | None) -> float | None:
        src = total if row is None else row
        key = f"sum_{column}"
        if key not in sums.columns:
            return None
        return _mean(float(src[key]), float(src[f"cnt_{column}"]))

    cards: list[PersonaCard] = []
    for _, row in sums.iterrows():
        cluster = int(row["cluster"])
        n = float(row["n"])
        effects: list[dict[str, Any]] = []
        traits: list[Trait] = []
        means: dict[str, float | None] = {}
        for i, name in enumerate(names):
            c1, s1, q1 = (float(row[f"{p}{i}"] or 0) for p in "csq")
            ct, st, qt = (float(total[f"{p}{i}"] or 0) for p in "csq")
            d = cohens_d(c1, s1, q1, ct - c1, st - s1, qt - q1)
            means[name] = _mean(s1, c1)
            effects.append(
                {"trait": name, "d": round(d, 4), "mean": _mean(s1, c1), "base_mean": _mean(st, ct)}
            )
            traits.append(Trait(name, d))
        effects.sort(key=lambda e: -abs(e["d"]))
        lifts: list[dict[str, Any]] = []
        mine = counts[counts["cluster"] == cluster]
        for trait in categorical:
            base = counts[counts["trait"] == trait].groupby("level")["n"].sum()
            own = mine[mine["trait"] == trait].set_index("level")["n"]
            for level, k in own.items():
                share = float(k) / n
                base_share = float(base[level]) / n_all
                lift = share / base_share if base_share else 0.0
                lifts.append(
                    {
                        "trait": trait,
                        "level": str(level),
                        "share": round(share, 4),
                        "lift": round(lift, 4),
                    }
                )
                traits.append(Trait(trait, lift - 1.0, str(level), share))
        lifts.sort(key=lambda x: (-x["lift"], x["trait"], x["level"]))
        hours = mine[mine["trait"] == "active_hour"].sort_values(
            ["n", "level"], ascending=[False, True]
        )
        channels = mine[mine["trait"] == "preferred_channel"].sort_values(
            ["n", "level"], ascending=[False, True]
        )
        base_rec, base_ten = mean_of("recency_days", None), mean_of("tenure_days", None)
        rec, ten = mean_of("recency_days", row), mean_of("tenure_days", row)
        value = share_of("monetary_365d", row)
        value_index = (value or 0.0) / (n / n_all) if n else 0.0
        rep = reps[reps["cluster"] == cluster]
        cards.append(
            PersonaCard(
                cluster=cluster,
                persona_en="",
                persona_zh="",
                priority=priority(
                    value_index,
                    (rec or 0.0) / base_rec if base_rec else 1.0,
                    (ten or 0.0) / base_ten if base_ten else 1.0,
                    mean_of("churn_probability", row),
                    mean_of("churn_probability", None),
                ),
                customers=int(n),
                share=n / n_all,
                revenue_share=share_of("monetary", row) or 0.0,
                clv_share=share_of("predicted_clv", row),
                effects=effects,
                lifts=lifts[:12],
                means=means,
                channels=[
                    {"channel": str(r.level), "share": round(float(r.n) / n, 4)}
                    for r in channels.head(3).itertuples()
                ],
                active_hours=[
                    {"hour": str(r.level), "share": round(float(r.n) / n, 4)}
                    for r in hours.itertuples()
                ],
                needs={k: means.get(k) for k in NEEDS if k in means},
                representative=rep.drop(columns="cluster").iloc[0].to_dict() if len(rep) else {},
            )
        )
        cards[-1].persona_en, cards[-1].persona_zh = persona_name(
            traits, value_index if value is not None else None
        )
    for card, (en, zh) in zip(
        cards, unique_names([(c.persona_en, c.persona_zh) for c in cards]), strict=True
    ):
        card.persona_en, card.persona_zh = en, zh
    return cards


def cards_frame(cards: list[PersonaCard]) -> pd.DataFrame:
    """The `segment_personas` table: one row per cluster."""
    frame = pd.DataFrame([c.row() for c in cards])
    for column in ("share", "revenue_share", "clv_share"):  # typed even when all NULL
        frame[column] = pd.to_numeric(frame[column]).astype("float64")
    return frame
