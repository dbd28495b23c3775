"""The segments stage of a run: clusters and personas, rule segments, their history,
migration between runs, overlap and validation.

Reads this run's profile (with the prediction columns), its tag memberships and the
previous run's published segment tables; writes the run-scoped tables listed in
`SEGMENT_TABLES`. Everything runs in the engine except the clustering fit (on a sample) and
the per-segment statistics (small summaries), as the issue and docs/segments.md describe.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.engine.engine import Engine, table_name
from segmint.errors import ConfigError
from segmint.project.spec import ProjectSpec
from segmint.segments.cluster import TooFewCustomersError
from segmint.segments.cluster_build import (
    CLUSTER_MODEL,
    CUSTOMER_CLUSTERS,
    SEGMENT_PERSONAS,
    build_clustering,
)
from segmint.segments.membership import (
    SEGMENT_MEMBERSHIP_HISTORY,
    SEGMENT_MIGRATION,
    family_members,
    membership_history,
    migration,
    shared_customers,
)
from segmint.segments.overlap import overlap
from segmint.segments.rules import (
    SEGMENT_MEMBERS,
    empty_members,
    layer_members,
    segment_members,
    wide_table,
)
from segmint.segments.validation import validate_segments

SEGMENT_DEFINITIONS = "segment_definitions"
SEGMENT_OVERLAP = "segment_overlap"
SEGMENT_VALIDATION = "segment_validation"
SEGMENT_VALIDATION_SUMMARY = "segment_validation_summary"
#: Every table the stage may write (clustering tables only when clustering ran).
SEGMENT_TABLES: tuple[str, ...] = (
    CUSTOMER_CLUSTERS,
    SEGMENT_PERSONAS,
    CLUSTER_MODEL,
    SEGMENT_DEFINITIONS,
    SEGMENT_MEMBERS,
    SEGMENT_MEMBERSHIP_HISTORY,
    SEGMENT_MIGRATION,
    SEGMENT_OVERLAP,
    SEGMENT_VALIDATION,
    SEGMENT_VALIDATION_SUMMARY,
)
#: Tables with one row per customer (or per customer and segment).
CUSTOMER_SEGMENT_TABLES: tuple[str, ...] = (
    CUSTOMER_CLUSTERS,
    SEGMENT_MEMBERS,
    SEGMENT_MEMBERSHIP_HISTORY,
)
MIGRATION_SCHEMA = ibis.schema(
    {
        "family": "string",
        "from_run": "string",
        "to_run": "string",
        "from_segment": "string",
        "to_segment": "string",
        "customers": "int64",
    }
)
CLUSTER_FAMILY = "persona"
DEFINITIONS_SCHEMA = ibis.schema(
    {
        "segment": "string",
        "rule": "string",
        "description": "string",
        "description_zh": "string",
        "count": "int64",
    }
)
# Columns of segment_validation that may be empty in a run: typed so every engine can store them.
VALIDATION_TYPES = {
    "separation": "float64",
    "stability": "float64",
    "max_overlap": "float64",
    "nearest": "string",
    "overlaps_with": "string",
    "merge_with": "string",
    "recommendation": "string",
}


@dataclass
class PreviousSegments:
    """The last published run's tables the stage diffs against (None on a first run)."""

    run_id: str | None = None
    members: ir.Table | None = None
    history: ir.Table | None = None
    migration: ir.Table | None = None
    profiles: ir.Table | None = None
    predictions: ir.Table | None = None
    clusters: ir.Table | None = None


@dataclass
class SegmentBuild:
    """What the segments stage wrote."""

    tables: dict[str, str] = field(default_factory=dict)
    memberships: int = 0
    notes: list[str] = field(default_factory=list)


def layer_labels(spec: ProjectSpec) -> dict[str, list[str]]:
    """The labels a rule may compare ``value_layer`` with: the project's layer names."""
    return {"value_layer": [layer.name for layer in spec.layers.definitions]}


def check_families(spec: ProjectSpec) -> None:
    """Every column family names a profile trait or prediction column (before any work)."""
    from segmint.predict.columns import rule_columns as prediction_columns
    from segmint.traits.catalog import TRAITS

    known = {t.name for t in TRAITS}
    if spec.predict.enabled:
        known |= set(prediction_columns())
    for i, family in enumerate(spec.segments.families):
        if family.column is not None and family.column not in known:
            close = difflib.get_close_matches(family.column, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"segments.families[{i}] ({family.name}): unknown column {family.column!r}{hint}"
            )


def build_segments(
    engine: Engine,
    run_id: str,
    profile: ir.Table,
    predictions: ir.Table | None,
    tags: ir.Table | None,
    tag_names: Sequence[str],
    spec: ProjectSpec,
    as_of: dt.datetime,
    previous: PreviousSegments,
    progress: Callable[[str], None] = lambda _detail: None,
) -> SegmentBuild:
    """Cluster, evaluate the rule segments and write every segment table of this run."""
    build = SegmentBuild()

    def keep(name: str, obj: ir.Table | pd.DataFrame) -> ir.Table:
        table = engine.materialize(engine.run_table(run_id, name), obj)
        build.tables[name] = table_name(table)
        return table

    wide = wide_table(profile, predictions, tags, tag_names)
    clusters: ir.Table | None = None
    if spec.clustering.enabled:
        clusters = _clustering(engine, profile, predictions, spec, build, keep)
        progress("clusters")
    rules = spec.segments.rules
    names = [r.name for r in rules]
    members = keep(
        SEGMENT_MEMBERS,
        segment_members(wide, rules, as_of=as_of, known_values=layer_labels(spec)),
    )
    keep(
        SEGMENT_MEMBERSHIP_HISTORY,
        membership_history(members, previous.members, previous.history, run_id, names),
    )
    counts = engine.to_pandas(members.group_by("segment").aggregate(customers=members.count()))
    keep(SEGMENT_DEFINITIONS, _definitions(spec, counts))
    keep(SEGMENT_OVERLAP, overlap(members))
    progress("rules")
    flows = _migrations(engine, build.notes, spec, wide, members, clusters, previous, run_id)
    keep(SEGMENT_MIGRATION, flows)
    progress("migration")
    frames, summaries = [], []
    if names:
        checked = validate_segments(
            members,
            profile,
            spec.segments.validation,
            previous=previous.members,
            segments=names,
            execute=engine.to_pandas,
        )
        frames.append(checked.frame.assign(scheme="rules"))
        summaries.append({"scheme": "rules", **checked.summary})
    if clusters is not None:
        cluster_members = layer_members(clusters, "persona_en")
        checked = validate_segments(
            cluster_members,
            profile,
            spec.segments.validation,
            execute=engine.to_pandas,
        )
        frames.append(checked.frame.assign(scheme="clusters"))
        summaries.append({"scheme": "clusters", **checked.summary})
    if frames:
        keep(SEGMENT_VALIDATION, _typed(pd.concat(frames, ignore_index=True), VALIDATION_TYPES))
        keep(SEGMENT_VALIDATION_SUMMARY, _summary_frame(summaries))
        for summary in summaries:
            verdict = "passed" if summary["passed"] else "FAILED"
            build.notes.append(
                f"segments ({summary['scheme']}): kept segments carry "
                f"{summary['kept_revenue_share']:.1%} of revenue (threshold "
                f"{summary['threshold']:.0%}, {verdict})"
            )
    progress("validation")
    build.memberships = int(counts["customers"].sum()) if not counts.empty else 0
    return build


def _clustering(
    engine: Engine,
    profile: ir.Table,
    predictions: ir.Table | None,
    spec: ProjectSpec,
    build: SegmentBuild,
    keep: Callable[[str, ir.Table | pd.DataFrame], ir.Table],
) -> ir.Table | None:
    """Fit, assign and write the clustering tables; None (with a note) when too few buyers."""
    settings = spec.clustering
    try:
        result = build_clustering(profile, predictions, settings, execute=engine.to_pandas)
    except TooFewCustomersError as exc:
        build.notes.append(f"clustering skipped: {exc}")
        return None
    clusters = keep(CUSTOMER_CLUSTERS, result.clusters)
    keep(SEGMENT_PERSONAS, result.personas)
    keep(CLUSTER_MODEL, result.model_table)  # typed by model_row even without truth
    build.notes.extend(result.notes)
    build.notes.append(
        f"clustering: k = {result.model.k} ({result.model.chosen_by}), "
        + ", ".join(f"{c.persona_en} {c.share:.0%}" for c in result.cards)
    )
    return clusters


def _definitions(spec: ProjectSpec, counts: pd.DataFrame) -> ir.Table:
    """One row per rule segment: rule, descriptions and this run's member count."""
    sizes = dict(zip(counts["segment"], counts["customers"], strict=True))
    rows = [
        {
            "segment": r.name,
            "rule": r.rule,
            "description": r.description,
            "description_zh": r.description_zh or "",
            "count": int(sizes.get(r.name, 0)),
        }
        for r in spec.segments.rules
    ]
    frame = pd.DataFrame(rows, columns=list(DEFINITIONS_SCHEMA.names))
    return ibis.memtable(frame.astype({"count": "int64"}), schema=DEFINITIONS_SCHEMA)


def _migrations(
    engine: Engine,
    notes: list[str],
    spec: ProjectSpec,
    wide: ir.Table,
    members: ir.Table,
    clusters: ir.Table | None,
    previous: PreviousSegments,
    run_id: str,
) -> ir.Table:
    """Each family's flows from the previous run to this one, after the earlier pairs."""
    parts: list[ir.Table] = []
    if previous.migration is not None:
        prior = previous.migration
        if "family" in prior.columns:
            parts.append(prior.select(*MIGRATION_SCHEMA.names).cast(MIGRATION_SCHEMA))
    if previous.run_id is not None and previous.profiles is not None:
        before_wide = wide_table(previous.profiles, previous.predictions)
        for family in spec.segments.families:
            if family.column is not None and family.column not in before_wide.columns:
                notes.append(
                    f"segments: no migration for family {family.name} (the previous run has "
                    f"no column {family.column})"
                )
                continue
            now = family_members(family, wide, members)
            if family.segments is not None:
                shared = int(engine.scalar(shared_customers(now)))
                if shared:
                    notes.append(
                        f"segments: no migration for family {family.name}: its segments share "
                        f"{shared:,} customers (a family's segments must not overlap)"
                    )
                    continue
            before = family_members(family, before_wide, _or_empty(previous.members))
            parts.append(_flows(family.name, before, now, previous.run_id, run_id))
        if clusters is not None and previous.clusters is not None:
            before = layer_members(previous.clusters, "persona_en")
            now = layer_members(clusters, "persona_en")
            parts.append(_flows(CLUSTER_FAMILY, before, now, previous.run_id, run_id))
    if not parts:
        return ibis.memtable(
            pd.DataFrame({c: pd.Series([], dtype=object) for c in MIGRATION_SCHEMA.names}),
            schema=MIGRATION_SCHEMA,
        )
    return ibis.union(*parts) if len(parts) > 1 else parts[0]


def _flows(family: str, before: ir.Table, now: ir.Table, from_run: str, to_run: str) -> ir.Table:
    flows = migration(before, now, from_run=from_run, to_run=to_run)
    tagged = flows.mutate(family=ibis.literal(family, type="string"))
    return tagged.select(*MIGRATION_SCHEMA.names).cast(MIGRATION_SCHEMA)


def _or_empty(members: ir.Table | None) -> ir.Table:
    return members if members is not None else empty_members()


def _typed(frame: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    """`frame` with the listed columns cast (all-NULL object columns have no type)."""
    present = {c: t for c, t in types.items() if c in frame.columns}
    out = frame.copy()
    for column, dtype in present.items():
        if dtype == "string":
            out[column] = out[column].map(lambda v: None if v is None or v != v else str(v))
            out[column] = out[column].astype("string")
        else:
            out[column] = pd.to_numeric(out[column], errors="coerce").astype(dtype)
    return out


def _summary_frame(summaries: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per scheme; lists (kept, dropped, recommendations) as JSON text."""
    rows = []
    for summary in summaries:
        rows.append(
            {
                key: json.dumps(value, ensure_ascii=False) if isinstance(value, list) else value
                for key, value in summary.items()
            }
        )
    return pd.DataFrame(rows)


def validation_summary(frame: pd.DataFrame | None, scheme: str = "rules") -> dict[str, Any] | None:
    """The published summary row of one scheme as a dict (JSON lists decoded)."""
    if frame is None or frame.empty or "scheme" not in frame.columns:
        return None
    rows = frame[frame["scheme"] == scheme]
    if rows.empty:
        return None
    out: dict[str, Any] = {}
    for key, value in rows.iloc[0].items():
        if isinstance(value, str) and value.startswith("["):
            out[str(key)] = json.loads(value)
        else:
            out[str(key)] = value
    return out
