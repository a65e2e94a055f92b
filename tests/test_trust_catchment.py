"""NHS trusts that serve several ICBs: the apportioning rule on small made-up tables, the committed
catchment table, and its effect on per-head figures on the shared real data."""

import pandas as pd
import pytest

from iwt_helpers import paths
from iwt_helpers.analysis import trust_catchment as tc
from iwt_helpers.data import trust_catchment as table

# Two host ICBs: QOP hosts an acute trust (80% of its admissions from QOP), an ambulance trust and a
# mental health trust; QE1 hosts one acute trust whose admissions are mostly from QYG.
ORGS = pd.DataFrame({"org_code": ["A1", "AMB", "MH", "B1"], "org_name": ["Acute", "Ambulance", "Mental health", "Other acute"],
                     "host_icb_code": ["QOP", "QOP", "QOP", "QE1"], "fte": [600.0, 300.0, 100.0, 200.0]})
CATCHMENT = pd.DataFrame({
    "org_code": ["A1", "A1", "AMB", "AMB", "AMB", "B1", "B1"],
    "kind": ["acute_specialist"] * 2 + ["ambulance"] * 3 + ["acute_specialist"] * 2,
    "icb_code": ["QOP", "QE1", "QOP", "QE1", "QYG", "QE1", "QYG"],
    "share": [0.8, 0.2, 0.4, 0.2, 0.4, 0.3, 0.7]})


def _shares(rule):
    return tc.icb_attribution(tc.organisation_weights(ORGS, CATCHMENT, rule)).set_index(["host_icb_code", "icb_code"])["share"]


@pytest.mark.unit
def test_apportion_splits_each_trust_by_its_catchment_and_keeps_mental_health_at_host():
    s = _shares("apportion")
    # QOP's 1,000 FTE: acute 600 x 0.8 + ambulance 300 x 0.4 + mental health 100 stay; the rest leaves.
    assert s[("QOP", "QOP")] == pytest.approx((600 * 0.8 + 300 * 0.4 + 100) / 1000)
    assert s[("QOP", "QE1")] == pytest.approx((600 * 0.2 + 300 * 0.2) / 1000)
    assert s[("QOP", "QYG")] == pytest.approx(300 * 0.4 / 1000)
    assert s[("QE1", "QYG")] == pytest.approx(0.7)


@pytest.mark.unit
def test_apportion_and_host_conserve_each_host_icbs_staff():
    for rule in ("apportion", "host"):
        assert _shares(rule).groupby(level=0).sum().to_dict() == pytest.approx({"QOP": 1.0, "QE1": 1.0})


@pytest.mark.unit
def test_shares_that_do_not_add_to_one_are_rescaled_so_no_staff_are_lost():
    c = CATCHMENT.assign(share=CATCHMENT["share"] * 0.999)
    s = tc.icb_attribution(tc.organisation_weights(ORGS, c, "apportion"))
    assert s.groupby("host_icb_code")["share"].sum().to_dict() == pytest.approx({"QOP": 1.0, "QE1": 1.0})


@pytest.mark.unit
def test_host_rule_keeps_every_trust_in_its_own_icb():
    s = _shares("host")
    assert set(s.index) == {("QOP", "QOP"), ("QE1", "QE1")}


@pytest.mark.unit
def test_exclude_leaves_out_ambulance_trusts_and_trusts_mostly_serving_other_icbs():
    w = tc.organisation_weights(ORGS, CATCHMENT, "exclude").set_index("org_code")["weight"]
    assert w["AMB"] == 0 and w["B1"] == 0                      # B1: 30% of admissions from its host, under half
    assert w["A1"] == 1 and w["MH"] == 1
    s = _shares("exclude")
    assert s[("QOP", "QOP")] == pytest.approx(0.7)           # 300 of 1,000 FTE left out


@pytest.mark.unit
def test_apportion_moves_workforce_rows_and_conserves_the_total():
    wf = pd.DataFrame({"icb_code": ["QOP", "QOP", "QE1", "QOP"], "sector": ["nhs_trust", "nhs_trust", "nhs_trust", "adult_social_care"],
                       "staff_group": ["nurse", "other", "nurse", "care_worker"], "period": pd.Timestamp("2025-11-01"),
                       "headcount": [1100.0, 1000.0, 220.0, 50.0], "fte": [1000.0, 1000.0, 200.0, 40.0]})
    out = tc.apportion(wf, tc.icb_attribution(tc.organisation_weights(ORGS, CATCHMENT, "apportion")))
    nhs = out[out["sector"] == "nhs_trust"].groupby("icb_code")["fte"].sum()
    assert nhs.sum() == pytest.approx(2200.0)
    assert nhs["QE1"] == pytest.approx(2000 * 0.18 + 200 * 0.3)
    assert nhs["QYG"] == pytest.approx(2000 * 0.12 + 200 * 0.7)
    assert out.loc[out["sector"] == "adult_social_care", "fte"].tolist() == [40.0]   # other sectors untouched


@pytest.mark.unit
def test_without_an_organisation_table_trusts_stay_at_host_and_the_text_says_why():
    icb_totals = pd.DataFrame({"period": [pd.Timestamp("2025-03-01")], "icb_code": ["QOP"], "headcount": [1.0], "fte": [1.0]})
    a = tc.attribute(icb_totals, CATCHMENT, "apportion")
    assert (a.applied, a.shares) == ("host", None)
    assert "needs the NHS Workforce Statistics file by organisation" in a.text


@pytest.mark.unit
def test_organisations_for_an_icb_lists_its_own_trusts_and_those_attributed_from_elsewhere():
    t = tc.organisations_for(tc.organisation_weights(ORGS, CATCHMENT, "apportion"), "QE1").set_index("org_code")
    assert t.loc["B1", "hosted_here"] and t.loc["B1", "share_to_icb_pct"] == pytest.approx(30)
    assert not t.loc["AMB", "hosted_here"] and t.loc["AMB", "fte_to_icb"] == pytest.approx(60)
    assert "MH" not in t.index                                  # stays in QOP, nothing of it in QE1


@pytest.mark.unit
def test_an_unknown_rule_is_refused_by_the_function_and_the_report_parameters():
    from iwt_helpers.themes.params import ParameterError, ReportParams
    with pytest.raises(ValueError, match="apportion, exclude, host"):
        tc.organisation_weights(ORGS, CATCHMENT, "share")
    with pytest.raises(ParameterError, match="regional_trusts"):
        ReportParams.parse(icb_code="QOP", regional_trusts="share")
    assert ReportParams.parse(icb_code="QOP").regional_trusts == tc.DEFAULT_RULE == "apportion"


@pytest.mark.unit
def test_committed_ambulance_rows_cover_every_icb_once_over_the_ten_trusts():
    from iwt_helpers.data import geography
    amb = table.catchment().query("kind == 'ambulance'")
    assert amb["org_code"].nunique() == 10
    assert amb.groupby("org_code")["share"].sum().to_numpy() == pytest.approx([1.0] * 10, abs=1e-5)
    assert set(amb["icb_code"]) == set(geography.icb_codes())
    nwas = amb[amb["org_code"] == "RX7"].set_index("icb_code")["share"]
    assert set(nwas.index) == {"QYG", "QOP", "QE1", "QHM"}       # North Cumbria only of North East and North Cumbria
    assert nwas["QHM"] < 0.1


@pytest.mark.unit
def test_an_ambulance_part_of_an_icb_is_the_population_of_the_places_or_authorities_named():
    parts = pd.DataFrame({"icb_code": ["QHM", "QHM", "QHM"], "sicb_ods": ["01H", "01H", "13T"],
                          "lad_code": ["E06000063", "E06000064", "E08000021"], "population": [250.0, 50.0, 700.0]})
    assert table._part_population({"icb": "QHM", "places": ["01H"]}, parts) == 300
    assert table._part_population({"icb": "QHM", "lads": ["E06000064"]}, parts) == 50
    assert table._part_population({"icb": "QHM", "except_lads": ["E06000064"]}, parts) == 950
    with pytest.raises(ValueError, match="not places of the ICB"):
        table._part_population({"icb": "QHM", "places": ["99X"]}, parts)


@pytest.mark.integration
@pytest.mark.realdata
def test_catchment_table_rebuilds_identically_from_the_shared_files(real_data, tmp_path):
    out = table.write_reference(real_data, tmp_path)
    assert out.read_bytes() == (paths.REFERENCE / table.CATCHMENT_FILE).read_bytes()


@pytest.fixture(scope="module")
def real_context(built_real):
    from iwt_helpers.analysis import nhs_trend
    from iwt_helpers.data.datastore import open_dataset
    from iwt_helpers.themes.data import DataContext
    from iwt_helpers.themes.params import ReportParams
    folder = built_real[0]
    ds = open_dataset(folder)
    ctx = DataContext.load(ds, ReportParams.parse(icb_code="QOP", data_dir=str(folder)))
    return ctx, nhs_trend.monthly_table(ds)


def _nhs_per_1000(ctx, shares):
    from iwt_helpers.analysis import workforce
    snap = ctx.snapshot
    nhs = snap[snap["sector"] == "nhs_trust"]
    t = workforce.area_totals(tc.apportion(nhs, shares), ctx.t["population"]).set_index("icb_code")
    return t["fte_health"] / t["population"] * 1000, t["fte_health"]


@pytest.mark.integration
@pytest.mark.realdata
def test_real_apportioning_conserves_england_and_moves_staff_from_greater_manchester_to_lancashire(real_context):
    ctx, monthly = real_context
    a = tc.attribute(monthly, table.catchment(), "apportion")
    assert a.applied == "apportion" and a.period == pd.Timestamp("2025-03-01")
    host_rate, host_fte = _nhs_per_1000(ctx, None)
    rate, fte = _nhs_per_1000(ctx, a.shares)
    assert fte.sum() == pytest.approx(host_fte.sum(), rel=1e-9)          # England's total conserved
    assert rate["QOP"] < host_rate["QOP"] - 1                           # Greater Manchester falls
    assert rate["QE1"] > host_rate["QE1"] + 1                           # Lancashire and South Cumbria rises


@pytest.mark.integration
@pytest.mark.realdata
def test_real_north_west_ambulance_is_split_across_the_icbs_it_serves_and_the_christie_stays_mostly_in_manchester(real_context):
    _, monthly = real_context
    w = tc.attribute(monthly, table.catchment(), "apportion").weights
    nwas = w[w["org_code"] == "RX7"].set_index("icb_code")["weight"]
    assert set(nwas.index) == {"QYG", "QOP", "QE1", "QHM"} and nwas.sum() == pytest.approx(1)
    assert 0.3 < nwas["QOP"] < 0.5 and nwas["QE1"] > 0.15
    christie = w[w["org_code"] == "RBV"].set_index("icb_code")["weight"]
    assert christie["QOP"] > 0.8 and christie.idxmax() == "QOP"


@pytest.mark.integration
@pytest.mark.realdata
def test_real_per_head_table_names_the_rule_and_uses_apportioned_figures(real_context):
    from iwt_helpers.present.items import Table
    from iwt_helpers.themes import data as data_theme
    ctx, _ = real_context
    items = data_theme.whole_system_section(ctx)("QOP")
    per = next(i for i in items if isinstance(i, Table) and i.key == "per_capita")
    assert "NHS trusts apportioned to the ICBs they serve" in per.caption
    assert "organisation shares March 2025" in per.provenance.period
    orgs = next(i for i in data_theme.nhs_organisations_section(ctx)("QOP") if isinstance(i, Table))
    assert {"RX7", "RBV"} <= set(orgs.df.loc[orgs.df["hosted_here"], "org_code"])
