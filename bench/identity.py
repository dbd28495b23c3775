"""Identity at scale: segmint's identity stage against a plain Python union-find.

The issue asks that `make bench` time identity on the 1M-customer company, with peak memory
and the ratio against "a straightforward Python union-find on the same edges", and sets a
floor: under 60 s, deterministic and probabilistic stages both included, on 2 cores.

Both workers start from the warehouse segmint's bench run left behind (its conformed
`customers` and `orders`, and its published deterministic `identity_map`, `identity_hubs`
and `identity_splits`; `bench.yml` turns probabilistic matching off for the three-way
comparison):

- `segmint_identity` runs segmint's `resolve_identity` again on those tables with
  probabilistic matching **on**, as a separate run whose tables are dropped afterwards, and
  times it as a whole and its probabilistic step alone.
- `unionfind_identity` builds the same graph segmint does — one signature node per distinct
  combination of identifiers, an edge from each node to each of its identifier values,
  minus segmint's hub values — in DuckDB (not timed), loads the edges into Python lists
  (timed apart) and runs a textbook union-find over them: a parent list with path
  compression, union by rank, one pure-Python loop over the edge list (timed).

The union-find answer is then checked against segmint's deterministic components. Those are
the union-find components after segmint's merge protection (components holding more member
ids than allowed are split on their weakest identifier types), so the check is: the same
records are unresolved; every segmint customer lies inside one union-find component; the
union-find components holding too many member ids are exactly the components segmint
reports in `identity_splits`; and only those are divided. Node numbers are segmint's (row
number by signature text), so a split component is named by the same smallest node on both
sides.
"""

from __future__ import annotations

import contextlib
import importlib
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from common import SEGMINT_DB, cpu_seconds_self, load_spec, peak_rss_mb_self

#: segmint's identity run in this benchmark is tagged with this run id (its tables are
#: dropped afterwards); it matches segmint's run-table pattern.
RUN_ID = "identitybench"
ENTITIES_WITH_IDS = ("customers", "orders")


def segmint_identity(project: Path) -> dict[str, Any]:
    """segmint's identity stage with probabilistic matching on, timed; returns its numbers."""
    from segmint import Project
    from segmint.identity import resolve

    loaded = Project.load(project)
    settings = loaded.loaded.spec.identity
    settings = settings.model_copy(
        update={"probabilistic": settings.probabilistic.model_copy(update={"enabled": True})}
    )
    events: list[tuple[float, str]] = []
    probabilistic: dict[str, float] = {}
    original = resolve._probabilistic

    def timed_probabilistic(*args: Any, **kwargs: Any) -> Any:
        start, cpu = time.perf_counter(), cpu_seconds_self()
        try:
            return original(*args, **kwargs)
        finally:
            probabilistic["seconds"] = time.perf_counter() - start
            probabilistic["cpu"] = cpu_seconds_self() - cpu

    resolve._probabilistic = timed_probabilistic
    # Splink's part of the step (scoring pairs), wherever resolve looks the matcher up.
    splink: dict[str, Any] = {}
    holders: list[Any] = [resolve]
    with contextlib.suppress(ModuleNotFoundError):  # resolve skips the step too
        holders.append(importlib.import_module("segmint.identity.probabilistic"))
    holders = [h for h in holders if hasattr(h, "match_records")]
    match_records = holders[0].match_records if holders else None

    def timed_match(*args: Any, **kwargs: Any) -> Any:
        assert match_records is not None
        start = time.perf_counter()
        outcome = match_records(*args, **kwargs)
        splink["seconds"] = time.perf_counter() - start
        splink["pairs_scored"] = outcome.pairs_scored
        splink["links"] = outcome.links_count
        splink["u_sample_records"] = outcome.u_sample_records
        return outcome

    for holder in holders:
        holder.match_records = timed_match
    with loaded.engine() as engine:
        engine.discard_run(RUN_ID)
        tables = {name: name for name in ENTITIES_WITH_IDS if engine.exists(name)}
        start, cpu = time.perf_counter(), cpu_seconds_self()
        result = resolve.resolve_identity(
            engine,
            RUN_ID,
            tables,
            settings,
            progress=lambda detail: events.append((time.perf_counter() - start, detail)),
        )
        seconds, cpu = time.perf_counter() - start, cpu_seconds_self() - cpu
        peak = peak_rss_mb_self()
        engine.discard_run(RUN_ID)
    resolve._probabilistic = original
    for holder in holders:
        holder.match_records = match_records
    prob_seconds = probabilistic.get("seconds", 0.0)
    return {
        "seconds": seconds,
        "cpu_s": cpu,
        "deterministic_s": seconds - prob_seconds,
        "probabilistic_s": prob_seconds,
        "probabilistic_cpu_s": probabilistic.get("cpu", 0.0),
        "probabilistic_ran": "seconds" in splink,
        "splink": splink,
        "probabilistic_note": result.extra.get("probabilistic", ""),
        "peak_rss_mb": peak,
        "records": result.records,
        "unresolved": result.unresolved,
        "customers": result.customers,
        "hubs": result.hubs_blocked,
        "components_split": result.components_split,
        "probabilistic_links": result.probabilistic_links,
        "review_pairs": result.review_pairs,
        "rounds": result.iterations,
        "progress": [[round(t, 3), d] for t, d in events],
    }


def union_find(n_vertices: int, left: list[int], right: list[int]) -> list[int]:
    """The root of every vertex after joining `left[i]` and `right[i]` for every i.

    A parent list with path compression (two passes) and union by rank; plain Python.
    """
    parent = list(range(n_vertices))
    rank = [0] * n_vertices

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in zip(left, right, strict=True):
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        if rank[ra] < rank[rb]:
            ra, rb = rb, ra
        parent[rb] = ra
        if rank[ra] == rank[rb]:
            rank[ra] += 1
    return [find(x) for x in range(n_vertices)]


def _graph_sql(kinds: list[str]) -> list[str]:
    """Records, signature nodes and hub-free edges, as segmint's identity builds them."""
    sig = " || '|' || ".join(f"coalesce({k}, '')" for k in kinds)
    anonymous = " AND ".join(f"{k} IS NULL" for k in kinds)
    records = " UNION ALL ".join(
        f"SELECT {name!r} AS entity, source, record_key, "
        + ", ".join(f"CAST({k} AS VARCHAR) AS {k}" for k in kinds)
        + f" FROM {name}"
        for name in ENTITIES_WITH_IDS
    )
    return [
        f"""CREATE TEMP TABLE ib_records AS
            SELECT *, CASE WHEN {anonymous} THEN NULL ELSE {sig} END AS sig FROM ({records})""",
        f"""CREATE TEMP TABLE ib_nodes AS
            SELECT sig, {", ".join(kinds)}, row_number() OVER (ORDER BY sig) - 1 AS node
            FROM (SELECT DISTINCT sig, {", ".join(kinds)} FROM ib_records WHERE sig IS NOT NULL)
        """,
        "CREATE TEMP TABLE ib_edges AS "
        + " UNION ALL ".join(
            f"SELECT node, '{k}' AS id_type, {k} AS id_value FROM ib_nodes WHERE {k} IS NOT NULL"
            for k in kinds
        ),
        """CREATE TEMP TABLE ib_links AS
            WITH usable AS (
                SELECT * FROM ib_edges ANTI JOIN identity_hubs USING (id_type, id_value)
            )
            SELECT node, id_type, id_value,
                   dense_rank() OVER (ORDER BY id_type, id_value) - 1 AS idn
            FROM usable""",
    ]


def unionfind_identity(project: Path) -> dict[str, Any]:
    """Python union-find over segmint's hub-free edges, timed, and checked against segmint."""
    spec = load_spec(project)
    kinds = list(spec.identifiers)
    config = {k: v for k, v in spec.duckdb_config.items() if v is not None}
    con = duckdb.connect(str(project.parent / SEGMINT_DB), read_only=True, config=config)
    start = time.perf_counter()
    for sql in _graph_sql(kinds):
        con.execute(sql)
    build_s = time.perf_counter() - start

    def one(sql: str) -> Any:
        row: Any = con.execute(sql).fetchone()
        return row[0]

    n_nodes = int(one("SELECT count(*) FROM ib_nodes"))
    n_ids = int(one("SELECT coalesce(max(idn) + 1, 0) FROM ib_links"))
    start = time.perf_counter()
    arrays = con.execute("SELECT node, idn FROM ib_links").fetchnumpy()
    left: list[int] = arrays["node"].tolist()
    right: list[int] = (arrays["idn"] + n_nodes).tolist()
    del arrays
    load_s = time.perf_counter() - start
    start, cpu = time.perf_counter(), cpu_seconds_self()
    roots = union_find(n_nodes + n_ids, left, right)
    seconds, cpu = time.perf_counter() - start, cpu_seconds_self() - cpu
    peak = peak_rss_mb_self()

    # The check (not timed): union-find components vs segmint's published identity.
    root = np.asarray(roots[:n_nodes], dtype=np.int64)
    linked = np.zeros(n_nodes, dtype=bool)
    linked[np.asarray(left, dtype=np.int64)] = True
    del roots, left, right
    nodes = np.flatnonzero(linked)
    components = root[nodes]
    # Name each component by its smallest node, as segmint's label propagation does.
    order = np.lexsort((nodes, components))
    first = np.r_[True, components[order][1:] != components[order][:-1]]
    smallest = np.repeat(nodes[order][first], np.diff(np.r_[np.flatnonzero(first), len(order)]))
    uf_frame = pd.DataFrame({"node": nodes[order], "component": smallest})
    con.register("ib_uf_frame", uf_frame)
    con.execute("CREATE TEMP TABLE ib_uf AS SELECT * FROM ib_uf_frame")
    limit = spec.max_member_ids_per_customer
    weakest = kinds[-1]
    checks = {
        "uf_components": one("SELECT count(DISTINCT component) FROM ib_uf"),
        "segmint_customers": one("SELECT count(DISTINCT customer_id) FROM identity_map"),
        "unresolved_differ": one(
            """SELECT count(*) FROM ib_records r
               LEFT JOIN ib_nodes n USING (sig) LEFT JOIN ib_uf u USING (node)
               JOIN identity_map m USING (source, record_key)
               WHERE (u.component IS NULL) <> (m.customer_id IS NULL)"""
        ),
        "customers_across_components": one(
            """SELECT count(*) FROM (
                   SELECT m.customer_id FROM ib_records r
                   JOIN ib_nodes n USING (sig) JOIN ib_uf u USING (node)
                   JOIN identity_map m USING (source, record_key)
                   GROUP BY m.customer_id HAVING count(DISTINCT u.component) > 1)"""
        ),
    }
    con.execute(
        f"""CREATE TEMP TABLE ib_oversized AS
            SELECT u.component FROM ib_links l JOIN ib_uf u USING (node)
            WHERE l.id_type = 'member_id'
            GROUP BY u.component HAVING count(DISTINCT l.id_value) > {limit}"""
    )
    con.execute(
        """CREATE TEMP TABLE ib_divided AS
           SELECT u.component FROM ib_records r
           JOIN ib_nodes n USING (sig) JOIN ib_uf u USING (node)
           JOIN identity_map m USING (source, record_key)
           GROUP BY u.component HAVING count(DISTINCT m.customer_id) > 1"""
    )
    con.execute(
        f"CREATE TEMP TABLE ib_split AS SELECT label AS component FROM identity_splits "
        f"WHERE cut = '{weakest}'"
    )
    checks.update(
        {
            "uf_oversized": one("SELECT count(*) FROM ib_oversized"),
            "segmint_split": one("SELECT count(*) FROM ib_split"),
            "oversized_not_split": one(
                "SELECT count(*) FROM (SELECT component FROM ib_oversized "
                "EXCEPT SELECT component FROM ib_split)"
            ),
            "split_not_oversized": one(
                "SELECT count(*) FROM (SELECT component FROM ib_split "
                "EXCEPT SELECT component FROM ib_oversized)"
            ),
            "divided_not_oversized": one(
                "SELECT count(*) FROM (SELECT component FROM ib_divided "
                "EXCEPT SELECT component FROM ib_oversized)"
            ),
            "uf_divided": one("SELECT count(*) FROM ib_divided"),
        }
    )
    agree = all(
        checks[k] == 0
        for k in (
            "unresolved_differ",
            "customers_across_components",
            "oversized_not_split",
            "split_not_oversized",
            "divided_not_oversized",
        )
    )
    return {
        "seconds": seconds,
        "cpu_s": cpu,
        "load_s": load_s,
        "graph_build_s": build_s,
        "peak_rss_mb": peak,
        "records": int(one("SELECT count(*) FROM ib_records")),
        "nodes": n_nodes,
        "linked_nodes": len(nodes),
        "identifier_values": n_ids,
        "edges": int(one("SELECT count(*) FROM ib_links")),
        "checks": {k: int(v) for k, v in checks.items()},
        "agrees": agree,
    }
