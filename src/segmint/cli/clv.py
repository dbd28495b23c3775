"""`segmint clv ...`: fit a customer-base model on a CSV of per-customer statistics, and
predict with it.

The CSV has one row per customer: frequency, recency, T (and monetary_value for
gamma-gamma), in one time unit; the column names can be changed with options. A bad value
is reported with the file, the line and the column.
"""

from __future__ import annotations

import difflib
import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from segmint.cli.common import JsonOpt, emit_json, err, guard, out
from segmint.errors import ConfigError, SourceReadError

if TYPE_CHECKING:
    from segmint.predict.clv import Estimator

clv_app = typer.Typer(
    help="Customer-base models (BG/NBD, Pareto/NBD, MBG/NBD, Gamma-Gamma) on a CSV.",
    no_args_is_help=True,
)

MODEL_NAMES = ("bgnbd", "pnbd", "mbgnbd", "gamma-gamma")

FileArg = Annotated[
    Path,
    typer.Argument(help="CSV with one row per customer: frequency, recency, T [, monetary]."),
]
ModelOpt = Annotated[str, typer.Option("--model", help="bgnbd, pnbd, mbgnbd or gamma-gamma.")]
FrequencyCol = Annotated[str, typer.Option("--frequency-col", help="Column of repeat purchases.")]
RecencyCol = Annotated[
    str, typer.Option("--recency-col", help="Column of time of last purchase since first.")
]
TCol = Annotated[
    str, typer.Option("--T-col", "--t-col", help="Column of time since first purchase.")
]
MonetaryCol = Annotated[
    str,
    typer.Option("--monetary-col", help="Column of mean spend of repeat purchases (gamma-gamma)."),
]
WeightsCol = Annotated[
    str | None,
    typer.Option("--weights-col", help="Column counting identical customers (default: 1 each)."),
]


def _model_class(model: str) -> type[Estimator]:
    from segmint.predict.clv import MODELS

    if model not in MODELS:
        close = difflib.get_close_matches(model, MODELS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"--model must be one of {', '.join(MODELS)}, not {model!r}{hint}")
    return MODELS[model]


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise SourceReadError(f"{path}: no such file")
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SourceReadError(f"{path}: cannot be read as CSV ({exc})") from None


def _column(path: Path, frame: pd.DataFrame, name: str, option: str) -> pd.Series:
    """A numeric column; a missing column or a value that is not a number names the line."""
    if name not in frame.columns:
        have = ", ".join(map(str, frame.columns)) or "none"
        close = difflib.get_close_matches(name, [str(c) for c in frame.columns], n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"{path}: required column {name!r} missing (columns: {have}); {hint}"
            f"name it with {option}"
        )
    raw = frame[name]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise SourceReadError(
            f"{path}, line {row + 2}, column {name!r}: {raw.iloc[row]!r} is not a number"
        )
    return values.astype(float)


def _fit_error(path: Path, exc: Exception, names: dict[str, str]) -> Exception:
    """A FitError about one value, re-worded with the file, line and column."""
    from segmint.predict.clv import FitError

    if isinstance(exc, FitError) and exc.row is not None and exc.detail is not None:
        column = names.get(exc.column or "", exc.column)
        more = f" ({exc.count - 1:,} more rows like it)" if exc.count > 1 else ""
        return FitError(
            f"{path}, line {exc.row + 2}, column {column!r}: {exc.detail}{more}",
            column=column,
            row=exc.row,
            detail=exc.detail,
            count=exc.count,
        )
    if isinstance(exc, FitError):
        return FitError(f"{path}: {exc}")
    return exc


def _inputs(
    path: Path,
    model: str,
    frequency_col: str,
    recency_col: str,
    t_col: str,
    monetary_col: str,
    weights_col: str | None,
) -> tuple[pd.DataFrame, dict[str, str], pd.Series | None]:
    """The model's input columns under their standard names, the name map, the weights."""
    frame = _read(path)
    wanted = (
        {
            "frequency": (frequency_col, "--frequency-col"),
            "monetary_value": (monetary_col, "--monetary-col"),
        }
        if model == "gamma-gamma"
        else {
            "frequency": (frequency_col, "--frequency-col"),
            "recency": (recency_col, "--recency-col"),
            "T": (t_col, "--T-col"),
        }
    )
    data = pd.DataFrame({std: _column(path, frame, col, opt) for std, (col, opt) in wanted.items()})
    weights = (
        _column(path, frame, weights_col, "--weights-col") if weights_col is not None else None
    )
    names = {std: col for std, (col, _) in wanted.items()}
    if weights_col is not None:
        names["weights"] = weights_col
    return data, names, weights


def _fit(
    path: Path, cls: type[Estimator], data: pd.DataFrame, names: dict[str, str], weights: Any
) -> tuple[Estimator, float]:
    from segmint.predict.clv import FitError

    start = time.perf_counter()
    try:
        model = cls().fit(data, weights=weights)
    except FitError as exc:
        raise _fit_error(path, exc, names) from None
    return model, time.perf_counter() - start


def _number(value: float) -> str:
    return "" if not math.isfinite(value) else f"{value:,.6g}"


@clv_app.command("fit")
def fit(
    file: FileArg,
    model: ModelOpt = "bgnbd",
    frequency_col: FrequencyCol = "frequency",
    recency_col: RecencyCol = "recency",
    t_col: TCol = "T",
    monetary_col: MonetaryCol = "monetary_value",
    weights_col: WeightsCol = None,
    save: Annotated[
        Path | None, typer.Option("--save", help="Write the fitted model (JSON) here.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fit a model by maximum likelihood; print its parameters and log-likelihood."""

    def action() -> None:
        cls = _model_class(model)
        data, names, weights = _inputs(
            file, model, frequency_col, recency_col, t_col, monetary_col, weights_col
        )
        fitted, seconds = _fit(file, cls, data, names, weights)
        repeat = data["frequency"] > 0
        count = float(weights.sum()) if weights is not None else float(len(data))
        customers = fitted.n_customers_ if model != "gamma-gamma" else round(count)
        document = {
            "model": model,
            "params": fitted.params_,
            "log_likelihood": fitted.log_likelihood_,
            "customers": customers,
            "repeat_customers": fitted.n_repeat_customers_,
            "converged": fitted.converged_,
            "seconds": round(seconds, 4),
        }
        if save is not None:
            save.write_text(json.dumps(fitted.to_dict(), indent=2) + "\n", encoding="utf-8")
            err.print(f"wrote {save}")
        if as_json:
            emit_json(document)
            return
        table = Table(title=f"{cls.__name__} on {file.name}")
        table.add_column("parameter")
        table.add_column("estimate", justify="right")
        table.add_column("std. error", justify="right")
        for name, value in fitted.params_.items():
            table.add_row(
                name, _number(value), _number(fitted.standard_errors_.get(name, math.nan))
            )
        out.print(table)
        out.print(f"log-likelihood: [bold]{fitted.log_likelihood_:,.4f}[/]")
        out.print(
            f"customers: {customers:,} ({int(repeat.sum()):,} rows with repeat purchases)  "
            f"converged: {fitted.converged_}  seconds: {seconds:.3f}"
        )

    guard(action)


@clv_app.command("predict")
def predict(
    file: FileArg,
    model: ModelOpt = "bgnbd",
    t: Annotated[float, typer.Option("--t", help="Horizon in the file's time unit.", min=0)] = 30.0,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Write the file's rows with the predictions to this CSV."),
    ] = None,
    params: Annotated[
        Path | None,
        typer.Option("--params", help="Use a model saved by `clv fit --save` (no fit)."),
    ] = None,
    frequency_col: FrequencyCol = "frequency",
    recency_col: RecencyCol = "recency",
    t_col: TCol = "T",
    monetary_col: MonetaryCol = "monetary_value",
    weights_col: WeightsCol = None,
    as_json: JsonOpt = False,
) -> None:
    """Per customer: P(alive), expected purchases, P(a purchase) in --t periods, next purchase.

    The next purchase is the median time to it (inf: more likely never); gamma-gamma gives
    the expected spend per purchase instead.
    """

    def action() -> None:
        from segmint.predict.clv import CountModel, FitError

        cls = _model_class(model)
        data, names, weights = _inputs(
            file, model, frequency_col, recency_col, t_col, monetary_col, weights_col
        )
        if params is not None:
            fitted = _load(params, cls)
        else:
            fitted, _ = _fit(file, cls, data, names, weights)
        columns: dict[str, Any] = {}
        try:
            if isinstance(fitted, CountModel):
                f, r, age = data["frequency"], data["recency"], data["T"]
                columns["p_alive"] = fitted.probability_alive(f, r, age)
                columns["expected_purchases"] = fitted.expected_purchases(t, f, r, age)
                columns["p_purchase"] = fitted.probability_of_purchase(t, f, r, age)
                columns["next_purchase"] = fitted.expected_next_purchase(f, r, age)
            else:
                spend = getattr(fitted, "conditional_expected_average_profit")  # noqa: B009
                columns["expected_spend"] = spend(data["frequency"], data["monetary_value"])
        except FitError as exc:
            raise _fit_error(file, exc, names) from None
        result = pd.DataFrame(columns, index=data.index)
        if out_file is not None:
            _read(file).join(result).to_csv(out_file, index=False)
            err.print(f"wrote {len(result):,} rows to {out_file}")
        summary: dict[str, Any] = {
            "model": model,
            "params": fitted.params_,
            "t": t,
            "customers": len(result),
            "out": str(out_file) if out_file is not None else None,
        }
        for name, values in result.items():
            finite = values[values.map(math.isfinite)]
            summary[f"mean_{name}"] = float(finite.mean()) if len(finite) else None
            if name == "expected_purchases":
                summary["total_expected_purchases"] = float(values.sum())
        if as_json:
            emit_json(summary)
            return
        table = Table(title=f"{cls.__name__} predictions for {file.name} (t = {t:g})")
        table.add_column("measure")
        table.add_column("mean", justify="right")
        for name, values in result.items():
            finite = values[values.map(math.isfinite)]
            table.add_row(name, _number(float(finite.mean())) if len(finite) else "")
        out.print(table)

    guard(action)


def _load(path: Path, cls: type[Estimator]) -> Estimator:
    if not path.is_file():
        raise SourceReadError(f"{path}: no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceReadError(f"{path}: not a saved model (invalid JSON: {exc})") from None
    from segmint.predict.clv import FitError

    try:
        return cls.from_dict(data)
    except FitError as exc:
        raise FitError(f"{path}: {exc}") from None
