"""Reports written by the report command on data built from the shared real files: every figure
says what it is, real figures are never labelled synthetic nor synthetic real, and a missing
value is never shown as 0."""

import pandas as pd
import pytest

from iwt_helpers.report import outputs, run_reports

pytestmark = [pytest.mark.e2e, pytest.mark.realdata]
ICBS = ("QOC", "QE1", "QOP")          # small, middle-sized and large


@pytest.fixture(scope="module")
def reports(built_real, tmp_path_factory):
    processed, _, raw = built_real
    out = tmp_path_factory.mktemp("real-reports")
    s = run_reports(icb=",".join(ICBS), theme_spec="all", data_dir=str(processed), out_dir=out, jobs=2, progress=False)
    assert s.exit_code == 0, s.failed
    found = {}
    for icb in ICBS:
        found[icb] = {p.stem: outputs.collect(outputs.read_notebook(p)) for p in sorted((out / icb).glob("*.ipynb"))}
    return out, found, processed, raw


def tables(found, icb, theme="data"):
    return {t["name"]: t for t in found[icb][theme]["tables"]}


def frame(t):
    return pd.DataFrame(t["table"]["data"], columns=t["table"]["columns"])


@pytest.mark.parametrize("icb", ICBS)
def test_headline_names_only_the_real_sectors_with_their_periods(reports, icb):
    _, found, _, _ = reports
    h = {x["name"]: x for x in found[icb]["data"]["headlines"]}
    real = h["Workforce in NHS trusts (November 2025) and general practice (2024/25, annual mean)"]
    assert real["provenance"]["status"] == "real"
    by_sector = frame(tables(found, icb)["workforce_by_sector"]).set_index("Sector")
    assert real["value"] == pytest.approx(by_sector.loc[["NHS trusts", "Primary care (general practice)"], "FTE"].sum(), rel=1e-6)
    synthetic = [n for n in h if n.startswith("Not included above: adult social care")]
    assert synthetic and h[synthetic[0]]["provenance"]["status"] == "synthetic"
    assert by_sector.at["NHS trusts", "Status"] == "real" and by_sector.at["NHS trusts", "Period"] == "November 2025"
    assert by_sector.at["Adult social care: independent (private)", "Status"] == "synthetic"


@pytest.mark.parametrize("icb", ICBS)
def test_coverage_matrix_shows_real_periods_synthetic_and_not_available(reports, icb):
    _, found, _, _ = reports
    m = frame(tables(found, icb)["coverage_matrix"]).set_index("Sector")
    assert m.at["NHS trusts", "Staff in post"] == "real (November 2025)"
    assert m.at["NHS trusts", "Joiners and leavers"] == "real (2025)"
    assert m.at["General practice", "Staff in post"] == "real (2024/25, annual mean)"
    assert m.at["General practice", "Pay"] == "not available"
    assert m.loc[[s for s in m.index if s.startswith("Adult")], "Staff in post"].str.startswith("synthetic").all()
    ctx = frame(tables(found, icb)["coverage_context"]).set_index("Figure")["Status (period)"]
    assert ctx["Unpaid carers"] == "real (2021)" and ctx["Residents' ethnicity"] == "real (2021)"


@pytest.mark.parametrize("icb", ICBS)
def test_no_missing_value_is_shown_as_zero(reports, icb):
    out, found, _, _ = reports
    for name in ("workforce_by_sector", "workforce_by_group", "nhs_staff_groups", "carers_and_paid_staff"):
        df = frame(tables(found, icb)[name])
        for col in [c for c in df.columns if c in ("Headcount", "FTE", "People")]:
            assert not (pd.to_numeric(df[col], errors="coerce") == 0).any(), (name, col)
    html = (out / icb / "data.html").read_text()
    assert "not available" in html                      # the coverage matrix: general practice pay


@pytest.mark.parametrize("icb", ICBS)
def test_every_xlsx_sheet_says_real_or_synthetic_as_its_table_is(reports, icb):
    from openpyxl import load_workbook
    out, found, _, _ = reports
    wb = load_workbook(out / icb / "tables.xlsx", read_only=True)
    by_caption = {}
    for theme in found[icb]:
        for t in found[icb][theme]["tables"]:
            by_caption[t["caption"] or t["name"]] = t.get("provenance") or {}
    checked = 0
    for sheet, _, caption, _, _, status in wb["contents"].iter_rows(min_row=2, values_only=True):
        prov = by_caption[caption]
        assert sheet in wb.sheetnames
        if prov.get("status") == "real":
            assert status.startswith("real published data") and "SYNTHETIC" not in status, caption
        elif prov.get("status") == "synthetic":
            assert status.startswith("SYNTHETIC demonstration data"), caption
        elif prov.get("status") == "mixed":
            assert status.startswith("real and synthetic parts"), caption
        checked += 1
    assert checked >= 25
    statuses = {p.get("status") for p in by_caption.values()}
    assert {"real", "synthetic", "mixed"} <= statuses
    wb.close()
    full = load_workbook(out / icb / "tables.xlsx")            # the page footer says it too, for print
    assert "Status: real published data" in full["gp_per_10k"].oddFooter.left.text


@pytest.mark.parametrize("icb", ICBS)
def test_general_practice_unpaid_carers_nhs_staff_and_census_ethnicity_sections(reports, icb):
    _, found, processed, _ = reports
    t = tables(found, icb)
    gp = pd.read_parquet(processed / "gp_workforce.parquet")
    mine = gp[(gp["icb_code"] == icb) & (gp["financial_year"] == "2024/25") & (gp["role"] == "gp_qualified")].iloc[0]
    per10k = frame(t["gp_per_10k"]).set_index("Staff group")
    first = [c for c in per10k.columns if c.endswith("(FTE per 10,000 patients)")][0]
    assert per10k.at["GPs (excluding trainees and locums)", first] == pytest.approx(
        1e4 * mine["fte"] / mine["registered_patients"], abs=0.005)
    uc = pd.read_parquet(processed / "unpaid_care.parquet")
    u = uc[uc["icb_code"] == icb]
    carers = frame(t["unpaid_carers"]).set_index("Unpaid care a week")
    first = [c for c in carers.columns if c.endswith("(per 100 residents 5+)")][0]
    assert carers.at["All unpaid carers", first] == pytest.approx(100 * u["carers"].sum() / u["residents_5plus"].iloc[0], abs=0.005)
    nhs = frame(t["nhs_staff_groups"])
    assert nhs["Leaving rate (% a year)"].dropna().between(1, 40).all() and "resident doctors are excluded" in t["nhs_staff_groups"]["caption"]
    assert "annualised from 2 one-month window(s)" in t["nhs_staff_groups"]["caption"]
    eth = frame(t["ethnicity"])
    res = eth[eth["Group"] == "Residents"]
    census = pd.read_parquet(processed / "ethnicity.parquet").query("group == 'residents' and icb_code == @icb")
    assert res["People"].sum() == census["people"].sum()
    # The workforce's ethnicity is synthetic here (generated from the residents' own shares), so only the
    # residents are shown: no comparison of a source with itself.
    assert set(eth["Group"]) == {"Residents"} and t["ethnicity"]["provenance"]["status"] == "real"


def test_unplaced_organisations_are_listed_in_the_data_quality_section(reports):
    _, found, _, _ = reports
    un = frame(tables(found, "QOP")["unplaced_organisations"])
    june = un[(un["Source"] == "nhs_hchs_workforce") & (un["Period"] == "2018-06")].iloc[0]
    assert june["Organisations"] == 18 and june["Share of the file's FTE (%)"] == pytest.approx(6.8, abs=0.05)
    assert "RW6 Pennine Acute" in june["Largest (FTE)"]


def test_governance_kpis_from_published_files_are_real_and_the_rest_synthetic(reports):
    _, found, _, _ = reports
    summary = tables(found, "QOP", "governance_metrics")["kpi_summary"]
    df = frame(summary).set_index("KPI id")
    assert not df.at["sickness_absence_nhs", "Synthetic"] and df.at["sickness_absence_nhs", "Points"] == 12
    assert df.at["time_to_fill_days", "Synthetic"]            # not in the published files: demo, labelled
    assert df.at["enough_staff_pct", "Variation"] == "Too few points to judge"   # 4 annual survey points
    assert summary["provenance"]["status"] == "mixed" and "real: " in summary["provenance"]["detail"]


@pytest.mark.parametrize("icb", ICBS)
def test_the_social_care_vacancy_headline_is_the_published_rate_the_governance_theme_shows(reports, icb):
    _, found, _, _ = reports
    h = [x for x in found[icb]["data"]["headlines"] if x["name"].startswith("Social care vacancy rate")]
    assert len(h) == 1 and h[0]["provenance"]["status"] == "real" and "Skills for Care" in h[0]["name"]
    gov = frame(tables(found, icb, "governance_metrics")["kpi_summary"]).set_index("KPI id")
    assert h[0]["value"] == pytest.approx(gov.at["vacancy_rate_asc", "Latest value"], abs=1e-9)
    rows = frame(tables(found, icb)["vacancy_turnover"]).set_index("Sector")
    # each published rate in its own row with its own period (#25: never a 2024/25 vacancy rate beside a 2019/20 turnover)
    vac = [r for r in rows.index if r.startswith("Adult social care: published vacancy rate (Skills for Care, ")]
    assert len(vac) == 1
    published = rows.loc[vac[0]]
    assert published["Vacancies: status"] == "real" and published["Vacancy rate (%)"] == pytest.approx(h[0]["value"])
    assert not any(r.startswith("Adult social care: published rates") for r in rows.index)
