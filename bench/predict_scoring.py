"""Benchmark: scoring 1,000,000 customers with a trained churn / repurchase model.

    .venv/bin/python bench/predict_scoring.py                 # train at 20k, score 1M rows
    .venv/bin/python bench/predict_scoring.py --customers 5000 --rows 200000

1. A company of `--customers` persons is generated (`segmint generate`) into
   `bench/data/predict-N/` (reused when present) and run through segmint's pipeline with the
   predict stage off; then `train_target` trains the repurchase and the churn model on it
   (timed: this is the training time at that size).
2. The feature rows at the as-of time (`point_in_time_features`, ~0.85 N customers with a
   purchase) are **bootstrap-resampled** to `--rows` rows (seeded). Scoring cost depends on
   rows × trees × features, not on whether rows repeat, so this stands in for a 1M-customer
   profile (building a real one takes the 1M bench company through the whole pipeline).
3. Each measurement runs in a fresh process: `score_customers` with and without reasons, on
   the 1M rows. Reported: wall seconds of the call, the process's resident memory before
   the call (model + the 1M-row frame) and its peak during the call (the kernel's high-water
   mark `VmHWM`, reset just before the call through /proc/self/clear_refs; `ru_maxrss`
   would not do: Linux carries it over from the parent across exec).

`--reuse` skips step 1 when the models and features of an earlier run are in the work folder.

Results: `bench/results/<rows>/predict_scoring.json`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from common import cpu_seconds_self, machine_busy_seconds, memory_total_mb, rss_mb, write_json

BENCH = Path(__file__).resolve().parent
TARGETS = ("repurchase", "churn")
RUN_ID = "predictbench"


def _mb(kib: float) -> float:
    return round(kib / 1024, 1)


def prepare(customers: int, seed: int, work: Path) -> dict[str, Any]:
    """Generate and run the company once; train both models; save models and features."""
    import os

    from segmint import Project
    from segmint.generate import generate_company
    from segmint.predict.ml import FeatureFrames, published_inputs, train_target

    data = BENCH / "data" / f"predict-{customers}"
    project_file = data / "segmint.yml"
    if not (data / "warehouse.duckdb").exists():
        print(f"data: generating {customers:,} customers into {data} ...", flush=True)
        generated = generate_company(data, customers=customers, seed=seed)
        doc = yaml.safe_load(project_file.read_text(encoding="utf-8"))
        doc["predict"] = {"enabled": False}  # the bench trains itself, once
        project_file.write_text(
            yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        start = time.perf_counter()
        Project.load(project_file).run(as_of=generated.as_of, report=False)
        print(f"data: pipeline ran in {time.perf_counter() - start:.0f}s", flush=True)
    project = Project.load(project_file)
    spec = project.loaded.spec
    as_of = spec.as_of
    assert as_of is not None
    as_of = as_of.replace(tzinfo=None)
    training: dict[str, Any] = {}
    work.mkdir(parents=True, exist_ok=True)
    with project.engine() as engine:
        inputs = published_inputs(engine)
        frames = FeatureFrames(engine, RUN_ID, inputs, spec)
        for target in TARGETS:
            start, cpu = time.perf_counter(), cpu_seconds_self()
            model = train_target(
                engine, RUN_ID, inputs, spec, as_of, target, frames=frames, progress=print
            )
            training[target] = {
                "seconds": round(time.perf_counter() - start, 2),
                "cpu_s": round(cpu_seconds_self() - cpu, 2),
                "version": model.version,
                "rounds": model.rounds,
                "features": len(model.features),
                "calibration": model.calibration_method,
                "metrics": model.metrics,
                "winners": model.winners,
                "windows": {
                    k: {"customers": v["customers"], "base_rate": v["base_rate"]}
                    for k, v in model.windows.items()
                },
            }
            (work / f"{target}.json").write_text(model.to_json(), encoding="utf-8")
        start = time.perf_counter()
        features, _, _ = frames.get(as_of)
        training["features_at_as_of_s"] = round(time.perf_counter() - start, 2)
        engine.discard_run(RUN_ID)
    features.to_parquet(work / "features.parquet", index=False)
    return {
        "customers": customers,
        "seed": seed,
        "as_of": as_of,
        "feature_rows": len(features),
        "threads": os.cpu_count(),
        "training": training,
    }


def worker(work: Path, target: str, rows: int, reasons: bool, seed: int) -> dict[str, Any]:
    """Score `rows` bootstrap-resampled feature rows once; time and memory of the call."""
    import numpy as np
    import pandas as pd

    from segmint.predict.ml import TrainedModel, score_customers

    model = TrainedModel.from_json((work / f"{target}.json").read_text(encoding="utf-8"))
    base = pd.read_parquet(work / "features.parquet")
    pick = np.random.default_rng(seed).integers(0, len(base), rows)
    frame = base.iloc[pick].reset_index(drop=True)
    frame["customer_id"] = [f"B{i:09d}" for i in range(rows)]
    model.booster  # noqa: B018 - load the booster before timing
    reset = reset_peak()
    before = rss_mb_self()
    start, cpu = time.perf_counter(), cpu_seconds_self()
    scores = score_customers(model, frame, reasons=reasons)
    seconds = time.perf_counter() - start
    peak = peak_mb_self()
    return {
        "target": target,
        "rows": rows,
        "reasons": reasons,
        "seconds": round(seconds, 2),
        "cpu_s": round(cpu_seconds_self() - cpu, 2),
        "rows_per_s": round(rows / seconds),
        "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(peak, 1),
        "peak_reset": reset,
        "trees": model.booster.num_trees(),
        "features": len(model.features),
        "mean_probability": float(scores["probability"].mean()),
        "example_reasons": None if not reasons else str(scores["reasons"].iloc[0]),
    }


def rss_mb_self() -> float:
    """This process's resident memory now, in MB."""
    import os

    return rss_mb(os.getpid())


def reset_peak() -> bool:
    """Reset this process's peak resident memory (VmHWM) to its current value."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_mb_self() -> float:
    """This process's peak resident memory (VmHWM) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return _mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def spawn(work: Path, target: str, rows: int, reasons: bool, seed: int) -> dict[str, Any]:
    """Run one measurement in a fresh process and read its result."""
    out = work / f"score-{target}-{'reasons' if reasons else 'plain'}.json"
    busy = machine_busy_seconds()
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            target,
            "--rows",
            str(rows),
            "--seed",
            str(seed),
            "--work",
            str(work),
            *(["--reasons"] if reasons else []),
        ],
        check=True,
    )
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["process_s"] = round(time.perf_counter() - start, 2)
    result["machine_busy_s"] = round(machine_busy_seconds() - busy, 1)
    return result


def main() -> None:
    """Parse options, prepare once, measure each (target, reasons) in its own process."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--worker", choices=TARGETS, default=None)
    parser.add_argument("--reasons", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="keep the trained models")
    args = parser.parse_args()
    work = args.work or BENCH / "data" / f"predict-{args.customers}" / "work"
    if args.worker:
        result = worker(work, args.worker, args.rows, args.reasons, args.seed)
        tag = "reasons" if args.reasons else "plain"
        write_json(work / f"score-{args.worker}-{tag}.json", result)
        return
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    saved = work / "prepared.json"
    if args.reuse and saved.exists():
        prepared = json.loads(saved.read_text(encoding="utf-8"))
    else:
        prepared = prepare(args.customers, args.seed, work)
        write_json(saved, prepared)
    runs = [
        spawn(work, target, args.rows, reasons, args.seed)
        for target in TARGETS
        for reasons in (False, True)
    ]
    summary = {
        "benchmark": "predict_scoring",
        "started_at": started,
        "memory_total_mb": round(memory_total_mb()),
        "rows_note": "feature rows bootstrap-resampled from the trained company's rows at "
        "its as-of time; scoring cost depends on rows, trees and features",
        **prepared,
        "scoring": runs,
    }
    write_json(BENCH / "results" / str(args.rows) / "predict_scoring.json", summary)
    print()
    for target, facts in prepared["training"].items():
        if isinstance(facts, dict):
            print(f"train {target:10s} {facts['seconds']:7.1f} s  ({facts['rounds']} rounds)")
    header = ("target", "reasons", "seconds", "rows/s", "rss MB", "peak MB")
    print("{:10s} {:8s} {:>8s} {:>10s} {:>8s} {:>8s}".format(*header))
    for run in runs:
        print(
            f"{run['target']:10s} {run['reasons']!s:8s} {run['seconds']:8.2f} "
            f"{run['rows_per_s']:10,d} {run['rss_before_mb']:8.0f} {run['peak_rss_mb']:8.0f}"
        )


if __name__ == "__main__":
    main()
