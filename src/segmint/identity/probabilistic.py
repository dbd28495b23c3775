"""Probabilistic identity: records without a shared identifier, matched with Splink.

Deterministic identity links records that share a normalised identifier. What it cannot see
is the same person behind records with *no* shared identifier: a store re-registration with
a mistyped name and an old phone number, an offline record with a name, a phone fragment and
a city. Those pairs are scored here with a Fellegi-Sunter model (Splink 5) that runs on the
engine's own connection — DuckDB by default, Spark at scale — so no table is pulled into
Python.

* **Comparisons** come from a column spec (`LinkageSpec`): each field has a kind that decides
  its comparison levels (`FIELD_KINDS`). The customer defaults (`CUSTOMER_SPEC`) are written
  for Chinese data: a one-character substitution in a two-to-four character name is its own
  level, phones have typo and last-digits levels, a birth date with one of year/month/day
  wrong is "close", 上海市 and 上海 are one city, gender U is missing, and a phone or e-mail
  held by more than `max_records_per_identifier` records (a placeholder) is missing too.
* **u** (how often a level happens by chance) is counted on every pair of a record sample
  chosen with integer arithmetic on `unique_id` — not the backend's hash function — so
  DuckDB and Spark learn the same u values.
* **The prior** (probability that two random records match) is the number of pairs the
  spec's strict rules find, over an assumed recall, over all pairs.
* **m** (how often a level happens for true matches) is estimated by expectation
  maximisation over the spec's training rules, then floored at `min_m` so that no single
  disagreement vetoes a match and no untrained level keeps Splink's generic default. A
  training rule that would generate more than `max_training_pairs` pairs is thinned to about
  that many: a pair is kept when its left record falls in a sample chosen by the same integer
  arithmetic as the u sample, so matches and non-matches are thinned alike (a birth-date
  block over a million customers is ~23M pairs, most of the stage's time before this).
* **Prediction** scores the pairs the blocking rules generate, skipping pairs inside one
  `component` (already one customer). Pairs at or above `threshold` become links; pairs in
  [`review_low`, `threshold`) go to a clerical-review table with the compared values.

Every comparison is SQL that means the same on both engines. DuckDB's `levenshtein` and
`jaro_winkler_similarity` count UTF-8 bytes while Spark's count characters, so Chinese names
are compared character by character with `substr`/`length`, and edit distances are used only
where both values are ASCII (Latin names, phones, e-mail addresses). The FEBRL kind `text`
uses Jaro-Winkler, which Spark has only in Splink's similarity jar (`spark.jars`).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import ibis
import ibis.expr.types as ir

from segmint.engine.engine import Engine, table_name
from segmint.errors import BackendCapabilityError, ConfigError, IdentityError

if TYPE_CHECKING:
    from splink.internals.database_api import DatabaseAPISubClass
    from splink.internals.linker import Linker
    from splink.internals.splink_dataframe import SplinkDataFrame

UNIQUE_ID = "unique_id"
COMPONENT = "component"
LINK_COLUMNS = (
    "unique_id_l",
    "unique_id_r",
    "component_l",
    "component_r",
    "match_probability",
    "match_weight",
)

# A multiplicative congruential generator (Park-Miller): the same int64 arithmetic on every
# engine, unlike hash(), which differs between DuckDB and Spark.
_MODULUS = 2_147_483_647
_MULTIPLIER = 48_271


# -- the column spec ------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """One compared column and the kind of comparison it gets.

    `term_frequencies` scales the weight of an exact match by how common the value is
    (an exact match on 王伟 says less than one on 蔺嘉懿).
    """

    column: str
    kind: str
    term_frequencies: bool = False


@dataclass(frozen=True)
class LinkageSpec:
    """How records are compared: fields, EM training rules and the prior's rules.

    Rules are SQL conditions over `l.` and `r.` in DuckDB's dialect; Splink translates them
    for Spark. `prior_rules` should admit almost no false matches; `prior_recall` is the share
    of true matches they are assumed to find.
    """

    fields: tuple[FieldSpec, ...]
    training_rules: tuple[str, ...]
    prior_rules: tuple[str, ...]
    prior_recall: float = 0.8

    @property
    def columns(self) -> tuple[str, ...]:
        """The compared columns, in order."""
        return tuple(f.column for f in self.fields)

    @property
    def needs_similarity_udfs(self) -> bool:
        """Whether a field uses a function Spark has only in Splink's jar."""
        return any(f.kind in _UDF_KINDS for f in self.fields)


CUSTOMER_BLOCKING_RULES: tuple[str, ...] = (
    "l.birth_date = r.birth_date AND substr(l.name, 1, 1) = substr(r.name, 1, 1)",
    "l.name = r.name AND l.city = r.city",
    "right(l.phone, 8) = right(r.phone, 8)",
    # A mistyped phone keeps its first or its last digits; the surname keeps blocks small.
    "right(l.phone, 4) = right(r.phone, 4) AND substr(l.name, 1, 1) = substr(r.name, 1, 1)",
    "left(l.phone, 10) = left(r.phone, 10) AND substr(l.name, 1, 1) = substr(r.name, 1, 1)",
    "l.email = r.email",
    "split_part(l.email, '@', 1) = split_part(r.email, '@', 1)",
)

CUSTOMER_SPEC = LinkageSpec(
    fields=(
        FieldSpec("name", "person_name", term_frequencies=True),
        FieldSpec("birth_date", "date"),
        FieldSpec("phone", "phone"),
        FieldSpec("email", "email"),
        FieldSpec("city", "place", term_frequencies=True),
        FieldSpec("gender", "gender"),
    ),
    training_rules=(
        "l.birth_date = r.birth_date",
        "right(l.phone, 8) = right(r.phone, 8)",
    ),
    prior_rules=(
        "l.phone = r.phone AND l.name = r.name",
        "l.email = r.email",
        "l.name = r.name AND l.birth_date = r.birth_date",
    ),
    prior_recall=0.8,
)


@dataclass(frozen=True)
class ProbabilisticSettings:
    """How the probabilistic stage runs (the comparisons live in a `LinkageSpec`).

    threshold: a pair with match probability at or above this is a link.
    review_low: pairs in [review_low, threshold) go to the clerical-review table.
    blocking_rules: SQL conditions (DuckDB dialect, `l.`/`r.`) that generate the scored pairs;
        their union should hold nearly every true match while keeping the pair count
        near-linear in the number of records.
    max_pairs: size of the cartesian sample u is counted on (records ≈ sqrt(2 * max_pairs)).
    seed: chooses the u sample.
    min_m: the smallest m probability any level keeps after training (see `_floor_m`).
    max_training_pairs: a training rule generating more pairs than this is thinned to about
        this many (see `_training_rules`).
    max_records_per_identifier: a phone or e-mail held by more records than this is a
        placeholder or a shared line (13800138000, a shop's number): it is compared as
        missing, so it neither links strangers nor blows up a blocking rule.
    """

    threshold: float = 0.8
    review_low: float = 0.5
    blocking_rules: tuple[str, ...] = CUSTOMER_BLOCKING_RULES
    max_pairs: float = 2e6
    seed: int = 42
    min_m: float = 1e-3
    max_records_per_identifier: int = 20
    max_training_pairs: float = 2e6
    em_convergence: float = 1e-4
    max_iterations: int = 25

    def errors(self) -> list[str]:
        """Every invalid parameter, in one list."""
        errors = []
        if not 0 < self.threshold <= 1:
            errors.append(f"threshold must be in (0, 1]; got {self.threshold!r}")
        if not 0 < self.review_low <= self.threshold:
            errors.append(
                f"review_low must be in (0, threshold={self.threshold!r}]; got {self.review_low!r}"
            )
        if not self.blocking_rules:
            errors.append("blocking_rules must name at least one rule")
        if self.max_pairs < 1:
            errors.append(f"max_pairs must be at least 1; got {self.max_pairs!r}")
        if not 0 <= self.min_m < 0.1:
            errors.append(f"min_m must be in [0, 0.1); got {self.min_m!r}")
        if self.max_records_per_identifier < 2:
            errors.append(
                "max_records_per_identifier must be at least 2; "
                f"got {self.max_records_per_identifier!r}"
            )
        if self.max_training_pairs < 1000:
            errors.append(
                f"max_training_pairs must be at least 1000; got {self.max_training_pairs!r}"
            )
        if self.max_iterations < 1:
            errors.append(f"max_iterations must be at least 1; got {self.max_iterations!r}")
        return errors


@dataclass(frozen=True)
class ProbabilisticResult:
    """Run tables the probabilistic stage built, the trained model and its counts."""

    links: str
    review: str
    model_json: str
    pairs_scored: int
    links_count: int
    review_count: int
    u_sample_records: int = 0
    training_shares: tuple[float, ...] = ()  # per training rule, the share of pairs EM saw


# -- comparison levels per field kind ---------------------------------------------------------


def _one_substitution(left: str, right: str, max_chars: int = 4) -> str:
    """Same length (at most `max_chars`) and exactly one position differs, by characters."""
    alternatives = " OR ".join(
        f"(substr({left}, 1, {i - 1}) = substr({right}, 1, {i - 1}) "
        f"AND substr({left}, {i + 1}) = substr({right}, {i + 1}))"
        for i in range(1, max_chars + 1)
    )
    return (
        f"length({left}) = length({right}) AND length({left}) <= {max_chars} AND ({alternatives})"
    )


def _ascii(column: str) -> str:
    return f"regexp_matches({column}, '^[ -~]+$')"


def _same(part: Callable[[str], str], left: str, right: str) -> str:
    return f"(CASE WHEN {part(left)} = {part(right)} THEN 1 ELSE 0 END)"


def _levels(column: str, kind: str, tf: bool) -> list[Any]:
    import splink.comparison_level_library as cll

    left, right = f"{column}_l", f"{column}_r"

    def custom(sql: str, label: str) -> Any:
        return cll.CustomLevel(sql, label_for_charts=label, base_dialect_str="duckdb")

    exact = cll.ExactMatchLevel(column, term_frequency_adjustments=tf)
    middle: list[Any]
    if kind == "person_name":
        one = _one_substitution(left, right)
        middle = [
            custom(f"{one} AND length({left}) >= 3", "one character differs (3-4 characters)"),
            custom(one, "one character differs (2 characters)"),
            custom(
                f"{_ascii(left)} AND {_ascii(right)} AND levenshtein({left}, {right}) <= 2",
                "Latin name within 2 edits",
            ),
        ]
    elif kind == "phone":
        middle = [
            custom(f"levenshtein({left}, {right}) <= 2", "within 2 edits (typo)"),
            custom(f"right({left}, 7) = right({right}, 7)", "last 7 digits equal"),
            custom(f"right({left}, 4) = right({right}, 4)", "last 4 digits equal"),
        ]
    elif kind == "date":
        agree = " + ".join(_same(p, left, right) for p in (_year, _month, _day))
        swapped = (
            f"year({left}) = year({right}) AND month({left}) = day({right}) "
            f"AND day({left}) = month({right})"
        )
        middle = [custom(f"{agree} = 2 OR ({swapped})", "one of year/month/day differs")]
    elif kind == "email":
        middle = [
            custom(f"split_part({left}, '@', 1) = split_part({right}, '@', 1)", "same local part"),
            custom(
                f"{_ascii(left)} AND {_ascii(right)} AND levenshtein({left}, {right}) <= 2",
                "within 2 edits",
            ),
        ]
    elif kind in ("place", "category", "gender"):
        middle = []
    elif kind == "text":
        middle = [
            cll.JaroWinklerLevel(column, 0.92),
            cll.JaroWinklerLevel(column, 0.8),
        ]
    elif kind == "code":
        # Levenshtein, not Damerau: DuckDB's damerau_levenshtein is ~7x slower, and Spark has
        # levenshtein built in. A transposition costs 2 edits and lands in the second level.
        middle = [
            cll.LevenshteinLevel(column, 1),
            cll.LevenshteinLevel(column, 2),
        ]
    else:  # pragma: no cover - guarded by _spec_errors
        raise ConfigError(f"unknown field kind {kind!r}")
    return [cll.NullLevel(column), exact, *middle, cll.ElseLevel()]


def _year(c: str) -> str:
    return f"year({c})"


def _month(c: str) -> str:
    return f"month({c})"


def _day(c: str) -> str:
    return f"day({c})"


FIELD_KINDS = (
    "person_name",
    "phone",
    "date",
    "email",
    "place",
    "gender",
    "category",
    "text",
    "code",
)
_UDF_KINDS = frozenset({"text"})
_IDENTIFIER_KINDS = frozenset({"phone", "email"})
# Administrative suffixes dropped before comparing places (上海市 = 上海, 广东省 = 广东).
_PLACE_SUFFIX = r"(特别行政区|维吾尔自治区|壮族自治区|回族自治区|自治区|自治州|省|市|地区|盟)$"


def build_settings(
    spec: LinkageSpec,
    settings: ProbabilisticSettings,
    *,
    rules: Sequence[str] | None = None,
    skip_components: bool = True,
) -> Any:
    """The Splink settings (backend-free until a Linker binds them to an engine).

    `rules` replaces the prediction blocking rules (default: the settings'); with
    `skip_components`, pairs inside one component are never generated.
    """
    import splink.comparison_library as cl
    from splink import SettingsCreator

    comparisons = [
        cl.CustomComparison(
            _levels(f.column, f.kind, f.term_frequencies),
            output_column_name=f.column,
            comparison_description=f"{f.kind} comparison of {f.column}",
        )
        for f in spec.fields
    ]
    exclude = f" AND l.{COMPONENT} <> r.{COMPONENT}" if skip_components else ""
    blocking = [
        _duckdb_rule(f"({rule}){exclude}")
        for rule in (settings.blocking_rules if rules is None else rules)
    ]
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name=UNIQUE_ID,
        comparisons=comparisons,  # type: ignore[arg-type]
        blocking_rules_to_generate_predictions=blocking,
        additional_columns_to_retain=[COMPONENT],
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=False,
        em_convergence=settings.em_convergence,
        max_iterations=settings.max_iterations,
    )


# -- Splink bound to the engine's connection --------------------------------------------------


def _duckdb_api(engine: Engine, spec: LinkageSpec) -> DatabaseAPISubClass:
    from splink.internals.duckdb.database_api import DuckDBAPI

    class SessionDuckDBAPI(DuckDBAPI):
        """Splink's intermediates as TEMP tables: they never reach the warehouse file."""

        def _setup_for_execute_sql(self, sql: str, physical_name: str) -> str:
            self.delete_table_from_database(physical_name)
            return f"CREATE TEMP TABLE {physical_name} AS\n{sql}"

    return SessionDuckDBAPI(connection=engine.con.con)


def _spark_api(engine: Engine, spec: LinkageSpec) -> DatabaseAPISubClass:
    from splink.internals.spark.database_api import SparkAPI
    from splink.internals.spark.dataframe import SparkDataFrame

    class DroppableSparkDataFrame(SparkDataFrame):
        """Splink drops Spark intermediates only on Delta; here they are temp views."""

        def _drop_table_from_database(self, force_non_splink_table: bool = False) -> None:
            self._check_drop_table_created_by_splink(force_non_splink_table)
            self.db_api.delete_table_from_database(self.physical_name)

    class SessionSparkAPI(SparkAPI):
        """Splink's intermediates are cached temp views; dropping one uncaches it."""

        def delete_table_from_database(self, name: str) -> None:
            self.spark.catalog.dropTempView(name)

        def table_to_splink_dataframe(
            self, templated_name: str, physical_name: str
        ) -> SparkDataFrame:
            return DroppableSparkDataFrame(templated_name, physical_name, self)

    return SessionSparkAPI(
        spark_session=engine.con._session,
        break_lineage_method="persist",
        register_udfs_automatically=spec.needs_similarity_udfs,
    )


# Which engines Splink can run on, declared as data.
_SPLINK_BACKENDS: dict[str, Callable[[Engine, LinkageSpec], DatabaseAPISubClass]] = {
    "duckdb": _duckdb_api,
    "spark": _spark_api,
}


def _backend(engine: Engine) -> Callable[[Engine, LinkageSpec], DatabaseAPISubClass]:
    """The Splink binding for this engine, or an error naming the engines that have one."""
    factory = _SPLINK_BACKENDS.get(engine.kind)
    if factory is None:
        raise BackendCapabilityError(
            f"probabilistic matching runs on {' or '.join(sorted(_SPLINK_BACKENDS))}; "
            f"the {engine.kind!r} engine has no Splink backend. Turn off "
            "identity.probabilistic or use one of those engines"
        )
    try:
        import splink  # noqa: F401
    except ImportError as exc:  # pragma: no cover - splink is a core dependency
        raise BackendCapabilityError(
            "probabilistic matching needs splink: pip install 'splink>=5,<6'"
        ) from exc
    return factory


@contextmanager
def _quiet_splink() -> Iterator[None]:
    """Splink warns about every level EM never saw; `_floor_m` handles those, so unless the
    application configured Splink's logger itself, only its errors are shown meanwhile."""
    logger = logging.getLogger("splink")
    if logger.level != logging.NOTSET:
        yield
        return
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(logging.NOTSET)


@contextmanager
def _splink_api(engine: Engine, spec: LinkageSpec) -> Iterator[DatabaseAPISubClass]:
    """A Splink database API on the engine's connection; its tables are dropped on exit."""
    api = _backend(engine)(engine, spec)
    try:
        yield api
    finally:
        api.delete_tables_created_by_splink_from_db()


def _linker(api: DatabaseAPISubClass, table: str, settings: Any) -> Linker:
    from splink import Linker

    return Linker(api.register(table), settings, log_level=None)


# -- the stage --------------------------------------------------------------------------------


def _spec_errors(
    spec: LinkageSpec, schema_names: Sequence[str], carry: Sequence[str] = ()
) -> list[str]:
    errors = []
    present = set(schema_names)
    for required in (UNIQUE_ID, COMPONENT, *spec.columns, *carry):
        if required not in present:
            errors.append(f"required column {required} missing")
    for f in spec.fields:
        if f.kind not in FIELD_KINDS:
            errors.append(
                f"field {f.column!r} has unknown kind {f.kind!r}; kinds: {', '.join(FIELD_KINDS)}"
            )
    if not 0 < spec.prior_recall <= 1:
        errors.append(f"prior_recall must be in (0, 1]; got {spec.prior_recall!r}")
    if not spec.training_rules:
        errors.append("training_rules must name at least one rule")
    return errors


def _prepare(source: ir.Table, spec: LinkageSpec, settings: ProbabilisticSettings) -> ir.Table:
    """Compared columns cleaned the same way on every engine; other columns pass through."""
    columns: dict[str, ir.Value] = {
        UNIQUE_ID: source[UNIQUE_ID].cast("int64"),
        COMPONENT: source[COMPONENT].cast("int64"),
    }
    kinds = {f.column: f.kind for f in spec.fields}
    for column in source.columns:
        if column in columns:
            continue
        value = source[column]
        if column in kinds and value.type().is_string():
            value = value.strip().nullif("")
            if kinds[column] == "place":
                value = value.re_replace(_PLACE_SUFFIX, "").nullif("")
            elif kinds[column] == "gender":
                # Only M and F are evidence; U (unknown) and anything else compare as missing.
                value = ibis.cases((value.upper().isin(["M", "F"]), value.upper()), else_=None)
        columns[column] = value
    cleaned = source.select(**columns)
    shared = {}
    for f in spec.fields:
        if f.kind in _IDENTIFIER_KINDS:
            value = cleaned[f.column]
            holders = value.count().over(group_by=value)
            limit = settings.max_records_per_identifier
            shared[f.column] = ibis.cases((holders > limit, ibis.null(value.type())), else_=value)
    return cleaned.mutate(**shared) if shared else cleaned


def _sample_bucket(uid: ir.IntegerValue, seed: int) -> ir.IntegerValue:
    """A pseudo-random bucket in [0, 2^31 - 1) computed identically by every engine."""
    x = (uid.abs() % _MODULUS + seed % _MODULUS + 1) % _MODULUS
    for _ in range(3):
        x = (x * _MULTIPLIER) % _MODULUS
    return x


def _sample_bucket_sql(column: str, seed: int) -> str:
    """`_sample_bucket` as SQL text for a Splink rule (BIGINT: Spark's int would wrap)."""
    x = f"((abs(CAST({column} AS BIGINT)) % {_MODULUS} + {seed % _MODULUS + 1}) % {_MODULUS})"
    for _ in range(3):
        x = f"(({x} * {_MULTIPLIER}) % {_MODULUS})"
    return x


# The share of left records a training rule is first probed with to estimate its pairs.
_PROBE_SHARE = 0.02


def _thinned(rule: str, share: float, seed: int) -> str:
    """`rule` keeping a pair only when its left record is in a `share` sample."""
    cut = int(share * _MODULUS)
    return f"({rule}) AND {_sample_bucket_sql(f'l.{UNIQUE_ID}', seed)} < {cut}"


def _training_rules(
    engine: Engine, spec: LinkageSpec, settings: ProbabilisticSettings, records_table: str
) -> list[tuple[str, float]]:
    """Each EM rule to train on, with the share of the spec rule's pairs it keeps.

    A rule's pair count is estimated on a `_PROBE_SHARE` sample of left records; above
    `max_training_pairs` the rule is thinned to about that many pairs, otherwise kept whole.
    Each probe runs on a Splink API of its own: Splink caches blocked pairs by table name
    per API, so on a shared one a probe would be counted again as the next rule's (or the
    prediction's) pairs.
    """
    chosen = []
    for rule in spec.training_rules:
        probe = _thinned(rule, _PROBE_SHARE, settings.seed)
        creator = build_settings(spec, settings, rules=(probe,), skip_components=False)
        with _splink_api(engine, spec) as api:
            estimated = _count_pairs(api, _linker(api, records_table, creator)) / _PROBE_SHARE
        share = min(1.0, settings.max_training_pairs / estimated) if estimated else 1.0
        chosen.append((rule, 1.0) if share >= 1 else (_thinned(rule, share, settings.seed), share))
    return chosen


def _estimate_u(
    engine: Engine,
    spec: LinkageSpec,
    settings: ProbabilisticSettings,
    sample: str,
    sample_records: int,
) -> dict[str, Any]:
    """u from every pair of the sample, all comparisons in one pass; the model as a dict.

    Splink's own estimator makes one pass per comparison and samples with the backend's hash
    function; here the sample is fixed beforehand and every pair is scored once. A level
    never seen among the sample's pairs gets u = 1 / pairs (seen less than once in n).
    """
    with _splink_api(engine, spec) as api:
        creator = build_settings(spec, settings, rules=("1=1",), skip_components=False)
        creator.retain_intermediate_calculation_columns = True  # keeps the gamma_ columns
        creator.additional_columns_to_retain = []
        linker = _linker(api, sample, creator)
        scored = linker.inference.predict(warning_mode="never")
        pairs = engine.con.sql(f"SELECT * FROM {scored.physical_name}")
        counts = {}
        for column in spec.columns:
            gamma = pairs[f"gamma_{column}"]
            frame = engine.to_pandas(pairs.group_by(level=gamma).aggregate(n=pairs.count()))
            counts[column] = dict(zip(frame["level"].tolist(), frame["n"].tolist(), strict=True))
        model = linker.misc.save_model_to_json()
        # The trained model scores the prediction rules' pairs, not the sample's cartesian.
        prediction = build_settings(spec, settings).create_settings_dict(
            api.sql_dialect.sql_dialect_str
        )
    model["blocking_rules_to_generate_predictions"] = prediction[
        "blocking_rules_to_generate_predictions"
    ]
    model["retain_intermediate_calculation_columns"] = False
    floor = 1.0 / max(sample_records * (sample_records - 1) / 2, 1.0)
    for comparison in model["comparisons"]:
        observed = counts[comparison["output_column_name"]]
        total = sum(n for level, n in observed.items() if level >= 0)
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        for index, level in enumerate(levels):
            # Splink numbers non-null levels from len - 1 (first) down to 0 (else).
            seen = observed.get(len(levels) - 1 - index, 0)
            level["u_probability"] = seen / total if seen and total else floor
    return model


def _floor_m(model: dict[str, Any], floor: float) -> None:
    """No level is impossible for a true match: m >= floor, the rest rescaled to sum to 1.

    EM on clean data learns m ~ 1e-16 for "e-mails differ", which would let one changed
    e-mail veto any match; a level EM never saw among matches (m missing) would otherwise
    fall back to Splink's generic default m, which can be large.
    """
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        low = [lv for lv in levels if lv.get("m_probability", 0.0) < floor]
        high = [lv for lv in levels if lv.get("m_probability", 0.0) >= floor]
        mass = sum(lv["m_probability"] for lv in high)
        scale = (1.0 - floor * len(low)) / mass if mass else 0.0
        for level in low:
            level["m_probability"] = floor
        for level in high:
            level["m_probability"] *= scale


def _count_pairs(api: DatabaseAPISubClass, linker: Linker) -> int:
    """How many distinct pairs the linker's prediction blocking rules generate."""
    blocked = linker.inference.compute_blocked_pairs_for_predict()
    sql = f"select count(*) as n from {blocked.physical_name}"
    counted = cast("SplinkDataFrame", api.query_sql(sql))
    try:
        return int(counted.as_record_list()[0]["n"])
    finally:
        counted.drop_table_from_database_and_remove_from_cache()


def _estimate_prior(
    engine: Engine,
    spec: LinkageSpec,
    settings: ProbabilisticSettings,
    records_table: str,
    records: int,
) -> float:
    """P(two random records match): pairs the prior rules find, over recall, over all pairs."""
    with _splink_api(engine, spec) as api:
        rules = build_settings(spec, settings, rules=spec.prior_rules, skip_components=False)
        found = _count_pairs(api, _linker(api, records_table, rules))
    total = records * (records - 1) / 2
    expected = max(found, 1) / spec.prior_recall
    return min(expected / total, 0.5)


def match_records(
    engine: Engine,
    run_id: str,
    candidates: str,
    settings: ProbabilisticSettings,
    spec: LinkageSpec = CUSTOMER_SPEC,
    carry: Sequence[str] = (),
) -> ProbabilisticResult:
    """Score candidate pairs and build `identity_links` and `identity_review` run tables.

    `candidates` is a physical table with `unique_id` (int64), `component` (int64; pairs with
    equal components are never emitted) and the spec's columns. `carry` names further
    candidate columns copied to both tables as `<column>_l` and `<column>_r` (e.g. `source`
    and `record_key`, so a link can be traced to its records). Returns the run tables, the
    trained model as JSON (to be saved with the run) and the counts.
    """
    _backend(engine)
    from splink.internals.exceptions import SplinkException

    with _quiet_splink():
        try:
            return _match_records(engine, run_id, candidates, settings, spec, carry)
        except SplinkException as exc:
            # Splink's message names the table it was building and the SQL that failed.
            raise IdentityError(f"probabilistic matching on {candidates} failed: {exc}") from exc


def _match_records(
    engine: Engine,
    run_id: str,
    candidates: str,
    settings: ProbabilisticSettings,
    spec: LinkageSpec,
    carry: Sequence[str],
) -> ProbabilisticResult:
    source = engine.table(candidates)
    errors = settings.errors() + _spec_errors(spec, list(source.columns), carry)
    if errors:
        raise IdentityError(
            f"probabilistic matching on {candidates} cannot start: " + "; ".join(errors)
        )

    def name(base: str) -> str:
        return engine.run_table(run_id, base)

    prepared = engine.materialize(
        name("prob_records"), _prepare(source, spec, settings), temporary=True
    )
    temporaries = [table_name(prepared)]
    try:
        records = int(engine.scalar(prepared.count()))
        if records < 2:
            raise IdentityError(f"probabilistic matching needs at least 2 records; got {records}")
        sample = _u_sample(engine, name("prob_u_sample"), prepared, records, settings)
        temporaries.append(table_name(sample))
        sample_records = int(engine.scalar(sample.count()))
        if sample_records < 2:
            raise IdentityError(
                f"the u sample holds {sample_records} records; raise max_pairs "
                f"(now {settings.max_pairs:g})"
            )
        model = _estimate_u(engine, spec, settings, table_name(sample), sample_records)
        model["probability_two_random_records_match"] = _estimate_prior(
            engine, spec, settings, table_name(prepared), records
        )
        model["additional_columns_to_retain"] = [COMPONENT, *carry]
        training = _training_rules(engine, spec, settings, table_name(prepared))
        with _splink_api(engine, spec) as api:
            linker = _linker(api, table_name(prepared), model)
            for trained_on, _share in training:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    _duckdb_rule(trained_on), estimate_without_term_frequencies=True
                )
            trained = linker.misc.save_model_to_json()
            _floor_m(trained, settings.min_m)
            linker = _linker(api, table_name(prepared), trained)
            pairs_scored = _count_pairs(api, linker)
            predictions = linker.inference.predict(
                threshold_match_probability=settings.review_low, warning_mode="never"
            )
            scored = engine.con.sql(f"SELECT * FROM {predictions.physical_name}")
            links, review = _write_pairs(engine, name, scored, spec, settings, carry)
    finally:
        for temp in temporaries:
            engine.drop(temp)
    return ProbabilisticResult(
        links=table_name(links),
        review=table_name(review),
        model_json=json.dumps(trained, ensure_ascii=False, indent=2),
        pairs_scored=pairs_scored,
        links_count=int(engine.scalar(links.count())),
        review_count=int(engine.scalar(review.count())),
        u_sample_records=sample_records,
        training_shares=tuple(share for _rule, share in training),
    )


def _u_sample(
    engine: Engine, name: str, prepared: ir.Table, records: int, settings: ProbabilisticSettings
) -> ir.Table:
    """About sqrt(2 * max_pairs) records, chosen by the seed the same way on every engine."""
    wanted = 0.5 * (math.sqrt(8 * settings.max_pairs + 1) + 1)
    cut = int(min(1.0, wanted / records) * _MODULUS)
    chosen = prepared.filter(_sample_bucket(prepared[UNIQUE_ID], settings.seed) < cut)
    return engine.materialize(name, chosen, temporary=True)


def _write_pairs(
    engine: Engine,
    name: Callable[[str], str],
    scored: ir.Table,
    spec: LinkageSpec,
    settings: ProbabilisticSettings,
    carry: Sequence[str],
) -> tuple[ir.Table, ir.Table]:
    """Links (p >= threshold) and the clerical-review pairs with the values compared."""
    p = scored.match_probability
    carried = [f"{c}_{side}" for c in carry for side in ("l", "r")]
    compared = [f"{c}_{side}" for c in spec.columns for side in ("l", "r")]
    links = engine.materialize(
        name("identity_links"),
        scored.filter(p >= settings.threshold)
        .select(*LINK_COLUMNS, *carried)
        .order_by(["unique_id_l", "unique_id_r"]),
    )
    review = engine.materialize(
        name("identity_review"),
        scored.filter((p >= settings.review_low) & (p < settings.threshold))
        .select(*LINK_COLUMNS, *carried, *compared)
        .order_by([p.desc(), "unique_id_l", "unique_id_r"]),
    )
    return links, review


def _duckdb_rule(rule: str) -> Any:
    from splink.blocking_rule_library import CustomRule

    return CustomRule(rule, sql_dialect="duckdb")
