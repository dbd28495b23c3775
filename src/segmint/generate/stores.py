"""The store network: codes, names, cities, the store phone and the in-store tablet."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from segmint.generate.arrays import I64
from segmint.generate.fmt import e164, padded
from segmint.generate.hubs import HubRegistry
from segmint.generate.ids import KIND_TABLET, id_key, mobile_numbers, uuid_text
from segmint.generate.vocab import CITIES, STORE_SUFFIXES


@dataclass(frozen=True)
class Stores:
    """All stores, plus a per-city index for picking a person's home store."""

    code: pa.Array
    name: pa.Array
    city: I64
    phone: I64
    phone_hub: I64
    tablet: pa.Array
    tablet_hub: I64
    by_city: I64  # store indices sorted by city
    city_first: I64  # per city: first position in by_city
    city_count: I64  # per city: number of stores

    def home_store(self, city: I64, rng: np.random.Generator) -> I64:
        """A store in the person's city if there is one, else any store."""
        count = self.city_count[city]
        pick = self.city_first[city] + (rng.random(len(city)) * np.maximum(count, 1)).astype(
            np.int64
        )
        anywhere = rng.integers(0, len(self.city), len(city))
        local = self.by_city[np.minimum(pick, len(self.by_city) - 1)]
        return np.where(count > 0, local, anywhere)


def build_stores(
    customers: int,
    phone_counter_base: int,
    phone_key: int,
    rng: np.random.Generator,
    hubs: HubRegistry,
) -> Stores:
    """Roughly one store per 2,000 customers (4 to 400), placed by city weight and tier."""
    n = int(np.clip(customers // 2000, 4, 400))
    weights = np.array([w * (3.0 if tier <= 2 else 1.0) for _, _, _, tier, w in CITIES])
    city = rng.choice(len(CITIES), size=n, p=weights / weights.sum())
    city = np.sort(city)
    names: list[str] = []
    rank: dict[int, int] = {}
    for c in city.tolist():  # a few hundred stores at most
        r = rank.get(c, 0)
        rank[c] = r + 1
        suffix = STORE_SUFFIXES[r % len(STORE_SUFFIXES)]
        names.append(CITIES[c][2] + suffix + ("" if r < len(STORE_SUFFIXES) else str(r)))
    counter = phone_counter_base + np.arange(n, dtype=np.int64)
    phone = mobile_numbers(counter, key=phone_key, prefix_pick=rng.integers(0, 1000, n))
    tablet = uuid_text(np.arange(n, dtype=np.int64), id_key(KIND_TABLET, 0), upper=True)
    phone_hub = hubs.add("phone", e164(phone).to_pylist(), "store_phone")
    tablet_hub = hubs.add("device_id", tablet.to_pylist(), "store_tablet")
    city_count = np.bincount(city, minlength=len(CITIES)).astype(np.int64)
    city_first = np.concatenate([[0], np.cumsum(city_count)[:-1]]).astype(np.int64)
    return Stores(
        code=padded(np.arange(1, n + 1), 4, "ST"),
        name=pa.array(names, pa.string()),
        city=city.astype(np.int64),
        phone=phone,
        phone_hub=phone_hub,
        tablet=tablet,
        tablet_hub=tablet_hub,
        by_city=np.arange(n, dtype=np.int64),
        city_first=city_first,
        city_count=city_count,
    )
