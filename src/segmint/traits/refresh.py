"""Build the profile tables of one run: full rebuild or incremental refresh.

Tables written (run-scoped, published with the run):
- `profiles`: one row per customer, every trait;
- `profile_state`: the whole-history traits the next run starts from;
- `profile_fingerprints`: per customer, a hash of its records (what "changed" means);
- `profile_meta`: one row: as-of time, settings hash, mode, customers, recomputed.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.engine.engine import Engine, table_name
from segmint.project.spec import ProjectSpec
from segmint.traits.incremental import dirty_customers, fingerprints, settings_hash
from segmint.traits.profile import ProfileInputs, current_windows, finalize, history_state

PROFILES = "profiles"
PROFILE_STATE = "profile_state"
PROFILE_FINGERPRINTS = "profile_fingerprints"
PROFILE_META = "profile_meta"


@dataclass(frozen=True)
class PreviousProfile:
    """Last run's published profile tables (any may be missing)."""

    state: ir.Table | None
    fingerprints: ir.Table | None
    meta: pd.DataFrame | None

    @property
    def as_of(self) -> dt.datetime | None:
        """The as-of time of last run's profile."""
        if self.meta is None or self.meta.empty:
            return None
        return pd.Timestamp(self.meta["as_of"].iloc[0]).to_pydatetime()


@dataclass
class ProfileBuild:
    """What a profile build wrote and how much it recomputed."""

    tables: dict[str, str]
    mode: str  # "full" or "incremental"
    reason: str
    customers: int
    recomputed: int


def build_profiles(
    engine: Engine,
    run_id: str,
    inputs: ProfileInputs,
    as_of: dt.datetime,
    spec: ProjectSpec,
    previous: PreviousProfile,
) -> ProfileBuild:
    """Write this run's profile tables; incremental when last run's state allows it."""
    settings = spec.profile
    digest = settings_hash(settings, inputs, spec.rfm.bins)
    name = functools.partial(engine.run_table, run_id)
    prints = engine.materialize(name(PROFILE_FINGERPRINTS), fingerprints(inputs))
    mode, reason = _mode(settings.incremental, previous, digest, as_of)
    if mode == "incremental":
        assert previous.state is not None and previous.fingerprints is not None
        assert previous.as_of is not None
        dirty = engine.materialize(
            name("_profile_dirty"),
            dirty_customers(prints, previous.fingerprints, inputs, previous.as_of, as_of),
            temporary=True,
        )
        fresh = engine.materialize(
            name("_profile_fresh"),
            history_state(inputs, as_of, settings, only=dirty),
            temporary=True,
        )
        kept = previous.state.join(dirty, "customer_id", how="anti").join(
            prints.select("customer_id"), "customer_id", how="semi"
        )
        state = engine.materialize(
            name(PROFILE_STATE),
            ibis.union(fresh, kept.select(*fresh.columns).cast(fresh.schema())),
        )
        recomputed = int(engine.scalar(fresh.count()))
    else:
        state = engine.materialize(name(PROFILE_STATE), history_state(inputs, as_of, settings))
        recomputed = int(engine.scalar(state.count()))
    windows = current_windows(inputs, as_of, settings)
    if windows is not None:  # finalize reads it twice (RFM ranks, then the join back)
        windows = engine.materialize(name("_profile_windows"), windows, temporary=True)
    profiles = engine.materialize(
        name(PROFILES), finalize(state, windows, as_of, settings, spec.layers, spec.rfm.bins)
    )
    customers = int(engine.scalar(profiles.count()))
    meta = pd.DataFrame(
        {
            "run_id": [run_id],
            "as_of": [as_of],
            "settings_hash": [digest],
            "mode": [mode],
            "reason": [reason],
            "customers": [customers],
            "recomputed": [recomputed],
        }
    )
    meta_table = engine.materialize(name(PROFILE_META), meta)
    return ProfileBuild(
        tables={
            PROFILES: table_name(profiles),
            PROFILE_STATE: table_name(state),
            PROFILE_FINGERPRINTS: table_name(prints),
            PROFILE_META: table_name(meta_table),
        },
        mode=mode,
        reason=reason,
        customers=customers,
        recomputed=recomputed,
    )


def _mode(
    enabled: bool, previous: PreviousProfile, digest: str, as_of: dt.datetime
) -> tuple[str, str]:
    """("incremental", "") when last run's state can be reused, else ("full", why not)."""
    if not enabled:
        return "full", "incremental refresh is off"
    if previous.state is None or previous.fingerprints is None or previous.as_of is None:
        return "full", "no previous profile"
    assert previous.meta is not None
    if str(previous.meta["settings_hash"].iloc[0]) != digest:
        return "full", "profile settings or source columns changed"
    if as_of < previous.as_of:
        return "full", "as-of time moved back"
    return "incremental", ""
