"""Backtest cutoffs: where each window of a time-based backtest starts and ends.

With the data's as-of time `T` and a target horizon `h` (days):

| window | cutoff | outcome seen until | used for |
|---|---|---|---|
| train | T − 3h | T − 2h | fitting the backtest model |
| validate | T − 2h | T − h | early stopping and the calibrator |
| test | T − h | T | the reported (held-out) metrics |
| deploy_train | T − 2h | T − h | refitting the deployed model (same rounds) |
| deploy_calibrate | T − h | T | calibrating the deployed model |

The deployed model is then used to score at `T` itself, on the freshest data.

Small customer bases give small windows, and a model trained on one window of a few thousand
customers is mostly noise. So training *stacks* earlier windows as well — cutoffs T − 3h,
T − 4h, … (all outcomes still end by T − 2h, before the validate window starts) — until the
training rows reach `STACK_UNTIL_ROWS` or `MAX_TRAIN_WINDOWS` windows are used or the history
runs out; the deployed model uses as many windows, each one horizon later (T − 2h, T − 3h …).
A base large enough for one window trains on exactly the cutoffs above.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

WINDOW_NAMES = ("train", "validate", "test", "deploy_train", "deploy_calibrate")
#: Earlier training windows are stacked until the training rows reach this many …
STACK_UNTIL_ROWS = 10_000
#: … or this many windows are used.
MAX_TRAIN_WINDOWS = 4


@dataclass(frozen=True)
class Cutoffs:
    """The five cutoffs of one target's backtest (naive UTC datetimes)."""

    as_of: dt.datetime
    horizon_days: int
    train: dt.datetime
    validate: dt.datetime
    test: dt.datetime
    deploy_train: dt.datetime
    deploy_calibrate: dt.datetime

    def as_dict(self) -> dict[str, dt.datetime]:
        """Window name → cutoff."""
        return {name: getattr(self, name) for name in WINDOW_NAMES}

    def outcome_end(self, cutoff: dt.datetime) -> dt.datetime:
        """The end of the outcome window that starts at `cutoff`."""
        return cutoff + dt.timedelta(days=self.horizon_days)

    def distinct(self) -> list[dt.datetime]:
        """Every distinct cutoff, oldest first (the deploy windows reuse backtest ones)."""
        return sorted(set(self.as_dict().values()))

    def earlier(self, cutoff: dt.datetime, windows: int) -> list[dt.datetime]:
        """`cutoff` and the `windows` − 1 cutoffs one horizon apart before it, newest first."""
        step = dt.timedelta(days=self.horizon_days)
        return [cutoff - i * step for i in range(windows)]


def backtest_cutoffs(as_of: dt.datetime, horizon_days: int) -> Cutoffs:
    """The backtest cutoffs for data ending at `as_of` and a horizon of `horizon_days`."""
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be at least 1, got {horizon_days}")
    h = dt.timedelta(days=horizon_days)
    return Cutoffs(
        as_of=as_of,
        horizon_days=horizon_days,
        train=as_of - 3 * h,
        validate=as_of - 2 * h,
        test=as_of - h,
        deploy_train=as_of - 2 * h,
        deploy_calibrate=as_of - h,
    )
