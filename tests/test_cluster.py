"""Clustering: feature scaling, k selection, engine assignment, stability and recovery."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import MiniBatchKMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from segmint.project.spec_clustering import ClusterFeature, ClusteringSettings
from segmint.segments.cluster import (
    ClusteringError,
    KScores,
    choose_k,
    fit_cluster_model,
    prediction_strength,
    refit_stability,
)
from segmint.segments.cluster_assign import assign_clusters
from segmint.segments.cluster_build import build_clustering
from segmint.segments.cluster_features import feature_matrix, fit_features
from segmint.segments.stability import contingency, recovery_scores, scores_from_counts


def _blobs(centres: int, per: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    means = rng.uniform(-20, 20, size=(centres, 3))
    truth = np.repeat(np.arange(centres), per)
    x = means[truth] + rng.normal(0, 1.0, size=(len(truth), 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame.insert(0, "customer_id", [f"C{i:05d}" for i in range(len(frame))])
    frame["frequency"] = 1
    return frame, truth


def _settings(columns: list[str], **options: object) -> ClusteringSettings:
    features = [ClusterFeature(column=c) for c in columns]
    return ClusteringSettings.model_validate(
        {"feature_sets": {"t": features}, "feature_set": "t", "bootstrap_rounds": 2, **options}
    )


def test_k_selection_finds_well_separated_blobs() -> None:
    frame, truth = _blobs(4, 60)
    settings = _settings(["a", "b", "c"])
    features = fit_features(frame, settings.features())
    matrix = feature_matrix(frame, features, settings.clip)
    model, labels = fit_cluster_model(matrix, features, k_min=3, k_max=6, seed=0, clip=4.0)
    assert model.k == 4
    assert [s.k for s in model.scores] == [3, 4, 5, 6]
    assert model.votes["silhouette"] == 4 and model.votes["calinski_harabasz"] == 4
    assert adjusted_rand_score(truth, labels) == pytest.approx(1.0)
    sizes = np.bincount(labels)
    assert list(sizes) == sorted(sizes, reverse=True)  # cluster 0 is the largest


def test_prediction_strength_picks_the_real_groups_and_drops_beyond_them() -> None:
    frame, truth = _blobs(4, 60)
    settings = _settings(["a", "b", "c"])
    features = fit_features(frame, settings.features())
    matrix = feature_matrix(frame, features, settings.clip)
    model, labels = fit_cluster_model(
        matrix,
        features,
        k_min=2,
        k_max=6,
        seed=0,
        clip=4.0,
        k_rule="prediction_strength",
        strength_rounds=3,
    )
    assert model.k == 4 and model.chosen_by == "prediction_strength"
    assert adjusted_rand_score(truth, labels) == pytest.approx(1.0)
    strength = {s.k: s.prediction_strength for s in model.scores}
    assert strength[2] > 0.95 and strength[4] > 0.95  # merging real groups is predictable
    assert strength[5] < 0.75 and strength[6] < 0.75  # cutting one is not
    assert all(np.isnan(s.stability) for s in model.scores)  # not scanned for this rule
    # one value per split, each a share of pairs
    values = prediction_strength(matrix, 5, rounds=4, seed=1)
    assert len(values) == 4 and all(0.0 <= v <= 1.0 for v in values)
    # no k reaches the threshold: the strongest k
    weak = [KScores(k, 0.1, 1.0, 1.0, 1.0, prediction_strength=p) for k, p in [(3, 0.5), (4, 0.6)]]
    assert choose_k(weak, "prediction_strength")[:2] == (4, "prediction_strength")


def test_one_refit_in_another_local_optimum_does_not_lose_the_planted_k() -> None:
    # the refits of the suite's company: k = 6 reproduced at 0.98-0.99 but for one refit
    # that found another optimum; k = 5 reproduced evenly a little lower
    six, six_se = refit_stability([0.982, 0.990, 0.992, 0.985, 0.636])
    five, _ = refit_stability([0.980, 0.987, 0.977, 0.973, 0.993])
    assert six == pytest.approx(0.985) and five == pytest.approx(0.980)
    assert six_se > 0.05  # the spread still shows the odd refit
    assert np.mean([0.982, 0.990, 0.992, 0.985, 0.636]) < five  # what the mean would say
    scores = [
        KScores(5, 0.23, 560.0, 90755.0, 29447.0, five, 0.004),
        KScores(6, 0.22, 544.0, 90011.0, 26872.0, six, six_se),
    ]
    assert choose_k(scores)[0] == 6  # a near-tie (within 0.01): the finer partition
    # BIC favouring k = 5 does not move it; a k clearly less stable than the best is out
    scores[0].bic, scores[1].bic = 90000.0, 91000.0
    assert choose_k(scores)[0] == 6
    scores[1].stability = five - 0.02
    assert choose_k(scores)[0] == 5
    nan, nan_se = refit_stability([])
    assert np.isnan(nan) and np.isnan(nan_se)


def _mixed_frame(rows: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, rows)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(rows)],
            "frequency": rng.integers(1, 5, rows),
            "aov": np.exp(rng.normal(4 + 2 * group, 0.5)),
            "discount_share": np.clip(rng.normal(0.2 + 0.3 * group, 0.1), 0, 1),
            "active_hour": rng.integers(0, 24, rows).astype(float),
            "tenure_days": rng.gamma(2.0, 200.0 * (group + 1)),
            "channel": np.array(["app", "store", "web"], dtype=object)[group],
            "is_b2b": group == 2,
        }
    )
    frame.loc[rng.random(rows) < 0.1, "aov"] = np.nan
    frame.loc[rng.random(rows) < 0.1, "channel"] = None
    frame["is_b2b"] = frame["is_b2b"].astype("boolean")
    frame.loc[rng.random(rows) < 0.1, "is_b2b"] = pd.NA
    return frame


MIXED = [
    ClusterFeature(column="aov", transform="log1p"),
    ClusterFeature(column="discount_share", weight=2.0),
    ClusterFeature(column="active_hour", transform="cos24"),
    ClusterFeature(column="tenure_days", transform="rank", fill="zero"),
    ClusterFeature(column="channel", kind="categorical"),
    ClusterFeature(column="is_b2b", kind="categorical"),
]


def test_engine_assignment_equals_scikit_learn_predict() -> None:
    frame = _mixed_frame(600)
    settings = ClusteringSettings.model_validate({"feature_sets": {"m": MIXED}, "feature_set": "m"})
    features = fit_features(frame.iloc[:300], settings.features())  # fit on a "sample"
    matrix = feature_matrix(frame, features, settings.clip)
    model, _ = fit_cluster_model(matrix[:300], features, k_min=3, k_max=4, seed=0, clip=4.0)
    estimator = MiniBatchKMeans(n_clusters=model.k, n_init=1, init=model.centroids, max_iter=1)
    estimator.fit(matrix[:300])
    estimator.cluster_centers_ = model.centroids  # sklearn's predict with our centroids
    expected = estimator.predict(matrix)
    con = ibis.duckdb.connect()
    got = (
        con.to_pyarrow(assign_clusters(ibis.memtable(frame), model))
        .to_pandas()
        .set_index("customer_id")
        .loc[frame["customer_id"]]
    )
    assert (got["cluster"].to_numpy() == expected).all()
    distance = np.sqrt(((matrix - model.centroids[expected]) ** 2).sum(axis=1))
    np.testing.assert_allclose(got["distance"].to_numpy(), distance, rtol=1e-9, atol=1e-9)


def test_categorical_weight_gives_unit_variance_and_unseen_levels_are_zero() -> None:
    frame = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "kind": ["x", "x", "y", None]})
    spec = [ClusterFeature(column="kind", kind="categorical")]
    (feature,) = fit_features(frame, spec)
    matrix = feature_matrix(frame, [feature], 4.0)
    assert matrix.var(axis=0).sum() == pytest.approx(1.0)  # sum of the one-hot variances
    unseen = feature_matrix(pd.DataFrame({"kind": ["z"]}), [feature], 4.0)
    assert (unseen == 0).all()


def test_too_few_customers_and_unknown_columns_raise() -> None:
    frame, _ = _blobs(2, 10)
    con = ibis.duckdb.connect()
    with pytest.raises(ClusteringError, match="at least 30 customers"):
        build_clustering(ibis.memtable(frame), None, _settings(["a", "b"]), execute=con.to_pandas)
    with pytest.raises(ClusteringError, match=r"columns not in profiles.*nope"):
        build_clustering(
            ibis.memtable(frame), None, _settings(["a", "nope"]), execute=con.to_pandas
        )
    with pytest.raises(ValueError, match="k_min"):
        ClusteringSettings(k_min=6, k_max=4)


def test_recovery_scores_from_counts_match_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 4, 500)
    found = np.where(rng.random(500) < 0.7, truth, rng.integers(0, 5, 500))
    frame = pd.DataFrame({"customer_id": [str(i) for i in range(500)]})
    assigned = ibis.memtable(frame.assign(cluster=found))
    planted = ibis.memtable(frame.assign(persona=[f"p{t}" for t in truth]))
    counts = ibis.duckdb.connect().to_pandas(contingency(assigned, planted))
    ari, nmi, customers = recovery_scores(counts)
    assert customers == 500
    assert ari == pytest.approx(adjusted_rand_score(truth, found), abs=1e-12)
    assert nmi == pytest.approx(normalized_mutual_info_score(truth, found), abs=1e-12)
    table = pd.crosstab(truth, truth)
    assert scores_from_counts(table) == pytest.approx((1.0, 1.0))


def test_build_clustering_end_to_end_on_blobs() -> None:
    frame, truth = _blobs(3, 50, seed=5)
    frame["monetary"] = 100.0
    frame["monetary_365d"] = np.where(truth == 0, 1000.0, 10.0)
    con = ibis.duckdb.connect()
    settings = _settings(["a", "b", "c"], k_min=2, k_max=5)
    planted = ibis.memtable(frame.assign(persona=truth.astype(str))[["customer_id", "persona"]])
    result = build_clustering(
        ibis.memtable(frame), None, settings, execute=con.to_pandas, truth=planted
    )
    assert result.model.k == 3
    assert result.persona_ari == pytest.approx(1.0)
    assert len(result.model.stability_ari) == 2 and min(result.model.stability_ari) > 0.99
    clusters = con.to_pandas(result.clusters)
    assert len(clusters) == 150 and clusters["persona_en"].notna().all()
    assert list(clusters.columns) == [
        "customer_id",
        "cluster",
        "persona_en",
        "persona_zh",
        "distance",
    ]
    assert len(result.personas) == 3
    row = result.model_table.iloc[0]
    assert row["k"] == 3 and row["stability_ari_mean"] > 0.99 and row["persona_ari"] == 1.0


def test_population_filters() -> None:
    from segmint.segments.cluster_assign import population_filter

    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "frequency": [2, 0, 1, None],
            "customer_records": [1, 1, 0, 1],
        }
    )
    con = ibis.duckdb.connect()
    table = ibis.memtable(frame)

    def ids(population: str) -> list[str]:
        rows = con.to_pandas(population_filter(table, population))
        return sorted(rows["customer_id"])

    assert ids("buyers") == ["a", "c"]
    assert ids("members") == ["a"]
    assert ids("all") == ["a", "b", "c", "d"]


def test_fit_on_members_keeps_thin_records_out_of_the_fit_but_assigns_them() -> None:
    members, truth = _blobs(3, 200, seed=2)
    members["customer_records"] = 1
    thin, _ = _blobs(1, 120, seed=9)  # a separate blob of buyers without a CRM record
    thin["customer_id"] = [f"T{i:05d}" for i in range(len(thin))]
    thin["customer_records"] = 0
    frame = pd.concat([members, thin], ignore_index=True)
    con = ibis.duckdb.connect()

    def fit(fit_on: str) -> tuple[int, str, pd.DataFrame]:
        settings = _settings(["a", "b", "c"], k_min=3, k_max=5, fit_on=fit_on)
        result = build_clustering(ibis.memtable(frame), None, settings, execute=con.to_pandas)
        row = result.model_table.iloc[0]
        assert row["fitted_on"] == result.model.fitted_on
        return result.model.k, result.model.fitted_on, con.to_pandas(result.clusters)

    k, fitted_on, clusters = fit("members")
    assert (k, fitted_on) == (3, "members")
    assert len(clusters) == len(frame)  # the thin records are assigned all the same
    got = clusters.set_index("customer_id").loc[members["customer_id"], "cluster"]
    assert adjusted_rand_score(truth, got.to_numpy()) == pytest.approx(1.0)
    k, fitted_on, clusters = fit("population")
    assert (k, fitted_on) == (4, "population") and len(clusters) == len(frame)
    # too few members in the sample: the whole population is fitted
    few = _settings(["a", "b", "c"], k_min=3, k_max=5, min_fit_customers=1000)
    result = build_clustering(ibis.memtable(frame), None, few, execute=con.to_pandas)
    assert result.model.fitted_on == "population"
