"""Benchmark: segmint's BG/NBD and Gamma-Gamma fits on 1M customers, against lifetimes.

    .venv/bin/python bench/clv.py                   # 1,000,000 customers
    .venv/bin/python bench/clv.py --quick           # 100,000 customers
    .venv/bin/python bench/clv.py --no-lifetimes    # segmint only

The customers are simulated from BG/NBD with the CDNOW parameters in days (r = 0.243,
α = 4.414 × 7, a = 0.793, b = 2.426), their first purchases spread evenly over two years
(T a whole number of days in 1..730) and recency cut to whole days as `rfm_summary` gives
it; each repeat customer's mean spend comes from Gamma-Gamma (p = 6.25, q = 3.74,
γ = 15.44). Every fit runs in its own process from the same seed:

- `segmint-bgnbd`: `BetaGeoNBD().fit` on the day-resolution data;
- `segmint-bgnbd-continuous`: the same with recency not cut to days (few identical rows to
  merge: the worst case for segmint's compression);
- `segmint-gamma-gamma`: `GammaGamma().fit` on the repeat customers;
- `lifetimes-bgnbd`: lifetimes 0.11.3's `BetaGeoFitter().fit` on the day-resolution data.

Each fit is timed without the simulation (segmint: best of three runs; lifetimes: one run),
then run once more under tracemalloc for its peak traced memory (numpy's buffers included);
the process's peak RSS (data included) comes from the operating system. The results are
printed and written to bench/results/N/clv.json; `scripts/cdnow_validation.py` copies them
into docs/validation.md.

Floor (issue 5): the BG/NBD fit on 1M customers in at most 2 s on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from common import machine_busy_seconds, wait_with_rusage, write_json

BENCH = Path(__file__).resolve().parent
DEFAULT_CUSTOMERS = 1_000_000
QUICK_CUSTOMERS = 100_000
FLOOR_SECONDS = 2.0
SEED = 2026
COUNT_PARAMS = {"r": 0.243, "alpha": 4.414 * 7, "a": 0.793, "b": 2.426}
SPEND_PARAMS = {"p": 6.25, "q": 3.74, "gamma": 15.44}
SIMULATION = (
    "CDNOW parameters in days, first purchases over two years, recency in whole days; "
    "Gamma-Gamma spend"
)
WORKERS = ("segmint-bgnbd", "segmint-bgnbd-continuous", "segmint-gamma-gamma", "lifetimes-bgnbd")


def simulate(customers: int, *, days: bool = True) -> pd.DataFrame:
    """frequency, recency, T (days) and monetary_value for `customers` customers."""
    from segmint.predict.clv import BetaGeoNBD, GammaGamma

    rng = np.random.default_rng(SEED)
    ages = rng.integers(1, 731, customers).astype(np.float64)
    data = BetaGeoNBD.from_params(**COUNT_PARAMS).simulate(ages, seed=SEED + 1)
    if days:
        data["recency"] = np.floor(data["recency"])
    spend = GammaGamma.from_params(**SPEND_PARAMS).simulate(data["frequency"], seed=SEED + 2)
    data["monetary_value"] = spend
    return data


def _job(name: str, data: pd.DataFrame) -> Callable[[], dict[str, float]]:
    """The fit a worker times; returns the fitted parameters."""
    f, r, t, m = (data[c] for c in ("frequency", "recency", "T", "monetary_value"))
    if name.startswith("segmint-bgnbd"):
        from segmint.predict.clv import BetaGeoNBD

        return lambda: BetaGeoNBD().fit(f, r, t).params_
    if name == "segmint-gamma-gamma":
        from segmint.predict.clv import GammaGamma

        return lambda: GammaGamma().fit(f, m).params_
    if name == "lifetimes-bgnbd":
        warnings.filterwarnings("ignore")
        from lifetimes import BetaGeoFitter

        def fit() -> dict[str, float]:
            return {k: float(v) for k, v in BetaGeoFitter().fit(f, r, t).params_.items()}

        return fit
    raise SystemExit(f"unknown worker {name!r}")


def worker(name: str, customers: int) -> None:
    """Simulate, time the fit, trace its memory; print one JSON line."""
    data = simulate(customers, days=name != "segmint-bgnbd-continuous")
    fit = _job(name, data)
    runs = 1 if name.startswith("lifetimes") else 3
    seconds: list[float] = []
    params: dict[str, float] = {}
    for _ in range(runs):
        start = time.perf_counter()
        params = fit()
        seconds.append(time.perf_counter() - start)
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fit()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    rows = len(data)
    distinct = len(data[["frequency", "recency", "T"]].drop_duplicates())
    sys.stdout.write(
        json.dumps(
            {
                "name": name,
                "seconds": min(seconds),
                "seconds_all": seconds,
                "traced_peak_mb": peak / 2**20,
                "params": {k: float(v) for k, v in params.items()},
                "rows": rows,
                "distinct_rows": distinct,
                "repeat_customers": int((data["frequency"] > 0).sum()),
            }
        )
        + "\n"
    )


def spawn(name: str, customers: int) -> dict[str, Any]:
    """Run one worker in its own process; its result plus the process's peak RSS and CPU."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", name]
    command += ["--customers", str(customers)]
    busy = machine_busy_seconds()
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    output = process.stdout.read()
    errors = process.stderr.read()
    code, peak_mb, cpu = wait_with_rusage(process.pid)
    wall = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"{name} failed (exit {code}):\n{errors[-2000:]}")
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    result.update(
        peak_rss_mb=peak_mb,
        cpu_s=cpu,
        wall_s=wall,
        others_cpu_s=max(machine_busy_seconds() - busy - cpu, 0.0),
    )
    return result


def report(customers: int, jobs: list[dict[str, Any]]) -> dict[str, Any]:
    """Print the comparison table; the JSON document."""
    from rich.console import Console
    from rich.table import Table

    by_name = {j["name"]: j for j in jobs}
    ours = by_name["segmint-bgnbd"]
    theirs = by_name.get("lifetimes-bgnbd")
    ratio = theirs["seconds"] / ours["seconds"] if theirs else None
    for job in jobs:
        if job["name"].startswith("segmint-bgnbd"):
            job["note"] = f"{job['distinct_rows']:,} distinct (x, t_x, T) rows"
        elif job["name"] == "segmint-gamma-gamma":
            job["note"] = f"{job['repeat_customers']:,} repeat customers"
        else:
            diff = max(
                abs(job["params"][k] / ours["params"][k] - 1) for k in ("r", "alpha", "a", "b")
            )
            job["note"] = f"params within {diff:.1e} of segmint's"
    table = Table(title=f"CLV fits on {customers:,} simulated customers")
    for column in ("fit", "seconds", "runs", "traced peak MB", "peak RSS MB", "note"):
        table.add_column(column, justify="left" if column in ("fit", "note") else "right")
    for job in jobs:
        table.add_row(
            job["name"],
            f"{job['seconds']:.2f}",
            " ".join(f"{s:.2f}" for s in job["seconds_all"]),
            f"{job['traced_peak_mb']:,.0f}",
            f"{job['peak_rss_mb']:,.0f}",
            job["note"],
        )
    console = Console()
    console.print(table)
    floor_met = customers < DEFAULT_CUSTOMERS or ours["seconds"] <= FLOOR_SECONDS
    if ratio is not None:
        console.print(f"lifetimes BetaGeoFitter / segmint BetaGeoNBD: [bold]{ratio:.1f}×[/]")
    verdict = "[green]met[/]" if floor_met else "[red]NOT met[/]"
    console.print(
        f"floor: BG/NBD on 1M customers in <= {FLOOR_SECONDS:.0f} s: {verdict} "
        f"({ours['seconds']:.2f} s)"
    )
    return {
        "customers": customers,
        "simulation": SIMULATION,
        "cpus": os.cpu_count(),
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
        "jobs": jobs,
        "ratio": ratio,
        "bgnbd_seconds": ours["seconds"],
        "floor_seconds": FLOOR_SECONDS,
        "floor_met": floor_met,
    }


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_CUSTOMERS:,} customers")
    parser.add_argument("--no-lifetimes", action="store_true", help="skip lifetimes")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    customers = QUICK_CUSTOMERS if args.quick else args.customers
    if args.worker:
        worker(args.worker, customers)
        return 0
    names = [w for w in WORKERS if not (args.no_lifetimes and w.startswith("lifetimes"))]
    jobs = []
    for name in names:
        print(f"clv: {name} ...", flush=True)
        jobs.append(spawn(name, customers))
    document = report(customers, jobs)
    out = BENCH / "results" / str(customers) / "clv.json"
    write_json(out, document)
    print(f"wrote {out.relative_to(BENCH.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
