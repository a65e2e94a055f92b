"""The back-test's band (issue #26): the ranges of England's departure from the recruitment pace
(``national_net_growth``) and of each ICB's own departure (``local_net_growth_sd``) come from the errors
the projection's method made before the back-test's base, and on the real files the back-test's
10th-90th percentile holds most ICBs' published figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iwt_helpers.analysis.scenarios import backtest, calibration, config


def _stocks(fte: dict[str, dict[int, float]]) -> pd.DataFrame:
    """Long table (period, icb_code, fte) with one March figure per ICB and year."""
    return pd.DataFrame([{"period": pd.Timestamp(y, 3, 1), "icb_code": icb, "fte": v}
                         for icb, by_year in fte.items() for y, v in by_year.items()])


@pytest.mark.unit
def test_a_known_dispersion_of_icb_growth_gives_its_standard_deviation():
    devs = np.array([-0.02, -0.01, 0.0, 0.01, 0.02])            # yearly growth against England's
    years = range(2011, 2019)
    fte = {f"Q{i}": {y: 1000.0 * (1.01 + dv) ** (y - 2011) for y in years} for i, dv in enumerate(devs)}
    spread = calibration.icb_spread(_stocks(fte))
    eng = (sum(v[2018] for v in fte.values()) / sum(v[2011] for v in fte.values())) ** (1 / 7) - 1
    expected = (1.01 + devs) - 1 - eng
    assert spread["icbs"] == 5
    assert spread["sd"] == pytest.approx(float(np.std(expected, ddof=1)), rel=1e-9)
    assert spread["sd"] == pytest.approx(0.0158, abs=5e-4)      # sd of -2..2 points in steps of 1


@pytest.mark.unit
def test_an_icb_error_of_the_method_takes_away_the_weighted_difference_of_the_year_before():
    # Each ICB grows by its own amount in 2010/11 and by another over 2011-2018; the method carries
    # `weight` x the first into the second, so its error is the second less that.
    before = np.array([0.03, -0.01, 0.0, 0.02])
    after = np.array([0.01, 0.01, -0.02, 0.0])
    fte = {}
    for i, (b, a) in enumerate(zip(before, after)):
        s = {2010: 1000.0, 2011: 1000.0 * (1 + b)}
        s.update({y: s[2011] * (1 + a) ** (y - 2011) for y in range(2012, 2019)})
        fte[f"Q{i}"] = s
    got = calibration.icb_pace_errors(_stocks(fte), before=2018, horizon=7, weight=0.5)
    w = _stocks(fte).pivot_table(index="icb_code", columns="period", values="fte")
    t = {y: pd.Timestamp(y, 3, 1) for y in (2010, 2011, 2018)}
    past = w[t[2011]] / w[t[2010]] - 1 - (w[t[2011]].sum() / w[t[2010]].sum() - 1)
    dev = (w[t[2018]] / w[t[2011]]) ** (1 / 7) - (w[t[2018]].sum() / w[t[2011]].sum()) ** (1 / 7) - 0.5 * past
    assert got["window_years"] == 1 and got["icbs"] == 4
    assert got["sd"] == pytest.approx(float(dev.std(ddof=1)), rel=1e-9)


@pytest.mark.unit
def test_a_steady_pace_has_no_error_and_a_step_in_pace_has_the_step():
    steady = {"Q0": {y: 1000.0 * 1.02 ** (y - 2009) for y in range(2009, 2019)}}
    assert calibration.pace_errors(_stocks(steady))["error_pct"].abs().max() == pytest.approx(0.0, abs=1e-9)
    # Level to March 2014, then 3% a year: a projection made at a base up to 2015 (at least three years
    # before 2018) misses by 3 points a year times the share of its horizon after the step.
    step = {"Q0": {y: 1000.0 * 1.03 ** max(0, y - 2014) for y in range(2009, 2019)}}
    e = calibration.pace_errors(_stocks(step)).set_index(["base", "window_years"])
    assert e.loc[(2013, 1), "error_pct"] == pytest.approx(100 * ((1.03 ** 4) ** (1 / 5) - 1), rel=1e-9)
    assert e.loc[(2015, 1), "past_pct"] == pytest.approx(3.0, rel=1e-9)
    assert e.loc[(2015, 1), "error_pct"] == pytest.approx(0.0, abs=1e-9)
    assert e["horizon_years"].min() == 3


@pytest.mark.unit
def test_the_national_range_puts_a_uniform_draws_10th_and_90th_percentiles_at_a_normals():
    errors = pd.DataFrame({"error_pct": [1.0, -2.0, 2.0]})
    r = calibration.national_range(errors)
    rms = np.sqrt((1 + 4 + 4) / 3)
    assert r["rms"] == pytest.approx(rms)
    assert 0.8 * r["half_width"] == pytest.approx(1.2815515655 * rms)     # p90 of U(-a, a) is 0.8a
    assert r["largest"] == 2.0


@pytest.mark.unit
def test_englands_departure_moves_nhs_trust_growth_only_and_the_same_in_every_icb():
    sc = config.load().get("baseline")
    d = config.draws(sc, 50, 7)
    cells = pd.DataFrame({"icb_code": ["QOP", "QOP", "QHM"], "sector": ["nhs_trust", "primary_care", "nhs_trust"]})
    for k in calibration.WINDOWS:
        cells[f"growth_{k}y"], cells[f"local_{k}y"] = 0.01, 0.0
    with_term = calibration.growth(cells, d, sc)
    without = calibration.growth(cells, {k: v for k, v in d.items() if k != "national_net_growth"}, sc)
    moved = with_term - without
    assert np.allclose(moved[:, 0], d["national_net_growth"]) and np.allclose(moved[:, 2], d["national_net_growth"])
    assert np.allclose(moved[:, 1], 0.0)
    r = sc.assumptions["national_net_growth"]
    assert r.low == -r.high                                   # centred on the recent pace: it widens, it does not shift


@pytest.fixture(scope="module")
def real_backtest(built_real):
    from iwt_helpers.analysis.params import ReportParams
    from iwt_helpers.analysis.scenarios import inputs
    from iwt_helpers.analysis.system_data import SystemData
    from iwt_helpers.data.datastore import open_dataset
    folder = str(built_real[0])
    ds = open_dataset(folder)
    data = SystemData.load(ds, ReportParams.parse(icb_code="QOP", data_dir=folder))
    f = config.load()
    sc = f.get("baseline")
    tables = {n: ds.optional_table(n) for n in ("nhs_staff_monthly", "nhs_staff_monthly_icb", "gp_workforce")}
    inp = inputs.build(data.t, data.snapshot, f.horizon_years, ensure=f.receiving_cells(),
                       leaving_rates=ds.optional_table("leaving_rates"))
    d = config.draws(sc, 200, 2022)
    return tables, inp, sc, d


@pytest.mark.integration
def test_the_committed_ranges_are_those_the_errors_before_2018_give(real_backtest):
    tables, _, sc, _ = real_backtest
    stocks, _ = calibration.nhs_stocks(tables)
    nat = calibration.national_range(calibration.pace_errors(stocks))
    assert sc.assumptions["national_net_growth"].high == pytest.approx(nat["half_width"] / 100, abs=0.001)
    local = calibration.icb_pace_errors(stocks)
    sd = sc.assumptions["local_net_growth_sd"]
    assert (sd.low, sd.high) == (pytest.approx(local["robust_sd"], abs=0.001), pytest.approx(local["sd"], abs=0.001))


@pytest.mark.integration
def test_on_the_real_files_the_nhs_band_holds_most_icbs_and_englands_error_is_bounded(real_backtest):
    table, meta = backtest.nhs(*real_backtest)
    assert meta["base"] == "March 2018" and len(table) == 42
    coverage = float(table["within_range"].mean())
    england = table["projected_p50"].sum() / table["published_fte"].sum() - 1
    assert 0.60 <= coverage <= 0.95
    assert abs(england) < 0.15          # the median stays biased low (the NHS's step-up after 2018), within 15%
    eng_p10, eng_p90 = table["projected_p10"].sum(), table["projected_p90"].sum()
    assert eng_p10 < table["published_fte"].sum() < eng_p90


@pytest.mark.integration
def test_on_the_real_files_the_general_practice_bands_hold_most_icbs(real_backtest):
    table, _ = backtest.gp(*real_backtest)
    for role in backtest.GP_ROLES:
        coverage = float(table.loc[table["role"] == role, "within_range"].mean())
        assert 0.60 <= coverage <= 0.95, role
