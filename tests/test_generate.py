"""The synthetic company generator: reproducible, valid, complete truth, planted behaviour."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import math
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmint.errors import ConfigError
from segmint.generate import GeneratedCompany, generate_company
from segmint.generate.intent import OFFLINE_INTENT
from segmint.generate.marketing import PARTING_UNSUBSCRIBE_SHARE
from segmint.generate.personas import PERSONAS
from segmint.generate.project_file import MAPPINGS
from segmint.generate.service import PARTING_COMPLAINT_SHARE, SOURING_DAYS
from segmint.generate.sources import SOURCES, SourceSpec
from segmint.ingest.encoding import detect_encoding
from segmint.project.entities import ENTITIES
from segmint.project.spec import ProjectSpec

AS_OF = dt.datetime(2026, 11, 1)
SPECS = {spec.name: spec for spec in SOURCES}
PERSON_SOURCES = [spec.name for spec in SOURCES if spec.carries_person]


# ----------------------------------------------------------------------------- helpers


def _codec(spec: SourceSpec) -> str:
    return "gbk" if spec.encoding == "gbk" else "utf-8-sig"


def _lines(company: GeneratedCompany, spec: SourceSpec) -> list[str]:
    """Physical lines of a source file; index 0 is line 1 (the header for CSV)."""
    data = (company.out_dir / spec.path).read_bytes().decode(_codec(spec))
    newline = spec.newline
    assert data.endswith(newline)
    return data[: -len(newline)].split(newline)


def _fields(line: str) -> list[str]:
    return next(csv.reader(io.StringIO(line)))


def _flatten(obj: dict[str, object], prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _rows(company: GeneratedCompany, spec: SourceSpec) -> dict[int, dict[str, object]]:
    """line number -> {column: value} for every well-formed data line."""
    lines = _lines(company, spec)
    if spec.format == "jsonl":
        return {i + 1: _flatten(json.loads(text)) for i, text in enumerate(lines)}
    header = _fields(lines[0])
    rows = {}
    for i, text in enumerate(lines[1:], start=2):
        values = _fields(text)
        if len(values) == len(header):
            rows[i] = dict(zip(header, values, strict=True))
    return rows


def _truth(company: GeneratedCompany, name: str) -> list[dict[str, str]]:
    with (company.out_dir / "truth" / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


_TS_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z", "%Y/%m/%d %H:%M", "%Y-%m-%d")
_CHINESE_TS = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日 (\d{1,2}):(\d{2})$")


def _timestamp(text: str, zone_hours: int) -> dt.datetime | None:
    """UTC (naive) of a timestamp in any of the generator's formats; None if unparseable."""
    text = text.strip()
    if not text:
        return None
    if text.endswith("Z"):
        try:
            return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
        except ValueError:
            return None
    match = _CHINESE_TS.match(text)
    if match:
        y, m, d, hh, mm = (int(g) for g in match.groups())
        try:
            return dt.datetime(y, m, d, hh, mm) - dt.timedelta(hours=zone_hours)
        except ValueError:
            return None
    for pattern in _TS_FORMATS:
        try:
            value = dt.datetime.strptime(text, pattern)
        except ValueError:
            continue
        if value.tzinfo is not None:
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        return value - dt.timedelta(hours=zone_hours)
    return None


def _money(text: str) -> float | None:
    stripped = re.sub(r"[\s,¥￥]", "", text)
    return float(stripped) if re.fullmatch(r"-?\d+(\.\d+)?", stripped) else None


def _phone(text: str) -> str | None:
    half = text.translate({0xFF10 + d: 0x30 + d for d in range(10)})
    digits = re.sub(r"[\s\-]", "", half)
    match = re.fullmatch(r"(?:\+?86|0086)?(1[3-9]\d{9})", digits)
    return "+86" + match.group(1) if match else None


def _email(text: str) -> bool:
    value = re.sub(r"\s", "", text).lower()
    return bool(re.fullmatch(r"[a-z0-9._%+\-]+@[a-z0-9\-]+(\.[a-z0-9\-]+)*\.[a-z]{2,}", value))


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> GeneratedCompany:
    """One mid-sized company shared by the read-only checks below."""
    return generate_company(tmp_path_factory.mktemp("company"), customers=3000, seed=11)


@pytest.fixture(scope="module")
def records(company: GeneratedCompany) -> list[dict[str, str]]:
    return _truth(company, "records.csv")


@pytest.fixture(scope="module")
def persons(company: GeneratedCompany) -> dict[str, dict[str, str]]:
    return {row["person_id"]: row for row in _truth(company, "persons.csv")}


# ----------------------------------------------------------------------------- contract


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    runs = [
        generate_company(tmp_path / name, customers=400, seed=seed)
        for name, seed in (("a", 3), ("b", 3), ("c", 4))
    ]
    files = sorted(
        p.relative_to(runs[0].out_dir) for p in runs[0].out_dir.rglob("*") if p.is_file()
    )
    assert len(files) == len(SOURCES) + 1 + 7  # sources, segmint.yml, seven truth files
    for rel in files:
        assert (runs[0].out_dir / rel).read_bytes() == (runs[1].out_dir / rel).read_bytes(), rel
    assert runs[0].row_counts == runs[1].row_counts
    differ = [
        rel
        for rel in files
        if (runs[0].out_dir / rel).read_bytes() != (runs[2].out_dir / rel).read_bytes()
    ]
    assert len(differ) >= len(SOURCES)


def test_result_describes_what_was_written(company: GeneratedCompany) -> None:
    assert company.project_file == company.out_dir / "segmint.yml"
    assert company.as_of == AS_OF
    assert set(company.row_counts) == set(SPECS)
    for name, spec in SPECS.items():
        header = 1 if spec.format == "csv" else 0
        assert company.row_counts[name] == len(_lines(company, spec)) - header, name
    bad = _truth(company, "bad_rows.csv")
    assert company.bad_rows == sum(row["kind"] != "orphan" for row in bad)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"customers": 0, "seed": 1}, "'customers' parameter"),
        ({"customers": 10.5, "seed": 1}, "'customers' parameter"),
        ({"customers": 10, "seed": -1}, "'seed' parameter"),
    ],
)
def test_bad_arguments_raise_config_error(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        generate_company(tmp_path, **kwargs)  # type: ignore[arg-type]


def test_progress_is_reported_and_aware_as_of_is_converted(tmp_path: Path) -> None:
    seen: list[tuple[str, float]] = []
    shanghai = dt.timezone(dt.timedelta(hours=8))
    result = generate_company(
        tmp_path,
        customers=60,
        seed=1,
        as_of=dt.datetime(2025, 6, 1, 8, tzinfo=shanghai),
        progress=lambda step, done: seen.append((step, done)),
    )
    assert result.as_of == dt.datetime(2025, 6, 1)
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions)
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert all(isinstance(step, str) and step for step, _ in seen)


# ----------------------------------------------------------------------------- project file


def test_project_file_is_valid_and_maps_real_columns(company: GeneratedCompany) -> None:
    text = company.project_file.read_text(encoding="utf-8")
    assert text.startswith("# ")
    spec = ProjectSpec.model_validate(yaml.safe_load(text))
    assert spec.as_of == AS_OF
    assert spec.warehouse.engine == "duckdb"
    assert [s.name for s in spec.sources] == list(SPECS)
    for source in spec.sources:
        generated = SPECS[source.name]
        assert source.entity == generated.entity
        assert source.path == generated.path
        lines = _lines(company, generated)
        if generated.format == "csv":
            available = set(_fields(lines[0]))
        else:
            available = set()
            for text_line in lines[:2000]:
                available |= set(_flatten(json.loads(text_line)))
        for canonical in source.columns:
            assert source.mapping(canonical).source in available, (source.name, canonical)
        # every required canonical column is mapped
        entity = ENTITIES[source.entity]
        assert {c.name for c in entity.columns if c.required} <= set(source.columns)


def test_store_export_is_gbk_and_auto_detection_reads_it(company: GeneratedCompany) -> None:
    path = company.out_dir / SPECS["store_orders"].path
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    header = raw.split(b"\r\n", 1)[0].decode("gbk")
    assert header.startswith("小票号,门店编号")
    assert detect_encoding(path, "auto") == "gb18030"
    assert detect_encoding(path, "gbk") == "gb18030"
    crm = company.out_dir / SPECS["crm_members"].path
    assert crm.read_bytes().startswith(codecs.BOM_UTF8)
    assert detect_encoding(crm, "auto") == "utf-8-sig"
    assert detect_encoding(company.out_dir / SPECS["online_orders"].path, "auto") == "utf-8"


# ----------------------------------------------------------------------------- truth


def test_records_cover_every_line_of_every_person_source(
    company: GeneratedCompany, records: list[dict[str, str]], persons: dict[str, dict[str, str]]
) -> None:
    by_source: dict[str, dict[int, dict[str, str]]] = defaultdict(dict)
    for row in records:
        by_source[row["source"]][int(row["line"])] = row
    assert set(by_source) == set(PERSON_SOURCES)
    for name in PERSON_SOURCES:
        spec = SPECS[name]
        lines = _lines(company, spec)
        first = 2 if spec.format == "csv" else 1
        truth = by_source[name]
        assert sorted(truth) == list(range(first, len(lines) + 1)), name
        for number, text in enumerate(lines[first - 1 :], start=first):
            row = truth[number]
            if spec.format == "jsonl":
                key = json.loads(text)["messageId"] or ""
            else:
                key = _fields(text)[0]
            assert row["record_key"] == key, (name, number)
            assert persons[row["person_id"]]["persona"] == row["persona"]


def test_persons_own_unique_identifiers(persons: dict[str, dict[str, str]]) -> None:
    for column in ("phone", "email", "wechat_openid"):
        values = [p[column] for p in persons.values() if p[column]]
        assert len(values) == len(set(values)), column
    members = [m for p in persons.values() for m in p["member_ids"].split(";") if m]
    assert len(members) == len(set(members))
    assert all(re.fullmatch(r"\+861[3-9]\d{9}", p["phone"]) for p in persons.values())
    assert {p["persona"] for p in persons.values()} == {
        "vip_loyal", "bargain_hunter", "occasional", "dormant", "new_customer", "b2b_buyer",
    }  # fmt: skip
    walk_ins = [p for p in persons.values() if p["walk_in"] == "true"]
    assert walk_ins and all(p["member_ids"] == "" for p in walk_ins)
    assert all(1 <= int(p["city_tier"]) <= 5 for p in persons.values())


def _allowed_raw(spec: SourceSpec, column: str) -> set[str] | None:
    """The raw values a clean row may hold in an enum column (None: not an enum)."""
    entity = ENTITIES[spec.entity]
    for canonical, mapping in MAPPINGS[spec.name].items():
        source = mapping if isinstance(mapping, str) else mapping["from"]
        if source != column or not entity.column(canonical).enum_values:
            continue
        allowed = {v.lower() for v in entity.column(canonical).enum_values}
        if isinstance(mapping, dict):
            allowed |= {k.lower() for k in mapping.get("values", {})}
        return allowed
    return None


def test_planted_bad_rows_are_bad_in_the_stated_way(company: GeneratedCompany) -> None:
    bad = _truth(company, "bad_rows.csv")
    total = sum(company.row_counts.values())
    planted = [row for row in bad if row["kind"] != "orphan"]
    assert 0.005 <= len(planted) / total <= 0.03
    kinds = Counter(row["kind"] for row in planted)
    for kind in (
        "missing_required", "unparseable_timestamp", "unparseable_amount", "negative_amount",
        "future_timestamp", "malformed_phone", "malformed_email", "unknown_enum",
        "age_out_of_range", "duplicate_row", "key_conflict", "ragged_row", "out_of_range",
    ):  # fmt: skip
        assert kinds[kind] > 0, kind
    assert len({(row["source"], row["line"]) for row in bad}) == len(bad)

    limit = AS_OF + dt.timedelta(days=1)
    for name, spec in SPECS.items():
        lines = _lines(company, spec)
        header = _fields(lines[0]) if spec.format == "csv" else []
        rows = _rows(company, spec)
        zone = 0 if spec.time_style == "utc_ms" else 8
        first_seen: dict[str, int] = {}
        for number, text in enumerate(lines, start=1):
            first_seen.setdefault(text, number)
        by_key: dict[object, list[int]] = defaultdict(list)
        for number, values in rows.items():
            by_key[values[spec.key]].append(number)
        for row in (r for r in bad if r["source"] == name):
            number, kind, column = int(row["line"]), row["kind"], row["column"]
            text = lines[number - 1]
            assert row["file"] == spec.path
            if kind == "ragged_row":
                assert len(_fields(text)) != len(header)
                continue
            if kind == "duplicate_row":
                assert first_seen[text] < number, (name, number)
                continue
            values = rows[number]
            if kind == "key_conflict":
                later = [rows[n] for n in by_key[values[spec.key]] if n > number]
                assert later and all(v != values for v in later), (name, number)
                continue
            if kind == "orphan":
                continue
            value = values[column]
            text_value = "" if value is None else str(value)
            if kind == "missing_required":
                assert text_value == ""
            elif kind == "unparseable_timestamp":
                assert _timestamp(text_value, zone) is None, text_value
            elif kind == "future_timestamp":
                parsed = _timestamp(text_value, zone)
                assert parsed is not None and parsed > limit, text_value
            elif kind == "unparseable_amount":
                assert _money(text_value) is None, text_value
            elif kind == "negative_amount":
                amount = _money(text_value)
                assert amount is not None and amount < 0
            elif kind == "absurd_amount":
                amount = _money(text_value)
                assert amount is not None and amount > 1_000_000
            elif kind == "malformed_phone":
                assert _phone(text_value) is None, text_value
            elif kind == "malformed_email":
                assert not _email(text_value), text_value
            elif kind == "unknown_enum":
                allowed = _allowed_raw(spec, column)
                assert allowed is not None and text_value.lower() not in allowed, text_value
            elif kind == "age_out_of_range":
                born = dt.date.fromisoformat(text_value)
                age = (AS_OF.date() - born).days / 365.25
                assert age < 0 or age > 120, text_value
            elif kind == "out_of_range":
                low, high = (1, 5) if name == "service_tickets" else (0, 10)
                assert not low <= int(text_value) <= high, text_value
            else:  # pragma: no cover - a new kind needs a check here
                raise AssertionError(f"no check for kind {kind}")


def test_clean_order_rows_parse(company: GeneratedCompany) -> None:
    """Rows not listed as bad are valid: formats vary, but every one is readable."""
    bad = {(r["source"], int(r["line"])) for r in _truth(company, "bad_rows.csv")}
    formats: Counter[str] = Counter()
    for name, time_col, amount_col, phone_col in (
        ("online_orders", "order_time", "pay_amount", None),
        ("store_orders", "下单时间", "实付金额", "手机号"),
    ):
        spec = SPECS[name]
        for number, row in _rows(company, spec).items():
            if (name, number) in bad:
                continue
            when = _timestamp(str(row[time_col]), 8)
            assert when is not None and when < AS_OF, (name, number, row[time_col])
            amount = _money(str(row[amount_col]))
            assert amount is not None and 0 <= amount <= 1_000_000
            if phone_col and row[phone_col]:
                assert _phone(str(row[phone_col])) is not None, row[phone_col]
                phone = str(row[phone_col])
                formats["fullwidth" if "１" in phone or "３" in phone else phone[:3]] += 1
            if str(row[amount_col]).startswith(("¥", "￥")):
                formats["symbol"] += 1
    assert formats["fullwidth"] and formats["+86"] and formats["008"] and formats["symbol"]


def test_order_lines_add_up_to_the_order_before_discount(company: GeneratedCompany) -> None:
    bad = {(r["source"], int(r["line"])) for r in _truth(company, "bad_rows.csv")}
    gross: dict[str, float] = defaultdict(float)
    for number, row in _rows(company, SPECS["order_items"]).items():
        if ("order_items", number) in bad:
            continue
        assert float(row["line_amount"]) == pytest.approx(
            int(row["qty"]) * float(row["unit_price"])
        )
        gross[str(row["order_no"])] += float(row["line_amount"])
    checked = mismatched = 0
    for number, row in _rows(company, SPECS["online_orders"]).items():
        if ("online_orders", number) in bad:
            continue
        paid = _money(str(row["pay_amount"]))
        assert paid is not None
        total = paid + float(str(row["discount_amount"]))
        if abs(total - gross[str(row["order_no"])]) > 0.005:
            mismatched += 1
        checked += 1
    # only orders with a broken, duplicated or missing line may disagree
    bad_lines = sum(1 for source, _ in bad if source == "order_items")
    assert checked > 1000 and mismatched <= bad_lines


# ----------------------------------------------------------------------------- behaviour


def test_personas_behave_as_designed(
    company: GeneratedCompany, records: list[dict[str, str]], persons: dict[str, dict[str, str]]
) -> None:
    size = Counter(p["persona"] for p in persons.values())
    orders = Counter(
        r["persona"] for r in records if r["source"] in ("online_orders", "store_orders")
    )
    rate = {persona: orders[persona] / size[persona] for persona in size}
    assert (
        rate["vip_loyal"]
        > rate["bargain_hunter"]
        > rate["b2b_buyer"]
        > rate["occasional"]
        > rate["dormant"]
        > rate["new_customer"]
    ), rate
    events = Counter(r["persona"] for r in records if r["source"] == "app_events")
    assert events["vip_loyal"] / size["vip_loyal"] > 3 * events["dormant"] / size["dormant"]

    # dormant persons stopped buying more than six months ago; new ones joined recently
    online = _rows(company, SPECS["online_orders"])
    bad = {
        int(r["line"]) for r in _truth(company, "bad_rows.csv") if r["source"] == "online_orders"
    }
    last: dict[str, dt.datetime] = {}
    for row in records:
        if row["source"] != "online_orders" or int(row["line"]) in bad:
            continue
        when = _timestamp(str(online[int(row["line"])]["order_time"]), 8)
        assert when is not None
        last[row["person_id"]] = max(when, last.get(row["person_id"], when))
    recent = AS_OF - dt.timedelta(days=183)
    for pid, when in last.items():
        if persons[pid]["persona"] == "dormant":
            assert when < recent
    vip_recent = [last[p] > recent for p in last if persons[p]["persona"] == "vip_loyal"]
    assert sum(vip_recent) / len(vip_recent) > 0.95
    for person in persons.values():
        if person["persona"] == "new_customer" and person["registered_at"]:
            joined = dt.datetime.fromisoformat(person["registered_at"])
            assert AS_OF - dt.timedelta(days=61) <= joined < AS_OF

    # discounts: bargain hunters use them on most orders, VIPs rarely
    share: dict[str, list[bool]] = defaultdict(list)
    for row in records:
        if row["source"] == "online_orders" and int(row["line"]) not in bad:
            discount = float(str(online[int(row["line"])]["discount_amount"]))
            share[row["persona"]].append(discount > 0)
    assert sum(share["bargain_hunter"]) / len(share["bargain_hunter"]) > 0.7
    assert sum(share["vip_loyal"]) / len(share["vip_loyal"]) < 0.3

    # the future (truth only): loyal customers keep buying, dormant ones mostly do not
    future = Counter(
        persons[r["person_id"]]["persona"] for r in _truth(company, "future_orders.csv")
    )
    assert future["vip_loyal"] / size["vip_loyal"] > 5 * future["dormant"] / size["dormant"]


def _near(observed: float, expected: float, n: float, sds: float = 4.0) -> bool:
    """Whether a share seen in `n` trials is within `sds` binomial standard deviations."""
    p = min(max(expected, 1e-9), 1 - 1e-9)
    return abs(observed - expected) <= sds * (p * (1 - p) / max(n, 1.0)) ** 0.5 + 0.01


def test_purchases_are_preceded_by_research_at_the_persona_rates(
    company: GeneratedCompany, records: list[dict[str, str]], persons: dict[str, dict[str, str]]
) -> None:
    spec = {p.name: p for p in PERSONAS}
    sessions = _truth(company, "intent.csv")
    orders: dict[str, Counter[str]] = defaultdict(Counter)
    for r in records:
        if r["source"] in ("online_orders", "store_orders"):
            orders[r["persona"]][r["source"]] += 1
    researched: dict[str, set[tuple[str, str]]] = defaultdict(set)  # persona -> purchases
    false_starts: Counter[str] = Counter()
    before_future = 0
    for row in sessions:
        persona = persons[row["person_id"]]["persona"]
        start = dt.datetime.fromisoformat(row["session_start"])
        assert start < AS_OF
        if row["purpose"] == "false_start":
            assert row["purchase_at"] == "" and row["lead_days"] == ""
            false_starts[persona] += 1
            continue
        bought = dt.datetime.fromisoformat(row["purchase_at"])
        lead = float(row["lead_days"])
        low, high = spec[persona].intent_lead_days
        assert 0.1 * low - 0.01 <= lead <= high + 0.01, row
        assert (bought - start).total_seconds() / 86400 == pytest.approx(lead, abs=0.01)
        if bought >= AS_OF:
            before_future += 1
        else:
            researched[persona].add((row["person_id"], row["purchase_at"]))
    assert before_future > 0  # purchases after as-of are announced before it too
    for persona, counts in orders.items():
        if persona == "new_customer" or spec[persona].intent_share == 0:
            continue  # new customers' research may fall before they registered
        online, store = counts["online_orders"], counts["store_orders"]
        walk_in = sum(
            p["walk_in"] == "true" for p in persons.values() if p["persona"] == persona
        ) / max(1, sum(p["persona"] == persona for p in persons.values()))
        expected = spec[persona].intent_share * (online + OFFLINE_INTENT * store * (1 - walk_in))
        # a few research sessions fall before the person's first day and are dropped
        opened = len(researched[persona])
        assert 0.85 * expected <= opened <= 1.08 * expected, (persona, opened, expected)
        expected_false = spec[persona].false_starts * (online + store * (1 - walk_in))
        assert 0.85 * expected_false <= false_starts[persona] <= 1.15 * expected_false, persona

    # every planted session is in the event stream (a few timestamps are planted bad)
    text = (company.out_dir / SPECS["app_events"].path).read_text(encoding="utf-8")
    stamps = set(re.findall(r'"timestamp": ?"([0-9T:\-]+)\.', text))
    starts = [row["session_start"].replace(" ", "T") for row in sessions]
    assert sum(s in stamps for s in starts) / len(starts) > 0.97


def test_leavers_drop_out_at_the_persona_hazard_and_show_precursors(
    company: GeneratedCompany, records: list[dict[str, str]], persons: dict[str, dict[str, str]]
) -> None:
    spec = {p.name: p for p in PERSONAS}
    window_start = AS_OF - dt.timedelta(days=730)
    for persona in ("vip_loyal", "bargain_hunter", "occasional", "b2b_buyer"):
        group = [p for p in persons.values() if p["persona"] == persona and p["walk_in"] == "false"]
        hazard = spec[persona].dropout_per_year
        expected = 0.0
        for p in group:
            joined = dt.datetime.fromisoformat(p["registered_at"])
            years = (AS_OF - max(joined, window_start)).days / 365.25 - 60 / 365.25
            expected += 1 - math.exp(-hazard * max(years, 0.0))
        left = [p for p in group if p["dropped_out"] == "true"]
        assert all(p["churned_at"] for p in left)
        assert _near(len(left) / len(group), expected / len(group), len(group)), persona
    dormant = [p for p in persons.values() if p["persona"] == "dormant"]
    assert all(p["dropped_out"] == "false" for p in dormant)
    dropouts = {pid for pid, p in persons.items() if p["dropped_out"] == "true"}
    assert not dropouts & {r["person_id"] for r in _truth(company, "future_orders.csv")}

    leavers = {pid: p for pid, p in persons.items() if p["churned_at"]}
    crm_leavers = [pid for pid, p in leavers.items() if p["in_crm"] == "true"]
    precursors: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in _truth(company, "attrition.csv"):
        assert row["person_id"] in leavers
        assert row["left_at"] == leavers[row["person_id"]]["churned_at"].replace("T", " ")
        precursors[row["kind"]].append(row)

    def days_before(row: dict[str, str]) -> float:
        gap = dt.datetime.fromisoformat(row["left_at"]) - dt.datetime.fromisoformat(row["at"])
        return gap.total_seconds() / 86400

    # half the leaving members complain 3-44 days before they leave (some call again), and
    # the tickets are in the data
    complained = {r["person_id"] for r in precursors["parting_complaint"]}
    share = len(complained) / len(crm_leavers)
    assert _near(share, PARTING_COMPLAINT_SHARE, len(crm_leavers)), share
    assert all(0 <= days_before(r) <= 45 for r in precursors["parting_complaint"])
    tickets = _rows(company, SPECS["service_tickets"])
    lines = {int(r["line"]): r["person_id"] for r in records if r["source"] == "service_tickets"}
    topics = {
        (lines[n], _timestamp(str(t["created_time"]), 8)): t["topic"]
        for n, t in tickets.items()
        if n in lines
    }
    found = [
        topics.get((r["person_id"], dt.datetime.fromisoformat(r["at"])))
        for r in precursors["parting_complaint"]
    ]
    assert sum(t in ("投诉建议", "商品质量") for t in found) / len(found) > 0.95
    # answers in the months before leaving sour; around leaving, some unsubscribe
    assert all(0 <= days_before(r) <= SOURING_DAYS for r in precursors["soured_nps"])
    unsubscribed = {r["person_id"] for r in precursors["unsubscribe"]}
    assert all(-31 <= days_before(r) <= 31 for r in precursors["unsubscribe"])
    # (leavers without any opt-in have nothing to unsubscribe from)
    share = len(unsubscribed) / len(crm_leavers)
    assert 0.5 * PARTING_UNSUBSCRIBE_SHARE < share < PARTING_UNSUBSCRIBE_SHARE + 0.05, share
    # fewer opens: leavers' campaign messages near leaving are opened far less than others
    responses = _rows(company, SPECS["campaign_responses"])
    touch_person = {
        int(r["line"]): r["person_id"] for r in records if r["source"] == "campaign_responses"
    }
    engaged: dict[bool, list[bool]] = defaultdict(list)
    for number, row in responses.items():
        pid = touch_person.get(number)
        sent = _timestamp(str(row["sent_time"]), 8)
        if pid is None or sent is None or persons[pid]["persona"] != "bargain_hunter":
            continue
        left_at = persons[pid]["churned_at"]
        fading = bool(left_at) and sent >= dt.datetime.fromisoformat(left_at) - dt.timedelta(90)
        engaged[fading].append(row["response"] in ("opened", "clicked", "converted"))
    rate = {k: sum(v) / len(v) for k, v in engaged.items()}
    assert rate[True] < 0.5 * rate[False], rate


def test_hubs_and_orphans_are_planted(
    company: GeneratedCompany, persons: dict[str, dict[str, str]]
) -> None:
    hubs = _truth(company, "hubs.csv")
    kinds = Counter(h["kind"] for h in hubs)
    for kind in ("store_phone", "placeholder_phone", "placeholder_email", "store_tablet",
                 "family_device"):  # fmt: skip
        assert kinds[kind] > 0, kind
    store_phones = [h for h in hubs if h["kind"] == "store_phone"]
    assert max(int(h["persons"]) for h in store_phones) >= 20
    assert all(int(h["records"]) >= int(h["persons"]) for h in hubs)
    # hub values really occur in the data, normalised
    store = _rows(company, SPECS["store_orders"])
    seen = {_phone(str(r["手机号"])) for r in store.values() if r["手机号"]}
    assert {h["value"] for h in store_phones if int(h["records"])} <= seen
    assert "+8613800000000" in seen or "+8613800138000" in seen

    crm = {str(r["MemberID"]) for r in _rows(company, SPECS["crm_members"]).values()}
    online = _rows(company, SPECS["online_orders"])
    orphans = [r for r in _truth(company, "bad_rows.csv") if r["kind"] == "orphan"]
    assert orphans
    for row in orphans:
        assert online[int(row["line"])]["member_id"] not in crm
    shared = [p for p in persons.values() if p["shared_device"] == "true"]
    assert len(shared) >= 2


def test_phone_changes_and_typos_exist(
    company: GeneratedCompany, persons: dict[str, dict[str, str]]
) -> None:
    changed = [p for p in persons.values() if p["old_phone"]]
    assert changed
    store = _rows(company, SPECS["store_orders"])
    phones = {_phone(str(r["手机号"])) for r in store.values() if r["手机号"]}
    assert any(p["old_phone"] in phones for p in changed)
    known = {p["phone"] for p in persons.values()} | {p["old_phone"] for p in changed}
    assert phones - known  # mistyped numbers (and store phones) belong to nobody's truth
    names = {str(r["Name"]) for r in _rows(company, SPECS["crm_members"]).values()}
    assert names - {p["name"] for p in persons.values()}  # name typos on second records


# ----------------------------------------------------------------------------- properties


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(customers=st.integers(50, 300), seed=st.integers(0, 2**32 - 1))
def test_any_small_company_is_consistent(tmp_path: Path, customers: int, seed: int) -> None:
    out = tmp_path / f"c{customers}_{seed}"
    result = generate_company(out, customers=customers, seed=seed)
    ProjectSpec.model_validate(yaml.safe_load(result.project_file.read_text(encoding="utf-8")))
    persons = _truth(result, "persons.csv")
    assert len(persons) == customers
    records = Counter(r["source"] for r in _truth(result, "records.csv"))
    for name, spec in SPECS.items():
        header = 1 if spec.format == "csv" else 0
        lines = len(_lines(result, spec)) - header if result.row_counts[name] else 0
        assert result.row_counts[name] == lines
        if spec.carries_person:
            assert records[name] == lines
    bad = _truth(result, "bad_rows.csv")
    assert result.bad_rows == sum(r["kind"] != "orphan" for r in bad)
