"""segmint: warehouse-native customer segmentation and precision marketing.

The public API is a thin layer of re-exports; the work lives in the stage packages.
"""

from segmint.errors import (
    AccessDeniedError,
    BackendCapabilityError,
    ConfigError,
    DataQualityError,
    IdentityError,
    SegmintError,
    SourceReadError,
    StageError,
    TableNotFoundError,
    TagRuleError,
)
from segmint.pipeline.project import Project
from segmint.pipeline.run import RunManifest

__version__ = "0.1.0"

__all__ = [
    "AccessDeniedError",
    "BackendCapabilityError",
    "ConfigError",
    "DataQualityError",
    "IdentityError",
    "Project",
    "RunManifest",
    "SegmintError",
    "SourceReadError",
    "StageError",
    "TableNotFoundError",
    "TagRuleError",
    "__version__",
]
