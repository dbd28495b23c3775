"""Synthetic retail company: multi-source messy data, a project file and ground truth.

`generate_company` is the public entry point; the modules below it each do one job
(persons, orders, events, service, marketing, bad-row planting, writing).
"""

from __future__ import annotations

from segmint.generate.company import GeneratedCompany, generate_company

__all__ = ["GeneratedCompany", "generate_company"]
