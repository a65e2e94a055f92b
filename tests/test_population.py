import pytest

from iwt_helpers.data import population

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("age,band", [(0, "0_17"), (17, "0_17"), (18, "18_24"), (59, "55_59"), (60, "60_64"),
                                      (64, "60_64"), (65, "65_69"), (89, "85_89"), (90, "90_plus"), (104, "90_plus")])
def test_band_of_age(age, band):
    assert population.band_of_age(age) == band


def test_bands_at_least_65_are_the_poppi_bands():
    assert population.bands_at_least(65) == ["65_69", "70_74", "75_79", "80_84", "85_89", "90_plus"]


def test_reference_population_covers_42_icbs_every_band_and_year_on_the_2022_basis():
    p = population.reference_population()
    assert p["icb_code"].nunique() == 42
    proj = p[p["basis"] == "2022-based"]
    assert (proj.groupby("year").size() == 42 * 13).all()
    assert proj["year"].min() == 2022 and proj["year"].max() == 2047
    assert set(p.loc[p["kind"] == "estimate", "year"]) == {2020, 2024}


def test_projection_older_groups_grow():
    p = population.reference_population()
    p = p[p["basis"] == "2022-based"]
    old = p[p["age_band"].isin(population.bands_at_least(85))].groupby("year")["population"].sum()
    assert old[2041] > old[2030] > old[2022]


def test_for_year_gives_one_row_per_icb_and_band_on_one_basis():
    pop = population.reference_population()
    for year in (2020, 2024, 2030):
        p = population.for_year(pop, year)
        assert not p.duplicated(["icb_code", "age_band"]).any()
        assert len(p) == 42 * 13
        assert p["basis"].nunique() == 1
    assert set(population.for_year(pop, 2024)["basis"]) == {"2022-based"}       # the projection, not the estimate
    assert set(population.for_year(pop, 2020)["basis"]) == {"mid-2020 estimate"}


def _pop(rows):
    import pandas as pd
    return pd.DataFrame(rows, columns=["year", "icb_code", "age_band", "population", "kind", "basis", "variant", "source"])


def test_for_year_never_falls_back_to_an_older_projection_basis():
    pop = _pop([(2021, "QOP", "0_17", 10.0, "projection", "2016-based", "principal", "s"),
                (2022, "QOP", "0_17", 11.0, "projection", "2016-based", "principal", "s"),
                (2022, "QOP", "0_17", 12.0, "projection", "2022-based", "migration category variant", "s")])
    assert population.preferred_basis(pop) == "2022-based"
    assert population.for_year(pop, 2022)["population"].tolist() == [12.0]
    assert population.for_year(pop, 2021).empty
    assert population.for_year(pop, 2021, basis="2016-based")["population"].tolist() == [10.0]


def test_estimate_beside_projection_gives_the_difference():
    pop = _pop([(2024, "QOP", "0_17", 100.0, "estimate", "mid-2024 estimate", "mid-year estimate", "s"),
                (2024, "QOP", "0_17", 98.0, "projection", "2022-based", "v", "s")])
    d = population.estimate_vs_projection(pop, "QOP").set_index("area")
    assert d.at["QOP", "difference"] == -2.0
    assert d.at["England", "difference_pct"] == -2.0


def test_sex_shares_are_by_year_and_between_0_and_1():
    s = population.sex_shares()
    assert {"year", "icb_code", "age_band", "female_share"} <= set(s.columns)
    assert s["female_share"].between(0.3, 0.9).all()
    ninety = s[(s["age_band"] == "90_plus") & (s["year"] == 2025)]["female_share"]
    assert len(ninety) == 42 and (ninety > 0.5).all()          # women outlive men
