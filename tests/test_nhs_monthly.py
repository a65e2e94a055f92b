"""NHS Workforce Statistics "England and Organisation" workbook (monthly HCHS staff by organisation):
the loader on small workbooks the tests write, and on the shared real file."""

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from iwt_helpers.data import geography, schemas, sources
from iwt_helpers.data.sources import BuildContext, _read, nhs_monthly

REAL_FILE = (Path(__file__).resolve().parents[2] / "shared" / "real-data" / "nhs-workforce-statistics-monthly"
             / "NHS Workforce Statistics, March 2025 England and Organisation.xlsx")
ENGLAND_FTE_MARCH_2025 = 1_378_470          # the publication's headline (SOURCE.md: 1,378,469.9)
TRUSTS_FTE_MARCH_2025 = 1_355_656
MONTHS = [dt.datetime(2025, 1, 31), dt.datetime(2025, 2, 28), dt.datetime(2025, 3, 31)]
ID = nhs_monthly.ID_COLUMNS

# ---------------------------------------------------------------- small workbooks written here


def _series_sheet(wb, title, orgs, months=MONTHS, scale=1.0):
    """Table 4/5 layout: title rows, the header on the fifth row, England, region, ICS subtotal and
    organisation rows. ``orgs``: (ICS code, organisation code, name, [value per month])."""
    ws = wb.create_sheet(title)
    ws.append([f"Table: HCHS staff - {title}"])
    ws.append(["Staff in NHS Trusts and other core organisations"])
    ws.append(["Return to Contents"])
    ws.append([])
    ws.append(ID + list(months))
    ws.append([])
    totals = [sum(o[3][i] for o in orgs) * scale for i in range(len(months))]
    ws.append([None, "England", None, None, None, None, *totals])
    ws.append(["Y62", "North West", None, None, None, None, *totals])
    for ics in dict.fromkeys(o[0] for o in orgs):
        mine = [o for o in orgs if o[0] == ics]
        ws.append([None, None, ics, f"ICS {ics}", None, None,
                   *[sum(o[3][i] for o in mine) * scale for i in range(len(months))]])
        for _, code, name, values in mine:
            ws.append([None, None, None, None, name, code, *[v * scale for v in values]])
    ws.append([])
    ws.append(["Source: NHS Hospital & Community Health Service (HCHS) monthly workforce statistics, NHS England"])
    return ws


GROUPS = ["Total", "Professionally qualified clinical staff", "HCHS Doctors", "Consultant", "Nurses & health visitors",
          "Support to clinical staff", "Support to doctors, nurses & midwives", "NHS infrastructure support", "Managers"]


def _group_sheet(wb, title, orgs, scale=1.0):
    """Table 2/3 layout for the latest month: doctors (all consultants), nurses, support, managers."""
    ws = wb.create_sheet(title)
    ws.append([f"Table: HCHS staff by staff group - {title}"])
    ws.append(["Staff in NHS Trusts and other core organisations"])
    ws.append(["Return to Contents"])
    ws.append([])
    ws.append(["March 2025 monthly data"])
    ws.append(ID + GROUPS)
    ws.append([])
    for ics, code, name, values in orgs:
        t = values[-1] * scale
        doc, nur, sup, man = 0.1 * t, 0.4 * t, 0.3 * t, 0.2 * t
        ws.append([None, None, ics, None, name, code, t, doc + nur, doc, doc, nur, sup, sup, man, man])
    return ws


ORGS = [("QOP", "R0A", "Manchester University NHS Foundation Trust", [100.0, 110.0, 120.0]),
        ("QOP", "QOP", "NHS Greater Manchester ICB", [10.0, 10.0, 12.0]),
        ("QK1", "RWE", "University Hospitals of Leicester NHS Trust", [50.0, 50.0, 0.0])]


def workbook(path, orgs=ORGS, months=MONTHS):
    wb = openpyxl.Workbook()
    wb.active.title = "Title sheet"
    wb.create_sheet("1. England")
    _group_sheet(wb, "2. NHSE, Org & SG - HC", orgs, scale=1.2)
    _group_sheet(wb, "3. NHSE, Org & SG - FTE", orgs)
    _series_sheet(wb, "4. All Staff, NHSE & Org - HC", orgs, months, scale=1.2)
    _series_sheet(wb, "5. All Staff, NHSE & Org - FTE", orgs, months)
    wb.save(path)
    return path


@pytest.mark.unit
def test_workbook_is_recognised_by_its_sheets_and_icb_employed_staff_are_kept_apart(tmp_path):
    f = workbook(tmp_path / "monthly.xlsx")
    src = sources.recognise(f)
    assert src is nhs_monthly.HchsMonthly
    res = src.load(f, BuildContext())
    t = schemas.validate("nhs_staff_monthly", res.tables["nhs_staff_monthly"])
    assert set(t["period"]) == {pd.Timestamp(m).replace(day=1) for m in MONTHS}      # month ends -> month starts
    types = t.drop_duplicates("org_code").set_index("org_code")["org_type"]
    assert types.to_dict() == {"R0A": "trust", "QOP": "icb", "RWE": "trust"}
    march = t[t["period"] == "2025-03-01"].set_index("org_code")
    assert march.at["R0A", "fte"] == 120 and march.at["QOP", "fte"] == 12
    assert march.at["R0A", "headcount"] == pytest.approx(144)
    assert "RWE" not in march.index                   # a month published as zero: left out, not kept as 0


@pytest.mark.unit
def test_latest_month_by_staff_group_goes_to_workforce_for_trusts_without_subtotals(tmp_path):
    f = workbook(tmp_path / "monthly.xlsx")
    wf = schemas.validate("workforce", sources.recognise(f).load(f, BuildContext()).tables["workforce"])
    assert (wf["period"] == pd.Timestamp("2025-03-01")).all() and (wf["sector"] == "nhs_trust").all()
    qop = wf[wf["icb_code"] == "QOP"].set_index("staff_group")["fte"]
    assert qop.sum() == pytest.approx(120)            # the trust only: the ICB's 12 FTE and every subtotal left out
    assert qop.to_dict() == pytest.approx({"doctor": 12, "registered_nurse": 48, "support_to_clinical": 36,
                                           "infrastructure_admin": 24})


@pytest.mark.unit
def test_organisation_under_an_ics_code_not_among_the_42_is_refused_naming_file_row_and_code(tmp_path):
    orgs = [*ORGS, ("QZZ", "T1A", "National body", [1.0, 1.0, 1.0])]
    f = workbook(tmp_path / "odd_ics.xlsx", orgs)
    with pytest.raises(_read.SourceError, match=r"odd_ics.xlsx \[4\. All Staff.*\]: row 15: organisation T1A .*'QZZ'"):
        sources.recognise(f).load(f, BuildContext())


@pytest.mark.unit
def test_month_column_whose_header_is_not_a_date_is_refused_naming_the_column(tmp_path):
    f = workbook(tmp_path / "odd_month.xlsx", months=[MONTHS[0], "Total", MONTHS[2]])
    with pytest.raises(_read.SourceError, match=r"odd_month.xlsx \[4\. All Staff.*\]: column H \('Total'\)"):
        sources.recognise(f).load(f, BuildContext())


@pytest.mark.unit
def test_a_workbook_without_the_monthly_sheets_is_not_recognised(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "5. All Staff, NHSE & Org - FTE"      # one of the four sheets only
    wb.save(tmp_path / "partial.xlsx")
    assert sources.recognise(tmp_path / "partial.xlsx") is None


# ---------------------------------------------------------------- the shared real file

realdata = [pytest.mark.integration, pytest.mark.realdata]


@pytest.fixture(scope="module")
def loaded():
    if not REAL_FILE.exists():
        pytest.skip(f"real file not found: {REAL_FILE}")
    return sources.recognise(REAL_FILE).load(REAL_FILE, BuildContext())


def _england_row_march_2025() -> float:
    """The file's own England FTE for March 2025, read independently of the loader."""
    ws = openpyxl.load_workbook(REAL_FILE, read_only=True, data_only=True)["5. All Staff, NHSE & Org - FTE"]
    rows = list(ws.iter_rows(min_row=5, max_row=8, values_only=True))
    col = list(rows[0]).index(dt.datetime(2025, 3, 31))
    return next(r[col] for r in rows if r[1] == "England")


@pytest.mark.integration
@pytest.mark.realdata
def test_march_2025_fte_of_trusts_and_icbs_kept_apart_adds_to_the_england_total(loaded):
    t = loaded.tables["nhs_staff_monthly"]
    march = t[t["period"] == "2025-03-01"].groupby("org_type")["fte"].sum()
    england = _england_row_march_2025()
    assert england == pytest.approx(ENGLAND_FTE_MARCH_2025, rel=1e-6)
    assert march.sum() == pytest.approx(england, rel=1e-3)
    assert march["trust"] == pytest.approx(TRUSTS_FTE_MARCH_2025, rel=1e-3)
    assert march["icb"] == pytest.approx(22_814, rel=1e-3)          # ICB-employed staff, not in the trusts' figure
    wf = loaded.tables["workforce"]
    assert wf["fte"].sum() == pytest.approx(march["trust"], abs=1)   # staff groups without subtotals = trusts' total


@pytest.mark.integration
@pytest.mark.realdata
def test_every_icb_has_at_least_84_months_of_trust_staff(loaded):
    t = schemas.validate("nhs_staff_monthly", loaded.tables["nhs_staff_monthly"])
    trusts = t[t["org_type"] == "trust"]
    per_icb = trusts.groupby("icb_code")["period"].nunique()
    assert set(per_icb.index) == set(geography.icb_codes())
    assert per_icb.min() >= 84
    since = trusts[trusts["period"] >= "2018-04-01"].groupby("icb_code")["period"].nunique()
    assert since.min() == 84 and since.max() == 84                  # April 2018 to March 2025, every month


@pytest.mark.integration
@pytest.mark.realdata
def test_build_of_all_shared_files_writes_the_monthly_table_apart_from_workforce(built_real):
    out, report, _ = built_real
    assert any(f["source"] == "nhs_workforce_monthly" for f in report.files)
    t = pd.read_parquet(out / "nhs_staff_monthly.parquet")
    march = t[t["period"] == "2025-03-01"]
    assert march["fte"].sum() == pytest.approx(ENGLAND_FTE_MARCH_2025, rel=1e-3)
    assert t["icb_code"].nunique() == 42
    wf = pd.read_parquet(out / "workforce.parquet")
    nhs_march = wf[(wf["period"] == "2025-03-01") & (wf["sector"] == "nhs_trust")]
    assert nhs_march["fte"].sum() == pytest.approx(TRUSTS_FTE_MARCH_2025, rel=1e-3)   # trusts once, ICB staff not at all


# ---------------------------------------------------------------- trend, growth and KPI (analysis)

def _monthly(rows):
    """nhs_staff_monthly rows: (period, org, ICB, org_type, fte)."""
    return pd.DataFrame([{"period": pd.Timestamp(p), "org_code": o, "org_name": o, "icb_code": i, "org_type": t,
                          "headcount": f * 1.2, "fte": f, "source": "test"} for p, o, i, t, f in rows])


@pytest.mark.unit
def test_month_on_month_kpi_is_the_change_in_trust_fte_and_skips_a_missing_month():
    from iwt_helpers.analysis import nhs_trend
    m = _monthly([("2024-01-01", "R0A", "QOP", "trust", 100), ("2024-01-01", "QOP", "QOP", "icb", 50),
                  ("2024-02-01", "R0A", "QOP", "trust", 102), ("2024-02-01", "QOP", "QOP", "icb", 80),
                  ("2024-04-01", "R0A", "QOP", "trust", 110)])
    k = nhs_trend.kpi_observations(m).set_index("period")
    assert list(k.index) == [pd.Timestamp("2024-02-01")]          # April has no March to compare with
    assert k.at[pd.Timestamp("2024-02-01"), "value"] == pytest.approx(2.0)      # ICB-employed staff not counted
    assert (k["kpi_id"] == nhs_trend.KPI_ID).all()
    schemas.validate("kpi_observations", k.reset_index())


@pytest.mark.unit
def test_twelve_month_growth_names_its_period_and_is_missing_without_the_year_before():
    from iwt_helpers.analysis import nhs_trend
    m = _monthly([("2024-03-01", "R0A", "QOP", "trust", 100), ("2025-03-01", "R0A", "QOP", "trust", 103),
                  ("2025-03-01", "RWE", "QK1", "trust", 50)])
    g = nhs_trend.growth_12m(nhs_trend.by_area(m, "QOP")).set_index("area_type")
    assert g.at["icb", "growth_pct"] == pytest.approx(3.0)
    assert g.at["icb", "period_label"] == "12 months to March 2025"
    assert g.at["england", "fte_latest"] == 153                     # England adds up every ICB's trusts
    assert pd.isna(g.at["england", "growth_pct"])                   # March 2024 lacks QK1: not a partial England


@pytest.mark.unit
def test_region_and_england_rows_kept_once_are_the_same_for_every_icb():
    from iwt_helpers.analysis import nhs_trend
    m = _monthly([("2024-03-01", "R0A", "QOP", "trust", 100), ("2025-03-01", "R0A", "QOP", "trust", 103),
                  ("2025-03-01", "RWE", "QK1", "trust", 50), ("2025-03-01", "RXX", "QE1", "trust", 70)])
    kept: dict = {}

    def once(key, compute):
        if key not in kept:
            kept[key] = compute()
        return kept[key]
    for icb in ("QOP", "QE1", "QK1", "QOP"):            # QOP and QE1 share a region; QK1 is in another
        pd.testing.assert_frame_equal(nhs_trend.by_area(m, icb, once=once), nhs_trend.by_area(m, icb))
    assert ("nhs_trend_england", None) in kept and sum(k[0] == "nhs_trend_region" for k in kept) == 2


@pytest.mark.integration
def test_data_theme_headline_states_the_icbs_growth_from_the_committed_real_totals():
    import matplotlib
    matplotlib.use("Agg")
    from iwt_helpers import paths
    from iwt_helpers.data.datastore import open_dataset
    from iwt_helpers.present.items import Headline
    from iwt_helpers.themes import data as data_theme
    from iwt_helpers.themes.params import ReportParams
    ctx = data_theme.DataContext.load(open_dataset(None), ReportParams.parse(icb_code="QOP"))
    items = data_theme.nhs_trend_section(ctx)("QOP")
    head = next(i for i in items if isinstance(i, Headline))
    ref = pd.read_csv(paths.reference("nhs_staff_monthly_icb.csv"), parse_dates=["period"])
    qop = ref[ref["icb_code"] == "QOP"].set_index("period")["fte"]
    expected = 100 * (qop[qop.index.max()] / qop[qop.index.max() - pd.DateOffset(years=1)] - 1)
    assert head.value == pytest.approx(expected)
    assert head.name == f"NHS trust staff in post grew {expected:.1f}% in the 12 months to {qop.index.max():%B %Y}"
    assert head.provenance.status == "real" and "NHS Workforce Statistics" in head.provenance.source
    # the trend's own items are real; the reconciliation with the turnover files' FTE (synthetic in the
    # demo) says which figure is which and is left out here
    assert all(i.provenance.status == "real" for i in items
               if getattr(i, "provenance", None) and getattr(i, "key", None) != "nhs_fte_reconciliation")


@pytest.mark.integration
def test_governance_kpi_is_month_on_month_real_and_read_with_spc_on_the_demo():
    from iwt_helpers.analysis import kpis, nhs_trend
    from iwt_helpers.data.datastore import open_dataset
    from iwt_helpers.themes import governance_metrics as governance
    from iwt_helpers.themes.params import ReportParams
    ctx = governance.GovernanceContext.load(open_dataset(None), ReportParams.parse(icb_code="QOP"))
    r = ctx.read("QOP")
    s = r.summary.set_index("kpi_id").loc[nhs_trend.KPI_ID]
    assert s["points"] >= 24 and not s["synthetic"] and s["improvement"] == "increase"
    assert s["variation"] != "too_few_points"
    chart = r.chart[r.chart["kpi_id"] == nhs_trend.KPI_ID].sort_values("period")
    assert (chart["period"].diff().dropna().dt.days <= 31).all()    # consecutive months, not a yearly series
    defs = kpis.definitions().set_index("id")
    assert defs.at[nhs_trend.KPI_ID, "improvement"] == "increase"
