"""Indicator functions of the data theme against hand-computed values on small tables."""

import pandas as pd
import pytest

from iwt_helpers.analysis import need, pressures, quality, workforce

pytestmark = pytest.mark.unit


def vac():
    return pd.DataFrame({
        "period": pd.to_datetime(["2024-09-01"] * 3 + ["2023-09-01"]),
        "icb_code": ["QOP", "QOP", "QE1", "QOP"],
        "sector": ["nhs_trust", "asc_independent", "nhs_trust", "nhs_trust"],
        "staff_group": ["registered_nurse", "care_worker", "registered_nurse", "registered_nurse"],
        "vacancies": [10.0, 30.0, 99.0, 500.0], "filled_posts": [90.0, 270.0, 1.0, 500.0], "source": "t"})


def flows():
    return pd.DataFrame({
        "year": [2024, 2024, 2024], "icb_code": ["QOP"] * 3,
        "sector": ["nhs_trust", "asc_independent", "asc_voluntary"],
        "staff_group": ["registered_nurse", "care_worker", "care_worker"],
        "staff_in_post": [100.0, 300.0, 100.0], "joiners": [15.0, 90.0, 30.0], "leavers": [12.0, 87.0, 29.0],
        "leavers_to_other_sector": [1.0, 9.0, 2.0], "source": "t"})


def test_vacancy_rate_uses_latest_period_and_counts():
    v = pressures.vacancy_rates(vac(), "QOP").set_index("sector")
    assert v.at["nhs_trust", "vacancy_rate_pct"] == pytest.approx(10.0)       # 10 / (10 + 90), not 2023's 50%
    assert v.at["asc_independent", "vacancy_rate_pct"] == pytest.approx(10.0)


def test_turnover_and_share_to_other_sector():
    t = pressures.turnover_rates(flows(), "QOP").set_index("sector")
    assert t.at["asc_independent", "turnover_rate_pct"] == pytest.approx(29.0)
    assert t.at["nhs_trust", "to_other_sector_pct_of_leavers"] == pytest.approx(100 / 12)


def test_cross_sector_flows_sum_social_care_sectors_before_dividing():
    x = pressures.cross_sector_flows(flows(), "QOP").set_index("direction")
    assert x.at["Social care to health", "leavers_to_other_sector"] == 11
    assert x.at["Social care to health", "share_of_leavers_pct"] == pytest.approx(100 * 11 / 116)


def test_pay_gap_compares_care_workers_with_new_nhs_hcas():
    pay = pd.DataFrame({
        "year": [2024] * 4, "icb_code": ["QOP"] * 4,
        "sector": ["nhs_trust", "nhs_trust", "asc_independent", "asc_voluntary"],
        "staff_group": ["support_to_clinical", "support_to_clinical", "care_worker", "care_worker"],
        "experience": ["new_to_role", "all", "all", "all"], "pay_gbp_per_hour": [12.0, 13.0, 11.0, 10.6], "source": "t"})
    g = pressures.pay_gap(pay, "QOP")
    assert g["gap_gbp_per_hour"] == pytest.approx(12.0 - 10.8)
    assert g["gap_pct"] == pytest.approx(100 * 1.2 / 12)


def test_kpi_latest_year_is_the_mean_of_the_last_12_months():
    months = pd.date_range("2023-01-01", periods=18, freq="MS")
    k = pd.DataFrame({"icb_code": "QOP", "kpi_id": "sickness_absence_nhs", "period": months,
                      "value": list(range(18)), "target": 4.5, "source": "t"})
    out = pressures.kpi_latest_year(k, "QOP", ["sickness_absence_nhs"]).iloc[0]
    assert out["mean_last_12_months"] == pytest.approx(sum(range(6, 18)) / 12)
    assert out["months"] == 12


def _pop(values_2024, values_2029):
    bands = ["60_64", "65_69", "75_79", "85_89", "90_plus"]
    rows = []
    for icb, scale in (("QOP", 1), ("QE1", 2)):
        for y, vals in ((2024, values_2024), (2029, values_2029)):
            for b, v in zip(bands, vals):
                rows.append({"year": y, "icb_code": icb, "age_band": b, "population": v * scale,
                             "kind": "projection", "variant": "p", "source": "t"})
    return pd.DataFrame(rows)


def test_older_people_counts_and_growth():
    pop = _pop([100, 50, 40, 20, 10], [100, 60, 50, 30, 15])
    o = need.older_people(pop, "QOP", 2024, (5,)).set_index(["area", "age_group", "year"])
    assert o.loc[("icb", "65+", 2024), "people"] == 120
    assert o.loc[("icb", "85+", 2029), "people"] == 45
    assert o.loc[("icb", "85+", 2029), "growth_pct"] == pytest.approx(50.0)
    assert o.loc[("England", "65+", 2024), "people"] == 360


def test_need_projection_applies_rates_by_band():
    pop = _pop([100, 50, 40, 20, 10], [100, 60, 50, 30, 15])
    prev = pd.DataFrame({"condition": ["dementia"] * 3, "condition_label": ["d"] * 3,
                         "age_band": ["65_69", "85_89", "90_plus"], "prevalence_pct": [2.0, 20.0, 30.0],
                         "source": "s", "status": "approximate"})
    n = need.need_projection(pop, prev, "QOP", [2024, 2029]).set_index("year")
    assert n.at[2024, "people_with_need"] == pytest.approx(50 * 0.02 + 20 * 0.2 + 10 * 0.3)
    assert n.at[2029, "growth_pct"] == pytest.approx(100 * ((60 * 0.02 + 30 * 0.2 + 15 * 0.3) / 8.0 - 1))


def test_age_profile_share_55_plus():
    age = pd.DataFrame({"year": 2024, "icb_code": "QOP", "sector": "nhs_trust", "staff_group": "doctor",
                        "age_band": ["under_25", "25_34", "55_64", "65_plus"], "headcount": [10.0, 60.0, 20.0, 10.0],
                        "source": "t"})
    a = workforce.age_profile(age, "QOP").iloc[0]
    assert a["aged_55_plus"] == 30 and a["share_55_plus_pct"] == pytest.approx(30.0)


def test_ethnicity_shares_exclude_unknowns_but_report_them():
    eth = pd.DataFrame({"year": 2024, "icb_code": "QOP", "group": "workforce", "sector": "nhs_trust",
                        "ethnic_group": ["white", "asian", "unknown"], "people": [60.0, 20.0, 20.0], "source": "t"})
    e = workforce.ethnicity_comparison(eth, "QOP").set_index("ethnic_group")
    assert e.at["asian", "share_of_known_pct"] == pytest.approx(25.0)
    assert e.at["unknown", "share_of_all_pct"] == pytest.approx(20.0)
    assert pd.isna(e.at["unknown", "share_of_known_pct"])


def test_split_authorities_lists_the_shares_used():
    from iwt_helpers.data import geography
    lk = geography.lad_icb().query("lad_vintage == 2024")
    split_lad = lk[lk["share"] < 1].iloc[0]
    s = quality.split_authorities(split_lad["icb_code"])
    assert split_lad["lad_code"] in set(s["lad_code"])
    assert s.groupby("lad_code")["share_pct"].sum().round(3).eq(100).all()
