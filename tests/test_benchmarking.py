import numpy as np
import pandas as pd
import pytest

from iwt_helpers.analysis import benchmarking

pytestmark = pytest.mark.unit


def _units(rates, sizes):
    idx = [f"Q{i:02d}" for i in range(len(rates))]
    return pd.Series(np.array(rates) * np.array(sizes) / 100, index=idx), pd.Series(sizes, index=idx, dtype=float)


def test_binomial_limits_without_overdispersion_match_the_formula():
    num, den = _units([10, 10, 10, 10], [1000, 2000, 4000, 8000])
    t = benchmarking.funnel_table(num, den, overdispersion=False)
    half = 1.959964 * np.sqrt(0.1 * 0.9 / 1000) * 100
    assert t.attrs["overall_pct"] == pytest.approx(10)
    assert t["hi95"].iloc[0] == pytest.approx(10 + half)
    assert (t["position"] == "within").all()


def test_a_clear_outlier_is_flagged_above():
    num, den = _units([10, 10.2, 9.8, 10.1, 9.9, 10, 25], [5000] * 7)
    t = benchmarking.funnel_table(num, den, overdispersion=False)
    assert t["position"].iloc[-1] == "above 99.8%"


def test_no_extra_variance_when_units_vary_only_by_chance():
    rng = np.random.default_rng(1)
    sizes = rng.integers(2000, 20000, 42)
    num = pd.Series(rng.binomial(sizes, 0.1), dtype=float)
    t = benchmarking.funnel_table(num, pd.Series(sizes, dtype=float))
    assert t.attrs["tau2"] == pytest.approx(0, abs=2e-5)


def test_overdispersion_widens_limits_and_flags_fewer_units():
    rng = np.random.default_rng(2)
    sizes = rng.integers(20000, 60000, 42).astype(float)
    true = rng.normal(0.08, 0.012, 42).clip(0.02, 0.2)
    num = pd.Series(rng.binomial(sizes.astype(int), true), dtype=float)
    den = pd.Series(sizes)
    plain = benchmarking.funnel_table(num, den, overdispersion=False)
    adjusted = benchmarking.funnel_table(num, den)
    assert adjusted.attrs["tau2"] > 0 and adjusted.attrs["phi"] > 1
    assert (adjusted["hi998"] > plain["hi998"]).all()
    assert (adjusted["position"] != "within").sum() < (plain["position"] != "within").sum()


def test_funnel_curve_narrows_with_size():
    num, den = _units([10, 11, 9, 10], [1000, 2000, 4000, 8000])
    c = benchmarking.funnel_curve(benchmarking.funnel_table(num, den, overdispersion=False))
    width = c["hi95"] - c["lo95"]
    assert width.iloc[0] > width.iloc[-1]
