"""Rule segments on DuckDB: the wide table, members, live counts, errors and settings.

Members are compared with the same selections written independently in pandas.
"""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from segmint.errors import ConfigError
from segmint.project.spec_profile import LayerSettings
from segmint.project.spec_segments import SegmentRuleSpec, SegmentSettings
from segmint.segments.rules import (
    SegmentRuleError,
    check_project_rules,
    check_segment_rules,
    count_rule,
    live_counts,
    segment_members,
    wide_schema,
    wide_table,
)
from segmint.tags.catalogue import DEFAULT_TAGS

AS_OF = dt.datetime(2026, 3, 1)
N = 300
TAGS = ["vip", "new", "never_held"]
RULES = {
    "vip_churn": "tag_vip and churn_risk == 'high'",
    "big_spenders": "monetary >= 500 and frequency >= 3",
    "champions": "rfm_segment in ['Champions', 'Loyal']",
    "recent": "last_order_at within 30d",
    "layer_or_old": "value_layer == 'high_value' or not tag_new",
}


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(6)
    ids = [f"c{i:03d}" for i in range(N)]
    monetary = rng.gamma(2.0, 300.0, N).round(2)
    monetary[rng.random(N) < 0.1] = np.nan
    profile = pd.DataFrame(
        {
            "customer_id": ids,
            "monetary": monetary,
            "frequency": rng.integers(0, 8, N),
            "rfm_segment": rng.choice(
                np.array(["Champions", "Loyal", "At Risk", "Lost", None], dtype=object), N
            ),
            "value_layer": rng.choice(
                np.array(["high_value", "potential", "basic", None], dtype=object), N
            ),
            "last_order_at": [AS_OF - dt.timedelta(days=int(d)) for d in rng.integers(0, 90, N)],
        }
    )
    scored = rng.random(N) < 0.7
    predictions = pd.DataFrame(
        {
            "customer_id": np.array(ids)[scored],
            "churn_risk": rng.choice(["low", "medium", "high"], int(scored.sum())),
            "run_id": "r1",
        }
    )
    tag_rows = [(c, t) for c in ids for t in ("vip", "new", "other") if rng.random() < 0.3]
    tags = pd.DataFrame(tag_rows, columns=["customer_id", "tag"])
    return {"profile": profile, "predictions": predictions, "tags": tags}


@pytest.fixture(scope="module")
def wide(data: dict[str, pd.DataFrame]) -> ibis.Table:
    con = ibis.duckdb.connect()
    return wide_table(
        con.create_table("profiles", data["profile"]),
        con.create_table("customer_predictions", data["predictions"]),
        con.create_table("customer_tags", data["tags"]),
        TAGS,
    )


def expected_members(data: dict[str, pd.DataFrame]) -> set[tuple[str, str]]:
    p = data["profile"].merge(
        data["predictions"][["customer_id", "churn_risk"]], on="customer_id", how="left"
    )
    held = data["tags"].groupby("customer_id")["tag"].apply(set)
    has = {t: p.customer_id.map(lambda c, t=t: t in held.get(c, set())) for t in TAGS}
    masks = {
        "vip_churn": has["vip"] & (p.churn_risk == "high"),
        "big_spenders": (p.monetary >= 500) & (p.frequency >= 3),
        "champions": p.rfm_segment.isin(["Champions", "Loyal"]),
        "recent": p.last_order_at >= AS_OF - dt.timedelta(days=30),
        "layer_or_old": (p.value_layer == "high_value") | ~has["new"],
    }
    return {(s, c) for s, m in masks.items() for c in p.customer_id[m.fillna(False)]}


def test_wide_table_flags_tags_and_keeps_every_customer(
    wide: ibis.Table, data: dict[str, pd.DataFrame]
) -> None:
    frame = wide.to_pandas().set_index("customer_id")
    assert len(frame) == N
    assert "run_id" not in frame.columns
    tags = data["tags"]
    for tag in TAGS:
        holders = set(tags.customer_id[tags.tag == tag])
        assert set(frame.index[frame[f"tag_{tag}"]]) == holders
        assert frame[f"tag_{tag}"].notna().all()
    assert not frame["tag_never_held"].any()
    assert "tag_other" not in frame.columns  # only the catalogue's names become columns
    assert dict(wide.schema().items()) == dict(
        wide_schema(
            ibis.schema({c: wide.schema()[c] for c in data["profile"].columns}),
            {"customer_id": "string", "churn_risk": "string", "run_id": "string"},
            TAGS,
        ).items()
    )


def test_members_match_pandas(wide: ibis.Table, data: dict[str, pd.DataFrame]) -> None:
    members = segment_members(wide, RULES, as_of=AS_OF).to_pandas()
    got = set(zip(members.segment, members.customer_id, strict=True))
    assert len(got) == len(members)  # one row per membership
    expected = expected_members(data)
    assert got == expected
    assert {s for s, _ in expected} == set(RULES)  # every rule selects somebody


def test_live_counts_and_count_rule(wide: ibis.Table, data: dict[str, pd.DataFrame]) -> None:
    expected = pd.Series([s for s, _ in expected_members(data)]).value_counts()
    counts = live_counts(wide, RULES, as_of=AS_OF)
    assert counts.pop("customers") == N
    assert counts == {name: int(expected.get(name, 0)) for name in RULES}
    p = data["profile"]
    assert count_rule(wide, "monetary > 1000 or monetary is null") == int(
        ((p.monetary > 1000) | p.monetary.isna()).sum()
    )
    assert count_rule(wide, "tag_never_held") == 0


def test_errors_name_segment_column_and_suggest(wide: ibis.Table) -> None:
    with pytest.raises(
        SegmentRuleError,
        match=r"segment 'x'.*unknown column 'monetery'.*"
        r"did you mean 'monetary'",
    ) as info:
        segment_members(wide, {"x": "monetery > 5"}, as_of=AS_OF)
    assert "monetery > 5" in str(info.value)  # the rule is shown with a caret
    assert isinstance(info.value, ConfigError)
    with pytest.raises(SegmentRuleError, match="did you mean 'tag_vip'"):
        count_rule(wide, "tag_vipp and frequency > 1", name="ad")
    with pytest.raises(SegmentRuleError, match=r"rfm_segment never holds 'Champion'.*'Champions'"):
        count_rule(wide, "rfm_segment == 'Champion'")
    with pytest.raises(SegmentRuleError, match="value_layer never holds 'high'"):
        check_segment_rules(
            {"a": "value_layer in ['high', 'basic']"},
            wide.schema(),
            known_values={"value_layer": ["high_value", "basic"]},
        )


def test_check_reports_every_bad_rule_at_once(wide: ibis.Table) -> None:
    rules = [
        SegmentRuleSpec(name="ok", rule="frequency > 2", description="fine"),
        SegmentRuleSpec(name="typo", rule="frequncy > 2", description="bad column"),
        SegmentRuleSpec(name="types", rule="tag_vip + 1 > 2", description="bad types"),
    ]
    with pytest.raises(SegmentRuleError) as info:
        check_segment_rules(rules, wide.schema())
    text = str(info.value)
    assert text.startswith("2 segment rules are invalid")
    assert "segment 'typo': unknown column 'frequncy'; did you mean 'frequency'" in text
    assert "segment 'types'" in text and "segment 'ok'" not in text
    check_segment_rules(rules[:1], wide.schema())  # a good rule passes


def test_project_check_uses_traits_scores_tags_and_layers() -> None:
    tags = [t.name for t in DEFAULT_TAGS]
    layers = [layer.name for layer in LayerSettings().definitions]
    rules = {
        "ok": f"tag_{tags[0]} and churn_risk == 'high' and value_layer == 'potential'",
        "rfm": "rfm_segment == 'Champions' and monetary > 100",
    }
    check_project_rules(rules, tags, layers)
    with pytest.raises(SegmentRuleError, match="unknown column 'churn_risk'"):
        check_project_rules(rules, tags, layers, predictions=False)
    with pytest.raises(SegmentRuleError, match="value_layer never holds 'potentail'"):
        check_project_rules({"x": "value_layer == 'potentail'"}, tags, layers)


def test_settings_are_strict() -> None:
    good = {
        "rules": [
            {"name": "vip", "rule": "tag_vip", "description": "VIPs"},
            {"name": "rest", "rule": "not tag_vip", "description": "the others"},
        ],
        "families": [{"name": "vip_family", "segments": ["vip", "rest"]}],
        "validation": {"revenue_coverage": 0.9},
    }
    settings = SegmentSettings.model_validate(good)
    assert settings.validation.revenue_coverage == 0.9
    assert settings.validation.min_size == 50
    assert [f.name for f in SegmentSettings().families] == ["rfm", "value_layer"]
    bad_cases = [
        ({"rules": [{"name": "VIP", "rule": "x", "description": "d"}]}, "pattern"),
        ({"rules": [{"name": "none", "rule": "x", "description": "d"}]}, "reserved"),
        ({"rules": [{"name": "a", "rule": "x", "description": "d", "colour": 1}]}, "extra"),
        ({"rules": [{"name": "a", "rule": "x", "description": "d"}] * 2}, "defined twice"),
        ({"families": [{"name": "f", "segments": ["a", "b"]}]}, "unknown segment"),
        ({"families": [{"name": "f", "column": "c", "segments": ["a", "b"]}]}, "exactly one"),
        ({"validation": {"revenue_coverage": 1.5}}, "less than or equal"),
    ]
    for raw, message in bad_cases:
        with pytest.raises(ValidationError, match=message):
            SegmentSettings.model_validate(raw)
