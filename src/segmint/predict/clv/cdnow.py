"""The CDNOW data (Fader and Hardie's reference data set) and the calibration/holdout check.

The files ship inside the `lifetimes` package (a development dependency of segmint, the
reference implementation the models are tested against); they are found on disk through
`importlib.util.find_spec`, so lifetimes is never imported:

- `cdnow_customers_summary.csv`: 2,357 customers' frequency, recency, T in weeks, as of the
  end of week 39 (1997-09-30) — the data of the published BG/NBD and Pareto/NBD fits;
- `cdnow_customers_summary_with_transactions.csv`: the same with the mean repeat spend;
- `CDNOW_sample.txt`: those customers' transactions from 1997-01-01 to 1998-06-30 (the
  1/10th sample of the cohort that first bought in the first quarter of 1997);
- `CDNOW_master.txt`: the whole cohort (23,570 customers).

The classic check: fit on weeks 1–39, predict weeks 40–78, compare with what happened.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from segmint.errors import SourceReadError
from segmint.predict.clv.base import CountModel
from segmint.predict.clv.summary import rfm_summary

START = dt.date(1997, 1, 1)
CALIBRATION_END = dt.date(1997, 9, 30)  # end of week 39
HOLDOUT_END = dt.date(1998, 6, 30)  # end of week 78
WEEK_DAYS = 7.0
INSTALL_HINT = "pip install 'lifetimes==0.11.3' 'setuptools<81' (or: pip install -e '.[dev]')"


def datasets_dir() -> Path:
    """The folder of lifetimes' data files (SourceReadError if lifetimes is not installed)."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise SourceReadError(
            f"the CDNOW data ship with the lifetimes package, which is not installed; "
            f"{INSTALL_HINT}"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "datasets"
    if not folder.is_dir():
        raise SourceReadError(f"lifetimes is installed but has no datasets folder at {folder}")
    return folder


def _file(name: str) -> Path:
    path = datasets_dir() / name
    if not path.is_file():
        raise SourceReadError(f"{path} is missing from the lifetimes package; reinstall it")
    return path


def load_summary() -> pd.DataFrame:
    """2,357 customers (index `ID`): frequency, recency, T in weeks as of 1997-09-30."""
    frame = pd.read_csv(_file("cdnow_customers_summary.csv"), index_col="ID")
    return frame[["frequency", "recency", "T"]].astype(float)


def load_summary_with_monetary() -> pd.DataFrame:
    """The same customers with `monetary_value`, the mean spend of their repeat purchases."""
    frame = pd.read_csv(_file("cdnow_customers_summary_with_transactions.csv"), index_col="ID")
    frame = frame.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})
    return frame[["frequency", "recency", "T", "monetary_value"]].astype(float)


def load_transactions(*, sample: bool = True) -> pd.DataFrame:
    """Transactions: customer_id, date, cds, value (and master_id for the sample).

    `sample=True` reads the 2,357-customer sample (customer_id 1..2357, the summary's ID);
    `sample=False` the whole cohort (customer_id is the master id).
    """
    if sample:
        names = ["master_id", "customer_id", "date", "cds", "value"]
        path, skip = _file("CDNOW_sample.txt"), 0
    else:
        names = ["customer_id", "date", "cds", "value"]
        path, skip = _file("CDNOW_master.txt"), 1
    frame = pd.read_csv(
        path, sep=r"\s+", header=None, names=names, skiprows=skip, dtype={"date": str}
    )
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame


@dataclass(frozen=True)
class CalibrationHoldout:
    """A calibration summary and what each customer did in the holdout period."""

    calibration: pd.DataFrame  # frequency, recency, T, monetary_value (periods)
    holdout_purchases: pd.Series  # purchase days in the holdout, per customer (0 if none)
    holdout_periods: float
    first_day: pd.Series  # day of each customer's first purchase, since `start`


def calibration_holdout(
    transactions: pd.DataFrame,
    *,
    calibration_end: dt.date = CALIBRATION_END,
    holdout_end: dt.date = HOLDOUT_END,
    start: dt.date = START,
    period_days: float = WEEK_DAYS,
    customer_col: str = "customer_id",
    time_col: str = "date",
    value_col: str = "value",
) -> CalibrationHoldout:
    """Split transactions at the end of `calibration_end`'s day: the summary of customers
    who bought by then, and their purchase days after it up to `holdout_end` (inclusive)."""
    cal = rfm_summary(
        transactions,
        customer_col,
        time_col,
        value_col,
        as_of=calibration_end,
        period_days=period_days,
    )
    days = transactions[[customer_col, time_col]].copy()
    days[time_col] = pd.to_datetime(days[time_col]).dt.floor("D")
    days = days.drop_duplicates()
    after = days[
        (days[time_col] > pd.Timestamp(calibration_end))
        & (days[time_col] <= pd.Timestamp(holdout_end))
    ]
    holdout = after.groupby(customer_col).size().reindex(cal.index, fill_value=0)
    first = days.groupby(customer_col)[time_col].min().reindex(cal.index)
    return CalibrationHoldout(
        calibration=cal,
        holdout_purchases=holdout.astype(float),
        holdout_periods=(pd.Timestamp(holdout_end) - pd.Timestamp(calibration_end)).days
        / period_days,
        first_day=((first - pd.Timestamp(start)).dt.days).astype(float),
    )


def cumulative_repeat_purchases(
    model: CountModel,
    transactions: pd.DataFrame,
    first_day: pd.Series,
    *,
    periods: int,
    start: dt.date = START,
    period_days: float = WEEK_DAYS,
    customer_col: str = "customer_id",
    time_col: str = "date",
) -> pd.DataFrame:
    """Cumulative repeat purchase days of the cohort by the end of each period, actual and
    as the model expects them for new customers (Σ over customers of E[X(t − t0)]).

    Days count from `start` (day 0); period k ends with day k·period_days − 1, and a purchase
    on day d sits at time d/period_days, as in the summaries.
    """
    days = transactions[[customer_col, time_col]].copy()
    days["day"] = (pd.to_datetime(days[time_col]).dt.floor("D") - pd.Timestamp(start)).dt.days
    days = days.drop_duplicates([customer_col, "day"])
    days = days[days[customer_col].isin(first_day.index)]
    first = days[customer_col].map(first_day)
    repeat_days = np.sort(days.loc[days["day"] > first, "day"].to_numpy())
    ends = np.arange(1, periods + 1) * period_days - 1.0
    actual = np.searchsorted(repeat_days, ends, side="right")
    t0, cohort = np.unique(first_day.to_numpy(dtype=float), return_counts=True)
    predicted = np.array(
        [
            float(
                np.dot(
                    cohort, model.expected_purchases_new(np.maximum(end - t0, 0.0) / period_days)
                )
            )
            for end in ends
        ]
    )
    return pd.DataFrame(
        {"period": np.arange(1, periods + 1), "actual": actual, "predicted": predicted}
    )
