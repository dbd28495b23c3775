"""Run the pipeline: ingest → conform → quality → identity → RFM → profile → predict → tags
→ segments → publish (→ report).

Stages build run-scoped tables; only when all succeed are they published, in one step. A
failure discards the run's tables, records the failed run in the manifest and re-raises.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.engine.engine import Engine, table_name
from segmint.errors import SegmintError, StageError
from segmint.identity.resolve import IDENTITY_HISTORY, IDENTITY_MAP, resolve_identity
from segmint.ingest.conform import conform_entities
from segmint.ingest.quality import assess_quality
from segmint.ingest.stage import QUARANTINE_SCHEMA, SourceLoad, ingest_source
from segmint.pipeline.manifest import (
    RunManifest,
    SourceRecord,
    StageRecord,
    latest_run_id,
    new_run_id,
)
from segmint.predict.columns import CUSTOMER_PREDICTIONS, MODEL_TABLES
from segmint.project.loader import LoadedProject
from segmint.project.spec_predict import Retrain
from segmint.segments.membership import SEGMENT_MEMBERSHIP_HISTORY, SEGMENT_MIGRATION
from segmint.segments.rules import SEGMENT_MEMBERS, check_project_rules
from segmint.segments.stage import (
    CUSTOMER_CLUSTERS,
    SEGMENT_TABLES,
    PreviousSegments,
    build_segments,
    check_families,
)
from segmint.tags.evaluate import CUSTOMER_TAGS, TAG_CATALOG, TAG_HISTORY, PreviousTags
from segmint.tags.stage import build_tags, catalogue, check_rules
from segmint.traits.profile import ProfileInputs
from segmint.traits.refresh import (
    PROFILE_FINGERPRINTS,
    PROFILE_META,
    PROFILE_STATE,
    PROFILES,
    PreviousProfile,
    build_profiles,
)
from segmint.traits.rfm import purchases, rfm_table

QUALITY_SOURCES = "quality_sources"
QUALITY_FIELDS = "quality_fields"
QUARANTINE = "quarantine"
# Outputs of stages that can be switched off or skipped: a run without them retires their
# views instead of leaving them on the discarded tables of an older run.
OPTIONAL_OUTPUTS: tuple[str, ...] = (CUSTOMER_PREDICTIONS, *MODEL_TABLES, *SEGMENT_TABLES)


class ProgressSink(Protocol):
    """Where a run reports progress (the CLI draws Rich bars; the API default is silent)."""

    def stage(self, name: str, total: int | None = None) -> None:
        """A stage starts; `total` steps if known."""

    def advance(self, detail: str = "") -> None:
        """One step of the current stage is done."""


class SilentProgress:
    """A progress sink that reports nothing."""

    def stage(self, name: str, total: int | None = None) -> None:
        """Ignore the stage start."""

    def advance(self, detail: str = "") -> None:
        """Ignore the step."""


class PipelineRun:
    """One execution of the pipeline against one engine."""

    def __init__(
        self,
        project: LoadedProject,
        engine: Engine,
        as_of: dt.datetime | None = None,
        progress: ProgressSink | None = None,
        retrain: Retrain | None = None,
    ) -> None:
        self.project = project
        self.retrain = retrain
        self.engine = engine
        self.progress = progress or SilentProgress()
        started = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        resolved_as_of = as_of or project.spec.as_of or started
        if resolved_as_of.tzinfo is not None:
            resolved_as_of = resolved_as_of.astimezone(dt.UTC).replace(tzinfo=None)
        self.manifest = RunManifest(
            run_id=new_run_id(started),
            project=project.spec.name,
            engine=engine.kind,
            config_hash=project.config_hash,
            as_of=resolved_as_of,
            started_at=started,
        )
        self.built: dict[str, str] = {}  # public name -> run table

    @property
    def run_id(self) -> str:
        """This run's id."""
        return self.manifest.run_id

    @property
    def as_of(self) -> dt.datetime:
        """The analysis time of this run (UTC)."""
        return self.manifest.as_of

    @contextmanager
    def _stage(self, name: str, total: int | None = None) -> Iterator[StageRecord]:
        self.progress.stage(name, total)
        record = StageRecord(stage=name, seconds=0.0, rows=0)
        start = time.perf_counter()
        try:
            yield record
        except SegmintError:
            raise
        except Exception as exc:
            raise StageError(f"stage {name} failed: {type(exc).__name__}: {exc}") from exc
        finally:
            record.seconds = round(time.perf_counter() - start, 3)
        self.manifest.stages.append(record)

    def _published(self, name: str) -> ir.Table | None:
        """The last successful run's table `name`, if there is one."""
        return self.engine.table(name) if self.engine.exists(name) else None

    def _published_frame(self, name: str) -> pd.DataFrame | None:
        """A small published table of the last successful run, in pandas."""
        table = self._published(name)
        return None if table is None else self.engine.to_pandas(table)

    def _rows(self, run_table: str) -> int:
        return int(self.engine.scalar(self.engine.table(run_table).count()))

    def execute(
        self,
        report_path: Path | None = None,
        report_role: str | None = None,
        actor: str | None = None,
    ) -> RunManifest:
        """Run every stage, publish atomically, and return the manifest.

        The report is written as `report_role` may see the tables (default: the project's
        default role); its reads are audited as `actor`.
        """
        try:
            self._run_stages()
            with self._stage("publish", 1) as record:
                self.engine.publish(self.run_id, self.built, retire=OPTIONAL_OUTPUTS)
                self._cleanup()
                record.rows = len(self.built)
                self.progress.advance()
            self.manifest.status = "succeeded"
            self.manifest.tables = sorted(self.built)
        except BaseException as exc:
            self.manifest.status = "failed"
            self.manifest.error = str(exc)
            self.manifest.finished_at = _now()
            self.engine.discard_run(self.run_id)
            self.manifest.save(self.engine)
            raise
        self.manifest.finished_at = _now()
        self.manifest.save(self.engine)
        if report_path is not None:
            from segmint.pipeline.report_data import build_report_data
            from segmint.report import write_report

            with self._stage("report", 1):
                lang = self.project.spec.report.lang
                data = build_report_data(
                    self.engine, self.project, lang, role=report_role, actor=actor
                )
                write_report(data, report_path)
                self.manifest.report = str(report_path.resolve())
                self.progress.advance()
        return self.manifest

    def _run_stages(self) -> None:
        spec = self.project.spec
        engine = self.engine
        check_rules(spec)
        check_project_rules(
            spec.segments.rules,
            [tag.name for tag in catalogue(spec)],
            [layer.name for layer in spec.layers.definitions],
            predictions=spec.predict.enabled,
        )
        check_families(spec)
        loads: list[SourceLoad] = []
        with self._stage("ingest", len(spec.sources)) as record:
            for source in spec.sources:
                load = ingest_source(engine, self.project, source, self.run_id, self.as_of)
                loads.append(load)
                self.manifest.sources.append(
                    SourceRecord(
                        source=load.source,
                        entity=load.entity,
                        files=load.files,
                        rows_read=load.rows_read,
                        rows_loaded=load.rows_loaded,
                        rows_quarantined=load.rows_quarantined,
                    )
                )
                self.progress.advance(source.name)
            quarantine = engine.materialize(
                engine.run_table(self.run_id, QUARANTINE),
                ibis.union(*(engine.table(x.quarantine_table) for x in loads))
                if loads
                else ibis.memtable(pd.DataFrame(), schema=QUARANTINE_SCHEMA),
            )
            self.built[QUARANTINE] = table_name(quarantine)
            record.rows = sum(x.rows_loaded for x in loads)

        with self._stage("conform", 1) as record:
            entity_tables = conform_entities(engine, self.run_id, loads)
            self.built.update(entity_tables)
            record.rows = sum(self._rows(t) for t in entity_tables.values())
            self.progress.advance()

        with self._stage("quality", 1) as record:
            results = assess_quality(engine, self.run_id, loads, spec.quality, self.as_of)
            for name, frame in (
                (QUALITY_SOURCES, results.sources),
                (QUALITY_FIELDS, results.fields),
            ):
                table = engine.materialize(engine.run_table(self.run_id, name), frame)
                self.built[name] = table_name(table)
            record.rows = len(results.fields)
            self.progress.advance()

        with self._stage("identity", None) as record:
            identity = resolve_identity(
                engine,
                self.run_id,
                entity_tables,
                spec.identity,
                previous_map=self._published(IDENTITY_MAP),
                previous_history=self._published(IDENTITY_HISTORY),
                progress=self.progress.advance,
            )
            self.built.update(identity.tables)
            record.rows = identity.records
            self.manifest.notes.extend(
                f"identity: {name} {detail}" for name, detail in identity.extra.items()
            )
            if identity.unresolved:
                self.manifest.notes.append(
                    f"identity: {identity.unresolved:,} of {identity.records:,} records carry "
                    "no usable identifier and have no customer_id"
                )

        with self._stage("rfm", 1) as record:
            if "orders" in entity_tables:
                bought = purchases(
                    engine.table(entity_tables["orders"]),
                    engine.table(identity.tables[IDENTITY_MAP]),
                    self.as_of,
                )
                rfm = engine.materialize(
                    engine.run_table(self.run_id, "rfm"),
                    rfm_table(bought, self.as_of, spec.rfm.bins),
                )
                self.built["rfm"] = table_name(rfm)
                record.rows = self._rows(table_name(rfm))
            self.progress.advance()

        with self._stage("profile", 1) as record:
            inputs = ProfileInputs(
                {name: engine.table(t) for name, t in entity_tables.items()},
                engine.table(identity.tables[IDENTITY_MAP]),
            )
            profiles = build_profiles(
                engine,
                self.run_id,
                inputs,
                self.as_of,
                spec,
                PreviousProfile(
                    state=self._published(PROFILE_STATE),
                    fingerprints=self._published(PROFILE_FINGERPRINTS),
                    meta=self._published_frame(PROFILE_META),
                ),
            )
            self.built.update(profiles.tables)
            record.rows = profiles.customers
            self.manifest.notes.append(
                f"profile: {profiles.mode} build, {profiles.recomputed:,} of "
                f"{profiles.customers:,} customers recomputed"
                + (f" ({profiles.reason})" if profiles.reason else "")
            )
            self.progress.advance()

        profile_table = engine.table(profiles.tables[PROFILES])
        plain_profile = profile_table
        scores: ir.Table | None = None
        model_versions: dict[str, str] = {}
        if spec.predict.enabled:
            from segmint.predict.columns import MODEL_REGISTRY
            from segmint.predict.stage import build_predictions

            with self._stage("predict", None) as record:
                predicted = build_predictions(
                    engine,
                    self.run_id,
                    inputs,
                    spec,
                    self.as_of,
                    self._published_frame(MODEL_REGISTRY),
                    profile=profile_table,
                    retrain=self.retrain,
                    progress=self.progress.advance,
                )
                self.built.update(predicted.tables)
                record.rows = predicted.scored
                self.manifest.notes.extend(predicted.notes)
                model_versions = predicted.versions
            scores = engine.table(predicted.tables[CUSTOMER_PREDICTIONS]).drop("run_id")
            profile_table = profile_table.left_join(scores, "customer_id").drop("customer_id_right")

        with self._stage("tags", 1) as record:
            tags = build_tags(
                engine,
                self.run_id,
                profile_table,
                spec,
                self.project.root,
                self.as_of,
                PreviousTags(
                    members=self._published(CUSTOMER_TAGS),
                    history=self._published(TAG_HISTORY),
                    catalog=self._published_frame(TAG_CATALOG),
                ),
                model_versions,
            )
            self.built.update(tags.tables)
            record.rows = tags.memberships
            self.progress.advance()

        with self._stage("segments", 4) as record:
            segments = build_segments(
                engine,
                self.run_id,
                plain_profile,
                scores,
                engine.table(tags.tables[CUSTOMER_TAGS]),
                [tag.name for tag in tags.tags],
                spec,
                self.as_of,
                PreviousSegments(
                    run_id=latest_run_id(engine),
                    members=self._published(SEGMENT_MEMBERS),
                    history=self._published(SEGMENT_MEMBERSHIP_HISTORY),
                    migration=self._published(SEGMENT_MIGRATION),
                    profiles=self._published(PROFILES),
                    predictions=self._published(CUSTOMER_PREDICTIONS),
                    clusters=self._published(CUSTOMER_CLUSTERS),
                ),
                progress=self.progress.advance,
            )
            self.built.update(segments.tables)
            record.rows = segments.memberships
            self.manifest.notes.extend(segments.notes)

    def _cleanup(self) -> None:
        """Drop this run's intermediate tables and every older run's tables."""
        keep = set(self.built.values())
        prefix = f"_r{self.run_id}__"
        for table in self.engine.list_tables():
            if table.startswith(prefix) and table not in keep:
                self.engine.drop(table)
        for run in self.engine.runs_with_tables():
            if run != self.run_id:
                self.engine.discard_run(run)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


ProgressFactory = Callable[[], ProgressSink]
