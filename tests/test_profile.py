"""The unified profile on a generated company: every trait against a brute-force reference,
point-in-time correctness, layers, and incremental refresh equal to a full rebuild."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from profile_reference import reference_profiles
from segmint import Project
from segmint.generate import generate_company
from segmint.traits.catalog import PROFILE_COLUMNS

pytestmark = pytest.mark.slow

AS_OF = dt.datetime(2026, 9, 15)  # before the data ends: later records must not leak in
ENTITIES = (
    "customers",
    "orders",
    "order_items",
    "events",
    "service_interactions",
    "survey_answers",
    "campaign_responses",
)


WAREHOUSE = "warehouse.duckdb"  # where the generated project keeps its warehouse


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, Path]:
    """The company after one run at AS_OF. A copy of the warehouse as that run left it (taken
    before any test reads, and so audits) goes to the sibling folder `<folder>-first-run`:
    the incremental test starts from it instead of repeating that run on copied files."""
    out = tmp_path_factory.mktemp("profile_company")
    generated = generate_company(out, customers=500, seed=23)
    with generated.project_file.open("a", encoding="utf-8") as project_file:
        # Profiles and tags are under test: models (test_predict*) and clusters are not.
        project_file.write("clustering:\n  enabled: false\npredict:\n  enabled: false\n")
    project = Project.load(generated.project_file)
    project.run(as_of=AS_OF, report=False)
    first_run = out.parent / f"{out.name}-first-run"
    first_run.mkdir()
    for file in out.glob(f"{WAREHOUSE}*"):
        shutil.copy2(file, first_run / file.name)
    return project, out


def _admin(project: Project, name: str) -> pd.DataFrame:
    return project.table(name, role="admin")


def test_every_trait_matches_a_brute_force_reference(company: tuple[Project, Path]) -> None:
    project, _ = company
    tables = {name: _admin(project, name) for name in ENTITIES}
    expected = reference_profiles(
        tables,
        _admin(project, "identity_map"),
        AS_OF,
        offset_hours=8.0,
        source_priority=["crm_members"],
    ).set_index("customer_id")
    got = _admin(project, "profiles").set_index("customer_id")
    assert list(got.reset_index().columns) == list(PROFILE_COLUMNS)
    assert set(got.index) == set(expected.index)
    assert len(got) > 400
    checked = [c for c in expected.columns if c in got.columns]
    assert len(checked) >= 55
    for column in checked:
        left = got.loc[expected.index, column]
        right = expected[column]
        both_null = left.isna() & right.isna()
        if pd.api.types.is_numeric_dtype(right) and column not in ("is_b2b",):
            close = np.isclose(
                pd.to_numeric(left, errors="coerce").astype(float),
                pd.to_numeric(right, errors="coerce").astype(float),
                rtol=1e-9,
                atol=1e-6,
            )
            bad = ~(both_null | close)
        else:
            same = left.astype(str) == right.astype(str)
            if right.dropna().map(lambda v: isinstance(v, dt.datetime | pd.Timestamp)).any():
                same = pd.to_datetime(left) == pd.to_datetime(right)
            bad = ~(both_null | same)
        assert not bad.any(), (
            f"{column}: {int(bad.sum())} customers differ, e.g.\n"
            f"{pd.DataFrame({'engine': left[bad], 'reference': right[bad]}).head()}"
        )


def test_nothing_after_the_as_of_time_leaks_in(company: tuple[Project, Path]) -> None:
    project, _ = company
    profiles = _admin(project, "profiles")
    for column in ("last_order_at", "last_event_at", "first_seen_at", "registered_at"):
        assert (profiles[column].dropna() <= AS_OF).all(), column
    # later records exist; ingest holds back those past the tolerance, the profile the rest
    quarantine = _admin(project, "quarantine")
    assert (quarantine["rule"] == "future_timestamp").sum() > 1000
    orders = _admin(project, "orders")
    assert (orders["ordered_at"] > AS_OF).sum() > 0


def test_value_layers_follow_their_definition(company: tuple[Project, Path]) -> None:
    project, _ = company
    profiles = _admin(project, "profiles")
    buyers = profiles[profiles["frequency"] > 0]
    assert profiles.loc[profiles["frequency"] == 0, "value_layer"].isna().all()
    shares = buyers["value_layer"].value_counts(normalize=True)
    assert set(shares.index) == {"high_value", "potential", "basic", "churn_warning"}
    assert 0.17 <= shares["high_value"] <= 0.2 + 1e-9
    high = buyers[buyers["value_layer"] == "high_value"]
    assert (high["frequency"] >= 2).all()
    churn = buyers[buyers["value_layer"] == "churn_warning"]
    assert churn["recency_days"].between(31, 180).all() and (churn["interaction_trend"] < 0).all()
    revenue = buyers.groupby("value_layer")["monetary"].sum() / buyers["monetary"].sum()
    assert revenue["high_value"] > 0.5  # the top fifth carries most revenue


def _edit(project_dir: Path) -> None:
    """New and changed data between two runs: a member moves city, an order is added."""
    crm = project_dir / "crm" / "members.csv"
    raw = crm.read_bytes()
    encoding = "gb18030" if b"\xef\xbb\xbf" not in raw[:3] else "utf-8-sig"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        encoding = "utf-8"
        text = raw.decode(encoding)
    lines = text.splitlines(keepends=True)
    for i in range(1, len(lines)):
        if "上海" not in lines[i] and "北京" in lines[i]:
            lines[i] = lines[i].replace("北京市", "上海市").replace("北京", "上海")
            break
    crm.write_bytes("".join(lines).encode(encoding))


def test_incremental_refresh_equals_a_full_rebuild_and_history_follows(
    company: tuple[Project, Path], tmp_path: Path
) -> None:
    _, source_dir = company
    later = dt.datetime(2026, 10, 20)
    inc_dir = tmp_path / "incremental"
    shutil.copytree(source_dir, inc_dir, ignore=shutil.ignore_patterns("*.duckdb*", "*.html"))
    # The first run at AS_OF on these same files and settings is the fixture's run: start
    # from the warehouse it left (run ids, and the _file paths the profile does not hash,
    # are all that differ from running it again here).
    first_run = source_dir.parent / f"{source_dir.name}-first-run"
    shutil.copytree(first_run, inc_dir, dirs_exist_ok=True)
    incremental = Project.load(inc_dir / "segmint.yml")
    assert incremental.table("profile_meta", role="admin").iloc[0]["as_of"] == AS_OF
    first = incremental.table("customer_tags", role="admin")
    _edit(inc_dir)
    manifest = incremental.run(as_of=later, report=False)
    _check_history(incremental, first, later)
    note = next(n for n in manifest.notes if n.startswith("profile:"))
    assert "incremental" in note, note
    meta = incremental.table("profile_meta", role="admin").iloc[0]
    assert 0 < meta["recomputed"] < meta["customers"] * 0.9, meta.to_dict()

    full_dir = tmp_path / "full"
    shutil.copytree(inc_dir, full_dir, ignore=shutil.ignore_patterns("*.duckdb*", "*.html"))
    full = Project.load(full_dir / "segmint.yml")
    full.run(as_of=later, report=False)
    assert full.table("profile_meta", role="admin").iloc[0]["mode"] == "full"

    def canonical(project: Project, name: str) -> pd.DataFrame:
        """Customer ids depend on run history (stable ids), so name each customer by its
        smallest record key instead."""
        ids = project.table("identity_map", role="admin").dropna(subset=["customer_id"])
        key = (ids["source"] + "|" + ids["record_key"]).groupby(ids["customer_id"]).min()
        frame = project.table(name, role="admin")
        frame["customer_id"] = frame["customer_id"].map(key)
        return frame.sort_values(list(frame.columns)[:2]).reset_index(drop=True)

    pd.testing.assert_frame_equal(canonical(incremental, "profiles"), canonical(full, "profiles"))
    pd.testing.assert_frame_equal(
        canonical(incremental, "customer_tags"), canonical(full, "customer_tags")
    )


def _check_history(project: Project, first: pd.DataFrame, later: dt.datetime) -> None:
    """tag_history opened the spells gained and closed those lost at the second run."""
    second = project.table("customer_tags", role="admin")
    history = project.table("tag_history", role="admin")
    before = set(zip(first["customer_id"], first["tag"], strict=True))
    after = set(zip(second["customer_id"], second["tag"], strict=True))
    gained, lost = after - before, before - after
    assert gained and lost  # 35 days move recency-based tags both ways
    open_rows = history[history["valid_to"].isna()]
    assert set(zip(open_rows["customer_id"], open_rows["tag"], strict=True)) == after
    new_rows = history[history["valid_from"] == pd.Timestamp(later)]
    assert set(zip(new_rows["customer_id"], new_rows["tag"], strict=True)) == gained
    closed = history[history["valid_to"] == pd.Timestamp(later)]
    assert set(zip(closed["customer_id"], closed["tag"], strict=True)) == lost
    catalog = project.table("tag_catalog", role="admin").set_index("tag")
    for tag, count in pd.Series([t for _, t in gained]).value_counts().items():
        assert catalog.loc[tag, "gained"] == count


def test_project_tags_replace_defaults_and_refresh_policies_hold(tmp_path: Path) -> None:
    out = tmp_path / "tags"
    generated = generate_company(out, customers=150, seed=3)
    spec = yaml.safe_load(generated.project_file.read_text(encoding="utf-8"))
    spec["clustering"] = {"enabled": False}
    spec["predict"] = {"enabled": False}
    spec["tags"] = {
        "disable": ["night_owl"],
        "definitions": [
            {
                "name": "premium_buyer",
                "type": "need",
                "description": "Our own premium threshold.",
                "rule": "aov >= 300",
                "refresh": "weekly",
            },
            {
                "name": "vip_plugin",
                "type": "value",
                "description": "A plugin tag.",
                "plugin": "my_tags:vip",
                "sensitivity": "sensitive",
            },
        ],
    }
    generated.project_file.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    (out / "my_tags.py").write_text(
        "def vip(profile, as_of):\n    return profile.monetary >= 5000\n", encoding="utf-8"
    )
    project = Project.load(generated.project_file)
    project.run(as_of=AS_OF, report=False)
    catalog = project.table("tag_catalog", role="admin").set_index("tag")
    assert "night_owl" not in catalog.index
    assert catalog.loc["premium_buyer", "rule"] == "aov >= 300"
    profiles = project.table("profiles", role="admin")
    tags = project.table("customer_tags", role="admin")
    premium = set(tags.loc[tags["tag"] == "premium_buyer", "customer_id"])
    assert premium == set(profiles.loc[profiles["aov"] >= 300, "customer_id"])
    vip = set(tags.loc[tags["tag"] == "vip_plugin", "customer_id"])
    assert vip == set(profiles.loc[profiles["monetary"] >= 5000, "customer_id"]) and vip
    # three days later the weekly tag is not due: it keeps its members, others refresh
    project.run(as_of=AS_OF + dt.timedelta(days=3), report=False)
    catalog = project.table("tag_catalog", role="admin").set_index("tag")
    assert not catalog.loc["premium_buyer", "refreshed"]
    assert catalog.loc["recent_buyer", "refreshed"]
    again = project.table("customer_tags", role="admin")
    assert set(again.loc[again["tag"] == "premium_buyer", "customer_id"]) == premium
