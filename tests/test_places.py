"""Places (sub-ICB locations): the committed geography, place figures that add up to their ICB's,
and the refusal of place codes that are unknown or in another ICB."""

import pandas as pd
import pytest

from iwt_helpers.analysis import places as place_analysis
from iwt_helpers.data import geography, places, population

pytestmark = pytest.mark.unit


def test_every_place_lies_in_exactly_one_icb_and_the_42_icbs_cover_all_106():
    p = geography.sub_icbs()
    assert len(p) == 106 and p["sicb_code"].is_unique and p["sicb_ods"].is_unique
    assert set(p["icb_code"]) == set(geography.icb_codes())
    assert (p.groupby("icb_code").size() > 1).sum() == 16           # 16 ICBs plan through several places
    gm = places.places_of("QOP")
    assert sorted(gm["sicb_ods"]) == ["00T", "00V", "00Y", "01D", "01G", "01W", "01Y", "02A", "02H", "14L"]
    assert {"Bolton", "Wigan", "Manchester"} <= set(gm["place_name"])


def test_each_icbs_population_2025_and_2040_equals_the_sum_of_its_places():
    pop = population.reference_population()
    pp = places.place_population()
    for year in (2025, 2040):
        icb = population.for_year(pop, year).groupby("icb_code")["population"].sum()
        sub = pp[pp["year"] == year].groupby("icb_code")["population"].sum()
        pd.testing.assert_series_equal(icb.sort_index(), sub.sort_index(), rtol=1e-3, check_names=False)


def test_each_icbs_unpaid_carers_equal_the_sum_of_its_places():
    uc = pd.read_csv(geography.paths.reference("unpaid_care.csv"))
    icb = uc.groupby("icb_code")["carers"].sum()
    f = places.place_facts()
    sub = f[f["measure"] == "unpaid_carers"].groupby("icb_code")["value"].sum()
    pd.testing.assert_series_equal(icb.sort_index(), sub.sort_index(), rtol=1e-3, check_names=False)


def test_local_authorities_are_split_across_places_by_shares_that_sum_to_one():
    pl = places.place_lads()
    assert (pl.groupby("lad_code")["share_of_lad"].sum() - 1).abs().max() < 1e-5
    assert (pl.groupby("sicb_code")["share_of_place"].sum() - 1).abs().max() < 1e-5


@pytest.mark.parametrize("code", ["00T", "e38000016"])
def test_a_place_is_found_by_its_ods_or_e38_code(code):
    assert places.resolve_place("QOP", code) == "E38000016"


def test_an_unknown_place_or_one_in_another_icb_is_refused_naming_both_codes_and_listing_the_places():
    with pytest.raises(places.UnknownPlaceError) as e:
        places.resolve_place("QOP", "ZZZ")
    assert "'ZZZ'" in str(e.value) and "00T (E38000016) Bolton" in str(e.value)
    with pytest.raises(places.UnknownPlaceError) as e:
        places.resolve_place("QOP", "16C")                  # North East and North Cumbria
    msg = str(e.value)
    assert "'16C'" in msg and "QHM" in msg and "not in QOP" in msg and "14L" in msg


def place_table_args(icb: str = "QOP") -> tuple:
    """The arguments of ``places.place_table`` for an ICB from the reference tables and two ICBs' GP counts."""
    pop = population.reference_population()
    icb_pop = pop[pop["kind"] == "projection"]
    gp = pd.DataFrame({"financial_year": "2024/25", "icb_code": ["QOP", "QE1"], "role": "gp_qualified",
                       "fte": [1000.0, 500.0], "registered_patients": [3_000_000.0, 1_500_000.0]})
    gp_area = place_analysis.synthetic_gp_by_place(gp, places.place_population())
    prev = pd.read_csv(geography.paths.reference("prevalence.csv"))
    return (icb, places.place_population(), icb_pop, places.place_facts(), gp_area, gp, prev, population.sex_shares(),
            2025, 2040)


def test_place_table_rows_are_the_places_then_the_icb_then_england():
    t = place_analysis.place_table(*place_table_args())
    assert t["area"].tolist()[-2:] == ["QOP", "England"] and len(t) == 12
    icb = t.set_index("area").loc["QOP"]
    shown = t[t["area"].str.startswith("E38")]
    assert shown["population"].sum() == pytest.approx(icb["population"], rel=1e-3)
    assert shown["dementia_65_plus"].sum() == pytest.approx(icb["dementia_65_plus"], rel=1e-3)
    assert icb["gp_gp_qualified_per_10k"] == pytest.approx(10_000 * 1000 / 3_000_000)
    # An equal split by population gives every place the ICB's rate.
    assert shown["gp_gp_qualified_per_10k"].round(6).nunique() == 1
    assert t.attrs["gp_synthetic"]


def test_place_table_with_given_england_figures_matches_its_own():
    args = place_table_args()
    england = place_analysis.england_population_figures(args[2], args[6], args[7], 2025, 2040)
    pd.testing.assert_frame_equal(place_analysis.place_table(*args, england=england), place_analysis.place_table(*args))

