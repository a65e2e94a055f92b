"""Skills for Care vacancy rates by council, 2024/25 (issue 24): recognised by content, weighted to
ICBs by adults aged 65+, blanks named, bad rates refused."""

import pandas as pd
import pytest

from iwt_helpers.data import sources
from iwt_helpers.data.sources import BuildContext, SourceError, social_care
from iwt_helpers.data.sources.geography_files import IgnoredGeography

SFC = "skills-for-care-vacancy-2024-25/DERIVED_sfc_vacancy_rate_utla_2024_25.csv"
MYE24 = "ons-mid-year-estimates-2024/mye24tablesew_MYE2_persons.csv"


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def older_people(codes_pop65: dict[str, float]) -> BuildContext:
    """A build context whose population is only adults aged 70 (weights) plus children aged 5."""
    rows = [(c, a, p if a == 70 else 1000.0) for c, p in codes_pop65.items() for a in (5, 70)]
    ctx = BuildContext()
    ctx.mye_long = pd.DataFrame(rows, columns=["lad_code", "age", "population"])
    ctx.mye_year = 2024
    return ctx


@pytest.mark.unit
def test_a_council_rates_file_with_a_region_column_is_not_taken_for_a_geography_lookup(tmp_path):
    p = write(tmp_path, "rates_2024_25.csv", "la_code,la_name,region,vacancy_rate\nE06000001,Hartlepool,North East,1.8\n")
    assert not IgnoredGeography.recognise(p)
    assert sources.recognise(p) is social_care.SfcVacancyRates


@pytest.mark.unit
def test_real_geography_lookups_are_still_recognised_and_unknown_region_files_still_refused(tmp_path):
    utla = write(tmp_path, "lookup.csv", "ltla23_code,ltla23_name,utla23_code,utla23_name\nE07000032,Amber Valley,E10000007,Derbyshire\n")
    rgn = write(tmp_path, "rgn.csv", "LAD24CD,LAD24NM,RGN24CD,RGN24NM\nE06000001,Hartlepool,E12000001,North East\n")
    other = write(tmp_path, "other.csv", "code,name,region,score\nE06000001,Hartlepool,North East,3\n")
    assert sources.recognise(utla) is IgnoredGeography
    assert sources.recognise(rgn) is IgnoredGeography
    assert sources.recognise(other) is None


@pytest.mark.unit
def test_a_rate_outside_0_to_100_is_refused_naming_the_council(tmp_path):
    p = write(tmp_path, "rates_2024_25.csv", "la_code,la_name,region,vacancy_rate\n"
              "E06000001,Hartlepool,North East,1.8\nE06000002,Middlesbrough,North East,180\n")
    with pytest.raises(SourceError, match=r"Middlesbrough \(E06000002\): 180"):
        social_care.SfcVacancyRates.load(p, older_people({"E06000001": 10.0, "E06000002": 10.0}))


@pytest.mark.unit
def test_a_county_rate_applies_to_its_districts_weighted_by_adults_65_plus(tmp_path):
    # QK1 (Leicester, Leicestershire and Rutland): Leicester (unitary) at 10%, Leicestershire (county, 7 districts) at 4%.
    county = social_care.lad_utla().query("utla_code == 'E10000018'")["lad_code"].tolist()
    assert len(county) == 7
    pop = {"E06000016": 300.0, "E06000017": 0.0} | {d: 100.0 for d in county}      # Rutland has no rate: weight 0
    p = write(tmp_path, "rates_2024_25.csv", "la_code,la_name,region,vacancy_rate\n"
              "E06000016,Leicester,East Midlands,10\nE10000018,Leicestershire,East Midlands,4\nE06000017,Rutland,East Midlands,\n")
    res = social_care.SfcVacancyRates.load(p, older_people(pop))
    k = res.tables["kpi_observations"]
    assert k["period"].eq(pd.Timestamp("2025-03-01")).all() and k["kpi_id"].eq("vacancy_rate_asc").all()
    assert k.set_index("icb_code").at["QK1", "value"] == pytest.approx((10 * 300 + 4 * 700) / 1000)
    assert "adults aged 65+ (ONS mid-2024" in k["source"].iloc[0]
    assert "no vacancy rate for 1 councils" in " ".join(res.notes) and "Rutland (QK1" in " ".join(res.notes)


@pytest.mark.unit
def test_the_source_says_the_definition_differs_from_the_direct_care_rates(tmp_path):
    p = write(tmp_path, "rates_2024_25.csv", "la_code,la_name,region,vacancy_rate\nE06000001,Hartlepool,North East,1.8\n")
    src = social_care.SfcVacancyRates.load(p, older_people({"E06000001": 1.0})).tables["kpi_observations"]["source"].iloc[0]
    assert "all sectors, services and job roles" in src and "direct-care roles only" in src


@pytest.mark.unit
def test_weights_fall_back_to_all_ages_then_lsoa_counts_and_say_so():
    ctx = BuildContext(lad_population={"E06000001": 5.0})
    _, basis = social_care.asc_vacancy_weights(ctx)
    assert basis.startswith("people of all ages")
    w, basis = social_care.asc_vacancy_weights(BuildContext())
    assert basis.startswith("LSOA counts") and w["weight"].notna().all()


@pytest.mark.unit
def test_weights_use_the_estimate_nearest_the_rates_year_when_the_build_read_several():
    ctx = BuildContext()
    ctx.mye = {y: pd.DataFrame({"lad_code": ["E06000001"], "age": [70], "population": [float(y)]}) for y in (2020, 2024)}
    w, basis = social_care.asc_vacancy_weights(ctx, 2024)
    assert basis == "adults aged 65+ (ONS mid-2024 population estimates)"
    assert w.set_index("lad_code").at["E06000001", "weight"] == 2024.0
    assert "mid-2020" in social_care.asc_vacancy_weights(ctx, 2019)[1]


@pytest.mark.unit
def test_the_financial_year_must_be_in_the_file_name(tmp_path):
    p = write(tmp_path, "rates.csv", "la_code,la_name,region,vacancy_rate\nE06000001,Hartlepool,North East,1.8\n")
    with pytest.raises(SourceError, match="financial year"):
        social_care.SfcVacancyRates.load(p, older_people({"E06000001": 1.0}))


@pytest.fixture(scope="module")
def loaded():
    from iwt_helpers import paths
    if not paths.REAL_DATA.is_dir():
        pytest.skip(f"real public data not found at {paths.REAL_DATA}")
    ctx = BuildContext()
    mye = paths.REAL_DATA / MYE24
    sources.recognise(mye).load(mye, ctx)           # the population loader, whichever class reads the file
    f = paths.REAL_DATA / SFC
    assert sources.recognise(f) is social_care.SfcVacancyRates
    return ctx, pd.read_csv(f), social_care.SfcVacancyRates.load(f, ctx)


@pytest.mark.integration
@pytest.mark.realdata
def test_england_2024_25_weighted_by_adults_65_plus_is_6_82(loaded):
    ctx, councils, res = loaded
    k = res.tables["kpi_observations"].set_index("icb_code")["value"]
    assert len(k) == 42
    rated = councils.dropna(subset=["vacancy_rate"])
    weights, basis = social_care.asc_vacancy_weights(ctx, 2024)
    assert basis == "adults aged 65+ (ONS mid-2024 population estimates)"
    parts = social_care.council_districts(rated["la_code"]).merge(weights, on="lad_code")
    assert set(rated["la_code"]) == set(parts["la_code"])           # every rated council placed, Barnsley and Sheffield too
    icb_weight = parts.groupby("icb_code")["weight"].sum()
    england = (k * icb_weight).sum() / icb_weight.sum()
    assert england == pytest.approx(6.82, abs=0.05)
    council_65 = parts.assign(wx=parts["la_code"].map(rated.set_index("la_code")["vacancy_rate"]) * parts["weight"])
    assert england == pytest.approx(council_65["wx"].sum() / council_65["weight"].sum())


@pytest.mark.integration
@pytest.mark.realdata
def test_the_six_blank_councils_are_named_in_the_build_notes(loaded):
    _, _, res = loaded
    notes = " ".join(res.notes)
    for name in ("Brent", "Cumberland", "Doncaster", "Isles of Scilly", "West Berkshire", "Westmorland and Furness"):
        assert name in notes
    assert "no vacancy rate for 6 councils" in notes and "not placed" not in notes


@pytest.mark.integration
@pytest.mark.realdata
def test_lad_utla_reference_rebuilds_identically(real_data, tmp_path):
    from iwt_helpers import paths
    out = social_care.write_lad_utla(real_data, tmp_path)
    assert out.read_bytes() == paths.reference(social_care.LAD_UTLA_FILE).read_bytes()
