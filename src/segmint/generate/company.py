"""`generate_company`: a whole synthetic retail company, its project file and ground truth."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from segmint.errors import ConfigError
from segmint.generate.catalog import build_catalog
from segmint.generate.chunks import World, run_chunks, stream
from segmint.generate.crm import crm_frame
from segmint.generate.hubs import HubRegistry, register_placeholders
from segmint.generate.marketing import build_campaigns
from segmint.generate.people import MAX_CUSTOMERS, build_people
from segmint.generate.project_file import project_yaml
from segmint.generate.seasons import Calendar, epoch_seconds
from segmint.generate.sources import SOURCES
from segmint.generate.stores import build_stores
from segmint.generate.truth import (
    ATTRITION_COLUMNS,
    FUTURE_COLUMNS,
    INTENT_COLUMNS,
    write_hubs,
    write_persons,
)
from segmint.generate.writers import Closing, CsvSink, SourceWriter, merge_truth

DEFAULT_AS_OF = dt.datetime(2026, 11, 1)
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class GeneratedCompany:
    """What `generate_company` wrote."""

    out_dir: Path
    project_file: Path  # out_dir / "segmint.yml"
    as_of: dt.datetime  # UTC, naive
    row_counts: dict[str, int]  # source name -> data rows written
    bad_rows: int  # rows planted as bad (sum over sources; orphans are not counted)


def _check(customers: object, seed: object) -> None:
    if isinstance(customers, bool) or not isinstance(customers, int):
        raise ConfigError(
            "The 'customers' parameter of generate_company must be an int in "
            f"[1, {MAX_CUSTOMERS}]. Got {customers!r} instead."
        )
    if not 1 <= customers <= MAX_CUSTOMERS:
        raise ConfigError(
            "The 'customers' parameter of generate_company must be an int in "
            f"[1, {MAX_CUSTOMERS}]. Got {customers} instead."
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(
            "The 'seed' parameter of generate_company must be a non-negative int. "
            f"Got {seed!r} instead."
        )


def _utc_naive(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _quiet(step: str, fraction: float) -> None:
    """The default progress callback: say nothing."""


def generate_company(
    out_dir: Path,
    customers: int,
    seed: int,
    as_of: dt.datetime | None = None,
    progress: Progress | None = None,
) -> GeneratedCompany:
    """Write a synthetic Chinese retail company with `customers` persons into `out_dir`.

    Sources (CRM, web orders and lines, GBK store POS export, app events, service tickets,
    NPS answers, consent, campaign responses), a ready `segmint.yml`, and `truth/` (who is
    who, planted bad rows and hubs, purchases after `as_of`, the research sessions planted
    before purchases, the precursors planted before customers leave). The same seed writes the same
    bytes. `as_of` (default 2026-11-01 00:00 UTC) ends a two-year history. `progress`
    receives (step name, overall fraction done in [0, 1]) as work proceeds.
    """
    _check(customers, seed)
    report = progress or _quiet
    as_of = _utc_naive(as_of or DEFAULT_AS_OF)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_dir = out_dir / "truth"
    truth_dir.mkdir(exist_ok=True)
    now = epoch_seconds(as_of)

    report("people", 0.0)
    cal = Calendar(now)
    hubs = HubRegistry()
    placeholders = register_placeholders(hubs)
    stores = build_stores(customers, 2 * customers, seed, stream(seed, "stores"), hubs)
    catalog = build_catalog(stream(seed, "catalog"))
    people = build_people(customers, seed, cal, stores, hubs, stream(seed, "people"), seed)
    campaigns = build_campaigns(cal)
    report("people", 0.05)

    with Closing() as closing:
        writers = {spec.name: SourceWriter(spec, out_dir, people.persona, now) for spec in SOURCES}
        for writer in writers.values():
            closing.add(writer)
        future = CsvSink(truth_dir / "future_orders.csv", FUTURE_COLUMNS)
        intent = CsvSink(truth_dir / "intent.csv", INTENT_COLUMNS)
        attrition = CsvSink(truth_dir / "attrition.csv", ATTRITION_COLUMNS)
        for sink in (future, intent, attrition):
            closing.add(sink)

        def members_and_persons() -> None:
            """Needs only the persons, so it runs beside the chunks."""
            frame = crm_frame(people, stores, cal, hubs, placeholders, stream(seed, "crm"))
            writers["crm_members"].write(frame, stream(seed, "plant"))
            write_persons(truth_dir / "persons.csv", people, stores)

        world = World(
            people,
            cal,
            catalog,
            stores,
            hubs,
            placeholders,
            campaigns,
            seed,
            writers,
            future,
            intent,
            attrition,
        )
        report("orders and events", 0.05)
        with ThreadPoolExecutor(1, thread_name_prefix="segmint-members") as side:
            members = side.submit(members_and_persons)
            run_chunks(
                world,
                lambda finished: report("orders and events", 0.05 + 0.85 * finished / customers),
            )
            members.result()

    report("ground truth", 0.9)
    merge_truth(truth_dir, [spec.name for spec in SOURCES])
    write_hubs(truth_dir / "hubs.csv", hubs)
    row_counts = {name: writer.rows for name, writer in writers.items()}
    bad_rows = sum(writer.bad_count for writer in writers.values())

    project_file = out_dir / "segmint.yml"
    project_file.write_text(project_yaml(as_of, customers, seed), encoding="utf-8")
    report("done", 1.0)
    return GeneratedCompany(
        out_dir=out_dir,
        project_file=project_file,
        as_of=as_of,
        row_counts=row_counts,
        bad_rows=bad_rows,
    )
