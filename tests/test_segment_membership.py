"""Membership over runs on DuckDB: entered/left history, migration, and the overlap matrix.

Every engine result is checked against a set computation in plain Python / pandas.
"""

from __future__ import annotations

import itertools

import ibis
import numpy as np
import pandas as pd
import pytest

from segmint.project.spec_segments import SegmentFamily
from segmint.segments.membership import (
    family_members,
    membership_changes,
    membership_history,
    migration,
    shared_customers,
)
from segmint.segments.overlap import overlap

LAYERS = ["Champions", "Loyal", "At Risk", "Lost"]


@pytest.fixture(scope="module")
def con() -> ibis.BaseBackend:
    return ibis.duckdb.connect()


def _members(pairs: set[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(sorted(pairs), columns=["segment", "customer_id"], dtype="string")


def _random_members(rng: np.random.Generator, ids: list[str], p: float) -> set[tuple[str, str]]:
    return {(s, c) for s in ("a", "b", "c", "d") for c in ids if rng.random() < p}


def test_history_entered_and_left_over_three_runs(con: ibis.BaseBackend) -> None:
    rng = np.random.default_rng(3)
    runs = [
        _random_members(rng, [f"c{i}" for i in range(lo, lo + 120)], 0.35) for lo in (0, 30, 60)
    ]
    previous, history = None, None
    for number, members in enumerate(runs, start=1):
        current = con.create_table(f"m{number}", _members(members))
        run = f"r{number}"
        history = con.create_table(
            f"h{number}", membership_history(current, previous, history, run).to_pandas()
        )
        previous = current
    assert history is not None
    frame = history.to_pandas()
    before: set[tuple[str, str]] = set()
    for number, members in enumerate(runs, start=1):
        rows = frame[frame.run_id == f"r{number}"]
        entered = set(
            zip(
                *(rows[rows.change == "entered"][c] for c in ("segment", "customer_id")),
                strict=True,
            )
        )
        left = set(
            zip(*(rows[rows.change == "left"][c] for c in ("segment", "customer_id")), strict=True)
        )
        assert entered == members - before
        assert left == before - members
        assert len(rows) == len(entered) + len(left)  # no duplicates
        assert entered and (number == 1 or left)
        before = members
    # replaying the history rebuilds the last run's members
    state: set[tuple[str, str]] = set()
    for row in frame.sort_values("run_id").itertuples():
        key = (row.segment, row.customer_id)
        state = state | {key} if row.change == "entered" else state - {key}
    assert state == runs[-1]


def test_changes_limited_to_defined_segments(con: ibis.BaseBackend) -> None:
    prev = con.create_table("lp", _members({("a", "1"), ("gone", "1"), ("gone", "2")}))
    curr = con.create_table("lc", _members({("a", "2")}))
    out = membership_changes(curr, prev, "r2", segments=["a"]).to_pandas()
    assert sorted(zip(out.segment, out.customer_id, out.change, strict=True)) == [
        ("a", "1", "left"),
        ("a", "2", "entered"),
    ]
    everything = membership_changes(curr, prev, "r2").to_pandas()
    assert (everything.segment == "gone").sum() == 2


def test_migration_conserves_customers(con: ibis.BaseBackend) -> None:
    rng = np.random.default_rng(11)
    ids = [f"c{i}" for i in range(400)]
    prev_profile = pd.DataFrame(
        {
            "customer_id": ids[:350],
            "rfm_segment": rng.choice(np.array([*LAYERS, None], dtype=object), 350),
        }
    )
    curr_profile = pd.DataFrame(
        {
            "customer_id": ids[50:],
            "rfm_segment": rng.choice(np.array([*LAYERS, None], dtype=object), 350),
        }
    )
    family = SegmentFamily(name="rfm", column="rfm_segment")
    empty = con.create_table("no_members", _members(set()))
    prev = family_members(family, con.create_table("pp", prev_profile), empty)
    curr = family_members(family, con.create_table("cp", curr_profile), empty)
    assert int(shared_customers(curr).to_pandas()) == 0
    flows = migration(prev, curr, from_run="r1", to_run="r2").to_pandas()
    assert list(flows.columns) == ["from_run", "to_run", "from_segment", "to_segment", "customers"]
    assert set(flows.from_run) == {"r1"} and set(flows.to_run) == {"r2"}
    assert not ((flows.from_segment == "none") & (flows.to_segment == "none")).any()
    by_from = flows.groupby("from_segment").customers.sum()
    by_to = flows.groupby("to_segment").customers.sum()
    prev_sizes = prev_profile.rfm_segment.value_counts()
    curr_sizes = curr_profile.rfm_segment.value_counts()
    for layer in LAYERS:
        assert by_from[layer] == prev_sizes[layer]
        assert by_to[layer] == curr_sizes[layer]
    assert by_from.sum() == by_to.sum()
    # an independent count of one cell: Champions -> At Risk
    both = prev_profile.merge(curr_profile, on="customer_id", suffixes=("_p", "_c"))
    cell = ((both.rfm_segment_p == "Champions") & (both.rfm_segment_c == "At Risk")).sum()
    got = flows[(flows.from_segment == "Champions") & (flows.to_segment == "At Risk")]
    assert int(got.customers.sum()) == int(cell) > 0
    # customers with a layer now but not in the previous base come from 'none'
    new = curr_profile[~curr_profile.customer_id.isin(prev_profile.customer_id)]
    lost_label = prev_profile[prev_profile.rfm_segment.isna()]
    came = (
        new.rfm_segment.notna().sum()
        + curr_profile.merge(lost_label[["customer_id"]], on="customer_id")
        .rfm_segment.notna()
        .sum()
    )
    assert by_from["none"] == came


def test_family_of_rule_segments(con: ibis.BaseBackend) -> None:
    members = con.create_table(
        "fam", _members({("vip", "1"), ("rest", "2"), ("other", "1"), ("rest", "3")})
    )
    family = SegmentFamily(name="f", segments=["vip", "rest"])
    picked = family_members(family, members, members).to_pandas()
    assert set(picked.segment) == {"vip", "rest"} and len(picked) == 3


def test_overlap_matches_pandas(con: ibis.BaseBackend) -> None:
    rng = np.random.default_rng(5)
    pairs = _random_members(rng, [f"c{i}" for i in range(200)], 0.3)
    pairs |= {("e", f"c{i}") for i in range(10)}  # small, shares nobody with 'f'
    pairs |= {("f", f"c{i}") for i in range(150, 160)}
    frame = overlap(con.create_table("ov", _members(pairs))).to_pandas()
    sets: dict[str, set[str]] = {}
    for s, c in pairs:
        sets.setdefault(s, set()).add(c)
    assert len(frame) == len(sets) ** 2  # the full matrix, zeros included
    got = frame.set_index(["segment_a", "segment_b"])
    for a, b in itertools.product(sets, repeat=2):
        both = len(sets[a] & sets[b])
        row = got.loc[(a, b)]
        assert row.both == both
        assert row.size_a == len(sets[a]) and row.size_b == len(sets[b])
        assert row.jaccard == pytest.approx(both / len(sets[a] | sets[b]))
        assert row.share_a_in_b == pytest.approx(both / len(sets[a]))
    assert got.loc[("e", "f")].both == 0
