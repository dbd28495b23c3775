"""The report's predictive-models section: what the scores say about the buyers, and a card
per model.

Turns the prediction tables of a :class:`ReportData` into headline cards and band charts (from
small aggregates of ``customer_predictions``), one card per machine-learned model (its data
windows, held-out metrics against the baselines with a computed verdict, calibration curve,
top features by mean |SHAP| and limits) and the CLV card (parameters, the holdout check and
the CLV tiers). Card JSON is read defensively: a key a card lacks shows as "—".
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
from markupsafe import Markup

from segmint.predict.columns import CUSTOMER_PREDICTIONS, MODEL_CARDS
from segmint.report import charts
from segmint.report.cells import (
    COLOR_CUSTOMERS,
    COLOR_REVENUE,
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
from segmint.report.data import TOP_FEATURES, ReportData
from segmint.report.fmt import (
    MISSING,
    as_float,
    clean_label,
    fmt_int,
    fmt_money,
    fmt_num,
    fmt_pct,
    parse_timestamp,
)
from segmint.report.i18n import t

Translate = Callable[..., str]

MODEL = "model"
"""The scorer name of the model itself in ``model_metrics`` and ``model_calibration``."""
ML_TARGETS: tuple[str, ...] = ("repurchase", "churn")
"""Machine-learned targets, in the order the section shows them."""
BAND_COLUMNS = {"repurchase": "repurchase_band", "churn": "churn_risk"}
PROBABILITY_COLUMNS = {"repurchase": "repurchase_probability", "churn": "churn_probability"}
WINDOW_PREFERENCE: tuple[str, ...] = ("test", "validate")
"""The metrics window shown: the held-out test window, else the validation window."""
VERDICT_METRICS: tuple[str, ...] = ("roc_auc", "pr_auc")
"""The ranking metrics the model must win on to beat a baseline."""
LOWER_IS_BETTER = frozenset(
    {"brier", "brier_raw", "ece", "ece_raw", "log_loss", "mae", "mae_per_customer", "rmse"}
)
METRIC_ORDER: tuple[str, ...] = (
    "roc_auc",
    "pr_auc",
    "lift_10",
    "lift_20",
    "capture_10",
    "capture_20",
    "brier",
    "ece",
    "brier_raw",
    "ece_raw",
    "log_loss",
)
SCORER_ORDER: tuple[str, ...] = (MODEL, "recency_rule", "recency", "bgnbd")
WINDOW_ORDER: tuple[str, ...] = (
    "train",
    "validate",
    "test",
    "deploy_train",
    "deploy_calibrate",
    "deploy",
)
LIKELY_FROM = 0.5
"""Repurchase bands starting at this probability or above count as "likely" in the KPI."""
PARAMETER_ORDER: tuple[str, ...] = ("r", "alpha", "s", "beta", "a", "b", "p", "q", "v")
"""BG/NBD and MBG/NBD (r, alpha, a, b), Pareto/NBD (r, alpha, s, beta), Gamma-Gamma (p, q, v)."""
CLV_MODEL_NAMES = {"bgnbd": "BG/NBD", "pnbd": "Pareto/NBD", "mbgnbd": "MBG/NBD"}
KIND_NAMES = {"lightgbm": "LightGBM", "clv": "CLV"}
METHOD_NAMES = {"platt": "Platt", "isotonic": "Isotonic"}
REPURCHASE_RAMP = ("#c7dbf7", "#2f6fdf", "#1b3c8f")
CHURN_RAMP = ("#27ae60", "#f2c94c", "#eb5757")
_SPLIT_METRIC = re.compile(r"^(lift|capture)(?:_at)?_(\d+)$")


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def parse_card(value: Any) -> dict[str, Any]:
    """A model card as a dict: JSON text is parsed; anything unreadable gives ``{}``."""
    if isinstance(value, Mapping):
        return dict(value)
    if not isinstance(value, str | bytes) or not value:
        return {}
    try:
        card = json.loads(value)
    except (TypeError, ValueError):
        return {}
    return card if isinstance(card, dict) else {}


def _mapping(value: Any) -> dict[str, Any]:
    return {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else {}


def _first(source: Mapping[str, Any], *keys: str) -> Any:
    """The first of `keys` that `source` holds with a value (None if none)."""
    for key in keys:
        value = source.get(key)
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            return value
    return None


def _dig(source: Mapping[str, Any], *paths: str) -> Any:
    """The value at the first dotted path (``"data.windows"``) `source` has (None if none)."""
    for path in paths:
        value: Any = source
        for part in path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is not None:
            return value
    return None


def _pick(value: Any, *keys: str) -> Any:
    """The first of `keys` in `value` when it is a mapping, else `value` itself."""
    return _first(value, *keys) if isinstance(value, Mapping) else value


def _texts(value: Any) -> list[str]:
    """A card's list of sentences (limits, notes) as printable text."""
    if isinstance(value, str):
        return [clean_label(value)]
    if not isinstance(value, list | tuple):
        return []
    return [clean_label(v) for v in value if v is not None and not isinstance(v, Mapping)]


def metric_key(metric: str) -> str:
    """A metric's canonical name: ``lift_at_10`` and ``lift_10`` are both ``lift_10``."""
    found = _SPLIT_METRIC.match(metric)
    return f"{found[1]}_{found[2]}" if found else metric


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of `metric` is better (lower for losses and errors)."""
    return metric_key(metric) not in LOWER_IS_BETTER


def metric_label(metric: str, lang: str) -> str:
    """A metric's display name, e.g. ``ROC-AUC`` or ``Lift @ top 10%``."""
    key = metric_key(metric)
    found = _SPLIT_METRIC.match(key)
    if found:
        return t(f"metric.{found[1]}", lang, n=found[2])
    return t(f"metric.{key}", lang, default=metric)


def metric_format(metric: str) -> Callable[[Any], str]:
    """How a metric's values are shown: lifts as ``2.31×``, captures as percentages."""
    key = metric_key(metric)
    if key.startswith("lift_"):
        return lambda v: MISSING if as_float(v) is None else f"{as_float(v):.2f}×"
    if key.startswith("capture_"):
        return fmt_pct
    return lambda v: fmt_num(v, 3)


def scorer_label(scorer: str, lang: str, kind: str = "") -> str:
    """A scorer's display name: the model (with its kind) or a baseline's friendly name."""
    if scorer == MODEL and kind in KIND_NAMES:
        return t("scorer.model_kind", lang, kind=KIND_NAMES[kind])
    return t(f"scorer.{scorer}", lang, default=scorer)


def band_label(band: str, lang: str) -> str:
    """A band or tier's display name (``very_likely`` → ``very likely``)."""
    return t(f"band.{band}", lang, default=band.replace("_", " "))


def _ordered(names: Iterable[str], preferred: Iterable[str]) -> list[str]:
    found = list(dict.fromkeys(names))
    first = [n for n in preferred if n in found]
    return first + sorted(n for n in found if n not in first)


def _fmt_date(value: Any) -> str:
    moment = parse_timestamp(value)
    if moment is None:
        return MISSING if value is None else clean_label(value)
    if (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M")


def _ramp(stops: tuple[str, ...], count: int) -> list[str]:
    """`count` colours spread evenly over the colour stops."""
    if count <= 1:
        return [stops[-1]] * count
    rgb = [tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in stops]
    out = []
    for index in range(count):
        position = index / (count - 1) * (len(rgb) - 1)
        low = min(int(position), len(rgb) - 2)
        local = position - low
        mixed = [round(a + (b - a) * local) for a, b in zip(rgb[low], rgb[low + 1], strict=True)]
        out.append("#" + "".join(f"{channel:02x}" for channel in mixed))
    return out


def _chart_id(*parts: str) -> str:
    return "chart-predict-" + "-".join(
        re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-") for p in parts
    )


@dataclass(frozen=True)
class Fact:
    """One labelled value of a model card."""

    label: str
    value: str
    title: str | None = None
    mono: bool = False


# ---------------------------------------------------------------------------------------------
# Section
# ---------------------------------------------------------------------------------------------


def predict_section(data: ReportData, tr: Translate) -> dict[str, Any]:
    """Everything the template's predictive-models section shows."""
    settings = data.prediction_settings
    scores_hidden = CUSTOMER_PREDICTIONS in data.hidden_tables
    cards_hidden = MODEL_CARDS in data.hidden_tables
    cards = [{**row, "parsed": parse_card(row.get("card"))} for row in frame_rows(data.model_cards)]
    has_scores = bool(data.predictions)
    missing = not (has_scores or cards or scores_hidden or cards_hidden)
    bands = _bands(data)
    scored_run = clean_label(data.predictions.get("run_id") or "")
    report_run = clean_label(data.run.get("run_id") or "")
    return {
        "missing": (
            tr("predict_disabled") if settings.get("enabled") is False else tr("predict_missing")
        )
        if missing
        else "",
        "scores_hidden": scores_hidden,
        "cards_hidden": cards_hidden,
        "has_scores": has_scores,
        "stale_note": tr("predict_stale", run=scored_run)
        if has_scores
        and scored_run not in ("", MISSING)
        and report_run not in ("", MISSING)
        and scored_run != report_run
        else "",
        "kpis": _kpis(data, bands, tr),
        "band_charts": [Markup(_band_chart(data, bands, target, tr)) for target in ML_TARGETS],
        "models": [] if cards_hidden else _models(data, cards, tr),
        "clv": None if cards_hidden else _clv(data, cards, bands, tr),
        "has_cards": bool(cards),
    }


# -- Scores: KPIs and bands --------------------------------------------------------------------


def _labels(data: ReportData, key: str, found: Iterable[str]) -> list[str]:
    """Band labels lowest first: the project's order, then any others found in the data."""
    configured = [str(v) for v in _mapping(data.prediction_settings.get(key)).get("labels") or []]
    found = list(found)
    return [label for label in configured if label in found] + sorted(
        label for label in found if label not in configured
    )


def _bands(data: ReportData) -> dict[str, dict[str, dict[str, float | None]]]:
    """Score column → band → ``customers`` and ``predicted_clv``."""
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    for row in frame_rows(data.prediction_bands):
        band = row.get("band")
        if band is None or (isinstance(band, float) and math.isnan(band)):
            continue
        entry = out.setdefault(clean_label(row.get("score")), {}).setdefault(
            clean_label(band), {"customers": 0.0, "predicted_clv": None}
        )
        entry["customers"] = (entry["customers"] or 0.0) + (as_float(row.get("customers")) or 0.0)
        clv = as_float(row.get("predicted_clv"))
        if clv is not None:
            entry["predicted_clv"] = (entry["predicted_clv"] or 0.0) + clv
    return out


def _horizon(data: ReportData, key: str) -> float | None:
    return as_float(_mapping(data.prediction_settings.get(key)).get("horizon_days"))


def likely_bands(data: ReportData, found: Iterable[str]) -> list[str]:
    """The repurchase bands whose lower cut point is at least :data:`LIKELY_FROM` (the top
    band when the settings do not say where the bands start)."""
    settings = _mapping(data.prediction_settings.get("repurchase"))
    labels = [str(v) for v in settings.get("labels") or []]
    cuts = [as_float(v) for v in settings.get("bands") or []]
    if labels and len(cuts) == len(labels) - 1 and None not in cuts:
        starts = [0.0, *(c or 0.0 for c in cuts)]
        return [label for label, low in zip(labels, starts, strict=True) if low >= LIKELY_FROM]
    ordered = _labels(data, "repurchase", found)
    return ordered[-1:]


def _band_lower(data: ReportData, key: str, label: str) -> float | None:
    settings = _mapping(data.prediction_settings.get(key))
    labels = [str(v) for v in settings.get("labels") or []]
    cuts = [as_float(v) for v in settings.get("bands") or []]
    if label not in labels or len(cuts) != len(labels) - 1:
        return None
    index = labels.index(label)
    return 0.0 if index == 0 else cuts[index - 1]


def _kpis(
    data: ReportData, bands: dict[str, dict[str, dict[str, float | None]]], tr: Translate
) -> list[Kpi]:
    lang = data.lang
    summary = data.predictions
    buyers = as_float(summary.get("buyers"))
    kpis = [Kpi(tr("kpi_scored"), fmt_int(buyers), tr("kpi_scored_note") if buyers else "")]

    churn = bands.get(BAND_COLUMNS["churn"], {})
    churn_scored = as_float(summary.get("churn_scored"))
    churn_days = _horizon(data, "churn")
    top = _top_label(data, "churn") or _labels(data, "churn", churn)[-1:]
    if churn and churn_scored and top:
        stake = churn.get(top[0], {})
        count = stake.get("customers") or 0.0  # nobody in the top band is a real 0 %
        lower = _band_lower(data, "churn", top[0])
        kpis.append(
            Kpi(
                tr("kpi_churn", band=band_label(top[0], lang)),
                fmt_pct(ratio(count, churn_scored)),
                tr(
                    "kpi_churn_note",
                    customers=fmt_int(count),
                    pct=fmt_pct(lower, 0),
                    days=fmt_int(churn_days),
                    clv=fmt_money(stake.get("predicted_clv") or 0.0),
                ),
            )
        )
    else:
        kpis.append(
            Kpi(
                tr("kpi_churn", band=band_label(top[0], lang) if top else MISSING),
                MISSING,
                tr("kpi_not_scored"),
            )
        )

    repurchase = bands.get(BAND_COLUMNS["repurchase"], {})
    repurchase_scored = as_float(summary.get("repurchase_scored"))
    days = fmt_int(_horizon(data, "repurchase"))
    if repurchase and repurchase_scored:
        likely = likely_bands(data, repurchase)
        count = sum(repurchase.get(b, {}).get("customers") or 0.0 for b in likely)
        kpis.append(
            Kpi(
                tr("kpi_repurchase", days=days),
                fmt_pct(ratio(count, repurchase_scored)),
                tr(
                    "kpi_repurchase_note",
                    customers=fmt_int(count),
                    bands=" / ".join(band_label(b, lang) for b in likely),
                ),
            )
        )
    else:
        kpis.append(Kpi(tr("kpi_repurchase", days=days), MISSING, tr("kpi_not_scored")))

    total = as_float(summary.get("predicted_clv"))
    clv_scored = as_float(summary.get("clv_scored"))
    kpis.append(
        Kpi(
            tr("kpi_clv_total"),
            fmt_num(total, 0) if clv_scored else MISSING,  # whole units: it is large
            tr(
                "kpi_clv_total_note",
                days=fmt_int(_horizon(data, "clv")),
                value=fmt_money(ratio(total, clv_scored)),
            )
            if clv_scored
            else tr("kpi_not_scored"),
            title=fmt_money(total) if clv_scored else None,
        )
    )
    tiers = bands.get("clv_tier", {})
    order = _labels(data, "clv", tiers)
    if order and clv_scored:
        best = tiers[order[-1]]
        kpis.append(
            Kpi(
                tr("kpi_top_tier", tier=band_label(order[-1], lang)),
                fmt_money(ratio(best.get("predicted_clv"), best.get("customers"))),
                tr(
                    "kpi_top_tier_note",
                    customers=fmt_int(best.get("customers")),
                    pct=fmt_pct(ratio(best.get("predicted_clv"), total)),
                ),
            )
        )
    else:
        kpis.append(Kpi(tr("kpi_top_tier", tier=MISSING), MISSING, tr("kpi_not_scored")))
    return kpis


def _top_label(data: ReportData, key: str) -> list[str]:
    labels = _mapping(data.prediction_settings.get(key)).get("labels") or []
    return [str(labels[-1])] if labels else []


def _band_chart(
    data: ReportData,
    bands: dict[str, dict[str, dict[str, float | None]]],
    target: str,
    tr: Translate,
) -> str:
    lang = data.lang
    counts = bands.get(BAND_COLUMNS[target], {})
    order = _labels(data, target, counts)
    total = sum(counts[b].get("customers") or 0.0 for b in order)
    names = [band_label(b, lang) for b in order]
    return charts.bar_chart(
        names,
        [counts[b].get("customers") for b in order],
        title=tr(f"bands_{target}"),
        value_label=tr("buyers"),
        value_format=fmt_int,
        colors=_ramp(REPURCHASE_RAMP if target == "repurchase" else CHURN_RAMP, len(order)),
        tooltips=[
            tr(
                "band_tip",
                band=name,
                customers=fmt_int(counts[b].get("customers")),
                pct=fmt_pct(ratio(counts[b].get("customers"), total)),
                clv=fmt_money(counts[b].get("predicted_clv")),
            )
            for b, name in zip(order, names, strict=True)
        ],
        width=HALF_WIDTH,
        chart_id=_chart_id(target, "bands"),
        empty_text=tr("kpi_not_scored"),
        show_title=False,
    )


# -- Machine-learned models --------------------------------------------------------------------


def _rows_for(frame: pd.DataFrame, target: str, version: str) -> list[dict[str, Any]]:
    """Rows of `target` with `version` (all of the target's rows when none has it)."""
    rows = [r for r in frame_rows(frame) if clean_label(r.get("target")) == target]
    exact = [r for r in rows if clean_label(r.get("version")) == version]
    return exact or rows


def metric_grid(
    rows: list[dict[str, Any]],
) -> tuple[str, dict[str, dict[str, float | None]]]:
    """The window shown and its values, ``scorer → metric → value``, from long-form rows."""
    windows = [clean_label(r.get("window")) for r in rows]
    shown = next((w for w in WINDOW_PREFERENCE if w in windows), min(windows, default=""))
    grid: dict[str, dict[str, float | None]] = {}
    for row in rows:
        if clean_label(row.get("window")) != shown:
            continue
        scorer, metric = clean_label(row.get("scorer")), clean_label(row.get("metric"))
        grid.setdefault(scorer, {})[metric] = as_float(row.get("value"))
    return shown, grid


def _value(grid: Mapping[str, Mapping[str, float | None]], scorer: str, key: str) -> float | None:
    """`scorer`'s value of the metric whose canonical name is `key`."""
    for metric, value in grid.get(scorer, {}).items():
        if metric_key(metric) == key and value is not None:
            return value
    return None


def verdict(
    grid: Mapping[str, Mapping[str, float | None]], lang: str, kind: str = ""
) -> tuple[str, str | None]:
    """One line on whether the model beats every baseline on :data:`VERDICT_METRICS`, and its
    tone (``pass`` when it does, ``warn`` when a baseline matches or beats it).

    Args:
        grid: ``scorer → metric → value`` of one window; the model is :data:`MODEL`.
        lang: Report language.
        kind: The model's kind (names it in the text).
    """
    keys = [k for k in VERDICT_METRICS if _value(grid, MODEL, k) is not None]
    if not keys:
        return t("verdict_unknown", lang), None
    baselines = [
        s
        for s in _ordered(grid, SCORER_ORDER)
        if s != MODEL and any(_value(grid, s, k) is not None for k in keys)
    ]
    if not baselines:
        return t("verdict_no_baseline", lang), "warn"
    lost = []
    for key in keys:
        mine = _value(grid, MODEL, key)
        for scorer in baselines:
            theirs = _value(grid, scorer, key)
            if theirs is None or mine is None:
                continue
            if theirs >= mine:
                lost.append(
                    t(
                        "verdict_tie" if theirs == mine else "verdict_loss",
                        lang,
                        baseline=scorer_label(scorer, lang),
                        metric=metric_label(key, lang),
                        theirs=fmt_num(theirs, 3),
                        mine=fmt_num(mine, 3),
                    )
                )
    metrics = t("list_and", lang).join(metric_label(k, lang) for k in keys)
    names = ", ".join(scorer_label(s, lang) for s in baselines)
    model = scorer_label(MODEL, lang, kind)
    if lost:
        return t("verdict_lost", lang, model=model, details="; ".join(lost)), "warn"
    count = {1: "verdict_beats_one", 2: "verdict_beats_two"}.get(
        len(baselines), "verdict_beats_all"
    )
    return (
        t(count, lang, model=model, metrics=metrics, baselines=names, n=len(baselines)),
        "pass",
    )


def _metric_table(
    grid: Mapping[str, Mapping[str, float | None]], lang: str, kind: str, tr: Translate
) -> Table:
    scorers = _ordered(grid, SCORER_ORDER)
    metrics = _ordered({m for values in grid.values() for m in values}, ())
    rank = {key: i for i, key in enumerate(METRIC_ORDER)}
    metrics.sort(key=lambda m: (rank.get(metric_key(m), len(rank)), m))
    best: dict[str, set[str]] = {}
    for metric in metrics:
        values = {s: grid[s].get(metric) for s in scorers if grid[s].get(metric) is not None}
        if len(values) < 2:
            continue
        pick = max if higher_is_better(metric) else min
        top = pick(v for v in values.values() if v is not None)
        best[metric] = {s for s, v in values.items() if v == top}
    rows = []
    for scorer in scorers:
        row = [Cell(scorer_label(scorer, lang, kind), title=scorer)]
        for metric in metrics:
            winner = scorer in best.get(metric, set())
            cell = num_cell(
                grid[scorer].get(metric), metric_format(metric), tone="pass" if winner else None
            )
            row.append(replace(cell, title=tr("best_scorer")) if winner else cell)
        rows.append(row)
    return Table(
        columns=[Column(tr("scorer"))]
        + [
            Column(
                metric_label(m, lang),
                numeric=True,
                title=tr("higher_better" if higher_is_better(m) else "lower_better"),
            )
            for m in metrics
        ],
        rows=rows,
        css_class="metrics compact",
    )


def window_rows(card: Mapping[str, Any], horizon: float | None) -> list[dict[str, Any]]:
    """The card's backtest windows: ``window``, ``cutoff``, ``outcome_end``, ``customers`` and
    ``base_rate``, from whichever of ``data.windows`` / ``windows`` (one entry per window),
    ``data.cutoffs`` / ``cutoffs`` and ``population`` / ``base_rates`` (one number per window)
    the card has. A window with nothing known is left out."""
    windows = _dig(card, "data.windows", "windows")
    if isinstance(windows, list):
        windows = {
            str(_first(w, "window", "name")): w
            for w in windows
            if isinstance(w, Mapping) and _first(w, "window", "name")
        }
    windows = _mapping(windows)
    cutoffs = _mapping(_dig(card, "data.cutoffs", "cutoffs"))
    populations = _mapping(_dig(card, "population", "populations", "data.population"))
    rates = _mapping(_dig(card, "base_rates", "base_rate", "data.base_rates"))
    out = []
    for name in _ordered([*windows, *cutoffs, *populations, *rates], WINDOW_ORDER):
        entry = windows.get(name)
        cutoff = _pick(entry, "cutoff", "start", "from")
        cutoff = cutoff if cutoff is not None else _pick(cutoffs.get(name), "cutoff")
        end = _first(_mapping(entry), "outcome_until", "outcome_end", "end", "until")
        customers = _first(_mapping(entry), "customers", "population", "n")
        if customers is None:
            customers = _pick(populations.get(name), "customers", "population", "n")
        base_rate = _first(_mapping(entry), "base_rate", "positive_rate", "rate")
        if base_rate is None:
            base_rate = _pick(rates.get(name), "base_rate", "rate")
        start = parse_timestamp(cutoff)
        if end is None and start is not None and horizon:
            end = start + pd.Timedelta(days=horizon)
        if (cutoff, end, customers, base_rate) == (None, None, None, None):
            continue
        out.append(
            {
                "window": name,
                "cutoff": cutoff,
                "outcome_end": end,
                "customers": customers,
                "base_rate": base_rate,
            }
        )
    return out


def _window_table(rows: list[dict[str, Any]], lang: str, tr: Translate) -> Table:
    return Table(
        columns=[
            Column(tr("window")),
            Column(tr("cutoff"), title=tr("cutoff_hint")),
            Column(tr("outcome_until")),
            Column(tr("population"), numeric=True, title=tr("population_hint")),
            Column(tr("base_rate"), numeric=True, title=tr("base_rate_hint")),
        ],
        rows=[
            [
                Cell(t(f"window.{r['window']}", lang, default=r["window"]), title=r["window"]),
                Cell(_fmt_date(r["cutoff"])),
                Cell(_fmt_date(r["outcome_end"])),
                num_cell(r["customers"]),
                num_cell(r["base_rate"], fmt_pct),
            ]
            for r in rows
        ],
        css_class="windows",
    )


def _calibration(card: Mapping[str, Any]) -> tuple[str, float | None]:
    """The card's calibration method and error, whichever way the card states them."""
    calibration = card.get("calibration")
    method = _first(card, "calibration_method")
    error = _first(card, "calibration_error", "ece")
    if isinstance(calibration, Mapping):
        method = method or _first(calibration, "method", "name")
        error = error if error is not None else _first(calibration, "ece", "error")
    elif isinstance(calibration, str):
        method = method or calibration
    return clean_label(method) if method else "", as_float(error)


def _card_metrics(card: Mapping[str, Any]) -> tuple[str, dict[str, dict[str, float | None]]]:
    """The held-out window and ``scorer → metric → value`` from the card itself (for a card
    published without its long-form metrics): ``evaluation.metrics`` (one window, named by
    ``evaluation.window``) or ``metrics`` (``window → scorer → metric → value``)."""
    evaluation = _mapping(card.get("evaluation"))
    if evaluation.get("metrics"):
        window = clean_label(evaluation.get("window") or "test")
        scorers = _mapping(evaluation.get("metrics"))
    else:
        metrics = _mapping(card.get("metrics"))
        window = next((w for w in WINDOW_PREFERENCE if w in metrics), min(metrics, default=""))
        scorers = _mapping(metrics.get(window))
    grid = {
        str(s): {str(m): as_float(v) for m, v in _mapping(values).items()}
        for s, values in scorers.items()
    }
    return window, {s: values for s, values in grid.items() if values}


def _card_curve(card: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Calibration-curve points from the card itself (``calibration.curve`` or
    ``calibration_curve``), in the shape of ``model_calibration`` rows."""
    points = _dig(card, "calibration.curve", "calibration_curve")
    return [
        {
            "scorer": p.get("scorer", MODEL),
            "bin": p.get("bin"),
            "mean_predicted": p.get("mean_predicted"),
            "observed_rate": p.get("observed_rate"),
            "customers": _first(p, "customers", "count"),
        }
        for p in (points if isinstance(points, list) else [])
        if isinstance(p, Mapping)
    ]


def _feature_names(card: Mapping[str, Any]) -> list[str]:
    """Feature names: the card lists them as names or as ``{"name": …}`` descriptions."""
    names = []
    for feature in card.get("features") or []:
        name = _pick(feature, "name", "feature")
        if name is not None:
            names.append(clean_label(name))
    return names


def _model(
    data: ReportData, target: str, row: dict[str, Any] | None, tr: Translate
) -> dict[str, Any]:
    """One machine-learned model's card (a short note when the run has none)."""
    lang = data.lang
    title = t(f"model_title.{target}", lang, default=target)
    if row is None:
        column = PROBABILITY_COLUMNS.get(target, target)
        return {"target": target, "title": title, "absent": tr("model_absent", column=column)}
    card = row["parsed"]
    version = clean_label(row.get("version") or _dig(card, "model.version", "version") or MISSING)
    kind = clean_label(row.get("kind") or card.get("kind") or "")
    horizon = as_float(_dig(card, "model.horizon_days", "horizon_days")) or _horizon(data, target)
    window, grid = metric_grid(_rows_for(data.model_metrics, target, version))
    if not grid:  # a card published without its long-form metrics
        window, grid = _card_metrics(card)
    text, tone = verdict(grid, lang, kind)
    method, card_error = _calibration(card)
    ece = _value(grid, MODEL, "ece")
    ece = card_error if ece is None else ece
    windows = window_rows(card, horizon)
    test = next((w for w in windows if w["window"] == window), None)
    features = _feature_names(card)
    rounds = as_float(_dig(card, "model.rounds", "rounds"))
    trained_run = clean_label(row.get("trained_run_id") or "")
    this_run = clean_label(row.get("run_id") or data.run.get("run_id") or "")
    facts = [
        Fact(tr("version"), version, mono=True),
        Fact(
            tr("model_kind"),
            " · ".join(
                [KIND_NAMES.get(kind, kind or MISSING)]
                + ([tr("rounds", n=fmt_int(rounds))] if rounds else [])
                + (
                    [tr("calibrated_with", method=METHOD_NAMES.get(method, method))]
                    if method
                    else []
                )
            ),
            title=clean_label(_dig(card, "model.algorithm"))
            if _dig(card, "model.algorithm")
            else None,
        ),
        Fact(
            tr("trained"),
            tr("trained_this_run")
            if trained_run and trained_run == this_run
            else (tr("trained_in_run", run=trained_run) if trained_run else MISSING),
        ),
        Fact(tr("horizon"), tr("days", value=fmt_int(horizon)) if horizon else MISSING),
        Fact(tr("data_as_of"), _fmt_date(_dig(card, "data.as_of", "data_as_of", "as_of"))),
        Fact(
            tr("population_test"),
            tr(
                "population_value",
                customers=fmt_int(test["customers"]),
                rate=fmt_pct(test["base_rate"]),
            )
            if test
            else MISSING,
        ),
        Fact(
            tr("features"),
            fmt_int(len(features)) if features else MISSING,
            title=", ".join(features) or None,
        ),
        Fact(tr("ece"), fmt_num(ece, 3), title=tr("ece_hint")),
    ]
    return {
        "target": target,
        "title": title,
        "absent": "",
        "definition": clean_label(_dig(card, "model.definition", "definition") or ""),
        "facts": facts,
        "verdict": text,
        "verdict_tone": tone,
        "window_note": tr("metrics_window", window=t(f"window.{window}", lang, default=window))
        if window
        else "",
        "window_table": _window_table(windows, lang, tr),
        "metric_table": _metric_table(grid, lang, kind, tr),
        "calibration_chart": Markup(_calibration_chart(data, target, version, kind, card, tr)),
        "ece_note": _ece_note(grid, lang, kind, tr),
        "importance_chart": Markup(_importance_chart(data, target, version, tr)),
        "limits": _texts(card.get("limits")),
        "notes": _texts(card.get("notes")),
    }


def _models(data: ReportData, cards: list[dict[str, Any]], tr: Translate) -> list[dict[str, Any]]:
    by_target: dict[str, dict[str, Any]] = {}
    for row in cards:
        target = clean_label(row.get("target") or row["parsed"].get("target"))
        kind = clean_label(row.get("kind") or row["parsed"].get("kind") or "")
        if target != "clv" and kind != "clv":
            by_target.setdefault(target, row)
    settings = data.prediction_settings
    targets = [
        target
        for target in ML_TARGETS
        if target in by_target
        or (_mapping(settings.get(target)).get("enabled", False) and (data.predictions or cards))
    ]
    targets += sorted(t_ for t_ in by_target if t_ not in ML_TARGETS)
    return [_model(data, target, by_target.get(target), tr) for target in targets]


def _calibration_chart(
    data: ReportData,
    target: str,
    version: str,
    kind: str,
    card: Mapping[str, Any],
    tr: Translate,
) -> str:
    lang = data.lang
    rows = _rows_for(data.model_calibration, target, version) or _card_curve(card)
    scorers = _ordered((clean_label(r.get("scorer")) for r in rows), SCORER_ORDER)
    series, tips = [], []
    for scorer in scorers:
        points = sorted(
            (r for r in rows if clean_label(r.get("scorer")) == scorer),
            key=lambda r: (as_float(r.get("bin")) or 0.0, as_float(r.get("mean_predicted")) or 0.0),
        )
        name = scorer_label(scorer, lang, kind)
        series.append(
            (
                name,
                [
                    (r.get("mean_predicted"), r.get("observed_rate"), r.get("customers"))
                    for r in points
                ],
            )
        )
        tips.append(
            [
                tr(
                    "calibration_tip",
                    scorer=name,
                    predicted=fmt_pct(r.get("mean_predicted")),
                    observed=fmt_pct(r.get("observed_rate")),
                    customers=fmt_int(r.get("customers")),
                )
                for r in points
            ]
        )
    return charts.calibration_chart(
        series,
        title=tr("calibration_chart"),
        x_label=tr("mean_predicted"),
        y_label=tr("observed_rate"),
        diagonal_label=tr("perfect_calibration"),
        tooltips=tips,
        width=HALF_WIDTH,
        height=420,
        chart_id=_chart_id(target, "calibration"),
        empty_text=tr("no_data"),
        show_title=False,
    )


def _ece_note(
    grid: Mapping[str, Mapping[str, float | None]], lang: str, kind: str, tr: Translate
) -> str:
    parts = [
        f"{scorer_label(s, lang, kind)} {fmt_num(value, 3)}"
        for s in _ordered(grid, SCORER_ORDER)
        if (value := _value(grid, s, "ece")) is not None
    ]
    return tr("ece_note", values=" · ".join(parts)) if parts else ""


def _importance_chart(data: ReportData, target: str, version: str, tr: Translate) -> str:
    rows = _rows_for(data.model_importance, target, version)
    rows.sort(
        key=lambda r: (-(as_float(r.get("mean_abs_shap")) or 0.0), clean_label(r.get("feature")))
    )
    rows = rows[:TOP_FEATURES]
    names = [clean_label(r.get("feature")) for r in rows]
    return charts.bar_chart(
        names,
        [r.get("mean_abs_shap") for r in rows],
        title=tr("importance_chart"),
        value_label=tr("mean_abs_shap"),
        value_format=lambda v: fmt_num(v, 3),
        colors=[COLOR_CUSTOMERS],
        tooltips=[
            tr(
                "importance_tip",
                feature=name,
                shap=fmt_num(r.get("mean_abs_shap"), 3),
                gain=fmt_num(r.get("gain"), 1),
            )
            for name, r in zip(names, rows, strict=True)
        ],
        width=HALF_WIDTH,
        chart_id=_chart_id(target, "importance"),
        empty_text=tr("no_data"),
        show_title=False,
        max_label_units=30,
    )


# -- CLV ---------------------------------------------------------------------------------------


def _parameters(value: Any) -> str:
    """``r 0.243 · alpha 4.41`` from a mapping of parameter names to numbers, in the order the
    models' papers list them (the card's JSON has its keys sorted)."""
    params = _mapping(value)
    return " · ".join(
        f"{clean_label(k)} {number:.3g}"
        for k in _ordered(params, PARAMETER_ORDER)
        if (number := as_float(params[k])) is not None
    )


def _clv(
    data: ReportData,
    cards: list[dict[str, Any]],
    bands: dict[str, dict[str, dict[str, float | None]]],
    tr: Translate,
) -> dict[str, Any] | None:
    lang = data.lang
    row = next(
        (
            r
            for r in cards
            if clean_label(r.get("target")) == "clv" or clean_label(r.get("kind")) == "clv"
        ),
        None,
    )
    tiers = _tier_parts(data, bands.get("clv_tier", {}), tr)
    if row is None:
        if not (cards or data.predictions):
            return None
        return {"absent": tr("clv_absent"), "limits": [], **tiers}
    card = row["parsed"]
    named = card.get("model")
    model = clean_label(
        named
        if isinstance(named, str) and named
        else _mapping(card.get("parameters")).get("count_model") or ""
    )
    parameters = _mapping(card.get("parameters"))
    count = parameters.get("count", parameters if "count" not in parameters else None)
    spend = parameters.get("spend")
    customers = as_float(card.get("customers"))
    repeat = as_float(card.get("repeat_customers"))
    facts = [
        Fact(
            tr("version"),
            clean_label(row.get("version") or card.get("version") or MISSING),
            mono=True,
        ),
        Fact(
            tr("model_kind"),
            CLV_MODEL_NAMES.get(model, model or MISSING)
            + (" + Gamma-Gamma" if isinstance(spend, Mapping) and spend else ""),
        ),
        Fact(tr("data_as_of"), _fmt_date(card.get("data_as_of"))),
        Fact(
            tr("clv_customers"),
            tr(
                "clv_customers_value",
                customers=fmt_int(customers),
                repeat=fmt_int(repeat),
                pct=fmt_pct(ratio(repeat, customers)),
            )
            if customers is not None
            else MISSING,
        ),
        Fact(
            tr("horizon"),
            tr(
                "clv_horizon_value",
                days=fmt_int(card.get("horizon_days")),
                rate=fmt_pct(card.get("annual_discount_rate"), 0),
            )
            if card.get("horizon_days") is not None
            else MISSING,
        ),
        Fact(tr("log_likelihood"), fmt_num(card.get("log_likelihood"), 1)),
        Fact(tr("count_parameters"), _parameters(count) or MISSING, mono=True),
        Fact(
            tr("spend_parameters"),
            _parameters(spend) if isinstance(spend, Mapping) and spend else tr("spend_not_fitted"),
            mono=isinstance(spend, Mapping) and bool(spend),
        ),
    ]
    holdout = _mapping(card.get("holdout"))
    return {
        "absent": "",
        "facts": facts,
        "limits": _texts(card.get("limits")),
        **_holdout_parts(holdout, lang, tr),
        **tiers,
    }


def _holdout_parts(holdout: dict[str, Any], lang: str, tr: Translate) -> dict[str, Any]:
    buckets = [dict(b) for b in holdout.get("by_frequency") or [] if isinstance(b, Mapping)]
    predicted_total = as_float(holdout.get("predicted_total"))
    actual_total = as_float(holdout.get("actual_total"))
    error = as_float(holdout.get("error_pct"))
    if error is None and predicted_total is not None and actual_total:
        error = (predicted_total - actual_total) / actual_total * 100
    note = (
        tr(
            "holdout_note",
            days=fmt_int(holdout.get("holdout_days")),
            start=_fmt_date(holdout.get("calibration_end")),
            predicted=fmt_num(predicted_total, 0),
            actual=fmt_num(actual_total, 0),
            error=MISSING if error is None else f"{error:+.1f}%",
            mae=fmt_num(holdout.get("mae_per_customer"), 3),
            corr=fmt_num(holdout.get("correlation"), 3),
        )
        if holdout
        else tr("holdout_missing")
    )
    tone = None if error is None else ("pass" if abs(error) <= 10 else "warn")
    labels = [clean_label(b.get("frequency")) for b in buckets]
    rows = []
    for label, bucket in zip(labels, buckets, strict=True):
        n = as_float(bucket.get("customers"))
        predicted, actual = as_float(bucket.get("predicted")), as_float(bucket.get("actual"))
        rows.append(
            [
                Cell(label),
                num_cell(n),
                num_cell(predicted, lambda v: fmt_num(v, 3)),
                num_cell(actual, lambda v: fmt_num(v, 3)),
                num_cell(
                    None if predicted is None or n is None else predicted * n,
                    lambda v: fmt_num(v, 0),
                ),
                num_cell(
                    None if actual is None or n is None else actual * n, lambda v: fmt_num(v, 0)
                ),
            ]
        )
    table = Table(
        columns=[
            Column(tr("repeat_purchases"), title=tr("repeat_purchases_hint")),
            Column(tr("customers"), numeric=True),
            Column(tr("predicted_per_customer"), numeric=True),
            Column(tr("actual_per_customer"), numeric=True),
            Column(tr("predicted_total"), numeric=True),
            Column(tr("actual_total"), numeric=True),
        ],
        rows=rows,
        footer=[
            Cell(tr("total")),
            num_cell(sum(as_float(b.get("customers")) or 0.0 for b in buckets)),
            Cell(""),
            Cell(""),
            num_cell(predicted_total, lambda v: fmt_num(v, 0)),
            num_cell(actual_total, lambda v: fmt_num(v, 0)),
        ]
        if rows
        else [],
        css_class="holdout compact",
    )
    chart = charts.grouped_bar_chart(
        labels,
        [
            (tr("predicted_per_customer"), [b.get("predicted") for b in buckets]),
            (tr("actual_per_customer"), [b.get("actual") for b in buckets]),
        ],
        title=tr("holdout_chart"),
        value_label=tr("purchase_days_per_customer"),
        category_label=tr("repeat_purchases"),
        value_format=lambda v: fmt_num(v, 2),
        colors=[COLOR_CUSTOMERS, COLOR_REVENUE],
        width=HALF_WIDTH,
        chart_id=_chart_id("clv", "holdout"),
        empty_text=tr("holdout_missing"),
        show_title=False,
    )
    return {
        "holdout_note": note,
        "holdout_tone": tone,
        "holdout_table": table,
        "holdout_chart": Markup(chart) if buckets else None,
    }


def _tier_parts(
    data: ReportData, tiers: dict[str, dict[str, float | None]], tr: Translate
) -> dict[str, Any]:
    lang = data.lang
    order = _labels(data, "clv", tiers)
    buyers = sum(tiers[b].get("customers") or 0.0 for b in order)
    clv_values = [tiers[b].get("predicted_clv") for b in order]
    total = None if all(v is None for v in clv_values) else sum(v or 0.0 for v in clv_values)
    names = [band_label(b, lang) for b in order]
    rows = [
        [
            Cell(name, title=tier),
            num_cell(tiers[tier].get("customers")),
            num_cell(ratio(tiers[tier].get("customers"), buyers), fmt_pct),
            num_cell(tiers[tier].get("predicted_clv"), fmt_money),
            num_cell(ratio(tiers[tier].get("predicted_clv"), total), fmt_pct),
            num_cell(
                ratio(tiers[tier].get("predicted_clv"), tiers[tier].get("customers")), fmt_money
            ),
        ]
        for tier, name in zip(order, names, strict=True)
    ]
    table = Table(
        columns=[
            Column(tr("clv_tier")),
            Column(tr("buyers"), numeric=True),
            Column(tr("buyer_share"), numeric=True),
            Column(tr("predicted_clv"), numeric=True),
            Column(tr("clv_share"), numeric=True),
            Column(tr("mean_clv"), numeric=True),
        ],
        rows=rows,
        footer=[
            Cell(tr("total")),
            num_cell(buyers),
            num_cell(1.0 if buyers else None, fmt_pct),
            num_cell(total, fmt_money),
            num_cell(1.0 if total else None, fmt_pct),
            num_cell(ratio(total, buyers), fmt_money),
        ]
        if rows
        else [],
        css_class="tiers compact",
    )
    chart = charts.grouped_bar_chart(
        names,
        [
            (tr("buyer_share"), [ratio(tiers[b].get("customers"), buyers) for b in order]),
            (tr("clv_share"), [ratio(tiers[b].get("predicted_clv"), total) for b in order]),
        ],
        title=tr("clv_tiers"),
        value_label=tr("share"),
        value_format=fmt_pct,
        tick_format=pct_tick,
        colors=[COLOR_CUSTOMERS, COLOR_REVENUE],
        width=HALF_WIDTH,
        chart_id=_chart_id("clv", "tiers"),
        empty_text=tr("kpi_not_scored"),
        show_title=False,
    )
    return {"tier_table": table, "tier_chart": Markup(chart)}
