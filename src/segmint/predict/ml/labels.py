"""Who is scored at a cutoff and what happened to them afterwards.

The population at cutoff `c` is every customer with at least one paid order up to `c`.
- repurchase: at least one paid order in (c, c + h];
- churn: no paid order in (c, c + h].
Each target has its own horizon `h` (`predict.<target>.horizon_days`).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, get_args

import ibis
import ibis.expr.types as ir

from segmint.predict.ml.errors import ModelError
from segmint.traits.profile import ProfileInputs, paid_orders

Target = Literal["churn", "repurchase"]
TARGETS: tuple[str, ...] = get_args(Target)

DEFINITIONS: dict[str, str] = {
    "churn": "no paid order in the {h} days after the cutoff",
    "repurchase": "at least one paid order in the {h} days after the cutoff",
}


def check_target(target: str) -> Target:
    """`target` if it is a known target, else a ModelError naming the allowed ones."""
    if target not in TARGETS:
        raise ModelError(
            f"The 'target' parameter must be one of {', '.join(TARGETS)}. Got {target!r} instead."
        )
    return target  # type: ignore[return-value]


def _paid(inputs: ProfileInputs, until: dt.datetime) -> ir.Table:
    bought = paid_orders(inputs, until)
    if bought is None:
        raise ModelError(
            "churn and repurchase scores need an orders entity; the project maps no source "
            "onto orders"
        )
    return bought


def population(inputs: ProfileInputs, cutoff: dt.datetime) -> ir.Table:
    """One row per customer with at least one paid order up to `cutoff`: customer_id."""
    bought = _paid(inputs, cutoff)
    return bought.select("customer_id").distinct()


def labels(
    inputs: ProfileInputs, cutoff: dt.datetime, horizon_days: int, target: Target
) -> ir.Table:
    """customer_id and label (1 = the target happened) for the population at `cutoff`."""
    check_target(target)
    end = cutoff + dt.timedelta(days=horizon_days)
    later = _paid(inputs, end)
    later = later.filter(later.ordered_at > ibis.literal(cutoff))
    bought_again = later.select("customer_id").distinct().mutate(_again=ibis.literal(1))
    joined = population(inputs, cutoff).left_join(bought_again, "customer_id")
    again = joined._again.notnull()
    label = again if target == "repurchase" else ~again
    return joined.select("customer_id", label=label.cast("int64"))
