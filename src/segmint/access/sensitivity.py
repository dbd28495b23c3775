"""The sensitivity catalogue: how sensitive each published table, column and tag row is.

Sources of truth, in order: explicit registrations (`register_table`, `register_rows`), the
canonical entities (identifier columns, `name` and `birth_date` are PII), PII column names
anywhere (`phone`, `email_l` …), then the table's default (`internal`). A table nobody
registered needs `sensitive` to be read at all, so a new table is closed until it is
described here.

Table names are spelled out rather than imported from the stages so this module stays
importable from the project spec; a test checks they match the stages' constants.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from segmint.access.masking import MaskKind
from segmint.access.settings import LEVELS, Sensitivity
from segmint.project.entities import ENTITIES, ColumnType

UNKNOWN_TABLE: Sensitivity = "sensitive"
ACCESS_AUDIT = "access_audit"
_SUFFIXES = ("_l", "_r")  # the two sides of a compared pair (identity_review)


def _entity_pii() -> dict[str, MaskKind]:
    kinds: dict[str, MaskKind] = {"name": "name", "birth_date": "birth_date"}
    for entity in ENTITIES.values():
        for column in entity.columns:
            if column.identifier:
                by_type: dict[ColumnType, MaskKind] = {
                    ColumnType.PHONE: "phone",
                    ColumnType.EMAIL: "email",
                }
                kinds[column.name] = by_type.get(column.type, "id")
    return kinds


#: Column names that hold personal data wherever they appear, and how each is masked.
PII_COLUMNS: dict[str, MaskKind] = _entity_pii()


@dataclass(frozen=True)
class ColumnRule:
    """A column's sensitivity; `mask` and `kind_column` matter only for PII."""

    level: Sensitivity
    mask: MaskKind = "redact"
    kind_column: str | None = None  # by_id_type: the column naming each row's identifier type


@dataclass(frozen=True)
class RowRule:
    """Rows of a long table (one tag per row) carry their own sensitivity.

    `levels` maps values of `column` to a level; without it the column holds the level
    itself. Values not mapped (and nulls) get `default`.
    """

    column: str
    levels: Mapping[str, Sensitivity] | None = None
    default: Sensitivity = "internal"

    def level_of(self, value: object) -> Sensitivity:
        """The sensitivity of a row whose `column` holds `value`."""
        if not isinstance(value, str):
            return self.default
        if self.levels is None:
            return next((level for level in LEVELS if level == value), self.default)
        return self.levels.get(value, self.default)


@dataclass(frozen=True)
class TableRule:
    """A table's own level (needed to read it at all), its columns and its rows."""

    level: Sensitivity = "internal"
    columns: Mapping[str, ColumnRule] = field(default_factory=dict)
    default: Sensitivity = "internal"
    rows: RowRule | None = None


def _pii_kind(column: str) -> MaskKind | None:
    """How a column is masked if its name (or its name without _l/_r) is a PII name."""
    if column in PII_COLUMNS:
        return PII_COLUMNS[column]
    for suffix in _SUFFIXES:
        if column.endswith(suffix) and column.removesuffix(suffix) in PII_COLUMNS:
            return PII_COLUMNS[column.removesuffix(suffix)]
    return None


def pii(column: str, mask: MaskKind | None = None, kind_column: str | None = None) -> ColumnRule:
    """A PII column rule, masked by `mask` or as its name suggests (else redacted)."""
    return ColumnRule("pii", mask or _pii_kind(column) or "redact", kind_column)


class SensitivityCatalog:
    """Tables → column and row sensitivities. Start from `builtin()`, then register more."""

    def __init__(self) -> None:
        self._tables: dict[str, TableRule] = {}

    def register_table(
        self,
        table: str,
        columns: Mapping[str, Sensitivity | ColumnRule] | None = None,
        *,
        level: Sensitivity | None = None,
        default: Sensitivity | None = None,
    ) -> None:
        """Describe (or extend) a table: its columns, its own level, its columns' default.

        A column given only as "pii" is masked as its name suggests (`phone`, `email`, …) or
        redacted to ****.
        """
        current = self._tables.get(table, TableRule())
        merged = dict(current.columns)
        for name, rule in (columns or {}).items():
            if isinstance(rule, ColumnRule):
                merged[name] = rule
            else:
                merged[name] = pii(name) if rule == "pii" else ColumnRule(rule)
        self._tables[table] = replace(
            current,
            columns=merged,
            level=level or current.level,
            default=default or current.default,
        )

    def register_rows(
        self,
        table: str,
        column: str = "tag",
        levels: Mapping[str, Sensitivity] | None = None,
        *,
        default: Sensitivity = "internal",
    ) -> None:
        """Rows of `table` take the level of their `column` value (e.g. tag name → level)."""
        current = self._tables.get(table, TableRule())
        rows = RowRule(column, dict(levels) if levels is not None else None, default)
        self._tables[table] = replace(current, rows=rows)

    def tables(self) -> list[str]:
        """Every table the catalogue describes."""
        return sorted(self._tables)

    def table(self, name: str) -> TableRule:
        """The rule of a table; an undescribed table needs UNKNOWN_TABLE to be read."""
        return self._tables.get(name, TableRule(level=UNKNOWN_TABLE))

    def column(self, table: str, column: str) -> ColumnRule:
        """A column's rule: registered, else PII by name, else the table's default."""
        rule = self.table(table)
        if column in rule.columns:
            return rule.columns[column]
        kind = _pii_kind(column)
        return ColumnRule("pii", kind) if kind else ColumnRule(rule.default)

    @classmethod
    def builtin(cls) -> SensitivityCatalog:
        """Every table the pipeline publishes today."""
        catalog = cls()
        for entity in ENTITIES.values():
            catalog.register_table(
                entity.name, {c: "pii" for c in entity.columns_by_name if c in PII_COLUMNS}
            )
        # Special categories, as in the profile's traits: not PII, but not for everyone.
        catalog.register_table(
            "customers",
            {
                c: "sensitive"
                for c in ("gender", "occupation", "income_band")
                if c in ENTITIES["customers"].columns_by_name
            },
        )
        for name in (
            "identity_map",
            "identity_history",
            "identity_splits",
            "identity_links",
            "identity_model",
            "identity_evaluation",
            "quality_sources",
            "quality_fields",
            "run_stages",
            "run_sources",
        ):
            catalog.register_table(name, level="internal")
        catalog.register_table(
            "identity_hubs", {"id_value": pii("id_value", "by_id_type", kind_column="id_type")}
        )
        compared = ("name", "birth_date", "phone", "email")
        catalog.register_table(
            "identity_review",
            {f"{c}{side}": "pii" for c in compared for side in _SUFFIXES},
            level="sensitive",
        )
        catalog.register_table(
            "quarantine",
            {
                "raw": pii("raw", "redact"),
                "example_raw": pii("example_raw", "redact"),  # quarantine_summary's example
                "message": pii("message", "message"),
            },
        )
        catalog.register_table("runs", {"error": "sensitive"})  # free text, may quote values
        catalog.register_table(
            "rfm",
            dict.fromkeys(
                ("customer_id", "r_score", "f_score", "m_score", "rfm_cell", "segment"), "public"
            ),
            level="public",
        )
        catalog.register_table(ACCESS_AUDIT, {"actor": pii("actor", "redact")}, level="pii")
        return catalog
