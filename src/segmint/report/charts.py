"""Inline SVG charts in pure Python: no JavaScript, no external files, no plotting library.

Every chart function returns one ``<svg>`` element as a string, ready to drop into HTML:

* the root carries ``data-chart="<kind>"`` (``bar``, ``stacked-bar``, ``grouped-bar``,
  ``histogram``, ``heatmap``, ``calibration``) and, for empty input, ``data-empty="true"``;
* its first child is a ``<title>``; the chart title, axis labels and value labels are drawn;
* every data mark (bar, bar segment, heatmap cell, calibration point) carries one
  ``data-value`` attribute with the raw number (empty for a missing value), so a browser test
  can count drawn marks;
* long labels are cut with an ellipsis and the full text is kept in a ``<title>`` tooltip;
* missing, NaN and infinite values are drawn as empty marks labelled with an em dash; no
  coordinate is ever NaN or infinite; empty input draws a "no data" note.

The SVG has no ``xmlns`` attribute because inline SVG in HTML does not need one (and the
report must not contain any URL).
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from segmint.report.fmt import (
    MISSING,
    as_float,
    clean_label,
    fmt_compact,
    fmt_num,
    text_units,
    truncate,
)

Formatter = Callable[[Any], str]

FONT_FAMILY = (
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, "
    "'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', 'WenQuanYi Micro Hei', sans-serif"
)
PALETTE: tuple[str, ...] = (
    "#2f6fdf",
    "#f2994a",
    "#27ae60",
    "#eb5757",
    "#8e6fd8",
    "#2bb3c0",
    "#e05a9c",
    "#8fb339",
    "#6b7a90",
    "#d4a017",
)
HEAT_STOPS: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (0.0, (0xF1, 0xF6, 0xFE)),
    (0.5, (0x7F, 0xAA, 0xEE)),
    (1.0, (0x1B, 0x3C, 0x8F)),
)

TEXT_DARK = "#1e293b"
TEXT_MUTED = "#64748b"
GRID = "#e5e9f0"
AXIS = "#94a3b8"
TITLE_SIZE = 13.0
LABEL_SIZE = 12.0
TICK_SIZE = 10.5
VALUE_SIZE = 11.0
CHAR_WIDTH = 0.58  # average advance of one half-width character, in ems


# ---------------------------------------------------------------------------------------------
# Low-level helpers
# ---------------------------------------------------------------------------------------------


def _n(value: float) -> str:
    """Format a coordinate; anything non-finite becomes 0 so the SVG is always valid."""
    if not math.isfinite(value):
        value = 0.0
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _text_width(text: str, size: float) -> float:
    return text_units(text) * size * CHAR_WIDTH


def _data_value(value: float | None) -> str:
    if value is None:
        return ""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _fit_label(label: str, max_units: int, max_width: float, size: float) -> str:
    """Truncate ``label`` to ``max_units`` and to what fits in ``max_width`` pixels."""
    units_that_fit = max(int(max_width / (size * CHAR_WIDTH)), 2)
    return truncate(label, min(max_units, units_that_fit))


def _frac(value: float, lo: float, hi: float) -> float:
    """Position of ``value`` in ``[lo, hi]`` as 0–1, safe against overflow and a zero span."""
    span = hi - lo
    if not math.isfinite(span):  # huge opposite-signed bounds: scale down first
        span = hi / 2 - lo / 2
        offset = value / 2 - lo / 2
    else:
        offset = value - lo
    if span <= 0 or not math.isfinite(span) or not math.isfinite(offset):
        return 0.0
    return min(max(offset / span, 0.0), 1.0)


def nice_ticks(lo: float, hi: float, count: int = 5) -> tuple[float, float, list[float]]:
    """Return a rounded domain ``(lo, hi)`` covering the input and the ticks inside it."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return lo, hi, [lo]
    span = hi - lo
    if not math.isfinite(span) or span < 1e-300:
        return lo, hi, [lo, hi]
    raw = span / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = magnitude
    for multiple in (1.0, 2.0, 2.5, 5.0, 10.0):
        step = multiple * magnitude
        if span / step <= count:
            break
    nice_lo = math.floor(lo / step) * step
    nice_hi = math.ceil(hi / step) * step
    if not (math.isfinite(nice_lo) and math.isfinite(nice_hi)) or nice_hi <= nice_lo:
        return lo, hi, [lo, hi]
    steps = round((nice_hi - nice_lo) / step)
    if not 1 <= steps <= 50:
        return lo, hi, [lo, hi]
    ticks = [nice_lo + i * step for i in range(steps + 1)]
    ticks = [0.0 if abs(tick) < step * 1e-9 else tick for tick in ticks]
    return nice_lo, nice_hi, ticks


def _value_domain(
    values: Sequence[float | None], *, floor_zero: bool = True
) -> tuple[float, float]:
    finite = [v for v in values if v is not None]
    lo = min(finite, default=0.0)
    hi = max(finite, default=0.0)
    if floor_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi <= lo:
        hi = lo + 1.0 if lo == 0 else lo + abs(lo)
    return lo, hi


def _numbers(values: Sequence[Any]) -> list[float | None]:
    return [as_float(v) for v in values]


def _labels(labels: Sequence[Any]) -> list[str]:
    return [clean_label(label) for label in labels]


def heat_color(fraction: float) -> str:
    """Colour of the heatmap scale at ``fraction`` (0–1), as ``#rrggbb``."""
    fraction = min(max(fraction if math.isfinite(fraction) else 0.0, 0.0), 1.0)
    for (x0, c0), (x1, c1) in itertools.pairwise(HEAT_STOPS):
        if fraction <= x1:
            local = 0.0 if x1 == x0 else (fraction - x0) / (x1 - x0)
            rgb = [round(a + (b - a) * local) for a, b in zip(c0, c1, strict=True)]
            return "#" + "".join(f"{channel:02x}" for channel in rgb)
    return "#" + "".join(f"{channel:02x}" for channel in HEAT_STOPS[-1][1])


def _is_dark(color: str) -> bool:
    red, green, blue = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue < 0.55


class _Svg:
    """Collects SVG elements and wraps them in the root element."""

    def __init__(self, kind: str, title: str, width: float, chart_id: str | None) -> None:
        self.kind = kind
        self.title = title
        self.width = width
        self.chart_id = chart_id
        self.parts: list[str] = []

    def add(self, markup: str) -> None:
        self.parts.append(markup)

    def text(
        self,
        x: float,
        y: float,
        content: str,
        *,
        size: float = LABEL_SIZE,
        anchor: str = "start",
        fill: str = TEXT_DARK,
        weight: str | None = None,
        rotate: bool = False,
        full: str | None = None,
        css_class: str | None = None,
    ) -> None:
        attrs = [f'x="{_n(x)}"', f'y="{_n(y)}"', f'font-size="{_n(size)}"', f'fill="{fill}"']
        if anchor != "start":
            attrs.append(f'text-anchor="{anchor}"')
        if weight:
            attrs.append(f'font-weight="{weight}"')
        if rotate:
            attrs.append(f'transform="rotate(-90 {_n(x)} {_n(y)})"')
        if css_class:
            attrs.append(f'class="{css_class}"')
        tooltip = f"<title>{_esc(full)}</title>" if full is not None and full != content else ""
        self.add(f"<text {' '.join(attrs)}>{tooltip}{_esc(content)}</text>")

    def line(
        self, x1: float, y1: float, x2: float, y2: float, stroke: str, width: float = 1
    ) -> None:
        self.add(
            f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" '
            f'stroke="{stroke}" stroke-width="{_n(width)}"/>'
        )

    def rect(
        self,
        x: float,
        y: float,
        width: float,
        height: float,
        fill: str,
        *,
        value: float | None = None,
        tooltip: str | None = None,
        mark: bool = True,
        extra: str = "",
    ) -> None:
        attrs = [
            f'x="{_n(x)}"',
            f'y="{_n(y)}"',
            f'width="{_n(max(width, 0.0))}"',
            f'height="{_n(max(height, 0.0))}"',
            f'fill="{fill}"',
        ]
        if mark:
            attrs.append(f'data-value="{_data_value(value)}"')
            if value is None:
                attrs.append('data-missing="true"')
            attrs.append('class="mark"')
        if extra:
            attrs.append(extra)
        inner = f"<title>{_esc(tooltip)}</title>" if tooltip else ""
        self.add(
            f"<rect {' '.join(attrs)}>{inner}</rect>" if inner else f"<rect {' '.join(attrs)}/>"
        )

    def circle(
        self,
        x: float,
        y: float,
        radius: float,
        fill: str,
        *,
        value: float | None,
        tooltip: str | None = None,
        extra: str = "",
    ) -> None:
        """A data mark drawn as a dot (``data-value`` carries its number)."""
        attrs = [
            f'cx="{_n(x)}"',
            f'cy="{_n(y)}"',
            f'r="{_n(max(radius, 0.0))}"',
            f'fill="{fill}"',
            f'data-value="{_data_value(value)}"',
            'class="mark"',
        ]
        if extra:
            attrs.append(extra)
        inner = f"<title>{_esc(tooltip)}</title>" if tooltip else ""
        self.add(f"<circle {' '.join(attrs)}>{inner}</circle>")

    def render(self, height: float, *, empty: bool = False) -> str:
        attrs = [f'class="chart chart-{self.kind}"', f'data-chart="{self.kind}"']
        if self.chart_id:
            attrs.append(f'id="{_esc(self.chart_id)}"')
        if empty:
            attrs.append('data-empty="true"')
        attrs += [
            f'viewBox="0 0 {_n(self.width)} {_n(height)}"',
            f'width="{_n(self.width)}"',
            f'height="{_n(height)}"',
            'role="img"',
            f'aria-label="{_esc(self.title)}"',
            f'font-family="{FONT_FAMILY}"',
        ]
        body = "".join(self.parts)
        return f"<svg {' '.join(attrs)}><title>{_esc(self.title)}</title>{body}</svg>"


def _empty_chart(
    kind: str, title: str, empty_text: str, width: float, chart_id: str | None, show_title: bool
) -> str:
    svg = _Svg(kind, title, width, chart_id)
    top = _title(svg, title, show_title) - 1.5
    svg.add(
        f'<rect x="0.5" y="{_n(top)}" width="{_n(width - 1)}" height="70" rx="6" fill="#f8fafc" '
        f'stroke="{GRID}" stroke-dasharray="4 3"/>'
    )
    svg.text(width / 2, top + 39.5, empty_text, size=LABEL_SIZE, anchor="middle", fill=TEXT_MUTED)
    return svg.render(top + 72, empty=True)


def _legend(svg: _Svg, names: Sequence[str], colors: Sequence[str], x0: float, y: float) -> float:
    """Draw a legend row (wrapping when needed); return the y below it."""
    x = x0
    for name, color in zip(names, colors, strict=False):
        label = truncate(name, 30)
        item_width = 16 + _text_width(label, TICK_SIZE) + 14
        if x > x0 and x + item_width > svg.width:
            x = x0
            y += 18
        svg.rect(x, y - 9, 10, 10, color, mark=False, extra='rx="2"')
        svg.text(x + 15, y, label, size=TICK_SIZE, fill=TEXT_MUTED, full=name)
        x += item_width
    return y + 14


def _title(svg: _Svg, title: str, show: bool = True) -> float:
    if not show:  # the page names the chart already; the <title> element still carries it
        return 4.0
    max_units = int(svg.width / (TITLE_SIZE * CHAR_WIDTH))
    svg.text(0, 15, truncate(title, max_units), size=TITLE_SIZE, weight="600", full=title)
    return 30.0


def _x_axis(
    svg: _Svg,
    lo: float,
    hi: float,
    ticks: Sequence[float],
    x0: float,
    x1: float,
    top: float,
    bottom: float,
    tick_format: Formatter,
) -> None:
    """Vertical gridlines and tick labels for a horizontal value axis."""
    for tick in ticks:
        x = x0 + _frac(tick, lo, hi) * (x1 - x0)
        svg.line(x, top, x, bottom, GRID)
        svg.text(
            x, bottom + 14, tick_format(tick), size=TICK_SIZE, anchor="middle", fill=TEXT_MUTED
        )


# ---------------------------------------------------------------------------------------------
# Horizontal bar charts: simple, stacked and grouped
# ---------------------------------------------------------------------------------------------


class _HLayout:
    """Shared geometry of the horizontal bar charts."""

    def __init__(
        self,
        svg: _Svg,
        labels: Sequence[str],
        value_texts: Sequence[str],
        *,
        top: float,
        band: float,
        max_label_units: int,
        value_label: str,
        category_label: str,
        negative: bool,
    ) -> None:
        width = svg.width
        self.left_pad = 18.0 if category_label else 0.0
        longest = max(
            (_text_width(truncate(s, max_label_units), LABEL_SIZE) for s in labels), default=0
        )
        self.label_width = min(longest + 10, width * 0.36)
        self.value_width = max((_text_width(s, VALUE_SIZE) for s in value_texts), default=0) + 8
        self.value_width = min(self.value_width, width * 0.25)
        self.x0 = self.left_pad + self.label_width + (self.value_width if negative else 4)
        self.x1 = max(width - self.value_width - 4, self.x0 + 20)
        self.top = top
        self.band = band
        self.bottom = top + band * len(labels)
        self.height = self.bottom + 22 + (20 if value_label else 0) + 4
        self.labels = [
            _fit_label(s, max_label_units, self.label_width - 8, LABEL_SIZE) for s in labels
        ]
        self.full_labels = list(labels)
        if category_label:
            svg.text(
                11,
                (self.top + self.bottom) / 2,
                category_label,
                size=TICK_SIZE,
                anchor="middle",
                fill=TEXT_MUTED,
                rotate=True,
            )
        if value_label:
            svg.text(
                (self.x0 + self.x1) / 2,
                self.bottom + 38,
                value_label,
                size=TICK_SIZE,
                anchor="middle",
                fill=TEXT_MUTED,
            )

    def category_labels(self, svg: _Svg) -> None:
        for index, (short, full) in enumerate(zip(self.labels, self.full_labels, strict=True)):
            y = self.top + index * self.band + self.band / 2 + LABEL_SIZE * 0.35
            svg.text(
                self.left_pad + self.label_width - 6,
                y,
                short,
                anchor="end",
                fill=TEXT_DARK,
                full=full,
            )

    def x(self, value: float, lo: float, hi: float) -> float:
        return self.x0 + _frac(value, lo, hi) * (self.x1 - self.x0)


def bar_chart(
    labels: Sequence[Any],
    values: Sequence[Any],
    *,
    title: str,
    value_label: str = "",
    category_label: str = "",
    value_format: Formatter = fmt_num,
    tick_format: Formatter = fmt_compact,
    colors: Sequence[str] | None = None,
    tooltips: Sequence[str] | None = None,
    width: float = 640,
    chart_id: str | None = None,
    empty_text: str = "No data",
    show_title: bool = True,
    max_label_units: int = 28,
) -> str:
    """Horizontal bar chart: one bar per label, value labels at the bar ends.

    Args:
        labels: Category names (any objects; shown with ``str``).
        values: One number per label; NaN/None/inf are drawn as an empty bar labelled "—".
        title: Chart title (also the SVG ``<title>``).
        value_label: Caption of the value (x) axis.
        category_label: Caption of the category (y) axis.
        value_format: Formats the value labels.
        tick_format: Formats the axis ticks.
        colors: One colour per bar (cycled); default is the first palette colour.
        tooltips: Optional hover text per bar.
        width: Width in pixels; the height follows from the number of bars.
        chart_id: ``id`` of the root element.
        empty_text: Shown instead of the chart when there are no labels.
        show_title: Draw the title above the chart (it is always in the ``<title>``).
        max_label_units: Labels longer than this (CJK counts double) are cut with "…".

    Returns:
        The ``<svg data-chart="bar">`` element as a string.
    """
    if len(labels) != len(values):
        raise ValueError(
            f"bar_chart needs one value per label; "
            f"got {len(labels)} labels and {len(values)} values"
        )
    if not labels:
        return _empty_chart("bar", title, empty_text, width, chart_id, show_title)
    names = _labels(labels)
    numbers = _numbers(values)
    palette = list(colors) if colors else [PALETTE[0]]
    value_texts = [value_format(v) if v is not None else MISSING for v in numbers]
    svg = _Svg("bar", title, width, chart_id)
    top = _title(svg, title, show_title) + 4
    lo, hi = _value_domain(numbers)
    lo, hi, ticks = nice_ticks(lo, hi)
    layout = _HLayout(
        svg,
        names,
        value_texts,
        top=top,
        band=28,
        max_label_units=max_label_units,
        value_label=value_label,
        category_label=category_label,
        negative=lo < 0,
    )
    _x_axis(svg, lo, hi, ticks, layout.x0, layout.x1, top, layout.bottom, tick_format)
    zero = layout.x(0.0, lo, hi)
    for index, (name, number, text) in enumerate(zip(names, numbers, value_texts, strict=True)):
        y = top + index * layout.band + 5
        end = zero if number is None else layout.x(number, lo, hi)
        tip = tooltips[index] if tooltips and index < len(tooltips) else f"{name}: {text}"
        svg.rect(
            min(zero, end),
            y,
            abs(end - zero),
            layout.band - 10,
            palette[index % len(palette)],
            value=number,
            tooltip=tip,
            extra='rx="2"',
        )
        negative = number is not None and number < 0
        svg.text(
            end - 4 if negative else end + 4,
            y + (layout.band - 10) / 2 + VALUE_SIZE * 0.35,
            text,
            size=VALUE_SIZE,
            anchor="end" if negative else "start",
            fill=TEXT_DARK,
            css_class="value-label",
        )
    svg.line(zero, top, zero, layout.bottom, AXIS)
    layout.category_labels(svg)
    return svg.render(layout.height)


def _series(
    series: Mapping[str, Sequence[Any]] | Sequence[tuple[str, Sequence[Any]]],
) -> list[tuple[str, list[float | None]]]:
    items = list(series.items()) if isinstance(series, Mapping) else list(series)
    return [(clean_label(name), _numbers(values)) for name, values in items]


def _series_matching(
    series: Mapping[str, Sequence[Any]] | Sequence[tuple[str, Sequence[Any]]],
    labels: Sequence[Any],
    chart: str,
) -> list[tuple[str, list[float | None]]]:
    """The chart's series, each checked to have one value per label."""
    parts = _series(series)
    for name, values in parts:
        if len(values) != len(labels):
            raise ValueError(
                f"{chart} series {name!r} has {len(values)} values for {len(labels)} labels"
            )
    return parts


def stacked_bar_chart(
    labels: Sequence[Any],
    series: Mapping[str, Sequence[Any]] | Sequence[tuple[str, Sequence[Any]]],
    *,
    title: str,
    value_label: str = "",
    category_label: str = "",
    value_format: Formatter = fmt_num,
    tick_format: Formatter = fmt_compact,
    totals: Sequence[Any] | None = None,
    colors: Sequence[str] | None = None,
    width: float = 640,
    chart_id: str | None = None,
    empty_text: str = "No data",
    show_title: bool = True,
    max_label_units: int = 28,
) -> str:
    """Horizontal stacked bar chart: one bar per label, one segment per series.

    Negative and missing values take no space in the stack (their segment is drawn with zero
    width but still carries its ``data-value``). Segment values are printed inside segments
    wide enough to hold them; the total (``totals`` if given, else the sum) after the bar.

    Args:
        labels: Category names.
        series: Series name → one value per label, in stacking order.
        title: Chart title.
        value_label: Caption of the value (x) axis.
        category_label: Caption of the category (y) axis.
        value_format: Formats segment values and totals.
        tick_format: Formats the axis ticks.
        totals: Optional number to print at the end of each bar.
        colors: One colour per series (cycled).
        width: Width in pixels.
        chart_id: ``id`` of the root element.
        empty_text: Shown when there are no labels or no series.
        show_title: Draw the title above the chart (it is always in the ``<title>``).
        max_label_units: Labels longer than this are cut with "…".

    Returns:
        The ``<svg data-chart="stacked-bar">`` element as a string.
    """
    parts = _series_matching(series, labels, "stacked_bar_chart")
    if not labels or not parts:
        return _empty_chart("stacked-bar", title, empty_text, width, chart_id, show_title)
    names = _labels(labels)
    palette = list(colors) if colors else list(PALETTE)
    stacks = [sum(max(values[i] or 0.0, 0.0) for _, values in parts) for i in range(len(names))]
    if totals is not None:
        total_numbers = _numbers(totals)
        total_texts = [value_format(v) if v is not None else MISSING for v in total_numbers]
    else:
        total_texts = [value_format(s) for s in stacks]
    svg = _Svg("stacked-bar", title, width, chart_id)
    top = (
        _legend(
            svg,
            [n for n, _ in parts],
            [palette[i % len(palette)] for i in range(len(parts))],
            0,
            _title(svg, title, show_title) + 2,
        )
        + 4
    )
    lo, hi = _value_domain([s if math.isfinite(s) else None for s in stacks])
    lo, hi, ticks = nice_ticks(lo, hi)
    layout = _HLayout(
        svg,
        names,
        total_texts,
        top=top,
        band=30,
        max_label_units=max_label_units,
        value_label=value_label,
        category_label=category_label,
        negative=False,
    )
    _x_axis(svg, lo, hi, ticks, layout.x0, layout.x1, top, layout.bottom, tick_format)
    for index, name in enumerate(names):
        y = top + index * layout.band + 5
        height = layout.band - 10
        cumulative = 0.0
        for series_index, (series_name, values) in enumerate(parts):
            number = values[index]
            size = max(number or 0.0, 0.0)
            start = layout.x(cumulative, lo, hi)
            cumulative += size
            end = layout.x(cumulative, lo, hi)
            text = value_format(number) if number is not None else MISSING
            svg.rect(
                start,
                y,
                end - start,
                height,
                palette[series_index % len(palette)],
                value=number,
                tooltip=f"{name} · {series_name}: {text}",
            )
            if end - start > _text_width(text, TICK_SIZE) + 8:
                svg.text(
                    (start + end) / 2,
                    y + height / 2 + TICK_SIZE * 0.35,
                    text,
                    size=TICK_SIZE,
                    anchor="middle",
                    fill="#ffffff",
                    css_class="value-label",
                )
        svg.text(
            layout.x(cumulative, lo, hi) + 4,
            y + height / 2 + VALUE_SIZE * 0.35,
            total_texts[index],
            size=VALUE_SIZE,
            weight="600",
            fill=TEXT_DARK,
            css_class="value-label",
        )
    svg.line(layout.x0, top, layout.x0, layout.bottom, AXIS)
    layout.category_labels(svg)
    return svg.render(layout.height)


def grouped_bar_chart(
    labels: Sequence[Any],
    series: Mapping[str, Sequence[Any]] | Sequence[tuple[str, Sequence[Any]]],
    *,
    title: str,
    value_label: str = "",
    category_label: str = "",
    value_format: Formatter = fmt_num,
    tick_format: Formatter = fmt_compact,
    colors: Sequence[str] | None = None,
    width: float = 640,
    chart_id: str | None = None,
    empty_text: str = "No data",
    show_title: bool = True,
    max_label_units: int = 28,
) -> str:
    """Horizontal grouped bar chart: for each label, one bar per series side by side.

    Use it to compare two measures on one scale, e.g. customer share against revenue share.

    Args:
        labels: Category names.
        series: Series name → one value per label.
        title: Chart title.
        value_label: Caption of the value (x) axis.
        category_label: Caption of the category (y) axis.
        value_format: Formats the value labels.
        tick_format: Formats the axis ticks.
        colors: One colour per series (cycled).
        width: Width in pixels.
        chart_id: ``id`` of the root element.
        empty_text: Shown when there are no labels or no series.
        show_title: Draw the title above the chart (it is always in the ``<title>``).
        max_label_units: Labels longer than this are cut with "…".

    Returns:
        The ``<svg data-chart="grouped-bar">`` element as a string.
    """
    parts = _series_matching(series, labels, "grouped_bar_chart")
    if not labels or not parts:
        return _empty_chart("grouped-bar", title, empty_text, width, chart_id, show_title)
    names = _labels(labels)
    palette = list(colors) if colors else list(PALETTE)
    every = [v for _, values in parts for v in values]
    value_texts = [value_format(v) if v is not None else MISSING for v in every]
    svg = _Svg("grouped-bar", title, width, chart_id)
    top = (
        _legend(
            svg,
            [n for n, _ in parts],
            [palette[i % len(palette)] for i in range(len(parts))],
            0,
            _title(svg, title, show_title) + 2,
        )
        + 4
    )
    lo, hi = _value_domain(every)
    lo, hi, ticks = nice_ticks(lo, hi)
    thickness = 11.0
    band = thickness * len(parts) + 2 * (len(parts) - 1) + 12
    layout = _HLayout(
        svg,
        names,
        value_texts,
        top=top,
        band=band,
        max_label_units=max_label_units,
        value_label=value_label,
        category_label=category_label,
        negative=lo < 0,
    )
    _x_axis(svg, lo, hi, ticks, layout.x0, layout.x1, top, layout.bottom, tick_format)
    zero = layout.x(0.0, lo, hi)
    for index, name in enumerate(names):
        for series_index, (series_name, values) in enumerate(parts):
            number = values[index]
            y = top + index * band + 6 + series_index * (thickness + 2)
            end = zero if number is None else layout.x(number, lo, hi)
            text = value_format(number) if number is not None else MISSING
            svg.rect(
                min(zero, end),
                y,
                abs(end - zero),
                thickness,
                palette[series_index % len(palette)],
                value=number,
                tooltip=f"{name} · {series_name}: {text}",
                extra='rx="1.5"',
            )
            negative = number is not None and number < 0
            svg.text(
                end - 3 if negative else end + 3,
                y + thickness / 2 + TICK_SIZE * 0.35,
                text,
                size=TICK_SIZE,
                anchor="end" if negative else "start",
                fill=TEXT_DARK,
                css_class="value-label",
            )
    svg.line(zero, top, zero, layout.bottom, AXIS)
    layout.category_labels(svg)
    return svg.render(layout.height)


# ---------------------------------------------------------------------------------------------
# Histogram
# ---------------------------------------------------------------------------------------------


def histogram(
    bin_starts: Sequence[Any],
    bin_ends: Sequence[Any],
    counts: Sequence[Any],
    *,
    title: str,
    x_label: str = "",
    y_label: str = "",
    value_format: Formatter = fmt_compact,
    edge_format: Formatter = fmt_compact,
    color: str = PALETTE[0],
    width: float = 400,
    height: float = 260,
    chart_id: str | None = None,
    empty_text: str = "No data",
    show_title: bool = True,
    label_top: int | None = None,
) -> str:
    """Vertical histogram: one bar per bin, drawn side by side at equal width.

    Bin edges label the x axis (thinned out when they would overlap); counts are printed above
    bars wide enough to hold them (only the `label_top` highest, when given) and are always in
    each bar's tooltip.

    Args:
        bin_starts: Lower edge of each bin.
        bin_ends: Upper edge of each bin.
        counts: Height of each bin; missing/NaN bins are drawn empty.
        title: Chart title.
        x_label: Caption of the x axis (the measured quantity).
        y_label: Caption of the y axis (what is counted).
        value_format: Formats the counts.
        edge_format: Formats the bin edges.
        color: Bar colour.
        width: Width in pixels.
        height: Height in pixels.
        chart_id: ``id`` of the root element.
        empty_text: Shown when there are no bins.
        show_title: Draw the title above the chart (it is always in the ``<title>``).
        label_top: Print the values of this many highest bars only (ties by position);
            the others are in their tooltips.

    Returns:
        The ``<svg data-chart="histogram">`` element as a string.
    """
    if not len(bin_starts) == len(bin_ends) == len(counts):
        raise ValueError(
            f"histogram needs as many bin starts, bin ends and counts; got "
            f"{len(bin_starts)}, {len(bin_ends)} and {len(counts)}"
        )
    if not counts:
        return _empty_chart("histogram", title, empty_text, width, chart_id, show_title)
    starts = _numbers(bin_starts)
    ends = _numbers(bin_ends)
    numbers = _numbers(counts)
    svg = _Svg("histogram", title, width, chart_id)
    count = len(numbers)
    texts = [value_format(v) if v is not None else MISSING for v in numbers]
    labelled = set(range(count))
    if label_top is not None:
        present = [(-v, i) for i, v in enumerate(numbers) if v is not None]
        labelled = {i for _, i in sorted(present)[:label_top]}
    lo, hi = _value_domain(numbers)
    lo, hi, ticks = nice_ticks(lo, hi, 4)
    tick_texts = [fmt_compact(t) for t in ticks]
    y_axis_width = max((_text_width(s, TICK_SIZE) for s in tick_texts), default=0) + 8
    x0 = (16.0 if y_label else 0.0) + y_axis_width
    x1 = width - 8
    step = (x1 - x0) / count
    gap = min(2.0, step * 0.15)
    label_size = 9.5
    widest_label = max(_text_width(s, label_size) for s in texts)
    # Value labels: upright when every one fits its bar, else turned upright-on-end, else
    # (very narrow bars) only in the tooltips.
    if widest_label + 2 <= step - gap:
        label_mode, headroom = "flat", 14.0
    elif step >= label_size + 1:
        label_mode, headroom = "turned", widest_label + 8
    else:
        label_mode, headroom = "none", 4.0
    top = _title(svg, title, show_title) + 4 + headroom
    bottom = max(height - 20 - (20 if x_label else 0), top + 20)
    if y_label:
        svg.text(
            11,
            (top + bottom) / 2,
            y_label,
            size=TICK_SIZE,
            anchor="middle",
            fill=TEXT_MUTED,
            rotate=True,
        )
    if x_label:
        svg.text(
            (x0 + x1) / 2, bottom + 34, x_label, size=TICK_SIZE, anchor="middle", fill=TEXT_MUTED
        )

    def y_of(value: float) -> float:
        return bottom - _frac(value, lo, hi) * (bottom - top)

    for tick, text in zip(ticks, tick_texts, strict=True):
        y = y_of(tick)
        svg.line(x0, y, x1, y, GRID)
        svg.text(x0 - 5, y + TICK_SIZE * 0.35, text, size=TICK_SIZE, anchor="end", fill=TEXT_MUTED)
    zero = y_of(0.0)
    for index, (number, text) in enumerate(zip(numbers, texts, strict=True)):
        x = x0 + index * step
        top_y = zero if number is None else y_of(number)
        edge_text = f"{edge_format(starts[index])} – {edge_format(ends[index])}"
        svg.rect(
            x + gap / 2,
            min(zero, top_y),
            step - gap,
            abs(zero - top_y),
            color,
            value=number,
            tooltip=f"{edge_text}: {text}",
        )
        below = number is not None and number < 0
        if index not in labelled:
            continue
        if label_mode == "flat":
            svg.text(
                x + step / 2,
                top_y + 11 if below else top_y - 3,
                text,
                size=label_size,
                anchor="middle",
                fill=TEXT_DARK,
                css_class="value-label",
            )
        elif label_mode == "turned":
            svg.text(
                x + step / 2 + label_size * 0.35,
                top_y + 3 if below else top_y - 3,
                text,
                size=label_size,
                anchor="end" if below else "start",
                fill=TEXT_DARK,
                rotate=True,
                css_class="value-label",
            )
    svg.line(x0, zero, x1, zero, AXIS)
    edges = [*starts, ends[-1]]
    edge_texts = [edge_format(e) if e is not None else MISSING for e in edges]
    widest = max(_text_width(s, TICK_SIZE) for s in edge_texts) + 6
    every = max(1, math.ceil(widest / step))
    for index, text in enumerate(edge_texts):
        if index % every and index != len(edge_texts) - 1:
            continue
        if index == len(edge_texts) - 1 and index % every and (index % every) * step < widest:
            continue  # the last edge would collide with the previous label
        x = x0 + index * step
        svg.line(x, bottom, x, bottom + 3, AXIS)
        svg.text(x, bottom + 14, text, size=TICK_SIZE, anchor="middle", fill=TEXT_MUTED)
    return svg.render(max(height, bottom + 20 + (20 if x_label else 0)))


# ---------------------------------------------------------------------------------------------
# Heatmap
# ---------------------------------------------------------------------------------------------


def heatmap(
    row_labels: Sequence[Any],
    col_labels: Sequence[Any],
    values: Sequence[Sequence[Any]],
    *,
    title: str,
    x_label: str = "",
    y_label: str = "",
    value_format: Formatter = fmt_compact,
    annotations: Sequence[Sequence[str]] | None = None,
    tooltips: Sequence[Sequence[str]] | None = None,
    width: float = 520,
    cell_height: float = 46,
    chart_id: str | None = None,
    empty_text: str = "No data",
    show_title: bool = True,
    max_label_units: int = 14,
) -> str:
    """Heatmap: one coloured, annotated cell per (row, column) with a colour legend.

    Colour runs from light (smallest value) to dark blue (largest); missing cells are grey
    and labelled "—". Rows shorter than ``col_labels`` are padded with missing cells.

    Args:
        row_labels: Labels down the left side, top to bottom.
        col_labels: Labels along the bottom, left to right.
        values: ``values[row][col]``.
        title: Chart title.
        x_label: Caption of the column axis.
        y_label: Caption of the row axis.
        value_format: Formats the cell annotations and legend.
        annotations: Optional second line of text per cell.
        tooltips: Optional hover text per cell.
        width: Width in pixels.
        cell_height: Height of one row of cells.
        chart_id: ``id`` of the root element.
        empty_text: Shown when there are no rows or columns.
        show_title: Draw the title above the chart (it is always in the ``<title>``).
        max_label_units: Row/column labels longer than this are cut with "…".

    Returns:
        The ``<svg data-chart="heatmap">`` element as a string.
    """
    if not row_labels or not col_labels:
        return _empty_chart("heatmap", title, empty_text, width, chart_id, show_title)
    rows = _labels(row_labels)
    cols = _labels(col_labels)
    grid: list[list[float | None]] = []
    for index in range(len(rows)):
        row = _numbers(values[index]) if index < len(values) else []
        grid.append((row + [None] * len(cols))[: len(cols)])
    finite = [v for row in grid for v in row if v is not None]
    lo = min(finite, default=0.0)
    hi = max(finite, default=0.0)
    svg = _Svg("heatmap", title, width, chart_id)
    top = _title(svg, title, show_title) + 6
    row_width = max(_text_width(truncate(s, max_label_units), LABEL_SIZE) for s in rows) + 10
    x0 = (18.0 if y_label else 0.0) + row_width
    legend_width = 64.0
    x1 = width - legend_width
    cell_width = (x1 - x0) / len(cols)
    bottom = top + cell_height * len(rows)
    for r, row_name in enumerate(rows):
        y = top + r * cell_height
        short = truncate(row_name, max_label_units)
        svg.text(
            x0 - 6, y + cell_height / 2 + LABEL_SIZE * 0.35, short, anchor="end", full=row_name
        )
        for c, col_name in enumerate(cols):
            number = grid[r][c]
            x = x0 + c * cell_width
            color = (
                "#eef0f3"
                if number is None
                else heat_color(_frac(number, lo, hi) if hi > lo else 0.5)
            )
            text = value_format(number) if number is not None else MISSING
            tip = (
                tooltips[r][c]
                if tooltips and r < len(tooltips) and c < len(tooltips[r])
                else f"{y_label or ''} {row_name} · {x_label or ''} {col_name}: {text}".strip()
            )
            svg.rect(
                x + 1,
                y + 1,
                cell_width - 2,
                cell_height - 2,
                color,
                value=number,
                tooltip=tip,
                extra='rx="3"',
            )
            ink = "#ffffff" if _is_dark(color) else TEXT_DARK
            note = ""
            if annotations and r < len(annotations) and c < len(annotations[r]):
                note = clean_label(annotations[r][c])
            size = min(13.0, max(cell_width / max(text_units(text), 1) / CHAR_WIDTH * 0.9, 7.0))
            centre_y = y + cell_height / 2 + (-2 if note else size * 0.35)
            if _text_width(text, size) <= cell_width - 4:
                svg.text(
                    x + cell_width / 2,
                    centre_y,
                    text,
                    size=size,
                    anchor="middle",
                    fill=ink,
                    weight="600",
                    css_class="value-label",
                )
            if note and _text_width(note, 9.5) <= cell_width - 4 and cell_height >= 32:
                svg.text(
                    x + cell_width / 2, centre_y + 13, note, size=9.5, anchor="middle", fill=ink
                )
    for c, col_name in enumerate(cols):
        short = _fit_label(col_name, max_label_units, cell_width - 4, TICK_SIZE)
        svg.text(
            x0 + (c + 0.5) * cell_width,
            bottom + 15,
            short,
            size=TICK_SIZE,
            anchor="middle",
            fill=TEXT_MUTED,
            full=col_name,
        )
    height = bottom + 22 + (18 if x_label else 0) + 4
    if x_label:
        svg.text(
            (x0 + x1) / 2, bottom + 36, x_label, size=TICK_SIZE, anchor="middle", fill=TEXT_MUTED
        )
    if y_label:
        svg.text(
            11,
            (top + bottom) / 2,
            y_label,
            size=TICK_SIZE,
            anchor="middle",
            fill=TEXT_MUTED,
            rotate=True,
        )
    # Colour legend: discrete swatches from the largest (top) to the smallest value.
    steps = 6
    legend_x = x1 + 14
    swatch_height = min((bottom - top) / steps, 22.0)
    for i in range(steps):
        fraction = 1 - i / (steps - 1)
        svg.rect(
            legend_x, top + i * swatch_height, 12, swatch_height, heat_color(fraction), mark=False
        )
    legend_texts = (
        value_format(hi) if finite else MISSING,
        value_format(lo) if finite else MISSING,
    )
    svg.text(legend_x + 16, top + TICK_SIZE * 0.8, legend_texts[0], size=TICK_SIZE, fill=TEXT_MUTED)
    svg.text(
        legend_x + 16, top + steps * swatch_height, legend_texts[1], size=TICK_SIZE, fill=TEXT_MUTED
    )
    return svg.render(height)


# ---------------------------------------------------------------------------------------------
# Calibration (reliability) chart
# ---------------------------------------------------------------------------------------------

CalibrationPoint = tuple[Any, Any, Any]
"""One bin of a calibration curve: (mean predicted, observed rate, customers)."""


def _pct_tick(value: Any) -> str:
    number = as_float(value)
    return MISSING if number is None else f"{number * 100:.0f}%"


def calibration_chart(
    series: Sequence[tuple[str, Sequence[CalibrationPoint]]],
    *,
    title: str,
    x_label: str = "",
    y_label: str = "",
    diagonal_label: str = "",
    tick_format: Formatter = _pct_tick,
    colors: Sequence[str] | None = None,
    tooltips: Sequence[Sequence[str]] | None = None,
    width: float = 540,
    height: float = 340,
    chart_id: str | None = None,
    empty_text: str = "No data",
    show_title: bool = True,
) -> str:
    """Reliability chart: observed rate against mean predicted probability, per bin.

    Both axes share one domain from 0 (to 1 at most, trimmed to the data so a model that
    never predicts above 30 % is not squeezed into a corner); the dashed diagonal is perfect
    calibration. Each series is a line through its bins in order of predicted probability,
    with one dot per bin whose area follows the bin's customers. A bin missing either
    coordinate has no place on the chart and is left out.

    Args:
        series: ``(name, points)`` per scorer; a point is ``(mean predicted, observed rate,
            customers)`` with rates as fractions (0–1) and customers optional.
        title: Chart title.
        x_label: Caption of the x axis (mean predicted probability).
        y_label: Caption of the y axis (observed rate).
        diagonal_label: Legend entry of the diagonal (none when empty).
        tick_format: Formats both axes' ticks (default: percentages).
        colors: One colour per series (cycled).
        tooltips: Optional hover text per point, ``tooltips[series][point]``.
        width: Width in pixels.
        height: Height in pixels.
        chart_id: ``id`` of the root element.
        empty_text: Shown when no series has a point.
        show_title: Draw the title above the chart (it is always in the ``<title>``).

    Returns:
        The ``<svg data-chart="calibration">`` element as a string.
    """
    palette = list(colors) if colors else list(PALETTE)
    parts: list[tuple[str, str, list[tuple[float, float, float | None, str | None]]]] = []
    for index, (name, given) in enumerate(series):
        tips = tooltips[index] if tooltips and index < len(tooltips) else []
        kept = []
        for position, point in enumerate(given):
            predicted, observed, customers = (as_float(v) for v in (*point, None, None)[:3])
            if predicted is None or observed is None:
                continue
            tip = tips[position] if position < len(tips) else None
            kept.append((predicted, observed, customers, tip))
        if kept:
            kept.sort(key=lambda item: item[0])
            parts.append((clean_label(name), palette[index % len(palette)], kept))
    if not parts:
        return _empty_chart("calibration", title, empty_text, width, chart_id, show_title)
    names = [name for name, _, _ in parts] + ([diagonal_label] if diagonal_label else [])
    swatches = [color for _, color, _ in parts] + ([AXIS] if diagonal_label else [])
    every = [v for _, _, points in parts for p in points for v in p[:2]]
    peak = min(max(max(every), 0.05), 1.0)
    lo, hi, ticks = nice_ticks(0.0, peak, 5)  # every nice step divides 1: hi stays <= 1
    tick_texts = [tick_format(tick) for tick in ticks]
    y_axis_width = max(_text_width(s, TICK_SIZE) for s in tick_texts) + 8
    x0 = (18.0 if y_label else 0.0) + y_axis_width
    legend_units = 26
    legend_width = min(
        max(_text_width(truncate(n, legend_units), TICK_SIZE) for n in names) + 34, width * 0.4
    )
    svg = _Svg("calibration", title, width, chart_id)
    top = _title(svg, title, show_title) + 8
    bottom = max(height - 22 - (20 if x_label else 0), top + 60)
    # a square plot, so the diagonal runs at 45°; the legend sits to its right
    side = max(min(width - x0 - legend_width - 12, bottom - top), 40.0)
    x1 = x0 + side
    plot_top = bottom - side
    for index, (name, color) in enumerate(zip(names, swatches, strict=True)):
        y = plot_top + 6 + index * 18
        label = _fit_label(name, legend_units, legend_width - 30, TICK_SIZE)
        if index == len(parts):  # the diagonal: a dashed stroke, as drawn
            svg.add(
                f'<line x1="{_n(x1 + 18)}" y1="{_n(y - 4)}" x2="{_n(x1 + 30)}" y2="{_n(y - 4)}" '
                f'stroke="{AXIS}" stroke-width="1.2" stroke-dasharray="3 2"/>'
            )
        else:
            svg.rect(x1 + 18, y - 9, 12, 10, color, mark=False, extra='rx="2"')
        svg.text(x1 + 35, y, label, size=TICK_SIZE, fill=TEXT_MUTED, full=name)

    def x_of(value: float) -> float:
        return x0 + _frac(value, lo, hi) * (x1 - x0)

    def y_of(value: float) -> float:
        return bottom - _frac(value, lo, hi) * (bottom - plot_top)

    for tick, text in zip(ticks, tick_texts, strict=True):
        svg.line(x_of(tick), plot_top, x_of(tick), bottom, GRID)
        svg.line(x0, y_of(tick), x1, y_of(tick), GRID)
        svg.text(x_of(tick), bottom + 14, text, size=TICK_SIZE, anchor="middle", fill=TEXT_MUTED)
        svg.text(
            x0 - 5,
            y_of(tick) + TICK_SIZE * 0.35,
            text,
            size=TICK_SIZE,
            anchor="end",
            fill=TEXT_MUTED,
        )
    svg.line(x0, bottom, x1, bottom, AXIS)
    svg.line(x0, plot_top, x0, bottom, AXIS)
    svg.add(
        f'<line x1="{_n(x_of(lo))}" y1="{_n(y_of(lo))}" x2="{_n(x_of(hi))}" y2="{_n(y_of(hi))}" '
        f'stroke="{AXIS}" stroke-width="1.2" stroke-dasharray="5 4" class="diagonal"/>'
    )
    if x_label:
        svg.text(
            (x0 + x1) / 2, bottom + 34, x_label, size=TICK_SIZE, anchor="middle", fill=TEXT_MUTED
        )
    if y_label:
        svg.text(
            11,
            (plot_top + bottom) / 2,
            y_label,
            size=TICK_SIZE,
            anchor="middle",
            fill=TEXT_MUTED,
            rotate=True,
        )
    largest = max((p[2] or 0.0 for _, _, points in parts for p in points), default=0.0)
    for name, color, points in parts:
        path = " ".join(f"{_n(x_of(p))},{_n(y_of(o))}" for p, o, _, _ in points)
        svg.add(
            f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2" '
            'stroke-linejoin="round" stroke-linecap="round"/>'
        )
        for predicted, observed, customers, tip in points:
            size = math.sqrt(max(customers or 0.0, 0.0) / largest) if largest > 0 else 0.5
            text = tip or (
                f"{name}: {tick_format(predicted)} → {tick_format(observed)}"
                + (f" · {fmt_num(customers, 0)}" if customers is not None else "")
            )
            svg.circle(
                x_of(predicted),
                y_of(observed),
                3.0 + 4.0 * size,
                color,
                value=observed,
                tooltip=text,
                extra=f'data-x="{_data_value(predicted)}" stroke="#ffffff" stroke-width="1.2"',
            )
    return svg.render(bottom + 22 + (20 if x_label else 0))


# ---------------------------------------------------------------------------------------------
# Radar chart
# ---------------------------------------------------------------------------------------------


def radar_chart(
    axes: Sequence[Any],
    series: Sequence[tuple[str, Sequence[Any]]],
    *,
    title: str,
    value_format: Formatter = fmt_num,
    colors: Sequence[str] | None = None,
    tooltips: Sequence[Sequence[str]] | None = None,
    width: float = 380,
    height: float = 320,
    chart_id: str | None = None,
    empty_text: str = "No data",
    show_title: bool = True,
    max_label_units: int = 18,
) -> str:
    """Radar (spider) chart: one spoke per axis, one closed polygon per series.

    The radial scale is symmetric around 0 (from ``-m`` at the centre to ``+m`` at the rim,
    ``m`` the largest absolute value, rounded), so standardised profiles such as effect sizes
    read naturally: a base drawn as all zeros is the middle ring and a segment bulges out
    where it is above the base and dips in where it is below. The 0 ring is drawn darker.
    Every vertex is a data mark (``data-value``); a missing value sits at the centre and is
    marked ``data-missing``.

    Args:
        axes: Axis (spoke) names, drawn clockwise from the top.
        series: ``(name, values)`` with one value per axis.
        title: Chart title.
        value_format: Formats the ring labels and the default tooltips.
        colors: One colour per series (cycled); default is the palette.
        tooltips: Optional hover text per vertex, ``tooltips[series][axis]``.
        width: Width in pixels.
        height: Height in pixels (the legend is drawn below).
        chart_id: ``id`` of the root element.
        empty_text: Shown when there are no axes or no series.
        show_title: Draw the title above the chart (it is always in the ``<title>``).
        max_label_units: Axis labels longer than this (CJK counts double) are cut with "…".

    Returns:
        The ``<svg data-chart="radar">`` element as a string.
    """
    if not axes or not series:
        return _empty_chart("radar", title, empty_text, width, chart_id, show_title)
    names = _labels(axes)
    parts = _series_matching(series, names, "radar_chart")
    palette = list(colors) if colors else list(PALETTE)
    finite = [abs(v) for _, values in parts for v in values if v is not None]
    peak = max(finite, default=0.0) or 1.0
    lo, hi, ticks = nice_ticks(-peak, peak, 4)
    svg = _Svg("radar", title, width, chart_id)
    top = _title(svg, title, show_title) + 4
    legend_height = 22.0
    short = [truncate(name, max_label_units) for name in names]
    label_room = min(max(_text_width(s, TICK_SIZE) for s in short) + 10, width * 0.3)
    radius = max(min(width / 2 - label_room, (height - top - legend_height) / 2 - 16), 30.0)
    cx, cy = width / 2, top + 16 + radius
    count = len(names)

    def point(index: int, fraction: float) -> tuple[float, float]:
        angle = -math.pi / 2 + 2 * math.pi * index / count
        r = radius * min(max(fraction, 0.0), 1.0)
        return cx + r * math.cos(angle), cy + r * math.sin(angle)

    for tick in ticks:
        fraction = _frac(tick, lo, hi)
        if fraction <= 0:
            continue
        ring = " ".join(f"{_n(x)},{_n(y)}" for x, y in (point(i, fraction) for i in range(count)))
        stroke, stroke_width = (AXIS, 1.4) if tick == 0 else (GRID, 1.0)
        svg.add(
            f'<polygon points="{ring}" fill="none" stroke="{stroke}" '
            f'stroke-width="{_n(stroke_width)}"/>'
        )
        svg.text(
            cx + 4,
            cy - radius * fraction + TICK_SIZE + 1,
            value_format(tick),
            size=TICK_SIZE - 1.5,
            fill=TEXT_MUTED,
            css_class="ring-label",
        )
    for index, (name, label) in enumerate(zip(names, short, strict=True)):
        x, y = point(index, 1.0)
        svg.line(cx, cy, x, y, GRID)
        angle = -math.pi / 2 + 2 * math.pi * index / count
        cos, sin = math.cos(angle), math.sin(angle)
        anchor = "start" if cos > 0.3 else ("end" if cos < -0.3 else "middle")
        lx, ly = point(index, 1.0)
        lx += 6 * cos
        ly += 6 * sin + TICK_SIZE * 0.35 + (5 * sin if abs(cos) <= 0.3 else 0)
        fitted = _fit_label(label, max_label_units, label_room - 6, TICK_SIZE)
        svg.text(lx, ly, fitted, size=TICK_SIZE, anchor=anchor, fill=TEXT_DARK, full=name)
    for s, (series_name, values) in enumerate(parts):
        color = palette[s % len(palette)]
        points = [
            point(i, _frac(v, lo, hi) if v is not None else 0.0) for i, v in enumerate(values)
        ]
        outline = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
        svg.add(
            f'<polygon points="{outline}" fill="{color}" fill-opacity="0.16" stroke="{color}" '
            f'stroke-width="2" stroke-linejoin="round" class="radar-area" '
            f'data-series="{_esc(series_name)}"/>'
        )
        tips = tooltips[s] if tooltips and s < len(tooltips) else []
        for i, ((x, y), v) in enumerate(zip(points, values, strict=True)):
            tip = (
                tips[i]
                if i < len(tips)
                else (
                    f"{series_name} · {names[i]}: {value_format(v) if v is not None else MISSING}"
                )
            )
            svg.circle(
                x,
                y,
                3.0,
                color,
                value=v,
                tooltip=tip,
                extra='data-missing="true"' if v is None else "",
            )
    bottom = cy + radius + 22
    legend_names = [name for name, _ in parts]
    legend_colors = [palette[s % len(palette)] for s in range(len(parts))]
    end = _legend(svg, legend_names, legend_colors, 8.0, bottom + 12)
    return svg.render(max(end, height))


# ---------------------------------------------------------------------------------------------
# Sankey (flow) chart
# ---------------------------------------------------------------------------------------------

SANKEY_NODE = 14.0
SANKEY_GAP = 14.0
SANKEY_MIN_NODE = 4.0


def _node_order(totals: dict[str, float], given: Sequence[Any] | None) -> list[str]:
    if given:
        order = [clean_label(name) for name in given if clean_label(name) in totals]
        return order + sorted((n for n in totals if n not in order), key=lambda n: -totals[n])
    return sorted(totals, key=lambda name: (-totals[name], name))


def sankey_chart(
    links: Sequence[tuple[Any, Any, Any]],
    *,
    title: str,
    left_title: str = "",
    right_title: str = "",
    value_format: Formatter = fmt_num,
    left_order: Sequence[Any] | None = None,
    right_order: Sequence[Any] | None = None,
    muted: Sequence[Any] = (),
    tooltips: Sequence[str] | None = None,
    width: float = 1100,
    chart_id: str | None = None,
    empty_text: str = "No data",
    show_title: bool = True,
    max_label_units: int = 26,
) -> str:
    """Two-column Sankey: nodes on the left flow into nodes on the right.

    Node heights and link widths are proportional to the flow (nodes have a small minimum
    height so a tiny group stays visible); each node is labelled with its name and total,
    and links thick enough to hold a label carry their value next to their source. A node
    of the same name has the same colour on both sides; nodes named in ``muted`` (e.g.
    "not in any segment") are grey. Links with a missing, zero or negative value are left
    out. Every link is one ``<path class="mark">`` with the raw value in ``data-value``.

    Args:
        links: ``(source, target, value)`` per flow; source names are left nodes, target
            names right nodes (the two sides are separate even when names repeat).
        title: Chart title.
        left_title: Caption above the left column (e.g. the earlier run).
        right_title: Caption above the right column.
        value_format: Formats node totals, link labels and tooltips.
        left_order: Order of the left nodes top to bottom (default: largest first).
        right_order: Order of the right nodes (default: largest first).
        muted: Node names drawn grey.
        tooltips: Optional hover text per link, in the order of ``links``.
        width: Width in pixels; the height follows from the number of nodes.
        chart_id: ``id`` of the root element.
        empty_text: Shown when no link carries a positive value.
        show_title: Draw the title above the chart (it is always in the ``<title>``).
        max_label_units: Node labels longer than this (CJK counts double) are cut with "…".

    Returns:
        The ``<svg data-chart="sankey">`` element as a string.
    """
    kept: list[tuple[str, str, float, str | None]] = []
    for index, (source, target, value) in enumerate(links):
        number = as_float(value)
        if number is None or number <= 0:
            continue
        tip = tooltips[index] if tooltips and index < len(tooltips) else None
        kept.append((clean_label(source), clean_label(target), number, tip))
    if not kept:
        return _empty_chart("sankey", title, empty_text, width, chart_id, show_title)
    left_totals: dict[str, float] = {}
    right_totals: dict[str, float] = {}
    for source, target, number, _ in kept:
        left_totals[source] = left_totals.get(source, 0.0) + number
        right_totals[target] = right_totals.get(target, 0.0) + number
    lefts = _node_order(left_totals, left_order)
    rights = _node_order(right_totals, right_order)
    grey = {clean_label(name) for name in muted}
    spare = iter(itertools.cycle(PALETTE))
    colors: dict[str, str] = {}
    for name in [*lefts, *rights]:
        if name not in colors:
            colors[name] = "#a0aec0" if name in grey else next(spare)
    total = sum(left_totals.values())
    most = max(len(lefts), len(rights))
    plot_height = max(220.0, most * 34.0)
    scale = (plot_height - SANKEY_GAP * (most - 1) - SANKEY_MIN_NODE * most) / total

    def labels_for(order: list[str], totals: dict[str, float]) -> list[str]:
        return [f"{name} · {value_format(totals[name])}" for name in order]

    left_labels = labels_for(lefts, left_totals)
    right_labels = labels_for(rights, right_totals)
    label_room = min(
        max(
            _text_width(truncate(s, max_label_units), LABEL_SIZE)
            for s in left_labels + right_labels
        )
        + 12,
        width * 0.3,
    )
    svg = _Svg("sankey", title, width, chart_id)
    top = _title(svg, title, show_title) + (22 if left_title or right_title else 6)
    x_left = label_room
    x_right = width - label_room - SANKEY_NODE

    def layout(order: list[str], totals: dict[str, float]) -> dict[str, tuple[float, float]]:
        heights = [max(totals[name] * scale, SANKEY_MIN_NODE) for name in order]
        used = sum(heights) + SANKEY_GAP * (len(order) - 1)
        y = top + (plot_height - used) / 2
        places: dict[str, tuple[float, float]] = {}
        for name, h in zip(order, heights, strict=True):
            places[name] = (y, h)
            y += h + SANKEY_GAP
        return places

    left_place = layout(lefts, left_totals)
    right_place = layout(rights, right_totals)
    for caption, x, anchor in ((left_title, 0.0, "start"), (right_title, width, "end")):
        if caption:
            fitted = _fit_label(caption, 60, width / 2 - 20, LABEL_SIZE)
            svg.text(
                x,
                top - 10,
                fitted,
                size=LABEL_SIZE,
                weight="600",
                anchor=anchor,
                fill=TEXT_MUTED,
                full=caption,
            )
    rank_left = {name: i for i, name in enumerate(lefts)}
    rank_right = {name: i for i, name in enumerate(rights)}
    out_offset = dict.fromkeys(lefts, 0.0)
    in_offset = dict.fromkeys(rights, 0.0)
    x0, x1 = x_left + SANKEY_NODE, x_right
    middle = (x0 + x1) / 2
    for source, target, number, tip in sorted(
        kept, key=lambda k: (rank_left[k[0]], rank_right[k[1]])
    ):
        thickness = max(number * scale, 1.0)
        y0 = left_place[source][0] + out_offset[source]
        y1 = right_place[target][0] + in_offset[target]
        out_offset[source] += number * scale
        in_offset[target] += number * scale
        path = (
            f"M{_n(x0)},{_n(y0)} C{_n(middle)},{_n(y0)} {_n(middle)},{_n(y1)} {_n(x1)},{_n(y1)} "
            f"L{_n(x1)},{_n(y1 + thickness)} C{_n(middle)},{_n(y1 + thickness)} "
            f"{_n(middle)},{_n(y0 + thickness)} {_n(x0)},{_n(y0 + thickness)} Z"
        )
        text = tip or f"{source} → {target}: {value_format(number)}"
        svg.add(
            f'<path d="{path}" fill="{colors[source]}" fill-opacity="0.42" class="mark link" '
            f'data-value="{_data_value(number)}" data-source="{_esc(source)}" '
            f'data-target="{_esc(target)}"><title>{_esc(text)}</title></path>'
        )
        label = value_format(number)
        if thickness >= VALUE_SIZE + 2 and _text_width(label, VALUE_SIZE) < (x1 - x0) / 4:
            svg.text(
                x0 + 6,
                y0 + thickness / 2 + VALUE_SIZE * 0.35,
                label,
                size=VALUE_SIZE,
                fill=TEXT_DARK,
                css_class="value-label",
            )
    for order, places, labels, x, side in (
        (lefts, left_place, left_labels, x_left, "left"),
        (rights, right_place, right_labels, x_right, "right"),
    ):
        for name, label in zip(order, labels, strict=True):
            y, h = places[name]
            svg.rect(x, y, SANKEY_NODE, h, colors[name], mark=False, extra=f'data-node="{side}"')
            fitted = _fit_label(label, max_label_units, label_room - 10, LABEL_SIZE)
            svg.text(
                x - 6 if side == "left" else x + SANKEY_NODE + 6,
                y + h / 2 + LABEL_SIZE * 0.35,
                fitted,
                anchor="end" if side == "left" else "start",
                full=label,
            )
    return svg.render(top + plot_height + 8)
