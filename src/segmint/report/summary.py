"""The report's executive summary: headline cards and short findings an analyst can read
in a minute, from what the other sections already computed.

Nothing here reads a table the sections do not: the run manifest, the quality checks, the
identity figures (and their accuracy against ground truth when someone evaluated the run),
the tag catalogue, the value layers, the models' verdicts and, when the run built them, the
clusters, segment validation and migration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from segmint.report.cells import Kpi, dict_rows, frame_rows, ratio
from segmint.report.data import NO_PURCHASE, UNASSIGNED, ReportData
from segmint.report.fmt import (
    MISSING,
    as_float,
    clean_label,
    fmt_int,
    fmt_money,
    fmt_num,
    fmt_pct,
    fmt_seconds,
    parse_timestamp,
)
from segmint.report.i18n import segment_label, status_label, t
from segmint.report.layers import layer_label
from segmint.report.segments import latest_migration, persona_name

Translate = Callable[..., str]


def _sum(values: Iterable[Any]) -> float:
    return float(sum(v for v in (as_float(x) for x in values) if v is not None))


def run_sources(data: ReportData) -> list[dict[str, Any]]:
    """Rows read, loaded and quarantined per source: the manifest's, else the quality table's."""
    sources = dict_rows(data.run.get("sources"))
    return sources if sources else frame_rows(data.quality_sources)


def summary_section(
    data: ReportData,
    tr: Translate,
    *,
    quality: Mapping[str, Any],
    segments: Mapping[str, Any],
    predict: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Headline cards, failed checks and the key findings of the whole report.

    Args:
        data: The report's input.
        tr: The report language's translator.
        quality: The data-quality section (its check counts and failed-check findings).
        segments: The RFM segment part (its top segment by revenue).
        predict: The predictive-models section (its per-model verdicts), if built.
    """
    sources = run_sources(data)
    read = _sum(s.get("rows_read") for s in sources)
    loaded = _sum(s.get("rows_loaded") for s in sources)
    quarantined = _sum(s.get("rows_quarantined") for s in sources)
    # Customers are everyone profiled at the as-of time (the value layers, "no purchase yet"
    # included); RFM and revenue cover the buyers among them.
    buyers = as_float(data.rfm_summary.get("customers"))
    layered = [as_float(r.get("customers")) for r in frame_rows(data.layers)]
    customers = (
        sum(n or 0.0 for n in layered)
        if layered
        else as_float(data.identity.get("customers")) or buyers
    )
    revenue = data.rfm_summary.get("revenue")
    passed, failed = quality["passed"], quality["failed"]
    top = segments["top"]
    records = as_float(data.identity.get("records"))
    per_buyer = ratio(revenue, buyers)
    customer_notes = []
    if buyers is not None and customers is not None and buyers != customers:
        customer_notes.append(tr("kpi_customers_buyers", buyers=fmt_int(buyers)))
    if records is not None:
        customer_notes.append(tr("kpi_customers_note", records=fmt_int(records)))
    kpis = [
        Kpi(tr("kpi_customers"), fmt_int(customers), " · ".join(customer_notes)),
        Kpi(
            tr("kpi_revenue"),
            fmt_money(revenue),
            tr("kpi_revenue_note", value=fmt_money(per_buyer)) if per_buyer is not None else "",
        ),
        Kpi(
            tr("kpi_rows_loaded"),
            fmt_int(loaded) if sources else MISSING,
            tr("kpi_rows_loaded_note", read=fmt_int(read)) if sources else "",
        ),
        Kpi(
            tr("kpi_rows_quarantined"),
            fmt_int(quarantined) if sources else MISSING,
            tr("kpi_rows_quarantined_note", pct=fmt_pct(ratio(quarantined, read)))
            if sources
            else "",
            tone="warn" if quarantined > 0 else None,
        ),
        Kpi(
            tr("kpi_quality"),
            tr("kpi_quality_value", passed=fmt_int(passed), total=fmt_int(passed + failed))
            if passed + failed
            else MISSING,
            tr("kpi_quality_note", failed=fmt_int(failed)) if passed + failed else "",
            tone=None if passed + failed == 0 else ("fail" if failed else "pass"),
        ),
        Kpi(
            tr("kpi_top_segment"),
            top["name"] if top else MISSING,
            top["note"] if top else "",
        ),
    ]
    return {
        "kpis": kpis,
        "highlights": highlights(data, tr, passed=passed, failed=failed, predict=predict),
        "findings": quality["findings"],
        "findings_more": quality["findings_more"],
        "all_passed": failed == 0 and passed > 0,
        "access_note": tr(
            "hidden_note",
            role=clean_label(data.role),
            tables=", ".join(clean_label(name) for name in data.hidden_tables),
        )
        if data.hidden_tables
        else "",
    }


def highlights(
    data: ReportData,
    tr: Translate,
    *,
    passed: int,
    failed: int,
    predict: Mapping[str, Any] | None = None,
) -> list[dict[str, str]]:
    """Short findings, one per part of the report that has something to say, in report order.

    Each is ``{"text", "tone"}`` with tone ``pass``, ``warn``, ``fail`` or ``""``.
    """
    found: list[dict[str, str]] = []

    def add(text: str, tone: str = "") -> None:
        found.append({"text": text, "tone": tone})

    lang = data.lang
    run = data.run
    if run:
        status, tone = status_label(run.get("status"), lang)
        started = parse_timestamp(run.get("started_at"))
        finished = parse_timestamp(run.get("finished_at"))
        seconds = None
        if started is not None and finished is not None:
            try:
                seconds = (finished - started).total_seconds()
            except TypeError:  # one is timezone-aware and the other is not
                seconds = None
        add(
            tr(
                "hl_run",
                status=status,
                duration=fmt_seconds(seconds, lang),
                stages=fmt_int(len(dict_rows(run.get("stages")))),
            ),
            tone,
        )
    if passed + failed:
        if failed:
            add(
                tr("hl_quality_failed", failed=fmt_int(failed), total=fmt_int(passed + failed)),
                "fail",
            )
        else:
            add(tr("hl_quality_passed", total=fmt_int(passed)), "pass")
    records, customers = data.identity.get("records"), data.identity.get("customers")
    if as_float(records) is not None and as_float(customers) is not None:
        overall = [
            r
            for r in frame_rows(data.identity_evaluation)
            if clean_label(r.get("scope")) == "overall"
        ]
        if overall:
            add(
                tr(
                    "hl_identity_accuracy",
                    records=fmt_int(records),
                    customers=fmt_int(customers),
                    precision=fmt_pct(overall[0].get("precision")),
                    recall=fmt_pct(overall[0].get("recall")),
                )
            )
        else:
            add(tr("hl_identity", records=fmt_int(records), customers=fmt_int(customers)))
    tags = frame_rows(data.tag_catalog)
    if tags:
        share = ratio(data.tag_summary.get("tagged_customers"), data.tag_summary.get("profiles"))
        add(
            tr("hl_tags", tags=fmt_int(len(tags)), pct=fmt_pct(share))
            if share is not None
            else tr("hl_tags_only", tags=fmt_int(len(tags)))
        )
    layers = [
        r
        for r in frame_rows(data.layers)
        if clean_label(r.get("value_layer")) not in (NO_PURCHASE, UNASSIGNED)
        and as_float(r.get("revenue_share")) is not None
    ]
    if layers:
        best = max(layers, key=lambda r: as_float(r.get("revenue_share")) or 0.0)
        add(
            tr(
                "hl_layer",
                layer=layer_label(best, lang),
                buyers=fmt_pct(best.get("buyer_share")),
                revenue=fmt_pct(best.get("revenue_share")),
            )
        )
    models = [m for m in (predict or {}).get("models", []) if not m.get("absent")]
    if models:
        wins = [m for m in models if m.get("verdict_tone") == "pass"]
        add(
            tr(
                "hl_models",
                wins=fmt_int(len(wins)),
                total=fmt_int(len(models)),
                names=", ".join(m["title"] for m in wins) or MISSING,
            ),
            "pass" if len(wins) == len(models) else "warn",
        )
    _segment_highlights(data, tr, add)
    return found


def _segment_highlights(data: ReportData, tr: Translate, add: Callable[..., None]) -> None:
    lang = data.lang
    model = frame_rows(data.cluster_model)[:1] if data.cluster_model is not None else []
    if model:
        row = model[0]
        ari = as_float(row.get("persona_ari"))
        text = tr(
            "hl_clusters",
            k=fmt_int(row.get("k")),
            method=t(
                f"k_method.{clean_label(row.get('chosen_by'))}",
                lang,
                default=clean_label(row.get("chosen_by") or MISSING),
            ),
            ari=fmt_num(row.get("stability_ari_mean"), 2),
        )
        if ari is not None:
            text += " " + tr("hl_clusters_truth", ari=fmt_num(ari, 2))
        add(text, "" if ari is None else ("pass" if ari >= 0.7 else "warn"))
    personas = frame_rows(data.segment_personas) if data.segment_personas is not None else []
    if personas:
        top = max(personas, key=lambda r: as_float(r.get("revenue_share")) or 0.0)
        add(
            tr(
                "hl_persona",
                name=persona_name(top, lang),
                revenue=fmt_pct(top.get("revenue_share")),
                customers=fmt_pct(top.get("share")),
            )
        )
    summary = data.segment_validation_summary or {}
    kept = as_float(summary.get("kept_revenue_share"))
    if data.segment_validation is not None and kept is not None:
        threshold = as_float(summary.get("threshold"))
        passed = summary.get("passed")
        ok = bool(passed) if passed is not None else (threshold is None or kept >= threshold)
        add(
            tr("hl_validation", pct=fmt_pct(kept), threshold=fmt_pct(threshold))
            if threshold is not None
            else tr("hl_validation_no_rule", pct=fmt_pct(kept)),
            "pass" if ok else "fail",
        )
    from_run, _to_run, rows = latest_migration(data.segment_migration)
    moves = [
        r
        for r in rows
        if clean_label(r.get("from_segment")) != clean_label(r.get("to_segment"))
        and "none" not in (clean_label(r.get("from_segment")), clean_label(r.get("to_segment")))
    ]
    if moves:
        biggest = max(moves, key=lambda r: as_float(r.get("customers")) or 0.0)
        add(
            tr(
                "hl_migration",
                customers=fmt_int(biggest.get("customers")),
                a=segment_label(clean_label(biggest.get("from_segment")), lang),
                b=segment_label(clean_label(biggest.get("to_segment")), lang),
                run=from_run,
            )
        )
