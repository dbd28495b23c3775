"""Fit the clustering on a sample: k chosen by five criteria, then k-means.

For every k in [k_min, k_max] the sample is clustered with k-means and scored by
- prediction strength (split halves; higher is better; see the rules below),
- stability: `scan_rounds` refits on bootstrap resamples, each labelling the whole sample,
  compared with the fit on the sample by the adjusted Rand index (median; higher is better),
- silhouette (on at most `silhouette_sample` rows; higher is better),
- Calinski-Harabasz (on the whole sample; higher is better),
- BIC of a full-covariance Gaussian mixture with the same k (reg_covar 0.05 in robust-z
  units, so the many ties of shares and one-hot columns cannot make a component collapse;
  lower is better).
Rules (`k_rule`):
- "prediction_strength" (default; Tibshirani and Walther 2005): for `strength_rounds` (6)
  random half splits, both halves are clustered; for every cluster of one half, the share
  of its member pairs the other half's centroids also put together; the worst cluster is
  the split's value. The largest k whose median over the splits reaches
  `strength_threshold` (0.78) is chosen (the strongest k when none does). A k beyond the
  real groups cuts one of them where the other half does not, so its strength falls: on
  ten generated companies (six planted personas, 1,500-10,000 customers) k = 6 scored
  0.798-0.961 and k = 7 and 8 0.320-0.765. The threshold was set on those same ten, so
  its margins (0.018 below the weakest six, 0.015 above the strongest seven) are thin.
  The median, because now and then a half lands in another local optimum (0.33 and 0.61
  in twelve splits of k = 6 on one company, the other ten 0.93-0.98); the mean of four
  splits put k = 6 at 0.72 there.
- "stability": the finest partition that bootstrap refits reproduce (Ben-Hur, Elisseeff and
  Guyon 2002; Lange et al. 2004): stability is the median ARI of `scan_rounds` (10) refits
  against the fit, and among the k within `stability_tolerance` (0.01) of the most stable
  the largest is chosen (merging two real groups is as stable as keeping them apart). The
  median, because now and then one refit lands in another local optimum (ARI 0.64 against
  0.98-0.99 for the other nine refits of k = 6 on the suite's company). On the generated
  companies the stabilities of k = 5, 6 and, at 10,000 customers, 7 and 8 were within
  0.002-0.013 of each other, so the choice hung on the tolerance: with the lowest BIC
  deciding near-ties (this rule until 2026-11-23) k = 5 won on four of ten companies, with
  the largest k and 0.01, k = 8 on one.
- "bic": the lowest BIC. Its minimum moved between 6, 7 and 8 with the Gaussian mixtures'
  random starts (BIC differences of about 2,800 between two starts of one k).
Silhouette and Calinski-Harabasz vote and are reported, but do not decide: they reward
few, round, equally dense clusters and peaked at 5-7 (silhouette) and 4-5
(Calinski-Harabasz) while six personas were planted.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import adjusted_rand_score, calinski_harabasz_score, silhouette_score
from sklearn.mixture import GaussianMixture

from segmint.predict.ml.errors import ModelError
from segmint.segments.cluster_features import FittedFeature

REG_COVAR = 0.05
BIC_ROWS = 10_000  # Gaussian mixtures for BIC are fitted on at most this many sample rows
# k whose stability is within this of the best are near-ties (see the module docstring)
STABILITY_TOLERANCE = 0.01
STRENGTH_THRESHOLD = 0.78
CRITERIA = ("prediction_strength", "stability", "silhouette", "calinski_harabasz", "bic")


class ClusteringError(ModelError):
    """Customers cannot be clustered as asked (too few, no usable features)."""


class TooFewCustomersError(ClusteringError):
    """The sample holds too few customers for the k range (a run skips clustering)."""


@dataclass
class KScores:
    """The three criteria of one k."""

    k: int
    silhouette: float
    calinski_harabasz: float
    bic: float
    inertia: float
    stability: float = float("nan")  # median bootstrap ARI (NaN: not measured)
    stability_se: float = float("nan")  # standard error of the refits' mean ARI (spread)
    prediction_strength: float = float("nan")  # median over the splits (NaN: not measured)

    def to_json(self) -> dict[str, float | None]:
        """JSON-ready scores."""
        strength = self.prediction_strength
        return {
            "k": self.k,
            "prediction_strength": None if math.isnan(strength) else round(strength, 6),
            "stability": None if math.isnan(self.stability) else round(self.stability, 6),
            "stability_se": None if math.isnan(self.stability_se) else round(self.stability_se, 6),
            "silhouette": round(self.silhouette, 6),
            "calinski_harabasz": round(self.calinski_harabasz, 4),
            "bic": round(self.bic, 4),
            "inertia": round(self.inertia, 4),
        }


@dataclass
class ClusterModel:
    """A fitted clustering: the scaling of each feature and the centroids (scaled space)."""

    features: list[FittedFeature]
    centroids: np.ndarray  # k x d
    clip: float
    k: int
    chosen_by: str = "bic"
    votes: dict[str, int] = field(default_factory=dict)
    scores: list[KScores] = field(default_factory=list)
    sample_rows: int = 0
    population: str = "buyers"
    fitted_on: str = "population"  # the sample's customers: "members" or "population"
    stability_ari: list[float] = field(default_factory=list)

    def column_names(self) -> list[str]:
        """Matrix column names, in centroid order."""
        return [name for f in self.features for name in f.names()]

    def to_json(self) -> str:
        """The model as JSON (features with their scaling, centroids, scores)."""
        return json.dumps(
            {
                "k": self.k,
                "clip": self.clip,
                "chosen_by": self.chosen_by,
                "votes": self.votes,
                "population": self.population,
                "fitted_on": self.fitted_on,
                "sample_rows": self.sample_rows,
                "features": [f.to_json() for f in self.features],
                "centroids": self.centroids.round(8).tolist(),
                "scores": [s.to_json() for s in self.scores],
                "stability_ari": self.stability_ari,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> ClusterModel:
        """Inverse of `to_json`."""
        doc: dict[str, Any] = json.loads(text)
        return cls(
            features=[FittedFeature(**f) for f in doc["features"]],
            centroids=np.asarray(doc["centroids"], dtype=float),
            clip=float(doc["clip"]),
            k=int(doc["k"]),
            chosen_by=doc.get("chosen_by", "bic"),
            votes={str(k): int(v) for k, v in doc.get("votes", {}).items()},
            scores=[_k_scores(s) for s in doc.get("scores", [])],
            sample_rows=int(doc.get("sample_rows", 0)),
            population=doc.get("population", "buyers"),
            fitted_on=doc.get("fitted_on", "population"),
            stability_ari=[float(x) for x in doc.get("stability_ari", [])],
        )

    def predict(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest centroid and its Euclidean distance for rows of the scaled matrix."""
        d2 = ((matrix[:, None, :] - self.centroids[None, :, :]) ** 2).sum(axis=2)
        labels = np.argmin(d2, axis=1)
        return labels, np.sqrt(d2[np.arange(len(matrix)), labels])


LLOYD_ROWS = 20_000  # below this many sample rows, full-batch k-means is cheap and better


def kmeans(k: int, seed: int, rows: int) -> KMeans | MiniBatchKMeans:
    """The estimator every fit uses (main fit, k scan, bootstrap): Lloyd's k-means on small
    samples (it found clearly better optima than MiniBatch on 1,500-customer companies),
    MiniBatchKMeans on large ones."""
    if rows <= LLOYD_ROWS:
        return KMeans(n_clusters=k, random_state=seed, n_init=10)
    return MiniBatchKMeans(
        n_clusters=k,
        random_state=seed,
        n_init=3,
        batch_size=4096,
        max_iter=300,
        max_no_improvement=50,
    )


def fit_kmeans(matrix: np.ndarray, k: int, seed: int) -> KMeans | MiniBatchKMeans:
    """k-means on the matrix (deterministic for a seed)."""
    return kmeans(k, seed, len(matrix)).fit(matrix)


def _k_scores(doc: dict[str, Any]) -> KScores:
    stability, se = doc.get("stability"), doc.get("stability_se")
    strength = doc.get("prediction_strength")
    return KScores(
        k=int(doc["k"]),
        silhouette=float(doc["silhouette"]),
        calinski_harabasz=float(doc["calinski_harabasz"]),
        bic=float(doc["bic"]),
        inertia=float(doc["inertia"]),
        stability=float("nan") if stability is None else float(stability),
        stability_se=float("nan") if se is None else float(se),
        prediction_strength=float("nan") if strength is None else float(strength),
    )


def bootstrap_ari(
    matrix: np.ndarray, labels: np.ndarray, k: int, rounds: int, seed: int, first: int = 0
) -> list[float]:
    """ARI of each bootstrap refit's labelling of the sample against `labels`: rounds
    `first` to `rounds - 1` of the seed's sequence (earlier rounds' resamples are drawn and
    skipped, so a longer run extends a shorter one)."""
    rng = np.random.default_rng(seed)
    out: list[float] = []
    for b in range(rounds):
        rows = rng.integers(0, len(matrix), len(matrix))
        if b < first:
            continue
        refit = fit_kmeans(matrix[rows], k, seed + 1 + b)
        out.append(float(adjusted_rand_score(labels, refit.predict(matrix))))
    return out


def refit_stability(aris: list[float]) -> tuple[float, float]:
    """The stability criterion of one k from its refits' ARIs: their median (one refit that
    lands in another local optimum is noise, not instability) and the standard error of
    their mean (the spread); NaN without refits."""
    if not aris:
        return float("nan"), float("nan")
    se = float(np.std(aris, ddof=1) / math.sqrt(len(aris))) if len(aris) > 1 else 0.0
    return float(np.median(aris)), se


def prediction_strength(matrix: np.ndarray, k: int, rounds: int, seed: int) -> list[float]:
    """Prediction strength of k clusters (Tibshirani and Walther 2005), one value per round.

    Each round splits the sample in random halves and clusters both. For each cluster of
    one half, the share of its pairs of members that the other half's centroids put in the
    same cluster; the round's value is the worst cluster, the lower of the two directions.
    A k beyond the real groups cuts one of them where the other half does not, so some
    cluster's pairs are split and the value falls.
    """
    rng = np.random.default_rng(seed)
    half = len(matrix) // 2
    out: list[float] = []
    for r in range(rounds):
        order = rng.permutation(len(matrix))
        a, b = matrix[order[:half]], matrix[order[half:]]
        fit_a = fit_kmeans(a, k, seed + 1 + 2 * r)
        fit_b = fit_kmeans(b, k, seed + 2 + 2 * r)
        out.append(
            min(_strength(fit_a, b, fit_b.labels_, k), _strength(fit_b, a, fit_a.labels_, k))
        )
    return out


def _strength(train: KMeans | MiniBatchKMeans, test: np.ndarray, own: np.ndarray, k: int) -> float:
    """The worst test cluster's share of member pairs that `train` also puts together."""
    given = train.predict(test)
    worst = 1.0
    for j in range(k):
        members = given[own == j]
        n = len(members)
        if n < 2:
            continue
        counts = np.bincount(members, minlength=k).astype(float)
        worst = min(worst, float((counts * (counts - 1)).sum() / (n * (n - 1))))
    return worst


@dataclass
class KFit:
    """One k of the scan: its scores, its k-means fit and the scan's bootstrap ARIs."""

    scores: KScores
    fitted: KMeans | MiniBatchKMeans
    refit_ari: list[float]


def score_k(
    matrix: np.ndarray,
    k: int,
    seed: int,
    silhouette_rows: int,
    scan_rounds: int = 0,
    strength_rounds: int = 0,
) -> KFit:
    """Stability (`scan_rounds` bootstrap refits), prediction strength (`strength_rounds`
    split halves), silhouette, Calinski-Harabasz and GMM BIC of k clusters on the matrix."""
    fitted = fit_kmeans(matrix, k, seed)
    labels = fitted.labels_
    if len(set(labels.tolist())) < 2:
        return KFit(
            KScores(k, -1.0, 0.0, float("inf"), float(fitted.inertia_), 0.0, 0.0), fitted, []
        )
    aris = bootstrap_ari(matrix, labels, k, scan_rounds, seed)
    stability, se = refit_stability(aris)
    rows = min(silhouette_rows, len(matrix))
    silhouette = float(
        silhouette_score(matrix, labels, sample_size=rows, random_state=seed)
        if rows < len(matrix)
        else silhouette_score(matrix, labels)
    )
    ch = float(calinski_harabasz_score(matrix, labels))
    part = matrix
    if len(matrix) > BIC_ROWS:
        picked = np.random.default_rng(seed).choice(len(matrix), BIC_ROWS, replace=False)
        part = matrix[np.sort(picked)]
    gmm = GaussianMixture(
        k, covariance_type="full", reg_covar=REG_COVAR, random_state=seed, n_init=2
    ).fit(part)
    bic = float(gmm.bic(part))
    scores = KScores(k, silhouette, ch, bic, float(fitted.inertia_), stability, se)
    if strength_rounds:
        # median: now and then a half lands in another local optimum (as with stability)
        scores.prediction_strength = float(
            np.median(prediction_strength(matrix, k, strength_rounds, seed))
        )
    return KFit(scores, fitted, aris)


def choose_k(
    scores: list[KScores],
    rule: str = "stability",
    tolerance: float = STABILITY_TOLERANCE,
    threshold: float = STRENGTH_THRESHOLD,
) -> tuple[int, str, dict[str, int]]:
    """The chosen k, the rule that chose it (`rule`, or BIC without stability scores) and
    each criterion's vote (see the module docstring)."""
    votes = {
        "silhouette": max(scores, key=lambda s: (s.silhouette, -s.k)).k,
        "calinski_harabasz": max(scores, key=lambda s: (s.calinski_harabasz, -s.k)).k,
        "bic": min(scores, key=lambda s: (s.bic, s.k)).k,
    }
    measured = [s for s in scores if not math.isnan(s.stability)]
    if measured:
        best = max(s.stability for s in measured)
        stable = [s for s in measured if s.stability >= best - tolerance]
        votes["stability"] = max(s.k for s in stable)  # the finest partition as stable
    strong = [s for s in scores if not math.isnan(s.prediction_strength)]
    if strong:
        above = [s.k for s in strong if s.prediction_strength >= threshold]
        best = max(strong, key=lambda s: (s.prediction_strength, -s.k)).k
        votes["prediction_strength"] = max(above) if above else best
    if rule not in votes:
        rule = "bic"
    return votes[rule], rule, votes


def fit_cluster_model(
    matrix: np.ndarray,
    features: list[FittedFeature],
    *,
    k_min: int,
    k_max: int,
    seed: int,
    clip: float,
    silhouette_rows: int = 4000,
    population: str = "buyers",
    k_rule: str = "stability",
    scan_rounds: int = 0,
    stability_tolerance: float = STABILITY_TOLERANCE,
    strength_rounds: int = 0,
    strength_threshold: float = STRENGTH_THRESHOLD,
    bootstrap_rounds: int = 0,
) -> tuple[ClusterModel, np.ndarray]:
    """Scan k, keep the chosen k's fit; the model and the sample's labels.

    `bootstrap_rounds` refits of the chosen k give `model.stability_ari`; the scan's refits
    of that k are its first rounds (same resamples), so only the rest are fitted.
    """
    rows = len(matrix)
    if rows < max(3 * k_max, 30):
        raise TooFewCustomersError(
            f"clustering needs at least {max(3 * k_max, 30)} customers in the sample for "
            f"k up to {k_max}; got {rows}. Lower clustering.k_max or add customers"
        )
    if matrix.shape[1] == 0 or not np.isfinite(matrix).all():
        raise ClusteringError("clustering feature matrix is empty or has non-finite values")
    rounds = scan_rounds if k_rule == "stability" else 0
    splits = strength_rounds if k_rule == "prediction_strength" else 0
    scan = {
        k: score_k(matrix, k, seed, silhouette_rows, rounds, splits)
        for k in range(k_min, k_max + 1)
    }
    scores = [fit.scores for fit in scan.values()]
    k, chosen_by, votes = choose_k(scores, k_rule, stability_tolerance, strength_threshold)
    chosen = scan[k]
    model = ClusterModel(
        features=features,
        centroids=np.asarray(chosen.fitted.cluster_centers_, dtype=float),
        clip=clip,
        k=k,
        chosen_by=chosen_by,
        votes=votes,
        scores=scores,
        sample_rows=rows,
        population=population,
    )
    model.centroids, labels = _ordered(model.centroids, matrix)
    if bootstrap_rounds:
        done = chosen.refit_ari[:bootstrap_rounds]
        model.stability_ari = done + bootstrap_ari(
            matrix, labels, k, bootstrap_rounds, seed, first=len(done)
        )
    return model, labels


def _ordered(centroids: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centroids renumbered by size on the sample (0 = largest; ties by position)."""
    d2 = ((matrix[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    labels = np.argmin(d2, axis=1)
    sizes = np.bincount(labels, minlength=len(centroids))
    order = sorted(range(len(centroids)), key=lambda c: (-sizes[c], c))
    remap = np.empty(len(centroids), dtype=int)
    remap[order] = np.arange(len(centroids))
    return centroids[order], remap[labels]
