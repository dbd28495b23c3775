"""MBG/NBD (Batislam, Denizel and Filiztekin 2007; Wagner and Hoppe 2008).

As BG/NBD, except that a customer can also drop out right after their first purchase, so a
customer without repeat purchases is not certainly alive:

    L = B(a, b+x+1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
      + B(a+1, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))

P(alive) = 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x)) for every x. The fitting, the gradient
and the predictions are `BetaGeoFamily`'s with `offset` = 1.
"""

from __future__ import annotations

from typing import ClassVar

from segmint.predict.clv.bgnbd import BetaGeoFamily


class ModifiedBetaGeoNBD(BetaGeoFamily):
    """MBG/NBD: `ModifiedBetaGeoNBD().fit(frequency, recency, T)`; parameters r, alpha, a, b."""

    name: ClassVar[str] = "mbgnbd"
    offset: ClassVar[int] = 1
