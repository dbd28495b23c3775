"""Display-ready pieces the report's sections are built from: cells, tables and headline cards.

Each section module turns summary tables into these; ``templates/report.html.j2`` lays them
out. Nothing here knows about a particular section.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from segmint.report.fmt import MISSING, as_float, fmt_int

FULL_WIDTH = 1100.0
HALF_WIDTH = 540.0
THIRD_WIDTH = 360.0
COLOR_LOADED = "#27ae60"
COLOR_QUARANTINED = "#eb5757"
COLOR_OTHER = "#a0aec0"
COLOR_CUSTOMERS = "#2f6fdf"
COLOR_REVENUE = "#f2994a"


@dataclass(frozen=True)
class Cell:
    """One table cell, already formatted.

    ``kind`` is ``text``, ``badge`` (a pass/fail pill), ``meter`` (a percentage with a small
    bar and the threshold marked), ``code`` (preformatted, escaped raw text) or ``mono``
    (inline monospaced text, e.g. a masked identifier).
    """

    text: str
    sort: str | None = None
    numeric: bool = False
    tone: str | None = None
    kind: str = "text"
    fraction: float | None = None
    threshold: float | None = None
    title: str | None = None


@dataclass(frozen=True)
class Column:
    """A table header."""

    label: str
    numeric: bool = False
    title: str | None = None


@dataclass(frozen=True)
class Table:
    """A sortable table; rendered as a "no data" note when it has no rows."""

    columns: list[Column]
    rows: list[list[Cell]]
    footer: list[Cell] = field(default_factory=list)
    css_class: str = ""


@dataclass(frozen=True)
class Kpi:
    """A headline number with a caption and an optional tone (pass, fail, warn)."""

    label: str
    value: str
    note: str = ""
    tone: str | None = None
    title: str | None = None


def frame_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a (possibly empty or missing) table as dicts with string keys."""
    if frame is None or len(frame) == 0:
        return []
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]


def dict_rows(value: Any) -> list[dict[str, Any]]:
    """A table or a list of dicts as a list of dicts; anything else as an empty list."""
    if isinstance(value, pd.DataFrame):
        return frame_rows(value)
    if not isinstance(value, Iterable) or isinstance(value, str | bytes | dict):
        return []
    return [dict(item) for item in value if isinstance(item, dict)]


def num_cell(
    value: Any, formatter: Callable[[Any], str] = fmt_int, tone: str | None = None
) -> Cell:
    """A right-aligned number cell that sorts by value (missing values sort first)."""
    number = as_float(value)
    return Cell(
        formatter(value),
        sort="" if number is None else repr(number),
        numeric=True,
        tone=tone,
    )


def ratio(numerator: Any, denominator: Any) -> float | None:
    """``numerator / denominator``, or None when either is missing or the denominator is 0."""
    top, bottom = as_float(numerator), as_float(denominator)
    if top is None or bottom is None or bottom == 0:
        return None
    return top / bottom


def pct_tick(value: Any) -> str:
    """An axis tick for a share: ``0.25`` → ``25%``."""
    number = as_float(value)
    return MISSING if number is None else f"{number * 100:.0f}%"
