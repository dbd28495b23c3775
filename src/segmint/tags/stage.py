"""The tags stage of a run: evaluate the catalogue and write the three tag tables."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.types as ir

from segmint.engine.engine import Engine, table_name
from segmint.errors import ConfigError
from segmint.predict.columns import rule_columns as prediction_rule_columns
from segmint.project.spec import ProjectSpec
from segmint.project.spec_profile import TagSpec
from segmint.tags.catalogue import DEFAULT_TAGS, generated_tags, predictive_tags, project_tags
from segmint.tags.dsl import check_rule, rule_columns
from segmint.tags.evaluate import (
    CUSTOMER_TAGS,
    TAG_CATALOG,
    TAG_HISTORY,
    PreviousTags,
    catalog_frame,
    due_tags,
    history,
    membership,
)
from segmint.traits.catalog import TRAITS


@dataclass
class TagBuild:
    """What the tags stage wrote."""

    tables: dict[str, str]
    tags: list[TagSpec]
    evaluated: int
    memberships: int


def catalogue(spec: ProjectSpec) -> list[TagSpec]:
    """The project's tags, with unknown names in `tags.disable` reported."""
    generated = generated_tags(spec.layers) + predictive_tags(spec.predict)
    known = {t.name for t in DEFAULT_TAGS} | {t.name for t in generated}
    unknown = [name for name in spec.tags.disable if name not in known]
    if unknown:
        hints = [
            f"{name!r} (did you mean {close[0]!r}?)"
            if (close := difflib.get_close_matches(name, sorted(known), n=1))
            else repr(name)
            for name in unknown
        ]
        raise ConfigError("tags.disable: unknown default tag(s) " + ", ".join(hints))
    return project_tags(spec.tags, spec.layers, spec.predict)


def build_tags(
    engine: Engine,
    run_id: str,
    profiles: ir.Table,
    spec: ProjectSpec,
    project_dir: Path,
    as_of: dt.datetime,
    previous: PreviousTags,
    model_versions: Mapping[str, str] | None = None,
) -> TagBuild:
    """Evaluate every due tag, carry the others, and write members, history and catalogue.

    `profiles` may carry predictive columns beside the traits; `model_versions` maps such a
    column to the version of the model that filled it, recorded on the tags that read it.
    """
    tags = catalogue(spec)
    due = due_tags(tags, previous, as_of)
    members = engine.materialize(
        engine.run_table(run_id, CUSTOMER_TAGS),
        membership(profiles, tags, due, previous, as_of, project_dir),
    )
    hist = engine.materialize(
        engine.run_table(run_id, TAG_HISTORY),
        history(members, previous.history, as_of, run_id),
    )
    per_tag = members.group_by("tag").aggregate(customers=members.count())
    changes = hist.filter((hist.gained_run_id == run_id) | (hist.lost_run_id == run_id))
    moved = changes.group_by("tag").aggregate(
        gained=(changes.gained_run_id == run_id).cast("int64").sum(),
        lost=(changes.lost_run_id == run_id).cast("int64").sum(),
    )
    joined = per_tag.outer_join(moved, "tag")
    counts = engine.to_pandas(
        joined.select(
            tag=joined.tag.fill_null(joined.tag_right),
            customers=joined.customers.fill_null(0),
            gained=joined.gained.fill_null(0),
            lost=joined.lost.fill_null(0),
        )
    )
    customers = int(engine.scalar(profiles.count()))
    frame = catalog_frame(
        tags, counts, customers, due, previous, as_of, run_id, tag_versions(tags, model_versions)
    )
    catalog = engine.materialize(engine.run_table(run_id, TAG_CATALOG), frame)
    return TagBuild(
        tables={
            CUSTOMER_TAGS: table_name(members),
            TAG_HISTORY: table_name(hist),
            TAG_CATALOG: table_name(catalog),
        },
        tags=tags,
        evaluated=len(due),
        memberships=int(engine.scalar(members.count())),
    )


def tag_versions(tags: list[TagSpec], model_versions: Mapping[str, str] | None) -> dict[str, str]:
    """Tag → the model versions its rule reads (only tags that read a model's column)."""
    if not model_versions:
        return {}
    out: dict[str, str] = {}
    for tag in tags:
        if not tag.rule:  # a plugin tag reads what it likes; no model is recorded for it
            continue
        read = sorted({model_versions[c] for c in rule_columns(tag.rule) if c in model_versions})
        if read:
            out[tag.name] = ", ".join(read)
    return out


def check_rules(spec: ProjectSpec) -> None:
    """Type-check every tag and layer rule against the profile's columns, before any work.

    A typo in a rule then fails the run at once (naming the tag, line and column) instead of
    after ingest and identity.
    """
    columns = {t.name: t.dtype for t in TRAITS}
    if spec.predict.enabled:
        columns |= prediction_rule_columns()
    profile = ibis.schema(columns)
    without_layer = ibis.schema({t.name: t.dtype for t in TRAITS if t.name != "value_layer"})
    for layer in spec.layers.definitions:
        if layer.rule is not None:
            check_rule(layer.rule, without_layer, name=f"layer {layer.name}")
    for tag in catalogue(spec):
        if tag.rule is not None:
            check_rule(tag.rule, profile, name=tag.name)
