"""The inputs of a model from a warehouse: the published entity tables and identity map."""

from __future__ import annotations

from segmint.engine.engine import Engine
from segmint.identity.resolve import IDENTITY_MAP
from segmint.project.entities import ENTITIES
from segmint.traits.profile import ProfileInputs


def published_inputs(engine: Engine) -> ProfileInputs:
    """ProfileInputs over the last run's published entity tables and identity map."""
    entities = {name: engine.table(name) for name in ENTITIES if engine.exists(name)}
    return ProfileInputs(entities, engine.table(IDENTITY_MAP))
