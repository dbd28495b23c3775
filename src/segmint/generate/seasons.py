"""The retail calendar: weekends, shopping festivals, Spring Festival, active hours.

`Calendar.sample` draws timestamps inside per-row windows with a persona-specific density
over days (weekend and promotion sensitivity) and hours. It works on whole arrays: one
`searchsorted` per persona, no loop over rows.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from segmint.generate.arrays import F64, I64, Bool
from segmint.generate.fmt import LOCAL_OFFSET
from segmint.generate.personas import PERSONAS

DAY = 86400
YEAR = 365.25 * DAY

# Chinese New Year (Spring Festival) by year.
_CNY: dict[int, tuple[int, int]] = {
    2015: (2, 19),
    2016: (2, 8),
    2017: (1, 28),
    2018: (2, 16),
    2019: (2, 5),
    2020: (1, 25),
    2021: (2, 12),
    2022: (2, 1),
    2023: (1, 22),
    2024: (2, 10),
    2025: (1, 29),
    2026: (2, 17),
    2027: (2, 6),
    2028: (1, 26),
    2029: (2, 13),
    2030: (2, 3),
    2031: (1, 23),
    2032: (2, 11),
}


def epoch_seconds(moment: dt.datetime) -> int:
    """A naive-UTC (or aware) datetime as integer epoch seconds."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp())


class Calendar:
    """Day and hour densities from `history_days` before to `future_days` after as-of."""

    def __init__(self, as_of: int, history_days: int = 730, future_days: int = 181) -> None:
        self.as_of = as_of
        self.window_start = as_of - history_days * DAY
        self.day0 = (self.window_start + LOCAL_OFFSET) // DAY - 1
        self.n_days = history_days + future_days + 3
        days = self.day0 + np.arange(self.n_days)
        weekend = ((days + 3) % 7) >= 5  # 1970-01-01 was a Thursday
        promo = np.zeros(self.n_days)
        festival = np.ones(self.n_days)
        first = dt.date(1970, 1, 1) + dt.timedelta(days=int(self.day0))
        last = first + dt.timedelta(days=self.n_days)

        def mark(year: int, month: int, day: int) -> int:
            return (dt.date(year, month, day) - first).days

        for year in range(first.year - 1, last.year + 2):
            spans = (
                (mark(year, 10, 31), mark(year, 11, 11), 0.4),  # 11.11 pre-sale
                (mark(year, 11, 11), mark(year, 11, 12), 3.0),  # 11.11
                (mark(year, 6, 1), mark(year, 6, 18), 0.3),  # 618 run-up
                (mark(year, 6, 18), mark(year, 6, 19), 2.0),  # 618
                (mark(year, 12, 12), mark(year, 12, 13), 1.0),  # 12.12
                (mark(year, 3, 7), mark(year, 3, 9), 0.5),  # Women's day
            )
            for lo, hi, lift in spans:
                promo[max(lo, 0) : max(min(hi, self.n_days), 0)] += lift
            month, day = _CNY.get(year, (2, 5))
            cny = mark(year, month, day)
            festival[max(cny - 21, 0) : max(min(cny - 3, self.n_days), 0)] *= 1.4  # new-year goods
            festival[max(cny - 2, 0) : max(min(cny + 7, self.n_days), 0)] *= 0.4  # holiday lull
        self.weekend: Bool = weekend
        self.promo: F64 = promo
        self.cdf: list[F64] = []
        self.hour_cdf: list[F64] = []
        for p in PERSONAS:
            weight = (1.0 + p.weekend * weekend) * (1.0 + p.promo * promo) * festival
            self.cdf.append(np.concatenate([[0.0], np.cumsum(weight)]))
            hours = np.asarray(p.hours, float)
            self.hour_cdf.append(np.concatenate([[0.0], np.cumsum(hours) / hours.sum()]))

    def is_promo(self, t: I64) -> Bool:
        """Whether each UTC timestamp falls on a promotion day (local calendar)."""
        day = np.clip((t + LOCAL_OFFSET) // DAY - self.day0, 0, self.n_days - 1)
        return np.asarray(self.promo[day] > 0)

    def is_weekend(self, t: I64) -> Bool:
        """Whether each UTC timestamp falls on a local Saturday or Sunday."""
        return np.asarray(((t + LOCAL_OFFSET) // DAY + 3) % 7 >= 5)

    def sample(
        self,
        persona: np.ndarray,
        start: I64,
        end: I64,
        rng: np.random.Generator,
        front_loaded: Bool | None = None,
    ) -> I64:
        """One UTC timestamp per row in `[start, end)`, shaped by the row's persona.

        front_loaded rows get a density that falls linearly over their window (fading
        interest before churn).
        """
        n = len(start)
        out = np.empty(n, np.int64)
        if n == 0:
            return out
        end = np.maximum(end, start + 1)
        first = np.clip((start + LOCAL_OFFSET) // DAY - self.day0, 0, self.n_days - 1)
        last = np.clip((end - 1 + LOCAL_OFFSET) // DAY - self.day0, 0, self.n_days - 1)
        last = np.maximum(first, last)
        u = rng.random(n)
        if front_loaded is not None:
            u = np.where(front_loaded, 1.0 - np.sqrt(1.0 - u), u)
        hour_u = rng.random(n)
        seconds = rng.integers(0, 3600, n)
        for k in range(len(PERSONAS)):
            rows = np.flatnonzero(persona == k)
            if len(rows) == 0:
                continue
            cdf = self.cdf[k]
            lo = cdf[first[rows]]
            hi = cdf[last[rows] + 1]
            day = np.searchsorted(cdf, lo + u[rows] * (hi - lo), side="right") - 1
            day = np.clip(day, first[rows], last[rows])
            hour = np.clip(np.searchsorted(self.hour_cdf[k], hour_u[rows], side="right") - 1, 0, 23)
            out[rows] = (self.day0 + day) * DAY + hour * 3600 + seconds[rows] - LOCAL_OFFSET
        # Rows drawn on the window's first or last day but outside it: redraw within it.
        span = np.minimum(end - start, DAY)
        early = out < start
        late = out >= end
        shift = (rng.random(n) * span).astype(np.int64)
        out = np.where(early, start + shift, out)
        return np.where(late, end - 1 - shift, out)
