"""CLV models on CDNOW: published figures, lifetimes as reference, calibration/holdout, and
docs/validation.md in step with the code."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from segmint.predict.clv import (
    BetaGeoNBD,
    GammaGamma,
    ModifiedBetaGeoNBD,
    ParetoNBD,
    cdnow,
    customer_lifetime_value,
    rfm_summary,
)

lifetimes = pytest.importorskip("lifetimes", reason="lifetimes is the reference (dev dependency)")

pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

ROOT = Path(__file__).resolve().parent.parent
LIFETIMES_CLASSES = {
    "bgnbd": "BetaGeoFitter",
    "pnbd": "ParetoNBDFitter",
    "mbgnbd": "ModifiedBetaGeoFitter",
}


@pytest.fixture(scope="module")
def validation() -> ModuleType:
    """scripts/cdnow_validation.py as a module (it computes and renders the document)."""
    spec = importlib.util.spec_from_file_location(
        "cdnow_validation", ROOT / "scripts" / "cdnow_validation.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["cdnow_validation"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ours(validation: ModuleType) -> dict[str, Any]:
    return dict(validation.fit_ours()[0])


@pytest.fixture(scope="module")
def ref(validation: ModuleType) -> dict[str, Any]:
    return dict(validation.fit_lifetimes())


@pytest.fixture(scope="module")
def holdout(validation: ModuleType) -> Any:
    return validation.holdout_check()


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return cdnow.load_summary_with_monetary()


def test_parameters_and_log_likelihood_agree_with_lifetimes(
    ours: dict[str, Any], ref: dict[str, Any]
) -> None:
    for name, model in ours.items():
        theirs = ref[name]
        for key, value in model.params_.items():
            assert value == pytest.approx(theirs.params[key], rel=1e-3), (name, key)
        assert model.log_likelihood_ == pytest.approx(theirs.log_likelihood, rel=1e-6), name


def test_lifetimes_log_likelihood_conversion_matches_ours_at_its_parameters(
    ours: dict[str, Any], ref: dict[str, Any], data: pd.DataFrame
) -> None:
    f, r, t = data["frequency"], data["recency"], data["T"]
    for name in ("bgnbd", "pnbd", "mbgnbd"):
        at_theirs = type(ours[name]).from_params(**ref[name].params)
        assert at_theirs.log_likelihood(f, r, t).sum() == pytest.approx(
            ref[name].log_likelihood, rel=1e-10
        )
        # segmint's optimum is at least as good as lifetimes'.
        assert ours[name].log_likelihood_ >= ref[name].log_likelihood - 1e-9


def _within_published(value: float, published: float) -> bool:
    """Equal to the published figure within one unit of its last printed digit, or 0.01 %
    (only Pareto/NBD's beta needs the latter: 11.6679 against 11.669)."""
    text = repr(published)
    digits = len(text.split(".")[1]) if "." in text else 0
    return abs(value - published) <= max(10.0**-digits, 1e-4 * abs(published)) + 1e-12


def test_published_fader_hardie_figures(ours: dict[str, Any], validation: ModuleType) -> None:
    for name, published in validation.PUBLISHED.items():
        model = ours[name]
        for key, value in published.items():
            got = model.log_likelihood_ if key == "log_likelihood" else model.params_[key]
            assert _within_published(got, value), (name, key, got, value)
    bg, pnbd = ours["bgnbd"], ours["pnbd"]
    # At the published precision exactly, except Pareto/NBD's beta (11.668 vs 11.669, its
    # standard error is 6.2) and Gamma-Gamma's gamma (15.45 vs 15.44; lifetimes agrees).
    assert [round(bg.params_[k], 3) for k in ("r", "alpha", "a", "b")] == [
        0.243,
        4.414,
        0.793,
        2.426,
    ]
    assert round(bg.log_likelihood_, 1) == -9582.4
    assert [round(pnbd.params_[k], 3) for k in ("r", "alpha", "s")] == [0.553, 10.578, 0.606]
    assert round(pnbd.log_likelihood_, 1) == -9595.0
    assert [round(ours["gamma-gamma"].params_[k], 2) for k in ("p", "q")] == [6.25, 3.74]


def _fitter(name: str, params: dict[str, float]) -> Any:
    """A lifetimes fitter carrying the given (segmint-named) parameters."""
    fitter = getattr(lifetimes, LIFETIMES_CLASSES[name])()
    fitter.params_ = pd.Series(params)
    fitter.predict = fitter.conditional_expected_number_of_purchases_up_to_time
    return fitter


@pytest.mark.parametrize("name", ["bgnbd", "pnbd", "mbgnbd"])
def test_predictions_agree_with_lifetimes(
    name: str, ours: dict[str, Any], ref: dict[str, Any], data: pd.DataFrame
) -> None:
    f, r, t = data["frequency"], data["recency"], data["T"]
    model = ours[name]
    for params, rtol in ((model.params_, 1e-10), (ref[name].params, 1e-3)):
        theirs = _fitter(name, params)
        mine = type(model).from_params(**params)
        np.testing.assert_allclose(
            mine.probability_alive(f, r, t),
            theirs.conditional_probability_alive(f, r, t),
            rtol=rtol,
            atol=rtol,
        )
        for horizon in (4.0, 39.0):
            np.testing.assert_allclose(
                mine.expected_purchases(horizon, f, r, t),
                theirs.conditional_expected_number_of_purchases_up_to_time(horizon, f, r, t),
                rtol=rtol,
            )
        weeks = np.array([1.0, 10.0, 52.0])
        np.testing.assert_allclose(
            mine.expected_purchases_new(weeks),
            theirs.expected_number_of_purchases_up_to_time(weeks),
            rtol=1e-6,
        )


def test_pareto_probability_of_purchase_is_one_minus_lifetimes_conditional_pmf(
    ours: dict[str, Any], data: pd.DataFrame
) -> None:
    model = ours["pnbd"]
    theirs = _fitter("pnbd", model.params_)
    rows = data.iloc[::47]
    mine = model.probability_of_purchase(10.0, rows["frequency"], rows["recency"], rows["T"])
    none = [
        theirs.conditional_probability_of_n_purchases_up_to_time(0, 10.0, x, tx, age)
        for x, tx, age in zip(rows["frequency"], rows["recency"], rows["T"], strict=True)
    ]
    np.testing.assert_allclose(mine, 1 - np.array(none), rtol=1e-10, atol=1e-12)


def test_gamma_gamma_and_clv_agree_with_lifetimes(
    ours: dict[str, Any], ref: dict[str, Any], data: pd.DataFrame
) -> None:
    f, r, t, m = (data[c] for c in ("frequency", "recency", "T", "monetary_value"))
    bg, gg = ours["bgnbd"], ours["gamma-gamma"]
    spend = lifetimes.GammaGammaFitter()
    spend.params_ = pd.Series(gg.params_).rename({"gamma": "v"})
    np.testing.assert_allclose(
        gg.conditional_expected_average_profit(f, m),
        spend.conditional_expected_average_profit(f, m),
        rtol=1e-12,
    )
    # lifetimes: 12 months of 4.345 weeks, 1 % a month; the same as 1.01^(365.25/30.415) a year.
    annual = 1.01 ** (365.25 / (4.345 * 7)) - 1
    for count_params, spend_params, rtol in (
        (bg.params_, gg.params_, 1e-10),
        (ref["bgnbd"].params, ref["gamma-gamma"].params, 1e-3),
    ):
        spend.params_ = pd.Series(spend_params).rename({"gamma": "v"})
        expected = spend.customer_lifetime_value(
            _fitter("bgnbd", count_params), f, r, t, m, time=12, discount_rate=0.01, freq="W"
        ).to_numpy()
        mine = customer_lifetime_value(
            BetaGeoNBD.from_params(**count_params),
            GammaGamma.from_params(**spend_params),
            f,
            r,
            t,
            m,
            horizon_periods=12 * 4.345,
            period_days=7,
            annual_discount_rate=annual,
            step_periods=4.345,
        )
        np.testing.assert_allclose(mine, expected, rtol=rtol)


def test_rfm_summary_matches_lifetimes_and_the_published_summary() -> None:
    from lifetimes.utils import summary_data_from_transaction_data

    tx = cdnow.load_transactions()
    for days in (1, 7):
        mine = rfm_summary(tx, "customer_id", "date", "value", as_of="1997-09-30", period_days=days)
        theirs = summary_data_from_transaction_data(
            tx,
            "customer_id",
            "date",
            "value",
            observation_period_end="1997-09-30",
            freq="D",
            freq_multiplier=days,
        )
        pd.testing.assert_frame_equal(
            mine.sort_index(), theirs.sort_index(), check_names=False, atol=1e-9
        )
    published = cdnow.load_summary_with_monetary()
    weeks = rfm_summary(tx, "customer_id", "date", "value", as_of="1997-09-30", period_days=7)
    assert (weeks.index == published.index).all()
    assert (weeks["frequency"] == published["frequency"]).all()
    for column in ("recency", "T", "monetary_value"):
        assert np.abs(weeks[column] - published[column]).max() <= 0.005 + 1e-9


def test_calibration_holdout_tracks_what_happened(holdout: Any) -> None:
    from lifetimes.utils import calibration_and_holdout_data

    split = holdout.split
    assert len(split.calibration) == 2357
    assert split.holdout_periods == 39
    theirs = calibration_and_holdout_data(
        cdnow.load_transactions(),
        "customer_id",
        "date",
        calibration_period_end="1997-09-30",
        observation_period_end="1998-06-30",
        freq="D",
        freq_multiplier=7,
    )
    assert split.holdout_purchases.sum() == theirs["frequency_holdout"].sum() == 1882
    week = holdout.tracking.set_index("period")
    assert week.loc[78, "actual"] == 4339
    # BG/NBD: cumulative repeat purchases at week 78 within a few per cent of actual.
    assert abs(week.loc[78, "bgnbd"] / week.loc[78, "actual"] - 1) < 0.05
    assert abs(week.loc[39, "bgnbd"] / week.loc[39, "actual"] - 1) < 0.03
    # Conditional expectations by calibration frequency: close, and ordered like the actuals.
    buckets = holdout.conditional.groupby("bucket")[["actual", "bgnbd"]].mean()
    assert ((buckets["bgnbd"] / buckets["actual"] - 1).abs() < 0.3).all()
    assert buckets["bgnbd"].is_monotonic_increasing and buckets["actual"].is_monotonic_increasing
    assert np.corrcoef(holdout.conditional["actual"], holdout.conditional["bgnbd"])[0, 1] > 0.5


def test_validation_document_shows_what_the_code_computes(
    validation: ModuleType, ours: dict[str, Any], ref: dict[str, Any], holdout: Any
) -> None:
    text = (ROOT / "docs" / "validation.md").read_text(encoding="utf-8")
    fresh = {
        "CLV-FITS": validation.fits_markdown(ours, ref),
        "CLV-HOLDOUT": validation.holdout_markdown(holdout),
    }
    for marker, computed in fresh.items():
        problems = validation.same_numbers(validation.generated_block(text, marker), computed)
        assert not problems, f"{marker}: {problems[:5]}; run scripts/cdnow_validation.py"
    chart = (ROOT / "docs" / "img" / "cdnow_calibration_holdout.svg").read_text(encoding="utf-8")
    assert chart.startswith("<svg") and chart.count("<polyline") == 4
    assert "img/cdnow_calibration_holdout.svg" in text


def test_loaders_give_clear_errors_without_lifetimes(monkeypatch: pytest.MonkeyPatch) -> None:
    from segmint.errors import SourceReadError

    monkeypatch.setattr(cdnow.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(
        SourceReadError, match="ship with the lifetimes package, which is not installed"
    ):
        cdnow.load_summary()


def test_mbg_and_pareto_fit_the_calibration_data_too(holdout: Any) -> None:
    for name, cls in (("pnbd", ParetoNBD), ("mbgnbd", ModifiedBetaGeoNBD)):
        model = holdout.models[name]
        assert isinstance(model, cls) and model.converged_
        week = holdout.tracking.set_index("period")
        assert abs(week.loc[78, name] / week.loc[78, "actual"] - 1) < 0.1
        assert math.isfinite(model.log_likelihood_)
