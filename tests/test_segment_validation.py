"""Segment validation on DuckDB with planted segments: too small, overlapping, low value,
unstable; the figures against pandas and the revenue-coverage check both ways."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pytest

from segmint.errors import ConfigError
from segmint.project.spec_segments import SegmentValidationSettings
from segmint.segments.validation import flag_list, validate_segments

N = 1000
TRAITS = ["recency_days", "frequency", "monetary", "aov", "tenure_days"]
DEFINED = ["top", "top_twin", "tiny", "cheap", "middle", "empty"]


@dataclass(frozen=True)
class World:
    profile: pd.DataFrame
    members: pd.DataFrame
    t_profile: ibis.Table
    t_members: ibis.Table
    t_previous: ibis.Table


@pytest.fixture(scope="module")
def world() -> World:
    rng = np.random.default_rng(42)
    profile = pd.DataFrame(
        {
            "customer_id": [f"c{i:04d}" for i in range(N)],
            "monetary": rng.lognormal(5.0, 1.0, N).round(2),
            "frequency": rng.integers(1, 12, N),
            "recency_days": rng.integers(0, 365, N),
            "aov": rng.gamma(2.0, 60.0, N),
            "tenure_days": rng.integers(30, 2000, N),
        }
    )
    profile.loc[rng.choice(N, 20, replace=False), "monetary"] = np.nan
    spend = profile.monetary.fillna(0)
    by_spend = profile.customer_id[spend.sort_values(ascending=False).index].tolist()
    members = (
        [("top", c) for c in by_spend[:300]]
        + [("top_twin", c) for c in by_spend[:280]]  # nearly the same customers as top
        + [("tiny", c) for c in by_spend[400:412]]  # below min_size 50
        + [("cheap", c) for c in by_spend[-250:]]  # the lowest spenders
        + [("middle", c) for c in by_spend[300:550]]
    )
    members_df = pd.DataFrame(members, columns=["segment", "customer_id"])
    # previous run: 'middle' was a different crowd, the others the same
    previous = members_df[members_df.segment != "middle"]
    previous = pd.concat(
        [previous, pd.DataFrame({"segment": "middle", "customer_id": by_spend[500:800]})]
    )
    con = ibis.duckdb.connect()
    return World(
        profile=profile,
        members=members_df,
        t_profile=con.create_table("profiles", profile),
        t_members=con.create_table("segment_members", members_df),
        t_previous=con.create_table("previous_members", previous),
    )


def _run(
    world: World, *, previous: bool = False, **overrides: object
) -> tuple[pd.DataFrame, dict[str, Any]]:
    settings = SegmentValidationSettings.model_validate(overrides)
    result = validate_segments(
        world.t_members,
        world.t_profile,
        settings,
        previous=world.t_previous if previous else None,
        segments=DEFINED,
    )
    return result.frame.set_index("segment"), result.summary


def test_flags_and_recommendations(world: World) -> None:
    frame, summary = _run(world)
    flags = {s: set(flag_list(f)) for s, f in frame["flags"].items()}
    assert "too_small" in flags["tiny"] and "too_small" in flags["empty"]
    assert "low_value" in flags["cheap"]
    assert "overlapping_with:top_twin" in flags["top"]
    assert "overlapping_with:top" in flags["top_twin"]
    assert "not_separated" in flags["top"]  # same customers, same means
    assert not flags["middle"] & {"too_small", "low_value", "not_separated"}
    assert not any(f.startswith("overlapping") for f in flags["middle"])
    assert frame.stability.isna().all() and summary["stability_available"] is False
    assert summary["dropped"] == ["tiny", "cheap", "empty"]
    assert summary["kept"] == ["top", "top_twin", "middle"]
    assert summary["recommendations"] == [
        "drop tiny",
        "drop cheap",
        "drop empty",
        "merge top+top_twin",
    ]
    assert frame.loc["empty", "size"] == 0
    assert list(frame.recommendation) == ["merge", "merge", "drop", "drop", "keep", "drop"]
    assert frame.loc["top", "merge_with"] == "top_twin"


def test_figures_match_pandas(world: World) -> None:
    frame, summary = _run(world)
    profile, members = world.profile, world.members
    revenue = profile.set_index("customer_id").monetary.fillna(0)
    total = revenue.sum()
    held = members.groupby("customer_id").size()
    for name, rows in members.groupby("segment"):
        ids = rows.customer_id
        assert frame.loc[name, "size"] == len(ids)
        assert frame.loc[name, "share"] == pytest.approx(len(ids) / N)
        assert frame.loc[name, "revenue_share"] == pytest.approx(revenue[ids].sum() / total)
        assert frame.loc[name, "exclusive_share"] == pytest.approx((held[ids] == 1).mean())
    # separation: RMS of standardised mean differences on log1p traits, nearest segment
    logged = np.log1p(profile[TRAITS].clip(lower=0))
    z = (logged - logged.mean()) / logged.std()
    z.index = profile.customer_id
    means = {s: z.loc[r.customer_id].mean() for s, r in members.groupby("segment")}
    for name, vec in means.items():
        dist = {o: math.sqrt(((vec - v) ** 2).mean()) for o, v in means.items() if o != name}
        nearest = min(dist, key=lambda o: dist[o])
        assert frame.loc[name, "nearest"] == nearest
        assert frame.loc[name, "separation"] == pytest.approx(dist[nearest], rel=1e-6)
    kept_ids = set(members.customer_id[members.segment.isin(["top", "top_twin", "middle"])])
    assert summary["kept_revenue_share"] == pytest.approx(revenue[list(kept_ids)].sum() / total)
    all_ids = set(members.customer_id)
    assert summary["all_revenue_share"] == pytest.approx(revenue[list(all_ids)].sum() / total)


def test_revenue_coverage_check_passes_and_fails(world: World) -> None:
    _, summary = _run(world)
    coverage = summary["kept_revenue_share"]
    assert isinstance(coverage, float) and 0.80 < coverage < 0.99  # top 550 spenders of 1,000
    assert summary["passed"] is True
    _, strict = _run(world, revenue_coverage=0.99)
    assert strict["passed"] is False and strict["kept_revenue_share"] == coverage
    # with 'middle' dropped for its size, the kept segments miss the 80 % target
    frame, small = _run(world, min_size=251)
    assert "drop middle" in small["recommendations"] and frame.loc["top", "kept"]
    assert small["kept_revenue_share"] < 0.80 and small["passed"] is False


def test_stability_against_previous_run(world: World) -> None:
    frame, summary = _run(world, previous=True)
    assert summary["stability_available"] is True
    assert frame.loc["top", "stability"] == pytest.approx(1.0)
    # middle: 300..549 now, 500..799 before -> 50 shared of 500
    assert frame.loc["middle", "stability"] == pytest.approx(50 / 500)
    assert "unstable" in flag_list(frame.loc["middle", "flags"])
    assert "unstable" not in flag_list(frame.loc["top", "flags"])
    assert math.isnan(frame.loc["empty", "stability"])


def test_unknown_separation_trait_is_named(world: World) -> None:
    with pytest.raises(ConfigError, match="no trait 'monetry'; did you mean 'monetary'"):
        _run(world, separation_traits=["monetry"])
