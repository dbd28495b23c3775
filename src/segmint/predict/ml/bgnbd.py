"""BG/NBD at a cutoff: sufficient statistics in the engine, the fit on the small result.

Per customer with a paid order up to the cutoff, in days (one purchase per day at most, as
the model assumes): `frequency` = purchase days − 1, `recency` = first → last purchase day,
`T` = first purchase day → cutoff. Days are UTC calendar days. The model is fitted on every
customer of the cutoff's population, from data up to the cutoff only, so its outputs are
point-in-time features (and the BG/NBD baseline of the backtest).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass

import ibis.expr.types as ir
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from segmint.predict.summary import purchase_summary as customer_base_summary


def purchase_summary(bought: ir.Table, cutoff: dt.datetime) -> ir.Table:
    """customer_id, bgnbd_frequency, bgnbd_recency, bgnbd_t from paid orders up to `cutoff`
    (the CLV models' statistics, `segmint.predict.summary`, under feature names)."""
    summary = customer_base_summary(bought, cutoff)
    return summary.select(
        "customer_id",
        bgnbd_frequency=summary.frequency.cast("float64"),
        bgnbd_recency=summary.recency,
        bgnbd_t=summary["T"],
    )


@dataclass(frozen=True)
class BgnbdOutputs:
    """The BG/NBD columns for one cutoff and, if the fit failed, why."""

    frame: pd.DataFrame  # customer_id, bgnbd_p_alive, bgnbd_expected_purchases_<h>d, …
    note: str | None


def bgnbd_outputs(summary: pd.DataFrame, horizons: list[int]) -> BgnbdOutputs:
    """Fit BG/NBD on `summary` (from `purchase_summary`) and predict for every row.

    A fit that fails (FitError from the CLV module: degenerate data) leaves the output
    columns empty and says why in `note`; the statistics themselves are still features.
    """
    from segmint.predict.clv import BetaGeoNBD, FitError

    out = pd.DataFrame({"customer_id": summary["customer_id"].to_numpy()})
    columns = ["bgnbd_p_alive"]
    for h in sorted(set(horizons)):
        columns += [f"bgnbd_expected_purchases_{h}d", f"bgnbd_p_purchase_{h}d"]
    frequency = summary["bgnbd_frequency"].to_numpy(dtype=np.float64)
    recency = summary["bgnbd_recency"].to_numpy(dtype=np.float64)
    age = summary["bgnbd_t"].to_numpy(dtype=np.float64)
    try:
        model = BetaGeoNBD().fit(frequency, recency, age)
    except FitError as exc:
        for column in columns:
            out[column] = np.nan
        return BgnbdOutputs(out, f"BG/NBD could not be fitted ({exc}); its outputs are empty")
    outputs: dict[str, Callable[[], ArrayLike]] = {
        "bgnbd_p_alive": lambda: model.probability_alive(frequency, recency, age)
    }
    for h in sorted(set(horizons)):
        outputs[f"bgnbd_expected_purchases_{h}d"] = functools.partial(
            model.expected_purchases, h, frequency, recency, age
        )
        outputs[f"bgnbd_p_purchase_{h}d"] = functools.partial(
            model.probability_of_purchase, h, frequency, recency, age
        )
    failed = []
    for column, compute in outputs.items():
        try:
            out[column] = np.asarray(compute(), dtype=np.float64)
        except FitError:
            out[column] = np.nan
            failed.append(column)
    note = (
        f"BG/NBD could not compute {', '.join(failed)} (not finite); left empty" if failed else None
    )
    return BgnbdOutputs(out, note)
