"""Persona cards: effect sizes from engine summaries, names, priorities, masking.

The recovery of the planted personas is asserted on the generated company of
tests/test_identity.py (it already runs the whole pipeline)."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from segmint.project.spec_clustering import ClusterFeature, ClusteringSettings
from segmint.segments.cluster import ClusterModel
from segmint.segments.cluster_build import build_clustering
from segmint.segments.cluster_features import fit_features
from segmint.segments.persona_names import Trait, persona_name, priority, unique_names
from segmint.segments.personas import cohens_d, persona_cards


def _direct_d(a: np.ndarray, b: np.ndarray) -> float:
    pooled = ((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2)
    return float((a.mean() - b.mean()) / np.sqrt(pooled))


def test_cohens_d_from_sums_equals_direct() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(1, 2, 40), rng.normal(0, 1, 70)
    got = cohens_d(len(a), a.sum(), (a * a).sum(), len(b), b.sum(), (b * b).sum())
    assert got == pytest.approx(_direct_d(a, b), rel=1e-10)


def test_card_effect_sizes_lifts_and_masked_representative() -> None:
    rng = np.random.default_rng(1)
    n = 200
    cluster = np.repeat([0, 1], [150, 50])
    profile = pd.DataFrame(
        {
            "customer_id": [f"C{i:04d}" for i in range(n)],
            "name": ["张伟丰"] * n,
            "phone": ["+8613812345678"] * n,
            "aov": np.where(cluster == 1, rng.gamma(5, 400, n), rng.gamma(5, 40, n)),
            "monetary": np.where(cluster == 1, 1000.0, 100.0),
            "monetary_365d": np.where(cluster == 1, 1000.0, 100.0),
            "preferred_channel": np.where(cluster == 1, "app", "offline"),
            "active_hour": np.where(cluster == 1, 22, 10),
        }
    )
    assigned = pd.DataFrame(
        {"customer_id": profile["customer_id"], "cluster": cluster, "distance": rng.random(n)}
    )
    features = fit_features(profile, [ClusterFeature(column="aov", transform="log1p")])
    model = ClusterModel(features=features, centroids=np.zeros((2, 1)), clip=4.0, k=2)
    con = ibis.duckdb.connect()
    cards = persona_cards(ibis.memtable(assigned), ibis.memtable(profile), model, con.to_pandas)
    assert [c.cluster for c in cards] == [0, 1]
    small = cards[1]
    log_aov = np.log1p(profile["aov"].to_numpy())
    expected = _direct_d(log_aov[cluster == 1], log_aov[cluster == 0])
    effect = next(e for e in small.effects if e["trait"] == "aov")
    assert effect["d"] == pytest.approx(expected, abs=1e-4)
    assert small.customers == 50 and small.share == pytest.approx(0.25)
    assert small.revenue_share == pytest.approx(50_000 / (50_000 + 15_000))
    app = next(x for x in small.lifts if x["trait"] == "preferred_channel")
    assert (app["level"], app["share"], app["lift"]) == ("app", 1.0, 4.0)
    assert small.channels == [{"channel": "app", "share": 1.0}]
    assert small.active_hours[0] == {"hour": "22", "share": 1.0}
    assert small.persona_en.startswith("high-ticket") and "高客单价" in small.persona_zh
    assert small.priority == "high_value"
    rep = small.representative
    assert rep["name"] == "张**" and rep["phone"] == "138****5678"
    assert rep["distance"] == assigned[cluster == 1]["distance"].min()


def test_names_are_deterministic_in_english_and_chinese() -> None:
    traits = [
        Trait("aov", 1.2),
        Trait("city_tier", 1.0, "1", 0.6),
        Trait("discount_share", -0.8),
        Trait("frequency", 0.3),  # too weak to name
        Trait("preferred_channel", 2.0, "app", 0.3),  # too few hold it
    ]
    en, zh = persona_name(traits)
    assert (en, zh) == ("high-ticket, tier-1 city, full-price", "高客单价一线城市原价购买人群")
    assert persona_name(list(reversed(traits))) == (en, zh)
    assert persona_name([Trait("frequency", 0.1)]) == ("mainstream customers", "大众客群")
    same = [Trait("online_share", -1.5), Trait("preferred_channel", 2.0, "offline", 0.9)]
    assert persona_name(same) == ("store shoppers", "门店人群")  # not "…, in-store"
    assert unique_names([("a", "甲"), ("a", "甲")]) == [("a", "甲"), ("a (2)", "甲（2）")]


def test_a_spend_phrase_the_spend_share_contradicts_is_left_out() -> None:
    """Effects are on the log scale (the typical member); the spend index is the mean. A
    cluster of many moderate spenders is "high spend" only if it also holds its share."""
    traits = [Trait("monetary_365d", 0.9), Trait("discount_share", -0.8), Trait("aov", 0.6)]
    assert persona_name(traits)[0] == "high spend, full-price, high-ticket"
    assert persona_name(traits, spend_index=1.4)[0] == "high spend, full-price, high-ticket"
    assert persona_name(traits, spend_index=0.2)[0] == "full-price, high-ticket"
    low = [Trait("monetary_365d", -1.5)]
    assert persona_name(low, spend_index=0.1) == ("low spend", "低消费人群")
    assert persona_name(low, spend_index=1.2) == ("mainstream customers", "大众客群")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((3.0, 2.5, 1.0, None, None), "win_back"),
        ((3.0, 1.0, 1.0, None, None), "high_value"),
        ((0.8, 1.0, 0.3, None, None), "high_potential"),
        ((0.8, 1.0, 1.0, 0.1, 0.2), "high_potential"),
        ((0.8, 1.0, 1.0, 0.4, 0.2), "win_back"),
        ((0.5, 1.0, 1.0, None, None), "maintain"),
    ],
)
def test_priority_rules(args: tuple, expected: str) -> None:  # type: ignore[type-arg]
    assert priority(*args) == expected


def test_published_frames_are_typed_without_predictions_or_truth() -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"customer_id": [f"C{i}" for i in range(90)]})
    frame["a"] = np.repeat([0.0, 10.0, 20.0], 30) + rng.normal(0, 0.5, 90)
    frame["frequency"] = 1
    settings = ClusteringSettings.model_validate(
        {"feature_sets": {"t": [{"column": "a"}]}, "feature_set": "t", "bootstrap_rounds": 0}
    )
    con = ibis.duckdb.connect()
    result = build_clustering(ibis.memtable(frame), None, settings, execute=con.to_pandas)
    con.create_table("personas", result.personas)  # no NULL-typed column
    con.create_table("model", result.model_table)
    assert result.personas["clv_share"].dtype == "float64"
    assert result.model_table["persona_ari"].dtype == "float64"
