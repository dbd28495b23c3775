"""File readers: JSON Lines fast and careful paths agree; lines and raw text are kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from segmint.ingest.readers import JSON_COLUMN, present_columns, read_files

LINES = [
    '{"messageId":"e1","type":"track","userId":"M1","timestamp":"2026-03-05T06:03:00Z",'
    '"properties":{"product_id":"P1","price":12.5,"tags":["a"]},"ok":true}',
    '{"messageId":"e2","type":"page","anonymousId":"d-1","timestamp":"2026-03-05 14:03:00",'
    '"properties":{"product_id":null}}',
]
WANTED = ["messageId", "userId", "properties.product_id", "properties.price", "ok"]


def _read(path: Path) -> list[dict]:
    return read_files(path, "jsonl", "auto", None, None, wanted=WANTED).table.to_pylist()


def test_jsonl_values_stay_as_written(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    rows = _read(path)
    assert [r["_line"] for r in rows] == [1, 2]
    assert rows[0]["properties.price"] == "12.5"
    assert rows[0]["ok"] == "true"
    assert rows[0]["userId"] == "M1" and rows[1]["userId"] is None
    assert rows[0][JSON_COLUMN] == LINES[0]


def test_bad_and_blank_lines_take_the_careful_path_with_the_same_values(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    messy = tmp_path / "messy.jsonl"
    messy.write_text(LINES[0] + "\n\nnot json\n" + LINES[1] + "\n", encoding="utf-8")
    read = read_files(messy, "jsonl", "auto", None, None, wanted=WANTED)
    assert [(m.line, m.text) for m in read.malformed] == [(3, "not json")]
    rows = read.table.to_pylist()
    assert [r["_line"] for r in rows] == [1, 4]
    fast = _read(good)
    for careful_row, fast_row in zip(rows, fast, strict=True):
        assert {k: v for k, v in careful_row.items() if k not in ("_file", "_line")} == {
            k: v for k, v in fast_row.items() if k not in ("_file", "_line")
        }


@pytest.mark.parametrize("name", ["userid", "properties.product"])
def test_a_key_no_line_has_is_not_present(tmp_path: Path, name: str) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    read = read_files(path, "jsonl", "auto", None, None, wanted=[*WANTED, name])
    present = present_columns(read, "jsonl")
    assert name not in present
    assert "properties.product_id" in present and "anonymousId" in present


def test_parquet_and_excel_are_read_as_text_with_positions(tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame({"order_id": ["A1", "A2"], "amount": [12.5, 3.0], "qty": [1, 2]})
    frame.to_parquet(tmp_path / "o.parquet")
    frame.to_excel(tmp_path / "o.xlsx", index=False)
    parquet = read_files(tmp_path / "o.parquet", "parquet", "auto", None, None).table.to_pylist()
    assert [(r["order_id"], r["amount"], r["qty"], r["_line"]) for r in parquet] == [
        ("A1", "12.5", "1", 1),
        ("A2", "3", "2", 2),
    ]
    excel = read_files(tmp_path / "o.xlsx", "excel", "auto", None, None).table.to_pylist()
    assert [(r["order_id"], r["_line"]) for r in excel] == [("A1", 2), ("A2", 3)]
    assert excel[0]["amount"] == "12.5"
