"""Access control: roles, sensitivities, PII masking and the audit log (one chokepoint).

Every read path asks `AccessPolicy`; see docs/access-control.md.
"""

from segmint.access.audit import AUDIT_COLUMNS, AuditRecord
from segmint.access.masking import MaskKind, mask_expr, mask_series, mask_value
from segmint.access.policy import AccessPolicy, Decision, project_catalog
from segmint.access.sensitivity import (
    ACCESS_AUDIT,
    ColumnRule,
    RowRule,
    SensitivityCatalog,
    TableRule,
)
from segmint.access.settings import LEVELS, AccessSettings, Role, Sensitivity

__all__ = [
    "ACCESS_AUDIT",
    "AUDIT_COLUMNS",
    "LEVELS",
    "AccessPolicy",
    "AccessSettings",
    "AuditRecord",
    "ColumnRule",
    "Decision",
    "MaskKind",
    "Role",
    "RowRule",
    "Sensitivity",
    "SensitivityCatalog",
    "TableRule",
    "mask_expr",
    "mask_series",
    "mask_value",
    "project_catalog",
]
