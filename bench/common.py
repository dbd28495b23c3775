"""What the three benchmarked implementations share: the project file, the rules, the clock.

The pandas and DuckDB-SQL implementations do not import segmint (only this module and PyYAML),
so the comparison measures independent code. What they must agree on with segmint — the
canonical columns of `customers` and `orders`, the parsing patterns, the identity defaults —
is restated here as plain data; `tests/test_bench_impls.py` checks it against segmint's own
definitions so that a change in segmint cannot silently make the comparison unfair.
"""

from __future__ import annotations

import codecs
import datetime as dt
import glob
import json
import os
import resource
import time
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

#: The stages compared, in order (segmint's ingest + conform + quality count as "ingest").
STAGES = ("ingest", "identity", "rfm")
#: The entities the benchmark restricts every implementation to.
BENCH_ENTITIES = ("customers", "orders")
#: segmint's warehouse file in bench/data/N/ (the identity benchmark reads it afterwards).
SEGMINT_DB = "bench-segmint.duckdb"

# ---------------------------------------------------------------------------- the rules

# Full-width ASCII (U+FF01-U+FF5E) and the ideographic space map to their half-width forms.
FULL = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
HALF = "".join(chr(c) for c in range(0x21, 0x7F)) + " "
FULL_TO_HALF = str.maketrans(FULL, HALF)
#: The whitespace trimmed from both ends: segmint trims with the regex ^\s+|\s+$, and in RE2
#: (DuckDB, Arrow) \s is exactly these five characters.
TRIM_CHARS = " \t\n\r\x0c"

# 2026-03-05, 2026/3/5, 2026.3.5, 2026年3月5日, each optionally with 14:03[:00[.123]] or
# 14时03分[05秒] and an offset (Z, +08:00, +0800). Groups: 1 y, 2 mo, 3 d, 4 H, 5 M, 6 S,
# 7 fraction, 8 offset. (segmint parses the same strings by replaces and one shape check.)
DATETIME = (
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:(?:[ T]+|日)(\d{1,2})[:时點点](\d{1,2})(?:[:分](?:(\d{1,2})(\.\d+)?秒?)?)?)?"
    r" *(Z|[+-]\d{2}:?\d{2})?$"
)
#: Text with a full-width character (the only text that needs translating).
ANY_FULL = "[\uff01-\uff5e\u3000]"
#: Fast paths: plain ISO local date-times and dates (no fraction, no offset).
ISO_LOCAL = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}$"
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
COMPACT = r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2}))?$"
MONEY_STRIP = r"[\s,¥￥$€£]|RMB|CNY|USD|元"
NUMBER = r"^[-+]?\d+(\.\d+)?$"
INTEGER = r"^[-+]?\d+(\.0+)?$"
EMAIL = r"^[a-z0-9._%+\-]+@[a-z0-9\-]+(\.[a-z0-9\-]+)*\.[a-z]{2,}$"
#: Whitespace removed anywhere in an e-mail address (the engines' common \s).
EMAIL_WHITESPACE = r"[ \t\n\r\x0c\x0b]"
#: Text with a character outside ASCII: an e-mail address with one is malformed (engines
#: lower-case some non-ASCII letters differently); member ids are upper-cased per character.
NON_ASCII = r"[^\x00-\x7F]"
ASCII_LOWER = "abcdefghijklmnopqrstuvwxyz"
ASCII_UPPER = ASCII_LOWER.upper()
#: Device ids: UUIDs (IDFA, OAID) become upper-case 8-4-4-4-12, Android IDs (16 hex digits)
#: lower case; these stand-ins (compared lower-cased, ASCII only) and one repeated
#: character (dashes aside) mean "no id".
UUID_DASHED = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
UUID_PLAIN = r"^[0-9A-Fa-f]{32}$"
HEX16 = r"^[0-9A-Fa-f]{16}$"
PLACEHOLDER_DEVICE_IDS = (
    "unknown",
    "null",
    "(null)",
    "none",
    "nil",
    "nan",
    "undefined",
    "n/a",
    "na",
    "idfa",
    "oaid",
    "9774d56d682e549c",
)
PHONE_STRIP = r"[\s\-().（）]"
MOBILE = r"^(\+?86|0086)?1[3-9]\d{9}$"
MOBILE_TAIL = r"(1[3-9]\d{9})$"
LANDLINE = r"^(\+86|0086)?0?[1-9]\d{1,2}\d{7,8}$"
LANDLINE_PREFIX = r"^(\+|00|0)"
LANDLINE_DIGITS = r"^(?:\+86|0086)?0?([1-9]\d{8,10})$"
INTERNATIONAL = r"^(\+|00)[1-9]\d{6,14}$"
INTERNATIONAL_PREFIX = r"^(\+|00)"
#: decimal(18, 2) holds 16 integer digits; longer amounts do not parse.
MONEY_LIMIT = 1e16

#: Rule code -> what it means (the text segmint writes into quarantine messages).
RULES: dict[str, str] = {
    "malformed_row": "the line does not parse (wrong number of fields or not JSON)",
    "missing_required": "a required value is empty",
    "unparseable_timestamp": "not a recognisable date-time",
    "unparseable_date": "not a recognisable date",
    "unparseable_amount": "not a recognisable amount",
    "unparseable_number": "not a number",
    "negative_amount": "amount below zero",
    "absurd_amount": "amount implausibly large",
    "out_of_range": "number outside its allowed range",
    "future_timestamp": "timestamp later than the as-of time allows",
    "implausible_timestamp": "timestamp before 1970",
    "age_out_of_range": "birth date gives an impossible age",
    "malformed_phone": "not a valid phone number",
    "malformed_email": "not a valid e-mail address",
    "unknown_enum": "value not in the allowed list",
    "duplicate_row": "exact copy of an earlier row",
    "key_conflict": "primary key repeated with different content",
}
EPOCH = dt.datetime(1970, 1, 1)

# ------------------------------------------------------------------ the canonical columns


@dataclass(frozen=True)
class Col:
    """One canonical column of an entity."""

    name: str
    type: str  # string, int, money, date, timestamp, enum, phone, email, member_id, device_id
    required: bool = False
    enum: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class EntityDef:
    """A canonical entity: columns in order, key, event time, version, customer reference."""

    name: str
    columns: tuple[Col, ...]
    key: tuple[str, ...]
    time_column: str | None
    version_column: str | None
    references_customers: bool

    def column(self, name: str) -> Col:
        """The column called `name`."""
        return next(c for c in self.columns if c.name == name)


IDENTIFIERS = ("member_id", "phone", "email", "device_id", "wechat_openid")
#: A row referencing customers has a customer record when any identifier matches one.
LINK_FIELDS = IDENTIFIERS
_IDS = (
    Col("member_id", "member_id"),
    Col("phone", "phone"),
    Col("email", "email"),
    Col("device_id", "device_id"),
    Col("wechat_openid", "string"),
)
CHANNELS = ("online", "offline", "app", "miniprogram", "marketplace", "phone", "other")
ENTITIES: dict[str, EntityDef] = {
    "customers": EntityDef(
        name="customers",
        columns=(
            Col("customer_key", "string", required=True),
            *_IDS,
            Col("name", "string"),
            Col("gender", "enum", enum=("F", "M", "U")),
            Col("birth_date", "date"),
            Col("province", "string"),
            Col("city", "string"),
            Col(
                "occupation",
                "enum",
                enum=(
                    "white_collar",
                    "blue_collar",
                    "student",
                    "self_employed",
                    "civil_servant",
                    "retired",
                    "homemaker",
                    "other",
                ),
            ),
            Col(
                "income_band",
                "enum",
                enum=("low", "lower_middle", "middle", "upper_middle", "high"),
            ),
            Col("registered_at", "timestamp"),
            Col("updated_at", "timestamp"),
            Col("customer_type", "enum", enum=("b2c", "b2b")),
            Col("company_name", "string"),
            Col("industry", "string"),
            Col("company_size", "int", min=1),
        ),
        key=("customer_key",),
        time_column="updated_at",
        version_column="updated_at",
        references_customers=False,
    ),
    "orders": EntityDef(
        name="orders",
        columns=(
            Col("order_id", "string", required=True),
            *_IDS,
            Col("ordered_at", "timestamp", required=True),
            Col("amount", "money", required=True, min=0, max=1_000_000),
            Col("discount_amount", "money", min=0, max=1_000_000),
            Col("channel", "enum", enum=CHANNELS),
            Col("store_id", "string"),
            Col("status", "enum", enum=("paid", "refunded", "cancelled")),
            Col("payment_method", "string"),
        ),
        key=("order_id",),
        time_column="ordered_at",
        version_column=None,
        references_customers=True,
    ),
}

#: RFM segments on the 5-point R x F grid; the first match wins, else "Need Attention".
SEGMENT_GRID: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = (
    ("Champions", (5,), (4, 5)),
    ("Loyal", (3, 4), (4, 5)),
    ("Potential Loyalist", (4, 5), (2, 3)),
    ("New", (5,), (1,)),
    ("Promising", (4,), (1,)),
    ("Need Attention", (3,), (3,)),
    ("About to Sleep", (3,), (1, 2)),
    ("Can't Lose Them", (1, 2), (5,)),
    ("At Risk", (1, 2), (3, 4)),
    ("Lost", (1,), (1,)),
    ("Hibernating", (1, 2), (1, 2)),
)
DEFAULT_SEGMENT = "Need Attention"

# ------------------------------------------------------------------------ the project


@dataclass(frozen=True)
class Mapping:
    """How one source column becomes one canonical column."""

    source: str
    values: dict[str, str]
    on_invalid: str  # quarantine | null


@dataclass(frozen=True)
class SourceDef:
    """One source of the bench project, as the implementations need it."""

    name: str
    entity: str
    files: tuple[Path, ...]
    encoding: str
    delimiter: str
    utc_offset_minutes: int
    columns: dict[str, Mapping]  # canonical -> mapping, in the entity's column order


@dataclass(frozen=True)
class BenchSpec:
    """The parts of a segmint.yml the benchmark implementations need."""

    path: Path
    as_of: dt.datetime  # naive UTC
    sources: tuple[SourceDef, ...]
    identifiers: tuple[str, ...]  # strongest first
    max_partners: int  # the project-wide default of the per-type partner limit
    deny: tuple[str, ...]
    max_iterations: int
    bins: int
    future_tolerance_hours: float
    max_age_years: int
    completeness_min: float
    validity_min: float
    freshness_max_hours: float
    duckdb_config: dict[str, Any] = field(default_factory=dict)  # threads, memory_limit
    #: Per identifier type: (max_partners, max_member_ids) as given in `identity.rules`.
    rules: dict[str, tuple[int | None, int | None]] = field(
        default_factory=lambda: dict(DEFAULT_RULES)
    )
    max_member_ids_per_customer: int = 3
    placeholders: bool = True
    probabilistic: bool = True  # segmint's Splink step (the bench implementations have none)

    def partner_limit(self, kind: str) -> int:
        """A value of type `kind` seen with more strong partners of one type is a hub."""
        given = self.rules.get(kind, (None, None))[0]
        return given or self.max_partners

    def member_limit(self, kind: str) -> int | None:
        """A value of type `kind` seen with more member ids is a hub (None: no such rule)."""
        return self.rules.get(kind, (None, None))[1]


# segmint's defaults for settings a project file may leave out (checked by the test).
DEFAULT_DENY = (
    "+8613800000000",
    "+8613800138000",
    "+8618888888888",
    "+8613888888888",
    "+8600000000000",
    "test@test.com",
    "test@example.com",
    "none@none.com",
    "0",
    "000000",
    "unknown",
)
#: Identifier rules segmint applies unless the project overrides them:
#: type -> (max_partners, max_member_ids).
DEFAULT_RULES: dict[str, tuple[int | None, int | None]] = {"device_id": (4, 1)}
DEFAULT_IDENTITY: dict[str, Any] = {
    "identifiers": ["member_id", "phone", "email"],
    "rules": {k: {"max_partners": p, "max_member_ids": m} for k, (p, m) in DEFAULT_RULES.items()},
    "max_partners_per_identifier": 20,
    "max_member_ids_per_customer": 3,
    "placeholders": True,
    "deny": list(DEFAULT_DENY),
    "max_iterations": 50,
}
#: Whether segmint runs its probabilistic (Splink) step by default; the bench turns it off
#: for the three-way comparison and times it in the identity benchmark. Its other settings
#: are segmint's business.
DEFAULT_PROBABILISTIC = True
#: Identifier types whose distinct values count as partners in the hub rule.
STRONG_IDENTIFIERS = ("member_id", "phone", "email", "wechat_openid")
# Placeholder identifier values (segmint's `identity.hubs`), which are hubs.
# Phones: these numbers, and +86 numbers whose national digits match PLACEHOLDER_CN or,
# whole or without their first digit, are a run of ascending or descending digits.
PLACEHOLDER_PHONES = ("+8610000000000", "+8612345678900", "+8612345678910", "+8613800138000")
_SAME = "|".join(f"{d}+" for d in range(10))
_SAME_NINE = "|".join(f"{d}{{9}}" for d in range(10))
PLACEHOLDER_CN = rf"^(\d?({_SAME})|\d\d({_SAME_NINE})|\d{{3}}0{{8}})$"
ASCENDING_DIGITS = "0123456789" * 3
DESCENDING_DIGITS = "9876543210" * 3
# E-mail addresses (lower-cased): a placeholder local part or domain, or a reserved TLD.
PLACEHOLDER_EMAIL_LOCALS = (
    "123",
    "1234",
    "12345",
    "123456",
    "abc",
    "abc123",
    "asdf",
    "do-not-reply",
    "do_not_reply",
    "donotreply",
    "dummy",
    "example",
    "fake",
    "n.a",
    "na",
    "nil",
    "no-email",
    "no-mail",
    "no-reply",
    "no_reply",
    "noemail",
    "nomail",
    "none",
    "noreply",
    "null",
    "qwerty",
    "sample",
    "test",
    "testing",
    "tests",
    "unknown",
)
PLACEHOLDER_EMAIL_DOMAINS = (
    "dummy.com",
    "fake.com",
    "localhost",
    "no-email.com",
    "noemail.com",
    "nomail.com",
    "none.com",
    "null.com",
    "test.com",
)
RESERVED_EMAIL_TLD = r"\.(test|example|invalid|localhost)$"
# Every other type (lower-cased).
PLACEHOLDER_ID = r"^(0+|[0-]+|unknown|null|none|undefined|n/?a|-+)$"
#: The hub reasons, in the order they are tried (the first that applies is the value's).
HUB_REASONS = ("deny-list", "placeholder", "too many member ids", "too many partners")
DEFAULT_QUALITY: dict[str, Any] = {
    "completeness_min": 0.95,
    "validity_min": 0.98,
    "freshness_max_hours": 24,
    "future_tolerance_hours": 24,
    "max_age_years": 120,
}
DEFAULT_BINS = 5


def utc_offset_minutes(zone: str, when: dt.datetime) -> int:
    """Minutes east of UTC for `UTC`, `UTC+08:00`, `+08:00` or an IANA (fixed-offset) zone."""
    text = zone.strip().upper()
    if text in ("UTC", "Z", "GMT"):
        return 0
    for prefix in ("UTC", "GMT", ""):
        rest = text.removeprefix(prefix)
        if rest[:1] in "+-" and rest[1:2].isdigit():
            hours, _, minutes = rest[1:].partition(":")
            sign = -1 if rest[0] == "-" else 1
            return sign * (int(hours) * 60 + int(minutes or 0))
    offset = zoneinfo.ZoneInfo(zone.strip()).utcoffset(when)
    assert offset is not None
    return round(offset.total_seconds() / 60)


def _expand(base: Path, pattern: str) -> tuple[Path, ...]:
    full = base / pattern
    if any(ch in pattern for ch in "*?["):
        return tuple(sorted(Path(p) for p in glob.glob(str(full), recursive=True)))
    return (full,)


def _naive_utc(value: Any) -> dt.datetime:
    stamp = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
    return stamp


def load_spec(path: Path) -> BenchSpec:
    """Read a bench project file (a segmint.yml restricted to customers and orders)."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not doc.get("as_of"):
        raise ValueError(f"{path}: the bench needs a fixed as_of so every implementation agrees")
    as_of = _naive_utc(doc["as_of"])
    sources = []
    for raw in doc["sources"]:
        entity = ENTITIES[raw["entity"]]
        fmt = raw.get("format") or Path(raw["path"]).suffix.lstrip(".").lower()
        if fmt not in ("csv", "tsv", "txt"):
            raise ValueError(f"source {raw['name']}: the bench reads CSV only, not {fmt}")
        columns: dict[str, Mapping] = {}
        for col in entity.columns:
            if col.name not in raw["columns"]:
                continue
            given = raw["columns"][col.name]
            if isinstance(given, str):
                columns[col.name] = Mapping(given, {}, "quarantine")
            else:
                columns[col.name] = Mapping(
                    given["from"],
                    {str(k): str(v) for k, v in (given.get("values") or {}).items()},
                    given.get("on_invalid", "quarantine"),
                )
        sources.append(
            SourceDef(
                name=raw["name"],
                entity=raw["entity"],
                files=_expand(path.parent, raw["path"]),
                encoding=raw.get("encoding", "auto"),
                delimiter=raw.get("delimiter") or ("\t" if fmt == "tsv" else ","),
                utc_offset_minutes=utc_offset_minutes(raw.get("timezone", "UTC"), as_of),
                columns=columns,
            )
        )
    identity = {**DEFAULT_IDENTITY, **(doc.get("identity") or {})}
    rules = {
        str(kind): (rule.get("max_partners"), rule.get("max_member_ids"))
        for kind, rule in (identity["rules"] or {}).items()
    }
    quality = {**DEFAULT_QUALITY, **(doc.get("quality") or {})}
    return BenchSpec(
        path=path,
        as_of=as_of,
        sources=tuple(sources),
        identifiers=tuple(identity["identifiers"]),
        max_partners=int(identity["max_partners_per_identifier"]),
        deny=tuple(identity["deny"]),
        max_iterations=int(identity["max_iterations"]),
        bins=int((doc.get("rfm") or {}).get("bins", DEFAULT_BINS)),
        future_tolerance_hours=float(quality["future_tolerance_hours"]),
        max_age_years=int(quality["max_age_years"]),
        completeness_min=float(quality["completeness_min"]),
        validity_min=float(quality["validity_min"]),
        freshness_max_hours=float(quality["freshness_max_hours"]),
        duckdb_config={k: (doc.get("warehouse") or {}).get(k) for k in ("threads", "memory_limit")},
        rules=rules,
        max_member_ids_per_customer=int(identity["max_member_ids_per_customer"]),
        placeholders=bool(identity["placeholders"]),
        probabilistic=bool(
            (identity.get("probabilistic") or {}).get("enabled", DEFAULT_PROBABILISTIC)
        ),
    )


def file_codec(path: Path, declared: str) -> str:
    """The Python codec of a file: a declared one (GBK read as GB18030), else sniffed.

    A UTF-8 BOM is left to the CSV readers (Arrow and DuckDB both skip it), so it maps to
    plain utf-8.
    """
    if declared in ("gbk", "gb18030"):
        return "gb18030"
    if declared in ("utf-8", "utf-8-sig"):
        return "utf-8"
    with path.open("rb") as handle:
        sample = handle.read(1 << 20)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=len(sample) < 1 << 20)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def latest_allowed(spec: BenchSpec) -> dt.datetime:
    """Timestamps after this are future_timestamp."""
    return spec.as_of + dt.timedelta(hours=spec.future_tolerance_hours)


def oldest_birth(spec: BenchSpec) -> dt.date:
    """Birth dates before this give an impossible age."""
    today = spec.as_of.date()
    return today.replace(year=today.year - spec.max_age_years)


def grid_segment(r5: int, f5: int) -> str:
    """The named segment of one R x F cell."""
    for name, rs, fs in SEGMENT_GRID:
        if r5 in rs and f5 in fs:
            return name
    return DEFAULT_SEGMENT


# ------------------------------------------------------------------- timing and memory


def cpu_seconds_self() -> float:
    """User + system CPU seconds this process (all its threads) has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Stopwatch:
    """Wall-clock and CPU seconds per stage, and the peak memory when each stage ended."""

    seconds: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    peak_mb: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block and add it to `name`."""
        start = time.perf_counter()
        cpu = cpu_seconds_self()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
            self.cpu[name] = self.cpu.get(name, 0.0) + cpu_seconds_self() - cpu
            self.peak_mb[name] = peak_rss_mb_self()


def peak_rss_mb_self() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def wait_with_rusage(pid: int) -> tuple[int, float, float]:
    """Reap one child: (exit code, peak RSS in MB, CPU seconds), for that child alone."""
    _, status, usage = os.wait4(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return code, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used since boot (from /proc/stat).

    The busy time during a run minus the benchmarked child's own CPU time is the work other
    processes did meanwhile: on a shared machine it says how far to trust the timings.
    """
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def memory_total_mb() -> float:
    """Physical memory in MB (0 when unknown)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def rss_mb(pid: int) -> float:
    """Current resident set size of a process in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# ------------------------------------------------------------------------- the results


@dataclass
class SourceCounts:
    """Row accounting for one source."""

    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rules: dict[str, int]  # quarantine rows per rule


@dataclass
class Summary:
    """What one implementation did, small enough to compare and to keep as JSON."""

    impl: str
    stages: dict[str, float]
    sources: dict[str, SourceCounts]
    records: int
    customers: int
    hubs: int
    iterations: int
    rfm_rows: int
    segments: dict[str, int]
    frequency_total: int
    monetary_total: float
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per stage
    orphans: dict[str, int] = field(default_factory=dict)  # per source: rows with no customer
    peak_rss_mb: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    unresolved: int = 0  # identity records left without a customer_id (every identifier a hub)
    nodes: int = 0  # identity signature nodes (records with the same identifiers are one node)
    hub_reasons: dict[str, int] = field(default_factory=dict)
    components_split: int = 0  # components with too many member ids, split on weak links

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        """Rebuild a summary written by `to_json`."""
        sources = {k: SourceCounts(**v) for k, v in data["sources"].items()}
        return cls(**{**data, "sources": sources})


def write_json(path: Path, data: Any) -> None:
    """Write JSON (UTF-8, indented), creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")


#: RFM keyed by each customer's smallest (source, record_key), from a DuckDB warehouse with
#: `rfm` and `identity_map` (segmint's and the SQL version's), for the per-customer check.
PER_CUSTOMER_SQL = """
    SELECT a.anchor, r.frequency, r.monetary
    FROM rfm r JOIN (
        SELECT customer_id, min(source || chr(31) || record_key) AS anchor
        FROM identity_map GROUP BY customer_id
    ) a USING (customer_id)
"""


def compare(summaries: list[Summary]) -> list[tuple[str, bool, str]]:
    """Equivalence checks across implementations: (what, agrees, the values seen)."""
    checks: list[tuple[str, bool, str]] = []
    if len(summaries) < 2:
        return checks

    def check(what: str, values: list[Any], close: float | None = None) -> None:
        if close is None:
            same = all(v == values[0] for v in values)
        else:
            same = all(abs(float(v) - float(values[0])) <= close for v in values)
        if same:
            shown = str(values[0])
        else:
            shown = "  ".join(f"{s.impl}={v}" for s, v in zip(summaries, values, strict=True))
        checks.append((what, same, shown))

    names = sorted({n for s in summaries for n in s.sources})
    empty = SourceCounts(0, 0, 0, {})
    for name in names:
        counts = [s.sources.get(name, empty) for s in summaries]
        check(f"{name}: rows read", [c.rows_read for c in counts])
        check(f"{name}: rows loaded", [c.rows_loaded for c in counts])
        check(f"{name}: rows quarantined", [c.rows_quarantined for c in counts])
        rules = sorted({r for c in counts for r in c.rules})
        check(
            f"{name}: quarantine by rule",
            [",".join(f"{r}:{c.rules.get(r, 0)}" for r in rules) for c in counts],
        )
    if all(s.orphans for s in summaries):
        for name in names:
            check(f"{name}: orphans", [s.orphans.get(name, 0) for s in summaries])
    check("identity: records", [s.records for s in summaries])
    check("identity: signature nodes", [s.nodes for s in summaries])
    check("identity: unresolved records", [s.unresolved for s in summaries])
    check("identity: customers", [s.customers for s in summaries])
    check("identity: hubs blocked", [s.hubs for s in summaries])
    check(
        "identity: hubs by reason",
        [",".join(f"{r}:{s.hub_reasons.get(r, 0)}" for r in HUB_REASONS) for s in summaries],
    )
    check("identity: components split", [s.components_split for s in summaries])
    check("rfm: buying customers", [s.rfm_rows for s in summaries])
    check("rfm: total frequency", [s.frequency_total for s in summaries])
    check("rfm: total monetary", [round(s.monetary_total, 2) for s in summaries], close=0.5)
    segments = sorted({k for s in summaries for k in s.segments})
    check(
        "rfm: customers per segment",
        [",".join(str(s.segments.get(k, 0)) for k in segments) for s in summaries],
    )
    return checks
