"""The identity stage: from staged records to one stable customer_id per person.

1. Records: every row of every entity that carries an identifier. Rows with the same
   normalised identifiers form one *signature* node, so 20M order rows become a few
   million nodes.
2. Hubs: deny-listed, placeholder and over-shared values link nothing (`hubs`).
3. Deterministic stitching: connected components over shared identifiers (`graph`).
4. Merge protection: a component holding more member ids than allowed is split by cutting
   its weakest identifier types first (the end of `identity.identifiers`).
5. Probabilistic matching (Splink) joins components whose customer records agree on name,
   birth date, phone fragments and place, within the member-id limit.
6. Stable ids: components inherit the previous run's ids; merges and splits are logged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir

from segmint.engine.engine import Engine, table_name
from segmint.errors import IdentityError
from segmint.identity.graph import connected_components
from segmint.identity.hubs import find_hubs
from segmint.identity.probabilistic import ProbabilisticSettings, match_records
from segmint.identity.stable_ids import HISTORY_SCHEMA, assign_ids
from segmint.ingest.stage import RECORD_KEY, SOURCE
from segmint.project.entities import ENTITIES
from segmint.project.spec import IdentitySettings

IDENTITY_MAP = "identity_map"
IDENTITY_HUBS = "identity_hubs"
IDENTITY_HISTORY = "identity_history"
IDENTITY_SPLITS = "identity_splits"
IDENTITY_LINKS = "identity_links"
IDENTITY_REVIEW = "identity_review"
IDENTITY_MODEL = "identity_model"
SPLIT_SCHEMA = ibis.schema(
    {"label": "int64", "member_ids": "int64", "cut": "string", "parts": "int64"}
)
_SEPARATOR = "|"


@dataclass
class IdentityResult:
    """Run tables identity built (public name -> run table) and its headline numbers."""

    tables: dict[str, str]
    records: int = 0
    unresolved: int = 0
    customers: int = 0
    hubs_blocked: int = 0
    iterations: int = 0
    components_split: int = 0
    probabilistic_links: int = 0
    review_pairs: int = 0
    merges: int = 0
    splits: int = 0
    model_json: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _records(engine: Engine, entity_tables: dict[str, str], kinds: list[str]) -> ir.Table:
    """Every record of an entity that can carry identifiers, with those identifiers."""
    parts = []
    for entity_name, physical in entity_tables.items():
        entity = ENTITIES[entity_name]
        if not any(c.identifier for c in entity.columns):
            continue
        table = engine.table(physical)
        parts.append(
            table.select(
                entity=ibis.literal(entity_name),
                source=table[SOURCE],
                record_key=table[RECORD_KEY],
                **{
                    kind: table[kind].cast("string")
                    if kind in entity.columns_by_name
                    else ibis.null("string")
                    for kind in kinds
                },
            )
        )
    if not parts:
        raise IdentityError("no source maps an identifier column; nothing to unify")
    return ibis.union(*parts)


def _signatures(records: ir.Table, kinds: list[str]) -> ir.Table:
    """One row per distinct combination of identifiers (anonymous records have none), with
    its text key `sig`, its record count and its node number (row number by `sig`, so the
    numbering is the same on every engine). Grouping on the identifier columns and building
    the text on the grouped rows keeps the string work off the 20M-record side."""
    named = records.filter(ibis.or_(*(records[kind].notnull() for kind in kinds)))
    grouped = named.group_by(kinds).aggregate(records=named.count())
    key: ir.StringValue = grouped[kinds[0]].fill_null("")
    for kind in kinds[1:]:
        key = key + _SEPARATOR + grouped[kind].fill_null("")
    keyed = grouped.mutate(sig=key)
    return keyed.mutate(node=ibis.row_number().over(order_by=keyed.sig))


def _by_signature(
    records: ir.Table, per_signature: ir.Table, kinds: list[str], how: str = "left"
) -> ir.Table:
    """Records joined to a per-signature table on their identifiers (NULL matches NULL);
    anonymous records match nothing (NULLs on a left join, dropped on an inner one)."""
    predicates = [records[kind].identical_to(per_signature[kind]) for kind in kinds]
    return records.join(per_signature, predicates, how=how)


def _edges(signatures: ir.Table, kinds: list[str]) -> ir.Table:
    parts = [
        signatures.filter(signatures[kind].notnull()).select(
            node=signatures.node,
            id_type=ibis.literal(kind),
            id_value=signatures[kind],
            records=signatures.records,
        )
        for kind in kinds
    ]
    return ibis.union(*parts)


def _member_counts(links: ir.Table, labels: ir.Table) -> ir.Table:
    members = links.filter(links.id_type == "member_id")
    return (
        members.join(labels, "node")
        .group_by("label")
        .aggregate(member_ids=lambda t: t.id_value.nunique())
    )


class _Stage:
    """Shared state of one identity build."""

    def __init__(
        self,
        engine: Engine,
        run_id: str,
        settings: IdentitySettings,
        progress: Callable[[str], None] | None,
    ) -> None:
        self.engine = engine
        self.run_id = run_id
        self.settings = settings
        self.progress = progress or (lambda _detail: None)
        self.temps: list[str] = []
        self.rounds = 0  # label-propagation rounds over every solve of this build

    def name(self, base: str) -> str:
        return self.engine.run_table(self.run_id, base)

    def temp(self, base: str, expr: ir.Table) -> ir.Table:
        table = self.engine.materialize(self.name(base), expr, temporary=True)
        self.temps.append(table_name(table))
        return table

    def components(self, tag: str, nodes: ir.Table, links: ir.Table) -> ir.Table:
        labels, rounds = connected_components(
            self.engine,
            self.name,
            nodes,
            links,
            self.settings.max_iterations,
            tag=tag,
            progress=lambda i: self.progress(f"{tag} round {i}"),
        )
        self.rounds += rounds
        self.temps.append(table_name(labels))
        return labels

    def cleanup(self) -> None:
        for name in self.temps:
            self.engine.drop(name)


def _reattach(
    stage: _Stage, tag: str, links: ir.Table, sub_labels: ir.Table, cut: list[str]
) -> ir.Table:
    """Parts left without any member id by a cut rejoin the one part their cut identifiers
    lead to.

    Cutting a whole identifier type also cuts the links that were never in doubt: a
    device's anonymous events lose the member who logged in on it. A part holding no member
    id whose cut identifiers all lead to parts of one member-holding part joins it; one
    leading to two or more stays apart (that identifier is the glue being cut).
    """
    members = links.filter(links.id_type == "member_id").select("node").distinct()
    parts = sub_labels.select("node", part=sub_labels.label)  # the split components' nodes
    holding = parts.semi_join(members, "node").select("part").distinct()
    anchored = parts.semi_join(holding, "part")
    orphans = parts.anti_join(holding, "part")
    cut_links = links.filter(links.id_type.isin(cut)).select("node", "idn")
    homes = cut_links.join(anchored, "node").select("idn", home=anchored.part).distinct()
    reach = (
        orphans.join(cut_links, "node")
        .join(homes, "idn")
        .select(part=orphans.part, home=homes.home)
        .distinct()
    )
    single = reach.group_by("part").aggregate(home=reach.home.min(), homes=reach.count())
    single = single.filter(single.homes == 1).select("part", "home")
    moved = sub_labels.left_join(single, sub_labels.label == single.part)
    return stage.temp(
        f"{tag}_reattached",
        moved.select(
            node=moved.node,
            label=ibis.coalesce(moved.home, moved.label),
            changed=moved.changed,
        ),
    )


def _split_oversized(
    stage: _Stage, links: ir.Table, labels: ir.Table
) -> tuple[ir.Table, ir.Table, int]:
    """Cut the weakest identifier types inside components with too many member ids."""
    settings = stage.settings
    limit = settings.max_member_ids_per_customer
    splits: list[ir.Table] = []
    cut: list[str] = []
    count = 0
    for weakest in reversed(settings.identifiers[1:]):
        sizes = _member_counts(links, labels)
        oversized = stage.temp(f"id_oversized_{weakest}", sizes.filter(sizes.member_ids > limit))
        found = int(stage.engine.scalar(oversized.count()))
        if not found:
            break
        count += found if not cut else 0
        cut.append(weakest)
        inside = labels.semi_join(oversized, "label").select("node", old=labels.label)
        sub_links = links.semi_join(inside, "node").filter(links.id_type.notin(cut))
        sub_labels = stage.components(f"split_{weakest}", inside.select("node"), sub_links)
        sub_labels = _reattach(stage, f"split_{weakest}", links, sub_labels, cut)
        parts = (
            inside.join(sub_labels, "node")
            .group_by("old")
            .aggregate(parts=lambda t: t.label.nunique())
        )
        splits.append(
            oversized.join(parts, oversized.label == parts.old).select(
                label=oversized.label.cast("int64"),
                member_ids=oversized.member_ids.cast("int64"),
                cut=ibis.literal(",".join(cut)),
                parts=parts.parts.cast("int64"),
            )
        )
        merged = labels.left_join(sub_labels, "node").select(
            node=labels.node, label=ibis.coalesce(sub_labels.label, labels.label)
        )
        labels = stage.temp(f"id_labels_cut_{weakest}", merged)
    split_table = (
        ibis.union(*splits)
        if splits
        else ibis.memtable({n: [] for n in SPLIT_SCHEMA.names}, schema=SPLIT_SCHEMA)
    )
    return labels, split_table, count


def _candidates(
    engine: Engine, entity_tables: dict[str, str], record_labels: ir.Table
) -> ir.Table | None:
    """Customer records with the fields probabilistic matching compares."""
    if "customers" not in entity_tables:
        return None
    customers = engine.table(entity_tables["customers"])
    labelled = customers.join(
        record_labels.filter(record_labels.entity == "customers"), [SOURCE, RECORD_KEY]
    )
    columns = customers.columns

    def text(column: str) -> ir.StringValue:
        return labelled[column].cast("string") if column in columns else ibis.null("string")

    return labelled.select(
        SOURCE,
        RECORD_KEY,
        unique_id=ibis.row_number().over(order_by=[labelled[SOURCE], labelled[RECORD_KEY]]),
        component=labelled.label,
        name=text("name").strip().nullif(""),
        gender=text("gender"),
        birth_date=labelled.birth_date if "birth_date" in columns else ibis.null("date"),
        phone=text("phone"),
        email=text("email"),
        province=text("province"),
        city=text("city"),
        member_id=text("member_id"),
    )


def _probabilistic(
    stage: _Stage,
    entity_tables: dict[str, str],
    record_labels: ir.Table,
    links: ir.Table,
    labels: ir.Table,
    result: IdentityResult,
) -> ir.Table:
    """Merge components that Splink says are one person; returns the new node labels."""
    settings = stage.settings.probabilistic
    engine = stage.engine
    if not settings.enabled:
        return labels
    candidates = _candidates(engine, entity_tables, record_labels)
    if candidates is None:
        return labels
    cand = stage.temp("id_candidates", candidates)
    count = int(engine.scalar(cand.count()))
    if count < settings.min_records:
        result.extra["probabilistic"] = (
            f"skipped: {count} customer records, fewer than probabilistic.min_records "
            f"({settings.min_records}) to train a model on"
        )
        return labels
    outcome = match_records(
        engine,
        stage.run_id,
        table_name(cand),
        ProbabilisticSettings(
            threshold=settings.threshold,
            review_low=settings.review_low,
            seed=settings.seed,
            max_pairs=settings.max_pairs,
            max_training_pairs=settings.max_training_pairs,
        ),
        carry=(SOURCE, RECORD_KEY),
    )
    result.tables[IDENTITY_LINKS] = outcome.links
    result.tables[IDENTITY_REVIEW] = outcome.review
    result.review_pairs = int(outcome.review_count)
    result.model_json = outcome.model_json
    shares = ", ".join(f"{share:.0%}" for share in outcome.training_shares)
    result.extra["probabilistic"] = (
        f"{outcome.pairs_scored} pairs scored, {outcome.links_count} links, "
        f"{outcome.review_count} for review; EM saw {shares} of its training rules' pairs"
    )
    model = engine.materialize(
        stage.name(IDENTITY_MODEL),
        ibis.memtable(
            {
                "run_id": [stage.run_id],
                "model": ["splink"],
                "model_json": [outcome.model_json],
                "threshold": [settings.threshold],
                "review_low": [settings.review_low],
                "records": [count],
                "pairs_scored": [outcome.pairs_scored],
                "links": [outcome.links_count],
                "review": [outcome.review_count],
            }
        ),
    )
    result.tables[IDENTITY_MODEL] = table_name(model)
    pairs = engine.table(outcome.links)

    # Keep only links whose two components together stay within the member-id limit.
    sizes = _member_counts(links, labels)
    left = sizes.select(component_l=sizes.label, members_l=sizes.member_ids)
    right = sizes.select(component_r=sizes.label, members_r=sizes.member_ids)
    pairs = pairs.select("component_l", "component_r").distinct()
    pairs = pairs.left_join(left, "component_l").left_join(right, "component_r")
    limit = stage.settings.max_member_ids_per_customer
    pairs = pairs.filter(
        pairs.members_l.fill_null(0) + pairs.members_r.fill_null(0) <= limit
    ).select("component_l", "component_r")
    pairs = stage.temp(
        "id_prob_pairs", pairs.mutate(idn=ibis.row_number().over(order_by=list(pairs.columns)))
    )
    result.probabilistic_links = int(engine.scalar(pairs.count()))
    if not result.probabilistic_links:
        return labels
    comp_links = ibis.union(
        pairs.select(node=pairs.component_l, idn=pairs.idn),
        pairs.select(node=pairs.component_r, idn=pairs.idn),
    )
    comp_nodes = labels.select(node=labels.label).distinct()
    merged = stage.components("prob", comp_nodes, comp_links)
    merged = merged.select(component=merged.node, merged_label=merged.label)
    relabelled = labels.join(merged, labels.label == merged.component).select(
        node=labels.node, label=merged.merged_label
    )
    return stage.temp("id_labels_prob", relabelled)


def resolve_identity(
    engine: Engine,
    run_id: str,
    entity_tables: dict[str, str],
    settings: IdentitySettings,
    previous_map: ir.Table | None = None,
    previous_history: ir.Table | None = None,
    progress: Callable[[str], None] | None = None,
) -> IdentityResult:
    """Build the identity tables of a run; see the module docstring for the steps."""
    stage = _Stage(engine, run_id, settings, progress)
    kinds: list[str] = list(settings.identifiers)
    result = IdentityResult(tables={})
    try:
        records = _records(engine, entity_tables, kinds)
        signatures = stage.temp("id_signatures", _signatures(records, kinds))
        edges = stage.temp("id_edges", _edges(signatures, kinds))
        stage.progress("hubs")

        hubs = engine.materialize(stage.name(IDENTITY_HUBS), find_hubs(edges, settings))
        result.tables[IDENTITY_HUBS] = table_name(hubs)
        usable = edges.anti_join(hubs, ["id_type", "id_value"])
        # An identifier's number: its smallest node and its type. A node holds one value of
        # each type, so this is unique, and a hash aggregate (no sort over 3M values).
        ids = usable.group_by(["id_type", "id_value"]).aggregate(first=usable.node.min())
        type_index = ibis.cases(*((ids.id_type == kind, i) for i, kind in enumerate(kinds)))
        ids = ids.select("id_type", "id_value", idn=ids.first * len(kinds) + type_index)
        links = stage.temp(
            "id_links",
            usable.join(ids, ["id_type", "id_value"]).select("node", "idn", "id_type", "id_value"),
        )

        # Nodes whose every identifier is a hub stay unresolved (no customer_id).
        linked_nodes = links.select("node").distinct()
        labels = stage.components("det", linked_nodes, links.select("node", "idn"))
        labels = labels.select("node", "label")
        labels, split_table, result.components_split = _split_oversized(stage, links, labels)
        splits = engine.materialize(stage.name(IDENTITY_SPLITS), split_table)
        result.tables[IDENTITY_SPLITS] = table_name(splits)

        nodes = signatures.select(*kinds, sig_node=signatures.node)
        node_of = _by_signature(records, nodes, kinds, how="inner")
        node_of = node_of.select("entity", SOURCE, RECORD_KEY, node=node_of.sig_node)
        record_labels = node_of.join(labels, "node").select("entity", SOURCE, RECORD_KEY, "label")
        labels = _probabilistic(stage, entity_tables, record_labels, links, labels, result)

        stage.progress("stable ids")
        # Records of linked nodes; anonymous and hub-only records have no label and no id.
        resolved = node_of.join(labels, "node").select(SOURCE, RECORD_KEY, "label")
        assigned, history = assign_ids(
            resolved, previous_map, run_id, labels=labels.select("label")
        )
        assigned = stage.temp("id_assigned", assigned)
        sig_ids = stage.temp(
            "id_signature_ids",
            signatures.join(labels, "node")
            .join(assigned, "label")
            .select(*kinds, sig_customer=assigned.customer_id),
        )
        # One join over the records: identifiers -> customer_id.
        mapped = _by_signature(records, sig_ids, kinds)
        identity = engine.materialize(
            stage.name(IDENTITY_MAP),
            mapped.select(
                mapped.entity,
                mapped[SOURCE],
                mapped[RECORD_KEY],
                customer_id=mapped.sig_customer,
            ),
        )
        result.tables[IDENTITY_MAP] = table_name(identity)
        history = history.cast(HISTORY_SCHEMA)
        if previous_history is not None:
            history = ibis.union(previous_history.cast(HISTORY_SCHEMA), history)
        history_table = engine.materialize(stage.name(IDENTITY_HISTORY), history)
        result.tables[IDENTITY_HISTORY] = table_name(history_table)

        counts = engine.to_pandas(
            identity.aggregate(
                records=identity.count(),
                unresolved=identity.customer_id.isnull().sum(),
                customers=identity.customer_id.nunique(),
            )
        ).iloc[0]
        result.records = int(counts["records"])
        result.unresolved = int(counts["unresolved"] or 0)
        result.customers = int(counts["customers"])
        result.hubs_blocked = int(engine.scalar(hubs.count()))
        this_run = history_table.filter(history_table.run_id == run_id)
        changes = engine.to_pandas(this_run.group_by("reason").aggregate(n=this_run.count()))
        by_reason = dict(zip(changes["reason"], changes["n"], strict=True))
        result.merges = int(by_reason.get("merge", 0))
        result.splits = int(by_reason.get("split", 0))
        result.iterations = stage.rounds
    finally:
        stage.cleanup()
    return result
