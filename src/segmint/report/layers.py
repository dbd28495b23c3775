"""The report's value-layer section, and the RFM segment → value layer cross-tab.

Turns the layer tables of a :class:`ReportData` into two tables (size and revenue; the
layer's profile), a stacked bar of each layer's share of buyers and of revenue, and a
heatmap of RFM segments against value layers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import Markup

from segmint.report import charts
from segmint.report.cells import (
    FULL_WIDTH,
    Cell,
    Column,
    Kpi,
    Table,
    frame_rows,
    num_cell,
    pct_tick,
    ratio,
)
from segmint.report.data import LAYER_MIX_DIMENSIONS, NO_PURCHASE, UNASSIGNED, ReportData
from segmint.report.fmt import MISSING, as_float, clean_label, fmt_int, fmt_money, fmt_num, fmt_pct
from segmint.report.i18n import segment_label, t

Translate = Callable[..., str]
LAYER_COLORS: dict[str, str] = {
    "high_value": "#1d3f8f",
    "churn_warning": "#eb5757",
    "potential": "#2f6fdf",
    "basic": "#9db8e8",
    UNASSIGNED: "#cbd5e1",
    NO_PURCHASE: "#e2e8f0",
}
"""Colours of the default layers; other layers take the chart palette in order."""
TOP_VALUES = 3
"""How many of the commonest city tiers and age bands describe a layer."""


def layer_label(row: dict[str, Any], lang: str) -> str:
    """A layer's display name: its (Chinese) label from the project file, else its name."""
    key = clean_label(row.get("value_layer"))
    if key == NO_PURCHASE:
        return t("layer_no_purchase", lang)
    if key == UNASSIGNED:
        return t("layer_unassigned", lang)
    for column in ("label_zh", "label") if lang == "zh" else ("label",):
        value = row.get(column)
        if isinstance(value, str) and value.strip():
            return clean_label(value)
    return key


def layer_labels(data: ReportData) -> dict[str, str]:
    """Layer key → display name, in the order of ``data.layers``."""
    return {
        clean_label(row.get("value_layer")): layer_label(row, data.lang)
        for row in frame_rows(data.layers)
    }


def layer_colors(keys: list[str]) -> list[str]:
    """One colour per layer key: the default layers' own, else the palette in order."""
    spare = iter(c for c in charts.PALETTE if c not in LAYER_COLORS.values())
    return [LAYER_COLORS.get(key) or next(spare, charts.PALETTE[-1]) for key in keys]


def layers_section(data: ReportData, tr: Translate) -> dict[str, Any]:
    """Everything the template's value-layer section shows."""
    rows = frame_rows(data.layers)
    names = [layer_label(row, data.lang) for row in rows]
    titles = [
        None
        if row.get("value_layer") in (NO_PURCHASE, UNASSIGNED)
        else clean_label(row["value_layer"])
        for row in rows
    ]
    return {
        "kpis": _kpis(rows, tr),
        "size_table": _size_table(rows, names, titles, tr),
        "profile_table": _profile_table(rows, names, titles, tr),
        "mix_table": _mix_table(data, rows, names, titles, tr),
        "chart": Markup(_share_chart(rows, names, tr)),
        "hidden": "profiles" in data.hidden_tables,
    }


def _kpis(rows: list[dict[str, Any]], tr: Translate) -> list[Kpi]:
    customers = sum(as_float(r.get("customers")) or 0 for r in rows)
    none = sum(as_float(r.get("customers")) or 0 for r in rows if r["value_layer"] == NO_PURCHASE)
    buyers = customers - none
    return [
        Kpi(tr("customers"), fmt_int(customers) if rows else MISSING),
        Kpi(
            tr("buyers"),
            fmt_int(buyers) if rows else MISSING,
            tr("buyers_note", pct=fmt_pct(ratio(buyers, customers))) if customers else "",
        ),
        Kpi(
            tr("layer_no_purchase"),
            fmt_int(none) if rows else MISSING,
            tr("no_purchase_note") if rows else "",
        ),
    ]


def _size_table(
    rows: list[dict[str, Any]], names: list[str], titles: list[str | None], tr: Translate
) -> Table:
    body = []
    for row, name, title in zip(rows, names, titles, strict=True):
        index = ratio(row.get("revenue_share"), row.get("buyer_share"))
        body.append(
            [
                Cell(name, title=title),
                num_cell(row.get("customers")),
                num_cell(row.get("buyer_share"), fmt_pct),
                num_cell(row.get("revenue"), fmt_money),
                num_cell(row.get("revenue_share"), fmt_pct),
                num_cell(
                    index,
                    lambda v: MISSING if as_float(v) is None else f"{as_float(v):.2f}×",
                    tone=None if index is None else ("pass" if index >= 1 else None),
                ),
            ]
        )
    revenue = [as_float(r.get("revenue")) for r in rows]
    footer = (
        [
            Cell(tr("total")),
            num_cell(sum(as_float(r.get("customers")) or 0 for r in rows)),
            num_cell(sum(as_float(r.get("buyer_share")) or 0 for r in rows), fmt_pct),
            num_cell(
                None if all(v is None for v in revenue) else sum(v or 0 for v in revenue),
                fmt_money,
            ),
            num_cell(sum(as_float(r.get("revenue_share")) or 0 for r in rows), fmt_pct),
            Cell(""),
        ]
        if rows
        else []
    )
    return Table(
        columns=[
            Column(tr("layer")),
            Column(tr("customers"), numeric=True),
            Column(tr("buyer_share"), numeric=True),
            Column(tr("revenue"), numeric=True),
            Column(tr("revenue_share"), numeric=True),
            Column(tr("revenue_index"), numeric=True, title=tr("layer_revenue_index_hint")),
        ],
        rows=body,
        footer=footer,
    )


def _top_values(data: ReportData, dimension: str) -> dict[str, str]:
    """Per layer key: its commonest values of `dimension` with their share of the layer."""
    mix = data.layer_mix
    if mix.empty:
        return {}
    mix = mix[(mix["dimension"] == dimension) & mix["value"].notna()]
    sizes = {
        clean_label(r.get("value_layer")): as_float(r.get("customers"))
        for r in frame_rows(data.layers)
    }
    out: dict[str, str] = {}
    for key, group in mix.groupby("value_layer", sort=False):
        top = group.sort_values(["customers", "value"], ascending=[False, True]).head(TOP_VALUES)
        out[clean_label(key)] = " · ".join(
            f"{_value_label(dimension, v, data.lang)} {fmt_pct(ratio(n, sizes.get(str(key))), 0)}"
            for v, n in zip(top["value"], top["customers"], strict=True)
        )
    return out


def _value_label(dimension: str, value: Any, lang: str) -> str:
    text = clean_label(value)
    if dimension == "city_tier":
        return t("city_tier_n", lang, n=text)
    return text


def _profile_table(
    rows: list[dict[str, Any]], names: list[str], titles: list[str | None], tr: Translate
) -> Table:
    body = [
        [
            Cell(name, title=title),
            num_cell(row.get("avg_frequency"), lambda v: fmt_num(v, 1)),
            num_cell(row.get("avg_aov"), fmt_money),
            num_cell(row.get("avg_recency_days"), lambda v: fmt_num(v, 0)),
            num_cell(row.get("avg_online_share"), fmt_pct),
            num_cell(row.get("avg_discount_share"), fmt_pct),
            num_cell(row.get("avg_categories"), lambda v: fmt_num(v, 1)),
            num_cell(row.get("avg_interaction_trend"), _signed),
        ]
        for row, name, title in zip(rows, names, titles, strict=True)
    ]
    return Table(
        columns=[
            Column(tr("layer")),
            Column(tr("avg_frequency"), numeric=True),
            Column(tr("aov"), numeric=True, title=tr("aov_hint")),
            Column(tr("avg_recency_days"), numeric=True),
            Column(tr("online_share"), numeric=True),
            Column(tr("discount_share"), numeric=True),
            Column(tr("avg_categories"), numeric=True),
            Column(tr("interaction_trend"), numeric=True, title=tr("interaction_trend_hint")),
        ],
        rows=body,
    )


def _mix_table(
    data: ReportData,
    rows: list[dict[str, Any]],
    names: list[str],
    titles: list[str | None],
    tr: Translate,
) -> Table:
    """The commonest city tiers and age bands of each layer (dimensions the role may see)."""
    shown = [
        (dimension, top)
        for dimension in LAYER_MIX_DIMENSIONS
        if (top := _top_values(data, dimension))
    ]
    return Table(
        columns=[Column(tr("layer"))] + [Column(tr(f"top.{d}")) for d, _ in shown],
        rows=[
            [Cell(name, title=title)]
            + [Cell(top.get(clean_label(row.get("value_layer"))) or MISSING) for _, top in shown]
            for row, name, title in zip(rows, names, titles, strict=True)
        ]
        if shown
        else [],
    )


def _signed(value: Any) -> str:
    number = as_float(value)
    return MISSING if number is None else f"{number:+.2f}"


def _share_chart(rows: list[dict[str, Any]], names: list[str], tr: Translate) -> str:
    """Two stacked bars, buyers and revenue, split by layer."""
    buying = [
        (row, name)
        for row, name in zip(rows, names, strict=True)
        if row.get("value_layer") != NO_PURCHASE
    ]
    series = [(name, [row.get("buyer_share"), row.get("revenue_share")]) for row, name in buying]
    return charts.stacked_bar_chart(
        [tr("buyers"), tr("revenue")] if buying else [],
        series,
        title=tr("layer_shares"),
        value_label=tr("share"),
        value_format=lambda v: fmt_pct(v, 0),
        tick_format=pct_tick,
        colors=layer_colors([clean_label(row.get("value_layer")) for row, _ in buying]),
        width=FULL_WIDTH,
        chart_id="chart-layer-shares",
        empty_text=tr("no_data"),
        show_title=False,
    )


def segment_layer_chart(data: ReportData, tr: Translate) -> str:
    """Heatmap: each RFM segment's customers split across value layers (row shares)."""
    cross = data.rfm_layers
    labels = layer_labels(data)
    if cross.empty:
        return charts.heatmap(
            [],
            [],
            [],
            title=tr("segment_layers"),
            width=FULL_WIDTH,
            chart_id="chart-rfm-layers",
            empty_text=tr("no_data"),
            show_title=False,
        )
    counts = cross.pivot_table(
        index="segment", columns="value_layer", values="customers", aggfunc="sum", fill_value=0
    )
    keys = [k for k in labels if k in counts.columns]
    keys += sorted(str(k) for k in counts.columns if k not in labels)
    segments = list(frame_rows(data.segments))
    order = [clean_label(s.get("segment")) for s in segments if s.get("segment") in counts.index]
    order += sorted(str(s) for s in counts.index if s not in order)
    counts = counts.reindex(index=order, columns=keys, fill_value=0)
    totals = counts.sum(axis=1)
    values, notes, tips = [], [], []
    for segment, row in counts.iterrows():
        name = segment_label(str(segment), data.lang)
        total = float(totals[segment])
        value_row, note_row, tip_row = [], [], []
        for key in keys:
            n = float(row[key])
            share = ratio(n, total)
            value_row.append(share)
            note_row.append(fmt_int(n))
            tip_row.append(
                tr(
                    "segment_layer_tip",
                    segment=name,
                    layer=labels.get(key, key),
                    customers=fmt_int(n),
                    pct=fmt_pct(share),
                )
            )
        values.append(value_row)
        notes.append(note_row)
        tips.append(tip_row)
    return charts.heatmap(
        [segment_label(str(s), data.lang) for s in counts.index],
        [labels.get(k, k) for k in keys],
        values,
        title=tr("segment_layers"),
        x_label=tr("layer"),
        y_label=tr("segment"),
        value_format=lambda v: fmt_pct(v, 0),
        annotations=notes,
        tooltips=tips,
        width=FULL_WIDTH,
        cell_height=36,
        chart_id="chart-rfm-layers",
        empty_text=tr("no_data"),
        show_title=False,
        max_label_units=20,
    )
