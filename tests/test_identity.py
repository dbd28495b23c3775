"""Identity resolution: hubs, merge protection, stable ids, and accuracy against ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
import yaml

from conftest import requires_spark
from segmint import Project
from segmint.engine.connect import connect_duckdb, connect_spark
from segmint.engine.engine import Engine
from segmint.generate import generate_company
from segmint.identity.evaluate import evaluate_identity_map, read_truth
from segmint.identity.hubs import is_placeholder
from segmint.identity.normalize import is_placeholder_email, is_placeholder_phone
from segmint.identity.resolve import IdentityResult, resolve_identity
from segmint.project.spec import IdentitySettings

KINDS = ("member_id", "phone", "email", "device_id", "wechat_openid")


def _records(rows: list[dict[str, Any]], source: str = "crm") -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for kind in KINDS:
        if kind not in frame:
            frame[kind] = None
    frame["source"] = source
    frame["record_key"] = [f"{source}-{i}" for i in range(len(frame))]
    return frame[["source", "record_key", *KINDS]].astype("string")


def _resolve(
    engine: Engine,
    frame: pd.DataFrame,
    run_id: str = "t1",
    previous: bool = False,
    **settings: Any,
) -> tuple[IdentityResult, dict[str, str | None]]:
    """Resolve one 'customers' table of records; returns the result and record_key -> id."""
    schema = pa.schema([(column, pa.string()) for column in frame.columns])
    engine.materialize(
        f"customers_{run_id}", pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    )
    options = {"identifiers": list(KINDS), "probabilistic": {"enabled": False}, **settings}
    result = resolve_identity(
        engine,
        run_id,
        {"customers": f"customers_{run_id}"},
        IdentitySettings.model_validate(options),
        previous_map=engine.table("identity_map") if previous else None,
        previous_history=engine.table("identity_history") if previous else None,
    )
    engine.publish(run_id, ["identity_map", "identity_history"])
    got = engine.to_pandas(engine.table(result.tables["identity_map"]))
    return result, dict(zip(got["record_key"], got["customer_id"], strict=True))


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=[pytest.mark.spark, requires_spark])])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    """The unit scenarios run on both engines: identity is engine-independent SQL."""
    if request.param == "duckdb":
        return connect_duckdb(tmp_path / "identity.duckdb")
    database = f"identity_{abs(hash(request.node.name)) % 10**8}"
    return connect_spark("local[2]", tmp_path / "spark-warehouse", database, {})


def _same(ids: dict[str, str | None], *keys: str) -> bool:
    return len({ids[k] for k in keys}) == 1 and ids[keys[0]] is not None


def test_shared_identifiers_link_transitively(engine: Engine) -> None:
    frame = _records(
        [
            {"member_id": "M1", "phone": "+8613812345678"},
            {"phone": "+8613812345678", "email": "a@qq.com"},
            {"email": "a@qq.com", "device_id": "D1"},
            {"device_id": "D1"},
            {"member_id": "M2"},
        ]
    )
    _, ids = _resolve(engine, frame)
    assert _same(ids, "crm-0", "crm-1", "crm-2", "crm-3")
    assert ids["crm-4"] not in (None, ids["crm-0"])


def test_hubs_link_nothing_and_are_listed(engine: Engine) -> None:
    store_phone = "+8657188880000"
    rows: list[dict[str, Any]] = [
        {"member_id": f"W{i}", "phone": store_phone} for i in range(25)
    ]  # a store phone typed for 25 walk-ins
    rows += [
        {"member_id": "F1", "device_id": "FAMILY-IPAD"},  # a family iPad, two members
        {"member_id": "F2", "device_id": "FAMILY-IPAD"},
        {"device_id": "FAMILY-IPAD"},  # anonymous browsing on it: nobody in particular
        {"member_id": "P1", "phone": "+8613999999999"},  # placeholder mobile
        {"member_id": "P2", "phone": "+8613999999999"},
        {"member_id": "T1", "email": "test@test.com"},  # deny-listed
        {"member_id": "T2", "email": "test@test.com"},
        {"phone": store_phone},  # only a hub: unresolved
    ]
    result, ids = _resolve(engine, _records(rows))
    hubs = engine.to_pandas(engine.table(result.tables["identity_hubs"]))
    reasons = dict(zip(hubs["id_value"], hubs["reason"], strict=True))
    assert reasons == {
        store_phone: "too many partners",
        "FAMILY-IPAD": "too many member ids",
        "+8613999999999": "placeholder",
        "test@test.com": "deny-list",
    }
    assert len({ids[f"crm-{i}"] for i in range(25)}) == 25
    assert ids["crm-25"] != ids["crm-26"]
    assert ids["crm-27"] is None and ids["crm-32"] is None
    assert ids["crm-28"] != ids["crm-29"] and ids["crm-30"] != ids["crm-31"]
    assert result.unresolved == 2


def test_oversized_component_is_split_on_its_weakest_links(engine: Engine) -> None:
    rows = [
        # three members glued only by a shared e-mail (weaker than member id and phone)
        {"member_id": "A", "phone": "+8613811110001", "email": "shared@163.com"},
        {"member_id": "B", "phone": "+8613811110002", "email": "shared@163.com"},
        {"member_id": "C", "email": "shared@163.com"},
        {"phone": "+8613811110001"},  # A's phone on an order: stays with A
        # two members sharing a phone are within the limit of 2 and stay together
        {"member_id": "D", "phone": "+8613822220000"},
        {"member_id": "E", "phone": "+8613822220000"},
    ]
    result, ids = _resolve(
        engine,
        _records(rows),
        identifiers=["member_id", "phone", "email"],
        max_member_ids_per_customer=2,
    )
    assert len({ids["crm-0"], ids["crm-1"], ids["crm-2"]}) == 3
    assert _same(ids, "crm-0", "crm-3")
    assert _same(ids, "crm-4", "crm-5")
    splits = engine.to_pandas(engine.table(result.tables["identity_splits"]))
    assert splits[["member_ids", "cut", "parts"]].to_dict("records") == [
        {"member_ids": 3, "cut": "email", "parts": 3}
    ]
    assert result.components_split == 1


def test_a_split_keeps_anonymous_device_records_with_their_one_member(engine: Engine) -> None:
    rows = [
        # a shared phone (a store's walk-in number, below the hub limits) glues three members
        {"member_id": "A", "phone": "+8613800005555", "device_id": "DEV-A"},
        {"member_id": "B", "phone": "+8613800005555", "device_id": "DEV-B"},
        {"member_id": "C", "phone": "+8613800005555"},
        {"device_id": "DEV-A"},  # A's app events before login
        {"device_id": "DEV-B"},
        {"device_id": "DEV-SHARED"},  # events of a device both A and C logged in on
        {"member_id": "A", "device_id": "DEV-SHARED"},
        {"member_id": "C", "device_id": "DEV-SHARED"},
    ]
    _, ids = _resolve(
        engine,
        _records(rows),
        identifiers=["member_id", "phone", "device_id"],
        max_member_ids_per_customer=2,
        rules={"device_id": {"max_partners": 4, "max_member_ids": 2}},
    )
    assert len({ids["crm-0"], ids["crm-1"], ids["crm-2"]}) == 3
    assert _same(ids, "crm-0", "crm-3", "crm-6")
    assert _same(ids, "crm-1", "crm-4")
    # the shared device leads to two members: its anonymous events join neither
    assert ids["crm-5"] not in {ids["crm-0"], ids["crm-2"]}


def test_ids_are_stable_across_runs_and_merges_are_recorded(engine: Engine) -> None:
    first = _records(
        [
            {"member_id": "M1"},
            {"member_id": "M1", "phone": "+8613800001111"},
            {"member_id": "M1"},
            {"member_id": "M2"},
            {"member_id": "M3"},
        ]
    )
    _, before = _resolve(engine, first, run_id="r1")
    # The data grows: M2 turns out to share M1's phone, and a new person arrives.
    grown = pd.concat(
        [first, _records([{"member_id": "M2", "phone": "+8613800001111"}, {"member_id": "M9"}])],
        ignore_index=True,
    )
    grown["record_key"] = [f"crm-{i}" for i in range(len(grown))]
    result, after = _resolve(engine, grown, run_id="r2", previous=True)
    assert after["crm-0"] == before["crm-0"]  # M1's id survives the merge
    assert after["crm-3"] == before["crm-0"]  # M2 joined M1
    assert after["crm-4"] == before["crm-4"]  # M3 untouched
    issued = {v for v in before.values() if v}
    assert after["crm-6"] not in issued and after["crm-6"] > max(issued)  # never reused
    history = engine.to_pandas(engine.table(result.tables["identity_history"]))
    assert history[["old_customer_id", "new_customer_id", "reason", "records"]].to_dict(
        "records"
    ) == [
        {
            "old_customer_id": before["crm-3"],
            "new_customer_id": before["crm-0"],
            "reason": "merge",
            "records": 1,
        }
    ]
    assert (result.merges, result.splits) == (1, 0)


# ----------------------------------------------------------------- generated company
@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, Path]:
    out = tmp_path_factory.mktemp("identity-company")
    generated = generate_company(out, customers=3000, seed=23)
    with generated.project_file.open("a", encoding="utf-8") as project_file:
        project_file.write("predict:\n  enabled: false  # identity is under test, not models\n")
    project = Project.load(generated.project_file)
    project.run(report=False)
    return project, out


@pytest.mark.slow
def test_accuracy_on_generated_company_with_typos_and_hubs(
    company: tuple[Project, Path],
) -> None:
    project, out = company
    truth = pd.read_csv(out / "truth" / "hubs.csv")
    assert set(truth["kind"]) >= {"store_phone", "placeholder_phone", "family_device"}
    with project.engine() as engine:
        truth_table = engine.materialize("_truth", read_truth(out / "truth" / "records.csv"))
        overall, per_source = evaluate_identity_map(
            engine, engine.table("identity_map"), truth_table
        )
    assert overall.records > 100_000
    assert overall.precision >= 0.995, overall
    assert overall.recall >= 0.97, overall
    # the CRM's duplicate registrations are where probabilistic matching earns its keep
    assert per_source["crm_members"].precision >= 0.995


@pytest.mark.slow
def test_planted_hubs_are_blocked(company: tuple[Project, Path]) -> None:
    project, out = company
    planted = pd.read_csv(out / "truth" / "hubs.csv")
    big = planted[planted["persons"] >= 3]
    hubs = project.table("identity_hubs", role="admin")
    blocked = set(zip(hubs["id_type"], hubs["id_value"], strict=True))
    missed = [
        (r.id_type, r.value, r.kind, r.persons)
        for r in big.itertuples()
        if (r.id_type, r.value) not in blocked
    ]
    assert len(big) > 10
    assert missed == []


@pytest.mark.slow
def test_growing_data_keeps_customer_ids(company: tuple[Project, Path], tmp_path: Path) -> None:
    _, out = company
    spec = yaml.safe_load((out / "segmint.yml").read_text(encoding="utf-8"))
    spec["warehouse"]["path"] = str(tmp_path / "grow.duckdb")
    spec["clustering"] = {"enabled": False}  # ids are under test (two runs of 3,000 customers)
    for source in spec["sources"]:
        source["path"] = str(out / source["path"])
    full = dict(spec)
    early = dict(spec, sources=[s for s in spec["sources"] if s["name"] != "app_events"])
    path = tmp_path / "segmint.yml"
    path.write_text(yaml.safe_dump(early, allow_unicode=True), encoding="utf-8")
    project = Project.load(path)
    project.run(report=False)
    before = project.table("identity_map", role="admin")
    path.write_text(yaml.safe_dump(full, allow_unicode=True), encoding="utf-8")
    project = Project.load(path)
    project.run(report=False)
    after = project.table("identity_map", role="admin")
    history = project.table("identity_history", role="admin")

    both = before.merge(after, on=["source", "record_key"], suffixes=("_before", "_after"))
    both = both.dropna(subset=["customer_id_before"])
    changed = both[both["customer_id_before"] != both["customer_id_after"]]
    assert len(both) > 50_000
    assert len(changed) / len(both) < 0.01
    # every change is explained by the history
    explained = set(zip(history["old_customer_id"], history["new_customer_id"], strict=True))
    moved = set(
        zip(changed["customer_id_before"], changed["customer_id_after"].fillna(""), strict=True)
    )
    assert moved <= explained


def test_engine_placeholder_rule_agrees_with_the_reference_normalisers(engine: Engine) -> None:
    phones = [
        "+8613800138000",
        "+8613999999999",
        "+8618800000000",
        "+8613456789012",
        "+8613812345678",
        "+8615012345678",
        "+8613912345670",
    ]
    emails = [
        "test@qq.com",
        "noreply@163.com",
        "someone@test.com",
        "a.b@corp.invalid",
        "zhang.wei@163.com",
        "li@qq.com",
    ]
    frame = pd.DataFrame(
        {
            "id_type": ["phone"] * len(phones) + ["email"] * len(emails),
            "id_value": phones + emails,
        }
    )
    table = engine.materialize("placeholders", frame)
    got = engine.to_pandas(table.mutate(flag=is_placeholder(table.id_type, table.id_value)))
    expected = {p: is_placeholder_phone(p) for p in phones} | {
        e: is_placeholder_email(e) for e in emails
    }
    assert dict(zip(got["id_value"], got["flag"], strict=True)) == expected
    assert any(expected.values()) and not all(expected.values())


@pytest.mark.slow
def test_clusters_recover_the_planted_personas(company: tuple[Project, Path]) -> None:
    """The pipeline's clusters against the generator's six planted personas: the issue's
    floor (ARI >= 0.7 with k = the planted six) on the suite's one full generated run
    (3,000 customers, seed 23). Measured at this commit: k = 6 (prediction strength),
    ARI 0.753, NMI 0.775. Other companies are in docs/segments.md.
    """
    project, out = company
    scores = project.evaluate_clusters(out / "truth").iloc[0]
    assert scores["planted"] == 6
    assert scores["k"] == 6, scores
    assert scores["customers"] > 2_500
    assert scores["ari"] >= 0.7, scores
    assert scores["nmi"] >= 0.72, scores
