"""The data theme report, produced by the report command for ICBs of different sizes."""

import pandas as pd
import pytest

from iwt_helpers import paths
from iwt_helpers.report import outputs, run_reports

pytestmark = pytest.mark.e2e
# Smallest, a middle-sized and the largest ICB by population.
ICBS = ("QOC", "QT1", "QHM")
SECTIONS = {
    "What this report stands on": ["coverage_matrix", "coverage_context"],
    "1. Whole-system workforce": ["workforce_by_sector", "workforce_by_group", "registered", "ownership", "per_capita"],
    "2. Places within the system": [],
    "3. General practice": ["gp_per_10k"],
    "4. Unpaid carers": ["unpaid_carers", "carers_and_paid_staff"],
    "5. Pressure points": ["vacancy_turnover", "nhs_staff_groups", "pay_gap", "cross_sector_flows", "sickness_agency"],
    "6. Retirement risk": ["age_profile"],
    "7. Who the workforce is": ["ethnicity"],
    "8. Population need": ["older_people", "need"],
    "9. Benchmarking against all 42 ICBs": ["funnel_position"],
    "10. Data quality and bias": ["coverage", "ethnicity_unknown"],
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    out = tmp_path_factory.mktemp("data-theme")
    summary = run_reports(icb=",".join(ICBS), theme_spec="data", out_dir=out, jobs=2, progress=False)
    assert summary.exit_code == 0, summary.failed
    found = {}
    for icb in ICBS:
        nb = outputs.read_notebook(out / icb / "data.ipynb")
        got = outputs.collect(nb)
        found[icb] = {t["name"]: pd.DataFrame(t["table"]["data"], columns=t["table"]["columns"]) for t in got["tables"]}
        found[icb]["_html"] = (out / icb / "data.html").read_text()
        found[icb]["_headlines"] = {h["name"]: h for h in got["headlines"]}
    return found


@pytest.mark.parametrize("icb", ICBS)
def test_every_section_is_present_with_non_empty_key_tables(reports, icb):
    for heading, keys in SECTIONS.items():
        assert heading in reports[icb]["_html"], heading
        for key in keys:
            assert key in reports[icb], f"{icb}: key table {key} missing"
            assert len(reports[icb][key]) > 0, f"{icb}: key table {key} is empty"


@pytest.mark.parametrize("icb", ICBS)
def test_sector_totals_add_up_to_the_whole_system(reports, icb):
    t = reports[icb]["workforce_by_sector"]
    whole = t[t["Sector"] == "Whole system"].iloc[0]
    parts = t[t["Sector"] != "Whole system"]
    assert len(parts) == 5
    assert parts["FTE"].sum() == pytest.approx(whole["FTE"], rel=1e-9)
    assert parts["Headcount"].sum() == pytest.approx(whole["Headcount"], rel=1e-9)


@pytest.mark.parametrize("icb", ICBS)
def test_group_table_adds_up_to_the_sector_table(reports, icb):
    by_group = reports[icb]["workforce_by_group"].groupby("Sector")["FTE"].sum()
    by_sector = reports[icb]["workforce_by_sector"].set_index("Sector")["FTE"].drop("Whole system")
    pd.testing.assert_series_equal(by_group.sort_index(), by_sector.sort_index(), check_names=False)


def test_larger_icbs_have_larger_workforces(reports):
    totals = [reports[i]["workforce_by_sector"].set_index("Sector").at["Whole system", "FTE"] for i in ICBS]
    assert totals[0] < totals[1] < totals[2]


@pytest.mark.parametrize("icb", ICBS)
def test_population_need_covers_5_10_and_15_years(reports, icb):
    need = reports[icb]["need"]
    years = sorted(need["Year"].unique())
    assert [y - years[0] for y in years] == [0, 5, 10, 15]
    assert need["Source of rates"].str.len().gt(0).all()


@pytest.mark.parametrize("icb", ICBS)
def test_headlines_for_the_index_page(reports, icb):
    h = reports[icb]["_headlines"]
    assert "Whole-system workforce (synthetic demonstration data)" in h
    assert "Social care vacancy rate" in h and "Workforce aged 55+" in h
    for name in h:                         # every headline carries its own provenance
        assert h[name]["provenance"]["status"] in ("real", "projection", "modelled", "synthetic", "mixed"), name
    growth = next(v for k, v in h.items() if k.startswith("Growth in people aged 85+"))
    assert growth["provenance"]["status"] == "projection"          # a projection, not a measurement


@pytest.mark.parametrize("icb", ICBS)
def test_coverage_matrix_says_the_demo_workforce_is_synthetic_and_census_figures_real(reports, icb):
    m = reports[icb]["coverage_matrix"].set_index("Sector")
    assert m["Staff in post"].str.startswith("synthetic (").all()
    ctx = reports[icb]["coverage_context"].set_index("Figure")["Status (period)"]
    assert ctx["Unpaid carers"] == "real (2021)" and ctx["Residents' ethnicity"] == "real (2021)"


@pytest.mark.parametrize("icb", ICBS)
def test_unpaid_carers_per_100_are_the_census_counts_of_the_icb(reports, icb):
    ref = pd.read_csv(paths.reference("unpaid_care.csv"))
    mine = ref[ref["icb_code"] == icb]
    expected = 100 * mine["carers"].sum() / mine["residents_5plus"].iloc[0]
    t = reports[icb]["unpaid_carers"].set_index("Unpaid care a week")
    first = [c for c in t.columns if c.endswith("(per 100 residents 5+)")][0]
    assert t.loc[[i for i in t.index if i != "All unpaid carers"], first].sum() == pytest.approx(expected, abs=0.02)
    assert t.at["All unpaid carers", first] == pytest.approx(expected, abs=0.01)


def test_reports_are_labelled_synthetic_and_state_caveats(reports):
    html = reports["QOC"]["_html"]
    assert "Synthetic demonstration data" in html
    assert "Sources and caveats" in html and "filled posts" in html


@pytest.mark.parametrize("icb", ICBS)
def test_places_section_shows_each_place_beside_the_icb_and_england_where_there_are_several(reports, icb):
    from iwt_helpers.data import places
    mine = places.places_of(icb)
    if len(mine) < 2:
        assert "places" not in reports[icb] and "has one sub-ICB location" in reports[icb]["_html"]
        return
    t = reports[icb]["places"]
    assert len(t) == len(mine) + 2 and t["Place"].iloc[-1] == "England"
    assert set(t["ODS code"].iloc[:-2]) == set(mine["sicb_ods"])
    pop = [c for c in t.columns if c.startswith("Population")][0]
    assert t[pop].iloc[:-2].sum() == pytest.approx(t[pop].iloc[-2], rel=1e-3)      # places add up to the ICB


@pytest.mark.parametrize("icb_rate, england_rate, words", [
    (20.0, 18.0, ", though fewer than its region (East of England 21.3 against 20.0)"),    # more than England
    (15.8, 24.7, ", and fewer than its region (East of England 21.3 against 15.8)"),       # fewer than both
    (22.0, 18.0, ""),                                                                      # more than its region
])
def test_the_per_head_title_sets_the_region_against_england_in_the_right_words(icb_rate, england_rate, words):
    from iwt_helpers.themes.data import _region_above
    comp = pd.DataFrame({"area": ["Somewhere", "East of England region", "England"], "measure": "whole system",
                         "fte_per_1000_population": [icb_rate, 21.3, england_rate]})
    assert _region_above(comp, icb_rate > england_rate) == words
