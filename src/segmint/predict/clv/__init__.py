"""Probabilistic customer-base models: who is still a customer, how often they will buy, and
what they are worth.

    from segmint.predict.clv import BetaGeoNBD, GammaGamma, customer_lifetime_value
    model = BetaGeoNBD().fit(frequency, recency, T)
    model.probability_alive(frequency, recency, T)

Count models (fitted on frequency, recency, T): `BetaGeoNBD` (BG/NBD), `ParetoNBD`
(Pareto/NBD), `ModifiedBetaGeoNBD` (MBG/NBD). Spend model: `GammaGamma`. `rfm_summary`
turns a transactions frame into their inputs; `customer_lifetime_value` combines a count and
a spend model into a discounted value. Every failure they raise on purpose is a `FitError`.
"""

from __future__ import annotations

from segmint.predict.clv.base import CountModel, Estimator, FitError
from segmint.predict.clv.bgnbd import BetaGeoNBD
from segmint.predict.clv.gamma_gamma import GammaGamma
from segmint.predict.clv.mbgnbd import ModifiedBetaGeoNBD
from segmint.predict.clv.pnbd import ParetoNBD
from segmint.predict.clv.summary import rfm_summary
from segmint.predict.clv.value import customer_lifetime_value

#: Every model by its name (the CLI's --model and saved dictionaries' "model").
MODELS: dict[str, type[Estimator]] = {
    "bgnbd": BetaGeoNBD,
    "pnbd": ParetoNBD,
    "mbgnbd": ModifiedBetaGeoNBD,
    "gamma-gamma": GammaGamma,
}

__all__ = [
    "MODELS",
    "BetaGeoNBD",
    "CountModel",
    "Estimator",
    "FitError",
    "GammaGamma",
    "ModifiedBetaGeoNBD",
    "ParetoNBD",
    "customer_lifetime_value",
    "rfm_summary",
]
