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
    table = table.append_column(FILE_COLUMN, pa.array([file] * table.num_rows, pa.string()))
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

    def read(threads: bool) -> pa.Table:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                encoding=arrow_codec, use_threads=threads, column_names=names, skip_rows=1
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

    try:
        table = read(threads=True)
        if bad:  # line numbers of bad rows are only known to the single-threaded reader
            bad.clear()
            table = read(threads=False)
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


def read_jsonl_file(path: Path, encoding: str) -> tuple[pa.Table, list[MalformedRow]]:
    """Read JSON Lines; nested objects become dotted columns (properties.product_id)."""
    codec = detect_encoding(path, encoding)
    columns: dict[str, list[str | None]] = {}
    lines: list[int] = []
    malformed: list[MalformedRow] = []
    count = 0
    with path.open("r", encoding=codec) as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                malformed.append(MalformedRow(str(path), number, text.rstrip("\n"), str(exc)))
                continue
            if not isinstance(obj, dict):
                malformed.append(
                    MalformedRow(str(path), number, text.rstrip("\n"), "not a JSON object")
                )
                continue
            flat: dict[str, str | None] = {}
            _flatten(obj, "", flat)
            for name in flat.keys() - columns.keys():
                columns[name] = [None] * count
            for name, values in columns.items():
                values.append(flat.get(name))
            lines.append(number)
            count += 1
    table = pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})
    if not columns:
        table = pa.table({})
    return _with_position(table, str(path), np.array(lines, dtype=np.int64)), malformed


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


def read_files(
    pattern: Path, fmt: str, encoding: str, delimiter: str | None, sheet: str | None
) -> RawRead:
    """Read every file a source names into one text table plus its malformed rows."""
    files = expand_paths(pattern)
    tables: list[pa.Table] = []
    malformed: list[MalformedRow] = []
    for path in files:
        if fmt in ("csv", "tsv"):
            sep = delimiter or ("\t" if fmt == "tsv" else ",")
            table, bad = read_csv_file(path, encoding, sep)
        elif fmt == "jsonl":
            table, bad = read_jsonl_file(path, encoding)
        elif fmt == "parquet":
            table, bad = read_parquet_file(path)
        elif fmt == "excel":
            table, bad = read_excel_file(path, sheet)
        else:  # pragma: no cover - the spec only allows the formats above
            raise SourceReadError(f"{path}: unsupported format {fmt!r}")
        tables.append(table)
        malformed.extend(bad)
    return RawRead(_concat(tables), malformed, [str(p) for p in files])
