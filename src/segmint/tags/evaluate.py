"""Evaluate the tag catalogue on the profile: membership, history and the catalogue table.

- `customer_tags`: one row per (customer_id, tag) the customer holds now.
- `tag_history`: when each customer gained and lost each tag (valid_from / valid_to, the as-of
  times of the runs that saw it change); `valid_to` is null while the tag holds.
- `tag_catalog`: every tag's definition with its coverage, gains and losses this run.

A tag whose refresh policy is not yet due keeps last run's members (among customers who
still exist); a changed rule is always due.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.errors import ConfigError
from segmint.project.spec_profile import TagSpec
from segmint.tags.dsl import compile_rule

CUSTOMER_TAGS = "customer_tags"
TAG_HISTORY = "tag_history"
TAG_CATALOG = "tag_catalog"
REFRESH_PERIOD = {
    "each_run": dt.timedelta(0),
    "daily": dt.timedelta(days=1),
    "weekly": dt.timedelta(days=7),
    "monthly": dt.timedelta(days=30),
}
HISTORY_SCHEMA = ibis.schema(
    {
        "customer_id": "string",
        "tag": "string",
        "valid_from": "timestamp",
        "valid_to": "timestamp",
        "gained_run_id": "string",
        "lost_run_id": "string",
    }
)


def rule_hash(tag: TagSpec) -> str:
    """Identifies a tag's definition: a new rule means the tag must be recomputed."""
    return hashlib.sha256(f"{tag.rule}|{tag.plugin}".encode()).hexdigest()[:12]


@dataclass(frozen=True)
class PreviousTags:
    """Last run's tag tables, if any."""

    members: ir.Table | None
    history: ir.Table | None
    catalog: pd.DataFrame | None


def tag_condition(
    tag: TagSpec, profile: ir.Table, as_of: dt.datetime, project_dir: Path
) -> ir.BooleanValue:
    """The tag's rule (or plugin) as a boolean expression over the profile."""
    if tag.rule is not None:
        return compile_rule(tag.rule, profile, as_of=as_of, name=tag.name)
    assert tag.plugin is not None
    function = _load_plugin(tag, project_dir)
    result = function(profile, as_of)
    if not isinstance(result, ir.BooleanValue):
        raise ConfigError(
            f"tag {tag.name}: plugin {tag.plugin} returned {type(result).__name__}, "
            "expected an Ibis boolean expression over the profile"
        )
    return result.fill_null(False)


def _load_plugin(
    tag: TagSpec, project_dir: Path
) -> Callable[[ir.Table, dt.datetime], ir.BooleanValue]:
    assert tag.plugin is not None
    module_name, _, attr = tag.plugin.partition(":")
    added = str(project_dir) not in sys.path
    if added:
        sys.path.insert(0, str(project_dir))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"tag {tag.name}: cannot import plugin module {module_name!r} ({exc}); put "
            f"{module_name}.py next to segmint.yml or install it"
        ) from exc
    finally:
        if added:
            sys.path.remove(str(project_dir))
    function = getattr(module, attr, None)
    if not callable(function):
        raise ConfigError(f"tag {tag.name}: {module_name} has no function {attr!r}")
    return cast(Callable[[ir.Table, dt.datetime], ir.BooleanValue], function)


def due_tags(tags: list[TagSpec], previous: PreviousTags, as_of: dt.datetime) -> set[str]:
    """Names of the tags to evaluate this run (the others keep last run's members)."""
    if previous.members is None or previous.catalog is None or previous.catalog.empty:
        return {t.name for t in tags}
    last = previous.catalog.set_index("tag")
    due = set()
    for tag in tags:
        if tag.name not in last.index or last.loc[tag.name, "rule_hash"] != rule_hash(tag):
            due.add(tag.name)
            continue
        computed_at = pd.Timestamp(last.loc[tag.name, "computed_at"]).to_pydatetime()
        if as_of < computed_at or as_of - computed_at >= REFRESH_PERIOD[tag.refresh]:
            due.add(tag.name)
    return due


def membership(
    profile: ir.Table,
    tags: list[TagSpec],
    due: set[str],
    previous: PreviousTags,
    as_of: dt.datetime,
    project_dir: Path,
) -> ir.Table:
    """(customer_id, tag) for every tag a customer holds.

    Due tags are evaluated in one pass over the profile (an array of the names whose rule
    holds, unnested), not one scan per tag; tags not due keep last run's members.
    """
    parts = []
    names = [
        ibis.ifelse(tag_condition(tag, profile, as_of, project_dir), tag.name, ibis.null("string"))
        for tag in tags
        if tag.name in due
    ]
    if names:
        held = profile.select("customer_id", tag=ibis.array(names).unnest())
        parts.append(held.filter(held.tag.notnull()))
    kept_names = [tag.name for tag in tags if tag.name not in due]
    if kept_names:
        assert previous.members is not None
        kept = previous.members.filter(previous.members.tag.isin(kept_names))
        parts.append(
            kept.join(profile.select("customer_id"), "customer_id", how="semi").select(
                "customer_id", "tag"
            )
        )
    if not parts:
        return ibis.memtable(
            pd.DataFrame({"customer_id": pd.Series([], dtype=object), "tag": []}),
            schema={"customer_id": "string", "tag": "string"},
        )
    return ibis.union(*parts)


def history(
    members: ir.Table, previous: ir.Table | None, as_of: dt.datetime, run_id: str
) -> ir.Table:
    """Last run's history with this run's gains opened and losses closed."""
    now = ibis.literal(as_of)
    gained = members.select(
        "customer_id",
        "tag",
        valid_from=now,
        valid_to=ibis.null("timestamp"),
        gained_run_id=ibis.literal(run_id),
        lost_run_id=ibis.null("string"),
    )
    if previous is None:
        return gained
    prior = previous.cast(HISTORY_SCHEMA)
    closed = prior.filter(prior.valid_to.notnull())
    open_ = prior.filter(prior.valid_to.isnull())
    held = open_.join(members, ["customer_id", "tag"], how="semi")
    lost = open_.join(members, ["customer_id", "tag"], how="anti").mutate(
        valid_to=now, lost_run_id=ibis.literal(run_id)
    )
    new = gained.join(open_, ["customer_id", "tag"], how="anti")
    columns = list(HISTORY_SCHEMA.names)
    return ibis.union(*(t.select(*columns) for t in (closed, held, lost, new)))


def catalog_frame(
    tags: list[TagSpec],
    counts: pd.DataFrame,
    customers: int,
    due: set[str],
    previous: PreviousTags,
    as_of: dt.datetime,
    run_id: str,
    model_versions: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The catalogue table: definition, owner, sensitivity and this run's figures per tag.

    `model_versions` maps a tag to the version of the model(s) its rule reads (predictive
    tags); other tags have none.
    """
    versions = model_versions or {}
    figures = (
        counts.set_index("tag")[["customers", "gained", "lost"]]
        .reindex([t.name for t in tags])
        .fillna(0)
        .astype("int64")
    )
    last = (
        previous.catalog.set_index("tag")["computed_at"]
        if previous.catalog is not None and not previous.catalog.empty
        else pd.Series(dtype="datetime64[ns]")
    )
    rows = []
    for tag in tags:
        members, gained, lost = (int(v) for v in figures.loc[tag.name])
        kept = tag.name not in due and tag.name in last.index
        computed_at = pd.Timestamp(last[tag.name]).to_pydatetime() if kept else as_of
        rows.append(
            {
                "tag": tag.name,
                "type": tag.type,
                "description": tag.description,
                "label_zh": tag.label_zh,
                "owner": tag.owner,
                "sensitivity": tag.sensitivity,
                "refresh": tag.refresh,
                "rule": tag.rule if tag.rule is not None else f"plugin {tag.plugin}",
                "rule_hash": rule_hash(tag),
                "customers": members,
                "coverage": members / customers if customers else 0.0,
                "gained": gained,
                "lost": lost,
                "computed_at": computed_at,
                "refreshed": tag.name in due,
                "model_version": versions.get(tag.name),
                "run_id": run_id,
            }
        )
    frame = pd.DataFrame(rows)
    if not frame.empty:  # typed even when no tag reads a model
        frame["model_version"] = frame["model_version"].astype("string")
    return frame
