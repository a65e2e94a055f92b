"""The loaders of the 2025 folders on small files the tests write: what bad input gets."""

import pandas as pd
import pytest

from iwt_helpers.data import sources
from iwt_helpers.data.sources import BuildContext, _read

pytestmark = pytest.mark.unit

TURNOVER_HEADER = ("PERIOD,TYPE,NHSE_REGION_CODE,NHSE_REGION_NAME,ICS_CODE,ICS_NAME,REPORTING_ORG_NAME,"
                   "REPORTING_ORG_CODE,CLUSTER_GROUP,BENCHMARK_GROUP,STAFF_GROUP_1_NAME,HC,FTE\n")


def turnover_file(path, rows):
    path.write_text(TURNOVER_HEADER + "".join(",".join(r) + "\n" for r in rows))
    return path


def trow(kind, group, hc, fte, org="R0A", ics="QOP", cluster="Acute"):
    return ["202510 to 202511", kind, "Y62", "North West", ics, "Greater Manchester", "Trust", org, cluster, "Acute",
            group, str(hc), str(fte)]


def good_turnover(tmp_path, name="Nov-25.csv"):
    return turnover_file(tmp_path / name, [
        trow("Denominator at end of period", "All staff groups", 30, 25.5),
        trow("Denominator at end of period", "Nurses & health visitors", 20, 18.0),
        trow("Denominator at end of period", "Managers", 10, 7.5),
        trow("Leavers", "All staff groups", 2, 1.5), trow("Leavers", "Managers", 2, 1.5),
        trow("Denominator at end of period", "All staff groups", 5, 5.0, org="QOP", cluster="Integrated Care Board"),
        trow("Denominator at end of period", "Managers", 5, 5.0, org="QOP", cluster="Integrated Care Board"),
    ])


def test_turnover_staff_at_end_of_month_go_to_workforce_without_icb_employed_staff(tmp_path):
    f = good_turnover(tmp_path)
    src = sources.recognise(f)
    assert src.ID == "nhs_workforce_turnover"
    ctx = BuildContext()
    wf = src.load(f, ctx).tables["workforce"].set_index("staff_group")
    assert wf.loc["registered_nurse", "fte"] == 18.0 and wf.loc["infrastructure_admin", "fte"] == 7.5   # ICB staff left out
    assert (wf["period"] == pd.Timestamp("2025-11-01")).all() and (wf["sector"] == "nhs_trust").all()
    flows = src.finalise(ctx).tables["flows"].set_index("staff_group")
    assert flows.at["infrastructure_admin", "leavers"] == 2 and flows.at["infrastructure_admin", "months"] == 1


@pytest.mark.parametrize("column,value", [(1, "Transfers"), (10, "Physician associates")])
def test_turnover_value_not_in_the_published_list_is_refused_naming_file_and_value(tmp_path, column, value):
    r = trow("Leavers", "Managers", 1, 1.0)
    r[column] = value
    f = turnover_file(tmp_path / "odd.csv", [trow("Denominator at end of period", "Managers", 1, 1.0), r])
    with pytest.raises(_read.SourceError, match=rf"odd.csv: column '\w+'.*'{value}'"):
        sources.recognise(f).load(f, BuildContext())


def test_turnover_staff_groups_that_do_not_add_up_are_refused(tmp_path):
    f = turnover_file(tmp_path / "sum.csv", [trow("Denominator at end of period", "All staff groups", 30, 25.5),
                                             trow("Denominator at end of period", "Managers", 10, 7.5)])
    with pytest.raises(_read.SourceError, match=r"sum.csv: staff groups of organisation R0A .* by -18.0 FTE"):
        sources.recognise(f).load(f, BuildContext())


CARE_COLS = ["year", "msoa21_name", "msoa21_code", "residents_5plus", "no_unpaid_care", "care_19h_or_less",
             "care_9h_or_less", "care_10_19h", "care_20_49h", "care_20_34h", "care_35_49h", "care_50h_plus",
             "unpaid_carers_total"]


def lsoa21_context():
    ctx = BuildContext()
    ctx.lsoa["21"] = pd.DataFrame({"lsoa_code": ["E01000001", "E01000002", "E01000003"],
                                   "lsoa_name": ["Bolton 001A", "Bolton 001B", "Bolton 002A"],
                                   "icb_code": ["QOP", "QE1", "QOP"]})
    return ctx


def test_msoa_straddling_two_icbs_is_split_by_its_share_of_lsoas(tmp_path):
    f = tmp_path / "care.csv"
    pd.DataFrame([[2021, "Bolton 001", "E02000001", 100, 80, 10, 6, 4, 6, 3, 3, 4, 20],
                  [2021, "Bolton 002", "E02000002", 50, 40, 5, 5, 0, 5, 5, 0, 0, 10]], columns=CARE_COLS).to_csv(f, index=False)
    res = sources.recognise(f).load(f, lsoa21_context())
    uc = res.tables["unpaid_care"].set_index(["icb_code", "hours_band"])["carers"]
    assert uc[("QOP", "19h_or_less")] == 5 + 5 and uc[("QE1", "19h_or_less")] == 5
    assert uc.sum() == 30


def test_census_row_whose_bands_do_not_add_up_is_refused_naming_file_area_and_columns(tmp_path):
    f = tmp_path / "care.csv"
    pd.DataFrame([[2021, "Bolton 001", "E02000001", 100, 80, 10, 6, 4, 6, 3, 3, 5, 21]], columns=CARE_COLS).to_csv(f, index=False)
    with pytest.raises(_read.SourceError, match=r"care.csv: area E02000001 \(row 2\): columns no_unpaid_care \+ "
                                                r"care_19h_or_less \+ care_20_49h \+ care_50h_plus add up to 101"):
        sources.recognise(f).load(f, lsoa21_context())


def test_small_area_source_without_the_lsoa_lookup_says_what_it_needs(tmp_path):
    f = tmp_path / "eth.csv"
    pd.DataFrame({"lsoa21_code": ["E01000001"], "White": [5], "Asian, Asian British or Asian Welsh": [1],
                  "Black, Black British, Black Welsh, Caribbean or African": [0], "Mixed or Multiple ethnic groups": [0],
                  "Other ethnic group": [0], "total_residents": [6]}).to_csv(f, index=False)
    with pytest.raises(_read.SourceError, match="eth.csv: residents' ethnicity by LSOA needs the ONS LSOA 2021 to ICB lookup"):
        sources.recognise(f).load(f, BuildContext())


GP_COLS = ["Practice.Code", "Year", "ICB_NAME", "TOTAL_PATIENTS", "TOTAL_GP_EXTGL_FTE", "TOTAL_LOCUUM_TRN_FTE",
           "TOTAL_NURSES_FTE", "TOTAL_DPC_FTE", "TOTAL_ADMIN_FTE", "TOTAL_GP_SEN_PTNR_FTE", "TOTAL_GP_PTNR_PROV_FTE",
           "TOTAL_GP_EXTGL_HC", "TOTAL_LOCUUM_TRN_HC", "TOTAL_NURSES_HC", "TOTAL_DPC_HC", "TOTAL_ADMIN_HC",
           "TOTAL_GP_SEN_PTNR_HC", "TOTAL_GP_PTNR_PROV_HC"]


def gp_row(code, icb, gp_fte):
    return [code, 2025, icb, 5000, gp_fte, 1, 2, 1, 5, 1, 0.5, 4, 1, 3, 2, 8, 1, 1]


def test_practice_with_an_icb_name_that_matches_no_icb_is_listed_with_its_fte(tmp_path):
    f = tmp_path / "gp.csv"
    pd.DataFrame([gp_row("P1", "Greater Manchester", 3.0), gp_row("P2", "NHS Humber, Coast and Vale ICB", 2.0),
                  gp_row("P3", "Atlantis", 4.0)], columns=GP_COLS).to_csv(f, index=False)
    src, ctx = sources.recognise(f), BuildContext()
    src.prepare(f, ctx)
    src.load(f, ctx)
    res = src.finalise(ctx)
    gp = res.tables["gp_workforce"].set_index(["icb_code", "role"])["fte"]
    assert gp[("QOP", "gp_qualified")] == 3.0 and gp[("QOQ", "gp_qualified")] == 2.0     # a former name is matched
    un = res.unmapped.set_index("org_code")
    assert list(un.index) == ["P3"] and un.at["P3", "qualified_gp_fte"] == 4.0
    assert un.at["P3", "fte_unmapped"] == 4 + 1 + 2 + 1 + 5 and "Atlantis" in un.at["P3", "org_name"]
    assert any("unmatched names" in n and "Atlantis" in n for n in res.notes)


def test_practice_file_without_the_published_columns_is_refused_naming_them(tmp_path):
    f = tmp_path / "gp.csv"
    pd.DataFrame([gp_row("P1", "Devon", 3.0)], columns=GP_COLS).drop(columns=["TOTAL_NURSES_FTE", "TOTAL_DPC_HC"]).to_csv(f, index=False)
    with pytest.raises(_read.SourceError, match=r"gp.csv: missing column\(s\) TOTAL_DPC_HC, TOTAL_NURSES_FTE"):
        sources.recognise(f).load(f, BuildContext())


def test_ods_trust_list_without_header_places_trusts_after_published_codes(tmp_path):
    f = tmp_path / "etr.csv"
    rows = [["R0A", "MANCHESTER TRUST", "Y62", "QOP"] + [""] * 6 + ["20171001", ""] + [""] * 15,
            ["RXX", "OLD TRUST", "Y62", "QE1"] + [""] * 6 + ["20000101", "20240331"] + [""] * 15,
            ["7A1", "WELSH BOARD", "W00", "7A1"] + [""] * 6 + ["20090101", ""] + [""] * 15]
    f.write_text("".join(",".join(f'"{v}"' for v in r) + "\n" for r in rows))
    assert sources.recognise(f).ID == "ods_trusts"
    ctx = BuildContext()
    ctx.add_orgs({"R0A": "QE1"}, "published ICS code")              # a published ICS code wins
    res = sources.recognise(f).load(f, ctx)
    assert ctx.org_icb == {"R0A": "QE1", "RXX": "QE1"}
    t = res.tables["nhs_trusts"].set_index("org_code")
    assert pd.isna(t.at["7A1", "icb_code"]) and t.at["RXX", "closed"] == pd.Timestamp("2024-03-31")
