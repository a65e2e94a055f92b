"""Provenance of figures, missing values shown as not available, the whole-system snapshot, general
practice and unpaid carers rates, and dementia need by sex: each against a hand computation."""

import pandas as pd
import pytest

from iwt_helpers.analysis import carers, need, workforce
from iwt_helpers.analysis import primary_care as gp_analysis
from iwt_helpers.present import notebook
from iwt_helpers.present.items import Provenance

pytestmark = pytest.mark.unit


def test_provenance_of_real_and_synthetic_parts_is_mixed_and_says_which_is_which():
    real = Provenance("NHS England", "November 2025", "real")
    fake = Provenance("iwt demo", "September 2024", "synthetic")
    both = Provenance.combine([real, fake])
    assert both.status == "mixed" and both.synthetic
    assert "November 2025" in both.period and "September 2024" in both.period
    assert "real published data (measured): NHS England" in both.detail and "SYNTHETIC" in both.detail
    assert Provenance.combine([real, real]).status == "real"
    with pytest.raises(ValueError, match="provenance status 'maybe'"):
        Provenance("x", "y", "maybe")


def test_missing_values_show_as_not_available_and_suppressed_ones_as_the_marker():
    df = pd.DataFrame({"sector": ["a", "b", "c"], "headcount": [float("nan"), 3.0, 120.0]})
    page, _ = notebook.table_html(df, "t", provenance=Provenance("src", "2025", "real"))
    cells = page.split("<tbody>")[1]
    assert "not available" in cells and "<td>*</td>" in cells and "<td>120</td>" in cells
    assert ">0<" not in cells
    assert "Source: src. Period: 2025. Status: real published data (measured)." in page


def wf_rows():
    rows = []
    for period, sector, fte, hc in (("2024-09-01", "asc_independent", 100.0, 130.0), ("2025-10-01", "nhs_trust", 200.0, 210.0),
                                    ("2025-11-01", "nhs_trust", 210.0, 220.0), ("2024-09-01", "primary_care", 50.0, 60.0)):
        rows.append({"period": pd.Timestamp(period), "icb_code": "QOP", "sector": sector, "staff_group": "care_worker",
                     "registered": False, "headcount": hc, "fte": fte, "source": "s"})
    return pd.DataFrame(rows)


def test_snapshot_takes_each_sector_at_its_own_latest_period_and_gp_from_practice_data():
    gp = pd.DataFrame({"financial_year": ["2024/25", "2024/25", "2023/24"], "icb_code": "QOP",
                       "role": ["gp_qualified", "gp_partner", "gp_qualified"], "staff_group": "doctor",
                       "in_total": [True, False, True], "fte": [40.0, 20.0, 38.0], "headcount": [50.0, 25.0, 48.0],
                       "practices": 3.0, "registered_patients": 1e5, "source": "gp"})
    snap = workforce.snapshot(wf_rows(), gp)
    by = snap.groupby("sector")["fte"].sum()
    assert by.to_dict() == {"asc_independent": 100.0, "nhs_trust": 210.0, "primary_care": 40.0}   # partners not added
    assert set(snap["period_label"]) == {"September 2024", "November 2025", "2024/25, annual mean"}


def test_a_missing_headcount_stays_missing_in_sector_totals():
    wf = wf_rows()
    wf.loc[wf["sector"] == "nhs_trust", "headcount"] = float("nan")
    s = workforce.by_sector(wf, "QOP").set_index("sector")
    assert pd.isna(s.at["nhs_trust", "headcount"]) and pd.isna(s.at["whole_system", "headcount"])
    assert s.at["whole_system", "fte"] == 100 + 210 + 50


def test_gp_fte_per_10k_patients_counts_each_icb_list_once():
    gp = pd.DataFrame({"financial_year": "2024/25", "icb_code": ["QOP", "QOP", "QE1", "QE1"],
                       "role": ["gp_qualified", "nurse"] * 2, "staff_group": ["doctor", "registered_nurse"] * 2,
                       "in_total": True, "fte": [40.0, 20.0, 10.0, 5.0], "headcount": float("nan"), "practices": 1.0,
                       "registered_patients": [100_000.0, 100_000.0, 50_000.0, 50_000.0], "source": "s"})
    t = gp_analysis.per_10k_patients(gp, "QOP").set_index(["area", "role"])["fte_per_10k_patients"]
    assert t[("Greater Manchester", "gp_qualified")] == pytest.approx(4.0)
    assert t[("North West region", "gp_qualified")] == pytest.approx(10 * 1000 * 50 / 150_000)   # QE1 is in the North West
    assert t[("England", "nurse")] == pytest.approx(10 * 1000 * 25 / 150_000)


def test_carers_per_100_residents_by_hours_band():
    uc = pd.DataFrame({"year": 2021, "icb_code": ["QOP"] * 3 + ["QT6"] * 3,
                       "hours_band": ["19h_or_less", "20_49h", "50h_plus"] * 2, "carers": [40.0, 20.0, 30.0, 5.0, 5.0, 10.0],
                       "residents_5plus": [1000.0] * 3 + [200.0] * 3, "source": "census"})
    c = carers.carers_per_100(uc, "QOP").set_index(["area", "hours_band"])["carers_per_100_residents"]
    assert c[("Greater Manchester", "all")] == pytest.approx(9.0)
    assert c[("England", "50h_plus")] == pytest.approx(100 * 40 / 1200)


def test_dementia_need_applies_rates_by_sex_with_their_interval():
    pop = pd.DataFrame({"year": 2024, "icb_code": "QOP", "age_band": ["85_89", "90_plus"], "population": [1000.0, 500.0],
                        "kind": "estimate", "variant": "v", "source": "ons"})
    prev = pd.DataFrame({"condition": "dementia", "condition_label": "Dementia", "age_band": ["85_89", "85_89", "90_plus", "90_plus"],
                         "sex": ["male", "female"] * 2, "prevalence_pct": [10.0, 20.0, 20.0, 40.0],
                         "lower_pct": [5.0, 10.0, 10.0, 30.0], "upper_pct": [15.0, 30.0, 30.0, 50.0], "source": "cfas", "status": "s"})
    shares = pd.DataFrame({"icb_code": "QOP", "age_band": ["85_89", "90_plus"], "female_share": [0.6, 0.7]})
    n = need.need_projection(pop, prev, "QOP", [2024], sex_shares=shares).iloc[0]
    expected = 1000 * (0.4 * 0.10 + 0.6 * 0.20) + 500 * (0.3 * 0.20 + 0.7 * 0.40)
    assert n["people_with_need"] == pytest.approx(expected)
    assert n["people_lower"] == pytest.approx(1000 * (0.4 * 0.05 + 0.6 * 0.10) + 500 * (0.3 * 0.10 + 0.7 * 0.30))
    assert n["people_upper"] > n["people_with_need"] > n["people_lower"]


def test_xlsx_cells_keep_numbers_dates_and_text_and_never_write_a_formula(tmp_path):
    from openpyxl import load_workbook

    from iwt_helpers.present import xlsx
    table = {"name": "t", "caption": "A table", "provenance": {"source": "NHS England", "period": "2025", "status": "real"},
             "table": {"columns": ["What", "When", "Count", "Rate"],
                       "data": [["=HYPERLINK(\"http://x\")", "2024-04-01T00:00:00.000", 1234.0, 5.678],
                                ["+1 evil", "2025-03-01T00:00:00.000", 5.0, None]]}}
    synthetic = {**table, "name": "s", "caption": "Made up", "provenance": {"source": "demo", "period": "2024", "status": "synthetic"}}
    out = xlsx.write_tables(tmp_path / "t.xlsx", "Test ICB (QOP)", {"data": {"tables": [table, synthetic], "caveats": []}})
    wb = load_workbook(out)
    ws = wb["t"]
    assert ws.oddFooter.left.text == "Status: real published data (measured). Period: 2025. Source: NHS England."
    assert ws.freeze_panes == "A2" and [c.value for c in ws[1]] == ["What", "When", "Count", "Rate"]
    assert list(ws.tables.values())[0].ref == "A1:D3" and ws.print_title_rows == "$1:$1"
    assert ws["A2"].data_type == "s" and ws["A2"].value.startswith("=HYPERLINK")      # text, not a formula
    assert ws["B2"].is_date and ws["B2"].number_format == "mmm yyyy"
    assert ws["C2"].value == 1234 and ws["C2"].number_format == "#,##0" and ws["D2"].number_format == "#,##0.00"
    contents = {r[0]: r for r in wb["contents"].iter_rows(min_row=2, values_only=True)}
    assert contents["s"][5].startswith("SYNTHETIC demonstration data") and contents["t"][2] == "A table"
    assert "wholly or partly in 1 of 2 tables" in " ".join(str(c.value) for c in wb["notes"]["B"])
    import pandas as pd
    back = pd.read_excel(out, sheet_name=None)
    assert list(back["t"].columns) == ["What", "When", "Count", "Rate"] and len(back["t"]) == 2


def test_vacancies_counted_in_fte_and_in_posts_never_share_a_column():
    import matplotlib
    matplotlib.use("Agg")
    from iwt_helpers.data.datastore import open_dataset
    from iwt_helpers.present.items import Table
    from iwt_helpers.themes import data as data_theme
    from iwt_helpers.themes.params import ReportParams
    ctx = data_theme.DataContext.load(open_dataset(None), ReportParams.parse(icb_code="QOP"))
    table = next(i for i in data_theme.pressure_section(ctx)("QOP") if isinstance(i, Table) and i.key == "vacancy_turnover")
    df = table.df.set_index("sector")
    asc = [s for s in df.index if s.startswith("asc_")]
    assert (df.loc[asc, "vacancies_fte"] == "").all() and (df.loc[asc, "vacancies_posts"] != "").all()
    assert df.at["nhs_trust", "vacancies_posts"] == "" and df.at["nhs_trust", "vacancies_fte"] != ""
    assert "vacancies" not in table.columns and "filled_posts" not in table.columns


def test_every_key_table_name_is_a_whole_excel_sheet_name():
    import re
    from pathlib import Path
    keys = set()
    for f in Path("iwt_helpers/themes").glob("*.py"):
        keys |= set(re.findall(r'key="([a-z0-9_]+)"', f.read_text()))
        keys |= set(re.findall(r'key_table\("([a-z0-9_]+)"', f.read_text()))
    assert len(keys) > 40
    too_long = sorted(k for k in keys if len(k) > 31)
    assert not too_long, too_long


def test_xlsx_text_columns_of_numbers_or_months_are_typed_but_codes_stay_text(tmp_path):
    from openpyxl import load_workbook

    from iwt_helpers.present import xlsx
    table = {"name": "r", "caption": "Scores", "table": {"columns": ["Score", "From", "ODS code"],
                                                         "data": [["3", "2024-04", "001"], ["4", "2025-03", "002"]]}}
    wb = load_workbook(xlsx.write_tables(tmp_path / "t.xlsx", "QOP", {"readiness": {"tables": [table]}},
                                         {"generated": "2026-12-06T09:00:00+00:00", "version": "1.2", "commit": "abc1234"}))
    ws = wb["r"]
    assert ws["A2"].value == 3 and ws["B2"].is_date and ws["C2"].value == "001"
    notes = {r[0]: r[1] for r in wb["notes"].iter_rows(min_row=2, values_only=True)}
    assert notes["Git commit"] == "abc1234" and notes["iwt version"] == "1.2"
    assert wb.properties.created.year == 2026 and wb.properties.modified == wb.properties.created


def test_a_status_says_what_a_figure_is_measured_projected_modelled_or_synthetic():
    from iwt_helpers.present.items import Provenance
    from iwt_helpers.present.provenance import provenance_of
    real, proj = Provenance("a", "2025", "real"), Provenance("b", "2030", "projection")
    model, syn = Provenance("c", "2030", "modelled"), Provenance("d", "2024", "synthetic")
    assert Provenance.combine([real, proj]).status == "projection"          # as weak as its weakest part
    assert Provenance.combine([real, proj, model]).status == "modelled"
    assert Provenance.combine([proj, syn]).status == "mixed" and Provenance.combine([proj, syn]).stamp == "mixed"
    assert not proj.synthetic and not model.synthetic and proj.stamp is False
    rows = pd.DataFrame({"kind": ["projection", "projection"], "source": "ONS", "year": [2030, 2031], "synthetic": False})
    assert provenance_of(rows).status == "projection"
    assert provenance_of(rows.assign(kind=["estimate", "projection"])).status == "real"
