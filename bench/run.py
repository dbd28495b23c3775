"""Benchmark: segmint vs plain pandas vs hand-written DuckDB SQL on ingest → identity → RFM.

    .venv/bin/python bench/run.py                    # 1,000,000 customers (~20M orders)
    .venv/bin/python bench/run.py --quick            # 20,000 customers
    .venv/bin/python bench/run.py --customers 200000 --only segmint,sql

The company is generated once into bench/data/<N>/ (kept between runs). Every
implementation runs in its own subprocess on the same files (the CRM members plus the online
and store orders), so its peak memory is its own; the table compares stage times, ratios
against the floors, peak memory, and checks that all three produced the same result. Then
`identity.py` times segmint's identity stage with probabilistic matching on against a plain
Python union-find on the same edges (`--identity-only` runs just that).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from common import (
    BENCH_ENTITIES,
    PER_CUSTOMER_SQL,
    SEGMINT_DB,
    STAGES,
    Summary,
    compare,
    cpu_seconds_self,
    load_spec,
    machine_busy_seconds,
    memory_total_mb,
    peak_rss_mb_self,
    rss_mb,
    wait_with_rusage,
    write_json,
)

if TYPE_CHECKING:
    import pandas as pd

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
IMPLS = ("segmint", "pandas", "sql")
#: The identity benchmark's workers (identity.py): segmint's identity stage with
#: probabilistic matching, and a plain Python union-find on the same edges.
IDENTITY_WORKERS = ("identity-segmint", "identity-unionfind")
#: The issue's floor for identity at 1M customers, deterministic + probabilistic, 2 cores.
IDENTITY_FLOOR_S = 60.0
#: segmint must be at least this many times faster than pandas on each stage ...
PANDAS_FLOOR = 2.5
#: ... and at most this many times slower than the hand-written SQL.
SQL_FLOOR = 1.5
QUICK_CUSTOMERS = 20_000
DEFAULT_CUSTOMERS = 1_000_000


# ---------------------------------------------------------------------------- the data


def generate(customers: int, seed: int, out: Path) -> None:
    """Generate the company once (skipped when `out` already holds one)."""
    if (out / "segmint.yml").exists():
        print(f"data: reusing {out}")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    segmint = Path(sys.executable).parent / "segmint"
    command = [str(segmint), "generate", "--customers", str(customers), "--seed", str(seed)]
    print(f"data: generating {customers:,} customers into {out} ...", flush=True)
    start = time.perf_counter()
    subprocess.run([*command, "--out", str(out)], check=True)
    print(f"data: generated in {time.perf_counter() - start:.0f}s", flush=True)


def write_bench_project(data: Path) -> Path:
    """A copy of the generated segmint.yml with only the customers and orders sources."""
    doc = yaml.safe_load((data / "segmint.yml").read_text(encoding="utf-8"))
    doc["sources"] = [s for s in doc["sources"] if s["entity"] in BENCH_ENTITIES]
    # Both DuckDB implementations (segmint and the SQL version) get the same memory limit,
    # half the machine's memory, leaving room for the OS and other work on the machine.
    limit_gb = max(1, int(memory_total_mb() / 1024 / 2))
    doc["warehouse"] = {"engine": "duckdb", "path": SEGMINT_DB, "memory_limit": f"{limit_gb}GB"}
    # The pandas and SQL versions are deterministic; segmint's Splink step is timed on its
    # own by the identity benchmark (identity.py).
    identity = doc.get("identity") or {}
    doc["identity"] = {**identity, "probabilistic": {"enabled": False}}
    doc["predict"] = {"enabled": False}  # models have their own benches
    doc["clustering"] = {"enabled": False}  # so has clustering (bench/cluster.py)
    if not doc.get("as_of"):  # every implementation must judge "future" against the same time
        doc["as_of"] = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0).isoformat()
    path = data / "bench.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# ----------------------------------------------------------------------- the workers


def run_segmint(project: Path) -> tuple[Summary, Any]:
    """segmint's pipeline on the bench project; returns its summary and a DuckDB handle."""
    import duckdb

    from segmint import Project

    database = project.parent / SEGMINT_DB
    for stale in (database, database.with_suffix(database.suffix + ".wal")):
        stale.unlink(missing_ok=True)
    clock = StageCpu()
    manifest = Project.load(project).run(report=False, progress=clock)
    cpu = clock.per_stage(cpu_seconds_self())
    seconds = {s.stage: s.seconds for s in manifest.stages}

    def compared(per: dict[str, float]) -> dict[str, float]:
        return {
            "ingest": per["ingest"] + per["conform"] + per["quality"],
            "identity": per["identity"],
            "rfm": per["rfm"],
        }

    stages = compared(seconds)
    con = duckdb.connect(str(database), read_only=True)

    def one(sql: str) -> Any:
        row: Any = con.execute(sql).fetchone()
        return row[0]

    from common import SourceCounts

    sources = {}
    for s in manifest.sources:
        rules = con.execute(
            "SELECT rule, count(*) FROM quarantine WHERE source = ? GROUP BY rule", [s.source]
        ).fetchall()
        sources[s.source] = SourceCounts(
            s.rows_read, s.rows_loaded, s.rows_quarantined, {str(r): int(n) for r, n in rules}
        )
    segments = con.execute("SELECT segment, count(*) FROM rfm GROUP BY segment").fetchall()
    orphans = con.execute("SELECT source, orphans FROM quality_sources").fetchall()
    hub_reasons = con.execute(
        "SELECT reason, count(*) FROM identity_hubs GROUP BY reason"
    ).fetchall()
    kinds = list(load_spec(project).identifiers)
    # segmint keeps its signature nodes in a temporary table; count them the same way.
    anonymous = " AND ".join(f"{k} IS NULL" for k in kinds)
    nodes = " UNION ".join(
        f"SELECT DISTINCT {', '.join(kinds)} FROM {e} WHERE NOT ({anonymous})"
        for e in BENCH_ENTITIES
    )
    summary = Summary(
        impl="segmint",
        stages=stages,
        sources=sources,
        records=int(one("SELECT count(*) FROM identity_map")),
        customers=int(one("SELECT count(DISTINCT customer_id) FROM identity_map")),
        hubs=int(one("SELECT count(*) FROM identity_hubs")),
        iterations=0,  # not reported by segmint's manifest
        rfm_rows=int(one("SELECT count(*) FROM rfm")),
        segments={str(k): int(v) for k, v in segments},
        frequency_total=int(one("SELECT coalesce(sum(frequency), 0) FROM rfm")),
        monetary_total=float(one("SELECT coalesce(sum(monetary), 0) FROM rfm")),
        cpu=compared(cpu),
        orphans={str(k): int(v) for k, v in orphans},
        extra={
            "publish": seconds.get("publish", 0.0),
            "segmint_stages": seconds,
            "segmint_stages_cpu": cpu,
        },
        unresolved=int(one("SELECT count(*) FROM identity_map WHERE customer_id IS NULL")),
        nodes=int(one(f"SELECT count(*) FROM ({nodes})")),
        hub_reasons={str(k): int(v) for k, v in hub_reasons},
        # Components found oversized before any cut (later rounds split their parts further).
        components_split=int(
            one(f"SELECT count(*) FROM identity_splits WHERE cut = '{kinds[-1]}'")
        ),
    )
    return summary, con


def worker(impl: str, project: Path, result: Path, per_customer: Path | None) -> None:
    """Run one implementation in this process and write its summary (and per-customer RFM).

    The summary's peak memory is taken before the per-customer extract, which only serves
    the equivalence check.
    """
    start = time.perf_counter()
    if impl in IDENTITY_WORKERS:
        import identity

        if impl == "identity-segmint":
            data = identity.segmint_identity(project)
        else:
            data = identity.unionfind_identity(project)
        data["worker_seconds"] = time.perf_counter() - start
        write_json(result, data)
        return
    spec = load_spec(project)
    work = project.parent / "work"
    extract: Callable[[], pd.DataFrame]
    if impl == "segmint":
        summary, con = run_segmint(project)

        def extract() -> pd.DataFrame:
            return con.execute(PER_CUSTOMER_SQL).df()

    elif impl == "pandas":
        import pandas_impl

        out = pandas_impl.run(spec)
        summary = out.summary

        def extract() -> pd.DataFrame:
            return pandas_impl.per_customer(out)

    elif impl == "sql":
        import sql_impl

        sql_out = sql_impl.run(spec, work / "bench-sql.duckdb", work)
        summary = sql_out.summary

        def extract() -> pd.DataFrame:
            return sql_impl.per_customer(sql_out.con)

    else:
        raise SystemExit(f"unknown implementation {impl!r}; use one of {', '.join(IMPLS)}")
    summary.extra["worker_seconds"] = time.perf_counter() - start
    summary.peak_rss_mb = peak_rss_mb_self()
    write_json(result, summary.to_json())
    if per_customer is not None:
        extract().to_parquet(per_customer, index=False)


# ---------------------------------------------------------------------------- parent


def segmint_version() -> dict[str, Any]:
    """The commit segmint was benchmarked at, and whether src/ had uncommitted changes."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
            )
        except (OSError, subprocess.CalledProcessError):
            return ""
        return done.stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "src_changes": git("status", "--porcelain", "src")}


class StageCpu:
    """A segmint progress sink that notes the CPU time at the start of every stage."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, float]] = []

    def stage(self, name: str, total: int | None = None) -> None:
        """A stage starts."""
        self.marks.append((name, cpu_seconds_self()))

    def advance(self, detail: str = "") -> None:
        """Steps are not timed."""

    def per_stage(self, end: float) -> dict[str, float]:
        """CPU seconds of each stage, the last one ending at `end`."""
        ends = [t for _, t in self.marks[1:]] + [end]
        return {name: stop - start for (name, start), stop in zip(self.marks, ends, strict=True)}


def spawn(
    impl: str, project: Path, out: Path, deep: bool, profile: bool, max_rss_mb: float
) -> tuple[dict[str, Any] | None, dict[str, float], str]:
    """Run one worker in a subprocess; (the JSON it wrote, process stats, log tail).

    A watchdog kills the child (by its pid) if its memory passes `max_rss_mb`, so that a
    run too big for the machine fails alone instead of waking the kernel's OOM killer.
    """
    result = out / f"{impl}.json"
    result.unlink(missing_ok=True)
    log = out / f"{impl}.log"
    command = [sys.executable, str(Path(__file__)), "--worker", impl, "--project", str(project)]
    command += ["--result", str(result)]
    if deep:
        command += ["--per-customer", str(out / f"{impl}.parquet")]
    if profile:
        command += ["--profile-out", str(out / f"{impl}.pstats")]
    start = time.perf_counter()
    busy = machine_busy_seconds()
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
        watchdog = threading.Thread(target=watch, args=(process.pid,), daemon=True)
        watchdog.start()
        code, peak_mb, cpu = wait_with_rusage(process.pid)
        done.set()
        process.returncode = code
    wall = time.perf_counter() - start
    others = max(0.0, machine_busy_seconds() - busy - cpu)
    stats = {
        "wall_s": wall,
        "peak_rss_mb": peak_mb,
        "cpu_s": cpu,
        "other_processes_cpu_s": others,
        "machine_share_used_by_others": others / (wall * (os.cpu_count() or 1)),
    }
    tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-25:])
    if killed:
        tail += f"\nkilled by the bench: {killed[0]:,.0f} MB resident > {max_rss_mb:,.0f} MB"
        stats["killed_at_rss_mb"] = killed[0]
    if not result.exists():
        return None, stats, tail
    # The summary is written when the pipeline is done; a later failure (the per-customer
    # extract) is shown but does not discard the timings.
    if code != 0:
        stats["exit_code"] = code
    data = json.loads(result.read_text(encoding="utf-8"))
    stats["pipeline_peak_rss_mb"] = data["peak_rss_mb"]
    return data, stats, tail


def deep_check(out: Path, impls: list[str]) -> list[tuple[str, bool, str]]:
    """Per-customer frequency and monetary, customers matched by their first record."""
    import pandas as pd

    paths = {i: out / f"{i}.parquet" for i in impls}
    frames = {i: pd.read_parquet(path) for i, path in paths.items() if path.exists()}
    if "segmint" not in frames or len(frames) < 2:
        return []
    base = frames.pop("segmint")
    checks = []
    for impl, other in frames.items():
        joined = base.merge(other, on="anchor", how="outer", suffixes=("_segmint", "_other"))
        missing = int(joined.frequency_segmint.isna().sum() + joined.frequency_other.isna().sum())
        freq = int((joined.frequency_segmint != joined.frequency_other).sum()) - missing
        money = int(((joined.monetary_segmint - joined.monetary_other).abs() > 0.005).sum())
        ok = missing == 0 and freq == 0 and money == 0
        checks.append(
            (
                f"per customer: segmint vs {impl}",
                ok,
                f"{len(base):,} customers; unmatched {missing}, frequency differs {freq}, "
                f"monetary differs {money}",
            )
        )
    return checks


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def report(
    customers: int,
    summaries: dict[str, Summary],
    process: dict[str, dict[str, Any]],
    checks: list[tuple[str, bool, str]],
) -> dict[str, Any]:
    """Print the comparison and return it as JSON-ready data."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 132)
    orders = sum(
        c.rows_read for s in summaries.values() for name, c in s.sources.items() if "order" in name
    ) // max(1, len(summaries))
    table = Table(
        title=f"segmint bench: {customers:,} customers, ~{orders:,} order rows "
        f"(floors: pandas/segmint ≥ {PANDAS_FLOOR}, segmint/sql ≤ {SQL_FLOOR})"
    )
    for header in ("stage", "segmint s", "pandas s", "sql s", "pandas/segmint", "segmint/sql"):
        table.add_column(header, justify="right" if header != "stage" else "left")
    table.add_column("floor met?", justify="center")
    rows: list[dict[str, Any]] = []

    def seconds(impl: str, stage: str) -> float | None:
        s = summaries.get(impl)
        if s is None:
            return None
        if stage == "total":
            return sum(s.stages.get(x, 0.0) for x in STAGES)
        return s.stages.get(stage)

    def fmt(value: float | None, spec: str = ".2f") -> str:
        return "-" if value is None else format(value, spec)

    for stage in (*STAGES, "total"):
        seg, pan, sql = (seconds(i, stage) for i in IMPLS)
        vs_pandas = ratio(pan, seg)
        vs_sql = ratio(seg, sql)
        met_pandas = None if vs_pandas is None else vs_pandas >= PANDAS_FLOOR
        met_sql = None if vs_sql is None else vs_sql <= SQL_FLOOR
        verdicts = [v for v in (met_pandas, met_sql) if v is not None]
        if not verdicts:
            verdict = "-"
        elif all(verdicts):
            verdict = "[green]yes[/]"
        else:
            failed = [n for n, v in (("pandas", met_pandas), ("sql", met_sql)) if v is False]
            verdict = "[red]NO[/] (" + ", ".join(failed) + ")"
        table.add_row(
            stage,
            fmt(seg),
            fmt(pan),
            fmt(sql),
            fmt(vs_pandas, ".2f") + ("×" if vs_pandas else ""),
            fmt(vs_sql, ".2f") + ("×" if vs_sql else ""),
            verdict if stage != "total" else verdict.replace("NO", "no"),
        )
        rows.append(
            {
                "stage": stage,
                "segmint_s": seg,
                "pandas_s": pan,
                "sql_s": sql,
                "pandas_over_segmint": vs_pandas,
                "segmint_over_sql": vs_sql,
                "pandas_floor_met": met_pandas,
                "sql_floor_met": met_sql,
            }
        )
    console.print(table)

    resources = Table(title="per implementation (each in its own process)")
    for header in ("", "peak RSS MB", "CPU s", "process wall s", "machine used by others", "notes"):
        resources.add_column(header, justify="right" if header not in ("", "notes") else "left")
    for impl in IMPLS:
        p = process.get(impl)
        if p is None:
            continue
        notes = []
        s = summaries.get(impl)
        if s is None:
            notes.append("[red]FAILED[/]")
            if "killed_at_rss_mb" in p:
                notes.append(f"killed at {p['killed_at_rss_mb']:,.0f} MB")
        elif impl == "segmint":
            notes.append(f"+ publish {s.extra.get('publish', 0):.2f}s (not compared)")
        if "exit_code" in p:
            notes.append(f"[red]exited with {p['exit_code']} after its summary (see log)[/]")
        if "reused_from" in p:
            notes.append(f"[yellow]reused from {p['reused_from']}[/]")
        peak = p.get("pipeline_peak_rss_mb", p["peak_rss_mb"])
        if p["peak_rss_mb"] > peak * 1.05:
            notes.append(f"{p['peak_rss_mb']:,.0f} MB with the equivalence extract")
        share = p.get("machine_share_used_by_others", 0.0)
        resources.add_row(
            impl,
            f"{peak:,.0f}",
            f"{p['cpu_s']:.1f}",
            f"{p['wall_s']:.1f}",
            f"[red]{share:.0%}[/]" if share > 0.1 else f"{share:.0%}",
            "; ".join(notes),
        )
    console.print(resources)
    if any(p.get("machine_share_used_by_others", 0.0) > 0.1 for p in process.values()):
        console.print(
            "[bold red]other processes used more than 10% of the machine during a run: "
            "wall-clock timings are inflated; compare CPU seconds below, or re-run on a quiet "
            "machine[/]"
        )

    cpu_table = Table(title="CPU seconds per stage (user + system, all threads)")
    for header in ("stage", "segmint", "pandas", "sql", "pandas/segmint", "segmint/sql"):
        cpu_table.add_column(header, justify="right" if header != "stage" else "left")
    cpu_rows = []
    for stage in (*STAGES, "total"):
        values: list[float | None] = []
        for impl in IMPLS:
            summary = summaries.get(impl)
            if summary is None or not summary.cpu:
                values.append(None)
            elif stage == "total":
                values.append(sum(summary.cpu.get(x, 0.0) for x in STAGES))
            else:
                values.append(summary.cpu.get(stage))
        seg, pan, sql = values
        cpu_table.add_row(
            stage,
            fmt(seg, ".1f"),
            fmt(pan, ".1f"),
            fmt(sql, ".1f"),
            fmt(ratio(pan, seg)) + "×",
            fmt(ratio(seg, sql)) + "×",
        )
        cpu_rows.append(
            {
                "stage": stage,
                "segmint_cpu_s": seg,
                "pandas_cpu_s": pan,
                "sql_cpu_s": sql,
                "pandas_over_segmint": ratio(pan, seg),
                "segmint_over_sql": ratio(seg, sql),
            }
        )
    console.print(cpu_table)

    bad = [c for c in checks if not c[1]]
    if checks:
        check_table = Table(title="equivalence (same work, same answers?)")
        check_table.add_column("check")
        check_table.add_column("same?", justify="center")
        check_table.add_column("values")
        for what, ok, shown in checks:
            check_table.add_row(what, "[green]yes[/]" if ok else "[bold red]NO[/]", shown)
        console.print(check_table)
    if bad:
        console.print(
            f"[bold white on red] EQUIVALENCE MISMATCH: {len(bad)} check(s) differ — the "
            "timings above do not compare the same work [/]"
        )
    elif checks:
        console.print("[green]all equivalence checks agree[/]")
    return {
        "customers": customers,
        "orders_read": orders,
        "floors": {"pandas_over_segmint_min": PANDAS_FLOOR, "segmint_over_sql_max": SQL_FLOOR},
        "stages": rows,
        "cpu_stages": cpu_rows,
        "process": process,
        "summaries": {k: v.to_json() for k, v in summaries.items()},
        "checks": [{"check": c, "same": ok, "values": v} for c, ok, v in checks],
        "equivalent": not bad,
    }


def identity_bench(
    customers: int, project: Path, out: Path, max_rss_mb: float, version: dict[str, Any]
) -> dict[str, Any] | None:
    """segmint's identity (deterministic + Splink) vs a Python union-find; print and save."""
    from rich.console import Console
    from rich.table import Table

    found: dict[str, dict[str, Any]] = {}
    for name in IDENTITY_WORKERS:
        print(f"identity: {name} ...", flush=True)
        data, stats, tail = spawn(name, project, out, False, False, max_rss_mb)
        if data is None:
            print(f"identity: {name} FAILED after {stats['wall_s']:.0f}s; log tail:\n{tail}")
            return None
        found[name] = {**data, "process": stats}
        print(f"identity: {name} done in {stats['wall_s']:.0f}s", flush=True)
    seg, uf = found["identity-segmint"], found["identity-unionfind"]
    console = Console(width=None if sys.stdout.isatty() else 132)
    table = Table(
        title=f"identity at {customers:,} customers: {uf['records']:,} source records → "
        f"{uf['nodes']:,} signature nodes ({uf['linked_nodes']:,} linked), "
        f"{uf['edges']:,} hub-free edges to {uf['identifier_values']:,} identifier values"
    )
    for header in ("", "wall s", "CPU s", "peak RSS MB", "notes"):
        table.add_column(header, justify="left" if header in ("", "notes") else "right")
    table.add_row(
        "segmint identity, deterministic + probabilistic",
        f"{seg['seconds']:.2f}",
        f"{seg['cpu_s']:.1f}",
        f"{seg['peak_rss_mb']:,.0f}",
        f"{seg['customers']:,} customers, {seg['unresolved']:,} unresolved records",
    )
    table.add_row(
        "  of which deterministic",
        f"{seg['deterministic_s']:.2f}",
        f"{seg['cpu_s'] - seg['probabilistic_cpu_s']:.1f}",
        "",
        f"{seg['hubs']:,} hubs, {seg['components_split']:,} components split, "
        f"{seg['rounds']} propagation rounds",
    )
    table.add_row(
        "  of which probabilistic (Splink)",
        f"{seg['probabilistic_s']:.2f}",
        f"{seg['probabilistic_cpu_s']:.1f}",
        "",
        f"Splink {seg['splink']['seconds']:.1f}s for {seg['splink']['pairs_scored']:,} pairs; "
        f"{seg['probabilistic_links']:,} component links, {seg['review_pairs']:,} for review"
        if seg["probabilistic_ran"]
        else f"[red]Splink did not run[/] {seg.get('probabilistic_note', '')}",
    )
    table.add_row(
        "Python union-find (the loop)",
        f"{uf['seconds']:.2f}",
        f"{uf['cpu_s']:.1f}",
        f"{uf['peak_rss_mb']:,.0f}",
        f"{uf['checks']['uf_components']:,} components before merge protection",
    )
    table.add_row(
        "  + loading the edges into Python lists",
        f"{uf['seconds'] + uf['load_s']:.2f}",
        "",
        "",
        f"edges built in DuckDB in {uf['graph_build_s']:.1f}s (not counted)",
    )
    console.print(table)
    busy = max(
        seg["process"]["machine_share_used_by_others"],
        uf["process"]["machine_share_used_by_others"],
    )
    if busy > 0.1:
        console.print(
            f"[bold red]other processes used up to {busy:.0%} of the machine during these runs: "
            "wall-clock timings are inflated[/]"
        )
    total_ratio = ratio(seg["seconds"], uf["seconds"])
    det_ratio = ratio(seg["deterministic_s"], uf["seconds"])
    floor_met = seg["seconds"] < IDENTITY_FLOOR_S and seg["probabilistic_ran"]
    console.print(
        f"segmint / union-find: {total_ratio or 0:.2f}× (deterministic part alone "
        f"{det_ratio or 0:.2f}×); floor (< {IDENTITY_FLOOR_S:.0f} s, both stages): "
        + ("[green]met[/]" if floor_met else "[red]NOT met[/]")
        + (f" at {customers:,} customers" if customers != DEFAULT_CUSTOMERS else "")
    )
    checks = uf["checks"]
    shown = ", ".join(f"{k} {v:,}" for k, v in checks.items())
    if uf["agrees"]:
        console.print(f"[green]union-find components agree with segmint's[/] ({shown})")
    else:
        console.print(f"[bold white on red] IDENTITY MISMATCH: union-find vs segmint ({shown}) [/]")
    document = {
        "customers": customers,
        "floor_s": IDENTITY_FLOOR_S,
        "floor_met": floor_met,
        "segmint_over_unionfind": total_ratio,
        "deterministic_over_unionfind": det_ratio,
        "agrees": uf["agrees"],
        "segmint": seg,
        "unionfind": uf,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "segmint_version": version,
    }
    write_json(out / "identity.json", document)
    print(f"wrote {out / 'identity.json'}")
    return document


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_CUSTOMERS:,} customers")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", default=",".join(IMPLS), help="e.g. segmint,sql")
    parser.add_argument(
        "--no-deep-check", action="store_true", help="skip the per-customer comparison"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="show the implementations left out by --only from this size's last results",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile each worker")
    parser.add_argument(
        "--max-rss-gb",
        type=float,
        default=round(0.75 * memory_total_mb() / 1024, 1) or 16.0,
        help="kill an implementation whose memory passes this (default: 75%% of RAM)",
    )
    parser.add_argument(
        "--no-identity",
        action="store_true",
        help="skip the identity benchmark (segmint identity with Splink vs a union-find)",
    )
    parser.add_argument(
        "--identity-only",
        action="store_true",
        help="run only the identity benchmark, on the warehouse of this size's last segmint run",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--per-customer", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        if args.profile_out is not None:
            profiler = cProfile.Profile()
            profiler.runcall(worker, args.worker, args.project, args.result, args.per_customer)
            profiler.dump_stats(args.profile_out)
        else:
            worker(args.worker, args.project, args.result, args.per_customer)
        return 0

    customers = QUICK_CUSTOMERS if args.quick else args.customers
    impls = [i.strip() for i in args.only.split(",") if i.strip()] if not args.identity_only else []
    unknown = sorted(set(impls) - set(IMPLS))
    if unknown:
        parser.error(f"unknown implementation(s) {', '.join(unknown)}; use {', '.join(IMPLS)}")
    version = segmint_version()
    dirty = " (+ uncommitted changes in src/)" if version["src_changes"] else ""
    print(f"segmint at {version['commit'][:10] or 'unknown commit'}{dirty}")
    data = BENCH / "data" / str(customers)
    generate(customers, args.seed, data)
    project = write_bench_project(data)
    out = BENCH / "results" / str(customers)
    out.mkdir(parents=True, exist_ok=True)
    if args.identity_only:
        if not (data / SEGMINT_DB).exists():
            parser.error(f"--identity-only needs a segmint bench run at {customers:,} first")
        found = identity_bench(customers, project, out, args.max_rss_gb * 1024, version)
        return 0 if found is not None and found["agrees"] else 1

    summaries: dict[str, Summary] = {}
    process: dict[str, dict[str, Any]] = {}
    if args.reuse and (out / "result.json").exists():
        last = json.loads((out / "result.json").read_text(encoding="utf-8"))
        for impl in IMPLS:
            if impl not in impls and impl in last["summaries"]:
                summaries[impl] = Summary.from_json(last["summaries"][impl])
                process[impl] = {**last["process"][impl], "reused_from": last["generated_at"]}
                print(f"run: {impl} reused from the run of {last['generated_at']}")
    for impl in impls:
        print(f"run: {impl} ...", flush=True)
        written, stats, tail = spawn(
            impl, project, out, not args.no_deep_check, args.profile, args.max_rss_gb * 1024
        )
        process[impl] = stats
        if written is None:
            print(f"run: {impl} FAILED after {stats['wall_s']:.0f}s; log tail:\n{tail}")
            continue
        summary = summaries[impl] = Summary.from_json(written)
        stages = ", ".join(f"{k} {v:.1f}s" for k, v in summary.stages.items())
        others = stats["machine_share_used_by_others"]
        print(
            f"run: {impl} done in {stats['wall_s']:.0f}s ({stages}); "
            f"other processes used {others:.0%} of the machine meanwhile",
            flush=True,
        )

    ordered = [summaries[i] for i in IMPLS if i in summaries]
    checks = compare(ordered)
    if not args.no_deep_check:
        checks += deep_check(out, list(summaries))
    document = report(customers, summaries, process, checks)
    document["generated_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    document["machine"] = {
        "cpus": os.cpu_count(),
        "memory_mb": round(memory_total_mb()),
        "python": sys.version.split()[0],
    }
    document["segmint_version"] = version  # as the run started
    identity_ok = True
    if "segmint" in impls and "segmint" in summaries and not args.no_identity:
        found = identity_bench(customers, project, out, args.max_rss_gb * 1024, version)
        document["identity"] = found
        identity_ok = found is not None and found["agrees"]
    write_json(BENCH / "results" / "latest.json", document)
    write_json(out / "result.json", document)
    print(f"wrote {BENCH / 'results' / 'latest.json'}")
    failed = any(i not in summaries for i in impls)
    return 1 if failed or not document["equivalent"] or not identity_ok else 0


if __name__ == "__main__":
    sys.exit(main())
