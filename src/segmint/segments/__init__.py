"""Segments: rule segments, clusters, personas, membership history and validation."""

from segmint.segments.cluster import ClusteringError, ClusterModel
from segmint.segments.cluster_assign import assign_clusters
from segmint.segments.cluster_build import ClusteringResult, build_clustering
from segmint.segments.personas import PersonaCard, persona_cards

__all__ = [
    "ClusterModel",
    "ClusteringError",
    "ClusteringResult",
    "PersonaCard",
    "assign_clusters",
    "build_clustering",
    "persona_cards",
]
