"""Building the processed data set from the real public files in ../shared/real-data."""

import pandas as pd
import pytest

from iwt_helpers import build, population
from iwt_helpers.sources import _read

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from iwt_helpers import paths
    if not paths.REAL_DATA.is_dir():
        pytest.skip(f"real public data not found at {paths.REAL_DATA}")
    out = tmp_path_factory.mktemp("processed") / "real"
    report = build.build(paths.REAL_DATA, out)
    return out, report, paths.REAL_DATA


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


def test_governance_and_data_reports_run_on_the_built_data(built, tmp_path):
    import nbformat

    from iwt_helpers.report import outputs, run_reports
    out, _, _ = built
    s = run_reports(icb="QOP", theme_spec="all", data_dir=str(out), out_dir=tmp_path, jobs=2, progress=False)
    assert s.exit_code == 0, s.failed
    nb = nbformat.read(tmp_path / "QOP" / "governance_metrics.ipynb", as_version=4)
    summary = next(t for t in outputs.collect(nb)["tables"] if t["name"] == "kpi_summary")
    df = pd.DataFrame(summary["table"]["data"], columns=summary["table"]["columns"]).set_index("kpi_id")
    assert not df.at["sickness_absence_nhs", "synthetic"] and df.at["sickness_absence_nhs", "points"] == 12
    assert df.at["time_to_fill_days", "synthetic"]            # not in the published files: demo, labelled
    html = (tmp_path / "QOP" / "data.html").read_text()
    assert "synthetic demonstration figures" in html and "vacancies" in html
