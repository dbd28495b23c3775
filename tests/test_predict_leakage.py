"""Leak protection for the churn and repurchase features: labels against a brute-force
computation, features at a cutoff blind to later records, the point-in-time guard for extra
feature functions (a planted leak is caught, a clean feature passes), and the
suspiciously-good-feature check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pytest

from predict_company import build_company
from segmint import Project
from segmint.engine.engine import Engine
from segmint.predict.ml import LeakError, point_in_time_features, published_inputs, train_target
from segmint.predict.ml.catalog import FeatureSpec
from segmint.predict.ml.encoding import FeatureSchema
from segmint.predict.ml.features import FeatureFrames
from segmint.predict.ml.labels import labels
from segmint.predict.ml.leakage import check_point_in_time, suspect_features, truncate_inputs
from segmint.traits.profile import ProfileInputs

pytestmark = pytest.mark.slow

RUN = "leaktest"
CUTOFF = dt.datetime(2026, 8, 3)


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, dt.datetime]:
    return build_company(tmp_path_factory.mktemp("predict_leak"), customers=600, seed=5)


@pytest.fixture
def engine(company: tuple[Project, dt.datetime]) -> Iterator[Engine]:
    project, _ = company
    with project.engine() as opened:
        yield opened


def _paid_orders(engine: Engine) -> pd.DataFrame:
    orders = engine.to_pandas(engine.table("orders"))
    ids = engine.to_pandas(engine.table("identity_map")).dropna(subset=["customer_id"])
    paid = orders[orders["status"].isna() | (orders["status"] == "paid")]
    return paid.merge(ids[["source", "record_key", "customer_id"]], on=["source", "record_key"])


@pytest.mark.parametrize(("target", "horizon"), [("repurchase", 30), ("churn", 90)])
def test_labels_equal_a_brute_force_computation(engine: Engine, target: str, horizon: int) -> None:
    paid = _paid_orders(engine)
    end = CUTOFF + dt.timedelta(days=horizon)
    population = set(paid.loc[paid["ordered_at"] <= CUTOFF, "customer_id"])
    later = paid[(paid["ordered_at"] > CUTOFF) & (paid["ordered_at"] <= end)]
    bought = set(later["customer_id"]) & population
    expected = {c: int((c in bought) == (target == "repurchase")) for c in population}

    got = engine.to_pandas(labels(published_inputs(engine), CUTOFF, horizon, target))
    assert len(got) == len(set(got["customer_id"])) == len(population) > 300
    assert dict(zip(got["customer_id"], got["label"], strict=True)) == expected
    assert 0 < got["label"].mean() < 1


def _planted(inputs: ProfileInputs, customer: str, moment: dt.datetime) -> ProfileInputs:
    """The inputs plus one large paid order of `customer` at `moment`, linked to them in the
    identity map (a copy of one of their orders with a new key)."""
    orders, ids = inputs.entities["orders"], inputs.identity
    theirs = ids.filter(ids.customer_id == customer).select("source", "record_key")
    template = orders.join(theirs, ["source", "record_key"]).order_by("record_key").limit(1)
    changed = {
        "order_id": ibis.literal("PLANTED-1"),
        "record_key": ibis.literal("PLANTED-1"),
        "ordered_at": ibis.literal(moment),
        "amount": ibis.literal(99_999),
        "status": ibis.literal("paid"),
    }
    plant = template.select(
        **{c: changed.get(c, template[c]).cast(orders[c].type()) for c in orders.columns}
    )
    link_values = {
        "source": template.source,
        "entity": ibis.literal("orders"),
        "record_key": ibis.literal("PLANTED-1"),
        "customer_id": ibis.literal(customer),
    }
    link = template.select(
        **{c: link_values.get(c, ibis.null(ids[c].type())).cast(ids[c].type()) for c in ids.columns}
    )
    return ProfileInputs(
        {**inputs.entities, "orders": ibis.union(orders, plant)}, ibis.union(ids, link)
    )


def test_features_at_a_cutoff_ignore_an_order_planted_after_it(
    company: tuple[Project, dt.datetime], engine: Engine
) -> None:
    project, _ = company
    spec = project.loaded.spec
    inputs = published_inputs(engine)
    before = FeatureFrames(engine, RUN, inputs, spec).get(CUTOFF)[0]
    outcome = engine.to_pandas(labels(inputs, CUTOFF, 30, "repurchase"))
    customer = str(outcome.loc[outcome["label"] == 0, "customer_id"].sort_values().iloc[0])

    planted = _planted(inputs, customer, CUTOFF + dt.timedelta(hours=1))
    seen = engine.to_pandas(labels(planted, CUTOFF, 30, "repurchase")).set_index("customer_id")
    assert seen.loc[customer, "label"] == 1  # the planted order is in the data …
    after = FeatureFrames(engine, RUN + "p", planted, spec).get(CUTOFF)[0]
    pd.testing.assert_frame_equal(before, after)  # … and changes no feature at the cutoff

    later = FeatureFrames(engine, RUN + "q", planted, spec).get(CUTOFF + dt.timedelta(days=1))[0]
    row = later.set_index("customer_id").loc[customer]
    assert row["recency_days"] == 1 and row["monetary"] >= 99_999  # seen once it is past


def future_orders(inputs: ProfileInputs, cutoff: dt.datetime) -> ir.Table:
    """A leaky extra feature: the customer's orders in the 30 days *after* the cutoff."""
    orders = inputs.with_ids("orders")
    assert orders is not None
    window = orders.filter(
        (orders.ordered_at > ibis.literal(cutoff))
        & (orders.ordered_at <= ibis.literal(cutoff + dt.timedelta(days=30)))
    )
    return window.group_by("customer_id").aggregate(orders_next_30d=window.count())


def store_visits(inputs: ProfileInputs, cutoff: dt.datetime) -> ir.Table:
    """A clean extra feature: store orders and distinct stores up to the cutoff."""
    orders = inputs.with_ids("orders")
    assert orders is not None
    seen = orders.filter((orders.ordered_at <= ibis.literal(cutoff)) & orders.store_id.notnull())
    return seen.group_by("customer_id").aggregate(
        store_orders=seen.count(), stores_visited=seen.store_id.nunique()
    )


def test_the_guard_catches_a_feature_that_counts_orders_after_the_cutoff(
    company: tuple[Project, dt.datetime], engine: Engine
) -> None:
    project, as_of = company
    spec = project.loaded.spec
    inputs = published_inputs(engine)
    with pytest.raises(LeakError) as caught:
        train_target(engine, RUN, inputs, spec, as_of, "repurchase", extra_features=[future_orders])
    message = str(caught.value)
    assert "future_orders: orders_next_30d (" in message
    assert "customers)" in message and "2026-08-03" in message  # the train cutoff
    with pytest.raises(LeakError, match="orders_next_30d"):
        check_point_in_time(engine, inputs, CUTOFF, [store_visits, future_orders])


def test_a_clean_extra_feature_passes_and_is_joined(
    company: tuple[Project, dt.datetime], engine: Engine
) -> None:
    project, _ = company
    inputs = published_inputs(engine)
    checked = check_point_in_time(engine, inputs, CUTOFF, [store_visits])
    assert checked == {"store_visits": ["store_orders", "stores_visited"]}
    table = point_in_time_features(
        engine, RUN, inputs, project.loaded.spec, CUTOFF, extra_features=[store_visits]
    )
    frame = engine.to_pandas(table).set_index("customer_id")
    direct = engine.to_pandas(store_visits(inputs, CUTOFF)).set_index("customer_id")
    assert {"store_orders", "stores_visited"} <= set(frame.columns)
    common = direct.index.intersection(frame.index)  # features cover buyers only
    assert len(common) > 50
    joined = frame.loc[common, "store_orders"]
    assert (joined.to_numpy() == direct.loc[common, "store_orders"].to_numpy()).all()
    assert frame.loc[~frame.index.isin(direct.index), "store_orders"].isna().all()


def test_truncated_inputs_keep_nothing_after_the_cutoff(engine: Engine) -> None:
    inputs = published_inputs(engine)
    cut = truncate_inputs(inputs, CUTOFF)
    times = {
        "orders": "ordered_at",
        "events": "timestamp",
        "customers": "updated_at",
        "service_interactions": "opened_at",
        "campaign_responses": "sent_at",
    }
    for entity, column in times.items():
        full = inputs.entities[entity]
        kept = engine.scalar(cut.entities[entity].count())
        expected = engine.scalar(
            full.filter(full[column].isnull() | (full[column] <= CUTOFF)).count()
        )
        assert kept == expected < engine.scalar(full.count()), entity
    items = engine.to_pandas(cut.entities["order_items"].select("order_id").distinct())
    kept_orders = engine.to_pandas(cut.entities["orders"].select("order_id"))
    assert set(items["order_id"]) <= set(kept_orders["order_id"])


def test_a_feature_that_alone_predicts_the_outcome_is_flagged() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(2_000) < 0.4).astype(float)
    noise = rng.normal(size=2_000)
    leak = y + rng.normal(scale=0.05, size=2_000)
    level = np.where(y > 0, 1.0, 0.0)  # a categorical that is the label in disguise
    schema = FeatureSchema(
        (
            FeatureSpec("noise", "t", "numeric", ""),
            FeatureSpec("leak", "t", "numeric", ""),
            FeatureSpec("code", "t", "categorical", "", levels=("a", "b")),
        )
    )
    x = np.c_[noise, leak, level]
    found = suspect_features(schema, x, y)
    assert list(found) == ["leak", "code"] or list(found) == ["code", "leak"]
    assert "noise" not in found and all(v > 0.98 for v in found.values())
    assert suspect_features(schema, x, y, threshold=1.0) == {}


def test_guard_message_names_the_function_and_column(tmp_path: Path) -> None:
    """The guard on hand-made tables: a leak in one of two columns names only that one."""
    people = ibis.memtable(pd.DataFrame({"customer_id": ["a", "b", "c"]}))
    full = ibis.memtable(pd.DataFrame({"customer_id": ["a", "b"], "ok": [1.0, 2.0], "bad": [3, 4]}))
    cut = ibis.memtable(pd.DataFrame({"customer_id": ["a", "b"], "ok": [1.0, 2.0], "bad": [3, 5]}))
    from segmint.predict.ml.leakage import differing_columns

    con = ibis.duckdb.connect(str(tmp_path / "g.duckdb"))
    counts = con.to_pandas(differing_columns(people, full, cut)).iloc[0]
    assert int(counts["ok"]) == 0 and int(counts["bad"]) == 1
