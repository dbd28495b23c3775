"""The project file: validation errors name file, field and line, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from segmint.errors import ConfigError
from segmint.project.loader import load_project, project_json_schema
from segmint.project.spec import ProjectSpec, utc_offset_hours
from segmint.project.starter import STARTER_PROJECT

BAD = """name: x
warehous:
  engine: duckdb
quality:
  completeness_min: 1.5
sources:
  - name: crm
    entity: customers
    path: a.csv
    columns:
      customer_key: id
      phonee: mobile
  - name: ord
    entity: orderz
    path: o.csv
    columns: {}
"""


def test_every_error_is_reported_once_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "segmint.yml"
    path.write_text(BAD, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_project(path)
    message = str(info.value)
    assert message.startswith("4 problem(s) in segmint.yml")
    assert f"{path}:2: warehous: unknown key 'warehous'; did you mean 'warehouse'?" in message
    assert f"{path}:5: quality.completeness_min: Input should be less than or equal to 1" in message
    assert "'phonee' (did you mean 'phone'?)" in message
    assert f"{path}:14: sources[1].entity: unknown entity 'orderz'" in message


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "segmint.yml"
    path.write_text("name: x\nsources: [\n  - a: b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"segmint.yml:\d+: not valid YAML"):
        load_project(path)


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist; create one with 'segmint init'"):
        load_project(tmp_path / "nope.yml")


def test_required_columns_and_identifiers_are_enforced() -> None:
    base = {"name": "x", "sources": [{"name": "o", "entity": "orders", "path": "o.csv"}]}
    base["sources"][0]["columns"] = {"order_id": "id", "ordered_at": "t", "amount": "a"}
    with pytest.raises(ValueError, match="must map at least one identifier"):
        ProjectSpec.model_validate(base)
    base["sources"][0]["columns"] = {"order_id": "id", "member_id": "m"}
    with pytest.raises(ValueError, match="needs column\\(s\\) ordered_at, amount"):
        ProjectSpec.model_validate(base)


def test_recoded_enum_values_must_be_allowed() -> None:
    spec = {
        "name": "x",
        "sources": [
            {
                "name": "c",
                "entity": "customers",
                "path": "c.csv",
                "columns": {"customer_key": "k", "gender": {"from": "g", "values": {"男": "male"}}},
            }
        ],
    }
    with pytest.raises(ValueError, match="recoded value\\(s\\) male are not in F, M, U"):
        ProjectSpec.model_validate(spec)


def test_starter_project_is_valid() -> None:
    spec = ProjectSpec.model_validate(yaml.safe_load(STARTER_PROJECT))
    assert [s.name for s in spec.sources] == ["crm_members", "store_orders"]
    assert spec.sources[1].encoding == "gbk"


def test_json_schema_describes_sources() -> None:
    schema = project_json_schema()
    assert schema["title"].startswith("segmint project file")
    assert "sources" in schema["properties"]
    assert "warehouse" in schema["properties"]


@pytest.mark.parametrize(
    ("zone", "hours"),
    [("UTC", 0.0), ("Asia/Shanghai", 8.0), ("UTC+05:30", 5.5), ("-03:00", -3.0)],
)
def test_fixed_offsets(zone: str, hours: float) -> None:
    assert utc_offset_hours(zone) == hours


def test_daylight_saving_zones_are_refused_with_advice() -> None:
    with pytest.raises(ValueError, match=r"daylight-saving.*UTC-05:00"):
        utc_offset_hours("America/New_York")
