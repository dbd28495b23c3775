"""The audit log: one row per denied read and per read that returned PII (clear or masked).

`access_audit` is an append-only warehouse table like `runs`: it is not run-scoped, so
publishing or discarding a run never touches it.
"""

from __future__ import annotations

import datetime as dt
import getpass
from dataclasses import asdict, dataclass
from typing import Literal

import pandas as pd

from segmint.access.sensitivity import ACCESS_AUDIT
from segmint.engine.engine import Engine

AuditDecision = Literal["denied", "clear", "masked"]
AUDIT_COLUMNS = ("at", "actor", "role", "action", "object", "columns", "decision", "detail")


@dataclass(frozen=True)
class AuditRecord:
    """One audited read: who, as which role, did what to which object, and the outcome."""

    at: dt.datetime  # UTC, naive like every other timestamp in the warehouse
    actor: str
    role: str
    action: str  # read, export, explain …
    object: str  # a table, or customer:<id> for explain
    columns: str  # comma-separated PII columns returned
    decision: AuditDecision
    detail: str


def current_actor() -> str:
    """The operating-system user, the actor when none is given."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return "unknown"


def now_utc() -> dt.datetime:
    """The current UTC time, naive, to the millisecond."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def write_audit(engine: Engine, records: list[AuditRecord]) -> None:
    """Append records to access_audit (created on first use)."""
    if records:
        frame = pd.DataFrame([asdict(r) for r in records], columns=list(AUDIT_COLUMNS))
        frame["at"] = pd.to_datetime(frame["at"])
        engine.append(ACCESS_AUDIT, frame)
