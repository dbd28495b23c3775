"""Benchmark: segmint's profile and tags stages against a straightforward pandas version.

    .venv/bin/python bench/profiles.py                    # 1,000,000 customers
    .venv/bin/python bench/profiles.py --quick            # 20,000 customers
    .venv/bin/python bench/profiles.py --customers 200000 --no-check

Both start from the warehouse of the bench's last segmint run at that size
(`bench/data/N/bench-segmint.duckdb`: its conformed `customers` and `orders` and its
deterministic `identity_map`; segmint's pipeline on `bench.yml` builds it when missing).
Each part runs in its own process, so its peak memory is its own:

- `segmint-full`: a fresh full build — `build_profiles` with no previous profile, then
  `build_tags` — on DuckDB with the bench's warehouse settings, as run `profilebench`;
- `segmint-incremental`: the same a day later after ~1 % of the customers had one paid
  order edited (a copy of `orders`, made untimed), starting from the full build's tables,
  as run `profilebenchinc`;
- `pandas`: `pandas_profile.py` — load through Arrow (timed apart), profile, tags.

Then the harness checks that pandas' profile equals segmint's `profiles` on every column it
covers and that the tag memberships are identical, prints the comparison, writes
`bench/results/N/profiles.json` and drops both runs' tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from common import (
    SEGMINT_DB,
    cpu_seconds_self,
    machine_busy_seconds,
    memory_total_mb,
    peak_rss_mb_self,
    rss_mb,
    wait_with_rusage,
    write_json,
)
from pandas_profile import SKIPPED_TAGS

if TYPE_CHECKING:
    import pandas as pd

    from segmint.engine.engine import Engine

BENCH = Path(__file__).resolve().parent
PROJECT_FILE = "bench-profiles.yml"
RUN_FULL = "profilebench"
RUN_INCREMENTAL = "profilebenchinc"
WORKERS = ("segmint-full", "segmint-incremental", "pandas")
DEFAULT_CUSTOMERS = 1_000_000
QUICK_CUSTOMERS = 20_000
TOUCH_SHARE = 0.01


# ------------------------------------------------------------------------- the project


def write_profiles_project(data: Path) -> Path:
    """`bench.yml` with a profile section and the uncovered tags disabled.

    A company generated before the profile stage has no `profile:` section; it gets the one
    the generator writes now (Beijing time, the CRM first).
    """
    from segmint.generate.project_file import project_dict

    doc = yaml.safe_load((data / "bench.yml").read_text(encoding="utf-8"))
    if not doc.get("profile"):
        doc["profile"] = project_dict(dt.datetime(2000, 1, 1))["profile"]
    tags = doc.get("tags") or {}
    tags["disable"] = sorted(set(tags.get("disable") or ()) | set(SKIPPED_TAGS))
    doc["tags"] = tags
    doc["predict"] = {"enabled": False}  # this bench covers profiles and tags, not models
    doc["clustering"] = {"enabled": False}
    path = data / PROJECT_FILE
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def ensure_warehouse(data: Path) -> None:
    """Run segmint's pipeline on `bench.yml` once if this size has no warehouse yet."""
    import duckdb

    database = data / SEGMINT_DB
    if database.exists():
        con = duckdb.connect(str(database), read_only=True)
        try:
            tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        finally:
            con.close()
        if {"customers", "orders", "identity_map"} <= tables:
            print(f"data: reusing {database}")
            return
    print(f"data: building {database} with segmint's pipeline on bench.yml ...", flush=True)
    start = time.perf_counter()
    run = "import sys; from segmint import Project; Project.load(sys.argv[1]).run(report=False)"
    subprocess.run([sys.executable, "-c", run, str(data / "bench.yml")], check=True)
    print(f"data: built in {time.perf_counter() - start:.0f}s", flush=True)


# ---------------------------------------------------------------------- the workers


class StepTimer:
    """Times every table the engine materialises and every count it runs."""

    def __init__(self, engine: Engine) -> None:
        self.steps: list[tuple[str, float]] = []
        materialize, scalar, to_pandas = engine.materialize, engine.scalar, engine.to_pandas

        def timed(step: str, function: Any) -> Any:
            def call(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return function(*args, **kwargs)
                finally:
                    name = step or str(args[0]).split("__", 1)[-1]
                    self.steps.append((name, time.perf_counter() - start))

            return call

        engine.materialize = timed("", materialize)
        engine.scalar = timed("(counts)", scalar)
        engine.to_pandas = timed("(small reads)", to_pandas)

    def summary(self) -> list[list[Any]]:
        """(step, seconds), counts and small reads summed, slowest first."""
        total: dict[str, float] = {}
        for name, seconds in self.steps:
            total[name] = total.get(name, 0.0) + seconds
        return [[k, round(v, 3)] for k, v in sorted(total.items(), key=lambda kv: -kv[1])]


def _as_of(spec: Any) -> dt.datetime:
    stamp: dt.datetime = spec.as_of
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
    return stamp


def _timed_build(
    engine: Engine,
    run_id: str,
    loaded: Any,
    inputs: Any,
    as_of: dt.datetime,
    previous_profile: Any,
    previous_tags: Any,
) -> tuple[Any, Any, dict[str, Any]]:
    """build_profiles then build_tags, each timed (wall, CPU, per materialised table)."""
    from segmint.tags.stage import build_tags
    from segmint.traits.refresh import PROFILES, build_profiles

    spec = loaded.loaded.spec
    timer = StepTimer(engine)
    start, cpu = time.perf_counter(), cpu_seconds_self()
    built = build_profiles(engine, run_id, inputs, as_of, spec, previous_profile)
    profile_s, profile_cpu = time.perf_counter() - start, cpu_seconds_self() - cpu
    profile_steps = timer.summary()
    timer.steps.clear()
    start, cpu = time.perf_counter(), cpu_seconds_self()
    tags = build_tags(
        engine,
        run_id,
        engine.table(built.tables[PROFILES]),
        spec,
        loaded.loaded.root,
        as_of,
        previous_tags,
    )
    tags_s, tags_cpu = time.perf_counter() - start, cpu_seconds_self() - cpu
    figures = {
        "seconds": {"profile": profile_s, "tags": tags_s},
        "cpu_s": {"profile": profile_cpu, "tags": tags_cpu},
        "peak_rss_mb": peak_rss_mb_self(),
        "mode": built.mode,
        "customers": built.customers,
        "recomputed": built.recomputed,
        "memberships": tags.memberships,
        "steps": {"profile": profile_steps, "tags": timer.summary()},
    }
    return built, tags, figures


def segmint_full(project: Path, out: Path) -> dict[str, Any]:
    """A fresh full profile build and the tags, timed; exports the result for the check."""
    from segmint import Project
    from segmint.tags.evaluate import CUSTOMER_TAGS, PreviousTags
    from segmint.traits.profile import ProfileInputs
    from segmint.traits.refresh import PROFILES, PreviousProfile

    loaded = Project.load(project)
    spec = loaded.loaded.spec
    as_of = _as_of(spec)
    with loaded.engine() as engine:
        for run in (RUN_FULL, RUN_INCREMENTAL):
            engine.discard_run(run)
        inputs = ProfileInputs(
            {name: engine.table(name) for name in ("customers", "orders")},
            engine.table("identity_map"),
        )
        built, tags, figures = _timed_build(
            engine,
            RUN_FULL,
            loaded,
            inputs,
            as_of,
            PreviousProfile(None, None, None),
            PreviousTags(None, None, None),
        )
        engine.con.to_parquet(
            engine.table(built.tables[PROFILES]), out / "profiles-segmint.parquet"
        )
        engine.con.to_parquet(
            engine.table(tags.tables[CUSTOMER_TAGS]), out / "profile-tags-segmint.parquet"
        )
    return {**figures, "tags": sorted(t.name for t in tags.tags)}


def segmint_incremental(project: Path, out: Path, share: float) -> dict[str, Any]:
    """A day later, ~`share` of the customers with one paid order edited: the refresh."""
    from segmint import Project
    from segmint.engine.engine import Engine
    from segmint.tags.evaluate import CUSTOMER_TAGS, TAG_CATALOG, TAG_HISTORY, PreviousTags
    from segmint.traits.profile import ProfileInputs
    from segmint.traits.refresh import (
        PROFILE_FINGERPRINTS,
        PROFILE_META,
        PROFILE_STATE,
        PROFILES,
        PreviousProfile,
    )

    loaded = Project.load(project)
    spec = loaded.loaded.spec
    as_of = _as_of(spec)
    later = as_of + dt.timedelta(days=1)
    full = lambda name: Engine.run_table(RUN_FULL, name)  # noqa: E731
    touched = Engine.run_table(RUN_INCREMENTAL, "touched")
    orders = Engine.run_table(RUN_INCREMENTAL, "orders")
    with loaded.engine() as engine:
        engine.discard_run(RUN_INCREMENTAL)
        customers = int(engine.scalar(engine.table(full(PROFILES)).count()))
        # Not timed: pick the customers (by a hash of their id, among buyers) and edit the
        # amount of each one's latest paid order in a copy of `orders`.
        engine.con.raw_sql(
            f"""CREATE TABLE {touched} AS
                WITH picked AS (
                    SELECT customer_id FROM {full(PROFILES)} WHERE frequency > 0
                    ORDER BY hash(customer_id), customer_id LIMIT {round(customers * share)})
                SELECT o.source, o.record_key
                FROM identity_map m JOIN picked USING (customer_id)
                JOIN orders o USING (source, record_key)
                WHERE (o.status IS NULL OR o.status = 'paid')
                  AND o.ordered_at <= TIMESTAMP '{as_of.isoformat(sep=" ")}'
                QUALIFY row_number() OVER (
                    PARTITION BY m.customer_id ORDER BY o.ordered_at DESC, o.record_key) = 1"""
        )
        engine.con.raw_sql(
            f"""CREATE TABLE {orders} AS
                SELECT o.* REPLACE (CAST(CASE WHEN t.record_key IS NULL THEN o.amount
                                              ELSE o.amount + 1 END AS DECIMAL(18, 2)) AS amount)
                FROM orders o LEFT JOIN {touched} t USING (source, record_key)"""
        )
        edited = int(engine.scalar(engine.table(touched).count()))
        inputs = ProfileInputs(
            {"customers": engine.table("customers"), "orders": engine.table(orders)},
            engine.table("identity_map"),
        )
        built, _, figures = _timed_build(
            engine,
            RUN_INCREMENTAL,
            loaded,
            inputs,
            later,
            PreviousProfile(
                state=engine.table(full(PROFILE_STATE)),
                fingerprints=engine.table(full(PROFILE_FINGERPRINTS)),
                meta=engine.to_pandas(engine.table(full(PROFILE_META))),
            ),
            PreviousTags(
                members=engine.table(full(CUSTOMER_TAGS)),
                history=engine.table(full(TAG_HISTORY)),
                catalog=engine.to_pandas(engine.table(full(TAG_CATALOG))),
            ),
        )
    return {
        **figures,
        "reason": built.reason,
        "orders_edited": edited,
        "as_of": later.isoformat(),
    }


def pandas_worker(project: Path, out: Path) -> dict[str, Any]:
    """pandas_profile.py, timed by step; writes its result for the check."""
    import pandas_profile

    result = pandas_profile.run(project)
    peak = peak_rss_mb_self()
    result.profile.to_parquet(out / "profiles-pandas.parquet", index=False)
    result.tags.to_parquet(out / "profile-tags-pandas.parquet", index=False)
    return {
        "seconds": result.seconds,
        "cpu_s": result.cpu,
        "peak_rss_mb": peak,
        "customers": len(result.profile),
        "memberships": len(result.tags),
        "columns": [c for c in result.profile.columns if c != "customer_id"],
        "tags": sorted(
            name
            for name in pandas_profile.tag_rules()
            if name not in pandas_profile.load_config(project).disabled_tags
        ),
    }


def worker(name: str, project: Path, out: Path, share: float) -> None:
    """Run one worker in this process and write what it measured."""
    start = time.perf_counter()
    if name == "segmint-full":
        data = segmint_full(project, out)
    elif name == "segmint-incremental":
        data = segmint_incremental(project, out, share)
    elif name == "pandas":
        data = pandas_worker(project, out)
    else:
        raise SystemExit(f"unknown worker {name!r}; use one of {', '.join(WORKERS)}")
    data["worker_seconds"] = time.perf_counter() - start
    write_json(out / f"profiles-{name}.json", data)


def spawn(
    name: str, project: Path, out: Path, share: float, max_rss_mb: float
) -> tuple[dict[str, Any] | None, dict[str, Any], str]:
    """Run one worker in a subprocess: (what it wrote, process stats, log tail).

    A watchdog kills the child if its memory passes `max_rss_mb` (see run.py).
    """
    result = out / f"profiles-{name}.json"
    result.unlink(missing_ok=True)
    log = out / f"profiles-{name}.log"
    command = [sys.executable, str(Path(__file__)), "--worker", name, "--project", str(project)]
    command += ["--out", str(out), "--touch-share", str(share)]
    start, busy = time.perf_counter(), machine_busy_seconds()
    done = threading.Event()
    killed: list[float] = []

    def watch(pid: int) -> None:
        while not done.wait(1.0):
            rss = rss_mb(pid)
            if rss > max_rss_mb and not done.is_set():
                killed.append(rss)
                os.kill(pid, signal.SIGKILL)
                return

    with log.open("wb") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
        threading.Thread(target=watch, args=(process.pid,), daemon=True).start()
        code, peak_mb, cpu = wait_with_rusage(process.pid)
        done.set()
        process.returncode = code
    wall = time.perf_counter() - start
    others = max(0.0, machine_busy_seconds() - busy - cpu)
    stats: dict[str, Any] = {
        "wall_s": wall,
        "peak_rss_mb": peak_mb,
        "cpu_s": cpu,
        "machine_share_used_by_others": others / (wall * (os.cpu_count() or 1)),
    }
    tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-25:])
    if killed:
        tail += f"\nkilled by the bench: {killed[0]:,.0f} MB resident > {max_rss_mb:,.0f} MB"
        stats["killed_at_rss_mb"] = killed[0]
    if code != 0 or not result.exists():
        return None, stats, tail
    return json.loads(result.read_text(encoding="utf-8")), stats, tail


def discard_runs(project: Path) -> None:
    """Drop the benchmark runs' tables from the warehouse."""
    from segmint import Project

    with Project.load(project).engine() as engine:
        for run in (RUN_FULL, RUN_INCREMENTAL):
            engine.discard_run(run)


# ------------------------------------------------------------------------- the check


def compare_profiles(
    segmint: pd.DataFrame, panda: pd.DataFrame, seg_tags: pd.DataFrame, pan_tags: pd.DataFrame
) -> list[tuple[str, bool, str]]:
    """(what, same?, detail): customers, every column pandas has, every tag's members."""
    import numpy as np
    import pandas as pd

    checks: list[tuple[str, bool, str]] = []
    left, right = segmint.set_index("customer_id"), panda.set_index("customer_id")
    only_seg = left.index.difference(right.index)
    only_pan = right.index.difference(left.index)
    checks.append(
        (
            "customers",
            len(only_seg) == 0 and len(only_pan) == 0,
            f"{len(left):,} segmint, {len(right):,} pandas; only in segmint {len(only_seg):,}, "
            f"only in pandas {len(only_pan):,}",
        )
    )
    common = left.index.intersection(right.index)
    left, right = left.loc[common], right.loc[common]
    bad_columns = []
    for column in right.columns:
        a, b = left[column], right[column]
        both_null = a.isna().to_numpy() & b.isna().to_numpy()
        if pd.api.types.is_datetime64_any_dtype(b) or column == "birth_date":
            same = (pd.to_datetime(a) == pd.to_datetime(b)).to_numpy()
        elif pd.api.types.is_numeric_dtype(b) or column == "is_b2b":
            x = pd.to_numeric(a.astype("float64"), errors="coerce").to_numpy(dtype=float)
            y = pd.to_numeric(b.astype("float64"), errors="coerce").to_numpy(dtype=float)
            same = np.isclose(x, y, rtol=1e-9, atol=1e-6)
        else:
            same = (a.astype(str) == b.astype(str)).to_numpy()
        bad = ~(both_null | same)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            bad_columns.append(
                f"{column}: {int(bad.sum()):,} differ (e.g. {common[first]}: segmint "
                f"{a.iloc[first]!r}, pandas {b.iloc[first]!r})"
            )
    checks.append(
        (
            f"profile: {len(right.columns)} columns",
            not bad_columns,
            "; ".join(bad_columns) if bad_columns else f"equal for {len(common):,} customers",
        )
    )
    seg_pairs = seg_tags[["customer_id", "tag"]].astype(str)
    pan_pairs = pan_tags[["customer_id", "tag"]].astype(str)
    joined = seg_pairs.merge(pan_pairs, how="outer", indicator=True)
    differ = joined[joined["_merge"] != "both"]
    by_tag = differ.groupby("tag").size().sort_values(ascending=False)
    shown = ", ".join(f"{tag} {n:,}" for tag, n in by_tag.head(5).items())
    checks.append(
        (
            "tag memberships",
            differ.empty,
            f"{len(seg_pairs):,} segmint, {len(pan_pairs):,} pandas"
            + (f"; differ: {shown}" if shown else "; identical"),
        )
    )
    return checks


# ---------------------------------------------------------------------------- report


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "—" if value is None else format(value, spec)


def report(customers: int, found: dict[str, dict[str, Any]], checks: list[Any]) -> dict[str, Any]:
    """Print the comparison table and return the JSON document's figures."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 140)
    seg, inc, pan = (found.get(w) for w in WORKERS)
    table = Table(title=f"profiles and tags at {customers:,} customers: segmint vs pandas")
    headers = (
        "stage",
        "segmint s",
        "pandas s (load + compute)",
        "pandas/segmint",
        "… compute only",
        "segmint peak MB",
        "pandas peak MB",
    )
    for header in headers:
        table.add_column(header, justify="left" if header == "stage" else "right")
    rows = []
    for stage in ("profile", "tags", "total"):
        s = None if seg is None else _stage_seconds(seg, stage)
        compute = None if pan is None else _stage_seconds(pan, stage)
        load = None if pan is None else pan["seconds"]["load"] if stage != "tags" else 0.0
        total = None if compute is None or load is None else compute + load
        ratio = None if s is None or total is None else total / s
        compute_ratio = None if s is None or compute is None else compute / s
        peaks = ("", "")
        if stage == "total":
            peaks = (
                _fmt(None if seg is None else seg["process"]["peak_rss_mb"], ",.0f"),
                _fmt(None if pan is None else pan["process"]["peak_rss_mb"], ",.0f"),
            )
        table.add_row(
            stage,
            _fmt(s),
            f"{_fmt(total)} ({_fmt(load)} + {_fmt(compute)})",
            _fmt(ratio) + "×",
            _fmt(compute_ratio) + "×",
            *peaks,
        )
        rows.append(
            {
                "stage": stage,
                "segmint_s": s,
                "pandas_load_s": load,
                "pandas_compute_s": compute,
                "pandas_s": total,
                "pandas_over_segmint": ratio,
                "pandas_compute_over_segmint": compute_ratio,
            }
        )
    if inc is not None:
        table.add_row(
            f"incremental refresh (+1 day, {inc['orders_edited']:,} orders edited)",
            _fmt(_stage_seconds(inc, "total")),
            f"{inc['recomputed']:,} of {inc['customers']:,} customers recomputed",
            "",
            "",
            _fmt(inc["process"]["peak_rss_mb"], ",.0f"),
            "",
        )
    console.print(table)
    busy = max((w["process"]["machine_share_used_by_others"] for w in found.values()), default=0)
    if busy > 0.1:
        console.print(
            f"[bold red]other processes used up to {busy:.0%} of the machine during these runs: "
            "wall-clock timings are inflated[/]"
        )
    if seg is not None:
        steps = Table(title="where segmint's full build spends its time (materialised tables)")
        for header in ("stage", "step", "s"):
            steps.add_column(header, justify="right" if header == "s" else "left")
        for stage in ("profile", "tags"):
            for step, seconds in seg["steps"][stage][:6]:
                steps.add_row(stage, step, f"{seconds:.2f}")
        console.print(steps)
    if inc is not None and inc["mode"] != "incremental":
        console.print(f"[bold red]the refresh ran as a full build: {inc['reason']}[/]")
    bad = [c for c in checks if not c[1]]
    if checks:
        check_table = Table(title="equivalence (same traits, same tags?)")
        for header in ("check", "same?", "values"):
            check_table.add_column(header, justify="center" if header == "same?" else "left")
        for what, ok, shown in checks:
            check_table.add_row(what, "[green]yes[/]" if ok else "[bold red]NO[/]", shown)
        console.print(check_table)
    if bad:
        console.print(f"[bold white on red] MISMATCH: {len(bad)} check(s) differ [/]")
    return {"stages": rows}


def _stage_seconds(data: dict[str, Any], stage: str) -> float:
    seconds = data["seconds"]
    if stage == "total":
        return float(seconds["profile"] + seconds["tags"])
    return float(seconds[stage])


# ------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_CUSTOMERS:,} customers")
    parser.add_argument("--no-check", action="store_true", help="skip the equality check")
    parser.add_argument(
        "--no-incremental", action="store_true", help="skip the incremental refresh"
    )
    parser.add_argument(
        "--touch-share",
        type=float,
        default=TOUCH_SHARE,
        help="share of customers edited before the refresh (default 0.01)",
    )
    parser.add_argument(
        "--max-rss-gb",
        type=float,
        default=round(0.75 * memory_total_mb() / 1024, 1) or 16.0,
        help="kill a worker whose memory passes this (default: 75%% of RAM)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.project, args.out, args.touch_share)
        return 0

    customers = QUICK_CUSTOMERS if args.quick else args.customers
    data = BENCH / "data" / str(customers)
    if not (data / "bench.yml").exists():
        parser.error(f"no bench company at {data}; run bench/run.py --customers {customers}")
    ensure_warehouse(data)
    project = write_profiles_project(data)
    out = BENCH / "results" / str(customers)
    out.mkdir(parents=True, exist_ok=True)
    names = [w for w in WORKERS if not (args.no_incremental and w == "segmint-incremental")]
    found: dict[str, dict[str, Any]] = {}
    try:
        for name in names:
            if name == "segmint-incremental" and "segmint-full" not in found:
                continue
            print(f"profiles: {name} ...", flush=True)
            written, stats, tail = spawn(
                name, project, out, args.touch_share, args.max_rss_gb * 1024
            )
            if written is None:
                print(f"profiles: {name} FAILED after {stats['wall_s']:.0f}s; log tail:\n{tail}")
                continue
            found[name] = {**written, "process": stats}
            print(f"profiles: {name} done in {stats['wall_s']:.0f}s", flush=True)
    finally:
        discard_runs(project)
    checks: list[tuple[str, bool, str]] = []
    if not args.no_check and "segmint-full" in found and "pandas" in found:
        import pandas as pd

        read = lambda name: pd.read_parquet(out / name)  # noqa: E731
        checks = compare_profiles(
            read("profiles-segmint.parquet"),
            read("profiles-pandas.parquet"),
            read("profile-tags-segmint.parquet"),
            read("profile-tags-pandas.parquet"),
        )
        same_tags = found["segmint-full"]["tags"] == found["pandas"]["tags"]
        checks.append(
            (
                "tags evaluated",
                same_tags,
                f"{len(found['pandas']['tags'])} on both sides; {len(SKIPPED_TAGS)} skipped "
                "(their traits need sources the bench leaves out)",
            )
        )
    document = {
        "customers": customers,
        **report(customers, found, checks),
        "workers": found,
        "checks": [{"check": c, "same": ok, "values": v} for c, ok, v in checks],
        "equivalent": all(ok for _, ok, _ in checks) if checks else None,
        "skipped_tags": SKIPPED_TAGS,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    write_json(out / "profiles.json", document)
    print(f"wrote {out / 'profiles.json'}")
    failed = len(found) < len(names) or any(not ok for _, ok, _ in checks)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
