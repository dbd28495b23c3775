"""Probabilistic identity: Splink on the engine's own connection, scored against truth.

Floors are set honestly below what was measured (docs/identity-evaluation.md): febrl4 F1
0.9999; the CRM pairs of a generated 2,000-customer company (seed 5, which was not used for
tuning) precision 1.0, recall 1.0.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import duckdb
import ibis
import pandas as pd
import pytest
import yaml

from conftest import requires_spark
from segmint import Project
from segmint.engine.engine import Capabilities, Engine
from segmint.errors import BackendCapabilityError, IdentityError
from segmint.generate import generate_company
from segmint.identity.linkage_eval import (
    FEBRL_SETTINGS,
    FEBRL_SPEC,
    crm_truth,
    evaluate_generated,
    generated_candidates,
    load_febrl,
    memory_engine,
    pairwise_metrics,
    run_segmint_febrl,
)
from segmint.identity.probabilistic import (
    CUSTOMER_SPEC,
    LINK_COLUMNS,
    ProbabilisticSettings,
    _one_substitution,
    _prepare,
    _sample_bucket,
    _sample_bucket_sql,
    _training_rules,
    match_records,
)

FEBRL4_F1_FLOOR = 0.99
GENERATED_PRECISION_FLOOR = 0.99
GENERATED_RECALL_FLOOR = 0.95


# -- units ------------------------------------------------------------------------------------


def test_pairwise_metrics_count_unordered_pairs_within_clusters() -> None:
    clusters = {1: "a", 2: "a", 3: "a", 4: "b", 5: "c"}
    metrics = pairwise_metrics([(2, 1), (1, 2), (3, 1), (4, 5)], clusters)
    assert (metrics.true_pairs, metrics.predicted_pairs, metrics.true_positives) == (3, 3, 2)
    assert metrics.precision == pytest.approx(2 / 3)
    assert metrics.recall == pytest.approx(2 / 3)
    # Link-only: pairs inside one file count on neither side.
    groups = {1: 0, 2: 1, 3: 1, 4: 0, 5: 1}
    linked = pairwise_metrics([(1, 2), (2, 3)], clusters, groups)
    assert (linked.true_pairs, linked.predicted_pairs, linked.true_positives) == (2, 1, 1)


@pytest.mark.parametrize(
    ("left", "right", "one_substitution"),
    [
        ("张凯磊", "张凯雷", True),  # one character of three: DuckDB's byte levenshtein says 3
        ("邹铭", "邹昊", True),
        ("马娜雨", "马娜雨", True),  # equal is caught by the exact level before this one
        ("张凯磊", "张磊", False),
        ("张凯磊", "李凯雷", False),
        ("Emma Li", "Ema Li", False),  # Latin names go to the edit-distance level
    ],
)
def test_one_character_substitution_counts_characters(
    left: str, right: str, one_substitution: bool
) -> None:
    sql = f"SELECT {_one_substitution('a', 'b')} FROM (SELECT ? AS a, ? AS b)"
    assert duckdb.execute(sql, [left, right]).fetchone() == (one_substitution,)


def test_preparation_drops_suffixes_unknown_gender_and_placeholder_phones() -> None:
    engine = memory_engine()
    frame = pd.DataFrame(
        {
            "unique_id": [1, 2, 3, 4],
            "component": [1, 2, 3, 4],
            "name": [" 张伟 ", "张伟", "", "李娜"],
            "gender": ["M", "u", "f", None],
            "birth_date": pd.to_datetime(["1990-01-01"] * 4).date,
            "phone": ["+8613800000000", "+8613800000000", "+8613800000000", "+8613912345678"],
            "email": [None, "a@b.cn", "a@b.cn", None],
            "city": ["上海市", "上海", "广西壮族自治区", None],
        }
    )
    table = engine.materialize("c", frame)
    settings = dataclasses.replace(ProbabilisticSettings(), max_records_per_identifier=2)
    prepared = engine.to_pandas(_prepare(table, CUSTOMER_SPEC, settings).order_by("unique_id"))
    assert prepared["name"].tolist()[:2] == ["张伟", "张伟"] and pd.isna(prepared["name"][2])
    assert prepared["gender"].tolist()[0] == "M" and prepared["gender"].tolist()[2] == "F"
    assert pd.isna(prepared["gender"][1])
    assert prepared["city"].tolist()[:3] == ["上海", "上海", "广西"]
    assert prepared["phone"].isna().tolist() == [True, True, True, False]  # held by 3 > 2
    assert prepared["email"].tolist()[1:3] == ["a@b.cn", "a@b.cn"]  # held by 2: kept


def _crowded_birth_dates(records: int = 600, dates: int = 3) -> pd.DataFrame:
    """Records whose birth dates share a few days: the birth-date rule makes many pairs."""
    return pd.DataFrame(
        {
            "unique_id": range(1, records + 1),
            "component": range(1, records + 1),
            "name": [f"名{i % 50}" for i in range(records)],
            "gender": ["M"] * records,
            "birth_date": pd.to_datetime(
                [f"1990-01-{1 + i % dates:02d}" for i in range(records)]
            ).date,
            "phone": [f"+86139{i:08d}" for i in range(records)],
            "email": pd.Series([None] * records, dtype="string"),
            "city": ["上海"] * records,
        }
    )


def _pairs(engine: Engine, rule: str) -> int:
    sql = f"SELECT count(*) FROM cand l JOIN cand r ON l.unique_id < r.unique_id AND ({rule})"
    return int(engine.con.con.execute(sql).fetchone()[0])


def test_a_crowded_training_rule_is_thinned_to_about_the_cap_and_a_sparse_one_kept() -> None:
    engine = memory_engine()
    engine.materialize("cand", _crowded_birth_dates())
    settings = dataclasses.replace(ProbabilisticSettings(), max_training_pairs=10_000)
    (birth, birth_share), (phone, phone_share) = _training_rules(
        engine, CUSTOMER_SPEC, settings, "cand"
    )
    whole = _pairs(engine, CUSTOMER_SPEC.training_rules[0])
    assert whole == 3 * 200 * 199 // 2
    assert 0.1 < birth_share < 0.25  # the cap over an estimate from a 2 % probe
    assert 0.6 * 10_000 < _pairs(engine, birth) < 1.6 * 10_000
    # Phones all differ in their last 8 digits: no pairs, the rule is trained on as written.
    assert (phone, phone_share) == (CUSTOMER_SPEC.training_rules[1], 1.0)


def test_the_sql_sample_bucket_is_the_expression_bucket() -> None:
    engine = memory_engine()
    ids = [0, 1, 2, 41, 2_147_483_646, 2_147_483_647, 9_000_000_000_123, -5]
    table = engine.materialize("ids", pd.DataFrame({"unique_id": ids}))
    expected = engine.to_pandas(table.select(b=_sample_bucket(table.unique_id, 42)))["b"]
    sql = f"SELECT {_sample_bucket_sql('unique_id', 42)} AS b FROM ids"
    got = [row[0] for row in engine.con.con.execute(sql).fetchall()]
    assert got == expected.tolist()


def test_every_bad_setting_and_missing_column_is_reported_at_once() -> None:
    engine = memory_engine()
    engine.materialize("c", pd.DataFrame({"unique_id": [1, 2], "name": ["王伟", "王伟"]}))
    bad = ProbabilisticSettings(threshold=1.5, review_low=0.0, blocking_rules=())
    with pytest.raises(IdentityError) as error:
        match_records(engine, "t", "c", bad)
    message = str(error.value)
    for part in (
        "threshold must be in (0, 1]; got 1.5",
        "review_low must be in",
        "blocking_rules must name at least one rule",
        "required column component missing",
        "required column phone missing",
    ):
        assert part in message
    assert not [t for t in engine.list_tables() if t.startswith("_rt__")]


def test_a_failing_rule_is_an_identity_error_naming_the_sql_and_leaves_nothing_behind() -> None:
    engine = memory_engine()
    data = load_febrl("febrl3").records.head(300)
    engine.materialize("c", data.drop(columns=["cluster", "rec_id"]))
    settings = dataclasses.replace(
        FEBRL_SETTINGS, blocking_rules=("l.no_such_column = r.no_such_column",), max_pairs=1e4
    )
    with pytest.raises(IdentityError, match=r"(?s)probabilistic matching on c failed.*no_such"):
        match_records(engine, "bad", "c", settings, FEBRL_SPEC)
    assert not [t for t in engine.list_tables() if t.startswith(("_rbad__", "__splink__"))]


def test_an_engine_without_a_splink_backend_is_named() -> None:
    engine = Engine(ibis.duckdb.connect(), "sqlite", Capabilities(transactional_ddl=False))
    with pytest.raises(BackendCapabilityError, match="'sqlite' engine has no Splink backend"):
        match_records(engine, "t", "c", ProbabilisticSettings())


# -- FEBRL ------------------------------------------------------------------------------------


def test_febrl4_through_segmint_on_duckdb() -> None:
    result = run_segmint_febrl(load_febrl("febrl4"))
    assert result.metrics.f1 >= FEBRL4_F1_FLOOR, result.as_dict()
    assert result.pairs_compared < 100_000  # blocking, not the 25M cartesian product


# -- a generated company ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2,000-customer company; only the CRM source, deterministic identity only."""
    out = tmp_path_factory.mktemp("prob_company")
    generated = generate_company(out, customers=2000, seed=5)
    spec = yaml.safe_load(generated.project_file.read_text(encoding="utf-8"))
    spec["sources"] = [s for s in spec["sources"] if s["name"] == "crm_members"]
    spec.setdefault("identity", {})["probabilistic"] = {"enabled": False}
    spec["clustering"] = {"enabled": False}
    path = out / "crm-only.yml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    Project.load(path).run(report=False)
    return path


def test_generated_crm_pairs_beat_the_floors(company: Path) -> None:
    with Project.load(company).engine() as engine:
        before = set(engine.list_tables())
        evaluation = evaluate_generated(engine, company.parent / "truth", run_id="ptest")
        after = set(engine.list_tables())
        links = engine.to_pandas(engine.table(evaluation.result.links))
        model = json.loads(evaluation.result.model_json)
    m = evaluation.metrics
    assert m.true_pairs > 20
    assert m.precision >= GENERATED_PRECISION_FLOOR, m.as_dict()
    assert m.recall >= GENERATED_RECALL_FLOOR, m.as_dict()
    # Only the two run tables are new: Splink's own tables and segmint's temporaries are gone.
    assert after - before == {"_rptest__identity_links", "_rptest__identity_review"}
    assert list(links.columns) == list(LINK_COLUMNS)
    assert (links["component_l"] != links["component_r"]).all()
    assert (links["match_probability"] >= ProbabilisticSettings().threshold).all()
    assert [c["output_column_name"] for c in model["comparisons"]] == [
        "name",
        "birth_date",
        "phone",
        "email",
        "city",
        "gender",
    ]


def test_generated_links_find_what_deterministic_identity_missed(company: Path) -> None:
    with Project.load(company).engine() as engine:
        evaluation = evaluate_generated(
            engine, company.parent / "truth", components="identity", run_id="pdet"
        )
        review = engine.to_pandas(engine.table(evaluation.result.review))
    assert evaluation.deterministic is not None and evaluation.combined is not None
    assert evaluation.combined.true_positives >= evaluation.deterministic.true_positives
    assert evaluation.combined.precision >= GENERATED_PRECISION_FLOOR
    assert {"name_l", "name_r", "phone_l", "phone_r"} <= set(review.columns)


def test_carried_columns_trace_links_to_records(company: Path) -> None:
    with Project.load(company).engine() as engine:
        candidates = generated_candidates(engine, "_carry_candidates")
        result = match_records(
            engine, "carry", candidates, ProbabilisticSettings(max_pairs=2e5), carry=["record_key"]
        )
        links = engine.to_pandas(engine.table(result.links))
    person = crm_truth(company.parent / "truth")
    assert len(links) > 0
    same = [
        person[a] == person[b] for a, b in zip(links.record_key_l, links.record_key_r, strict=True)
    ]
    assert sum(same) >= GENERATED_PRECISION_FLOOR * len(links)


# -- the same links on Spark --------------------------------------------------------------------


@pytest.mark.spark
@pytest.mark.slow
@requires_spark
def test_spark_and_duckdb_learn_the_same_model_and_links(company: Path, tmp_path: Path) -> None:
    from segmint.engine.connect import connect_spark

    with Project.load(company).engine() as engine:
        table = engine.table(generated_candidates(engine, "_spark_candidates"))
        frame = engine.to_pandas(table.order_by("unique_id").limit(700))
    settings = dataclasses.replace(ProbabilisticSettings(), max_pairs=5e4, review_low=0.05)

    duck = memory_engine()
    duck.materialize("cand", frame)
    on_duck = match_records(duck, "p", "cand", settings)
    spark = connect_spark("local[2]", tmp_path / "spark-warehouse", "probabilistic", {})
    spark.materialize("cand", frame)
    on_spark = match_records(spark, "p", "cand", settings)

    def parameters(model_json: str) -> list[float]:
        model = json.loads(model_json)
        values = [model["probability_two_random_records_match"]]
        for comparison in model["comparisons"]:
            for level in comparison["comparison_levels"]:
                if not level.get("is_null_level"):
                    values += [level["m_probability"], level["u_probability"]]
        return values

    assert parameters(on_spark.model_json) == pytest.approx(parameters(on_duck.model_json))
    assert on_spark.pairs_scored == on_duck.pairs_scored
    assert on_duck.links_count > 0
    # A thinned training rule keeps the same pairs on both engines (integer arithmetic).
    crowded = _crowded_birth_dates()
    duck.materialize("crowded", crowded)
    spark.materialize("crowded", crowded)
    small = dataclasses.replace(settings, max_training_pairs=10_000)
    birth_only = dataclasses.replace(CUSTOMER_SPEC, training_rules=CUSTOMER_SPEC.training_rules[:1])
    thinned = _training_rules(duck, birth_only, small, "crowded")
    assert thinned == _training_rules(spark, birth_only, small, "crowded")
    assert thinned[0][1] < 1
    for name in ("links", "review"):
        left = duck.to_pandas(duck.table(getattr(on_duck, name)))
        right = spark.to_pandas(spark.table(getattr(on_spark, name)))
        keys = ["unique_id_l", "unique_id_r"]
        left = left.sort_values(keys).reset_index(drop=True)
        right = right.sort_values(keys).reset_index(drop=True)[list(left.columns)]
        pd.testing.assert_frame_equal(left, right, check_dtype=False, rtol=1e-9, obj=name)
    assert not [t for t in spark.list_tables() if t.startswith("__splink__")]
