"""Writing: source files (any encoding, any newline) and the ground-truth files.

Lines are rendered as one Arrow string array per chunk; the array's data buffer *is* the
file content, so writing is one `write` of a buffer slice (plus a transcode for GBK).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from segmint.generate.arrays import I64
from segmint.generate.badrows import ORPHAN, Planted, plant
from segmint.generate.fmt import csv_field, join, padded, take
from segmint.generate.fmt import ints as fmt_ints
from segmint.generate.personas import PERSONA_NAMES
from segmint.generate.sources import Frame, SourceSpec


def _offsets(lines: pa.Array) -> tuple[memoryview, np.ndarray]:
    """The data buffer of a null-free string array and its offsets (relative to it)."""
    if lines.null_count:
        raise ValueError("cannot write null lines")  # pragma: no cover - internal invariant
    width = np.int64 if lines.type == pa.large_string() else np.int32
    _, offsets_buf, data = lines.buffers()
    if len(lines) == 0 or offsets_buf is None or data is None:
        return memoryview(b""), np.zeros(len(lines) + 1, np.int64)
    offsets = np.frombuffer(
        offsets_buf, width, count=len(lines) + 1, offset=lines.offset * np.dtype(width).itemsize
    ).astype(np.int64)
    return memoryview(data), offsets


def payload(lines: pa.Array) -> memoryview:
    """The bytes of a null-free string array, concatenated (no copy)."""
    data, offsets = _offsets(lines)
    return data[int(offsets[0]) : int(offsets[-1])]


def interleave(lines: pa.Array, extra: pa.Array, before: I64) -> list[memoryview]:
    """`lines` with `extra[j]` inserted before `lines[before[j]]` (stable), as byte pieces.

    Only the inserted lines are visited one by one (a fraction of a percent of the rows).
    """
    if len(extra) == 0:
        return [payload(lines)]
    data, offsets = _offsets(lines)
    extra_data, extra_offsets = _offsets(extra)
    pieces: list[memoryview] = []
    previous = 0
    for j in np.argsort(before, kind="stable").tolist():
        at = int(before[j])
        pieces.append(data[int(offsets[previous]) : int(offsets[at])])
        pieces.append(extra_data[int(extra_offsets[j]) : int(extra_offsets[j + 1])])
        previous = at
    pieces.append(data[int(offsets[previous]) : int(offsets[-1])])
    return pieces


class TextSink:
    """An append-only text file in one encoding with one newline convention."""

    def __init__(self, path: Path, encoding: str = "utf-8", newline: str = "\n") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.encoding = encoding
        self.newline = newline
        self._file = path.open("wb")
        if encoding == "utf-8-sig":
            self._file.write("\ufeff".encode())

    def write_lines(self, lines: pa.Array) -> None:
        """Append lines (without their newline)."""
        if len(lines):
            self.write_text(payload(join(lines, self.newline)))

    def write_text(self, data: bytes | memoryview | list[memoryview]) -> None:
        """Append UTF-8 text (newlines included), transcoded to the file's encoding."""
        pieces = data if isinstance(data, list) else [data]
        if self.encoding in ("utf-8", "utf-8-sig"):
            self._file.writelines(pieces)
        else:
            self._file.write(b"".join(pieces).decode("utf-8").encode(self.encoding))

    def close(self) -> None:
        """Flush and close the file."""
        self._file.close()


class CsvSink(TextSink):
    """A UTF-8 CSV file written column-wise (used for the ground truth)."""

    def __init__(self, path: Path, header: tuple[str, ...]) -> None:
        super().__init__(path)
        self.header = header
        self.write_lines(pa.array([",".join(header)]))

    def write_columns(self, *columns: pa.Array | str) -> None:
        """Append rows; each column is an array or a literal repeated on every row."""
        self.write_lines(
            join(*[c if isinstance(c, str) else csv_field(c) for c in columns], sep=",")
        )


def person_ids(person: I64) -> pa.Array:
    """Ground-truth person ids: P0000001 is person 0."""
    return padded(np.asarray(person, np.int64) + 1, 7, "P")


RECORD_COLUMNS = ("source", "record_key", "person_id", "persona", "line")
BAD_COLUMNS = ("source", "file", "line", "kind", "column")


def csv_lines(*columns: pa.Array | str) -> pa.Array:
    """CSV lines (with newline); each column is an array or a literal on every row."""
    pieces: list[pa.Array | str] = []
    for column in columns:
        pieces.extend([column if isinstance(column, str) else csv_field(column), ","])
    pieces[-1] = "\n"
    return join(*pieces).cast(pa.string())


class SourceWriter:
    """One source file: header, planted chunks, and the truth about every line.

    The truth goes to per-source part files (so sources can be written concurrently and
    the merged truth is still the same bytes every time); `merge_truth` joins them.
    """

    def __init__(self, spec: SourceSpec, out_dir: Path, persona: I64, as_of: int) -> None:
        self.spec = spec
        self.persona = persona
        self.as_of = as_of
        self.sink = TextSink(out_dir / spec.path, spec.encoding, spec.newline)
        truth = out_dir / "truth"
        self.records = TextSink(truth / f".records.{spec.name}.part")
        self.bad = TextSink(truth / f".bad_rows.{spec.name}.part")
        self.next_line = 1
        if spec.format == "csv":
            self.sink.write_lines(pa.array([",".join(spec.columns)]))
            self.next_line = 2
        self.rows = 0
        self.bad_count = 0
        self.orphan_count = 0
        kinds = [b.kind for b in spec.bad] + ["", ORPHAN]
        columns = [b.column for b in spec.bad] + ["", ""]
        self._kinds = pa.array(kinds, pa.string())
        self._columns = pa.array(columns, pa.string())

    def _record_lines(self, key: pa.Array, person: I64, line: I64) -> pa.Array:
        return csv_lines(
            self.spec.name,
            key,
            person_ids(person),
            take(PERSONA_NAMES, self.persona[person]),
            fmt_ints(line),
        )

    def write(self, frame: Frame, rng: np.random.Generator) -> None:
        """Plant bad rows into the frame, append its lines and record the truth."""
        self.commit(frame.person, self.prepare(frame, rng))

    def prepare(self, frame: Frame, rng: np.random.Generator) -> Planted:
        """Plant and render a frame (no side effects: safe to run on any thread)."""
        return plant(frame, self.spec, self.as_of, rng)

    def commit(self, person: I64, planted: Planted) -> None:
        """Append prepared lines and their truth (call in file order)."""
        spec = self.spec
        n = len(planted.lines)
        m = len(planted.extra)
        if n + m == 0:
            return
        self.sink.write_text(interleave(planted.lines, planted.extra, planted.before))
        # final line numbers: a row moves down by the extras inserted before it
        ranked = np.sort(planted.before, kind="stable")
        row_line = self.next_line + np.arange(n) + np.searchsorted(ranked, np.arange(n), "right")
        extra_line = np.empty(m, np.int64)
        extra_line[np.argsort(planted.before, kind="stable")] = (
            self.next_line + ranked + np.arange(m)
        )
        if spec.carries_person:
            rows = self._record_lines(planted.key, person, row_line)
            extra = self._record_lines(
                planted.key.take(pa.array(planted.copied)),
                person[planted.copied],
                extra_line,
            )
            self.records.write_text(interleave(rows, extra, planted.before))
        bad = np.flatnonzero(planted.code != len(spec.bad))
        line = np.concatenate([row_line[bad], extra_line])
        code = np.concatenate([planted.code[bad], planted.extra_code])
        if len(line):
            order = np.argsort(line, kind="stable")
            codes = pa.array(code[order])
            self.bad.write_text(
                payload(
                    csv_lines(
                        spec.name,
                        spec.path,
                        fmt_ints(line[order]),
                        self._kinds.take(codes),
                        self._columns.take(codes),
                    )
                )
            )
            orphans = int(np.sum(code == len(spec.bad) + 1))
            self.orphan_count += orphans
            self.bad_count += len(line) - orphans
        self.next_line += n + m
        self.rows += n + m

    def close(self) -> None:
        """Close the source file and its truth parts."""
        self.sink.close()
        self.records.close()
        self.bad.close()


def merge_truth(truth_dir: Path, sources: list[str]) -> None:
    """Join the per-source truth parts into records.csv and bad_rows.csv (source order)."""
    for name, header in (("records", RECORD_COLUMNS), ("bad_rows", BAD_COLUMNS)):
        with (truth_dir / f"{name}.csv").open("wb") as out:
            out.write((",".join(header) + "\n").encode())
            for source in sources:
                part = truth_dir / f".{name}.{source}.part"
                out.flush()
                with part.open("rb") as handle:
                    _copy(handle, out)
                part.unlink()


def _copy(source: BinaryIO, target: BinaryIO) -> None:
    """Append one file to another, in the kernel when the platform allows it."""
    size = os.fstat(source.fileno()).st_size
    offset = 0
    try:
        while offset < size:
            sent = os.sendfile(target.fileno(), source.fileno(), offset, size - offset)
            if sent == 0:  # pragma: no cover - defensive
                break
            offset += sent
    except (AttributeError, OSError):  # pragma: no cover - no sendfile for files here
        source.seek(offset)
        target.seek(0, os.SEEK_END)
        shutil.copyfileobj(source, target, 1 << 22)


class Closing:
    """Close many writers on exit, even on error."""

    def __init__(self, *items: SourceWriter | TextSink) -> None:
        self.items = list(items)

    def add(self, item: SourceWriter | TextSink) -> None:
        """Close this one too."""
        self.items.append(item)

    def __enter__(self) -> Closing:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for item in self.items:
            item.close()
