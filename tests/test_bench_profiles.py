"""The bench's pandas profile gets segmint's traits and tags, and restates segmint's rules.

bench/profiles.py times segmint's profile and tags stages against `bench/pandas_profile.py`;
the ratio only means something if both compute the same thing. On a small generated company
(restricted to the bench's sources) this checks every covered trait per customer and every
tag's members, that the data plainly written into the pandas version (survivorship defaults,
channels, age bands, layers, tag rules, the tags left out) is still segmint's, and that the
harness's own segmint runs (full build, then an incremental refresh) work.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from segmint import Project
from segmint.generate import generate_company
from segmint.project.spec_profile import SURVIVING_FIELDS, LayerSettings
from segmint.tags.catalogue import DEFAULT_TAGS, generated_tags
from segmint.tags.dsl import rule_columns
from segmint.tags.stage import catalogue
from segmint.traits import behaviour, profile
from segmint.traits.catalog import PROFILE_COLUMNS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import pandas_profile
import profiles
from run import write_bench_project

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated company with only the bench's sources, run through segmint."""
    out = tmp_path_factory.mktemp("bench_profiles")
    generate_company(out, customers=300, seed=5)
    write_bench_project(out)
    project = profiles.write_profiles_project(out)
    Project.load(project).run(report=False)
    return project


def _admin(project: Path, name: str) -> pd.DataFrame:
    return Project.load(project).table(name, role="admin")


def test_pandas_profile_and_tags_equal_segmints(company: Path) -> None:
    result = pandas_profile.run(company)
    segmint_tags = _admin(company, "customer_tags")
    checks = profiles.compare_profiles(
        _admin(company, "profiles"), result.profile, segmint_tags, result.tags
    )
    assert all(ok for _, ok, _ in checks), [c for c in checks if not c[1]]
    assert len(result.profile) > 250
    covered = [c for c in result.profile.columns if c != "customer_id"]
    assert len(covered) >= 50
    assert set(covered) <= set(PROFILE_COLUMNS)
    # the tags evaluated are segmint's catalogue with the uncovered ones disabled
    spec = Project.load(company).loaded.spec
    evaluated = {t.name for t in catalogue(spec)}
    assert evaluated == set(pandas_profile.tag_rules()) - set(pandas_profile.SKIPPED_TAGS)
    # the data exercise most tags, every layer but churn_warning (no events) and both sides
    # of the nullable traits
    held = set(segmint_tags.tag)
    assert len(held) >= 20
    assert {"layer_high_value", "layer_potential", "layer_basic", "b2b_account"} <= held
    assert result.profile.is_b2b.isna().any() and result.profile.city_tier.isna().any()


def test_the_pandas_version_restates_segmints_definitions() -> None:
    assert pandas_profile.SURVIVING_FIELDS == SURVIVING_FIELDS
    assert pandas_profile.ONLINE_CHANNELS == behaviour.ONLINE_CHANNELS
    assert pandas_profile.CHANNEL_SHARES == behaviour.CHANNEL_SHARES
    assert pandas_profile.AGE_BANDS == profile.AGE_BANDS
    layers = [(x.name, x.top_share, x.rule) for x in LayerSettings().definitions]
    assert list(pandas_profile.LAYERS) == layers
    assert set(pandas_profile.ZERO_WITHOUT_SOURCE) - {"interaction_trend"} <= set(
        profile._FILL_ZERO
    )
    # every default tag is either restated word for word or skipped for a missing trait
    defaults = {t.name: t.rule for t in DEFAULT_TAGS}
    assert {n: defaults[n] for n in pandas_profile.DEFAULT_TAG_RULES} == (
        pandas_profile.DEFAULT_TAG_RULES
    )
    assert set(defaults) == set(pandas_profile.DEFAULT_TAG_RULES) | set(pandas_profile.SKIPPED_TAGS)
    uncovered = set(pandas_profile.NULL_WITHOUT_SOURCE) | set(pandas_profile.ZERO_WITHOUT_SOURCE)
    for name, rule in defaults.items():
        reads_uncovered = bool(rule_columns(rule or "") & uncovered)
        assert reads_uncovered == (name in pandas_profile.SKIPPED_TAGS), name
    generated = {t.name: t.rule for t in generated_tags(LayerSettings())}
    rules = pandas_profile.tag_rules()
    assert {n: rules[n] for n in generated} == generated


def test_rules_become_pandas_expressions() -> None:
    assert pandas_profile.pandas_rule("x within 30d and y > 1") == (
        "(x >= @since_30d and x <= @as_of) and y > 1"
    )
    assert pandas_profile.pandas_rule("a >= 2 and r between 31 and 180") == (
        "a >= 2 and (r >= 31 and r <= 180)"
    )


def test_the_check_names_what_differs() -> None:
    seg = pd.DataFrame({"customer_id": ["a", "b"], "monetary": [1.0, 2.0], "city": ["x", None]})
    pan = seg.assign(monetary=[1.0, 2.5])
    tags = pd.DataFrame({"customer_id": ["a"], "tag": ["t"]})
    checks = profiles.compare_profiles(seg, pan, tags, tags.iloc[:0])
    failed = {what: shown for what, ok, shown in checks if not ok}
    assert set(failed) == {"profile: 2 columns", "tag memberships"}
    assert "monetary: 1 differ" in failed["profile: 2 columns"]
    assert "t 1" in failed["tag memberships"]


def test_the_harness_times_a_full_build_and_an_incremental_refresh(
    company: Path, tmp_path: Path
) -> None:
    try:
        full = profiles.segmint_full(company, tmp_path)
        refresh = profiles.segmint_incremental(company, tmp_path, share=0.05)
    finally:
        profiles.discard_runs(company)
    assert full["mode"] == "full" and full["customers"] > 250
    assert sorted(full["tags"]) == sorted(
        set(pandas_profile.tag_rules()) - set(pandas_profile.SKIPPED_TAGS)
    )
    assert (tmp_path / "profiles-segmint.parquet").exists()
    assert refresh["mode"] == "incremental", refresh["reason"]
    assert refresh["orders_edited"] > 5
    assert refresh["orders_edited"] <= refresh["recomputed"] < full["customers"] / 4
    with Project.load(company).engine() as engine:
        assert not [t for t in engine.list_tables() if t.startswith("_rprofilebench")]
