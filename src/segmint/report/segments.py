"""The report's segment sections: clusters with persona cards, rule segments and their
overlap, migration between runs, and segment validation.

Two kinds of function live here. The ``load_*`` functions take the published segment tables
as pandas frames (as the pipeline reads them) and return the matching :class:`ReportData`
fields, so connecting a warehouse is one call per section::

    ReportData(..., **load_clusters(cluster_model, segment_personas),
               **load_rule_segments(segment_definitions, segment_overlap),
               **load_migration(segment_migration),
               **load_validation(segment_validation, summary))

The ``*_section`` functions turn those fields into what the template shows (cells, tables,
inline SVG charts), like the other section modules.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from segmint.report import charts
from segmint.report.cells import (
    COLOR_CUSTOMERS,
    COLOR_REVENUE,
    FULL_WIDTH,
    HALF_WIDTH,
    THIRD_WIDTH,
    Cell,
    Column,
    Kpi,
    Table,
    frame_rows,
    num_cell,
    pct_tick,
    ratio,
)
from segmint.report.data import ReportData
from segmint.report.fmt import (
    MISSING,
    as_float,
    clean_label,
    fmt_int,
    fmt_num,
    fmt_pct,
    truncate,
)
from segmint.report.i18n import segment_label, t

Translate = Callable[..., str]
NONE_SEGMENT = "none"
"""``from_segment`` / ``to_segment`` of customers outside every segment in that run."""
PRIORITY_TONES: dict[str, str] = {
    "high_value": "pass",
    "high_potential": "info",
    "maintain": "neutral",
    "win_back": "warn",
}
RADAR_TRAITS = 8
"""How many traits (largest |effect size| first) a persona's radar shows."""
EFFECT_TRAITS = 10
"""How many traits a persona's effect-size bar chart shows."""
TOP_MOVES = 10
"""How many migrations (largest first) the migration table lists."""
HIGH_OVERLAP = 0.5
"""Pairs of rule segments sharing at least this Jaccard index are called out."""
RULE_UNITS = 48
KPI_NAME_UNITS = 28
"""Longer persona names are cut in the headline card (the full name is its tooltip)."""
REPRESENTATIVE_FIELDS = 8
COLOR_CLV = "#27ae60"
COLOR_POSITIVE = "#2f6fdf"
COLOR_NEGATIVE = "#f2994a"
COLOR_KEPT = "#27ae60"
COLOR_DROPPED = "#a0aec0"


# ---------------------------------------------------------------------------------------------
# Loaders: published tables → ReportData fields
# ---------------------------------------------------------------------------------------------


def _given(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    """A published table, or None when it was not built (missing or empty with no columns)."""
    if frame is None or (len(frame) == 0 and len(frame.columns) == 0):
        return None
    return frame.reset_index(drop=True)


def load_clusters(
    cluster_model: pd.DataFrame | None, segment_personas: pd.DataFrame | None
) -> dict[str, pd.DataFrame | None]:
    """The cluster section's :class:`ReportData` fields from ``cluster_model`` (one row) and
    ``segment_personas`` (one row per cluster); both None when the run built neither."""
    personas = _given(segment_personas)
    if personas is not None and "persona_en" in personas.columns:
        personas = persona_rows(personas)
    model = _given(cluster_model)
    if model is not None and "features" in model.columns:
        # the fitted features are published with their scaling; the report names columns
        model = model.assign(
            features=[
                [f.get("column", f) if isinstance(f, dict) else f for f in parsed(v, [])]
                for v in model["features"]
            ]
        )
    return {"cluster_model": model, "segment_personas": personas}


#: Chinese labels of the traits persona cards compare (English labels are the trait names).
TRAIT_LABELS_ZH: dict[str, str] = {
    "monetary_365d": "近一年消费额",
    "monetary": "累计消费额",
    "aov": "客单价",
    "frequency": "购买次数",
    "recency_days": "距上次购买天数",
    "tenure_days": "会员时长(天)",
    "discount_share": "折扣订单占比",
    "online_share": "线上订单占比",
    "campaign_response_rate": "营销响应率",
    "campaign_touches": "营销触达次数",
    "service_contacts": "客服接触次数",
    "satisfaction_mean": "平均满意度",
    "nps_latest": "最近NPS",
    "age": "年龄",
    "brands": "购买品牌数",
    "active_hour": "活跃时段",
    "top_category_share": "首选品类占比",
    "company_size": "企业规模",
    "interpurchase_days_mean": "平均购买间隔(天)",
    "price_index": "价位指数",
    "miniprogram_share": "小程序订单占比",
    "offline_share": "门店订单占比",
    "deal_event_share": "领券/促销互动占比",
    "research_share": "购前浏览订单占比",
}
#: Needs shown as bars (values that are shares of 0..1).
SHARE_NEEDS: tuple[str, ...] = (
    "discount_share",
    "deal_event_share",
    "research_share",
    "campaign_response_rate",
)


def persona_rows(personas: pd.DataFrame) -> pd.DataFrame:
    """``segment_personas`` as published by the clustering (persona_en, customers, effects,
    lifts, needs as a mapping, active hours) in the report's card shape (name_en, size,
    traits, needs as shares, 24 hourly shares, price_sensitivity)."""
    rows = []
    for row in frame_rows(personas):
        effects = _dicts(row.get("effects"))
        hours = [0.0] * 24
        for item in _dicts(row.get("active_hours")):
            hour = int(float(item.get("hour", 0)))
            if 0 <= hour < 24:
                hours[hour] = as_float(item.get("share")) or 0.0
        needs = parsed(row.get("needs"), {})
        member = parsed(row.get("representative"), {})
        if isinstance(member, dict) and isinstance(member.get("distance"), float):
            member = {**member, "distance": round(member["distance"], 3)}
        need_map = needs if isinstance(needs, dict) else {}
        rows.append(
            {
                **row,
                "name_en": row.get("persona_en"),
                "name_zh": row.get("persona_zh"),
                "size": row.get("customers"),
                "traits": [
                    {
                        "trait": e.get("trait"),
                        "label_en": e.get("trait"),
                        "label_zh": TRAIT_LABELS_ZH.get(str(e.get("trait")), e.get("trait")),
                        "effect_size": e.get("effect_size", e.get("d")),
                        "segment_value": e.get("raw_mean", e.get("mean")),
                        "base_value": e.get("raw_base_mean", e.get("base_mean")),
                    }
                    for e in effects
                ],
                "active_hours": hours,
                "needs": [
                    {"need": k, "share": need_map[k]}
                    for k in SHARE_NEEDS
                    if as_float(need_map.get(k)) is not None
                ],
                "price_sensitivity": as_float(need_map.get("discount_share")),
                "representative": member,
            }
        )
    return pd.DataFrame(rows)


def load_rule_segments(
    segment_definitions: pd.DataFrame | None, segment_overlap: pd.DataFrame | None
) -> dict[str, pd.DataFrame | None]:
    """The rule-segment section's fields from ``segment_definitions`` and ``segment_overlap``."""
    return {
        "segment_definitions": _given(segment_definitions),
        "segment_overlap": _given(segment_overlap),
    }


def load_migration(segment_migration: pd.DataFrame | None) -> dict[str, pd.DataFrame | None]:
    """The migration section's field from ``segment_migration``."""
    return {"segment_migration": _given(segment_migration)}


def load_validation(
    segment_validation: pd.DataFrame | None,
    summary: Mapping[str, Any] | pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The validation section's fields from ``segment_validation`` and its summary.

    ``summary`` (``kept_revenue_share``, ``threshold``, ``passed``) may be a mapping or a
    one-row frame; without one the kept revenue share is summed from the kept rows and the
    threshold and verdict are left unknown.
    """
    table = _given(segment_validation)
    if isinstance(summary, pd.DataFrame):
        summary = frame_rows(summary)[0] if len(summary) else None
    found: dict[str, Any] = dict(summary) if summary else {}
    if table is not None and "kept_revenue_share" not in found and len(table):
        kept = table[table["kept"].fillna(False).astype(bool)]
        found["kept_revenue_share"] = float(pd.to_numeric(kept["revenue_share"]).sum())
    return {
        "segment_validation": table,
        "segment_validation_summary": found if table is not None or found else None,
    }


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def parsed(value: Any, default: Any) -> Any:
    """A nested field as published: JSON text is parsed, lists and dicts pass through, and
    anything missing or unreadable becomes ``default``."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list | dict):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return json.loads(value)
        except ValueError:
            return default
    return default


def _dicts(value: Any) -> list[dict[str, Any]]:
    found = parsed(value, [])
    return (
        [dict(item) for item in found if isinstance(item, dict)] if isinstance(found, list) else []
    )


def _flag(value: Any) -> bool | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return bool(value)


def persona_name(row: Mapping[str, Any], lang: str) -> str:
    """A persona's name in the report's language (the other language, then the cluster
    number, when it has none)."""
    order = ("name_zh", "name_en") if lang == "zh" else ("name_en", "name_zh")
    for key in order:
        value = row.get(key)
        if isinstance(value, str) and value.strip():
            return clean_label(value)
    return f"#{clean_label(row.get('cluster'))}"


def trait_label(trait: Mapping[str, Any], lang: str) -> str:
    """A trait's display name: ``label_zh`` / ``label_en`` for the language, else its key."""
    for key in ("label_zh", "label_en") if lang == "zh" else ("label_en",):
        value = trait.get(key)
        if isinstance(value, str) and value.strip():
            return clean_label(value)
    return clean_label(trait.get("trait"))


def _fmt_value(value: Any) -> str:
    number = as_float(value)
    if number is not None:
        return fmt_num(number, 2 if abs(number) < 10 else 1)
    return clean_label(value) if value is not None else MISSING


def _effect(value: Any) -> str:
    number = as_float(value)
    return MISSING if number is None else f"{number:+.2f}"


def _share_bars(items: list[dict[str, Any]], key: str, lang: str) -> list[dict[str, Any]]:
    """``{label, pct, width}`` per channel or need, largest share first."""
    rows = [(clean_label(item.get(key)), as_float(item.get("share"))) for item in items]
    rows.sort(key=lambda r: -(r[1] or 0.0))
    return [
        {
            "label": t(f"{key}.{label}", lang, default=label),
            "pct": fmt_pct(share),
            "width": f"{min(max(share or 0.0, 0.0), 1.0) * 100:.1f}",
        }
        for label, share in rows
    ]


def _segment_name(name: Any, lang: str) -> str:
    label = clean_label(name)
    return segment_label(label, lang)


# ---------------------------------------------------------------------------------------------
# Clusters and persona cards
# ---------------------------------------------------------------------------------------------


def clusters_section(data: ReportData, tr: Translate) -> dict[str, Any]:
    """Everything the template's cluster section shows: headline cards, the k-selection
    table, cluster sizes against revenue, and one persona card per cluster."""
    if data.cluster_model is None and data.segment_personas is None:
        return {"missing": True}
    lang = data.lang
    model_rows = frame_rows(data.cluster_model) if data.cluster_model is not None else []
    model = model_rows[0] if model_rows else {}
    personas = frame_rows(data.segment_personas) if data.segment_personas is not None else []
    personas.sort(key=lambda r: -(as_float(r.get("revenue_share")) or 0.0))
    names = [persona_name(row, lang) for row in personas]
    features = parsed(model.get("features"), [])
    return {
        "missing": False,
        "kpis": _cluster_kpis(model, personas, names, lang, tr),
        "feature_note": tr(
            "cluster_features",
            feature_set=clean_label(model.get("feature_set") or MISSING),
            features=", ".join(clean_label(f) for f in features) if features else MISSING,
        ),
        "k_table": _k_table(model, tr),
        "size_chart": Markup(_size_chart(personas, names, tr)),
        "cards": [
            _persona_card(row, name, lang, tr) for row, name in zip(personas, names, strict=True)
        ],
    }


def _cluster_kpis(
    model: dict[str, Any],
    personas: list[dict[str, Any]],
    names: list[str],
    lang: str,
    tr: Translate,
) -> list[Kpi]:
    k = as_float(model.get("k"))
    mean, std = as_float(model.get("stability_ari_mean")), as_float(model.get("stability_ari_std"))
    ari, nmi = as_float(model.get("persona_ari")), as_float(model.get("persona_nmi"))
    chosen_by = clean_label(model.get("chosen_by") or MISSING)
    kpis = [
        Kpi(
            tr("clusters"),
            fmt_int(k) if k is not None else fmt_int(len(personas) or None),
            tr("chosen_by", method=t(f"k_method.{chosen_by}", lang, default=chosen_by))
            if model
            else "",
        ),
        Kpi(
            tr("stability"),
            MISSING if mean is None else f"{mean:.2f} ± {fmt_num(std, 2)}",
            tr("stability_note"),
            tone=None if mean is None else ("pass" if mean >= 0.8 else "warn"),
        ),
        Kpi(
            tr("persona_recovery"),
            MISSING if ari is None else f"ARI {ari:.2f}",
            tr("persona_recovery_note", nmi=fmt_num(nmi, 2))
            if ari is not None
            else tr("persona_recovery_none"),
            tone=None if ari is None else ("pass" if ari >= 0.7 else "warn"),
        ),
    ]
    if personas:
        top = personas[0]
        kpis.append(
            Kpi(
                tr("top_persona"),
                truncate(names[0], KPI_NAME_UNITS),
                tr(
                    "kpi_top_segment_note",
                    revenue_share=fmt_pct(top.get("revenue_share")),
                    customer_share=fmt_pct(top.get("share")),
                ),
                title=names[0],
            )
        )
    return kpis


def _k_table(model: dict[str, Any], tr: Translate) -> Table:
    scores = _dicts(model.get("k_scores"))
    chosen = as_float(model.get("k"))
    scores.sort(key=lambda s: as_float(s.get("k")) or 0.0)
    rows = []
    for score in scores:
        k = as_float(score.get("k"))
        picked = k is not None and k == chosen
        rows.append(
            [
                Cell(
                    fmt_int(k) + (f" · {tr('chosen')}" if picked else ""),
                    sort=repr(k or 0.0),
                    tone="pass" if picked else None,
                ),
                num_cell(score.get("prediction_strength"), lambda v: fmt_num(v, 3)),
                num_cell(score.get("stability"), lambda v: fmt_num(v, 3)),
                num_cell(score.get("silhouette"), lambda v: fmt_num(v, 3)),
                num_cell(score.get("calinski_harabasz"), lambda v: fmt_num(v, 1)),
                num_cell(score.get("bic"), lambda v: fmt_num(v, 0)),
            ]
        )
    return Table(
        columns=[
            Column(tr("k")),
            Column(tr("k_strength"), numeric=True, title=tr("k_strength_hint")),
            Column(tr("k_stability"), numeric=True, title=tr("k_stability_hint")),
            Column(tr("silhouette"), numeric=True, title=tr("silhouette_hint")),
            Column(tr("calinski_harabasz"), numeric=True, title=tr("calinski_harabasz_hint")),
            Column(tr("bic"), numeric=True, title=tr("bic_hint")),
        ],
        rows=rows,
        css_class="compact",
    )


def _size_chart(personas: list[dict[str, Any]], names: list[str], tr: Translate) -> str:
    series: list[tuple[str, list[Any]]] = [
        (tr("customer_share"), [row.get("share") for row in personas]),
        (tr("revenue_share"), [row.get("revenue_share") for row in personas]),
    ]
    colors = [COLOR_CUSTOMERS, COLOR_REVENUE]
    if any(as_float(row.get("clv_share")) is not None for row in personas):
        series.append((tr("clv_share"), [row.get("clv_share") for row in personas]))
        colors.append(COLOR_CLV)
    return charts.grouped_bar_chart(
        names,
        series,
        title=tr("cluster_shares"),
        value_label=tr("share"),
        value_format=fmt_pct,
        tick_format=pct_tick,
        colors=colors,
        width=HALF_WIDTH,
        chart_id="chart-cluster-shares",
        empty_text=tr("no_data"),
        show_title=False,
        max_label_units=26,
    )


def _persona_card(row: dict[str, Any], name: str, lang: str, tr: Translate) -> dict[str, Any]:
    cluster = clean_label(row.get("cluster"))
    slug = "".join(ch if ch.isalnum() else "-" for ch in cluster)
    priority = clean_label(row.get("priority") or "")
    traits = _dicts(row.get("traits"))
    traits.sort(key=lambda tr_: -abs(as_float(tr_.get("effect_size")) or 0.0))
    other = persona_name(row, "en" if lang == "zh" else "zh")
    price = as_float(row.get("price_sensitivity"))
    representative = parsed(row.get("representative"), {})
    facts = [
        {
            "label": tr("persona_size"),
            "value": tr(
                "persona_size_value",
                customers=fmt_int(row.get("size")),
                pct=fmt_pct(row.get("share")),
            ),
        },
        {"label": tr("revenue_share"), "value": fmt_pct(row.get("revenue_share"))},
        {"label": tr("clv_share"), "value": fmt_pct(row.get("clv_share"))},
        {
            "label": tr("revenue_index"),
            "value": _index(row.get("revenue_share"), row.get("share")),
        },
    ]
    return {
        "id": f"persona-{slug}",
        "cluster": cluster,
        "name": name,
        "other_name": other if other != name else "",
        "priority": t(f"priority.{priority}", lang, default=priority) if priority else "",
        "priority_tone": PRIORITY_TONES.get(priority, "neutral"),
        "facts": facts,
        "radar": Markup(_radar(traits[:RADAR_TRAITS], slug, lang, tr)),
        "effects": Markup(_effects(traits[:EFFECT_TRAITS], slug, lang, tr)),
        "hours": Markup(_hours(parsed(row.get("active_hours"), []), slug, tr)),
        "channels": _share_bars(_dicts(row.get("channels")), "channel", lang),
        "needs": _share_bars(_dicts(row.get("needs")), "need", lang),
        "price": None
        if price is None
        else {
            "value": fmt_num(price, 2),
            "width": f"{min(max(price, 0.0), 1.0) * 100:.1f}",
            "label": tr(
                "price_high" if price >= 0.6 else ("price_low" if price < 0.35 else "price_mid")
            ),
        },
        "representative": [
            {
                "label": t(f"field.{key}", lang, default=clean_label(key)),
                "value": truncate(clean_label(value), 40),
                "mono": key == "customer_id",
            }
            for key, value in list(representative.items())[:REPRESENTATIVE_FIELDS]
        ]
        if isinstance(representative, dict)
        else [],
    }


def _index(share_of_revenue: Any, share_of_customers: Any) -> str:
    value = ratio(share_of_revenue, share_of_customers)
    return MISSING if value is None else f"{value:.2f}×"


def _radar(traits: list[dict[str, Any]], slug: str, lang: str, tr: Translate) -> str:
    labels = [trait_label(trait, lang) for trait in traits]
    effects = [trait.get("effect_size") for trait in traits]
    tips = [
        tr(
            "trait_tip",
            trait=label,
            segment=_fmt_value(trait.get("segment_value")),
            base=_fmt_value(trait.get("base_value")),
            effect=_effect(trait.get("effect_size")),
        )
        for label, trait in zip(labels, traits, strict=True)
    ]
    return charts.radar_chart(
        labels,
        [(tr("this_segment"), effects), (tr("whole_base"), [0.0] * len(labels))],
        title=tr("trait_profile"),
        value_format=lambda v: fmt_num(v, 1),
        colors=[COLOR_POSITIVE, "#94a3b8"],
        tooltips=[tips, [tr("base_tip", trait=label) for label in labels]],
        width=HALF_WIDTH,
        height=330,
        chart_id=f"chart-radar-{slug}",
        empty_text=tr("no_data"),
        show_title=False,
        max_label_units=20,
    )


def _effects(traits: list[dict[str, Any]], slug: str, lang: str, tr: Translate) -> str:
    labels = [trait_label(trait, lang) for trait in traits]
    effects = [as_float(trait.get("effect_size")) for trait in traits]
    return charts.bar_chart(
        labels,
        effects,
        title=tr("effect_sizes"),
        value_label=tr("effect_size"),
        value_format=_effect,
        tick_format=lambda v: fmt_num(v, 1),
        colors=[COLOR_NEGATIVE if (e or 0.0) < 0 else COLOR_POSITIVE for e in effects],
        tooltips=[
            tr(
                "trait_tip",
                trait=label,
                segment=_fmt_value(trait.get("segment_value")),
                base=_fmt_value(trait.get("base_value")),
                effect=_effect(trait.get("effect_size")),
            )
            for label, trait in zip(labels, traits, strict=True)
        ],
        width=HALF_WIDTH,
        chart_id=f"chart-effects-{slug}",
        empty_text=tr("no_data"),
        show_title=False,
        max_label_units=22,
    )


def _hours(hours: Any, slug: str, tr: Translate) -> str:
    values = [as_float(v) for v in hours] if isinstance(hours, list) else []
    if len(values) != 24:
        values = []
    return charts.histogram(
        list(range(len(values))),
        list(range(1, len(values) + 1)),
        values,
        title=tr("active_hours"),
        value_format=lambda v: fmt_pct(v, 0),
        edge_format=lambda v: fmt_int(v),
        width=THIRD_WIDTH,
        height=170,
        chart_id=f"chart-hours-{slug}",
        empty_text=tr("no_data"),
        show_title=False,
        label_top=3,
    )


# ---------------------------------------------------------------------------------------------
# Rule segments and their overlap
# ---------------------------------------------------------------------------------------------


def rule_segments_section(data: ReportData, tr: Translate) -> dict[str, Any]:
    """The rule segments with live counts, a bar chart of their sizes, the Jaccard overlap
    heatmap and the pairs that overlap most."""
    if data.segment_definitions is None and data.segment_overlap is None:
        return {"missing": True}
    lang = data.lang
    definitions = (
        frame_rows(data.segment_definitions) if data.segment_definitions is not None else []
    )
    overlap = frame_rows(data.segment_overlap) if data.segment_overlap is not None else []
    order = [clean_label(row.get("segment")) for row in definitions]
    for row in overlap:
        for key in ("segment_a", "segment_b"):
            name = clean_label(row.get(key))
            if name not in order:
                order.append(name)
    counts = {clean_label(row.get("segment")): row.get("count") for row in definitions}
    rows = []
    for row in definitions:
        rule = clean_label(row.get("rule"))
        description = row.get("description_zh") if lang == "zh" else None
        description = description or row.get("description")
        rows.append(
            [
                Cell(_segment_name(row.get("segment"), lang)),
                Cell(
                    truncate(rule, RULE_UNITS),
                    kind="mono",
                    title=rule if truncate(rule, RULE_UNITS) != rule else None,
                ),
                Cell(clean_label(description) if description else MISSING),
                num_cell(row.get("count")),
            ]
        )
    table = Table(
        columns=[
            Column(tr("segment")),
            Column(tr("segment_rule")),
            Column(tr("description")),
            Column(tr("customers"), numeric=True),
        ],
        rows=rows,
        css_class="rules",
    )
    labels = [_segment_name(name, lang) for name in order]
    count_chart = charts.bar_chart(
        [_segment_name(row.get("segment"), lang) for row in definitions],
        [row.get("count") for row in definitions],
        title=tr("segment_counts"),
        value_label=tr("customers"),
        value_format=fmt_int,
        width=HALF_WIDTH,
        chart_id="chart-rule-counts",
        empty_text=tr("no_data"),
        show_title=False,
        max_label_units=22,
    )
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    for row in overlap:
        a, b = clean_label(row.get("segment_a")), clean_label(row.get("segment_b"))
        pairs[(a, b)] = row
        pairs.setdefault((b, a), row)
    values, notes, tips = [], [], []
    for a, label_a in zip(order, labels, strict=True):
        value_row: list[float | None] = []
        note_row, tip_row = [], []
        for b, label_b in zip(order, labels, strict=True):
            found = pairs.get((a, b))
            if found is None and a == b:
                jaccard, both = (1.0 if as_float(counts.get(a)) else None), counts.get(a)
            elif found is None:
                jaccard, both = None, None
            else:
                jaccard, both = as_float(found.get("jaccard")), found.get("both")
            value_row.append(jaccard)
            note_row.append(fmt_int(both) if as_float(both) is not None else "")
            tip_row.append(
                tr(
                    "overlap_tip",
                    a=label_a,
                    b=label_b,
                    customers=fmt_int(both),
                    jaccard=fmt_num(jaccard, 2),
                )
            )
        values.append(value_row)
        notes.append(note_row)
        tips.append(tip_row)
    overlap_chart = charts.heatmap(
        labels if overlap else [],
        labels if overlap else [],
        values,
        title=tr("segment_overlap"),
        value_format=lambda v: fmt_num(v, 2),
        annotations=notes,
        tooltips=tips,
        width=HALF_WIDTH if len(order) <= 6 else FULL_WIDTH,
        cell_height=44,
        chart_id="chart-rule-overlap",
        empty_text=tr("no_data"),
        show_title=False,
        max_label_units=16,
    )
    high = []
    for row in overlap:
        a, b = clean_label(row.get("segment_a")), clean_label(row.get("segment_b"))
        jaccard = as_float(row.get("jaccard"))
        if a < b and jaccard is not None and jaccard >= HIGH_OVERLAP:
            high.append(
                (
                    jaccard,
                    tr(
                        "overlap_high",
                        a=_segment_name(a, lang),
                        b=_segment_name(b, lang),
                        jaccard=fmt_num(jaccard, 2),
                        customers=fmt_int(row.get("both")),
                    ),
                )
            )
    high.sort(key=lambda item: -item[0])
    return {
        "missing": False,
        "table": table,
        "count_chart": Markup(count_chart),
        "overlap_chart": Markup(overlap_chart),
        "overlap_wide": len(order) > 6,
        "high_overlap": [text for _, text in high],
    }


# ---------------------------------------------------------------------------------------------
# Migration between runs
# ---------------------------------------------------------------------------------------------


def latest_migration(frame: pd.DataFrame | None) -> tuple[str, str, list[dict[str, Any]]]:
    """``(from_run, to_run, rows)`` of the latest pair of runs in ``segment_migration``."""
    rows = frame_rows(frame) if frame is not None else []
    if not rows:
        return "", "", []
    to_run = max(clean_label(r.get("to_run")) for r in rows)
    rows = [r for r in rows if clean_label(r.get("to_run")) == to_run]
    from_run = max(clean_label(r.get("from_run")) for r in rows)
    return from_run, to_run, [r for r in rows if clean_label(r.get("from_run")) == from_run]


def migration_section(data: ReportData, tr: Translate) -> dict[str, Any]:
    """The Sankey chart of members moving between the last two runs, with headline counts
    (stayed, moved, entered, left) and the largest moves."""
    if data.segment_migration is None:
        return {"missing": True}
    lang = data.lang
    from_run, to_run, rows = latest_migration(data.segment_migration)
    none_label = tr("migration_none")

    def label(name: Any) -> str:
        key = clean_label(name)
        return none_label if key.lower() == NONE_SEGMENT else _segment_name(key, lang)

    order = [
        label(r.get("segment"))
        for r in (
            frame_rows(data.segment_definitions) if data.segment_definitions is not None else []
        )
    ]
    totals = {"stayed": 0.0, "moved": 0.0, "entered": 0.0, "left": 0.0}
    from_totals: dict[str, float] = {}
    links, tips, moves = [], [], []
    for row in rows:
        source, target = clean_label(row.get("from_segment")), clean_label(row.get("to_segment"))
        customers = as_float(row.get("customers")) or 0.0
        is_none = (source.lower() == NONE_SEGMENT, target.lower() == NONE_SEGMENT)
        kind = (
            "entered"
            if is_none[0]
            else "left"
            if is_none[1]
            else ("stayed" if source == target else "moved")
        )
        if not all(is_none):
            totals[kind] += customers
        from_totals[label(source)] = from_totals.get(label(source), 0.0) + customers
        links.append((label(source), label(target), customers))
        tips.append(
            tr("migration_tip", a=label(source), b=label(target), customers=fmt_int(customers))
        )
        if source != target and customers > 0:
            moves.append((label(source), label(target), customers))
    chart = charts.sankey_chart(
        links,
        title=tr("section_migration"),
        left_title=tr("run_label", run=from_run) if from_run else "",
        right_title=tr("run_label", run=to_run) if to_run else "",
        value_format=fmt_int,
        left_order=[*order, none_label],
        right_order=[*order, none_label],
        muted=[none_label],
        tooltips=tips,
        width=FULL_WIDTH,
        chart_id="chart-migration",
        empty_text=tr("no_data"),
        show_title=False,
    )
    moves.sort(key=lambda m: -m[2])
    table = Table(
        columns=[
            Column(tr("migration_from")),
            Column(tr("migration_to")),
            Column(tr("customers"), numeric=True),
            Column(tr("share_of_from"), numeric=True),
        ],
        rows=[
            [
                Cell(a),
                Cell(b),
                num_cell(n),
                num_cell(ratio(n, from_totals.get(a)), fmt_pct),
            ]
            for a, b, n in moves[:TOP_MOVES]
        ],
    )
    return {
        "missing": False,
        "note": tr("migration_note", a=from_run, b=to_run)
        if from_run and to_run
        else tr("migration_first_run"),
        "kpis": [
            Kpi(
                tr(f"migration_{key}"),
                fmt_int(value) if rows else MISSING,
                tr(f"migration_{key}_note"),
            )
            for key, value in totals.items()
        ],
        "chart": Markup(chart),
        "table": table,
    }


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


def validation_section(data: ReportData, tr: Translate) -> dict[str, Any]:
    """Per-segment checks (size, separation, stability, revenue), flags and recommendations,
    and whether the kept segments carry enough of the revenue."""
    if data.segment_validation is None:
        return {"missing": True}
    lang = data.lang
    rows = frame_rows(data.segment_validation)
    summary = data.segment_validation_summary or {}
    kept_share = as_float(summary.get("kept_revenue_share"))
    threshold = as_float(summary.get("threshold"))
    passed = _flag(summary.get("passed"))
    if passed is None and kept_share is not None and threshold is not None:
        passed = kept_share >= threshold
    verdict = tr(
        "validation_verdict" if threshold is not None else "validation_verdict_no_rule",
        pct=fmt_pct(kept_share),
        threshold=fmt_pct(threshold),
        result=tr("pass" if passed else "fail") if passed is not None else MISSING,
    )
    body = []
    for row in rows:
        kept = _flag(row.get("kept"))
        flags = [clean_label(f) for f in parsed(row.get("flags"), []) if f is not None]
        recommendation = clean_label(row.get("recommendation") or "")
        body.append(
            [
                Cell(_segment_name(row.get("segment"), lang)),
                num_cell(row.get("size")),
                num_cell(row.get("share"), fmt_pct),
                num_cell(row.get("revenue_share"), fmt_pct),
                num_cell(row.get("separation"), lambda v: fmt_num(v, 2)),
                num_cell(row.get("stability"), lambda v: fmt_num(v, 2)),
                Cell(
                    ", ".join(t(f"flag.{f}", lang, default=f) for f in flags) or MISSING,
                    tone="warn" if flags else None,
                ),
                Cell(
                    t(f"recommend.{recommendation}", lang, default=recommendation)
                    if recommendation
                    else MISSING
                ),
                Cell(
                    tr("kept") if kept else tr("dropped"),
                    kind="badge",
                    tone="pass" if kept else "warn",
                    sort="1" if kept else "0",
                )
                if kept is not None
                else Cell(MISSING),
            ]
        )
    table = Table(
        columns=[
            Column(tr("segment")),
            Column(tr("customers"), numeric=True),
            Column(tr("customer_share"), numeric=True),
            Column(tr("revenue_share"), numeric=True),
            Column(tr("separation"), numeric=True, title=tr("separation_hint")),
            Column(tr("stability"), numeric=True, title=tr("stability_hint")),
            Column(tr("flags")),
            Column(tr("recommendation")),
            Column(tr("result")),
        ],
        rows=body,
    )
    chart = charts.bar_chart(
        [_segment_name(row.get("segment"), lang) for row in rows],
        [row.get("revenue_share") for row in rows],
        title=tr("validation_revenue"),
        value_label=tr("revenue_share"),
        value_format=fmt_pct,
        tick_format=pct_tick,
        colors=[COLOR_KEPT if _flag(row.get("kept")) else COLOR_DROPPED for row in rows],
        width=FULL_WIDTH,
        chart_id="chart-validation",
        empty_text=tr("no_data"),
        show_title=False,
    )
    return {
        "missing": False,
        "verdict": verdict,
        "verdict_tone": None if passed is None else ("pass" if passed else "fail"),
        "table": table,
        "chart": Markup(chart),
        "legend": [
            {"label": tr("kept"), "color": COLOR_KEPT},
            {"label": tr("dropped"), "color": COLOR_DROPPED},
        ],
    }
