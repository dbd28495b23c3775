"""Rule segments: boolean rules over traits, predictive scores, tags and layers.

A rule segment is written in the tag rule language (`segmint.tags.dsl`) and evaluated on the
*wide customer table*: the profile (one row per customer: traits, ``rfm_segment``,
``value_layer``) left-joined with ``customer_predictions`` and with one boolean column
``tag_<name>`` per tag of the catalogue (true when the customer holds the tag in
``customer_tags``). Example::

    rule: tag_high_value and churn_risk == 'high' and rfm_segment in ['Champions', 'Loyal']

Rules are type-checked against the wide table's schema before anything runs; a bad rule
raises a `SegmentRuleError` naming the segment, the position in the rule and the column
(with a "did you mean"). A layer column compared with a label it never holds
(``rfm_segment == 'Champion'``) is refused the same way.

Everything here builds Ibis expressions; only `live_counts` and `count_rule` execute one
(they exist for a live count behind the API or CLI, one aggregate query each).
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import cast

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.errors import ConfigError, TagRuleError
from segmint.project.spec_segments import SegmentRuleSpec
from segmint.tags.dsl import check_rule, compile_rule, parse_rule
from segmint.tags.dsl_ast import Column, Compare, InList, Node, String, children, rule_error
from segmint.traits.rfm import SEGMENTS as RFM_SEGMENTS

TAG_PREFIX = "tag_"
SEGMENT_MEMBERS = "segment_members"
MEMBERS_SCHEMA = ibis.schema({"segment": "string", "customer_id": "string"})
# Layer-like columns whose labels a rule may compare with; the value_layer names come from
# the project's layers (pass them in `known_values`).
DEFAULT_KNOWN_VALUES: dict[str, tuple[str, ...]] = {"rfm_segment": RFM_SEGMENTS}

Rules = Sequence[SegmentRuleSpec] | Mapping[str, str]


class SegmentRuleError(ConfigError):
    """A segment's rule cannot be parsed or type-checked; the message names segment and spot."""


def as_rules(rules: Rules) -> list[SegmentRuleSpec]:
    """Rule specs from specs or a plain {name: rule} mapping (API and tests)."""
    if isinstance(rules, Mapping):
        return [
            SegmentRuleSpec(name=name, rule=rule, description=name) for name, rule in rules.items()
        ]
    return list(rules)


def tag_column(tag: str) -> str:
    """The wide-table column that says whether a customer holds `tag`."""
    return f"{TAG_PREFIX}{tag}"


def wide_table(
    profiles: ir.Table,
    predictions: ir.Table | None = None,
    tags: ir.Table | None = None,
    tag_names: Iterable[str] = (),
) -> ir.Table:
    """One row per profile customer: traits, predictive scores and a boolean per tag.

    `tags` is the long ``customer_tags`` table (customer_id, tag); each name in `tag_names`
    becomes a never-NULL boolean column ``tag_<name>`` (one grouped pass over the tags).
    Customers without a prediction get NULL scores.
    """
    wide = profiles
    if predictions is not None:
        extra = [c for c in predictions.columns if c not in profiles.columns and c != "run_id"]
        scores = predictions.select("customer_id", *extra)
        joined = wide.left_join(scores, wide.customer_id == scores.customer_id)
        wide = joined.select(*(joined[c] for c in profiles.columns), *(joined[c] for c in extra))
    names = list(dict.fromkeys(tag_names))
    if tags is not None and names:
        held = tags.filter(tags.tag.isin(names))
        flags = held.group_by(customer_id_t_=held.customer_id).aggregate(
            **{tag_column(n): (held.tag == n).cast("int64").max() for n in names}
        )
        columns = list(wide.columns)
        joined = wide.left_join(flags, wide.customer_id == flags.customer_id_t_)
        wide = joined.select(
            *(joined[c] for c in columns),
            **{tag_column(n): (joined[tag_column(n)] == 1).fill_null(False) for n in names},
        )
    return wide


def wide_schema(
    profile: Mapping[str, str] | ibis.Schema,
    predictions: Mapping[str, str] | ibis.Schema | None = None,
    tag_names: Iterable[str] = (),
) -> ibis.Schema:
    """The schema `wide_table` produces, for checking rules before any data exists."""
    columns = dict(ibis.schema(profile).items())
    if predictions is not None:
        for name, dtype in ibis.schema(predictions).items():
            if name not in columns and name != "run_id":
                columns[name] = dtype
    for tag in tag_names:
        columns[tag_column(tag)] = ibis.dtype("boolean")
    return ibis.schema(columns)


def _restate(exc: TagRuleError, name: str) -> SegmentRuleError:
    """The DSL's 'tag' error said as a segment error."""
    return SegmentRuleError(f"segment '{name}': " + str(exc).removeprefix(f"tag '{name}': "))


def _walk(node: Node) -> Iterable[Node]:
    yield node
    for child in children(node):
        yield from _walk(child)


def _check_labels(rule: SegmentRuleSpec, known: Mapping[str, Sequence[str]]) -> None:
    """Refuse a layer column compared with a label it never holds."""
    for node in _walk(parse_rule(rule.rule, name=rule.name)):
        pairs: list[tuple[Node, Node]] = []
        if isinstance(node, Compare) and node.op in ("==", "!="):
            pairs = [(node.left, node.right), (node.right, node.left)]
        elif isinstance(node, InList):
            pairs = [(node.operand, item) for item in node.items]
        for col, lit in pairs:
            if not (isinstance(col, Column) and isinstance(lit, String)):
                continue
            labels = known.get(col.name)
            if labels is None or lit.value in labels:
                continue
            close = difflib.get_close_matches(lit.value, list(labels), n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            message = (
                f"{col.name} never holds '{lit.value}'{hint} (its values: {', '.join(labels)})"
            )
            raise rule_error(rule.name, rule.rule, lit.pos, message)


def _known(known_values: Mapping[str, Sequence[str]] | None) -> dict[str, Sequence[str]]:
    return {**DEFAULT_KNOWN_VALUES, **(known_values or {})}


def check_segment_rules(
    rules: Rules,
    schema: ibis.Schema,
    known_values: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Type-check every segment rule against the wide schema; report all bad rules at once.

    `known_values` maps a layer-like column to the labels it can hold (e.g. ``value_layer``
    to the project's layer names); ``rfm_segment`` is known already.
    """
    problems = []
    known = _known(known_values)
    for rule in as_rules(rules):
        try:
            check_rule(rule.rule, schema, name=rule.name)
            _check_labels(rule, known)
        except TagRuleError as exc:
            problems.append(str(_restate(exc, rule.name)))
    if problems:
        head = f"{len(problems)} segment rules are invalid:\n" if len(problems) > 1 else ""
        raise SegmentRuleError(head + "\n".join(problems))


def check_project_rules(
    rules: Rules,
    tag_names: Iterable[str],
    layer_names: Iterable[str],
    *,
    predictions: bool = True,
) -> None:
    """Check segment rules against the wide table a run will build, before any data.

    The schema is every profile trait, the predictive columns when `predictions` is on, and
    a ``tag_<name>`` column per tag of the catalogue; ``value_layer`` labels are the
    project's layer names.
    """
    from segmint.predict.columns import rule_columns as prediction_columns
    from segmint.traits.catalog import TRAITS

    schema = wide_schema(
        {t.name: t.dtype for t in TRAITS}, prediction_columns() if predictions else None, tag_names
    )
    check_segment_rules(rules, schema, known_values={"value_layer": list(layer_names)})


def segment_condition(
    rule: SegmentRuleSpec,
    wide: ir.Table,
    as_of: dt.datetime,
    known_values: Mapping[str, Sequence[str]] | None = None,
) -> ir.BooleanValue:
    """The never-NULL boolean expression of one segment's rule over the wide table."""
    try:
        _check_labels(rule, _known(known_values))
        return compile_rule(rule.rule, wide, as_of=as_of, name=rule.name)
    except TagRuleError as exc:
        raise _restate(exc, rule.name) from None


def _as_of(as_of: dt.datetime | None) -> dt.datetime:
    return as_of if as_of is not None else dt.datetime.now(dt.UTC).replace(tzinfo=None)


def empty_members() -> ir.Table:
    """A (segment, customer_id) table with no rows."""
    frame = pd.DataFrame({"segment": pd.Series([], dtype=object), "customer_id": []})
    return ibis.memtable(frame, schema=MEMBERS_SCHEMA)


def segment_members(
    wide: ir.Table,
    rules: Rules,
    *,
    as_of: dt.datetime | None = None,
    known_values: Mapping[str, Sequence[str]] | None = None,
) -> ir.Table:
    """(segment, customer_id) for every segment a customer belongs to.

    All rules are evaluated in one pass over the wide table (an array of the names whose
    rule holds, unnested), not one scan per segment. `as_of` anchors ``within``,
    ``days_since`` and ``now()``; it defaults to the current UTC time.
    """
    specs = as_rules(rules)
    if not specs:
        return empty_members()
    when = _as_of(as_of)
    names = [
        ibis.ifelse(segment_condition(r, wide, when, known_values), r.name, ibis.null("string"))
        for r in specs
    ]
    held = wide.select(segment=ibis.array(names).unnest(), customer_id=wide.customer_id)
    held = held.filter(held.segment.notnull())
    return held.select(segment=held.segment, customer_id=held.customer_id.cast("string"))


def live_counts_expr(
    wide: ir.Table,
    rules: Rules,
    *,
    as_of: dt.datetime | None = None,
    known_values: Mapping[str, Sequence[str]] | None = None,
) -> ir.Table:
    """One row: ``customers`` (the whole base) and one count column per segment."""
    when = _as_of(as_of)
    counts = {
        r.name: segment_condition(r, wide, when, known_values).cast("int64").sum()
        for r in as_rules(rules)
    }
    if "customers" in counts:
        raise SegmentRuleError("segment 'customers': the name is reserved for the base count")
    return wide.aggregate(customers=wide.count(), **counts)


def live_counts(
    wide: ir.Table,
    rules: Rules,
    *,
    as_of: dt.datetime | None = None,
    known_values: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, int]:
    """Members per segment (and ``customers``, the base), in one aggregate query."""
    frame = live_counts_expr(wide, rules, as_of=as_of, known_values=known_values).to_pandas()
    row = frame.iloc[0]
    return {str(k): int(0 if pd.isna(v) else v) for k, v in row.items()}


def count_rule(
    wide: ir.Table,
    rule_text: str,
    *,
    as_of: dt.datetime | None = None,
    name: str = "adhoc",
    known_values: Mapping[str, Sequence[str]] | None = None,
) -> int:
    """How many customers an ad-hoc or edited rule selects right now (one query)."""
    rule = SegmentRuleSpec.model_construct(name=name, rule=rule_text, description=name)
    cond = segment_condition(rule, wide, _as_of(as_of), known_values)
    value = cast(ir.IntegerScalar, cond.cast("int64").sum()).to_pandas()
    return int(0 if pd.isna(value) else value)


def layer_members(table: ir.Table, column: str) -> ir.Table:
    """(segment, customer_id) from a column holding one label per customer (a layer, RFM
    segment or cluster); customers without a label are left out."""
    labelled = table.filter(table[column].notnull())
    return labelled.select(
        segment=labelled[column].cast("string"), customer_id=labelled.customer_id.cast("string")
    )
