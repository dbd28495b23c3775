"""`segmint clv fit` and `segmint clv predict`, run in-process on CSV files in a temp folder."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from segmint.cli.app import app
from segmint.predict.clv import cdnow

pytest.importorskip("lifetimes", reason="the CDNOW files ship with lifetimes (dev dependency)")

runner = CliRunner()


@pytest.fixture(scope="module")
def summary_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clv") / "cdnow.csv"
    cdnow.load_summary_with_monetary().to_csv(path, index=False)
    return path


def _lines(path: Path, replace: dict[int, str]) -> Path:
    """A copy of the CSV at `path` with some lines (1 = header) replaced."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, text in replace.items():
        lines[number - 1] = text
    out = path.with_name(f"edited-{min(replace)}.csv")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def test_fit_json_prints_the_documented_document(summary_csv: Path) -> None:
    result = runner.invoke(app, ["clv", "fit", str(summary_csv), "--model", "bgnbd", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {
        "model",
        "params",
        "log_likelihood",
        "customers",
        "repeat_customers",
        "converged",
        "seconds",
    }
    assert doc["model"] == "bgnbd" and doc["customers"] == 2357 and doc["repeat_customers"] == 946
    assert round(doc["params"]["alpha"], 3) == 4.414 and round(doc["log_likelihood"], 1) == -9582.4
    assert doc["converged"] is True


def test_fit_table_and_every_model(summary_csv: Path) -> None:
    for model in ("pnbd", "mbgnbd", "gamma-gamma"):
        result = runner.invoke(app, ["clv", "fit", str(summary_csv), "--model", model])
        assert result.exit_code == 0, result.output
        assert "log-likelihood" in result.stdout and "std. error" in result.stdout
    result = runner.invoke(
        app, ["clv", "fit", str(summary_csv), "--model", "gamma-gamma", "--json"]
    )
    doc = json.loads(result.stdout)
    assert round(doc["params"]["p"], 2) == 6.25 and doc["repeat_customers"] == 946


def test_column_names_are_options(summary_csv: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "renamed.csv"
    pd.read_csv(summary_csv).rename(
        columns={"frequency": "x", "recency": "t_x", "T": "age", "monetary_value": "zbar"}
    ).to_csv(renamed, index=False)
    args = [
        "--frequency-col",
        "x",
        "--recency-col",
        "t_x",
        "--T-col",
        "age",
        "--monetary-col",
        "zbar",
    ]
    for model in ("bgnbd", "gamma-gamma"):
        result = runner.invoke(app, ["clv", "fit", str(renamed), "--model", model, *args, "--json"])
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["clv", "fit", str(renamed)])
    assert result.exit_code == 2
    assert "required column 'frequency' missing" in result.stderr
    assert "name it with --frequency-col" in result.stderr


@pytest.mark.parametrize(
    ("line", "text", "message"),
    [
        (5, "-2,1.0,38.86,0", "line 5, column 'frequency': -2 is negative; it must be >= 0"),
        (7, "abc,1.0,38.86,0", "line 7, column 'frequency': 'abc' is not a number"),
        (10, "2,40.0,38.86,3", "line 10, column 'recency': recency 40 > T 38.86"),
        (10, "2,,38.86,3", "line 10, column 'recency': missing value"),
        (12, "1.5,3.0,38.86,3", "line 12, column 'frequency': 1.5 is not a whole number"),
    ],
)
def test_bad_values_are_one_line_naming_file_line_and_column(
    summary_csv: Path, line: int, text: str, message: str
) -> None:
    bad = _lines(summary_csv, {line: text})
    result = runner.invoke(app, ["clv", "fit", str(bad)])
    assert result.exit_code == 1
    error = result.stderr.strip()
    assert error.startswith(f"error: {bad}, {message}"), error
    assert len(error.splitlines()) == 1


def test_data_that_cannot_support_a_fit_name_the_file(tmp_path: Path) -> None:
    few = tmp_path / "few.csv"
    few.write_text("frequency,recency,T\n" + "0,0,10\n" * 50 + "1,2,10\n" * 3, encoding="utf-8")
    result = runner.invoke(app, ["clv", "fit", str(few), "--model", "pnbd"])
    assert result.exit_code == 1
    assert (
        f"{few}: only 3 of 53 customers made a repeat purchase; ParetoNBD needs at least 10"
        in result.stderr
    )


def test_unknown_model_missing_file_and_not_csv(summary_csv: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["clv", "fit", str(summary_csv), "--model", "bg-nbd"])
    assert result.exit_code == 2
    assert "did you mean 'bgnbd'?" in result.stderr
    result = runner.invoke(app, ["clv", "fit", str(tmp_path / "nope.csv")])
    assert result.exit_code == 1 and "nope.csv: no such file" in result.stderr
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    result = runner.invoke(app, ["clv", "fit", str(empty)])
    assert result.exit_code == 1 and "cannot be read as CSV" in result.stderr


def test_predict_writes_the_rows_with_predictions(summary_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "predictions.csv"
    result = runner.invoke(
        app,
        [
            "clv",
            "predict",
            str(summary_csv),
            "--model",
            "mbgnbd",
            "--t",
            "39",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["customers"] == 2357 and doc["t"] == 39
    frame = pd.read_csv(out)
    assert list(frame.columns[-4:]) == [
        "p_alive",
        "expected_purchases",
        "p_purchase",
        "next_purchase",
    ]
    assert frame["p_alive"].between(0, 1).all()
    assert (frame["p_purchase"] <= frame["p_alive"] + 1e-12).all()
    assert doc["total_expected_purchases"] == pytest.approx(frame["expected_purchases"].sum())


def test_saved_model_is_reused_by_predict(summary_csv: Path, tmp_path: Path) -> None:
    saved = tmp_path / "bgnbd.json"
    result = runner.invoke(app, ["clv", "fit", str(summary_csv), "--save", str(saved), "--json"])
    assert result.exit_code == 0, result.output
    fitted = json.loads(result.stdout)["params"]
    result = runner.invoke(
        app, ["clv", "predict", str(summary_csv), "--params", str(saved), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["params"] == fitted
    broken = tmp_path / "broken.json"
    data = json.loads(saved.read_text(encoding="utf-8"))
    data["params"]["r"] = 0.5
    broken.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(app, ["clv", "predict", str(summary_csv), "--params", str(broken)])
    assert result.exit_code == 1 and "fingerprint does not match" in result.stderr
    result = runner.invoke(
        app, ["clv", "predict", str(summary_csv), "--model", "pnbd", "--params", str(saved)]
    )
    assert result.exit_code == 1 and "saved model is 'bgnbd', not 'pnbd'" in result.stderr
