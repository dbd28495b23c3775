"""Segments: rule segments, clusters, personas, membership history and validation."""
