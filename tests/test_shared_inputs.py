"""Figures worked out once for every ICB and handed in (what an interactive redraw reuses) give the
same tables as the functions working them out themselves, on the demonstration data."""

import pandas as pd
import pytest

from iwt_helpers.analysis import need, pressures, quality, workforce
from iwt_helpers.analysis import primary_care as gp_analysis
from iwt_helpers.data import datastore, geography, population

pytestmark = pytest.mark.unit

ICB = geography.resolve_icb("QOP")


@pytest.fixture(scope="module")
def ds():
    return datastore.open_dataset()


def test_breakdowns_from_a_given_profile_match_their_own(ds):
    wf = ds.table("workforce")
    p = workforce.profile(wf, ICB)
    s = workforce.by_sector(wf, ICB, profile_table=p)
    pd.testing.assert_frame_equal(s, workforce.by_sector(wf, ICB))
    for dim in ("registered", "ownership"):
        pd.testing.assert_frame_equal(workforce.by_dimension(wf, ICB, dim, profile_table=p, sector_table=s),
                                      workforce.by_dimension(wf, ICB, dim))


def test_per_capita_from_given_totals_matches_its_own(ds):
    wf, pop = ds.table("workforce"), ds.table("population")
    totals = workforce.apportioned_totals(wf, pop)
    pd.testing.assert_frame_equal(workforce.per_capita_comparison(wf, pop, ICB, totals=totals),
                                  workforce.per_capita_comparison(wf, pop, ICB))


def test_pressures_from_given_latest_rows_match_their_own(ds):
    vac, fl = ds.table("vacancies"), ds.table("flows")
    lv, lf = pressures.latest_vacancies(vac), pressures.latest_flows(fl)
    latest = (lv[lv["icb_code"] == ICB], lf[lf["icb_code"] == ICB])
    pd.testing.assert_frame_equal(pressures.vacancy_and_turnover(vac, fl, ICB, latest),
                                  pressures.vacancy_and_turnover(vac, fl, ICB))
    pd.testing.assert_frame_equal(pressures.pressure_by_group(vac, fl, ICB, latest),
                                  pressures.pressure_by_group(vac, fl, ICB))
    pd.testing.assert_frame_equal(pressures.cross_sector_flows(fl, ICB, latest[1]), pressures.cross_sector_flows(fl, ICB))


def test_pay_gap_trend_is_each_years_pay_gap(ds):
    pay = ds.table("pay")
    expected = pd.DataFrame([pressures.pay_gap(pay, ICB, int(y)) for y in sorted(pay["year"].unique())])
    pd.testing.assert_frame_equal(pressures.pay_gap_trend(pay, ICB), expected)


def test_pay_gaps_of_every_icb_are_each_icbs_pay_gap(ds):
    pay = ds.table("pay")
    codes = geography.icb_codes()
    pay = pay[pay["icb_code"] != codes[-1]]                         # an ICB without pay rows: not available
    expected = pd.DataFrame([pressures.pay_gap(pay, c) for c in codes])
    pd.testing.assert_frame_equal(pd.DataFrame(pressures.pay_gaps(pay, codes)), expected, check_exact=True)
    assert expected["gap_gbp_per_hour"].iloc[:-1].notna().all() and pd.isna(expected["gap_gbp_per_hour"].iloc[-1])


def test_need_from_given_population_rows_matches_its_own(ds):
    pop, prev = ds.table("population"), ds.table("prevalence")
    years = [2025, 2030, 2035]
    pd.testing.assert_frame_equal(need.older_people(pop, ICB, 2025, (5, 10), need.population_rows(pop, years)),
                                  need.older_people(pop, ICB, 2025, (5, 10)))
    mine = pop[pop["icb_code"] == ICB]
    pd.testing.assert_frame_equal(need.need_projection(mine, prev, ICB, years, year_rows=need.population_rows(mine, years)),
                                  need.need_projection(mine, prev, ICB, years))


def test_coverage_and_population_check_from_given_counts_match_their_own(ds):
    tables = ["workforce", "vacancies", "population"]
    pd.testing.assert_frame_equal(quality.icb_coverage(ds, tables, ICB, quality.latest_rows_by_icb(ds, tables)),
                                  quality.icb_coverage(ds, tables, ICB))
    pop = ds.table("population")
    pd.testing.assert_frame_equal(population.estimate_vs_projection(pop, ICB, population.year_totals(pop)),
                                  population.estimate_vs_projection(pop, ICB))


def test_gp_rates_keep_only_the_region_and_england_in_the_memo(ds):
    gp = ds.table("gp_workforce")
    kept = {}
    def once(key, compute):
        if key not in kept:
            kept[key] = compute()
        return kept[key]
    pd.testing.assert_frame_equal(gp_analysis.per_10k_patients(gp, ICB, once=once), gp_analysis.per_10k_patients(gp, ICB))
    pd.testing.assert_frame_equal(gp_analysis.trend_per_10k_patients(gp, ICB, once=once),
                                  gp_analysis.trend_per_10k_patients(gp, ICB))
    assert {k[-1] for k in kept} == {f"{geography.region_name(ICB)} region", "England"}
