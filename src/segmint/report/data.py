"""The report's input: small summary tables computed in the warehouse, plus the run manifest.

The pipeline fills a :class:`ReportData`; the renderer never touches an engine. Tables may be
empty (with or without columns) and the report then says "no data" in that place; a table
with rows must carry the columns listed in :data:`REQUIRED_COLUMNS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from segmint.errors import SegmintError
from segmint.report.i18n import LANGS

LAYER_AVERAGES: tuple[str, ...] = (
    "avg_frequency",
    "avg_aov",
    "avg_recency_days",
    "avg_online_share",
    "avg_discount_share",
    "avg_categories",
    "avg_interaction_trend",
)
"""The per-layer profile: mean of each trait, named ``avg_<trait>``."""
NO_PURCHASE = "_no_purchase"
"""The ``value_layer`` key of customers without a paid order (no layer)."""
UNASSIGNED = "_unassigned"
"""The ``value_layer`` key of buyers no layer definition caught."""
LAYER_MIX_DIMENSIONS: tuple[str, ...] = ("city_tier", "age_band")
"""Traits whose most common values describe each layer (``layer_mix.dimension``)."""

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "quality_sources": (
        "source",
        "entity",
        "rows_read",
        "rows_loaded",
        "rows_quarantined",
        "duplicate_rows",
        "key_conflicts",
        "orphans",
        "newest_record",
        "freshness_hours",
        "freshness_passed",
        "passed",
    ),
    "quality_fields": (
        "source",
        "entity",
        "field",
        "completeness",
        "validity",
        "duplicate_pct",
        "completeness_passed",
        "validity_passed",
    ),
    "quarantine_top": ("source", "rule", "rows", "message", "example_line", "example_raw"),
    "segments": (
        "segment",
        "customers",
        "revenue",
        "customer_share",
        "revenue_share",
        "avg_recency_days",
        "avg_frequency",
        "avg_monetary",
    ),
    "rfm_grid": ("r_score", "f_score", "customers", "avg_monetary"),
    "identity_sources": ("source", "records", "resolved", "cross_source", "customers"),
    "identity_overlap": ("source_a", "source_b", "customers"),
    "identity_sizes": ("bucket", "customers", "records"),
    "identity_spread": ("sources", "customers"),
    "identity_hubs": ("id_type", "id_value", "reason", "partners", "member_ids", "records"),
    "identity_evaluation": ("scope", "precision", "recall", "f1"),
    "tag_catalog": (
        "tag",
        "type",
        "owner",
        "sensitivity",
        "refresh",
        "rule",
        "customers",
        "coverage",
        "gained",
        "lost",
    ),
    "tag_layers": ("tag", "value_layer", "customers"),
    "layers": (
        "value_layer",
        "label",
        "label_zh",
        "customers",
        "buyer_share",
        "revenue",
        "revenue_share",
        *LAYER_AVERAGES,
    ),
    "layer_mix": ("value_layer", "dimension", "value", "customers"),
    "rfm_layers": ("segment", "value_layer", "customers"),
    "prediction_bands": ("score", "band", "customers", "predicted_clv"),
    "model_cards": ("target", "version", "kind", "card"),
    "model_metrics": ("target", "version", "window", "scorer", "metric", "value"),
    "model_calibration": (
        "target",
        "version",
        "scorer",
        "mean_predicted",
        "observed_rate",
        "customers",
    ),
    "model_importance": ("target", "version", "feature", "mean_abs_shap"),
}
"""Columns each non-empty table must have."""

SEGMENT_TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "cluster_model": ("k", "chosen_by", "k_scores", "stability_ari_mean", "stability_ari_std"),
    "segment_personas": (
        "cluster",
        "name_en",
        "name_zh",
        "priority",
        "size",
        "share",
        "revenue_share",
        "traits",
    ),
    "segment_definitions": ("segment", "rule", "count"),
    "segment_overlap": ("segment_a", "segment_b", "both", "jaccard"),
    "segment_migration": ("from_run", "to_run", "from_segment", "to_segment", "customers"),
    "segment_validation": ("segment", "size", "share", "revenue_share", "kept"),
}
"""Columns the segment tables must have when given (None: the run built no such table).
Nested fields (``k_scores``, ``traits``, ``channels`` …) are JSON text or already parsed."""

HISTOGRAM_KEYS: tuple[str, ...] = ("recency_days", "frequency", "monetary")
HISTOGRAM_COLUMNS: tuple[str, ...] = ("bin_start", "bin_end", "customers")
SIZE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("1", 1, 1),
    ("2–5", 2, 5),
    ("6–20", 6, 20),
    ("21–100", 21, 100),
    ("101–1,000", 101, 1000),
    (">1,000", 1001, None),
)
"""Customers by number of records: (label, lowest, highest or None for no limit)."""
TOP_HUBS = 20
"""How many blocked hubs the report lists."""
BAND_SCORES: tuple[str, ...] = ("clv_tier", "repurchase_band", "churn_risk")
"""The band columns of ``customer_predictions`` the report counts buyers in."""
TOP_FEATURES = 10
"""How many features (by mean |SHAP|) each model's importance chart shows."""


class ReportDataError(SegmintError, ValueError):
    """The report's input tables do not have the shape the report needs."""


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame()


@dataclass(frozen=True)
class ReportData:
    """Everything the HTML report shows, already aggregated.

    Attributes:
        project_name: Shown as the report's heading.
        run: Run manifest: ``run_id``, ``status``, ``as_of``, ``started_at``, ``finished_at``,
            ``config_hash``, ``engine``, ``stages`` (list of ``{stage, seconds, rows}``) and
            ``sources`` (list of ``{source, entity, rows_read, rows_loaded,
            rows_quarantined}``).
        quality_sources: One row per source/entity with row counts and freshness checks.
        quality_fields: One row per source/entity/field with completeness and validity (0–1).
        quarantine_top: The most frequent quarantine rules with one example row each.
        thresholds: ``completeness_min``, ``validity_min`` (0–1), ``freshness_max_hours``.
        identity: Headline numbers of the identity stage: ``records``, ``customers``,
            ``unresolved`` (records with no customer), ``hubs_blocked``, ``hub_reasons``
            (reason → hubs), ``components_split``, ``split_cut`` (identifier types cut,
            comma-separated), ``merges`` and ``splits`` (id changes this run), and
            ``probabilistic_links`` / ``review_pairs`` (only when probabilistic matching ran),
            and ``project_file`` (named in the hint on how to evaluate against ground truth).
        identity_sources: One row per source: ``records``, ``resolved`` (records with a
            customer), ``cross_source`` (records whose customer is also in another source)
            and ``customers``.
        identity_overlap: One row per (``source_a``, ``source_b``) with the ``customers``
            found in both (``source_a == source_b``: the source's customers).
        identity_sizes: Customers and their records per size bucket (``bucket`` labels as in
            :data:`SIZE_BUCKETS`).
        identity_spread: Customers by the number of ``sources`` they appear in.
        identity_hubs: The largest blocked hubs; values are masked when rendered.
        identity_evaluation: Pairwise accuracy of this run against ground truth, one row per
            ``scope`` (``overall`` or a source) with ``precision``, ``recall``, ``f1`` and
            optionally ``records``, ``true_pairs``, ``predicted_pairs``, ``correct_pairs``,
            ``truth_file``, ``evaluated_at``. Empty when nobody evaluated this run.
        rfm_summary: ``customers``, ``revenue``, ``median_recency_days``,
            ``median_frequency``, ``median_monetary``.
        rfm_histograms: ``recency_days``, ``frequency``, ``monetary`` → table of
            ``bin_start``, ``bin_end``, ``customers``.
        segments: One row per RFM segment with sizes, shares and averages.
        rfm_grid: One row per (``r_score``, ``f_score``) with ``customers`` and
            ``avg_monetary``.
        rfm_layers: Customers per (RFM ``segment``, ``value_layer``), from ``profiles``.
        layers: One row per value layer in definition order, then :data:`UNASSIGNED` and
            :data:`NO_PURCHASE` when they have customers: ``label`` / ``label_zh`` (from the
            project's layer definitions), ``customers``, ``buyer_share`` (of customers with
            a paid order; missing for :data:`NO_PURCHASE`), ``revenue`` (sum of monetary),
            ``revenue_share`` and the layer's profile :data:`LAYER_AVERAGES`.
        layer_mix: Customers per (``value_layer``, ``dimension``, ``value``) for each trait
            in :data:`LAYER_MIX_DIMENSIONS` the role may see (``value`` as text).
        tag_catalog: One row per tag the role may see, as in the ``tag_catalog`` table:
            ``tag``, ``type``, ``description``, ``label_zh``, ``owner``, ``sensitivity``,
            ``refresh``, ``rule``, ``customers``, ``coverage`` (0–1), ``gained``, ``lost``.
        tag_layers: Members per (``tag``, ``value_layer``) for the tags in ``tag_catalog``.
        tag_summary: ``profiles`` (customers profiled), ``tagged_customers`` (holding at least
            one visible tag) and ``memberships`` (customer–tag pairs).
        predictions: Headline figures of ``customer_predictions``: ``buyers`` (rows),
            ``clv_scored`` / ``repurchase_scored`` / ``churn_scored`` (buyers with a non-NULL
            predicted CLV / repurchase / churn probability), ``predicted_clv`` (sum) and
            ``run_id`` (the run that scored them). Empty when the table is missing or hidden.
        prediction_bands: Buyers per band of each column in :data:`BAND_SCORES`: ``score``
            (the column), ``band`` (its value; NULL bands are left out), ``customers`` and
            ``predicted_clv`` (their summed predicted CLV).
        prediction_settings: The project's ``predict`` settings the section needs: ``enabled``
            and, under ``clv`` / ``repurchase`` / ``churn``, ``horizon_days`` and the band
            ``labels`` (lowest first) with their cut points ``bands`` (CLV: ``tier_labels``
            and quantile cut points ``tiers``); ``enabled`` per machine-learned target.
        model_cards: One row per model the run used, as in the ``model_cards`` table:
            ``target``, ``version``, ``kind``, ``run_id``, ``trained_run_id`` and ``card``
            (the card as JSON text).
        model_metrics: The models' held-out metrics in long form: ``target``, ``version``,
            ``window``, ``scorer`` (``model`` or a baseline), ``metric`` and ``value``.
        model_calibration: Calibration curves of the test window: ``target``, ``version``,
            ``scorer``, ``bin``, ``mean_predicted``, ``observed_rate`` and ``customers``.
        model_importance: Each model's top :data:`TOP_FEATURES` features by ``mean_abs_shap``
            (``target``, ``version``, ``rank``, ``feature``, ``gain``, ``mean_abs_shap``).
        cluster_model: The clustering run, one row: ``k``, ``chosen_by``, ``k_scores`` (JSON
            list of ``{k, silhouette, calinski_harabasz, bic}``), ``stability_ari_mean``,
            ``stability_ari_std``, ``persona_ari`` / ``persona_nmi`` (NULL unless planted
            personas were known), ``features`` (JSON list) and ``feature_set``. None when
            the run did no clustering.
        segment_personas: One row per cluster: ``cluster``, ``name_en``, ``name_zh``,
            ``priority`` (``high_value``, ``high_potential``, ``maintain``, ``win_back``),
            ``size``, ``share``, ``revenue_share``, ``clv_share``, and JSON ``traits`` (list
            of ``{trait, label_en, label_zh, effect_size, segment_value, base_value}``),
            ``channels`` / ``needs`` (lists of ``{channel|need, share}``), ``active_hours``
            (24 shares), ``price_sensitivity`` and ``representative`` (a masked member).
        segment_definitions: Rule segments: ``segment``, ``rule``, ``description``,
            ``description_zh`` and the live ``count``.
        segment_overlap: Pairs of rule segments: ``segment_a``, ``segment_b``, ``both``
            (members of both) and ``jaccard``.
        segment_migration: Members moving between two runs: ``from_run``, ``to_run``,
            ``from_segment``, ``to_segment`` (``none``: not in any segment) and
            ``customers``.
        segment_validation: One row per segment: ``segment``, ``size``, ``share``,
            ``revenue_share``, ``separation``, ``stability``, ``flags`` (JSON list),
            ``recommendation`` and ``kept``.
        segment_validation_summary: ``kept_revenue_share``, ``threshold`` and ``passed``.
        role: The access role the report was built as ("" when not known).
        hidden_tables: Tables the role may not read; their sections say so.
        lang: ``"en"`` or ``"zh"``.
    """

    project_name: str
    run: dict[str, Any] = field(default_factory=dict)
    quality_sources: pd.DataFrame = field(default_factory=_empty_frame)
    quality_fields: pd.DataFrame = field(default_factory=_empty_frame)
    quarantine_top: pd.DataFrame = field(default_factory=_empty_frame)
    thresholds: dict[str, float] = field(default_factory=dict)
    identity: dict[str, Any] = field(default_factory=dict)
    rfm_summary: dict[str, float] = field(default_factory=dict)
    rfm_histograms: dict[str, pd.DataFrame] = field(default_factory=dict)
    segments: pd.DataFrame = field(default_factory=_empty_frame)
    rfm_grid: pd.DataFrame = field(default_factory=_empty_frame)
    identity_sources: pd.DataFrame = field(default_factory=_empty_frame)
    identity_overlap: pd.DataFrame = field(default_factory=_empty_frame)
    identity_sizes: pd.DataFrame = field(default_factory=_empty_frame)
    identity_spread: pd.DataFrame = field(default_factory=_empty_frame)
    identity_hubs: pd.DataFrame = field(default_factory=_empty_frame)
    identity_evaluation: pd.DataFrame = field(default_factory=_empty_frame)
    rfm_layers: pd.DataFrame = field(default_factory=_empty_frame)
    layers: pd.DataFrame = field(default_factory=_empty_frame)
    layer_mix: pd.DataFrame = field(default_factory=_empty_frame)
    tag_catalog: pd.DataFrame = field(default_factory=_empty_frame)
    tag_layers: pd.DataFrame = field(default_factory=_empty_frame)
    tag_summary: dict[str, float] = field(default_factory=dict)
    predictions: dict[str, Any] = field(default_factory=dict)
    prediction_bands: pd.DataFrame = field(default_factory=_empty_frame)
    prediction_settings: dict[str, Any] = field(default_factory=dict)
    model_cards: pd.DataFrame = field(default_factory=_empty_frame)
    model_metrics: pd.DataFrame = field(default_factory=_empty_frame)
    model_calibration: pd.DataFrame = field(default_factory=_empty_frame)
    model_importance: pd.DataFrame = field(default_factory=_empty_frame)
    cluster_model: pd.DataFrame | None = None
    segment_personas: pd.DataFrame | None = None
    segment_definitions: pd.DataFrame | None = None
    segment_overlap: pd.DataFrame | None = None
    segment_migration: pd.DataFrame | None = None
    segment_validation: pd.DataFrame | None = None
    segment_validation_summary: dict[str, Any] | None = None
    role: str = ""
    hidden_tables: tuple[str, ...] = ()
    lang: Literal["en", "zh"] = "en"

    def __post_init__(self) -> None:
        """Check every table's shape at once and raise one error naming each problem."""
        problems: list[str] = []
        if self.lang not in LANGS:
            problems.append(f"lang must be one of {', '.join(LANGS)}; got {self.lang!r}")
        for name, required in REQUIRED_COLUMNS.items():
            problems.extend(_missing_columns(name, getattr(self, name), required))
        for name, required in SEGMENT_TABLE_COLUMNS.items():
            if getattr(self, name) is not None:
                problems.extend(_missing_columns(name, getattr(self, name), required))
        for key, table in self.rfm_histograms.items():
            problems.extend(_missing_columns(f"rfm_histograms[{key!r}]", table, HISTOGRAM_COLUMNS))
        if problems:
            raise ReportDataError(
                "ReportData is not usable: "
                + "; ".join(problems)
                + ". Fill the tables as documented in segmint.report.data.ReportData."
            )


def _missing_columns(name: str, table: object, required: tuple[str, ...]) -> list[str]:
    if not isinstance(table, pd.DataFrame):
        return [f"{name} must be a pandas DataFrame, got {type(table).__name__}"]
    if len(table) == 0:  # an empty table is shown as "no data", whatever its columns
        return []
    missing = [column for column in required if column not in table.columns]
    if not missing:
        return []
    return [f"required column {column!r} missing from {name}" for column in missing]
