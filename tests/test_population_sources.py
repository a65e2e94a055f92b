"""The 2022-based projections and the mid-2024 estimates: loaders on small workbooks the tests write
(what bad input gets), and the built population tables on the shared files."""

import pandas as pd
import pytest
from openpyxl import Workbook

from iwt_helpers.data import build, geography, population, sources
from iwt_helpers.data.sources import BuildContext, SourceError
from iwt_helpers.data.sources.ons import FIVE_YEAR_BANDS, SubnationalProjections2022

YEARS = [2022, 2023, 2024, 2025, 2026]


def snpp_workbook(path, persons_extra=0.0, band_extra=0.0, header_year="2026"):
    """A workbook laid out as ONS's: title rows, CODE/AREA/AGE GROUP and one column per year, each
    area's bands followed by 'All ages', sheets Males, Females and Persons."""
    wb = Workbook()
    wb.active.title = "Cover sheet"
    wb.active.append(["Population projections for Sub-Integrated Care Boards, England 2022-based"])
    wb.active.append(["Projection: Migration category variant"])
    places = geography.sub_icbs().head(2)["sicb_code"].tolist()
    for sex, factor, inc in (("Males", 1.0, 1), ("Females", 1.1, 1), ("Persons", 2.1, 2)):
        ws = wb.create_sheet(sex)
        ws.append(["2022-based subnational population projections"])
        ws.append(["Table 3: 2022-based Subnational Population Projections for sub-Integrated Care Boards"])
        ws.append([f"{sex} by 5 year age groups"])
        ws.append(["CODE", "AREA", "AGE GROUP", *YEARS[:-1], header_year])
        for code in places:
            for i, band in enumerate(FIVE_YEAR_BANDS):
                v = (100 + i) * factor + (persons_extra if sex == "Persons" and band == "0-4" else 0.0)
                ws.append([code, f"NHS place {code}", band, *[v + inc * (y - 2022) for y in YEARS]])
            total = sum((100 + i) * factor for i in range(len(FIVE_YEAR_BANDS)))
            total += persons_extra if sex == "Persons" else 0.0
            ws.append([code, f"NHS place {code}", "All ages",
                       *[total + len(FIVE_YEAR_BANDS) * inc * (y - 2022) + band_extra for y in YEARS]])
    wb.save(path)
    return path, places


@pytest.mark.unit
def test_a_projection_workbook_is_recognised_and_loaded_by_sex_and_place(tmp_path):
    f, places = snpp_workbook(tmp_path / "proj.xlsx")
    assert sources.recognise(f) is SubnationalProjections2022
    ctx = BuildContext()
    SubnationalProjections2022.load(f, ctx)
    assert ctx.snpp22["base"] == 2022 and ctx.snpp22["variant"] == "migration category variant"
    t = population.tables_from_build(ctx)
    place = t["population_place"]
    assert set(place["sicb_code"]) == set(places)
    persons = place[place["sex"] == "persons"]
    icb = t["population"]
    for year in (2022, 2026):
        assert icb.loc[icb["year"] == year, "population"].sum() == pytest.approx(
            persons.loc[persons["year"] == year, "population"].sum())
    by_sex = t["population_sex"]
    assert by_sex.loc[by_sex["year"] == 2025, "population"].sum() == pytest.approx(
        icb.loc[icb["year"] == 2025, "population"].sum())
    # No single-year estimate in this build: the 15-19 band is split three fifths to 15-17, and said so.
    assert "60% to ages 15-17" in icb["source"].iloc[0]


@pytest.mark.unit
def test_bands_that_do_not_sum_to_all_ages_are_refused_naming_file_sheet_area_and_year(tmp_path):
    f, places = snpp_workbook(tmp_path / "proj.xlsx", band_extra=50)
    with pytest.raises(SourceError) as e:
        SubnationalProjections2022.load(f, BuildContext())
    msg = str(e.value)
    assert "proj.xlsx" in msg and "[Males]" in msg and places[0] in msg and "year 2022" in msg


@pytest.mark.unit
def test_males_and_females_that_do_not_make_persons_are_refused(tmp_path):
    f, places = snpp_workbook(tmp_path / "proj.xlsx", persons_extra=40)
    with pytest.raises(SourceError) as e:
        SubnationalProjections2022.load(f, BuildContext())
    msg = str(e.value)
    assert "[Persons]" in msg and places[0] in msg and "0-4" in msg and "year 2022" in msg


@pytest.mark.unit
def test_a_year_header_that_is_not_a_year_is_refused_naming_the_column(tmp_path):
    f, _ = snpp_workbook(tmp_path / "proj.xlsx", header_year="next year")
    with pytest.raises(SourceError, match="'next year'"):
        SubnationalProjections2022.load(f, BuildContext())


@pytest.mark.unit
def test_mid_2024_estimate_year_comes_from_ons_file_name_and_is_not_a_copy_of_mid_2020(tmp_path):
    from iwt_helpers.data.sources.ons import MidYearEstimatesCsv
    ages = ",".join(str(a) for a in range(90))
    row = ",".join("1" for _ in range(90))
    for name in ("mye24tablesew_MYE2_persons.csv", "DERIVED_MYE2_mid2020_by_LA.csv"):
        (tmp_path / name).write_text(f"Code,Name,Geography,All ages,{ages},90+\nE06000001,Hartlepool,UA,91,{row},1\n")
    assert MidYearEstimatesCsv.edition(tmp_path / "mye24tablesew_MYE2_persons.csv") == 2024
    assert MidYearEstimatesCsv.edition(tmp_path / "DERIVED_MYE2_mid2020_by_LA.csv") == 2020
    (tmp_path / "estimates.csv").write_text(f"Code,Name,Geography,All ages,{ages},90+\n")
    with pytest.raises(SourceError, match="cannot tell the estimate year"):
        MidYearEstimatesCsv.edition(tmp_path / "estimates.csv")


# --------------------------------------------------------------------------- on the shared files

def _table(out, name):
    return pd.read_parquet(out / f"{name}.parquet")


@pytest.fixture
def snpp_england(real_data):
    """England persons by year straight from the workbook's E92000001 'All ages' row."""
    wb = real_data / "ons-snpp-2022-icb" / "popprojsicb5yrmigcat22based.xls"
    raw = pd.read_excel(wb, sheet_name="Persons", header=3, engine="calamine")
    raw.columns = [str(c).replace(".0", "") for c in raw.columns]
    row = raw[(raw["CODE"] == "E92000001") & (raw["AGE GROUP"] == "All ages")].iloc[0]
    old = raw[(raw["CODE"] == "E92000001") & raw["AGE GROUP"].isin(["65-69", "70-74", "75-79", "80-84", "85-89", "90+"])]
    return row, old


@pytest.mark.integration
@pytest.mark.realdata
def test_england_2025_equals_the_workbook_england_row_and_65_plus_in_2040(built_real, snpp_england):
    out, report, _ = built_real
    row, old = snpp_england
    pop = _table(out, "population")
    p25 = population.for_year(pop, 2025)
    assert p25["basis"].unique().tolist() == ["2022-based"]
    assert p25["population"].sum() == pytest.approx(float(row["2025"]), rel=1e-4)
    assert float(row["2025"]) == pytest.approx(58_893_277, abs=1)
    p40 = population.for_year(pop, 2040)
    old40 = p40[p40["age_band"].isin(population.bands_at_least(65))]["population"].sum()
    assert old40 == pytest.approx(14_092_318, rel=1e-3)
    assert old40 == pytest.approx(float(old["2040"].sum()), rel=1e-6)


@pytest.mark.integration
@pytest.mark.realdata
def test_every_icb_equals_the_sum_of_its_sub_icb_locations_in_2025_and_2040(built_real):
    out, _, _ = built_real
    pop, place = _table(out, "population"), _table(out, "population_place")
    assert place["sicb_code"].nunique() == 106
    persons = place[place["sex"] == "persons"]
    for year in (2025, 2040):
        icb = population.for_year(pop, year).groupby("icb_code")["population"].sum()
        sub = persons[persons["year"] == year].groupby("icb_code")["population"].sum()
        assert len(icb) == 42
        pd.testing.assert_series_equal(icb.sort_index(), sub.sort_index(), rtol=1e-6, check_names=False)
    sexes = _table(out, "population_sex")
    both = sexes[sexes["year"] == 2030].groupby("icb_code")["population"].sum()
    icb30 = population.for_year(pop, 2030).groupby("icb_code")["population"].sum()
    pd.testing.assert_series_equal(both.sort_index(), icb30.sort_index(), rtol=1e-5, check_names=False)


@pytest.mark.integration
@pytest.mark.realdata
def test_mid_2024_and_mid_2020_estimates_are_both_kept_and_england_2024_is_the_published_total(built_real):
    out, report, _ = built_real
    pop = _table(out, "population")
    est = pop[pop["kind"] == "estimate"]
    assert sorted(est["year"].unique()) == [2020, 2024]
    assert est.loc[est["year"] == 2024, "population"].sum() == pytest.approx(58_620_101, rel=1e-3)
    files = {f["file"] for f in report.files}
    assert "ons-mid-year-estimates-2024/mye24tablesew_MYE2_persons.csv" in files
    assert not any("mye24" in d for d in report.duplicates)
    evp = population.estimate_vs_projection(pop, "QOP").set_index("area")
    assert evp.at["England", "estimate"] == pytest.approx(58_620_101, rel=1e-3)
    assert evp.at["England", "projection"] == pytest.approx(58_568_219, rel=1e-4)     # SOURCE.md: 0.09% below


@pytest.mark.integration
@pytest.mark.realdata
def test_the_2016_basis_stays_as_history_and_is_never_picked_for_a_year_the_2022_basis_covers(built_real):
    out, _, _ = built_real
    pop = _table(out, "population")
    assert "2016-based" in set(pop["basis"])
    assert population.preferred_basis(pop) == "2022-based"
    for year in (2022, 2030, 2041):
        assert set(population.for_year(pop, year)["basis"]) == {"2022-based"}


@pytest.mark.integration
def test_committed_population_is_the_2022_basis_for_every_age(real_data):
    pop = population.reference_population()
    proj = pop[pop["kind"] == "projection"]
    assert set(proj["basis"]) == {"2022-based"}
    assert proj.loc[proj["year"] == 2025, "population"].sum() == pytest.approx(58_893_277, rel=1e-4)
    young = proj[proj["age_band"] == "25_34"].groupby("year")["population"].sum()
    assert young[2030] != young[2022]                  # under-60s are projected, not held


@pytest.mark.unit
def test_build_keeps_one_file_per_source_and_edition(tmp_path):
    ages = ",".join(str(a) for a in range(90))
    row = ",".join("1" for _ in range(90))
    for name in ("mye24tablesew_MYE2_persons.csv", "mid2020_MYE2.csv", "copy_of_mid2020_MYE2.csv"):
        (tmp_path / name).write_text(f"Code,Name,Geography,All ages,{ages},90+\nE06000001,Hartlepool,UA,91,{row},{len(name)}\n")
    found, _ = build.discover(tmp_path)
    report = build.BuildReport()
    kept = build._pick(found, report, tmp_path)
    assert sorted(f.path.name for f in kept) == ["copy_of_mid2020_MYE2.csv", "mye24tablesew_MYE2_persons.csv"]
    assert len(report.duplicates) == 1 and "mid2020_MYE2.csv" in report.duplicates[0]


@pytest.mark.integration
@pytest.mark.realdata
def test_general_practice_fte_of_each_icb_is_its_places_plus_its_practices_with_no_place(built_real):
    out, report, _ = built_real
    area = pd.read_parquet(out / "gp_workforce_area.parquet")
    gp = pd.read_parquet(out / "gp_workforce.parquet")
    for fy in ("2024/25", "2022/23"):
        a = area[(area["financial_year"] == fy) & area["area_type"].isin(["place", "no_place"])]
        g = gp[gp["financial_year"] == fy]
        for role in ("gp_qualified", "admin"):
            s = a[a["role"] == role].groupby("icb_code")["fte"].sum()
            t = g[g["role"] == role].set_index("icb_code")["fte"]
            pd.testing.assert_series_equal(s.sort_index(), t.sort_index(), rtol=1e-9, check_names=False)
    latest = area[(area["financial_year"] == "2024/25") & (area["area_type"] == "place")]
    assert latest["area_code"].nunique() == 106
    # The mapping places 99.4% of 2025 patients (its SOURCE.md): the practices left over are few.
    placed = latest[latest["role"] == "gp_qualified"]["registered_patients"].sum()
    total = gp[(gp["financial_year"] == "2024/25") & (gp["role"] == "gp_qualified")]["registered_patients"].sum()
    assert placed / total > 0.99
