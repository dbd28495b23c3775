"""The `access:` section of `segmint.yml`: roles, what each may see, and the default role.

Backend-free configuration only; `segmint.access.policy` binds it to a catalogue and an engine.
"""

from __future__ import annotations

import difflib
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from segmint.errors import ConfigError

Sensitivity = Literal["public", "internal", "sensitive", "pii"]
#: Sensitivity levels, least sensitive first.
LEVELS: tuple[Sensitivity, ...] = ("public", "internal", "sensitive", "pii")
PiiAccess = Literal["clear", "mask", "deny"]


def rank(level: Sensitivity) -> int:
    """The position of a level in LEVELS (public = 0, pii = 3)."""
    return LEVELS.index(level)


def did_you_mean(name: str, choices: list[str]) -> str:
    """'; did you mean 'x'?' for the closest choice, or ''."""
    guess = difflib.get_close_matches(name, choices, n=1)
    return f"; did you mean {guess[0]!r}?" if guess else ""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Role(_Strict):
    """What one role may read."""

    description: str = Field("", description="What the role is for.")
    max_sensitivity: Sensitivity = Field(
        description="Most sensitive table, column or tag row the role sees: public, internal, "
        "sensitive or pii."
    )
    pii: PiiAccess = Field(
        "mask",
        description="PII columns: clear (as stored), mask (138****5678, z***@example.com) or "
        "deny (left out).",
    )
    tables: list[str] | None = Field(
        None, description="Only these published tables (default: every table its level allows)."
    )
    deny_tables: list[str] = Field(
        default_factory=list, description="Published tables the role may never read."
    )


def default_roles() -> dict[str, Role]:
    """The roles a project has when it declares none."""
    return {
        "admin": Role(
            description="Data owners: everything, PII in clear.",
            max_sensitivity="pii",
            pii="clear",
        ),
        "analyst": Role(
            description="Analysts: sensitive tags and traits, PII masked.",
            max_sensitivity="sensitive",
            pii="mask",
        ),
        "marketer": Role(
            description="Marketers: internal tables and tags, PII masked.",
            max_sensitivity="internal",
            pii="mask",
        ),
        "agency": Role(
            description="Outside agencies: public tables and columns only, no PII.",
            max_sensitivity="public",
            pii="deny",
        ),
    }


class AccessSettings(_Strict):
    """Access control: roles, the default role and the audit log."""

    roles: dict[str, Role] = Field(
        default_factory=default_roles,
        description="Role name -> what it may read. Giving roles replaces the built-in "
        "admin, analyst, marketer and agency.",
    )
    default_role: str = Field(
        "analyst", description="The role of a caller who names none (CLI --role, API role=)."
    )
    audit: bool = Field(
        True, description="Write every denied read and every PII read to access_audit."
    )

    @field_validator("roles")
    @classmethod
    def _role_names(cls, value: dict[str, Role]) -> dict[str, Role]:
        if not value:
            raise ValueError("declare at least one role")
        bad = [name for name in value if not re.fullmatch(r"[a-z][a-z0-9_]*", name)]
        if bad:
            raise ValueError(
                f"role name(s) {', '.join(map(repr, bad))} must be lower-case [a-z][a-z0-9_]*"
            )
        return value

    @model_validator(mode="after")
    def _default_role_exists(self) -> AccessSettings:
        if self.default_role not in self.roles:
            names = list(self.roles)
            raise ValueError(
                f"default_role {self.default_role!r} is not a role (roles: {', '.join(names)})"
                + did_you_mean(self.default_role, names)
            )
        return self

    def role(self, name: str | None) -> tuple[str, Role]:
        """The named role (the default role for None); ConfigError for an unknown name."""
        chosen = self.default_role if name is None else name
        if chosen not in self.roles:
            raise ConfigError(
                f"unknown role {chosen!r} (roles: {', '.join(self.roles)}, declared under "
                f"access.roles){did_you_mean(chosen, list(self.roles))}"
            )
        return chosen, self.roles[chosen]
