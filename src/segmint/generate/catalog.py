"""The product catalogue: SKUs per category, sorted by price so a tier picks a price band."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from segmint.generate.arrays import I64
from segmint.generate.fmt import join, padded, take
from segmint.generate.vocab import CATEGORIES, VARIANTS

SKUS_PER_CATEGORY = 60


@dataclass(frozen=True)
class Catalog:
    """SKUs as columns; the SKUs of category c are rows c*SKUS_PER_CATEGORY onwards."""

    sku: pa.Array
    name: pa.Array
    brand: pa.Array
    category: I64
    price: I64  # cents

    def pick(self, category: I64, tier: np.ndarray) -> I64:
        """A SKU of each category at a price tier in [0, 1] (0 = cheapest)."""
        within = np.clip((tier * SKUS_PER_CATEGORY).astype(np.int64), 0, SKUS_PER_CATEGORY - 1)
        return category * SKUS_PER_CATEGORY + within


def build_catalog(rng: np.random.Generator) -> Catalog:
    """Draw SKU names, brands and list prices (log-normal around each category's median)."""
    per = SKUS_PER_CATEGORY
    n = per * len(CATEGORIES)
    category = np.repeat(np.arange(len(CATEGORIES)), per).astype(np.int64)
    median = np.array([c[2] for c in CATEGORIES])[category]
    price = np.exp(np.log(median) + rng.normal(0.0, 0.7, n))
    for c in range(len(CATEGORIES)):  # sort each category's prices ascending
        price[c * per : (c + 1) * per] = np.sort(price[c * per : (c + 1) * per])
    # shop prices end in .9 or 9.0
    cents = np.where(price < 100, np.round(price) * 100 - 10, np.round(price / 10) * 1000 - 100)
    cents = np.maximum(cents, 190).astype(np.int64)
    noun = rng.integers(0, 10, n)
    brand_pick = rng.integers(0, 100, n)
    nouns = [noun_ for c in CATEGORIES for noun_ in c[3]]
    brands = [[b for b in c[4]] for c in CATEGORIES]
    brand = pa.array(
        [
            brands[c][k % len(brands[c])]
            for c, k in zip(category.tolist(), brand_pick.tolist(), strict=True)
        ],
        pa.string(),
    )
    name = join(
        brand,
        take(nouns, category * 10 + noun),
        take(VARIANTS, rng.integers(0, len(VARIANTS), n)),
        sep=" ",
    )
    prefixes = np.array([c[1] for c in CATEGORIES])[category]
    sku = join(
        pa.array(prefixes.tolist(), pa.string()),
        padded(10_000 + np.arange(n) * 37 % 90_000, 5),
    )
    return Catalog(sku=sku, name=name, brand=brand, category=category, price=cents)
