"""Shared identifiers planted on purpose: store phones, placeholders, shared devices.

Identity resolution must not merge everyone who typed the store's phone number. The
registry names every planted hub and counts the persons and records that carry it, so the
ground truth can say which identifier values are hubs and how big they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segmint.generate.arrays import I64

PLACEHOLDER_PHONES: tuple[int, ...] = (13800000000, 13800138000)
PLACEHOLDER_EMAIL = "test@test.com"


@dataclass(frozen=True)
class Hub:
    """One planted shared identifier value."""

    id_type: str  # phone, email or device_id
    value: str  # normalised: E.164 phone, lower-case e-mail, device id as written
    kind: str  # store_phone, placeholder_phone, placeholder_email, store_tablet, family_device


class HubRegistry:
    """Hubs and the (person, hub) pairs of every record that carries one."""

    def __init__(self) -> None:
        self.hubs: list[Hub] = []
        # (hub ids, person ids) per call. One append per call: generator threads call `hit`
        # concurrently, and two separate lists could pair one thread's hubs with another's
        # persons (it made truth/hubs.csv differ between runs of the same seed).
        self._hits: list[tuple[I64, I64]] = []

    def add(self, id_type: str, values: list[str], kind: str) -> I64:
        """Register hub values; returns their hub ids."""
        first = len(self.hubs)
        self.hubs.extend(Hub(id_type, v, kind) for v in values)
        return np.arange(first, len(self.hubs), dtype=np.int64)

    def hit(self, hub: np.ndarray, person: np.ndarray) -> None:
        """Count records: row i carries hub `hub[i]` (negative = none) for `person[i]`."""
        hub = np.asarray(hub, np.int64)
        keep = hub >= 0
        if keep.any():
            self._hits.append((hub[keep], np.asarray(person, np.int64)[keep]))

    def counts(self) -> tuple[I64, I64]:
        """Distinct persons and records per hub id."""
        n = len(self.hubs)
        if not self._hits:
            return np.zeros(n, np.int64), np.zeros(n, np.int64)
        hubs = np.concatenate([h for h, _ in self._hits])
        persons = np.concatenate([p for _, p in self._hits])
        records = np.bincount(hubs, minlength=n)
        pairs = np.unique(hubs * (int(persons.max()) + 1) + persons)
        distinct = np.bincount(pairs // (int(persons.max()) + 1), minlength=n)
        return distinct.astype(np.int64), records.astype(np.int64)


@dataclass(frozen=True)
class Placeholders:
    """Hub ids of the placeholder values typed when a customer gives none."""

    phones: I64  # one hub id per PLACEHOLDER_PHONES entry
    email: int


def register_placeholders(hubs: HubRegistry) -> Placeholders:
    """Register the placeholder phone numbers and e-mail address as hubs."""
    phones = hubs.add("phone", [f"+86{p}" for p in PLACEHOLDER_PHONES], "placeholder_phone")
    email = hubs.add("email", [PLACEHOLDER_EMAIL], "placeholder_email")
    return Placeholders(phones=phones, email=int(email[0]))
