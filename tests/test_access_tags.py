"""Tags carry a sensitivity: no role sees a tag (its members, its history or its definition)
above its level, on any read path, and the profile's sensitive traits and PII follow the
same rule."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from mini_project import write_mini_project
from segmint import Project
from segmint.cli.app import app
from segmint.errors import AccessDeniedError

# one tag per level, each held by every buyer, so a leak cannot hide behind an empty result
TAGS = {
    "every_buyer_public": "public",
    "every_buyer_internal": "internal",
    "every_buyer_sensitive": "sensitive",
    "every_buyer_pii": "pii",
}
LEVEL = {"admin": "pii", "analyst": "sensitive", "marketer": "internal", "agency": "public"}
ORDER = ("public", "internal", "sensitive", "pii")
TAG_TABLES = ("customer_tags", "tag_history", "tag_catalog")
runner = CliRunner()


def _visible(role: str) -> set[str]:
    top = ORDER.index(LEVEL[role])
    return {tag for tag, level in TAGS.items() if ORDER.index(level) <= top}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Project:
    path = write_mini_project(tmp_path_factory.mktemp("tags_access") / "mini")
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec["tags"] = {
        "definitions": [
            {
                "name": name,
                "type": "behaviour",
                "description": f"Every buyer ({level}).",
                "sensitivity": level,
                "rule": "frequency >= 1",
            }
            for name, level in TAGS.items()
        ]
    }
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    project = Project.load(path)
    project.run(report=False)
    return project


def _tags_in(frame: pd.DataFrame) -> set[str]:
    return set(frame["tag"]) & set(TAGS) if "tag" in frame.columns else set()


def test_admin_sees_every_level(built: Project) -> None:
    for table in TAG_TABLES:
        assert _tags_in(built.table(table, role="admin")) == set(TAGS), table
    members = built.table("customer_tags", role="admin")
    assert (members["tag"] == "every_buyer_pii").sum() >= 3


@pytest.mark.parametrize("role", ["analyst", "marketer", "agency"])
def test_python_api_filters_tags_by_level(built: Project, role: str) -> None:
    for table in TAG_TABLES:
        try:
            frame = built.table(table, role=role)
        except AccessDeniedError:  # a role may be denied the whole table
            assert role == "agency" and table != "tag_catalog"
            continue
        assert _tags_in(frame) == _visible(role), (table, role)


@pytest.mark.parametrize("role", ["analyst", "marketer", "agency"])
def test_exports_filter_tags_by_level(built: Project, role: str, tmp_path: Path) -> None:
    for table in TAG_TABLES:
        out = tmp_path / f"{table}.csv"
        result = runner.invoke(
            app,
            [
                *("export", str(built.loaded.path), table),
                *("--format", "csv", "--out", str(out), "--role", role),
            ],
        )
        if result.exit_code != 0:
            assert role == "agency" and table != "tag_catalog", result.output
            continue
        assert _tags_in(pd.read_csv(out)) == _visible(role), (table, role)
        text = out.read_text(encoding="utf-8")
        for tag in set(TAGS) - _visible(role):
            assert tag not in text


@pytest.mark.parametrize("role", ["analyst", "marketer"])
def test_profile_pii_is_masked_and_sensitive_traits_follow_the_role(
    built: Project, role: str
) -> None:
    clear = built.table("profiles", role="admin")
    seen = built.table("profiles", role=role)
    phones = set(clear["phone"].dropna())
    assert phones and not phones & set(seen["phone"].dropna())
    assert seen["phone"].dropna().str.contains(r"\*\*\*\*").all()
    if role == "marketer":
        assert "gender" not in seen.columns and "age" not in seen.columns
    else:
        assert "gender" in seen.columns


def test_tag_catalogue_json_from_cli_respects_the_role(built: Project) -> None:
    result = runner.invoke(
        app, ["tags", "list", str(built.loaded.path), "--role", "marketer", "--json"]
    )
    assert result.exit_code == 0, result.output
    names = {row["tag"] for row in json.loads(result.stdout)}
    assert names & set(TAGS) == _visible("marketer")


def test_a_bad_tag_rule_fails_the_run_at_once_naming_tag_and_position(tmp_path: Path) -> None:
    path = write_mini_project(tmp_path / "bad")
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec["tags"] = {
        "definitions": [
            {
                "name": "weekend_typo",
                "type": "behaviour",
                "description": "A typo in a column name.",
                "rule": "frequency >= 3 and weekend_shar >= 0.5",
            }
        ]
    }
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["run", str(path), "--no-report"])
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "tag 'weekend_typo'" in message and "column 20" in message, message
    assert "weekend_share" in message  # did you mean
    # the failed run is logged, nothing was ingested
    published = set(Project.load(path).tables(role="admin"))
    assert published <= {"runs", "run_stages", "run_sources", "access_audit"}, published
