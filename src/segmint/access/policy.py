"""AccessPolicy: the one place that decides what a role may read.

Every read path (Python API, CLI export, identity explain, report, later the REST API) asks
the policy: `read` returns a filtered, masked Ibis expression (nothing is executed);
`mask_frame` applies the same rules to a small frame already computed from raw tables. Denied
reads raise AccessDeniedError; denied reads and reads that return PII are audited.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.access.audit import AuditDecision, AuditRecord, current_actor, now_utc, write_audit
from segmint.access.masking import mask_expr, mask_series
from segmint.access.sensitivity import RowRule, SensitivityCatalog
from segmint.access.settings import LEVELS, AccessSettings, Role, Sensitivity, did_you_mean, rank
from segmint.engine.engine import Engine
from segmint.errors import AccessDeniedError, ConfigError

if TYPE_CHECKING:
    from segmint.project.loader import LoadedProject


@dataclass(frozen=True)
class Decision:
    """What one role gets of one table: allowed or not, and what happens to each column."""

    table: str
    role: str
    allowed: bool
    reason: str = ""
    visible: tuple[str, ...] = ()  # returned as stored (PII in clear included)
    masked: tuple[str, ...] = ()  # PII, masked
    dropped: tuple[str, ...] = ()  # PII the role may not see, or above its level
    clear: tuple[str, ...] = ()  # PII returned as stored (also in visible)
    rows: RowRule | None = None  # rows above the role's level are filtered out


def project_catalog(project: LoadedProject) -> SensitivityCatalog:
    """The built-in catalogue plus what the project declares (its tags and traits)."""
    from segmint.predict.columns import (
        CUSTOMER_PREDICTIONS,
        MODEL_TABLES,
        prediction_sensitivity,
    )
    from segmint.tags.stage import catalogue
    from segmint.traits.catalog import trait_sensitivity

    catalog = SensitivityCatalog.builtin()
    traits = trait_sensitivity()
    for table in ("profiles", "profile_state"):
        catalog.register_table(table, traits, level="internal", default="internal")
    for table in ("profile_fingerprints", "profile_meta"):
        catalog.register_table(table, level="internal", default="internal")
    catalog.register_table(
        CUSTOMER_PREDICTIONS, prediction_sensitivity(), level="internal", default="internal"
    )
    for table in MODEL_TABLES:  # model cards, metrics and saved models: no customer rows
        catalog.register_table(table, level="internal", default="internal")
    from segmint.segments.queries import CLUSTER_EVALUATION
    from segmint.segments.stage import SEGMENT_TABLES

    for table in (
        *SEGMENT_TABLES,
        CLUSTER_EVALUATION,
    ):  # segment members, personas (masked member) and statistics
        catalog.register_table(table, level="internal", default="internal")
    levels = {tag.name: tag.sensitivity for tag in catalogue(project.spec)}
    for table in ("customer_tags", "tag_history"):
        catalog.register_table(table, level="internal", default="internal")
        catalog.register_rows(table, "tag", levels, default="sensitive")
    # the catalogue itself: anyone may read the definitions of the tags their level allows
    catalog.register_table("tag_catalog", level="public", default="public")
    catalog.register_rows("tag_catalog", "tag", levels, default="sensitive")
    return catalog


class AccessPolicy:
    """Roles and the sensitivity catalogue, bound to one warehouse and one actor."""

    def __init__(
        self,
        settings: AccessSettings,
        catalog: SensitivityCatalog,
        engine: Engine,
        actor: str | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.engine = engine
        self.actor = actor or current_actor()
        self._check_table_lists()

    @classmethod
    def for_project(
        cls, project: LoadedProject, engine: Engine, actor: str | None = None
    ) -> AccessPolicy:
        """The policy of a loaded project on its open engine."""
        return cls(project.spec.access, project_catalog(project), engine, actor)

    def _check_table_lists(self) -> None:
        known = sorted(set(self.catalog.tables()) | set(self.engine.published_tables()))
        for name, role in self.settings.roles.items():
            for key, tables in (("tables", role.tables or []), ("deny_tables", role.deny_tables)):
                for table in tables:
                    if table not in known:
                        hint = did_you_mean(table, known) or f"; tables: {', '.join(known)}"
                        raise ConfigError(
                            f"access.roles.{name}.{key}: unknown table {table!r}{hint}"
                        )

    def role(self, name: str | None) -> tuple[str, Role]:
        """The named role, or the project's default role for None (ConfigError if unknown)."""
        return self.settings.role(name)

    # -- deciding (pure) -----------------------------------------------------------------
    def table_decision(self, table: str, role: str | None) -> Decision:
        """Whether the role may read the table at all (its columns not considered)."""
        name, spec = self.role(role)
        level = self.catalog.table(table).level
        reason = ""
        if table.startswith(("_", "ibis_")):
            reason = "it is not a published table"
        elif table in spec.deny_tables:
            reason = "the role's deny_tables lists it"
        elif spec.tables is not None and table not in spec.tables:
            reason = "the role's tables list leaves it out"
        elif rank(level) > rank(spec.max_sensitivity):
            reason = f"the table is {level} and the role sees at most {spec.max_sensitivity}"
        return Decision(table, name, allowed=not reason, reason=reason)

    def decide(self, table: str, columns: Iterable[str], role: str | None) -> Decision:
        """What the role gets of these columns of the table."""
        decision = self.table_decision(table, role)
        if not decision.allowed:
            return decision
        spec = self.settings.roles[decision.role]
        columns = list(columns)
        visible: list[str] = []
        masked: list[str] = []
        dropped: list[str] = []
        for column in columns:
            level = self.catalog.column(table, column).level
            if level == "pii" and spec.pii == "mask":
                masked.append(column)
            elif level == "pii":
                (visible if spec.pii == "clear" else dropped).append(column)
            else:
                (visible if rank(level) <= rank(spec.max_sensitivity) else dropped).append(column)
        if columns and not visible and not masked:
            return Decision(table, decision.role, False, "the role sees none of its columns")
        rows = self.catalog.table(table).rows
        if rows is not None and columns and rows.column not in columns:  # fail closed
            reason = f"its rows carry their sensitivity in {rows.column!r}, which is missing"
            return Decision(table, decision.role, False, reason)
        return Decision(
            table,
            decision.role,
            True,
            visible=tuple(visible),
            masked=tuple(masked),
            dropped=tuple(dropped),
            clear=tuple(c for c in visible if self.catalog.column(table, c).level == "pii"),
            rows=rows if columns else None,
        )

    def allowed_levels(self, role: str | None) -> list[Sensitivity]:
        """The sensitivity levels the role sees."""
        _, spec = self.role(role)
        return [level for level in LEVELS if rank(level) <= rank(spec.max_sensitivity)]

    def readable(self, role: str | None) -> list[str]:
        """The published tables the role may read."""
        return [t for t in self.engine.published_tables() if self.table_decision(t, role).allowed]

    def overview(self, role: str | None) -> list[Decision]:
        """What the role gets of every described or published table (nothing is audited)."""
        published = set(self.engine.published_tables())
        decisions = []
        for table in sorted(set(self.catalog.tables()) | published):
            if table in published:
                columns = list(self.engine.table(table).columns)
            else:
                columns = list(self.catalog.table(table).columns)
            decisions.append(self.decide(table, columns, role))
        return decisions

    # -- reading -------------------------------------------------------------------------
    def authorize(self, table: str, role: str | None, *, action: str = "read") -> Decision:
        """Raise AccessDeniedError (and audit it) unless the role may read the table."""
        decision = self.table_decision(table, role)
        self._enforce(decision, action)
        return decision

    def read(
        self,
        table: str,
        role: str | None,
        *,
        action: str = "read",
        detail: str = "",
        columns: Sequence[str] | None = None,
    ) -> ir.Table:
        """The table as the role may see it: rows filtered, columns dropped or masked.

        `columns` limits the read (and what is decided and audited) to those columns;
        `action` and `detail` (e.g. the export's file) go to the audit log.
        """
        self.authorize(table, role, action=action)
        source = self.engine.table(table)
        wanted = list(source.columns) if columns is None else list(columns)
        unknown = [c for c in wanted if c not in source.columns]
        if unknown:
            raise ConfigError(f"table {table} has no column(s) {', '.join(unknown)}")
        decision = self.decide(table, wanted, role)
        self._enforce(decision, action)
        if decision.rows is not None:
            source = source.filter(self._row_predicate(source, decision))
        values: dict[str, ir.Value] = {}
        for column in wanted:
            if column in decision.masked:
                rule = self.catalog.column(table, column)
                kinds = source[rule.kind_column] if rule.kind_column in source.columns else None
                values[column] = mask_expr(rule.mask, source[column], kinds)
            elif column in decision.visible:
                values[column] = source[column]
        self.audit(action, table, [decision], detail)
        return source.select(**values)

    def mask_frame(
        self,
        table: str,
        frame: pd.DataFrame,
        role: str | None,
        *,
        action: str = "read",
        audit: bool = True,
    ) -> pd.DataFrame:
        """A frame computed from (and shaped like) `table`, as the role may see it."""
        decision = self.decide(table, [str(c) for c in frame.columns], role)
        self._enforce(decision, action)
        if decision.rows is not None:
            levels = frame[decision.rows.column].map(decision.rows.level_of)
            frame = frame[levels.isin(self.allowed_levels(decision.role))]
        out = frame[[c for c in frame.columns if c in decision.visible or c in decision.masked]]
        out = out.copy()
        for column in decision.masked:
            rule = self.catalog.column(table, column)
            kinds = frame[rule.kind_column] if rule.kind_column in frame.columns else None
            out[column] = mask_series(rule.mask, frame[column], kinds)
        if audit:
            self.audit(action, table, [decision])
        return out

    def _row_predicate(self, table: ir.Table, decision: Decision) -> ir.BooleanValue:
        rows = decision.rows
        assert rows is not None
        allowed = self.allowed_levels(decision.role)
        value = table[rows.column]
        if rows.levels is None:  # the column holds the level itself
            level = value.cast("string")
            return ibis.ifelse(
                level.isin(list(LEVELS)), level.isin(allowed), rows.default in allowed
            )
        shown = [v for v, level in rows.levels.items() if level in allowed]
        hidden = [v for v, level in rows.levels.items() if level not in allowed]
        if rows.default in allowed:  # all but the hidden values (nulls included)
            return ~value.isin(hidden).fill_null(False) if hidden else ibis.literal(True)
        return value.isin(shown).fill_null(False) if shown else ibis.literal(False)

    # -- auditing ------------------------------------------------------------------------
    def _enforce(self, decision: Decision, action: str) -> None:
        if decision.allowed:
            return
        self.record(action, decision.table, decision.role, "", "denied", decision.reason)
        raise AccessDeniedError(
            f"role {decision.role!r} may not read {decision.table!r}: {decision.reason} "
            "(see 'segmint access roles'; choose another role with --role)"
        )

    def audit(self, action: str, obj: str, decisions: list[Decision], detail: str = "") -> None:
        """Record a read that returned PII; a read without PII is not logged."""
        prefix = len(decisions) > 1
        masked = [f"{d.table}.{c}" if prefix else c for d in decisions for c in d.masked]
        clear = [f"{d.table}.{c}" if prefix else c for d in decisions for c in d.clear]
        if masked or clear:
            outcome: AuditDecision = "masked" if masked else "clear"
            self.record(action, obj, decisions[0].role, ",".join(masked + clear), outcome, detail)

    def record(
        self,
        action: str,
        obj: str,
        role: str,
        columns: str,
        decision: AuditDecision,
        detail: str = "",
    ) -> None:
        """Append one row to the audit log (unless access.audit is off)."""
        if self.settings.audit:
            write_audit(
                self.engine,
                [AuditRecord(now_utc(), self.actor, role, action, obj, columns, decision, detail)],
            )
