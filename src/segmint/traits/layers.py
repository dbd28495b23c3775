"""Value layers: buyers ranked by a score, then the first layer whose conditions hold.

A layer may ask for a top share of the whole buying base by the score (cumulative: 0.2 is
the top 20 %, 0.55 the top 55 %) and an extra rule in the tag language. Customers without a
paid order get no layer.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from segmint.project.spec_profile import LayerSettings
from segmint.tags.dsl import compile_rule


def assign_layers(profile: ir.Table, settings: LayerSettings, as_of: dt.datetime) -> ir.Table:
    """`profile` with a value_layer column."""
    buyer = profile.frequency > 0
    score = profile[settings.score]
    position = ibis.row_number().over(
        order_by=[
            buyer.desc(),
            score.desc(),
            profile.monetary.desc(),
            profile.customer_id.asc(),
        ]
    )
    buyers = buyer.cast("int64").sum().over()
    ranked = profile.mutate(_position=position, _buyers=buyers)
    cases = []
    for layer in settings.definitions:
        condition = ranked.frequency > 0
        if layer.top_share is not None:
            # row_number counts from 0: the first floor(buyers × share) buyers are the top
            condition &= (ranked._position + 1) <= ranked._buyers.cast("float64") * layer.top_share
        if layer.rule is not None:
            condition &= compile_rule(layer.rule, ranked, as_of=as_of, name=f"layer {layer.name}")
        cases.append((condition, ibis.literal(layer.name)))
    layer_expr = ibis.cases(*cases, else_=ibis.null("string"))
    return ranked.mutate(value_layer=layer_expr).drop("_position", "_buyers")
