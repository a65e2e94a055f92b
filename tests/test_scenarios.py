"""The scenario model: its file is checked, its people are conserved, its ranges are ordered, its
random numbers are reproducible, and adult social care demand follows the population aged 65+."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from iwt_helpers import paths
from iwt_helpers.analysis import scenarios as sa
from iwt_helpers.analysis.scenarios import config, inputs, model, summary
from iwt_helpers.data.population import BAND_EDGES, for_year

FILE = paths.reference("scenarios.yaml")


def _raw() -> dict:
    return yaml.safe_load(FILE.read_text())


def _write(tmp_path: Path, raw: dict) -> Path:
    p = tmp_path / "scenarios.yaml"
    p.write_text(yaml.safe_dump(raw, sort_keys=False))
    return p


# --------------------------------------------------------------------------- the scenario file

@pytest.mark.unit
def test_the_shipped_file_has_the_scenarios_the_plan_needs_and_every_range_has_a_source():
    f = config.load()
    assert {"baseline", "pay_parity", "retention", "new_roles", "hospital_to_home", "combined"} <= set(f.scenarios)
    assert f.get("baseline").levers == {}
    assert set(f.get("combined").levers) == {"pay_parity", "retention", "new_roles", "hospital_to_home", "productivity"}
    for sc in f.scenarios.values():
        for row in config.assumptions_table(sc):
            assert len(row["source"]) > 20, row["key"]
            if row["low"] is not None and row["key"] not in config.METHOD_POINTS:
                assert row["low"] < row["high"], f"{sc.name}: {row['key']} is a bare point"
    # the one point by design: the baseline keeps Skills for Care's method (social care need grows with the 65+ alone)
    r = f.get("baseline").assumptions["need_growth_social_care"]
    assert (r.low, r.high) == (0.0, 0.0)


def _break(raw: dict, scenario: str | None, path: list, value) -> dict:
    raw = copy.deepcopy(raw)
    node = raw["scenarios"][scenario] if scenario else raw
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return raw


@pytest.mark.unit
@pytest.mark.parametrize("scenario, path, value, key, problem", [
    ("retention", ["levers", "retention", "leaving_reduction", "range"], [0.3, 0.1], "levers.retention.leaving_reduction",
     "low 0.3 is above high 0.1"),
    ("pay_parity", ["levers", "pay_parity", "leaving_reduction", "range"], [0.1, 1.5], "levers.pay_parity.leaving_reduction",
     "a rate must be from 0 to 1"),
    ("retention", ["levers", "retention", "staff_groups"], ["care_worker", "porters"], "levers.retention.staff_groups",
     "unknown staff group 'porters'"),
    ("productivity", ["levers", "productivity", "sectors"], ["nhs_trust", "hospices"], "levers.productivity.sectors",
     "unknown sector 'hospices'"),
    ("new_roles", ["levers", "new_roles", "to_staff_group"], "navigators", "levers.new_roles.to_staff_group",
     "unknown staff group 'navigators'"),
    ("baseline", ["assumptions"], {"nhs_age_weighting": {"kind": "rate", "range": [0.5, 1.2], "source": "x"}},
     "assumptions.nhs_age_weighting", "a rate must be from 0 to 1"),
    ("combined", ["combine"], ["retention", "tea_breaks"], "combine", "unknown scenario 'tea_breaks'"),
    ("retention", ["levers", "retention", "coffee"], {"kind": "rate", "range": [0, 1], "source": "x"},
     "levers.retention.coffee", "unknown setting"),
])
def test_a_bad_scenario_file_is_refused_naming_the_file_the_scenario_and_the_key(tmp_path, scenario, path, value, key, problem):
    p = _write(tmp_path, _break(_raw(), scenario, path, value))
    with pytest.raises(config.ScenarioConfigError) as err:
        config.load(p)
    msg = str(err.value)
    assert str(p) in msg and f"scenario '{scenario}'" in msg and f"key '{key}'" in msg and problem in msg, msg


@pytest.mark.unit
def test_a_top_level_assumption_out_of_range_and_a_missing_source_are_refused(tmp_path):
    raw = _raw()
    raw["assumptions"]["cross_sector_scale"]["range"] = [1.2, 0.8]
    with pytest.raises(config.ScenarioConfigError, match=r"key 'assumptions.cross_sector_scale': low 1.2 is above high 0.8"):
        config.load(_write(tmp_path, raw))
    raw = _raw()
    raw["assumptions"]["pay_gap_drift"]["source"] = ""
    with pytest.raises(config.ScenarioConfigError, match="needs its source or reasoning"):
        config.load(_write(tmp_path, raw))


@pytest.mark.unit
def test_an_unknown_scenario_name_is_refused_with_the_names_in_the_file():
    f = config.load()
    with pytest.raises(config.ScenarioConfigError, match=r"scenarios.yaml: unknown scenario 'utopia'; scenarios in the file: baseline"):
        f.get("utopia")
    with pytest.raises(config.ScenarioConfigError, match="unknown scenario 'utopia'"):
        f.names("baseline,utopia")
    assert f.names("all") == list(f.scenarios)


@pytest.mark.unit
def test_same_seed_same_draws_another_seed_other_draws_and_scenarios_share_their_common_draws():
    f = config.load()
    a = config.draws(f.get("baseline"), 500, 7)
    b = config.draws(f.get("baseline"), 500, 7)
    c = config.draws(f.get("baseline"), 500, 8)
    comb = config.draws(f.get("combined"), 500, 7)
    for k in a:
        assert np.array_equal(a[k], b[k])
        assert np.ptp(a[k]) == 0 or not np.array_equal(a[k], c[k])      # a point by design draws itself
        assert np.array_equal(a[k], comb[k]), f"{k}: a lever scenario must reuse the baseline's draws"
    r = f.get("baseline").assumptions["leaving_rate_scale"]
    assert r.low <= a["leaving_rate_scale"].min() and a["leaving_rate_scale"].max() <= r.high


@pytest.mark.unit
def test_centres_move_a_range_keeping_its_width_within_its_limits():
    sc = config.load().get("baseline")
    d = config.draws(sc, 2000, 1, centres={"leaving_rate_scale": 1.3, "nhs_age_weighting": 1.0})
    assert 1.2 <= d["leaving_rate_scale"].min() and d["leaving_rate_scale"].max() <= 1.4
    assert d["leaving_rate_scale"].max() - d["leaving_rate_scale"].min() > 0.19
    assert 0.9 <= d["nhs_age_weighting"].min() and d["nhs_age_weighting"].max() <= 1.0     # a rate stays at most 1
    with pytest.raises(ValueError, match="unknown key"):
        config.draws(sc, 10, 1, centres={"nonsense": 1})


# --------------------------------------------------------------------------- the model on small inputs

def tiny(leave=0.1, join=0.1, move=0.05, pop_growth=0.0, years=10, posts_per_filled=1.1) -> inputs.Inputs:
    """Two ICBs, each with NHS support staff and care workers (who move to each other)."""
    rows = []
    for icb in ("QOP", "QE1"):
        for sector, group, fte in (("nhs_trust", "support_to_clinical", 1000.0), ("asc_independent", "care_worker", 2000.0),
                                   ("primary_care", "doctor", 300.0)):
            rows.append({"icb_code": icb, "sector": sector, "staff_group": group, "fte0": fte,
                         "demand0": fte * posts_per_filled, "posts_per_filled": posts_per_filled,
                         "leave_rate": leave, "join_rate": join, "move_share": move if group != "doctor" else 0.0,
                         "family": "social care" if sector.startswith("asc") else "health",
                         "under_25": 0.1, "25_34": 0.2, "35_44": 0.2, "45_54": 0.2, "55_64": 0.2, "65_plus": 0.1})
    cells = pd.DataFrame(rows)
    cells["target"] = [1, 0, -1, 4, 3, -1]
    grow = (1 + pop_growth) ** np.arange(years + 1)
    pop = np.vstack([grow * 1e6, grow * 2e6])
    return inputs.Inputs(2024, years, cells, ["QOP", "QE1"], pop, pop * 0.2, pop * 1.5, np.array([2.0, 2.0]), "test curve")


@pytest.mark.unit
def test_with_no_leavers_no_joiners_a_flat_population_and_no_need_beyond_it_the_projection_is_flat():
    inp = tiny(leave=0.0, join=0.0, move=0.0, pop_growth=0.0)
    sc = config.load().get("baseline")
    d = config.draws(sc, 50, 3)
    d["need_growth_health"][:] = 0.0
    run = model.simulate(inp, sc, d)
    assert np.allclose(run.supply, run.supply[:, :, :1], rtol=0, atol=1e-3)
    assert np.allclose(run.demand, run.demand[:, :, :1], rtol=0, atol=1e-3)
    assert np.allclose(run.supply[0, :, -1], inp.cells["fte0"], atol=1e-3)
    assert np.allclose(run.stock_by_age.sum(axis=2), run.supply[:, :, -1], rtol=1e-5)


@pytest.mark.unit
@pytest.mark.parametrize("name", ["baseline", "combined"])
def test_people_are_conserved_every_flow_leaves_one_stock_and_enters_another_or_the_outside(name):
    inp = tiny(leave=0.2, join=0.25, move=0.1, pop_growth=0.02)
    run = sa.run(inp, config.load().get(name), n_runs=200, seed=11)
    f = run.flows
    change = run.supply[:, :, -1].astype(float) - run.supply[:, :, 0]
    accounted = f["joiners"] + f["joiners_new_roles"] + f["moved_in"] - (f["leavers_base"] - f["leaving_avoided"])
    assert np.allclose(change, accounted, rtol=1e-6, atol=1e-2)
    # every mover lands in a stock: the movers out of all cells are the movers in to all cells
    assert np.allclose(f["moved_out"].sum(axis=1), f["moved_in"].sum(axis=1), rtol=1e-9)
    assert f["moved_out"].sum() > 0
    # the age-band stocks add up to the totals the model reports
    assert np.allclose(run.stock_by_age.sum(axis=2), run.supply[:, :, -1], rtol=1e-4)


@pytest.mark.unit
def test_the_waterfall_adds_up_to_the_gap_at_the_horizon():
    inp = tiny(leave=0.2, join=0.15, move=0.1, pop_growth=0.02)
    run = sa.run(inp, config.load().get("combined"), n_runs=100, seed=5)
    w = summary.waterfall(run, "QOP")
    parts = w.set_index("part")["fte"]
    assert parts.drop("horizon_gap").sum() == pytest.approx(parts["horizon_gap"], rel=1e-6, abs=0.01)
    assert parts["demand_population"] > 0 and parts["leaving_avoided"] < 0


@pytest.mark.unit
def test_joiners_stop_at_the_posts_open_so_a_generous_pipeline_leaves_only_the_base_vacancy_rate():
    inp = tiny(leave=0.1, join=0.5, move=0.0, pop_growth=0.01, posts_per_filled=1.25)
    run = sa.run(inp, config.load().get("baseline"), n_runs=20, seed=1)
    share_vacant = (run.demand - run.supply) / run.demand
    assert np.allclose(share_vacant[:, :, 1:], 0.2, atol=1e-4)          # 1 - 1/1.25
    assert (run.flows["joiners_not_needed"] > 0).all()


@pytest.mark.unit
def test_levers_act_where_they_say_retention_cuts_leaving_pay_parity_cuts_moves_to_the_nhs():
    inp = tiny(leave=0.3, join=0.1, move=0.2)
    f = config.load()
    base = sa.run(inp, f.get("baseline"), 300, 9)
    ret = sa.run(inp, f.get("retention"), 300, 9)
    par = sa.run(inp, f.get("pay_parity"), 300, 9)
    care = (inp.cells["staff_group"] == "care_worker").to_numpy()
    assert (ret.flows["leaving_avoided"].sum(axis=1) > 0).all() and base.flows["leaving_avoided"].sum() == 0
    assert (par.flows["moved_out"][:, care].sum(axis=1) < base.flows["moved_out"][:, care].sum(axis=1)).all()
    assert (par.flows["leaving_avoided"][:, ~care] == 0).all()


@pytest.mark.unit
def test_hospital_to_home_moves_demand_from_nhs_trusts_to_social_care_and_new_roles_to_support_staff():
    inp = tiny()
    f = config.load()
    base = sa.run(inp, f.get("baseline"), 100, 2)
    h2h = sa.run(inp, f.get("hospital_to_home"), 100, 2)
    nhs = (inp.cells["sector"] == "nhs_trust").to_numpy()
    asc = (inp.cells["sector"] == "asc_independent").to_numpy()
    assert (h2h.demand[:, nhs, -1] < base.demand[:, nhs, -1]).all()
    assert (h2h.demand[:, asc, -1] > base.demand[:, asc, -1]).all()
    assert np.allclose(h2h.demand[:, :, 0], base.demand[:, :, 0])


# --------------------------------------------------------------------------- on the demo data

@pytest.fixture(scope="module")
def demo():
    from iwt_helpers.data.datastore import open_dataset
    from iwt_helpers.themes import data as data_theme
    from iwt_helpers.themes.params import ReportParams
    ctx = data_theme.DataContext.load(open_dataset(None), ReportParams.parse(icb_code="QOP"))
    f = config.load()
    inp = inputs.build(ctx.t, ctx.snapshot, f.horizon_years, ensure=f.receiving_cells())
    return ctx, f, inp


@pytest.mark.integration
def test_the_base_year_is_the_data_themes_snapshot(demo):
    ctx, _, inp = demo
    snap = ctx.snapshot.groupby("sector")["fte"].sum()
    assert inp.cells.groupby("sector")["fte0"].sum().to_dict() == pytest.approx(snap.to_dict(), rel=1e-9)
    assert inp.base_year == 2024 and inp.horizon == 15
    assert set(inp.icbs) == set(inp.cells["icb_code"]) and len(inp.icbs) == 42


@pytest.mark.integration
def test_in_the_baseline_adult_social_care_demand_grows_exactly_as_the_population_aged_65_plus(demo):
    ctx, f, inp = demo
    run = sa.run(inp, f.get("baseline"), n_runs=100, seed=4)
    pop = ctx.t["population"]
    lower = {b: lo for (lo, _), b in zip(BAND_EDGES, sorted(pop["age_band"].unique(), key=lambda b: int(b.split("_")[0])))}
    old = {y: for_year(pop, y).assign(lo=lambda d: d["age_band"].map(lower)).query("lo >= 65").groupby("icb_code")["population"].sum()
           for y in inp.years}
    asc = inp.cells["family"].eq("social care").to_numpy()
    for i in np.flatnonzero(asc)[::7]:
        icb = inp.cells.at[i, "icb_code"]
        expected = np.array([old[y][icb] / old[inp.base_year][icb] for y in inp.years])
        for r in (0, 57, 99):
            assert np.allclose(run.demand[r, i, :] / run.demand[r, i, 0], expected, rtol=1e-5)


@pytest.mark.integration
def test_percentiles_are_ordered_everywhere_and_totals_are_totals_of_runs(demo):
    _, f, inp = demo
    run = sa.run(inp, f.get("combined"), n_runs=300, seed=21)
    p = summary.percentiles(run)
    assert list(p.columns) == ["icb_code", "scenario", "year", "sector", "staff_group", "measure", "p10", "p50", "p90"]
    assert ((p["p10"] <= p["p50"] + 1e-6) & (p["p50"] <= p["p90"] + 1e-6)).all()
    assert set(p["measure"]) == {"supply", "demand", "gap"}
    whole = p[(p["icb_code"] == "QOP") & (p["sector"] == "all") & (p["measure"] == "supply")].set_index("year")["p50"]
    m = (inp.cells["icb_code"] == "QOP").to_numpy()
    assert whole[inp.base_year + 15] == pytest.approx(np.median(run.supply[:, m, -1].sum(axis=1, dtype=float)), rel=1e-5)


@pytest.mark.integration
def test_same_seed_gives_identical_projections_and_another_seed_different_ones(demo):
    _, f, inp = demo
    a = sa.projections(inp, [f.get("retention")], n_runs=100, seed=5)
    b = sa.projections(inp, [f.get("retention")], n_runs=100, seed=5)
    c = sa.projections(inp, [f.get("retention")], n_runs=100, seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["p50"], c["p50"])


@pytest.mark.unit
def test_a_record_level_extracts_leaving_by_age_replaces_the_national_profile_where_a_group_has_it():
    lr = pd.DataFrame([{"year": 2025, "icb_code": "QOP", "sector": "nhs_trust", "staff_group": "support_to_clinical",
                        "age_band": b, "staff_in_post": 100.0, "leavers": 10.0 * (i + 1), "months": 12, "source": "extract"}
                       for i, b in enumerate(config.AGE_BANDS)])
    rates = inputs._age_rates(lr)
    assert list(rates.filter(like="age_rate_").iloc[0]) == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    inp = tiny(leave=0.1, join=0.0, move=0.0)
    inp.cells = inp.cells.merge(rates, on=["icb_code", "sector", "staff_group"], how="left")
    sc = config.load().get("baseline")
    d = config.draws(sc, 50, 1)
    d["leaving_rate_scale"][:] = 1.0
    d["nhs_leavers_to_other_nhs"][:] = 0.0          # the extract's leavers taken as leaving the NHS
    run = model.simulate(inp, sc, d)
    nhs = inp.cells["sector"].eq("nhs_trust").to_numpy()
    qop = inp.cells["icb_code"].eq("QOP").to_numpy()
    # one year on: 1,000 FTE less the extract's rates by band (shares .1 .2 .2 .2 .2 .1): 35% leave, no joiners
    assert run.supply[:, nhs & qop, 1] == pytest.approx(650.0, rel=1e-5)
    assert run.supply[:, nhs & ~qop, 1] == pytest.approx(900.0, rel=1e-5)    # the observed 10% a year
    small = lr.assign(staff_in_post=5.0)                # too few staff in each band: the national shape stays
    assert inputs._age_rates(small) is None


@pytest.mark.unit
def test_the_unpaid_care_sensitivity_converts_lost_hours_into_paid_care_fte():
    sens = config.load().carers
    assert sens.fall == 0.10
    uc = pd.DataFrame([{"year": 2021, "icb_code": "QOP", "hours_band": b, "carers": n, "residents_5plus": 1e6, "source": "Census"}
                       for b, n in (("19h_or_less", 1000.0), ("20_49h", 500.0), ("50h_plus", 200.0))])
    res = summary.carers_sensitivity(uc, "QOP", sens, 2000, 1)
    # by hand at the middle of every range: hours a year, 10% of them, 35% paid, 1,600 hours per FTE
    hours = (1000 * 8.5 + 500 * 32.5 + 200 * 67.5) * 52
    assert res["hours_a_year"]["p50"] == pytest.approx(hours, rel=0.05)
    assert res["fte"]["p50"] == pytest.approx(hours * 0.1 * 0.35 / 1600, rel=0.08)
    assert res["fte"]["p10"] < res["fte"]["p50"] < res["fte"]["p90"]
    assert res["carers"] == 1700


# --------------------------------------------------------------------------- issue 26: projections an expert would defend

@pytest.mark.integration
def test_in_the_england_baseline_nhs_demand_has_its_own_range_p10_below_p90_by_more_than_5_pct(demo):
    _, f, inp = demo
    run = sa.run(inp, f.get("baseline"), n_runs=300, seed=2022)
    nhs = inp.cells["sector"].eq("nhs_trust").to_numpy()
    gp = inp.cells["sector"].eq("primary_care").to_numpy()
    for m in (nhs, gp):
        total = run.demand[:, m, -1].sum(axis=1, dtype=float)
        p10, p90 = np.quantile(total, (0.1, 0.9))
        assert p90 > 1.05 * p10
    # the range comes from need beyond demography, whose ends the file gives with a source
    r = f.get("baseline").assumptions["need_growth_health"]
    assert r.low < r.high and "3.2%" in r.source


@pytest.mark.unit
def test_each_mover_is_counted_once_base_year_joiners_include_movers_and_moves_within_the_sector():
    """With no growth in any route and posts wide open, the first year's joiners plus movers in equal the
    base year's observed joiners less moves within the sector: movers from the other sector are not added
    on top of joiners that already include them."""
    inp = tiny(leave=0.2, join=0.25, move=0.1, pop_growth=0.0, posts_per_filled=1.0)
    inp.cells["demand0"] = 3 * inp.cells["fte0"]          # posts wide open: no cap on joiners
    sc = config.load().get("baseline")
    d = config.draws(sc, 100, 4)
    for k in ("newly_qualified_growth", "international_growth", "wider_labour_market_growth"):
        d[k][:] = 0.0
    inp.horizon = 1
    inp.pop_all, inp.pop_65, inp.pop_weighted = (a[:, :2] for a in (inp.pop_all, inp.pop_65, inp.pop_weighted))
    run = model.simulate(inp, sc, d)
    fte0 = inp.cells["fte0"].to_numpy()
    within = model.within_share(inp.cells, d)
    observed = 0.25 * fte0[None, :] - 0.2 * fte0[None, :] * within        # joiners as the source counts them, less moves within
    arrived = run.flows["joiners"] + run.flows["moved_in"]
    # movers in during the year differ from the base year's only by the year's leaving (a stock one year smaller)
    assert np.allclose(arrived, observed, rtol=0.03)
    assert (run.flows["moved_in"] > 0).any()


@pytest.mark.unit
def test_pay_parity_widens_the_nhs_gap_by_no_more_than_the_movers_it_stops():
    inp = tiny(leave=0.3, join=0.3, move=0.2, pop_growth=0.01)
    f = config.load()
    base = sa.run(inp, f.get("baseline"), 300, 9)
    par = sa.run(inp, f.get("pay_parity"), 300, 9)
    nhs = inp.cells["sector"].eq("nhs_trust").to_numpy()
    widened = (par.gap[:, nhs, -1] - base.gap[:, nhs, -1]).sum(axis=1)
    movers_lost = (base.flows["moved_in"][:, nhs] - par.flows["moved_in"][:, nhs]).sum(axis=1)
    assert (movers_lost > 0).all()
    assert (widened <= movers_lost + 1e-3).all()


@pytest.mark.integration
def test_the_general_practice_gap_can_outgrow_its_base_year_vacancies(demo):
    _, f, inp = demo
    gp = inp.cells["sector"].eq("primary_care").to_numpy()
    vacancies = float((inp.cells.loc[gp, "demand0"] - inp.cells.loc[gp, "fte0"]).sum())
    grew = []
    for name in f.scenarios:
        run = sa.run(inp, f.get(name), n_runs=100, seed=2022)
        gap = np.median(run.gap[:, gp, -1].sum(axis=1, dtype=float))
        grew.append(gap > vacancies)
    assert any(grew)


@pytest.mark.unit
@pytest.mark.parametrize("name", ["baseline", "combined"])
def test_joiners_by_route_add_up_to_the_joiners(name):
    inp = tiny(leave=0.2, join=0.25, move=0.1, pop_growth=0.02)
    run = sa.run(inp, config.load().get(name), n_runs=100, seed=8)
    f = run.flows
    by_route = sum(f[f"joiners_{r}"] for r in config.ROUTES)
    assert np.allclose(by_route, f["joiners"] + f["joiners_new_roles"], rtol=1e-9, atol=1e-6)
    assert all((f[f"joiners_{r}"] >= 0).all() for r in config.ROUTES)


@pytest.mark.unit
def test_social_care_leavers_who_stay_in_the_sector_leave_no_stock():
    inp = tiny(leave=0.3, join=0.0, move=0.0)
    sc = config.load().get("baseline")
    d = config.draws(sc, 20, 1)
    d["leaving_rate_scale"][:] = 1.0
    d["social_care_leavers_staying_in_sector"][:] = 0.65
    d["nhs_leavers_to_social_care"][:] = 0.0
    run = model.simulate(inp, sc, d)
    care = inp.cells["staff_group"].eq("care_worker").to_numpy()
    # a third (35%) of the 30% who leave a job leave the sector: 10.5% of 2,000 FTE in the first year
    assert run.supply[:, care, 1] == pytest.approx(2000 * (1 - 0.3 * 0.35), rel=1e-4)


@pytest.mark.unit
def test_the_tornado_swings_each_ranged_assumption_with_the_others_at_their_middles():
    from iwt_helpers.analysis.scenarios import sensitivity
    inp = tiny(leave=0.2, join=0.2, move=0.1, pop_growth=0.01)
    sc = config.load().get("baseline")
    t = sensitivity.tornado(inp, sc)
    ranged = [r["key"] for r in config.assumptions_table(sc) if r["kind"] == "profile" or r["low"] < r["high"]]
    assert sorted(t["key"]) == sorted(ranged)
    assert (t["swing"].diff().dropna() <= 1e-9).all()                         # largest swing first
    assert t["gap_mid"].nunique() == 1
    # need beyond demography raises the gap at its high end
    row = t.set_index("key").loc["need_growth_health"]
    assert row["gap_high"] > row["gap_mid"] > row["gap_low"]


@pytest.mark.integration
def test_published_projections_are_cited_and_the_validation_computes_iwts_side(demo):
    from iwt_helpers.analysis.scenarios import validation
    ctx, f, inp = demo
    pub = validation.published()
    assert {"sfc_extra_posts_2040", "ltwp_shortfall_low", "ltwp_shortfall_high", "dementia_65_2024"} <= set(pub.index)
    assert pub["url"].str.startswith("http").all()
    run = sa.run(inp, f.get("baseline"), n_runs=50, seed=1)
    v = validation.compare(run, ctx.t["population"], ctx.t.get("prevalence", None) if "prevalence" in ctx.t
                           else __import__("iwt_helpers.data.datastore", fromlist=["x"]).open_dataset(None).table("prevalence"))
    v = v.set_index("id")
    assert v.loc["ltwp_shortfall_low", "iwt_p10"] < v.loc["ltwp_shortfall_low", "iwt_p90"]
    # dementia: iwt's own need code summed over the ICBs, independently recomputed here for two of them
    assert 500_000 < v.loc["dementia_65_2024", "iwt_p50"] < 1_000_000
    # social care posts to 2040 grow as the 65+ population (Skills for Care's method), near its 27%
    assert 20 < v.loc["sfc_growth_2040_pct", "iwt_p50"] < 35


@pytest.mark.integration
def test_the_back_test_projects_from_a_past_base_and_reports_the_error_by_icb(demo):
    from iwt_helpers.analysis.scenarios import backtest
    from iwt_helpers.data.datastore import open_dataset
    _, f, inp = demo
    ds = open_dataset(None)
    tables = {n: ds.optional_table(n) for n in ("nhs_staff_monthly", "nhs_staff_monthly_icb", "gp_workforce")}
    sc = f.get("baseline")
    d = config.draws(sc, 100, 1)
    t, meta = backtest.nhs(tables, inp, sc, d)
    assert len(t) == 42 and meta["years"] > 6
    assert ((t["projected_p10"] <= t["projected_p50"]) & (t["projected_p50"] <= t["projected_p90"])).all()
    assert t["rates_synthetic"].all()                                         # the demo's rates are synthetic, and say so
    assert backtest.mape(t) == pytest.approx(t["error_pct"].abs().median())
    # with no leaving and no joining, the projection is the base
    flat = pd.DataFrame({"leave_rate": [0.0], "join_rate": [0.0], "months": [12], "sector": ["nhs_trust"]})
    assert backtest.project(np.array([100.0]), flat, sc, d, 5.0) == pytest.approx(100.0)
