"""Turn a :class:`ReportData` into one self-contained HTML file.

The work is split in two: this module turns the summary tables into display-ready values
(formatted cells, pass/fail tones, inline SVG charts), and ``templates/report.html.j2`` lays
them out. Jinja2 autoescaping is on, so every piece of data — including raw quarantined
rows — reaches the page escaped; only the SVG built by :mod:`segmint.report.charts` (which
escapes its own text) is inserted as markup.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from segmint.report import charts
from segmint.report.cells import (
    COLOR_CUSTOMERS,
    COLOR_LOADED,
    COLOR_OTHER,
    COLOR_QUARANTINED,
    COLOR_REVENUE,
    FULL_WIDTH,
    HALF_WIDTH,
    THIRD_WIDTH,
    Cell,
    Column,
    Kpi,
    Table,
    dict_rows,
    frame_rows,
    num_cell,
    pct_tick,
    ratio,
)
from segmint.report.data import HISTOGRAM_KEYS, ReportData
from segmint.report.fmt import (
    MISSING,
    as_float,
    clean_label,
    clean_text,
    fmt_compact,
    fmt_int,
    fmt_money,
    fmt_num,
    fmt_pct,
    fmt_seconds,
    fmt_timestamp,
    parse_timestamp,
)
from segmint.report.i18n import segment_label, status_label, t
from segmint.report.identity import identity_section
from segmint.report.layers import layers_section, segment_layer_chart
from segmint.report.predict import predict_section
from segmint.report.segments import (
    clusters_section,
    migration_section,
    rule_segments_section,
    validation_section,
)
from segmint.report.summary import run_sources, summary_section
from segmint.report.tags import tags_section

MAX_FINDINGS = 6


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def render_report(data: ReportData) -> str:
    """Render the report as one self-contained HTML document (inline CSS and SVG, no URLs).

    Args:
        data: The summary tables and run manifest, as filled by the pipeline.

    Returns:
        The full HTML text.
    """
    template = _environment().get_template("report.html.j2")
    return template.render(**_context(data))


def write_report(data: ReportData, path: Path | str) -> Path:
    """Render the report and write it to ``path`` as UTF-8, creating parent folders.

    Args:
        data: The summary tables and run manifest.
        path: Where to write the HTML file.

    Returns:
        The path written.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_report(data), encoding="utf-8")
    return target


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("segmint.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def _flag(value: Any) -> bool | None:
    """A pass/fail column value as True, False or None (missing)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return bool(value)


def _badge(passed: bool | None, lang: str) -> Cell:
    if passed is None:
        return Cell(MISSING, sort="1", kind="text")
    return Cell(
        t("pass" if passed else "fail", lang),
        sort="2" if passed else "0",
        tone="pass" if passed else "fail",
        kind="badge",
    )


def _sum(values: Iterable[Any]) -> float:
    return float(sum(v for v in (as_float(x) for x in values) if v is not None))


def _source_label(source: Any, entity: Any) -> str:
    src, ent = clean_label(source), clean_label(entity) if entity is not None else ""
    return src if not ent or ent in (src, MISSING) else f"{src} / {ent}"


def _version() -> str:
    try:
        return metadata.version("segmint")
    except metadata.PackageNotFoundError:
        return "dev"


# ---------------------------------------------------------------------------------------------
# Context
# ---------------------------------------------------------------------------------------------


def _context(data: ReportData) -> dict[str, Any]:
    lang = data.lang

    def tr(key: str, **values: Any) -> str:
        return t(key, lang, **values)

    quality = _quality(data, tr)
    segments = _segments(data, tr)
    predict = predict_section(data, tr)
    run_id = clean_label(data.run.get("run_id") or MISSING)
    return {
        "lang": lang,
        "html_lang": "zh-CN" if lang == "zh" else "en",
        "tr": tr,
        "project_name": clean_label(data.project_name),
        "role": clean_label(data.role),
        "header": _header(data, tr),
        "summary": summary_section(data, tr, quality=quality, segments=segments, predict=predict),
        "run": _run(data, tr),
        "quality": quality,
        "identity": identity_section(data, tr),
        "rfm": _rfm(data, tr),
        "segments": segments,
        "layers": layers_section(data, tr),
        "tags": tags_section(data, tr),
        "predict": predict,
        "clusters": clusters_section(data, tr),
        "rule_segments": rule_segments_section(data, tr),
        "migration": migration_section(data, tr),
        "validation": validation_section(data, tr),
        "footer": tr("generated_by", version=_version(), run_id=run_id),
    }


def _header(data: ReportData, tr: Callable[..., str]) -> dict[str, Any]:
    run = data.run
    status_text, status_tone = status_label(run.get("status"), data.lang)
    started, finished = (
        parse_timestamp(run.get("started_at")),
        parse_timestamp(run.get("finished_at")),
    )
    duration = MISSING
    if started is not None and finished is not None:
        try:
            duration = fmt_seconds((finished - started).total_seconds(), data.lang)
        except TypeError:  # one is timezone-aware and the other is not
            duration = MISSING
    config_hash = clean_label(run.get("config_hash") or MISSING)
    meta = [
        (tr("run_id"), clean_label(run.get("run_id") or MISSING), None),
        (tr("as_of"), fmt_timestamp(run.get("as_of")), None),
        (tr("engine"), clean_label(run.get("engine") or MISSING), None),
        (tr("started_at"), fmt_timestamp(run.get("started_at")), None),
        (tr("finished_at"), fmt_timestamp(run.get("finished_at")), None),
        (tr("duration"), duration, None),
        (tr("config_hash"), config_hash[:12], config_hash),
    ]
    if data.role:
        meta.append((tr("role"), clean_label(data.role), None))
    return {
        "status": status_text,
        "status_tone": status_tone,
        "meta": [{"label": k, "value": v, "title": full} for k, v, full in meta],
    }


# -- Run ---------------------------------------------------------------------------------------


def _run(data: ReportData, tr: Callable[..., str]) -> dict[str, Any]:
    lang = data.lang
    stages = dict_rows(data.run.get("stages"))

    def duration(value: Any) -> str:
        return fmt_seconds(value, lang)

    names = [
        t(f"stage.{clean_label(s.get('stage'))}", lang, default=clean_label(s.get("stage")))
        for s in stages
    ]
    seconds = [as_float(s.get("seconds")) for s in stages]
    total_seconds = _sum(seconds)
    rows = [
        [
            Cell(name),
            num_cell(sec, duration),
            num_cell(stage.get("rows")),
            num_cell(ratio(sec, total_seconds), fmt_pct),
        ]
        for name, sec, stage in zip(names, seconds, stages, strict=True)
    ]
    stage_table = Table(
        columns=[
            Column(tr("stage")),
            Column(tr("time"), numeric=True),
            Column(tr("rows"), numeric=True),
            Column(tr("share_of_time"), numeric=True),
        ],
        rows=rows,
        footer=[Cell(tr("total")), num_cell(total_seconds, duration), Cell(""), Cell("")]
        if rows
        else [],
    )
    stage_chart = charts.bar_chart(
        names,
        seconds,
        title=tr("stage_timings"),
        value_label=tr("seconds"),
        value_format=duration,
        width=HALF_WIDTH,
        chart_id="chart-run-stages",
        empty_text=tr("no_data"),
        show_title=False,
    )

    sources = run_sources(data)
    labels = [_source_label(s.get("source"), s.get("entity")) for s in sources]
    read = [as_float(s.get("rows_read")) for s in sources]
    loaded = [as_float(s.get("rows_loaded")) for s in sources]
    quarantined = [as_float(s.get("rows_quarantined")) for s in sources]
    other = [
        None if r is None else max(r - (ld or 0.0) - (q or 0.0), 0.0)
        for r, ld, q in zip(read, loaded, quarantined, strict=True)
    ]
    series: list[tuple[str, list[float | None]]] = [
        (tr("rows_loaded"), loaded),
        (tr("rows_quarantined"), quarantined),
    ]
    colors = [COLOR_LOADED, COLOR_QUARANTINED]
    if any((v or 0) > 0 for v in other):
        series.append((tr("rows_other"), other))
        colors.append(COLOR_OTHER)
    sources_chart = charts.stacked_bar_chart(
        labels,
        series,
        title=tr("rows_by_source"),
        value_label=tr("rows_read"),
        value_format=fmt_int,
        totals=read,
        colors=colors,
        width=FULL_WIDTH,
        chart_id="chart-run-sources",
        empty_text=tr("no_data"),
        show_title=False,
    )
    return {
        "stage_table": stage_table,
        "stage_chart": Markup(stage_chart),
        "sources_chart": Markup(sources_chart),
    }


# -- Data quality ------------------------------------------------------------------------------


def _quality(data: ReportData, tr: Callable[..., str]) -> dict[str, Any]:
    lang = data.lang
    thresholds = data.thresholds
    completeness_min = as_float(thresholds.get("completeness_min"))
    validity_min = as_float(thresholds.get("validity_min"))
    freshness_max = as_float(thresholds.get("freshness_max_hours"))
    findings: list[str] = []
    passed_checks = failed_checks = 0

    source_rows: list[list[Cell]] = []
    for row in frame_rows(data.quality_sources):
        passed = _flag(row.get("passed"))
        fresh = _flag(row.get("freshness_passed"))
        hours = as_float(row.get("freshness_hours"))
        if passed is not None:
            passed_checks += passed
            failed_checks += not passed
        if passed is False or fresh is False:
            key = "finding_freshness" if fresh is False else "finding_source"
            findings.append(
                tr(
                    key,
                    source=clean_label(row.get("source")),
                    entity=clean_label(row.get("entity")),
                    hours=fmt_num(hours),
                    limit=fmt_num(freshness_max),
                )
            )
        read = row.get("rows_read")
        quarantined = row.get("rows_quarantined")
        quarantine_rate = ratio(quarantined, read)
        freshness_text = MISSING if hours is None else tr("age_hours", hours=fmt_num(hours))
        source_rows.append(
            [
                Cell(clean_label(row.get("source"))),
                Cell(clean_label(row.get("entity"))),
                num_cell(read),
                num_cell(row.get("rows_loaded")),
                Cell(
                    fmt_int(quarantined),
                    sort=repr(as_float(quarantined) or 0.0),
                    numeric=True,
                    tone="warn" if (as_float(quarantined) or 0) > 0 else None,
                    title=fmt_pct(quarantine_rate),
                ),
                num_cell(
                    row.get("duplicate_rows"), tone=_warn_if_positive(row.get("duplicate_rows"))
                ),
                num_cell(
                    row.get("key_conflicts"), tone=_warn_if_positive(row.get("key_conflicts"))
                ),
                num_cell(row.get("orphans"), tone=_warn_if_positive(row.get("orphans"))),
                Cell(fmt_timestamp(row.get("newest_record"))),
                Cell(
                    freshness_text,
                    sort="" if hours is None else repr(hours),
                    tone=None if fresh is None else ("pass" if fresh else "fail"),
                    kind="badge" if fresh is not None else "text",
                ),
                _badge(passed, lang),
            ]
        )
    source_table = Table(
        columns=[
            Column(tr("source")),
            Column(tr("entity")),
            Column(tr("rows_read"), numeric=True),
            Column(tr("rows_loaded"), numeric=True),
            Column(tr("rows_quarantined"), numeric=True),
            Column(tr("duplicate_rows"), numeric=True),
            Column(tr("key_conflicts"), numeric=True),
            Column(tr("orphans"), numeric=True),
            Column(tr("newest_record")),
            Column(tr("freshness")),
            Column(tr("result")),
        ],
        rows=source_rows,
    )

    field_records = frame_rows(data.quality_fields)

    def field_order(row: dict[str, Any]) -> int:
        ok = _flag(row.get("completeness_passed")) is not False
        return 0 if not (ok and _flag(row.get("validity_passed")) is not False) else 1

    field_rows: list[list[Cell]] = []
    for row in sorted(field_records, key=field_order):
        complete_ok = _flag(row.get("completeness_passed"))
        valid_ok = _flag(row.get("validity_passed"))
        for ok, key, value, limit in (
            (complete_ok, "finding_completeness", row.get("completeness"), completeness_min),
            (valid_ok, "finding_validity", row.get("validity"), validity_min),
        ):
            if ok is None:
                continue
            passed_checks += ok
            failed_checks += not ok
            if not ok:
                findings.append(
                    tr(
                        key,
                        source=clean_label(row.get("source")),
                        field=clean_label(row.get("field")),
                        value=fmt_pct(value),
                        limit=fmt_pct(limit),
                    )
                )
        both = (
            None
            if complete_ok is None and valid_ok is None
            else (complete_ok is not False and valid_ok is not False)
        )
        duplicate = as_float(row.get("duplicate_pct"))
        field_rows.append(
            [
                Cell(clean_label(row.get("source"))),
                Cell(clean_label(row.get("entity"))),
                Cell(clean_label(row.get("field"))),
                _meter(row.get("completeness"), complete_ok, completeness_min),
                _meter(row.get("validity"), valid_ok, validity_min),
                Cell(
                    fmt_pct(duplicate, 2),
                    sort="" if duplicate is None else repr(duplicate),
                    numeric=True,
                    tone="warn" if (duplicate or 0) > 0 else None,
                ),
                _badge(both, lang),
            ]
        )
    field_table = Table(
        columns=[
            Column(tr("source")),
            Column(tr("entity")),
            Column(tr("field")),
            Column(tr("completeness"), numeric=True),
            Column(tr("validity"), numeric=True),
            Column(tr("duplicate_pct"), numeric=True),
            Column(tr("result")),
        ],
        rows=field_rows,
    )

    quarantine = frame_rows(data.quarantine_top)
    quarantine.sort(key=lambda r: as_float(r.get("rows")) or 0.0, reverse=True)
    total_quarantined = _sum(r.get("rows") for r in quarantine)
    quarantine_rows = [
        [
            Cell(clean_label(r.get("source"))),
            Cell(clean_label(r.get("rule"))),
            num_cell(r.get("rows")),
            num_cell(ratio(r.get("rows"), total_quarantined), fmt_pct),
            Cell(clean_label(r.get("message") if r.get("message") is not None else MISSING)),
            num_cell(r.get("example_line")),
            Cell(clean_text(r.get("example_raw")), kind="code"),
        ]
        for r in quarantine
    ]
    quarantine_table = Table(
        columns=[
            Column(tr("source")),
            Column(tr("rule")),
            Column(tr("rows"), numeric=True),
            Column(tr("share"), numeric=True),
            Column(tr("message")),
            Column(tr("example_line"), numeric=True),
            Column(tr("example_raw")),
        ],
        rows=quarantine_rows,
        css_class="quarantine",
    )
    quarantine_chart = charts.bar_chart(
        [f"{clean_label(r.get('source'))} · {clean_label(r.get('rule'))}" for r in quarantine],
        [r.get("rows") for r in quarantine],
        title=tr("quarantine_chart"),
        value_label=tr("rows"),
        value_format=fmt_int,
        colors=[COLOR_QUARANTINED],
        width=FULL_WIDTH,
        chart_id="chart-quarantine",
        empty_text=tr("no_data"),
        max_label_units=48,
    )
    return {
        "thresholds": tr(
            "thresholds",
            completeness=fmt_pct(completeness_min),
            validity=fmt_pct(validity_min),
            freshness=fmt_num(freshness_max),
        )
        if (completeness_min, validity_min, freshness_max) != (None, None, None)
        else "",
        "source_table": source_table,
        "field_table": field_table,
        "quarantine_table": quarantine_table,
        "quarantine_chart": Markup(quarantine_chart),
        "has_quarantine": bool(quarantine),
        "passed": passed_checks,
        "failed": failed_checks,
        "findings": findings[:MAX_FINDINGS],
        "findings_more": max(len(findings) - MAX_FINDINGS, 0),
    }


def _warn_if_positive(value: Any) -> str | None:
    number = as_float(value)
    return "warn" if number is not None and number > 0 else None


def _meter(value: Any, passed: bool | None, threshold: float | None) -> Cell:
    number = as_float(value)
    return Cell(
        fmt_pct(number),
        sort="" if number is None else repr(number),
        numeric=True,
        tone=None if passed is None else ("pass" if passed else "fail"),
        kind="meter" if number is not None else "text",
        fraction=None if number is None else min(max(number, 0.0), 1.0),
        threshold=None if threshold is None else min(max(threshold, 0.0), 1.0),
    )


# -- RFM ---------------------------------------------------------------------------------------


def _rfm(data: ReportData, tr: Callable[..., str]) -> dict[str, Any]:
    summary = data.rfm_summary
    recency = as_float(summary.get("median_recency_days"))
    frequency = as_float(summary.get("median_frequency"))
    kpis = [
        Kpi(tr("kpi_customers"), fmt_int(summary.get("customers"))),
        Kpi(tr("kpi_revenue"), fmt_money(summary.get("revenue"))),
        Kpi(
            tr("median_recency"),
            MISSING if recency is None else tr("days", value=fmt_num(recency, 0)),
        ),
        Kpi(
            tr("median_frequency"),
            MISSING if frequency is None else tr("orders", value=fmt_num(frequency, 1)),
        ),
        Kpi(tr("median_monetary"), fmt_money(summary.get("median_monetary"))),
    ]
    histograms = []
    for key in HISTOGRAM_KEYS:
        rows = frame_rows(data.rfm_histograms.get(key, pd.DataFrame()))
        histograms.append(
            Markup(
                charts.histogram(
                    [r.get("bin_start") for r in rows],
                    [r.get("bin_end") for r in rows],
                    [r.get("customers") for r in rows],
                    title=tr(key),
                    x_label=tr(key),
                    y_label=tr("customers"),
                    width=THIRD_WIDTH,
                    chart_id=f"chart-hist-{key.replace('_', '-')}",
                    empty_text=tr("no_data"),
                )
            )
        )
    return {
        "kpis": kpis,
        "histograms": histograms,
        "heatmap": Markup(_rf_heatmap(data, tr)),
        "segment_layers": Markup(segment_layer_chart(data, tr)),
    }


def _rf_heatmap(data: ReportData, tr: Callable[..., str]) -> str:
    cells: dict[tuple[int, int], dict[str, Any]] = {}
    for row in frame_rows(data.rfm_grid):
        r, f = as_float(row.get("r_score")), as_float(row.get("f_score"))
        if r is not None and f is not None:
            cells[(round(r), round(f))] = row
    if not cells:
        return charts.heatmap(
            [],
            [],
            [],
            title=tr("rf_grid"),
            width=HALF_WIDTH,
            chart_id="chart-rf-grid",
            empty_text=tr("no_data"),
            show_title=False,
        )
    r_scores = sorted({r for r, _ in cells} | set(range(1, 6)), reverse=True)
    f_scores = sorted({f for _, f in cells} | set(range(1, 6)))
    values, notes, tips = [], [], []
    for r in r_scores:
        value_row, note_row, tip_row = [], [], []
        for f in f_scores:
            cell = cells.get((r, f), {})
            customers = cell.get("customers")
            monetary = cell.get("avg_monetary")
            value_row.append(customers)
            note_row.append(fmt_compact(monetary) if as_float(monetary) is not None else "")
            tip_row.append(
                f"R {r} · F {f}: {fmt_int(customers)} {tr('customers')} · "
                f"{tr('avg_monetary')} {fmt_money(monetary)}"
            )
        values.append(value_row)
        notes.append(note_row)
        tips.append(tip_row)
    return charts.heatmap(
        [str(r) for r in r_scores],
        [str(f) for f in f_scores],
        values,
        title=tr("rf_grid"),
        x_label=tr("f_score"),
        y_label=tr("r_score"),
        value_format=fmt_int,
        annotations=notes,
        tooltips=tips,
        width=HALF_WIDTH,
        cell_height=58,
        chart_id="chart-rf-grid",
        empty_text=tr("no_data"),
        show_title=False,
    )


def _segments(data: ReportData, tr: Callable[..., str]) -> dict[str, Any]:
    lang = data.lang
    records = frame_rows(data.segments)
    records.sort(key=lambda r: as_float(r.get("revenue")) or 0.0, reverse=True)
    names = [segment_label(clean_label(r.get("segment")), lang) for r in records]
    rows = []
    for name, r in zip(names, records, strict=True):
        index = ratio(r.get("revenue_share"), r.get("customer_share"))
        rows.append(
            [
                Cell(name, title=clean_label(r.get("segment")) if lang != "en" else None),
                num_cell(r.get("customers")),
                num_cell(r.get("customer_share"), fmt_pct),
                num_cell(r.get("revenue"), fmt_money),
                num_cell(r.get("revenue_share"), fmt_pct),
                num_cell(
                    index,
                    lambda v: MISSING if as_float(v) is None else f"{as_float(v):.2f}×",
                    tone=None if index is None else ("pass" if index >= 1 else None),
                ),
                num_cell(r.get("avg_recency_days"), lambda v: fmt_num(v, 0)),
                num_cell(r.get("avg_frequency"), lambda v: fmt_num(v, 1)),
                num_cell(r.get("avg_monetary"), fmt_money),
            ]
        )
    footer = (
        [
            Cell(tr("total")),
            num_cell(_sum(r.get("customers") for r in records)),
            num_cell(_sum(r.get("customer_share") for r in records), fmt_pct),
            num_cell(_sum(r.get("revenue") for r in records), fmt_money),
            num_cell(_sum(r.get("revenue_share") for r in records), fmt_pct),
            Cell(""),
            Cell(""),
            Cell(""),
            Cell(""),
        ]
        if records
        else []
    )
    table = Table(
        columns=[
            Column(tr("segment")),
            Column(tr("customers"), numeric=True),
            Column(tr("customer_share"), numeric=True),
            Column(tr("revenue"), numeric=True),
            Column(tr("revenue_share"), numeric=True),
            Column(tr("revenue_index"), numeric=True, title=tr("revenue_index_hint")),
            Column(tr("avg_recency_days"), numeric=True),
            Column(tr("avg_frequency"), numeric=True),
            Column(tr("avg_monetary"), numeric=True),
        ],
        rows=rows,
        footer=footer,
    )
    chart = charts.grouped_bar_chart(
        names,
        [
            (tr("customer_share"), [r.get("customer_share") for r in records]),
            (tr("revenue_share"), [r.get("revenue_share") for r in records]),
        ],
        title=tr("segment_shares"),
        value_label=tr("share"),
        value_format=fmt_pct,
        tick_format=pct_tick,
        colors=[COLOR_CUSTOMERS, COLOR_REVENUE],
        width=HALF_WIDTH,
        chart_id="chart-segments",
        empty_text=tr("no_data"),
        show_title=False,
    )
    top = None
    if records:
        first = records[0]
        top = {
            "name": names[0],
            "note": tr(
                "kpi_top_segment_note",
                revenue_share=fmt_pct(first.get("revenue_share")),
                customer_share=fmt_pct(first.get("customer_share")),
            ),
        }
    return {"table": table, "chart": Markup(chart), "top": top}
