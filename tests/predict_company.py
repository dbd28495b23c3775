"""A generated company ready for the churn and repurchase tests (shared helper).

The pipeline's own predict stage is switched off (the tests train the models themselves,
once) and so is probabilistic identity matching (tested elsewhere; it only costs time here).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from segmint import Project
from segmint.generate import generate_company


def build_company(out: Path, customers: int, seed: int) -> tuple[Project, dt.datetime]:
    """Generate `customers` persons into `out`, run the pipeline; (project, as-of time)."""
    generated = generate_company(out, customers=customers, seed=seed)
    doc = yaml.safe_load(generated.project_file.read_text(encoding="utf-8"))
    doc["predict"] = {"enabled": False}
    doc["clustering"] = {"enabled": False}
    doc.setdefault("identity", {})["probabilistic"] = {"enabled": False}
    generated.project_file.write_text(
        yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    project = Project.load(generated.project_file)
    project.run(as_of=generated.as_of, report=False)
    return project, generated.as_of
