"""The report's tag-catalogue section: what each tag means, whom it covers, where they sit.

Turns the tag tables of a :class:`ReportData` into headline cards, the catalogue table
(one row per tag the report's role may see), a bar chart of coverage coloured by tag type
and a heatmap of each tag's members across the value layers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import Markup

from segmint.report import charts
from segmint.report.cells import (
    HALF_WIDTH,
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
from segmint.report.fmt import MISSING, as_float, clean_label, fmt_int, fmt_num, fmt_pct, truncate
from segmint.report.i18n import t
from segmint.report.layers import layer_labels

Translate = Callable[..., str]
TYPE_COLORS: dict[str, str] = {
    "basic": "#2f6fdf",
    "behaviour": "#27ae60",
    "value": "#f2994a",
    "need": "#8e6fd8",
    "predictive": "#2bb3c0",
}
OTHER_TYPE_COLOR = "#a0aec0"
RULE_UNITS = 44
"""Rules longer than this (CJK counts double) are cut in the table; the full rule is the
cell's tooltip."""
ROW_HEIGHT = 28.0
"""Height of one tag in the distribution heatmap: the coverage chart's bar band, so the two
charts' rows line up side by side."""
SENSITIVITY_TONES = {"sensitive": "warn", "pii": "fail"}


def tag_label(row: dict[str, Any], lang: str) -> str:
    """A tag's display name: its Chinese label under ``zh`` (if it has one), else its name."""
    label = row.get("label_zh")
    if lang == "zh" and isinstance(label, str) and label.strip():
        return clean_label(label)
    return clean_label(row.get("tag"))


def tags_section(data: ReportData, tr: Translate) -> dict[str, Any]:
    """Everything the template's tag section shows."""
    rows = frame_rows(data.tag_catalog)
    names = [tag_label(row, data.lang) for row in rows]
    types = [clean_label(row.get("type")) for row in rows]
    return {
        "kpis": _kpis(data, rows, tr),
        "table": _table(data, rows, names, tr),
        "coverage_chart": Markup(_coverage(rows, names, types, data.lang, tr)),
        "distribution_chart": Markup(_distribution(data, rows, names, tr)),
        "legend": [
            {"label": t(f"tag_type.{kind}", data.lang, default=kind), "color": _type_color(kind)}
            for kind in dict.fromkeys(types)
        ],
        "hidden": "tag_catalog" in data.hidden_tables,
    }


def _type_color(kind: str) -> str:
    return TYPE_COLORS.get(kind, OTHER_TYPE_COLOR)


def _kpis(data: ReportData, rows: list[dict[str, Any]], tr: Translate) -> list[Kpi]:
    summary = data.tag_summary
    profiles = summary.get("profiles")
    tagged = summary.get("tagged_customers")
    per_customer = ratio(summary.get("memberships"), profiles)
    gained = sum(as_float(r.get("gained")) or 0 for r in rows)
    lost = sum(as_float(r.get("lost")) or 0 for r in rows)
    return [
        Kpi(tr("tags"), fmt_int(len(rows)) if rows else MISSING, tr("tags_note")),
        Kpi(
            tr("tagged_customers"),
            fmt_int(tagged),
            tr("tagged_note", pct=fmt_pct(ratio(tagged, profiles)))
            if ratio(tagged, profiles) is not None
            else "",
        ),
        Kpi(tr("tags_per_customer"), fmt_num(per_customer, 1)),
        Kpi(
            tr("tag_changes"),
            f"+{fmt_int(gained)} / −{fmt_int(lost)}" if rows else MISSING,
            tr("tag_changes_note"),
        ),
    ]


def _table(data: ReportData, rows: list[dict[str, Any]], names: list[str], tr: Translate) -> Table:
    lang = data.lang
    body = []
    for row, name in zip(rows, names, strict=True):
        tag = clean_label(row.get("tag"))
        description = row.get("description")
        title = " — ".join(
            part
            for part in (
                tag if name != tag else "",
                clean_label(description) if description else "",
            )
            if part
        )
        kind = clean_label(row.get("type"))
        level = clean_label(row.get("sensitivity"))
        refresh = clean_label(row.get("refresh"))
        rule = clean_label(row.get("rule"))
        coverage = as_float(row.get("coverage"))
        tone = SENSITIVITY_TONES.get(level)
        body.append(
            [
                Cell(name, title=title or None),
                Cell(t(f"tag_type.{kind}", lang, default=kind), title=kind),
                Cell(clean_label(row.get("owner"))),
                Cell(
                    t(f"sensitivity.{level}", lang, default=level),
                    tone=tone,
                    kind="badge" if tone else "text",
                    sort=level,
                ),
                Cell(t(f"refresh.{refresh}", lang, default=refresh), title=refresh),
                Cell(
                    truncate(rule, RULE_UNITS),
                    title=rule if truncate(rule, RULE_UNITS) != rule else None,
                    kind="mono",
                ),
                num_cell(row.get("customers")),
                Cell(
                    fmt_pct(coverage),
                    sort="" if coverage is None else repr(coverage),
                    numeric=True,
                    kind="meter" if coverage is not None else "text",
                    fraction=None if coverage is None else min(max(coverage, 0.0), 1.0),
                ),
                num_cell(row.get("gained")),
                num_cell(row.get("lost")),
            ]
        )
    return Table(
        columns=[
            Column(tr("tag")),
            Column(tr("tag_type")),
            Column(tr("owner")),
            Column(tr("sensitivity")),
            Column(tr("refresh")),
            Column(tr("tag_rule")),
            Column(tr("customers"), numeric=True),
            Column(tr("tag_coverage"), numeric=True, title=tr("tag_coverage_hint")),
            Column(tr("gained"), numeric=True, title=tr("gained_hint")),
            Column(tr("lost"), numeric=True, title=tr("lost_hint")),
        ],
        rows=body,
        css_class="tags",
    )


def _coverage(
    rows: list[dict[str, Any]], names: list[str], types: list[str], lang: str, tr: Translate
) -> str:
    coverage = [row.get("coverage") for row in rows]
    return charts.bar_chart(
        names,
        coverage,
        title=tr("tag_coverage_chart"),
        value_label=tr("share_of_customers"),
        value_format=fmt_pct,
        tick_format=pct_tick,
        colors=[_type_color(kind) for kind in types],
        tooltips=[
            tr(
                "tag_coverage_tip",
                tag=name,
                type=t(f"tag_type.{kind}", lang, default=kind),
                pct=fmt_pct(value),
                customers=fmt_int(row.get("customers")),
            )
            for name, kind, value, row in zip(names, types, coverage, rows, strict=True)
        ],
        width=HALF_WIDTH,
        chart_id="chart-tag-coverage",
        empty_text=tr("no_data"),
        show_title=False,
        max_label_units=24,
    )


def _distribution(
    data: ReportData, rows: list[dict[str, Any]], names: list[str], tr: Translate
) -> str:
    """Heatmap: for each tag, the share of its members in each value layer."""
    members = data.tag_layers
    labels = layer_labels(data)
    if members.empty or not rows:
        return charts.heatmap(
            [],
            [],
            [],
            title=tr("tag_distribution"),
            width=HALF_WIDTH,
            chart_id="chart-tag-layers",
            empty_text=tr("no_data"),
            show_title=False,
        )
    counts = members.pivot_table(
        index="tag", columns="value_layer", values="customers", aggfunc="sum", fill_value=0
    )
    keys = [k for k in labels if k in counts.columns]
    keys += sorted(str(k) for k in counts.columns if k not in labels)
    values, tips = [], []
    for row, name in zip(rows, names, strict=True):
        tag = row.get("tag")
        found = counts.loc[tag] if tag in counts.index else None
        total = float(found.sum()) if found is not None else 0.0
        value_row: list[float | None] = []
        tip_row = []
        for key in keys:
            n = float(found[key]) if found is not None and key in found.index else 0.0
            share = ratio(n, total)
            value_row.append(share)
            tip_row.append(
                tr(
                    "tag_layer_tip",
                    tag=name,
                    layer=labels.get(key, key),
                    customers=fmt_int(n),
                    pct=fmt_pct(share),
                )
            )
        values.append(value_row)
        tips.append(tip_row)
    return charts.heatmap(
        names,
        [labels.get(k, k) for k in keys],
        values,
        title=tr("tag_distribution"),
        value_format=lambda v: fmt_pct(v, 0),
        tooltips=tips,
        width=HALF_WIDTH,
        cell_height=ROW_HEIGHT,
        chart_id="chart-tag-layers",
        empty_text=tr("no_data"),
        show_title=False,
        max_label_units=16,
    )
