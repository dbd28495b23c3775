"""Benchmark: segmint's clustering of 1M customers (sample fit + assignment in DuckDB)
against scikit-learn in pandas.

    .venv/bin/python bench/cluster.py            # 1,000,000 customers
    .venv/bin/python bench/cluster.py --quick    # 100,000 customers

The bench warehouse (bench/data/1000000/bench-segmint.duckdb) has no `profiles` table
unless the profile bench ran, so the customers are a synthetic profile-shaped table (six
planted groups, the columns of the default B2C feature set) written to a temporary DuckDB
file. Each side runs in its own process, timed from reading the table to the written result;
peak RSS comes from the operating system (resource usage of the child):

- `segmint`: `build_clustering` with the default settings (sample of 50,000 members, k
  scanned over 3–8 by prediction strength (6 split halves per k) / silhouette /
  Calinski-Harabasz / GMM BIC, no bootstrap of the chosen k), then `customer_clusters`
  for every customer materialised inside DuckDB, and the persona cards.
- `pandas-sklearn`: the whole table into pandas, the same transforms, StandardScaler,
  MiniBatchKMeans fit on all rows with segmint's chosen k only (no k scan), predict all.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from common import machine_busy_seconds, wait_with_rusage

DEFAULT_CUSTOMERS = 1_000_000
QUICK_CUSTOMERS = 100_000
SEED = 2026
NUMERIC = (
    "aov",
    "monetary_365d",
    "frequency",
    "recency_days",
    "tenure_days",
    "online_share",
    "active_hour",
    "brands",
    "interpurchase_days_mean",
    "discount_share",
    "campaign_response_rate",
    "top_category_share",
    "campaign_touches",
    "price_index",
    "miniprogram_share",
    "offline_share",
    "deal_event_share",
    "research_share",
    "satisfaction_mean",
    "nps_latest",
)
LOG = (
    "aov",
    "monetary_365d",
    "frequency",
    "recency_days",
    "tenure_days",
    "brands",
    "interpurchase_days_mean",
    "campaign_touches",
)


def synthesize(customers: int) -> pd.DataFrame:
    """A profile-shaped frame with six planted groups."""
    rng = np.random.default_rng(SEED)
    group = rng.choice(6, customers, p=[0.08, 0.2, 0.32, 0.22, 0.15, 0.03])
    centre = rng.normal(0, 1.0, (6, len(NUMERIC)))
    z = centre[group] + rng.normal(0, 0.7, (customers, len(NUMERIC)))
    frame = pd.DataFrame({"customer_id": [f"C{i:09d}" for i in range(customers)]})
    for j, column in enumerate(NUMERIC):
        if column in LOG:
            frame[column] = np.expm1(np.clip(4 + z[:, j], 0, 14)).round(2)
        elif column == "active_hour":
            frame[column] = np.clip(np.round(14 + 4 * z[:, j]), 0, 23).astype("int64")
        elif column == "satisfaction_mean":
            frame[column] = 1 + 4 / (1 + np.exp(-z[:, j]))
        elif column == "nps_latest":
            frame[column] = np.round(10 / (1 + np.exp(-z[:, j]))).astype("int64")
        else:
            frame[column] = 1 / (1 + np.exp(-z[:, j]))
    frame["frequency"] = np.maximum(frame["frequency"].round(), 1).astype("int64")
    frame["monetary"] = frame["aov"] * frame["frequency"]
    frame["is_b2b"] = group == 5
    # nine in ten buyers have a CRM record: segmint fits on them (fit_on: members)
    frame["customer_records"] = (rng.random(customers) < 0.9).astype("int64")
    return frame


def _segmint(path: Path) -> dict[str, Any]:
    import ibis

    from segmint.project.spec_clustering import ClusteringSettings
    from segmint.segments.cluster_build import build_clustering

    con = ibis.duckdb.connect(str(path))
    settings = ClusteringSettings(bootstrap_rounds=0)
    start = time.perf_counter()
    result = build_clustering(con.table("profiles"), None, settings, execute=con.to_pandas)
    fitted = time.perf_counter()
    con.create_table("customer_clusters", result.clusters, overwrite=True)
    rows = int(con.table("customer_clusters").count().execute())
    end = time.perf_counter()
    return {
        "seconds": end - start,
        "fit_seconds": fitted - start,
        "assign_seconds": end - fitted,
        "k": result.model.k,
        "rows": rows,
        "votes": result.model.votes,
    }


def _pandas(path: Path, k: int) -> dict[str, Any]:
    import duckdb
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.preprocessing import StandardScaler

    start = time.perf_counter()
    frame = duckdb.connect(str(path), read_only=True).sql("SELECT * FROM profiles").df()
    x = pd.DataFrame(index=frame.index)
    for column in NUMERIC:
        values = frame[column].astype(float)
        x[column] = np.log1p(values) if column in LOG else values
    x["is_b2b"] = frame["is_b2b"].astype(float)
    matrix = StandardScaler().fit_transform(x.fillna(x.median()))
    model = MiniBatchKMeans(n_clusters=k, n_init=10, random_state=0, batch_size=4096)
    labels = model.fit(matrix).predict(matrix)
    out = pd.DataFrame({"customer_id": frame["customer_id"], "cluster": labels})
    end = time.perf_counter()
    return {"seconds": end - start, "k": k, "rows": len(out)}


def spawn(args: list[str]) -> dict[str, Any]:
    """One worker in its own process: its JSON line, peak RSS and CPU."""
    command = [sys.executable, str(Path(__file__).resolve()), *args]
    busy = machine_busy_seconds()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    output = process.stdout.read()
    errors = process.stderr.read()
    code, peak_mb, cpu = wait_with_rusage(process.pid)
    if code != 0:
        raise SystemExit(f"worker {args} failed:\n{errors[-2000:]}")
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    result.update(peak_rss_mb=peak_mb, cpu_s=cpu, others_cpu_s=machine_busy_seconds() - busy)
    return result


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--k", type=int, default=6, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        path = Path(args.path)
        out = _segmint(path) if args.worker == "segmint" else _pandas(path, args.k)
        sys.stdout.write(json.dumps(out) + "\n")
        return 0
    customers = QUICK_CUSTOMERS if args.quick else args.customers
    with tempfile.TemporaryDirectory(prefix="segmint-cluster-bench-") as tmp:
        path = Path(tmp) / "profiles.duckdb"
        import duckdb

        frame = synthesize(customers)
        with duckdb.connect(str(path)) as con:
            con.register("frame", frame)
            con.execute("CREATE TABLE profiles AS SELECT * FROM frame")
        del frame
        ours = spawn(["--worker", "segmint", "--path", str(path)])
        theirs = spawn(["--worker", "pandas", "--path", str(path), "--k", str(ours["k"])])
    print(f"clustering {customers:,} customers (synthetic profiles, six planted groups)")
    print(f"{'side':<16}{'seconds':>10}{'peak RSS MB':>14}{'k':>4}  note")
    print(
        f"{'segmint':<16}{ours['seconds']:>10.2f}{ours['peak_rss_mb']:>14,.0f}{ours['k']:>4}  "
        f"fit {ours['fit_seconds']:.2f} s (k scan 3-8 on 50,000), assign all "
        f"{ours['assign_seconds']:.2f} s in DuckDB; votes {ours['votes']}"
    )
    print(
        f"{'pandas-sklearn':<16}{theirs['seconds']:>10.2f}{theirs['peak_rss_mb']:>14,.0f}"
        f"{theirs['k']:>4}  one k, all rows in pandas"
    )
    print(
        f"time ratio pandas/segmint: {theirs['seconds'] / ours['seconds']:.2f}x; "
        f"memory ratio: {theirs['peak_rss_mb'] / ours['peak_rss_mb']:.2f}x"
    )
    print(f"other processes' CPU meanwhile: {ours['others_cpu_s'] + theirs['others_cpu_s']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
