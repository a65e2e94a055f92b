import pytest

from iwt_helpers.analysis import workforce
from iwt_helpers.data import datastore

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def data():
    ds = datastore.open_dataset()
    return ds.table("workforce"), ds.table("population")


def test_sector_totals_add_up_to_the_whole_system(data):
    wf, _ = data
    s = workforce.by_sector(wf, "QOP")
    whole = s[s["sector"] == "whole_system"].iloc[0]
    parts = s[s["sector"] != "whole_system"]
    assert parts["fte"].sum() == pytest.approx(whole["fte"])
    assert parts["headcount"].sum() == pytest.approx(whole["headcount"])
    assert parts["share_of_fte_pct"].sum() == pytest.approx(100)


def test_profile_matches_the_raw_table(data):
    wf, _ = data
    latest = wf[(wf["period"] == wf["period"].max()) & (wf["icb_code"] == "QOP")]
    assert workforce.profile(wf, "qop")["fte"].sum() == pytest.approx(latest["fte"].sum())


def test_per_capita_comparison_has_icb_region_and_england(data):
    wf, pop = data
    comp = workforce.per_capita_comparison(wf, pop, "QOP")
    assert comp["area"].nunique() == 3
    eng = comp[(comp["area"] == "England") & (comp["measure"] == "whole system")].iloc[0]
    latest = wf[wf["period"] == wf["period"].max()]["fte"].sum()
    assert eng["fte"] == pytest.approx(latest)
    from iwt_helpers.data import population
    england_pop = population.for_year(pop, comp.attrs["population_year"])["population"].sum()
    assert eng["fte_per_1000_population"] == pytest.approx(1000 * latest / england_pop)
