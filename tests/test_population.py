import pytest

from iwt_helpers.data import population

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("age,band", [(0, "0_17"), (17, "0_17"), (18, "18_24"), (59, "55_59"), (60, "60_64"),
                                      (64, "60_64"), (65, "65_69"), (89, "85_89"), (90, "90_plus"), (104, "90_plus")])
def test_band_of_age(age, band):
    assert population.band_of_age(age) == band


def test_bands_at_least_65_are_the_poppi_bands():
    assert population.bands_at_least(65) == ["65_69", "70_74", "75_79", "80_84", "85_89", "90_plus"]


def test_reference_population_covers_42_icbs_every_band_and_year():
    p = population.reference_population()
    assert p["icb_code"].nunique() == 42
    per_year = p.groupby("year").size()
    assert (per_year == 42 * 13).all()
    assert p["year"].min() == 2020 and p["year"].max() == 2041


def test_projection_starts_from_the_estimate_and_older_groups_grow():
    p = population.reference_population()
    old = p[p["age_band"].isin(population.bands_at_least(85))].groupby("year")["population"].sum()
    assert old[2041] > old[2030] > old[2020]


def test_for_year_prefers_estimates_and_gives_one_row_per_icb_and_band():
    p = population.for_year(population.reference_population(), 2030)
    assert not p.duplicated(["icb_code", "age_band"]).any()
    assert len(p) == 42 * 13
