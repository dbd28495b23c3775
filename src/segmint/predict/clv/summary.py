"""Per-customer frequency, recency, T and monetary value from a transactions frame.

The definitions are those of lifetimes' `summary_data_from_transaction_data` with
`freq="D"` and `freq_multiplier=period_days`:

- times are cut to the calendar day; transactions after the day of `as_of` are dropped;
- purchases on the same day are one purchase (their values are summed);
- `frequency` = purchase days − 1 (repeat purchases); `recency` = first → last purchase day;
  `T` = first purchase day → the day of `as_of`; both in days / `period_days`;
- `monetary_value` = mean value of the repeat purchase days (the first is left out), 0 for a
  customer without a repeat purchase.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from segmint.predict.clv.base import FitError


def rfm_summary(
    transactions: pd.DataFrame,
    customer_col: str,
    time_col: str,
    value_col: str | None = None,
    *,
    as_of: dt.datetime | dt.date | str | pd.Timestamp,
    period_days: float = 1.0,
) -> pd.DataFrame:
    """One row per customer (index: the customer column): frequency, recency, T
    [, monetary_value], in periods of `period_days` days, as of the end of `as_of`'s day."""
    if not isinstance(transactions, pd.DataFrame):
        raise FitError(f"transactions must be a DataFrame, got {type(transactions).__name__}")
    for name in (customer_col, time_col, value_col):
        if name is not None and name not in transactions.columns:
            have = ", ".join(map(str, transactions.columns)) or "none"
            raise FitError(f"Required column {name!r} missing (columns: {have})")
    if not (np.isfinite(period_days) and period_days > 0):
        raise FitError(f"period_days must be a positive number of days, got {period_days!r}")
    try:
        end = pd.Timestamp(as_of)
    except (TypeError, ValueError) as exc:
        raise FitError(f"as_of is not a date or time: {as_of!r} ({exc})") from None
    if end.tzinfo is not None:
        end = end.tz_convert("UTC").tz_localize(None)
    end = end.floor("D")
    stamps = _times(transactions[time_col], time_col)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    missing = stamps.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise FitError(f"{time_col}: missing time (first at row {row})", column=time_col, row=row)
    frame = pd.DataFrame(
        {"customer": transactions[customer_col].to_numpy(), "day": stamps.dt.floor("D")}
    )
    if value_col is not None:
        values = pd.to_numeric(transactions[value_col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise FitError(
                f"{value_col}: {int(bad.sum()):,} values missing or not numbers (first at row "
                f"{row}: {transactions[value_col].iloc[row]!r})",
                column=value_col,
                row=row,
            )
        frame["value"] = values
    frame = frame[frame["day"] <= end]
    if value_col is not None:
        days = frame.groupby(["customer", "day"], sort=True)["value"].sum().reset_index()
    else:
        days = frame.drop_duplicates(["customer", "day"]).sort_values(["customer", "day"])
    per = days.groupby("customer", sort=True)["day"].agg(["min", "max", "count"])
    one_day = np.timedelta64(1, "D")
    out = pd.DataFrame(index=per.index)
    out.index.name = customer_col
    out["frequency"] = (per["count"] - 1).astype(float)
    out["recency"] = (per["max"] - per["min"]) / one_day / period_days
    out["T"] = (end - per["min"]) / one_day / period_days
    if value_col is not None:
        first = days.groupby("customer", sort=True)["day"].transform("min")
        repeat = days[days["day"] != first]
        mean = repeat.groupby("customer", sort=True)["value"].mean()
        out["monetary_value"] = mean.reindex(out.index).fillna(0.0).astype(float)
    return out.astype(float)


def _times(column: pd.Series, name: str) -> pd.Series:
    """The column as datetimes; text in one format is parsed fast, mixed formats one by one."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return column
    try:
        return pd.to_datetime(column)
    except (TypeError, ValueError):
        pass
    try:
        return pd.to_datetime(column, format="mixed")
    except (TypeError, ValueError) as exc:
        raise FitError(f"{name}: not dates or times ({exc})", column=name) from None
