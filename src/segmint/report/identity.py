"""The report's identity section: who became one customer, where, and how well.

Turns the identity summary tables of a :class:`ReportData` into headline cards, tables and
inline SVG charts: match rate by source, cross-source coverage, component sizes, blocked
hubs (values masked) and pairwise accuracy against ground truth when it was measured.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import Markup

from segmint.report import charts
from segmint.report.cells import (
    COLOR_CUSTOMERS,
    COLOR_REVENUE,
    FULL_WIDTH,
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
from segmint.report.fmt import (
    MISSING,
    as_float,
    clean_label,
    fmt_int,
    fmt_num,
    fmt_pct,
    fmt_timestamp,
    mask_identifier,
)
from segmint.report.i18n import t

Translate = Callable[..., str]
COLOR_CROSS = "#27ae60"
COLOR_F1 = "#7b61ff"
UNRESOLVED_WARN = 0.01
"""Unresolved records above this share of all records make the card amber."""
EVALUATE_COMMAND = "segmint identity evaluate {project} --truth DIR/truth/records.csv"


def identity_section(data: ReportData, tr: Translate) -> dict[str, Any]:
    """Everything the template's identity section shows."""
    evaluation = _accuracy(data, tr)
    return {
        "kpis": _kpis(data, tr),
        **_match_rate(data, tr),
        "coverage_chart": Markup(_coverage(data, tr)),
        **_sizes(data, tr),
        **_hubs(data, tr),
        **evaluation,
    }


def _share_cell(value: float | None) -> Cell:
    """A share (0–1) with a small bar, no pass/fail judgement."""
    return Cell(
        fmt_pct(value),
        sort="" if value is None else repr(value),
        numeric=True,
        kind="meter" if value is not None else "text",
        fraction=None if value is None else min(max(value, 0.0), 1.0),
    )


# -- Headline cards ----------------------------------------------------------------------------


def _kpis(data: ReportData, tr: Translate) -> list[Kpi]:
    summary = data.identity
    records, customers = summary.get("records"), summary.get("customers")
    unresolved = summary.get("unresolved")
    unresolved_share = ratio(unresolved, records)
    sources = len(data.identity_sources)
    reasons = summary.get("hub_reasons") or {}
    hubs_note = (
        " · ".join(
            f"{fmt_int(n)} {t(f'hub_reason.{reason}', data.lang, default=str(reason))}"
            for reason, n in sorted(reasons.items(), key=lambda item: -item[1])
        )
        if reasons
        else tr("hubs_note")
    )
    split = as_float(summary.get("components_split"))
    cut = ", ".join(p for p in str(summary.get("split_cut") or "").split(",") if p)
    kpis = [
        Kpi(
            tr("records"),
            fmt_int(records),
            tr("id_records_note", sources=fmt_int(sources)) if sources else "",
        ),
        Kpi(
            tr("customers"),
            fmt_int(customers),
            tr("id_customers_note", value=fmt_num(ratio(records, customers), 1))
            if ratio(records, customers) is not None
            else "",
        ),
        Kpi(
            tr("unresolved_records"),
            fmt_int(unresolved),
            tr("unresolved_note", pct=fmt_pct(unresolved_share))
            if unresolved_share is not None
            else "",
            tone="warn" if (unresolved_share or 0) > UNRESOLVED_WARN else None,
        ),
        Kpi(
            tr("hubs_blocked"),
            fmt_int(summary.get("hubs_blocked")),
            hubs_note,
            tone="warn" if (as_float(summary.get("hubs_blocked")) or 0) > 0 else None,
        ),
        Kpi(
            tr("components_split"),
            fmt_int(split),
            _split_note(split, cut, tr),
            tone="warn" if split else None,
        ),
    ]
    if "probabilistic_links" in summary:
        kpis.append(
            Kpi(
                tr("probabilistic_links"),
                fmt_int(summary.get("probabilistic_links")),
                tr("probabilistic_note"),
            )
        )
    if "review_pairs" in summary:
        review = as_float(summary.get("review_pairs")) or 0
        kpis.append(
            Kpi(
                tr("review_pairs"),
                fmt_int(summary.get("review_pairs")),
                tr("review_note"),
                tone="warn" if review > 0 else None,
            )
        )
    if "merges" in summary or "splits" in summary:
        kpis.append(
            Kpi(
                tr("id_changes"),
                f"{fmt_int(summary.get('merges', 0))} / {fmt_int(summary.get('splits', 0))}",
                tr("id_changes_note"),
            )
        )
    return kpis


def _split_note(split: float | None, cut: str, tr: Translate) -> str:
    if split is None:
        return ""
    if split == 0:
        return tr("split_none")
    return tr("split_note", cut=cut) if cut else ""


# -- Match rate by source ----------------------------------------------------------------------


def _match_rate(data: ReportData, tr: Translate) -> dict[str, Any]:
    sources = frame_rows(data.identity_sources)
    names = [clean_label(s.get("source")) for s in sources]
    resolved = [ratio(s.get("resolved"), s.get("records")) for s in sources]
    cross = [ratio(s.get("cross_source"), s.get("records")) for s in sources]
    rows = [
        [
            Cell(name),
            num_cell(s.get("records")),
            _share_cell(share_resolved),
            num_cell(
                _difference(s.get("records"), s.get("resolved")),
                tone="warn" if (_difference(s.get("records"), s.get("resolved")) or 0) else None,
            ),
            _share_cell(share_cross),
            num_cell(s.get("customers")),
        ]
        for name, s, share_resolved, share_cross in zip(
            names, sources, resolved, cross, strict=True
        )
    ]
    records = sum(as_float(s.get("records")) or 0 for s in sources)
    resolved_total = sum(as_float(s.get("resolved")) or 0 for s in sources)
    cross_total = sum(as_float(s.get("cross_source")) or 0 for s in sources)
    footer = (
        [
            Cell(tr("total")),
            num_cell(records),
            _share_cell(ratio(resolved_total, records)),
            num_cell(records - resolved_total),
            _share_cell(ratio(cross_total, records)),
            num_cell(data.identity.get("customers")),
        ]
        if rows
        else []
    )
    table = Table(
        columns=[
            Column(tr("source")),
            Column(tr("records"), numeric=True),
            Column(tr("resolved"), numeric=True),
            Column(tr("unresolved"), numeric=True),
            Column(tr("cross_source"), numeric=True),
            Column(tr("customers"), numeric=True),
        ],
        rows=rows,
        footer=footer,
    )
    chart = charts.grouped_bar_chart(
        names,
        [(tr("resolved"), resolved), (tr("cross_source"), cross)],
        title=tr("match_rate"),
        value_label=tr("share_of_records"),
        value_format=fmt_pct,
        tick_format=pct_tick,
        colors=[COLOR_CUSTOMERS, COLOR_CROSS],
        width=FULL_WIDTH,
        chart_id="chart-identity-sources",
        empty_text=tr("no_data"),
        show_title=False,
    )
    return {"source_table": table, "source_chart": Markup(chart)}


def _difference(total: Any, part: Any) -> float | None:
    whole, some = as_float(total), as_float(part)
    return None if whole is None or some is None else whole - some


# -- Cross-source coverage ---------------------------------------------------------------------


def _coverage(data: ReportData, tr: Translate) -> str:
    both: dict[tuple[str, str], float] = {}
    for row in frame_rows(data.identity_overlap):
        count = as_float(row.get("customers"))
        if count is not None:
            both[(clean_label(row.get("source_a")), clean_label(row.get("source_b")))] = count
    names = [clean_label(s.get("source")) for s in frame_rows(data.identity_sources)]
    names += sorted({a for a, _ in both} - set(names))
    totals = {name: both.get((name, name)) for name in names}
    values, notes, tips = [], [], []
    for a in names:
        value_row: list[float | None] = []
        note_row, tip_row = [], []
        for b in names:
            count = both.get((a, b), 0.0)
            share = ratio(count, totals[a])
            value_row.append(share)
            note_row.append(fmt_int(count))
            tip_row.append(
                tr(
                    "coverage_tip",
                    row=a,
                    col=b,
                    customers=fmt_int(count),
                    pct=fmt_pct(share),
                    total=fmt_int(totals[a]),
                )
            )
        values.append(value_row)
        notes.append(note_row)
        tips.append(tip_row)
    return charts.heatmap(
        names,
        names,
        values,
        title=tr("coverage"),
        x_label=tr("also_in"),
        y_label=tr("customers_of"),
        value_format=lambda v: fmt_pct(v, 0),
        annotations=notes,
        tooltips=tips,
        width=FULL_WIDTH,
        cell_height=44,
        chart_id="chart-identity-coverage",
        empty_text=tr("no_data"),
        show_title=False,
        max_label_units=20,
    )


# -- Component sizes ---------------------------------------------------------------------------


def _sizes(data: ReportData, tr: Translate) -> dict[str, Any]:
    sizes = frame_rows(data.identity_sizes)
    size_labels = [
        tr("one_record") if str(r.get("bucket")) == "1" else tr("n_records", n=r.get("bucket"))
        for r in sizes
    ]
    by_records = charts.bar_chart(
        size_labels,
        [r.get("customers") for r in sizes],
        title=tr("by_record_count"),
        value_label=tr("customers"),
        value_format=fmt_int,
        colors=[COLOR_CUSTOMERS],
        tooltips=[
            tr(
                "size_tip",
                label=label,
                customers=fmt_int(r.get("customers")),
                records=fmt_int(r.get("records")),
            )
            for label, r in zip(size_labels, sizes, strict=True)
        ],
        width=HALF_WIDTH,
        chart_id="chart-identity-sizes",
        empty_text=tr("no_data"),
    )
    spread = frame_rows(data.identity_spread)
    spread_labels = [
        tr("one_source")
        if as_float(r.get("sources")) == 1
        else tr("n_sources", n=fmt_int(r.get("sources")))
        for r in spread
    ]
    by_sources = charts.bar_chart(
        spread_labels,
        [r.get("customers") for r in spread],
        title=tr("by_source_count"),
        value_label=tr("customers"),
        value_format=fmt_int,
        colors=[COLOR_REVENUE],
        width=HALF_WIDTH,
        chart_id="chart-identity-spread",
        empty_text=tr("no_data"),
    )
    return {"sizes_chart": Markup(by_records), "spread_chart": Markup(by_sources)}


# -- Blocked hubs ------------------------------------------------------------------------------


def _hubs(data: ReportData, tr: Translate) -> dict[str, Any]:
    lang = data.lang
    hubs = frame_rows(data.identity_hubs)
    hubs.sort(key=lambda h: as_float(h.get("records")) or 0.0, reverse=True)
    rows = []
    for hub in hubs:
        kind = clean_label(hub.get("id_type"))
        reason = clean_label(hub.get("reason"))
        rows.append(
            [
                Cell(t(f"id_type.{kind}", lang, default=kind), title=kind),
                Cell(mask_identifier(kind, hub.get("id_value")), kind="mono"),
                Cell(t(f"hub_reason.{reason}", lang, default=reason)),
                num_cell(hub.get("partners")),
                num_cell(hub.get("member_ids")),
                num_cell(hub.get("records")),
            ]
        )
    table = Table(
        columns=[
            Column(tr("id_type")),
            Column(tr("id_value")),
            Column(tr("reason")),
            Column(tr("partners"), numeric=True, title=tr("partners_hint")),
            Column(tr("member_ids"), numeric=True),
            Column(tr("records"), numeric=True),
        ],
        rows=rows,
    )
    total = data.identity.get("hubs_blocked", len(hubs))
    return {
        "hub_table": table,
        "hub_note": tr("hubs_table_note", shown=fmt_int(len(hubs)), total=fmt_int(total))
        if hubs
        else "",
    }


# -- Accuracy ----------------------------------------------------------------------------------


def _accuracy(data: ReportData, tr: Translate) -> dict[str, Any]:
    scores = frame_rows(data.identity_evaluation)
    project = clean_label(data.identity.get("project_file") or "PROJECT.yml")
    if not scores:
        return {
            "has_accuracy": False,
            "accuracy_command": EVALUATE_COMMAND.format(project=project),
        }
    scopes = [
        tr("scope_overall") if str(s.get("scope")) == "overall" else clean_label(s.get("scope"))
        for s in scores
    ]
    rows = [
        [
            Cell(scope),
            num_cell(s.get("records")),
            num_cell(s.get("true_pairs")),
            num_cell(s.get("predicted_pairs")),
            num_cell(s.get("correct_pairs")),
            num_cell(s.get("precision"), lambda v: fmt_pct(v, 2)),
            num_cell(s.get("recall"), lambda v: fmt_pct(v, 2)),
            num_cell(s.get("f1"), lambda v: fmt_pct(v, 2)),
        ]
        for scope, s in zip(scopes, scores, strict=True)
    ]
    table = Table(
        columns=[
            Column(tr("scope")),
            Column(tr("records"), numeric=True),
            Column(tr("true_pairs"), numeric=True),
            Column(tr("predicted_pairs"), numeric=True),
            Column(tr("correct_pairs"), numeric=True),
            Column(tr("precision"), numeric=True),
            Column(tr("recall"), numeric=True),
            Column(tr("f1"), numeric=True),
        ],
        rows=rows,
    )
    chart = charts.grouped_bar_chart(
        scopes,
        [
            (tr("precision"), [s.get("precision") for s in scores]),
            (tr("recall"), [s.get("recall") for s in scores]),
            (tr("f1"), [s.get("f1") for s in scores]),
        ],
        title=tr("accuracy"),
        value_label=tr("score"),
        value_format=lambda v: fmt_pct(v, 1),
        tick_format=pct_tick,
        colors=[COLOR_CUSTOMERS, COLOR_CROSS, COLOR_F1],
        width=FULL_WIDTH,
        chart_id="chart-identity-accuracy",
        empty_text=tr("no_data"),
        show_title=False,
    )
    first = scores[0]
    truth = clean_label(first.get("truth_file")) if first.get("truth_file") else MISSING
    return {
        "has_accuracy": True,
        "accuracy_table": table,
        "accuracy_chart": Markup(chart),
        "accuracy_note": tr(
            "accuracy_note", truth=truth, at=fmt_timestamp(first.get("evaluated_at"))
        ),
    }
