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
import os
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
REASONS = ("none", "all", "top")
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
        doc["clustering"] = {"enabled": False}
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


def worker(
    work: Path, target: str, rows: int, reasons: str, seed: int, jitter: bool
) -> dict[str, Any]:
    """Score `rows` bootstrap-resampled feature rows once; time and memory of the call.
    `reasons`: "none", "all" or "top" (the highest-scored 10 %)."""
    import numpy as np
    import pandas as pd

    from segmint.predict.ml import TrainedModel, score_customers

    model = TrainedModel.from_json((work / f"{target}.json").read_text(encoding="utf-8"))
    base = pd.read_parquet(work / "features.parquet")
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(base), rows)
    frame = base.iloc[pick].reset_index(drop=True)
    if jitter:
        # every resampled row made distinct: numeric features × e^N(0, 0.05²)
        for spec in model.schema.specs:
            column = frame[spec.name]
            if spec.kind == "numeric" and pd.api.types.is_numeric_dtype(column):
                values = (
                    pd.to_numeric(column).astype("Float64").to_numpy(np.float64, na_value=np.nan)
                )
                frame[spec.name] = values * np.exp(rng.normal(0.0, 0.05, rows))
    frame["customer_id"] = [f"B{i:09d}" for i in range(rows)]
    model.booster  # noqa: B018 - load the booster before timing
    if reasons != "none":
        model.shap_trees  # noqa: B018 - parse the trees before timing (once per model)
    reset = reset_peak()
    before = rss_mb_self()
    start, cpu = time.perf_counter(), cpu_seconds_self()
    scores = score_customers(
        model, frame, reasons=reasons != "none", reasons_for="top" if reasons == "top" else "all"
    )
    seconds = time.perf_counter() - start
    peak = peak_mb_self()
    explained = int(scores["reasons"].notna().sum())
    return {
        "target": target,
        "rows": rows,
        "reasons": reasons,
        "explained_rows": explained,
        "jitter": jitter,
        "distinct_feature_rows": len(frame.drop(columns="customer_id").drop_duplicates())
        if rows <= 200_000
        else None,
        "seconds": round(seconds, 2),
        "cpu_s": round(cpu_seconds_self() - cpu, 2),
        "rows_per_s": round(rows / seconds),
        "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(peak, 1),
        "peak_reset": reset,
        "trees": model.booster.num_trees(),
        "features": len(model.features),
        "mean_probability": float(scores["probability"].mean()),
        "example_reasons": None if not explained else str(scores["reasons"].dropna().iloc[0]),
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


def spawn(
    work: Path, target: str, rows: int, reasons: str, seed: int, jitter: bool
) -> dict[str, Any]:
    """Run one measurement in a fresh process and read its result."""
    out = work / f"score-{target}-{reasons}.json"
    busy = machine_busy_seconds()
    load = os.getloadavg()[0]
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
            "--reasons",
            reasons,
            *([] if jitter else ["--no-jitter"]),
        ],
        check=True,
    )
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["process_s"] = round(time.perf_counter() - start, 2)
    result["load_before"] = round(load, 2)
    result["load_after"] = round(os.getloadavg()[0], 2)
    print(
        f"  {target} reasons={reasons}: {result['seconds']:.2f} s, peak {result['peak_rss_mb']:.0f}"
        f" MB, load {result['load_before']:.1f}/{result['load_after']:.1f}",
        flush=True,
    )
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
    parser.add_argument("--reasons", choices=REASONS, default="none")
    parser.add_argument("--repeat", type=int, default=2, help="runs per measurement")
    parser.add_argument(
        "--no-jitter", action="store_true", help="keep resampled rows identical (duplicates)"
    )
    parser.add_argument("--only", default=None, help="targets, comma-separated")
    parser.add_argument("--reuse", action="store_true", help="keep the trained models")
    args = parser.parse_args()
    work = args.work or BENCH / "data" / f"predict-{args.customers}" / "work"
    if args.worker:
        result = worker(work, args.worker, args.rows, args.reasons, args.seed, not args.no_jitter)
        write_json(work / f"score-{args.worker}-{args.reasons}.json", result)
        return
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    saved = work / "prepared.json"
    if args.reuse and saved.exists():
        prepared = json.loads(saved.read_text(encoding="utf-8"))
    else:
        prepared = prepare(args.customers, args.seed, work)
        write_json(saved, prepared)
    targets = args.only.split(",") if args.only else list(TARGETS)
    runs = []
    for _ in range(args.repeat):
        for target in targets:
            for reasons in REASONS:
                print(f"score: {target} reasons={reasons} ...", flush=True)
                runs.append(spawn(work, target, args.rows, reasons, args.seed, not args.no_jitter))
    summary = {
        "benchmark": "predict_scoring",
        "started_at": started,
        "memory_total_mb": round(memory_total_mb()),
        "rows_note": "feature rows bootstrap-resampled from the trained company's rows at "
        "its as-of time"
        + (
            ""
            if args.no_jitter
            else ", numeric features jittered (x e^N(0, 0.05^2)) so that rows are distinct"
        )
        + "; scoring cost depends on rows, trees and features",
        **prepared,
        "scoring": runs,
    }
    write_json(BENCH / "results" / str(args.rows) / "predict_scoring.json", summary)
    report(prepared, runs, args.rows)


def report(prepared: dict[str, Any], runs: list[dict[str, Any]], rows: int) -> None:
    """Print min and max per (target, reasons) over the repeated runs."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=150)
    for target, facts in prepared["training"].items():
        if isinstance(facts, dict):
            console.print(f"train {target}: {facts['seconds']:.1f} s ({facts['rounds']} rounds)")
    table = Table(title=f"LightGBM scoring of {rows:,} customers (min – max over runs)")
    for column in (
        "target",
        "reasons",
        "explained",
        "runs",
        "seconds",
        "rows/s",
        "peak RSS MB",
        "load (1 min)",
    ):
        table.add_column(column, justify="left" if column in ("target", "reasons") else "right")
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["target"], run["reasons"]), []).append(run)
    for (target, reasons), group in groups.items():
        seconds = [r["seconds"] for r in group]
        speed = [r["rows_per_s"] for r in group]
        peak = [r["peak_rss_mb"] for r in group]
        load = [r["load_before"] for r in group] + [r["load_after"] for r in group]
        table.add_row(
            target,
            reasons,
            f"{group[0]['explained_rows']:,}",
            str(len(group)),
            f"{min(seconds):.1f} – {max(seconds):.1f}",
            f"{min(speed):,} – {max(speed):,}",
            f"{min(peak):,.0f} – {max(peak):,.0f}",
            f"{min(load):.1f} – {max(load):.1f}",
        )
    console.print(table)


if __name__ == "__main__":
    main()
