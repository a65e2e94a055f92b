import math

import numpy as np
import pandas as pd
import pytest

from iwt_helpers.analysis import indicators as ind

pytestmark = pytest.mark.unit


def test_vacancy_rate_is_vacancies_over_all_posts():
    assert ind.vacancy_rate_pct(10, 90) == pytest.approx(10.0)


def test_turnover_rate():
    assert ind.turnover_rate_pct(29, 100) == pytest.approx(29.0)


def test_zero_denominator_gives_nan_not_zero():
    assert math.isnan(ind.rate_pct(5, 0))
    s = ind.rate_pct(pd.Series([1.0, 2.0]), pd.Series([0.0, 4.0]))
    assert math.isnan(s.iloc[0]) and s.iloc[1] == pytest.approx(50.0)


def test_per_1000():
    assert ind.per_1000(2500, 500_000) == pytest.approx(5.0)


def test_growth_pct():
    assert ind.growth_pct(121, 100) == pytest.approx(21.0)


def test_pay_gap_in_pounds_and_percent():
    g = ind.pay_gap(10.00, 9.00)
    assert g["gap_gbp_per_hour"] == pytest.approx(1.0)
    assert g["gap_pct"] == pytest.approx(10.0)


def test_need_estimates_apply_rates_by_band_and_ignore_bands_without_a_rate():
    pop = pd.DataFrame({"year": [2030] * 3, "age_band": ["65_69", "70_74", "18_24"], "population": [1000, 2000, 5000]})
    prev = pd.DataFrame({"condition": ["dementia", "dementia"], "age_band": ["65_69", "70_74"], "prevalence_pct": [1.7, 3.0]})
    out = ind.need_estimates(pop, prev, by=["year"])
    assert out["people_with_need"].iloc[0] == pytest.approx(1000 * 0.017 + 2000 * 0.03)


def test_funnel_limits_match_the_binomial_normal_approximation():
    lo, hi = ind.funnel_limits([100], 10.0, 1.96)
    half = 1.96 * math.sqrt(0.1 * 0.9 / 100) * 100
    assert lo[0] == pytest.approx(10 - half) and hi[0] == pytest.approx(10 + half)


def test_funnel_limits_narrow_as_size_grows():
    lo, hi = ind.funnel_limits([100, 10_000], 10.0, 3.09)
    assert (hi[1] - lo[1]) < (hi[0] - lo[0])


def test_funnel_position_classifies_against_both_limits():
    # n=1000, p=10%: 95% limits 8.14-11.86, 99.8% limits 7.07-12.93
    pos = ind.funnel_position([10.0, 30.0, 12.5, np.nan], [1000, 1000, 1000, 1000], 10.0)
    assert pos.tolist() == ["within", "above 99.8%", "above 95%", "no data"]
