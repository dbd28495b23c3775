"""One exception tree: every error segmint raises on purpose is a SegmintError.

Messages say the thing, the value, what is allowed and the fix. The CLI prints them as one
red line and exits non-zero; a traceback appears only with --debug.
"""

from __future__ import annotations


class SegmintError(Exception):
    """Base class of every error segmint raises on purpose."""

    exit_code = 1


class ConfigError(SegmintError):
    """The project file (or a CLI argument) is invalid."""

    exit_code = 2


class SourceReadError(SegmintError):
    """A source file cannot be read at all (missing, wrong encoding, not the declared format)."""


class DataQualityError(SegmintError):
    """Data broke an invariant that must hold (e.g. row conservation)."""


class IdentityError(SegmintError):
    """Identity resolution could not complete."""


class BackendCapabilityError(SegmintError):
    """The configured engine cannot do what was asked."""


class StageError(SegmintError):
    """A pipeline stage failed; the previously published tables are untouched."""


class TableNotFoundError(SegmintError):
    """A published table was asked for that does not exist."""


class AccessDeniedError(SegmintError):
    """The caller's role may not read what it asked for (see `segmint access roles`)."""

    exit_code = 3


class ModelError(SegmintError):
    """A model cannot be fitted, trained, saved, loaded or used as asked."""


class TagRuleError(ConfigError):
    """A tag's rule cannot be parsed or type-checked; the message names the tag and position."""
