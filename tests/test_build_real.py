"""Building the processed data set from the real public files in ../shared/real-data."""

import pandas as pd
import pytest

from iwt_helpers.data import build, population
from iwt_helpers.data.sources import _read

pytestmark = [pytest.mark.integration, pytest.mark.realdata]


@pytest.fixture(scope="module")
def built(built_real):
    return built_real


def table(out, name):
    return pd.read_parquet(out / f"{name}.parquet")


def test_every_data_file_is_recognised_and_documents_are_ignored(built):
    out, report, raw = built
    sources = {f["source"] for f in report.files}
    for s in ("nhs_sickness_absence", "nhs_staff_survey", "nhs_hchs_workforce", "ons_mye", "ons_snpp",
              "sfc_la_workforce", "sfc_la_vacancies", "gp_workforce_icb", "ons_lsoa_icb_lookup"):
        assert s in sources
    assert any(i.endswith("SOURCE.md") for i in report.ignored)
    assert len(report.duplicates) == 2          # the derived CSV twins of the HCHS and MYE workbooks


def test_all_42_icbs_in_geography_sickness_absence_and_staff_survey(built):
    out, _, _ = built
    assert table(out, "lad_icb").groupby("lad_vintage")["icb_code"].nunique().eq(42).all()
    k = table(out, "kpi_observations")
    sick = k[k["kpi_id"] == "sickness_absence_nhs"]
    assert sick["icb_code"].nunique() == 42
    assert sick.groupby("icb_code")["period"].nunique().eq(12).all()
    ss = table(out, "staff_survey")
    assert ss[ss["indicator"] == "enough_staff"].groupby("year")["icb_code"].nunique().eq(42).all()


def test_sickness_rate_is_aggregated_from_days_not_averaged(built):
    out, _, raw = built
    k = table(out, "kpi_observations")
    sick = k[(k["kpi_id"] == "sickness_absence_nhs") & (k["icb_code"] == "QOP") & (k["period"] == "2025-03-01")].iloc[0]
    src = pd.read_csv(raw / "nhs-sickness-absence" / "nhs_sickness_absence_2025-03.csv")
    q = src[src["ICS_CODE"] == "QOP"]
    assert sick["value"] == pytest.approx(100 * q["FTE_DAYS_LOST"].sum() / q["FTE_DAYS_AVAILABLE"].sum(), rel=1e-6)
    assert sick["value"] != pytest.approx(q["SICKNESS_ABSENCE_RATE_PERCENT"].mean(), rel=1e-4)


def test_hchs_england_total_each_month_equals_the_sum_over_the_files_organisations(built):
    out, _, raw = built
    wb = next((raw / "nhs-digital-hchs-workforce").glob("*.xlsx"))
    src = _read.read_sheet(wb, "Data", ["Month", "Organisation code", "Staff group", "FTE"])
    src["FTE"] = pd.to_numeric(src["FTE"])
    file_totals = src.groupby("Month")["FTE"].sum()
    wf = table(out, "workforce")
    un = table(out, "unmapped_organisations")
    un = un[un["source"] == "nhs_hchs_workforce"]
    for month, period in (("2017-SEP", "2017-09"), ("2018-JUN", "2018-06")):
        placed = wf.loc[wf["period"].dt.strftime("%Y-%m") == period, "fte"].sum()
        unplaced = un.loc[un["period"] == period, "fte_unmapped"].sum()
        assert placed + unplaced == pytest.approx(file_totals[month], abs=0.01)
        assert placed / file_totals[month] > 0.85      # most FTE is placed in an ICB


def test_population_apportioned_to_icbs_sums_to_england_within_0_1_pct(built):
    out, _, raw = built
    pop = table(out, "population")
    total = pop[(pop["year"] == 2020) & (pop["kind"] == "estimate")]["population"].sum()
    assert abs(total / population.england_total_mye(raw) - 1) < 0.001


def test_social_care_rates_are_apportioned_to_every_icb(built):
    out, _, _ = built
    k = table(out, "kpi_observations")
    for kpi in ("turnover_asc", "vacancy_rate_asc"):
        d = k[k["kpi_id"] == kpi]
        assert d["icb_code"].nunique() == 42
        assert d["value"].between(0, 100).all()


def test_building_twice_gives_identical_outputs(built, tmp_path):
    out, _, raw = built
    again = tmp_path / "again"
    build.build(raw, again)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    for n in names:
        assert (out / n).read_bytes() == (again / n).read_bytes(), n


def test_status_reports_coverage(built):
    out, _, _ = built
    s = build.status(out).set_index("table")
    assert s.at["kpi_observations", "icbs"] == 42
    assert "sickness_absence_nhs" in s.at["kpi_observations", "detail"]



def test_new_folders_are_recognised_by_their_own_loaders(built):
    _, report, _ = built
    by_file = {f["file"].split("/")[0]: set() for f in report.files}
    for f in report.files:
        by_file[f["file"].split("/")[0]].add(f["source"])
    assert by_file["gp-workforce-practice"] == {"gp_practice_workforce", "gp_practice_icb"}
    assert by_file["imd-deprivation"] == {"iod2025"}
    assert by_file["rural-urban"] == {"ons_rural_urban_lsoa"}
    assert by_file["ods-trusts"] == {"ods_trusts"}
    assert by_file["nhs-workforce-turnover"] == {"nhs_workforce_turnover"}
    assert by_file["census-2021-unpaid-care"] == {"census2021_unpaid_care_msoa", "census2021_unpaid_care_la"}
    assert by_file["census-2021-ethnicity"] == {"census2021_ethnicity_lsoa", "census2021_ethnicity_la"}


# ------------------------------------------------------------------ the seven folders of 2025 files

def gp_files(raw):
    folder = raw / "gp-workforce-practice"
    return (pd.read_csv(folder / "workforce_year_2023-2025_v2025-04.csv"),
            pd.read_csv(folder / "workforce_year_2016-2024_v2024-10.csv"))


def test_england_qualified_gp_fte_each_year_equals_the_files_own_sum(built):
    out, _, raw = built
    detailed, trend = gp_files(raw)
    # Each financial year comes from the newest file that has it (2022/23 onwards: the 2025 file).
    expected = pd.concat([detailed.groupby("Year")["TOTAL_GP_EXTGL_FTE"].sum(),
                          trend[trend["Year"] < detailed["Year"].min()].groupby("Year")["TOTAL_GP_EXTGL_FTE"].sum()])
    gp = table(out, "gp_workforce")
    placed = gp[gp["role"] == "gp_qualified"].groupby("financial_year")["fte"].sum()
    un = table(out, "unmapped_organisations")
    un = un[un["source"] == "gp_practice_workforce"].groupby("period")["qualified_gp_fte"].sum()
    assert len(expected) == 10 and set(placed.index) == {f"{y - 1}/{y % 100:02d}" for y in expected.index}
    for year_end, total in expected.items():
        fy = f"{year_end - 1}/{year_end % 100:02d}"
        assert placed[fy] + un.get(fy, 0.0) == pytest.approx(total, abs=0.05), fy
    assert placed["2024/25"] == pytest.approx(27076.7, abs=0.05)        # SOURCE.md's England figure, all placed


def test_gp_icb_totals_add_up_to_england_less_the_listed_practices_in_every_role(built):
    out, _, raw = built
    detailed, _ = gp_files(raw)
    d = detailed[detailed["Year"] == 2025]
    gp = table(out, "gp_workforce").query("financial_year == '2024/25'").set_index(["icb_code", "role"])["fte"]
    listed = table(out, "unmapped_organisations").query("source == 'gp_practice_workforce' and period == '2024/25'")
    for role, col in (("nurse", "TOTAL_NURSES_FTE"), ("direct_patient_care", "TOTAL_DPC_FTE"), ("admin", "TOTAL_ADMIN_FTE")):
        lost = d[d["Practice.Code"].isin(listed["org_code"])][col].sum()
        assert gp.xs(role, level="role").sum() + lost == pytest.approx(d[col].sum(), abs=0.05), role
    assert gp.index.get_level_values("icb_code").nunique() == 42
    # Registered patients are the per-10,000 denominator: England's 2024/25 list size (annual mean).
    patients = table(out, "gp_workforce").query("financial_year == '2024/25' and role == 'gp_qualified'")["registered_patients"]
    assert patients.sum() / 1e6 == pytest.approx(d["TOTAL_PATIENTS"].sum() / 1e6, abs=0.01)


def test_every_icb_has_imd_2025_and_a_rural_share(built):
    out, _, _ = built
    dep = table(out, "deprivation")
    icb = dep[(dep["area_type"] == "icb") & (dep["domain"] == "imd")]
    for measure in ("average_score", "rank_of_average_score", "share_most_deprived_10pct"):
        m = icb[icb["measure"] == measure]
        assert m["area_code"].nunique() == 42 and m["value"].notna().all(), measure
    assert icb[icb["measure"] == "rank_of_average_score"]["value"].sort_values().tolist() == list(range(1, 43))
    assert dep[dep["area_type"] == "lad24"]["area_code"].nunique() == 296
    rural = table(out, "rurality").query("area_type == 'icb'").set_index("area_code")
    assert len(rural) == 42 and rural["rural_share_pct"].between(0, 100).all()
    # Independent check: London is almost wholly urban; Lincolnshire mostly not; England's LSOAs all placed.
    assert rural.at["QMJ", "rural_share_pct"] < 1 and rural.at["QJM", "rural_share_pct"] > 40
    assert rural["lsoas"].sum() == 32844


def test_each_hchs_organisation_is_placed_or_listed_with_its_fte(built):
    out, report, raw = built
    src = _read.read_sheet(next((raw / "nhs-digital-hchs-workforce").glob("*.xlsx")), "Data",
                           ["Month", "Organisation code", "Staff group", "FTE"])
    src["FTE"] = pd.to_numeric(src["FTE"])
    trusts = table(out, "nhs_trusts")
    un = table(out, "unmapped_organisations").query("source == 'nhs_hchs_workforce'")
    listed = set(zip(un["period"], un["org_code"]))
    month = {"2017-SEP": "2017-09", "2018-JUN": "2018-06"}
    placed_codes = set(trusts["org_code"])
    for (m, org), _fte in src.groupby(["Month", "Organisation code"])["FTE"].sum().items():
        assert (month[m], org) in listed or org not in set(un["org_code"]), org
    # Every trust on the current ODS list that appears in the HCHS file is placed, not listed.
    assert not (placed_codes & set(un.loc[un["period"] == "2018-06", "org_code"])) - set(
        trusts.loc[trusts["icb_code"].isna(), "org_code"])
    june = next(u for u in report.unplaced if u["source"] == "nhs_hchs_workforce" and u["period"] == "2018-06")
    assert june["fte"] == pytest.approx(un.loc[un["period"] == "2018-06", "fte_unmapped"].sum(), abs=0.1)
    assert june["share_of_file_fte_pct"] == pytest.approx(100 * june["fte"] / src.loc[src["Month"] == "2018-JUN", "FTE"].sum(), abs=0.01)
    assert "RW6" in {o["org_code"] for o in june["largest"]}       # Pennine Acute (dissolved 2021): listed


def turnover(raw, month):
    return pd.read_csv(next((raw / "nhs-workforce-turnover").glob(f"*{month}.csv")))


def test_nhs_fte_at_end_of_november_2025_equals_the_files_sum_over_placed_trusts(built):
    out, _, raw = built
    t = turnover(raw, "Nov-25")
    t = t[(t["TYPE"] == "Denominator at end of period") & (t["STAFF_GROUP_1_NAME"] != "All staff groups")
          & (t["CLUSTER_GROUP"] != "Integrated Care Board")]
    wf = table(out, "workforce")
    nov = wf[(wf["period"] == "2025-11-01") & (wf["sector"] == "nhs_trust")]
    assert nov["icb_code"].nunique() == 42
    assert nov["fte"].sum() == pytest.approx(t["FTE"].sum(), abs=0.5)
    assert nov["headcount"].sum() == t["HC"].sum()
    by_icb = t.groupby("ICS_CODE")["FTE"].sum()
    assert nov.groupby("icb_code")["fte"].sum().to_dict() == pytest.approx(by_icb.to_dict(), abs=0.05)
    assert wf.loc[wf["period"] == "2025-11-01", "source"].str.contains("resident doctors excluded").all()


def test_the_nhs_sector_headcount_is_the_publishers_all_staff_count_not_the_sum_of_groups(built):
    from iwt_helpers.analysis import workforce
    out, _, raw = built
    t = turnover(raw, "Nov-25")
    t = t[(t["TYPE"] == "Denominator at end of period") & (t["CLUSTER_GROUP"] != "Integrated Care Board")]
    published = t[(t["STAFF_GROUP_1_NAME"] == "All staff groups") & (t["ICS_CODE"] == "QOP")]["HC"].sum()
    groups = t[(t["STAFF_GROUP_1_NAME"] != "All staff groups") & (t["ICS_CODE"] == "QOP")]["HC"].sum()
    assert groups > published                        # people in two staff groups count twice in the groups' sum
    wf = table(out, "workforce")
    shown = workforce.by_sector(workforce.snapshot(wf), "QOP").set_index("sector")
    assert shown.at["nhs_trust", "headcount"] == published == 98_657


def test_nhs_flows_annualise_two_one_month_windows(built):
    out, _, raw = built
    oct_, nov = turnover(raw, "Oct-25"), turnover(raw, "Nov-25")
    flows = table(out, "flows").query("sector == 'nhs_trust'")
    assert flows["months"].eq(2).all() and flows["icb_code"].nunique() == 42
    q = [d[(d["ICS_CODE"] == "QOP") & (d["STAFF_GROUP_1_NAME"] != "All staff groups")
           & (d["CLUSTER_GROUP"] != "Integrated Care Board")] for d in (oct_, nov)]
    leavers = sum(d.loc[d["TYPE"] == "Leavers", "HC"].sum() for d in q)
    stock = sum(d.loc[d["TYPE"].str.startswith("Denominator"), "HC"].sum() / 2 for d in q) / 2
    qop = flows[flows["icb_code"] == "QOP"]
    assert qop["leavers"].sum() == leavers and qop["staff_in_post"].sum() == pytest.approx(stock, abs=1)
    # Headcount by staff group counts a person in two groups in each: within 0.5% of the all-groups row.
    all_groups = sum(d.loc[(d["ICS_CODE"] == "QOP") & (d["STAFF_GROUP_1_NAME"] == "All staff groups")
                           & (d["CLUSTER_GROUP"] != "Integrated Care Board") & (d["TYPE"] == "Leavers"), "HC"].sum()
                     for d in (oct_, nov))
    assert leavers == pytest.approx(all_groups, rel=0.005)
    from iwt_helpers.analysis import pressures
    rate = pressures.turnover_rates(flows, "QOP").set_index("sector").at["nhs_trust", "turnover_rate_pct"]
    assert rate == pytest.approx(100 * leavers * 6 / stock, rel=1e-3)       # 12 / 2 months


def test_unpaid_carers_match_the_census_total_and_every_icb_has_them(built):
    out, _, raw = built
    uc = table(out, "unpaid_care")
    la = pd.read_csv(raw / "census-2021-unpaid-care" / "census2021-ts039-ltla.csv")
    england = la[la["geography code"].str.startswith("E")]
    total = england["Provision of unpaid care: Total: All usual residents aged 5 and over"].sum() - england[
        "Provision of unpaid care: Provides no unpaid care"].sum()
    assert total == 4_678_260
    assert uc["carers"].sum() == pytest.approx(total, rel=0.001)
    assert uc.groupby("icb_code")["carers"].sum().gt(0).sum() == 42
    fifty = uc[uc["hours_band"] == "50h_plus"]["carers"].sum()
    assert fifty == pytest.approx(1_404_768, rel=0.001)
    la_t = table(out, "unpaid_care_la")
    assert la_t["lad_code"].nunique() == 309 and la_t["carers"].sum() == total


def test_residents_ethnicity_adds_up_per_icb_and_england_is_81_percent_white(built):
    out, _, raw = built
    eth = table(out, "ethnicity").query("group == 'residents'")
    lsoa = pd.read_csv(raw / "census-2021-ethnicity" / "DERIVED_census2021_ts021_ethnic_group_lsoa21_england.csv")
    look = pd.read_csv(raw / "ons-geography-geographr" / "lookup_lsoa21_icb24.csv")
    per_icb = lsoa.merge(look, on="lsoa21_code").groupby("icb24_code_nhs")["total_residents"].sum()
    got = eth.groupby("icb_code")["people"].sum()
    assert len(got) == 42 and got.to_dict() == per_icb.to_dict()
    white = eth.loc[eth["ethnic_group"] == "white", "people"].sum() / eth["people"].sum()
    assert round(100 * white, 1) == 81.0
    qop = eth[eth["icb_code"] == "QOP"].set_index("ethnic_group")["people"]
    assert 0.75 < qop["white"] / qop.sum() < 0.85          # Greater Manchester about 80% White (Census 2021)
    la = table(out, "ethnicity_la")
    assert la["ethnic_group_detailed"].nunique() == 19 and la.groupby("lad_code")["people"].sum().loc["E08000025"] > 1e6
