"""`segmint.Project`: the Python API, mirroring the CLI."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import ibis
import pandas as pd
import pyarrow.parquet as pq

from segmint.access.audit import AUDIT_COLUMNS
from segmint.access.policy import AccessPolicy, Decision
from segmint.access.sensitivity import ACCESS_AUDIT
from segmint.engine.connect import connect
from segmint.engine.engine import Engine
from segmint.errors import ConfigError, TableNotFoundError
from segmint.identity.evaluate import PairwiseScores, record_evaluation
from segmint.identity.explain import CustomerExplanation, explain_for_role
from segmint.ingest.quality import QualityResults, quarantine_summary
from segmint.pipeline.manifest import RUNS, latest_run_id
from segmint.pipeline.run import (
    QUALITY_FIELDS,
    QUALITY_SOURCES,
    QUARANTINE,
    PipelineRun,
    ProgressSink,
    RunManifest,
)
from segmint.project.loader import LoadedProject, load_project
from segmint.project.spec_predict import Retrain
from segmint.segments.queries import (
    authorize_rule_columns,
    count_project_segments,
    count_segment_rule,
    evaluate_clusters,
)
from segmint.segments.stage import SEGMENT_DEFINITIONS
from segmint.traits.refresh import PROFILES


class Project:
    """A loaded project file bound to its warehouse.

    Every read takes a `role` (default: the project's `access.default_role`) and goes through
    the access policy: tables the role may not read raise AccessDeniedError, PII is masked or
    left out as the role says, and the read is audited as `actor` (default: the OS user).

    >>> manifest = Project.load("segmint.yml").run()                      # doctest: +SKIP
    >>> Project.load("segmint.yml").table("rfm", role="marketer").head()  # doctest: +SKIP
    """

    def __init__(self, loaded: LoadedProject, actor: str | None = None) -> None:
        self.loaded = loaded
        self.actor = actor

    @classmethod
    def load(cls, path: str | Path, actor: str | None = None) -> Project:
        """Read and validate a project file; `actor` names the caller in the audit log."""
        return cls(load_project(path), actor=actor)

    @property
    def name(self) -> str:
        """The project's name."""
        return self.loaded.spec.name

    def default_report_path(self) -> Path:
        """Where the HTML report goes unless told otherwise."""
        return self.loaded.resolve(self.loaded.spec.report.path)

    @contextmanager
    def engine(self) -> Iterator[Engine]:
        """The project's warehouse, opened for the duration of the block."""
        engine = connect(self.loaded)
        try:
            yield engine
        finally:
            engine.close()

    @contextmanager
    def access(self) -> Iterator[AccessPolicy]:
        """The access policy on the project's warehouse, open for the duration of the block."""
        with self.engine() as engine:
            yield AccessPolicy.for_project(self.loaded, engine, self.actor)

    def run(
        self,
        as_of: dt.datetime | None = None,
        report: Path | bool = True,
        progress: ProgressSink | None = None,
        role: str | None = None,
        retrain: Retrain | None = None,
    ) -> RunManifest:
        """Run the pipeline; write the HTML report (to the project's path, or `report`) as
        `role` may see the data (default: the project's default role).

        `retrain` overrides the project's `predict.retrain` for this run ("always" retrains
        the churn and repurchase models).
        """
        report_path = self.default_report_path() if report is True else (report or None)
        self.loaded.spec.access.role(role)  # an unknown role fails before any work is done
        with self.engine() as engine:
            run = PipelineRun(self.loaded, engine, as_of=as_of, progress=progress, retrain=retrain)
            return run.execute(
                report_path=report_path if report_path else None,
                report_role=role,
                actor=self.actor,
            )

    def table(self, name: str, limit: int | None = None, role: str | None = None) -> pd.DataFrame:
        """A published table as pandas, as `role` may see it (use `limit` for big ones)."""
        with self.access() as policy:
            expr = policy.read(name, role)
            return policy.engine.to_pandas(expr.limit(limit) if limit else expr)

    def tables(self, role: str | None = None) -> list[str]:
        """The names of the published tables `role` may read."""
        with self.access() as policy:
            return policy.readable(role)

    def quality(
        self, top: int = 10, role: str | None = None
    ) -> tuple[QualityResults, pd.DataFrame]:
        """The latest quality results and the `top` most common quarantine reasons."""
        with self.access() as policy:
            results = QualityResults(
                sources=policy.engine.to_pandas(policy.read(QUALITY_SOURCES, role)),
                fields=policy.engine.to_pandas(policy.read(QUALITY_FIELDS, role)),
            )
            policy.authorize(QUARANTINE, role)
            summary = quarantine_summary(policy.engine, QUARANTINE, top=top)
            return results, policy.mask_frame(QUARANTINE, summary, role)

    def last_run(self, role: str | None = None) -> pd.DataFrame:
        """The run log, newest first."""
        with self.access() as policy:
            runs = policy.read(RUNS, role)
            return policy.engine.to_pandas(runs.order_by(runs.started_at.desc()))

    def export(
        self, name: str, fmt: Literal["csv", "parquet"], out: Path, role: str | None = None
    ) -> int:
        """Write a published table, as `role` may see it, to CSV or Parquet; returns its rows."""
        if fmt not in ("csv", "parquet"):
            raise ConfigError(f"unknown export format {fmt!r}; use csv or parquet")
        with self.access() as policy:
            expr = policy.read(name, role, action="export", detail=f"{fmt}: {out}")
            arrow = policy.engine.to_pyarrow(expr)
        out.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "parquet":
            pq.write_table(arrow, out)
        else:
            arrow.to_pandas().to_csv(out, index=False, encoding="utf-8")
        return int(arrow.num_rows)

    def explain(
        self, customer_id: str, sample: int = 20, role: str | None = None
    ) -> CustomerExplanation:
        """The records, identifiers and match evidence behind one customer, masked for `role`."""
        with self.access() as policy:
            return explain_for_role(policy, customer_id, role, sample=sample)

    def tag_catalog(self, role: str | None = None) -> pd.DataFrame:
        """The tags `role` may see, with coverage and this run's gains and losses."""
        with self.access() as policy:
            catalog = policy.read("tag_catalog", role)
            return policy.engine.to_pandas(catalog.order_by("type", "tag"))

    def tag_changes(
        self,
        tag: str,
        since: dt.datetime,
        change: Literal["gained", "lost"] = "gained",
        role: str | None = None,
    ) -> pd.DataFrame:
        """Customers who gained (or lost) `tag` at or after `since`: "who became X this week"."""
        with self.access() as policy:
            catalog = policy.engine.to_pandas(policy.read("tag_catalog", role).select("tag"))
            if tag not in set(catalog["tag"]):
                known = sorted(catalog["tag"])
                close = difflib.get_close_matches(tag, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(f"unknown tag {tag!r}{hint}; see `segmint tags list`")
            history = policy.read("tag_history", role, detail=f"tag {tag} {change} since {since}")
            column = history.valid_from if change == "gained" else history.valid_to
            rows = history.filter((history.tag == tag) & (column >= ibis.literal(since)))
            return policy.engine.to_pandas(rows.order_by(column.desc(), "customer_id"))

    def customer(self, customer_id: str, role: str | None = None) -> tuple[pd.Series, list[str]]:
        """One customer's profile and current tags, as `role` may see them."""
        with self.access() as policy:
            profiles = policy.read("profiles", role, detail=f"customer {customer_id}")
            row = policy.engine.to_pandas(profiles.filter(profiles.customer_id == customer_id))
            if row.empty:
                raise TableNotFoundError(f"no profile for customer {customer_id!r}")
            tags = policy.read("customer_tags", role, detail=f"customer {customer_id}")
            held = policy.engine.to_pandas(
                tags.filter(tags.customer_id == customer_id).select("tag").order_by("tag")
            )
            return row.iloc[0], list(held["tag"])

    def access_overview(self) -> dict[str, list[Decision]]:
        """Per role: what it gets of every described or published table."""
        with self.access() as policy:
            return {name: policy.overview(name) for name in policy.settings.roles}

    def audit_log(self, limit: int | None = 100, role: str | None = None) -> pd.DataFrame:
        """The access audit log, newest first (reading it needs a role that sees pii)."""
        with self.access() as policy:
            policy.authorize(ACCESS_AUDIT, role)
            if not policy.engine.exists(ACCESS_AUDIT):
                return pd.DataFrame(columns=list(AUDIT_COLUMNS))
            log = policy.read(ACCESS_AUDIT, role)
            log = log.order_by(ibis.desc("at"))
            return policy.engine.to_pandas(log.limit(limit) if limit else log)

    def report(
        self,
        path: Path | None = None,
        lang: Literal["en", "zh"] | None = None,
        role: str | None = None,
    ) -> Path:
        """Write the HTML report of the latest published build (no pipeline run)."""
        from segmint.pipeline.report_data import build_report_data
        from segmint.report import write_report

        target = path or self.default_report_path()
        with self.engine() as engine:
            if not engine.exists(RUNS):
                raise TableNotFoundError("no run yet; run the pipeline first")
            data = build_report_data(
                engine, self.loaded, lang or self.loaded.spec.report.lang, role, self.actor
            )
            return write_report(data, target)

    def segments(self, role: str | None = None) -> pd.DataFrame:
        """The rule segments of the last run: rule, descriptions and member counts."""
        return self.table(SEGMENT_DEFINITIONS, role=role)

    def count_segment(
        self, rule: str | None = None, as_of: dt.datetime | None = None, role: str | None = None
    ) -> dict[str, int]:
        """Live counts over the last published profiles: of an ad-hoc `rule` (key ``rule``),
        or of every rule segment in the project file as it is now (edits included)."""
        when = as_of or self.loaded.spec.as_of or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        with self.access() as policy:
            policy.authorize(PROFILES, role)
            texts = (
                [rule] if rule is not None else [r.rule for r in self.loaded.spec.segments.rules]
            )
            authorize_rule_columns(policy, self.loaded.spec, texts, role)
            if rule is not None:
                return {"rule": count_segment_rule(policy.engine, self.loaded.spec, rule, when)}
            return count_project_segments(policy.engine, self.loaded.spec, when)

    def evaluate_clusters(self, truth: Path) -> pd.DataFrame:
        """ARI / NMI of the published clusters against planted personas (generated data);
        also logged in `cluster_evaluation` for the report."""
        with self.engine() as engine:
            run_id = latest_run_id(engine)
            if run_id is None:
                raise TableNotFoundError("no successful run yet; run the pipeline first")
            return evaluate_clusters(engine, truth, run_id)

    def evaluate_identity(self, truth: Path) -> tuple[PairwiseScores, dict[str, PairwiseScores]]:
        """Pairwise precision / recall of the published identity map against ground truth.

        The scores are also logged in `identity_evaluation` for the report.
        """
        with self.engine() as engine:
            run_id = latest_run_id(engine)
            if run_id is None:
                raise TableNotFoundError("no successful run yet; run the pipeline first")
            return record_evaluation(engine, truth, run_id)
