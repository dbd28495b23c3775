"""Read source files into Arrow tables of text, keeping the file and line of every row.

Every value is kept exactly as written (as a string): parsing and validation happen later,
in the engine, so that a bad value can be quarantined with the text the user sent. Rows the
file format itself cannot parse (a CSV line with the wrong number of fields, a line that is
not JSON) are returned separately as malformed rows with their line number.
"""

from __future__ import annotations

import csv
import glob
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from segmint.errors import SourceReadError
from segmint.ingest.encoding import detect_encoding

FILE_COLUMN = "_file"
LINE_COLUMN = "_line"
#: JSON Lines keep each line's text: the raw row as read.
JSON_COLUMN = "_json"


@dataclass(frozen=True)
class MalformedRow:
    """A row the file format could not parse."""

    file: str
    line: int
    text: str
    reason: str


@dataclass
class RawRead:
    """What reading one source produced."""

    table: pa.Table
    malformed: list[MalformedRow] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        """Every data row seen, parsed or not."""
        return self.table.num_rows + len(self.malformed)


def expand_paths(pattern: Path) -> list[Path]:
    """The files a path or glob names, sorted; an error naming the pattern if there are none."""
    text = str(pattern)
    if any(ch in text for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        if not files:
            raise SourceReadError(f"{pattern}: no files match this pattern")
        return files
    if not pattern.is_file():
        raise SourceReadError(f"{pattern}: file not found")
    return [pattern]


def _with_position(table: pa.Table, file: str, lines: np.ndarray) -> pa.Table:
    table = table.append_column(
        FILE_COLUMN, pa.repeat(pa.scalar(file, pa.string()), table.num_rows)
    )
    return table.append_column(LINE_COLUMN, pa.array(lines, pa.int64()))


def _csv_header(path: Path, codec: str, delimiter: str) -> list[str]:
    with path.open("r", encoding=codec, newline="") as handle:
        first = handle.readline()
    if not first.strip():
        raise SourceReadError(f"{path}: the file is empty (no header line)")
    header = next(csv.reader(io.StringIO(first), delimiter=delimiter))
    names = [h.strip() for h in header]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise SourceReadError(f"{path}: header repeats column(s) {', '.join(duplicated)}")
    return names


def read_csv_file(path: Path, encoding: str, delimiter: str) -> tuple[pa.Table, list[MalformedRow]]:
    """Read one delimited text file: every column as text, bad lines set aside."""
    codec = detect_encoding(path, encoding)
    names = _csv_header(path, codec, delimiter)
    arrow_codec = "utf8" if codec in ("utf-8", "utf-8-sig") else codec
    bad: list[tuple[int | None, str]] = []

    def on_invalid(row: Any) -> str:
        bad.append((row.number, row.text))
        return "skip"

    # One single-threaded read: only it knows the line numbers of bad rows, and on two
    # cores it is no slower than the threaded reader (whose bad-row callbacks queue for
    # the GIL). A threaded read then a single-threaded one for bad rows cost 1.9 s on 3M
    # rows; this costs 0.6 s.
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                encoding=arrow_codec, use_threads=False, column_names=names, skip_rows=1
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise SourceReadError(f"{path}: cannot be read as {codec} delimited text: {exc}") from exc
    bad_lines = np.array(sorted(n or 0 for n, _ in bad), dtype=np.int64)
    all_lines = np.arange(2, 2 + table.num_rows + len(bad), dtype=np.int64)
    lines = np.setdiff1d(all_lines, bad_lines, assume_unique=True)
    malformed = [
        MalformedRow(str(path), n or 0, text, f"expected {len(names)} fields") for n, text in bad
    ]
    return _with_position(table, str(path), lines), malformed


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _flatten(obj: dict[str, Any], prefix: str, out: dict[str, str | None]) -> None:
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(value, f"{name}.", out)
        else:
            out[name] = _json_text(value)


def _jsonpath(dotted: str) -> str:
    return "$" + "".join(f'."{part}"' for part in dotted.split("."))


def _newlines_match(path: Path, rows: int) -> bool:
    """True when every line of the file is one record (no blank lines)."""
    count = 0
    last = b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 24):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return rows == count + (0 if last == b"\n" else 1)


def _read_jsonl_duckdb(path: Path, wanted: list[str]) -> pa.Table | None:
    """Fast path: DuckDB splits and parses lines; None when the file needs the careful reader."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        # The list form parses each line once for all paths.
        columns = "".join(
            f'values[{i + 1}] AS "{name.replace(chr(34), chr(34) * 2)}", '
            for i, name in enumerate(wanted)
        )
        paths = "[" + ", ".join("?" for _ in wanted) + "]" if wanted else "[]"
        sql = (
            f"SELECT {columns}json AS {JSON_COLUMN} FROM ("
            f"SELECT json, json_extract_string(json, {paths}::VARCHAR[]) AS values "
            "FROM read_ndjson_objects(?))"
        )
        table = con.execute(sql, [*(_jsonpath(n) for n in wanted), str(path)]).to_arrow_table()
    except duckdb.Error:
        return None
    finally:
        con.close()
    if not _newlines_match(path, table.num_rows):
        return None
    return table.cast(pa.schema([pa.field(n, pa.string()) for n in table.column_names]))


def read_jsonl_file(
    path: Path, encoding: str, wanted: list[str]
) -> tuple[pa.Table, list[MalformedRow]]:
    """Read JSON Lines: the `wanted` keys (nested ones dotted, properties.product_id) as text,
    plus each line's own text as the raw row.
    """
    codec = detect_encoding(path, encoding)
    if codec in ("utf-8", "utf-8-sig"):
        fast = _read_jsonl_duckdb(path, wanted)
        if fast is not None:
            lines = np.arange(1, fast.num_rows + 1, dtype=np.int64)
            return _with_position(fast, str(path), lines), []
    columns: dict[str, list[str | None]] = {name: [] for name in [*wanted, JSON_COLUMN]}
    line_numbers: list[int] = []
    malformed: list[MalformedRow] = []
    with path.open("r", encoding=codec) as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            body = text.rstrip("\r\n")
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                malformed.append(MalformedRow(str(path), number, body, str(exc)))
                continue
            if not isinstance(obj, dict):
                malformed.append(MalformedRow(str(path), number, body, "not a JSON object"))
                continue
            flat: dict[str, str | None] = {}
            _flatten(obj, "", flat)
            for name in wanted:
                columns[name].append(flat.get(name))
            columns[JSON_COLUMN].append(body)
            line_numbers.append(number)
    table = pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})
    return _with_position(table, str(path), np.array(line_numbers, dtype=np.int64)), malformed


def _as_text(table: pa.Table) -> pa.Table:
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            columns.append(column.cast(pa.string()))
        elif pa.types.is_nested(column.type):
            columns.append(pa.array([_json_text(v) for v in column.to_pylist()], pa.string()))
        else:
            columns.append(column.cast(pa.string()))
    return pa.table(columns, names=table.column_names)


def read_parquet_file(path: Path) -> tuple[pa.Table, list[MalformedRow]]:
    """Read Parquet; values are turned into text so every format is validated the same way."""
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceReadError(f"{path}: cannot be read as Parquet: {exc}") from exc
    lines = np.arange(1, table.num_rows + 1, dtype=np.int64)
    return _with_position(_as_text(table), str(path), lines), []


def read_excel_file(path: Path, sheet: str | None) -> tuple[pa.Table, list[MalformedRow]]:
    """Read one Excel sheet (the first by default); the header is line 1."""
    import pandas as pd

    try:
        frame = pd.read_excel(path, sheet_name=sheet or 0, dtype=str, keep_default_na=False)
    except (ValueError, OSError, KeyError) as exc:
        raise SourceReadError(f"{path}: cannot be read as Excel: {exc}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    table = pa.Table.from_pandas(frame, preserve_index=False)
    lines = np.arange(2, table.num_rows + 2, dtype=np.int64)
    return _with_position(_as_text(table), str(path), lines), []


def _concat(tables: Iterable[pa.Table]) -> pa.Table:
    return pa.concat_tables(list(tables), promote_options="permissive")


def jsonl_sample_keys(path: Path, lines: int = 1000) -> list[str]:
    """Dotted key paths seen in the first lines of a JSON Lines file (for error hints)."""
    keys: dict[str, None] = {}
    with path.open("r", encoding=detect_encoding(path), errors="replace") as handle:
        for _, text in zip(range(lines), handle, strict=False):
            try:
                obj = json.loads(text)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                flat: dict[str, str | None] = {}
                _flatten(obj, "", flat)
                keys.update(dict.fromkeys(flat))
    return list(keys)


def present_columns(read: RawRead, fmt: str) -> list[str]:
    """The columns a source really has: for JSON Lines, keys that occur in some line."""
    table = read.table
    if fmt != "jsonl":
        return table.column_names
    present = [
        n for n in table.column_names if table.num_rows == 0 or table[n].null_count < table.num_rows
    ]
    for file in read.files:
        present.extend(k for k in jsonl_sample_keys(Path(file)) if k not in present)
    return present


def read_files(
    pattern: Path,
    fmt: str,
    encoding: str,
    delimiter: str | None,
    sheet: str | None,
    wanted: list[str] | None = None,
) -> RawRead:
    """Read every file a source names into one text table plus its malformed rows.

    `wanted` names the columns the source maps (JSON Lines read only those, plus the line).
    """
    files = expand_paths(pattern)
    tables: list[pa.Table] = []
    malformed: list[MalformedRow] = []
    for path in files:
        if fmt in ("csv", "tsv"):
            sep = delimiter or ("\t" if fmt == "tsv" else ",")
            table, bad = read_csv_file(path, encoding, sep)
        elif fmt == "jsonl":
            table, bad = read_jsonl_file(path, encoding, wanted or [])
        elif fmt == "parquet":
            table, bad = read_parquet_file(path)
        elif fmt == "excel":
            table, bad = read_excel_file(path, sheet)
        else:  # pragma: no cover - the spec only allows the formats above
            raise SourceReadError(f"{path}: unsupported format {fmt!r}")
        tables.append(table)
        malformed.extend(bad)
    return RawRead(_concat(tables), malformed, [str(p) for p in files])
